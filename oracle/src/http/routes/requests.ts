import { Router } from "express";
import { HttpError } from "../errors";
import { limitQuerySchema, parseOrThrow, requestIdSchema } from "../schemas";
import type { ApiContext } from "../server";
import { resolveText } from "../texts";

/** GET /v1/requests (recent on-chain requests) and GET /v1/requests/:id (one request's full story). */
export function requestRoutes(ctx: ApiContext): Router {
  const router = Router();
  router.get("/v1/requests", async (req, res) => {
    const { limit } = parseOrThrow(limitQuerySchema(100, 20), req.query, "invalid_query", "query");
    res.json({ requests: await ctx.deps.chain.listRequests(limit) });
  });

  router.get("/v1/requests/:id", async (req, res) => {
    const requestId = parseOrThrow(requestIdSchema, req.params.id, "invalid_request_id", "request id");
    const request = await ctx.deps.chain.getRequest(requestId);
    if (!request) throw new HttpError(404, "unknown_request", `no request ${requestId} on-chain`);
    const { eventPrompt, eventResponses, hashes, ...rest } = request;
    res.json({
      ...rest,
      hashes,
      prompt: resolveText(ctx.contentStore, hashes.prompt, eventPrompt),
      response: hashes.response ? resolveText(ctx.contentStore, hashes.response, eventResponses[hashes.response.toLowerCase()]) : null,
      records: ctx.batchStore.recordsByTextHash(hashes.prompt).map((r) => r.leaf),
    });
  });
  return router;
}
