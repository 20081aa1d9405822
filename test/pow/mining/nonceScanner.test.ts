import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { compress, midstate, readBlockWords, sha256, SHA256_IV, stateToDigest } from "../../../pow/src/crypto/sha256";
import { headerFromHex } from "../../../pow/src/header/bitcoinHeader";
import { compactToTarget, targetFromLeadingZeroBits } from "../../../pow/src/chain/target";
import { JsMidstateScanner, nonceMeetsTarget, WasmSimdScanner } from "../../../pow/src/mining/nonceScanner";
import { seedWayScan } from "../../../pow/src/mining/seedWay";
import { BITCOIN_HEADER_VECTORS } from "../header/bitcoinVectors";

describe("pow/mining/nonceScanner", () => {
  it("compresses like OpenSSL: JS SHA-256 of a one-block message equals node:crypto's", () => {
    const message = new Uint8Array(64);
    message.set(Buffer.from("abc"));
    message[3] = 0x80;
    message[63] = 24;
    const state = Int32Array.from(SHA256_IV);
    compress(state, readBlockWords(message, 0));
    expect(Buffer.from(stateToDigest(state)).toString("hex")).to.equal(Buffer.from(sha256(Buffer.from("abc"))).toString("hex"));
    expect(midstate(new Uint8Array(80))).to.have.length(8);
  });

  for (const make of [() => new WasmSimdScanner(), () => new JsMidstateScanner()]) {
    const name = make().name;
    it(`${name} finds the genesis block's nonce in a window around it`, () => {
      const genesis = BITCOIN_HEADER_VECTORS[0];
      const scanner = make();
      scanner.setTemplate(headerFromHex(genesis.hex), compactToTarget(genesis.bits));
      expect(scanner.scan(genesis.nonce - 2001, 4000)).to.deep.equal({ scanned: 4000, hits: [genesis.nonce] });
    });

    it(`${name} reports exactly the nonces a reference check accepts at k = 8, random headers`, () => {
      const scanner = make();
      const target = targetFromLeadingZeroBits(8);
      for (let round = 0; round < 3; round++) {
        const header = new Uint8Array(randomBytes(80));
        const start = 0xffffff00 + round * 40; // crosses the 2^32 wrap on the last round
        scanner.setTemplate(header, target);
        const expected: number[] = [];
        for (let i = 0; i < 6000; i++) if (nonceMeetsTarget(header, (start + i) >>> 0, target)) expected.push((start + i) >>> 0);
        expect(scanner.scan(start, 6000).hits).to.deep.equal(expected);
      }
    });
  }

  it("keeps scanning past a full candidate buffer when the target is very easy (k = 1)", () => {
    const scanner = new WasmSimdScanner();
    const header = new Uint8Array(80);
    scanner.setTemplate(header, targetFromLeadingZeroBits(1));
    const { hits } = scanner.scan(0, 8192);
    expect(hits.length).to.be.within(3800, 4400); // about half of 8192; the cap per kernel call is 1024
    expect(new Set(hits).size).to.equal(hits.length);
  });

  it("transcribes the seed's proof of work: a '0000' hex prefix after concatenating the last proof", () => {
    const { proof, scanned } = seedWayScan(100, 0, 1_000_000, 4);
    expect(proof).to.be.a("number");
    expect(scanned).to.equal(proof! + 1);
    expect(Buffer.from(sha256(Buffer.from(`100${proof}`))).toString("hex").startsWith("0000")).to.equal(true);
  });

  it("rejects a header template of the wrong size", () => {
    expect(() => new WasmSimdScanner().setTemplate(new Uint8Array(79), 1n)).to.throw(/80 bytes/);
    expect(() => headerFromHex("00")).to.throw(/80 bytes/);
  });
});
