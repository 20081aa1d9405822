import { expect } from "chai";
import { CONTENT_TABLE, createContentStore } from "../../../oracle/src/store/contentStore";
import { createContentRetention } from "../../../oracle/src/store/retention";
import { createTestCommon } from "./fixtures";

const DAY_MS = 86_400_000;

describe("content store retention", function () {
  it("deletes texts last stored before the retention period, keeping a text stored again since", function () {
    const common = createTestCommon({ contentRetentionDays: 30 });
    const store = createContentStore(common.db);
    const old = store.put("old prompt");
    const reused = store.put("reused prompt");
    common.db.prepare(`UPDATE ${CONTENT_TABLE} SET created_at = created_at - ?`).run(31 * DAY_MS);
    store.put("reused prompt"); // stored again today
    const fresh = store.put("fresh response");
    expect(createContentRetention(common, store).run()).to.equal(1);
    expect(store.has(old)).to.equal(false);
    expect(store.has(reused)).to.equal(true);
    expect(store.has(fresh)).to.equal(true);
  });

  it("keeps at most content-max-entries texts, the least recently stored going first", function () {
    const common = createTestCommon({ contentRetentionDays: 0, contentMaxEntries: 3 });
    const store = createContentStore(common.db);
    const hashes = ["a", "b", "c", "d", "e"].map((text, i) => {
      const hash = store.put(text);
      common.db.prepare(`UPDATE ${CONTENT_TABLE} SET created_at = ? WHERE hash = ?`).run(1_000 + i, hash);
      return hash;
    });
    expect(createContentRetention(common, store).run()).to.equal(2);
    expect(hashes.map((h) => store.has(h))).to.deep.equal([false, false, true, true, true]);
  });
});
