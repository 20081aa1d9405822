import { Router } from "express";
import type { Logger } from "pino";
import { HttpError } from "../errors";
import type { ApiContext, HttpDeps } from "../server";

export type ApiEvent = { type: "chain" | "record" | "batch"; data: unknown };

/** Fans API events (new chain events, new records, anchored batches) out to /v1/events streams. */
export interface EventHub {
  publish(event: ApiEvent): void;
  subscribe(listener: (event: ApiEvent) => void): () => void;
  readonly subscribers: number;
  close(): void;
}

export function createEventHub(deps: HttpDeps, logger: Logger): EventHub {
  const listeners = new Set<(event: ApiEvent) => void>();
  let stopChain: (() => void) | undefined;
  const stopBatches = deps.anchorer?.onBatch((batch) => hub.publish({ type: "batch", data: batch }));
  const hub: EventHub = {
    publish(event) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          logger.warn({ err: error }, "event stream listener failed");
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      // Chain polling runs only while someone listens.
      stopChain ??= deps.chain.onActivity((activity) => hub.publish({ type: "chain", data: activity }));
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          stopChain?.();
          stopChain = undefined;
        }
      };
    },
    get subscribers() {
      return listeners.size;
    },
    close() {
      listeners.clear();
      stopChain?.();
      stopChain = undefined;
      stopBatches?.();
    },
  };
  return hub;
}

/** GET /v1/events: server-sent events `chain`, `record` and `batch`, each with a JSON `data` line. */
export function eventRoutes(ctx: ApiContext): Router {
  const router = Router();
  const maxStreams = ctx.common.config.maxEventStreams;
  router.get("/v1/events", (req, res) => {
    // Each stream holds a socket and a listener for as long as the client likes: bounded, or they exhaust the node.
    if (ctx.events.subscribers >= maxStreams) {
      throw new HttpError(503, "too_many_streams", `this node serves at most ${maxStreams} event streams at once`, { "Retry-After": "10" });
    }
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.write("retry: 2000\n: connected\n\n");
    let id = 0;
    const unsubscribe = ctx.events.subscribe((event) => {
      res.write(`id: ${++id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    });
    // A comment line every 15 s keeps proxies from closing an idle stream.
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
    heartbeat.unref();
    const stop = () => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    req.on("close", stop);
    res.on("close", stop);
  });
  return router;
}
