import { expect } from "chai";
import { InvalidArgumentError } from "commander";
import { presetList, presetName } from "../../bench/benchOptions";

describe("bench/benchOptions (preset arguments of the inference benchmarks)", function () {
  it("accepts built-in presets and lists of them", function () {
    expect(presetName("gpt2-small")).to.equal("gpt2-small");
    expect(presetList("tiny, small,gpt2-small")).to.deep.equal(["tiny", "small", "gpt2-small"]);
  });

  it("rejects an unknown preset by name, and an empty list", function () {
    expect(() => presetName("huge")).to.throw(InvalidArgumentError, 'unknown preset "huge" (known: tiny, small, gpt2-small)');
    expect(() => presetList("tiny,huge")).to.throw(InvalidArgumentError, 'unknown preset "huge"');
    expect(() => presetList(" , ")).to.throw(InvalidArgumentError, "expected at least one preset");
  });
});
