import { expect } from "chai";
import { TxRevertedError, ForeignNonceError } from "../../oracle/src/chain/submitter";
import { ChainRaceError, NonRetryableError, OracleError, RetryableError, stepRetryOf } from "../../oracle/src/errors";
import { withBackoff } from "../../oracle/src/chain/rpc";
import { ConfigError } from "../../oracle/src/config";
import { HttpError } from "../../oracle/src/http/errors";

describe("errors", () => {
  it("roots every class in OracleError, named after its class, the cause kept", () => {
    const cause = new Error("ECONNREFUSED");
    const error = new RetryableError("chain read failed", { cause });
    expect(error).to.be.instanceOf(OracleError);
    expect(error.name).to.equal("RetryableError");
    expect(error.cause).to.equal(cause);
    for (const e of [new TxRevertedError("commit", "x"), new ForeignNonceError("0x1", "m"), new ConfigError("rpc-url", "m"), new HttpError(400, "bad", "m")]) {
      expect(e, e.name).to.be.instanceOf(OracleError);
      expect(e.name).to.equal(e.constructor.name);
    }
  });

  it("decides a job step's retry by class: a reverted transaction is decided again at most 5 times, then fails", () => {
    const reverted = new TxRevertedError("reveal", "RevealWindowClosed");
    expect(reverted).to.be.instanceOf(ChainRaceError);
    expect(reverted).to.not.be.instanceOf(NonRetryableError);
    expect([0, 1, 2, 3, 4, 5, 6].map((tries) => stepRetryOf(reverted, tries))).to.deep.equal([
      "decide_again", "decide_again", "decide_again", "decide_again", "decide_again", "fail", "fail",
    ]);
    expect(stepRetryOf(new ForeignNonceError("0x1", "nonce taken"), 99)).to.equal("retry");
    expect(stepRetryOf(new NonRetryableError("bad input"), 0)).to.equal("fail");
    expect(stepRetryOf(new Error("unknown"), 0)).to.equal("fail");
  });

  it("repeats a call in place only for a RetryableError, never for a reverted transaction", async () => {
    for (const [error, calls] of [[new RetryableError("rpc down"), 3], [new TxRevertedError("commit", "reverted"), 1], [new NonRetryableError("bad"), 1]] as const) {
      let made = 0;
      const failing = () => {
        made++;
        return Promise.reject(error);
      };
      await withBackoff("call", failing, { attempts: 3, baseMs: 1, maxMs: 1 }).catch(() => undefined);
      expect(made, error.name).to.equal(calls);
    }
  });
});
