import { Contract, type JsonRpcProvider, type TransactionReceipt, type Wallet, ZeroAddress, parseEther, toUtf8Bytes } from "ethers";
import type { DeploymentFile } from "../../oracle/src/chain/deployments";
import { ROLES, devAccount } from "./accounts";

export function contractsOf(deployment: DeploymentFile, runner: JsonRpcProvider | Wallet) {
  const abi = (name: string) => deployment.abis[name] as never;
  return {
    chat: new Contract(deployment.addresses.ChatRecordRegistry, abi("ChatRecordRegistry"), runner),
    validators: new Contract(deployment.addresses.ValidatorRegistry, abi("ValidatorRegistry"), runner),
    token: new Contract(deployment.addresses.StakeToken, abi("DemoToken"), runner),
  };
}

export interface StakeSpec {
  wallet: Wallet;
  /** Stake in whole tokens (18 decimals). */
  tokens: bigint;
  endpoint: string;
}

/** The gas money each fresh validator key gets from the deployer. */
const VALIDATOR_FUNDING = parseEther("10");

/** Sends each fresh key its gas money from the deployer, nonces counted here so the transfers share blocks. */
export async function fundAccounts(provider: JsonRpcProvider, wallets: readonly Wallet[]): Promise<void> {
  const funder = devAccount(ROLES.deployer).connect(provider);
  let nonce = await provider.getTransactionCount(funder.address, "pending");
  const sent = [];
  for (const wallet of wallets) sent.push(await funder.sendTransaction({ to: wallet.address, value: VALIDATOR_FUNDING, nonce: nonce++ }));
  await Promise.all(sent.map((tx) => tx.wait()));
}

/** Mints demo tokens to each validator, approves the registry and stakes, from the validator's own key. */
export async function stakeValidators(provider: JsonRpcProvider, deployment: DeploymentFile, specs: readonly StakeSpec[]): Promise<void> {
  for (const spec of specs) {
    const signer = spec.wallet.connect(provider);
    const { token, validators } = contractsOf(deployment, signer);
    const amount = spec.tokens * 10n ** 18n;
    await (await token.mint(signer.address, amount)).wait();
    await (await token.approve(deployment.addresses.ValidatorRegistry, amount)).wait();
    await (await validators.stake(amount, spec.endpoint)).wait();
  }
}

export interface ChatRequestSpec {
  /** Text (sent as its UTF-8 bytes) or raw bytes (which need not be UTF-8). */
  prompt: string | Uint8Array;
  maxNewTokens: number;
  consumer?: string;
  callbackGasLimit?: number;
  /** Wei per gas the finalizer is reimbursed at, at most, for the callback; escrowed with the fee. */
  maxCallbackGasPrice?: bigint;
  /** Wei; defaults to the registry's minimum fee. */
  fee?: bigint;
  modelId?: number;
  /** Extend this finalized request's thread (`requestChatFollowUp`; the parent's model answers, `modelId` is unused). */
  parentId?: bigint;
}

export interface SentChatRequest {
  requestId: bigint;
  /** The block whose hash draws the committee (see `committeeOf`). */
  seedBlock: number;
  receipt: TransactionReceipt;
  commitDeadline: number;
  revealDeadline: number;
}

/** Sends `requestChat` (value: fee + callback escrow) from `user` and reads the request id from its ChatRequested event. */
export async function sendChatRequest(
  provider: JsonRpcProvider,
  deployment: DeploymentFile,
  user: Wallet,
  spec: ChatRequestSpec,
): Promise<SentChatRequest> {
  const { chat } = contractsOf(deployment, user.connect(provider));
  const fee = spec.fee ?? ((await chat.getConfig()).minimumFee as bigint);
  const prompt = typeof spec.prompt === "string" ? toUtf8Bytes(spec.prompt) : spec.prompt;
  const gas = spec.callbackGasLimit ?? 0;
  const price = spec.maxCallbackGasPrice ?? 0n;
  const args = [prompt, spec.maxNewTokens, spec.consumer ?? ZeroAddress, gas, price] as const;
  const value = fee + BigInt(gas) * price;
  const [method, first] =
    spec.parentId === undefined ? [chat.requestChat, spec.modelId ?? deployment.modelId] : [chat.requestChatFollowUp, spec.parentId];
  const estimate = (await method.estimateGas(first, ...args, { value })) as bigint;
  const tx = await method(first, ...args, { value, gasLimit: (estimate * 12n) / 10n + 20_000n });
  const receipt = (await tx.wait()) as TransactionReceipt;
  for (const log of receipt.logs) {
    const parsed = chat.interface.parseLog(log);
    if (parsed?.name === "ChatRequested") {
      return {
        requestId: parsed.args.requestId as bigint,
        seedBlock: Number(parsed.args.seedBlock),
        receipt,
        commitDeadline: Number(parsed.args.commitDeadline),
        revealDeadline: Number(parsed.args.revealDeadline),
      };
    }
  }
  throw new Error(`requestChat transaction ${receipt.hash} emitted no ChatRequested event`);
}

/**
 * The committee of the request's current attempt once drawn (`CommitteeDrawn`, read back with `getRecord`), polling
 * until a validator's commit, respond or decline (or anyone's `draw`) drew it.
 */
export async function committeeOf(
  provider: JsonRpcProvider,
  deployment: DeploymentFile,
  requestId: bigint,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<string[]> {
  const { chat } = contractsOf(deployment, provider);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const committee = [...((await chat.getRecord(requestId)).committee as string[])];
    if (committee.length > 0) return committee;
    if (Date.now() > deadline) throw new Error(`request ${requestId}: no committee drawn within ${options.timeoutMs ?? 60_000} ms`);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 50));
  }
}

/** Resolves with the RecordFinalized, RequestDeclined (or final RequestTimedOut) of `requestId`, polling the logs. */
export async function waitForOutcome(
  provider: JsonRpcProvider,
  deployment: DeploymentFile,
  requestId: bigint,
  options: { fromBlock: number; timeoutMs: number; pollMs?: number },
): Promise<{ outcome: "finalized" | "declined" | "timed_out"; blockNumber: number; txHash: string }> {
  const { chat } = contractsOf(deployment, provider);
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    const logs = await provider.getLogs({
      address: deployment.addresses.ChatRecordRegistry,
      fromBlock: options.fromBlock,
      toBlock: "latest",
      topics: [null, "0x" + requestId.toString(16).padStart(64, "0")],
    });
    for (const log of logs) {
      const parsed = chat.interface.parseLog(log);
      if (parsed?.name === "RecordFinalized") return { outcome: "finalized", blockNumber: log.blockNumber, txHash: log.transactionHash };
      if (parsed?.name === "RequestDeclined") return { outcome: "declined", blockNumber: log.blockNumber, txHash: log.transactionHash };
      if (parsed?.name === "RequestTimedOut" && parsed.args.exhausted) {
        return { outcome: "timed_out", blockNumber: log.blockNumber, txHash: log.transactionHash };
      }
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
  throw new Error(`request ${requestId} reached no outcome within ${options.timeoutMs} ms`);
}
