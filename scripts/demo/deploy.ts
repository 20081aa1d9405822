import { ContractFactory, type JsonRpcProvider, type Wallet } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { DeploymentFile } from "../../oracle/src/chain/deployments";
import { type DeployOptions, deployAll } from "../lib/deploy";
import { readArtifact } from "../../oracle/src/chain/artifacts";

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
): Promise<DeploymentFile> {
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
