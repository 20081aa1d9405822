import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

async function deployFixture() {
  const [owner, alice] = await ethers.getSigners();
  const token = await ethers.deployContract("DemoToken");
  return { token, owner, alice };
}

describe("DemoToken", function () {
  it("mints to any address and reports the new balance", async function () {
    const { token, alice } = await loadFixture(deployFixture);
    await token.mint(alice.address, 1234n);
    expect(await token.balanceOf(alice.address)).to.equal(1234n);
    expect(await token.totalSupply()).to.equal(1234n);
  });
});
