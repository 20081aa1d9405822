/**
 * The seed's Blockchain class, done right: a transaction pool, `createBlock` that refuses a proof not meeting the
 * target, `lastBlock`, mining through any nonce scanner or the worker pool, and full validation.
 */
import type { NonceScanner } from "../mining/nonceScanner";
import type { MiningPool, MiningProgress } from "../mining/parallelMiner";
import { NONCE_SPACE } from "../mining/parallelMiner";
import type { Block, Transaction } from "./block";
import { blockHeader, checkTransaction, COINBASE_SENDER, computeBlockHash, ZERO_HASH } from "./block";
import type { ChainConfig } from "./chainConfig";
import { chainConfig } from "./chainConfig";
import { expectedBits } from "./difficulty";
import { compactToTarget } from "./target";
import type { ChainVerdict } from "./validation";
import { validateChain } from "./validation";

export class InvalidProofError extends Error {
  constructor(readonly proof: number, readonly hash: string, readonly bits: number) {
    super(`proof ${proof} gives hash ${hash}, above the target of bits 0x${bits.toString(16)}`);
  }
}

/** A block being mined: everything but the proof, fixed, plus its header bytes and target. */
export interface BlockTemplate {
  block: Omit<Block, "hash">;
  header: Uint8Array;
  target: bigint;
}

export interface BlockchainOptions {
  /** Genesis timestamp in unix seconds (default: now). */
  genesisTime?: number;
  /** Clock in unix seconds, for block timestamps and the future-timestamp rule. */
  clock?: () => number;
}

export class Blockchain {
  readonly config: ChainConfig;
  private readonly blocks: Block[] = [];
  private pool: Transaction[] = [];
  private readonly clock: () => number;

  constructor(config: Partial<ChainConfig> = {}, options: BlockchainOptions = {}) {
    this.config = chainConfig(config);
    this.clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    // Genesis is not mined (as in the seed, its proof is fixed); validation pins it by hash instead.
    const genesis = { index: 1, timestamp: options.genesisTime ?? this.clock(), transactions: [], proof: 0, previousHash: ZERO_HASH, bits: expectedBits(this.config, [], 0) };
    this.blocks.push({ ...genesis, hash: computeBlockHash(genesis) });
  }

  get chain(): readonly Block[] {
    return this.blocks;
  }

  get lastBlock(): Block {
    return this.blocks[this.blocks.length - 1];
  }

  get genesisHash(): string {
    return this.blocks[0].hash;
  }

  get pendingTransactions(): readonly Transaction[] {
    return this.pool;
  }

  /** Queues a transaction; returns the index of the block that will include it. */
  addTransaction(tx: Transaction): number {
    checkTransaction(tx);
    if (tx.sender === COINBASE_SENDER) throw new Error(`sender "${COINBASE_SENDER}" is reserved for the coinbase`);
    this.pool.push({ ...tx });
    return this.lastBlock.index + 1;
  }

  /** The next block to mine: coinbase to `miner`, then the pool, the current target. */
  blockTemplate(miner: string, timestamp: number = Math.max(this.clock(), this.lastBlock.timestamp)): BlockTemplate {
    const coinbase: Transaction = { sender: COINBASE_SENDER, recipient: miner, amount: this.config.blockReward };
    checkTransaction(coinbase);
    const bits = expectedBits(this.config, this.blocks, this.blocks.length);
    const block = {
      index: this.lastBlock.index + 1, timestamp, transactions: [coinbase, ...this.pool], proof: 0,
      previousHash: this.lastBlock.hash, bits,
    };
    return { block, header: blockHeader(block), target: compactToTarget(bits) };
  }

  /** Appends the template's block with `proof`, after checking the proof; empties the pool. */
  createBlock(template: BlockTemplate, proof: number): Block {
    if (template.block.previousHash !== this.lastBlock.hash) throw new Error("the template is stale: the chain has moved on");
    const unhashed = { ...template.block, proof };
    const hash = computeBlockHash(unhashed);
    if (BigInt("0x" + hash) > template.target) throw new InvalidProofError(proof, hash, template.block.bits);
    const block = { ...unhashed, hash };
    this.blocks.push(block);
    const included = new Set(template.block.transactions);
    this.pool = this.pool.filter((tx) => !included.has(tx));
    return block;
  }

  /** Mines one block on this thread with `scanner` (tests, small difficulties). */
  mineWith(scanner: NonceScanner, miner: string, chunk = 1 << 16): Block {
    for (let bump = 0; ; bump++) {
      const template = this.blockTemplate(miner, Math.max(this.clock(), this.lastBlock.timestamp) + bump);
      scanner.setTemplate(template.header, template.target);
      for (let start = 0; start < NONCE_SPACE; start += chunk) {
        const { hits } = scanner.scan(start, chunk);
        if (hits.length > 0) return this.createBlock(template, hits[0]);
      }
      // All 2^32 nonces failed: a new timestamp gives a new header to search, as real miners do.
    }
  }

  /** Mines one block across the worker pool. */
  async mine(pool: MiningPool, miner: string, onProgress?: (p: MiningProgress) => void): Promise<{ block: Block; hashes: number; hashesPerSec: number }> {
    let hashes = 0;
    for (let bump = 0; ; bump++) {
      const template = this.blockTemplate(miner, Math.max(this.clock(), this.lastBlock.timestamp) + bump);
      const result = await pool.search(template.header, template.target, { onProgress });
      hashes += result.hashes;
      if (result.nonce !== undefined) return { block: this.createBlock(template, result.nonce), hashes, hashesPerSec: result.hashesPerSec };
    }
  }

  validate(): ChainVerdict {
    return validateChain(this.blocks, this.config, { genesisHash: this.genesisHash, now: this.clock() });
  }
}
