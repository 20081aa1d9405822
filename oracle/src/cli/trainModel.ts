import * as path from "node:path";
import { Command } from "commander";
import { failAndExit, integerOption } from "./support";
import { DEFAULT_TRAINED_MODEL_DIR } from "../inference/buildModel";
import { DEFAULT_PYTHON, TRAINED_MODEL_SPEC, trainModel } from "../inference/training/trainModel";
import { DEBIAN_WORDNET_DIR } from "../inference/training/wordnetCorpus";

interface TrainCliOptions {
  out: string;
  workDir?: string;
  wordnet: string;
  python: string;
  steps: number;
  seed: number;
}

const program = new Command()
  .name("model:train")
  .description(
    "Train the seed's GPT on WordNet question → definition pairs (PyTorch, one thread, seeded) and write the model folder (Optimum layout).",
  )
  .option("--out <dir>", "output folder", path.relative(process.cwd(), DEFAULT_TRAINED_MODEL_DIR))
  .option("--work-dir <dir>", "folder for token ids and raw weights (default: .data/train)")
  .option("--wordnet <dir>", "WordNet 3.0 database (Debian: wordnet-base)", DEBIAN_WORDNET_DIR)
  .option("--python <path>", "python with torch (Debian: python3-torch)", DEFAULT_PYTHON)
  .option("--steps <n>", "optimizer steps", integerOption(1, 1_000_000), TRAINED_MODEL_SPEC.steps)
  .option("--seed <n>", "seed of the corpus order, tokenizer, initial weights and batches", integerOption(0, 2 ** 31 - 1), TRAINED_MODEL_SPEC.seed)
  .showSuggestionAfterError(false)
  .configureOutput({ writeErr: (s) => process.stderr.write(s.split("\n")[0] + "\n") })
  .exitOverride((err) => process.exit(err.exitCode));

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<TrainCliOptions>();
  const started = performance.now();
  const trained = await trainModel({
    out: o.out,
    workDir: o.workDir,
    wordnetDir: o.wordnet,
    python: o.python,
    steps: o.steps,
    seed: o.seed,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const { train_loss: train, heldout_loss: heldOut } = trained.training;
  process.stdout.write(`wrote ${trained.dir} in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  process.stdout.write(`params ${trained.params.toLocaleString("en-US")}, modelHash ${trained.modelHash}\n`);
  process.stdout.write(
    `train loss ${train.toFixed(4)} (perplexity ${Math.exp(train).toFixed(2)}), held-out loss ${heldOut.toFixed(4)} (perplexity ${Math.exp(heldOut).toFixed(2)})\n`,
  );
}

main().catch(failAndExit);
