import type { RequestHandler } from "express";
import { HttpError } from "./errors";

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];
const WILDCARD_ADDRESSES = new Set(["0.0.0.0", "::", ""]);

/** The host name of a Host header value, lower case, without port or IPv6 brackets. */
export function hostName(header: string): string {
  const host = header.trim().toLowerCase();
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]") === -1 ? undefined : host.indexOf("]"));
  const colon = host.lastIndexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

/**
 * Guards against DNS rebinding: a web page whose domain is made to resolve to 127.0.0.1 can otherwise call a node
 * bound there (its browser sends the page's domain as Host). Only Host names the node serves are answered: loopback
 * names, the listening address, the public URL's host and `--allowed-hosts`. A node listening on every address
 * (0.0.0.0 / ::) without `--allowed-hosts` answers any Host, as it cannot know its names.
 */
export function createHostCheck(options: { httpHost: string; publicUrl?: string; allowedHosts: readonly string[] }): RequestHandler {
  const wildcard = WILDCARD_ADDRESSES.has(options.httpHost);
  if (wildcard && options.allowedHosts.length === 0) return (_req, _res, next) => next();
  // The listening address is a bare address (an IPv6 one has colons but no port), not a Host header value.
  const listening = options.httpHost.toLowerCase().replace(/^\[|\]$/g, "");
  const allowed = new Set([...LOOPBACK_NAMES, listening, ...options.allowedHosts.map((h) => h.toLowerCase())]);
  if (options.publicUrl) allowed.add(new URL(options.publicUrl).hostname.toLowerCase().replace(/^\[|\]$/g, ""));
  return (req, _res, next) => {
    const name = hostName(req.headers.host ?? "");
    if (allowed.has(name)) return next();
    next(new HttpError(403, "host_not_allowed", "this node does not serve that Host name (see --allowed-hosts)"));
  };
}
