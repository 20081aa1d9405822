import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { CONTENT_TABLE, createContentStore, hashText } from "../../../oracle/src/store/contentStore";
import { openDatabase } from "../../../oracle/src/store/database";

describe("content store", () => {
  it("returns keccak256 of the UTF-8 bytes and gives the text back by that hash", () => {
    const store = createContentStore(openDatabase(":memory:"));
    const text = "Grüße, 世界 🌍";
    const hash = store.put(text);
    expect(hash).to.equal(keccak256(toUtf8Bytes(text)));
    expect(hash).to.equal(hashText(text));
    expect(store.get(hash)).to.equal(text);
    expect(store.has(hash)).to.equal(true);
  });

  it("is idempotent and finds a hash written in upper case", () => {
    const store = createContentStore(openDatabase(":memory:"));
    const first = store.put("same");
    expect(store.put("same")).to.equal(first);
    expect(store.get("0x" + first.slice(2).toUpperCase())).to.equal("same");
  });

  it("stores the empty string under keccak256 of no bytes", () => {
    const store = createContentStore(openDatabase(":memory:"));
    expect(store.put("")).to.equal(keccak256("0x"));
    expect(store.get(keccak256("0x"))).to.equal("");
  });

  it("answers undefined / false for an unknown hash", () => {
    const store = createContentStore(openDatabase(":memory:"));
    expect(store.get(hashText("never stored"))).to.equal(undefined);
    expect(store.has(hashText("never stored"))).to.equal(false);
  });

  it("returns a tampered text as stored, so readers can detect it by hashing", () => {
    const db = openDatabase(":memory:");
    const store = createContentStore(db);
    const hash = store.put("original");
    db.prepare(`UPDATE ${CONTENT_TABLE} SET text = ? WHERE hash = ?`).run("changed", hash);
    expect(store.get(hash)).to.equal("changed");
    expect(hashText(store.get(hash)!)).to.not.equal(hash);
  });

  it("rejects a string with a lone surrogate, which has no UTF-8 encoding", () => {
    const store = createContentStore(openDatabase(":memory:"));
    expect(() => store.put("bad \ud800 text")).to.throw();
  });
});
