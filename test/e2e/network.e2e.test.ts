import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureTinyModel } from "../../oracle/src/inference";
import { DEFAULT_TINY_MODEL_DIR } from "../../oracle/src/inference/buildModel";
import { devAccount } from "../../scripts/demo/accounts";
import { leftoversOf, namespaceSupport } from "../../scripts/demo/netns";
import { awaitBatch, sendRequestBatch } from "../../scripts/demo/requestBatch";
import { type ValidatorNetwork, startValidatorNetwork } from "../../scripts/demo/validatorNetwork";
import { E2E_CHAINS, waitFor } from "./helpers";

const USERS = [10, 11, 12, 13, 14].map(devAccount);
const CHAIN = E2E_CHAINS.includes("anvil") ? "anvil" : E2E_CHAINS[0];
/** `npm run network -- --validators 5 --requests 100` runs the 100; the test keeps to a couple of minutes. */
const BATCH = Number(process.env.NETWORK_E2E_REQUESTS ?? 30);

/** The network namespace a process runs in (`net:[inode]`). */
const netnsOf = (pid: number | "self") => fs.readlinkSync(`/proc/${pid}/ns/net`);

/** The chain part of a node's GET /v1/node: how far it has processed the chain, and the RPC errors it counted. */
async function nodeChainStatus(url: string): Promise<{ processedBlock: number | null; rpcErrors: number }> {
  const response = await fetch(`${url}/v1/node`, { signal: AbortSignal.timeout(5_000) });
  return ((await response.json()) as { chain: { processedBlock: number | null; rpcErrors: number } }).chain;
}

/** Pids of every node process the suites started, for the clean-up check. */
const startedPids: number[] = [];

async function startNetwork(name: string, options: Omit<Parameters<typeof startValidatorNetwork>[0], "chain" | "dir" | "modelDir" | "validators">) {
  const network = await startValidatorNetwork({
    validators: 5,
    chain: CHAIN,
    dir: fs.mkdtempSync(path.join(os.tmpdir(), `network-${name}-`)),
    modelDir: await ensureTinyModel(DEFAULT_TINY_MODEL_DIR),
    ...options,
  });
  startedPids.push(...network.machines.map((m) => m.process.pid));
  return network;
}

describe(`validators as machines: 5 nodes, one network namespace each (${CHAIN})`, function () {
  this.timeout(600_000);

  describe("a batch of requests", function () {
    let network: ValidatorNetwork | undefined;
    before(async function () {
      network = await startNetwork("batch", { commitWindow: 3600, revealWindow: 3600, config: { committeeSize: 3, quorum: 2, maxAttempts: 3 } });
    });
    after(async function () {
      await network?.stop();
    });

    it("runs each node in its own namespace, reaching the chain over the bridge", function () {
      const net = network as ValidatorNetwork;
      const support = namespaceSupport();
      expect(net.mode, support.ok ? "namespaces are available here" : support.reason).to.equal(support.ok ? "namespaces" : "processes");
      const spaces = net.machines.map((m) => netnsOf(m.process.pid));
      if (net.mode === "namespaces") {
        expect(new Set(spaces).size, `namespaces of the 5 nodes: ${spaces.join(", ")}`).to.equal(5);
        expect(spaces).to.not.include(netnsOf("self"));
        expect(net.chain.url).to.not.match(/127\.0\.0\.1/);
      } else {
        expect(new Set(spaces)).to.deep.equal(new Set([netnsOf("self")]));
      }
      expect(new Set(net.machines.map((m) => m.url)).size).to.equal(5);
    });

    it(`finalizes every one of ${BATCH} requests exactly once, none lost`, async function () {
      const net = network as ValidatorNetwork;
      const batch = await sendRequestBatch(net.provider, net.deployment, USERS, { count: BATCH, maxNewTokens: 6, label: "batch" });
      const outcome = await awaitBatch(net.provider, net.deployment, batch, { timeoutMs: 300_000 });
      expect({ finalized: outcome.finalized, lost: outcome.lost, twice: outcome.finalizedTwice }).to.deep.equal({ finalized: BATCH, lost: 0, twice: 0 });
    });
  });

  describe("a node partitioned from the chain for longer than a commit window", function () {
    const COMMIT_WINDOW = 30;
    const REQUESTS = 10;
    let network: ValidatorNetwork | undefined;
    before(async function () {
      // Quorum 3 of 3: a committee holding the cut-off node cannot finalize, so its seats must time out and be drawn
      // again. Its larger stake seats it in most first committees. One block a second keeps chain time with wall time.
      network = await startNetwork("partition", {
        commitWindow: COMMIT_WINDOW,
        revealWindow: COMMIT_WINDOW,
        // Attempts to spare: the cut-off node sits on most committees until it has caught up after the heal.
        config: { committeeSize: 3, quorum: 3, maxAttempts: 8 },
        stakes: [3000n, 1000n, 1000n, 1000n, 1000n],
        blockMs: 1000,
      });
    });
    after(async function () {
      await network?.stop();
    });

    it("has its seats timed out and reassigned, catches up when healed, and nothing finalizes twice or is lost", async function () {
      const net = network as ValidatorNetwork;
      const cut = net.machines[0];
      const before = await nodeChainStatus(cut.url);
      net.partition(0);
      let healed = false;
      try {
        const batch = await sendRequestBatch(net.provider, net.deployment, USERS, { count: REQUESTS, maxNewTokens: 6, label: "partition" });
        const sentAt = (await net.provider.getBlock("latest"))!.timestamp;
        // Every first committee's commit deadline has passed while the node is still cut off.
        await waitFor(
          "chain time past the last commit deadline",
          async () => ((await net.provider.getBlock("latest"))!.timestamp > sentAt + COMMIT_WINDOW + 1 ? true : undefined),
          120_000,
        );
        net.heal(0);
        healed = true;
        const healedAtBlock = await net.provider.getBlockNumber();

        const outcome = await awaitBatch(net.provider, net.deployment, batch, { timeoutMs: 300_000, settleMs: 3_000 });
        expect(
          { finalized: outcome.finalized, lost: outcome.lost, twice: outcome.finalizedTwice },
          `timed out for good ${outcome.timedOut}, declined ${outcome.declined}, unresolved ${outcome.unresolved}, reassigned ${outcome.reassigned}`,
        ).to.deep.equal({ finalized: REQUESTS, lost: 0, twice: 0 });
        expect([...outcome.reassignedFrom], "validators whose seats timed out").to.include(cut.wallet.address.toLowerCase());
        expect(outcome.reassigned).to.be.greaterThan(0);

        // Caught up: the node has processed the chain past the heal and past every outcome.
        const head = await net.provider.getBlockNumber();
        const status = await waitFor("the healed node to catch up", async () => {
          const s = await nodeChainStatus(cut.url).catch(() => undefined);
          return s && (s.processedBlock ?? 0) >= head ? s : undefined;
        }, 120_000);
        expect(status.processedBlock).to.be.at.least(healedAtBlock);
        if (net.mode === "namespaces") {
          expect(status.rpcErrors, "RPC errors the cut-off node counted").to.be.greaterThan(before.rpcErrors);
        }
      } finally {
        if (!healed) net.heal(0);
      }
    });
  });

  describe("clean-up", function () {
    it("leaves no node process, namespace, veth or bridge behind", function () {
      expect(startedPids.length, "node processes started above").to.equal(10);
      const alive = startedPids.filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
      expect(alive, "node processes still running").to.deep.equal([]);
      if (namespaceSupport().ok) expect(leftoversOf()).to.deep.equal({ namespaces: [], links: [] });
    });
  });
});
