import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import OpenAI from "openai";
import { verify } from "../../oracle/src/cli/verify";
import { loadDeployment } from "../../oracle/src/chain/deployments";
import { createChatRegistryClient } from "../../oracle/src/chain/chatRegistry";
import { createThreadReader, renderWith, threadMessages, threadRecordHash } from "../../oracle/src/chain/threads";
import type { OracleNode } from "../../oracle/src/node";
import { devAccount } from "../../scripts/demo/accounts";
import { ChatThreads__factory } from "../../typechain-types";
import { contractsOf, sendChatRequest } from "../../scripts/demo/network";
import { type E2eChain, E2E_CHAINS, registryEvents, startE2eChain, startNode, waitFor } from "./helpers";
import { sharedTinyEngine } from "../helpers/engines";

const OWNER = devAccount(10);
const OUTSIDER = devAccount(11);
const API_KEY = "e2e-threads-key-0123456789";
const PROMPTS = ["Once upon a time", "What happened next?", "And in the end?"];

async function finalized(chain: E2eChain, requestId: bigint) {
  return waitFor(`request ${requestId} finalized`, async () =>
    (await registryEvents(chain)).find((e) => e.name === "RecordFinalized" && e.args.requestId === requestId),
  );
}

/** The custom error a rejected request carries, decoded with the registry's ABI. */
async function revertName(chain: E2eChain, attempt: Promise<unknown>): Promise<{ name: string; args: unknown[] }> {
  const { chat } = contractsOf(chain.deployment, chain.provider);
  try {
    await attempt;
  } catch (error) {
    const data = (error as { data?: string }).data;
    const parsed = data ? chat.interface.parseError(data) : null;
    if (parsed) return { name: parsed.name, args: [...parsed.args] };
    throw error;
  }
  throw new Error("the request was accepted");
}

for (const chainKind of E2E_CHAINS) {
  describe(`conversation threads end to end (${chainKind} node process, tiny model)`, function () {
    this.timeout(240_000);
    let chain: E2eChain;
    let node: OracleNode;
    const turns: bigint[] = [];

    before(async function () {
      chain = await startE2eChain({ chain: chainKind, config: { committeeSize: 1, quorum: 1, maxAttempts: 2 }, stakes: [100n, 100n] });
      const keysFile = path.join(chain.dir, "api-keys");
      fs.writeFileSync(keysFile, `# e2e\n${API_KEY}\n`);
      node = await startNode(chain, chain.validators.map((v) => v.privateKey), { extraArgs: ["--api-keys", keysFile] });
    });
    after(async function () {
      await node?.stop();
      await chain?.stop();
    });

    it("finalizes a 3-turn conversation as a hash-linked thread, each turn answered from the rendered thread", async function () {
      for (const [i, prompt] of PROMPTS.entries()) {
        const sent = await sendChatRequest(chain.provider, chain.deployment, OWNER, { prompt, maxNewTokens: 8, parentId: turns[i - 1] });
        await finalized(chain, sent.requestId);
        turns.push(sent.requestId);
      }
      const registry = createChatRegistryClient(loadDeployment(chain.deploymentsFile).chatRecordRegistry, chain.provider);
      const reader = createThreadReader({
        registry,
        chatRecordRegistry: loadDeployment(chain.deploymentsFile).chatRecordRegistry,
        provider: chain.provider,
        startBlock: 0,
      });
      const thread = await reader.thread(turns[2]);
      expect(thread.map((t) => t.requestId)).to.deep.equal(turns);
      expect(thread.map((t) => t.prompt)).to.deep.equal(PROMPTS);
      expect(thread[1].previousRecordHash).to.equal(threadRecordHash(thread[0]));
      expect(thread[2].previousRecordHash).to.equal(threadRecordHash(thread[1]));
      // The same thread read in bounded eth_getLogs ranges (RPC providers cap them).
      const chunked = createThreadReader({ registry, chatRecordRegistry: loadDeployment(chain.deploymentsFile).chatRecordRegistry, provider: chain.provider, startBlock: 0, blockRange: 3 });
      expect(await chunked.thread(turns[2])).to.deep.equal(thread);
      const { chat } = contractsOf(chain.deployment, chain.provider);
      const threads = ChatThreads__factory.connect(await chat.threadsContract(), chain.provider);
      expect(await threads.threadRecordHash(turns[2])).to.equal(threadRecordHash(thread[2]));

      // What the committee generated from: the third turn's answer is the model's answer to the whole rendered thread.
      const engine = await sharedTinyEngine();
      const rendered = renderWith(engine)(threadMessages(thread.slice(0, 2), PROMPTS[2]));
      expect(rendered).to.include(PROMPTS[0]).and.to.include(thread[1].response!).and.to.include(PROMPTS[2]);
      const rerun = await engine.generate({ prompt: rendered, maxNewTokens: 8 });
      expect(rerun.responseHash).to.equal(thread[2].responseHash);
    });

    it("npm run verify matches every turn, re-rendering the thread for the later ones", async function () {
      const deployment = loadDeployment(chain.deploymentsFile);
      for (const [i, requestId] of turns.entries()) {
        const report = await verify({ provider: chain.provider, deployment, engine: await sharedTinyEngine(), endpoints: [node.url as string] }, requestId.toString());
        expect(report.match, `turn ${i + 1}: ${report.problems.join("; ")}`).to.equal(true);
        if (i === 0) expect(report.thread).to.equal(undefined);
        else expect(report.thread?.earlierTurns).to.deep.equal(turns.slice(0, i).map(String));
      }
    });

    it("GET /v1/conversations/:id returns the turns with texts, finalizing blocks and verified links", async function () {
      const response = await fetch(`${node.url}/v1/conversations/${turns[2]}`);
      expect(response.status).to.equal(200);
      const body = (await response.json()) as {
        conversationId: string;
        verified: boolean;
        turns: { requestId: string; parentId: string | null; status: string; finalizedBlock: number | null; prompt: { text: string }; verification: { prompt: boolean; response: boolean; link: boolean } }[];
      };
      expect(body.conversationId).to.equal(turns[0].toString());
      expect(body.verified).to.equal(true);
      expect(body.turns.map((t) => [t.requestId, t.parentId, t.status, t.prompt.text])).to.deep.equal([
        [turns[0].toString(), null, "finalized", PROMPTS[0]],
        [turns[1].toString(), turns[0].toString(), "finalized", PROMPTS[1]],
        [turns[2].toString(), turns[1].toString(), "finalized", PROMPTS[2]],
      ]);
      for (const t of body.turns) {
        expect(t.finalizedBlock).to.be.a("number");
        expect(t.verification).to.deep.equal({ prompt: true, response: true, link: true });
      }
      const unknown = await fetch(`${node.url}/v1/conversations/999`);
      expect(unknown.status).to.equal(404);
    });

    it("rejects an outsider extending the thread, and a turn on a parent that did not finalize (chain and HTTP)", async function () {
      const outsider = await revertName(chain, sendChatRequest(chain.provider, chain.deployment, OUTSIDER, { prompt: "hijack", maxNewTokens: 8, parentId: turns[2] }));
      expect(outsider).to.deep.equal({ name: "ChatRecordRegistryNotThreadMember", args: [turns[0], OUTSIDER.address] });

      // A prompt that is not UTF-8 is declined by the node: a request that ended without a record.
      const broken = await sendChatRequest(chain.provider, chain.deployment, OWNER, { prompt: new Uint8Array([0xff, 0xfe]), maxNewTokens: 8 });
      await waitFor("declined", async () => (await registryEvents(chain)).find((e) => e.name === "RequestDeclined" && e.args.requestId === broken.requestId));
      const onChain = await revertName(chain, sendChatRequest(chain.provider, chain.deployment, OWNER, { prompt: "on nothing", maxNewTokens: 8, parentId: broken.requestId }));
      expect(onChain).to.deep.equal({ name: "ChatRecordRegistryParentNotFinalized", args: [broken.requestId, 6n] }); // Declined

      // The official client, as a user would call it, with the extension field in the body.
      const client = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
      const completion = (parent: bigint) =>
        client.chat.completions.create({
          model: `model-${chain.deployment.modelId}`,
          messages: [{ role: "user", content: "go on" }],
          max_tokens: 4,
          chat_oracle: { parent_request_id: parent.toString() },
        } as OpenAI.ChatCompletionCreateParamsNonStreaming);
      const refusal = async (parent: bigint) => {
        try {
          await completion(parent);
        } catch (error) {
          if (error instanceof OpenAI.APIError) return [error.status, error.code, error.param];
          throw error;
        }
        throw new Error(`parent ${parent} was accepted`);
      };
      expect(await refusal(broken.requestId)).to.deep.equal([409, "parent_not_finalized", "chat_oracle.parent_request_id"]);
      expect(await refusal(999n)).to.deep.equal([404, "parent_not_found", "chat_oracle.parent_request_id"]);

      // A finalized thread can be continued off-chain; the receipt names the thread and the record it builds on.
      const continued = await completion(turns[2]);
      const receipt = (continued as unknown as { chat_oracle: Record<string, string> }).chat_oracle;
      expect(receipt.conversation_id).to.equal(turns[0].toString());
      expect(receipt.parent_request_id).to.equal(turns[2].toString());
    });
  });
}
