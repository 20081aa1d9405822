import { expect } from "chai";
import pino from "pino";
import net from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import { createHeadTracker } from "../../../oracle/src/chain/heads";
import { headNumberOf, subscribeNewHeads } from "../../../oracle/src/chain/newHeads";
import { createProvider } from "../../../oracle/src/chain/rpc";
import { createShutdown, type Common } from "../../../oracle/src/common";
import { parseConfig } from "../../../oracle/src/config";
import { createMetrics } from "../../../oracle/src/metrics";
import { openDatabase } from "../../../oracle/src/store/database";
import { freePort } from "../../../scripts/demo/hardhatNode";
import { CHAIN_KINDS, type ChainNode, LOCAL_CHAIN_ID, startChainNode } from "../../../scripts/demo/chainNode";
import { until } from "../../helpers/waitFor";

const silent = pino({ level: "silent" });

function makeCommon(argv: string[]): Common {
  const config = parseConfig({ argv, env: {} }).config;
  return { config, logger: silent, metrics: createMetrics(), db: openDatabase(":memory:"), shutdown: createShutdown(silent) };
}

async function mine(node: ChainNode): Promise<void> {
  const response = await fetch(node.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "evm_mine", params: [] }),
  });
  expect(response.ok).to.equal(true);
}

/** `provider` with its `eth_blockNumber` calls (head polls) counted. */
function countingHeadPolls(provider: { send(method: string, params: unknown[]): Promise<unknown> }) {
  const counted = {
    headPolls: 0,
    send(method: string, params: unknown[]) {
      if (method === "eth_blockNumber") counted.headPolls++;
      return provider.send(method, params);
    },
  };
  return counted;
}

/** A feed on `url` that records the heads announced and its live changes, reconnecting within 50–200 ms. */
function recordingFeed(url: string, pingIntervalMs?: number) {
  const heads: number[] = [];
  const changes: boolean[] = [];
  const feed = subscribeNewHeads({
    url,
    logger: silent,
    onHead: (n) => heads.push(n),
    onLiveChange: (live) => changes.push(live),
    reconnectBaseMs: 50,
    reconnectCapMs: 200,
    pingIntervalMs,
  });
  return { feed, heads, changes };
}

/**
 * A WebSocket endpoint on a free port that answers each connection's `eth_subscribe` with subscription "0x5", then
 * calls `afterSubscribe` with the socket and the connection's number (from 1).
 */
async function fakeNewHeadsServer(afterSubscribe: (socket: WebSocket, connection: number) => void) {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  let connections = 0;
  server.on("connection", (socket) => {
    const connection = ++connections;
    socket.on("message", (data) => {
      const { id } = JSON.parse(data.toString()) as { id: number };
      socket.send(JSON.stringify({ jsonrpc: "2.0", id, result: "0x5" }));
      afterSubscribe(socket, connection);
    });
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections: () => connections,
    async close() {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An `eth_subscription` message of subscription "0x5" announcing `header`. */
const announcement = (header: Record<string, unknown>) =>
  JSON.stringify({ jsonrpc: "2.0", method: "eth_subscription", params: { subscription: "0x5", result: header } });

describe("headNumberOf: what a newHeads message may contain", function () {
  const notification = (subscription: string, number: unknown) => ({
    jsonrpc: "2.0",
    method: "eth_subscription",
    params: { subscription, result: { number, hash: "0x01" } },
  });

  it("reads the head number of a notification of this subscription", function () {
    expect(headNumberOf(notification("0xabc", "0x1f"), "0xabc")).to.equal(31);
  });

  it("ignores other subscriptions, other methods, numbers that are not hex quantities, and anything else", function () {
    expect(headNumberOf(notification("0xother", "0x1"), "0xabc")).to.equal(undefined);
    expect(headNumberOf(notification("0xabc", "0x1"), undefined), "no subscription yet").to.equal(undefined);
    expect(headNumberOf({ ...notification("0xabc", "0x1"), method: "eth_other" }, "0xabc")).to.equal(undefined);
    for (const number of [31, "31", "0x", "0xzz", `0x${"f".repeat(15)}`, null, undefined]) {
      expect(headNumberOf(notification("0xabc", number), "0xabc"), String(number)).to.equal(undefined);
    }
    for (const message of [null, "text", 7, [], { method: "eth_subscription" }, { method: "eth_subscription", params: { subscription: "0xabc" } }]) {
      expect(headNumberOf(message, "0xabc"), JSON.stringify(message)).to.equal(undefined);
    }
  });
});

for (const kind of CHAIN_KINDS) {
  describe(`head tracker on ${kind}'s newHeads subscription`, function () {
    this.timeout(120_000);
    let node: ChainNode;
    before(async function () {
      node = await startChainNode(kind);
    });
    after(async function () {
      await node?.stop();
    });

    it("reads an announced block the RPC does not serve yet once it does (a lagging HTTP backend)", async function () {
      const provider = createProvider(node.url, LOCAL_CHAIN_ID);
      let lagging = 0;
      let hidden = -1;
      const behind = {
        async send(method: string, params: unknown[]) {
          // The newest block's first two reads answer null, as a backend a block behind the WebSocket one would.
          if (method === "eth_getBlockByNumber" && Number.parseInt(params[0] as string, 16) === hidden && lagging < 2) {
            lagging++;
            return null;
          }
          return provider.send(method, params);
        },
      };
      const tracker = createHeadTracker(makeCommon(["--poll-interval-ms", "50", "--ws-url", node.wsUrl]), behind);
      tracker.start();
      try {
        const start = (await tracker.current()).number;
        hidden = start + 1;
        await mine(node);
        await until(`block ${hidden} seen`, () => tracker.latest()?.number === hidden, 20_000);
        expect(lagging).to.equal(2);
      } finally {
        await tracker.stop();
        provider.destroy();
      }
    });

    it("reads each block as the node announces it, with polling alone ten minutes apart", async function () {
      const provider = createProvider(node.url, LOCAL_CHAIN_ID);
      const counted = countingHeadPolls(provider);
      const tracker = createHeadTracker(makeCommon(["--poll-interval-ms", "600000", "--ws-url", node.wsUrl]), counted);
      tracker.start();
      try {
        const start = (await tracker.current()).number;
        for (let i = 1; i <= 3; i++) {
          await mine(node);
          await until(`block ${start + i} seen`, () => tracker.latest()?.number === start + i, 20_000);
        }
        // The first poll (and `current()`'s if it came first) and one when the subscription began. An announced block
        // is read by its number: no head-number call for it.
        expect(counted.headPolls).to.be.at.most(3);
      } finally {
        await tracker.stop();
        provider.destroy();
      }
    });
  });
}

describe("newHeads subscription faults", function () {
  this.timeout(120_000);

  it("resubscribes when its chain node comes back after a crash", async function () {
    let node = await startChainNode("anvil");
    const port = node.port;
    const { feed, heads, changes } = recordingFeed(node.wsUrl);
    try {
      await until("subscribed", () => feed.live(), 20_000);
      await mine(node);
      await until("block 1 announced", () => heads.includes(1), 20_000);

      await node.kill();
      await until("subscription lost", () => !feed.live(), 20_000);
      node = await startChainNode("anvil", { port });
      await until("subscribed again", () => feed.live(), 20_000);
      // A new chain: its first block is 1 again.
      heads.length = 0;
      await mine(node);
      await until("block 1 of the new node announced", () => heads.includes(1), 20_000);
      expect(changes).to.deep.equal([true, false, true]);
    } finally {
      await feed.close();
      await node.stop();
    }
    expect(feed.live()).to.equal(false);
  });

  it("drops a socket that stops answering without closing (a partition) and subscribes again once it is healed", async function () {
    const node = await startChainNode("anvil");
    // A TCP relay to the node that can swallow every byte both ways while keeping its connections open.
    let frozen = false;
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      const upstream = net.connect(node.port, "127.0.0.1");
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("error", () => undefined);
        socket.on("close", () => sockets.delete(socket));
      }
      client.on("data", (data) => frozen || upstream.write(data));
      upstream.on("data", (data) => frozen || client.write(data));
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
    const { feed, heads, changes } = recordingFeed(`ws://127.0.0.1:${(relay.address() as net.AddressInfo).port}`, 100);
    try {
      await until("subscribed", () => feed.live(), 20_000);
      frozen = true;
      await until("silent socket dropped", () => !feed.live(), 20_000);
      frozen = false;
      await until("subscribed again", () => feed.live(), 30_000);
      await mine(node);
      await until("block 1 announced", () => heads.includes(1), 20_000);
      expect(changes.slice(0, 2)).to.deep.equal([true, false]);
      expect(changes.at(-1)).to.equal(true);
    } finally {
      await feed.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
      await node.stop();
    }
  });

  it("drops a socket that sends a message far larger than a block header, and subscribes again", async function () {
    // After the subscription: 1 MiB on the first connection, an ordinary head on later ones.
    const server = await fakeNewHeadsServer((socket, connection) => {
      socket.send(announcement(connection === 1 ? { number: "0x1", extra: "a".repeat(1 << 20) } : { number: "0x2" }));
    });
    const { feed, heads, changes } = recordingFeed(server.url);
    try {
      await until("the second connection's head", () => heads.includes(2), 20_000);
      expect(heads, "the oversized message is never read").to.deep.equal([2]);
      expect(server.connections()).to.equal(2);
      expect(changes.slice(0, 3)).to.deep.equal([true, false, true]);
    } finally {
      await feed.close();
      await server.close();
    }
  });

  it("reads no faster than its poll interval while announced blocks do not exist (a flood of false heads)", async function () {
    const server = await fakeNewHeadsServer((socket) => {
      // A false head every 5 ms, each higher than the last.
      let n = 2;
      const flood = setInterval(() => socket.send(announcement({ number: `0x${(n++).toString(16)}` })), 5);
      socket.on("close", () => clearInterval(flood));
    });
    // A chain at block 1 over HTTP: every announced block is one it does not have.
    let blockReads = 0;
    const provider = {
      async send(method: string, params: unknown[]) {
        if (method === "eth_blockNumber") return "0x1";
        if (method === "eth_getBlockByNumber") {
          blockReads++;
          if (Number.parseInt(params[0] as string, 16) !== 1) return null;
          return { number: "0x1", hash: `0x${"11".repeat(32)}`, parentHash: `0x${"00".repeat(32)}`, timestamp: "0x1", transactions: [] };
        }
        throw new Error(`no ${method} here`);
      },
    };
    const tracker = createHeadTracker(makeCommon(["--poll-interval-ms", "500", "--ws-url", server.url]), provider);
    tracker.start();
    try {
      await until("an announced block asked for", () => blockReads >= 2, 20_000);
      await new Promise((r) => setTimeout(r, 1_500));
      // At one read per 500 ms interval: a handful. Woken by each announcement, one read per 5 ms: hundreds.
      expect(blockReads).to.be.at.most(12);
      expect(tracker.latest()?.number).to.equal(1);
    } finally {
      await tracker.stop();
      await server.close();
    }
  });

  it("leaves the tracker polling at its interval when nothing listens at the WebSocket URL", async function () {
    const node = await startChainNode("anvil");
    const provider = createProvider(node.url, LOCAL_CHAIN_ID);
    const wsUrl = `ws://127.0.0.1:${await freePort()}`;
    const counted = countingHeadPolls(provider);
    const tracker = createHeadTracker(makeCommon(["--poll-interval-ms", "10", "--ws-url", wsUrl]), counted);
    tracker.start();
    try {
      const start = (await tracker.current()).number;
      await mine(node);
      await mine(node);
      await until("blocks seen by polling", () => tracker.latest()?.number === start + 2, 20_000);
      // At the 10 ms interval: a tracker that took the dead feed for a live one would poll every 2 s (40 s for these).
      const polled = counted.headPolls;
      await until("20 more polls", () => counted.headPolls >= polled + 20, 20_000);
    } finally {
      await tracker.stop();
      provider.destroy();
      await node.stop();
    }
  });
});
