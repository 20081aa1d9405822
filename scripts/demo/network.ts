import { Contract, type JsonRpcProvider, type TransactionReceipt, type Wallet, ZeroAddress } from "ethers";
import type { Deployment } from "../lib/deploy";

export function contractsOf(deployment: Deployment, runner: JsonRpcProvider | Wallet) {
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

/** Mints demo tokens to each validator, approves the registry and stakes, from the validator's own key. */
export async function stakeValidators(provider: JsonRpcProvider, deployment: Deployment, specs: readonly StakeSpec[]): Promise<void> {
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
  prompt: string;
  maxNewTokens: number;
  consumer?: string;
  callbackGasLimit?: number;
  /** Wei; defaults to the registry's minimum fee. */
  fee?: bigint;
  modelId?: number;
}

export interface SentChatRequest {
  requestId: bigint;
  committee: string[];
  receipt: TransactionReceipt;
  commitDeadline: number;
  revealDeadline: number;
}

/** Sends `requestChat` from `user` and reads the request id and committee from its ChatRequested event. */
export async function sendChatRequest(
  provider: JsonRpcProvider,
  deployment: Deployment,
  user: Wallet,
  spec: ChatRequestSpec,
): Promise<SentChatRequest> {
  const { chat } = contractsOf(deployment, user.connect(provider));
  const fee = spec.fee ?? ((await chat.getConfig()).minimumFee as bigint);
  const args = [spec.modelId ?? deployment.modelId, spec.prompt, spec.maxNewTokens, spec.consumer ?? ZeroAddress, spec.callbackGasLimit ?? 0] as const;
  // The committee draw walks the sortition tree from a seed that changes every block, so its cost varies a little
  // between the estimate and inclusion: leave headroom.
  const estimate = (await chat.requestChat.estimateGas(...args, { value: fee })) as bigint;
  const tx = await chat.requestChat(...args, { value: fee, gasLimit: (estimate * 13n) / 10n + 30_000n });
  const receipt = (await tx.wait()) as TransactionReceipt;
  for (const log of receipt.logs) {
    const parsed = chat.interface.parseLog(log);
    if (parsed?.name === "ChatRequested") {
      return {
        requestId: parsed.args.requestId as bigint,
        committee: [...(parsed.args.committee as string[])],
        receipt,
        commitDeadline: Number(parsed.args.commitDeadline),
        revealDeadline: Number(parsed.args.revealDeadline),
      };
    }
  }
  throw new Error(`requestChat transaction ${receipt.hash} emitted no ChatRequested event`);
}

/** Resolves with the RecordFinalized (or final RequestTimedOut) of `requestId`, polling the chain's logs. */
export async function waitForOutcome(
  provider: JsonRpcProvider,
  deployment: Deployment,
  requestId: bigint,
  options: { fromBlock: number; timeoutMs: number; pollMs?: number },
): Promise<{ outcome: "finalized" | "timed_out"; blockNumber: number; txHash: string }> {
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
      if (parsed?.name === "RequestTimedOut" && parsed.args.exhausted) {
        return { outcome: "timed_out", blockNumber: log.blockNumber, txHash: log.transactionHash };
      }
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
  throw new Error(`request ${requestId} reached no outcome within ${options.timeoutMs} ms`);
}
