import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensureTinyModel } from "../../../oracle/src/inference/buildModel";

/** The shared tiny model (models/tiny), built once if missing. */
export function tinyModelDir(): Promise<string> {
  return ensureTinyModel();
}

const tempDirs: string[] = [];

export async function makeTempDir(label: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `chat-oracle-${label}-`));
  tempDirs.push(dir);
  return dir;
}

/** Removes every folder made by makeTempDir (call from a suite's `after`). */
export async function removeTempDirs(): Promise<void> {
  for (const dir of tempDirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
}

/** Copies a model folder so a test can break it without touching the shared one. */
export async function copyModel(from: string, label: string): Promise<string> {
  const dir = path.join(await makeTempDir(label), "model");
  await fs.cp(from, dir, { recursive: true });
  return dir;
}

export interface RecordedLine {
  level: "info" | "warn";
  fields: unknown;
  message: string;
}

/** A pino-shaped logger that records lines for assertions. */
export function recordingLogger(): { lines: RecordedLine[]; info: (f: unknown, m: string) => void; warn: (f: unknown, m: string) => void } {
  const lines: RecordedLine[] = [];
  return {
    lines,
    info: (fields, message) => lines.push({ level: "info", fields, message }),
    warn: (fields, message) => lines.push({ level: "warn", fields, message }),
  };
}

export const PROMPTS = [
  "Hello, what is a blockchain?",
  "The oracle",
  "Proof of stake chooses a validator with probability stake / total stake, and",
  "区块链技术",
  "a",
];
