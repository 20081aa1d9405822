import { expect } from "chai";
import { createMetrics, METRIC_PREFIX, readMetricByLabel, readMetricValue } from "../../../oracle/src/metrics";

describe("oracle metrics", () => {
  it("registers every metric with the chat_oracle_ prefix on its own registry", async () => {
    const metrics = createMetrics();
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names).to.include.members([
      "chat_oracle_requests_total",
      "chat_oracle_inference_seconds",
      "chat_oracle_inference_tokens_per_second",
      "chat_oracle_tx_seconds",
      "chat_oracle_tx_failures_total",
      "chat_oracle_journal_depth",
      "chat_oracle_rpc_errors_total",
      "chat_oracle_unhandled_errors_total",
      "chat_oracle_chain_head_block",
      "chat_oracle_processed_block",
      "chat_oracle_http_requests_total",
    ]);
    for (const name of names) expect(name.startsWith(METRIC_PREFIX), name).to.equal(true);
  });

  it("keeps two instances independent so tests and several nodes in one process do not collide", async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.unhandledErrorsTotal.inc();
    a.unhandledErrorsTotal.inc();
    expect(await readMetricValue(a.unhandledErrorsTotal)).to.equal(2);
    expect(await readMetricValue(b.unhandledErrorsTotal)).to.equal(0);
  });

  it("renders labelled values in the Prometheus text format and reads them back by label", async () => {
    const metrics = createMetrics();
    metrics.journalDepth.set({ state: "committed" }, 3);
    metrics.journalDepth.set({ state: "seen" }, 1);
    metrics.txSeconds.observe({ kind: "commit" }, 0.2);
    const text = await metrics.registry.metrics();
    expect(text).to.include('chat_oracle_journal_depth{state="committed"} 3');
    expect(text).to.include('chat_oracle_tx_seconds_count{kind="commit"} 1');
    expect(await readMetricByLabel(metrics.journalDepth, "state")).to.deep.equal({ committed: 3, seen: 1 });
  });

  it("adds process metrics only when asked", async () => {
    const withProcess = createMetrics({ collectProcessMetrics: true });
    const names = (await withProcess.registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names).to.include("chat_oracle_process_cpu_seconds_total");
  });
});
