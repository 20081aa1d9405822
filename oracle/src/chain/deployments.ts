import fs from "node:fs";
import { Interface, type InterfaceAbi, getAddress } from "ethers";
import { NonRetryableError } from "../errors";
import { findArtifactFile } from "./artifacts";

/**
 * deployments/<network>.json as scripts/lib/deploy.ts writes it; the tools read it as is, the node through
 * `loadDeployment` (which also accepts `contracts.<Name>.{address, abi}` files written by other tools).
 */
export interface DeploymentFile {
  network: string;
  chainId: number;
  /** Where the chain was reached when deploying: hardhat.config's `localhost`, `verify` and the node default to it. */
  rpcUrl?: string;
  block: number;
  deployer: string;
  modelId: number;
  modelHash: string;
  addresses: {
    ValidatorRegistry: string;
    ChatRecordRegistry: string;
    BlockhashRandomness: string;
    StakeToken: string;
    DemoToken?: string;
  };
  abis: Record<string, unknown[]>;
}

/** One deployed contract: where it is and how to encode calls and decode its logs. */
export interface DeployedContract {
  address: string;
  iface: Interface;
  abi: InterfaceAbi;
}

/** The node's view of a deployments file: the contracts it talks to, with their interfaces. */
export interface Deployment {
  file: string;
  chainId: number;
  /** Block the contracts were deployed in: the listener starts reading there. */
  startBlock: number;
  chatRecordRegistry: DeployedContract;
  validatorRegistry: DeployedContract;
  token?: DeployedContract;
  /** The model registered with the deployment, when the file records it (the API knows it before the listener does). */
  modelId?: number;
}

type Json = Record<string, unknown>;

/**
 * Reads the deployments file. Addresses and ABIs come from `contracts.<Name>.{address, abi}` (or `addresses.<Name>` +
 * `abis.<Name>`); an ABI missing from the file is taken from Hardhat's artifacts. A missing file or contract is a
 * NonRetryableError naming it.
 */
export function loadDeployment(file: string): Deployment {
  let json: Json;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8")) as Json;
  } catch (error) {
    throw new NonRetryableError(
      `cannot read deployments file ${file} (${(error as Error).message.split("\n")[0]}); run scripts/deploy.ts first`,
      { cause: error },
    );
  }
  const chainId = Number(json.chainId);
  if (!Number.isInteger(chainId) || chainId <= 0) throw new NonRetryableError(`${file}: chainId is missing or invalid`);
  const startBlock = Number(json.startBlock ?? json.deploymentBlock ?? json.blockNumber ?? json.block ?? 0);
  const contract = (name: string, required: boolean): DeployedContract | undefined => {
    const entry = (json.contracts as Json | undefined)?.[name] as Json | string | undefined;
    const address =
      (typeof entry === "string" ? entry : (entry?.address as string | undefined)) ??
      ((json.addresses as Json | undefined)?.[name] as string | undefined);
    if (!address) {
      if (required) throw new NonRetryableError(`${file}: no address for contract ${name}`);
      return undefined;
    }
    const abi =
      (typeof entry === "object" ? (entry.abi as InterfaceAbi | undefined) : undefined) ??
      ((json.abis as Json | undefined)?.[name] as InterfaceAbi | undefined) ??
      artifactAbi(name);
    return { address: getAddress(address), abi, iface: new Interface(abi) };
  };
  return {
    file,
    chainId,
    startBlock: Number.isInteger(startBlock) && startBlock >= 0 ? startBlock : 0,
    chatRecordRegistry: contract("ChatRecordRegistry", true) as DeployedContract,
    validatorRegistry: contract("ValidatorRegistry", true) as DeployedContract,
    token: contract("DemoToken", false) ?? contract("StakeToken", false),
    ...(Number.isInteger(json.modelId) && (json.modelId as number) > 0 ? { modelId: json.modelId as number } : {}),
  };
}

function artifactAbi(name: string): InterfaceAbi {
  const found = findArtifactFile(name);
  if (!found) throw new NonRetryableError(`no ABI for ${name} in the deployments file and no artifact (run npm run compile)`);
  return (JSON.parse(fs.readFileSync(found, "utf8")) as { abi: InterfaceAbi }).abi;
}
