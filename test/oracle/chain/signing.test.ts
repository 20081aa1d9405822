import { expect } from "chai";
import { Transaction, Wallet, getBytes, hexlify, randomBytes, recoverAddress } from "ethers";
import { signDynamicFeeTx } from "../../../oracle/src/chain/signing";
import { Prng } from "../../../oracle/src/prng";

describe("transaction signing (RLP here, libsecp256k1)", function () {
  it("gives the bytes ethers' Wallet gives, for any key, nonce, fee and payload", async function () {
    const prng = new Prng("signing");
    // Edge values: zeros (RLP's empty string), one byte below and at 0x80, 55 and 56 bytes of data (the long form).
    const dataLengths = [0, 1, 55, 56, 300, 1_100];
    for (let i = 0; i < 60; i++) {
      const wallet = new Wallet(hexlify(randomBytes(32)));
      const edge = i < 12;
      const length = i < dataLengths.length ? dataLengths[i] : prng.nextInt(300);
      const data = length === 1 ? (i % 2 ? "0x7f" : "0x80") : hexlify(randomBytes(length));
      const fields = {
        chainId: edge ? 1n : BigInt(1 + prng.nextInt(100_000)),
        nonce: edge ? i % 3 : prng.nextInt(1_000_000),
        maxPriorityFeePerGas: edge ? 0n : BigInt(prng.nextInt(1e9)),
        maxFeePerGas: edge ? 127n + BigInt(i % 2) : BigInt(1 + prng.nextInt(1e9)) * 1000n,
        gasLimit: BigInt(21_000 + prng.nextInt(5_000_000)),
        to: hexlify(randomBytes(20)),
        value: edge ? 0n : BigInt(prng.nextInt(1_000_000)) * 10n ** 12n,
        data,
      };
      const signed = signDynamicFeeTx(getBytes(wallet.signingKey.privateKey), fields);
      const tx = Transaction.from({ type: 2, ...fields });
      expect(signed).to.equal(await wallet.signTransaction(tx));
      const parsed = Transaction.from(signed);
      expect(parsed.from).to.equal(wallet.address);
      expect(recoverAddress(parsed.unsignedHash, parsed.signature!)).to.equal(wallet.address);
    }
  });

  it("refuses what it cannot encode", function () {
    const key = getBytes(hexlify(randomBytes(32)));
    const fields = { chainId: 1n, nonce: 0, maxPriorityFeePerGas: 0n, maxFeePerGas: 1n, gasLimit: 21_000n, to: hexlify(randomBytes(20)), value: 0n, data: "0x" };
    expect(() => signDynamicFeeTx(key, { ...fields, value: -1n })).to.throw(RangeError, /negative/);
    expect(() => signDynamicFeeTx(key, { ...fields, data: "0x123" })).to.throw(TypeError);
  });
});
