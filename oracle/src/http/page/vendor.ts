import fs from "node:fs";
import path from "node:path";
import { Router } from "express";

/** The ES-module build of @noble/hashes, as installed (a direct dependency, so its version is the lock file's). */
// Resolved through the package (its CommonJS entry sits at the package root; exports do not list package.json).
const NOBLE_HASHES_ESM_DIR = path.join(path.dirname(require.resolve("@noble/hashes/sha3")), "esm");
/** A module file name of that folder: letters, digits, `_` and `-`, ending in `.js` (no path, no dot-files). */
const MODULE_FILE = /^[A-Za-z0-9_-]+\.js$/;
/** Package-absolute imports inside the build (`from '@noble/hashes/crypto'`), which a browser cannot resolve. */
const PACKAGE_IMPORT = /from\s+(["'])@noble\/hashes\/([A-Za-z0-9_-]+)(?:\.js)?\1/g;

/**
 * A module of @noble/hashes' ESM build made loadable by a browser without a bundler or an import map (an inline import
 * map would need `'unsafe-inline'` in the page's CSP): package-absolute imports become relative ones. The browser
 * build reads `globalThis.crypto` (`crypto.js`), never Node's `cryptoNode.js`. Undefined for a name that is not a file
 * of the build.
 */
export function readNobleHashesModule(file: string): string | undefined {
  if (!MODULE_FILE.test(file)) return undefined;
  const filePath = path.join(NOBLE_HASHES_ESM_DIR, file);
  if (!fs.existsSync(filePath)) return undefined;
  return fs.readFileSync(filePath, "utf8").replace(PACKAGE_IMPORT, (_match, quote: string, name: string) => `from ${quote}./${name}.js${quote}`);
}

/**
 * `GET /<file>.js`: the modules of @noble/hashes (the page's keccak.js imports sha3.js, which imports _u64.js, utils.js
 * and crypto.js), read from node_modules once at start-up, so the page needs no CDN and no vendored copy. Mounted
 * under /assets/vendor/noble-hashes.
 */
export function createNobleHashesRouter(maxAgeMs: number): Router {
  const router = Router();
  const modules = new Map<string, string>();
  for (const file of fs.readdirSync(NOBLE_HASHES_ESM_DIR)) {
    const source = readNobleHashesModule(file);
    if (source !== undefined) modules.set(file, source);
  }
  router.get("/:file", (req, res, next) => {
    const source = modules.get(req.params.file);
    if (source === undefined) return next();
    res.type("text/javascript").setHeader("Cache-Control", `public, max-age=${Math.floor(maxAgeMs / 1000)}`);
    res.send(source);
  });
  return router;
}
