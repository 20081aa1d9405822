import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";
import type { Logger } from "pino";
import type { Metrics } from "../metrics";

/** A caller's own request id is kept when it is short and plain (it is echoed into logs and a header). */
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Probes an orchestrator polls every few seconds: logged at debug, not info. */
const PROBES = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * Gives every request an id (the caller's `X-Request-Id` when plain, else a fresh UUID), echoes it in the response's
 * `X-Request-Id`, and on finish writes one access-log line and counts the response by route pattern and status.
 */
export function accessLog(logger: Logger, metrics: Metrics): RequestHandler {
  const log = logger.child({ component: "http" });
  return (req, res, next) => {
    const given = req.get("x-request-id");
    const requestId = given && CALLER_REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader("X-Request-Id", requestId);
    const started = performance.now();
    res.on("finish", () => {
      const route = req.route?.path ? String(req.route.path) : "unmatched";
      metrics.httpRequestsTotal.inc({ route, code: String(res.statusCode) });
      const fields = {
        requestId,
        method: req.method,
        path: req.path,
        route,
        status: res.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
        client: req.ip,
      };
      if (PROBES.has(req.path)) log.debug(fields, "http request");
      else log.info(fields, "http request");
    });
    next();
  };
}
