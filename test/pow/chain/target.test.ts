import { expect } from "chai";
import {
  compactToTarget, expectedHashes, leadingZeroBits, retarget, targetFromLeadingZeroBits, targetToCompact,
} from "../../../pow/src/chain/target";

describe("pow/chain/target", () => {
  it("maps the seed's '0000' hex prefix to k = 16 and W = 2^16 expected tries", () => {
    const target = targetFromLeadingZeroBits(16);
    expect(target.toString(16).padStart(64, "0").startsWith("0000f")).to.equal(true);
    expect(expectedHashes(target)).to.equal(2 ** 16);
  });

  it("counts leading zero bits of hash values", () => {
    expect(leadingZeroBits(0n)).to.equal(256);
    expect(leadingZeroBits(1n << 255n)).to.equal(0);
    expect(leadingZeroBits(targetFromLeadingZeroBits(20))).to.equal(20);
    expect(leadingZeroBits(targetFromLeadingZeroBits(20) + 1n)).to.equal(19);
  });

  it("rejects k outside [0, 255]", () => {
    expect(() => targetFromLeadingZeroBits(-1)).to.throw(/\[0, 255\]/);
    expect(() => targetFromLeadingZeroBits(256)).to.throw(/\[0, 255\]/);
    expect(() => targetFromLeadingZeroBits(1.5)).to.throw(/integer/);
  });

  it("expands and compresses nBits like Bitcoin Core", () => {
    expect(compactToTarget(0x1d00ffff)).to.equal(0xffffn << 208n);
    expect(compactToTarget(0x1b04864c)).to.equal(0x04864cn << 192n);
    expect(targetToCompact(0xffffn << 208n)).to.equal(0x1d00ffff);
    expect(targetToCompact(0x04864cn << 192n)).to.equal(0x1b04864c);
    // A mantissa with its top bit set moves one byte right instead of turning negative.
    expect(targetToCompact(0x80n)).to.equal(0x02008000);
    expect(compactToTarget(0x02008000)).to.equal(0x80n);
    expect(() => compactToTarget(0x04923456)).to.throw(/negative/);
    expect(() => compactToTarget(0xff123456)).to.throw(/overflows/);
  });

  it("rounds k-bit targets down in nBits, so a passing hash always has k leading zero bits", () => {
    for (const k of [1, 8, 16, 17, 31, 200]) {
      const compact = compactToTarget(targetToCompact(targetFromLeadingZeroBits(k)));
      expect(compact <= targetFromLeadingZeroBits(k)).to.equal(true);
      expect(leadingZeroBits(compact)).to.equal(k);
    }
  });

  it("retargets in proportion to the measured timespan, clamped to ×4 and capped at the pow limit", () => {
    const old = 1n << 200n;
    const limit = (1n << 240n) - 1n;
    expect(retarget(old, 500, 1000, 4, limit)).to.equal(old / 2n);
    expect(retarget(old, 2000, 1000, 4, limit)).to.equal(old * 2n);
    expect(retarget(old, 1, 1000, 4, limit)).to.equal(old / 4n);
    expect(retarget(old, 1e9, 1000, 4, limit)).to.equal(old * 4n);
    expect(retarget(limit, 4000, 1000, 4, limit)).to.equal(limit);
  });
});
