/* View pieces shared by the overview and the detail views. */
import { code, el, empty } from "./dom.js";
import { STATUS_WORDS, ago, isoTime } from "./format.js";

const STEPS = ["requested", "committed", "revealed", "finalized"];

export function chainRef(ref) {
  if (!ref) return "never";
  return el("span", { title: "tx " + ref.txHash + (ref.timestamp ? " at " + isoTime(ref.timestamp) : "") }, "block " + ref.block + (ref.timestamp ? " · " + ago(ref.timestamp) : ""));
}

export function statusChip(status) {
  return el("span", { class: "chip status-" + status, dataset: { status: status } }, STATUS_WORDS[status] || status);
}

export function badge(state, label, reasons) {
  var cls = state === true ? "verified" : state === false ? "not-verified" : "unverified";
  return el(
    "div",
    { class: "badge badge-" + cls, dataset: { testid: "verified-badge", verified: String(state) }, role: "status" },
    el("strong", null, label),
    reasons && reasons.length ? el("ul", null, reasons.map(function (r) { return el("li", null, r); })) : null,
  );
}

export function textBlock(title, textView, expectedHash, check, testid) {
  var verdict = check.ok === true ? el("span", { class: "ok" }, "✓ hash matches") : check.ok === false ? el("span", { class: "bad" }, "✗ hash differs") : el("span", { class: "muted" }, "no text");
  return el(
    "div",
    { class: "text-block", dataset: { testid: testid } },
    el("h4", null, title, " ", verdict),
    textView && textView.text !== null
      ? el("pre", { class: "text" }, textView.text)
      : empty(expectedHash ? "No text is known for this hash (not in this node's store nor in a chain event)." : "No response is finalized yet."),
    el(
      "dl",
      { class: "hashes" },
      el("dt", null, "expected hash"),
      el("dd", null, code(expectedHash || "—")),
      el("dt", null, "computed here"),
      el("dd", null, code(check.computed || "—")),
      textView && textView.source ? [el("dt", null, "text from"), el("dd", null, textView.source === "store" ? "this node's content store" : "the chain event")] : null,
    ),
  );
}

export function stepsOf(status) {
  var reached = STEPS.indexOf(status);
  var steps = STEPS.map(function (step, i) {
    return el("li", { class: i <= reached ? "done" : "" }, step);
  });
  if (status === "timed_out" || status === "declined") steps.push(el("li", { class: "end-" + status }, STATUS_WORDS[status]));
  return el("ol", { class: "steps", "aria-label": "status timeline" }, steps);
}

export function relatedLinks(leaves, self, title) {
  var others = (leaves || []).filter(function (leaf) { return !self || leaf.toLowerCase() !== self.toLowerCase(); });
  if (others.length === 0) return empty(title + ": none.");
  return el("div", null, el("p", null, title + ":"), el("ul", { class: "links" }, others.map(function (leaf) { return el("li", null, el("a", { href: "#record/" + leaf }, code(leaf))); })));
}
