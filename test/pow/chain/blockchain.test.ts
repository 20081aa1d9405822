import { expect } from "chai";
import type { Block } from "../../../pow/src/chain/block";
import { computeBlockHash } from "../../../pow/src/chain/block";
import { Blockchain, InvalidProofError } from "../../../pow/src/chain/blockchain";
import { compactToTarget, leadingZeroBits } from "../../../pow/src/chain/target";
import { validateChain } from "../../../pow/src/chain/validation";
import { WasmSimdScanner } from "../../../pow/src/mining/nonceScanner";

const GENESIS_TIME = 1_700_000_000;

/** A 6-block chain mined at k = 10 with a fixed clock, so every run builds the same chain. */
function mineChain(): Blockchain {
  let now = GENESIS_TIME;
  const chain = new Blockchain({ difficultyBits: 10 }, { genesisTime: GENESIS_TIME, clock: () => now });
  const scanner = new WasmSimdScanner();
  for (let i = 0; i < 5; i++) {
    now += 600;
    chain.addTransaction({ sender: "alice", recipient: "bob", amount: i + 1 });
    chain.addTransaction({ sender: "bob", recipient: "carol", amount: 0.5 });
    chain.mineWith(scanner, `miner-${i % 2}`);
  }
  return chain;
}

function tampered(chain: Blockchain, position: number, change: (block: Block) => void): Block[] {
  const copy: Block[] = structuredClone([...chain.chain]);
  change(copy[position]);
  return copy;
}

describe("pow/chain/blockchain", () => {
  const chain = mineChain();
  const validate = (blocks: Block[]) => validateChain(blocks, chain.config, { genesisHash: chain.genesisHash, now: GENESIS_TIME + 10_000 });

  it("mines blocks whose hashes have at least k leading zero bits and validates the chain", () => {
    expect(chain.chain).to.have.length(6);
    for (const block of chain.chain.slice(1)) expect(leadingZeroBits(BigInt("0x" + block.hash))).to.be.at.least(10);
    expect(chain.validate()).to.deep.equal({ valid: true, length: 6 });
  });

  it("puts pooled transactions after the coinbase and empties the pool", () => {
    expect(chain.lastBlock.transactions.map((tx) => tx.sender)).to.deep.equal(["0", "alice", "bob"]);
    expect(chain.pendingTransactions).to.have.length(0);
    expect(chain.addTransaction({ sender: "x", recipient: "y", amount: 1 })).to.equal(chain.lastBlock.index + 1);
  });

  it("refuses a proof that does not meet the target", () => {
    const fresh = new Blockchain({ difficultyBits: 20 }, { genesisTime: GENESIS_TIME, clock: () => GENESIS_TIME });
    const template = fresh.blockTemplate("m");
    let proof = 0;
    while (BigInt("0x" + computeBlockHash({ ...template.block, proof })) <= template.target) proof++;
    expect(() => fresh.createBlock(template, proof)).to.throw(InvalidProofError);
  });

  it("refuses bad transactions", () => {
    expect(() => chain.addTransaction({ sender: "a", recipient: "b", amount: -1 })).to.throw(/positive/);
    expect(() => chain.addTransaction({ sender: "0", recipient: "b", amount: 1 })).to.throw(/reserved/);
  });

  const tamperings: Array<{ what: string; position: number; kind: string; change: (b: Block) => void }> = [
    { what: "a changed transaction amount", position: 3, kind: "hash", change: (b) => { b.transactions[1].amount = 1000; } },
    { what: "a changed transaction with its hash recomputed but not re-mined", position: 3, kind: "proof",
      change: (b) => { b.transactions[1].amount = 1000; b.hash = computeBlockHash(b); } },
    { what: "a changed proof", position: 2, kind: "hash", change: (b) => { b.proof += 1; } },
    { what: "a changed proof with its hash recomputed", position: 2, kind: "proof", change: (b) => { b.proof += 1; b.hash = computeBlockHash(b); } },
    { what: "a broken link", position: 4, kind: "link", change: (b) => { b.previousHash = "11".repeat(32); } },
    { what: "a skipped index", position: 4, kind: "index", change: (b) => { b.index += 1; } },
    { what: "a timestamp before its parent's", position: 4, kind: "timestamp", change: (b) => { b.timestamp = GENESIS_TIME - 1; } },
    { what: "a timestamp far in the future", position: 5, kind: "timestamp", change: (b) => { b.timestamp = GENESIS_TIME + 10 ** 6; } },
    { what: "an easier target", position: 1, kind: "target", change: (b) => { b.bits = 0x2000ffff; } },
    { what: "an inflated coinbase", position: 1, kind: "transactions", change: (b) => { b.transactions[0].amount = 5000; } },
    { what: "a second coinbase", position: 1, kind: "transactions", change: (b) => { b.transactions.push({ sender: "0", recipient: "m", amount: 50 }); } },
    { what: "a replaced genesis", position: 0, kind: "genesis", change: (b) => { b.timestamp += 1; b.hash = computeBlockHash(b); } },
  ];
  for (const t of tamperings) {
    it(`reports "${t.kind}" at the first invalid block for ${t.what}`, () => {
      const verdict = validate(tampered(chain, t.position, t.change));
      expect(verdict.valid).to.equal(false);
      if (verdict.valid) return;
      expect(verdict.kind).to.equal(t.kind);
      expect(verdict.position).to.equal(t.position);
      expect(verdict.reason).to.match(/^block \d+: /);
    });
  }

  it("catches a re-mined tampered block at the next block's link", () => {
    const blocks: Block[] = structuredClone([...chain.chain]);
    const victim = blocks[2];
    victim.transactions[1].amount = 999;
    const target = compactToTarget(victim.bits);
    for (victim.proof = 0; BigInt("0x" + computeBlockHash(victim)) > target; victim.proof++);
    victim.hash = computeBlockHash(victim);
    const verdict = validate(blocks);
    expect(verdict).to.include({ valid: false, position: 3, kind: "link" });
  });

  it("reports an empty chain", () => {
    expect(validate([])).to.include({ valid: false, kind: "genesis" });
  });
});
