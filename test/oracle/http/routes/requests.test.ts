import { expect } from "chai";
import { ethers, network } from "hardhat";
import { keccak256, toUtf8Bytes } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { CONTENT_TABLE } from "../../../../oracle/src/store/contentStore";
import { deployedNetworkFixture, getJson, requestChatWithPromptBytes, runRequestToFinal, startApi, type ApiUnderTest, type Network } from "../fixture";

describe("GET /v1/requests", function () {
  let api: ApiUnderTest;
  let net: Network;
  let finalized: Awaited<ReturnType<typeof runRequestToFinal>>;
  before(async () => {
    net = await loadFixture(deployedNetworkFixture);
    finalized = await runRequestToFinal(net, "Explain staking.", { dissent: true });
    api = await startApi(net);
  });
  after(async () => api.stop());

  it("tells a finalized request's story: timeline with blocks and txs, committee, hashes, verified texts", async () => {
    const { status, body } = await getJson(`${api.url}/v1/requests/${finalized.requestId}`);
    expect(status).to.equal(200);
    expect(body).to.include({ requestId: finalized.requestId.toString(), status: "finalized", modelId: 1, attempt: 1, quorum: 2 });
    expect(body.requester).to.equal(net.user.address);
    expect(body.hashes).to.deep.equal({
      prompt: keccak256(toUtf8Bytes("Explain staking.")),
      response: keccak256(toUtf8Bytes(finalized.text)),
      model: net.engine.modelHash,
    });
    const types = body.timeline.map((e: { type: string }) => e.type);
    expect(types.slice(0, 5)).to.deep.equal(["requested", "drawn", "committed", "committed", "committed"]);
    expect(body.timeline[1].committee).to.have.members(finalized.committee.map((v) => v.address));
    expect(types).to.include.members(["revealed", "finalized", "slashed"]);
    for (const entry of body.timeline) {
      expect(entry.block).to.be.a("number");
      expect(entry.txHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(entry.timestamp).to.be.a("number");
    }
    const slash = body.timeline.find((e: { type: string }) => e.type === "slashed");
    expect(slash).to.include({ validator: finalized.committee[0].address, reason: "dissent" });
    expect(body.committee).to.have.length(3);
    const dissenter = body.committee.find((m: { validator: string }) => m.validator === finalized.committee[0].address);
    expect(dissenter).to.include({ committed: true, revealed: true, agreed: false });
    expect(body.committee.filter((m: { agreed: boolean }) => m.agreed)).to.have.length(2);
    // No content store entry yet: the texts come from the chain events and still hash to the on-chain hashes.
    expect(body.prompt).to.deep.equal({ hash: body.hashes.prompt, text: "Explain staking.", verified: true, source: "chain_event" });
    expect(body.response).to.include({ text: finalized.text, verified: true, source: "chain_event" });
    expect(body.latencySeconds).to.be.a("number");
  });

  it("prefers the content store's text and marks a tampered one as not verified", async () => {
    api.common.db.prepare(`INSERT INTO ${CONTENT_TABLE} (hash, text, created_at) VALUES (?, ?, 0)`).run(
      keccak256(toUtf8Bytes(finalized.text)),
      "a text someone changed",
    );
    const { body } = await getJson(`${api.url}/v1/requests/${finalized.requestId}`);
    expect(body.response).to.include({ text: "a text someone changed", verified: false, source: "store" });
    expect(body.prompt.verified).to.equal(true);
  });

  it("shows a request in progress as requested, without a response", async () => {
    const tx = await net.chatRegistry.connect(net.user).requestChat(1, ethers.toUtf8Bytes("still open"), 8, ethers.ZeroAddress, 0, 0, { value: 10n ** 15n });
    await tx.wait();
    const id = await net.chatRegistry.requestCount();
    const { body } = await getJson(`${api.url}/v1/requests/${id}`);
    expect(body.status).to.equal("requested");
    expect(body.response).to.equal(null);
    expect(body.hashes.response).to.equal(null);
    expect(body.committee.every((m: { committed: boolean; agreed: null }) => !m.committed && m.agreed === null)).to.equal(true);
  });

  it("lists recent requests newest first with status, committee, fee and latency", async () => {
    const { status, body } = await getJson(`${api.url}/v1/requests?limit=5`);
    expect(status).to.equal(200);
    expect(body.requests.map((r: { requestId: string; status: string }) => [r.requestId, r.status])).to.deep.equal([
      ["2", "requested"],
      ["1", "finalized"],
    ]);
    expect(body.requests[1]).to.include({ fee: (10n ** 15n).toString(), attempt: 1 });
    expect(body.requests[1].committee).to.have.length(3);
    expect(body.requests[1].latencySeconds).to.be.a("number");
    expect((await getJson(`${api.url}/v1/requests?limit=1`)).body.requests).to.have.length(1);
  });

  it("answers 404 for an id never requested and 400 for ids that are not positive decimals", async () => {
    const missing = await getJson(`${api.url}/v1/requests/999`);
    expect(missing.status).to.equal(404);
    expect(missing.body.error.code).to.equal("unknown_request");
    for (const bad of ["0", "-1", "abc", "0x10", "1e3", "1".repeat(79), "9".repeat(78)]) {
      const { status, body } = await getJson(`${api.url}/v1/requests/${bad}`);
      expect(status, bad).to.equal(400);
      expect(body.error.code, bad).to.equal("invalid_request_id");
      expect(body.error.message, bad).to.match(/^request id must /);
    }
    for (const bad of ["0", "101", "x", "-3"]) {
      const { status, body } = await getJson(`${api.url}/v1/requests?limit=${bad}`);
      expect(status, bad).to.equal(400);
      expect(body.error.code).to.equal("invalid_query");
    }
  });

  it("rebuilds its view after a reorg instead of showing events that are gone", async () => {
    const snapshot = await network.provider.send("evm_snapshot", []);
    await (await net.chatRegistry.connect(net.user).requestChat(1, ethers.toUtf8Bytes("on the lost branch"), 8, ethers.ZeroAddress, 0, 0, { value: 10n ** 15n })).wait();
    const before = await getJson(`${api.url}/v1/requests?limit=10`);
    expect(before.body.requests[0].requestId).to.equal("3");
    await network.provider.send("evm_revert", [snapshot]);
    await network.provider.send("hardhat_mine", ["0x2"]); // the new branch is longer than the lost one
    const after = await getJson(`${api.url}/v1/requests?limit=10`);
    expect(after.body.requests.map((r: { requestId: string }) => r.requestId)).to.deep.equal(["2", "1"]);
    expect((await getJson(`${api.url}/v1/requests/3`)).status).to.equal(404);
  });

  it("shows a request whose prompt is not UTF-8 with U+FFFD and its chain hash, unverified, instead of a 500", async () => {
    const raw = Uint8Array.from([0x48, 0x69, 0xff, 0xfe, 0x21]);
    const id = await requestChatWithPromptBytes(net, raw);
    const { status, body } = await getJson(`${api.url}/v1/requests/${id}`);
    expect(status, JSON.stringify(body)).to.equal(200);
    expect(body.prompt).to.deep.equal({ hash: keccak256(raw), text: "Hi\uFFFD\uFFFD!", verified: false, source: "chain_event" });
    const list = await getJson(`${api.url}/v1/requests?limit=1`);
    expect(list.status).to.equal(200);
    expect(list.body.requests[0]).to.include({ requestId: id.toString(), promptHash: keccak256(raw) });
  });
});
