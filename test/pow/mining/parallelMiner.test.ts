import { expect } from "chai";
import { Blockchain } from "../../../pow/src/chain/blockchain";
import { leadingZeroBits, targetFromLeadingZeroBits } from "../../../pow/src/chain/target";
import { nonceMeetsTarget } from "../../../pow/src/mining/nonceScanner";
import { MiningPool } from "../../../pow/src/mining/parallelMiner";

describe("pow/mining/parallelMiner", () => {
  let pool: MiningPool;
  before(() => {
    pool = new MiningPool(2);
  });
  after(async () => {
    await pool.close();
  });

  it("finds a nonce meeting a k = 16 target with two threads and counts the hashes tried", async () => {
    const header = new Uint8Array(80).fill(7);
    const target = targetFromLeadingZeroBits(16);
    const progress: number[] = [];
    const result = await pool.search(header, target, { chunkSize: 1 << 12, onProgress: (p) => progress.push(p.hashes) });
    expect(result.nonce).to.be.a("number");
    expect(nonceMeetsTarget(header, result.nonce!, target)).to.equal(true);
    expect(result.hashes).to.be.greaterThan(0);
    expect(result.hashesPerSec).to.be.greaterThan(0);
    expect(progress).to.deep.equal([...progress].sort((a, b) => a - b));
  });

  it("returns without a nonce when the range holds no solution", async () => {
    const result = await pool.search(new Uint8Array(80), 0n, { chunkSize: 1 << 12, endNonce: 1 << 15 });
    expect(result.nonce).to.equal(undefined);
    expect(result.hashes).to.equal(1 << 15);
  });

  it("mines toy-chain blocks across the pool", async () => {
    const chain = new Blockchain({ difficultyBits: 14 });
    for (let i = 0; i < 3; i++) await chain.mine(pool, "pool-miner");
    expect(chain.validate().valid).to.equal(true);
    expect(leadingZeroBits(BigInt("0x" + chain.lastBlock.hash))).to.be.at.least(14);
  });

  it("refuses a zero-thread pool", () => {
    expect(() => new MiningPool(0)).to.throw(/positive integer/);
  });
});
