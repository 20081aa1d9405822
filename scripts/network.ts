/**
 * `npm run network -- --validators N [--chain anvil|hardhat] [--requests M]`: validators as separate machines on this
 * one. Starts the chain and N validator node processes, each with its own key, data dir and HTTP port, each in its own
 * network namespace on a private bridge (as root with iproute2; elsewhere plain processes on 127.0.0.1, said in one
 * line), talking to the chain only over its RPC URL. With `--requests M` it sends M chat requests, prints how many
 * finalized and how many were lost, and stops; without, it prints the URLs and runs until Ctrl-C. Namespaces, links
 * and the bridge are removed on exit, on Ctrl-C and on SIGTERM.
 */
import fs from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { ensureTinyModel } from "../oracle/src/inference";
import { DEFAULT_TINY_MODEL_DIR } from "../oracle/src/inference/buildModel";
import { integerOption } from "../oracle/src/cli/support";
import { devAccount } from "./demo/accounts";
import { type ChainKind, parseChainKind } from "./demo/chainNode";
import { REPO_ROOT } from "./demo/hardhatNode";
import { awaitBatch, sendRequestBatch } from "./demo/requestBatch";
import { type ValidatorNetwork, startValidatorNetwork } from "./demo/validatorNetwork";

interface NetworkOptions {
  validators: number;
  chain: ChainKind;
  requests?: number;
  committee: number;
  quorum: number;
  maxNewTokens: number;
  commitWindow: number;
  revealWindow: number;
  blockMs?: number;
  namespaces: boolean;
  model: string;
}

/** Dev accounts that send the requests, side by side. */
const USERS = [10, 11, 12, 13, 14].map(devAccount);

const say = (line: string) => process.stdout.write(`${line}\n`);

let network: ValidatorNetwork | undefined;
let stopping: Promise<void> | undefined;
const startUp = new AbortController();
/** Stops the nodes and the chain and removes the namespaces (once, whoever asks first), then exits with `code`. */
function shutdown(code: number): Promise<void> {
  stopping ??= (network?.stop() ?? Promise.resolve()).finally(() => process.exit(code));
  return stopping;
}

function parseOptions(): NetworkOptions {
  return new Command("npm run network --")
    .description("a local chain and N validator nodes, each in its own network namespace (its own machine, as far as the network goes)")
    .option("--validators <n>", "validator nodes, each with its own key, data dir, port and namespace", integerOption(1, 200), 5)
    .option("--chain <kind>", "the local chain to start: anvil or hardhat", parseChainKind, "anvil" as ChainKind)
    .option("--requests <m>", "send M chat requests, report finalized and lost, then stop (default: keep running)", integerOption(1))
    .option("--committee <n>", "committee size", integerOption(1, 32), 3)
    .option("--quorum <n>", "agreeing reveals that finalize (more than half the committee)", integerOption(1, 32), 2)
    .option("--max-new-tokens <n>", "generation cap of each request", integerOption(1, 64), 8)
    .option("--commit-window <s>", "seconds of chain time a committee has to commit", integerOption(1), 600)
    .option("--reveal-window <s>", "seconds of chain time to reveal after the commit window", integerOption(1), 600)
    .option("--block-ms <ms>", "mine a block every ms (anvil: whole seconds) instead of one per transaction", integerOption(1))
    .option("--no-namespaces", "plain processes on 127.0.0.1 even where namespaces are available")
    .option("--model <dir>", "model folder (models/tiny is built if missing)", path.relative(REPO_ROOT, DEFAULT_TINY_MODEL_DIR))
    .showHelpAfterError("(see --help)")
    .parse(process.argv)
    .opts<NetworkOptions>();
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (options.committee > options.validators) {
    throw new Error(`--committee ${options.committee} needs at least as many validators (--validators ${options.validators})`);
  }
  const chosen = path.resolve(REPO_ROOT, options.model);
  const modelDir = chosen === DEFAULT_TINY_MODEL_DIR ? await ensureTinyModel(DEFAULT_TINY_MODEL_DIR) : chosen;
  const dir = path.join(REPO_ROOT, ".data/network", `${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}`);
  const onSignal = (code: number) => {
    if (network) return void shutdown(code);
    say("stopping: removing what start-up made so far");
    startUp.abort(new Error("interrupted during start-up"));
  };
  process.once("SIGINT", () => onSignal(130));
  process.once("SIGTERM", () => onSignal(143));

  network = await startValidatorNetwork({
    validators: options.validators,
    chain: options.chain,
    namespaces: options.namespaces,
    dir,
    modelDir,
    commitWindow: options.commitWindow,
    revealWindow: options.revealWindow,
    blockMs: options.blockMs,
    config: { committeeSize: options.committee, quorum: options.quorum },
    log: say,
    signal: startUp.signal,
  });
  say(`${network.machines.length} validators up (${network.mode === "namespaces" ? "one network namespace each" : "plain processes"}), logs in ${path.relative(REPO_ROOT, dir)}/`);
  for (const m of network.machines) say(`  validator ${m.index + 1}  ${m.wallet.address}  ${m.url}${m.namespace ? `  (netns ${m.namespace})` : ""}  pid ${m.process.pid}`);

  if (options.requests === undefined) {
    say(`chain RPC ${network.chain.url}; deployment ${path.relative(REPO_ROOT, network.deploymentsFile)}`);
    say(`monitoring page of validator 1: ${network.machines[0].url}/`);
    say("running; press Ctrl-C to stop everything");
    await new Promise(() => undefined); // until a signal
  }
  const started = Date.now();
  const batch = await sendRequestBatch(network.provider, network.deployment, USERS, { count: options.requests as number, maxNewTokens: options.maxNewTokens, label: "network" });
  say(`sent ${batch.ids.length} requests in ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for their outcomes`);
  const outcome = await awaitBatch(network.provider, network.deployment, batch, { timeoutMs: 600_000 });
  const seconds = (Date.now() - started) / 1000;
  say(
    `finalized ${outcome.finalized} of ${outcome.requested}, lost ${outcome.lost}, finalized twice ${outcome.finalizedTwice}, ` +
      `reassigned ${outcome.reassigned}, ${seconds.toFixed(1)} s (${(outcome.finalized / seconds).toFixed(1)} finalized/s)`,
  );
  fs.writeFileSync(path.join(dir, "outcome.json"), `${JSON.stringify({ ...outcome, reassignedFrom: [...outcome.reassignedFrom], seconds, mode: network.mode }, null, 2)}\n`);
  await shutdown(outcome.lost === 0 && outcome.finalizedTwice === 0 ? 0 : 1);
}

main().catch(async (error: unknown) => {
  process.stderr.write(`network failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await shutdown(1);
});
