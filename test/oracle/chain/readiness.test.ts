import { expect } from "chai";
import { chainReadiness, type ChainReadinessInput } from "../../../oracle/src/chain/readiness";

const base: ChainReadinessInput = {
  now: 100_000,
  lastHeadAt: 99_000,
  headNumber: 500,
  processedBlock: 498,
  confirmations: 2,
  maxHeadAgeMs: 30_000,
  maxListenerLagBlocks: 64,
};

const byName = (input: ChainReadinessInput) => Object.fromEntries(chainReadiness(input).map((c) => [c.name, c]));

describe("chainReadiness", function () {
  it("is ok with a recent head answer and a listener at the confirmed head", function () {
    expect(chainReadiness(base)).to.deep.equal([
      { name: "chain_head", ok: true },
      { name: "listener_lag", ok: true },
    ]);
  });

  it("fails chain_head when the RPC has not answered within the age bound, or never", function () {
    expect(byName({ ...base, lastHeadAt: 69_999 }).chain_head).to.deep.equal({
      name: "chain_head",
      ok: false,
      message: "no answer from the RPC for 30001 ms (limit 30000 ms)",
    });
    expect(byName({ ...base, lastHeadAt: undefined }).chain_head.ok).to.equal(false);
  });

  it("fails listener_lag when the listener is more confirmed blocks behind than allowed", function () {
    expect(byName({ ...base, processedBlock: 434 }).listener_lag.ok).to.equal(true); // 500 - 2 - 434 = 64
    expect(byName({ ...base, processedBlock: 433 }).listener_lag).to.deep.equal({
      name: "listener_lag",
      ok: false,
      message: "65 blocks behind the head (limit 64)",
    });
  });
});
