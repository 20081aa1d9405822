/**
 * A private network on this machine for validators that should behave like separate machines: one Linux network
 * namespace per validator, each joined by a veth pair to a bridge the script creates, addresses in a private /24 (the
 * bridge holds .1, where the chain listens; validator i holds .(i + 2)). Everything is named after this process's pid
 * and a counter, so several runs and tests can coexist, and `destroy()` removes all of it.
 *
 * Needs root and iproute2 (`ip`); `namespaceSupport()` says why not when they are missing, and callers fall back to
 * plain processes on 127.0.0.1.
 */
import { execFileSync, spawnSync } from "node:child_process";

/** One validator's machine: its namespace, its end of the link and its address. */
export interface NamespaceHost {
  namespace: string;
  /** The bridge side of the veth pair: taking it down cuts the machine off the network. */
  hostVeth: string;
  address: string;
  /** Command prefix that runs a program inside the namespace. */
  exec: string[];
}

export interface PrivateNetwork {
  bridge: string;
  /** The bridge's address: the machines reach the chain here. */
  gateway: string;
  /** The /24 in CIDR notation. */
  subnet: string;
  hosts: NamespaceHost[];
  /** Cuts machine `index` off the network (its link goes down: packets to and from it are dropped). */
  partition(index: number): void;
  /** Brings machine `index`'s link back up. */
  heal(index: number): void;
  /** Removes the namespaces, veth pairs and the bridge; safe to call twice. */
  destroy(): void;
}

/** Whether namespaces can be made here: `{ ok: true }` or the reason, in one line, why not. */
export function namespaceSupport(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== "linux") return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: "network namespaces need root (ip netns add)" };
  const probe = spawnSync("ip", ["-V"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return { ok: false, reason: "iproute2's ip command is missing" };
  return { ok: true };
}

let networksMade = 0;

/** Runs `ip …`, throwing with ip's own message (and the command) when it fails. */
function ip(...args: string[]): void {
  try {
    execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    const stderr = ((error as { stderr?: Buffer }).stderr ?? "").toString().trim();
    throw new Error(`ip ${args.join(" ")} failed: ${stderr || (error as Error).message}`, { cause: error });
  }
}

/** `ip …` during clean-up: a part already gone is fine. */
function ipQuiet(...args: string[]): void {
  spawnSync("ip", args, { stdio: "ignore" });
}

/** A 10.x.y.0/24 no interface or route of this machine uses yet, picked from the pid so parallel runs differ. */
function freeSubnet(): string {
  const used = execFileSync("ip", ["-4", "route", "show", "table", "all"], { encoding: "utf8" }) +
    execFileSync("ip", ["-4", "addr", "show"], { encoding: "utf8" });
  const slots = 50 * 250; // 10.200.0.0 – 10.249.249.0
  for (let k = 0; k < slots; k++) {
    const slot = (process.pid * 7 + networksMade * 131 + k) % slots;
    const prefix = `10.${200 + Math.floor(slot / 250)}.${slot % 250}`;
    if (!used.includes(`${prefix}.`)) return prefix;
  }
  throw new Error("no free /24 in 10.200–10.249 for the validators' bridge");
}

/** Whether process `pid` still runs (EPERM: it runs, as another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the namespaces and links of runs whose process is gone without cleaning up (killed with SIGKILL): the names
 * carry the creator's pid. A namespace something still runs in (an orphaned node) is left alone, with its links.
 * Returns what it removed.
 */
export function removeStaleNetworks(): { namespaces: string[]; links: string[] } {
  const runOf = (name: string) => /^co(\d+[a-z])/.exec(name)?.[1];
  const deadRun = (name: string) => {
    const run = runOf(name);
    const pid = run === undefined ? NaN : parseInt(run, 10);
    return run !== undefined && pid !== process.pid && !isAlive(pid);
  };
  const candidates = namesOf(deadRun);
  const busyRuns = new Set(
    candidates.namespaces.filter((ns) => execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).trim() !== "").map(runOf),
  );
  const removable = (name: string) => !busyRuns.has(runOf(name));
  const namespaces = candidates.namespaces.filter(removable);
  const links = candidates.links.filter(removable);
  for (const link of links) ipQuiet("link", "del", link);
  for (const namespace of namespaces) ipQuiet("netns", "del", namespace);
  return { namespaces, links };
}

/**
 * Creates the bridge and `count` namespaces with their links, up and addressed (after removing those of dead runs).
 * On a failure half-way it removes what it made and rethrows.
 */
export function createPrivateNetwork(count: number): PrivateNetwork {
  if (count < 1 || count > 200) throw new Error(`a private network holds 1..200 machines, asked for ${count}`);
  removeStaleNetworks();
  // Interface names are at most 15 bytes: "co" + pid (≤ 7 digits) + a letter per network of this run + role + index.
  const tag = `co${process.pid}${String.fromCharCode(97 + (networksMade++ % 26))}`;
  const prefix = freeSubnet();
  const bridge = `${tag}br`;
  const hosts: NamespaceHost[] = [];
  let destroyed = false;
  const network: PrivateNetwork = {
    bridge,
    gateway: `${prefix}.1`,
    subnet: `${prefix}.0/24`,
    hosts,
    partition: (index) => ip("link", "set", hostOf(index).hostVeth, "down"),
    heal: (index) => ip("link", "set", hostOf(index).hostVeth, "up"),
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const host of hosts) {
        ipQuiet("link", "del", host.hostVeth); // takes its peer inside the namespace with it
        ipQuiet("netns", "del", host.namespace);
      }
      ipQuiet("link", "del", bridge);
    },
  };
  function hostOf(index: number): NamespaceHost {
    const host = hosts[index];
    if (!host) throw new Error(`no machine ${index} on ${bridge} (it has ${hosts.length})`);
    return host;
  }
  try {
    ip("link", "add", bridge, "type", "bridge");
    ip("addr", "add", `${network.gateway}/24`, "dev", bridge);
    ip("link", "set", bridge, "up");
    for (let i = 0; i < count; i++) {
      const host: NamespaceHost = {
        namespace: `${tag}-v${i}`,
        hostVeth: `${tag}h${i}`,
        address: `${prefix}.${i + 2}`,
        exec: ["ip", "netns", "exec", `${tag}-v${i}`],
      };
      const inner = `${tag}n${i}`;
      ip("netns", "add", host.namespace);
      hosts.push(host);
      ip("link", "add", host.hostVeth, "type", "veth", "peer", "name", inner);
      ip("link", "set", inner, "netns", host.namespace);
      ip("link", "set", host.hostVeth, "master", bridge);
      ip("link", "set", host.hostVeth, "up");
      ip("-n", host.namespace, "addr", "add", `${host.address}/24`, "dev", inner);
      ip("-n", host.namespace, "link", "set", inner, "up");
      ip("-n", host.namespace, "link", "set", "lo", "up");
    }
  } catch (error) {
    network.destroy();
    throw error;
  }
  return network;
}

/** The namespaces and links `createPrivateNetwork` would name for this process: a test checks none outlive it. */
export function leftoversOf(pid = process.pid): { namespaces: string[]; links: string[] } {
  return namesOf((name) => new RegExp(`^co${pid}[a-z]`).test(name));
}

/** Namespaces and links (bridges and veths) whose names pass `wanted`. */
function namesOf(wanted: (name: string) => boolean): { namespaces: string[]; links: string[] } {
  const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(" ")[0])
    .filter(wanted);
  const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(":")[1]?.trim().split("@")[0] ?? "")
    .filter(wanted);
  return { namespaces, links };
}
