import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { AutoTokenizer, PreTrainedTokenizer } from "@huggingface/transformers";
import { DEFAULT_TRAINED_MODEL_DIR } from "../../../oracle/src/inference/buildModel";
import { createChatRenderer, renderPlainChat, type ChatMessage } from "../../../oracle/src/inference/chatTemplate";
import { NonRetryableError } from "../../../oracle/src/errors";

const FIXTURES = path.join(__dirname, "fixtures", "chatTemplates");
const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
/** Any valid tokenizer.json serves: apply_chat_template(tokenize: false) reads only tokenizer_config.json. */
const TOKENIZER_JSON = readJson(path.join(DEFAULT_TRAINED_MODEL_DIR, "tokenizer.json"));

const CONVERSATIONS: ChatMessage[][] = [
  [{ role: "user", content: "What is a blockchain?" }],
  [
    { role: "system", content: "You answer in one sentence." },
    { role: "user", content: "What is a blockchain?" },
    { role: "assistant", content: "  A chain of hashed blocks.  " },
    { role: "user", content: "Who runs it? 区块链 😀" },
  ],
  [
    { role: "user", content: "hi" },
    { role: "assistant", content: "hello" },
    { role: "user", content: "line one\nline two" },
  ],
];

/** transformers.js's rendering, the reference the node must match byte for byte. */
function reference(config: Record<string, unknown>, messages: ChatMessage[]): string {
  const tokenizer = new PreTrainedTokenizer(TOKENIZER_JSON, config);
  return tokenizer.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true }) as string;
}

describe("inference/chatTemplate", function () {
  for (const name of ["chatml-qwen2", "llama3", "zephyr"]) {
    it(`renders the published ${name} template as transformers.js's apply_chat_template does`, function () {
      const config = readJson(path.join(FIXTURES, name, "tokenizer_config.json"));
      const renderer = createChatRenderer(config);
      expect(renderer.kind).to.equal("template");
      for (const messages of CONVERSATIONS) expect(renderer.render(messages), JSON.stringify(messages)).to.equal(reference(config, messages));
    });
  }

  it("renders ChatML with the default system turn and the generation prompt", function () {
    const renderer = createChatRenderer(readJson(path.join(FIXTURES, "chatml-qwen2", "tokenizer_config.json")));
    expect(renderer.render([{ role: "user", content: "Hi" }])).to.equal(
      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("passes bos_token to the template (Llama-3 starts with <|begin_of_text|>)", function () {
    const renderer = createChatRenderer(readJson(path.join(FIXTURES, "llama3", "tokenizer_config.json")));
    expect(renderer.render([{ role: "user", content: " Hi " }])).to.equal(
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    );
  });

  it("reads special tokens written as AddedToken objects", function () {
    const config = readJson(path.join(FIXTURES, "zephyr", "tokenizer_config.json"));
    config.eos_token = { __type: "AddedToken", content: "</s>", lstrip: false, normalized: false, rstrip: false, single_word: false };
    const messages = CONVERSATIONS[1];
    expect(createChatRenderer(config).render(messages)).to.equal(reference(config, messages)).and.to.include("</s>");
  });

  it("renders the trained demo model's own template as AutoTokenizer loaded from its folder does", async function () {
    const config = readJson(path.join(DEFAULT_TRAINED_MODEL_DIR, "tokenizer_config.json"));
    const renderer = createChatRenderer(config);
    expect(renderer.kind).to.equal("template");
    const tokenizer = await AutoTokenizer.from_pretrained(DEFAULT_TRAINED_MODEL_DIR, { local_files_only: true });
    for (const messages of CONVERSATIONS) {
      expect(renderer.render(messages)).to.equal(tokenizer.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true }));
    }
    expect(renderer.render(CONVERSATIONS[2])).to.equal("hi\nhello<|endoftext|>line one\nline two\n");
  });

  it("falls back to Role: content lines ending in Assistant: without a template", function () {
    const renderer = createChatRenderer({ eos_token: "<|endoftext|>" });
    expect(renderer.kind).to.equal("plain");
    expect(renderer.render(CONVERSATIONS[1])).to.equal(renderPlainChat(CONVERSATIONS[1]));
    expect(renderer.render([{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }])).to.equal("System: Be brief.\nUser: Hi\nAssistant:");
  });

  it("turns a template's raise_exception into a NonRetryableError naming it", function () {
    const renderer = createChatRenderer({ chat_template: "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}ok" });
    expect(renderer.render([{ role: "user", content: "x" }])).to.equal("ok");
    expect(() => renderer.render([{ role: "system", content: "x" }])).to.throw(NonRetryableError, /System role not supported/);
  });

  it("refuses a template that does not parse when the model loads", function () {
    expect(() => createChatRenderer({ chat_template: "{% for m in messages %}" })).to.throw(NonRetryableError, /chat_template does not parse/);
  });
});
