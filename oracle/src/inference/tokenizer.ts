import { Tokenizer } from "@huggingface/tokenizers";
import { byteLevelToBytes } from "./byteLevel";

interface TokenizerJson {
  model?: { vocab?: Record<string, number> | Array<[string, number]> };
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  decoder?: { type?: string; decoders?: Array<{ type?: string }> } | null;
}

/** Pushes token ids in, gets text out; never emits half of a UTF-8 character. */
export interface StreamDecoder {
  /** Returns the text that became complete with this token (possibly ""). */
  push(tokenId: number): string;
  /** Returns what is left at the end (an incomplete byte sequence becomes U+FFFD). */
  flush(): string;
}

/**
 * The model's tokenizer (tokenizer.json + tokenizer_config.json) through @huggingface/tokenizers, plus a
 * streaming decoder. For byte-level BPE (GPT-2, Qwen, SmolLM) tokens are turned back into bytes and fed to a
 * streaming UTF-8 decoder, which holds back the bytes of a character split across tokens.
 */
export class ModelTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly byteLevel: boolean;
  private readonly specialIds: Set<number>;
  /** one more than the largest token id the tokenizer can produce */
  readonly vocabSize: number;

  constructor(tokenizerJson: TokenizerJson, tokenizerConfig: Record<string, unknown>) {
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const decoderTypes = [tokenizerJson.decoder?.type, ...(tokenizerJson.decoder?.decoders ?? []).map((d) => d.type)];
    this.byteLevel = decoderTypes.includes("ByteLevel");
    this.specialIds = new Set((tokenizerJson.added_tokens ?? []).filter((t) => t.special).map((t) => t.id));
    const vocab = tokenizerJson.model?.vocab ?? {};
    const modelIds = Array.isArray(vocab) ? vocab.map((_, i) => i) : Object.values(vocab);
    const addedIds = (tokenizerJson.added_tokens ?? []).map((t) => t.id);
    this.vocabSize = Math.max(-1, ...modelIds, ...addedIds) + 1;
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: true }).ids;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Whole-sequence decode through the same streaming path the generator uses, so both give the same text. */
  decode(ids: readonly number[]): string {
    const stream = this.createStreamDecoder();
    let text = "";
    for (const id of ids) text += stream.push(id);
    return text + stream.flush();
  }

  createStreamDecoder(): StreamDecoder {
    return this.byteLevel ? this.byteLevelStream() : this.libraryStream();
  }

  private byteLevelStream(): StreamDecoder {
    const utf8 = new TextDecoder("utf-8", { fatal: false });
    return {
      push: (id) => {
        if (this.specialIds.has(id)) return "";
        const token = this.tokenizer.id_to_token(id);
        if (token === undefined) return "";
        const bytes = byteLevelToBytes(token);
        // A token outside the byte alphabet (an added non-special token) is literal text.
        return bytes === undefined ? utf8.decode() + token : utf8.decode(Uint8Array.from(bytes), { stream: true });
      },
      flush: () => utf8.decode(),
    };
  }

  /**
   * Other tokenizers (SentencePiece-style with byte fallback): re-decode everything through the library and
   * emit the new suffix only once it no longer ends in U+FFFD, i.e. once the split character is complete.
   */
  private libraryStream(): StreamDecoder {
    const ids: number[] = [];
    let emitted = "";
    const full = (): string => (ids.length === 0 ? "" : this.tokenizer.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }));
    return {
      push: (id) => {
        ids.push(id);
        const text = full();
        if (text.endsWith("\uFFFD") || !text.startsWith(emitted)) return "";
        const fresh = text.slice(emitted.length);
        emitted = text;
        return fresh;
      },
      flush: () => {
        const text = full();
        const rest = text.startsWith(emitted) ? text.slice(emitted.length) : "";
        emitted = text;
        return rest;
      },
    };
  }
}
