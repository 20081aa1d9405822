/*
 * The form that asks this node (POST /v1/chat/completions, streamed): the answer shows as its deltas arrive, then the
 * page checks it against the receipt in the last chunk and, once its record is anchored, against the chain.
 */
import { api } from "./api.js";
import { $, el, replace } from "./dom.js";
import { anchoredOnChain, streamedAnswerProblems } from "./verify.js";

const CHAT_TIMEOUT_MS = 120000;
/** How often, and how long, the page asks whether the answer's record is anchored yet. */
const ANCHOR_POLL_MS = 2000;
const ANCHOR_WAIT_MS = 10 * 60 * 1000;

/** `onSent` runs after the node answered (the new record is then in the list). */
export function setupChatForm(onSent) {
  var form = $("chat-form");
  var result = $("chat-result");
  var current = 0; // a newer question stops the anchor polling of the previous one
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var prompt = $("chat-prompt").value;
    if (!prompt.trim()) {
      result.textContent = "Type a prompt first.";
      return;
    }
    var button = form.querySelector("button");
    var ask = ++current;
    button.disabled = true;
    var answer = el("q", { dataset: { testid: "streamed-answer" } });
    replace(result, ["Answer: ", answer, " ", el("span", { class: "muted" }, "generating…")]);
    // Off-chain chat spends the node's gas (anchors), so it needs one of the operator's API keys.
    var key = $("chat-key").value;
    api("/v1/models")
      .then(function (models) {
        if (!models.data || !models.data.length) throw new Error("this node serves no model");
        return streamCompletion(key, { model: models.data[0].id, messages: [{ role: "user", content: prompt }], stream: true }, function (delta) {
          answer.textContent += delta;
        });
      })
      .then(
        function (done) {
          var check = el("span", { dataset: { testid: "stream-check" } });
          replace(result, ["Answer: ", answer, " — ", el("a", { href: "#record/" + done.receipt.record_hash }, "open the record"), " ", check]);
          var problems = streamedAnswerProblems(answer.textContent, done.receipt);
          $("chat-prompt").value = "";
          onSent();
          if (problems.length) {
            showCheck(check, false, "NOT verified: " + problems.join(" "));
            return;
          }
          showCheck(check, null, "The streamed text matches its receipt; waiting for its record's anchor on-chain…");
          // Not awaited: the form takes the next question while the anchor is awaited.
          followAnchor(check, done.receipt.record_hash, function () { return ask === current; });
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

function showCheck(node, state, text) {
  node.dataset.verified = String(state);
  node.className = state === true ? "ok" : state === false ? "bad" : "muted";
  node.textContent = text;
}

/** Polls the answer's record until it is anchored, then says whether the chain accepts it. */
function followAnchor(check, recordHash, stillCurrent) {
  var deadline = Date.now() + ANCHOR_WAIT_MS;
  function poll() {
    if (!stillCurrent()) return undefined;
    return api("/v1/records/" + recordHash).then(
      function (rec) {
        var onChain = anchoredOnChain(recordHash, rec);
        if (onChain === true) return showCheck(check, true, "Verified against chain: streamed text → response hash → leaf → Merkle proof → root of on-chain batch " + rec.batch.batchId);
        if (onChain === false) return showCheck(check, false, "NOT verified: the chain does not accept this record in batch " + rec.batch.batchId);
        if (Date.now() > deadline) return showCheck(check, null, "The streamed text matches its receipt; its record is not anchored yet (see the record).");
        return new Promise(function (r) { setTimeout(r, ANCHOR_POLL_MS); }).then(poll);
      },
      function (error) {
        showCheck(check, null, "The streamed text matches its receipt; its record could not be read: " + error.message);
      },
    );
  }
  return poll();
}

/**
 * POSTs a streamed completion and reads its Server-Sent Events: `onDelta` for each text delta; resolves with the
 * receipt of the last chunk once `[DONE]` came. An error before the stream is the API's JSON error, thrown.
 */
function streamCompletion(key, body, onDelta) {
  var controller = new AbortController();
  var timer = setTimeout(function () { controller.abort(); }, CHAT_TIMEOUT_MS);
  var headers = { "content-type": "application/json", accept: "text/event-stream", "x-api-key": key };
  return fetch("/v1/chat/completions", { method: "POST", headers: headers, body: JSON.stringify(body), signal: controller.signal })
    .then(function (response) {
      if (!response.ok) {
        return response.json().then(
          function (error) { throw new Error((error && error.error ? error.error.message : "HTTP " + response.status) + " (HTTP " + response.status + ")"); },
          function () { throw new Error("HTTP " + response.status); },
        );
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffered = "";
      var receipt = null;
      function handle(event) {
        var data = event.replace(/^data: /, "");
        if (data === "[DONE]") return true;
        var chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        var choice = chunk.choices && chunk.choices[0];
        if (choice && choice.delta && choice.delta.content) onDelta(choice.delta.content);
        if (chunk.chat_oracle) receipt = chunk.chat_oracle;
        return false;
      }
      function read() {
        return reader.read().then(function (step) {
          buffered += decoder.decode(step.value || new Uint8Array(), { stream: !step.done });
          var events = buffered.split("\n\n");
          buffered = events.pop();
          for (var i = 0; i < events.length; i++) {
            if (events[i] && handle(events[i])) {
              if (!receipt) throw new Error("the stream ended without a receipt");
              return { receipt: receipt };
            }
          }
          if (step.done) throw new Error("the stream ended before [DONE]");
          return read();
        });
      }
      return read();
    })
    .catch(function (error) {
      if (controller.signal.aborted) throw new Error("the oracle node took longer than " + CHAT_TIMEOUT_MS / 1000 + " s to answer");
      throw error;
    })
    .finally(function () {
      clearTimeout(timer);
    });
}
