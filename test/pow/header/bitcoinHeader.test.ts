import { expect } from "chai";
import { headerFromHex, parseHeader, serializeHeader, setNonce, verifyHeader } from "../../../pow/src/header/bitcoinHeader";

/** Real mainnet headers (from any block explorer) and their hashes in display order. */
export const BITCOIN_HEADER_VECTORS = [
  {
    height: 0,
    hex: "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c",
    hash: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    nonce: 2083236893, time: 1231006505, bits: 0x1d00ffff,
  },
  {
    height: 1,
    hex: "010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e61bc6649ffff001d01e36299",
    hash: "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048",
    nonce: 2573394689, time: 1231469665, bits: 0x1d00ffff,
  },
  {
    height: 100000,
    hex: "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710",
    hash: "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506",
    nonce: 274148111, time: 1293623863, bits: 0x1b04864c,
  },
];

describe("pow/header/bitcoinHeader", () => {
  for (const vector of BITCOIN_HEADER_VECTORS) {
    it(`verifies mainnet block ${vector.height}: hash ${vector.hash.slice(0, 16)}… meets its nBits target`, () => {
      const verdict = verifyHeader(headerFromHex(vector.hex));
      expect(verdict.hash).to.equal(vector.hash);
      expect(verdict.valid).to.equal(true);
      expect(verdict.header.nonce).to.equal(vector.nonce);
      expect(verdict.header.time).to.equal(vector.time);
      expect(verdict.header.bits).to.equal(vector.bits);
      expect(BigInt("0x" + verdict.hash) <= BigInt("0x" + verdict.target)).to.equal(true);
    });
  }

  it("links block 1 to the genesis block by its previous hash", () => {
    expect(parseHeader(headerFromHex(BITCOIN_HEADER_VECTORS[1].hex)).previousHash).to.equal(BITCOIN_HEADER_VECTORS[0].hash);
  });

  it("gives the difficulty-1 target for nBits 0x1d00ffff", () => {
    expect(verifyHeader(headerFromHex(BITCOIN_HEADER_VECTORS[0].hex)).target).to.equal("00000000ffff" + "0".repeat(52));
  });

  it("round-trips parse and serialize", () => {
    for (const vector of BITCOIN_HEADER_VECTORS) {
      expect(Buffer.from(serializeHeader(parseHeader(headerFromHex(vector.hex)))).toString("hex")).to.equal(vector.hex);
    }
  });

  it("rejects the genesis header with a different nonce", () => {
    const header = headerFromHex(BITCOIN_HEADER_VECTORS[0].hex);
    setNonce(header, BITCOIN_HEADER_VECTORS[0].nonce + 1);
    const verdict = verifyHeader(header);
    expect(verdict.valid).to.equal(false);
    expect(verdict.reason).to.equal("hash is above the target");
  });

  it("rejects a header whose nBits was made easier without new work being done", () => {
    const header = headerFromHex(BITCOIN_HEADER_VECTORS[2].hex);
    header[75] = 0x1d; // exponent of nBits: target grows, but the hash (which covers nBits) changes too
    expect(verifyHeader(header).hash).to.not.equal(BITCOIN_HEADER_VECTORS[2].hash);
  });

  it("refuses hex that is not 80 bytes", () => {
    expect(() => headerFromHex("00".repeat(79))).to.throw(/80 bytes/);
    expect(() => headerFromHex("zz".repeat(80))).to.throw(/hex/);
  });
});
