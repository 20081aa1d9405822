import { expect } from "chai";
import { ethers } from "hardhat";
import { parseEther } from "ethers";
import { UNKNOWN_TOKEN, describeCustomError, formatAmount, readTokenUnits } from "../../../oracle/src/chain/errorText";

const CODS = { symbol: "CODS", decimals: 18 };
const VALIDATOR = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

describe("oracle/src/chain/errorText", function () {
  it("writes stake amounts in tokens with the symbol, fees in ETH", function () {
    expect(describeCustomError("ValidatorRegistryInsufficientStake", [VALIDATOR, parseEther("10"), parseEther("100")], CODS)).to.equal(
      `ValidatorRegistryInsufficientStake: 10 CODS is below the minimum 100 CODS (validator ${VALIDATOR})`,
    );
    expect(describeCustomError("ValidatorRegistryUnstakeExceedsStake", [VALIDATOR, parseEther("250.5"), parseEther("200")], CODS)).to.equal(
      `ValidatorRegistryUnstakeExceedsStake: unstaking 250.5 CODS exceeds the stake 200 CODS of ${VALIDATOR}`,
    );
    expect(describeCustomError("ChatRecordRegistryFeeTooLow", [10n ** 14n, 0n, 10n ** 15n], CODS)).to.equal(
      "ChatRecordRegistryFeeTooLow: fee 0.0001 ETH (beside 0 ETH callback escrow) is below the minimum 0.001 ETH",
    );
  });

  it("keeps Name(args) for errors without amounts, and says 'tokens' when the symbol is unknown", function () {
    expect(describeCustomError("ChatRecordRegistryUnknownRequest", [7n])).to.equal("ChatRecordRegistryUnknownRequest(7)");
    expect(formatAmount(parseEther("3"), UNKNOWN_TOKEN)).to.equal("3 tokens");
  });

  it("reads the token's symbol and decimals from the chain, and falls back when there is no token", async function () {
    const token = await ethers.deployContract("DemoToken");
    expect(await readTokenUnits(ethers.provider, await token.getAddress())).to.deep.equal(CODS);
    const [notAToken] = await ethers.getSigners();
    expect(await readTokenUnits(ethers.provider, notAToken.address)).to.deep.equal(UNKNOWN_TOKEN);
    expect(await readTokenUnits(ethers.provider, undefined)).to.deep.equal(UNKNOWN_TOKEN);
  });
});
