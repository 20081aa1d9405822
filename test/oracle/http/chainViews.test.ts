import { expect } from "chai";
import { network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { ChainActivity } from "../../../oracle/src/http/chainViews";
import { CountingHardhatProvider } from "../../helpers/hardhatRpc";
import { createTestCommon } from "../store/fixtures";
import { createIndexedChain, deployedNetworkFixture, requestChatWithPromptBytes, runRequestToFinal, type IndexedChain } from "./fixture";

const text = (s: string) => new TextEncoder().encode(s);

describe("http/chainViews", function () {
  const opened: IndexedChain[] = [];
  afterEach(() => {
    for (const indexed of opened.splice(0)) indexed.chain.close();
  });

  /** Views over their own counting provider, fed by a listener over another one. */
  function indexedViews(retention?: { maxEvents: number; maxAgeBlocks?: number }) {
    const common = createTestCommon();
    const viewsRpc = new CountingHardhatProvider();
    const indexed = createIndexedChain(netOf(), common, { provider: viewsRpc, ...(retention ? { retention } : {}) });
    opened.push(indexed);
    return { ...indexed, viewsRpc };
  }

  let net: Awaited<ReturnType<typeof deployedNetworkFixture>> | undefined;
  const netOf = () => net as NonNullable<typeof net>;
  beforeEach(async () => {
    net = await loadFixture(deployedNetworkFixture);
  });

  it("reads no logs of its own: every view is built from the events the listener applied", async () => {
    const { chain, listenerRpc, viewsRpc } = indexedViews();
    const { requestId, committee } = await runRequestToFinal(netOf(), "Who reads the chain?");

    const request = await chain.getRequest(requestId);
    const list = await chain.listRequests(10);
    const network = await chain.getNetwork();
    const models = await chain.getModels();

    expect(viewsRpc.count("eth_getLogs"), "eth_getLogs calls made by the API's views").to.equal(0);
    expect(listenerRpc.count("eth_getLogs"), "eth_getLogs calls made by the listener").to.be.greaterThan(0);
    expect(request?.timeline.map((e) => e.type)).to.deep.equal([
      "requested",
      "drawn",
      "committed",
      "committed",
      "committed",
      "revealed",
      "revealed",
      "finalized",
      "revealed",
    ]);
    expect(request?.eventPrompt).to.equal("Who reads the chain?");
    expect(list.map((s) => s.requestId)).to.deep.equal([requestId.toString()]);
    expect(list[0]).to.include({ status: "finalized" });
    const seats = network.validators.reduce((sum, v) => sum + v.selection.seats, 0);
    expect(seats).to.equal(committee.length);
    expect(models.map((m) => m.modelId)).to.deep.equal([1]);
  });

  it("lists the deployment's model before the listener has read its registration (a node just started)", async () => {
    const common = createTestCommon();
    const indexed = createIndexedChain(netOf(), common, { catchUp: async () => undefined });
    opened.push(indexed);
    expect(indexed.events.count(), "events the listener applied").to.equal(0);
    const models = await indexed.chain.getModels();
    expect(models.map((m) => ({ modelId: m.modelId, registered: m.registered }))).to.deep.equal([{ modelId: 1, registered: null }]);
    expect(models[0].modelHash).to.equal((await netOf().chatRegistry.getModel(1)).modelHash);
  });

  it("keeps at most the configured number of events, the newest, and the registered models", async function () {
    const maxEvents = 5;
    const { chain, events } = indexedViews({ maxEvents });
    const ids: bigint[] = [];
    for (let i = 0; i < 12; i++) ids.push(await requestChatWithPromptBytes(netOf(), text(`request ${i}`)));

    const listed = await chain.listRequests(100);
    // One ChatRequested per request (no other events): the newest five requests, the oldest seven gone.
    expect(listed.map((s) => s.requestId)).to.deep.equal(ids.slice(-maxEvents).reverse().map(String));
    expect(events.count(), "rows in the event log (five events + the model registration)").to.equal(maxEvents + 1);
    expect((await chain.getRequest(ids[0]))?.timeline, "a pruned request keeps its chain state, not its events").to.deep.equal([]);
    expect((await chain.getModels()).map((m) => m.modelId)).to.deep.equal([1]);
  });

  it("keeps only events within the configured age in blocks", async function () {
    const { chain, events } = indexedViews({ maxEvents: 1_000, maxAgeBlocks: 3 });
    const ids: bigint[] = [];
    for (let i = 0; i < 6; i++) ids.push(await requestChatWithPromptBytes(netOf(), text(`aged ${i}`)));

    // Each request is its own block (automine): the last three blocks hold the last three requests.
    const listed = await chain.listRequests(100);
    expect(listed.map((s) => s.requestId)).to.deep.equal(ids.slice(-3).reverse().map(String));
    expect(events.count()).to.equal(3 + 1);
  });

  it("drops the events of a reorganized branch and shows the new one, keeping those below the fork", async function () {
    const { chain, catchUp, listenerRpc } = indexedViews();
    const kept = await requestChatWithPromptBytes(netOf(), text("below the fork"));
    const activity: ChainActivity[] = [];
    chain.onActivity((a) => activity.push(a));
    await catchUp();
    const fork = (await network.provider.request({ method: "evm_snapshot" })) as string;
    const doomed = await requestChatWithPromptBytes(netOf(), text("on the doomed branch"));
    expect((await chain.getRequest(doomed))?.eventPrompt).to.equal("on the doomed branch");
    const logReadsBefore = listenerRpc.count("eth_getLogs");

    await network.provider.request({ method: "evm_revert", params: [fork] });
    await network.provider.request({ method: "hardhat_mine", params: ["0x2"] }); // the new branch is longer
    const replacement = await requestChatWithPromptBytes(netOf(), text("on the new branch"));
    expect(replacement, "the new branch reuses the id").to.equal(doomed);

    const request = await chain.getRequest(replacement);
    expect(request?.eventPrompt).to.equal("on the new branch");
    expect(request?.timeline.map((e) => e.type)).to.deep.equal(["requested"]);
    expect((await chain.listRequests(10)).map((s) => s.requestId)).to.deep.equal([replacement, kept].map(String));
    expect((await chain.getRequest(kept))?.eventPrompt).to.equal("below the fork");
    // The listener read only the new blocks again (a rebuild would read from the deployment block).
    expect(listenerRpc.count("eth_getLogs") - logReadsBefore, "eth_getLogs calls after the reorg").to.be.at.most(2);
    expect(activity.filter((a) => a.kind === "reorg"), "reorgs told to subscribers").to.deep.equal([{ kind: "reorg", fromBlock: Number(request?.timeline[0].block) - 2 }]);
  });
});
