/*
 * The monitoring page's entry module: reads the oracle's JSON API (/v1/*) from the same origin, refreshes on
 * server-sent events (/v1/events) with polling as a fallback, and checks every text against its on-chain hash in the
 * browser (verify.js), so a node serving a tampered text is caught by the page itself, not by the node's own word.
 *
 * Modules: api (fetch with timeouts and the API's errors), dom (building nodes; texts always as text nodes, never
 * HTML), format (numbers, hashes, times), keccak + verify (hashing and the checks), widgets/overview/detail (views),
 * router (the #address → view, refreshing), live (server-sent events), chatForm (POST /v1/chat/completions, streamed).
 */
import { $ } from "./dom.js";
import { setupChatForm } from "./chatForm.js";
import { POLL_MS, connectEvents } from "./live.js";
import { redrawChart } from "./overview.js";
import { refreshSoon, showRoute } from "./router.js";

var resizeTimer = null;
window.addEventListener("resize", function () {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(function () {
    if (!$("overview").hidden) redrawChart();
  }, 150);
});
window.addEventListener("hashchange", showRoute);
setupChatForm(refreshSoon);
connectEvents(refreshSoon);
setInterval(refreshSoon, POLL_MS);
showRoute();
