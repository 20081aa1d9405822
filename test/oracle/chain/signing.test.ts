import { expect } from "chai";
import { Transaction, Wallet, hexlify, randomBytes, recoverAddress } from "ethers";
import { signTransaction } from "../../../oracle/src/chain/signing";
import { Prng } from "../../../oracle/src/prng";

describe("transaction signing (libsecp256k1)", function () {
  it("gives the bytes ethers' Wallet gives, for any key, nonce, fee and payload", async function () {
    const prng = new Prng("signing");
    for (let i = 0; i < 40; i++) {
      const wallet = new Wallet(hexlify(randomBytes(32)));
      const tx = Transaction.from({
        type: 2,
        chainId: BigInt(1 + prng.nextInt(100_000)),
        to: hexlify(randomBytes(20)),
        data: hexlify(randomBytes(prng.nextInt(300))),
        value: BigInt(prng.nextInt(1_000_000)),
        nonce: prng.nextInt(1_000_000),
        gasLimit: BigInt(21_000 + prng.nextInt(5_000_000)),
        maxFeePerGas: BigInt(1 + prng.nextInt(1e9)) * 1000n,
        maxPriorityFeePerGas: BigInt(prng.nextInt(1e9)),
      });
      const signed = signTransaction(wallet, tx);
      expect(signed).to.equal(await wallet.signTransaction(tx));
      const parsed = Transaction.from(signed);
      expect(parsed.from).to.equal(wallet.address);
      expect(recoverAddress(parsed.unsignedHash, parsed.signature!)).to.equal(wallet.address);
    }
  });
});
