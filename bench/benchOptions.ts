/** commander argParsers shared by the inference benchmarks: preset names checked against the built-in presets. */
import { InvalidArgumentError } from "commander";
import { isPresetName, MODEL_PRESETS, type PresetName } from "../oracle/src/inference/buildModel";

/** One built-in preset name. */
export function presetName(value: string): PresetName {
  if (!isPresetName(value)) throw new InvalidArgumentError(`unknown preset "${value}" (known: ${Object.keys(MODEL_PRESETS).join(", ")})`);
  return value;
}

/** A comma-separated list of built-in preset names. */
export function presetList(value: string): PresetName[] {
  const names = value.split(",").map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError("expected at least one preset");
  return names.map(presetName);
}
