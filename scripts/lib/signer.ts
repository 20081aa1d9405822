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

/** Names of the environment variables one key is read from: a raw key, or a keystore file and its password. */
export interface KeyEnvNames {
  key: string;
  keystore: string;
  password: string;
}

export const VALIDATOR_KEY_ENV: KeyEnvNames = { key: KEY_ENV, keystore: KEYSTORE_ENV, password: KEYSTORE_PASSWORD_ENV };

type KeySource = { kind: "key"; key: string } | { kind: "keystore"; json: string; password: string; file: string };

/** Where the key comes from, checked: a well-formed raw key, or a readable keystore with a password; undefined: neither set. */
function keySourceOf(env: NodeJS.ProcessEnv, names: KeyEnvNames): KeySource | undefined {
  const key = env[names.key]?.trim();
  const keystore = env[names.keystore]?.trim();
  if (key && keystore) throw new OperatorInputError(`set ${names.key} or ${names.keystore}, not both`);
  if (key) {
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(key)) throw new OperatorInputError(`${names.key} is not a 32-byte hex private key`);
    return { kind: "key", key: key.startsWith("0x") ? key : `0x${key}` };
  }
  if (!keystore) return undefined;
  const password = env[names.password];
  if (password === undefined) throw new OperatorInputError(`${names.password} is required with ${names.keystore}`);
  try {
    return { kind: "keystore", json: fs.readFileSync(keystore, "utf8"), password, file: keystore };
  } catch (error) {
    throw new OperatorInputError(`${names.keystore}: cannot read ${keystore} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

const undecryptable = (names: KeyEnvNames, file: string) =>
  new OperatorInputError(`${names.keystore}: cannot decrypt ${file} (wrong password or not a keystore file)`);

/** The key from the environment (raw key or keystore), connected to `provider`; undefined when neither is set. */
export async function signerFromEnv(provider: Provider, env: NodeJS.ProcessEnv = process.env, names: KeyEnvNames = VALIDATOR_KEY_ENV): Promise<Wallet | undefined> {
  const source = keySourceOf(env, names);
  if (!source) return undefined;
  if (source.kind === "key") return new Wallet(source.key, provider);
  try {
    return (await Wallet.fromEncryptedJson(source.json, source.password)).connect(provider) as Wallet;
  } catch {
    throw undecryptable(names, source.file);
  }
}

/**
 * The same key as a hex string, decrypted synchronously: for hardhat.config.ts, whose `accounts` must be known when
 * the config loads. Undefined when neither variable is set.
 */
export function privateKeyFromEnvSync(env: NodeJS.ProcessEnv, names: KeyEnvNames): string | undefined {
  const source = keySourceOf(env, names);
  if (!source) return undefined;
  if (source.kind === "key") return source.key;
  try {
    return Wallet.fromEncryptedJsonSync(source.json, source.password).privateKey;
  } catch {
    throw undecryptable(names, source.file);
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
