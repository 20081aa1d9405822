import { BASE_BYTE_ORDER, BYTE_TO_CHAR, bytesToByteLevel } from "../byteLevel";
import { Prng } from "../../prng";

/** GPT-2's pre-tokenization pattern (also what tokenizers' ByteLevel pre-tokenizer applies). */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface TrainedBpe {
  /** token string → id; ids 0..255 are the bytes, then one id per merge in rank order */
  vocab: Map<string, number>;
  /** "left right" in rank order */
  merges: string[];
}

/**
 * Learns byte-level BPE merges from `corpus` until the vocabulary holds `tokenCount` tokens (bytes included).
 *
 * Why this is deterministic: pairs are counted over words in first-seen order and ties are broken by the pair
 * string. When the corpus runs out of pairs seen twice, the remaining merges join random existing tokens
 * (seeded), which keeps the vocabulary size of a real model (e.g. GPT-2's 50257) without a large corpus.
 */
export function trainByteLevelBpe(corpus: string, tokenCount: number, seed: number): TrainedBpe {
  if (tokenCount < 256) throw new RangeError(`a byte-level vocabulary needs at least 256 tokens, got ${tokenCount}`);
  const vocab = new Map<string, number>();
  const tokens: string[] = [];
  const addToken = (t: string): void => {
    vocab.set(t, tokens.length);
    tokens.push(t);
  };
  for (const b of BASE_BYTE_ORDER) addToken(BYTE_TO_CHAR[b]);

  const wordCounts = new Map<string, number>();
  const encoder = new TextEncoder();
  for (const match of corpus.matchAll(GPT2_SPLIT)) {
    const word = bytesToByteLevel(encoder.encode(match[0]));
    wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
  }
  const words = [...wordCounts.entries()].map(([w, count]) => ({ symbols: [...w], count }));

  // Pair counts are kept up to date as merges rewrite words, and each pair knows the words it may occur in, so a
  // merge touches only those words (counting every pair of every word per merge took minutes on a real corpus).
  const pairCounts = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();
  const countPairs = (w: number, sign: 1 | -1): void => {
    const { symbols, count } = words[w];
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = symbols[i] + " " + symbols[i + 1];
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + sign * count);
      if (sign === 1) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) countPairs(w, 1);

  const merges: string[] = [];
  while (tokens.length < tokenCount) {
    // the most frequent pair seen at least twice; ties go to the smaller pair string
    let best: string | undefined;
    let bestCount = 1;
    for (const [key, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && best !== undefined && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (best === undefined) break;
    const [left, right] = best.split(" ");
    const joined = left + right;
    merges.push(best);
    if (!vocab.has(joined)) addToken(joined);
    for (const w of [...(pairWords.get(best) ?? [])].sort((a, b) => a - b)) {
      const s = words[w].symbols;
      if (!s.some((sym, i) => sym === left && s[i + 1] === right)) continue;
      countPairs(w, -1);
      const merged: string[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === left && s[i + 1] === right) {
          merged.push(joined);
          i++;
        } else merged.push(s[i]);
      }
      words[w].symbols = merged;
      countPairs(w, 1);
    }
    pairCounts.delete(best);
    pairWords.delete(best);
    for (const [key, count] of pairCounts) if (count <= 0) pairCounts.delete(key);
  }

  const prng = new Prng(seed);
  const mergeSet = new Set(merges);
  while (tokens.length < tokenCount) {
    const left = tokens[prng.nextInt(tokens.length)];
    const right = tokens[prng.nextInt(tokens.length)];
    const joined = left + right;
    const key = left + " " + right;
    if ([...joined].length > 16 || vocab.has(joined) || mergeSet.has(key)) continue;
    merges.push(key);
    mergeSet.add(key);
    addToken(joined);
  }
  return { vocab, merges };
}
