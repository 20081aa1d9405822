import { createHash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import * as path from "node:path";
import { NonRetryableError } from "../errors";

/**
 * Every regular file under `dir` (recursively), skipping names that start with "." (editor and OS litter),
 * as POSIX relative paths sorted by their UTF-8 bytes.
 */
export async function listModelFiles(dir: string): Promise<string[]> {
  const root = path.resolve(dir);
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(child);
      else if (e.isFile()) out.push(child);
    }
  };
  try {
    await walk("");
  } catch (err) {
    throw new NonRetryableError(`cannot read model folder ${root}`, { cause: err });
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
}

/**
 * modelHash = "0x" + sha256 over the model's files in canonical order (see `listModelFiles`). For each file
 * the hash takes, in this order: its relative path in UTF-8, a 0x00 byte, its size in bytes as decimal ASCII,
 * a 0x00 byte, then its contents. Paths and sizes are included so moving bytes between files changes the hash.
 * Anyone can recompute it with the same rule (the contracts register this value).
 */
export async function computeModelHash(dir: string): Promise<string> {
  const root = path.resolve(dir);
  const files = await listModelFiles(root);
  if (files.length === 0) throw new NonRetryableError(`model folder has no files: ${root}`);
  const hash = createHash("sha256");
  for (const rel of files) {
    const abs = path.join(root, ...rel.split("/"));
    const { size } = await fs.stat(abs);
    hash.update(Buffer.from(rel, "utf8"));
    hash.update(Buffer.from([0]));
    hash.update(Buffer.from(String(size), "ascii"));
    hash.update(Buffer.from([0]));
    for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  }
  return "0x" + hash.digest("hex");
}
