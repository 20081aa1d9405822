import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { COMMIT_WINDOW, MINIMUM_FEE, MODEL_ID, REVEAL_WINDOW, deploySystem, drawCommittee, requestChat, responseHashOf } from "../fixtures";

// The shipped example consumer: asks through the registry, accepts only its own answers from the registry, and
// forwards its credits (unused callback escrow, refunds) to its owner.

const GAS_PRICE = 10n ** 9n;

async function withConsumer() {
  const sys = await deploySystem({ committeeSize: 1, quorum: 1, maxAttempts: 1, validatorCount: 3 });
  const consumer = await ethers.deployContract("ExampleChatConsumer", [await sys.chat.getAddress()], sys.requester);
  const escrow = BigInt(await consumer.CALLBACK_GAS_LIMIT()) * GAS_PRICE;
  return { sys, consumer, escrow };
}

describe("ExampleChatConsumer", function () {
  it("asks through the registry and stores the answer hash the registry delivers", async function () {
    const { sys, consumer, escrow } = await loadFixture(withConsumer);
    await consumer.connect(sys.outsider).ask(MODEL_ID, "Capital of France?", 32, GAS_PRICE, { value: MINIMUM_FEE + escrow });
    const requestId = await sys.chat.requestCount();
    expect(await consumer.asked(requestId)).to.equal(true);
    const record = await sys.chat.getRecord(requestId);
    expect([record.requester, record.consumer]).to.deep.equal([await consumer.getAddress(), await consumer.getAddress()]);

    const [member] = await drawCommittee(sys, requestId);
    await expect(sys.chat.connect(member).respond(requestId, "Paris", { gasPrice: GAS_PRICE }))
      .to.emit(consumer, "AnswerReceived").withArgs(requestId, responseHashOf("Paris"));
    expect(await consumer.answers(requestId)).to.equal(responseHashOf("Paris"));
  });

  it("reverts a callback from anyone but the registry, naming the caller", async function () {
    const { sys, consumer } = await loadFixture(withConsumer);
    await expect(consumer.connect(sys.outsider).onChatFulfilled(1, responseHashOf("forged")))
      .to.be.revertedWithCustomError(consumer, "ExampleChatConsumerUnauthorizedCaller").withArgs(sys.outsider.address);
    expect(await consumer.answers(1)).to.equal(ethers.ZeroHash);
  });

  it("rejects the registry's callback for a request someone else made naming it as consumer", async function () {
    const { sys, consumer, escrow } = await loadFixture(withConsumer);
    const requestId = await requestChat(sys, {
      from: sys.outsider, consumer: await consumer.getAddress(), callbackGasLimit: Number(await consumer.CALLBACK_GAS_LIMIT()), maxCallbackGasPrice: GAS_PRICE,
    });
    expect(escrow).to.be.greaterThan(0n);
    const [member] = await drawCommittee(sys, requestId);
    // The consumer reverts ExampleChatConsumerUnknownRequest: the registry records the failed callback and finalizes.
    await expect(sys.chat.connect(member).respond(requestId, "Injected answer", { gasPrice: GAS_PRICE }))
      .to.emit(sys.chat, "ConsumerCallbackFailed").withArgs(requestId, await consumer.getAddress())
      .and.not.to.emit(consumer, "AnswerReceived");
    expect(await consumer.asked(requestId)).to.equal(false);
    expect(await consumer.answers(requestId)).to.equal(ethers.ZeroHash);
  });

  it("forwards its credits to the owner only", async function () {
    const { sys, consumer, escrow } = await loadFixture(withConsumer);
    await consumer.connect(sys.outsider).ask(MODEL_ID, "Nobody answers", 32, GAS_PRICE, { value: MINIMUM_FEE + escrow });
    const requestId = await sys.chat.requestCount();
    await expect(consumer.connect(sys.outsider).withdrawCredits())
      .to.be.revertedWithCustomError(consumer, "ExampleChatConsumerNotOwner").withArgs(sys.outsider.address);

    // Nobody answers: the last attempt times out, and the fee and escrow become the consumer's credit.
    await drawCommittee(sys, requestId);
    await time.increase(COMMIT_WINDOW + REVEAL_WINDOW + 1);
    await expect(sys.chat.timeout(requestId)).to.emit(sys.chat, "RequestTimedOut").withArgs(requestId, 1, true);
    const consumerAddress = await consumer.getAddress();
    const credit = await sys.chat.creditOf(consumerAddress);
    expect(credit).to.equal(MINIMUM_FEE + escrow);
    const tx = consumer.connect(sys.requester).withdrawCredits();
    await expect(tx).to.emit(sys.chat, "CreditsWithdrawn").withArgs(consumerAddress, sys.requester.address, credit);
    await expect(tx).to.changeEtherBalance(sys.requester, credit, { includeFee: false });
    expect(await sys.chat.creditOf(consumerAddress)).to.equal(0n);
  });
});
