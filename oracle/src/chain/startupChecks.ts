import { Contract, type Interface, type Provider } from "ethers";
import type { Logger } from "pino";
import { NonRetryableError } from "../errors";
import { type TokenUnits, UNKNOWN_TOKEN, formatAmount } from "./errorText";

/** Something that makes a validator key useless as configured; the node warns, or refuses with --strict-startup. */
export interface KeyProblem {
  validator: string;
  kind: "no_stake" | "no_eth" | "endpoint_mismatch";
  message: string;
}

export interface StartupCheckInput {
  provider: Provider;
  validatorRegistry: { address: string; iface: Interface };
  validators: readonly string[];
  /** --public-url: the node's API as others reach it; compared with each key's on-chain endpoint. */
  publicUrl?: string;
  stakeUnits?: TokenUnits;
  /** The stake task's network name in the hints (default localhost). */
  network?: string;
}

const sameUrl = (a: string, b: string) => a.trim().replace(/\/+$/, "").toLowerCase() === b.trim().replace(/\/+$/, "").toLowerCase();

/**
 * The checks a joining operator needs before the node starts silently: each key has active stake (else it is never
 * drawn), some ETH (else it cannot pay for commits and reveals), and an on-chain endpoint equal to --public-url
 * (else requesters and `verify` look for its texts elsewhere). Returns the problems found, in people's words.
 */
export async function checkValidatorKeys(input: StartupCheckInput): Promise<KeyProblem[]> {
  const registry = new Contract(input.validatorRegistry.address, input.validatorRegistry.iface, input.provider);
  const units = input.stakeUnits ?? UNKNOWN_TOKEN;
  const network = input.network ?? "localhost";
  const problems: KeyProblem[] = [];
  for (const validator of input.validators) {
    const [info, balance] = await Promise.all([
      registry.validatorInfo(validator) as Promise<{ stake: bigint; endpoint: string }>,
      input.provider.getBalance(validator),
    ]);
    if (info.stake === 0n) {
      problems.push({
        validator,
        kind: "no_stake",
        message: `${validator} has no active stake, so it is never drawn into a committee (stake first: VALIDATOR_PRIVATE_KEY=… npx hardhat --network ${network} stake --amount 100 --endpoint <public url>)`,
      });
    }
    if (balance === 0n) {
      problems.push({ validator, kind: "no_eth", message: `${validator} has 0 ETH, so it cannot pay gas for commits and reveals (send it some ETH)` });
    }
    if (input.publicUrl && info.stake > 0n && !sameUrl(info.endpoint, input.publicUrl)) {
      problems.push({
        validator,
        kind: "endpoint_mismatch",
        message: `${validator}'s on-chain endpoint ${JSON.stringify(info.endpoint)} differs from --public-url ${input.publicUrl}; requesters and verify read texts from the on-chain one (stake ${formatAmount(info.stake, units)}; fix: npx hardhat --network ${network} stake --amount 1 --endpoint ${input.publicUrl}, or start with the on-chain URL)`,
      });
    }
  }
  return problems;
}

/** Longest wait for the start-up checks' reads: a node must start (and report unready) while its RPC is down. */
export const STARTUP_CHECK_TIMEOUT_MS = 5_000;

/**
 * Logs each problem as a warning, or with `strict` (--strict-startup) throws one NonRetryableError listing them, so a
 * node never starts silently with a key that can never be seated or pay gas. An RPC that does not answer within
 * `timeoutMs` skips the checks (readiness reports it).
 */
export async function runStartupChecks(logger: Logger, strict: boolean, input: StartupCheckInput, timeoutMs = STARTUP_CHECK_TIMEOUT_MS): Promise<KeyProblem[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  let problems: KeyProblem[] | undefined;
  try {
    problems = await Promise.race([checkValidatorKeys(input), timeout]);
  } catch (error) {
    logger.warn({ err: error }, "start-up checks skipped: the chain did not answer");
    return [];
  } finally {
    clearTimeout(timer);
  }
  if (!problems) {
    logger.warn({ timeoutMs }, "start-up checks skipped: the chain did not answer");
    return [];
  }
  if (problems.length > 0 && strict) {
    throw new NonRetryableError(`refusing to start (--strict-startup): ${problems.map((p) => p.message).join("; ")}`);
  }
  for (const problem of problems) logger.warn({ validator: problem.validator, problem: problem.kind }, problem.message);
  return problems;
}
