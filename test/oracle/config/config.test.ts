import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, encryptKeystoreJsonSync } from "ethers";
import { ConfigError, OPTION_SPECS, formatHelp, parseConfig, readAnchorKey, resolveValidatorKeys } from "../../../oracle/src/config";
import type { OptionSpec } from "../../../oracle/src/config/options";

const KEY = "0x" + "11".repeat(32);

describe("oracle config", function () {
  it("applies defaults when nothing is given", function () {
    // A demo's deployments/localhost.json would supply the RPC URL (see rpcUrl.test.ts): point at a file that is not there.
    const { config, help } = parseConfig({ argv: [], env: { ORACLE_DEPLOYMENTS: path.join(os.tmpdir(), "no-such-deployments.json") } });
    expect(help).to.equal(false);
    expect(config.rpcUrl).to.equal("http://127.0.0.1:8545");
    expect(config.httpPort).to.equal(8080);
    expect(config.providers).to.deep.equal(["cpu"]);
    expect(config.timeoutSweeper).to.equal(true);
  });

  it("reads the command line over the environment", function () {
    const { config } = parseConfig({
      argv: ["--http-port", "9000", "--timeout-sweeper=false"],
      env: { ORACLE_HTTP_PORT: "7000", ORACLE_CONFIRMATIONS: "3", ORACLE_PROVIDERS: "webgpu, cpu", ORACLE_VALIDATOR_KEYS: `${KEY},${"22".repeat(32)}` },
    });
    expect(config.httpPort).to.equal(9000);
    expect(config.confirmations).to.equal(3);
    expect(config.providers).to.deep.equal(["webgpu", "cpu"]);
    expect(config.validatorKeys).to.have.length(2);
    expect(config.timeoutSweeper).to.equal(false);
  });

  const bad: [string[], Record<string, string>, string][] = [
    [["--http-port", "eighty"], {}, "http-port"],
    [["--http-port", "70000"], {}, "http-port"],
    [["--rpc-url", "not a url"], {}, "rpc-url"],
    [["--ws-url", "http://127.0.0.1:8545"], {}, "ws-url"],
    [["--no-such-option", "1"], {}, "no-such-option"],
    [["--providers", "tpu"], {}, "providers"],
    [["--http-port"], {}, "http-port"],
    [["stray"], {}, "stray"],
    [[], { ORACLE_CONFIRMATIONS: "-1" }, "confirmations"],
    [[], { ORACLE_ADMIN_TOKEN: "short" }, "admin-token"],
    [["--keystore", "k.json"], {}, "keystore-password"],
  ];
  for (const [argv, env, option] of bad) {
    it(`stops with the option's name for ${JSON.stringify(argv.length ? argv : env)}`, function () {
      expect(() => parseConfig({ argv, env }))
        .to.throw(ConfigError)
        .with.property("option", option);
    });
  }

  it("refuses a secret on the command line (visible to every user in ps), naming its environment variable", function () {
    const secret = "33".repeat(32);
    for (const [argv, env] of [
      [["--validator-key", secret], "ORACLE_VALIDATOR_KEYS"],
      [[`--admin-token=${secret}`], "ORACLE_ADMIN_TOKEN"],
      [["--keystore-password", secret], "ORACLE_KEYSTORE_PASSWORD"],
    ] as const) {
      expect(() => parseConfig({ argv, env: {} }))
        .to.throw(ConfigError, `is a secret: set ${env} (or a file option) instead; the command line is visible to every user (ps)`)
        .with.property("message")
        .that.does.not.contain(secret);
    }
  });

  it("reads validator keys from --validator-key-file, one per line, and refuses a bad line without echoing it", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oracle-cfg-"));
    const file = path.join(dir, "keys");
    fs.writeFileSync(file, `# validators\n${KEY}\n\n${"22".repeat(32)}\n`);
    const { config } = parseConfig({ argv: ["--validator-key-file", file], env: {} });
    expect(await resolveValidatorKeys(config)).to.deep.equal([KEY, "0x" + "22".repeat(32)]);
    fs.writeFileSync(file, `${KEY}\nnot-a-key-secretish\n`);
    await resolveValidatorKeys(parseConfig({ argv: ["--validator-key-file", file], env: {} }).config).then(
      () => expect.fail("should have thrown"),
      (error: ConfigError) => {
        expect(error.message).to.equal(`--validator-key-file: ${file} line 2 is not a 32-byte hex private key`);
      },
    );
  });

  it("reads the anchor key from --anchor-key-file and refuses a file without one key, without echoing it", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oracle-cfg-"));
    const file = path.join(dir, "anchor-key");
    expect(readAnchorKey(parseConfig({ argv: [], env: {} }).config)).to.equal(undefined);
    fs.writeFileSync(file, `${"AB".repeat(32)}\n`);
    expect(readAnchorKey(parseConfig({ argv: ["--anchor-key-file", file], env: {} }).config)).to.equal("0x" + "ab".repeat(32));
    fs.writeFileSync(file, "secretish-but-not-a-key\n");
    expect(() => readAnchorKey(parseConfig({ argv: ["--anchor-key-file", file], env: {} }).config))
      .to.throw(ConfigError, `--anchor-key-file: ${file} must hold one 32-byte hex private key`)
      .with.property("message")
      .that.does.not.contain("secretish");
  });

  it("never echoes a secret value in the error", function () {
    const secret = "zz".repeat(32);
    try {
      parseConfig({ argv: [], env: { ORACLE_VALIDATOR_KEYS: secret } });
      expect.fail("should have thrown");
    } catch (error) {
      expect((error as Error).message).to.contain("--validator-key").and.not.contain(secret);
    }
  });

  it("requires at least one validator key when keys are resolved", async function () {
    const { config } = parseConfig({ argv: [], env: {} });
    await resolveValidatorKeys(config).then(
      () => expect.fail("should have thrown"),
      (error: ConfigError) => expect(error.option).to.equal("validator-key"),
    );
  });

  it("decrypts a keystore and rejects a wrong password", async function () {
    this.timeout(60_000);
    const wallet = new Wallet(KEY);
    // A cheap scrypt setting keeps the test fast; the format is the standard one.
    const json = encryptKeystoreJsonSync({ address: wallet.address, privateKey: KEY }, "pw-123456", { scrypt: { N: 1024 } });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "oracle-cfg-")), "key.json");
    fs.writeFileSync(file, json);
    const ok = parseConfig({ argv: ["--keystore", file], env: { ORACLE_KEYSTORE_PASSWORD: "pw-123456" } }).config;
    expect(await resolveValidatorKeys(ok)).to.deep.equal([KEY]);
    const wrong = parseConfig({ argv: ["--keystore", file], env: { ORACLE_KEYSTORE_PASSWORD: "nope" } }).config;
    await resolveValidatorKeys(wrong).then(
      () => expect.fail("should have thrown"),
      (error: ConfigError) => expect(error.option).to.equal("keystore"),
    );
  });

  it("prints every option in --help from the same table", function () {
    const { help } = parseConfig({ argv: ["--help"], env: {} });
    expect(help).to.equal(true);
    const text = formatHelp();
    for (const spec of Object.values(OPTION_SPECS) as OptionSpec[]) {
      if (spec.secret) expect(text).to.contain(`${spec.env}=<value>`).and.not.contain(`--${spec.flag} `);
      else expect(text).to.contain(`--${spec.flag}`).and.contain(spec.env);
    }
  });
});
