/*
 * keccak256 for the monitoring page: the hash the contracts store for prompts, responses and record leaves.
 * Written out here (not fetched from a CDN) so the page verifies texts offline; checked against ethers in
 * test/oracle/http/page/keccak.test.ts. Lanes are 64-bit words kept as (lo, hi) 32-bit halves.
 * Exposes `Keccak = { keccak256(bytes) -> "0x…", keccak256Text(text) -> "0x…", hexToBytes, bytesToHex }`.
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.Keccak = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";
  // Round constants as [lo, hi] pairs.
  var RC = [
    0x00000001, 0x00000000, 0x00008082, 0x00000000, 0x0000808a, 0x80000000, 0x80008000, 0x80000000,
    0x0000808b, 0x00000000, 0x80000001, 0x00000000, 0x80008081, 0x80000000, 0x00008009, 0x80000000,
    0x0000008a, 0x00000000, 0x00000088, 0x00000000, 0x80008009, 0x00000000, 0x8000000a, 0x00000000,
    0x8000808b, 0x00000000, 0x0000008b, 0x80000000, 0x00008089, 0x80000000, 0x00008003, 0x80000000,
    0x00008002, 0x80000000, 0x00000080, 0x80000000, 0x0000800a, 0x00000000, 0x8000000a, 0x80000000,
    0x80008081, 0x80000000, 0x00008080, 0x80000000, 0x80000001, 0x00000000, 0x80008008, 0x80000000,
  ];
  // Rotation offsets by lane index x + 5y.
  var ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
  var RATE_BYTES = 136; // 1088-bit rate of keccak256

  function permute(lo, hi) {
    var cLo = new Uint32Array(5), cHi = new Uint32Array(5);
    var bLo = new Uint32Array(25), bHi = new Uint32Array(25);
    for (var round = 0; round < 24; round++) {
      var x, y, i;
      // theta
      for (x = 0; x < 5; x++) {
        cLo[x] = lo[x] ^ lo[x + 5] ^ lo[x + 10] ^ lo[x + 15] ^ lo[x + 20];
        cHi[x] = hi[x] ^ hi[x + 5] ^ hi[x + 10] ^ hi[x + 15] ^ hi[x + 20];
      }
      for (x = 0; x < 5; x++) {
        var nLo = cLo[(x + 1) % 5], nHi = cHi[(x + 1) % 5];
        var dLo = cLo[(x + 4) % 5] ^ ((nLo << 1) | (nHi >>> 31));
        var dHi = cHi[(x + 4) % 5] ^ ((nHi << 1) | (nLo >>> 31));
        for (y = 0; y < 25; y += 5) {
          lo[x + y] ^= dLo;
          hi[x + y] ^= dHi;
        }
      }
      // rho and pi: lane (x, y) moves to (y, 2x + 3y) rotated by ROT
      for (x = 0; x < 5; x++) {
        for (y = 0; y < 5; y++) {
          i = x + 5 * y;
          var l = lo[i], h = hi[i], n = ROT[i];
          if (n >= 32) {
            var t = l;
            l = h;
            h = t;
            n -= 32;
          }
          var rl = n === 0 ? l : (l << n) | (h >>> (32 - n));
          var rh = n === 0 ? h : (h << n) | (l >>> (32 - n));
          var j = y + 5 * ((2 * x + 3 * y) % 5);
          bLo[j] = rl;
          bHi[j] = rh;
        }
      }
      // chi
      for (y = 0; y < 25; y += 5) {
        for (x = 0; x < 5; x++) {
          lo[x + y] = bLo[x + y] ^ (~bLo[((x + 1) % 5) + y] & bLo[((x + 2) % 5) + y]);
          hi[x + y] = bHi[x + y] ^ (~bHi[((x + 1) % 5) + y] & bHi[((x + 2) % 5) + y]);
        }
      }
      // iota
      lo[0] ^= RC[2 * round];
      hi[0] ^= RC[2 * round + 1];
    }
  }

  /** keccak256 (the original Keccak padding 0x01, not SHA3's 0x06) of a Uint8Array, as 0x-prefixed hex. */
  function keccak256(bytes) {
    var lo = new Uint32Array(25), hi = new Uint32Array(25);
    var padded = new Uint8Array((Math.floor(bytes.length / RATE_BYTES) + 1) * RATE_BYTES);
    padded.set(bytes);
    padded[bytes.length] ^= 0x01;
    padded[padded.length - 1] ^= 0x80;
    for (var offset = 0; offset < padded.length; offset += RATE_BYTES) {
      for (var lane = 0; lane < RATE_BYTES / 8; lane++) {
        var p = offset + lane * 8;
        lo[lane] ^= padded[p] | (padded[p + 1] << 8) | (padded[p + 2] << 16) | (padded[p + 3] << 24);
        hi[lane] ^= padded[p + 4] | (padded[p + 5] << 8) | (padded[p + 6] << 16) | (padded[p + 7] << 24);
      }
      permute(lo, hi);
    }
    var out = new Uint8Array(32);
    for (var k = 0; k < 4; k++) {
      for (var b = 0; b < 4; b++) {
        out[k * 8 + b] = (lo[k] >>> (8 * b)) & 0xff;
        out[k * 8 + 4 + b] = (hi[k] >>> (8 * b)) & 0xff;
      }
    }
    return bytesToHex(out);
  }

  function bytesToHex(bytes) {
    var hex = "0x";
    for (var i = 0; i < bytes.length; i++) hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return hex;
  }

  function hexToBytes(hex) {
    var clean = hex.replace(/^0x/i, "");
    if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error("not a hex string: " + hex);
    var out = new Uint8Array(clean.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(2 * i, 2), 16);
    return out;
  }

  /** keccak256 of the UTF-8 bytes of `text`, as Solidity's keccak256(bytes(text)). */
  function keccak256Text(text) {
    return keccak256(new TextEncoder().encode(text));
  }

  return { keccak256: keccak256, keccak256Text: keccak256Text, hexToBytes: hexToBytes, bytesToHex: bytesToHex };
});
