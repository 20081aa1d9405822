import { expect } from "chai";
import { parseSynsetLine, questionFor } from "../../../../oracle/src/inference/training/wordnetCorpus";

const DOG =
  "02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 023 @ 02083346 n 0000 @ 01317541 n 0000 | a member of the genus Canis " +
  '(probably descended from the common wolf) that has been domesticated by man since prehistoric times; occurs in many breeds; "the dog barked all night"  ';
const STIMULATE =
  "00022686 29 v 06 stimulate 0 arouse 0 brace 0 energize 0 energise 0 perk_up 1 018 @ 00019448 v 0000 | cause to be alert and energetic; " +
  '"Coffee and tea stimulate me"; "This herbal infusion doesn\'t stimulate"  ';
const GALORE = "00015247 00 s 01 galore(ip) 0 001 & 00013887 a 0000 | in great numbers; \"autumn brings apples galore\"  ";

describe("inference/training/wordnetCorpus", function () {
  it("reads a synset's lemmas, its definitions and its first example", function () {
    expect(parseSynsetLine(DOG)).to.deep.equal({
      lemmas: ["dog", "domestic dog", "Canis familiaris"],
      definition: "a member of the genus Canis (probably descended from the common wolf) that has been domesticated by man since prehistoric times; occurs in many breeds",
      example: "the dog barked all night",
    });
    expect(parseSynsetLine(STIMULATE)?.lemmas).to.deep.equal(["stimulate", "arouse", "brace", "energize", "energise", "perk up"]);
  });

  it("drops adjective position markers and skips the licence header lines", function () {
    expect(parseSynsetLine(GALORE)?.lemmas).to.deep.equal(["galore"]);
    expect(parseSynsetLine("  1 This software and database is being provided to you, the LICENSEE, by  ")).to.equal(undefined);
  });

  it("asks about nouns with an article, about proper nouns without, about verbs and adjectives in their own form", function () {
    const dog = parseSynsetLine(DOG)!;
    expect(questionFor("noun", "dog", dog)).to.deep.equal({
      question: "What is a dog?",
      answer:
        "A dog is a member of the genus Canis (probably descended from the common wolf) that has been domesticated by man since prehistoric times; occurs in many breeds. For example: the dog barked all night.",
    });
    expect(questionFor("noun", "Canis familiaris", dog).question).to.equal("What is Canis familiaris?");
    expect(questionFor("noun", "animal", { lemmas: ["animal"], definition: "a living organism", example: undefined })).to.deep.equal({
      question: "What is an animal?",
      answer: "An animal is a living organism.",
    });
    expect(questionFor("verb", "stimulate", parseSynsetLine(STIMULATE)!)).to.deep.equal({
      question: "What does it mean to stimulate?",
      answer: "To stimulate is to cause to be alert and energetic. For example: Coffee and tea stimulate me.",
    });
    expect(questionFor("adj", "galore", parseSynsetLine(GALORE)!)).to.deep.equal({
      question: "What does galore mean?",
      answer: "Galore means in great numbers. For example: autumn brings apples galore.",
    });
  });
});
