import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployedNetworkFixture, postJson, startApi, type ApiUnderTest, type Network } from "../fixture";
import { until } from "../../../helpers/waitFor";

/** Reads server-sent events from a stream until `predicate` matches one. */
async function nextEvent(reader: ReadableStreamDefaultReader<Uint8Array>, state: { buffer: string }, predicate: (type: string, data: any) => boolean) {
  const decoder = new TextDecoder();
  for (;;) {
    let end: number;
    while ((end = state.buffer.indexOf("\n\n")) !== -1) {
      const block = state.buffer.slice(0, end);
      state.buffer = state.buffer.slice(end + 2);
      const type = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (type && data !== undefined && predicate(type, JSON.parse(data))) return { type, data: JSON.parse(data) };
    }
    const { value, done } = await reader.read();
    if (done) throw new Error("event stream ended");
    state.buffer += decoder.decode(value, { stream: true });
  }
}

describe("GET /v1/events", function () {
  let api: ApiUnderTest;
  let net: Network;
  before(async () => {
    net = await loadFixture(deployedNetworkFixture);
    api = await startApi(net, { batchSize: 1 });
  });
  after(async () => api.stop());

  it("streams new records, anchored batches and chain events as they happen", async () => {
    const controller = new AbortController();
    const response = await fetch(`${api.url}/v1/events`, { signal: controller.signal });
    expect(response.status).to.equal(200);
    expect(response.headers.get("content-type")).to.match(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const state = { buffer: "" };
    try {
      const posted = await postJson(`${api.url}/v1/chat`, { prompt: "stream me", maxNewTokens: 3 });
      const record = await nextEvent(reader, state, (type) => type === "record");
      expect(record.data.recordHash).to.equal(posted.body.recordHash);
      const batch = await nextEvent(reader, state, (type) => type === "batch");
      expect(batch.data).to.include({ status: "anchored", count: 1 });

      await (await net.chatRegistry.connect(net.user).requestChat(1, ethers.toUtf8Bytes("hello chain"), 8, ethers.ZeroAddress, 0, 0, { value: 10n ** 15n })).wait();
      const chain = await nextEvent(reader, state, (type, data) => type === "chain" && data.event === "ChatRequested");
      expect(chain.data).to.include({ kind: "event", requestId: "1" });
      expect(chain.data.txHash).to.match(/^0x[0-9a-f]{64}$/);
    } finally {
      controller.abort();
    }
  });

  it("caps concurrent streams: one over --max-event-streams gets 503 with Retry-After, and a freed slot is reused", async () => {
    const capped = await startApi(net, { maxEventStreams: 2 });
    const controllers: AbortController[] = [];
    const open = async () => {
      const controller = new AbortController();
      controllers.push(controller);
      const response = await fetch(`${capped.url}/v1/events`, { signal: controller.signal });
      if (response.status === 200) await response.body!.getReader().read(); // the stream is registered once it writes
      return response;
    };
    try {
      expect((await open()).status).to.equal(200);
      expect((await open()).status).to.equal(200);
      const refused = await open();
      expect(refused.status).to.equal(503);
      expect(refused.headers.get("retry-after")).to.equal("10");
      expect((await refused.json()).error).to.deep.equal({ code: "too_many_streams", message: "this node serves at most 2 event streams at once" });
      controllers[0].abort(); // the server frees the slot once it sees the socket close
      await until("a stream slot free again", async () => (await open()).status === 200);
    } finally {
      for (const c of controllers) c.abort();
      await capped.stop();
    }
  });
});
