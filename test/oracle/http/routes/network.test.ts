import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import { deployedNetworkFixture, getJson, postJson, runRequestToFinal, STAKES, startApi, type ApiUnderTest, type Network } from "../fixture";

describe("GET /v1/validators, /v1/models, /v1/node", function () {
  let api: ApiUnderTest;
  let net: Network;
  before(async () => {
    net = await loadFixture(deployedNetworkFixture);
    await runRequestToFinal(net, "first question");
    await runRequestToFinal(net, "second question", { dissent: true });
    await net.validatorRegistry.connect(net.validators[2]).requestUnstake(100n * 10n ** 18n);
    api = await startApi(net);
  });
  after(async () => api.stop());

  it("lists validators with stake, share, endpoint, seats drawn vs expected, liveness, slashes and unbonding", async () => {
    const { status, body } = await getJson(`${api.url}/v1/validators`);
    expect(status).to.equal(200);
    expect(body.validators.map((v: { address: string }) => v.address)).to.deep.equal(net.validators.map((v) => v.address));
    const total = BigInt(body.totals.totalStake);
    expect(total).to.equal(
      BigInt(body.validators[0].stake) + BigInt(body.validators[1].stake) + BigInt(body.validators[2].stake),
    );
    const shares = body.validators.map((v: { stakeShare: number }) => v.stakeShare);
    expect(shares.reduce((a: number, b: number) => a + b, 0)).to.be.closeTo(1, 1e-6);
    expect(body.draws).to.deep.equal({ requests: 2, committees: 2, seats: 6 });
    for (const v of body.validators) {
      // Committees of 3 out of 3 validators: everyone sits on both.
      expect(v.selection.seats).to.equal(2);
      // ... which is also what is expected: a 3-of-3 draw without replacement seats every validator.
      expect(v.selection.expectedSeats).to.equal(2);
      expect(v.lastCommit.requestId).to.equal("2");
      expect(v.lastCommit.txHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(v.active).to.equal(true);
      // Fee shares are pull credits: every agreeing member of request 1 earned one (the dissenter of request 2 not).
      expect(BigInt(v.credit)).to.be.greaterThan(0n);
      expect(v.endpoint).to.match(/^http:\/\/127\.0\.0\.1:900\d$/);
    }
    const slashedOnes = body.validators.filter((v: { slashes: { count: number } }) => v.slashes.count > 0);
    expect(slashedOnes).to.have.length(1);
    expect(slashedOnes[0].slashes.recent[0]).to.include({ requestId: "2", reason: "dissent" });
    expect(BigInt(slashedOnes[0].stake)).to.be.lessThan(STAKES[body.validators.indexOf(slashedOnes[0])]);
    const unstaking = body.validators[2];
    expect(unstaking.unbonding).to.equal((100n * 10n ** 18n).toString());
    expect(unstaking.unlockAt).to.be.a("number");
    expect(body.totals.stakeToken).to.deep.equal({ symbol: "CODS", decimals: 18 });
    expect(body.config).to.include({ committeeSize: 3, quorum: 2, maxAttempts: 3 });
    expect(body.randomnessSource).to.match(/^0x[0-9a-fA-F]{40}$/);
  });

  it("lists registered models and marks the one this node serves", async () => {
    const { status, body } = await getJson(`${api.url}/v1/models`);
    expect(status).to.equal(200);
    expect(body.models).to.have.length(1);
    expect(body.models[0]).to.include({ modelId: 1, modelHash: net.engine.modelHash, enabled: true, servedByThisNode: true });
    // The tiny model's limits, from its config.json (context 256): what requestChat accepts and nodes decline beyond.
    expect(body.models[0].limits).to.deep.equal({ maxPromptBytes: 1024, maxNewTokens: 128, contextLength: 256 });
    expect(body.models[0].registered.block).to.be.a("number");
  });

  it("reports the node's model, inference speed, journal depth and RPC health", async () => {
    await postJson(`${api.url}/v1/chat`, { prompt: "warm up", maxNewTokens: 3 });
    api.common.metrics.journalDepth.set({ state: "committed" }, 2);
    api.common.metrics.processedBlock.set(5);
    const { status, body } = await getJson(`${api.url}/v1/node`);
    expect(status).to.equal(200);
    expect(body.model).to.deep.equal({ loaded: true, id: 1, hash: net.engine.modelHash, provider: "cpu", maxContext: net.engine.maxContext });
    expect(body.inference.count).to.equal(1);
    expect(body.inference.lastTokensPerSecond).to.be.greaterThan(0);
    expect(body.journal).to.deep.equal({ depth: { committed: 2 }, total: 2 });
    expect(body.chain.rpc.ok).to.equal(true);
    expect(body.chain.headBlock).to.be.greaterThan(5);
    expect(body.chain.lagBlocks).to.equal(body.chain.headBlock - 5);
    expect(body.records.pendingBatch).to.equal(1);
    expect(body).to.include({ ready: true, paused: false, chainId: 31337 });
    expect(body.validator).to.equal(net.validators[0].address);
    // Every anchoring outcome is listed, zeros included, so a dashboard can read `batches.failed` before any failure.
    expect(body.records.batches).to.deep.equal({ anchored: 0, failed: 0, unconfirmed: 0, held_budget: 0, held_reserve: 0 });
    expect(body.chain).to.include({ txFailures: 0, txRetries: 0 });
  });
});

describe("GET /v1/validators with a validator that joined after the first draws", function () {
  let api: ApiUnderTest;
  let net: Network;
  let latecomer: string;
  before(async () => {
    net = await loadFixture(deployedNetworkFixture);
    await runRequestToFinal(net, "before the latecomer");
    await runRequestToFinal(net, "still before the latecomer");
    const [, , , , , late] = await ethers.getSigners();
    latecomer = late.address;
    const stake = 1_000n * 10n ** 18n;
    await net.token.connect(net.deployer).mint(late.address, stake);
    await net.token.connect(late).approve(await net.validatorRegistry.getAddress(), stake);
    await net.validatorRegistry.connect(late).stake(stake, "http://127.0.0.1:9009");
    api = await startApi(net);
  });
  after(async () => api.stop());

  it("expects no seats of a validator in committees drawn before it staked, and the same of the others as before", async () => {
    const { body } = await getJson(`${api.url}/v1/validators`);
    const late = body.validators.find((v: { address: string }) => v.address === latecomer);
    expect(late.selection).to.deep.equal({ seats: 0, expectedSeats: 0 });
    // Both committees were 3-of-3 draws when they happened: each earlier validator was certain to sit on both.
    for (const v of body.validators.filter((x: { address: string }) => x.address !== latecomer)) {
      expect(v.selection, v.address).to.deep.equal({ seats: 2, expectedSeats: 2 });
    }
  });
});
