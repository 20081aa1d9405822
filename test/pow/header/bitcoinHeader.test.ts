import { expect } from "chai";
import { BITCOIN_HEADER_VECTORS } from "./bitcoinVectors";
import { headerFromHex, parseHeader, serializeHeader, setNonce, verifyHeader } from "../../../pow/src/header/bitcoinHeader";


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
