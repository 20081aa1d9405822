import { promises as fs } from "node:fs";
import * as path from "node:path";

/** Where Debian's `wordnet-base` package puts the WordNet 3.0 database. */
export const DEBIAN_WORDNET_DIR = "/usr/share/wordnet";

/** One training document: a question about a word and its WordNet definition as the answer. */
export interface QaPair {
  question: string;
  answer: string;
}

export interface WordnetCorpus {
  train: QaPair[];
  heldOut: QaPair[];
  synsets: number;
}

type PartOfSpeech = "noun" | "verb" | "adj" | "adv";
const PARTS: readonly PartOfSpeech[] = ["noun", "verb", "adj", "adv"];

/** A synset line of data.<pos>: its lemmas and its gloss (definitions, then examples in double quotes). */
interface Synset {
  lemmas: string[];
  definition: string;
  example: string | undefined;
}

/**
 * Parses one line of a WordNet data file (wndb(5)): `offset lex_filenum ss_type w_cnt word lex_id … | gloss`.
 * Returns undefined for the licence header lines (they start with two spaces).
 */
export function parseSynsetLine(line: string): Synset | undefined {
  if (line.startsWith(" ") || line.trim() === "") return undefined;
  const bar = line.indexOf(" | ");
  if (bar < 0) return undefined;
  const fields = line.slice(0, bar).split(" ");
  const wordCount = parseInt(fields[3], 16);
  const lemmas: string[] = [];
  for (let i = 0; i < wordCount; i++) {
    // adjective markers such as "(a)", "(p)", "(ip)" follow the word without a space
    lemmas.push(fields[4 + 2 * i].replace(/\([a-z]+\)$/, "").replace(/_/g, " "));
  }
  const parts = line
    .slice(bar + 3)
    .trim()
    .split(/;\s*/)
    .map((p) => p.trim())
    .filter((p) => p !== "");
  const definitions = parts.filter((p) => !p.startsWith('"'));
  const examples = parts.filter((p) => p.startsWith('"')).map((p) => p.replace(/^"|"$/g, "").trim());
  if (definitions.length === 0) return undefined;
  return { lemmas, definition: definitions.join("; "), example: examples.find((e) => e.length > 0) };
}

const article = (word: string): string => (/^[aeiou]/i.test(word) ? "an" : "a");
const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const sentence = (s: string): string => (/[.!?]$/.test(s) ? s : `${s}.`);

/**
 * The question and answer for one lemma of a synset, in plain English, e.g. "What is a dog?" → "A dog is a member
 * of the genus Canis … For example: the dog barked all night." The answer repeats the word, so even a small model
 * answers about the word it was asked about.
 */
export function questionFor(pos: PartOfSpeech, lemma: string, synset: Synset): QaPair {
  const example = synset.example ? ` For example: ${sentence(synset.example)}` : "";
  const proper = /^[A-Z]/.test(lemma);
  switch (pos) {
    case "noun": {
      const subject = proper ? lemma : `${article(lemma)} ${lemma}`;
      return { question: `What is ${subject}?`, answer: `${capitalize(subject)} is ${sentence(synset.definition)}${example}` };
    }
    case "verb":
      return { question: `What does it mean to ${lemma}?`, answer: `To ${lemma} is to ${sentence(synset.definition)}${example}` };
    default:
      return { question: `What does ${lemma} mean?`, answer: `${capitalize(lemma)} means ${sentence(synset.definition)}${example}` };
  }
}

/**
 * Question → answer pairs from WordNet's glosses: one per synset and lemma, for the first `lemmasPerSynset`
 * lemmas. Every `heldOutEvery`-th synset (in file order, all parts of speech) goes to the held-out set, so held-out
 * answers are definitions the model never saw.
 */
export async function readWordnetCorpus(dir = DEBIAN_WORDNET_DIR, opts: { lemmasPerSynset?: number; heldOutEvery?: number } = {}): Promise<WordnetCorpus> {
  const lemmasPerSynset = opts.lemmasPerSynset ?? 2;
  const heldOutEvery = opts.heldOutEvery ?? 50;
  const train: QaPair[] = [];
  const heldOut: QaPair[] = [];
  let synsets = 0;
  for (const pos of PARTS) {
    const file = path.join(dir, `data.${pos}`);
    const text = await fs.readFile(file, "utf8").catch((err: unknown) => {
      throw new Error(`cannot read ${file}: install Debian's wordnet-base (apt-get install wordnet-base)`, { cause: err });
    });
    for (const line of text.split("\n")) {
      const synset = parseSynsetLine(line);
      if (!synset) continue;
      const target = synsets % heldOutEvery === heldOutEvery - 1 ? heldOut : train;
      synsets++;
      for (const lemma of synset.lemmas.slice(0, lemmasPerSynset)) target.push(questionFor(pos, lemma, synset));
    }
  }
  return { train, heldOut, synsets };
}
