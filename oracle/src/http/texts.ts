import { hashText, type ContentStore } from "../store/contentStore";

/** A text behind an on-chain or record hash, as the API shows it. */
export interface TextView {
  hash: string;
  text: string | null;
  /** True only when keccak256(utf8(text)) equals `hash`. */
  verified: boolean;
  /** Where the text came from: this node's content store, or a chain event (ChatRequested / ResponseRevealed). */
  source: "store" | "chain_event" | null;
}

/**
 * Looks a hash up in the content store first (that is what users fetch texts from, so that is what must be checked),
 * then in the event text, and reports whether the text really hashes to it.
 */
export function resolveText(store: ContentStore, hash: string, eventText?: string | null): TextView {
  const stored = store.get(hash);
  const [text, source] =
    stored !== undefined ? [stored, "store" as const] : eventText != null ? [eventText, "chain_event" as const] : [null, null];
  return { hash, text, verified: text !== null && safeHash(text) === hash.toLowerCase(), source };
}

function safeHash(text: string): string | undefined {
  try {
    return hashText(text);
  } catch {
    return undefined; // text with no UTF-8 encoding cannot match any hash
  }
}
