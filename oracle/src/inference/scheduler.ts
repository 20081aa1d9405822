import type { SequenceRequest, SequenceResult } from "./decoderModel";
import { InferenceDeadlineError } from "./workerDecoder";

/**
 * Whose run it is: `chain` (an on-chain request with a commit deadline and a stake behind it) goes before `http`
 * (POST /v1/chat, which only costs the caller a wait).
 */
export type InferencePriority = "chain" | "http";

/** Gets each generated token id of one row as soon as its step ends (streaming). */
export type TokenListener = (tokenId: number) => void;

/** Runs one batch; `onStep` gets the tokens each row chose in each step. */
export type BatchRunner = (requests: SequenceRequest[], onStep?: (tokens: readonly (number | undefined)[]) => void) => Promise<SequenceResult[]>;

interface Pending {
  request: SequenceRequest;
  priority: InferencePriority;
  onToken?: TokenListener;
  /**
   * Tokens already handed to onToken: a row run again alone (its batch failed) decodes the same tokens again,
   * and only the ones past this count are new to the listener.
   */
  delivered: number;
  resolve: (r: SequenceResult & { seconds: number }) => void;
  reject: (e: unknown) => void;
}

/**
 * Batches concurrent `generate` calls: requests that arrive while a batch runs (or in the same tick) wait and
 * go together into the next batch, up to `maxBatch` rows. One batch runs at a time on the session.
 *
 * A batch is left padded to its longest prompt and runs until its longest generation ends, so its width is
 * max(prompt) + max(maxNewTokens): rows are only put together while that fits `maxContext` (a row that fits with no
 * other waits for the next batch, the oldest row always goes first, so nothing starves). When a batch of several
 * rows fails, each row runs again alone, so one bad row fails only itself.
 *
 * On-chain rows go first: a batch starts with the oldest waiting `chain` row (the oldest `http` row only when no
 * chain row waits) and is filled with chain rows before http rows, so HTTP load cannot delay a commit.
 */
export class BatchScheduler {
  private readonly queue: Pending[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly runBatch: BatchRunner,
    private readonly maxBatch: number,
    private readonly maxContext = Number.POSITIVE_INFINITY,
  ) {}

  submit(request: SequenceRequest, priority: InferencePriority = "chain", onToken?: TokenListener): Promise<SequenceResult & { seconds: number }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, priority, onToken, delivered: 0, resolve, reject });
      this.kick();
    });
  }

  /** Resolves once the queue is empty and no batch runs. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const batch = this.takeBatch();
      try {
        if (!(await this.run(batch, batch.length === 1))) {
          for (const p of batch) await this.run([p], true);
        }
      } finally {
        this.running = undefined;
        this.kick();
      }
    });
  }

  /** Waiting rows of one priority. */
  waiting(priority: InferencePriority): number {
    return this.queue.filter((p) => p.priority === priority).length;
  }

  /**
   * The oldest waiting chain row (else the oldest http row) and every later one that keeps the batch within the
   * context, chain rows first, up to maxBatch rows.
   */
  private takeBatch(): Pending[] {
    const firstChain = this.queue.findIndex((p) => p.priority === "chain");
    const batch = this.queue.splice(Math.max(0, firstChain), 1);
    let longestPrompt = batch[0].request.promptIds.length;
    let mostNew = batch[0].request.maxNewTokens;
    for (const priority of ["chain", "http"] as const) {
      for (let i = 0; i < this.queue.length && batch.length < this.maxBatch; ) {
        const { promptIds, maxNewTokens } = this.queue[i].request;
        const prompt = Math.max(longestPrompt, promptIds.length);
        const steps = Math.max(mostNew, maxNewTokens);
        if (this.queue[i].priority !== priority || prompt + steps > this.maxContext) {
          i++;
          continue;
        }
        batch.push(...this.queue.splice(i, 1));
        longestPrompt = prompt;
        mostNew = steps;
      }
    }
    return batch;
  }

  /** Hands each row's new tokens to its listener; undefined when no row listens (no step messages then). */
  private tokenFanOut(batch: Pending[]): ((tokens: readonly (number | undefined)[]) => void) | undefined {
    if (!batch.some((p) => p.onToken)) return undefined;
    const seen = batch.map(() => 0);
    return (tokens) => {
      batch.forEach((p, i) => {
        const token = tokens[i];
        if (token === undefined) return;
        if (seen[i]++ < p.delivered) return;
        p.delivered++;
        try {
          p.onToken?.(token);
        } catch {
          // A listener's failure (a client gone mid-write) is its own; the batch's other rows go on.
        }
      });
    };
  }

  /** Runs the rows; answers them, or rejects them when `final` (else leaves them to be run again alone). */
  private async run(batch: Pending[], final: boolean): Promise<boolean> {
    const started = performance.now();
    try {
      const results = await this.runBatch(batch.map((p) => p.request), this.tokenFanOut(batch));
      const seconds = (performance.now() - started) / 1000;
      batch.forEach((p, i) => p.resolve({ ...results[i], seconds }));
      return true;
    } catch (err) {
      // A missed deadline is the device's, not a row's: running each row alone would only miss it again, row by row.
      if (!final && !(err instanceof InferenceDeadlineError)) return false;
      for (const p of batch) p.reject(err);
      return true;
    }
  }
}
