import { expect } from "chai";
import { id } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { CONTENT_TABLE } from "../../../../oracle/src/store/contentStore";
import { deployedNetworkFixture, getJson, postJson, startApi, type ApiUnderTest } from "../fixture";

describe("GET /v1/records", function () {
  let api: ApiUnderTest;
  before(async () => {
    api = await startApi(await loadFixture(deployedNetworkFixture), { batchSize: 100 });
  });
  after(async () => api.stop());

  it("returns a pending record with its texts and no proof yet", async () => {
    const posted = await postJson(`${api.url}/v1/chat`, { prompt: "record me", maxNewTokens: 4 });
    const { status, body } = await getJson(`${api.url}/v1/records/${posted.body.recordHash}`);
    expect(status).to.equal(200);
    expect(body).to.include({ kind: "record", recordHash: posted.body.recordHash });
    expect(body.batch).to.deep.equal({ status: "pending" });
    expect(body.prompt).to.include({ text: "record me", verified: true });
    expect(body.decoding).to.deep.equal({ maxNewTokens: 4, finishReason: posted.body.generation.finishReason });
  });

  it("serves a text by its hash with the records that use it", async () => {
    const posted = await postJson(`${api.url}/v1/chat`, { prompt: "text lookup", maxNewTokens: 4 });
    const { status, body } = await getJson(`${api.url}/v1/records/${posted.body.prompt.hash}`);
    expect(status).to.equal(200);
    expect(body).to.deep.equal({
      kind: "text",
      hash: posted.body.prompt.hash,
      text: "text lookup",
      verified: true,
      source: "store",
      records: [posted.body.recordHash],
    });
  });

  it("shows a record whose stored text was changed as not verified", async () => {
    const posted = await postJson(`${api.url}/v1/chat`, { prompt: "tamper target", maxNewTokens: 4 });
    api.common.db.prepare(`UPDATE ${CONTENT_TABLE} SET text = ? WHERE hash = ?`).run("forged answer", posted.body.response.hash);
    const { body } = await getJson(`${api.url}/v1/records/${posted.body.recordHash}`);
    expect(body.response).to.include({ text: "forged answer", verified: false });
    expect(body.prompt.verified).to.equal(true);
  });

  it("lists recent records", async () => {
    const { status, body } = await getJson(`${api.url}/v1/records?limit=2`);
    expect(status).to.equal(200);
    expect(body.records).to.have.length(2);
    expect(body.records[0].recordHash).to.match(/^0x[0-9a-f]{64}$/);
    for (const bad of ["0", "101", "two", ""]) {
      const response = await getJson(`${api.url}/v1/records?limit=${bad}`);
      expect(response.status, bad).to.equal(400);
      expect(response.body.error.code).to.equal("invalid_query");
    }
  });

  it("answers 404 for an unknown hash and 400 for a malformed one", async () => {
    const missing = await getJson(`${api.url}/v1/records/${id("nothing")}`);
    expect(missing.status).to.equal(404);
    expect(missing.body.error.code).to.equal("not_found");
    for (const bad of ["0x1234", "zz", id("x").slice(2), `${id("x")}00`]) {
      const { status, body } = await getJson(`${api.url}/v1/records/${bad}`);
      expect(status, bad).to.equal(400);
      expect(body.error.code).to.equal("invalid_hash");
      expect(body.error.message, bad).to.match(/^hash /);
    }
  });
});
