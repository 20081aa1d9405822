import { expect } from "chai";
import { STOP_SIGNALS, onStopSignal } from "../../oracle/src/stopSignals";

describe("onStopSignal", () => {
  it("stops once on the first stop signal and ignores the copies a terminal, npm and tsx send after it", () => {
    const stops: string[] = [];
    const off = onStopSignal((signal) => stops.push(signal));
    try {
      // Emitted, not sent: a real SIGINT would also reach mocha's own handler.
      process.emit("SIGHUP", "SIGHUP");
      process.emit("SIGINT", "SIGINT");
      process.emit("SIGTERM", "SIGTERM");
      process.emit("SIGHUP", "SIGHUP");
    } finally {
      off();
    }
    expect(stops).to.deep.equal(["SIGHUP"]);
  });

  it("keeps a handler on every stop signal until removed, so none falls back to Node's exit-at-once", () => {
    const before = STOP_SIGNALS.map((s) => process.listenerCount(s));
    const off = onStopSignal(() => undefined);
    expect(STOP_SIGNALS.map((s) => process.listenerCount(s))).to.deep.equal(before.map((n) => n + 1));
    off();
    expect(STOP_SIGNALS.map((s) => process.listenerCount(s))).to.deep.equal(before);
  });
});
