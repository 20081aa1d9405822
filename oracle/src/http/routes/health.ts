import { Router } from "express";
import type { ApiContext } from "../server";

/** Probes and the Prometheus scrape; not rate limited, so an orchestrator can always reach them. */
export function healthRoutes(ctx: ApiContext): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", (_req, res) => {
    const conditions = ctx.deps.readiness?.() ?? [];
    const failing = conditions.filter((c) => !c.ok);
    if (!ctx.deps.isReady()) {
      failing.unshift({ name: "started", ok: false, message: "the model is loading or the chain backlog is still being processed" });
    }
    const extra = conditions.length > 0 ? { conditions } : {};
    if (failing.length === 0) return void res.json({ status: "ready", ...extra });
    const message = failing.map((c) => `${c.name}: ${c.message ?? "not ok"}`).join("; ");
    res.status(503).json({ status: "not_ready", error: { code: "not_ready", message }, ...extra });
  });
  router.get("/metrics", async (_req, res) => {
    for (const refresh of ctx.common.metrics.beforeScrape) {
      try {
        refresh();
      } catch (error) {
        ctx.common.logger.warn({ err: error }, "metrics refresh failed");
      }
    }
    res.setHeader("Content-Type", ctx.common.metrics.registry.contentType);
    res.send(await ctx.common.metrics.registry.metrics());
  });
  return router;
}
