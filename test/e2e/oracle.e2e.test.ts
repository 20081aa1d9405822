import { expect } from "chai";
import { ContractFactory, id, toUtf8Bytes } from "ethers";
import { verify } from "../../oracle/src/cli/verify";
import { loadDeployment } from "../../oracle/src/chain/deployments";
import type { OracleNode } from "../../oracle/src/node";
import { devAccount } from "../../scripts/demo/accounts";
import { readArtifact } from "../../oracle/src/chain/artifacts";
import { committeeOf, contractsOf, sendChatRequest } from "../../scripts/demo/network";
import { type E2eChain, E2E_CHAINS, advanceTime, mineBlocks, registryEvents, revertedTransactionsFrom, startE2eChain, startNode, waitFor } from "./helpers";
import { sharedTinyEngine } from "../helpers/engines";

const USER = devAccount(10);
const DISSENT = 2; // IChatRecordRegistry.SlashReason
const MISSED_COMMIT = 0;
const Status = { Finalized: 4, TimedOut: 5, Declined: 6 }; // IChatRecordRegistry.Status
const DeclineReason = { PromptTooLong: 0, InvalidPrompt: 1, ModelUnavailable: 2 };

async function finalized(chain: E2eChain, requestId: bigint) {
  return waitFor(`request ${requestId} finalized`, async () => {
    const events = await registryEvents(chain);
    return events.find((e) => e.name === "RecordFinalized" && e.args.requestId === requestId);
  });
}

async function eventsOf(chain: E2eChain, requestId: bigint) {
  return (await registryEvents(chain)).filter((e) => e.args.requestId === requestId);
}

/** Transactions sent to the chat registry from `fromBlock` on (the request's own included). */
async function registryTransactions(chain: E2eChain, fromBlock: number) {
  const registry = chain.deployment.addresses.ChatRecordRegistry.toLowerCase();
  const head = await chain.provider.getBlockNumber();
  const txs: { from: string; data: string }[] = [];
  for (let n = fromBlock; n <= head; n++) {
    const block = await chain.provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) if (tx.to?.toLowerCase() === registry) txs.push({ from: tx.from, data: tx.data });
  }
  return txs;
}

/** A prompt of `bytes` bytes the tiny model's tokenizer cannot compress much (many distinct words). */
function longPrompt(bytes: number): string {
  let text = "";
  for (let i = 0; text.length < bytes; i++) text += `${(i * 7919).toString(36)}q${(i * 104729).toString(36)} `;
  return text.slice(0, bytes);
}

/** Requests with a prompt no honest node can serve end Declined: nobody slashed, the fee to the decliners. */
async function expectDeclined(chain: E2eChain, requestId: bigint, reason: number) {
  await waitFor(`request ${requestId} declined`, async () => (await eventsOf(chain, requestId)).find((e) => e.name === "RequestDeclined"));
  const { chat } = contractsOf(chain.deployment, chain.provider);
  expect(Number((await chat.getRecord(requestId)).status)).to.equal(Status.Declined);
  const events = await eventsOf(chain, requestId);
  const declines = events.filter((e) => e.name === "ResponseDeclined");
  expect(declines.length).to.be.at.least(1);
  for (const e of declines) expect(Number(e.args.reason)).to.equal(reason);
  expect(events.filter((e) => e.name === "ResponseCommitted" || e.name === "ResponseRevealed")).to.have.length(0);
  return events;
}

for (const chainKind of E2E_CHAINS) {
  describe(`oracle end to end (${chainKind} node process, tiny model)`, function () {
    this.timeout(180_000);

    describe("committee of 1", function () {
      let chain: E2eChain;
      let node: OracleNode;
      before(async function () {
        chain = await startE2eChain({ chain: chainKind, config: { committeeSize: 1, quorum: 1, maxAttempts: 2 }, stakes: [100n, 100n] });
        node = await startNode(chain, chain.validators.map((v) => v.privateKey));
      });
      after(async function () {
        await node?.stop();
        await chain?.stop();
      });

      it("finalizes with two transactions (request + respond) and verifies the record (MATCH)", async function () {
        const sent = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt: "one validator says", maxNewTokens: 12 });
        await finalized(chain, sent.requestId);
        const committee = await committeeOf(chain.provider, chain.deployment, sent.requestId);
        expect(committee).to.have.length(1);
        const txs = await registryTransactions(chain, sent.receipt.blockNumber);
        const { chat: iface } = contractsOf(chain.deployment, chain.provider);
        expect(txs.map((tx) => iface.interface.parseTransaction(tx)?.name)).to.deep.equal(["requestChat", "respond"]);
        expect(txs[1].from.toLowerCase()).to.equal(committee[0].toLowerCase());
        const events = await eventsOf(chain, sent.requestId);
        expect(events.map((e) => e.name)).to.include.members(["ChatRequested", "CommitteeDrawn", "ResponseRevealed", "RecordFinalized"]);
        expect(events.some((e) => e.name === "ResponseCommitted")).to.equal(false);
        const { chat } = contractsOf(chain.deployment, chain.provider);
        const record = await chat.getRecord(sent.requestId);
        expect(record.status).to.equal(4n); // Finalized
        const report = await verify(
          { provider: chain.provider, deployment: loadDeployment(chain.deploymentsFile), engine: await sharedTinyEngine(), endpoints: [node.url as string] },
          sent.requestId.toString(),
        );
        expect(report.match, report.problems.join("; ")).to.equal(true);
        expect(report.responseHash.computed).to.equal(record.responseHash);
        expect(record.settled).to.equal(true);
      });

      it("declines a prompt that is not valid UTF-8 (InvalidPrompt); nobody is slashed", async function () {
        const prompt = new Uint8Array([...toUtf8Bytes("broken "), 0xff, 0xfe, ...toUtf8Bytes(" bytes")]);
        const sent = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt, maxNewTokens: 8 });
        const events = await expectDeclined(chain, sent.requestId, DeclineReason.InvalidPrompt);
        expect(events.some((e) => e.name === "MemberSlashed")).to.equal(false);
        expect(await revertedTransactionsFrom(chain, chain.validators.map((v) => v.address))).to.equal(0);
      });

      it("declines a prompt whose tokens plus maxNewTokens exceed the context (PromptTooLong); nobody is slashed", async function () {
        const { chat } = contractsOf(chain.deployment, chain.provider);
        const limits = (await chat.getModel(chain.deployment.modelId)).limits;
        const sent = await sendChatRequest(chain.provider, chain.deployment, USER, {
          prompt: longPrompt(Number(limits.maxPromptBytes)),
          maxNewTokens: Number(limits.maxNewTokens),
        });
        const events = await expectDeclined(chain, sent.requestId, DeclineReason.PromptTooLong);
        expect(events.some((e) => e.name === "MemberSlashed")).to.equal(false);
        const decliner = String(events.find((e) => e.name === "ResponseDeclined")?.args.validator);
        const credited = events.find((e) => e.name === "Credited" && String(e.args.account) === decliner);
        expect(credited?.args.amount, "the decliner earns the fee").to.equal((await chat.getRecord(sent.requestId)).fee);
      });
    });

    describe("committee of 1: a model this node does not run", function () {
      let chain: E2eChain;
      let node: OracleNode;
      before(async function () {
        chain = await startE2eChain({ chain: chainKind, config: { committeeSize: 1, quorum: 1, maxAttempts: 2 }, stakes: [100n] });
        node = await startNode(chain, chain.validators.map((v) => v.privateKey));
      });
      after(async function () {
        await node?.stop();
        await chain?.stop();
      });

      it("declines a request for another model's hash (ModelUnavailable); nobody is slashed", async function () {
        const { chat } = contractsOf(chain.deployment, devAccount(0).connect(chain.provider));
        const limits = (await chat.getModel(chain.deployment.modelId)).limits;
        await (await chat.registerModel(7, id("some other model's files"), limits.toObject(), "models/other")).wait();
        const sent = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt: "answer with the other model", maxNewTokens: 8, modelId: 7 });
        const events = await expectDeclined(chain, sent.requestId, DeclineReason.ModelUnavailable);
        expect(events.some((e) => e.name === "MemberSlashed")).to.equal(false);
      });
    });

    describe("committee of 1: a node back after downtime", function () {
      let chain: E2eChain;
      let node: OracleNode | undefined;
      before(async function () {
        chain = await startE2eChain({ chain: chainKind, config: { committeeSize: 1, quorum: 1, maxAttempts: 2 }, stakes: [100n], commitWindow: 3600, revealWindow: 3600 });
      });
      after(async function () {
        await node?.stop();
        await chain?.stop();
      });

      it("renews a seed lost to the 256-block window with draw, then answers", async function () {
        const sent = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt: "are you back?", maxNewTokens: 8 });
        await mineBlocks(chain, 300); // 300 blocks (300 s): the seed block's hash is gone
        node = await startNode(chain, chain.validators.map((v) => v.privateKey));
        await finalized(chain, sent.requestId);
        const events = await eventsOf(chain, sent.requestId);
        const renewed = events.find((e) => e.name === "SeedRenewed");
        expect(renewed, "the seed was renewed").to.not.equal(undefined);
        expect(Number(renewed?.args.seedBlock)).to.be.greaterThan(sent.seedBlock + 256);
        expect(events.some((e) => e.name === "CommitteeReassigned" || e.name === "MemberSlashed")).to.equal(false);
      });
    });

    describe("committee of 3 with quorum 2", function () {
      let chain: E2eChain;
      const nodes: OracleNode[] = [];
      before(async function () {
        chain = await startE2eChain({ chain: chainKind, config: { committeeSize: 3, quorum: 2, maxAttempts: 2 }, stakes: [100n, 200n, 300n] });
      });
      afterEach(async function () {
        for (const n of nodes.splice(0)) await n.stop();
      });
      after(async function () {
        await chain?.stop();
      });

      it("finalizes by quorum and calls the consumer contract back", async function () {
        nodes.push(await startNode(chain, chain.validators.map((v) => v.privateKey)));
        const artifact = readArtifact("ExampleChatConsumer");
        const user = USER.connect(chain.provider);
        const consumer = await new ContractFactory(artifact.abi, artifact.bytecode, user).deploy(chain.deployment.addresses.ChatRecordRegistry);
        await consumer.waitForDeployment();
        const { chat } = contractsOf(chain.deployment, chain.provider);
        const fee = (await chat.getConfig()).minimumFee as bigint;
        const before = await chat.requestCount();
        const maxGasPrice = 10n ** 10n; // 10 gwei, above the hardhat node's base fee
        const escrow = 60_000n * maxGasPrice; // ExampleChatConsumer.CALLBACK_GAS_LIMIT × price
        const ask = (consumer as unknown as { ask: (...a: unknown[]) => Promise<{ wait(): Promise<unknown> }> }).ask;
        await (await ask(1, "dear consumer", 10, maxGasPrice, { value: fee + escrow })).wait();
        const requestId = (before as bigint) + 1n;
        const event = await finalized(chain, requestId);
        const answer = await (consumer as unknown as { answers(id: bigint): Promise<string> }).answers(requestId);
        expect(answer).to.equal(event.args.responseHash);
        // Reveals stay open after the quorum: the third member reveals too, and is paid its share.
        const reveals = await waitFor("all three reveals", async () => {
          const found = (await eventsOf(chain, requestId)).filter((e) => e.name === "ResponseRevealed");
          return found.length === 3 ? found : undefined;
        });
        const events = await eventsOf(chain, requestId);
        expect(events.filter((e) => e.name === "ResponseCommitted")).to.have.length(3);
        expect((event.args.agreeing as string[]).length).to.be.at.least(2);
        const share = fee / 3n;
        for (const reveal of reveals) {
          const credited = events.filter((e) => e.name === "Credited" && String(e.args.account) === String(reveal.args.validator));
          expect(credited.map((e) => e.args.amount as bigint).reduce((a, b) => a + b, 0n), `share of ${reveal.args.validator}`).to.be.at.least(share);
        }
        const late = reveals.find((r) => !(event.args.agreeing as string[]).includes(String(r.args.validator)));
        expect(late, "one member revealed after the quorum").to.not.equal(undefined);
        // Not among the agreeing members the finalization paid, so it revealed after the quorum; an automining anvil
        // may put that reveal in the finalizing block itself (after the finalizing transaction), so not an earlier one.
        expect(late?.block).to.be.at.least((await finalized(chain, requestId)).block);
        const reimbursed = events.find((e) => e.name === "CallbackReimbursed");
        expect(reimbursed?.args.amount as bigint).to.be.greaterThan(0n);
        expect(events.some((e) => e.name === "ConsumerCallbackFailed")).to.equal(false);
        expect(events.some((e) => e.name === "MemberSlashed")).to.equal(false);
        expect(await revertedTransactionsFrom(chain, chain.validators.map((v) => v.address))).to.equal(0);
      });

      it("slashes a member that reveals a different text", async function () {
        const [a, b, c] = chain.validators;
        // The honest pair reveals a little later so the dissenting reveal lands before the quorum closes the record.
        nodes.push(await startNode(chain, [a.privateKey, b.privateKey], { revealDelayMs: () => 1_500 }));
        nodes.push(await startNode(chain, [c.privateKey], { alterResponse: (_v, text) => `${text} (altered)` }));
        const sent = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt: "tell the truth", maxNewTokens: 10 });
        const event = await finalized(chain, sent.requestId);
        const agreeing = (event.args.agreeing as string[]).map((x) => x.toLowerCase());
        expect(agreeing).to.have.members([a.address.toLowerCase(), b.address.toLowerCase()]);
        const slashed = (await registryEvents(chain)).filter((e) => e.name === "MemberSlashed" && e.args.requestId === sent.requestId);
        expect(slashed.map((e) => [String(e.args.validator).toLowerCase(), Number(e.args.reason)])).to.deep.equal([[c.address.toLowerCase(), DISSENT]]);
      });

      it("settles after the reveal deadline: the member that never committed is slashed, its share credited back", async function () {
        const [a, b, c] = chain.validators;
        nodes.push(await startNode(chain, [a.privateKey, b.privateKey])); // c is offline
        const { chat } = contractsOf(chain.deployment, chain.provider);
        const sent = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt: "two of three", maxNewTokens: 8 });
        await waitFor("two commits", async () =>
          (await eventsOf(chain, sent.requestId)).filter((e) => e.name === "ResponseCommitted").length === 2 ? true : undefined,
        );
        await advanceTime(chain.provider, 61); // past the commit deadline: reveals open with 2 of 3 committed
        await finalized(chain, sent.requestId);
        const creditBefore = (await chat.creditOf(USER.address)) as bigint;
        await advanceTime(chain.provider, 61); // past the reveal deadline: the sweeper settles
        const settled = await waitFor("settlement", async () => (await eventsOf(chain, sent.requestId)).find((e) => e.name === "RequestSettled"));
        const slashed = (await eventsOf(chain, sent.requestId)).filter((e) => e.name === "MemberSlashed");
        expect(slashed.map((e) => [String(e.args.validator), Number(e.args.reason)])).to.deep.equal([[c.address, MISSED_COMMIT]]);
        const fee = (await chat.getRecord(sent.requestId)).fee as bigint;
        expect(settled.args.refund).to.equal(fee / 3n); // the unearned share (the division remainder went to a payee)
        const refunded = (await eventsOf(chain, sent.requestId)).filter((e) => e.name === "Credited" && String(e.args.account) === USER.address);
        expect(refunded.map((e) => e.args.amount)).to.deep.equal([settled.args.refund]);
        expect((await chat.creditOf(USER.address)) - creditBefore).to.be.at.least(settled.args.refund as bigint);
        expect((await chat.getRecord(sent.requestId)).settled).to.equal(true);
      });

      it("ends an over-context prompt Declined by the quorum, the decliners paid", async function () {
        nodes.push(await startNode(chain, chain.validators.map((v) => v.privateKey)));
        const { chat } = contractsOf(chain.deployment, chain.provider);
        const limits = (await chat.getModel(chain.deployment.modelId)).limits;
        const sent = await sendChatRequest(chain.provider, chain.deployment, USER, {
          prompt: longPrompt(Number(limits.maxPromptBytes)),
          maxNewTokens: Number(limits.maxNewTokens),
        });
        const events = await expectDeclined(chain, sent.requestId, DeclineReason.PromptTooLong);
        const decliners = (events.find((e) => e.name === "RequestDeclined")?.args.decliners as string[]) ?? [];
        expect(decliners).to.have.length(2);
        for (const decliner of decliners) {
          expect(events.some((e) => e.name === "Credited" && String(e.args.account) === decliner)).to.equal(true);
        }
      });

      it("slashes no honest member of a committee of 3 that declined an over-context prompt", async function () {
        nodes.push(await startNode(chain, chain.validators.map((v) => v.privateKey)));
        const { chat } = contractsOf(chain.deployment, chain.provider);
        const limits = (await chat.getModel(chain.deployment.modelId)).limits;
        const sent = await sendChatRequest(chain.provider, chain.deployment, USER, {
          prompt: longPrompt(Number(limits.maxPromptBytes)),
          maxNewTokens: Number(limits.maxNewTokens),
        });
        await expectDeclined(chain, sent.requestId, DeclineReason.PromptTooLong);
        // The member that had not acted when the quorum declined declines too, and is paid for it.
        await waitFor("every member declined", async () =>
          (await eventsOf(chain, sent.requestId)).filter((e) => e.name === "ResponseDeclined").length === 3 ? true : undefined,
        );
        await advanceTime(chain.provider, 121); // past the reveal deadline
        // Every member sided with the outcome, so the sweeper has nothing to settle; settling anyway slashes nobody.
        await (await chat.connect(USER.connect(chain.provider)).getFunction("settle")(sent.requestId)).wait();
        const slashed = (await eventsOf(chain, sent.requestId)).filter((e) => e.name === "MemberSlashed");
        expect((await eventsOf(chain, sent.requestId)).some((e) => e.name === "RequestSettled")).to.equal(true);
        expect(slashed.map((e) => [String(e.args.validator), Number(e.args.reason)]), "honest members slashed").to.deep.equal([]);
      });

      it("times an offline committee out: slashes the absent members, reassigns, then refunds", async function () {
        const [a, b, c] = chain.validators;
        nodes.push(await startNode(chain, [a.privateKey])); // b and c are offline
        const { chat } = contractsOf(chain.deployment, chain.provider);
        const sent = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt: "anyone there?", maxNewTokens: 8 });
        const committedBy = async (attempt: number) =>
          (await registryEvents(chain)).filter((e) => e.name === "ResponseCommitted" && e.args.requestId === sent.requestId).length >= attempt
            ? true
            : undefined;
        await waitFor("first commit", () => committedBy(1));
        await advanceTime(chain.provider, 61); // past the commit deadline with 1 commit < quorum 2
        await waitFor("reassignment", async () =>
          (await registryEvents(chain)).find((e) => e.name === "CommitteeReassigned" && e.args.requestId === sent.requestId),
        );
        await waitFor("second commit", () => committedBy(2));
        await advanceTime(chain.provider, 61);
        await waitFor("final timeout", async () =>
          (await registryEvents(chain)).find((e) => e.name === "RequestTimedOut" && e.args.requestId === sent.requestId && e.args.exhausted),
        );
        const slashed = (await registryEvents(chain)).filter((e) => e.name === "MemberSlashed" && e.args.requestId === sent.requestId);
        expect(slashed.length).to.be.at.least(2);
        for (const e of slashed) {
          expect([b.address, c.address].map((x) => x.toLowerCase())).to.include(String(e.args.validator).toLowerCase());
          expect(Number(e.args.reason)).to.equal(MISSED_COMMIT);
        }
        // The fee comes back as a pull credit, which the requester withdraws to any recipient.
        const record = await chat.getRecord(sent.requestId);
        expect(Number(record.status)).to.equal(Status.TimedOut);
        expect(await chat.creditOf(USER.address)).to.be.at.least(record.fee as bigint);
        const recipient = devAccount(11).address;
        const balanceBefore = await chain.provider.getBalance(recipient);
        const credit = (await chat.creditOf(USER.address)) as bigint;
        await (await contractsOf(chain.deployment, USER.connect(chain.provider)).chat.withdraw(recipient)).wait();
        expect((await chain.provider.getBalance(recipient)) - balanceBefore).to.equal(credit);
        expect(await chat.creditOf(USER.address)).to.equal(0n);
      });
    });
  });
}
