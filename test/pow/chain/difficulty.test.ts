import { expect } from "chai";
import type { Block } from "../../../pow/src/chain/block";
import { Blockchain } from "../../../pow/src/chain/blockchain";
import { chainConfig } from "../../../pow/src/chain/chainConfig";
import { compactToTarget, leadingZeroBits } from "../../../pow/src/chain/target";
import { validateChain } from "../../../pow/src/chain/validation";
import { WasmSimdScanner } from "../../../pow/src/mining/nonceScanner";

const GENESIS_TIME = 1_700_000_000;

/** Mines `count` blocks `spacing` seconds apart with retargeting every 4 blocks toward 600 s. */
function mineSpaced(spacing: number, count: number): Blockchain {
  let now = GENESIS_TIME;
  const chain = new Blockchain(
    { difficultyBits: 8, retargetInterval: 4, targetBlockTime: 600, minDifficultyBits: 6 },
    { genesisTime: GENESIS_TIME, clock: () => now },
  );
  const scanner = new WasmSimdScanner();
  for (let i = 0; i < count; i++) {
    now += spacing;
    chain.mineWith(scanner, "m");
  }
  return chain;
}

const zeroBitsOfTarget = (block: Block) => leadingZeroBits(compactToTarget(block.bits));

describe("pow/chain/difficulty", () => {
  it("keeps the difficulty until the first retarget", () => {
    const chain = mineSpaced(60, 3);
    expect(chain.chain.map(zeroBitsOfTarget)).to.deep.equal([8, 8, 8, 8]);
  });

  it("makes the target harder when blocks come faster than the target time (at most ×4 per period)", () => {
    const chain = mineSpaced(300, 5); // 2× too fast: target halves, one more zero bit
    expect(chain.chain.map(zeroBitsOfTarget)).to.deep.equal([8, 8, 8, 8, 9, 9]);
    const clamped = mineSpaced(1, 5); // 600× too fast: clamped at ÷4, two more zero bits
    expect(clamped.chain.map(zeroBitsOfTarget)).to.deep.equal([8, 8, 8, 8, 10, 10]);
    expect(clamped.validate().valid).to.equal(true);
  });

  it("makes the target easier when blocks are slow, but never easier than the pow limit", () => {
    const chain = mineSpaced(6000, 9); // 10× too slow: ×4 per period, capped at k = 6
    expect(chain.chain.map(zeroBitsOfTarget)).to.deep.equal([8, 8, 8, 8, 6, 6, 6, 6, 6, 6]);
    expect(chain.validate().valid).to.equal(true);
  });

  it("rejects a block that ignores a due retarget", () => {
    const chain = mineSpaced(300, 5);
    const blocks: Block[] = structuredClone([...chain.chain]);
    blocks[4].bits = blocks[3].bits;
    const verdict = validateChain(blocks, chain.config, { genesisHash: chain.genesisHash, now: GENESIS_TIME + 10_000 });
    expect(verdict).to.include({ valid: false, position: 4, kind: "target" });
  });

  it("rejects a retarget interval of 1 and k out of range in the configuration", () => {
    expect(() => chainConfig({ retargetInterval: 1 })).to.throw(/retargetInterval/);
    expect(() => chainConfig({ difficultyBits: 300 })).to.throw();
  });
});
