import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { applyMigrations, openDatabase } from "../../../oracle/src/store/database";

describe("database", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-oracle-db-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("opens a file in WAL mode with foreign keys and a busy timeout, creating its folder", () => {
    const db = openDatabase(path.join(dir, "nested", "node.sqlite"));
    expect(db.pragma("journal_mode", { simple: true })).to.equal("wal");
    expect(db.pragma("foreign_keys", { simple: true })).to.equal(1);
    expect(db.pragma("busy_timeout", { simple: true })).to.equal(5000);
    db.close();
  });

  it("applies each component's migrations once, in order, across reopenings", () => {
    const file = path.join(dir, "node.sqlite");
    const first = openDatabase(file);
    applyMigrations(first, "demo", ["CREATE TABLE a (x INTEGER)"]);
    applyMigrations(first, "other", ["CREATE TABLE b (y INTEGER)"]);
    first.close();

    const second = openDatabase(file);
    // The first step would throw ("table a already exists") if it ran again.
    applyMigrations(second, "demo", ["CREATE TABLE a (x INTEGER)", "ALTER TABLE a ADD COLUMN z TEXT"]);
    const columns = (second.pragma("table_info(a)") as { name: string }[]).map((c) => c.name);
    expect(columns).to.deep.equal(["x", "z"]);
    const versions = second.prepare("SELECT component, version FROM schema_migrations ORDER BY component, version").all();
    expect(versions).to.deep.equal([
      { component: "demo", version: 1 },
      { component: "demo", version: 2 },
      { component: "other", version: 1 },
    ]);
    second.close();
  });

  it("rolls back a failing migration and leaves the version unchanged", () => {
    const db = openDatabase(":memory:");
    expect(() => applyMigrations(db, "broken", ["CREATE TABLE ok (x INTEGER); THIS IS NOT SQL"])).to.throw();
    expect(db.prepare("SELECT COUNT(*) AS n FROM schema_migrations").get()).to.deep.equal({ n: 0 });
  });
});
