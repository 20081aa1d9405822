import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, keccak256, toUtf8Bytes } from "ethers";
import OpenAI from "openai";
import { REPO_ROOT } from "../../scripts/demo/hardhatNode";
import { loadDeployment } from "../../oracle/src/chain/deployments";
import { recordLeaf } from "../../oracle/src/store/recordLeaf";
import { ChatRecordRegistry__factory, ChatThreads__factory } from "../../typechain-types";
import { waitFor } from "../helpers/waitFor";
import { groupAlive, groupsEnd, killGroups } from "../helpers/processGroups";

/** What the keep-running demo printed about the processes it started. */
interface DemoUp {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  chainPid: number;
  chainPort: number;
  /** Process groups of the oracle processes (`--processes`), empty when the oracle runs inside the demo. */
  oraclePids: number[];
  /** The demo's own DEPLOYMENTS_DIR (localhost.json). */
  deploymentsDir: string;
}

/**
 * Starts the demo as a terminal does (its own process group, like a shell's foreground job) with `--keep-running`, on
 * anvil with the tiny model and a deployments folder of its own, and resolves once it printed that everything stays up.
 */
async function startDemo(command: string, args: string[]): Promise<DemoUp> {
  const deployments = fs.mkdtempSync(path.join(os.tmpdir(), "demo-signals-"));
  const child = spawn(command, [...args, "--keep-running", "--chain", "anvil", "--model", "models/tiny", "--max-new-tokens", "4"], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DEPLOYMENTS_DIR: deployments },
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  while (!/running; press Ctrl-C to stop everything/.test(output)) {
    if (gone) throw new Error(`the demo exited before it was up:\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const chain = /running at http:\/\/127\.0\.0\.1:(\d+) \(pid (\d+)\)/.exec(output);
  if (!chain) throw new Error(`no chain line in the demo's output:\n${output}`);
  const oracles = /started 3 oracle processes \(pids ([\d, ]+)\)/.exec(output);
  return {
    process: child,
    output: () => output,
    exited,
    chainPort: Number(chain[1]),
    chainPid: Number(chain[2]),
    oraclePids: oracles ? oracles[1].split(", ").map(Number) : [],
    deploymentsDir: deployments,
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("npm run demo -- --keep-running: stopping", function () {
  this.timeout(240_000);
  const leftovers: number[] = [];
  afterEach(() => killGroups(leftovers.splice(0)));

  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    it(`stops the chain it started when its terminal's process group gets ${signal}`, async function () {
      const demo = await startDemo("npm", ["run", "--silent", "demo", "--"]);
      leftovers.push(demo.process.pid!, demo.chainPid);
      expect(groupAlive(demo.chainPid)).to.equal(true);
      process.kill(-demo.process.pid!, signal); // npm, sh, tsx and node, as Ctrl-C or a closed terminal does
      await demo.exited;
      expect(await groupsEnd([demo.chainPid]), `chain group still running after ${signal}:\n${demo.output().slice(-1500)}`).to.deep.equal([]);
      expect(await portOpen(demo.chainPort)).to.equal(false);
      expect(demo.output()).to.include("stopping (");
    });
  }

  it("stops the chain and the oracle processes by themselves when the demo is SIGKILLed", async function () {
    // The demo's own node process, without npm or tsx around it: SIGKILL leaves it no chance to clean up.
    const demo = await startDemo(process.execPath, ["--import", "tsx", "scripts/demo.ts", "--processes"]);
    leftovers.push(demo.process.pid!, demo.chainPid, ...demo.oraclePids);
    expect(demo.oraclePids).to.have.length(3);
    process.kill(demo.process.pid!, "SIGKILL");
    await demo.exited;
    const started = [demo.chainPid, ...demo.oraclePids];
    expect(await groupsEnd(started), "groups still running after the demo died").to.deep.equal([]);
    expect(await portOpen(demo.chainPort)).to.equal(false);
  });
});

/** The `chat_oracle` receipt of a completion or of a stream's last chunk (docs/api.md). */
interface Receipt {
  record_hash: string;
  model_hash: string;
  prompt_hash: string;
  response_hash: string;
  validator: string;
  verify_url: string;
}

describe("npm run demo -- --keep-running: the openai client against its node", function () {
  this.timeout(300_000);
  let demo: DemoUp;
  let client: OpenAI;
  let nodeUrl: string;
  before(async function () {
    demo = await startDemo(process.execPath, ["--import", "tsx", "scripts/demo.ts"]);
    // What the summary tells a user: the base URL and the API key.
    const baseURL = /OpenAI base URL\s+(http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(demo.output())?.[1];
    const apiKey = /chat API key\s+(\S+)/.exec(demo.output())?.[1];
    if (!baseURL || !apiKey) throw new Error(`no OpenAI base URL or API key in the demo's summary:\n${demo.output().slice(-2000)}`);
    nodeUrl = baseURL.replace(/\/v1$/, "");
    client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
  });
  after(async function () {
    if (!demo) return;
    process.kill(-demo.process.pid!, "SIGTERM");
    await demo.exited;
    killGroups(await groupsEnd([demo.process.pid!, demo.chainPid]));
  });

  /** The demo's ChatRecordRegistry on its chain, for `use`; the provider is closed afterwards. */
  async function withRegistry<T>(use: (registry: ReturnType<typeof ChatRecordRegistry__factory.connect>, provider: JsonRpcProvider) => Promise<T>): Promise<T> {
    const deployment = loadDeployment(path.join(demo.deploymentsDir, "localhost.json"));
    const provider = new JsonRpcProvider(`http://127.0.0.1:${demo.chainPort}`, undefined, { staticNetwork: true });
    try {
      return await use(ChatRecordRegistry__factory.connect(deployment.chatRecordRegistry.address, provider), provider);
    } finally {
      provider.destroy();
    }
  }

  /** Waits for the record's anchor, then checks its leaf and Merkle proof with the chain's verifyRecord. */
  async function verifiedOnChain(receipt: Receipt, answer: string) {
    expect(receipt.response_hash).to.equal(keccak256(toUtf8Bytes(answer)));
    expect(receipt.record_hash).to.equal(recordLeaf({ promptHash: receipt.prompt_hash, responseHash: receipt.response_hash, modelHash: receipt.model_hash, validator: receipt.validator }));
    const record = await waitFor(
      `record ${receipt.record_hash} anchored`,
      async () => {
        const body = (await (await fetch(`${nodeUrl}${receipt.verify_url}`)).json()) as { batch: { status: string; batchId: string; proof: string[] } };
        return body.batch.status === "anchored" ? body : undefined;
      },
      120_000,
      500,
    );
    await withRegistry(async (registry) => {
      const { batch } = record;
      expect(await registry.verifyRecord(BigInt(batch.batchId), receipt.prompt_hash, receipt.response_hash, receipt.model_hash, receipt.validator, batch.proof)).to.equal(true);
      // The same proof for another answer's hash is refused: the check depends on the answer.
      const other = keccak256(toUtf8Bytes(`${answer} (edited)`));
      expect(await registry.verifyRecord(BigInt(batch.batchId), receipt.prompt_hash, other, receipt.model_hash, receipt.validator, batch.proof)).to.equal(false);
    });
  }

  it("answers a completion whose receipt verifies on-chain once anchored", async function () {
    const [model] = (await client.models.list()).data;
    const completion = await client.chat.completions.create({ model: model.id, messages: [{ role: "user", content: "What does a validator stake?" }], max_tokens: 6 });
    const answer = completion.choices[0].message.content ?? "";
    await verifiedOnChain((completion as unknown as { chat_oracle: Receipt }).chat_oracle, answer);
  });

  it("streams a completion whose deltas add up to the answer the receipt in its last chunk verifies on-chain", async function () {
    const [model] = (await client.models.list()).data;
    const stream = await client.chat.completions.create({ model: model.id, messages: [{ role: "user", content: "Stream me an answer" }], max_tokens: 6, stream: true });
    let answer = "";
    let receipt: Receipt | undefined;
    for await (const chunk of stream) {
      answer += chunk.choices[0]?.delta?.content ?? "";
      receipt = (chunk as unknown as { chat_oracle?: Receipt }).chat_oracle ?? receipt;
    }
    if (!receipt) throw new Error("no chunk carried a receipt");
    await verifiedOnChain(receipt, answer);
  });

  it("continues the demo's finalized on-chain request 1: the receipt's link is the chain's thread record hash", async function () {
    const [model] = (await client.models.list()).data;
    const completion = await client.chat.completions.create({
      model: model.id,
      messages: [{ role: "user", content: "And then?" }],
      max_tokens: 6,
      chat_oracle: { parent_request_id: "1" },
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const receipt = (completion as unknown as { chat_oracle: Receipt & { parent_request_id: string; conversation_id: string; previous_record_hash: string } }).chat_oracle;
    expect([receipt.parent_request_id, receipt.conversation_id]).to.deep.equal(["1", "1"]);
    await withRegistry(async (registry) => {
      const parent = await registry.getRecord(1n);
      expect(Number(parent.status)).to.equal(4); // Finalized
      expect(parent.committee.length).to.be.greaterThan(0);
      const threads = ChatThreads__factory.connect(await registry.threadsContract(), registry.runner);
      expect(receipt.previous_record_hash).to.equal(await threads.threadRecordHash(1n));
    });
    await verifiedOnChain(receipt, completion.choices[0].message.content ?? "");
  });
});
