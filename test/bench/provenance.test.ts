import { execFileSync } from "node:child_process";
import os from "node:os";
import { expect } from "chai";
import { npmCommand, provenance, splitStamp } from "../../bench/provenance";

describe("bench/provenance (where a benchmark figure came from)", function () {
  it("stamps the checkout's commit, whether tracked files differ from it, the command and the machine", function () {
    const git = (args: string[]) => execFileSync("git", args, { encoding: "utf8" }).trim();
    // The kernel updates the load average every few seconds: the stamp holds the reading before or the one after.
    const loadBefore = os.loadavg()[0];
    const stamp = provenance("npm run bench:gas");
    const loadAfter = os.loadavg()[0];
    expect(stamp.commit).to.equal(git(["rev-parse", "HEAD"]));
    expect(stamp.uncommittedChanges).to.equal(git(["status", "--porcelain", "--untracked-files=no"]).length > 0);
    expect(stamp.command).to.equal("npm run bench:gas");
    expect(Date.now() - Date.parse(stamp.date)).to.be.within(0, 60_000);
    expect(stamp.machine.cpus).to.be.greaterThan(0);
    expect(stamp.machine.node).to.equal(process.version);
    expect([loadBefore, loadAfter].map((load) => Math.round(load * 100) / 100)).to.include(stamp.machine.loadAverage1m);
  });

  it("puts the BENCH_* variables in effect in front of the command", function () {
    process.env.BENCH_SKIP_TREE = "1";
    process.env.BENCH_POW_SECONDS = "2";
    try {
      expect(provenance("npm run bench:gas").command).to.equal("BENCH_POW_SECONDS=2 BENCH_SKIP_TREE=1 npm run bench:gas");
    } finally {
      delete process.env.BENCH_SKIP_TREE;
      delete process.env.BENCH_POW_SECONDS;
    }
  });

  it("takes the commit from CHAT_ORACLE_COMMIT where the run is outside a checkout", function () {
    process.env.CHAT_ORACLE_COMMIT = "0123abcd";
    try {
      expect(provenance("npm run bench:gpu").commit).to.equal("0123abcd");
    } finally {
      delete process.env.CHAT_ORACLE_COMMIT;
    }
  });

  it("splits a stamped JSON into its stamp and its figures, with null for a stamp the file predates", function () {
    const stamped = { ...provenance("npm run bench:tree"), draw: { "1000": 12466 }, insert10000: 94218 };
    const { stamp, figures } = splitStamp(stamped);
    expect(figures).to.deep.equal({ draw: { "1000": 12466 }, insert10000: 94218 });
    expect(stamp).to.deep.equal({ date: stamped.date, commit: stamped.commit, uncommittedChanges: stamped.uncommittedChanges, command: "npm run bench:tree", machine: stamped.machine });
    expect(splitStamp({ insert10000: 1 })).to.deep.equal({
      stamp: { date: null, commit: null, uncommittedChanges: null, command: null, machine: null },
      figures: { insert10000: 1 },
    });
  });

  it("writes the npm command line that reruns a benchmark with its arguments", function () {
    expect(npmCommand("bench:pow", [])).to.equal("npm run bench:pow");
    expect(npmCommand("bench:e2e", ["--requests", "50", "--rate", "10"])).to.equal("npm run bench:e2e -- --requests 50 --rate 10");
  });
});
