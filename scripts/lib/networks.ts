/**
 * The public network hardhat.config.ts adds from the environment: any JSON-RPC URL under a name of your choice, its
 * deployer key from the environment or an encrypted keystore. `deployments/<name>.json` follows the name.
 *
 *   CHAT_ORACLE_NETWORK=sepolia CHAT_ORACLE_RPC_URL=https://… DEPLOYER_KEYSTORE=deployer.json \
 *   DEPLOYER_KEYSTORE_PASSWORD=… npx hardhat run scripts/deployIgnition.ts --network sepolia
 */
import type { HttpNetworkUserConfig } from "hardhat/types";
import { type KeyEnvNames, OperatorInputError, privateKeyFromEnvSync } from "./signer";

export const NETWORK_NAME_ENV = "CHAT_ORACLE_NETWORK";
export const NETWORK_RPC_URL_ENV = "CHAT_ORACLE_RPC_URL";
export const NETWORK_CHAIN_ID_ENV = "CHAT_ORACLE_CHAIN_ID";
/** The deployer's key: PRIVATE_KEY, or DEPLOYER_KEYSTORE with DEPLOYER_KEYSTORE_PASSWORD. */
export const DEPLOYER_KEY_ENV: KeyEnvNames = { key: "PRIVATE_KEY", keystore: "DEPLOYER_KEYSTORE", password: "DEPLOYER_KEYSTORE_PASSWORD" };
/** The network's name when CHAT_ORACLE_NETWORK is not set. */
export const DEFAULT_PUBLIC_NETWORK = "remote";

/**
 * `{ [name]: { url, accounts, chainId? } }` from the environment, or `{}` when no RPC URL is set (RPC_URL, the older
 * name, still works). Bad values fail the config load with the variable's name.
 */
export function publicNetworkFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, HttpNetworkUserConfig> {
  const url = env[NETWORK_RPC_URL_ENV]?.trim() || env.RPC_URL?.trim();
  if (!url) return {};
  if (!/^https?:\/\/\S+$/.test(url)) throw new OperatorInputError(`${NETWORK_RPC_URL_ENV} must be an http(s) URL, got "${url}"`);
  const name = env[NETWORK_NAME_ENV]?.trim() || DEFAULT_PUBLIC_NETWORK;
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name) || name === "hardhat" || name === "localhost") {
    throw new OperatorInputError(`${NETWORK_NAME_ENV} must be a name of letters, digits, - and _ other than hardhat and localhost, got "${name}"`);
  }
  const chainIdText = env[NETWORK_CHAIN_ID_ENV]?.trim();
  const chainId = chainIdText ? Number(chainIdText) : undefined;
  if (chainId !== undefined && (!/^\d+$/.test(chainIdText as string) || !Number.isSafeInteger(chainId) || chainId < 1)) {
    throw new OperatorInputError(`${NETWORK_CHAIN_ID_ENV} must be a positive integer, got "${chainIdText}"`);
  }
  const key = privateKeyFromEnvSync(env, DEPLOYER_KEY_ENV);
  return { [name]: { url, accounts: key ? [key] : [], ...(chainId ? { chainId } : {}) } };
}
