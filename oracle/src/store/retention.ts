import type { Common } from "../common";
import type { ContentStore } from "./contentStore";

const DAY_MS = 86_400_000;

export interface ContentRetention {
  /** One pass now; returns the texts deleted. */
  run(now?: number): number;
  /** A pass at once, then every `intervalMs` (default one hour). */
  start(intervalMs?: number): void;
  stop(): void;
}

/** Keeps the content store within --content-retention-days and --content-max-entries. */
export function createContentRetention(common: Common, store: ContentStore): ContentRetention {
  const { config, logger } = common;
  let timer: NodeJS.Timeout | undefined;
  const retention: ContentRetention = {
    run(now = Date.now()) {
      const olderThan = config.contentRetentionDays > 0 ? now - config.contentRetentionDays * DAY_MS : undefined;
      const deleted = store.prune({ olderThan, maxEntries: config.contentMaxEntries });
      if (deleted > 0) logger.info({ deleted, retentionDays: config.contentRetentionDays, maxEntries: config.contentMaxEntries }, "pruned content store");
      return deleted;
    },
    start(intervalMs = 3_600_000) {
      if (timer) return;
      const pass = () => {
        try {
          retention.run();
        } catch (error) {
          logger.warn({ err: error }, "content store pruning failed");
        }
      };
      pass();
      timer = setInterval(pass, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return retention;
}
