import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { ReadinessCondition } from "../../../../oracle/src/http/server";
import { deployedNetworkFixture, getJson, postJson, startApi, type Network } from "../fixture";

describe("/healthz, /readyz, /metrics", function () {
  let net: Network;
  before(async () => {
    net = await loadFixture(deployedNetworkFixture);
  });

  it("is alive at once, ready only once deps say so, and answers 503 model_loading without an engine", async () => {
    let ready = false;
    const api = await startApi(net, {}, { isReady: () => ready, engine: undefined });
    try {
      expect(await getJson(`${api.url}/healthz`)).to.deep.include({ status: 200, body: { status: "ok" } });
      const notReady = await getJson(`${api.url}/readyz`);
      expect(notReady.status).to.equal(503);
      expect(notReady.body.error.code).to.equal("not_ready");
      const loading = await postJson(`${api.url}/v1/chat`, { prompt: "too early" });
      expect(loading.status).to.equal(503);
      expect(loading.body.error.code).to.equal("model_loading");
      expect((await getJson(`${api.url}/v1/node`)).body.model.loaded).to.equal(false);
      ready = true;
      api.deps.engine = net.engine;
      expect(await getJson(`${api.url}/readyz`)).to.deep.include({ status: 200, body: { status: "ready" } });
      expect((await postJson(`${api.url}/v1/chat`, { prompt: "now", maxNewTokens: 2 })).status).to.equal(201);
    } finally {
      await api.stop();
    }
  });

  it("answers 503 while a readiness condition fails (a wallet below its reserve), listing the conditions", async () => {
    const conditions: ReadinessCondition[] = [{ name: "wallet_reserve", ok: false, message: "0xabc below the reserve of 0.05 ETH" }];
    const api = await startApi(net, {}, { readiness: () => conditions });
    try {
      const low = await getJson(`${api.url}/readyz`);
      expect(low.status).to.equal(503);
      expect(low.body.error).to.deep.equal({ code: "not_ready", message: "wallet_reserve: 0xabc below the reserve of 0.05 ETH" });
      expect(low.body.conditions).to.deep.equal(conditions);
      conditions[0] = { name: "wallet_reserve", ok: true };
      expect(await getJson(`${api.url}/readyz`)).to.deep.include({ status: 200, body: { status: "ready", conditions } });
    } finally {
      await api.stop();
    }
  });

  it("serves prom-client text with request, inference and http counters", async () => {
    const api = await startApi(net);
    try {
      await postJson(`${api.url}/v1/chat`, { prompt: "count me", maxNewTokens: 2 });
      await getJson(`${api.url}/v1/records/0x12`);
      const response = await fetch(`${api.url}/metrics`);
      expect(response.status).to.equal(200);
      expect(response.headers.get("content-type")).to.match(/^text\/plain/);
      const text = await response.text();
      expect(text).to.include('chat_oracle_requests_total{status="offchain"} 1');
      expect(text).to.include("chat_oracle_inference_seconds_count 1");
      expect(text).to.include('chat_oracle_http_requests_total{route="/v1/chat",code="201"} 1');
      expect(text).to.include('chat_oracle_http_requests_total{route="/v1/records/:hash",code="400"} 1');
      expect(text).to.include("chat_oracle_unhandled_errors_total 0");
      expect(text).to.include("chat_oracle_sse_subscribers 0");
      expect(response.headers.get("x-request-id")).to.match(/^[0-9a-f-]{36}$/);
    } finally {
      await api.stop();
    }
  });
});
