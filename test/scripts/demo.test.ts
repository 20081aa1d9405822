import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { REPO_ROOT } from "../../scripts/demo/hardhatNode";
import { groupAlive, groupsEnd, killGroups } from "../helpers/processGroups";

/** What the keep-running demo printed about the processes it started. */
interface DemoUp {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  chainPid: number;
  chainPort: number;
  /** Process groups of the oracle processes (`--processes`), empty when the oracle runs inside the demo. */
  oraclePids: number[];
}

/**
 * Starts the demo as a terminal does (its own process group, like a shell's foreground job) with `--keep-running`, on
 * anvil with the tiny model and a deployments folder of its own, and resolves once it printed that everything stays up.
 */
async function startDemo(command: string, args: string[]): Promise<DemoUp> {
  const deployments = fs.mkdtempSync(path.join(os.tmpdir(), "demo-signals-"));
  const child = spawn(command, [...args, "--keep-running", "--chain", "anvil", "--model", "models/tiny", "--max-new-tokens", "4"], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DEPLOYMENTS_DIR: deployments },
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  while (!/running; press Ctrl-C to stop everything/.test(output)) {
    if (gone) throw new Error(`the demo exited before it was up:\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const chain = /running at http:\/\/127\.0\.0\.1:(\d+) \(pid (\d+)\)/.exec(output);
  if (!chain) throw new Error(`no chain line in the demo's output:\n${output}`);
  const oracles = /started 3 oracle processes \(pids ([\d, ]+)\)/.exec(output);
  return {
    process: child,
    output: () => output,
    exited,
    chainPort: Number(chain[1]),
    chainPid: Number(chain[2]),
    oraclePids: oracles ? oracles[1].split(", ").map(Number) : [],
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("npm run demo -- --keep-running: stopping", function () {
  this.timeout(240_000);
  const leftovers: number[] = [];
  afterEach(() => killGroups(leftovers.splice(0)));

  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    it(`stops the chain it started when its terminal's process group gets ${signal}`, async function () {
      const demo = await startDemo("npm", ["run", "--silent", "demo", "--"]);
      leftovers.push(demo.process.pid!, demo.chainPid);
      expect(groupAlive(demo.chainPid)).to.equal(true);
      process.kill(-demo.process.pid!, signal); // npm, sh, tsx and node, as Ctrl-C or a closed terminal does
      await demo.exited;
      expect(await groupsEnd([demo.chainPid]), `chain group still running after ${signal}:\n${demo.output().slice(-1500)}`).to.deep.equal([]);
      expect(await portOpen(demo.chainPort)).to.equal(false);
      expect(demo.output()).to.include("stopping (");
    });
  }

  it("stops the chain and the oracle processes by themselves when the demo is SIGKILLed", async function () {
    // The demo's own node process, without npm or tsx around it: SIGKILL leaves it no chance to clean up.
    const demo = await startDemo(process.execPath, ["--import", "tsx", "scripts/demo.ts", "--processes"]);
    leftovers.push(demo.process.pid!, demo.chainPid, ...demo.oraclePids);
    expect(demo.oraclePids).to.have.length(3);
    process.kill(demo.process.pid!, "SIGKILL");
    await demo.exited;
    const started = [demo.chainPid, ...demo.oraclePids];
    expect(await groupsEnd(started), "groups still running after the demo died").to.deep.equal([]);
    expect(await portOpen(demo.chainPort)).to.equal(false);
  });
});
