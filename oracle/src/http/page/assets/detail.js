/* The detail views: one on-chain request, one off-chain record or text. */
import { card, code, el, empty, table } from "./dom.js";
import { STATUS_WORDS, ago, isoTime, short, stakeAmount, units } from "./format.js";
import { checkText, merkleRoot, recordLeaf } from "./verify.js";
import { badge, relatedLinks, statusChip, stepsOf, textBlock } from "./widgets.js";

export function renderRequestDetail(r) {
  var promptCheck = checkText(r.prompt, r.hashes.prompt);
  var responseCheck = r.hashes.response ? checkText(r.response, r.hashes.response) : { ok: null, computed: null };
  var reasons = [];
  if (promptCheck.ok === false) reasons.push("The prompt text does not hash to the on-chain prompt hash.");
  if (promptCheck.ok === null) reasons.push("The prompt text is unknown.");
  if (responseCheck.ok === false) reasons.push("The response text does not hash to the finalized on-chain response hash.");
  if (r.hashes.response && responseCheck.ok === null) reasons.push("The response text is unknown.");
  var verdict;
  if (promptCheck.ok === false || responseCheck.ok === false) verdict = badge(false, "NOT verified: a text differs from the chain", reasons);
  else if (!r.hashes.response) verdict = badge(null, "Not finalized yet: " + (promptCheck.ok ? "the prompt matches its on-chain hash" : "nothing to check"), reasons);
  else if (promptCheck.ok && responseCheck.ok) verdict = badge(true, "Verified against chain: prompt and response hash to the on-chain record");
  else verdict = badge(null, "Cannot verify", reasons);

  var timeline = r.timeline.map(function (t) {
    var what = t.type === "drawn" ? "committee drawn" : t.type.replace("_", " ");
    var extra = [];
    if (t.validator) extra.push(code(short(t.validator, 4), t.validator));
    if (t.attempt !== undefined) extra.push("attempt " + t.attempt);
    if (t.committee) extra.push(el("span", null, t.committee.map(function (a) { return code(short(a, 4), a); }).reduce(function (acc, node, i) { return acc.concat(i ? [" ", node] : [node]); }, [])));
    if (t.reason) extra.push(t.reason.split("_").join(" "));
    if (t.amount) extra.push(t.type === "settled" ? units(t.amount) + " ETH refunded" : stakeAmount(t.amount));
    if (t.responseHash) extra.push(el("span", null, "response ", code(short(t.responseHash, 4), t.responseHash)));
    return el(
      "li",
      { class: "tl-" + t.type },
      el("span", { class: "tl-type" }, what),
      " ",
      extra.reduce(function (acc, node) { return acc.concat([" · ", node]); }, []),
      el("div", { class: "muted small" }, "block " + t.block + " · tx ", code(short(t.txHash, 6), t.txHash), t.timestamp ? " · " + isoTime(t.timestamp) : ""),
    );
  });
  var committee = table(
    ["Member", "Committed", "Revealed", "Response hash", "Agreed"],
    r.committee.map(function (m) {
      return {
        cells: [
          code(short(m.validator, 6), m.validator),
          m.declined ? el("span", { class: "muted" }, "declined") : m.committed ? "yes" : "no",
          m.revealed ? "yes" : "no",
          m.responseHash ? code(short(m.responseHash, 6), m.responseHash) : "—",
          // Reveals stay open after the quorum until the reveal deadline: an unrevealed member may still reveal.
          m.agreed === null || !m.revealed ? el("span", { class: "muted" }, m.revealed || m.declined ? "—" : "not revealed") : m.agreed ? el("span", { class: "ok" }, "yes") : el("span", { class: "bad" }, "no (dissent)"),
        ],
      };
    }),
    { class: "committee" },
  );
  return [
    el("h2", null, "Request #" + r.requestId, " ", statusChip(r.status)),
    stepsOf(r.status),
    verdict,
    el(
      "div",
      { class: "cards" },
      card("Fee", units(r.fee) + " ETH", "requester " + short(r.requester, 4)),
      card("Latency", r.latencySeconds === null ? "pending" : r.latencySeconds + " s", "request block → finalizing block"),
      card("Model", "model " + r.modelId, el("span", null, code(short(r.hashes.model, 8), r.hashes.model))),
      card("Committee", r.committee.length + " members", "quorum " + r.quorum + " · attempt " + r.attempt),
    ),
    textBlock("Prompt", r.prompt, r.hashes.prompt, promptCheck, "prompt"),
    textBlock("Response", r.response, r.hashes.response, responseCheck, "response"),
    el("h3", null, "Timeline"),
    timeline.length ? el("ol", { class: "timeline" }, timeline) : empty("No events indexed yet."),
    el("h3", null, "Committee"),
    r.committee.length ? committee : empty("No committee is drawn yet: the first member's commit (or anyone's draw) draws it from the request's seed block."),
    renderThread(r.conversation, r.requestId),
    el("h3", null, "Related"),
    relatedLinks(r.records, null, "Off-chain records with this prompt"),
    r.consumer ? el("p", null, "Consumer contract ", code(r.consumer), r.callbackFailed ? el("span", { class: "bad" }, " (callback failed)") : "") : null,
  ];
}

/** The conversation thread the request belongs to (`requestChatFollowUp`): its turns root first, and its continuations. */
function renderThread(c, selfId) {
  if (!c || (c.turns.length < 2 && c.continuations.length === 0)) return null;
  var clip = function (view) { return view && view.text !== null ? view.text.slice(0, 80) : "—"; };
  var rows = c.turns.map(function (t) {
    var ok = t.verification.prompt && t.verification.response !== false && t.verification.link;
    return {
      cells: [
        t.requestId === selfId ? el("strong", null, "#" + t.requestId) : el("a", { href: "#request/" + t.requestId }, "#" + t.requestId),
        statusChip(t.status),
        clip(t.prompt),
        clip(t.response),
        t.finalizedBlock === null ? "—" : String(t.finalizedBlock),
        ok ? el("span", { class: "ok" }, "linked, texts match") : el("span", { class: "bad" }, "does not verify"),
      ],
    };
  });
  var next = c.continuations.map(function (id) { return el("li", null, el("a", { href: "#request/" + id }, "#" + id)); });
  return el(
    "div",
    { class: "thread" },
    el("h3", null, "Conversation #" + c.conversationId + " (" + c.turns.length + (c.turns.length === 1 ? " turn" : " turns") + " to here)"),
    // Not a badge(): the page has one verified-badge per view, the request's own.
    el("p", { class: c.verified ? "ok" : "bad", dataset: { testid: "thread-verdict", verified: String(c.verified) } },
      c.verified ? "Every turn links to its parent's finalized record and its texts match the chain" : "NOT verified: a link or a text differs from the chain"),
    table(["Turn", "Status", "Prompt", "Response", "Finalized in block", "Check"], rows, { class: "thread-turns" }),
    next.length ? el("div", null, el("p", null, "Continued by:"), el("ul", { class: "links" }, next)) : null,
  );
}

export function renderRecordDetail(rec, related) {
  if (rec.kind === "text") {
    var check = checkText(rec, rec.hash);
    return [
      el("h2", null, "Text ", code(short(rec.hash, 8), rec.hash)),
      badge(check.ok, check.ok ? "Verified: the text hashes to " + short(rec.hash, 6) : "NOT verified: the text does not hash to " + short(rec.hash, 6)),
      textBlock("Text", rec, rec.hash, check, "text"),
      relatedLinks(rec.records, null, "Records using this text"),
    ];
  }
  var promptCheck = checkText(rec.prompt, rec.prompt.hash);
  var responseCheck = checkText(rec.response, rec.response.hash);
  var leaf = recordLeaf(rec.prompt.hash, rec.response.hash, rec.model.hash, rec.validator);
  var leafOk = leaf === rec.recordHash.toLowerCase();
  var b = rec.batch;
  var anchored = b.status === "anchored";
  var root = anchored ? merkleRoot(rec.recordHash, b.proof) : null;
  var rootOk = anchored ? root === b.merkleRoot.toLowerCase() : null;
  var chainOk = anchored && b.onChain ? b.onChain.verified : null;

  var reasons = [];
  if (promptCheck.ok === false) reasons.push("The prompt text does not hash to the record's prompt hash.");
  if (responseCheck.ok === false) reasons.push("The response text does not hash to the record's response hash.");
  if (promptCheck.ok === null || responseCheck.ok === null) reasons.push("A text is missing from this node's store.");
  if (!leafOk) reasons.push("The record's fields do not hash to its record hash (Merkle leaf).");
  if (rootOk === false) reasons.push("The Merkle proof does not lead to the batch root.");
  if (chainOk === false) reasons.push("The chain rejects this leaf and proof for batch " + b.batchId + ".");
  if (anchored && chainOk === null) reasons.push("The chain could not be asked" + (b.onChain && b.onChain.error ? ": " + b.onChain.error : "."));
  var verdict;
  if (promptCheck.ok === false || responseCheck.ok === false || !leafOk || rootOk === false || chainOk === false) verdict = badge(false, "NOT verified: this record does not match the chain", reasons);
  else if (promptCheck.ok && responseCheck.ok && anchored && rootOk && chainOk === true) verdict = badge(true, "Verified against chain: texts → hashes → leaf → Merkle proof → root of on-chain batch " + b.batchId);
  else if (!anchored) verdict = badge(null, "Texts match the record; not anchored on-chain yet (" + (STATUS_WORDS[b.status] || b.status) + ")", reasons);
  else verdict = badge(null, "Cannot verify", reasons);

  var proofSection;
  if (anchored) {
    proofSection = [
      el(
        "dl",
        { class: "hashes" },
        el("dt", null, "on-chain batch"),
        el("dd", null, b.batchId + " (local batch " + b.seq + ", " + b.count + " records, leaf " + b.leafIndex + ")"),
        el("dt", null, "anchor tx"),
        el("dd", null, code(b.txHash || "—")),
        el("dt", null, "batch root"),
        el("dd", null, code(b.merkleRoot)),
        el("dt", null, "root computed here"),
        el("dd", null, code(root), " ", rootOk ? el("span", { class: "ok" }, "✓") : el("span", { class: "bad" }, "✗")),
        el("dt", null, "chain's verifyRecord"),
        el("dd", null, chainOk === true ? el("span", { class: "ok" }, "true") : chainOk === false ? el("span", { class: "bad" }, "false") : "not asked"),
      ),
      b.proof.length ? el("ol", { class: "proof", start: 1 }, b.proof.map(function (p) { return el("li", null, code(p)); })) : empty("The proof is empty: this record is the only leaf of its batch (leaf = root)."),
    ];
  } else {
    proofSection = empty(b.status === "pending" ? "No Merkle proof yet: the record waits for the next batch to be anchored." : "This record is not anchored (" + (STATUS_WORDS[b.status] || b.status) + ").");
  }
  return [
    el("h2", null, "Record ", code(short(rec.recordHash, 8), rec.recordHash), " ", statusChip(b.status)),
    verdict,
    el(
      "div",
      { class: "cards" },
      card("Model", "model " + rec.model.id, code(short(rec.model.hash, 8), rec.model.hash)),
      card("Validator", code(short(rec.validator, 6), rec.validator), "signed the anchor"),
      card("Decoding", rec.decoding.maxNewTokens + " new tokens max", "finished: " + rec.decoding.finishReason),
      card("Created", ago(Math.floor(rec.createdAt / 1000)), new Date(rec.createdAt).toISOString()),
    ),
    textBlock("Prompt", rec.prompt, rec.prompt.hash, promptCheck, "prompt"),
    textBlock("Response", rec.response, rec.response.hash, responseCheck, "response"),
    el("h3", null, "Record hash (Merkle leaf)"),
    el("dl", { class: "hashes" }, el("dt", null, "record hash"), el("dd", null, code(rec.recordHash)), el("dt", null, "computed here"), el("dd", null, code(leaf), " ", leafOk ? el("span", { class: "ok" }, "✓") : el("span", { class: "bad" }, "✗"))),
    el("h3", null, "Merkle proof"),
    proofSection,
    el("h3", null, "Related"),
    related,
  ];
}
