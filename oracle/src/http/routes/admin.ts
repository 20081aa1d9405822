import { createHash, timingSafeEqual } from "node:crypto";
import { Router, type RequestHandler } from "express";
import { HttpError } from "../errors";
import type { ApiContext } from "../server";

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * Bearer-token check. Both sides are hashed first so the comparison is constant-time whatever the lengths; the token
 * itself is never logged or echoed.
 */
export function requireAdminToken(token: string | undefined): RequestHandler {
  const expected = token === undefined ? undefined : digest(token);
  return (req, _res, next) => {
    if (!expected) return next(new HttpError(403, "admin_disabled", "admin routes are off: the node has no admin token"));
    const header = req.get("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      return next(new HttpError(401, "unauthorized", "missing bearer token", { "WWW-Authenticate": 'Bearer realm="admin"' }));
    }
    if (!timingSafeEqual(digest(match[1]), expected)) {
      return next(new HttpError(401, "unauthorized", "invalid bearer token", { "WWW-Authenticate": 'Bearer error="invalid_token"' }));
    }
    next();
  };
}

/** POST /v1/admin/pause and /resume: stop and restart taking new work (jobs and POST /v1/chat). */
export function adminRoutes(ctx: ApiContext): Router {
  const router = Router();
  router.use("/v1/admin", requireAdminToken(ctx.common.config.adminToken));
  const control = () => {
    if (!ctx.deps.pause) throw new HttpError(501, "not_supported", "this node cannot be paused");
    return ctx.deps.pause;
  };
  router.post("/v1/admin/pause", (_req, res) => {
    control().pause();
    ctx.common.logger.warn("paused by admin");
    res.json({ paused: control().isPaused() });
  });
  router.post("/v1/admin/resume", (_req, res) => {
    control().resume();
    ctx.common.logger.warn("resumed by admin");
    res.json({ paused: control().isPaused() });
  });
  router.get("/v1/admin/status", (_req, res) => {
    res.json({ paused: ctx.deps.pause?.isPaused() ?? false });
  });
  return router;
}
