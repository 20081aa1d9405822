import { Signature, type Transaction, type Wallet, getBytes, hexlify } from "ethers";
import secp256k1 from "secp256k1";
import { keccak256 } from "./keccak";

/**
 * Signs a transaction with libsecp256k1 (the `secp256k1` package's prebuilt native binding; its own fallback is a
 * JavaScript implementation). RFC 6979 nonces and low-s like ethers' `Wallet.signTransaction`, so the bytes are the
 * same; a signature costs ~0.04 ms instead of ~0.3 ms in JavaScript, and the node signs every commit and reveal.
 */
export function signTransaction(wallet: Wallet, tx: Transaction): string {
  const { signature, recid } = secp256k1.ecdsaSign(getBytes(keccak256(tx.unsignedSerialized)), getBytes(wallet.signingKey.privateKey));
  const signed = tx.clone();
  signed.signature = Signature.from({ r: hexlify(signature.subarray(0, 32)), s: hexlify(signature.subarray(32, 64)), v: 27 + recid });
  return signed.serialized;
}
