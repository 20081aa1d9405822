import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { SortitionTreeHarness } from "../../../typechain-types";
import { MAX_TOTAL_WEIGHT, SortitionTree, SortitionTreeError } from "../../../pow/src/pos/sortitionTree";
import { seededRandom as prng } from "../../../oracle/src/prng";

async function deployFixture() {
  const harness = (await ethers.deployContract("SortitionTreeHarness")) as unknown as SortitionTreeHarness;
  return { harness };
}

function memberAddress(i: number): string {
  return ethers.getAddress(ethers.dataSlice(ethers.id(`cross-check member ${i}`), 12));
}

/** Applies the same random set() sequence to the harness (in batches) and to the TypeScript port. */
async function buildBoth(harness: SortitionTreeHarness, seed: number, operations: number, population: number) {
  const random = prng(seed);
  const port = new SortitionTree();
  for (let done = 0; done < operations; done += 100) {
    const members: string[] = [];
    const weights: bigint[] = [];
    for (let op = done; op < Math.min(operations, done + 100); op++) {
      const member = memberAddress(Math.floor(random() * population));
      const weight = random() < 0.2 ? 0n : BigInt(1 + Math.floor(random() * (random() < 0.1 ? 5e6 : 1000)));
      members.push(member);
      weights.push(weight);
      port.set(member, weight);
    }
    await harness.setMany(members, weights);
  }
  return { port, random };
}

describe("pow/pos/sortitionTree (TypeScript port of SortitionTree.sol)", function () {
  for (const [seed, operations, population] of [
    [11, 300, 40],
    [12, 1_200, 600],
    [13, 2_000, 150],
  ] as const) {
    it(`matches the Solidity library on pick, draw and drawDistinct (seed ${seed}, ${operations} sets)`, async function () {
      const { harness } = await loadFixture(deployFixture);
      try {
        const { port, random } = await buildBoth(harness, seed, operations, population);
        const total = port.totalWeight();
        expect(await harness.totalWeight()).to.equal(total);
        expect(await harness.memberCount()).to.equal(port.memberCount());
        for (let i = 0; i < population; i += 7) {
          expect(await harness.weightOf(memberAddress(i))).to.equal(port.weightOf(memberAddress(i)));
        }

        const values = [0n, total - 1n];
        for (let i = 0; i < 300; i++) values.push(BigInt(Math.floor(random() * Number(total))));
        expect(await harness.pickMany(values)).to.deep.equal(values.map((v) => port.pick(v)));

        const start = ethers.id(`cross-check draws ${seed}`);
        const expectedDraws: string[] = [];
        let current = start;
        for (let i = 0; i < 300; i++) {
          const { member, nextSeed } = port.draw(current);
          expectedDraws.push(member);
          current = nextSeed;
        }
        expect(await harness.drawMany(start, 300n)).to.deep.equal(expectedDraws);
        const [lastMember, lastSeed] = await harness.draw(current);
        const lastPort = port.draw(current);
        expect([lastMember, lastSeed]).to.deep.equal([lastPort.member, lastPort.nextSeed]);

        const members = Number(port.memberCount());
        for (const k of [1, 3, Math.min(10, members), Math.min(40, members)]) {
          for (let i = 0; i < 3; i++) {
            const committeeSeed = ethers.id(`committee ${seed} ${k} ${i}`);
            expect(await harness.drawDistinct(committeeSeed, BigInt(k))).to.deep.equal(
              port.drawDistinct(committeeSeed, k)
            );
          }
        }
      } catch (error) {
        console.error(`sortitionTree cross-check failed with seed ${seed}`);
        throw error;
      }
    });
  }

  it("raises the library's errors with the same values", function () {
    const port = new SortitionTree();
    const member = memberAddress(1);
    const expectError = (action: () => unknown, name: string, args: unknown[]) => {
      try {
        action();
      } catch (error) {
        expect(error).to.be.instanceOf(SortitionTreeError);
        expect((error as SortitionTreeError).errorName).to.equal(name);
        expect((error as SortitionTreeError).args).to.deep.equal(args);
        return;
      }
      expect.fail(`expected ${name}`);
    };
    expectError(() => port.draw(ethers.ZeroHash), "SortitionTreeEmpty", []);
    expectError(() => port.set(ethers.ZeroAddress, 1n), "SortitionTreeZeroAddressMember", []);
    expectError(() => port.set(member, MAX_TOTAL_WEIGHT + 1n), "SortitionTreeWeightOverflow", [
      member,
      MAX_TOTAL_WEIGHT + 1n,
      MAX_TOTAL_WEIGHT,
    ]);
    port.set(member, MAX_TOTAL_WEIGHT);
    expectError(() => port.set(memberAddress(2), 1n), "SortitionTreeTotalWeightOverflow", [
      memberAddress(2),
      MAX_TOTAL_WEIGHT + 1n,
      MAX_TOTAL_WEIGHT,
    ]);
    expectError(() => port.pick(MAX_TOTAL_WEIGHT), "SortitionTreeValueOutOfRange", [
      MAX_TOTAL_WEIGHT,
      MAX_TOTAL_WEIGHT,
    ]);
    expectError(() => port.drawDistinct(ethers.ZeroHash, 2), "SortitionTreeCommitteeTooLarge", [2n, 1n]);
    expect(() => port.draw("0x1234")).to.throw(RangeError);
  });

  it("accepts plain string ids for simulations", function () {
    const port = new SortitionTree();
    port.set("validator-a", 3n);
    port.set("validator-b", 1n);
    expect(port.pick(2n)).to.equal("validator-a");
    expect(port.pick(3n)).to.equal("validator-b");
    expect(port.drawDistinct(ethers.id("ids"), 2).sort()).to.deep.equal(["validator-a", "validator-b"]);
  });
});
