import { expect } from "chai";
import { ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MINIMUM_FEE, MODEL_ID, Status, UNIT, commitmentOf, deploySystem } from "../fixtures";
import { mulberry32 } from "../../helpers/prng";

/**
 * Random action sequences over both registries (stake, unstake, withdraw, slash, sweep, request, commit, reveal,
 * timeout, refund, reward withdrawal, time travel). After EVERY step:
 *   Σ stakes = tree root × unit = totalStake(), Σ unbonding = totalUnbonding(),
 *   token balance = totalStake + totalUnbonding + slashedBalance (stakes + pending withdrawals),
 *   chat ETH balance = Σ pending rewards + fees (as sent) of requests not yet finalized/refunded,
 *   the record the step acted on, if finalized earlier, is unchanged, and if finalized by this step, carries the
 *   response hash a quorum of its members revealed; every 100 steps all finalized records are re-checked together.
 * A failure names the seed and step; rerun one seed with INVARIANT_SEEDS=<seed>.
 */
const SEEDS = (process.env.INVARIANT_SEEDS ?? "11,22,33").split(",").map(Number);
const STEPS = Number(process.env.INVARIANT_STEPS ?? 1000);
const SALT = ethers.id("invariant salt");
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
  const random = mulberry32(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const sys = await deploySystem({ committeeSize, quorum, maxAttempts: 2, validatorCount: 6 });
  const { chat, registry, token, slasher } = sys;
  const inspector = await ethers.deployContract("RegistryInspector");
  const validators = sys.validators;
  const validatorAddresses = validators.map((v) => v.address);
  const requesters = [sys.requester, sys.outsider];
  const open = new Set<bigint>(); // requests not Finalized/Refunded (their fees must still be in the contract)
  const fees = new Map<bigint, bigint>();
  const frozen = new Map<bigint, string>(); // finalized request -> digest of its record when it was finalized
  const finalizedOrder: bigint[] = [];
  let sweptCount = 0;
  let sweptDigest = ethers.ZeroHash;
  let touched: bigint | undefined; // the one request the current step acted on (only it can change)
  const texts = new Map<string, string>(); // `${id}/${validator}` -> text of that validator's latest commitment
  const counts: Record<string, number> = {};
  for (const v of validators) {
    await token.mint(v.address, 10n ** 30n);
    await token.connect(v).approve(await registry.getAddress(), ethers.MaxUint256);
  }
  const chatAddress = await chat.getAddress();
  const registryAddress = await registry.getAddress();
  // Most actions target the newest open requests so that commit, reveal and finalization actually happen.
  const recentOpen = () => [...open].slice(-3);

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
    [10, "stake", async () => {
      const v = pick(validators);
      const amount = BigInt(Math.floor(random() * 300)) * UNIT;
      await attempt("stake", () => send(v.address, registryAddress, registry.interface.encodeFunctionData("stake", [amount, ""])));
    }],
    [5, "unstake", async () => {
      const v = pick(validators);
      const active = await registry.stakeOf(v.address);
      const amount = random() < 0.5 ? active : (active / UNIT / 3n) * UNIT;
      await attempt("unstake", () => send(v.address, registryAddress, registry.interface.encodeFunctionData("requestUnstake", [amount])));
    }],
    [4, "withdraw", async () => attempt("withdraw", () => send(pick(validatorAddresses), registryAddress, registry.interface.encodeFunctionData("withdraw")))],
    [3, "slash", async () => attempt("slash", () => send(slasher.address, registryAddress, registry.interface.encodeFunctionData("slash", [pick(validatorAddresses), BigInt(1 + Math.floor(random() * 80)) * UNIT])))],
    [1, "sweep", async () => attempt("sweep", () => send(slasher.address, registryAddress, registry.interface.encodeFunctionData("sweepSlashed")))],
    [12, "request", async () => {
      const from = pick(requesters);
      const fee = MINIMUM_FEE + BigInt(Math.floor(random() * 1000));
      await attempt("request", async () => {
        const data = chat.interface.encodeFunctionData("requestChat", [MODEL_ID, `prompt ${random()}`, 16, ethers.ZeroAddress, 0]);
        await send(from.address, chatAddress, data, fee);
        touched = await chat.requestCount();
        open.add(touched);
        fees.set(touched, fee);
      });
    }],
    [20, "commit", async () => {
      if (open.size === 0) return;
      const id = (touched = pick(recentOpen()));
      const members = await chat.getMembers(id);
      const waiting = members.filter((m) => !m.committed).map((m) => m.validator);
      const member = random() < 0.9 && waiting.length > 0 ? pick(waiting) : pick(members.map((m) => m.validator));
      const text = random() < 0.8 ? `answer ${id}` : `deviant ${id} ${member}`;
      await attempt("commit", async () => {
        await send(member, chatAddress, chat.interface.encodeFunctionData("commitResponse", [id, commitmentOf(id, member, text, SALT)]));
        texts.set(`${id}/${member}`, text);
      });
    }],
    [20, "reveal", async () => {
      if (open.size === 0) return;
      const id = (touched = pick(recentOpen()));
      const members = await chat.getMembers(id);
      const ready = members.filter((m) => m.committed && !m.revealed).map((m) => m.validator);
      const member = random() < 0.9 && ready.length > 0 ? pick(ready) : pick(members.map((m) => m.validator));
      const text = texts.get(`${id}/${member}`) ?? "never committed";
      await attempt("reveal", () => send(member, chatAddress, chat.interface.encodeFunctionData("revealResponse", [id, text, SALT])));
    }],
    [8, "timeout", async () => {
      if (open.size === 0) return;
      await attempt("timeout", () => send(pick(requesters).address, chatAddress, chat.interface.encodeFunctionData("timeout", [(touched = pick([...open]))])));
    }],
    [3, "refund", async () => {
      if (open.size === 0) return;
      await attempt("refund", () => send(slasher.address, chatAddress, chat.interface.encodeFunctionData("claimRefund", [(touched = pick([...open]))])));
    }],
    [3, "withdrawRewards", async () => attempt("withdrawRewards", () => send(pick(validatorAddresses), chatAddress, chat.interface.encodeFunctionData("withdrawRewards")))],
    [8, "time", async () => {
      await time.increase(1 + Math.floor(random() * 400));
    }],
  ];
  const totalWeight = actions.reduce((sum, [w]) => sum + w, 0);

  for (let step = 0; step < STEPS; step++) {
    let roll = random() * totalWeight;
    const [, name, run] = actions.find(([w]) => (roll -= w) < 0) ?? actions[actions.length - 1];
    try {
      touched = undefined;
      await run();
      // A step acts on at most one request, so only that record can change: compare it with its frozen digest.
      if (touched !== undefined) {
        const status = (await chat.getRecord(touched)).status;
        const before = frozen.get(touched);
        if (before !== undefined) {
          expect(await inspector.recordsDigest(chatAddress, [touched]), `finalized record ${touched} unchanged`).to.equal(before);
        } else if (status === Status.Finalized) {
          // The record's response hash is the one a quorum of the members revealed.
          const responseHash = (await chat.getRecord(touched)).responseHash;
          const agreeing = (await chat.getMembers(touched)).filter((m) => m.revealed && m.responseHash === responseHash);
          expect(agreeing.length, `record ${touched}: members agreeing with its response hash`).to.be.at.least(quorum);
          frozen.set(touched, await inspector.recordsDigest(chatAddress, [touched]));
          finalizedOrder.push(touched);
        }
        if (status === Status.Finalized || status === Status.Refunded) open.delete(touched);
      }
      const t = await inspector.totals(registryAddress, chatAddress, validatorAddresses, []);
      const openFees = [...open].reduce((sum, id) => sum + fees.get(id)!, 0n);
      expect(t.sumStakes, "Σ stakes = totalStake").to.equal(t.totalStake);
      expect(t.totalWeight * UNIT, "tree root × unit = totalStake").to.equal(t.totalStake);
      expect(t.sumUnbonding, "Σ unbonding = totalUnbonding").to.equal(t.totalUnbonding);
      expect(t.tokenBalance, "token balance = stakes + pending withdrawals").to.equal(t.totalStake + t.totalUnbonding + t.slashedBalance);
      expect(t.chatBalance, "ETH = rewards + fees of unfinished requests").to.equal(t.sumRewards + openFees);
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
      // The sequence must exercise the protocol, not just bounce off reverts.
      for (const name of ["stake", "unstake", "request", "commit", "reveal", "timeout"]) {
        expect(counts[name] ?? 0, `successful ${name} actions (seed ${seed})`).to.be.greaterThan(0);
      }
      expect(finalized, `finalized records (seed ${seed})`).to.be.greaterThan(0);
    });
  }
});
