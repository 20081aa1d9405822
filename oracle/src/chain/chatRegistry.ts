import { AbiCoder, Contract, type JsonRpcProvider, keccak256 } from "ethers";
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
  Refunded: 6,
} as const;
export const STATUS_NAMES = ["None", "Requested", "Committed", "Revealed", "Finalized", "TimedOut", "Refunded"] as const;

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
  commitDeadline: number;
  revealDeadline: number;
  committee: string[];
}

export interface MemberState {
  validator: string;
  committed: boolean;
  revealed: boolean;
  commitment: string;
  responseHash: string;
}

/** Read access and call encoding for ChatRecordRegistry; every RPC failure comes out classified. */
export interface ChatRegistryClient {
  readonly address: string;
  getRecord(requestId: bigint): Promise<OnChainRecord>;
  getMembers(requestId: bigint): Promise<MemberState[]>;
  getModelHash(modelId: number): Promise<{ modelHash: string; enabled: boolean }>;
  /** Timestamp of the latest block: the contract compares deadlines with block.timestamp. */
  chainTime(): Promise<number>;
  encodeCommit(requestId: bigint, commitment: string): string;
  encodeReveal(requestId: bigint, responseText: string, salt: string): string;
  encodeTimeout(requestId: bigint): string;
  encodeAnchor(merkleRoot: string, count: number, modelId: number): string;
}

/** keccak256(abi.encode(requestId, validator, responseHash, salt)), as `computeCommitment` does on-chain. */
export function computeCommitment(requestId: bigint, validator: string, responseHash: string, salt: string): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(["uint256", "address", "bytes32", "bytes32"], [requestId, validator, responseHash, salt]),
  );
}

export function createChatRegistryClient(
  deployed: DeployedContract,
  provider: JsonRpcProvider,
  metrics?: Metrics,
): ChatRegistryClient {
  const contract = new Contract(deployed.address, deployed.iface, provider);
  const iface = deployed.iface;
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw classifyRpcError(error, what, metrics);
    }
  };
  return {
    address: deployed.address,
    getRecord: (requestId) =>
      call("getRecord", async () => {
        const r = await contract.getRecord(requestId);
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
          commitDeadline: Number(r.commitDeadline),
          revealDeadline: Number(r.revealDeadline),
          committee: [...(r.committee as string[])],
        };
      }),
    getMembers: (requestId) =>
      call("getMembers", async () => {
        const members = await contract.getMembers(requestId);
        return (members as MemberState[]).map((m) => ({
          validator: m.validator,
          committed: m.committed,
          revealed: m.revealed,
          commitment: m.commitment,
          responseHash: m.responseHash,
        }));
      }),
    getModelHash: (modelId) =>
      call("getModel", async () => {
        const m = await contract.getModel(modelId);
        return { modelHash: m.modelHash as string, enabled: m.enabled as boolean };
      }),
    chainTime: () =>
      call("latest block", async () => {
        const block = await provider.getBlock("latest");
        return block?.timestamp ?? Math.floor(Date.now() / 1000);
      }),
    encodeCommit: (requestId, commitment) => iface.encodeFunctionData("commitResponse", [requestId, commitment]),
    encodeReveal: (requestId, text, salt) => iface.encodeFunctionData("revealResponse", [requestId, text, salt]),
    encodeTimeout: (requestId) => iface.encodeFunctionData("timeout", [requestId]),
    encodeAnchor: (root, count, modelId) => iface.encodeFunctionData("anchorBatch", [root, count, modelId]),
  };
}
