import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, encryptKeystoreJsonSync } from "ethers";
import { publicNetworkFromEnv } from "../../scripts/lib/networks";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/** A keystore file of KEY with a cheap scrypt (the format and the decryption are the real ones). */
function keystoreFile(password: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keystore-")), "deployer.json");
  const wallet = new Wallet(KEY);
  fs.writeFileSync(file, encryptKeystoreJsonSync({ address: wallet.address, privateKey: KEY }, password, { scrypt: { N: 1 << 10 } }));
  return file;
}

describe("scripts/lib/networks publicNetworkFromEnv", function () {
  it("adds no network without an RPC URL", function () {
    expect(publicNetworkFromEnv({})).to.deep.equal({});
  });

  it("names the network after CHAT_ORACLE_NETWORK, with the deployer's raw key and the chain id", function () {
    expect(publicNetworkFromEnv({ CHAT_ORACLE_NETWORK: "sepolia", CHAT_ORACLE_RPC_URL: "https://rpc.example/v1", PRIVATE_KEY: KEY, CHAT_ORACLE_CHAIN_ID: "11155111" })).to.deep.equal({
      sepolia: { url: "https://rpc.example/v1", accounts: [KEY], chainId: 11155111 },
    });
  });

  it("keeps the older RPC_URL under the name remote, with no account when no key is set", function () {
    expect(publicNetworkFromEnv({ RPC_URL: "http://10.0.0.5:8545" })).to.deep.equal({ remote: { url: "http://10.0.0.5:8545", accounts: [] } });
  });

  it("decrypts the deployer's keystore", function () {
    const env = { CHAT_ORACLE_RPC_URL: "https://rpc.example", DEPLOYER_KEYSTORE: keystoreFile("correct horse"), DEPLOYER_KEYSTORE_PASSWORD: "correct horse" };
    expect(publicNetworkFromEnv(env).remote.accounts).to.deep.equal([KEY]);
  });

  it("refuses a wrong keystore password, a key and a keystore together, a bad URL, name or chain id, naming the variable", function () {
    const file = keystoreFile("right");
    const base = { CHAT_ORACLE_RPC_URL: "https://rpc.example" };
    expect(() => publicNetworkFromEnv({ ...base, DEPLOYER_KEYSTORE: file, DEPLOYER_KEYSTORE_PASSWORD: "wrong" })).to.throw(
      `DEPLOYER_KEYSTORE: cannot decrypt ${file} (wrong password or not a keystore file)`,
    );
    expect(() => publicNetworkFromEnv({ ...base, PRIVATE_KEY: KEY, DEPLOYER_KEYSTORE: file })).to.throw("set PRIVATE_KEY or DEPLOYER_KEYSTORE, not both");
    expect(() => publicNetworkFromEnv({ ...base, PRIVATE_KEY: "0x12" })).to.throw("PRIVATE_KEY is not a 32-byte hex private key");
    expect(() => publicNetworkFromEnv({ CHAT_ORACLE_RPC_URL: "rpc.example" })).to.throw('CHAT_ORACLE_RPC_URL must be an http(s) URL, got "rpc.example"');
    expect(() => publicNetworkFromEnv({ ...base, CHAT_ORACLE_NETWORK: "localhost" })).to.throw("CHAT_ORACLE_NETWORK must be a name");
    expect(() => publicNetworkFromEnv({ ...base, CHAT_ORACLE_CHAIN_ID: "0x1" })).to.throw('CHAT_ORACLE_CHAIN_ID must be a positive integer, got "0x1"');
  });
});
