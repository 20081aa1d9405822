import { checksumAddress } from "./abi";

/**
 * The node's hot chain reads as plain JSON-RPC answers (blocks, logs, receipts, calls), without ethers' wrapping.
 * ethers' `getLogs`, `getBlock`, `getTransactionReceipt` and `call` build a frozen object per log, block and receipt
 * and checksum every address with a JavaScript keccak; with ten nodes on one machine that was a sixth of their CPU.
 * The answers are checked here: a malformed one throws a `BAD_DATA` error, which the node treats as an RPC fault
 * (retried), never as chain state.
 */
export interface JsonRpcSender {
  send(method: string, params: unknown[]): Promise<unknown>;
}

export interface BlockHeader {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: number;
  /** Hashes of the block's transactions. */
  transactions: string[];
}

export interface ChainLog {
  /** Checksummed, as ethers gives it. */
  address: string;
  topics: string[];
  data: string;
  blockNumber: number;
  blockHash: string;
  transactionHash: string;
  /** The log's index in its block. */
  index: number;
}

export interface MinedReceipt {
  hash: string;
  /** 1 success, 0 reverted. */
  status: number;
  blockNumber: number;
  blockHash: string;
  gasUsed: bigint;
  logs: ChainLog[];
}

export interface LogFilter {
  address: readonly string[];
  fromBlock: number;
  toBlock: number;
  topics?: readonly (string | readonly string[] | null)[];
}

export type BlockTag = number | "latest" | "pending";

class RpcAnswerError extends Error {
  readonly code = "BAD_DATA";
}

function bad(what: string, value: unknown): never {
  throw new RpcAnswerError(`rpc answered a malformed ${what}: ${JSON.stringify(value)?.slice(0, 120)}`);
}

const HEX_DATA = /^0x(?:[0-9a-fA-F]{2})*$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/;

/** A JSON-RPC quantity (0x-prefixed hex) as a safe integer; a `BAD_DATA` error otherwise. */
export function quantity(value: unknown, what: string): number {
  if (typeof value !== "string" || !QUANTITY.test(value)) bad(what, value);
  const n = Number.parseInt(value, 16);
  if (!Number.isSafeInteger(n)) bad(what, value);
  return n;
}

function bigQuantity(value: unknown, what: string): bigint {
  if (typeof value !== "string" || !QUANTITY.test(value)) bad(what, value);
  return BigInt(value);
}

function hash(value: unknown, what: string): string {
  if (typeof value !== "string" || !HASH.test(value)) bad(what, value);
  return value.toLowerCase();
}

function hexData(value: unknown, what: string): string {
  if (typeof value !== "string" || !HEX_DATA.test(value)) bad(what, value);
  return value.toLowerCase();
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad(what, value);
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) bad(what, value);
  return value;
}

function toTag(tag: BlockTag): string {
  return typeof tag === "number" ? `0x${tag.toString(16)}` : tag;
}

function parseLog(value: unknown): ChainLog {
  const raw = object(value, "log");
  if (typeof raw.address !== "string" || !ADDRESS.test(raw.address)) bad("log address", raw.address);
  return {
    address: checksumAddress(raw.address.toLowerCase()),
    topics: list(raw.topics, "log topics").map((topic) => hash(topic, "log topic")),
    data: hexData(raw.data, "log data"),
    blockNumber: quantity(raw.blockNumber, "log block number"),
    blockHash: hash(raw.blockHash, "log block hash"),
    transactionHash: hash(raw.transactionHash, "log transaction hash"),
    index: quantity(raw.logIndex, "log index"),
  };
}

/** The block's header and transaction hashes; null when the chain has no such block (yet). */
export async function getBlockHeader(rpc: JsonRpcSender, tag: BlockTag): Promise<BlockHeader | null> {
  const answer = await rpc.send("eth_getBlockByNumber", [toTag(tag), false]);
  if (answer === null) return null;
  const raw = object(answer, "block");
  return {
    number: quantity(raw.number, "block number"),
    hash: hash(raw.hash, "block hash"),
    parentHash: hash(raw.parentHash, "parent hash"),
    timestamp: quantity(raw.timestamp, "block timestamp"),
    transactions: list(raw.transactions, "block transactions").map((tx) => hash(tx, "transaction hash")),
  };
}

export async function getBlockNumber(rpc: JsonRpcSender): Promise<number> {
  return quantity(await rpc.send("eth_blockNumber", []), "block number");
}

/** The logs in the range, in the order the node returned them. */
export async function getLogs(rpc: JsonRpcSender, filter: LogFilter): Promise<ChainLog[]> {
  const answer = await rpc.send("eth_getLogs", [
    {
      address: filter.address,
      fromBlock: toTag(filter.fromBlock),
      toBlock: toTag(filter.toBlock),
      ...(filter.topics ? { topics: filter.topics } : {}),
    },
  ]);
  return list(answer, "log list").map(parseLog);
}

/** The receipt of a mined transaction; null while it is pending or unknown. */
export async function getReceipt(rpc: JsonRpcSender, txHash: string): Promise<MinedReceipt | null> {
  const answer = await rpc.send("eth_getTransactionReceipt", [txHash]);
  if (answer === null) return null;
  const raw = object(answer, "receipt");
  return {
    hash: hash(raw.transactionHash, "receipt transaction hash"),
    status: quantity(raw.status, "receipt status"),
    blockNumber: quantity(raw.blockNumber, "receipt block number"),
    blockHash: hash(raw.blockHash, "receipt block hash"),
    gasUsed: bigQuantity(raw.gasUsed, "receipt gas used"),
    logs: list(raw.logs, "receipt logs").map(parseLog),
  };
}

/** `eth_call` of `data` on `to`; the returned bytes as hex. A revert throws ethers' CALL_EXCEPTION, with its data. */
export async function ethCall(rpc: JsonRpcSender, call: { to: string; data: string }, tag: BlockTag = "latest"): Promise<string> {
  return hexData(await rpc.send("eth_call", [{ to: call.to, data: call.data }, toTag(tag)]), "call result");
}
