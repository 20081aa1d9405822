import { loadEngine, type OnnxInferenceEngine } from "../../oracle/src/inference";
import { DEFAULT_TRAINED_MODEL_DIR, ensureTinyModel } from "../../oracle/src/inference/buildModel";

/** Engines by model folder, loaded at most once per mocha run (loading a model is the slow part of these tests). */
const loaded = new Map<string, Promise<OnnxInferenceEngine>>();

function sharedEngineOf(key: string, modelDir: () => Promise<string>): Promise<OnnxInferenceEngine> {
  let engine = loaded.get(key);
  if (!engine) {
    engine = modelDir().then((dir) => loadEngine({ modelDir: dir, providers: ["cpu"], threads: 1 }));
    loaded.set(key, engine);
  }
  return engine;
}

/**
 * The tiny model (models/tiny, built once if missing) on one CPU thread, shared by every test file of the run: the
 * inference suites, the HTTP API tests and the in-process e2e nodes. Do not close it: the run does, at its end. A test
 * that needs another setting (threads, a watchdog, a crash) loads an engine of its own.
 */
export function sharedTinyEngine(): Promise<OnnxInferenceEngine> {
  return sharedEngineOf("tiny", () => ensureTinyModel());
}

/** The committed trained model (models/trained), shared like `sharedTinyEngine`. */
export function sharedTrainedEngine(): Promise<OnnxInferenceEngine> {
  return sharedEngineOf("trained", async () => DEFAULT_TRAINED_MODEL_DIR);
}

// A root-level hook (registered while mocha loads the files that import this one): closes what the run loaded.
after(async function closeSharedEngines() {
  const engines = await Promise.allSettled(loaded.values());
  loaded.clear();
  for (const engine of engines) if (engine.status === "fulfilled") await engine.value.close();
});
