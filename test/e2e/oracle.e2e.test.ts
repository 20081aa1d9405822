import { expect } from "chai";
import { ContractFactory } from "ethers";
import { verify } from "../../oracle/src/cli/verify";
import { loadDeployment } from "../../oracle/src/chain/deployments";
import type { OracleNode } from "../../oracle/src/node";
import { devAccount } from "../../scripts/demo/accounts";
import { readArtifact } from "../../scripts/demo/deploy";
import { contractsOf, sendChatRequest } from "../../scripts/demo/network";
import { type E2eChain, advanceTime, registryEvents, revertedTransactionsFrom, startE2eChain, startNode, tinyEngine, waitFor } from "./helpers";

const USER = devAccount(10);
const DISSENT = 2; // IChatRecordRegistry.SlashReason
const MISSED_COMMIT = 0;

async function finalized(chain: E2eChain, requestId: bigint) {
  return waitFor(`request ${requestId} finalized`, async () => {
    const events = await registryEvents(chain);
    return events.find((e) => e.name === "RecordFinalized" && e.args.requestId === requestId);
  });
}

describe("oracle end to end (hardhat node process, tiny model)", function () {
  this.timeout(180_000);

  describe("committee of 1", function () {
    let chain: E2eChain;
    let node: OracleNode;
    before(async function () {
      chain = await startE2eChain({ config: { committeeSize: 1, quorum: 1, maxAttempts: 2 }, stakes: [100n, 100n] });
      node = await startNode(chain, chain.validators.map((v) => v.privateKey));
    });
    after(async function () {
      await node?.stop();
      await chain?.stop();
    });

    it("finalizes the record of the single member and verifies it (MATCH)", async function () {
      const sent = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt: "one validator says", maxNewTokens: 12 });
      expect(sent.committee).to.have.length(1);
      await finalized(chain, sent.requestId);
      const { chat } = contractsOf(chain.deployment, chain.provider);
      const record = await chat.getRecord(sent.requestId);
      expect(record.status).to.equal(4n); // Finalized
      const report = await verify(
        { provider: chain.provider, deployment: loadDeployment(chain.deploymentsFile), engine: await tinyEngine(), endpoints: [node.url as string] },
        sent.requestId.toString(),
      );
      expect(report.match, report.problems.join("; ")).to.equal(true);
      expect(report.responseHash.computed).to.equal(record.responseHash);
    });
  });

  describe("committee of 3 with quorum 2", function () {
    let chain: E2eChain;
    const nodes: OracleNode[] = [];
    before(async function () {
      chain = await startE2eChain({ config: { committeeSize: 3, quorum: 2, maxAttempts: 2 }, stakes: [100n, 200n, 300n] });
    });
    afterEach(async function () {
      for (const n of nodes.splice(0)) await n.stop();
    });
    after(async function () {
      await chain?.stop();
    });

    it("finalizes by quorum and calls the consumer contract back", async function () {
      nodes.push(await startNode(chain, chain.validators.map((v) => v.privateKey)));
      const artifact = readArtifact("ExampleChatConsumer");
      const user = USER.connect(chain.provider);
      const consumer = await new ContractFactory(artifact.abi, artifact.bytecode, user).deploy(chain.deployment.addresses.ChatRecordRegistry);
      await consumer.waitForDeployment();
      const { chat } = contractsOf(chain.deployment, chain.provider);
      const fee = (await chat.getConfig()).minimumFee as bigint;
      const before = await chat.requestCount();
      await (await (consumer as unknown as { ask: (...a: unknown[]) => Promise<{ wait(): Promise<unknown> }> }).ask(1, "dear consumer", 10, { value: fee })).wait();
      const requestId = (before as bigint) + 1n;
      const event = await finalized(chain, requestId);
      const answer = await (consumer as unknown as { answers(id: bigint): Promise<string> }).answers(requestId);
      expect(answer).to.equal(event.args.responseHash);
      const events = await registryEvents(chain);
      const commits = events.filter((e) => e.name === "ResponseCommitted" && e.args.requestId === requestId);
      expect(commits).to.have.length(3);
      expect((event.args.agreeing as string[]).length).to.be.at.least(2);
      expect(events.some((e) => e.name === "ConsumerCallbackFailed")).to.equal(false);
      expect(await revertedTransactionsFrom(chain, chain.validators.map((v) => v.address))).to.equal(0);
    });

    it("slashes a member that reveals a different text", async function () {
      const [a, b, c] = chain.validators;
      // The honest pair reveals a little later so the dissenting reveal lands before the quorum closes the record.
      nodes.push(await startNode(chain, [a.privateKey, b.privateKey], { revealDelayMs: () => 1_500 }));
      nodes.push(await startNode(chain, [c.privateKey], { alterResponse: (_v, text) => `${text} (altered)` }));
      const sent = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt: "tell the truth", maxNewTokens: 10 });
      const event = await finalized(chain, sent.requestId);
      const agreeing = (event.args.agreeing as string[]).map((x) => x.toLowerCase());
      expect(agreeing).to.have.members([a.address.toLowerCase(), b.address.toLowerCase()]);
      const slashed = (await registryEvents(chain)).filter((e) => e.name === "MemberSlashed" && e.args.requestId === sent.requestId);
      expect(slashed.map((e) => [String(e.args.validator).toLowerCase(), Number(e.args.reason)])).to.deep.equal([[c.address.toLowerCase(), DISSENT]]);
    });

    it("times an offline committee out: slashes the absent members, reassigns, then refunds", async function () {
      const [a, b, c] = chain.validators;
      nodes.push(await startNode(chain, [a.privateKey])); // b and c are offline
      const { chat } = contractsOf(chain.deployment, chain.provider);
      const sent = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt: "anyone there?", maxNewTokens: 8 });
      const committedBy = async (attempt: number) =>
        (await registryEvents(chain)).filter((e) => e.name === "ResponseCommitted" && e.args.requestId === sent.requestId).length >= attempt
          ? true
          : undefined;
      await waitFor("first commit", () => committedBy(1));
      await advanceTime(chain.provider, 61); // past the commit deadline with 1 commit < quorum 2
      await waitFor("reassignment", async () =>
        (await registryEvents(chain)).find((e) => e.name === "CommitteeReassigned" && e.args.requestId === sent.requestId),
      );
      await waitFor("second commit", () => committedBy(2));
      await advanceTime(chain.provider, 61);
      await waitFor("final timeout", async () =>
        (await registryEvents(chain)).find((e) => e.name === "RequestTimedOut" && e.args.requestId === sent.requestId && e.args.exhausted),
      );
      const slashed = (await registryEvents(chain)).filter((e) => e.name === "MemberSlashed" && e.args.requestId === sent.requestId);
      expect(slashed.length).to.be.at.least(2);
      for (const e of slashed) {
        expect([b.address, c.address].map((x) => x.toLowerCase())).to.include(String(e.args.validator).toLowerCase());
        expect(Number(e.args.reason)).to.equal(MISSED_COMMIT);
      }
      const balanceBefore = await chain.provider.getBalance(USER.address);
      await (await contractsOf(chain.deployment, chain.provider).chat.connect(devAccount(11).connect(chain.provider)).getFunction("claimRefund")(sent.requestId)).wait();
      expect((await chain.provider.getBalance(USER.address)) - balanceBefore).to.equal((await chat.getRecord(sent.requestId)).fee);
      expect(Number((await chat.getRecord(sent.requestId)).status)).to.equal(6); // Refunded
    });
  });
});
