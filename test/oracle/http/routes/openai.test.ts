import { expect } from "chai";
import { keccak256, toUtf8Bytes, ZeroAddress } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import OpenAI from "openai";
import { AutoTokenizer } from "@huggingface/transformers";
import { DEFAULT_TRAINED_MODEL_DIR } from "../../../../oracle/src/inference/buildModel";
import { renderPlainChat, type ChatMessage, type InferenceEngine } from "../../../../oracle/src/inference";
import { recordLeaf } from "../../../../oracle/src/store/recordLeaf";
import { verifyMerkleProof } from "../../../../oracle/src/store/merkle";
import { sharedTrainedEngine } from "../../../helpers/engines";
import { deployedNetworkFixture, getJson, postJson, startApi, TEST_API_KEY, type ApiUnderTest, type Network } from "../fixture";

const CONVERSATION: ChatMessage[] = [
  { role: "system", content: "You answer briefly." },
  { role: "user", content: "What is a validator?" },
  { role: "assistant", content: "A node that stakes tokens." },
  { role: "user", content: "What does it sign?" },
];

/** Asserts `promise` rejects with the SDK's APIError of that status, OpenAI-shaped, and returns it. */
async function apiError(promise: Promise<unknown>, status: number): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(OpenAI.APIError);
    const e = error as InstanceType<typeof OpenAI.APIError>;
    expect(e.status, e.message).to.equal(status);
    expect(e.error).to.have.keys("message", "type", "param", "code");
    return e;
  }
  throw new Error(`expected a ${status} error`);
}

describe("OpenAI-compatible API (/v1/chat/completions, /v1/models)", function () {
  let net: Network;
  let api: ApiUnderTest;
  let client: OpenAI;
  before(async () => {
    net = await loadFixture(deployedNetworkFixture);
    api = await startApi(net);
    client = new OpenAI({ apiKey: TEST_API_KEY, baseURL: `${api.url}/v1`, maxRetries: 0 });
  });
  after(async () => api.stop());

  it("lists the served model in the OpenAI shape beside the registered models of GET /v1/models", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).to.deep.equal(["model-1"]);
    expect(models.data[0]).to.include({ object: "model", owned_by: "chat-oracle" });
    const { body } = await getJson(`${api.url}/v1/models`);
    expect(body.object).to.equal("list");
    expect(body.models.map((m: { modelId: number; servedByThisNode: boolean }) => [m.modelId, m.servedByThisNode])).to.deep.equal([[1, true]]);
    expect((await client.models.retrieve("model-1")).id).to.equal("model-1");
    await apiError(client.models.retrieve("model-9"), 404);
  });

  it("answers the openai client with the rendered conversation's greedy completion and a receipt of its hashes", async () => {
    const completion = await client.chat.completions.create({ model: "model-1", messages: CONVERSATION, max_tokens: 6, seed: 7, temperature: 0 });
    const prompt = renderPlainChat(CONVERSATION); // the tiny model has no chat template
    const expected = await net.engine.generate({ prompt, maxNewTokens: 6 });
    expect(completion.object).to.equal("chat.completion");
    expect(completion.model).to.equal("model-1");
    expect(completion.choices).to.have.length(1);
    expect(completion.choices[0].message).to.include({ role: "assistant", content: expected.text });
    expect(completion.choices[0].finish_reason).to.equal(expected.finishReason === "eos" ? "stop" : "length");
    expect(completion.usage).to.deep.equal({ prompt_tokens: expected.promptTokenIds.length, completion_tokens: expected.tokenIds.length, total_tokens: expected.promptTokenIds.length + expected.tokenIds.length });
    const receipt = (completion as unknown as { chat_oracle: Record<string, any> }).chat_oracle;
    expect(receipt).to.include({
      model_id: 1,
      model_hash: net.engine.modelHash,
      prompt_hash: keccak256(toUtf8Bytes(prompt)),
      response_hash: keccak256(toUtf8Bytes(expected.text)),
      validator: net.validators[0].address,
      rendering: "plain",
      max_new_tokens: 6,
    });
    expect(receipt.record_hash).to.equal(
      recordLeaf({ promptHash: receipt.prompt_hash, responseHash: receipt.response_hash, modelHash: net.engine.modelHash, validator: net.validators[0].address }),
    );
    expect(receipt.batch).to.deep.equal({ status: "pending" });
  });

  it("gives receipts whose record, once anchored, verifies on-chain with the Merkle proof", async () => {
    const a = await client.chat.completions.create({ model: "model-1", messages: [{ role: "user", content: "anchor one" }], max_tokens: 4 });
    const b = await client.chat.completions.create({ model: "model-1", messages: [{ role: "user", content: "anchor two" }], max_tokens: 4 });
    await api.anchorer.flush();
    for (const completion of [a, b]) {
      const receipt = (completion as unknown as { chat_oracle: { record_hash: string; verify_url: string } }).chat_oracle;
      const { status, body } = await getJson(`${api.url}${receipt.verify_url}`);
      expect(status).to.equal(200);
      expect(body.batch.status).to.equal("anchored");
      expect(verifyMerkleProof(body.batch.proof, body.batch.merkleRoot, receipt.record_hash)).to.equal(true);
      expect(await net.chatRegistry.verifyRecord(BigInt(body.batch.batchId), body.prompt.hash, body.response.hash, body.model.hash, body.validator, body.batch.proof)).to.equal(true);
    }
    // A later answer in the same anchored batch carries the batch and proof in its receipt itself.
    const again = await client.chat.completions.create({ model: "model-1", messages: [{ role: "user", content: "anchor one" }], max_tokens: 4 });
    const receipt = (again as unknown as { chat_oracle: { batch: { status: string; proof: string[]; merkleRoot: string }; record_hash: string } }).chat_oracle;
    expect(receipt.batch.status).to.equal("anchored");
    expect(verifyMerkleProof(receipt.batch.proof, receipt.batch.merkleRoot, receipt.record_hash)).to.equal(true);
  });

  it("streams token deltas as chat.completion.chunk events that add up to the answer, the receipt in the last", async () => {
    const messages: ChatMessage[] = [{ role: "user", content: "Tell me about staking and slashing." }];
    const expected = await net.engine.generate({ prompt: renderPlainChat(messages), maxNewTokens: 12 });
    const stream = await client.chat.completions.create({ model: "model-1", messages, max_tokens: 12, stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === chunks[0].id)).to.equal(true);
    expect(chunks[0].choices[0].delta.role).to.equal("assistant");
    const deltas = chunks.map((c) => c.choices[0]?.delta?.content ?? "").filter((d) => d !== "");
    expect(deltas.join("")).to.equal(expected.text);
    expect(deltas.length, "one delta per decoded token, not one at the end").to.be.greaterThan(1);
    const last = chunks[chunks.length - 1] as unknown as { choices: { finish_reason: string }[]; chat_oracle: { response_hash: string; prompt_hash: string } };
    expect(last.choices[0].finish_reason).to.equal(expected.finishReason === "eos" ? "stop" : "length");
    expect(last.chat_oracle.response_hash).to.equal(keccak256(toUtf8Bytes(expected.text)));
    expect(last.chat_oracle.prompt_hash).to.equal(keccak256(toUtf8Bytes(renderPlainChat(messages))));
  });

  it("sends raw Server-Sent Events: data: chunks, then data: [DONE]", async () => {
    const response = await fetch(`${api.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
      body: JSON.stringify({ model: "model-1", messages: [{ role: "user", content: "streaming" }], max_tokens: 10, stream: true }),
    });
    expect(response.status).to.equal(200);
    expect(response.headers.get("content-type")).to.match(/^text\/event-stream/);
    const text = await response.text();
    const events = text.split("\n\n").filter(Boolean);
    expect(events[events.length - 1]).to.equal("data: [DONE]");
    expect(events.slice(0, -1).every((e) => e.startsWith("data: {"))).to.equal(true);
  });

  it("sends each delta while the generation is still running (the answer waits until the client saw one)", async () => {
    let sawDelta!: () => void;
    const clientSawDelta = new Promise<void>((resolve) => (sawDelta = resolve));
    const real = net.engine;
    // The engine's answer is held back until the client has read a content chunk: buffered until the end, the stream
    // would never show one and the test would time out.
    api.deps.engine = Object.assign(Object.create(real) as InferenceEngine, {
      generate: async (o: Parameters<InferenceEngine["generate"]>[0]) => {
        const result = await real.generate(o);
        await clientSawDelta;
        return result;
      },
    });
    try {
      const stream = await client.chat.completions.create({ model: "model-1", messages: [{ role: "user", content: "incremental" }], max_tokens: 8, stream: true });
      let text = "";
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta?.content ?? "";
        if (delta) sawDelta();
        text += delta;
      }
      expect(text).to.equal((await real.generate({ prompt: renderPlainChat([{ role: "user", content: "incremental" }]), maxNewTokens: 8 })).text);
    } finally {
      api.deps.engine = real;
    }
  });

  it("stops streaming to a client that disconnects, records nothing for it, and keeps serving", async () => {
    const content = "a client that leaves early";
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: "model-1", messages: [{ role: "user", content }], max_tokens: 100, stream: true }, { signal: controller.signal });
    let received = 0;
    try {
      for await (const _chunk of stream) {
        // Leave after two chunks: abort the request (the socket closes) and stop reading what is buffered.
        if (++received === 2) {
          controller.abort();
          break;
        }
      }
    } catch (error) {
      expect((error as Error).name).to.match(/Abort/);
    }
    // The generation finishes in the engine; the next call waits behind it and is answered normally.
    const next = await client.chat.completions.create({ model: "model-1", messages: [{ role: "user", content: "still there?" }], max_tokens: 3 });
    expect(next.choices[0].message.role).to.equal("assistant");
    expect(api.anchorer.store.recordsByTextHash(keccak256(toUtf8Bytes(renderPlainChat([{ role: "user", content }]))))).to.deep.equal([]);
    expect(await api.common.metrics.unhandledErrorsTotal.get().then((m) => m.values[0]?.value ?? 0)).to.equal(0);
  });

  describe("refuses bad input with OpenAI-shaped 4xx errors naming the field", () => {
    const create = (body: Record<string, unknown>) => client.chat.completions.create({ model: "model-1", messages: [{ role: "user", content: "hi" }], ...body } as never);

    it("an unknown role", async () => {
      const e = await apiError(create({ messages: [{ role: "wizard", content: "hi" }] }), 400);
      expect(e.param).to.equal("messages.0.role");
      expect(e.type).to.equal("invalid_request_error");
    });
    it("empty messages", async () => expect((await apiError(create({ messages: [] }), 400)).param).to.equal("messages"));
    it("n > 1", async () => expect((await apiError(create({ n: 2 }), 400)).param).to.equal("n"));
    it("sampling (temperature, top_p), since answers are decoded greedily to be verifiable", async () => {
      expect((await apiError(create({ temperature: 0.7 }), 400)).message).to.match(/temperature must be 0/);
      expect((await apiError(create({ top_p: 0.9 }), 400)).param).to.equal("top_p");
    });
    it("stop sequences", async () => expect((await apiError(create({ stop: ["\n"] }), 400)).param).to.equal("stop"));
    it("unsupported fields, by name", async () => {
      const e = await apiError(create({ tools: [], logprobs: true }), 400);
      expect(e.code).to.equal("unsupported_parameter");
      expect(e.message).to.match(/tools, logprobs/);
    });
    it("a parent request that is not finalized (409), or that does not exist (404)", async () => {
      const tx = await net.chatRegistry.connect(net.user).requestChat(1, toUtf8Bytes("a turn still waiting for its committee"), 8, ZeroAddress, 0, 0, { value: 10n ** 15n });
      const receipt = await tx.wait();
      const requestId = receipt!.logs.map((log) => net.chatRegistry.interface.parseLog(log)).find((p) => p?.name === "ChatRequested")!.args.requestId as bigint;
      const pending = await apiError(create({ chat_oracle: { parent_request_id: requestId.toString() } }), 409);
      expect([pending.code, pending.param]).to.deep.equal(["parent_not_finalized", "chat_oracle.parent_request_id"]);
      expect(pending.message).to.include(`request ${requestId} is Requested`);
      const unknown = await apiError(create({ chat_oracle: { parent_request_id: "999" } }), 404);
      expect([unknown.code, unknown.param]).to.deep.equal(["parent_not_found", "chat_oracle.parent_request_id"]);
      expect((await apiError(create({ chat_oracle: { parent_request_id: "0x1" } }), 400)).param).to.equal("chat_oracle.parent_request_id");
    });
    it("max_tokens above the node's bound", async () => expect((await apiError(create({ max_tokens: 100_000 }), 400)).param).to.equal("max_tokens"));
    it("a rendered conversation longer than the model's context", async () => {
      const e = await apiError(create({ messages: [{ role: "user", content: "the validator stakes ".repeat(60) }] }), 400);
      expect(e.code).to.equal("context_length_exceeded");
      expect(e.param).to.equal("messages");
    });
    it("an unknown model", async () => {
      const e = await apiError(create({ model: "gpt-4o" }), 404);
      expect(e.code).to.equal("model_not_found");
      expect(e.message).to.include("model-1");
    });
    it("a missing or wrong API key (401), before any inference", async () => {
      const stranger = new OpenAI({ apiKey: "not-a-valid-key-at-all", baseURL: `${api.url}/v1`, maxRetries: 0 });
      const e = await apiError(stranger.chat.completions.create({ model: "model-1", messages: [{ role: "user", content: "hi" }] }), 401);
      expect(e.type).to.equal("authentication_error");
      const anonymous = await getJson(`${api.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(anonymous.status).to.equal(401);
      expect(anonymous.body.error).to.include({ type: "authentication_error", code: "unauthorized" });
    });
  });

  it("keeps POST /v1/chat answering in its own shape", async () => {
    const { status, body } = await postJson(`${api.url}/v1/chat`, { prompt: "still here", maxNewTokens: 3 });
    expect(status).to.equal(201);
    expect(body.kind).to.equal("record");
    const missing = await postJson(`${api.url}/v1/chat`, {});
    expect(missing.body.error).to.have.keys("code", "message");
  });
});

describe("OpenAI-compatible API with a model's own chat template (models/trained)", function () {
  let api: ApiUnderTest;
  let engine: InferenceEngine;
  let client: OpenAI;
  before(async () => {
    const net = await loadFixture(deployedNetworkFixture);
    engine = await sharedTrainedEngine();
    api = await startApi(net, {}, { engine, modelId: 1 });
    client = new OpenAI({ apiKey: TEST_API_KEY, baseURL: `${api.url}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await api.stop();
  });

  it("generates from and hashes the conversation rendered as transformers.js's apply_chat_template renders it", async () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "what is a block" },
      { role: "assistant", content: "a list of transactions" },
      { role: "user", content: "and a chain" },
    ];
    const tokenizer = await AutoTokenizer.from_pretrained(DEFAULT_TRAINED_MODEL_DIR, { local_files_only: true });
    const rendered = tokenizer.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true }) as string;
    expect(rendered).to.equal("what is a block\na list of transactions<|endoftext|>and a chain\n");
    const expected = await engine.generate({ prompt: rendered, maxNewTokens: 8 });
    const completion = await client.chat.completions.create({ model: "model-1", messages, max_tokens: 8 });
    expect(completion.choices[0].message.content).to.equal(expected.text);
    const receipt = (completion as unknown as { chat_oracle: Record<string, unknown> }).chat_oracle;
    expect(receipt).to.include({ rendering: "template", prompt_hash: keccak256(toUtf8Bytes(rendered)), response_hash: expected.responseHash });
  });

  it("answers 400 when the template renders the conversation to nothing", async () => {
    const e = await apiError(client.chat.completions.create({ model: "model-1", messages: [{ role: "system", content: "only a system turn" }] }), 400);
    expect(e.code).to.equal("invalid_messages");
  });
});
