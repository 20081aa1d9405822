import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { expect } from "chai";
import express from "express";
import { AbiCoder, hexlify, keccak256, randomBytes, toUtf8Bytes } from "ethers";
import type { Browser, Page } from "playwright-core";
import { createPageRouter } from "../../../../oracle/src/http/page";
import { readNobleHashesModule } from "../../../../oracle/src/http/page/vendor";
import { recordLeaf } from "../../../../oracle/src/store/recordLeaf";
import { launchChromium } from "../../../../scripts/lib/chromium";

/**
 * The page's keccak256 (assets/keccak.js, an ES module over @noble/hashes served from node_modules), run where it
 * runs: imported by a real browser from the page router, and checked against ethers.
 */
describe("monitoring page keccak256 (assets/keccak.js)", function () {
  this.timeout(60_000);
  let server: Server;
  let browser: Browser;
  let page: Page;

  /**
   * Calls the page module in the browser; bytes travel as hex strings. Written as source text: TypeScript would turn a
   * dynamic import() inside a function into require().
   */
  async function inPage(name: "keccak256" | "keccak256Text" | "hexToBytes" | "leaf", arg: string): Promise<string> {
    const calls = {
      keccak256Text: "k.keccak256Text(value)",
      keccak256: "k.keccak256(k.hexToBytes(value))",
      hexToBytes: "k.bytesToHex(k.hexToBytes(value))",
      // The record leaf the way the page rebuilds it: keccak256 of keccak256(abi.encode(...)).
      leaf: "k.keccak256(k.hexToBytes(k.keccak256(k.hexToBytes(value))))",
    };
    return page.evaluate(`import("/assets/keccak.js").then((k) => { const value = ${JSON.stringify(arg)}; return ${calls[name]}; })`);
  }

  before(async () => {
    const app = express().use(createPageRouter());
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    browser = await launchChromium();
    page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    // The page itself: its modules load (the API calls fail here, which the page shows as errors; not under test).
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    expect(errors).to.deep.equal([]);
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("matches ethers on the empty input, multi-byte UTF-8 and every length around the 136-byte rate", async () => {
    const texts = ["", "abc", "héllo wörld 🌍 — 你好", ...[1, 135, 136, 137, 271, 272, 273, 1000].map((n) => "x".repeat(n))];
    for (const text of texts) expect(await inPage("keccak256Text", text), `length ${text.length}`).to.equal(keccak256(toUtf8Bytes(text)));
  });

  it("matches ethers on random byte strings", async () => {
    for (let i = 0; i < 64; i++) {
      const bytes = randomBytes(i * 3);
      expect(await inPage("keccak256", hexlify(bytes))).to.equal(keccak256(bytes));
    }
  });

  it("rebuilds a record leaf the way the page does, equal to ChatRecordRegistry.recordLeaf", async () => {
    const fields = {
      promptHash: keccak256(toUtf8Bytes("prompt")),
      responseHash: keccak256(toUtf8Bytes("response")),
      modelHash: keccak256(toUtf8Bytes("model")),
      validator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    };
    const encoded = AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32", "bytes32", "address"], Object.values(fields));
    expect(await inPage("leaf", encoded)).to.equal(recordLeaf(fields).toLowerCase());
  });

  it("rejects a malformed hex string with its value in the message", async () => {
    let thrown: Error | undefined;
    await inPage("hexToBytes", "0xzz").catch((error: Error) => (thrown = error));
    expect(thrown?.message).to.include("not a hex string: 0xzz");
    expect(await inPage("hexToBytes", "0xAbCd")).to.equal("0xabcd");
  });

  it("serves @noble/hashes' modules with package imports made relative, and nothing outside its ESM build", () => {
    expect(readNobleHashesModule("utils.js")).to.include("from './crypto.js'").and.not.include("@noble/hashes/");
    expect(readNobleHashesModule("sha3.js")).to.include("export const keccak_256");
    for (const name of ["../package.json", "..%2Fsha3.js", "package.json", ".hidden.js", "nope.js"]) expect(readNobleHashesModule(name), name).to.equal(undefined);
  });
});
