import { expect } from "chai";
import { makeError } from "ethers";
import { classifyRpcError, isRetryableRpcError, withBackoff } from "../../../oracle/src/chain/rpc";
import { NonRetryableError, RetryableError } from "../../../oracle/src/errors";
import { createMetrics } from "../../../oracle/src/metrics";

describe("rpc error handling", function () {
  it("treats an unreachable or failing node as retryable and a revert as final", function () {
    expect(isRetryableRpcError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" }))).to.equal(true);
    expect(isRetryableRpcError(makeError("timeout", "TIMEOUT", { operation: "call", reason: "timeout" }))).to.equal(true);
    expect(isRetryableRpcError(makeError("reverted", "CALL_EXCEPTION", { action: "call", data: "0x", reason: null, transaction: { to: null, data: "0x" }, invocation: null, revert: null }))).to.equal(false);
    expect(isRetryableRpcError(makeError("no funds", "INSUFFICIENT_FUNDS", { transaction: {} as never }))).to.equal(false);
  });

  it("wraps errors into the service's classes with the cause and counts RPC failures", async function () {
    const metrics = createMetrics();
    const down = new Error("fetch failed");
    const classified = classifyRpcError(down, "get block", metrics);
    expect(classified).to.be.instanceOf(RetryableError);
    expect(classified.message).to.equal("get block: fetch failed");
    expect(classified.cause).to.equal(down);
    expect((await metrics.rpcErrorsTotal.get()).values[0].value).to.equal(1);
    expect(classifyRpcError(new NonRetryableError("bad"), "x", metrics)).to.be.instanceOf(NonRetryableError);
  });

  it("retries retryable failures up to the attempt limit, and final ones not at all", async function () {
    let calls = 0;
    const result = await withBackoff("op", async () => {
      calls++;
      if (calls < 3) throw new Error("socket hang up");
      return "ok";
    }, { attempts: 5, baseMs: 1 });
    expect([result, calls]).to.deep.equal(["ok", 3]);

    calls = 0;
    await withBackoff("op", async () => {
      calls++;
      throw new Error("socket hang up");
    }, { attempts: 3, baseMs: 1 }).then(
      () => expect.fail("should have thrown"),
      (error: Error) => expect(error).to.be.instanceOf(RetryableError),
    );
    expect(calls).to.equal(3);

    calls = 0;
    await withBackoff("op", async () => {
      calls++;
      throw new NonRetryableError("bad input");
    }, { attempts: 3, baseMs: 1 }).then(
      () => expect.fail("should have thrown"),
      (error: Error) => expect(error).to.be.instanceOf(NonRetryableError).and.have.property("message", "bad input"),
    );
    expect(calls).to.equal(1);
  });
});
