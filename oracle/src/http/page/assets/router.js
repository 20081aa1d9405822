/* Which view the address names (#request/<id>, #record/<hash>, or an overview section) and refreshing it. */
import { api } from "./api.js";
import { $, el, empty, errorBox, replace } from "./dom.js";
import { renderRecordDetail, renderRequestDetail } from "./detail.js";
import { renderModels, renderNetwork, renderNode, renderRecords, renderRequests } from "./overview.js";
import { relatedLinks } from "./widgets.js";

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
    // The request and its conversation thread (a node without threads support answers 404: no thread shown).
    var thread = api("/v1/conversations/" + route.id).catch(function () { return null; });
    return Promise.all([api("/v1/requests/" + route.id), thread]).then(
      function (both) {
        var r = both[0];
        r.conversation = both[1];
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

export function showRoute() {
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
export function refreshSoon() {
  if (debounce) return;
  debounce = setTimeout(function () {
    debounce = null;
    refresh();
  }, Math.max(250, lastRefreshAt + 1000 - Date.now()));
}
