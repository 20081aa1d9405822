import { expect } from "chai";
import { AbiCoder, keccak256, randomBytes, toUtf8Bytes } from "ethers";
import { recordLeaf } from "../../../../oracle/src/store/recordLeaf";

/** The page's own keccak256 (a browser script that also loads as CommonJS), checked against ethers. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Keccak = require("../../../../oracle/src/http/page/assets/keccak.js") as {
  keccak256(bytes: Uint8Array): string;
  keccak256Text(text: string): string;
  hexToBytes(hex: string): Uint8Array;
};

describe("monitoring page keccak256 (assets/keccak.js)", () => {
  it("matches ethers on the empty input, multi-byte UTF-8 and every length around the 136-byte rate", () => {
    const texts = ["", "abc", "héllo wörld 🌍 — 你好", ...[1, 135, 136, 137, 271, 272, 273, 1000].map((n) => "x".repeat(n))];
    for (const text of texts) expect(Keccak.keccak256Text(text), `length ${text.length}`).to.equal(keccak256(toUtf8Bytes(text)));
  });

  it("matches ethers on random byte strings", () => {
    for (let i = 0; i < 64; i++) {
      const bytes = randomBytes(i * 3);
      expect(Keccak.keccak256(bytes)).to.equal(keccak256(bytes));
    }
  });

  it("rebuilds a record leaf the way the page does, equal to ChatRecordRegistry.recordLeaf", () => {
    const fields = {
      promptHash: keccak256(toUtf8Bytes("prompt")),
      responseHash: keccak256(toUtf8Bytes("response")),
      modelHash: keccak256(toUtf8Bytes("model")),
      validator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    };
    const encoded = AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32", "bytes32", "address"], Object.values(fields));
    const pageLeaf = Keccak.keccak256(Keccak.hexToBytes(Keccak.keccak256(Keccak.hexToBytes(encoded))));
    expect(pageLeaf).to.equal(recordLeaf(fields).toLowerCase());
  });

  it("rejects a malformed hex string with its value in the message", () => {
    expect(() => Keccak.hexToBytes("0xzz")).to.throw("not a hex string: 0xzz");
  });
});
