import { expect } from "chai";
import { ethers, network } from "hardhat";
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { DeclineReason, MINIMUM_FEE, MODEL_ID, Status, UNIT, commitmentOf, deploySystem } from "../fixtures";
import { seededRandom } from "../../../oracle/src/prng";

/**
 * Random action sequences over both registries (stake, unstake, withdraw, slash, sweep; request — some with a
 * callback consumer and its gas escrow —, draw, commit, decline, reveal, respond, timeout, settle, credit withdrawal
 * to any recipient, time travel, and jumps past the 256-block seed window; follow-up turns of finalized requests and
 * thread membership changes by owners and others). After EVERY step:
 *   Σ stakes = tree root × unit = totalStake(), Σ unbonding = totalUnbonding(),
 *   token balance = totalStake + totalUnbonding + slashedBalance (stakes + pending withdrawals),
 *   chat ETH balance = Σ credits of every account + the value still held for unfinished requests (fee + escrow of
 *   an open request; the unearned seats' shares of a finalized, unsettled one), never less than Σ credits,
 *   the record the step acted on, if finalized earlier, is unchanged (but for `settled`), and if finalized by this
 *   step, carries the response hash a quorum of its members revealed; a settle succeeds at most once per request
 *   and `settled` never goes back; every 100 steps all finalized records are re-checked together.
 * Threads: a follow-up succeeds only on a Finalized parent, from the thread's owner or a member it allowed at request
 * time, and stores the parent, the root and the parent's `threadRecordHash` as its link; only the owner changes the
 * members, and `isThreadMember` agrees with the model of the changes that succeeded.
 * The "every action happened" check needs the default step count (rare actions may not occur in a short run, as
 * under `hardhat coverage` with INVARIANT_STEPS=150); the invariants hold at any count.
 * A failure names the seed and step; rerun one seed with INVARIANT_SEEDS=<seed>.
 */
const SEEDS = (process.env.INVARIANT_SEEDS ?? "11,22,33").split(",").map(Number);
const DEFAULT_STEPS = 1000;
const STEPS = Number(process.env.INVARIANT_STEPS ?? DEFAULT_STEPS);
const SALT = ethers.id("invariant salt");
const OPEN = new Set([Status.Requested, Status.Committed, Status.Revealed]);
/**
 * Sends one transaction from an unlocked account with a fixed gas limit: a single JSON-RPC request (no gas estimate,
 * nonce lookup or receipt polling), so a thousand-step sequence stays fast. A revert throws.
 */
async function send(from: string, to: string, data: string, value = 0n): Promise<void> {
  await network.provider.send("eth_sendTransaction", [
    { from, to, data, value: ethers.toQuantity(value), gas: ethers.toQuantity(3_000_000) },
  ]);
}

async function runSequence(seed: number, committeeSize: number, quorum: number) {
  const random = seededRandom(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const sys = await deploySystem({ committeeSize, quorum, maxAttempts: 2, validatorCount: 6 });
  const { chat, registry, token, slasher } = sys;
  const threads = await ethers.getContractAt("ChatThreads", await chat.threadsContract());
  const threadsAddress = await threads.getAddress();
  const inspector = await ethers.deployContract("RegistryInspector");
  const consumer = await (await ethers.deployContract("GasBurningConsumer")).getAddress();
  const validators = sys.validators;
  const validatorAddresses = validators.map((v) => v.address);
  const requesters = [sys.requester, sys.outsider];
  // Every account that can hold a credit: validators (shares, reimbursements) and requesters (refunds).
  const creditHolders = [...validatorAddresses, ...requesters.map((r) => r.address)];
  const open = new Set<bigint>(); // Requested / Committed / Revealed: fee and escrow still held
  const settleable = new Set<bigint>(); // Finalized or Declined, not settled yet
  const settled = new Set<bigint>();
  const escrows = new Map<bigint, bigint>();
  const frozen = new Map<bigint, string>(); // finalized request -> digest of its record when it was finalized
  const finalizedOrder: bigint[] = [];
  let sweptCount = 0;
  let sweptDigest = ethers.ZeroHash;
  let touched: bigint | undefined; // the one request the current step acted on (only its record can change)
  const texts = new Map<string, string>(); // `${id}/${validator}` -> text of that validator's latest commitment
  const counts: Record<string, number> = {};
  const members = new Map<bigint, Set<string>>(); // thread root -> accounts its owner allowed (model of setThreadMember)
  for (const v of validators) {
    await token.mint(v.address, 10n ** 30n);
    await token.connect(v).approve(await registry.getAddress(), ethers.MaxUint256);
  }
  const chatAddress = await chat.getAddress();
  const registryAddress = await registry.getAddress();
  // Most actions target the newest open requests so that commit, reveal and finalization actually happen.
  const recentOpen = () => [...open].slice(-2);
  const committedOpen = new Set<bigint>(); // open requests with at least one commitment: where reveals can succeed
  const call = (name: string, args: unknown[]) => chat.interface.encodeFunctionData(name as "draw", args as [bigint]);
  /**
   * The current committee (the drawn one, else the one a draw in the next block would give; empty while none can be
   * drawn) and the members that have neither committed nor declined.
   */
  const committeeOf = async (id: bigint): Promise<{ all: string[]; waiting: string[] }> => {
    const members = await chat.getMembers(id);
    if (members.length > 0) {
      return { all: members.map((m) => m.validator), waiting: members.filter((m) => !m.committed && !m.declined).map((m) => m.validator) };
    }
    try {
      const [preview] = await chat.previewCommittee(id, { blockTag: "pending" });
      return { all: [...preview], waiting: [...preview] };
    } catch {
      return { all: [], waiting: [] }; // the pool is smaller than the committee
    }
  };
  /** Mostly a member still waiting to answer, sometimes any member (to exercise the reverts). */
  const pickMember = ({ all, waiting }: { all: string[]; waiting: string[] }) =>
    random() < 0.9 && waiting.length > 0 ? pick(waiting) : pick(all);

  const attempt = async (name: string, action: () => Promise<unknown>) => {
    try {
      await action();
      counts[name] = (counts[name] ?? 0) + 1;
    } catch (err) {
      // Expected reverts (random inputs) are fine; anything but a contract revert is a harness bug.
      const message = err instanceof Error ? err.message : String(err);
      if (!/revert|reverted/i.test(message)) throw err;
    }
  };

  const actions: [number, string, () => Promise<void>][] = [
    [8, "stake", async () => {
      const v = pick(validators);
      const amount = BigInt(Math.floor(random() * 300)) * UNIT;
      await attempt("stake", () => send(v.address, registryAddress, registry.interface.encodeFunctionData("stake", [amount, ""])));
    }],
    [4, "unstake", async () => {
      const v = pick(validators);
      const active = await registry.stakeOf(v.address);
      const amount = random() < 0.25 ? active : (active / UNIT / 3n) * UNIT;
      await attempt("unstake", () => send(v.address, registryAddress, registry.interface.encodeFunctionData("requestUnstake", [amount])));
    }],
    [3, "withdraw", async () => attempt("withdraw", () => send(pick(validatorAddresses), registryAddress, registry.interface.encodeFunctionData("withdraw")))],
    [3, "slash", async () => attempt("slash", () => send(slasher.address, registryAddress, registry.interface.encodeFunctionData("slash", [pick(validatorAddresses), BigInt(1 + Math.floor(random() * 40)) * UNIT])))],
    [1, "sweep", async () => attempt("sweep", () => send(slasher.address, registryAddress, registry.interface.encodeFunctionData("sweepSlashed")))],
    [5, "request", async () => {
      const from = pick(requesters);
      const fee = MINIMUM_FEE + BigInt(Math.floor(random() * 1000));
      // Half of the requests name a consumer (one that burns all its gas) and escrow its callback gas.
      const withConsumer = random() < 0.5;
      const gasLimit = withConsumer ? 20_000 + Math.floor(random() * 80_000) : 0;
      const maxPrice = withConsumer ? BigInt(1 + Math.floor(random() * 3)) * 10n ** 9n : 0n;
      const escrow = BigInt(gasLimit) * maxPrice;
      await attempt("request", async () => {
        const prompt = ethers.toUtf8Bytes(`prompt ${random()}`);
        const data = chat.interface.encodeFunctionData("requestChat", [MODEL_ID, prompt, 16, withConsumer ? consumer : ethers.ZeroAddress, gasLimit, maxPrice]);
        await send(from.address, chatAddress, data, fee + escrow);
        touched = await chat.requestCount();
        open.add(touched);
        escrows.set(touched, escrow);
      });
    }],
    [4, "draw", async () => {
      if (open.size === 0) return;
      await attempt("draw", () => send(pick(requesters).address, chatAddress, call("draw", [(touched = pick(recentOpen()))])));
    }],
    [18, "commit", async () => {
      if (open.size === 0) return;
      const id = (touched = pick(recentOpen()));
      const members = await committeeOf(id);
      if (members.all.length === 0) return;
      const text = random() < 0.8 ? `answer ${id}` : `deviant ${id} ${random()}`;
      const member = pickMember(members);
      await attempt("commit", async () => {
        await send(member, chatAddress, call("commitResponse", [id, commitmentOf(id, member, text, SALT)]));
        texts.set(`${id}/${member}`, text);
        committedOpen.add(id);
      });
    }],
    [3, "decline", async () => {
      if (open.size === 0) return;
      const id = (touched = pick(recentOpen()));
      const members = await committeeOf(id);
      if (members.all.length === 0) return;
      const reason = pick([DeclineReason.PromptTooLong, DeclineReason.InvalidPrompt, DeclineReason.ModelUnavailable]);
      await attempt("decline", () => send(pickMember(members), chatAddress, call("declineRequest", [id, reason])));
    }],
    [18, "reveal", async () => {
      // Reveals also reach finalized requests: late reveals are paid or slashed until the reveal deadline.
      const candidates = [...[...committedOpen].slice(-3), ...[...settleable].slice(-2)];
      if (candidates.length === 0) return;
      const id = (touched = pick(candidates));
      const members = await chat.getMembers(id);
      const ready = members.filter((m) => m.committed && !m.revealed).map((m) => m.validator);
      if (members.length === 0) return;
      const member = random() < 0.9 && ready.length > 0 ? pick(ready) : pick(members.map((m) => m.validator));
      const text = texts.get(`${id}/${member}`) ?? "never committed";
      await attempt("reveal", () => send(member, chatAddress, call("revealResponse", [id, text, SALT])));
    }],
    [committeeSize === 1 ? 8 : 0, "respond", async () => {
      if (open.size === 0) return;
      const id = (touched = pick(recentOpen()));
      const members = await committeeOf(id);
      if (members.all.length === 0) return;
      await attempt("respond", () => send(pickMember(members), chatAddress, call("respond", [id, random() < 0.8 ? `answer ${id}` : "other"])));
    }],
    [6, "timeout", async () => {
      if (open.size === 0) return;
      await attempt("timeout", () => send(pick(requesters).address, chatAddress, call("timeout", [(touched = pick([...open]))])));
    }],
    [6, "settle", async () => {
      const candidates = [...settleable, ...[...settled].slice(-2)];
      if (candidates.length === 0) return;
      const id = (touched = pick(candidates));
      let succeeded = false;
      await attempt("settle", async () => {
        await send(pick(requesters).address, chatAddress, call("settle", [id]));
        succeeded = true;
      });
      if (succeeded) {
        expect(settled.has(id), `request ${id} settled twice`).to.equal(false);
        settled.add(id);
      }
    }],
    [5, "followUp", async () => {
      if (finalizedOrder.length === 0) return;
      // Mostly a recent finalized turn; sometimes a request that is not final (parent checks must reject it).
      const parentId = random() < 0.85 ? pick(finalizedOrder.slice(-4)) : pick([...open, ...settleable]);
      if (parentId === undefined) return;
      const from = pick(requesters);
      const [parent, link] = await Promise.all([chat.getRecord(parentId), chat.threadOfRequest(parentId)]);
      const owner = (await chat.getRecord(link.rootId)).requester;
      const allowed = from.address === owner || (members.get(link.rootId)?.has(from.address) ?? false);
      expect(await threads.isThreadMember(parentId, from.address), `thread ${link.rootId}: membership of ${from.address}`).to.equal(allowed);
      const parentHash = parent.status === Status.Finalized ? await threads.threadRecordHash(parentId) : ethers.ZeroHash;
      await attempt("followUp", async () => {
        const data = chat.interface.encodeFunctionData("requestChatFollowUp", [parentId, ethers.toUtf8Bytes(`follow-up ${random()}`), 16, ethers.ZeroAddress, 0, 0]);
        await send(from.address, chatAddress, data, MINIMUM_FEE);
        touched = await chat.requestCount();
        open.add(touched);
        escrows.set(touched, 0n);
        // Only a final parent, extended by its thread's owner or an allowed member, and linked to the parent's hash.
        expect(parent.status, `follow-up ${touched}: parent ${parentId} status at request time`).to.equal(Status.Finalized);
        expect(allowed, `follow-up ${touched}: ${from.address} owner or member of thread ${link.rootId}`).to.equal(true);
        const turn = await chat.threadOfRequest(touched);
        expect([turn.parentId, turn.rootId, turn.previousRecordHash], `follow-up ${touched}: thread link`).to.deep.equal([parentId, link.rootId, parentHash]);
        expect((await chat.getRecord(touched)).modelId, `follow-up ${touched}: parent's model`).to.equal(parent.modelId);
      });
    }],
    [2, "setThreadMember", async () => {
      if (finalizedOrder.length === 0) return;
      const requestId = pick(finalizedOrder.slice(-4));
      const from = pick(requesters);
      const member = pick(requesters.map((r) => r.address));
      const allow = random() < 0.7;
      const rootId = (await chat.threadOfRequest(requestId)).rootId;
      const owner = (await chat.getRecord(rootId)).requester;
      await attempt("setThreadMember", async () => {
        await send(from.address, threadsAddress, threads.interface.encodeFunctionData("setThreadMember", [requestId, member, allow]));
        expect(from.address, `thread ${rootId}: only its owner sets members`).to.equal(owner);
        const set = members.get(rootId) ?? new Set<string>();
        if (allow) set.add(member);
        else set.delete(member);
        members.set(rootId, set);
      });
    }],
    [4, "withdrawCredits", async () => {
      const from = pick(creditHolders);
      const recipient = pick([...creditHolders, sys.treasury.address]);
      await attempt("withdrawCredits", () => send(from, chatAddress, chat.interface.encodeFunctionData("withdraw", [recipient])));
    }],
    [8, "time", async () => {
      await time.increase(1 + Math.floor(random() * 200));
    }],
    [1, "blocks", async () => {
      // Past the blockhash window: undrawn seeds are lost (renewed by draw, or nobody to slash at timeout).
      await mine(257, { interval: 1 });
    }],
  ];
  const totalWeight = actions.reduce((sum, [w]) => sum + w, 0);

  /** The value the registry still holds for a request it has not paid out in full. */
  const heldFor = (id: bigint, state: Awaited<ReturnType<typeof inspector.requestStates>>[number]): bigint => {
    if (OPEN.has(state.status)) return state.fee + escrows.get(id)!;
    if (state.status !== Status.Finalized || state.settled) return 0n;
    // Each agreeing revealed seat earned fee / size; the first also the division remainder.
    const share = state.fee / state.committeeSize;
    const remainder = state.paidSeats > 0n ? state.fee - share * state.committeeSize : 0n;
    return state.fee - share * state.paidSeats - remainder;
  };

  for (let step = 0; step < STEPS; step++) {
    let roll = random() * totalWeight;
    const [, name, run] = actions.find(([w]) => (roll -= w) < 0) ?? actions[actions.length - 1];
    try {
      touched = undefined;
      await run();
      if (touched !== undefined) {
        const record = await chat.getRecord(touched);
        const before = frozen.get(touched);
        if (before !== undefined) {
          // A step acts on at most one request, so only that record can change: compare it with its frozen digest.
          expect(await inspector.recordsDigest(chatAddress, [touched]), `finalized record ${touched} unchanged`).to.equal(before);
        } else if (record.status === Status.Finalized) {
          // The record's response hash is the one a quorum of the members revealed.
          const agreeing = (await chat.getMembers(touched)).filter((m) => m.revealed && m.responseHash === record.responseHash);
          expect(agreeing.length, `record ${touched}: members agreeing with its response hash`).to.be.at.least(quorum);
          frozen.set(touched, await inspector.recordsDigest(chatAddress, [touched]));
          finalizedOrder.push(touched);
          if (record.consumer !== ethers.ZeroAddress) counts.callback = (counts.callback ?? 0) + 1;
        }
        if (settled.has(touched)) expect(record.settled, `request ${touched} stays settled`).to.equal(true);
        if (!OPEN.has(record.status)) {
          open.delete(touched);
          committedOpen.delete(touched);
        }
        if ((record.status === Status.Finalized || record.status === Status.Declined) && !record.settled) settleable.add(touched);
        if (record.settled) {
          settleable.delete(touched);
          settled.add(touched);
        }
      }
      const t = await inspector.totals(registryAddress, chatAddress, validatorAddresses, creditHolders);
      expect(t.sumStakes, "Σ stakes = totalStake").to.equal(t.totalStake);
      expect(t.totalWeight * UNIT, "tree root × unit = totalStake").to.equal(t.totalStake);
      expect(t.sumUnbonding, "Σ unbonding = totalUnbonding").to.equal(t.totalUnbonding);
      expect(t.tokenBalance, "token balance = stakes + pending withdrawals").to.equal(t.totalStake + t.totalUnbonding + t.slashedBalance);
      const unfinished = [...open, ...settleable];
      const states = await inspector.requestStates(chatAddress, unfinished);
      const held = unfinished.reduce((sum, id, i) => sum + heldFor(id, states[i]), 0n);
      expect(t.chatBalance >= t.sumCredits, "ETH ≥ Σ credits").to.equal(true);
      expect(t.chatBalance, "ETH = Σ credits + value held for unfinished requests").to.equal(t.sumCredits + held);
      // Every 100 steps (and at the end) re-check ALL finalized records at once, not only the touched one.
      if (step % 100 === 99 || step === STEPS - 1) {
        const digest = await inspector.recordsDigest(chatAddress, finalizedOrder.slice(0, sweptCount));
        expect(digest, "all finalized records unchanged").to.equal(sweptDigest);
        sweptCount = finalizedOrder.length;
        sweptDigest = await inspector.recordsDigest(chatAddress, finalizedOrder);
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`invariant failed: seed ${seed}, step ${step}, action ${name} (rerun: INVARIANT_SEEDS=${seed}): ${message}`);
    }
  }
  return { counts, finalized: finalizedOrder.length };
}

describe("invariants: random sequences over ValidatorRegistry and ChatRecordRegistry", function () {
  for (const [index, seed] of SEEDS.entries()) {
    const committeeSize = index % 2 === 0 ? 3 : 1;
    const quorum = committeeSize === 3 ? 2 : 1;
    it(`keeps stakes, balances and finalized records consistent (seed ${seed}, committee ${committeeSize}, ${STEPS} steps)`, async function () {
      this.timeout(900_000); // ~25 ms of CPU per step; generous for a shared, busy machine
      const { counts, finalized } = await runSequence(seed, committeeSize, quorum);
      console.log(`      seed ${seed}: ${JSON.stringify(counts)}, ${finalized} finalized`);
      // The sequence must exercise the protocol, not just bounce off reverts (rare actions need the default length).
      if (STEPS < DEFAULT_STEPS) return;
      const expected = ["stake", "unstake", "request", "draw", "commit", "decline", "reveal", "timeout", "settle", "withdrawCredits", "callback", "followUp", "setThreadMember"];
      if (committeeSize === 1) expected.push("respond");
      for (const name of expected) {
        expect(counts[name] ?? 0, `successful ${name} actions (seed ${seed})`).to.be.greaterThan(0);
      }
      expect(finalized, `finalized records (seed ${seed})`).to.be.greaterThan(0);
    });
  }
});
