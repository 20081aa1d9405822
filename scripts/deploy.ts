/**
 * Deploys chat-oracle's contracts: `npx hardhat run scripts/deploy.ts --network <name>`.
 * Env: MODEL_HASH or MODEL_DIR (default models/tiny), STAKE_TOKEN (required off local networks), REDEPLOY=1.
 */
import hre from "hardhat";
import { deployAll } from "./lib/deploy";

async function main(): Promise<void> {
  const deployment = await deployAll(hre, {
    redeploy: process.env.REDEPLOY === "1",
    write: true,
    log: (line) => console.log(line),
  });
  console.log(`chain ${deployment.chainId}, block ${deployment.block}, model ${deployment.modelId} ${deployment.modelHash}`);
}

main().catch((err: unknown) => {
  console.error(`deploy failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
