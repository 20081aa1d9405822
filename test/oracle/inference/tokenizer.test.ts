import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelTokenizer } from "../../../oracle/src/inference/tokenizer";
import { tinyModelDir } from "./fixtures";

const TEXTS = ["Hello, what is a blockchain?", "  two  spaces\nand a newline", "区块链技术 😀 émoji Привет", "don't 1234 ++x;", "<|endoftext|> in text"];

describe("inference/tokenizer", function () {
  let tokenizer: ModelTokenizer;
  let library: Tokenizer;

  before(async function () {
    const dir = await tinyModelDir();
    const json = JSON.parse(await fs.readFile(path.join(dir, "tokenizer.json"), "utf8"));
    const config = JSON.parse(await fs.readFile(path.join(dir, "tokenizer_config.json"), "utf8"));
    tokenizer = new ModelTokenizer(json, config);
    library = new Tokenizer(json, config);
  });

  it("round-trips text through encode and decode", function () {
    for (const text of TEXTS.slice(0, 4)) expect(tokenizer.decode(tokenizer.encode(text))).to.equal(text);
  });

  it("applies the learned merges (fewer tokens than bytes for corpus words)", function () {
    expect(tokenizer.encode(" the blockchain")).to.have.length(2);
    expect(tokenizer.encode("zqxj")).to.have.length(4);
  });

  it("maps the EOS string to the special token and drops it when decoding", function () {
    const eos = tokenizer.tokenToId("<|endoftext|>")!;
    expect(eos).to.equal(511);
    expect(tokenizer.vocabSize).to.equal(512);
    const ids = tokenizer.encode(TEXTS[4]);
    expect(ids[0]).to.equal(eos);
    expect(tokenizer.decode(ids)).to.equal(" in text");
  });

  it("streams a character split across byte tokens only once all its bytes arrived", function () {
    // Each byte of "链" (e9 93 be) as its own byte-level token.
    const byteIds = [...Buffer.from("链", "utf8")].map((b) => library.token_to_id(byteChar(b))!);
    const stream = tokenizer.createStreamDecoder();
    expect(byteIds.map((id) => stream.push(id))).to.deep.equal(["", "", "链"]);
    expect(stream.flush()).to.equal("");
  });

  it("turns an incomplete or invalid byte sequence into U+FFFD, keeping the text valid UTF-8", function () {
    const [b0, b1] = [...Buffer.from("链", "utf8")].map((b) => library.token_to_id(byteChar(b))!);
    const stream = tokenizer.createStreamDecoder();
    const text = [stream.push(b0), stream.push(b1), stream.push(tokenizer.encode("a")[0])].join("") + stream.flush();
    expect(text).to.equal("\uFFFDa");
    expect(tokenizer.decode([b0, b1])).to.equal("\uFFFD");
  });
});

/** GPT-2's byte-level character for byte b (bytes outside printable ranges are shifted above U+0100). */
function byteChar(b: number): string {
  const printable = (x: number): boolean => (x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || (x >= 0xae && x <= 0xff);
  if (printable(b)) return String.fromCodePoint(b);
  let shifted = 0;
  for (let x = 0; x < b; x++) if (!printable(x)) shifted++;
  return String.fromCodePoint(256 + shifted);
}
