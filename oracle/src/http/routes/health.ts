import { Router } from "express";
import type { ApiContext } from "../server";

/** Probes and the Prometheus scrape; not rate limited, so an orchestrator can always reach them. */
export function healthRoutes(ctx: ApiContext): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", (_req, res) => {
    const ready = ctx.deps.isReady();
    res.status(ready ? 200 : 503).json(
      ready
        ? { status: "ready" }
        : { status: "not_ready", error: { code: "not_ready", message: "the model is loading or the chain backlog is still being processed" } },
    );
  });
  router.get("/metrics", async (_req, res) => {
    res.setHeader("Content-Type", ctx.common.metrics.registry.contentType);
    res.send(await ctx.common.metrics.registry.metrics());
  });
  return router;
}
