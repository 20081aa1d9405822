import { expect } from "chai";
import { hexlify, keccak256, toUtf8Bytes } from "ethers";
import { decodePrompt } from "../../../oracle/src/chain/chatRegistry";

describe("chat registry client: prompt bytes", function () {
  it("decodes valid UTF-8 to the text whose hash is the on-chain promptHash", function () {
    const text = "Grüße, 世界 ✓";
    const decoded = decodePrompt(hexlify(toUtf8Bytes(text)));
    expect(decoded).to.deep.equal({ text, validUtf8: true });
    expect(keccak256(toUtf8Bytes(decoded.text))).to.equal(keccak256(toUtf8Bytes(text)));
  });

  it("marks invalid UTF-8 and shows U+FFFD for each bad sequence (the text no longer hashes to the prompt's hash)", function () {
    const raw = new Uint8Array([0x61, 0xff, 0x62, 0xc3]); // a, a stray byte, b, a truncated 2-byte sequence
    expect(decodePrompt(raw)).to.deep.equal({ text: "a\uFFFDb\uFFFD", validUtf8: false });
    // A prompt that itself contains U+FFFD is valid UTF-8 and stays so.
    expect(decodePrompt(toUtf8Bytes("a\uFFFDb"))).to.deep.equal({ text: "a\uFFFDb", validUtf8: true });
  });

  it("never throws on a malformed payload", function () {
    for (const payload of ["0x", "0xzz", "not hex", "0x123"]) {
      expect(() => decodePrompt(payload), payload).to.not.throw();
    }
    expect(decodePrompt("0xzz")).to.deep.equal({ text: "", validUtf8: false });
    expect(decodePrompt("0x")).to.deep.equal({ text: "", validUtf8: true });
  });
});
