/** The signals that ask a process to stop: Ctrl-C, `kill`, and a closed terminal. */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Calls `stop` once, on the first stop signal. Later ones are ignored rather than left to Node's default (exit at
 * once): a terminal's Ctrl-C reaches every process of the foreground group, and npm and tsx each relay it again, so
 * one key press can arrive two or three times while the first one's cleanup runs. Returns a function that removes
 * the handlers.
 */
export function onStopSignal(stop: (signal: StopSignal) => void): () => void {
  let stopping = false;
  const handler = (signal: StopSignal) => {
    if (stopping) return;
    stopping = true;
    stop(signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, handler);
  };
}
