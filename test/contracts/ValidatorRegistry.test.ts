import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { MINIMUM_STAKE, UNBONDING_PERIOD, UNIT, deploySystem, drawCommittee, requestChat, stakeAs } from "./fixtures";

async function deployFixture() {
  return deploySystem({ validatorCount: 3 });
}

describe("ValidatorRegistry", function () {
  describe("deployment", function () {
    it("reverts on a zero token, treasury or admin, a zero unit and a too long unbonding period", async function () {
      const { token, registry, treasury, owner } = await loadFixture(deployFixture);
      const factory = await ethers.getContractFactory("ValidatorRegistry");
      const t = await token.getAddress();
      await expect(factory.deploy(ethers.ZeroAddress, UNIT, MINIMUM_STAKE, 1, treasury.address, owner.address))
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryZeroAddress");
      await expect(factory.deploy(t, UNIT, MINIMUM_STAKE, 1, ethers.ZeroAddress, owner.address))
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryZeroAddress");
      await expect(factory.deploy(t, UNIT, MINIMUM_STAKE, 1, treasury.address, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryZeroAddress");
      await expect(factory.deploy(t, 0, MINIMUM_STAKE, 1, treasury.address, owner.address))
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryZeroAmount");
      const tooLong = 366n * 24n * 3600n;
      await expect(factory.deploy(t, UNIT, MINIMUM_STAKE, tooLong, treasury.address, owner.address))
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryUnbondingPeriodTooLong")
        .withArgs(tooLong, 365n * 24n * 3600n);
    });
  });

  describe("stake", function () {
    it("adds stake, sets the endpoint, puts the validator in the pool and pulls the tokens", async function () {
      const { token, registry, outsider } = await loadFixture(deployFixture);
      const before = await registry.totalStake();
      await token.mint(outsider.address, 300n * UNIT);
      await token.connect(outsider).approve(await registry.getAddress(), 300n * UNIT);
      await expect(registry.connect(outsider).stake(200n * UNIT, "https://node.example"))
        .to.emit(registry, "ValidatorStaked").withArgs(outsider.address, 200n * UNIT, 200n * UNIT)
        .and.to.emit(registry, "EndpointUpdated").withArgs(outsider.address, "https://node.example");
      await expect(registry.connect(outsider).stake(100n * UNIT, ""))
        .to.emit(registry, "ValidatorStaked").withArgs(outsider.address, 100n * UNIT, 300n * UNIT)
        .and.not.to.emit(registry, "EndpointUpdated");
      expect(await registry.stakeOf(outsider.address)).to.equal(300n * UNIT);
      expect(await registry.weightOf(outsider.address)).to.equal(300n);
      expect(await registry.totalStake()).to.equal(before + 300n * UNIT);
      expect(await registry.totalWeight()).to.equal((before + 300n * UNIT) / UNIT);
      expect(await token.balanceOf(await registry.getAddress())).to.equal(before + 300n * UNIT);
      expect(await registry.isActive(outsider.address)).to.equal(true);
      expect(await registry.validatorCount()).to.equal(4n);
      expect(await registry.validatorAt(3)).to.equal(outsider.address);
      const info = await registry.validatorInfo(outsider.address);
      expect(info.endpoint).to.equal("https://node.example");
    });

    it("reverts when the stake is below the minimum", async function () {
      const { registry, outsider } = await loadFixture(deployFixture);
      await expect(registry.connect(outsider).stake(99n * UNIT, ""))
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryInsufficientStake")
        .withArgs(outsider.address, 99n * UNIT, MINIMUM_STAKE);
    });

    it("reverts on zero, fractional-unit amounts and too long endpoints", async function () {
      const { registry, outsider } = await loadFixture(deployFixture);
      await expect(registry.connect(outsider).stake(0, "")).to.be.revertedWithCustomError(registry, "ValidatorRegistryZeroAmount");
      await expect(registry.connect(outsider).stake(UNIT * 100n + 1n, ""))
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryAmountNotWholeUnits")
        .withArgs(UNIT * 100n + 1n, UNIT);
      await expect(registry.connect(outsider).setEndpoint("x".repeat(257)))
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryEndpointTooLong")
        .withArgs(257, 256);
    });

    it("blocks a token that reenters during the transfer", async function () {
      const { registry, owner, treasury, outsider } = await loadFixture(deployFixture);
      const evil = await ethers.deployContract("ReentrantToken");
      const victim = await ethers.deployContract("ValidatorRegistry", [
        await evil.getAddress(), UNIT, MINIMUM_STAKE, UNBONDING_PERIOD, treasury.address, owner.address,
      ]);
      await evil.mint(outsider.address, 1000n * UNIT);
      await evil.connect(outsider).approve(await victim.getAddress(), 1000n * UNIT);
      await evil.arm(await victim.getAddress(), victim.interface.encodeFunctionData("withdraw"));
      await expect(victim.connect(outsider).stake(200n * UNIT, ""))
        .to.be.revertedWithCustomError(registry, "ReentrancyGuardReentrantCall");
      expect(await victim.totalStake()).to.equal(0n);
    });

    it("blocks stake, requestUnstake, slash and sweepSlashed when the token reenters them", async function () {
      const { owner, treasury, outsider } = await loadFixture(deployFixture);
      const evil = await ethers.deployContract("ReentrantToken");
      const victim = await ethers.deployContract("ValidatorRegistry", [
        await evil.getAddress(), UNIT, MINIMUM_STAKE, UNBONDING_PERIOD, treasury.address, owner.address,
      ]);
      // The token holds the slasher role, so a reentrant slash gets past the role check to the reentrancy guard.
      await victim.grantRole(await victim.SLASHER_ROLE(), await evil.getAddress());
      await evil.mint(outsider.address, 1000n * UNIT);
      await evil.connect(outsider).approve(await victim.getAddress(), 1000n * UNIT);
      const payloads = [
        victim.interface.encodeFunctionData("stake", [100n * UNIT, ""]),
        victim.interface.encodeFunctionData("requestUnstake", [100n * UNIT]),
        victim.interface.encodeFunctionData("slash", [outsider.address, UNIT]),
        victim.interface.encodeFunctionData("sweepSlashed"),
      ];
      for (const payload of payloads) {
        await evil.arm(await victim.getAddress(), payload);
        await expect(victim.connect(outsider).stake(200n * UNIT, ""))
          .to.be.revertedWithCustomError(victim, "ReentrancyGuardReentrantCall");
      }
      expect(await victim.totalStake()).to.equal(0n);
      expect(await evil.balanceOf(outsider.address)).to.equal(1000n * UNIT);
    });
  });

  describe("unstake and withdraw", function () {
    it("leaves the pool at once and pays out only after the unbonding period", async function () {
      const { token, registry, validators } = await loadFixture(deployFixture);
      const [v] = validators;
      // Block timestamps are pinned: the unlock time counts from the block that includes the request.
      const requestedAt = BigInt(await time.latest()) + 10n;
      const unlockAt = requestedAt + UNBONDING_PERIOD;
      await time.setNextBlockTimestamp(requestedAt);
      await expect(registry.connect(v).requestUnstake(1000n * UNIT))
        .to.emit(registry, "UnstakeRequested").withArgs(v.address, 1000n * UNIT, 0n, unlockAt);
      expect(await registry.weightOf(v.address)).to.equal(0n);
      expect(await registry.activeValidatorCount()).to.equal(2n);
      expect(await registry.totalUnbonding()).to.equal(1000n * UNIT);
      await time.setNextBlockTimestamp(requestedAt + 1n);
      await expect(registry.connect(v).withdraw())
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryStillUnbonding")
        .withArgs(v.address, unlockAt, requestedAt + 1n);
      await time.increaseTo(unlockAt);
      await expect(registry.connect(v).withdraw()).to.emit(registry, "StakeWithdrawn").withArgs(v.address, 1000n * UNIT);
      expect(await token.balanceOf(v.address)).to.equal(1000n * UNIT);
      await expect(registry.connect(v).withdraw())
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryNothingToWithdraw").withArgs(v.address);
    });

    it("reverts when unstaking more than the stake or leaving less than the minimum", async function () {
      const { registry, validators } = await loadFixture(deployFixture);
      const [v] = validators;
      await expect(registry.connect(v).requestUnstake(1001n * UNIT))
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryUnstakeExceedsStake")
        .withArgs(v.address, 1001n * UNIT, 1000n * UNIT);
      await expect(registry.connect(v).requestUnstake(950n * UNIT))
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryInsufficientStake")
        .withArgs(v.address, 50n * UNIT, MINIMUM_STAKE);
      await registry.connect(v).requestUnstake(400n * UNIT);
      expect(await registry.stakeOf(v.address)).to.equal(600n * UNIT);
      expect(await registry.weightOf(v.address)).to.equal(600n);
    });
  });

  describe("stake lock", function () {
    it("lets only the admin name the stake lock, with an event", async function () {
      const { registry, chat, outsider } = await loadFixture(deployFixture);
      expect(await registry.stakeLock()).to.equal(await chat.getAddress());
      await expect(registry.connect(outsider).setStakeLock(outsider.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, await registry.DEFAULT_ADMIN_ROLE());
      expect(await registry.stakeLock()).to.equal(await chat.getAddress());
      await expect(registry.setStakeLock(ethers.ZeroAddress)).to.emit(registry, "StakeLockUpdated").withArgs(ethers.ZeroAddress);
      expect(await registry.stakeLock()).to.equal(ethers.ZeroAddress);
    });

    it("refuses the withdrawal of a seated validator until its lock has passed, whatever the unbonding period", async function () {
      const sys = await loadFixture(deployFixture);
      const { registry, chat } = sys;
      const [member] = await drawCommittee(sys, await requestChat(sys));
      await registry.setUnbondingPeriod(0);
      await registry.connect(member).requestUnstake(1000n * UNIT);
      const lockedUntil = await chat.stakeLockedUntil(member.address);
      expect(lockedUntil).to.be.greaterThan(BigInt(await time.latest()));
      await time.setNextBlockTimestamp(lockedUntil);
      await expect(registry.connect(member).withdraw())
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryStakeLocked").withArgs(member.address, lockedUntil, lockedUntil);
      expect((await registry.validatorInfo(member.address)).unbonding).to.equal(1000n * UNIT);
      await expect(registry.connect(member).withdraw()).to.emit(registry, "StakeWithdrawn").withArgs(member.address, 1000n * UNIT);
    });

    it("stops holding stake once the admin removes the lock", async function () {
      const sys = await loadFixture(deployFixture);
      const { registry } = sys;
      const [member] = await drawCommittee(sys, await requestChat(sys));
      await registry.setUnbondingPeriod(0);
      await registry.connect(member).requestUnstake(1000n * UNIT);
      await expect(registry.connect(member).withdraw()).to.be.revertedWithCustomError(registry, "ValidatorRegistryStakeLocked");
      await registry.setStakeLock(ethers.ZeroAddress);
      await expect(registry.connect(member).withdraw()).to.emit(registry, "StakeWithdrawn").withArgs(member.address, 1000n * UNIT);
    });
  });

  describe("slash", function () {
    it("is only for the slasher role", async function () {
      const { registry, outsider, validators } = await loadFixture(deployFixture);
      await expect(registry.connect(outsider).slash(validators[0].address, UNIT))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, await registry.SLASHER_ROLE());
    });

    it("takes active stake first, then unbonding, and ejects an under-minimum remainder", async function () {
      const { registry, slasher, validators } = await loadFixture(deployFixture);
      const [v] = validators;
      await registry.connect(v).requestUnstake(850n * UNIT); // 150 active, 850 unbonding
      await expect(registry.connect(slasher).slash(v.address, 100n * UNIT))
        .to.emit(registry, "ValidatorSlashed").withArgs(v.address, slasher.address, 100n * UNIT, 0n, 900n * UNIT);
      expect(await registry.weightOf(v.address)).to.equal(0n); // 50 left < minimum: moved to unbonding
      await expect(registry.connect(slasher).slash(v.address, 1000n * UNIT))
        .to.emit(registry, "ValidatorSlashed").withArgs(v.address, slasher.address, 900n * UNIT, 0n, 0n);
      expect(await registry.slashedBalance()).to.equal(1000n * UNIT);
      expect(await registry.connect(slasher).slash.staticCall(v.address, UNIT)).to.equal(0n);
      await expect(registry.connect(slasher).slash(v.address, UNIT + 1n))
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryAmountNotWholeUnits").withArgs(UNIT + 1n, UNIT);
      expect(await registry.validatorInfo(v.address)).to.deep.equal([0n, 0n, 0n, (await registry.validatorInfo(v.address)).endpoint]);
    });

    it("keeps a later unlock time when ejecting an under-minimum remainder", async function () {
      const { registry, slasher, validators } = await loadFixture(deployFixture);
      const [v] = validators;
      await registry.connect(v).requestUnstake(850n * UNIT); // 150 active, 850 unbonding until now + 7 days
      const { unlockAt } = await registry.validatorInfo(v.address);
      await registry.setUnbondingPeriod(3600); // an ejection now would unlock in an hour, before the earlier unlock
      await expect(registry.connect(slasher).slash(v.address, 100n * UNIT))
        .to.emit(registry, "ValidatorSlashed").withArgs(v.address, slasher.address, 100n * UNIT, 0n, 900n * UNIT);
      expect((await registry.validatorInfo(v.address)).unlockAt).to.equal(unlockAt);
    });

    it("sweeps slashed stake to the treasury", async function () {
      const { token, registry, slasher, treasury, validators } = await loadFixture(deployFixture);
      await expect(registry.sweepSlashed()).to.be.revertedWithCustomError(registry, "ValidatorRegistryNothingToSweep");
      await registry.connect(slasher).slash(validators[1].address, 10n * UNIT);
      await expect(registry.sweepSlashed()).to.emit(registry, "SlashedStakeSwept").withArgs(treasury.address, 10n * UNIT);
      expect(await token.balanceOf(treasury.address)).to.equal(10n * UNIT);
      expect(await registry.stakeOf(validators[1].address)).to.equal(990n * UNIT);
    });
  });

  describe("selection", function () {
    it("draws distinct validators and reverts when the pool is too small", async function () {
      const { registry, validators } = await loadFixture(deployFixture);
      const committee = await registry.drawCommittee(ethers.id("seed"), 3);
      expect(new Set(committee).size).to.equal(3);
      for (const member of committee) expect(validators.map((v) => v.address)).to.include(member);
      await expect(registry.drawCommittee(ethers.id("seed"), 4))
        .to.be.revertedWithCustomError(registry, "ValidatorRegistryNotEnoughValidators").withArgs(4, 3);
    });

    it("selects validators in proportion to stake (chi-square, fixed seeds)", async function () {
      const { token, registry, outsider } = await loadFixture(deployFixture);
      await stakeAs(token, registry, outsider, 3000n * UNIT); // stakes 1000, 1000, 1000, 3000
      const draws = 600;
      const counts = new Map<string, number>();
      for (let i = 0; i < draws; i++) {
        const [member] = await registry.drawCommittee(ethers.id(`seed ${i}`), 1);
        counts.set(member, (counts.get(member) ?? 0) + 1);
      }
      const total = await registry.totalStake();
      let chiSquare = 0;
      for (const address of [...counts.keys()]) {
        const expected = (draws * Number(await registry.stakeOf(address))) / Number(total);
        chiSquare += ((counts.get(address)! - expected) ** 2) / expected;
      }
      expect(counts.size).to.equal(4);
      expect(chiSquare).to.be.below(16.27); // 3 degrees of freedom, p = 0.001
    });
  });

  describe("admin", function () {
    it("updates minimum stake, unbonding period and treasury, with checks", async function () {
      const { registry, owner, outsider } = await loadFixture(deployFixture);
      await expect(registry.setMinimumStake(200n * UNIT)).to.emit(registry, "MinimumStakeUpdated").withArgs(200n * UNIT);
      await expect(registry.setMinimumStake(0)).to.be.revertedWithCustomError(registry, "ValidatorRegistryZeroAmount");
      await expect(registry.setUnbondingPeriod(3600)).to.emit(registry, "UnbondingPeriodUpdated").withArgs(3600);
      await expect(registry.setTreasury(outsider.address)).to.emit(registry, "TreasuryUpdated").withArgs(outsider.address);
      await expect(registry.setTreasury(ethers.ZeroAddress)).to.be.revertedWithCustomError(registry, "ValidatorRegistryZeroAddress");
      const adminRole = await registry.DEFAULT_ADMIN_ROLE();
      await expect(registry.connect(outsider).setUnbondingPeriod(1))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount").withArgs(outsider.address, adminRole);
      await expect(registry.connect(outsider).setMinimumStake(UNIT))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount").withArgs(outsider.address, adminRole);
      await expect(registry.connect(outsider).setTreasury(owner.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount").withArgs(outsider.address, adminRole);
      expect(await registry.minimumStake()).to.equal(200n * UNIT);
      expect(await registry.unbondingPeriod()).to.equal(3600n);
      expect(await registry.treasury()).to.equal(outsider.address);
      expect(await registry.STAKE_UNIT()).to.equal(UNIT);
      expect(owner.address).to.not.equal(ethers.ZeroAddress);
    });
  });
});
