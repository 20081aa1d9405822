import type { SequenceRequest, SequenceResult } from "./decoderModel";

interface Pending {
  request: SequenceRequest;
  resolve: (r: SequenceResult & { seconds: number }) => void;
  reject: (e: unknown) => void;
}

/**
 * Batches concurrent `generate` calls: requests that arrive while a batch runs (or in the same tick) wait and
 * go together into the next batch, up to `maxBatch` rows. One batch runs at a time on the session.
 */
export class BatchScheduler {
  private readonly queue: Pending[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly runBatch: (requests: SequenceRequest[]) => Promise<SequenceResult[]>,
    private readonly maxBatch: number,
  ) {}

  submit(request: SequenceRequest): Promise<SequenceResult & { seconds: number }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
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
      const batch = this.queue.splice(0, this.maxBatch);
      const started = performance.now();
      try {
        const results = await this.runBatch(batch.map((p) => p.request));
        const seconds = (performance.now() - started) / 1000;
        batch.forEach((p, i) => p.resolve({ ...results[i], seconds }));
      } catch (err) {
        for (const p of batch) p.reject(err);
      } finally {
        this.running = undefined;
        this.kick();
      }
    });
  }
}
