/*
 * The monitoring page: reads the oracle's JSON API (/v1/*) from the same origin, refreshes on server-sent events
 * (/v1/events) with polling as a fallback, and checks every text against its on-chain hash in the browser
 * (keccak.js), so a node serving a tampered text is caught by the page itself, not by the node's own word.
 * Texts are always inserted as DOM text nodes, never as HTML.
 */
(function () {
  "use strict";
  var Keccak = window.Keccak;
  var POLL_MS = 5000;
  var API_TIMEOUT_MS = 20000;
  var CHAT_TIMEOUT_MS = 120000;
  var STEPS = ["requested", "committed", "revealed", "finalized"];
  var STATUS_WORDS = {
    none: "unknown",
    requested: "requested",
    committed: "committed",
    revealed: "revealed",
    finalized: "finalized",
    timed_out: "timed out",
    declined: "declined",
    pending: "waiting for a batch",
    sending: "anchoring…",
    anchored: "anchored",
    failed: "anchor failed",
    not_anchored: "not anchored",
  };

  /* ---------- small helpers ---------- */

  function $(id) {
    return document.getElementById(id);
  }

  /** el("td", {class: "x", dataset: {label: "Stake"}}, "text", childNode …) */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === undefined || value === null || value === false) return;
        if (key === "dataset") Object.assign(node.dataset, value);
        else if (key === "text") node.textContent = value;
        else node.setAttribute(key, value === true ? "" : String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(parent, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) child.forEach(function (c) { append(parent, c); });
    else parent.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }

  function svg(tag, attrs) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, String(attrs[key]));
    });
    for (var i = 2; i < arguments.length; i++) if (arguments[i]) node.appendChild(arguments[i]);
    return node;
  }

  function replace(container, content) {
    container.replaceChildren();
    append(container, content);
  }

  function empty(message) {
    return el("p", { class: "empty" }, message);
  }

  function errorBox(what, error) {
    return el("p", { class: "error", role: "alert" }, "Could not load " + what + ": " + error.message);
  }

  /** GET/POST JSON; a non-2xx answer throws with the API's `{error: {code, message}}` in words. */
  function api(path, init, timeoutMs) {
    // A call that hangs (RPC stuck behind the node) must not stall every later refresh: give up after a while.
    var controller = new AbortController();
    var limitMs = timeoutMs || API_TIMEOUT_MS;
    var timer = setTimeout(function () { controller.abort(); }, limitMs);
    return fetch(path, Object.assign({ headers: { accept: "application/json" }, signal: controller.signal }, init || {})).then(
      function (response) {
        return response.text().then(function (text) {
          var body = null;
          try {
            body = text ? JSON.parse(text) : null;
          } catch (_) {
            body = null;
          }
          if (!response.ok) {
            var message = body && body.error && body.error.message ? body.error.message : "HTTP " + response.status;
            var error = new Error(message + " (HTTP " + response.status + ")");
            error.status = response.status;
            throw error;
          }
          return body;
        });
      },
      function () {
        throw new Error(controller.signal.aborted ? "the oracle node took longer than " + limitMs / 1000 + " s to answer" : "the oracle node did not answer (is it running?)");
      },
    ).finally(function () {
      clearTimeout(timer);
    });
  }

  function short(hex, keep) {
    if (!hex) return "—";
    keep = keep || 6;
    return hex.length <= 2 + keep * 2 ? hex : hex.slice(0, 2 + keep) + "…" + hex.slice(-keep + 2);
  }

  /** A wei-style integer string with 18 decimals, trimmed: "1500000000000000000" → "1.5". */
  /** The stake token's units from /v1/validators (until it answers, amounts read "… tokens"). */
  var stakeToken = { symbol: "tokens", decimals: 18 };

  /** A stake amount in whole tokens with the token's symbol. */
  function stakeAmount(value) {
    var text = units(value, stakeToken.decimals);
    return text === "—" ? text : text + " " + stakeToken.symbol;
  }

  function units(value, decimals) {
    if (value === null || value === undefined || value === "") return "—";
    decimals = decimals === undefined ? 18 : decimals;
    var n = BigInt(value);
    var negative = n < 0n;
    if (negative) n = -n;
    var base = 10n ** BigInt(decimals);
    var whole = (n / base).toString();
    var fraction = (n % base).toString().padStart(decimals, "0").replace(/0+$/, "").slice(0, 6);
    return (negative ? "-" : "") + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (fraction ? "." + fraction : "");
  }

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  function percent(share) {
    return (share * 100).toFixed(share > 0 && share < 0.1 ? 2 : 1) + " %";
  }

  function ago(unixSeconds) {
    if (unixSeconds === null || unixSeconds === undefined) return "";
    var seconds = Math.round(Date.now() / 1000 - unixSeconds);
    // A block stamped ahead of this browser's clock (a dev chain moved forward in time, or clock skew).
    if (seconds <= 0) return "just now";
    return duration(seconds) + " ago";
  }

  function unlockText(unixSeconds) {
    var seconds = Math.round(unixSeconds - Date.now() / 1000);
    return seconds > 0 ? "unlocks in " + duration(seconds) : "withdrawable now";
  }

  function duration(seconds) {
    if (seconds < 90) return seconds + " s";
    if (seconds < 5400) return Math.round(seconds / 60) + " min";
    if (seconds < 172800) return Math.round(seconds / 3600) + " h";
    return Math.round(seconds / 86400) + " d";
  }

  function isoTime(unixSeconds) {
    return unixSeconds ? new Date(unixSeconds * 1000).toISOString().replace(".000Z", "Z") : "";
  }

  function chainRef(ref) {
    if (!ref) return "never";
    return el("span", { title: "tx " + ref.txHash + (ref.timestamp ? " at " + isoTime(ref.timestamp) : "") }, "block " + ref.block + (ref.timestamp ? " · " + ago(ref.timestamp) : ""));
  }

  function statusChip(status) {
    return el("span", { class: "chip status-" + status, dataset: { status: status } }, STATUS_WORDS[status] || status);
  }

  function code(text, title) {
    return el("code", { title: title || text }, text);
  }

  function table(columns, rows, options) {
    options = options || {};
    var head = el("tr", null, columns.map(function (c) { return el("th", { scope: "col" }, c); }));
    var body = rows.map(function (row) {
      var tr = el("tr", row.attrs || null);
      row.cells.forEach(function (cell, i) {
        tr.appendChild(el("td", { dataset: { label: columns[i] } }, el("div", { class: "cell" }, cell)));
      });
      return tr;
    });
    return el("div", { class: "table-wrap" }, el("table", { class: "stack " + (options.class || "") }, el("thead", null, head), el("tbody", null, body)));
  }

  function card(label, value, note) {
    return el("div", { class: "card" }, el("div", { class: "card-label" }, label), el("div", { class: "card-value" }, value), note ? el("div", { class: "card-note" }, note) : null);
  }

  /* ---------- hashing (in the browser) ---------- */

  function hashText(text) {
    return Keccak.keccak256Text(text);
  }

  function concatBytes(parts) {
    var total = parts.reduce(function (n, p) { return n + p.length; }, 0);
    var out = new Uint8Array(total);
    var offset = 0;
    parts.forEach(function (p) {
      out.set(p, offset);
      offset += p.length;
    });
    return out;
  }

  /** ChatRecordRegistry.recordLeaf: keccak256(bytes.concat(keccak256(abi.encode(prompt, response, model, validator)))). */
  function recordLeaf(promptHash, responseHash, modelHash, validator) {
    var address = Keccak.hexToBytes(validator);
    var word = new Uint8Array(32);
    word.set(address, 32 - address.length);
    var encoded = concatBytes([Keccak.hexToBytes(promptHash), Keccak.hexToBytes(responseHash), Keccak.hexToBytes(modelHash), word]);
    return Keccak.keccak256(Keccak.hexToBytes(Keccak.keccak256(encoded)));
  }

  /** OpenZeppelin MerkleProof.processProof: hash sorted pairs from the leaf up; returns the root. */
  function merkleRoot(leaf, proof) {
    return proof.reduce(function (node, sibling) {
      var a = node.toLowerCase();
      var b = sibling.toLowerCase();
      var pair = a < b ? [a, b] : [b, a];
      return Keccak.keccak256(concatBytes([Keccak.hexToBytes(pair[0]), Keccak.hexToBytes(pair[1])]));
    }, leaf.toLowerCase());
  }

  /** One check: a text and the hash it must have. Returns {ok, computed}. */
  function checkText(textView, expectedHash) {
    if (!textView || textView.text === null || textView.text === undefined) return { ok: null, computed: null };
    var computed = hashText(textView.text);
    return { ok: !!expectedHash && computed === expectedHash.toLowerCase(), computed: computed };
  }

  function badge(state, label, reasons) {
    var cls = state === true ? "verified" : state === false ? "not-verified" : "unverified";
    return el(
      "div",
      { class: "badge badge-" + cls, dataset: { testid: "verified-badge", verified: String(state) }, role: "status" },
      el("strong", null, label),
      reasons && reasons.length ? el("ul", null, reasons.map(function (r) { return el("li", null, r); })) : null,
    );
  }

  function textBlock(title, textView, expectedHash, check, testid) {
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

  /* ---------- overview: network ---------- */

  function renderNetwork(network) {
    var t = network.totals;
    if (t.stakeToken) stakeToken = t.stakeToken;
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

  var lastNetwork = null;

  /** Horizontal bars per validator: seats drawn (solid) against seats expected from stake share (outline). */
  function renderChart(network) {
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

  /* ---------- overview: requests ---------- */

  function stepsOf(status) {
    var reached = STEPS.indexOf(status);
    var steps = STEPS.map(function (step, i) {
      return el("li", { class: i <= reached ? "done" : "" }, step);
    });
    if (status === "timed_out" || status === "declined") steps.push(el("li", { class: "end-" + status }, STATUS_WORDS[status]));
    return el("ol", { class: "steps", "aria-label": "status timeline" }, steps);
  }

  function renderRequests(requests) {
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

  function renderRecords(records) {
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

  function renderNode(node) {
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

  function renderModels(models) {
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

  /* ---------- detail: one request ---------- */

  function renderRequestDetail(r) {
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
      el("h3", null, "Related"),
      relatedLinks(r.records, null, "Off-chain records with this prompt"),
      r.consumer ? el("p", null, "Consumer contract ", code(r.consumer), r.callbackFailed ? el("span", { class: "bad" }, " (callback failed)") : "") : null,
    ];
  }

  function relatedLinks(leaves, self, title) {
    var others = (leaves || []).filter(function (leaf) { return !self || leaf.toLowerCase() !== self.toLowerCase(); });
    if (others.length === 0) return empty(title + ": none.");
    return el("div", null, el("p", null, title + ":"), el("ul", { class: "links" }, others.map(function (leaf) { return el("li", null, el("a", { href: "#record/" + leaf }, code(leaf))); })));
  }

  /* ---------- detail: one record ---------- */

  function renderRecordDetail(rec, related) {
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

  /* ---------- loading and routing ---------- */

  var inFlight = false;
  var lastRefreshAt = 0;
  var queued = false;

  var shown = {};
  /**
   * True when `body` is what a panel already shows: re-rendering it would drop the reader's text selection (people
   * copy hashes from here). The 30 s bucket still lets "… ago" texts move on.
   */
  function unchanged(key, body) {
    var stamp = JSON.stringify(body) + "|" + Math.floor(Date.now() / 30000);
    if (shown[key] === stamp) return true;
    shown[key] = stamp;
    return false;
  }

  function loadInto(containerId, what, path, render) {
    return api(path).then(
      function (body) {
        if (!unchanged(containerId, body)) render(body);
      },
      function (error) {
        delete shown[containerId];
        replace($(containerId), errorBox(what, error));
      },
    );
  }

  function refreshOverview() {
    return Promise.all([
      api("/v1/validators").then(function (network) {
        if (!unchanged("network", network)) renderNetwork(network);
      }, function (error) {
        delete shown.network;
        // One failed call leaves three panels without data: say so in each rather than leave "Loading…".
        replace($("network-summary"), errorBox("the network", error));
        replace($("selection-chart"), empty("No chart without the network data."));
        replace($("validators"), empty("No validator list without the network data."));
      }),
      loadInto("request-list", "requests", "/v1/requests?limit=25", function (body) { renderRequests(body.requests); }),
      loadInto("record-list", "records", "/v1/records?limit=15", function (body) { renderRecords(body.records); }),
      loadInto("node-info", "the node status", "/v1/node", renderNode),
      loadInto("model-list", "models", "/v1/models", function (body) { renderModels(body.models); }),
    ]);
  }

  function parseRoute() {
    var hash = decodeURIComponent(location.hash.replace(/^#/, ""));
    var match = /^request\/(\d+)$/.exec(hash);
    if (match) return { kind: "request", id: match[1] };
    match = /^record\/(0x[0-9a-fA-F]{64})$/.exec(hash);
    if (match) return { kind: "record", hash: match[1] };
    return { kind: "overview", section: hash };
  }

  function refreshDetail(route) {
    var body = $("detail-body");
    if (route.kind === "request") {
      $("back-link").setAttribute("href", "#requests");
      return api("/v1/requests/" + route.id).then(
        function (r) {
          if (!unchanged("detail", r)) replace(body, renderRequestDetail(r));
        },
        function (error) {
          delete shown.detail;
          replace(body, [el("h2", null, "Request #" + route.id), error.status === 404 ? empty("There is no request #" + route.id + " on this chain.") : errorBox("request #" + route.id, error)]);
        },
      );
    }
    $("back-link").setAttribute("href", "#records");
    return api("/v1/records/" + route.hash).then(
      function (rec) {
        if (unchanged("detail", rec)) return;
        if (rec.kind !== "record") {
          replace(body, renderRecordDetail(rec));
          return;
        }
        // Related: other records sharing the prompt (one more lookup by the prompt's hash).
        return api("/v1/records/" + rec.prompt.hash).then(
          function (text) { replace(body, renderRecordDetail(rec, relatedLinks(text.records, rec.recordHash, "Other records with the same prompt"))); },
          function () { replace(body, renderRecordDetail(rec, empty("Related records could not be loaded."))); },
        );
      },
      function (error) {
        delete shown.detail;
        replace(body, [el("h2", null, "Record"), error.status === 404 ? empty("This node knows no record or text with hash " + route.hash + ".") : errorBox("the record", error)]);
      },
    );
  }

  /** Refreshes what is on screen; calls while one runs collapse into one more run. */
  function refresh() {
    if (inFlight) {
      queued = true;
      return;
    }
    inFlight = true;
    lastRefreshAt = Date.now();
    var route = parseRoute();
    var work = route.kind === "overview" ? refreshOverview() : refreshDetail(route);
    work
      .catch(function (error) {
        console.error(error);
      })
      .then(function () {
        inFlight = false;
        document.body.dataset.loaded = "true";
        if (queued) {
          queued = false;
          refresh();
        }
      });
  }

  function showRoute() {
    var route = parseRoute();
    var detail = route.kind !== "overview";
    $("overview").hidden = detail;
    $("detail").hidden = !detail;
    if (detail) {
      delete shown.detail;
      replace($("detail-body"), empty("Loading…"));
      window.scrollTo(0, 0);
    } else if (route.section && $(route.section)) {
      $(route.section).scrollIntoView();
    }
    refresh();
  }

  var debounce = null;
  /**
   * At most about one refresh a second however many events arrive: a refresh is five API calls, and the API's rate
   * limit (600 a minute per client by default) is shared by every tab a person has open.
   */
  function refreshSoon() {
    if (debounce) return;
    debounce = setTimeout(function () {
      debounce = null;
      refresh();
    }, Math.max(250, lastRefreshAt + 1000 - Date.now()));
  }

  function setLive(state, text) {
    var badgeEl = $("live-status");
    badgeEl.className = "live live-" + state;
    badgeEl.textContent = text;
  }

  function connectEvents() {
    if (!window.EventSource) {
      setLive("polling", "polling every " + POLL_MS / 1000 + " s");
      return;
    }
    var source = new EventSource("/v1/events");
    source.onopen = function () {
      setLive("on", "live");
      refreshSoon();
    };
    source.onerror = function () {
      // EventSource reconnects by itself (the server sends retry: 2000); polling carries on meanwhile.
      setLive("off", "live updates lost; retrying (polling meanwhile)");
    };
    ["chain", "record", "batch"].forEach(function (type) {
      source.addEventListener(type, refreshSoon);
    });
  }

  function setupChatForm() {
    var form = $("chat-form");
    var result = $("chat-result");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var prompt = $("chat-prompt").value;
      if (!prompt.trim()) {
        result.textContent = "Type a prompt first.";
        return;
      }
      var button = form.querySelector("button");
      button.disabled = true;
      result.textContent = "Generating…";
      // Off-chain chat spends the node's gas (anchors), so it needs one of the operator's API keys.
      var headers = { "content-type": "application/json", accept: "application/json", "x-api-key": $("chat-key").value };
      api("/v1/chat", { method: "POST", headers: headers, body: JSON.stringify({ prompt: prompt }) }, CHAT_TIMEOUT_MS)
        .then(
          function (rec) {
            replace(result, ["Answer: ", el("q", null, rec.response.text), " — ", el("a", { href: "#record/" + rec.recordHash }, "open the record")]);
            $("chat-prompt").value = "";
            refreshSoon();
          },
          function (error) {
            replace(result, el("span", { class: "bad" }, "Not sent: " + error.message));
          },
        )
        .then(function () {
          button.disabled = false;
        });
    });
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      if (lastNetwork && !$("overview").hidden) renderChart(lastNetwork);
    }, 150);
  });
  window.addEventListener("hashchange", showRoute);
  setupChatForm();
  connectEvents();
  setInterval(refreshSoon, POLL_MS);
  showRoute();
})();
