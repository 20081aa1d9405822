import type pino from "pino";
import WebSocket from "ws";
import { backoffDelayMs } from "../backoff";
import { quantity } from "./jsonRpc";
import { redactUrl } from "./rpc";

/**
 * A chain node's `newHeads` subscription over WebSocket (`eth_subscribe`): it tells the head tracker that a block
 * arrived, so the tracker reads it at once instead of asking for the head every poll interval. It only wakes the
 * tracker: the blocks themselves are still read over the node's HTTP RPC, so a notification that is lost, late or
 * false costs at most a poll. The socket reconnects with back-off and resubscribes; while it is down the tracker polls
 * as it does without one.
 */
export interface NewHeadsFeed {
  /** True while subscribed: the tracker then polls only as a check. */
  live(): boolean;
  close(): Promise<void>;
}

export interface NewHeadsOptions {
  url: string;
  /** Called with the block number of each head the node announces. */
  onHead(number: number): void;
  /** Called when the subscription starts or ends (connection lost). */
  onLiveChange?(live: boolean): void;
  logger: pino.Logger;
  /** First reconnect delay (doubling up to `reconnectCapMs`). */
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  /** How often the socket is pinged (a socket that misses a pong is dropped). */
  pingIntervalMs?: number;
}

const SUBSCRIBE_ID = 1;
/** A socket that does not open or subscribe within this long is dropped and tried again. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * A ping this often; a socket that has not answered the last one by the next is dropped. A network that drops packets
 * instead of closing the connection (a partition) would otherwise leave a socket that looks subscribed and says
 * nothing.
 */
const PING_INTERVAL_MS = 5_000;
/** A newHeads notification is a block header, about 1 KB: a larger message drops the socket (ws closes it, 1009). */
const MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * The head number of an `eth_subscription` notification, or undefined for any other message. The message comes from
 * the network: anything that is not a notification of this subscription with a hex block number is ignored.
 */
export function headNumberOf(message: unknown, subscription: string | undefined): number | undefined {
  if (subscription === undefined || typeof message !== "object" || message === null) return undefined;
  const { method, params } = message as { method?: unknown; params?: { subscription?: unknown; result?: { number?: unknown } } };
  if (method !== "eth_subscription" || params?.subscription !== subscription) return undefined;
  try {
    return quantity(params.result?.number, "announced head number");
  } catch {
    return undefined;
  }
}

export function subscribeNewHeads(options: NewHeadsOptions): NewHeadsFeed {
  const log = options.logger.child({ component: "new-heads", url: redactUrl(options.url) });
  const policy = { baseMs: options.reconnectBaseMs ?? 500, capMs: options.reconnectCapMs ?? 10_000, jitter: true };
  let socket: WebSocket | undefined;
  let subscription: string | undefined;
  let closed = false;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

  function setLive(id: string | undefined) {
    const was = subscription !== undefined;
    subscription = id;
    if (was !== (id !== undefined)) options.onLiveChange?.(id !== undefined);
  }

  function connect() {
    if (closed) return;
    const ws = new WebSocket(options.url, { handshakeTimeout: HANDSHAKE_TIMEOUT_MS, maxPayload: MAX_MESSAGE_BYTES });
    socket = ws;
    const subscribeTimer = setTimeout(() => ws.terminate(), HANDSHAKE_TIMEOUT_MS);
    let answeredPing = true;
    let pinger: NodeJS.Timeout | undefined;
    ws.on("open", () => {
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: SUBSCRIBE_ID, method: "eth_subscribe", params: ["newHeads"] }));
      pinger = setInterval(() => {
        if (!answeredPing) return ws.terminate();
        answeredPing = false;
        ws.ping();
      }, options.pingIntervalMs ?? PING_INTERVAL_MS);
    });
    ws.on("pong", () => {
      answeredPing = true;
    });
    ws.on("message", (data) => {
      let message: unknown;
      try {
        message = JSON.parse(data.toString());
      } catch {
        return;
      }
      const reply = message as { id?: unknown; result?: unknown; error?: { message?: unknown } };
      if (reply?.id === SUBSCRIBE_ID) {
        clearTimeout(subscribeTimer);
        if (typeof reply.result === "string") {
          if (failures > 0) log.info({ failures }, "newHeads subscription back");
          else log.info("subscribed to newHeads: blocks are read as they are announced");
          failures = 0;
          setLive(reply.result);
        } else {
          // A node without subscriptions: polling stays the way, and the socket is tried again later.
          log.warn({ error: reply.error?.message }, "newHeads subscription refused; polling for blocks");
          ws.close();
        }
        return;
      }
      const number = headNumberOf(message, subscription);
      if (number !== undefined) options.onHead(number);
    });
    ws.on("error", (error) => {
      // "close" follows; the error says why.
      if (failures === 0) log.warn({ err: error }, "newHeads socket failed; polling for blocks until it is back");
    });
    ws.on("close", () => {
      clearTimeout(subscribeTimer);
      clearInterval(pinger);
      if (socket === ws) socket = undefined;
      setLive(undefined);
      if (closed) return;
      failures++;
      retryTimer = setTimeout(connect, backoffDelayMs(policy, failures));
    });
  }

  connect();
  return {
    live: () => subscription !== undefined,
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        clearTimeout(retryTimer);
        setLive(undefined);
        const ws = socket;
        if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once("close", () => resolve());
        // terminate, not close: a node that stopped answering must not hold the shutdown for the closing handshake.
        ws.terminate();
      });
      return closing;
    },
  };
}
