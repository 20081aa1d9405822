import { expect } from "chai";
import { InvalidArgumentError } from "commander";
import { integerOption, numberListOption, numberOption } from "../../../oracle/src/cli/support";

describe("cli/support option parsers", () => {
  it("parses integers within the bounds and names the bounds and the value otherwise", () => {
    const port = integerOption(1, 65535);
    expect(port("8545")).to.equal(8545);
    expect(() => port("0")).to.throw(InvalidArgumentError, 'expected an integer in [1, 65535], got "0"');
    expect(() => port("1.5")).to.throw(InvalidArgumentError, 'got "1.5"');
    expect(() => port("many")).to.throw(InvalidArgumentError, '"many" is not a number');
    expect(integerOption()("-3")).to.equal(-3);
  });

  it("parses decimal numbers within the bounds", () => {
    expect(numberOption(0, 1)("0.25")).to.equal(0.25);
    expect(numberOption()("1e15")).to.equal(1e15);
    expect(() => numberOption(0, 1)("2")).to.throw(InvalidArgumentError, 'expected a number in [0, 1], got "2"');
    expect(() => numberOption()("")).to.throw(InvalidArgumentError, "is not a number");
    expect(() => numberOption()("0x10")).to.throw(InvalidArgumentError, "is not a number");
  });

  it("parses comma-separated lists, dropping empty items", () => {
    expect(numberListOption("1, 2.5,,3")).to.deep.equal([1, 2.5, 3]);
    expect(() => numberListOption("1,x")).to.throw(InvalidArgumentError, '"x" is not a number');
  });
});
