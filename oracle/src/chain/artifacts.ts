import fs from "node:fs";
import path from "node:path";
import type { InterfaceAbi } from "ethers";

/** A compiled contract as Hardhat writes it under artifacts/contracts. */
export interface Artifact {
  contractName: string;
  abi: InterfaceAbi;
  bytecode: string;
}

const ARTIFACTS_DIR = path.resolve(__dirname, "../../../artifacts/contracts");

/** The path of `<name>.json` under artifacts/contracts, or undefined when the contracts are not compiled. */
export function findArtifactFile(name: string, dir = ARTIFACTS_DIR): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const hit = findArtifactFile(name, full);
      if (hit) return hit;
    } else if (entry.name === `${name}.json`) return full;
  }
  return undefined;
}

/** Reads a compiled contract by name (run `npm run compile` first). */
export function readArtifact(name: string): Artifact {
  const found = findArtifactFile(name);
  if (!found) throw new Error(`no artifact for ${name}: run npm run compile`);
  return JSON.parse(fs.readFileSync(found, "utf8")) as Artifact;
}
