import { Command, InvalidArgumentError } from "commander";
import { ensureTinyModel, loadEngine } from "../inference";
import { failAndExit, integerOption, numberOption, stderrLogger } from "./support";
import { DEFAULT_PROVIDERS, knownProviders } from "../inference/providers";

interface GenerateCliOptions {
  model?: string;
  prompt: string;
  maxNewTokens: number;
  providers?: string[];
  threads?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  json?: boolean;
}

/** `cuda,cpu` → ["cuda", "cpu"], each a provider this build knows (the node's `--providers` reads the same). */
function providerList(value: string): string[] {
  const names = value.split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !knownProviders().includes(name));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown provider ${unknown.join(", ")} (one of ${knownProviders().join(", ")})`);
  return names;
}

/** Checked while parsing, so an empty prompt fails before the model loads (which takes seconds). */
function nonEmptyText(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("must not be empty");
  return value;
}

const program = new Command()
  .name("generate")
  .description("Generate a response with the oracle's ONNX inference engine (greedy unless --temperature is given).")
  .option("--model <dir>", "model folder in the Optimum layout (default: models/tiny, built if missing)")
  .requiredOption("--prompt <text>", "prompt text (not empty)", nonEmptyText)
  .option("--max-new-tokens <n>", "most tokens to generate", integerOption(1, 1_000_000), 32)
  .option("--providers <list>", `execution providers to try in order, comma-separated like the node's (default: ${DEFAULT_PROVIDERS.join(",")})`, providerList)
  .option("--threads <n>", "CPU intra-op threads (default: one per core)", integerOption(0, 1024))
  .option("--temperature <t>", "sample with this temperature instead of greedy decoding", numberOption(1e-6, 100))
  .option("--top-k <k>", "sampling: keep the k most likely tokens", integerOption(1))
  .option("--top-p <p>", "sampling: keep the smallest set with this probability mass", numberOption(1e-6, 1))
  .option("--seed <n>", "sampling seed (required with --temperature)", integerOption(0))
  .option("--json", "print one JSON object instead of the text")
  .showSuggestionAfterError(false)
  .configureOutput({ writeErr: (s) => process.stderr.write(s.split("\n")[0] + "\n") })
  .exitOverride((err) => process.exit(err.exitCode));

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<GenerateCliOptions>();
  const samplingFlags = o.topK !== undefined || o.topP !== undefined || o.seed !== undefined;
  if (o.temperature === undefined && samplingFlags) throw new Error("--top-k, --top-p and --seed need --temperature");
  if (o.temperature !== undefined && o.seed === undefined) throw new Error("--temperature needs --seed (sampling must be reproducible)");
  const modelDir = o.model ?? (await ensureTinyModel());
  const engine = await loadEngine({ modelDir, providers: o.providers, threads: o.threads, logger: stderrLogger });
  try {
    const sampling = o.temperature !== undefined ? { temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed! } : undefined;
    const result = await engine.generate({ prompt: o.prompt, maxNewTokens: o.maxNewTokens, sampling });
    if (o.json) {
      const out = {
        prompt: o.prompt,
        promptTokenIds: result.promptTokenIds,
        tokenIds: result.tokenIds,
        text: result.text,
        responseHash: result.responseHash,
        modelHash: engine.modelHash,
        provider: engine.provider,
        finishReason: result.finishReason,
        tokensPerSecond: Number(result.tokensPerSecond.toFixed(1)),
        sampling: sampling ?? null,
      };
      process.stdout.write(JSON.stringify(out) + "\n");
    } else process.stdout.write(result.text + "\n");
  } finally {
    await engine.close();
  }
}

main().catch(failAndExit);
