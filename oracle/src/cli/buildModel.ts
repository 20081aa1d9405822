import * as path from "node:path";
import { Command, Option } from "commander";
import { buildModel, MODEL_PRESETS, type ModelPreset, type PresetName } from "../inference/buildModel";
import { failAndExit, integerOption } from "./support";
import { computeModelHash } from "../inference/modelHash";

interface BuildCliOptions {
  preset: PresetName;
  out?: string;
  vocabSize?: number;
  nPositions?: number;
  nEmbd?: number;
  nLayer?: number;
  nHead?: number;
  seed?: number;
  fusedOps?: boolean;
}

const program = new Command()
  .name("model:build")
  .description("Build a deterministic GPT-2-style ONNX model folder (Optimum layout) from a seed. Same options → byte-identical files.")
  .addOption(new Option("--preset <name>", "size preset").choices(Object.keys(MODEL_PRESETS)).default("tiny"))
  .option("--out <dir>", "output folder (default: models/<preset>)")
  .option("--vocab-size <n>", "vocabulary size (>= 257: 256 bytes + EOS)", integerOption(257, 1_000_000))
  .option("--n-positions <n>", "context length", integerOption(2, 1_000_000))
  .option("--n-embd <n>", "hidden size", integerOption(1, 65_536))
  .option("--n-layer <n>", "transformer blocks", integerOption(1, 1_000))
  .option("--n-head <n>", "attention heads (must divide --n-embd)", integerOption(1, 1_024))
  .option("--seed <n>", "weight and tokenizer seed", integerOption(0))
  .option("--fused-ops", "write blocks with onnxruntime's fused contrib ops (MultiHeadAttention, SkipLayerNormalization, BiasGelu); same weights")
  .showSuggestionAfterError(false)
  .configureOutput({ writeErr: (s) => process.stderr.write(s.split("\n")[0] + "\n") })
  .exitOverride((err) => process.exit(err.exitCode));

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<BuildCliOptions>();
  const preset: ModelPreset = {
    ...MODEL_PRESETS[o.preset],
    ...(o.vocabSize !== undefined && { vocabSize: o.vocabSize }),
    ...(o.nPositions !== undefined && { nPositions: o.nPositions }),
    ...(o.nEmbd !== undefined && { nEmbd: o.nEmbd }),
    ...(o.nLayer !== undefined && { nLayer: o.nLayer }),
    ...(o.nHead !== undefined && { nHead: o.nHead }),
    ...(o.seed !== undefined && { seed: o.seed }),
    ...(o.fusedOps && { fusedOps: true }),
  };
  if (preset.nEmbd % preset.nHead !== 0) throw new Error(`--n-embd ${preset.nEmbd} is not divisible by --n-head ${preset.nHead}`);
  const out = path.resolve(o.out ?? path.join("models", o.preset));
  const started = performance.now();
  const built = await buildModel(out, preset);
  const seconds = (performance.now() - started) / 1000;
  const modelHash = await computeModelHash(out);
  process.stdout.write(`built ${o.preset} model in ${seconds.toFixed(1)} s: ${built.dir}\n`);
  process.stdout.write(`params ${built.params.toLocaleString("en-US")}, modelHash ${modelHash}\n`);
}

main().catch(failAndExit);
