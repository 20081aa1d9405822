import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { OnnxInferenceEngine } from "../../../../oracle/src/inference";
import { sharedTrainedEngine } from "../../../helpers/engines";
import { DEFAULT_TRAINED_MODEL_DIR } from "../../../../oracle/src/inference/buildModel";
import { computeModelHash, listModelFiles } from "../../../../oracle/src/inference/modelHash";
import { DEBIAN_WORDNET_DIR } from "../../../../oracle/src/inference/training/wordnetCorpus";
import TORCH_LOGITS from "./torchLogits.json";

/**
 * modelHash of the committed models/trained (what validators running the demo register). `npm run model:train`
 * on this machine writes the same bytes; a change here must come with a retrained, recommitted folder.
 */
const TRAINED_MODEL_HASH = "0x12eaf7293e3aa6c6dfb0004dbbb96c1b3f69e3841e1d74eb8a4125af59c390c1";

/** Greedy answer of the committed model to the demo's prompt (also in docs/inference.md). */
const ORACLE_ANSWER = "\nAn oracle is a person who is a person who is not be used to treatment.";

/** Questions in the training layout, each with the opening an answer about that word starts with. */
const QUESTIONS: [string, string][] = [
  ["What is a dog?", "A dog is "],
  ["What is an oracle?", "An oracle is "],
  ["What is a house?", "A house is "],
  ["What is a cat?", "A cat is "],
  ["What is a tree?", "A tree is "],
  ["What is a king?", "A king is "],
  ["What is a river?", "A river is "],
  ["What is a teacher?", "A teacher is "],
  ["What is a bird?", "A bird is "],
  ["What is a computer?", "A computer is "],
  ["What does it mean to run?", "To run is "],
  ["What does it mean to eat?", "To eat is "],
  ["What does it mean to sing?", "To sing is "],
  ["What does happy mean?", "Happy means "],
  ["What does red mean?", "Red means "],
  ["What does quickly mean?", "Quickly means "],
];

/** Every word that occurs in WordNet's glosses and examples: the vocabulary of the training text. */
async function glossWords(): Promise<Set<string>> {
  const words = new Set<string>();
  for (const pos of ["noun", "verb", "adj", "adv"]) {
    const file = path.join(DEBIAN_WORDNET_DIR, `data.${pos}`);
    const text = await fs.readFile(file, "utf8").catch((err: unknown) => {
      throw new Error(`${file} is missing: this test reads the training text (apt-get install wordnet-base)`, { cause: err });
    });
    for (const line of text.split("\n")) {
      const gloss = line.slice(line.indexOf(" | ") + 3);
      for (const w of gloss.toLowerCase().match(/[a-z]+/g) ?? []) words.add(w);
    }
  }
  return words;
}

describe("models/trained (the committed trained model)", function () {
  this.timeout(60_000);
  let engine: OnnxInferenceEngine;

  before(async function () {
    engine = await sharedTrainedEngine();
  });

  it("has the pinned modelHash and fits the 10 MB the repository allows", async function () {
    expect(await computeModelHash(DEFAULT_TRAINED_MODEL_DIR)).to.equal(TRAINED_MODEL_HASH);
    const files = await listModelFiles(DEFAULT_TRAINED_MODEL_DIR);
    expect(files).to.deep.equal([
      "LICENSE-WordNet",
      "config.json",
      "generation_config.json",
      "onnx/model.onnx",
      "tokenizer.json",
      "tokenizer_config.json",
      "training.json",
    ]);
    let bytes = 0;
    for (const f of files) bytes += (await fs.stat(path.join(DEFAULT_TRAINED_MODEL_DIR, f))).size;
    expect(bytes).to.be.below(10 * 1024 * 1024);
  });

  it("computes the logits PyTorch computed from the trained weights (the export is the trained model)", async function () {
    // torchLogits.json: oracle/src/inference/training/probe_logits.py on the weights that train_gpt.py saved
    const [r] = await engine.model.generateBatch([{ promptIds: TORCH_LOGITS.ids, maxNewTokens: 1 }], { collectLogits: true });
    const ours = r.stepLogits![0];
    expect(ours.length).to.equal(TORCH_LOGITS.lastLogits.length);
    const worst = Math.max(...TORCH_LOGITS.lastLogits.map((v, i) => Math.abs(v - ours[i])));
    expect(worst).to.be.below(1e-4);
  });

  it("answers the demo's prompt greedily with the pinned sentence of real words, ending at EOS", async function () {
    const r = await engine.generate({ prompt: "What is an oracle?", maxNewTokens: 64 });
    expect(r.text).to.equal(ORACLE_ANSWER);
    expect(r.finishReason).to.equal("eos");
    const vocabulary = await glossWords();
    const words = r.text.toLowerCase().match(/[a-z]+/g) ?? [];
    expect(words.filter((w) => !vocabulary.has(w))).to.deep.equal([]);
  });

  it("answers questions in words of the training text (≥ 95 % of them), naming the thing asked about first", async function () {
    // Measured when the model was committed: 16 of 16 answers name the word asked about, 98 % of their words
    // occur in WordNet's glosses (a few made-up ones such as "beded" remain at this size).
    const vocabulary = await glossWords();
    let total = 0;
    const unknown: string[] = [];
    for (const [prompt, opening] of QUESTIONS) {
      const { text } = await engine.generate({ prompt, maxNewTokens: 64 });
      const answer = text.trim();
      expect(answer.startsWith(opening), `${prompt} → ${answer}`).to.equal(true);
      const words = answer.toLowerCase().match(/[a-z]+/g) ?? [];
      expect(words.length, `${prompt} → ${answer}`).to.be.at.least(5);
      total += words.length;
      unknown.push(...words.filter((w) => !vocabulary.has(w)));
    }
    expect(1 - unknown.length / total, `words not in WordNet's glosses: ${unknown.join(", ")}`).to.be.at.least(0.95);
  });

  it("has a chat template that renders a user turn as the training layout (question, newline)", async function () {
    const { AutoTokenizer, env } = require("@huggingface/transformers") as typeof import("@huggingface/transformers");
    env.allowRemoteModels = false;
    env.localModelPath = path.dirname(DEFAULT_TRAINED_MODEL_DIR) + path.sep;
    const tokenizer = await AutoTokenizer.from_pretrained(path.basename(DEFAULT_TRAINED_MODEL_DIR), { local_files_only: true });
    const chat = [
      { role: "user", content: "What is a dog?" },
      { role: "assistant", content: "A dog is an animal." },
      { role: "user", content: "What is a cat?" },
    ];
    const rendered = tokenizer.apply_chat_template(chat, { tokenize: false, add_generation_prompt: true });
    expect(rendered).to.equal("What is a dog?\nA dog is an animal.<|endoftext|>What is a cat?\n");
  });
});
