import { expect } from "chai";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { type PrivateNetwork, createPrivateNetwork, leftoversOf, namespaceSupport, removeStaleNetworks } from "../../scripts/demo/netns";

/** GET http://address:port/ from this (the host's) namespace: the body, or "unreachable" within 1.5 s. */
async function get(address: string, port: number): Promise<string> {
  try {
    const response = await fetch(`http://${address}:${port}/`, { signal: AbortSignal.timeout(1_500) });
    return await response.text();
  } catch {
    return "unreachable";
  }
}

/** A one-line HTTP server answering its namespace's name, run inside the namespace through `exec`. */
function serveInside(exec: string[], address: string, port: number, name: string): ChildProcess {
  const script = `require("http").createServer((q, r) => r.end(${JSON.stringify(name)})).listen(${port}, ${JSON.stringify(address)}, () => console.log("up"))`;
  const [bin, ...args] = [...exec, process.execPath, "-e", script];
  return spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"] });
}

const support = namespaceSupport();

describe("scripts/demo/netns: a private bridge with one namespace per machine", function () {
  this.timeout(60_000);
  let network: PrivateNetwork | undefined;
  const servers: ChildProcess[] = [];

  afterEach(function () {
    for (const server of servers.splice(0)) server.kill("SIGKILL");
    network?.destroy();
    network = undefined;
  });

  it(support.ok ? "links each namespace to the host over the bridge; partition cuts one off, heal brings it back" : `says why namespaces cannot be made: ${support.ok || support.reason}`, async function () {
    if (!support.ok) {
      expect(support.reason).to.match(/^(network namespaces need|iproute2)/);
      return;
    }
    network = createPrivateNetwork(2);
    expect(network.gateway).to.match(/^10\.2[0-4]\d\.\d{1,3}\.1$/);
    expect(network.hosts.map((h) => h.address)).to.deep.equal([2, 3].map((n) => network!.gateway.replace(/\.1$/, `.${n}`)));
    for (const [i, host] of network.hosts.entries()) {
      const server = serveInside(host.exec, host.address, 8080, `machine ${i}`);
      servers.push(server);
      await new Promise((resolve) => server.stdout!.once("data", resolve));
    }
    expect(await get(network.hosts[0].address, 8080)).to.equal("machine 0");
    expect(await get(network.hosts[1].address, 8080)).to.equal("machine 1");
    network.partition(0);
    expect(await get(network.hosts[0].address, 8080)).to.equal("unreachable");
    expect(await get(network.hosts[1].address, 8080)).to.equal("machine 1");
    network.heal(0);
    expect(await get(network.hosts[0].address, 8080)).to.equal("machine 0");
  });

  it("removes its namespaces, veths and bridge on destroy, and two networks of one process get different names and subnets", function () {
    if (!support.ok) {
      expect(() => createPrivateNetwork(1)).to.throw();
      return;
    }
    const first = createPrivateNetwork(1);
    const second = createPrivateNetwork(1);
    try {
      expect(first.bridge).to.not.equal(second.bridge);
      expect(first.subnet).to.not.equal(second.subnet);
      expect(leftoversOf().namespaces).to.include.members([first.hosts[0].namespace, second.hosts[0].namespace]);
    } finally {
      first.destroy();
      second.destroy();
    }
    expect(leftoversOf()).to.deep.equal({ namespaces: [], links: [] });
  });

  it("removes the namespaces and links of a run whose process died without cleaning up, and no one else's", function () {
    if (!support.ok) {
      expect(() => removeStaleNetworks()).to.throw();
      return;
    }
    const dead = spawnSync("true").pid as number; // exited: its pid names a run that is gone
    const made = [`co${dead}a-v0`, `co${dead}abr`];
    execFileSync("ip", ["netns", "add", made[0]]);
    execFileSync("ip", ["link", "add", made[1], "type", "bridge"]);
    network = createPrivateNetwork(1); // a live run: this process's
    try {
      expect(leftoversOf(dead)).to.deep.equal({ namespaces: [], links: [] });
      expect(leftoversOf().namespaces).to.deep.equal([network.hosts[0].namespace]);
    } finally {
      spawnSync("ip", ["netns", "del", made[0]]);
      spawnSync("ip", ["link", "del", made[1]]);
    }
  });
});
