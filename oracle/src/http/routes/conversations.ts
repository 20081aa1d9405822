import { Router } from "express";
import { RequestStatus } from "../../chain/chatRegistry";
import { threadRecordHash, verifyTurns } from "../../chain/threads";
import { HttpError } from "../errors";
import { parseOrThrow, requestIdSchema } from "../schemas";
import type { ApiContext } from "../server";
import { resolveText } from "../texts";
import { REQUEST_STATUSES } from "../viewTypes";

/**
 * GET /v1/conversations/:id: the on-chain conversation thread that ends at request `:id` (`requestChatFollowUp`), root
 * first, each turn with its hashes, texts, finalizing block and what was verified: texts against hashes, and each
 * turn's link against its parent's record hash recomputed here.
 */
export function conversationRoutes(ctx: ApiContext): Router {
  const router = Router();
  router.get("/v1/conversations/:id", async (req, res) => {
    const requestId = parseOrThrow(requestIdSchema, req.params.id, "invalid_request_id", "request id");
    const thread = await ctx.deps.chain.getThread(requestId);
    if (!thread) throw new HttpError(404, "unknown_request", `no request ${requestId} on-chain`);
    const checks = verifyTurns(thread.turns);
    const turns = thread.turns.map((turn, i) => {
      const finalized = turn.status === RequestStatus.Finalized;
      const prompt = resolveText(ctx.contentStore, turn.promptHash, turn.prompt);
      const response = finalized ? resolveText(ctx.contentStore, turn.responseHash, turn.response) : null;
      return {
        requestId: turn.requestId.toString(),
        parentId: turn.parentId === 0n ? null : turn.parentId.toString(),
        status: REQUEST_STATUSES[turn.status] ?? "none",
        modelId: turn.modelId,
        maxNewTokens: turn.maxNewTokens,
        requestedBlock: turn.requestedBlock,
        finalizedBlock: turn.finalizedBlock,
        hashes: {
          prompt: turn.promptHash,
          response: finalized ? turn.responseHash : null,
          model: turn.modelHash,
          previousRecord: turn.previousRecordHash,
          record: finalized ? threadRecordHash(turn) : null,
        },
        prompt,
        response,
        verification: {
          prompt: prompt.verified,
          response: response ? response.verified : null,
          link: checks[i].link,
        },
      };
    });
    const verified = turns.every((t) => t.verification.prompt && t.verification.response !== false && t.verification.link);
    res.json({ conversationId: thread.turns[0].requestId.toString(), requestId: requestId.toString(), verified, turns, continuations: thread.continuations });
  });
  return router;
}
