import fs from "node:fs";
import path from "node:path";
import express, { Router } from "express";

/** Folder of the page's static files (HTML, CSS, JS); they ship with the source, no build step. */
export const PAGE_ASSETS_DIR = path.join(__dirname, "assets");

/**
 * Only the page's own origin: every script, style and request stays on the oracle, so the page works offline and a
 * text shown on it can never load anything (inline scripts and styles are refused too).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The monitoring page: `GET /` serves the page, `GET /assets/*` its scripts and styles. Mount it on the oracle's
 * express app (createHttpServer's `mount` hook) after the JSON API: the page reads `/v1/*` from the same origin.
 */
export function createPageRouter(): Router {
  const router = Router();
  const indexHtml = fs.readFileSync(path.join(PAGE_ASSETS_DIR, "index.html"));
  router.use((_req, res, next) => {
    res.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    next();
  });
  router.get("/", (_req, res) => {
    res.type("html").setHeader("Cache-Control", "no-cache");
    res.send(indexHtml);
  });
  router.use(
    "/assets",
    express.static(PAGE_ASSETS_DIR, {
      index: false,
      dotfiles: "ignore",
      fallthrough: true,
      // Short cache: the files carry no version in their names, and an operator upgrading the node wants the new page.
      maxAge: 60_000,
    }),
  );
  return router;
}
