import { type ParamType, ZeroHash, getBytes } from "ethers";
import { type JsonRpcSender, ethCall, getBlockHeader } from "./jsonRpc";
import { keccak256 } from "./keccak";
import { decodeUtf8Lenient } from "./listener";
import { callEncoder, encodeParams, resultDecoder } from "./abi";
import type { Metrics } from "../metrics";
import type { DeployedContract } from "./deployments";
import { classifyRpcError } from "./rpc";

/** IChatRecordRegistry.Status, in declaration order. */
export const RequestStatus = {
  None: 0,
  Requested: 1,
  Committed: 2,
  Revealed: 3,
  Finalized: 4,
  TimedOut: 5,
  Declined: 6,
} as const;
export const STATUS_NAMES = ["None", "Requested", "Committed", "Revealed", "Finalized", "TimedOut", "Declined"] as const;

/** IChatRecordRegistry.DeclineReason, in declaration order. */
export const DeclineReason = { PromptTooLong: 0, InvalidPrompt: 1, ModelUnavailable: 2 } as const;
export type DeclineReasonName = keyof typeof DeclineReason;
export const DECLINE_REASON_NAMES = ["PromptTooLong", "InvalidPrompt", "ModelUnavailable"] as const;

/** IChatRecordRegistry.ModelLimits: checked by requestChat (bytes, new tokens) and by the nodes (context). */
export interface ModelLimits {
  maxPromptBytes: number;
  maxNewTokens: number;
  contextLength: number;
}

export interface RegisteredModel {
  modelHash: string;
  enabled: boolean;
  limits: ModelLimits;
  /** Where the owner says the model can be found (the deploy script registers the model folder's path). */
  uri: string;
}

/**
 * A prompt as the chain carries it (any bytes: Solidity does not check UTF-8): its text, with U+FFFD for every invalid
 * sequence, and whether the bytes were valid UTF-8 (only then does the text hash back to the on-chain promptHash).
 * Never throws.
 */
export function decodePrompt(raw: string | Uint8Array): { text: string; validUtf8: boolean } {
  let bytes: Uint8Array;
  try {
    bytes = typeof raw === "string" ? getBytes(raw) : raw;
  } catch {
    return { text: "", validUtf8: false };
  }
  const { text, valid } = decodeUtf8Lenient(bytes);
  return { text, validUtf8: valid };
}

export interface OnChainRecord {
  requestId: bigint;
  requester: string;
  modelId: number;
  status: number;
  attempt: number;
  quorum: number;
  fee: bigint;
  promptHash: string;
  responseHash: string;
  modelHash: string;
  consumer: string;
  callbackGasLimit: number;
  callbackFailed: boolean;
  /** `settle` ran (or had nothing to do: a committee of one that responded, a request that timed out). */
  settled: boolean;
  /** The block whose hash draws the current attempt's committee. */
  seedBlock: number;
  commitDeadline: number;
  revealDeadline: number;
  committee: string[];
}

/** IChatRecordRegistry.ThreadLink: where a request sits in its conversation. */
export interface ThreadLink {
  /** 0n for a request that extends nothing (the root of its own thread). */
  parentId: bigint;
  rootId: bigint;
  previousRecordHash: string;
}

export interface MemberState {
  validator: string;
  committed: boolean;
  revealed: boolean;
  declined: boolean;
  commitment: string;
  responseHash: string;
}

/** A seat as the chain shows it before its member did anything (also a previewed committee's seats). */
export function idleMember(validator: string, state: Partial<MemberState> = {}): MemberState {
  return { validator, committed: false, revealed: false, declined: false, commitment: ZeroHash, responseHash: ZeroHash, ...state };
}

/** Read access and call encoding for ChatRecordRegistry; every RPC failure comes out classified. */
export interface ChatRegistryClient {
  readonly address: string;
  getRecord(requestId: bigint): Promise<OnChainRecord>;
  getMembers(requestId: bigint): Promise<MemberState[]>;
  /** Where the request sits in its conversation thread (`requestChatFollowUp`). */
  getThread(requestId: bigint): Promise<ThreadLink>;
  getModel(modelId: number): Promise<RegisteredModel>;
  /**
   * The current attempt's committee before anyone drew it: what a draw in the next block gives (read at the
   * "pending" block: at "latest" the seed block's hash does not exist yet). `ready` false: ask again next block.
   */
  previewCommittee(requestId: bigint): Promise<{ committee: string[]; ready: boolean }>;
  /** Wei `account` can withdraw (fee shares, reimbursements, refunds). */
  creditOf(account: string): Promise<bigint>;
  /** Timestamp of the latest block: the contract compares deadlines with block.timestamp. */
  chainTime(): Promise<number>;
  encodeCommit(requestId: bigint, commitment: string): string;
  encodeReveal(requestId: bigint, responseText: string, salt: string): string;
  /** Committee of one: the answer itself, finalized in one transaction (no commit–reveal). */
  encodeRespond(requestId: bigint, responseText: string): string;
  encodeDecline(requestId: bigint, reason: number): string;
  encodeDraw(requestId: bigint): string;
  encodeTimeout(requestId: bigint): string;
  encodeSettle(requestId: bigint): string;
  encodeWithdraw(recipient: string): string;
  encodeAnchor(merkleRoot: string, count: number, modelId: number): string;
}

/** keccak256(abi.encode(requestId, validator, responseHash, salt)), as `computeCommitment` does on-chain. */
export function computeCommitment(requestId: bigint, validator: string, responseHash: string, salt: string): string {
  return keccak256("0x" + encodeParams(["uint256", "address", "bytes32", "bytes32"], [requestId, validator, responseHash, salt]));
}

/** Reads a view's tuple output by its components' names (decoded by the lean codec: plain arrays inside). */
function tupleFields(type: ParamType): (values: unknown[]) => Record<string, unknown> {
  const names = (type.components ?? []).map((c) => c.name);
  return (values) => Object.fromEntries(names.map((name, i) => [name, values[i]]));
}

export function createChatRegistryClient(
  deployed: DeployedContract,
  provider: JsonRpcSender,
  metrics?: Metrics,
): ChatRegistryClient {
  const iface = deployed.iface;
  const to = deployed.address;
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw classifyRpcError(error, what, metrics);
    }
  };
  /** An `eth_call` of a view, its output decoded by the lean codec (the hot reads run per request and block). */
  const view = (name: string) => {
    const encode = callEncoder(iface, name);
    const decode = resultDecoder(iface, name);
    return async (args: unknown[], blockTag?: "latest" | "pending") => decode(await ethCall(provider, { to, data: encode(...args) }, blockTag));
  };
  const views = {
    getRecord: view("getRecord"),
    getMembers: view("getMembers"),
    threadOfRequest: view("threadOfRequest"),
    getModel: view("getModel"),
    previewCommittee: view("previewCommittee"),
    creditOf: view("creditOf"),
  };
  const recordOf = tupleFields(iface.getFunction("getRecord")!.outputs[0]);
  const memberOf = tupleFields(iface.getFunction("getMembers")!.outputs[0].arrayChildren!);
  const threadOf = tupleFields(iface.getFunction("threadOfRequest")!.outputs[0]);
  const modelOf = tupleFields(iface.getFunction("getModel")!.outputs[0]);
  const limitsOf = tupleFields(iface.getFunction("getModel")!.outputs[0].components!.find((c) => c.name === "limits")!);
  const encoders = {
    commit: callEncoder(iface, "commitResponse"),
    reveal: callEncoder(iface, "revealResponse"),
    respond: callEncoder(iface, "respond"),
    decline: callEncoder(iface, "declineRequest"),
    draw: callEncoder(iface, "draw"),
    timeout: callEncoder(iface, "timeout"),
    settle: callEncoder(iface, "settle"),
    withdraw: callEncoder(iface, "withdraw"),
    anchor: callEncoder(iface, "anchorBatch"),
  };
  return {
    address: deployed.address,
    getRecord: (requestId) =>
      call("getRecord", async () => {
        const [tuple] = await views.getRecord([requestId]);
        const r = recordOf(tuple as unknown[]);
        return {
          requestId: r.requestId as bigint,
          requester: r.requester as string,
          modelId: Number(r.modelId),
          status: Number(r.status),
          attempt: Number(r.attempt),
          quorum: Number(r.quorum),
          fee: r.fee as bigint,
          promptHash: r.promptHash as string,
          responseHash: r.responseHash as string,
          modelHash: r.modelHash as string,
          consumer: r.consumer as string,
          callbackGasLimit: Number(r.callbackGasLimit),
          callbackFailed: r.callbackFailed as boolean,
          settled: r.settled as boolean,
          seedBlock: Number(r.seedBlock),
          commitDeadline: Number(r.commitDeadline),
          revealDeadline: Number(r.revealDeadline),
          committee: r.committee as string[],
        };
      }),
    getMembers: (requestId) =>
      call("getMembers", async () => {
        const [members] = await views.getMembers([requestId]);
        return (members as unknown[][]).map((values) => {
          const m = memberOf(values);
          return {
            validator: m.validator as string,
            committed: m.committed as boolean,
            revealed: m.revealed as boolean,
            declined: m.declined as boolean,
            commitment: m.commitment as string,
            responseHash: m.responseHash as string,
          };
        });
      }),
    getThread: (requestId) =>
      call("threadOfRequest", async () => {
        const [tuple] = await views.threadOfRequest([requestId]);
        const t = threadOf(tuple as unknown[]);
        return { parentId: t.parentId as bigint, rootId: t.rootId as bigint, previousRecordHash: t.previousRecordHash as string };
      }),
    getModel: (modelId) =>
      call("getModel", async () => {
        const [tuple] = await views.getModel([modelId]);
        const m = modelOf(tuple as unknown[]);
        const limits = limitsOf(m.limits as unknown[]);
        return {
          modelHash: m.modelHash as string,
          enabled: m.enabled as boolean,
          limits: {
            maxPromptBytes: Number(limits.maxPromptBytes),
            maxNewTokens: Number(limits.maxNewTokens),
            contextLength: Number(limits.contextLength),
          },
          uri: m.uri as string,
        };
      }),
    previewCommittee: (requestId) =>
      call("previewCommittee", async () => {
        const [committee, ready] = await views.previewCommittee([requestId], "pending");
        return { committee: committee as string[], ready: ready as boolean };
      }),
    creditOf: (account) => call("creditOf", async () => (await views.creditOf([account]))[0] as bigint),
    chainTime: () =>
      call("latest block", async () => {
        const block = await getBlockHeader(provider, "latest");
        return block?.timestamp ?? Math.floor(Date.now() / 1000);
      }),
    encodeCommit: (requestId, commitment) => encoders.commit(requestId, commitment),
    encodeReveal: (requestId, text, salt) => encoders.reveal(requestId, text, salt),
    encodeRespond: (requestId, text) => encoders.respond(requestId, text),
    encodeDecline: (requestId, reason) => encoders.decline(requestId, reason),
    encodeDraw: (requestId) => encoders.draw(requestId),
    encodeTimeout: (requestId) => encoders.timeout(requestId),
    encodeSettle: (requestId) => encoders.settle(requestId),
    encodeWithdraw: (recipient) => encoders.withdraw(recipient),
    encodeAnchor: (root, count, modelId) => encoders.anchor(root, count, modelId),
  };
}
