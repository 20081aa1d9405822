import { createHash } from "node:crypto";
import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { recordLeaf } from "../../../../oracle/src/store/recordLeaf";
import { verifyMerkleProof } from "../../../../oracle/src/store/merkle";
import { createApiKeySet } from "../../../../oracle/src/http/apiKeys";
import { deployedNetworkFixture, getJson, postJson, startApi, TEST_API_KEY, type ApiUnderTest } from "../fixture";
import { until } from "../../../helpers/waitFor";

describe("POST /v1/chat", function () {
  let api: ApiUnderTest;
  let net: Awaited<ReturnType<typeof deployedNetworkFixture>>;
  before(async () => {
    net = await loadFixture(deployedNetworkFixture);
    api = await startApi(net);
  });
  after(async () => api.stop());

  it("answers at once with the response text, its hashes and the record hash (= Merkle leaf)", async () => {
    const { status, body } = await postJson(`${api.url}/v1/chat`, { prompt: "What is a validator?", maxNewTokens: 6 });
    expect(status).to.equal(201);
    const expected = await net.engine.generate({ prompt: "What is a validator?", maxNewTokens: 6 });
    expect(body.response.text).to.equal(expected.text);
    expect(body.response).to.include({ hash: keccak256(toUtf8Bytes(expected.text)), verified: true, source: "store" });
    expect(body.prompt).to.include({ hash: keccak256(toUtf8Bytes("What is a validator?")), verified: true });
    expect(body.model).to.deep.equal({ id: 1, hash: net.engine.modelHash });
    expect(body.recordHash).to.equal(
      recordLeaf({ promptHash: body.prompt.hash, responseHash: body.response.hash, modelHash: net.engine.modelHash, validator: net.validators[0].address }),
    );
    expect(body.batch).to.deep.equal({ status: "pending" });
    expect(body.generation.promptTokens).to.be.greaterThan(0);
  });

  it("anchors every batchSize records on-chain and later returns a proof the contract accepts", async () => {
    const first = await postJson(`${api.url}/v1/chat`, { prompt: "anchor me one" });
    const second = await postJson(`${api.url}/v1/chat`, { prompt: "anchor me two" });
    expect([first.status, second.status]).to.deep.equal([201, 201]);
    await api.anchorer.flush();
    for (const record of [first.body, second.body]) {
      const { status, body } = await getJson(`${api.url}/v1/records/${record.recordHash}`);
      expect(status).to.equal(200);
      expect(body.batch.status).to.equal("anchored");
      expect(verifyMerkleProof(body.batch.proof, body.batch.merkleRoot, record.recordHash)).to.equal(true);
      const { prompt, response, model, validator } = body;
      const onChain = await net.chatRegistry.verifyRecord(BigInt(body.batch.batchId), prompt.hash, response.hash, model.hash, validator, body.batch.proof);
      expect(onChain).to.equal(true);
      expect(body.batch.onChain).to.deep.equal({ verified: true });
      const onChainBatch = await net.chatRegistry.getBatch(BigInt(body.batch.batchId));
      expect(onChainBatch.merkleRoot).to.equal(body.batch.merkleRoot);
      expect(onChainBatch.validator).to.equal(net.validators[0].address);
    }
  });

  it("returns the stored record again for a repeated prompt (same leaf)", async () => {
    const a = await postJson(`${api.url}/v1/chat`, { prompt: "same prompt", maxNewTokens: 4 });
    const b = await postJson(`${api.url}/v1/chat`, { prompt: "same prompt", maxNewTokens: 4 });
    expect(b.body.recordHash).to.equal(a.body.recordHash);
    expect(b.body.createdAt).to.equal(a.body.createdAt);
  });

  it("refuses anonymous callers and wrong keys with 401 before any inference or record, so they spend nothing", async () => {
    const recordsBefore = api.anchorer.store.pendingCount();
    const attempts: [Record<string, string>, string][] = [
      [{ "x-api-key": "" }, "missing API key"],
      [{ "x-api-key": "not-the-key-0123456789" }, "invalid API key"],
      [{ "x-api-key": "", authorization: "Bearer not-the-key-0123456789" }, "invalid API key"],
      [{ "x-api-key": `${TEST_API_KEY}x` }, "invalid API key"],
    ];
    for (const [headers, message] of attempts) {
      const { status, body } = await postJson(`${api.url}/v1/chat`, { prompt: "free gas?", maxNewTokens: 2 }, headers);
      expect(status, JSON.stringify(headers)).to.equal(401);
      expect(body.error).to.deep.equal({ code: "unauthorized", message });
    }
    expect(api.anchorer.store.pendingCount()).to.equal(recordsBefore);
    const bearer = await postJson(`${api.url}/v1/chat`, { prompt: "bearer works", maxNewTokens: 2 }, { "x-api-key": "", authorization: `Bearer ${TEST_API_KEY}` });
    expect(bearer.status).to.equal(201);
  });

  it("is off (403) on a node without API keys, and accepts a key given only by its sha256", async () => {
    const off = await startApi(net, {}, { apiKeys: undefined });
    try {
      const { status, body } = await postJson(`${off.url}/v1/chat`, { prompt: "anyone?", maxNewTokens: 2 });
      expect(status).to.equal(403);
      expect(body.error.code).to.equal("offchain_chat_disabled");
      expect(off.anchorer.store.pendingCount()).to.equal(0);
    } finally {
      await off.stop();
    }
    const hashed = await startApi(net, {}, { apiKeys: createApiKeySet([`sha256:${createHash("sha256").update(TEST_API_KEY).digest("hex")}`]) });
    try {
      expect((await postJson(`${hashed.url}/v1/chat`, { prompt: "hashed key", maxNewTokens: 2 })).status).to.equal(201);
    } finally {
      await hashed.stop();
    }
  });
});

describe("POST /v1/chat under load", function () {
  let net: Awaited<ReturnType<typeof deployedNetworkFixture>>;
  before(async () => {
    net = await loadFixture(deployedNetworkFixture);
  });

  it("answers 503 busy with Retry-After once max-queued-chats calls wait for inference", async () => {
    const release: (() => void)[] = [];
    const slowEngine = {
      ...net.engine,
      modelHash: net.engine.modelHash,
      generate: async (o: Parameters<typeof net.engine.generate>[0]) => {
        await new Promise<void>((resolve) => release.push(resolve));
        return net.engine.generate(o);
      },
    } as typeof net.engine;
    const api = await startApi(net, { maxQueuedChats: 2 }, { engine: slowEngine });
    try {
      const waiting = [1, 2].map((i) => postJson(`${api.url}/v1/chat`, { prompt: `queued ${i}`, maxNewTokens: 2 }));
      await until("both chats in the engine", () => release.length === 2);
      const response = await fetch(`${api.url}/v1/chat`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
        body: JSON.stringify({ prompt: "one too many", maxNewTokens: 2 }),
      });
      expect(response.status).to.equal(503);
      expect(response.headers.get("retry-after")).to.equal("5");
      expect(((await response.json()) as { error: { code: string } }).error.code).to.equal("busy");
      for (const r of release) r();
      expect((await Promise.all(waiting)).map((r) => r.status)).to.deep.equal([201, 201]);
    } finally {
      await api.stop();
    }
  });

  it("answers 429 once a client's requested tokens exceed its per-minute token budget", async () => {
    const api = await startApi(net, { rateLimitTokensPerMinute: 10 });
    try {
      expect((await postJson(`${api.url}/v1/chat`, { prompt: "six tokens", maxNewTokens: 6 })).status).to.equal(201);
      const over = await postJson(`${api.url}/v1/chat`, { prompt: "six more", maxNewTokens: 6 });
      expect(over.status, "6 + 6 tokens requested within a budget of 10 a minute").to.equal(429);
      expect(over.body.error.code).to.equal("rate_limited");
    } finally {
      await api.stop();
    }
  });
});

describe("POST /v1/chat with a backlog of records", function () {
  it("answers 503 records_backlog while max-pending-records records wait for an anchor", async () => {
    const net = await loadFixture(deployedNetworkFixture);
    const api = await startApi(net, { maxPendingRecords: 2, batchSize: 100 });
    try {
      expect((await postJson(`${api.url}/v1/chat`, { prompt: "first", maxNewTokens: 2 })).status).to.equal(201);
      expect((await postJson(`${api.url}/v1/chat`, { prompt: "second", maxNewTokens: 2 })).status).to.equal(201);
      const refused = await postJson(`${api.url}/v1/chat`, { prompt: "third", maxNewTokens: 2 });
      expect(refused.status).to.equal(503);
      expect(refused.body.error.code).to.equal("records_backlog");
      expect(refused.headers.get("retry-after")).to.equal("60");
    } finally {
      await api.stop();
    }
  });
});
