/**
 * `npx hardhat --network localhost verify-record --id <requestId | recordHash>`: the same check as `npm run verify`
 * (prompt hash, registered model hash, greedy re-inference), against the network's deployments file.
 */
import path from "node:path";
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

type VerifyCli = typeof import("../oracle/src/cli/verify");

task("verify-record", "Re-checks a chat record by re-running the model; prints MATCH or MISMATCH (exit 0 only on MATCH)")
  .addParam("id", "on-chain request id, a finalized response hash, or an off-chain record hash")
  .addOptionalParam("modelDir", "local model folder", "models/tiny")
  .addOptionalParam("endpoint", "node API to fetch texts from (validators' on-chain endpoints are tried too)", "")
  .setAction(async (args: { id: string; modelDir: string; endpoint: string }, hre: HardhatRuntimeEnvironment) => {
    const url = (hre.network.config as { url?: string }).url;
    if (!url) {
      console.error(`verify-record failed: network "${hre.network.name}" has no RPC URL; use --network localhost (or a configured network)`);
      process.exitCode = 2;
      return;
    }
    // Loaded lazily: the verifier pulls in onnxruntime, which the other tasks do not need.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const cli = require("../oracle/src/cli/verify") as VerifyCli;
    let ctx: Awaited<ReturnType<VerifyCli["openVerifyContext"]>> | undefined;
    try {
      ctx = await cli.openVerifyContext({
        rpcUrl: url,
        deployments: path.join(hre.config.paths.root, "deployments", `${hre.network.name}.json`),
        modelDir: path.resolve(hre.config.paths.root, args.modelDir),
        providers: ["cpu"],
        endpoint: args.endpoint ? [args.endpoint] : [],
      });
      const report = await cli.verify(ctx, args.id);
      for (const line of cli.formatReport(report)) console.log(line);
      if (!report.match) process.exitCode = 1;
    } catch (error) {
      console.error(`verify-record failed: ${(error as Error).message.split("\n")[0]}`);
      process.exitCode = 2;
    } finally {
      await ctx?.engine.close();
      ctx?.provider.destroy();
    }
  });
