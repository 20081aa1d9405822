import { expect } from "chai";
import express from "express";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { accessLog } from "../../../oracle/src/http/accessLog";
import { createMetrics } from "../../../oracle/src/metrics";
import { until } from "../../helpers/waitFor";

describe("HTTP request ids and access log", function () {
  it("gives each request an id (the caller's when plain), echoes it and logs one line per request", async function () {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const app = express();
    app.use(accessLog(logger, createMetrics()));
    app.get("/v1/things/:id", (_req, res) => void res.status(201).json({ ok: true }));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const fresh = await fetch(`${url}/v1/things/7`);
      const freshId = fresh.headers.get("x-request-id");
      expect(freshId).to.match(/^[0-9a-f-]{36}$/);
      const kept = await fetch(`${url}/v1/things/8`, { headers: { "x-request-id": "trace-42" } });
      expect(kept.headers.get("x-request-id")).to.equal("trace-42");
      const odd = await fetch(`${url}/v1/things/9`, { headers: { "x-request-id": "no spaces\tor tabs please" } });
      expect(odd.headers.get("x-request-id")).to.match(/^[0-9a-f-]{36}$/);
      // The line is written when the response finishes, which may be after the client read it.
      await until("three access lines", () => lines.filter((l) => l.msg === "http request").length >= 3);
      const access = lines.filter((l) => l.msg === "http request");
      expect(access).to.have.length(3);
      expect(access[0]).to.include({ requestId: freshId, method: "GET", path: "/v1/things/7", route: "/v1/things/:id", status: 201 });
      expect(access[1]).to.include({ requestId: "trace-42" });
    } finally {
      server.close();
    }
  });
});
