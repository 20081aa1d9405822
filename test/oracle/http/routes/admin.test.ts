import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ADMIN_TOKEN, deployedNetworkFixture, getJson, postJson, startApi, type ApiUnderTest, type Network } from "../fixture";

describe("admin routes", function () {
  let net: Network;
  let api: ApiUnderTest;
  before(async () => {
    net = await loadFixture(deployedNetworkFixture);
    api = await startApi(net);
  });
  after(async () => api.stop());

  it("refuses pause without a token or with a wrong one, and never echoes the token", async () => {
    const none = await postJson(`${api.url}/v1/admin/pause`, {});
    expect(none.status).to.equal(401);
    expect(none.body.error.code).to.equal("unauthorized");
    expect(none.headers.get("www-authenticate")).to.match(/^Bearer/);
    for (const header of [`Bearer ${ADMIN_TOKEN}x`, "Bearer short", `Basic ${ADMIN_TOKEN}`, ADMIN_TOKEN]) {
      const wrong = await postJson(`${api.url}/v1/admin/pause`, {}, { authorization: header });
      expect(wrong.status, header).to.equal(401);
      expect(JSON.stringify(wrong.body)).to.not.include(ADMIN_TOKEN);
    }
    expect(api.paused.value).to.equal(false);
  });

  it("pauses and resumes with the token; a paused node refuses new chats with 503", async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const paused = await postJson(`${api.url}/v1/admin/pause`, {}, auth);
    expect(paused).to.deep.include({ status: 200, body: { paused: true } });
    const refused = await postJson(`${api.url}/v1/chat`, { prompt: "hello" });
    expect(refused.status).to.equal(503);
    expect(refused.body.error.code).to.equal("paused");
    expect((await getJson(`${api.url}/v1/admin/status`, { headers: auth })).body).to.deep.equal({ paused: true });
    const resumed = await postJson(`${api.url}/v1/admin/resume`, {}, auth);
    expect(resumed).to.deep.include({ status: 200, body: { paused: false } });
    expect((await postJson(`${api.url}/v1/chat`, { prompt: "hello", maxNewTokens: 2 })).status).to.equal(201);
  });

  it("answers 403 when the node has no admin token and 501 when it cannot pause", async () => {
    const noToken = await startApi(net, { adminToken: undefined });
    const noPause = await startApi(net, {}, { pause: undefined });
    try {
      const disabled = await postJson(`${noToken.url}/v1/admin/pause`, {}, { authorization: "Bearer anything-at-all-1234" });
      expect(disabled.status).to.equal(403);
      expect(disabled.body.error.code).to.equal("admin_disabled");
      const unsupported = await postJson(`${noPause.url}/v1/admin/pause`, {}, { authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(unsupported.status).to.equal(501);
      expect(unsupported.body.error.code).to.equal("not_supported");
    } finally {
      await noToken.stop();
      await noPause.stop();
    }
  });
});
