import { existsSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import { NonRetryableError } from "../errors";

/** Default order: the fastest provider that loads wins; CPU always works. */
export const DEFAULT_PROVIDERS = ["cuda", "webgpu", "cpu"] as const;

export interface ProviderLogger {
  info: (...args: any[]) => void;
  warn: (...args: any[]) => void;
}

export interface SessionSettings {
  /** CPU intra-op threads; undefined or 0 = one per CPU core (`os.availableParallelism()`) */
  threads?: number;
  logger?: ProviderLogger;
  /**
   * On a GPU provider, ask for the KV cache outputs (present.*) in device memory, so they go back in as
   * past_key_values without a round trip through host memory each step. Default true.
   */
  kvOnDevice?: boolean;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  provider: string;
  /** providers tried before the one in use, with why each failed */
  failures: Array<{ provider: string; error: string }>;
  /** where the present.* outputs live: "gpu-buffer" only with webgpu and kvOnDevice */
  kvLocation: "cpu" | "gpu-buffer";
}

/** Providers whose outputs onnxruntime-node can leave in device memory (Tensor.location "gpu-buffer"). */
const DEVICE_BUFFER_PROVIDERS = new Set(["webgpu"]);

/** Provider names this onnxruntime-node build knows (bundled or loadable), e.g. cpu, webgpu, cuda, tensorrt. */
export function knownProviders(): string[] {
  const list = (ort as unknown as { listSupportedBackends?: () => Array<{ name: string }> }).listSupportedBackends?.();
  return list ? list.map((b) => b.name) : ["cpu"];
}

const VULKAN_LOADER = "libvulkan.so.1";
const SYSTEM_LIBRARY_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu", "/lib64", "/lib"];

/**
 * WebGPU in onnxruntime-node runs on Vulkan on Linux. Without the Vulkan loader, Dawn prints a multi-line
 * warning before failing; checking first gives a clean one-line reason instead.
 */
function missingPrerequisite(provider: string): string | undefined {
  if (provider !== "webgpu" || process.platform !== "linux") return undefined;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean), ...SYSTEM_LIBRARY_DIRS];
  if (dirs.some((d) => existsSync(path.join(d, VULKAN_LOADER)))) return undefined;
  return `${VULKAN_LOADER} not found (install libvulkan1 or add its folder to LD_LIBRARY_PATH)`;
}

/** Session options for `provider`; exported for tests. */
export function sessionOptions(provider: string, settings: SessionSettings): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: "all",
    // Only the failure we report ourselves matters; ORT's own error lines for a missing provider are noise.
    logSeverityLevel: 3,
    // Always explicit: left to itself onnxruntime 1.30 ran one intra-op thread on a 2-core VM (decode step of
    // gpt2-small 24.6 ms, the same as with 1 thread; 13.4 ms with 2).
    intraOpNumThreads: settings.threads || os.availableParallelism(),
    interOpNumThreads: 1,
  };
}

/**
 * Opens `graphPath` with the first provider of `providers` that works, trying them one at a time
 * (a session created with ['cuda', 'cpu'] throws when CUDA is missing instead of falling back).
 * Logs one warning line when it ends up on CPU after a GPU provider failed.
 */
export async function openSession(graphPath: string, providers: readonly string[], settings: SessionSettings = {}): Promise<OpenedSession> {
  if (providers.length === 0) throw new NonRetryableError("no execution provider given (expected a list such as cuda,webgpu,cpu)");
  const known = knownProviders();
  for (const p of providers) {
    if (!known.includes(p)) throw new NonRetryableError(`unknown execution provider "${p}" (onnxruntime-node knows: ${known.join(", ")})`);
  }
  if (settings.threads !== undefined && !(Number.isInteger(settings.threads) && settings.threads >= 0)) {
    throw new NonRetryableError(`threads must be an integer >= 0 (0 = one per CPU core), got ${settings.threads}`);
  }
  ort.env.logLevel = "fatal";
  const failures: OpenedSession["failures"] = [];
  for (const provider of providers) {
    const missing = missingPrerequisite(provider);
    if (missing) {
      failures.push({ provider, error: missing });
      continue;
    }
    try {
      let session = await ort.InferenceSession.create(graphPath, sessionOptions(provider, settings));
      let kvLocation: OpenedSession["kvLocation"] = "cpu";
      if (DEVICE_BUFFER_PROVIDERS.has(provider) && (settings.kvOnDevice ?? true)) {
        // preferredOutputLocation must name real outputs, which are only known once a session exists.
        const present = session.outputNames.filter((n) => n.startsWith("present."));
        if (present.length > 0) {
          const options = { ...sessionOptions(provider, settings), preferredOutputLocation: Object.fromEntries(present.map((n) => [n, "gpu-buffer" as const])) };
          await session.release();
          session = await ort.InferenceSession.create(graphPath, options);
          kvLocation = "gpu-buffer";
        }
      }
      warnCpuFallback(settings.logger, provider, failures);
      return { session, provider, failures, kvLocation };
    } catch (err) {
      failures.push({ provider, error: firstLine(err) });
    }
  }
  throw new NonRetryableError(
    `no execution provider could open ${graphPath}: ${failures.map((f) => `${f.provider}: ${f.error}`).join("; ")}`,
  );
}

/** The one log line for a GPU provider that failed before CPU worked (nothing when CPU was the first choice). */
export function warnCpuFallback(logger: ProviderLogger | undefined, provider: string, failures: OpenedSession["failures"]): void {
  if (!logger || provider !== "cpu" || failures.length === 0) return;
  logger.warn(
    { tried: failures.map((f) => `${f.provider}: ${f.error}`) },
    `no gpu execution provider available (${failures.map((f) => f.provider).join(", ")} failed), running on cpu`,
  );
}

function firstLine(err: unknown): string {
  const line = (err instanceof Error ? err.message : String(err)).split("\n")[0];
  // onnxruntime puts the reason at the end of long messages (after the source location)
  return line.length > 300 ? "…" + line.slice(-300) : line;
}
