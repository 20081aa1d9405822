import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { measureTemplateRender, runStreamingPhase, summarizeStreams } from "../../bench/streaming";
import { deployedNetworkFixture, startApi, TEST_API_KEY, type ApiUnderTest } from "../oracle/http/fixture";

describe("bench/streaming (the streaming phase of bench:e2e)", function () {
  it("sums samples up: percentiles of the first token, decode rate after it, overhead of the slowest template", () => {
    const samples = [
      { firstTokenMs: 10, lastTokenMs: 110, completionTokens: 11 },
      { firstTokenMs: 20, lastTokenMs: 120, completionTokens: 11 },
      { firstTokenMs: 30, lastTokenMs: 330, completionTokens: 31 },
    ];
    const result = summarizeStreams(samples, { small: 0.01, large: 0.06 }, 32);
    expect(result).to.include({ requests: 3, ttftMsP50: 20, ttftMsP95: 30, completionMsP50: 120, maxTokens: 32 });
    // (10 + 10 + 30) tokens after the first over (100 + 100 + 300) ms.
    expect(result.tokensPerSecond).to.be.closeTo(100, 1e-9);
    expect(result.meanCompletionTokens).to.be.closeTo(53 / 3, 1e-9);
    expect(result.templateOverheadPct).to.be.closeTo((0.06 / 120) * 100, 1e-12);
  });

  it("renders both templates it measures (the demo model's and ChatML) and times each", () => {
    const times = measureTemplateRender(20);
    expect(Object.keys(times)).to.deep.equal(["models/trained", "chatml"]);
    for (const ms of Object.values(times)) expect(ms).to.be.greaterThan(0);
  });

  describe("against a node's API", function () {
    this.timeout(120_000);
    let api: ApiUnderTest;
    before(async () => {
      api = await startApi(await loadFixture(deployedNetworkFixture));
    });
    after(async () => api?.stop());

    it("streams each completion over SSE with the openai client and reports every figure bench:e2e writes", async () => {
      const result = await runStreamingPhase({ url: api.url, apiKey: TEST_API_KEY, requests: 2, maxTokens: 8 });
      expect(result.requests).to.equal(2);
      expect(result.meanCompletionTokens).to.be.within(1, 8);
      expect(result.ttftMsP50).to.be.greaterThan(0).and.at.most(result.completionMsP50);
      for (const key of ["ttftMsP95", "tokensPerSecond", "templateOverheadPct"] as const) expect(result[key], key).to.be.a("number").and.not.NaN;
    });
  });
});
