import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { Wallet, parseEther } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import pino from "pino";
import { checkValidatorKeys, runStartupChecks } from "../../../oracle/src/chain/startupChecks";
import { deployAll } from "../../../scripts/lib/deploy";

const CODS = { symbol: "CODS", decimals: 18 };

async function deployFixture() {
  const deployment = await deployAll(hre, {
    modelHash: "0x" + "12".repeat(32),
    modelLimits: { maxPromptBytes: 2048, maxNewTokens: 128, contextLength: 512 },
    write: false,
  });
  const registry = await ethers.getContractAt("ValidatorRegistry", deployment.addresses.ValidatorRegistry);
  const token = await ethers.getContractAt("DemoToken", deployment.addresses.StakeToken);
  const [, staked] = await ethers.getSigners();
  await (await token.mint(staked.address, parseEther("100"))).wait();
  await (await token.connect(staked).approve(deployment.addresses.ValidatorRegistry, parseEther("100"))).wait();
  await (await registry.connect(staked).stake(parseEther("100"), "http://node-a.example:8080")).wait();
  const validatorRegistry = { address: deployment.addresses.ValidatorRegistry, iface: registry.interface };
  return { staked, validatorRegistry };
}

describe("oracle/src/chain/startupChecks checkValidatorKeys", function () {
  it("finds nothing for a staked, funded key whose on-chain endpoint is --public-url", async function () {
    const { staked, validatorRegistry } = await loadFixture(deployFixture);
    const problems = await checkValidatorKeys({
      provider: ethers.provider,
      validatorRegistry,
      validators: [staked.address],
      publicUrl: "http://node-a.example:8080/",
      stakeUnits: CODS,
    });
    expect(problems).to.deep.equal([]);
  });

  it("names a key with no stake and no ETH, with what to do", async function () {
    const { validatorRegistry } = await loadFixture(deployFixture);
    const stranger = Wallet.createRandom().address;
    const problems = await checkValidatorKeys({ provider: ethers.provider, validatorRegistry, validators: [stranger] });
    expect(problems.map((p) => p.kind)).to.deep.equal(["no_stake", "no_eth"]);
    expect(problems[0].message).to.match(new RegExp(`^${stranger} has no active stake, so it is never drawn into a committee \\(stake first: `));
    expect(problems[1].message).to.equal(`${stranger} has 0 ETH, so it cannot pay gas for commits and reveals (send it some ETH)`);
  });

  it("names an on-chain endpoint that differs from --public-url", async function () {
    const { staked, validatorRegistry } = await loadFixture(deployFixture);
    const problems = await checkValidatorKeys({
      provider: ethers.provider,
      validatorRegistry,
      validators: [staked.address],
      publicUrl: "http://node-b.example:8080",
      stakeUnits: CODS,
    });
    expect(problems).to.have.length(1);
    expect(problems[0].kind).to.equal("endpoint_mismatch");
    expect(problems[0].message).to.contain(`"http://node-a.example:8080" differs from --public-url http://node-b.example:8080`);
    expect(problems[0].message).to.contain("stake 100 CODS");
  });

  it("warns in the log by default, and refuses to start with --strict-startup", async function () {
    const { validatorRegistry } = await loadFixture(deployFixture);
    const stranger = Wallet.createRandom().address;
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const input = { provider: ethers.provider, validatorRegistry, validators: [stranger] };
    expect(await runStartupChecks(logger, false, input)).to.have.length(2);
    expect(lines.map((l) => JSON.parse(l)).map((l) => [l.level, l.problem])).to.deep.equal([
      [40, "no_stake"],
      [40, "no_eth"],
    ]);
    await runStartupChecks(logger, true, input).then(
      () => expect.fail("started with a key that has no stake"),
      (error: Error) => expect(error.message).to.match(new RegExp(`^refusing to start \\(--strict-startup\\): ${stranger} has no active stake.*; ${stranger} has 0 ETH`)),
    );
  });
});
