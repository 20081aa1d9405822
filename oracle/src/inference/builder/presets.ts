import type { Gpt2Shape, Gpt2WeightInit } from "./gpt2Graph";

export interface ModelPreset extends Gpt2Shape, Omit<Gpt2WeightInit, "quietTokenIds"> {
  /** write weights to onnx/model.onnx_data (as Optimum does for big models) instead of inline */
  externalData: boolean;
}

const base = {
  layerNormEpsilon: 1e-5,
  seed: 20261128,
  // Chosen by looking at greedy output of the tiny preset: small embeddings and strong blocks give varied
  // (meaningless) text instead of one token repeated.
  embeddingStd: 0.25,
  attentionGain: 2,
  mlpGain: 3,
  residualGain: 4,
  quietTokenScale: 0.25,
};

/**
 * Built-in model sizes. `tiny` is what tests and the demo use (builds in about a second, decodes in
 * milliseconds); `small` is a mid-size benchmark point; `gpt2-small` has GPT-2 small's exact shape (124M params).
 */
export const MODEL_PRESETS = {
  tiny: { ...base, vocabSize: 512, nPositions: 256, nEmbd: 64, nLayer: 2, nHead: 4, externalData: false },
  small: { ...base, vocabSize: 4096, nPositions: 512, nEmbd: 256, nLayer: 4, nHead: 8, externalData: false },
  "gpt2-small": { ...base, vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12, externalData: true },
} satisfies Record<string, ModelPreset>;

export type PresetName = keyof typeof MODEL_PRESETS;

export function isPresetName(name: string): name is PresetName {
  return Object.prototype.hasOwnProperty.call(MODEL_PRESETS, name);
}
