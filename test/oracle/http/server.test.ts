import http from "node:http";
import net from "node:net";
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { createProvider } from "../../../oracle/src/chain/rpc";
import { createChainViews } from "../../../oracle/src/http/chainViews";
import { createHttpServer } from "../../../oracle/src/http/server";
import { readMetricValue } from "../../../oracle/src/metrics";
import { createTestCommon } from "../store/fixtures";
import { ADMIN_TOKEN, TEST_API_KEY, deployedNetworkFixture, getJson, postJson, requestChatWithPromptBytes, startApi, type ApiUnderTest, type Network } from "./fixture";

const MAX_PROMPT = 50;

/** Sends raw bytes and returns the raw HTTP response text (for requests fetch would refuse to send). */
function rawRequest(url: string, payload: string | Buffer): Promise<string> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(payload));
    let data = "";
    socket.on("data", (chunk) => (data += chunk.toString("utf8")));
    socket.on("end", () => resolve(data));
    socket.on("error", reject);
  });
}

function requestWithHeaders(url: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on("error", reject);
  });
}

describe("http server", function () {
  let network: Network;
  before(async () => {
    network = await loadFixture(deployedNetworkFixture);
  });

  describe("bad input", function () {
    let api: ApiUnderTest;
    before(async () => {
      api = await startApi(network, { maxPromptChars: MAX_PROMPT, maxNewTokens: 16 });
    });
    after(async () => api.stop());
    afterEach(async () => {
      // Whatever the previous case sent, the service still answers.
      expect((await getJson(`${api.url}/healthz`)).status).to.equal(200);
    });

    const jsonCases: [string, string, number, string, RegExp?][] = [
      ["malformed JSON", '{"prompt": ', 400, "malformed_json"],
      ["a JSON array", '["hi"]', 400, "invalid_request"],
      ["JSON null", "null", 400, "invalid_request"],
      ["a number prompt", '{"prompt": 42}', 400, "invalid_request", /prompt must be a string/],
      ["a missing prompt", "{}", 400, "invalid_request", /prompt/],
      ["an empty prompt", '{"prompt": ""}', 400, "invalid_request", /must not be empty/],
      ["an oversized prompt", JSON.stringify({ prompt: "x".repeat(MAX_PROMPT + 1) }), 400, "invalid_request", /at most 50/],
      ["a lone surrogate", '{"prompt": "bad \\ud800 text"}', 400, "invalid_request", /valid Unicode/],
      ["maxNewTokens as a string", '{"prompt": "hi", "maxNewTokens": "5"}', 400, "invalid_request", /maxNewTokens/],
      ["a fractional maxNewTokens", '{"prompt": "hi", "maxNewTokens": 1.5}', 400, "invalid_request", /integer/],
      ["maxNewTokens over the node's cap", '{"prompt": "hi", "maxNewTokens": 17}', 400, "invalid_request", /at most 16/],
      ["maxNewTokens of zero", '{"prompt": "hi", "maxNewTokens": 0}', 400, "invalid_request"],
      ["a modelId out of uint16", '{"prompt": "hi", "modelId": 70000}', 400, "invalid_request", /modelId/],
      ["an unknown field", '{"prompt": "hi", "temperature": 2}', 400, "invalid_request", /unknown field.*temperature/],
      ["an unregistered model", '{"prompt": "hi", "modelId": 77}', 404, "unknown_model", /77/],
    ];
    for (const [what, body, status, code, message] of jsonCases) {
      it(`answers ${status} ${code} to ${what}`, async () => {
        const response = await postJson(`${api.url}/v1/chat`, body);
        expect(response.status).to.equal(status);
        expect(response.body.error.code).to.equal(code);
        expect(response.body.error.message).to.be.a("string");
        if (message) expect(response.body.error.message).to.match(message);
      });
    }

    it("answers 400 invalid_utf8 to a body that is not UTF-8, instead of hashing a replaced text", async () => {
      const bytes = Buffer.concat([Buffer.from('{"prompt": "caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
      const response = await getJson(`${api.url}/v1/chat`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": TEST_API_KEY }, body: bytes });
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal("invalid_utf8");
    });

    it("answers 415 to a body that is not declared JSON", async () => {
      const response = await getJson(`${api.url}/v1/chat`, { method: "POST", headers: { "content-type": "text/plain", "x-api-key": TEST_API_KEY }, body: '{"prompt":"hi"}' });
      expect(response.status).to.equal(415);
      expect(response.body.error.code).to.equal("unsupported_media_type");
    });

    it("answers 413 to a body over the size limit", async () => {
      const response = await postJson(`${api.url}/v1/chat`, JSON.stringify({ prompt: "x".repeat(MAX_PROMPT * 4 + 5000) }));
      expect(response.status).to.equal(413);
      expect(response.body.error.code).to.equal("body_too_large");
    });

    it("answers 431 JSON to huge headers", async () => {
      const response = await requestWithHeaders(`${api.url}/healthz`, { "x-padding": "a".repeat(32 * 1024) });
      expect(response.status).to.equal(431);
      expect(response.body.error.code).to.equal("headers_too_large");
    });

    it("answers 400 JSON to a request that is not HTTP", async () => {
      const response = await rawRequest(api.url, "HELLO THERE\r\n\r\n");
      expect(response).to.match(/^HTTP\/1\.1 400/);
      expect(JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4)).error.code).to.equal("bad_request");
    });

    it("answers 400 to a path with broken percent-encoding", async () => {
      const response = await getJson(`${api.url}/v1/records/%E0%A4%A`);
      expect(response.status).to.equal(400);
      expect(response.body.error).to.have.keys("code", "message");
    });

    it("answers 404 JSON to unknown routes and methods", async () => {
      for (const [method, path] of [["GET", "/nope"], ["GET", "/v1/chat"], ["DELETE", "/v1/requests/1"]]) {
        const response = await getJson(`${api.url}${path}`, { method });
        expect(response.status, `${method} ${path}`).to.equal(404);
        expect(response.body.error.code).to.equal("not_found");
      }
    });
  });

  it("refuses a Host header it does not serve (DNS rebinding), allowing loopback names and --allowed-hosts", async () => {
    const guarded = await startApi(network, { allowedHosts: ["oracle.example"] });
    try {
      const port = new URL(guarded.url).port;
      const statusFor = (host: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = http.request(`${guarded.url}/readyz`, { headers: { host } }, (res) => {
            let body = "";
            res.on("data", (c) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode as number, body }));
          });
          req.on("error", reject);
          req.end();
        });
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, "localhost", `[::1]:${port}`, "oracle.example", `ORACLE.example:${port}`]) {
        expect((await statusFor(host)).status, host).to.equal(200);
      }
      for (const host of ["evil.example", `evil.example:${port}`, "oracle.example.evil.example", `127.0.0.2:${port}`]) {
        const { status, body } = await statusFor(host);
        expect(status, host).to.equal(403);
        expect(JSON.parse(body).error.code).to.equal("host_not_allowed");
      }
    } finally {
      await guarded.stop();
    }
  });

  it("does not let a client escape its rate limit by sending made-up X-Forwarded-For addresses", async () => {
    const api = await startApi(network, { rateLimitPerMinute: 2 });
    try {
      const statuses = [];
      for (let i = 1; i <= 3; i++) statuses.push((await getJson(`${api.url}/v1/records`, { headers: { "x-forwarded-for": `203.0.113.${i}` } })).status);
      expect(statuses, "no proxy is trusted by default: every call is the same client").to.deep.equal([200, 200, 429]);
    } finally {
      await api.stop();
    }
  });

  it("keys clients by X-Forwarded-For behind a trusted proxy (--trust-proxy)", async () => {
    const api = await startApi(network, { rateLimitPerMinute: 1, trustProxy: "loopback" });
    try {
      const as = async (client: string) => (await getJson(`${api.url}/v1/records`, { headers: { "x-forwarded-for": client } })).status;
      expect([await as("203.0.113.1"), await as("203.0.113.2"), await as("203.0.113.1")]).to.deep.equal([200, 200, 429]);
      expect(await as("2001:db8:0:7::2"), "a new /64").to.equal(200);
      expect(await as("2001:db8:0:7::3"), "the same /64").to.equal(429);
    } finally {
      await api.stop();
    }
  });

  it("rate-limits each client with a token bucket (429 + Retry-After), leaving the probes alone", async () => {
    const api = await startApi(network, { rateLimitPerMinute: 3 });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await getJson(`${api.url}/v1/records`)).status);
      expect(statuses).to.deep.equal([200, 200, 200, 429]);
      const limited = await getJson(`${api.url}/v1/models`);
      expect(limited.status).to.equal(429);
      expect(limited.body.error.code).to.equal("rate_limited");
      expect(Number(limited.headers.get("retry-after"))).to.be.within(1, 20);
      expect((await getJson(`${api.url}/healthz`)).status).to.equal(200);
      expect((await getJson(`${api.url}/metrics`)).status).to.equal(200);
    } finally {
      await api.stop();
    }
  });

  it("turns an unexpected error into a 500 JSON without internals and counts it", async () => {
    const api = await startApi(network, {}, {
      mount: (app) =>
        app.get("/boom", () => {
          throw new Error("secret internal detail");
        }),
    });
    try {
      const response = await getJson(`${api.url}/boom`);
      expect(response.status).to.equal(500);
      expect(response.body.error.code).to.equal("internal");
      expect(JSON.stringify(response.body)).to.not.include("secret internal detail");
      expect(await readMetricValue(api.common.metrics.unhandledErrorsTotal)).to.equal(1);
      expect((await getJson(`${api.url}/healthz`)).status).to.equal(200);
    } finally {
      await api.stop();
    }
  });

  it("answers 503 while the RPC is down and reports it in /v1/node, staying alive", async () => {
    const api = await startApi(network);
    // Events read while the RPC was up: a request and the model; the state behind them needs the RPC.
    await requestChatWithPromptBytes(network, new TextEncoder().encode("before the rpc went down"));
    await api.indexed.catchUp();
    const deadChain = createChainViews({
      deployment: network.deployment,
      provider: createProvider("http://127.0.0.1:9", 31337),
      events: api.indexed.events,
      logger: api.common.logger,
      metrics: api.common.metrics,
    });
    api.deps.chain = deadChain;
    api.deps.modelId = 1; // the node learned its model id while the RPC was up
    try {
      for (const path of ["/v1/requests/1", "/v1/requests", "/v1/validators", "/v1/models"]) {
        const response = await getJson(`${api.url}${path}`);
        expect(response.status, path).to.equal(503);
        expect(response.body.error.code).to.equal("unavailable");
        expect(response.headers.get("retry-after")).to.equal("2");
        expect(response.body.error.message).to.not.include("127.0.0.1:9");
      }
      // Off-chain records still answer; the chain check of the proof says it could not ask.
      const posted = await postJson(`${api.url}/v1/chat`, { prompt: "while the rpc is down", maxNewTokens: 2 });
      expect(posted.status).to.equal(201);
      const node = await getJson(`${api.url}/v1/node`);
      expect(node.status).to.equal(200);
      expect(node.body.chain.rpc.ok).to.equal(false);
      expect(await readMetricValue(api.common.metrics.unhandledErrorsTotal)).to.equal(0);
    } finally {
      deadChain.close();
      await api.stop();
    }
  });

  it("keeps validator keys and the admin token out of responses and logs", async () => {
    const validatorKey = "0x" + "7".repeat(64);
    const lines: string[] = [];
    const api = await startApi(network, { validatorKeys: [validatorKey] }, {}, lines);
    try {
      const bodies = [
        await getJson(`${api.url}/v1/node`),
        await postJson(`${api.url}/v1/chat`, { prompt: "hello keys", maxNewTokens: 2 }),
        await postJson(`${api.url}/v1/admin/pause`, {}, { authorization: `Bearer ${ADMIN_TOKEN}` }),
        await postJson(`${api.url}/v1/admin/pause`, {}, { authorization: `Bearer ${ADMIN_TOKEN}-wrong` }),
        await postJson(`${api.url}/v1/chat`, "{broken"),
      ].map((r) => JSON.stringify(r.body));
      expect(lines.length).to.be.greaterThan(0);
      for (const text of [...bodies, ...lines]) {
        expect(text).to.not.include(validatorKey.slice(2));
        expect(text).to.not.include(ADMIN_TOKEN);
      }
    } finally {
      await api.stop();
    }
  });

  it("refuses a busy port with one line naming --http-port, not a stack trace", async () => {
    const first = await startApi(network);
    const port = Number(new URL(first.url).port);
    try {
      const common = createTestCommon({ httpPort: port, httpHost: "127.0.0.1" });
      await createHttpServer(common, first.deps)
        .listen()
        .finally(() => common.shutdown.run("test over"))
        .then(
          async (second) => {
            await second.close();
            expect.fail("a second server listened on a busy port");
          },
          (error: Error) => {
            expect(error.name).to.equal("NonRetryableError");
            expect(error.message).to.equal(`--http-port ${port}: 127.0.0.1:${port} is already in use (another oracle node?); choose another port`);
          },
        );
    } finally {
      await first.stop();
    }
  });
});
