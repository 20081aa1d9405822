import { expect } from "chai";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { cpuMeter, groupCpuSeconds, machineTicks } from "../../../bench/lib/cpuMeter";

describe("bench/lib/cpuMeter", () => {
  it("counts the CPU of a busy process group, and none for a group that does not exist", async () => {
    // A child in its own process group that spins until it has used 0.3 s of CPU.
    const child = spawn(process.execPath, ["-e", "const s = process.cpuUsage(); while (process.cpuUsage(s).user < 300_000);"], { detached: true, stdio: "ignore" });
    const pgid = child.pid as number;
    try {
      const meter = cpuMeter(() => ({ chain: pgid }));
      let spent = 0;
      let used: ReturnType<typeof meter.stop> | undefined;
      while (child.exitCode === null) {
        spent = Math.max(spent, groupCpuSeconds(pgid));
        // Stopped while the group still has ≥ 0.2 s of CPU to spend (an exited group reads 0: the meter would go negative).
        if (used === undefined && spent >= 0.1) used = meter.stop();
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(spent, "CPU seconds seen in the group while it ran").to.be.greaterThan(0);
      expect(used, "the meter stopped while the group ran").to.not.equal(undefined);
      expect(used!.chainNodeCpuSeconds).to.be.greaterThan(0);
      expect(used!.machineBusyPct).to.be.within(0, 100);
    } finally {
      if (child.exitCode === null) process.kill(-pgid, "SIGKILL");
      if (child.exitCode === null) await once(child, "exit");
    }
    expect(groupCpuSeconds(2 ** 22 + 12_345)).to.equal(0);
  });

  it("reads the machine's busy ticks as a part of its total", () => {
    const { busy, total } = machineTicks();
    expect(busy).to.be.greaterThan(0);
    expect(busy).to.be.below(total);
  });
});
