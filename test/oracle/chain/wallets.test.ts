import { expect } from "chai";
import { ethers, network } from "hardhat";
import { Wallet, parseEther, toQuantity } from "ethers";
import { ANCHOR_GAS_LIMIT, createWalletMonitor } from "../../../oracle/src/chain/wallets";
import { readMetricByLabel } from "../../../oracle/src/metrics";
import { createTestCommon } from "../store/fixtures";

async function setBalance(address: string, wei: bigint) {
  await network.provider.send("hardhat_setBalance", [address, toQuantity(wei)]);
}

describe("wallet monitor", function () {
  it("reports each key's balance as a metric and the keys below the reserve", async function () {
    const rich = Wallet.createRandom().address;
    const poor = Wallet.createRandom().address;
    await setBalance(rich, parseEther("2"));
    await setBalance(poor, parseEther("0.01"));
    const common = createTestCommon();
    const wallets = createWalletMonitor(common, { provider: ethers.provider, addresses: [rich, poor], reserveWei: parseEther("0.05") });
    expect(wallets.belowReserve(), "nothing known before the first read").to.deep.equal([]);
    await wallets.refresh();
    expect(wallets.belowReserve()).to.deep.equal([poor]);
    expect(wallets.balance(rich)).to.equal(parseEther("2"));
    expect(await readMetricByLabel(common.metrics.walletBalanceEther, "address")).to.deep.equal({ [rich]: 2, [poor]: 0.01 });
    await setBalance(poor, parseEther("1"));
    await wallets.refresh();
    expect(wallets.belowReserve()).to.deep.equal([]);
  });

  it("refuses spending that would leave less than the reserve after the worst-case gas fee", async function () {
    const key = Wallet.createRandom().address;
    const common = createTestCommon();
    const reserve = parseEther("0.05");
    const wallets = createWalletMonitor(common, { provider: ethers.provider, addresses: [key], reserveWei: reserve });
    const fees = await ethers.provider.getFeeData();
    const worstFee = ANCHOR_GAS_LIMIT * (fees.maxFeePerGas ?? fees.gasPrice ?? 0n);
    expect(worstFee).to.be.greaterThan(0n);
    await setBalance(key, reserve + worstFee / 2n);
    expect(await wallets.refuseSpend(key, ANCHOR_GAS_LIMIT)).to.match(/is below the reserve of 0\.05 ETH$/);
    await setBalance(key, reserve + worstFee * 2n);
    expect(await wallets.refuseSpend(key, ANCHOR_GAS_LIMIT)).to.equal(undefined);
  });
});
