import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { SortitionTreeHarness } from "../../../typechain-types";
import { seededRandom as prng } from "../../../oracle/src/prng";

const MAX_TOTAL_WEIGHT = 2n ** 32n - 1n;

async function deployFixture() {
  const tree = (await ethers.deployContract("SortitionTreeHarness")) as unknown as SortitionTreeHarness;
  return { tree };
}

/** A deterministic member address for index i (never the zero address). */
function memberAddress(i: number): string {
  return ethers.getAddress("0x" + (i + 1).toString(16).padStart(40, "0"));
}

/**
 * Independent model of the tree's observable layout: members own consecutive weight intervals in leaf-position
 * order; a removed member's position is reused by the next insert (last freed first).
 */
class IntervalModel {
  readonly positions: (string | null)[] = [];
  readonly weights = new Map<string, bigint>();
  private readonly free: number[] = [];

  set(member: string, weight: bigint): void {
    const old = this.weights.get(member) ?? 0n;
    if (old === 0n && weight > 0n) {
      const position = this.free.length > 0 ? this.free.pop()! : this.positions.length;
      this.positions[position] = member;
      this.weights.set(member, weight);
    } else if (old > 0n && weight === 0n) {
      const position = this.positions.indexOf(member);
      this.positions[position] = null;
      this.free.push(position);
      this.weights.delete(member);
    } else if (weight > 0n) {
      this.weights.set(member, weight);
    }
  }

  get total(): bigint {
    let sum = 0n;
    for (const w of this.weights.values()) sum += w;
    return sum;
  }

  /** [start, end) of every member in position order. */
  intervals(): { member: string; start: bigint; end: bigint }[] {
    const out: { member: string; start: bigint; end: bigint }[] = [];
    let start = 0n;
    for (const member of this.positions) {
      if (member === null) continue;
      const end = start + this.weights.get(member)!;
      out.push({ member, start, end });
      start = end;
    }
    return out;
  }
}

/** The library's bias-free uniform value: low bits under an all-ones mask, rehash on rejection. */
function uniform(seed: string, bound: bigint): { value: bigint; nextSeed: string } {
  let mask = bound - 1n;
  for (const shift of [1n, 2n, 4n, 8n, 16n]) mask |= mask >> shift;
  let current = seed;
  let value = BigInt(current) & mask;
  while (value >= bound) {
    current = ethers.keccak256(current);
    value = BigInt(current) & mask;
  }
  return { value, nextSeed: ethers.keccak256(current) };
}

/** Pearson's chi-square statistic of observed counts against expected probabilities. */
function chiSquare(observed: number[], probabilities: number[], draws: number): number {
  return observed.reduce((sum, count, i) => {
    const expected = probabilities[i] * draws;
    return sum + (count - expected) ** 2 / expected;
  }, 0);
}

async function insertAll(tree: SortitionTreeHarness, weights: bigint[], firstIndex = 0): Promise<string[]> {
  const members = weights.map((_, i) => memberAddress(firstIndex + i));
  await tree.setMany(members, weights);
  return members;
}

async function expectIntervals(tree: SortitionTreeHarness, model: IntervalModel, context: string): Promise<void> {
  for (const { member, start, end } of model.intervals()) {
    expect(await tree.pick(start), `${context}: pick(${start})`).to.equal(member);
    expect(await tree.pick(end - 1n), `${context}: pick(${end - 1n})`).to.equal(member);
  }
}

describe("SortitionTree", function () {
  describe("set, weightOf, totalWeight, memberCount", function () {
    it("inserts members and reports their weights, the total and the count", async function () {
      const { tree } = await loadFixture(deployFixture);
      const members = await insertAll(tree, [5n, 7n, 11n]);
      expect(await tree.weightOf(members[1])).to.equal(7n);
      expect(await tree.weightOf(memberAddress(99))).to.equal(0n);
      expect(await tree.totalWeight()).to.equal(23n);
      expect(await tree.memberCount()).to.equal(3n);
    });

    it("updates a weight up and down and moves the total by the difference", async function () {
      const { tree } = await loadFixture(deployFixture);
      const members = await insertAll(tree, [5n, 7n, 11n]);
      await tree.set(members[1], 100n);
      expect(await tree.totalWeight()).to.equal(116n);
      await tree.set(members[1], 2n);
      expect(await tree.weightOf(members[1])).to.equal(2n);
      expect(await tree.totalWeight()).to.equal(18n);
      expect(await tree.memberCount()).to.equal(3n);
      expect(await tree.pick(5n)).to.equal(members[1]);
      expect(await tree.pick(7n)).to.equal(members[2]);
    });

    it("removes a member when its weight is set to 0 and gives its leaf to the next new member", async function () {
      const { tree } = await loadFixture(deployFixture);
      const members = await insertAll(tree, [5n, 7n, 11n]);
      await tree.set(members[1], 0n);
      expect(await tree.weightOf(members[1])).to.equal(0n);
      expect(await tree.memberCount()).to.equal(2n);
      expect(await tree.totalWeight()).to.equal(16n);
      expect(await tree.pick(5n)).to.equal(members[2]);
      const newcomer = memberAddress(50);
      await tree.set(newcomer, 3n);
      // The newcomer took the freed position between members 0 and 2.
      expect(await tree.pick(5n)).to.equal(newcomer);
      expect(await tree.pick(8n)).to.equal(members[2]);
    });

    it("treats weight 0 for a non-member as a no-op", async function () {
      const { tree } = await loadFixture(deployFixture);
      await tree.set(memberAddress(1), 0n);
      expect(await tree.memberCount()).to.equal(0n);
      expect(await tree.totalWeight()).to.equal(0n);
    });

    it("accepts a single member holding the maximum total weight", async function () {
      const { tree } = await loadFixture(deployFixture);
      await tree.set(memberAddress(0), MAX_TOTAL_WEIGHT);
      expect(await tree.totalWeight()).to.equal(MAX_TOTAL_WEIGHT);
      expect(await tree.pick(MAX_TOTAL_WEIGHT - 1n)).to.equal(memberAddress(0));
      const [member] = await tree.draw(ethers.ZeroHash);
      expect(member).to.equal(memberAddress(0));
    });

    it("keeps every interval right while the tree grows through depths 0 to 3 and shrinks again", async function () {
      const { tree } = await loadFixture(deployFixture);
      const model = new IntervalModel();
      // 7, 56 and 448 leaves are the capacities of depths 0, 1 and 2; 460 members force depth 3.
      const weights = Array.from({ length: 460 }, (_, i) => BigInt(1 + ((i * 7919) % 97)));
      for (let first = 0; first < weights.length; first += 115) {
        const batch = weights.slice(first, first + 115);
        const members = await insertAll(tree, batch, first);
        members.forEach((m, i) => model.set(m, batch[i]));
      }
      expect(await tree.totalWeight()).to.equal(model.total);
      await expectIntervals(tree, model, "after growth");
      const removed = Array.from({ length: 460 }, (_, i) => i).filter((i) => i % 3 === 0);
      await tree.setMany(
        removed.map((i) => memberAddress(i)),
        removed.map(() => 0n)
      );
      removed.forEach((i) => model.set(memberAddress(i), 0n));
      expect(await tree.memberCount()).to.equal(BigInt(460 - removed.length));
      expect(await tree.totalWeight()).to.equal(model.total);
      await expectIntervals(tree, model, "after removals");
    });

    for (const seed of [1, 2, 3]) {
      it(`keeps totalWeight = Σ weights and the intervals of a model over random operations (seed ${seed})`, async function () {
        const { tree } = await loadFixture(deployFixture);
        const model = new IntervalModel();
        const random = prng(seed);
        try {
          for (let batch = 0; batch < 25; batch++) {
            const members: string[] = [];
            const weights: bigint[] = [];
            for (let op = 0; op < 20; op++) {
              const member = memberAddress(Math.floor(random() * 120));
              const roll = random();
              const weight =
                roll < 0.25
                  ? 0n
                  : roll < 0.3
                  ? BigInt(Math.floor(random() * 1e7))
                  : BigInt(1 + Math.floor(random() * 1000));
              members.push(member);
              weights.push(weight);
              model.set(member, weight);
            }
            await tree.setMany(members, weights);
            expect(await tree.totalWeight()).to.equal(model.total);
            expect(await tree.memberCount()).to.equal(BigInt(model.weights.size));
          }
          for (const [member, weight] of model.weights) expect(await tree.weightOf(member)).to.equal(weight);
          await expectIntervals(tree, model, "end");
        } catch (error) {
          console.error(`SortitionTree random operations failed with seed ${seed}`);
          throw error;
        }
      });
    }
  });

  describe("pick", function () {
    it("maps value 0, total - 1 and both edges of every interval to the owning member", async function () {
      const { tree } = await loadFixture(deployFixture);
      const weights = [3n, 1n, 4n, 1n, 5n, 9n, 2n, 6n, 5n, 3n];
      const model = new IntervalModel();
      const members = await insertAll(tree, weights);
      members.forEach((m, i) => model.set(m, weights[i]));
      expect(await tree.pick(0n)).to.equal(members[0]);
      expect(await tree.pick(model.total - 1n)).to.equal(members[members.length - 1]);
      await expectIntervals(tree, model, "edges");
    });

    it("reverts with the value and total when value >= totalWeight", async function () {
      const { tree } = await loadFixture(deployFixture);
      await insertAll(tree, [2n, 3n]);
      await expect(tree.pick(5n)).to.be.revertedWithCustomError(tree, "SortitionTreeValueOutOfRange").withArgs(5n, 5n);
    });
  });

  describe("draw and drawDistinct", function () {
    it("draws the member that owns the masked-and-rejected seed value and returns the next seed", async function () {
      const { tree } = await loadFixture(deployFixture);
      // Total 37: mask 63, so about 40 % of seeds are rejected at least once.
      const weights = [10n, 20n, 7n];
      const model = new IntervalModel();
      const members = await insertAll(tree, weights);
      members.forEach((m, i) => model.set(m, weights[i]));
      for (let i = 0; i < 20; i++) {
        const seed = ethers.keccak256(ethers.toUtf8Bytes(`draw ${i}`));
        const { value, nextSeed } = uniform(seed, model.total);
        const owner = model.intervals().find((iv) => value >= iv.start && value < iv.end)!.member;
        const [member, returnedSeed] = await tree.draw(seed);
        expect(member).to.equal(owner);
        expect(returnedSeed).to.equal(nextSeed);
      }
    });

    it("returns k distinct members, all of them when k = memberCount, and draw's member first", async function () {
      const { tree } = await loadFixture(deployFixture);
      const members = await insertAll(tree, [1n, 50n, 2n, 30n, 5n, 8n, 13n, 21n, 34n]);
      for (let i = 0; i < 10; i++) {
        const seed = ethers.keccak256(ethers.toUtf8Bytes(`committee ${i}`));
        const committee = await tree.drawDistinct(seed, 4n);
        expect(new Set(committee).size).to.equal(4);
        expect(committee[0]).to.equal((await tree.draw(seed))[0]);
        const everyone = await tree.drawDistinct(seed, 9n);
        expect([...everyone].sort()).to.deep.equal([...members].sort());
      }
      expect(await tree.drawDistinct(ethers.ZeroHash, 0n)).to.deep.equal([]);
    });

    it("reverts with k and the member count when k > memberCount", async function () {
      const { tree } = await loadFixture(deployFixture);
      await insertAll(tree, [1n, 2n, 3n]);
      await expect(tree.drawDistinct(ethers.ZeroHash, 4n))
        .to.be.revertedWithCustomError(tree, "SortitionTreeCommitteeTooLarge")
        .withArgs(4n, 3n);
    });

    it("reverts a draw on an empty tree", async function () {
      const { tree } = await loadFixture(deployFixture);
      await expect(tree.draw(ethers.ZeroHash)).to.be.revertedWithCustomError(tree, "SortitionTreeEmpty");
      await tree.set(memberAddress(0), 4n);
      await tree.set(memberAddress(0), 0n);
      await expect(tree.draw(ethers.ZeroHash)).to.be.revertedWithCustomError(tree, "SortitionTreeEmpty");
    });

    it("never draws a member whose weight was set to 0", async function () {
      const { tree } = await loadFixture(deployFixture);
      const members = await insertAll(tree, [40n, 1000n, 25n, 60n]);
      await tree.set(members[1], 0n);
      const drawn = await tree.drawMany(ethers.id("zero weight"), 1000n);
      expect(drawn).to.not.include(members[1]);
      expect(new Set(drawn).size).to.equal(3);
      const committees = await tree.drawDistinctMany(ethers.id("zero weight committees"), 3n, 100n);
      expect(committees).to.not.include(members[1]);
    });
  });

  describe("errors", function () {
    it("reverts set for the zero address", async function () {
      const { tree } = await loadFixture(deployFixture);
      await expect(tree.set(ethers.ZeroAddress, 1n)).to.be.revertedWithCustomError(
        tree,
        "SortitionTreeZeroAddressMember"
      );
    });

    it("reverts a weight above 2^32 - 1 with the member, weight and maximum", async function () {
      const { tree } = await loadFixture(deployFixture);
      await expect(tree.set(memberAddress(0), MAX_TOTAL_WEIGHT + 1n))
        .to.be.revertedWithCustomError(tree, "SortitionTreeWeightOverflow")
        .withArgs(memberAddress(0), MAX_TOTAL_WEIGHT + 1n, MAX_TOTAL_WEIGHT);
    });

    it("reverts an insert or increase that pushes the total above 2^32 - 1 with the new total", async function () {
      const { tree } = await loadFixture(deployFixture);
      await tree.set(memberAddress(0), MAX_TOTAL_WEIGHT - 10n);
      await tree.set(memberAddress(1), 5n);
      await expect(tree.set(memberAddress(2), 6n))
        .to.be.revertedWithCustomError(tree, "SortitionTreeTotalWeightOverflow")
        .withArgs(memberAddress(2), MAX_TOTAL_WEIGHT + 1n, MAX_TOTAL_WEIGHT);
      await expect(tree.set(memberAddress(1), 11n))
        .to.be.revertedWithCustomError(tree, "SortitionTreeTotalWeightOverflow")
        .withArgs(memberAddress(1), MAX_TOTAL_WEIGHT + 1n, MAX_TOTAL_WEIGHT);
      await tree.set(memberAddress(1), 10n);
      expect(await tree.totalWeight()).to.equal(MAX_TOTAL_WEIGHT);
    });
  });

  describe("statistics", function () {
    // Fixed seeds make the outcome deterministic; the thresholds are the chi-square critical values at
    // significance 0.001, so a correct sampler passes them with overwhelming probability for any seed.
    const weights = [1n, 2n, 3n, 5n, 8n, 13n, 21n, 47n]; // total 100
    const CRITICAL_DF7_P001 = 24.322;

    it("draws members with frequencies matching their weight shares (chi-square, 7 df, p = 0.001)", async function () {
      const { tree } = await loadFixture(deployFixture);
      const members = await insertAll(tree, weights);
      const total = Number(weights.reduce((a, b) => a + b, 0n));
      for (const label of ["alpha", "beta"]) {
        const counts = new Array<number>(members.length).fill(0);
        let seed = ethers.id(`statistics ${label}`);
        const draws = 4_000;
        for (let chunk = 0; chunk < draws / 2_000; chunk++) {
          const drawn = await tree.drawMany(seed, 2_000n);
          for (const member of drawn) counts[members.indexOf(member)]++;
          seed = ethers.keccak256(seed + chunk.toString(16).padStart(2, "0"));
        }
        const statistic = chiSquare(
          counts,
          weights.map((w) => Number(w) / total),
          draws
        );
        expect(statistic, `seed label ${label}, counts ${counts.join(",")}`).to.be.below(CRITICAL_DF7_P001);
      }
    });

    it("draws the second committee member with the sequential-sampling probabilities (chi-square, 7 df)", async function () {
      const { tree } = await loadFixture(deployFixture);
      const members = await insertAll(tree, weights);
      const w = weights.map(Number);
      const total = w.reduce((a, b) => a + b, 0);
      // P(second = j) = Σ_{i≠j} (w_i / W) · (w_j / (W − w_i)).
      const probabilities = w.map((wj, j) =>
        w.reduce((sum, wi, i) => (i === j ? sum : sum + (wi / total) * (wj / (total - wi))), 0)
      );
      const counts = new Array<number>(members.length).fill(0);
      const committees = 4_000;
      let seed = ethers.id("statistics committee");
      for (let chunk = 0; chunk < committees / 1_000; chunk++) {
        const flat = await tree.drawDistinctMany(seed, 2n, 1_000n);
        for (let i = 1; i < flat.length; i += 2) counts[members.indexOf(flat[i])]++;
        seed = ethers.keccak256(seed + chunk.toString(16).padStart(2, "0"));
      }
      const statistic = chiSquare(counts, probabilities, committees);
      expect(statistic, `counts ${counts.join(",")}`).to.be.below(CRITICAL_DF7_P001);
    });
  });
});
