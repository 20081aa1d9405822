/* Numbers, hashes and times in words. */

export const STATUS_WORDS = {
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

export function short(hex, keep) {
  if (!hex) return "—";
  keep = keep || 6;
  return hex.length <= 2 + keep * 2 ? hex : hex.slice(0, 2 + keep) + "…" + hex.slice(-keep + 2);
}

/** The stake token's units from /v1/validators (until it answers, amounts read "… tokens"). */
let stakeToken = { symbol: "tokens", decimals: 18 };

/** Called with /v1/validators' totals.stakeToken once it answers. */
export function setStakeToken(token) {
  stakeToken = token;
}

/** A stake amount in whole tokens with the token's symbol. */
export function stakeAmount(value) {
  const text = units(value, stakeToken.decimals);
  return text === "—" ? text : text + " " + stakeToken.symbol;
}

/** A wei-style integer string with 18 decimals, trimmed: "1500000000000000000" → "1.5". */
export function units(value, decimals) {
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

export function plural(n, word) {
  return n + " " + word + (n === 1 ? "" : "s");
}

export function percent(share) {
  return (share * 100).toFixed(share > 0 && share < 0.1 ? 2 : 1) + " %";
}

export function ago(unixSeconds) {
  if (unixSeconds === null || unixSeconds === undefined) return "";
  var seconds = Math.round(Date.now() / 1000 - unixSeconds);
  // A block stamped ahead of this browser's clock (a dev chain moved forward in time, or clock skew).
  if (seconds <= 0) return "just now";
  return duration(seconds) + " ago";
}

export function unlockText(unixSeconds) {
  var seconds = Math.round(unixSeconds - Date.now() / 1000);
  return seconds > 0 ? "unlocks in " + duration(seconds) : "withdrawable now";
}

export function duration(seconds) {
  if (seconds < 90) return seconds + " s";
  if (seconds < 5400) return Math.round(seconds / 60) + " min";
  if (seconds < 172800) return Math.round(seconds / 3600) + " h";
  return Math.round(seconds / 86400) + " d";
}

export function isoTime(unixSeconds) {
  return unixSeconds ? new Date(unixSeconds * 1000).toISOString().replace(".000Z", "Z") : "";
}
