/**
 * Validators as machines: a local chain and N validator node processes, each with its own fresh key, data dir, HTTP
 * port and — where this machine allows — its own network namespace (scripts/demo/netns.ts), reaching the chain only
 * over its RPC URL on the private bridge. Used by `npm run network` and test/e2e/network.e2e.test.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { type JsonRpcProvider, Wallet } from "ethers";
import { createProvider } from "../../oracle/src/chain/rpc";
import type { ChatConfig } from "../lib/deploy";
import type { DeploymentFile } from "../../oracle/src/chain/deployments";
import { ROLES, devAccount } from "./accounts";
import { type ChainKind, type ChainNode, LOCAL_CHAIN_ID, setChainLogging, setIntervalMining, startChainNode } from "./chainNode";
import { deployToNode } from "./deploy";
import { REPO_ROOT, freePort } from "./hardhatNode";
import { type PrivateNetwork, createPrivateNetwork, namespaceSupport } from "./netns";
import { fundAccounts, stakeValidators } from "./network";
import { type OracleProcess, startOracleProcess } from "./oracleProcess";

export interface ValidatorNetworkOptions {
  validators: number;
  chain: ChainKind;
  /** false: plain processes on 127.0.0.1 even where namespaces are available. */
  namespaces?: boolean;
  /** Each node's data dir and log go under this folder; the deployment file too. */
  dir: string;
  modelDir: string;
  /** Stake of each validator in whole tokens (default 1,000 each: a few slashes leave it above the minimum). */
  stakes?: readonly bigint[];
  commitWindow: number;
  revealWindow: number;
  config?: Partial<ChatConfig>;
  /** Interval mining every `blockMs` (anvil: whole seconds); default automine. */
  blockMs?: number;
  pollIntervalMs?: number;
  log?: (line: string) => void;
  /** Aborting stops the start-up at the next step and removes what it made (Ctrl-C during start-up). */
  signal?: AbortSignal;
}

/** One validator: its key, where it lives, its node process. */
export interface ValidatorMachine {
  index: number;
  wallet: Wallet;
  /** Its network namespace, in namespace mode. */
  namespace?: string;
  address: string;
  url: string;
  dataDir: string;
  logFile: string;
  process: OracleProcess;
}

export interface ValidatorNetwork {
  mode: "namespaces" | "processes";
  /** Why namespace mode was not used, when it was wanted. */
  fallbackReason?: string;
  chain: ChainNode;
  provider: JsonRpcProvider;
  deployment: DeploymentFile;
  deploymentsFile: string;
  machines: ValidatorMachine[];
  /**
   * Cuts validator `index` off the chain: its link goes down in namespace mode (the node runs on, every RPC call
   * fails); without namespaces its process group is stopped (SIGSTOP), the nearest a shared network stack allows.
   */
  partition(index: number): void;
  heal(index: number): void;
  /** Stops the nodes and the chain and removes the namespaces, links and bridge. */
  stop(): Promise<void>;
}

/**
 * Starts the chain, deploys, funds and stakes `validators` fresh keys and starts one node process per key, each in
 * its own namespace when possible. On a failure it stops what it started and rethrows.
 */
export async function startValidatorNetwork(options: ValidatorNetworkOptions): Promise<ValidatorNetwork> {
  const log = options.log ?? (() => undefined);
  const support = options.namespaces === false ? { ok: false as const, reason: "turned off" } : namespaceSupport();
  let net: PrivateNetwork | undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const fn of cleanups.splice(0).reverse()) await Promise.resolve(fn()).catch(() => undefined);
  };
  const step = <T>(value: T): T => {
    options.signal?.throwIfAborted();
    return value;
  };
  try {
    if (support.ok) {
      net = createPrivateNetwork(options.validators);
      const made = net;
      cleanups.push(() => made.destroy());
      log(`network namespaces: ${options.validators} namespaces on bridge ${net.bridge} (${net.subnet}), chain at ${net.gateway}`);
    } else {
      const why = options.namespaces === false ? "network namespaces turned off" : `network namespaces unavailable (${support.reason})`;
      log(`${why}: running the validators as plain processes on 127.0.0.1`);
    }
    fs.mkdirSync(options.dir, { recursive: true });
    const chainLog = fs.createWriteStream(path.join(options.dir, `${options.chain}.log`));
    cleanups.push(() => void chainLog.end());
    const chain = await startChainNode(options.chain, { host: net?.gateway, onOutput: (line) => chainLog.write(`${line}\n`) });
    cleanups.push(() => chain.stop());
    step(undefined); // after the push: an abort now still stops the chain
    const provider = createProvider(chain.url, LOCAL_CHAIN_ID);
    cleanups.push(() => provider.destroy());
    await setChainLogging(provider, options.chain, false);
    log(`${options.chain} at ${chain.url} (pid ${chain.pid})`);

    const deployment = step(await deployToNode(provider, devAccount(ROLES.deployer), "localhost", {
      outDir: options.dir,
      write: true,
      redeploy: true,
      modelDir: options.modelDir,
      modelUri: path.relative(REPO_ROOT, options.modelDir),
      commitWindow: options.commitWindow,
      revealWindow: options.revealWindow,
      config: options.config,
    }));
    const deploymentsFile = path.join(options.dir, "localhost.json");
    log(`deployed ChatRecordRegistry ${deployment.addresses.ChatRecordRegistry}`);

    const wallets = Array.from({ length: options.validators }, () => Wallet.createRandom() as unknown as Wallet);
    step(await fundAccounts(provider, wallets));
    const places = await Promise.all(
      wallets.map(async (_, i) => {
        const host = net?.hosts[i];
        const address = host?.address ?? "127.0.0.1";
        const port = host ? 8080 : await freePort();
        return { host, address, url: `http://${address}:${port}`, port };
      }),
    );
    await stakeValidators(
      provider,
      deployment,
      wallets.map((wallet, i) => ({ wallet, tokens: options.stakes?.[i] ?? 1000n, endpoint: places[i].url })),
    );
    step(log(`staked ${options.validators} validators`));
    if (options.blockMs !== undefined) await setIntervalMining(provider, options.chain, options.blockMs);

    const starts = await Promise.allSettled(
      wallets.map(async (wallet, i): Promise<ValidatorMachine> => {
        const { host, address, url, port } = places[i];
        const dataDir = path.join(options.dir, `validator-${i + 1}`);
        const logFile = path.join(dataDir, "node.log");
        const proc = await startOracleProcess({
          args: [
            "--rpc-url", chain.url,
            "--ws-url", chain.wsUrl,
            "--deployments", deploymentsFile,
            "--model-dir", options.modelDir,
            "--data-dir", dataDir,
            "--http-host", address,
            "--http-port", String(port),
            "--public-url", url,
            "--poll-interval-ms", String(options.pollIntervalMs ?? 100),
          ],
          env: { ORACLE_VALIDATOR_KEYS: wallet.privateKey }, // never on a command line (ps)
          url,
          logFile,
          wrapper: host?.exec,
          readyTimeoutMs: 300_000,
        });
        return { index: i, wallet, namespace: host?.namespace, address, url, dataDir, logFile, process: proc };
      }),
    );
    const machines: ValidatorMachine[] = [];
    for (const start of starts) {
      if (start.status === "fulfilled") {
        machines.push(start.value);
        cleanups.push(() => start.value.process.stop());
      }
    }
    const failed = starts.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    step(undefined);
    machines.sort((a, b) => a.index - b.index);

    const machineOf = (index: number) => {
      const machine = machines[index];
      if (!machine) throw new Error(`no validator ${index} (the network has ${machines.length})`);
      return machine;
    };
    const signalGroup = (index: number, signal: NodeJS.Signals) => process.kill(-machineOf(index).process.pid, signal);
    return {
      mode: net ? "namespaces" : "processes",
      ...(support.ok ? {} : { fallbackReason: support.reason }),
      chain,
      provider,
      deployment,
      deploymentsFile,
      machines,
      partition: (index) => (net ? net.partition(machineOf(index).index) : signalGroup(index, "SIGSTOP")),
      heal: (index) => (net ? net.heal(machineOf(index).index) : signalGroup(index, "SIGCONT")),
      stop: async () => {
        // A stopped (SIGSTOP) node would not see SIGTERM; a downed link would delay its shutdown.
        for (const machine of machines) {
          try {
            if (net) net.heal(machine.index);
            else process.kill(-machine.process.pid, "SIGCONT");
          } catch {
            // gone already
          }
        }
        await Promise.all(machines.map((m) => m.process.stop()));
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
