/**
 * The poison phase of `npm run bench:e2e`: requests no honest node can serve, mixed with normal ones. Every normal
 * request must finalize, every poison request must end Declined (or be refused by `requestChat` itself), and no honest
 * validator may be slashed — not during the phase, and not when the requests are settled after their deadlines.
 */
import { Contract, type JsonRpcProvider, type Wallet, ZeroAddress, toUtf8Bytes } from "ethers";
import type { DeploymentFile } from "../oracle/src/chain/deployments";
import { RequestStatus } from "../oracle/src/chain/chatRegistry";

/** The end states this phase waits for, as `getRecord` returns them. */
const FINALIZED = BigInt(RequestStatus.Finalized);
const TIMED_OUT = BigInt(RequestStatus.TimedOut);
const DECLINED = BigInt(RequestStatus.Declined);

export interface PoisonResult {
  /** Poison requests sent (including those `requestChat` refused). */
  requests: number;
  /** Poison requests that ended Declined. */
  declined: number;
  /** Poison requests `requestChat` refused outright (over the model's registered limits). */
  refused: number;
  /** Poison requests that timed out instead (the fee refunded): 0 when every node declines as it should. */
  timedOut: number;
  normalRequests: number;
  normalFinalized: number;
  /** Slashes of the (all honest) validators in this phase, settlement after the deadlines included. */
  honestSlashed: number;
}

export interface PoisonOptions {
  provider: JsonRpcProvider;
  deployment: DeploymentFile;
  /** Sends the requests; the deployer registers the unserved model. */
  user: Wallet;
  deployer: Wallet;
  /** Rounds of one normal request and four poison ones. */
  rounds: number;
  /** Seconds to advance chain time to pass every deadline before settling. */
  windowSeconds: number;
  timeoutMs?: number;
}

/** One round: a normal prompt, invalid UTF-8, a prompt over the context, too many new tokens, an unserved model. */
export async function runPoisonPhase(options: PoisonOptions): Promise<PoisonResult> {
  const { provider, deployment, user, deployer, rounds } = options;
  const chat = new Contract(deployment.addresses.ChatRecordRegistry, deployment.abis.ChatRecordRegistry as never, provider);
  const asUser = chat.connect(user.connect(provider)) as Contract;
  const fee = (await chat.getConfig()).minimumFee as bigint;
  const model = await chat.getModel(deployment.modelId);
  const limits = { maxPromptBytes: Number(model.limits.maxPromptBytes), maxNewTokens: Number(model.limits.maxNewTokens), contextLength: Number(model.limits.contextLength) };
  // A model id registered with a hash no node runs: its requests are declined ModelUnavailable.
  const unservedModelId = 0xbad;
  if ((await chat.getModel(unservedModelId)).modelHash === `0x${"0".repeat(64)}`) {
    await (await (chat.connect(deployer.connect(provider)) as Contract).getFunction("registerModel")(unservedModelId, `0x${"ab".repeat(32)}`, limits, "nowhere")).wait();
  }
  const overContext = "word ".repeat(Math.min(limits.contextLength, Math.floor(limits.maxPromptBytes / 5)));

  const normal: bigint[] = [];
  const poison: bigint[] = [];
  let refused = 0;
  const send = async (modelId: number, prompt: Uint8Array, maxNewTokens: number): Promise<bigint | undefined> => {
    try {
      await (await asUser.getFunction("requestChat")(modelId, prompt, maxNewTokens, ZeroAddress, 0, 0, { value: fee })).wait();
    } catch {
      return undefined; // refused at request time: over the registered limits
    }
    return (await chat.getFunction("requestCount")()) as bigint;
  };
  for (let round = 0; round < rounds; round++) {
    const id = await send(deployment.modelId, toUtf8Bytes(`poison round ${round}: what comes next?`), 8);
    if (id !== undefined) normal.push(id);
    const poisons: [number, Uint8Array, number][] = [
      [deployment.modelId, Uint8Array.from([0x48, 0x69, 0xff, 0xfe, 0x21, round & 0x7f]), 8],
      [deployment.modelId, toUtf8Bytes(overContext), Math.min(8, limits.maxNewTokens)],
      [deployment.modelId, toUtf8Bytes("too long an answer"), limits.maxNewTokens + 1],
      [unservedModelId, toUtf8Bytes(`another model, round ${round}`), 8],
    ];
    for (const [modelId, prompt, maxNewTokens] of poisons) {
      const poisonId = await send(modelId, prompt, maxNewTokens);
      if (poisonId === undefined) refused++;
      else poison.push(poisonId);
    }
  }

  const statusOf = async (id: bigint) => (await chat.getRecord(id)).status as bigint;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const pending = () => [...normal, ...poison];
  for (;;) {
    const statuses = await Promise.all(pending().map(statusOf));
    if (statuses.every((s) => s === FINALIZED || s === TIMED_OUT || s === DECLINED)) break;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const normalStatuses = await Promise.all(normal.map(statusOf));
  const poisonStatuses = await Promise.all(poison.map(statusOf));

  // Past every deadline: settle each declined request (anyone may) so a missed seat would show as a slash.
  await provider.send("evm_increaseTime", [options.windowSeconds * 2 + 1]);
  await provider.send("evm_mine", []);
  for (const [i, id] of poison.entries()) {
    if (poisonStatuses[i] !== DECLINED || (await chat.getRecord(id)).settled) continue;
    await (await asUser.getFunction("settle")(id)).wait();
  }
  const ids = new Set([...normal, ...poison].map(String));
  const slashes = await chat.queryFilter(chat.filters.MemberSlashed(), deployment.block);
  const honestSlashed = slashes.filter((e) => "args" in e && ids.has(String(e.args.requestId))).length;

  return {
    requests: poison.length + refused,
    declined: poisonStatuses.filter((s) => s === DECLINED).length,
    refused,
    timedOut: poisonStatuses.filter((s) => s === TIMED_OUT).length,
    normalRequests: normal.length,
    normalFinalized: normalStatuses.filter((s) => s === FINALIZED).length,
    honestSlashed,
  };
}
