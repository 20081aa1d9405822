/* Live updates: server-sent events from /v1/events; the page's poll carries on when they drop. */
import { $ } from "./dom.js";

export const POLL_MS = 5000;

export function setLive(state, text) {
  var badgeEl = $("live-status");
  badgeEl.className = "live live-" + state;
  badgeEl.textContent = text;
}

/** Calls `onChange` when the stream (re)opens and on each chain, record or batch event. */
export function connectEvents(onChange) {
  if (!window.EventSource) {
    setLive("polling", "polling every " + POLL_MS / 1000 + " s");
    return;
  }
  var source = new EventSource("/v1/events");
  source.onopen = function () {
    setLive("on", "live");
    onChange();
  };
  source.onerror = function () {
    // EventSource reconnects by itself (the server sends retry: 2000); polling carries on meanwhile.
    setLive("off", "live updates lost; retrying (polling meanwhile)");
  };
  ["chain", "record", "batch"].forEach(function (type) {
    source.addEventListener(type, onChange);
  });
}
