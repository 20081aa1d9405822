import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import express from "express";
import type { Common } from "../common";
import type { InferenceEngine } from "../inference";
import { NonRetryableError } from "../errors";
import { createBatchStore, type BatchStore } from "../store/batchStore";
import type { BatchAnchorer } from "../store/batchAnchorer";
import { createContentStore, type ContentStore } from "../store/contentStore";
import type { ApiKeySet } from "./apiKeys";
import type { ChainViews } from "./chainViews";
import { accessLog } from "./accessLog";
import { createErrorHandler, errorBody, notFoundHandler } from "./errors";
import { createHostCheck } from "./hostCheck";
import { createTokenBucketLimiter, rateLimitMiddleware } from "./rateLimit";
import { adminRoutes } from "./routes/admin";
import { chatRoutes } from "./routes/chat";
import { eventRoutes, type EventHub, createEventHub } from "./routes/events";
import { healthRoutes } from "./routes/health";
import { networkRoutes } from "./routes/network";
import { recordRoutes } from "./routes/records";
import { requestRoutes } from "./routes/requests";
import { conversationRoutes } from "./routes/conversations";

/** One named readiness condition, with what is wrong when it is not ok. */
export interface ReadinessCondition {
  name: string;
  ok: boolean;
  message?: string;
}

export interface PauseControl {
  pause(): void;
  resume(): void;
  isPaused(): boolean;
}

/** What the API needs from the rest of the node (node.ts provides it). */
export interface HttpDeps {
  /** Undefined while the model loads; read on every request, so main.ts may set it later. */
  engine: InferenceEngine | undefined;
  chain: ChainViews;
  /** True once the model is loaded and the chain backlog processed. */
  isReady(): boolean;
  /**
   * The node's readiness conditions (wallet above reserve, inference alive, ...): /readyz answers 503 while any is not
   * ok, and lists them all.
   */
  readiness?(): ReadinessCondition[];
  /** Anchors POST /v1/chat records; without it records are stored but never batched. */
  anchorer?: BatchAnchorer;
  pause?: PauseControl;
  /** Defaults to a content store over common.db. */
  contentStore?: ContentStore;
  /** On-chain model id of the loaded engine; defaults to the registered model whose hash equals engine.modelHash. */
  modelId?: number;
  /** Keys that may call POST /v1/chat (off-chain chat is off without them); see `loadApiKeysFile`. */
  apiKeys?: ApiKeySet;
  /** Adds routes (the monitoring page) before the JSON 404 handler. */
  mount?: (app: express.Express) => void;
}

export interface HttpLimits {
  /** Largest request body in bytes; by default room for the longest prompt in 4-byte UTF-8 plus the JSON around it. */
  maxBodyBytes: number;
  /** Largest header block in bytes (Node's maxHeaderSize); bigger requests get 431 JSON. */
  maxHeaderBytes: number;
}

/** Everything a route handler reads; one object so route files stay small. */
export interface ApiContext {
  common: Common;
  deps: HttpDeps;
  contentStore: ContentStore;
  batchStore: BatchStore;
  events: EventHub;
  limits: HttpLimits;
  startedAt: number;
}

export interface RunningHttpServer {
  url: string;
  close(): Promise<void>;
}

export interface HttpServer {
  app: express.Express;
  listen(): Promise<RunningHttpServer>;
}

/** A port that cannot be taken is bad configuration: one line naming the option, not a stack trace. */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `${host}:${port}`;
  if (error.code === "EADDRINUSE") {
    return new NonRetryableError(`--http-port ${port}: ${where} is already in use (another oracle node?); choose another port`, { cause: error });
  }
  if (error.code === "EACCES") return new NonRetryableError(`--http-port ${port}: no permission to listen on ${where}`, { cause: error });
  if (error.code === "EADDRNOTAVAIL") return new NonRetryableError(`--http-host ${host}: not an address of this machine`, { cause: error });
  return error;
}

export function createHttpServer(common: Common, deps: HttpDeps, limitOverrides: Partial<HttpLimits> = {}): HttpServer {
  const { config, logger, metrics } = common;
  const limits: HttpLimits = {
    maxBodyBytes: limitOverrides.maxBodyBytes ?? config.maxPromptChars * 4 + 4096,
    maxHeaderBytes: limitOverrides.maxHeaderBytes ?? 16 * 1024,
  };
  const contentStore = deps.contentStore ?? createContentStore(common.db);
  const batchStore = deps.anchorer?.store ?? createBatchStore(common.db);
  const events = createEventHub(deps, logger);
  metrics.beforeScrape.add(() => metrics.sseSubscribers.set(events.subscribers));
  const ctx: ApiContext = { common, deps, contentStore, batchStore, events, limits, startedAt: Date.now() };

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("trust proxy", config.trustProxy);
  app.use(accessLog(logger, metrics));
  app.use(createHostCheck({ httpHost: config.httpHost, publicUrl: config.publicUrl, allowedHosts: config.allowedHosts }));
  app.use(healthRoutes(ctx));
  const limiter = createTokenBucketLimiter({ perMinute: config.rateLimitPerMinute });
  app.use("/v1", rateLimitMiddleware(limiter, config.rateLimitPerMinute));
  // Routers carry full paths (not mounted under a prefix) so `req.route.path` is the whole pattern for the metric.
  for (const routes of [chatRoutes, requestRoutes, conversationRoutes, recordRoutes, networkRoutes, eventRoutes, adminRoutes]) app.use(routes(ctx));
  deps.mount?.(app);
  app.use(notFoundHandler);
  app.use(createErrorHandler(logger, metrics));

  return {
    app,
    async listen() {
      const server = http.createServer({ maxHeaderSize: limits.maxHeaderBytes }, app);
      server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => answerClientError(error, socket));
      await new Promise<void>((resolve, reject) => {
        server.once("error", (error: NodeJS.ErrnoException) => reject(listenError(error, config.httpHost, config.httpPort)));
        server.listen(config.httpPort, config.httpHost, () => {
          server.off("error", reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
      const url = `http://${host}:${address.port}`;
      logger.info({ url }, "http api listening");
      let closing: Promise<void> | undefined;
      return {
        url,
        close() {
          closing ??= new Promise<void>((resolve) => {
            events.close();
            server.close(() => resolve());
            // Server-sent event streams and idle keep-alive sockets would otherwise hold close() open.
            server.closeIdleConnections();
            setTimeout(() => server.closeAllConnections(), 1000).unref();
          });
          return closing;
        },
      };
    },
  };
}

/**
 * Node answers malformed requests itself (431 for huge headers, 400 for a bad request line) with an empty body; this
 * sends the API's JSON error shape instead and closes the socket.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket) {
  if (!socket.writable || (error.code === "ECONNRESET" && socket.destroyed)) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "Request Header Fields Too Large", "headers_too_large", "the request headers are too large"]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request Timeout", "request_timeout", "the request took too long to arrive"]
        : [400, "Bad Request", "bad_request", "the request is not valid HTTP"];
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
