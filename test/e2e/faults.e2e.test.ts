import { expect } from "chai";
import { Transaction, ZeroAddress, toUtf8Bytes } from "ethers";
import net from "node:net";
import path from "node:path";
import { verify } from "../../oracle/src/cli/verify";
import { loadDeployment } from "../../oracle/src/chain/deployments";
import { createProvider } from "../../oracle/src/chain/rpc";
import { readMetricValue } from "../../oracle/src/metrics";
import { hashText } from "../../oracle/src/store/contentStore";
import { devAccount } from "../../scripts/demo/accounts";
import { LOCAL_CHAIN_ID } from "../../scripts/demo/chainNode";
import { freePort } from "../../scripts/demo/hardhatNode";
import { contractsOf, sendChatRequest } from "../../scripts/demo/network";
import { type OracleProcess, startOracleProcess } from "../../scripts/demo/oracleProcess";
import { type E2eChain, E2E_CHAINS, registryEvents, revertedTransactionsFrom, setIntervalMining, startE2eChain, startNode, waitFor } from "./helpers";
import { sharedTinyEngine } from "../helpers/engines";
import { seededRandom as prng } from "../../oracle/src/prng";

const USER = devAccount(10);

/** How often each request finalized, from the chain's events. */
async function finalizationCounts(chain: E2eChain): Promise<Map<bigint, number>> {
  const counts = new Map<bigint, number>();
  for (const e of await registryEvents(chain)) {
    if (e.name === "RecordFinalized") counts.set(e.args.requestId as bigint, (counts.get(e.args.requestId as bigint) ?? 0) + 1);
  }
  return counts;
}

/** A node process over the chain's validators that a test can kill and start again on the same data folder. */
function restartableNode(chain: E2eChain, dataDir: string, port: number, pollIntervalMs: number): () => Promise<OracleProcess> {
  const args = [
    "--rpc-url", chain.node.url,
    "--deployments", chain.deploymentsFile,
    "--data-dir", dataDir,
    "--http-port", String(port),
    "--poll-interval-ms", String(pollIntervalMs),
  ];
  const env = { ORACLE_VALIDATOR_KEYS: chain.validators.map((v) => v.privateKey).join(",") };
  return () => startOracleProcess({ args, env, url: `http://127.0.0.1:${port}`, logFile: path.join(dataDir, "node.log") });
}

/**
 * The ending of a kill test: every one of `requests` requests from `firstId` on finalizes, exactly once, after at
 * least 5 kills, and no validator transaction reverted (a second commit or reveal for a seat would).
 */
async function expectEachFinalizedOnce(chain: E2eChain, run: { firstId: number; requests: number; kills: number; seed: number }): Promise<void> {
  const { firstId, requests, kills, seed } = run;
  await waitFor(
    "all requests finalized",
    async () => {
      const counts = await finalizationCounts(chain);
      for (let id = firstId; id < firstId + requests; id++) if (!counts.has(BigInt(id))) return undefined;
      return true;
    },
    180_000,
  );
  const counts = await finalizationCounts(chain);
  const lost = Array.from({ length: requests }, (_, i) => BigInt(firstId + i)).filter((id) => !counts.has(id));
  expect(kills, `seed ${seed}`).to.be.at.least(5);
  expect(lost, `seed ${seed}`).to.deep.equal([]);
  expect([...counts.values()].filter((n) => n > 1), `seed ${seed}`).to.deep.equal([]);
  expect(await revertedTransactionsFrom(chain, chain.validators.map((v) => v.address)), `seed ${seed}`).to.equal(0);
}

for (const chainKind of E2E_CHAINS) {
  describe(`oracle under faults (${chainKind} node process, tiny model)`, function () {
    this.timeout(300_000);
    let chain: E2eChain;

    before(async function () {
      // Long windows: an automining node stamps every block at least 1 s after its parent, so under load chain time runs
      // far ahead of wall time and short windows would close before a restarted node catches up.
      chain = await startE2eChain({ chain: chainKind, config: { committeeSize: 3, quorum: 2, maxAttempts: 3 }, stakes: [100n, 200n, 300n], commitWindow: 3600, revealWindow: 3600 });
    });
    after(async function () {
      await chain?.stop();
    });

    it("finalizes every one of 50 requests exactly once while the node is killed with SIGKILL at random points", async function () {
      const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000);
      const random = prng(seed);
      const port = await freePort();
      const start = restartableNode(chain, path.join(chain.dir, "killed-node"), port, 50);
      let oracle: OracleProcess = await start();
      const requests = 50;
      const firstId = ((await registryEvents(chain)).filter((e) => e.name === "ChatRequested").length + 1);
      let kills = 0;
      let sending = true;
      let aborted = false;
      // Kill while requests arrive, and at least 5 times in all (some kills land during catch-up after a restart).
      const killer = (async () => {
        while (!aborted && (sending || kills < 5)) {
          await new Promise((r) => setTimeout(r, 200 + random() * 1_200));
          if (aborted) break;
          await oracle.kill();
          kills++;
          oracle = await start();
        }
      })();
      try {
        const sender = USER.connect(chain.provider);
        for (let i = 0; i < requests; i++) {
          await sendChatRequest(chain.provider, chain.deployment, sender, { prompt: `request ${i} of the kill test`, maxNewTokens: 6 });
          await new Promise((r) => setTimeout(r, 40 + random() * 120));
        }
        sending = false;
        await killer;
        await expectEachFinalizedOnce(chain, { firstId, requests, kills, seed });
        const reassigned = (await registryEvents(chain)).filter((e) => e.name === "CommitteeReassigned");
        expect(reassigned, `seed ${seed}`).to.deep.equal([]);
      } finally {
        aborted = true;
        await killer.catch(() => undefined);
        await oracle.stop();
      }
    });

    it("finalizes every request once, with no reverted commit or reveal, when kills land while transactions are in flight (interval mining)", async function () {
      const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000);
      const random = prng(seed);
      const port = await freePort();
      const start = restartableNode(chain, path.join(chain.dir, "killed-node-interval"), port, 20);
      // Blocks every 200 ms: each key has several commits and reveals broadcast and unmined at once, so kills land with
      // transactions in flight (journaled, in the pool, or signed and never sent).
      await setIntervalMining(chain, 200);
      let oracle: OracleProcess | undefined;
      let aborted = false;
      let killer: Promise<void> = Promise.resolve();
      try {
        oracle = await start();
        const requests = 30;
        const firstId = (await registryEvents(chain)).filter((e) => e.name === "ChatRequested").length + 1;
        const { chat } = contractsOf(chain.deployment, chain.provider);
        const fee = (await chat.getConfig()).minimumFee as bigint;
        const user = devAccount(11);
        let nonce = await chain.provider.getTransactionCount(user.address, "pending");
        let kills = 0;
        let sending = true;
        killer = (async () => {
          while (!aborted && (sending || kills < 5)) {
            await new Promise((r) => setTimeout(r, 300 + random() * 900));
            if (aborted) break;
            await oracle?.kill();
            kills++;
            oracle = await start();
          }
        })();
        // Sent raw without waiting for receipts (nonces counted here), a few per block.
        for (let i = 0; i < requests; i++) {
          const data = chat.interface.encodeFunctionData("requestChat", [chain.deployment.modelId, toUtf8Bytes(`request ${i} of the in-flight kill test`), 6, ZeroAddress, 0, 0]);
          const raw = await user.signTransaction(
            Transaction.from({ type: 2, chainId: LOCAL_CHAIN_ID, to: chain.deployment.addresses.ChatRecordRegistry, data, value: fee, nonce: nonce++, gasLimit: 600_000, maxFeePerGas: 50_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n }),
          );
          await chain.provider.send("eth_sendRawTransaction", [raw]);
          await new Promise((r) => setTimeout(r, 30 + random() * 120));
        }
        sending = false;
        await killer;
        // No second commit or reveal for a seat, and no reveal into a record already final: nothing reverted.
        await expectEachFinalizedOnce(chain, { firstId, requests, kills, seed });
      } finally {
        aborted = true;
        await killer.catch(() => undefined);
        await oracle?.stop();
        await setIntervalMining(chain, undefined);
      }
    });

    it("keeps going when the RPC goes away and comes back", async function () {
      // A TCP proxy stands in for the RPC endpoint: closing it is the RPC going down with the chain's state kept.
      const target = new URL(chain.node.url);
      const proxyPort = await freePort();
      const sockets = new Set<net.Socket>();
      const openProxy = () =>
        new Promise<net.Server>((resolve) => {
          const server = net.createServer((client) => {
            const upstream = net.connect(Number(target.port), target.hostname);
            for (const s of [client, upstream]) {
              sockets.add(s);
              s.on("close", () => sockets.delete(s));
              s.on("error", () => s.destroy());
            }
            client.pipe(upstream).pipe(client);
          });
          server.listen(proxyPort, "127.0.0.1", () => resolve(server));
        });
      const closeProxy = (server: net.Server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        });

      let proxy = await openProxy();
      const node = await startNode(
        { ...chain, node: { ...chain.node, url: `http://127.0.0.1:${proxyPort}` } },
        chain.validators.map((v) => v.privateKey),
      );
      try {
        const first = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt: "before the outage", maxNewTokens: 6 });
        await waitFor("first finalized", async () => ((await finalizationCounts(chain)).get(first.requestId) ? true : undefined));

        await closeProxy(proxy);
        const during = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt: "during the outage", maxNewTokens: 6 });
        await waitFor("rpc errors counted", async () => ((await readMetricValue(node.common.metrics.rpcErrorsTotal)) > 0 ? true : undefined));
        expect((await finalizationCounts(chain)).get(during.requestId)).to.equal(undefined);

        proxy = await openProxy();
        await waitFor("request sent during the outage finalized", async () =>
          (await finalizationCounts(chain)).get(during.requestId) ? true : undefined,
        );
        expect((await finalizationCounts(chain)).get(during.requestId)).to.equal(1);
      } finally {
        await node.stop();
        await closeProxy(proxy);
      }
    });

    it("rolls back and re-processes after a reorg (evm_snapshot / evm_revert)", async function () {
      const node = await startNode(chain, chain.validators.map((v) => v.privateKey));
      const provider = createProvider(chain.node.url, LOCAL_CHAIN_ID);
      try {
        const snapshot = (await provider.send("evm_snapshot", [])) as string;
        const dropped = await sendChatRequest(provider, chain.deployment, USER, { prompt: "this block will vanish", maxNewTokens: 6 });
        await waitFor("doomed request finalized in the journal", async () => {
          const jobs = node.journal.jobsOfRequest(dropped.requestId);
          return jobs.length === 3 && jobs.every((j) => j.state === "finalized") ? true : undefined;
        });

        expect(await provider.send("evm_revert", [snapshot])).to.equal(true);
        // The same request id now names another prompt on the new branch.
        const replacement = await sendChatRequest(provider, chain.deployment, USER, { prompt: "the new branch asks this instead", maxNewTokens: 6 });
        expect(replacement.requestId).to.equal(dropped.requestId);
        await waitFor("replacement finalized", async () => ((await finalizationCounts(chain)).get(replacement.requestId) ? true : undefined));

        const jobs = node.journal.jobsOfRequest(replacement.requestId);
        expect(jobs).to.have.length(3);
        expect(jobs.map((j) => j.promptHash)).to.deep.equal(Array(3).fill(hashText("the new branch asks this instead")));
        const report = await verify(
          { provider, deployment: loadDeployment(chain.deploymentsFile), engine: await sharedTinyEngine(), endpoints: [node.url as string] },
          replacement.requestId.toString(),
        );
        expect(report.match, report.problems.join("; ")).to.equal(true);
        expect(report.prompt).to.equal("the new branch asks this instead");
        expect((await finalizationCounts(chain)).get(replacement.requestId)).to.equal(1);
      } finally {
        provider.destroy();
        await node.stop();
      }
    });
  });
}
