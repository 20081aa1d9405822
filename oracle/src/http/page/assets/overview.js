/* The overview: network, requests, records and this node. */
import { $, card, code, el, empty, replace, svg, table } from "./dom.js";
import { ago, duration, percent, plural, setStakeToken, short, stakeAmount, units, unlockText } from "./format.js";
import { chainRef, statusChip, stepsOf } from "./widgets.js";

export function renderNetwork(network) {
  var t = network.totals;
  if (t.stakeToken) setStakeToken(t.stakeToken);
  replace($("network-summary"), [
    card("Total stake", stakeAmount(t.totalStake), t.activeValidators + " active validator" + (t.activeValidators === 1 ? "" : "s")),
    card("Pending unstakes", stakeAmount(t.totalUnbonding), "unbonding period " + duration(t.unbondingPeriod)),
    card("Slashed so far", stakeAmount(t.slashedBalance), "slash " + stakeAmount(network.config.slashAmount) + " per fault"),
    card("Committees", String(network.config.committeeSize) + " seats, quorum " + network.config.quorum, "commit " + network.config.commitWindow + " s, reveal " + network.config.revealWindow + " s"),
    card("Draws", plural(network.draws.requests, "request"), network.draws.committees + " committees · " + network.draws.seats + " seats"),
    card("Randomness source", code(short(network.randomnessSource, 8), network.randomnessSource), "chain block " + network.blockNumber),
  ]);
  renderChart(network);
  if (network.validators.length === 0) {
    replace($("validators"), empty("No validator has staked yet. Stake with the ValidatorRegistry (see the demo) and it appears here."));
    return;
  }
  var rows = network.validators.map(function (v) {
    var pending = v.unbonding !== "0" ? el("span", null, stakeAmount(v.unbonding), el("br"), el("small", null, v.unlockAt ? unlockText(v.unlockAt) : "")) : "none";
    var slashes = v.slashes.count === 0 ? "none" : el("span", { class: "bad", title: v.slashes.recent.map(function (s) { return s.reason + " on request " + s.requestId; }).join(", ") }, v.slashes.count + " × (" + stakeAmount(v.slashes.amount) + ")");
    return {
      attrs: { dataset: { validator: v.address.toLowerCase(), testid: "validator-row" } },
      cells: [
        el("span", null, code(short(v.address, 6), v.address), " ", v.active ? el("span", { class: "chip status-finalized" }, "active") : el("span", { class: "chip status-none" }, "inactive"), el("br"), el("small", { class: "muted" }, v.endpoint || "no endpoint")),
        el("span", null, stakeAmount(v.stake), v.credit && v.credit !== "0" ? el("small", { class: "muted", title: "fee shares and callback reimbursements to withdraw from the chat registry" }, el("br"), "credit " + units(v.credit) + " ETH") : null),
        percent(v.stakeShare),
        el("span", { dataset: { testid: "seats" } }, v.selection.seats + " / " + v.selection.expectedSeats),
        chainRef(v.lastCommit),
        chainRef(v.lastReveal),
        slashes,
        pending,
      ],
    };
  });
  replace($("validators"), table(["Validator", "Stake", "Share", "Seats / expected", "Last commit", "Last reveal", "Slashes", "Pending unstake"], rows, { class: "validators" }));
}

/** The network last drawn, so the chart can be drawn again at a new width. */
var lastNetwork = null;

export function redrawChart() {
  if (lastNetwork) renderChart(lastNetwork);
}

/** Horizontal bars per validator: seats drawn (solid) against seats expected from stake share (outline). */
export function renderChart(network) {
  lastNetwork = network;
  var container = $("selection-chart");
  var validators = network.validators.filter(function (v) { return v.active || v.selection.seats > 0; });
  if (validators.length === 0) {
    replace(container, empty("No active validators, so nothing is drawn yet."));
    return;
  }
  if (network.draws.seats === 0) {
    replace(container, empty("No committee has been drawn yet: the chart fills in with the first request."));
    return;
  }
  var width = Math.max(280, Math.min(900, container.clientWidth || 600));
  var labelWidth = width < 480 ? 92 : 130;
  var valueWidth = 70;
  var barArea = width - labelWidth - valueWidth - 8;
  var rowHeight = 38;
  var top = 2;
  var height = top + validators.length * rowHeight + 4;
  var max = validators.reduce(function (m, v) { return Math.max(m, v.selection.seats, v.selection.expectedSeats); }, 1);
  var scale = function (n) { return (n / max) * barArea; };
  var chart = svg("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img", "aria-labelledby": "chart-title chart-desc", class: "bars" });
  chart.appendChild(svg("title", { id: "chart-title", text: "Committee seats drawn vs expected from stake share" }));
  chart.appendChild(svg("desc", { id: "chart-desc", text: validators.map(function (v) { return v.address + ": " + v.selection.seats + " drawn, " + v.selection.expectedSeats + " expected"; }).join("; ") }));
  validators.forEach(function (v, i) {
    var y = top + i * rowHeight;
    var group = svg("g", { class: "bar-row" });
    group.appendChild(svg("text", { x: labelWidth - 6, y: y + 19, "text-anchor": "end", class: "label", text: short(v.address, 4) }));
    group.appendChild(svg("rect", { x: labelWidth, y: y + 4, width: Math.max(1, scale(v.selection.seats)), height: 13, class: "bar-drawn" }, svg("title", { text: v.selection.seats + " seats drawn" })));
    group.appendChild(svg("rect", { x: labelWidth, y: y + 19, width: Math.max(1, scale(v.selection.expectedSeats)), height: 11, class: "bar-expected" }, svg("title", { text: v.selection.expectedSeats + " seats expected (" + percent(v.stakeShare) + " of stake)" })));
    group.appendChild(svg("text", { x: width - valueWidth + 4, y: y + 15, class: "value", text: String(v.selection.seats) }));
    group.appendChild(svg("text", { x: width - valueWidth + 4, y: y + 29, class: "value muted", text: "≈ " + v.selection.expectedSeats }));
    chart.appendChild(group);
  });
  // The legend is HTML above the chart, so it wraps on a narrow screen instead of running off the SVG's edge.
  var legend = el("div", { class: "chart-legend", dataset: { testid: "chart-legend" } },
    el("span", null, el("i", { class: "swatch swatch-drawn" }), "seats drawn"),
    el("span", null, el("i", { class: "swatch swatch-expected" }), "expected from stake"));
  replace(container, [legend, chart, el("p", { class: "hint" }, "Expected = for every committee drawn since the validator staked, the chance it gets a seat with today's stakes. Seats are drawn without replacement, so small stakes get a little more than their share, and a committee as large as the validator set seats everyone.")]);
}

export function renderRequests(requests) {
  if (requests.length === 0) {
    replace($("request-list"), empty("No chat request on-chain yet. Send one with ChatRecordRegistry.requestChat (npm run demo does) and it appears here live."));
    return;
  }
  var rows = requests.map(function (r) {
    return {
      attrs: { dataset: { requestId: r.requestId, testid: "request-row", status: r.status } },
      cells: [
        el("a", { href: "#request/" + r.requestId }, "#" + r.requestId),
        el("span", null, statusChip(r.status), stepsOf(r.status)),
        el(
          "span",
          null,
          r.committee.length
            ? r.committee.map(function (a) { return code(short(a, 4), a); }).reduce(function (acc, node, i) { return acc.concat(i ? [" ", node] : [node]); }, [])
            : el("small", { class: "muted" }, "not drawn yet"),
          r.attempt > 1 ? el("small", null, " attempt " + r.attempt) : null,
        ),
        r.fee ? units(r.fee) + " ETH" : "—",
        r.latencySeconds === null ? (r.finalized ? "—" : "pending") : r.latencySeconds + " s",
        chainRef(r.requested),
      ],
    };
  });
  replace($("request-list"), table(["Request", "Status", "Committee", "Fee", "Latency", "Requested"], rows, { class: "requests" }));
}

/* ---------- overview: records ---------- */

export function renderRecords(records) {
  if (records.length === 0) {
    replace($("record-list"), empty("No off-chain record yet. Send a prompt with the form above (or POST /v1/chat)."));
    return;
  }
  var rows = records.map(function (r) {
    return {
      attrs: { dataset: { recordHash: r.recordHash, testid: "record-row" } },
      cells: [
        el("a", { href: "#record/" + r.recordHash }, code(short(r.recordHash, 6), r.recordHash)),
        String(r.modelId),
        r.batchSeq === null ? statusChip("pending") : el("span", null, "batch " + r.batchSeq),
        ago(Math.floor(r.createdAt / 1000)),
      ],
    };
  });
  replace($("record-list"), table(["Record", "Model", "Batch", "Created"], rows, { class: "records" }));
}

/* ---------- overview: node ---------- */

export function renderNode(node) {
  var m = node.model;
  var rpc = node.chain.rpc;
  var journalStates = Object.keys(node.journal.depth).filter(function (state) { return node.journal.depth[state] > 0; });
  replace($("node-info"), [
    card("Status", node.ready ? (node.paused ? "paused" : "ready") : "not ready", "up " + duration(node.uptimeSeconds) + " · chain id " + node.chainId),
    card("Model", m.loaded ? "model " + (m.id === null ? "(not registered)" : m.id) : "loading…", m.loaded ? el("span", null, code(short(m.hash, 8), m.hash), " · " + m.provider + " · context " + m.maxContext) : "the model is still loading"),
    card("Inference", node.inference.lastTokensPerSecond ? node.inference.lastTokensPerSecond.toFixed(1) + " tokens/s" : "no run yet", node.inference.count + " runs" + (node.inference.meanSeconds !== null ? " · mean " + (node.inference.meanSeconds * 1000).toFixed(0) + " ms" : "")),
    card("Journal depth", String(node.journal.total), journalStates.length ? journalStates.map(function (s) { return s + " " + node.journal.depth[s]; }).join(" · ") : "no jobs in flight"),
    card(
      "RPC",
      el("span", { class: rpc.ok ? "ok" : "bad" }, rpc.ok ? "healthy" : "unreachable"),
      rpc.ok ? "head " + rpc.headBlock + " · " + rpc.latencyMs + " ms" + (node.chain.lagBlocks !== null ? " · lag " + node.chain.lagBlocks + " blocks" : "") : rpc.error || "no answer",
    ),
    card("Errors", node.chain.rpcErrors + " RPC · " + node.chain.txFailures + " tx", node.http.unhandledErrors + " unhandled"),
    card("Record batches", node.records.pendingBatch + " waiting", Object.keys(node.records.batches).map(function (k) { return k + " " + node.records.batches[k]; }).join(" · ") || "none anchored yet"),
    card("Validator key", node.validator ? code(short(node.validator, 6), node.validator) : "none (read-only node)", el("span", null, "registry ", code(short(node.contracts.chatRecordRegistry, 4), node.contracts.chatRecordRegistry))),
  ]);
}

export function renderModels(models) {
  if (models.length === 0) {
    replace($("model-list"), empty("No model is registered on-chain yet."));
    return;
  }
  replace(
    $("model-list"),
    table(
      ["Model", "Hash", "Enabled", "Limits", "URI", "Served here"],
      models.map(function (mdl) {
        var l = mdl.limits;
        var limits = l ? "context " + l.contextLength + " tokens · ≤ " + l.maxNewTokens + " new · prompt ≤ " + l.maxPromptBytes + " bytes" : "—";
        return { cells: [String(mdl.modelId), code(short(mdl.modelHash, 8), mdl.modelHash), mdl.enabled ? "yes" : "no", limits, mdl.uri || "—", mdl.servedByThisNode ? "yes" : "no"] };
      }),
      { class: "models" },
    ),
  );
}
