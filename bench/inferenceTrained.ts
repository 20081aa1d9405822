/**
 * The trained model (models/trained) in transformers.js and in the engine: greedy token ids for the same prompts
 * must be equal. Part of `npm run bench:inference` (and alone with `-- --trained-only`): a trained model has
 * near-ties that random weights do not, so this is where a difference between the two runtimes would show.
 */
import { type OnnxInferenceEngine } from "../oracle/src/inference";
import { loadTransformersJs } from "./inferenceTransformersJs";

/** Questions in the training format, and prompts outside it. */
export const TRAINED_PROMPTS = [
  "What is a dog?",
  "What is an oracle?",
  "What is a blockchain?",
  "What does it mean to stake?",
  "What does quick mean?",
  "What is a validator?",
  "What is the sun?",
  "A committee of validators runs the same model and",
];

export interface TrainedAgreement {
  modelHash: string;
  tokens: number;
  prompts: number;
  /** prompts whose greedy ids (EOS included) were equal in both */
  sameTokens: number;
  /** tokens the engine generated over all prompts (what was compared) */
  engineTokens: number;
  /** the prompts that differed, with both id lists */
  differences: { prompt: string; engine: number[]; transformersJs: number[] }[];
}

export async function compareTrainedWithTransformersJs(engine: OnnxInferenceEngine, tokens = 48): Promise<TrainedAgreement> {
  const tjs = await loadTransformersJs(engine.modelDir);
  const differences: TrainedAgreement["differences"] = [];
  let engineTokens = 0;
  try {
    for (const prompt of TRAINED_PROMPTS) {
      const promptIds = engine.tokenizer.encode(prompt);
      const ours = (await engine.model.generateBatch([{ promptIds, maxNewTokens: tokens }]))[0].tokenIds;
      const theirs = await tjs.greedy(promptIds, tokens);
      engineTokens += ours.length;
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) differences.push({ prompt, engine: ours, transformersJs: theirs });
    }
  } finally {
    await tjs.dispose();
  }
  return { modelHash: engine.modelHash, tokens, prompts: TRAINED_PROMPTS.length, sameTokens: TRAINED_PROMPTS.length - differences.length, engineTokens, differences };
}
