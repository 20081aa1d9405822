/**
 * Memory bandwidth of this machine, for the decode bound of bench/inference.ts. Three measures, each the best
 * of several runs over buffers far larger than any cache:
 * - copyStream: Buffer.copy (memcpy) on one thread, counted the STREAM way (bytes read + bytes written);
 * - read1: one thread reading (memchr for a byte that is not there: a vectorized read-only scan);
 * - readAll: the same scan on every core at once (worker threads on disjoint halves of one shared buffer).
 * Decoding at batch 1 only *reads* weights, on all of onnxruntime's intra-op threads, so the honest ceiling is
 * the fastest of the three: the bound uses the maximum.
 *
 * Page size moves all three (2 MiB pages spare the TLB misses of streaming through 4 KiB ones), so the bench also
 * takes them in a child process whose allocator asks for transparent huge pages (`measureOnHugePages`), and the
 * ceiling is the fastest either way. Run directly, this file prints one sample as JSON.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as os from "node:os";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";

const MiB = 1024 * 1024;

export interface Bandwidths {
  copyStream: number;
  read1: number;
  readAll: number;
  threads: number;
}

/** Bytes/s of the fastest of `repeats` calls of `fn`, which moves `bytes` bytes. */
async function best(bytes: number, repeats: number, fn: () => unknown): Promise<number> {
  let rate = 0;
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await fn();
    rate = Math.max(rate, bytes / ((performance.now() - started) / 1000));
  }
  return rate;
}

// Plain JavaScript (eval: true), so the worker does not need the TypeScript loader.
const SCAN_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const slice = Buffer.from(workerData.buffer, workerData.offset, workerData.length);
parentPort.on("message", () => parentPort.postMessage(slice.indexOf(0)));
`;

async function readOnAllCores(bytesPerThread: number, threads: number, repeats: number): Promise<number> {
  const shared = new SharedArrayBuffer(bytesPerThread * threads);
  new Uint8Array(shared).fill(1); // touch every page, and make the scanned-for 0 byte absent
  const workers = Array.from({ length: threads }, (_, i) => new Worker(SCAN_WORKER, { eval: true, workerData: { buffer: shared, offset: i * bytesPerThread, length: bytesPerThread } }));
  const scan = (w: Worker): Promise<void> => new Promise((resolve) => (w.once("message", () => resolve()), w.postMessage(null)));
  try {
    await Promise.all(workers.map(scan)); // first scan warms the workers up
    return await best(bytesPerThread * threads, repeats, () => Promise.all(workers.map(scan)));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export async function measureBandwidths(): Promise<Bandwidths> {
  const bytes = 256 * MiB;
  const src = Buffer.alloc(bytes, 1);
  const dst = Buffer.alloc(bytes);
  const copyStream = await best(2 * bytes, 7, () => src.copy(dst));
  const read1 = await best(bytes, 7, () => src.indexOf(0));
  const threads = os.cpus().length;
  const readAll = await readOnAllCores(bytes, threads, 7);
  return { copyStream, read1, readAll, threads };
}

/**
 * glibc's allocator setting that puts large allocations on transparent huge pages where the kernel leaves them to
 * `madvise` (/sys/kernel/mm/transparent_hugepage/enabled = madvise, as here). The engine does not run with it: see
 * docs/inference.md, "Huge pages".
 */
export const HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb=1";

/** How much of this process's memory the kernel holds on huge pages, KiB (AnonHugePages; 0 where unknown). */
export function anonHugePagesKiB(): number {
  try {
    const match = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync("/proc/self/smaps_rollup", "utf8"));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0; // not Linux
  }
}

/** One sample of the three measures in a child process started with HUGE_PAGES_TUNABLE, and how much it got. */
export async function measureOnHugePages(): Promise<Bandwidths & { hugePagesKiB: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, [...process.execArgv, __filename], {
    env: { ...process.env, GLIBC_TUNABLES: HUGE_PAGES_TUNABLE },
  });
  return JSON.parse(stdout) as Bandwidths & { hugePagesKiB: number };
}

/**
 * The fastest of several samples, measure by measure. The bound is a ceiling, and a sample taken while the shared
 * host was busy only lowers it (one run's two-thread read came out 34 GB/s against 46–61 GB/s in the others).
 */
export function fastestOf(samples: readonly Bandwidths[]): Bandwidths & { samples: number } {
  const max = (pick: (b: Bandwidths) => number): number => Math.max(...samples.map(pick));
  return { copyStream: max((b) => b.copyStream), read1: max((b) => b.read1), readAll: max((b) => b.readAll), threads: samples[0].threads, samples: samples.length };
}

if (require.main === module) {
  void measureBandwidths().then((sample) => process.stdout.write(JSON.stringify({ ...sample, hugePagesKiB: anonHugePagesKiB() })));
}
