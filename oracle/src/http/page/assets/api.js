/* The oracle's JSON API, read from the page's own origin. */

const API_TIMEOUT_MS = 20000;

/** GET/POST JSON; a non-2xx answer throws with the API's `{error: {code, message}}` in words. */
export function api(path, init, timeoutMs) {
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
