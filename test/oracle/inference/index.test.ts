import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { loadEngine, NonRetryableError, type GenerateResult, type OnnxInferenceEngine } from "../../../oracle/src/inference";
import { sharedTinyEngine } from "../../helpers/engines";
import { PROMPTS } from "./fixtures";

describe("inference/index (engine)", function () {
  let engine: OnnxInferenceEngine;

  before(async function () {
    engine = await sharedTinyEngine();
  });

  it("reports cpu as its provider, a 0x sha256 modelHash and the context length", async function () {
    expect(engine.provider).to.equal("cpu");
    expect(engine.modelHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(engine.maxContext).to.equal(256);
  });

  it("generates non-trivial greedy text whose responseHash is keccak256 of its UTF-8 bytes", async function () {
    for (const prompt of PROMPTS) {
      const r = await engine.generate({ prompt, maxNewTokens: 32 });
      expect(r.tokenIds).to.have.length(32);
      expect(r.finishReason).to.equal("length");
      expect(new Set(r.tokenIds).size, `distinct tokens for ${prompt}`).to.be.greaterThan(3);
      expect(r.text.trim()).to.not.equal("");
      expect(r.responseHash).to.equal(keccak256(toUtf8Bytes(r.text)));
      expect(r.promptTokenIds).to.deep.equal(engine.tokenizer.encode(prompt));
      expect(r.tokensPerSecond).to.be.greaterThan(0);
    }
  });

  it("returns text that is valid UTF-8, also for multi-byte prompts and sampled output", async function () {
    const texts: string[] = [];
    for (const prompt of ["区块链技术是一种", "😀😀 émoji", "Привет"]) {
      texts.push((await engine.generate({ prompt, maxNewTokens: 48 })).text);
      for (let seed = 0; seed < 4; seed++) {
        texts.push((await engine.generate({ prompt, maxNewTokens: 48, sampling: { temperature: 1.5, seed } })).text);
      }
    }
    for (const text of texts) {
      expect(Buffer.from(text, "utf8").toString("utf8")).to.equal(text);
      expect(new TextDecoder("utf-8", { fatal: true }).decode(toUtf8Bytes(text))).to.equal(text);
    }
  });

  it("gives the same token ids and response hash on every run", async function () {
    const first = await engine.generate({ prompt: PROMPTS[0], maxNewTokens: 24 });
    for (let i = 0; i < 3; i++) {
      const again = await engine.generate({ prompt: PROMPTS[0], maxNewTokens: 24 });
      expect(again.tokenIds).to.deep.equal(first.tokenIds);
      expect(again.responseHash).to.equal(first.responseHash);
    }
  });

  it("gives the same tokens with 1 and 2 CPU threads", async function () {
    const twoThreads = await loadEngine({ modelDir: engine.modelDir, providers: ["cpu"], threads: 2 });
    try {
      for (const prompt of PROMPTS) {
        const one = await engine.generate({ prompt, maxNewTokens: 24 });
        const two = await twoThreads.generate({ prompt, maxNewTokens: 24 });
        expect(two.tokenIds, prompt).to.deep.equal(one.tokenIds);
        expect(two.responseHash).to.equal(one.responseHash);
      }
    } finally {
      await twoThreads.close();
    }
  });

  it("gives each prompt the same tokens alone and inside a concurrent batch of mixed lengths", async function () {
    const alone: GenerateResult[] = [];
    for (const prompt of PROMPTS) alone.push(await engine.generate({ prompt, maxNewTokens: 20 }));
    const batched = await Promise.all(PROMPTS.map((prompt) => engine.generate({ prompt, maxNewTokens: 20 })));
    batched.forEach((r, i) => {
      expect(r.tokenIds, PROMPTS[i]).to.deep.equal(alone[i].tokenIds);
      expect(r.responseHash).to.equal(alone[i].responseHash);
    });
  });

  it("reproduces seeded sampling for the same seed, alone and batched, and varies with the seed", async function () {
    const sampling = { temperature: 1.2, topK: 50, topP: 0.95, seed: 42 };
    const a = await engine.generate({ prompt: PROMPTS[1], maxNewTokens: 24, sampling });
    const [b] = await Promise.all([
      engine.generate({ prompt: PROMPTS[1], maxNewTokens: 24, sampling }),
      engine.generate({ prompt: PROMPTS[2], maxNewTokens: 24 }),
    ]);
    expect(b.tokenIds).to.deep.equal(a.tokenIds);
    const others = await Promise.all([1, 2, 3].map((seed) => engine.generate({ prompt: PROMPTS[1], maxNewTokens: 24, sampling: { ...sampling, seed } })));
    expect(others.some((o) => o.responseHash !== a.responseHash)).to.equal(true);
    const greedy = await engine.generate({ prompt: PROMPTS[1], maxNewTokens: 24 });
    expect(greedy.tokenIds).to.not.deep.equal(a.tokenIds);
  });

  it("streams text deltas through onText as steps end, adding up to the text, alone and inside a batch", async function () {
    const runs = PROMPTS.slice(0, 3).map((prompt) => {
      const deltas: string[] = [];
      let settled = false;
      let deltasBeforeSettled = 0;
      const done = engine
        .generate({ prompt, maxNewTokens: 16, onText: (d) => (deltas.push(d), settled || deltasBeforeSettled++) })
        .finally(() => (settled = true));
      return { prompt, deltas, done, before: () => deltasBeforeSettled };
    });
    for (const run of runs) {
      const result = await run.done;
      expect(run.deltas.join(""), run.prompt).to.equal(result.text);
      expect(run.deltas.length).to.be.greaterThan(1);
      expect(run.before(), "every delta arrives before the result").to.equal(run.deltas.length);
      expect(result.text).to.equal((await engine.generate({ prompt: run.prompt, maxNewTokens: 16 })).text);
    }
  });

  it("rejects a prompt longer than the context with a NonRetryableError giving both lengths", async function () {
    const prompt = "x ".repeat(400);
    const tokens = engine.tokenizer.encode(prompt).length;
    const err = await engine.generate({ prompt }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NonRetryableError);
    expect((err as Error).message).to.contain(`prompt too long: ${tokens} tokens`).and.contain("context is 256");
  });

  it("stops at the end of the context with finishReason length", async function () {
    const prompt = "x ".repeat(125);
    const ids = engine.tokenizer.encode(prompt);
    const r = await engine.generate({ prompt, maxNewTokens: 100 });
    expect(r.tokenIds).to.have.length(256 - ids.length);
    expect(r.finishReason).to.equal("length");
  });

  it("serves a long prompt and a short one asking for many tokens together without exceeding the context", async function () {
    const long = "x ".repeat(120); // near the context: few tokens left to generate
    const short = "Hi";
    const longIds = engine.tokenizer.encode(long).length;
    expect(longIds).to.be.greaterThan(200);
    const alone = [await engine.generate({ prompt: long, maxNewTokens: 8 }), await engine.generate({ prompt: short, maxNewTokens: 200 })];
    const together = await Promise.all([engine.generate({ prompt: long, maxNewTokens: 8 }), engine.generate({ prompt: short, maxNewTokens: 200 })]);
    together.forEach((r, i) => expect(r.tokenIds, `row ${i}`).to.deep.equal(alone[i].tokenIds));
  });

  it("rejects bad generation options with a NonRetryableError naming the option", async function () {
    const cases: Array<[Parameters<typeof engine.generate>[0], string]> = [
      [{ prompt: "", maxNewTokens: 4 }, "prompt is empty"],
      [{ prompt: "hi", maxNewTokens: 0 }, "maxNewTokens"],
      [{ prompt: "hi", maxNewTokens: 1.5 }, "maxNewTokens"],
      [{ prompt: "hi", sampling: { temperature: 0, seed: 1 } }, "sampling.temperature"],
      [{ prompt: "hi", sampling: { temperature: 1, seed: -1 } }, "sampling.seed"],
      [{ prompt: "hi", sampling: { temperature: 1, seed: 1, topK: 0 } }, "sampling.topK"],
      [{ prompt: "hi", sampling: { temperature: 1, seed: 1, topP: 1.5 } }, "sampling.topP"],
    ];
    for (const [options, needle] of cases) {
      const err = await engine.generate(options).catch((e: unknown) => e);
      expect(err, needle).to.be.instanceOf(NonRetryableError);
      expect((err as Error).message).to.contain(needle);
    }
  });
});
