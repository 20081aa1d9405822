import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";
import { OracleError, RetryableError } from "../errors";
import type { Metrics } from "../metrics";

/**
 * An error with its HTTP status and a stable machine-readable code; routes throw it and the error handler turns it
 * into `{error: {code, message}}`. Anything else that reaches the handler is a bug: 500, logged and counted.
 */
export class HttpError extends OracleError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** the request field at fault, when there is one (the OpenAI error shape's `param`) */
    readonly param: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** The OpenAI error shape, which the OpenAI-compatible routes answer in (its SDKs read `error.message`, `type`, `code`). */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

export function openAiErrorBody(status: number, code: string, message: string, param: string | null = null): OpenAiErrorBody {
  const type =
    status === 401 ? "authentication_error"
    : status === 403 ? "permission_error"
    : status === 429 ? "rate_limit_error"
    : status >= 500 ? "server_error"
    : "invalid_request_error";
  return { error: { message, type, param, code } };
}

/** Paths whose errors are in the OpenAI shape: /v1/chat/completions and /v1/models (and anything under them). */
export function isOpenAiPath(path: string): boolean {
  return /^\/v1\/(chat\/completions|models)(\/|$)/.test(path);
}

/** Unknown routes get the same JSON shape as every other error. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, "not_found", `no route for ${req.method} ${req.path.slice(0, 200)}`));
};

/**
 * The last handler. Express's own body-parser style errors (with `status`/`type`) are mapped to 4xx; everything else
 * counts in `unhandled_errors_total` and answers 500 without internals (stack traces and key material stay in logs,
 * and the logger redacts keys).
 */
export function createErrorHandler(logger: Logger, metrics: Metrics): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const openAi = isOpenAiPath(req.path);
    const body = (status: number, code: string, message: string, param: string | null = null) =>
      openAi ? openAiErrorBody(status, code, message, param) : errorBody(code, message);
    if (res.headersSent) {
      // A stream (SSE) already started: the only thing left to do is to close it.
      res.destroy();
      return;
    }
    if (error instanceof HttpError) {
      for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
      res.status(error.status).json(body(error.status, error.code, error.message, error.param));
      return;
    }
    if (error instanceof RetryableError) {
      // RPC down or database busy: the client may retry. The message stays generic because RPC URLs can carry keys.
      logger.warn({ err: error, requestId: res.locals.requestId, route: req.route?.path ?? req.path }, "http request hit a retryable error");
      res.setHeader("Retry-After", "2");
      res.status(503).json(body(503, "unavailable", "the chain RPC or the database is unavailable; retry shortly"));
      return;
    }
    const status = (error as { status?: unknown })?.status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      const type = String((error as { type?: unknown }).type ?? "bad_request").replace(/\./g, "_");
      res.status(status).json(body(status, type, (error as Error).message ?? "bad request"));
      return;
    }
    metrics.unhandledErrorsTotal.inc();
    logger.error({ err: error, requestId: res.locals.requestId, method: req.method, route: req.route?.path ?? req.path }, "unhandled http error");
    res.status(500).json(body(500, "internal", "internal error; see the node's log"));
  };
}
