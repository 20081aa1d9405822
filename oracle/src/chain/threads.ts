import { AbiCoder, type Provider, ZeroHash, keccak256, zeroPadValue, toBeHex } from "ethers";
import { renderPlainChat, type ChatMessage } from "../inference/chatTemplate";
import { RetryableError } from "../errors";
import type { ContentStore } from "../store/contentStore";
import { hashText } from "../store/contentStore";
import { type ChatRegistryClient, RequestStatus, decodePrompt } from "./chatRegistry";
import type { DeployedContract } from "./deployments";

/** One turn of an on-chain conversation thread, with its texts where they could be found. */
export interface ThreadTurn {
  requestId: bigint;
  /** 0n for the thread's first turn. */
  parentId: bigint;
  rootId: bigint;
  /** The parent's record hash this turn links to (zero for the root). */
  previousRecordHash: string;
  status: number;
  promptHash: string;
  /** Zero hash until finalized. */
  responseHash: string;
  modelId: number;
  modelHash: string;
  /** The user message of this turn (the request's prompt bytes as text); null when no source had it. */
  prompt: string | null;
  /** The finalized response text; null until finalized or when no source had it. */
  response: string | null;
  maxNewTokens: number | null;
  requestedBlock: number | null;
  finalizedBlock: number | null;
}

export interface ThreadReader {
  /**
   * The turns from the thread's root up to and including `requestId`. `textsOnly`: read events only for texts the
   * content store lacks (blocks and `maxNewTokens` may then stay null). Throws a classified RPC error.
   */
  thread(requestId: bigint, options?: { textsOnly?: boolean }): Promise<ThreadTurn[]>;
  /**
   * The text the model reads for `requestId` whose own prompt is `prompt`: `prompt` itself for a request that
   * extends nothing; for a thread turn, the chat rendering of the earlier turns and `prompt` (`threadMessages`).
   * Throws RetryableError when an earlier turn's text cannot be found yet.
   */
  modelPrompt(requestId: bigint, prompt: string, render: (messages: ChatMessage[]) => string): Promise<string>;
}

export interface ThreadReaderOptions {
  registry: ChatRegistryClient;
  chatRecordRegistry: DeployedContract;
  provider: Provider;
  /** First block to search for a request's events (the deployment block). */
  startBlock: number;
  /** Texts by hash, tried before the chain's events (prompts and revealed responses are stored there). */
  contentStore?: Pick<ContentStore, "get">;
  /** Most blocks per eth_getLogs call (RPC providers cap the range); default: one call from `startBlock` to the head. */
  blockRange?: number;
}

/**
 * The conversation a thread turn's model reads: each earlier turn's prompt as a user message and its finalized
 * response as an assistant message, root first, then the new turn's `prompt` as a user message.
 */
export function threadMessages(earlier: readonly ThreadTurn[], prompt: string): ChatMessage[] {
  return [...threadHistory(earlier), { role: "user", content: prompt }];
}

/** The earlier turns as chat messages (user prompt, assistant response each); RetryableError when a text is missing. */
export function threadHistory(turns: readonly ThreadTurn[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const turn of turns) {
    if (turn.prompt === null || turn.response === null) {
      throw new RetryableError(`the texts of thread turn ${turn.requestId} are not available yet`);
    }
    messages.push({ role: "user", content: turn.prompt }, { role: "assistant", content: turn.response });
  }
  return messages;
}

/**
 * The hash a child turn links to (`IChatThreads.threadRecordHash`): keccak256(abi.encode(previousRecordHash, requestId,
 * promptHash, responseHash, modelHash)).
 */
export function threadRecordHash(turn: Pick<ThreadTurn, "previousRecordHash" | "requestId" | "promptHash" | "responseHash" | "modelHash">): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["bytes32", "uint256", "bytes32", "bytes32", "bytes32"],
      [turn.previousRecordHash, turn.requestId, turn.promptHash, turn.responseHash, turn.modelHash],
    ),
  );
}

/** What can be checked about each turn without re-running the model: texts against hashes, links against parents. */
export interface TurnVerification {
  /** The prompt text hashes to the on-chain prompt hash (null: text unknown). */
  prompt: boolean | null;
  /** The response text hashes to the finalized response hash (null: not finalized or text unknown). */
  response: boolean | null;
  /** `previousRecordHash` equals the parent's record hash recomputed here (root: zero). */
  link: boolean;
}

export function verifyTurns(turns: readonly ThreadTurn[]): TurnVerification[] {
  return turns.map((turn, i) => {
    const parent = i > 0 ? turns[i - 1] : undefined;
    const expectedLink = parent ? threadRecordHash(parent) : ZeroHash;
    const finalized = turn.status === RequestStatus.Finalized;
    return {
      prompt: turn.prompt === null ? null : hashText(turn.prompt) === turn.promptHash.toLowerCase(),
      response: !finalized || turn.response === null ? null : hashText(turn.response) === turn.responseHash.toLowerCase(),
      link: turn.previousRecordHash.toLowerCase() === expectedLink.toLowerCase(),
    };
  });
}

/** Renders with the engine's chat template, or the documented plain fallback for engines without one. */
export function renderWith(engine: { renderChat?(messages: readonly ChatMessage[]): string }): (messages: ChatMessage[]) => string {
  return (messages) => (engine.renderChat ? engine.renderChat(messages) : renderPlainChat(messages));
}

export function createThreadReader(options: ThreadReaderOptions): ThreadReader {
  const { registry, chatRecordRegistry, provider, startBlock, contentStore } = options;
  const iface = chatRecordRegistry.iface;
  const topic = (name: string) => iface.getEvent(name)!.topicHash;
  // A finalized turn never changes: its texts are read once.
  const finalTurns = new Map<string, ThreadTurn>();

  async function eventsOf(name: string, requestId: bigint) {
    const topics = [topic(name), zeroPadValue(toBeHex(requestId), 32)];
    const head = await provider.getBlockNumber();
    const range = options.blockRange ?? head - startBlock + 1;
    const logs = [];
    for (let from = startBlock; from <= head; from += range) {
      logs.push(...(await provider.getLogs({ address: chatRecordRegistry.address, fromBlock: from, toBlock: Math.min(head, from + range - 1), topics })));
    }
    return logs.map((log) => ({ log, parsed: iface.parseLog(log) })).filter((e) => e.parsed !== null);
  }

  const textFor = (hash: string) => {
    const text = contentStore?.get(hash);
    return text !== undefined && hashText(text) === hash.toLowerCase() ? text : undefined;
  };

  async function turn(requestId: bigint, textsOnly: boolean): Promise<ThreadTurn> {
    const cached = finalTurns.get(requestId.toString());
    if (cached) return cached;
    const [record, link] = await Promise.all([registry.getRecord(requestId), registry.getThread(requestId)]);
    const finalized = record.status === RequestStatus.Finalized;
    let prompt = textFor(record.promptHash) ?? null;
    const [requested] = textsOnly && prompt !== null ? [] : await eventsOf("ChatRequested", requestId);
    if (prompt === null && requested) {
      const decoded = decodePrompt(requested.parsed!.args.prompt as string);
      if (decoded.validUtf8) prompt = decoded.text;
    }
    let response: string | null = null;
    let finalizedBlock: number | null = null;
    if (finalized) {
      response = textFor(record.responseHash) ?? null;
      if (response === null) {
        const revealed = await eventsOf("ResponseRevealed", requestId);
        const match = revealed.find((e) => (e.parsed!.args.responseHash as string).toLowerCase() === record.responseHash.toLowerCase());
        if (match) response = match.parsed!.args.responseText as string;
      }
      if (!textsOnly) {
        const [final] = await eventsOf("RecordFinalized", requestId);
        finalizedBlock = final?.log.blockNumber ?? null;
      }
    }
    const result: ThreadTurn = {
      requestId,
      parentId: link.parentId,
      rootId: link.rootId,
      previousRecordHash: link.previousRecordHash,
      status: record.status,
      promptHash: record.promptHash,
      responseHash: record.responseHash,
      modelId: record.modelId,
      modelHash: record.modelHash,
      prompt,
      response,
      maxNewTokens: requested ? Number(requested.parsed!.args.maxNewTokens) : null,
      requestedBlock: requested?.log.blockNumber ?? null,
      finalizedBlock,
    };
    if (finalized && prompt !== null && response !== null && finalizedBlock !== null) finalTurns.set(requestId.toString(), result);
    return result;
  }

  async function thread(requestId: bigint, { textsOnly = false } = {}): Promise<ThreadTurn[]> {
    const turns = [await turn(requestId, textsOnly)];
    while (turns[0].parentId !== 0n) turns.unshift(await turn(turns[0].parentId, textsOnly));
    return turns;
  }

  return {
    thread,
    async modelPrompt(requestId, prompt, render) {
      const link = await registry.getThread(requestId);
      if (link.parentId === 0n) return prompt;
      // A running node has the earlier turns' texts in its content store: the chain's logs only for what it lacks.
      const turns = await thread(link.parentId, { textsOnly: true });
      return render(threadMessages(turns, prompt));
    },
  };
}
