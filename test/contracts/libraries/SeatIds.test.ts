import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { SeatIdsHarness } from "../../../typechain-types";

const MAX_ID = 2 ** 24 - 1;

async function deployFixture() {
  const seatIds = (await ethers.deployContract("SeatIdsHarness")) as unknown as SeatIdsHarness;
  return { seatIds };
}

describe("SeatIds", () => {
  it("places seat s at bits 32(s-1) .. 32(s-1)+23", async () => {
    const { seatIds } = await loadFixture(deployFixture);
    const ids = [1, 2, 3, 4, 5, 6, 7];
    const expected = ids.reduce((word, id, i) => word | (BigInt(id) << BigInt(32 * i)), 0n);
    expect(await seatIds.pack(ids)).to.equal(expected);
  });

  it("reads back every id of a full committee, the largest id included", async () => {
    const { seatIds } = await loadFixture(deployFixture);
    const ids = [MAX_ID, 1, MAX_ID - 1, 70_000, MAX_ID, 2, 123_456];
    const packed = await seatIds.pack(ids);
    for (let seat = 1; seat <= ids.length; seat++) {
      expect(await seatIds.idAt(packed, seat)).to.equal(ids[seat - 1]);
    }
  });

  it("reads zero for a seat past the packed ones", async () => {
    const { seatIds } = await loadFixture(deployFixture);
    const packed = await seatIds.pack([MAX_ID, MAX_ID]);
    expect(await seatIds.idAt(packed, 3)).to.equal(0);
    expect(await seatIds.idAt(packed, 7)).to.equal(0);
  });
});
