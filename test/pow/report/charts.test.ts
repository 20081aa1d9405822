import { expect } from "chai";
import type { Browser } from "playwright-core";
import { compareChartSpecs, renderSvg } from "../../../pow/src/report/charts";
import { DEFAULT_COMPARE, runCompare } from "../../../pow/src/sim/compare";
import { launchChromium } from "../../../scripts/lib/chromium";

describe("pow/report/charts in a real browser", function () {
  this.timeout(120_000);
  const results = runCompare({ ...DEFAULT_COMPARE, wealth: [1e12, 2e12, 3e12, 4e12], seed: "charts", runs: 2, blocks: 120, delaySweep: [0, 60], sweepRuns: 1 });
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());

  it("keeps every title, axis label and legend entry whole and inside the SVG as chromium lays the text out", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const cut: string[] = [];
    for (const [file, spec] of Object.entries(compareChartSpecs(results))) {
      await page.setContent(`<!doctype html><body style="margin:0">${await renderSvg(spec)}</body>`);
      const outside = await page.evaluate(() => {
        const svg = document.querySelector("svg")!;
        const box = svg.getBoundingClientRect();
        return Array.from(svg.querySelectorAll("text"))
          .filter((text) => (text.textContent ?? "").trim() !== "")
          .filter((text) => {
            const r = text.getBoundingClientRect();
            const outside = r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5;
            return outside || (text.textContent ?? "").endsWith("…"); // shortened by Vega's label limit
          })
          .map((text) => text.textContent);
      });
      cut.push(...outside.map((text) => `${file}: "${text}"`));
    }
    await page.close();
    expect(cut, "text cut off at the SVG's edge or shortened").to.deep.equal([]);
  });
});
