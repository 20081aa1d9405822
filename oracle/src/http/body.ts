import express, { type RequestHandler } from "express";
import { HttpError } from "./errors";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Reads a JSON body up to `limitBytes`, rejecting what express.json() would silently accept or mangle:
 * bytes that are not valid UTF-8 (express replaces them with U+FFFD, which would change the prompt's hash) and
 * a content type other than JSON. Errors are 4xx HttpErrors: 413 too large, 415 not JSON, 400 bad UTF-8 / bad JSON.
 */
export function strictJsonBody(limitBytes: number): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: limitBytes });
  return [
    (req, _res, next) => {
      if (!req.is("application/json")) {
        return next(new HttpError(415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)"));
      }
      raw(req, _res, (error?: unknown) => {
        const e = error as { type?: string; status?: number } | undefined;
        if (e?.type === "entity.too.large") {
          return next(new HttpError(413, "body_too_large", `the body is larger than ${limitBytes} bytes`));
        }
        if (e) return next(new HttpError(e.status && e.status < 500 ? e.status : 400, "bad_body", "cannot read the body"));
        next();
      });
    },
    (req, _res, next) => {
      const bytes: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let text: string;
      try {
        text = strictUtf8.decode(bytes);
      } catch {
        return next(new HttpError(400, "invalid_utf8", "the body is not valid UTF-8"));
      }
      try {
        req.body = JSON.parse(text);
      } catch (error) {
        return next(new HttpError(400, "malformed_json", `the body is not valid JSON: ${(error as Error).message.slice(0, 120)}`));
      }
      next();
    },
  ];
}
