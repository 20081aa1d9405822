import fs from "node:fs";
import path from "node:path";
import { ContractFactory, type JsonRpcProvider, type InterfaceAbi, type Wallet } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { type DeployOptions, type Deployment, deployAll } from "../lib/deploy";
import { REPO_ROOT } from "./hardhatNode";

interface Artifact {
  contractName: string;
  abi: InterfaceAbi;
  bytecode: string;
}

/** Reads a compiled contract from artifacts/ by name (run `hardhat compile` first). */
export function readArtifact(name: string): Artifact {
  const found = findArtifact(path.join(REPO_ROOT, "artifacts/contracts"), `${name}.json`);
  if (!found) throw new Error(`no artifact for ${name}: run npm run compile`);
  return JSON.parse(fs.readFileSync(found, "utf8")) as Artifact;
}

function findArtifact(dir: string, file: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const hit = findArtifact(full, file);
      if (hit) return hit;
    } else if (entry.name === file) return full;
  }
  return undefined;
}

/**
 * Runs the project's own deploy function (scripts/lib/deploy.ts) against any JSON-RPC node from a plain Node process:
 * the few parts of the Hardhat runtime it uses (ethers provider and signer, deployContract, artifacts, network name)
 * are provided over the given provider and deployer key. The demo and the e2e tests deploy this way to their own
 * `hardhat node` process.
 */
export async function deployToNode(
  provider: JsonRpcProvider,
  deployer: Wallet,
  networkName: string,
  options: DeployOptions,
): Promise<Deployment> {
  const signer = deployer.connect(provider);
  const hre = {
    network: { name: networkName, config: { url: provider._getConnection().url } }, // recorded as the file's rpcUrl
    ethers: {
      provider,
      getSigners: async () => [signer],
      deployContract: async (name: string, args: unknown[] = []) => {
        const artifact = readArtifact(name);
        const contract = await new ContractFactory(artifact.abi, artifact.bytecode, signer).deploy(...args);
        await contract.waitForDeployment();
        return contract;
      },
    },
    artifacts: { readArtifact: async (name: string) => readArtifact(name) },
  } as unknown as HardhatRuntimeEnvironment;
  return deployAll(hre, options);
}
