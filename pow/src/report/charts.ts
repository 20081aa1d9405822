/**
 * SVG charts: a Vega-Lite spec compiled to Vega and rendered headless to SVG in Node (no browser, no canvas).
 * vega and vega-lite are ESM with top-level await, which `require` cannot load: we use a real dynamic import that the
 * TypeScript CommonJS output does not rewrite into `require`.
 */
import type { CompareResults } from "../sim/compare";

const importEsm = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

type VegaLiteSpec = Record<string, unknown>;

export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vegaLite, vega] = await Promise.all([importEsm("vega-lite"), importEsm("vega")]);
  const compiled = vegaLite.compile({ $schema: "https://vega.github.io/schema/vega-lite/v6.json", config: CHART_CONFIG, ...spec }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Legends under the plot with labels never shortened: Vega cuts labels past 160 px to "…" ("PoS (non-compoundi…"), and
 * without a canvas it only estimates text widths, so a legend at the right edge can end up past the SVG's edge in a
 * browser; under the plot it has the chart's whole width.
 */
const CHART_CONFIG = { legend: { orient: "bottom", direction: "vertical", labelLimit: 0, titleLimit: 0 } };

const WIDTH = 520;
const HEIGHT = 320;

/** The four charts of the comparison report, by file name. */
export function compareChartSpecs(results: CompareResults): Record<string, VegaLiteSpec> {
  const systems = [results.pow, results.posCompounding, results.posSimple];
  const sharePoints = systems.flatMap((s) => s.fairness.participants.map((p) => ({
    system: s.label, initialShare: p.initialShare, rewardShare: p.meanRewardShare,
  })));
  const maxShare = Math.max(...sharePoints.map((p) => Math.max(p.initialShare, p.rewardShare)));
  const giniPoints = systems.flatMap((s) => s.overTime.map((g) => ({ system: s.label, step: g.step, gini: g.gini })));
  const largestShare = Math.max(...results.initialShares);
  const largestPoints = systems.flatMap((s) => s.overTime.map((g) => ({ system: s.label, step: g.step, share: g.largestShare })));
  return {
    "share-vs-power.svg": {
      title: `Mean share of rewards vs initial share of power (${results.config.runs} runs each)`,
      width: WIDTH, height: HEIGHT,
      layer: [
        { data: { values: [{ x: 0, y: 0 }, { x: maxShare, y: maxShare }] }, mark: { type: "line", color: "#999", strokeDash: [4, 4] },
          encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } } },
        { data: { values: sharePoints }, mark: { type: "point", filled: true, opacity: 0.8 },
          encoding: {
            x: { field: "initialShare", type: "quantitative", title: "initial share of hashrate = stake" },
            y: { field: "rewardShare", type: "quantitative", title: "mean share of rewards" },
            color: { field: "system", type: "nominal" }, shape: { field: "system", type: "nominal" },
          } },
      ],
    },
    "gini-over-time.svg": {
      title: "Gini coefficient of rewards paid so far (run 0)",
      width: WIDTH, height: HEIGHT, data: { values: giniPoints }, mark: "line",
      encoding: {
        x: { field: "step", type: "quantitative", title: "block (PoW) / slot (PoS)" },
        y: { field: "gini", type: "quantitative", title: "Gini of rewards" },
        color: { field: "system", type: "nominal" },
      },
    },
    "largest-share-over-time.svg": {
      title: `Reward share so far of the largest participant (initial share ${(largestShare * 100).toFixed(1)} %, run 0)`,
      width: WIDTH, height: HEIGHT,
      layer: [
        { data: { values: largestPoints }, mark: "line",
          encoding: {
            x: { field: "step", type: "quantitative", title: "block (PoW) / slot (PoS)" },
            y: { field: "share", type: "quantitative", title: "share of rewards so far", scale: { zero: false } },
            color: { field: "system", type: "nominal" },
          } },
        { data: { values: [{ share: largestShare }] }, mark: { type: "rule", color: "#999", strokeDash: [4, 4] },
          encoding: { y: { field: "share", type: "quantitative" } } },
      ],
    },
    "block-intervals.svg": {
      title: `PoW block intervals, main chain of run 0 (target ${results.config.targetBlockTime} s)`,
      width: WIDTH, height: HEIGHT, data: { values: results.pow.intervals.map((seconds) => ({ seconds })) }, mark: "bar",
      encoding: {
        x: { field: "seconds", type: "quantitative", bin: { maxbins: 40 }, title: "seconds since the previous block" },
        y: { aggregate: "count", type: "quantitative", title: "blocks" },
      },
    },
    "stale-vs-delay.svg": {
      title: `PoW stale rate vs propagation delay (${results.config.sweepRuns} runs per point)`,
      width: WIDTH, height: HEIGHT, data: { values: results.staleVsDelay }, mark: { type: "line", point: true },
      encoding: {
        x: { field: "delaySeconds", type: "quantitative", title: "propagation delay (s)" },
        y: { field: "staleRate", type: "quantitative", title: "stale blocks / blocks found" },
      },
    },
  };
}
