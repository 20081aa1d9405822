/**
 * Hardhat tasks for people (operators and users): stake, unstake, withdraw, chat, credits, record, validators.
 * They reuse scripts/lib/chat.ts (the same functions the dApp scripts in scripts/ call).
 * Example: npx hardhat --network localhost chat --prompt "Hello" --wait
 */
import { task, types } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { Interface } from "ethers";
import { type TokenUnits, UNKNOWN_TOKEN, describeCustomError, formatAmount, readTokenUnits } from "../oracle/src/chain/errorText";

type ChatLib = typeof import("../scripts/lib/chat");

/**
 * Loads the library lazily (it needs compiled artifacts); a failure prints one line and sets exit code 1. A contract's
 * custom error is written in people's units: "10 CODS is below the minimum 100 CODS", not wei.
 */
async function withLib(name: string, body: (lib: ChatLib) => Promise<void>, hre?: HardhatRuntimeEnvironment): Promise<void> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    await body(require("../scripts/lib/chat") as ChatLib);
  } catch (err) {
    const e = err as { shortMessage?: string; message?: string; revert?: { name: string; args: unknown[] } };
    const decoded = e.revert ?? (hre ? await decodeRevert(hre, err) : undefined);
    const revert = decoded ? describeCustomError(decoded.name, decoded.args, hre ? await stakeUnits(hre) : undefined) : undefined;
    const detail = (revert ?? e.shortMessage ?? e.message ?? String(err))
      .replace(/^(Error: )?VM Exception while processing transaction: /, "")
      .split("\n")[0];
    console.error(`${name} failed: ${detail}`);
    process.exitCode = 1;
  }
}

/** The deployment's stake token units, or the generic ones when they cannot be read. */
async function stakeUnits(hre: HardhatRuntimeEnvironment): Promise<TokenUnits | undefined> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { readDeployment } = require("../scripts/lib/deploy") as typeof import("../scripts/lib/deploy");
    return await readTokenUnits(hre.ethers.provider, readDeployment(hre.network.name).addresses.StakeToken);
  } catch {
    return undefined;
  }
}

/**
 * The custom error in a failed call's revert data, decoded with the deployed contracts' ABIs. ethers sets `revert`
 * itself only when it knows the contract's ABI at the failing call; Hardhat's in-process network nests the data.
 */
async function decodeRevert(hre: HardhatRuntimeEnvironment, err: unknown): Promise<{ name: string; args: unknown[] } | undefined> {
  const data = findRevertData(err, 0);
  if (!data) return undefined;
  for (const name of ["ValidatorRegistry", "ChatRecordRegistry"]) {
    try {
      const parsed = new Interface((await hre.artifacts.readArtifact(name)).abi).parseError(data);
      if (parsed) return { name: parsed.name, args: [...parsed.args] };
    } catch {
      // not this contract's error, or no artifact
    }
  }
  return undefined;
}

function findRevertData(value: unknown, depth: number): string | undefined {
  if (!value || typeof value !== "object" || depth > 4) return undefined;
  const data = (value as { data?: unknown }).data;
  if (typeof data === "string" && /^0x[0-9a-fA-F]{8}/.test(data)) return data;
  for (const key of ["error", "info", "cause", "data"]) {
    const found = findRevertData((value as Record<string, unknown>)[key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** The signer of an operator task: VALIDATOR_PRIVATE_KEY, VALIDATOR_KEYSTORE(+_PASSWORD), or `--account N`. */
function operatorSigner(hre: HardhatRuntimeEnvironment, account: number | undefined) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { resolveOperatorSigner } = require("../scripts/lib/signer") as typeof import("../scripts/lib/signer");
  return resolveOperatorSigner(hre, account);
}

const ACCOUNT_HELP = "Signer index (default 0); or set VALIDATOR_PRIVATE_KEY, or VALIDATOR_KEYSTORE + VALIDATOR_KEYSTORE_PASSWORD";

task("stake", "Stakes tokens as a validator (mints demo tokens on local networks)")
  .addParam("amount", "Tokens to stake, decimal (e.g. 100)")
  .addOptionalParam("endpoint", "Your oracle's public API base URL", "")
  .addOptionalParam("account", ACCOUNT_HELP, undefined, types.int)
  .setAction(async (args: { amount: string; endpoint: string; account?: number }, hre: HardhatRuntimeEnvironment) =>
    withLib("stake", async (lib) => {
      const signer = await operatorSigner(hre, args.account);
      const { validator, stake, units } = await lib.stakeAsValidator(hre, { amount: args.amount, endpoint: args.endpoint, signer });
      console.log(`${validator} staked; active stake ${formatAmount(stake, units)}`);
    }, hre),
  );

task("unstake", "Moves stake out of the selection pool (withdrawable after the unbonding period)")
  .addParam("amount", "Tokens to unstake, decimal")
  .addOptionalParam("account", ACCOUNT_HELP, undefined, types.int)
  .setAction(async (args: { amount: string; account?: number }, hre: HardhatRuntimeEnvironment) =>
    withLib("unstake", async (lib) => {
      const signer = await operatorSigner(hre, args.account);
      const { unbonding, unlockAt, units } = await lib.requestUnstake(hre, { amount: args.amount, signer });
      console.log(`unbonding ${formatAmount(unbonding, units)}, withdrawable from ${new Date(Number(unlockAt) * 1000).toISOString()}`);
    }, hre),
  );

task("withdraw", "Withdraws unbonded stake")
  .addOptionalParam("account", ACCOUNT_HELP, undefined, types.int)
  .setAction(async (args: { account?: number }, hre: HardhatRuntimeEnvironment) =>
    withLib("withdraw", async (lib) => {
      const signer = await operatorSigner(hre, args.account);
      const { amount, units } = await lib.withdrawStake(hre, { signer });
      console.log(`withdrew ${formatAmount(amount, units)}`);
    }, hre),
  );

/** A request id option: a positive decimal integer, else one clear line. */
function parseRequestId(value: string): bigint {
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`--parent must be a request id (a positive integer), not "${value}"`);
  return BigInt(value);
}

task("chat", "Sends a chat request, prints its id and committee")
  .addParam("prompt", "The prompt text")
  .addOptionalParam("model", "Model id (default: the deployment's model)", undefined, types.int)
  .addOptionalParam("maxNewTokens", "Generation length cap", 64, types.int)
  .addOptionalParam("fee", "Fee in ETH (default: the minimum)")
  .addOptionalParam("consumer", "Contract to call back with onChatFulfilled (default: none)")
  .addOptionalParam("callbackGas", "Gas for the consumer callback (with --consumer)", 0, types.int)
  .addOptionalParam("maxGasPrice", "Highest gas price (gwei) the finalizer is reimbursed at for the callback; escrowed", "0")
  .addOptionalParam("account", "Signer index", 0, types.int)
  .addOptionalParam("parent", "Extend the thread of this finalized request id (its model answers, seeing the whole thread)")
  .addFlag("wait", "Wait for the record and print it")
  .setAction(
    async (
      args: { prompt: string; model?: number; parent?: string; maxNewTokens: number; fee?: string; consumer?: string; callbackGas: number; maxGasPrice: string; account: number; wait: boolean },
      hre: HardhatRuntimeEnvironment,
    ) =>
      withLib("chat", async (lib) => {
        const { requestId, seedBlock } = await lib.sendChatRequest(hre, {
          prompt: args.prompt,
          modelId: args.model,
          maxNewTokens: args.maxNewTokens,
          fee: args.fee === undefined ? undefined : hre.ethers.parseEther(args.fee),
          consumer: args.consumer,
          callbackGasLimit: args.callbackGas,
          maxCallbackGasPrice: hre.ethers.parseUnits(args.maxGasPrice, "gwei"),
          accountIndex: args.account,
          parentId: args.parent === undefined ? undefined : parseRequestId(args.parent),
        });
        console.log(`request ${requestId}${args.parent === undefined ? "" : ` (turn after ${args.parent})`} (committee drawn from block ${seedBlock})`);
        const { committee, drawn } = await lib.waitForCommittee(hre, requestId);
        console.log(`committee ${drawn ? "" : "(preview) "}${committee.join(", ")}`);
        if (args.wait) console.log(lib.formatRecord(hre, await lib.waitForRecord(hre, requestId)));
      }, hre),
  );

task("credits", "Prints chat-registry credits (fee shares, callback reimbursements, refunds); --withdraw sends them")
  .addOptionalParam("to", "Recipient of a withdrawal (default: the signer)")
  .addOptionalParam("account", "Signer index", 0, types.int)
  .addFlag("withdraw", "Withdraw the signer's credits")
  .setAction(async (args: { to?: string; account: number; withdraw: boolean }, hre: HardhatRuntimeEnvironment) =>
    withLib("credits", async (lib) => {
      const { account, credit } = await lib.creditOf(hre, { accountIndex: args.account });
      console.log(`${account} credit ${hre.ethers.formatEther(credit)} ETH`);
      if (args.withdraw) {
        const amount = await lib.withdrawCredits(hre, { recipient: args.to, accountIndex: args.account });
        console.log(`withdrew ${hre.ethers.formatEther(amount)} ETH to ${args.to ?? account}`);
      }
    }),
  );

task("deploy-consumer", "Deploys ExampleChatConsumer against this network's chat registry; prints its address")
  .addOptionalParam("account", "Signer index", 0, types.int)
  .setAction(async (args: { account: number }, hre: HardhatRuntimeEnvironment) =>
    withLib("deploy-consumer", async (lib) => {
      const address = await lib.deployExampleConsumer(hre, { accountIndex: args.account });
      console.log(`ExampleChatConsumer ${address}`);
      console.log(`next: npx hardhat --network ${hre.network.name} ask --consumer ${address} --prompt "What is an oracle?" --wait`);
    }, hre),
  );

task("ask", "Asks through a consumer contract's ask(); --wait prints the record and the hash its callback stored")
  .addParam("consumer", "Consumer contract with ask(modelId, prompt, maxNewTokens, maxCallbackGasPrice), e.g. ExampleChatConsumer")
  .addParam("prompt", "The prompt text")
  .addOptionalParam("model", "Model id (default: the deployment's model)", undefined, types.int)
  .addOptionalParam("maxNewTokens", "Generation length cap", 64, types.int)
  .addOptionalParam("maxGasPrice", "Highest gas price (gwei) the finalizer is reimbursed at for the callback; escrowed", "1")
  .addOptionalParam("account", "Signer index", 0, types.int)
  .addFlag("wait", "Wait for the record and print it with the consumer's stored answer")
  .setAction(
    async (
      args: { consumer: string; prompt: string; model?: number; maxNewTokens: number; maxGasPrice: string; account: number; wait: boolean },
      hre: HardhatRuntimeEnvironment,
    ) =>
      withLib("ask", async (lib) => {
        if (!hre.ethers.isAddress(args.consumer)) throw new Error(`--consumer must be an address (got ${JSON.stringify(args.consumer)})`);
        if (!/^\d+(\.\d+)?$/.test(args.maxGasPrice)) throw new Error(`--max-gas-price must be a number of gwei (got ${JSON.stringify(args.maxGasPrice)})`);
        const requestId = await lib.askThroughConsumer(hre, {
          consumer: args.consumer,
          prompt: args.prompt,
          modelId: args.model,
          maxNewTokens: args.maxNewTokens,
          maxCallbackGasPrice: hre.ethers.parseUnits(args.maxGasPrice, "gwei"),
          accountIndex: args.account,
        });
        console.log(`request ${requestId} via consumer ${args.consumer}`);
        if (args.wait) {
          console.log(lib.formatRecord(hre, await lib.waitForRecord(hre, requestId)));
          console.log(`consumer stored ${await lib.consumerAnswer(hre, args.consumer, requestId)}`);
        }
      }, hre),
  );

task("register-model", "Registers a model folder (hash and limits) under a model id; the chat registry's owner only")
  .addParam("modelDir", "The model folder (config.json, ONNX weights, tokenizer)")
  .addParam("modelId", "The id to register it under (1..65535)", undefined, types.int)
  .addOptionalParam("uri", "Where operators download the model (default: the folder as given)")
  .addOptionalParam("account", ACCOUNT_HELP, undefined, types.int)
  .setAction(async (args: { modelDir: string; modelId: number; uri?: string; account?: number }, hre: HardhatRuntimeEnvironment) =>
    withLib("register-model", async (lib) => {
      if (!Number.isInteger(args.modelId) || args.modelId < 1 || args.modelId > 65_535) throw new Error(`--model-id must be in 1..65535, got ${args.modelId}`);
      const signer = await operatorSigner(hre, args.account);
      const { modelId, modelHash, limits } = await lib.registerModel(hre, { modelDir: args.modelDir, modelId: args.modelId, uri: args.uri ?? args.modelDir, signer });
      console.log(`model ${modelId} registered: hash ${modelHash}, prompts up to ${limits.maxPromptBytes} bytes, up to ${limits.maxNewTokens} new tokens`);
    }, hre),
  );

task("record", "Prints a chat record: status, hashes, committee, texts")
  .addPositionalParam("id", "Request id")
  .setAction(async (args: { id: string }, hre: HardhatRuntimeEnvironment) =>
    withLib("record", async (lib) => {
      if (!/^\d+$/.test(args.id)) throw new Error(`request id must be a positive integer, got "${args.id}"`);
      console.log(lib.formatRecord(hre, await lib.readRecord(hre, BigInt(args.id))));
    }),
  );

task("validators", "Lists validators: stake in tokens, selection share, endpoint")
  .setAction(async (_args: unknown, hre: HardhatRuntimeEnvironment) =>
    withLib("validators", async (lib) => {
      const rows = await lib.listValidators(hre);
      if (rows.length === 0) console.log("no validators yet");
      const units = (await stakeUnits(hre)) ?? UNKNOWN_TOKEN;
      for (const v of rows) {
        console.log(
          `${v.address}  stake ${formatAmount(v.stake, units).padStart(16)}  share ${(v.share * 100).toFixed(2).padStart(6)}%` +
            `  ${v.active ? "active  " : "inactive"}  ${v.endpoint || "-"}`,
        );
      }
    }),
  );
