import fs from "node:fs";
import path from "node:path";
import express, { Router } from "express";
import { createNobleHashesRouter } from "./vendor";

/** Folder of the page's static files (HTML, CSS, ES modules); they ship with the source, no build step. */
export const PAGE_ASSETS_DIR = path.join(__dirname, "assets");
/** Short cache: the files carry no version in their names, and an operator upgrading the node wants the new page. */
const ASSET_MAX_AGE_MS = 60_000;

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
 * The monitoring page: `GET /` serves the page, `GET /assets/*` its ES modules and styles, and
 * `GET /assets/vendor/noble-hashes/*` the hashing library they import (from node_modules). Mount it on the oracle's
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
  router.use("/assets/vendor/noble-hashes", createNobleHashesRouter(ASSET_MAX_AGE_MS));
  router.use(
    "/assets",
    express.static(PAGE_ASSETS_DIR, {
      index: false,
      dotfiles: "ignore",
      fallthrough: true,
      maxAge: ASSET_MAX_AGE_MS,
    }),
  );
  return router;
}
