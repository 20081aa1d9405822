import { expect } from "chai";
import { keccak256 as ethersKeccak, hexlify, toUtf8Bytes } from "ethers";
import { keccak256, keccakText } from "../../../oracle/src/chain/keccak";
import { Prng } from "../../../oracle/src/prng";

describe("keccak256 (native binding)", function () {
  it("hashes bytes, hex and texts exactly as ethers does", function () {
    const prng = new Prng("keccak");
    for (const length of [0, 1, 31, 32, 33, 135, 136, 137, 300, 1000]) {
      const bytes = Uint8Array.from({ length }, () => prng.nextInt(256));
      expect(keccak256(bytes), `${length} bytes`).to.equal(ethersKeccak(bytes));
      expect(keccak256(hexlify(bytes)), `${length} bytes as hex`).to.equal(ethersKeccak(bytes));
      // A view into a larger buffer hashes only its own bytes.
      const padded = new Uint8Array(length + 8);
      padded.set(bytes, 4);
      expect(keccak256(padded.subarray(4, 4 + length))).to.equal(ethersKeccak(bytes));
    }
    for (const text of ["", "hello", "Grüße, 世界 ✓", "🙂".repeat(100)]) {
      expect(keccakText(text)).to.equal(ethersKeccak(toUtf8Bytes(text)));
    }
  });

  it("refuses a string that is not even-length 0x hex, and a text with no UTF-8 encoding, instead of hashing something else", function () {
    for (const bad of ["", "0x1", "abcd", "0xzz", "hello"]) {
      expect(() => keccak256(bad), bad).to.throw(TypeError, /0x hex/);
    }
    expect(() => keccakText("a\ud800b")).to.throw(TypeError, /lone UTF-16 surrogate/);
  });
});
