import type { ChatRegistryClient, RegisteredModel } from "../chain/chatRegistry";
import type { HeadTracker } from "../chain/heads";
import type { Submitter, TxIntent } from "../chain/submitter";
import { NonRetryableError } from "../errors";
import type { JobTransaction, SeatRead, StepChain } from "./steps";

export interface StepChainOptions {
  registry: ChatRegistryClient;
  /** Chain time and the block the shared seat reads belong to. */
  heads: Pick<HeadTracker, "current">;
  /** One submitter per validator key this process runs, by lower-case address. */
  submitters: ReadonlyMap<string, Submitter>;
}

/**
 * The steps' chain over the registry, the head tracker and the validators' submitters. Seat reads are shared by the
 * node's members of a request within one block (their commits or reveals usually fall due together: two `eth_call`s
 * per request and block instead of three per member and attempt), and a model's registration is read once.
 */
export function createStepChain(options: StepChainOptions): StepChain {
  const { registry, heads, submitters } = options;
  const seatReads = new Map<string, { head: number; read: Promise<SeatRead> }>();
  const models = new Map<string, Promise<RegisteredModel>>();

  function submitterOf(validator: string): Submitter {
    const submitter = submitters.get(validator.toLowerCase());
    if (!submitter) throw new NonRetryableError(`no key for validator ${validator}`);
    return submitter;
  }

  function intentOf(tx: JobTransaction): TxIntent {
    const to = registry.address;
    switch (tx.kind) {
      case "decline":
        return { kind: "decline", to, data: registry.encodeDecline(tx.requestId, tx.reason) };
      case "commit":
        return { kind: "commit", to, data: registry.encodeCommit(tx.requestId, tx.commitment), gasLimit: tx.gasLimit };
      case "respond":
        return { kind: "respond", to, data: registry.encodeRespond(tx.requestId, tx.text), gasLimit: tx.gasLimit };
      case "reveal":
        return { kind: "reveal", to, data: registry.encodeReveal(tx.requestId, tx.text, tx.salt), gasLimit: tx.gasLimit };
    }
  }

  return {
    async readSeat(requestId) {
      const head = await heads.current();
      const key = requestId.toString();
      const cached = seatReads.get(key);
      if (cached && cached.head === head.number) return cached.read;
      const read = Promise.all([registry.getRecord(requestId), registry.getMembers(requestId)]).then(([record, members]) => ({
        record,
        members,
        now: head.timestamp,
      }));
      seatReads.set(key, { head: head.number, read });
      void read.catch(() => {
        if (seatReads.get(key)?.read === read) seatReads.delete(key);
      });
      if (seatReads.size > 4_096) seatReads.delete(seatReads.keys().next().value as string);
      return read;
    },
    forgetSeat(requestId) {
      seatReads.delete(requestId.toString());
    },
    previewCommittee: (requestId) => registry.previewCommittee(requestId),
    getModel(modelId) {
      // Hash and limits never change for a model id.
      let model = models.get(modelId);
      if (!model) {
        model = registry.getModel(Number(modelId));
        model.catch(() => models.delete(modelId));
        models.set(modelId, model);
      }
      return model;
    },
    async send(validator, tx, sendOptions) {
      const mined = await submitterOf(validator).send(intentOf(tx), sendOptions);
      return { hash: mined.hash, blockNumber: mined.blockNumber, gasUsed: mined.gasUsed };
    },
    async lookupTx(validator, hash) {
      const found = await submitterOf(validator).lookup(hash);
      if (found.status === "mined") return { status: "mined", blockNumber: found.tx.blockNumber };
      return found.status === "pending" ? { status: "pending" } : { status: "unknown" };
    },
    async waitMined(validator, hash, kind) {
      return { blockNumber: (await submitterOf(validator).waitMined(hash, kind)).blockNumber };
    },
  };
}
