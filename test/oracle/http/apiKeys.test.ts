import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ConfigError } from "../../../oracle/src/config";
import { createApiKeySet, loadApiKeysFile } from "../../../oracle/src/http/apiKeys";

function keysFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "api-keys-"));
  const file = path.join(dir, "keys");
  fs.writeFileSync(file, text);
  return file;
}

describe("API keys", function () {
  it("matches raw and sha256 keys from the file, skipping blank lines and comments", function () {
    const raw = "a-raw-key-0123456789";
    const other = "another-key-0123456789";
    const keys = loadApiKeysFile(keysFile(`# operators\n${raw}\n\n  sha256:${createHash("sha256").update(other).digest("hex")}  \n`));
    expect(keys.size).to.equal(2);
    expect(keys.matches(raw)).to.equal(true);
    expect(keys.matches(other)).to.equal(true);
    expect(keys.matches(`sha256:${createHash("sha256").update(other).digest("hex")}`), "a hash is not a key").to.equal(false);
    expect(keys.matches("")).to.equal(false);
    expect(keys.matches(raw.slice(0, -1))).to.equal(false);
  });

  it("refuses a short key, a file without keys and a missing file with one line naming --api-keys", function () {
    const cases: [string, RegExp][] = [
      [keysFile("good-key-0123456789abc\nshort\n"), /^--api-keys: .* line 2: must be sha256:<64 hex> or a raw key of at least 16 characters/],
      [keysFile("# nothing\n\n"), /^--api-keys: .* holds no keys$/],
      [path.join(os.tmpdir(), "no-such-api-keys-file"), /^--api-keys: cannot read .*: ENOENT$/],
    ];
    for (const [file, message] of cases) {
      expect(() => loadApiKeysFile(file)).to.throw(ConfigError, message);
    }
    expect(() => createApiKeySet(["has a space in it 0123"])).to.throw(/without spaces/);
  });
});
