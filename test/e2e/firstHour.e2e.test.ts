import { expect } from "chai";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT, freePort } from "../../scripts/demo/hardhatNode";
import { groupsEnd, killGroups } from "../helpers/processGroups";
import { E2E_CHAINS, waitFor } from "./helpers";

/**
 * A newcomer's first hour, as README and docs/oracle.md tell it: `npm run demo -- --keep-running` in one terminal, then
 * README's next commands and the "Join the network as a second validator" recipe pasted into another, each run by bash
 * exactly as written in the docs (read from the files, so the docs cannot drift from what works).
 *
 * What the test sets beyond the docs, for isolation only: DEPLOYMENTS_DIR (the demo and the Hardhat tasks write and
 * read <dir>/localhost.json instead of the repository's deployments/) and ORACLE_DEPLOYMENTS (`npm run verify` and
 * `npm run oracle` read the same file); in the recipe the deployments path, the node's port 8090 and its data dir are
 * replaced by a temporary file, a free port and a temporary folder, so parallel runs do not collide. Variables a
 * developer's shell may hold that would point the tools elsewhere are removed.
 */

/** The first ```sh block after the line containing `marker` in a docs file. */
function shellBlockAfter(file: string, marker: string): string {
  const text = fs.readFileSync(path.join(REPO_ROOT, file), "utf8");
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${file} has no "${marker}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block) throw new Error(`${file} has no sh block after "${marker}"`);
  return block[1];
}

/** `text` with `from` replaced by `to` everywhere; `from` must occur (a renamed path in the docs fails the test). */
function replaceAll(text: string, from: string, to: string): string {
  expect(text, `the recipe no longer contains ${from}`).to.include(from);
  return text.split(from).join(to);
}

/** The environment a fresh terminal has, plus `extra`: nothing that would point a tool at another chain or key. */
function terminalEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(ORACLE_|VALIDATOR_|LOCALHOST_RPC_URL$|DEPLOYMENTS_DIR$|CHAT_ORACLE_)/.test(name)) delete env[name];
  }
  return { ...env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true", ...extra };
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts a bash script in its own process group (a terminal's foreground job), collecting what it prints. */
function startScript(script: string, env: NodeJS.ProcessEnv): Started {
  const child = spawn("bash", ["-c", script], { cwd: REPO_ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Runs one pasted command line to its end: its exit code and everything it printed. */
async function runLine(line: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const started = startScript(line, env);
  const code = await started.exited;
  return { code, out: started.output() };
}

/** Waits until `started` printed something matching `pattern`; fails with its output if it exits first. */
async function waitForOutput(started: Started, pattern: RegExp, what: string, timeoutMs: number): Promise<RegExpExecArray> {
  let gone = false;
  void started.exited.then(() => (gone = true));
  return waitFor(
    what,
    () => {
      const match = pattern.exec(started.output());
      if (!match && gone) throw new Error(`exited before ${what}:\n${started.output().slice(-4000)}`);
      return match ?? undefined;
    },
    timeoutMs,
    200,
  );
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface CommitteeSeat {
  validator: string;
  revealed: boolean;
  agreed: boolean | null;
}

for (const chain of E2E_CHAINS) {
  describe(`first hour on the keep-running demo (${chain}): README's next commands, verify, a second validator from a raw key`, function () {
    this.timeout(900_000);
    /** The demo's process group (npm, sh, tsx, node: the terminal's foreground job), then its chain's. */
    const demoGroups: number[] = [];
    let joinerGroup: number | undefined;
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let demo: Started;
    let joiner: Started | undefined;

    before(async function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "first-hour-"));
      env = terminalEnv({ DEPLOYMENTS_DIR: dir, ORACLE_DEPLOYMENTS: path.join(dir, "localhost.json") });
      demo = startScript(`npm run demo -- --keep-running${chain === "anvil" ? " --chain anvil" : ""}`, env);
      demoGroups.push(demo.child.pid!);
      await waitForOutput(demo, /running; press Ctrl-C to stop everything/, "the demo's keep-running summary", 600_000);
      const chainPid = /running at http:\/\/127\.0\.0\.1:\d+ \(pid (\d+)\)/.exec(demo.output());
      if (chainPid) demoGroups.push(Number(chainPid[1]));
    });

    after(async function () {
      // Ctrl-C in each terminal, the joining node's first (the chain still up), then the demo's; the demo stops the
      // chain it started in a group of its own. Whatever is left (a failed test) is killed by group.
      const stopped: { name: string; pgids: number[] }[] = [
        { name: "the joining terminal (npm run oracle)", pgids: joinerGroup === undefined ? [] : [joinerGroup] },
        { name: "the demo and its chain", pgids: demoGroups },
      ];
      const failures: string[] = [];
      for (const { name, pgids } of stopped) {
        if (pgids.length === 0) continue;
        try {
          process.kill(-pgids[0], "SIGINT");
        } catch {
          // gone
        }
        const left = await groupsEnd(pgids, 90_000);
        if (left.length > 0) {
          failures.push(`${name}: still running after Ctrl-C:\n${spawnSync("ps", ["-o", "pid,pgid,stat,args", "-g", left.join(",")], { encoding: "utf8" }).stdout}`);
          killGroups(left);
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
      const tails = `the demo printed:\n${demo.output().slice(-2000)}\nthe joining terminal printed:\n${joiner?.output().slice(-6000)}`;
      expect(failures, `${failures.join("\n")}\n${tails}`).to.deep.equal([]);
    });

    it("prints the chain, node and page URLs and the next commands, which README lists", function () {
      const summary = demo.output().slice(demo.output().indexOf("everything stays up:"));
      expect(summary).to.match(/chain RPC +http:\/\/127\.0\.0\.1:\d+/);
      expect(summary).to.match(/node API +http:\/\/127\.0\.0\.1:\d+\/v1\/requests\/1/);
      expect(summary).to.match(/monitoring page +http:\/\/127\.0\.0\.1:\d+\//);
      const readme = shellBlockAfter("README.md", "so the next commands in another terminal need no URL");
      const next = summary
        .split("\n")
        .filter((line) => /^\s+(npx|npm) /.test(line))
        .map((line) => line.replace(/#.*$/, "").trim());
      expect(next).to.have.length(3);
      for (const command of next) expect(readme, `README's next commands lack ${command}`).to.include(command);
    });

    it("runs README's next commands: a chat answered by the demo's node, verify MATCH, validators in CODS, a follow-up turn", async function () {
      const lines = shellBlockAfter("README.md", "so the next commands in another terminal need no URL")
        .split("\n")
        .filter((line) => line.trim() !== "" && !line.startsWith("#"));
      expect(lines.map((l) => l.replace(/ +#.*$/, ""))).to.deep.equal([
        'npx hardhat --network localhost chat --prompt "What is a dog?" --wait',
        "npm run verify -- 2",
        "npx hardhat --network localhost validators",
        'npx hardhat --network localhost chat --prompt "And a cat?" --parent 2 --wait',
      ]);
      const results: string[] = [];
      for (const line of lines) {
        const result = await runLine(line, env);
        expect(result.code, `${line}\n${result.out}`).to.equal(0);
        results.push(result.out);
      }
      expect(results[0]).to.match(/^request 2 \(committee drawn from block \d+\)$/m).and.match(/^request 2: Finalized /m);
      expect(results[1]).to.match(/MATCH\s*$/).and.not.match(/MISMATCH/);
      const stakes = results[2].split("\n").filter((l) => /^0x[0-9a-fA-F]{40} /.test(l));
      expect(stakes.map((l) => /stake +(\d+ CODS)/.exec(l)?.[1])).to.have.members(["100 CODS", "200 CODS", "300 CODS"]);
      expect(results[3]).to.match(/^request 3 \(turn after 2\) /m).and.match(/^request 3: Finalized /m);
    });

    it("joins a second validator from a fresh raw key with docs/oracle.md's recipe: staked, ready, listed, seated, answering", async function () {
      const port = await freePort();
      const recipe = shellBlockAfter("docs/oracle.md", "#### Join the network as a second validator");
      const steps = recipe.split(/^(?=# \d\. )/m);
      expect(steps.map((s) => /^# (\d)\./.exec(s)?.[1])).to.deep.equal(["1", "2", "3", "4", "5"]);
      let setUpAndStart = steps.slice(0, 4).join("");
      setUpAndStart = replaceAll(setUpAndStart, "./deployments/localhost.json", path.join(dir, "localhost.json"));
      setUpAndStart = replaceAll(setUpAndStart, "8090", String(port));
      setUpAndStart = replaceAll(setUpAndStart, ".data/second-validator", path.join(dir, "second-validator"));

      // Steps 1-4 in one terminal (the exported key is used by `stake` and by `npm run oracle`, which stays up).
      joiner = startScript(`set -e\n${setUpAndStart}`, env);
      joinerGroup = joiner.child.pid!;
      const staked = await waitForOutput(joiner, /^(0x[0-9a-fA-F]{40}) staked; active stake 100 CODS$/m, "the stake task's line", 300_000);
      const address = staked[1];
      expect(joiner.output()).to.include(`funded ${address}`);
      const url = `http://127.0.0.1:${port}`;
      await waitFor("the new node's /readyz to answer 200", async () => {
        try {
          return (await fetch(`${url}/readyz`)).status === 200 ? true : undefined;
        } catch {
          return undefined; // not listening yet
        }
      }, 300_000, 500);
      expect(joiner.output()).to.not.match(/no active stake|no ETH|differs from --public-url/);

      // Step 5 in a third terminal.
      const check = steps[4].split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
      expect(check).to.deep.equal(["npx hardhat --network localhost validators", `curl -s http://127.0.0.1:8090/readyz`]);
      const listed = await runLine(check[0], env);
      expect(listed.code, listed.out).to.equal(0);
      const rows = listed.out.split("\n").filter((l) => /^0x[0-9a-fA-F]{40} /.test(l));
      expect(rows).to.have.length(4);
      expect(rows.find((l) => l.startsWith(address))).to.match(new RegExp(`stake +100 CODS .* active +${url.replace(/\./g, "\\.")}$`));
      const ready = await runLine(replaceAll(check[1], "8090", String(port)), env);
      const readyBody = JSON.parse(ready.out) as { conditions: { name: string; ok: boolean }[] };
      expect(readyBody.conditions.filter((c) => !c.ok)).to.deep.equal([]);

      // Seated: README's chat command until a committee (3 of the 4 validators, by stake) holds the new one.
      const chatLine = shellBlockAfter("README.md", "so the next commands in another terminal need no URL").split("\n")[0];
      let requestId: string | undefined;
      for (let attempt = 0; attempt < 12 && !requestId; attempt++) {
        const chat = await runLine(chatLine, env);
        expect(chat.code, chat.out).to.equal(0);
        expect(chat.out).to.match(/: Finalized /);
        const committee = /^committee (.*)$/m.exec(chat.out)?.[1] ?? "";
        if (committee.toLowerCase().includes(address.toLowerCase())) requestId = /^request (\d+) /m.exec(chat.out)![1];
      }
      expect(requestId, "the new validator was never drawn in 12 requests").to.not.equal(undefined);

      // Answering: its node committed and revealed the agreed response.
      const seat = await waitFor("the new validator's reveal", async () => {
        const { body } = await getJson(`${url}/v1/requests/${requestId}`);
        const mine = (body.committee as CommitteeSeat[]).find((s) => s.validator.toLowerCase() === address.toLowerCase());
        return mine?.revealed && mine.agreed !== null ? mine : undefined;
      }, 120_000, 500);
      expect(seat.agreed).to.equal(true);
    });
  });
}
