import fs from "node:fs";

/** The RPC URL every tool falls back to when neither a flag, an env variable nor a deployments file names one. */
export const FALLBACK_RPC_URL = "http://127.0.0.1:8545";

/**
 * The `rpcUrl` a deployments file records (scripts/lib/deploy.ts writes the URL it deployed to), or undefined when the
 * file is missing, unreadable, or older than that field. The demo's chain runs on a random port: this is how the
 * tasks, `verify` and the node find it without anyone copying the URL around.
 */
export function recordedRpcUrl(deploymentsFile: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(deploymentsFile, "utf8"));
  } catch {
    return undefined;
  }
  const url = (json as { rpcUrl?: unknown } | null)?.rpcUrl;
  return typeof url === "string" && /^(https?|wss?):\/\//.test(url) ? url : undefined;
}

/** The given URL, else the one the deployments file records, else 127.0.0.1:8545. */
export function resolveRpcUrl(given: string | undefined, deploymentsFile: string): string {
  return given || recordedRpcUrl(deploymentsFile) || FALLBACK_RPC_URL;
}
