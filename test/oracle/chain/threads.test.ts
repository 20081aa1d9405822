import { expect } from "chai";
import { ZeroHash } from "ethers";
import { RequestStatus } from "../../../oracle/src/chain/chatRegistry";
import { type ThreadTurn, threadHistory, threadMessages, threadRecordHash, verifyTurns } from "../../../oracle/src/chain/threads";
import { RetryableError } from "../../../oracle/src/errors";
import { hashText } from "../../../oracle/src/store/contentStore";

const MODEL_HASH = "0x" + "ab".repeat(32);

/** A finalized turn whose hashes are those of its texts, linked to `parent` the way the contract links it. */
function turn(requestId: bigint, prompt: string, response: string, parent?: ThreadTurn): ThreadTurn {
  return {
    requestId,
    parentId: parent?.requestId ?? 0n,
    rootId: parent?.rootId ?? requestId,
    previousRecordHash: parent ? threadRecordHash(parent) : ZeroHash,
    status: RequestStatus.Finalized,
    promptHash: hashText(prompt),
    responseHash: hashText(response),
    modelId: 1,
    modelHash: MODEL_HASH,
    prompt,
    response,
    maxNewTokens: 8,
    requestedBlock: Number(requestId) * 10,
    finalizedBlock: Number(requestId) * 10 + 2,
  };
}

describe("chain/threads: the conversation a thread turn reads", function () {
  const root = turn(1n, "Hi", "Hello!");
  const second = turn(2n, "How are you?", "Fine.", root);

  it("puts each earlier turn as a user and an assistant message, root first, then the new prompt", function () {
    expect(threadMessages([root, second], "Bye")).to.deep.equal([
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello!" },
      { role: "user", content: "How are you?" },
      { role: "assistant", content: "Fine." },
      { role: "user", content: "Bye" },
    ]);
  });

  it("throws a RetryableError naming the turn whose text is not available yet", function () {
    expect(() => threadHistory([root, { ...second, response: null }])).to.throw(RetryableError, "thread turn 2");
  });

  it("verifies texts against hashes and each link against the parent's recomputed record hash", function () {
    expect(verifyTurns([root, second])).to.deep.equal([
      { prompt: true, response: true, link: true },
      { prompt: true, response: true, link: true },
    ]);
    const tamperedRoot = { ...root, response: "Goodbye!" };
    expect(verifyTurns([tamperedRoot, second])[0]).to.deep.equal({ prompt: true, response: false, link: true });
    // A root whose response hash was different would give the second turn another link: the chain breaks there.
    const otherRoot = turn(1n, "Hi", "Other answer");
    expect(verifyTurns([otherRoot, second]).map((c) => c.link)).to.deep.equal([true, false]);
  });

  it("leaves a pending turn's response unchecked (null), and a missing prompt text unknown (null)", function () {
    const pending = { ...turn(3n, "Later", "", second), status: RequestStatus.Requested, response: null, prompt: null };
    expect(verifyTurns([root, second, pending])[2]).to.deep.equal({ prompt: null, response: null, link: true });
  });
});
