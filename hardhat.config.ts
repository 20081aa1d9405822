import path from "node:path";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";
import "./tasks";
import { deploymentPath } from "./scripts/lib/deploy";
import { resolveRpcUrl } from "./oracle/src/config/rpcUrl";
import { publicNetworkFromEnv } from "./scripts/lib/networks";

/** The compiler version; the npm package `solc` is pinned to exactly this version in package.json. */
const SOLC_VERSION = "0.8.28";

// Use the solc-js compiler from node_modules instead of downloading one: the build must work offline.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper(args);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc");
  return {
    compilerPath: path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: solc.version(),
  };
});

// solidity-coverage's instrumented registry costs more than Osaka's 2^24 per-transaction gas cap (EIP-7825) to
// deploy; coverage runs on Prague, which has no such cap.
const runningCoverage = process.argv.includes("coverage");

const config: HardhatUserConfig = {
  solidity: {
    compilers: [
      { version: SOLC_VERSION, settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "cancun", viaIR: false } },
    ],
    overrides: {
      // The chat registry is the largest contract: the IR pipeline at 1,000 runs keeps it under the 24,576-byte
      // code limit (the legacy pipeline at any run count does not).
      "contracts/ChatRecordRegistry.sol": {
        version: SOLC_VERSION,
        settings: { optimizer: { enabled: true, runs: 1000 }, evmVersion: "cancun", viaIR: true },
      },
    },
  },
  networks: {
    hardhat: { chainId: 31337, ...(runningCoverage ? { hardfork: "prague" } : {}) },
    // env LOCALHOST_RPC_URL, else the URL deployments/localhost.json was deployed to (the demo's random port), else 8545.
    localhost: { url: resolveRpcUrl(process.env.LOCALHOST_RPC_URL, deploymentPath("localhost")), chainId: 31337 },
    // Any JSON-RPC chain: CHAT_ORACLE_RPC_URL under the name CHAT_ORACLE_NETWORK (default "remote"), the deployer's
    // key from PRIVATE_KEY or DEPLOYER_KEYSTORE + DEPLOYER_KEYSTORE_PASSWORD (scripts/lib/networks.ts).
    ...publicNetworkFromEnv(),
  },
  gasReporter: { enabled: process.env.REPORT_GAS === "true", offline: true },
  mocha: { timeout: 300_000 },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
};

export default config;
import "./tasks/verify";
