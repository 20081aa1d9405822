/**
 * Where the CPU goes while a benchmark runs (Linux /proc): the process groups it started (a chain, an oracle and
 * anything they spawned), the benchmark itself and the whole machine.
 */
import fs from "node:fs";

/** CPU seconds (user + system) used so far by every process of a process group (a node and anything it spawned). */
export function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = fs.readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1].split(" ");
      // fields[2] is the process group; utime and stime are fields[11] and fields[12] (clock ticks, 100 per second).
      if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks / 100;
}

/** Busy and total CPU time of the whole machine so far (from /proc/stat), in clock ticks. */
export function machineTicks(): { busy: number; total: number } {
  const cpu = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3] - cpu[4], total };
}

/**
 * Where the CPU went during a phase: the chain process, the oracle processes (summed: one per validator, or one for
 * all), this benchmark, the whole machine.
 */
export function cpuMeter(pgids: () => { chain: number; oracles?: readonly number[] }) {
  const oracleSeconds = new Map<number, number>();
  const sample = () => {
    const ids = pgids();
    for (const oracle of ids.oracles ?? []) oracleSeconds.set(oracle, groupCpuSeconds(oracle));
    return { chain: groupCpuSeconds(ids.chain), bench: process.cpuUsage(), machine: machineTicks(), at: performance.now() };
  };
  const start = sample();
  const startOracle = new Map(oracleSeconds);
  return {
    /** Samples the oracle groups now (a killed oracle's CPU would be lost otherwise). */
    touch: () => void sample(),
    stop() {
      const end = sample();
      const seconds = (end.at - start.at) / 1000;
      let oracle = 0;
      for (const [pgid, used] of oracleSeconds) oracle += used - (startOracle.get(pgid) ?? 0);
      const bench = (end.bench.user - start.bench.user + end.bench.system - start.bench.system) / 1e6;
      return {
        /** Share of one core, in percent, over the phase's wall time. */
        chainNodeCpuPct: (100 * (end.chain - start.chain)) / seconds,
        oracleCpuPct: (100 * oracle) / seconds,
        benchCpuPct: (100 * bench) / seconds,
        /** Busy share of all cores of the machine (other helpers' work included), in percent. */
        machineBusyPct: (100 * (end.machine.busy - start.machine.busy)) / Math.max(1, end.machine.total - start.machine.total),
        chainNodeCpuSeconds: end.chain - start.chain,
      };
    },
  };
}
