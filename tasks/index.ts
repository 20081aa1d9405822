/**
 * Hardhat tasks for people (operators and users): stake, unstake, withdraw, chat, credits, record, validators.
 * They reuse scripts/lib/chat.ts (the same functions the dApp scripts in scripts/ call).
 * Example: npx hardhat --network localhost chat --prompt "Hello" --wait
 */
import { task, types } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

type ChatLib = typeof import("../scripts/lib/chat");

/** Loads the library lazily (it needs compiled artifacts); a failure prints one line and sets exit code 1. */
async function withLib(name: string, body: (lib: ChatLib) => Promise<void>): Promise<void> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    await body(require("../scripts/lib/chat") as ChatLib);
  } catch (err) {
    const e = err as { shortMessage?: string; message?: string; revert?: { name: string; args: unknown[] } };
    const revert = e.revert ? `${e.revert.name}(${e.revert.args.map(String).join(", ")})` : undefined;
    const detail = (revert ?? e.shortMessage ?? e.message ?? String(err))
      .replace(/^(Error: )?VM Exception while processing transaction: /, "")
      .split("\n")[0];
    console.error(`${name} failed: ${detail}`);
    process.exitCode = 1;
  }
}

task("stake", "Stakes tokens as a validator (mints demo tokens on local networks)")
  .addParam("amount", "Tokens to stake, decimal (e.g. 100)")
  .addOptionalParam("endpoint", "Your oracle's public API base URL", "")
  .addOptionalParam("account", "Signer index", 0, types.int)
  .setAction(async (args: { amount: string; endpoint: string; account: number }, hre: HardhatRuntimeEnvironment) =>
    withLib("stake", async (lib) => {
      const { validator, stake } = await lib.stakeAsValidator(hre, { amount: args.amount, endpoint: args.endpoint, accountIndex: args.account });
      console.log(`${validator} staked; active stake ${hre.ethers.formatUnits(stake, 18)}`);
    }),
  );

task("unstake", "Moves stake out of the selection pool (withdrawable after the unbonding period)")
  .addParam("amount", "Tokens to unstake, decimal")
  .addOptionalParam("account", "Signer index", 0, types.int)
  .setAction(async (args: { amount: string; account: number }, hre: HardhatRuntimeEnvironment) =>
    withLib("unstake", async (lib) => {
      const { unbonding, unlockAt } = await lib.requestUnstake(hre, { amount: args.amount, accountIndex: args.account });
      console.log(`unbonding ${hre.ethers.formatUnits(unbonding, 18)}, withdrawable from ${new Date(Number(unlockAt) * 1000).toISOString()}`);
    }),
  );

task("withdraw", "Withdraws unbonded stake")
  .addOptionalParam("account", "Signer index", 0, types.int)
  .setAction(async (args: { account: number }, hre: HardhatRuntimeEnvironment) =>
    withLib("withdraw", async (lib) => {
      const amount = await lib.withdrawStake(hre, { accountIndex: args.account });
      console.log(`withdrew ${hre.ethers.formatUnits(amount, 18)}`);
    }),
  );

task("chat", "Sends a chat request, prints its id and committee")
  .addParam("prompt", "The prompt text")
  .addOptionalParam("model", "Model id (default: the deployment's model)", undefined, types.int)
  .addOptionalParam("maxNewTokens", "Generation length cap", 64, types.int)
  .addOptionalParam("fee", "Fee in ETH (default: the minimum)")
  .addOptionalParam("consumer", "Contract to call back with onChatFulfilled (default: none)")
  .addOptionalParam("callbackGas", "Gas for the consumer callback (with --consumer)", 0, types.int)
  .addOptionalParam("maxGasPrice", "Highest gas price (gwei) the finalizer is reimbursed at for the callback; escrowed", "0")
  .addOptionalParam("account", "Signer index", 0, types.int)
  .addFlag("wait", "Wait for the record and print it")
  .setAction(
    async (
      args: { prompt: string; model?: number; maxNewTokens: number; fee?: string; consumer?: string; callbackGas: number; maxGasPrice: string; account: number; wait: boolean },
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
        });
        console.log(`request ${requestId} (committee drawn from block ${seedBlock})`);
        const { committee, drawn } = await lib.waitForCommittee(hre, requestId);
        console.log(`committee ${drawn ? "" : "(preview) "}${committee.join(", ")}`);
        if (args.wait) console.log(lib.formatRecord(hre, await lib.waitForRecord(hre, requestId)));
      }),
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

task("record", "Prints a chat record: status, hashes, committee, texts")
  .addPositionalParam("id", "Request id")
  .setAction(async (args: { id: string }, hre: HardhatRuntimeEnvironment) =>
    withLib("record", async (lib) => {
      if (!/^\d+$/.test(args.id)) throw new Error(`request id must be a positive integer, got "${args.id}"`);
      console.log(lib.formatRecord(hre, await lib.readRecord(hre, BigInt(args.id))));
    }),
  );

task("validators", "Lists validators: stake, selection share, endpoint")
  .setAction(async (_args: unknown, hre: HardhatRuntimeEnvironment) =>
    withLib("validators", async (lib) => {
      const rows = await lib.listValidators(hre);
      if (rows.length === 0) console.log("no validators yet");
      for (const v of rows) {
        console.log(
          `${v.address}  stake ${hre.ethers.formatUnits(v.stake, 18).padStart(12)}  share ${(v.share * 100).toFixed(2).padStart(6)}%` +
            `  ${v.active ? "active  " : "inactive"}  ${v.endpoint || "-"}`,
        );
      }
    }),
  );
