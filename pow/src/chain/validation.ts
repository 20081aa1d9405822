/**
 * Full validation of a toy chain, block by block, stopping at the first invalid block with the reason.
 * Checks, in order: genesis, index, link to the previous hash, timestamp, target (retarget rule), transactions
 * (exactly one coinbase paying the reward, first), stored hash = recomputed header hash, proof of work.
 */
import type { Block } from "./block";
import { checkTransaction, COINBASE_SENDER, computeBlockHash, ZERO_HASH } from "./block";
import type { ChainConfig } from "./chainConfig";
import { expectedBits } from "./difficulty";
import { compactToTarget, hex32 } from "./target";

export type InvalidBlockKind = "genesis" | "index" | "link" | "timestamp" | "target" | "transactions" | "hash" | "proof";

export type ChainVerdict =
  | { valid: true; length: number }
  | { valid: false; position: number; index: number; kind: InvalidBlockKind; reason: string };

export interface ValidationOptions {
  /** The genesis hash a chain must start from. */
  genesisHash: string;
  /** Current time in unix seconds (for the future-timestamp rule). */
  now?: number;
}

function invalid(position: number, block: Block, kind: InvalidBlockKind, reason: string): ChainVerdict {
  return { valid: false, position, index: block.index, kind, reason: `block ${block.index}: ${reason}` };
}

export function validateChain(blocks: readonly Block[], config: ChainConfig, options: ValidationOptions): ChainVerdict {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (blocks.length === 0) return { valid: false, position: 0, index: 0, kind: "genesis", reason: "the chain is empty" };
  for (let position = 0; position < blocks.length; position++) {
    const block = blocks[position];
    const previous = position > 0 ? blocks[position - 1] : undefined;
    const failure = checkBlock(block, previous, blocks, position, config, options.genesisHash, now);
    if (failure) return failure;
  }
  return { valid: true, length: blocks.length };
}

function checkBlock(
  block: Block, previous: Block | undefined, blocks: readonly Block[], position: number,
  config: ChainConfig, genesisHash: string, now: number,
): ChainVerdict | undefined {
  const recomputed = computeBlockHash(block);
  if (!previous) {
    if (block.previousHash !== ZERO_HASH || block.hash !== genesisHash || recomputed !== genesisHash) {
      return invalid(position, block, "genesis", `genesis hash ${recomputed} differs from the expected ${genesisHash}`);
    }
    return undefined;
  }
  if (block.index !== previous.index + 1) {
    return invalid(position, block, "index", `index ${block.index} does not follow ${previous.index}`);
  }
  if (block.previousHash !== previous.hash) {
    return invalid(position, block, "link", `previous hash ${block.previousHash} is not the hash of block ${previous.index} (${previous.hash})`);
  }
  if (block.timestamp < previous.timestamp) {
    return invalid(position, block, "timestamp", `timestamp ${block.timestamp} is before the previous block's ${previous.timestamp}`);
  }
  if (block.timestamp > now + config.maxFutureSeconds) {
    return invalid(position, block, "timestamp", `timestamp ${block.timestamp} is more than ${config.maxFutureSeconds} s in the future`);
  }
  const bits = expectedBits(config, blocks, position);
  if (block.bits !== bits) {
    return invalid(position, block, "target", `bits 0x${hex32(block.bits)} differ from the retarget rule's 0x${hex32(bits)}`);
  }
  const txProblem = transactionProblem(block, config);
  if (txProblem) return invalid(position, block, "transactions", txProblem);
  if (block.hash !== recomputed) {
    return invalid(position, block, "hash", `stored hash ${block.hash} differs from the header's hash ${recomputed}`);
  }
  if (BigInt("0x" + recomputed) > compactToTarget(block.bits)) {
    return invalid(position, block, "proof", `proof ${block.proof} gives hash ${recomputed}, above the target of bits 0x${hex32(block.bits)}`);
  }
  return undefined;
}

function transactionProblem(block: Block, config: ChainConfig): string | undefined {
  const [coinbase, ...rest] = block.transactions;
  if (!coinbase || coinbase.sender !== COINBASE_SENDER) return "the first transaction must be the coinbase";
  if (coinbase.amount !== config.blockReward) return `coinbase pays ${coinbase.amount}, the reward is ${config.blockReward}`;
  for (const tx of rest) {
    if (tx.sender === COINBASE_SENDER) return "only the first transaction may be a coinbase";
    try {
      checkTransaction(tx);
    } catch (error) {
      return (error as Error).message;
    }
  }
  return undefined;
}
