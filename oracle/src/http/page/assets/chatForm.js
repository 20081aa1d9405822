/* The form that sends a prompt to this node (POST /v1/chat). */
import { api } from "./api.js";
import { $, el, replace } from "./dom.js";

const CHAT_TIMEOUT_MS = 120000;

/** `onSent` runs after the node answered (the new record is then in the list). */
export function setupChatForm(onSent) {
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
          onSent();
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
