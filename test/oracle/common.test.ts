import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";
import { createCommon, createShutdown, stdoutLogDestination } from "../../oracle/src/common";
import { redactUrl } from "../../oracle/src/chain/rpc";
import { ConfigError, parseConfig } from "../../oracle/src/config";
import { until } from "../helpers/waitFor";

function configFor(dataDir: string, logLevel = "silent") {
  return parseConfig({ argv: ["--data-dir", dataDir, "--log-level", logLevel], env: {} }).config;
}

/** Starts a second process holding the data dir (as a second node would), resolved once it holds it. */
function holdInAnotherProcess(dataDir: string): Promise<{ pid: number; stop(): Promise<void> }> {
  const script = `
    const { createCommon } = require("./oracle/src/common");
    const { parseConfig } = require("./oracle/src/config");
    createCommon(parseConfig({ argv: ["--data-dir", ${JSON.stringify(dataDir)}, "--log-level", "silent"], env: {} }).config);
    process.stdout.write("held\\n");
    setInterval(() => undefined, 1000);
  `;
  const child = spawn(process.execPath, ["--require", "tsx/cjs", "-e", script], { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`holder exited with ${code}`)));
    child.stdout.on("data", (chunk: Buffer) => {
      if (!chunk.toString().includes("held")) return;
      child.removeAllListeners("exit");
      resolve({
        pid: child.pid as number,
        stop: () => new Promise<void>((done) => (child.once("exit", () => done()), child.kill("SIGKILL"))),
      });
    });
  });
}

describe("data dir lock", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-oracle-lock-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("refuses a second node on the same data dir with one line naming it, and frees it at shutdown", async function () {
    const first = createCommon(configFor(dir));
    let error: unknown;
    try {
      createCommon(configFor(dir));
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as Error).message).to.equal(`--data-dir: ${dir} is in use by another oracle node (pid ${process.pid}); one data dir serves one node`);
    await first.shutdown.run("test");
    const again = createCommon(configFor(dir));
    await again.shutdown.run("test");
  });

  it("is held across processes, and released by the OS when the holder is killed with SIGKILL", async function () {
    const holder = await holdInAnotherProcess(dir);
    try {
      expect(() => createCommon(configFor(dir))).to.throw(ConfigError, `(pid ${holder.pid})`);
    } finally {
      await holder.stop();
    }
    const after = createCommon(configFor(dir));
    await after.shutdown.run("test");
  });
});

describe("log redaction", function () {
  it("logs an RPC URL with its host only, never the key in its path, query or user info", function () {
    const lines: string[] = [];
    const common = createCommon(configFor("unused", "info"), { inMemoryDatabase: true, logDestination: { write: (line: string) => void lines.push(line) } });
    common.logger.info({ rpcUrl: "https://eth.example:8443/v3/SECRETKEY1" }, "started");
    common.logger.info({ config: { rpcUrl: "wss://user:SECRETKEY2@eth.example/ws?key=SECRETKEY3", adminToken: "SECRETKEY4" } }, "config");
    const text = lines.join("");
    expect(text).to.not.match(/SECRETKEY/);
    expect(text).to.contain('"rpcUrl":"https://eth.example:8443/[redacted]"').and.contain('"rpcUrl":"wss://eth.example/[redacted]"');
    void common.shutdown.run("test");
  });

  it("keeps a plain local RPC URL as it is", function () {
    expect(redactUrl("http://127.0.0.1:8545")).to.equal("http://127.0.0.1:8545");
    expect(redactUrl("http://127.0.0.1:8545/")).to.equal("http://127.0.0.1:8545");
    expect(redactUrl("https://rpc.example/?apikey=abc")).to.equal("https://rpc.example/[redacted]");
    expect(redactUrl("not a url")).to.equal("[redacted]");
  });
});

describe("shutdown order", function () {
  it("stops the chain intake first, so no event is handled or logged after 'shutting down' while the API drains", async function () {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line).msg) });
    const shutdown = createShutdown(logger);
    // A listener that logs every event it handles until it is stopped, as the node's does.
    let listening = true;
    const timer = setInterval(() => listening && logger.info("assigned to committee"), 1);
    shutdown.add("listener", () => {
      listening = false;
      clearInterval(timer);
    }, "intake");
    // Registered later, so without the intake phase it would run first; it takes a while, like closing SSE streams.
    shutdown.add("http", () => new Promise<void>((resolve) => setTimeout(resolve, 50)));
    await until("the listener logging", () => lines.includes("assigned to committee"));
    await shutdown.run("test");
    const after = lines.slice(lines.indexOf("shutting down"));
    expect(after).to.deep.equal(["shutting down", "shutdown complete"]);
  });
});

describe("log format", function () {
  it("writes JSON lines to a pipe and pretty lines to a terminal, unless told otherwise", function () {
    expect(stdoutLogDestination("auto", false)).to.equal(undefined);
    expect(stdoutLogDestination("json", true)).to.equal(undefined);
    expect(stdoutLogDestination("auto", true)).to.not.equal(undefined);
    expect(stdoutLogDestination("pretty", false)).to.not.equal(undefined);
  });

  it("prints a readable line with --log-format pretty", async function () {
    this.timeout(60_000);
    const root = path.resolve(__dirname, "../..");
    const code = [
      'const { createCommon } = require("./oracle/src/common");',
      'const { parseConfig } = require("./oracle/src/config");',
      `const { config } = parseConfig({ argv: ["--log-format", process.argv[1]], env: {} });`,
      "const c = createCommon(config, { inMemoryDatabase: true });",
      'c.logger.info({ requestId: "7" }, "committed response");',
      'c.shutdown.run("done");',
    ].join("\n");
    const run = (format: string) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(path.join(root, "node_modules/.bin/tsx"), ["-e", code, format], { cwd: root });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.on("error", reject);
        child.on("exit", () => resolve(out));
      });
    const prettyOut = await run("pretty");
    expect(prettyOut).to.match(/INFO.*committed response/).and.match(/requestId: "7"/);
    const jsonOut = (await run("json")).trim().split("\n")[0];
    expect(JSON.parse(jsonOut)).to.include({ msg: "committed response", requestId: "7" });
  });
});
