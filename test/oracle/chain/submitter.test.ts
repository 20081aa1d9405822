import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { type JsonRpcProvider, Wallet } from "ethers";
import pino from "pino";
import { createHeadTracker, type HeadTracker } from "../../../oracle/src/chain/heads";
import { createProvider } from "../../../oracle/src/chain/rpc";
import { ForeignNonceError, createSubmitter, type Submitter } from "../../../oracle/src/chain/submitter";
import { createShutdown, type Common } from "../../../oracle/src/common";
import { parseConfig } from "../../../oracle/src/config";
import { createMetrics, readMetricByLabel, readMetricValue } from "../../../oracle/src/metrics";
import { openDatabase } from "../../../oracle/src/store/database";
import { devAccount } from "../../../scripts/demo/accounts";
import { type HardhatNode, startHardhatNode } from "../../../scripts/demo/hardhatNode";
import { until } from "../../helpers/waitFor";

/** A plain value transfer: a transaction shape with a known gas cost, so sends skip estimation like commits do. */
const TRANSFER = { kind: "other" as const, to: "0x00000000000000000000000000000000000000c1", data: "0x", value: 1n, gasLimit: 21_000n };

function makeCommon(): Common {
  const logger = pino({ level: "silent" });
  const config = parseConfig({ argv: ["--poll-interval-ms", "20"], env: {} }).config;
  const db = openDatabase(":memory:");
  return { config, logger, metrics: createMetrics(), db, shutdown: createShutdown(logger) };
}

/**
 * One run of a node's sending side (a process that may be "killed"): its own head tracker and submitter for the key,
 * sharing nothing in memory with earlier runs, exactly what a restarted process has.
 */
function startRun(provider: JsonRpcProvider, key: Wallet): { heads: HeadTracker; submitter: Submitter } {
  const common = makeCommon();
  const heads = createHeadTracker(common, provider);
  heads.start();
  return { heads, submitter: createSubmitter(common, provider, heads, key) };
}

/**
 * A JSON-RPC hop in front of the node that answers HTTP 503 to the first `failures` requests asking for `method`
 * (an overloaded RPC provider), after `delayMs`, and forwards everything else.
 */
async function flakyRpc(
  target: string,
  method: string,
  failures: number,
  delayMs = 0,
): Promise<{ url: string; close(): Promise<void>; requests(): number }> {
  let left = failures;
  let requests = 0;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    if (body.includes(`"${method}"`)) requests++;
    if (left > 0 && body.includes(`"${method}"`)) {
      left--;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      res.writeHead(503).end("service unavailable");
      return;
    }
    const answer = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
    res.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    requests: () => requests,
  };
}

describe("submitter (hardhat node process)", function () {
  this.timeout(120_000);
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  const key = devAccount(7);

  before(async function () {
    node = await startHardhatNode();
    provider = createProvider(node.url, 31337);
  });
  after(async function () {
    provider?.destroy();
    await node?.stop();
  });
  afterEach(async function () {
    await provider.send("evm_setAutomine", [true]);
  });

  it("keeps several transactions of one key in flight and gets every receipt from the shared head poller", async function () {
    await provider.send("evm_setAutomine", [false]);
    const { heads, submitter } = startRun(provider, key);
    const first = await provider.getTransactionCount(key.address, "pending");
    const broadcast: string[] = [];
    const sends = Array.from({ length: 6 }, () => submitter.send(TRANSFER, { beforeBroadcast: (hash) => void broadcast.push(hash) }));
    // All six reach the pool before any block: none waits for another's receipt.
    await until("six in the pool", async () => (await provider.getTransactionCount(key.address, "pending")) === first + 6);
    expect(broadcast, "each journaled before it left").to.have.length(6);
    expect(await provider.getTransactionCount(key.address, "latest")).to.equal(first);
    await provider.send("evm_mine", []);
    const mined = await Promise.all(sends);
    expect(new Set(mined.map((m) => m.blockNumber)).size).to.equal(1);
    const nonces = await Promise.all(mined.map(async (m) => (await provider.getTransaction(m.hash))!.nonce));
    expect(nonces).to.deep.equal([0, 1, 2, 3, 4, 5].map((i) => first + i));
    await heads.stop();
  });

  it("recovers the nonce window after a kill with transactions in flight: no gap, no reuse, the journaled hashes still settle", async function () {
    await provider.send("evm_setAutomine", [false]);
    const first = await provider.getTransactionCount(key.address, "pending");
    const killed = startRun(provider, key);
    const journaled: string[] = [];
    // Two transactions broadcast, the third "killed" between its journal write and its broadcast (signed, hash
    // journaled, never sent); a killed process signs nothing after that.
    const inFlight = Array.from({ length: 3 }, (_, i) =>
      killed.submitter.send(TRANSFER, {
        beforeBroadcast: (hash) => {
          journaled.push(hash);
          if (i === 2) throw new Error("killed before broadcast");
        },
      }),
    );
    const allSettled = Promise.allSettled(inFlight); // handled from the start: the first two fail at the kill
    await inFlight[2].then(
      () => expect.fail("the third transaction must not be sent"),
      (error: Error) => expect(error.message).to.contain("killed before broadcast"),
    );
    await killed.heads.stop(); // the process is gone: nothing of it waits any more
    await allSettled;
    expect(journaled).to.have.length(3);

    const restarted = startRun(provider, key);
    // What the journal knows after the restart: two transactions wait in the pool, the third never reached the node.
    const looked = await Promise.all(journaled.map((hash) => restarted.submitter.lookup(hash)));
    expect(looked.map((l) => l.status)).to.deep.equal(["pending", "pending", "unknown"]);
    // Another transaction (a restarted node re-reads the chain and may decide differently), so another hash.
    const resent = restarted.submitter.send({ ...TRANSFER, value: 2n });
    await until("the resend in the pool", async () => (await provider.getTransactionCount(key.address, "pending")) === first + 3);
    await provider.send("evm_mine", []);
    const minedResend = await resent;
    const waited = await Promise.all(journaled.slice(0, 2).map((hash) => restarted.submitter.waitMined(hash, "other")));
    const nonces = await Promise.all([...waited, minedResend].map(async (m) => (await provider.getTransaction(m.hash))!.nonce));
    // Every nonce from `first` on is used exactly once: the never-sent one's nonce went to the restarted run's send.
    expect(nonces).to.deep.equal([first, first + 1, first + 2]);
    expect(await provider.getTransactionCount(key.address, "pending")).to.equal(first + 3);
    expect(await restarted.submitter.lookup(journaled[2])).to.deep.equal({ status: "unknown" });
    await restarted.heads.stop();
  });

  it("does not broadcast a transaction signed before an earlier one failed to broadcast: no nonce gap, no reuse", async function () {
    // Every broadcast attempt of the first transaction fails, slowly (three tries); the second is signed meanwhile.
    const flaky = await flakyRpc(node.url, "eth_sendRawTransaction", 3, 200);
    const flakyProvider = createProvider(flaky.url, 31337);
    const common = makeCommon();
    const heads = createHeadTracker(common, provider);
    heads.start();
    const account = devAccount(10);
    const submitter = createSubmitter(common, flakyProvider, heads, account);
    try {
      const first = await provider.getTransactionCount(account.address, "pending");
      const sends = [1n, 2n].map((value) => submitter.send({ ...TRANSFER, value }));
      const mined = await Promise.all(sends);
      // Each went out on the node's pending count after the failure (in either order): no gap, no reuse.
      const nonces = await Promise.all(mined.map(async (m) => (await provider.getTransaction(m.hash))!.nonce));
      expect(nonces.sort((a, b) => a - b)).to.deep.equal([first, first + 1]);
      expect(await provider.getTransactionCount(account.address, "pending")).to.equal(first + 2);
      // Three failed broadcasts and one for each transaction. The second one's first signature (nonce first + 1,
      // behind the missing one) was never sent: the automining node would have refused it ("nonce too high"),
      // adding broadcasts and retries.
      expect(flaky.requests()).to.equal(5);
    } finally {
      await heads.stop();
      flakyProvider.destroy();
      await flaky.close();
    }
  });

  it("counts a send that failed once and then went through as a retry, not as a failed transaction", async function () {
    const flaky = await flakyRpc(node.url, "eth_getTransactionCount", 1);
    const flakyProvider = createProvider(flaky.url, 31337);
    const common = makeCommon();
    const heads = createHeadTracker(common, provider);
    heads.start();
    const submitter = createSubmitter(common, flakyProvider, heads, devAccount(9));
    try {
      const mined = await submitter.send(TRANSFER);
      expect(mined.receipt.status).to.equal(1);
      expect(await readMetricByLabel(common.metrics.txRetriesTotal, "kind")).to.deep.equal({ other: 1 });
      expect(await readMetricValue(common.metrics.txFailuresTotal)).to.equal(0);
      const text = await common.metrics.registry.metrics();
      expect(text).to.include('chat_oracle_tx_seconds_count{kind="other"} 1');
      expect(text).to.not.match(/chat_oracle_tx_failures_total\{/);
    } finally {
      await heads.stop();
      flakyProvider.destroy();
      await flaky.close();
    }
  });

  it("pauses sending and alerts, instead of racing for nonces, when another process sends from the same key", async function () {
    const shared = devAccount(8);
    const common = makeCommon();
    const heads = createHeadTracker(common, provider);
    heads.start();
    const submitter = createSubmitter(common, provider, heads, shared, { foreignNoncePauseMs: 1_000 });
    try {
      await submitter.send(TRANSFER);
      // The other process (same key, its own nonce count) takes the next nonce.
      await (await shared.connect(provider).sendTransaction({ to: TRANSFER.to, value: 1n })).wait();
      const countAfterForeign = await provider.getTransactionCount(shared.address, "latest");

      const clash = await submitter.send(TRANSFER).then(
        () => expect.fail("the clashing send must not go through"),
        (error: Error) => error,
      );
      expect(clash).to.be.instanceOf(ForeignNonceError);
      expect(clash.message).to.match(/did not sign/);
      expect(submitter.health().ok).to.equal(false);
      expect(submitter.health().message).to.match(/^sending paused until/);
      expect(await readMetricValue(common.metrics.foreignNoncesTotal)).to.equal(1);
      expect(await readMetricValue(common.metrics.sendingPaused)).to.equal(1);

      // While paused nothing is signed or sent: no fight for the next nonce.
      await submitter.send(TRANSFER).then(
        () => expect.fail("a send while paused must not go through"),
        (error: Error) => expect(error).to.be.instanceOf(ForeignNonceError),
      );
      expect(await provider.getTransactionCount(shared.address, "pending")).to.equal(countAfterForeign);

      // After the pause the nonce is read afresh and sending resumes.
      await until("the pause to end", () => submitter.health().ok);
      const mined = await submitter.send(TRANSFER);
      expect((await provider.getTransaction(mined.hash))!.nonce).to.equal(countAfterForeign);
      expect(submitter.health()).to.deep.equal({ ok: true });
      expect(await readMetricValue(common.metrics.sendingPaused)).to.equal(0);
    } finally {
      await heads.stop();
    }
  });
});
