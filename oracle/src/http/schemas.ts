import { z } from "zod";
import type { ZodType } from "zod";
import { HttpError } from "./errors";
import { LONE_SURROGATE } from "../chain/keccak";

export const hashSchema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hex hash");

/** Request ids are uint256; decimal only, so "1e3" or "0x10" are not silently reinterpreted. */
export const requestIdSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,77}$/, "must be a positive decimal integer")
  .transform((s) => BigInt(s))
  .refine((v) => v < 2n ** 256n, "must fit in uint256");

export interface ChatLimits {
  maxPromptChars: number;
  maxNewTokens: number;
}

export function chatBodySchema(limits: ChatLimits) {
  return z
    .object({
      prompt: z
        .string({ message: "must be a string" })
        .min(1, "must not be empty")
        .max(limits.maxPromptChars, `must be at most ${limits.maxPromptChars} characters`)
        .refine((s) => !LONE_SURROGATE.test(s), "must be valid Unicode (no lone surrogates)"),
      modelId: z.number({ message: "must be a number" }).int("must be an integer").min(0).max(65_535).optional(),
      maxNewTokens: z
        .number({ message: "must be a number" })
        .int("must be an integer")
        .min(1)
        .max(limits.maxNewTokens, `must be at most ${limits.maxNewTokens}`)
        .optional(),
    })
    .strict();
}

export const limitQuerySchema = (max: number, fallback: number) =>
  z.object({
    limit: z
      .string()
      .regex(/^\d+$/, "must be a whole number")
      .transform(Number)
      .pipe(z.number().int().min(1).max(max, `must be at most ${max}`))
      .optional()
      .transform((v) => v ?? fallback),
  });

/** Parses `value` or throws a 400 `code` error naming the first bad field. */
export function parseOrThrow<T>(schema: ZodType<T>, value: unknown, code = "invalid_request", subject = "body"): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  // `subject` names what was parsed when it is not a JSON body: "request id must be…", not "body must be…".
  const where = issue.path.length > 0 ? issue.path.join(".") : subject;
  const message =
    issue.code === "unrecognized_keys" ? `unknown field(s): ${issue.keys.join(", ")}` : `${where} ${issue.message}`;
  throw new HttpError(400, code, message);
}
