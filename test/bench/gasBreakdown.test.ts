import { expect } from "chai";
import { ethers, network } from "hardhat";
import { breakdownFromTrace, gasBreakdown, type GasBreakdown } from "../../bench/gasBreakdown";
import { deploySystem, MINIMUM_STAKE } from "../contracts/fixtures";

/** EIP-2028 calldata price, counted from the transaction's own bytes. */
function calldataGas(data: string): number {
  const bytes = ethers.getBytes(data);
  return bytes.reduce((sum, b) => sum + (b === 0 ? 4 : 16), 0);
}

function parts(b: GasBreakdown): number {
  return b.base + b.calldata + b.newSlots.gas + b.otherSstore + b.sload + b.logs + b.calls + b.otherExecution + b.refund;
}

describe("bench/gasBreakdown (where a transaction's gas goes, from its opcode trace)", function () {
  it("counts a first mint's two new slots (balance, total supply) and prices calldata by the transaction's bytes", async function () {
    const [, holder] = await ethers.getSigners();
    const token = await ethers.deployContract("DemoToken");
    const fresh = ethers.Wallet.createRandom().address;
    const first = await (await token.mint(fresh, 5n)).wait();
    const b = await gasBreakdown(network.provider, first!.hash);
    expect(b.gasUsed).to.equal(Number(first!.gasUsed));
    expect(b.calldata).to.equal(calldataGas((await ethers.provider.getTransaction(first!.hash))!.data));
    // 20,000 each: the token reads both slots first, so the cold access (2,100) is in the reads
    expect(b.newSlots).to.deep.equal({ count: 2, gas: 2 * 20_000 });
    expect(b.sload).to.be.at.least(2 * 2_100);
    expect(b.refund).to.equal(0);
    expect(b.logs).to.be.greaterThan(0); // Transfer
    expect(parts(b)).to.equal(b.gasUsed);

    await (await token.mint(holder.address, 1n)).wait();
    const again = await (await token.mint(holder.address, 1n)).wait();
    const warm = await gasBreakdown(network.provider, again!.hash);
    expect(warm.newSlots.count).to.equal(0);
    expect(warm.otherSstore).to.equal(2 * 2_900); // non-zero to non-zero, slot already read (warm)
  });

  it("charges a call to another contract its own cost only: the callee's storage and logs are counted as such", async function () {
    const sys = await deploySystem({ validatorCount: 0 });
    const [, , , , , v] = await ethers.getSigners();
    await sys.token.mint(v.address, MINIMUM_STAKE);
    await sys.token.connect(v).approve(await sys.registry.getAddress(), MINIMUM_STAKE);
    const receipt = await (await sys.registry.connect(v).stake(MINIMUM_STAKE, "http://127.0.0.1:1")).wait();
    const b = await gasBreakdown(network.provider, receipt!.hash);
    // transferFrom: one cold CALL into the token (2,600 for the account) plus little more; its SSTOREs are storage
    expect(b.calls).to.be.within(2_600, 2_600 + 1_000);
    expect(b.newSlots.count).to.be.greaterThan(0);
    expect(parts(b)).to.equal(b.gasUsed);
  });

  it("takes a nested call's callee out of its caller's call cost, once", function () {
    const steps = [
      { op: "PUSH1", gas: 1000, depth: 1 },
      { op: "CALL", gas: 997, depth: 1 }, // total 997 - 300 = 697; callee top level 10 + 400 + 0
      { op: "SLOAD", gas: 900, depth: 2 }, // 10
      { op: "STATICCALL", gas: 890, depth: 2 }, // total 890 - 490 = 400; its callee 50
      { op: "SSTORE", gas: 700, depth: 3 }, // 50
      { op: "RETURN", gas: 650, depth: 3 }, // 0
      { op: "RETURN", gas: 490, depth: 2 }, // 0
      { op: "STOP", gas: 300, depth: 1 }, // last: 0
    ];
    const b = breakdownFromTrace(steps, 22_000, 21_000 + 3 + 697);
    expect(b.calldata).to.equal(0);
    expect(b.sload).to.equal(10);
    expect(b.otherSstore).to.equal(50);
    expect(b.calls).to.equal(697 - 410 + (400 - 50));
    expect(b.otherExecution).to.equal(3);
    expect(b.refund).to.equal(0);
  });
});
