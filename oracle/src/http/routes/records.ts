import { Router } from "express";
import { shortMessage } from "../../chain/rpc";
import type { ChatRecord } from "../../store/batchStore";
import { HttpError } from "../errors";
import { hashSchema, limitQuerySchema, parseOrThrow } from "../schemas";
import type { ApiContext } from "../server";
import { resolveText } from "../texts";

export interface RecordViewOptions {
  /** Ask the chain (ChatRecordRegistry.verifyRecord) whether the proof holds; one eth_call. */
  checkOnChain: boolean;
}

/** A record with its texts (checked against their hashes) and, once batched, its Merkle proof. */
export async function recordView(ctx: ApiContext, record: ChatRecord, options: RecordViewOptions) {
  const proof = ctx.batchStore.proof(record.leaf);
  let batch = null;
  if (proof) {
    const b = proof.batch;
    let onChain: { verified: boolean | null; error?: string } | null = null;
    if (options.checkOnChain && b.status === "anchored" && b.batchId !== null) {
      try {
        onChain = { verified: await ctx.deps.chain.verifyRecord(BigInt(b.batchId), record, proof.proof) };
      } catch (error) {
        onChain = { verified: null, error: shortMessage(error) };
      }
    }
    batch = {
      status: b.status,
      seq: b.seq,
      batchId: b.batchId,
      merkleRoot: b.root,
      count: b.count,
      txHash: b.txHash,
      anchoredAt: b.anchoredAt,
      leafIndex: proof.leafIndex,
      proof: proof.proof,
      onChain,
    };
  }
  return {
    kind: "record" as const,
    recordHash: record.leaf,
    model: { id: record.modelId, hash: record.modelHash },
    validator: record.validator,
    prompt: resolveText(ctx.contentStore, record.promptHash),
    response: resolveText(ctx.contentStore, record.responseHash),
    decoding: { maxNewTokens: record.maxNewTokens, finishReason: record.finishReason },
    createdAt: record.createdAt,
    batch: batch ?? { status: ctx.deps.anchorer && record.validator === ctx.deps.anchorer.validator ? "pending" : "not_anchored" },
  };
}

/**
 * GET /v1/records/:hash — a record by its hash (= Merkle leaf), or a text (prompt/response) by its keccak256 hash
 * together with the records that use it.
 */
export function recordRoutes(ctx: ApiContext): Router {
  const router = Router();
  router.get("/v1/records", (req, res) => {
    const { limit } = parseOrThrow(limitQuerySchema(100, 20), req.query, "invalid_query", "query");
    res.json({
      records: ctx.batchStore.recentRecords(limit).map((r) => ({
        recordHash: r.leaf,
        modelId: r.modelId,
        promptHash: r.promptHash,
        responseHash: r.responseHash,
        createdAt: r.createdAt,
        batchSeq: r.batchSeq,
      })),
    });
  });
  router.get("/v1/records/:hash", async (req, res) => {
    const hash = parseOrThrow(hashSchema, req.params.hash, "invalid_hash", "hash").toLowerCase();
    const record = ctx.batchStore.getRecord(hash);
    if (record) {
      res.json(await recordView(ctx, record, { checkOnChain: true }));
      return;
    }
    if (ctx.contentStore.has(hash)) {
      res.json({
        kind: "text",
        ...resolveText(ctx.contentStore, hash),
        records: ctx.batchStore.recordsByTextHash(hash).map((r) => r.leaf),
      });
      return;
    }
    throw new HttpError(404, "not_found", `no record or text with hash ${hash}`);
  });
  return router;
}
