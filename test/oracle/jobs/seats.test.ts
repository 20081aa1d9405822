import { expect } from "chai";
import { ZeroHash } from "ethers";
import type { ChatRegistryClient, OnChainRecord } from "../../../oracle/src/chain/chatRegistry";
import { RequestStatus } from "../../../oracle/src/chain/chatRegistry";
import { createJournal } from "../../../oracle/src/jobs/journal";
import { createSeatFinder } from "../../../oracle/src/jobs/seats";
import { createTestCommon } from "../store/fixtures";

const OURS = "0x00000000000000000000000000000000000000aa";
const OTHER = "0x00000000000000000000000000000000000000bb";
const THIRD = "0x00000000000000000000000000000000000000cc";

/** A registry that answers getRecord and previewCommittee from plain fields the test changes. */
class FakeRegistry {
  status: number = RequestStatus.Requested;
  attempt = 1;
  drawn: string[] = [];
  preview: { committee: string[]; ready: boolean } = { committee: [], ready: false };
  previews = 0;
  reads = 0;

  client(): ChatRegistryClient {
    return {
      getRecord: async (requestId: bigint) => {
        this.reads++;
        return { requestId, status: this.status, attempt: this.attempt, committee: this.drawn, promptHash: ZeroHash } as unknown as OnChainRecord;
      },
      previewCommittee: async () => {
        this.previews++;
        return this.preview;
      },
    } as unknown as ChatRegistryClient;
  }
}

function setup() {
  const common = createTestCommon();
  const journal = createJournal(common.db);
  const registry = new FakeRegistry();
  let seated = 0;
  const seats = createSeatFinder(common, { journal, registry: registry.client(), validators: [OURS], onSeated: () => seated++ });
  journal.trackRequest({ requestId: 1n, seenBlock: 10, modelId: "1", prompt: "hi", promptHash: "0x01", maxNewTokens: 8, deadline: 0 });
  return { journal, registry, seats, seatedCalls: () => seated };
}

describe("seat finder", function () {
  it("waits while the seed block's hash does not exist, then adds a job only for our seated validator", async function () {
    const { journal, registry, seats, seatedCalls } = setup();
    seats.track(1n, 10);
    expect(await seats.find()).to.equal(0);
    expect(journal.jobsOfRequest(1n)).to.have.length(0);
    registry.preview = { committee: [OTHER, OURS, THIRD], ready: true };
    expect(await seats.find()).to.equal(1);
    const [job] = journal.jobsOfRequest(1n);
    expect(job).to.include({ validator: OURS, round: 1, state: "seen", seenBlock: 10, prompt: "hi" });
    expect(seatedCalls()).to.equal(1);
    // Done with this attempt: no further previews.
    const before = registry.previews;
    await seats.find();
    expect(registry.previews).to.equal(before);
  });

  it("looks at an attempt whose seed does not exist yet again only once a new block is seen", async function () {
    const common = createTestCommon();
    const journal = createJournal(common.db);
    journal.trackRequest({ requestId: 1n, seenBlock: 10, modelId: "1", prompt: "hi", promptHash: "0x01", maxNewTokens: 8, deadline: 0 });
    const registry = new FakeRegistry();
    let head = 10;
    const seats = createSeatFinder(common, { journal, registry: registry.client(), validators: [OURS], headNumber: async () => head });
    seats.track(1n, 10, 1);
    expect(await seats.find()).to.equal(0);
    expect(registry.previews).to.equal(1);
    // Polls within the same block ask nothing: the seed block's hash cannot exist before the next block.
    await seats.find();
    await seats.find();
    expect(registry.previews).to.equal(1);
    head = 11;
    registry.preview = { committee: [OURS], ready: true };
    expect(await seats.find()).to.equal(1);
    expect(registry.previews).to.equal(2);
  });

  it("takes the drawn committee without a preview, and the attempt number as the job's round", async function () {
    const { journal, registry, seats } = setup();
    registry.attempt = 2;
    registry.drawn = [OURS];
    seats.track(1n, 30);
    expect(await seats.find()).to.equal(1);
    expect(registry.previews).to.equal(0);
    expect(journal.jobsOfRequest(1n)[0]).to.include({ round: 2, seenBlock: 30 });
  });

  it("asks only previewCommittee when the event told the attempt", async function () {
    const { journal, registry, seats } = setup();
    registry.preview = { committee: [OURS], ready: true };
    seats.track(1n, 20, 3);
    expect(await seats.find()).to.equal(1);
    expect([registry.reads, registry.previews]).to.deep.equal([0, 1]);
    expect(journal.jobsOfRequest(1n)[0]).to.include({ round: 3, seenBlock: 20 });
  });

  it("adds nothing when our validators are not seated, or once commits are closed", async function () {
    const { journal, registry, seats } = setup();
    registry.preview = { committee: [OTHER, THIRD], ready: true };
    seats.track(1n, 10);
    expect(await seats.find()).to.equal(0);
    registry.status = RequestStatus.Finalized;
    registry.preview = { committee: [OURS], ready: true };
    seats.track(1n, 11);
    expect(await seats.find()).to.equal(0);
    expect(journal.jobsOfRequest(1n)).to.have.length(0);
  });

  it("renews a seed lost to the 256-block window with one draw, then seats from the renewed seed", async function () {
    const common = createTestCommon();
    const journal = createJournal(common.db);
    journal.trackRequest({ requestId: 1n, seenBlock: 10, modelId: "1", prompt: "hi", promptHash: "0x01", maxNewTokens: 8, deadline: 0 });
    const registry = new FakeRegistry();
    let head = 200;
    const draws: bigint[] = [];
    const seats = createSeatFinder(common, {
      journal,
      registry: registry.client(),
      validators: [OURS],
      headNumber: async () => head,
      renewSeed: async (id) => void draws.push(id),
    });
    seats.track(1n, 10, 1);
    await seats.find(); // 190 blocks old: the hash still exists, only not yet past
    expect(draws).to.deep.equal([]);
    head = 266;
    await seats.find();
    await seats.find(); // once per window, not once per look
    expect(draws).to.deep.equal([1n]);
    // Until the renewal's event, the lost attempt is not looked at again on every block.
    const previews = registry.previews;
    head = 267;
    await seats.find();
    expect(registry.previews, "no look at a lost seed the next block").to.equal(previews);
    // SeedRenewed (mined in 266) tracks the attempt again, as the event applier does; its seed block is mined.
    seats.track(1n, 266, 1);
    registry.preview = { committee: [OURS], ready: true };
    expect(await seats.find()).to.equal(1);
    // The job keeps the block of the event that tracked the attempt (a reorg below it drops the renewal and the job).
    expect(journal.jobsOfRequest(1n)[0]).to.include({ round: 1, seenBlock: 266 });
  });

  it("draws a seated committee nobody drew once half the blockhash window has passed, once, and not a drawn one", async function () {
    const common = createTestCommon();
    const journal = createJournal(common.db);
    const registry = new FakeRegistry();
    let head = 11;
    const draws: bigint[] = [];
    const seats = createSeatFinder(common, {
      journal,
      registry: registry.client(),
      validators: [OURS],
      headNumber: async () => head,
      renewSeed: async (id) => void draws.push(id),
    });
    for (const id of [1n, 2n]) {
      journal.trackRequest({ requestId: id, seenBlock: 10, modelId: "1", prompt: "hi", promptHash: "0x01", maxNewTokens: 8, deadline: 0 });
      seats.track(id, 10, 1);
    }
    registry.preview = { committee: [OURS, OTHER, THIRD], ready: true };
    expect(await seats.find()).to.equal(2); // seated from the preview; the seats wait (an inference backlog)
    head = 10 + 127;
    await seats.find();
    expect(draws).to.deep.equal([]); // under half the window: our own commit will draw
    head = 10 + 128;
    registry.drawn = [OURS, OTHER, THIRD]; // request 2 (and 1, in this fake) got drawn meanwhile: nothing to send
    await seats.find();
    expect(draws).to.deep.equal([]);
    registry.drawn = [];
    seats.track(3n, 10, 1);
    journal.trackRequest({ requestId: 3n, seenBlock: 10, modelId: "1", prompt: "hi", promptHash: "0x01", maxNewTokens: 8, deadline: 0 });
    await seats.find(); // request 3 seated at once past half the window, still undrawn: drawn now
    await seats.find();
    expect(draws).to.deep.equal([3n]);
  });

  it("picks up the open requests of the journal after a restart", async function () {
    const common = createTestCommon();
    const journal = createJournal(common.db);
    journal.trackRequest({ requestId: 4n, seenBlock: 3, modelId: "1", prompt: "again", promptHash: "0x04", maxNewTokens: 8, deadline: 0 });
    const registry = new FakeRegistry();
    registry.preview = { committee: [OURS], ready: true };
    const seats = createSeatFinder(common, { journal, registry: registry.client(), validators: [OURS.toUpperCase().replace("0X", "0x")] });
    expect(await seats.find()).to.equal(1);
    expect(journal.jobsOfRequest(4n)[0]).to.include({ round: 1, prompt: "again" });
  });

  it("draws, after a restart, the undrawn committee of a seat whose job already exists", async function () {
    const common = createTestCommon();
    const journal = createJournal(common.db);
    journal.trackRequest({ requestId: 5n, seenBlock: 10, modelId: "1", prompt: "hi", promptHash: "0x05", maxNewTokens: 8, deadline: 0 });
    journal.addJob({ requestId: 5n, validator: OURS, round: 1, modelId: "1", prompt: "hi", promptHash: "0x05", maxNewTokens: 8, seenBlock: 10 });
    const registry = new FakeRegistry();
    registry.preview = { committee: [OURS, OTHER, THIRD], ready: true };
    const draws: bigint[] = [];
    let failDraw = true;
    const seats = createSeatFinder(common, {
      journal,
      registry: registry.client(),
      validators: [OURS],
      headNumber: async () => 10 + 128,
      renewSeed: async (id) => {
        if (failDraw) throw new Error("nonce too low");
        draws.push(id);
      },
    });
    expect(await seats.find()).to.equal(0); // the job was there before the restart; the draw failed
    failDraw = false;
    await seats.find(); // a failed draw is tried again, not forgotten
    await seats.find();
    expect(draws).to.deep.equal([5n]);
  });

  it("skips, after a restart, the open requests the journal saw finalized: their settlement is all that is left", async function () {
    const common = createTestCommon();
    const journal = createJournal(common.db);
    // Finalized requests stay open until settled (after the reveal deadline): a busy node restarts with hundreds.
    for (let id = 1n; id <= 10n; id++) {
      journal.trackRequest({ requestId: id, seenBlock: 3, modelId: "1", prompt: "done", promptHash: "0x07", maxNewTokens: 8, deadline: 0 });
      journal.markRequestFinalized(id, 20);
    }
    journal.trackRequest({ requestId: 11n, seenBlock: 4, modelId: "1", prompt: "waiting", promptHash: "0x08", maxNewTokens: 8, deadline: 0 });
    const registry = new FakeRegistry();
    registry.preview = { committee: [OURS], ready: true };
    const seats = createSeatFinder(common, { journal, registry: registry.client(), validators: [OURS], lookupsPerPass: 4 });
    expect(await seats.find(), "the first pass reaches the unfinalized request").to.equal(1);
    expect(registry.reads, "no getRecord for a finalized request").to.equal(1);
    expect(journal.jobsOfRequest(11n)).to.have.length(1);
    expect(journal.openRequests().map((r) => r.requestId)).to.include(1n); // still the sweeper's to settle
  });

  it("looks up at most lookupsPerPass attempts per pass, the others in later passes", async function () {
    const common = createTestCommon();
    const journal = createJournal(common.db);
    for (let id = 1n; id <= 10n; id++) {
      journal.trackRequest({ requestId: id, seenBlock: 3, modelId: "1", prompt: "open", promptHash: "0x06", maxNewTokens: 8, deadline: 0 });
    }
    const registry = new FakeRegistry();
    registry.preview = { committee: [OTHER], ready: false }; // no seed yet: nobody is done after a pass
    const seats = createSeatFinder(common, { journal, registry: registry.client(), validators: [OURS], lookupsPerPass: 4 });
    await seats.find();
    expect(registry.reads, "getRecord calls in the first pass").to.equal(4);
    await seats.find();
    await seats.find();
    expect(registry.reads, "three passes cover all ten requests").to.equal(12);
    registry.preview = { committee: [OURS], ready: true };
    // Round robin: passes looked at 1–4, 5–8, then 9, 10, 1, 2; the fourth takes 3–6.
    expect(await seats.find()).to.equal(4);
    const seated = Array.from({ length: 10 }, (_, i) => journal.jobsOfRequest(BigInt(i + 1)).length);
    expect(seated).to.deep.equal([0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
  });

  it("sends a pass's lookups together, and keeps one that failed first in line for the next pass", async function () {
    const common = createTestCommon();
    const journal = createJournal(common.db);
    for (let id = 1n; id <= 4n; id++) {
      journal.trackRequest({ requestId: id, seenBlock: 3, modelId: "1", prompt: "open", promptHash: "0x06", maxNewTokens: 8, deadline: 0 });
    }
    let inFlight = 0;
    let most = 0;
    let failing: bigint | undefined = 2n;
    const looked: bigint[] = [];
    const registry = {
      getRecord: async (requestId: bigint) => {
        looked.push(requestId);
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        if (requestId === failing) throw new Error("connect ECONNREFUSED 127.0.0.1:8545");
        return { requestId, status: RequestStatus.Requested, attempt: 1, committee: [OURS], promptHash: ZeroHash } as unknown as OnChainRecord;
      },
    } as unknown as ChatRegistryClient;
    const seats = createSeatFinder(common, { journal, registry, validators: [OURS] });
    const failed = await seats.find().then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failed?.message, "the pass reports the failure").to.include("ECONNREFUSED");
    expect(most, "all four lookups were in flight at once").to.equal(4);
    expect([1n, 3n, 4n].map((id) => journal.jobsOfRequest(id).length), "the others were seated").to.deep.equal([1, 1, 1]);
    failing = undefined;
    looked.length = 0;
    expect(await seats.find()).to.equal(1);
    expect(looked, "only the failed one was looked up again").to.deep.equal([2n]);
  });
});
