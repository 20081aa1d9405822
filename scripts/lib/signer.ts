/**
 * Who signs an operator's transaction (stake, unstake, withdraw): a raw key in VALIDATOR_PRIVATE_KEY, a keystore file
 * in VALIDATOR_KEYSTORE with its password in VALIDATOR_KEYSTORE_PASSWORD, or a Hardhat account by index. Keys come
 * from the environment only: a command line is visible to every user (ps).
 */
import fs from "node:fs";
import { type Provider, type Signer, Wallet } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

export const KEY_ENV = "VALIDATOR_PRIVATE_KEY";
export const KEYSTORE_ENV = "VALIDATOR_KEYSTORE";
export const KEYSTORE_PASSWORD_ENV = "VALIDATOR_KEYSTORE_PASSWORD";

/** Bad operator input (key source, amount), said in one line that never contains a key or a password. */
export class OperatorInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OperatorInputError";
  }
}

/** The key from the environment (raw key or keystore), connected to `provider`; undefined when neither is set. */
export async function signerFromEnv(provider: Provider, env: NodeJS.ProcessEnv = process.env): Promise<Wallet | undefined> {
  const key = env[KEY_ENV]?.trim();
  const keystore = env[KEYSTORE_ENV]?.trim();
  if (key && keystore) throw new OperatorInputError(`set ${KEY_ENV} or ${KEYSTORE_ENV}, not both`);
  if (key) {
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(key)) throw new OperatorInputError(`${KEY_ENV} is not a 32-byte hex private key`);
    return new Wallet(key.startsWith("0x") ? key : `0x${key}`, provider);
  }
  if (!keystore) return undefined;
  const password = env[KEYSTORE_PASSWORD_ENV];
  if (password === undefined) throw new OperatorInputError(`${KEYSTORE_PASSWORD_ENV} is required with ${KEYSTORE_ENV}`);
  let json: string;
  try {
    json = fs.readFileSync(keystore, "utf8");
  } catch (error) {
    throw new OperatorInputError(`${KEYSTORE_ENV}: cannot read ${keystore} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return (await Wallet.fromEncryptedJson(json, password)).connect(provider) as Wallet;
  } catch {
    throw new OperatorInputError(`${KEYSTORE_ENV}: cannot decrypt ${keystore} (wrong password or not a keystore file)`);
  }
}

/**
 * The signer for an operator task: the environment's key when set, else Hardhat account `accountIndex` (default 0).
 * Giving both is refused, so a forgotten export never signs for the wrong validator.
 */
export async function resolveOperatorSigner(
  hre: HardhatRuntimeEnvironment,
  accountIndex: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Signer> {
  const fromEnv = await signerFromEnv(hre.ethers.provider, env);
  if (fromEnv && accountIndex !== undefined) throw new OperatorInputError(`give --account or ${env[KEY_ENV] ? KEY_ENV : KEYSTORE_ENV}, not both`);
  if (fromEnv) return fromEnv;
  const index = accountIndex ?? 0;
  const signers = await hre.ethers.getSigners();
  const signer = signers[index];
  if (!signer) throw new OperatorInputError(`no account #${index} on network "${hre.network.name}" (have ${signers.length}); or set ${KEY_ENV}`);
  return signer;
}

/** A token amount typed by a person ("100", "0.5") in base units; `flag` names the option in the error. */
export function parseTokenAmount(text: string, flag: string, decimals = 18): bigint {
  const trimmed = String(text).trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) throw new OperatorInputError(`${flag} must be a number of tokens, e.g. 100 (got ${JSON.stringify(text)})`);
  const [, fraction = ""] = trimmed.split(".");
  if (fraction.length > decimals) throw new OperatorInputError(`${flag} has more than ${decimals} decimal places (got ${trimmed})`);
  const [whole] = trimmed.split(".");
  const amount = BigInt(whole) * 10n ** BigInt(decimals) + BigInt((fraction || "0").padEnd(decimals, "0").slice(0, decimals) || "0");
  if (amount === 0n) throw new OperatorInputError(`${flag} must be more than 0`);
  return amount;
}
