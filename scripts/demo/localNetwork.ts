import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type JsonRpcProvider, Wallet } from "ethers";
import { createProvider } from "../../oracle/src/chain/rpc";
import type { DeploymentFile } from "../../oracle/src/chain/deployments";
import { ensureTinyModel } from "../../oracle/src/inference";
import { DEFAULT_TINY_MODEL_DIR } from "../../oracle/src/inference/buildModel";
import type { ChatConfig } from "../lib/deploy";
import { devAccount } from "./accounts";
import { type ChainKind, type ChainNode, LOCAL_CHAIN_ID, setChainLogging, startChainNode } from "./chainNode";
import { deployToNode } from "./deploy";
import { fundAccounts, stakeValidators } from "./network";

/** A local chain process (`hardhat node` or anvil) with the contracts deployed and validators staked. */
export interface LocalNetwork {
  node: ChainNode;
  provider: JsonRpcProvider;
  deployment: DeploymentFile;
  /** deployments/localhost.json of this network, inside `dir`. */
  deploymentsFile: string;
  /** A fresh temporary folder for the deployments file, node data and logs. */
  dir: string;
  validators: Wallet[];
  stop(): Promise<void>;
}

export interface LocalNetworkOptions {
  chain: ChainKind;
  config: Partial<ChatConfig>;
  /**
   * Stakes in whole tokens, one validator each: dev accounts 1..9, then fresh keys funded by the deployer (dev
   * accounts 10..19 are the users that send requests).
   */
  stakes: readonly bigint[];
  commitWindow: number;
  revealWindow: number;
  /** The endpoint each validator registers (default: one nothing listens on). */
  endpoint?: string;
  /** Prefix of the temporary folder's name. */
  dirPrefix: string;
  /**
   * Leave the dev chain's per-call console log on (the default). It costs the chain process CPU on every call, so a
   * benchmark turns it off.
   */
  chainLogging?: boolean;
}

/** Dev accounts 1..9 stake as validators; 10 and above send the requests of tests and benchmarks. */
const LAST_VALIDATOR_DEV_ACCOUNT = 9;

/** Starts a chain, deploys the contracts (tiny model, dev account 0) and stakes the validators; stops it on failure. */
export async function startLocalNetwork(options: LocalNetworkOptions): Promise<LocalNetwork> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), options.dirPrefix));
  const modelDir = await ensureTinyModel(DEFAULT_TINY_MODEL_DIR);
  const node = await startChainNode(options.chain);
  const provider = createProvider(node.url, LOCAL_CHAIN_ID);
  const stop = async () => {
    provider.destroy();
    await node.stop();
  };
  try {
    if (options.chainLogging === false) await setChainLogging(provider, options.chain, false);
    const deployment = await deployToNode(provider, devAccount(0), "localhost", {
      outDir: dir,
      write: true,
      redeploy: true,
      modelDir,
      commitWindow: options.commitWindow,
      revealWindow: options.revealWindow,
      config: options.config,
    });
    const validators = options.stakes.map((_, i) => (i < LAST_VALIDATOR_DEV_ACCOUNT ? devAccount(i + 1) : (Wallet.createRandom() as unknown as Wallet)));
    if (validators.length > LAST_VALIDATOR_DEV_ACCOUNT) await fundAccounts(provider, validators.slice(LAST_VALIDATOR_DEV_ACCOUNT));
    const endpoint = options.endpoint ?? "http://127.0.0.1:1";
    await stakeValidators(provider, deployment, validators.map((wallet, i) => ({ wallet, tokens: options.stakes[i], endpoint })));
    return { node, provider, deployment, deploymentsFile: path.join(dir, "localhost.json"), dir, validators, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
