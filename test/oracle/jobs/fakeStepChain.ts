import { ZeroHash, keccak256, toUtf8Bytes } from "ethers";
import type { MemberState, OnChainRecord, RegisteredModel } from "../../../oracle/src/chain/chatRegistry";
import { RequestStatus, idleMember } from "../../../oracle/src/chain/chatRegistry";
import { sharedTinyEngine } from "../../helpers/engines";
import type { JobTransaction, SeatRead, StepChain } from "../../../oracle/src/jobs/steps";
import { hashText } from "../../../oracle/src/store/contentStore";

export const ME = "0x00000000000000000000000000000000000000b1";
export const OTHERS = ["0x00000000000000000000000000000000000000b2", "0x00000000000000000000000000000000000000b3"];

/** The real tiny model, loaded once for the whole run. */
export const tinyEngine = sharedTinyEngine;

export const member = idleMember;

/**
 * The chain the steps see, in memory: one request with its members, chain time, and the transactions the steps send
 * (each mined at once, changing the member's state the way the contract would).
 */
export class FakeStepChain implements StepChain {
  record: OnChainRecord;
  members: MemberState[];
  now = 1_000;
  preview = { committee: [ME, ...OTHERS], ready: true };
  model: RegisteredModel;
  readonly sent: { validator: string; tx: JobTransaction; hash: string }[] = [];
  readonly journaled = new Map<string, "mined" | "pending" | "unknown">();
  seatReads = 0;
  private nextBlock = 60;

  constructor(modelHash: string, prompt: string) {
    this.model = { modelHash, enabled: true, limits: { maxPromptBytes: 1_024, maxNewTokens: 64, contextLength: 10_000 }, uri: "" };
    this.members = [ME, ...OTHERS].map((v) => member(v));
    this.record = {
      requestId: 1n,
      requester: OTHERS[0],
      modelId: 1,
      status: RequestStatus.Requested,
      attempt: 1,
      quorum: 2,
      fee: 10n ** 15n,
      promptHash: hashText(prompt),
      responseHash: ZeroHash,
      modelHash,
      consumer: `0x${"0".repeat(40)}`,
      callbackGasLimit: 0,
      callbackFailed: false,
      settled: false,
      seedBlock: 40,
      commitDeadline: 1_100,
      revealDeadline: 1_200,
      committee: [ME, ...OTHERS],
    };
  }

  me(): MemberState {
    return this.members.find((m) => m.validator === ME) as MemberState;
  }

  async readSeat(): Promise<SeatRead> {
    this.seatReads++;
    return { record: { ...this.record, committee: [...this.record.committee] }, members: this.members.map((m) => ({ ...m })), now: this.now };
  }
  forgetSeat() {}
  async previewCommittee() {
    return this.preview;
  }
  async getModel() {
    return this.model;
  }
  async send(validator: string, tx: JobTransaction, options?: { beforeBroadcast?: (hash: string) => void | Promise<void> }) {
    const hash = keccak256(toUtf8Bytes(`${validator}:${tx.kind}:${this.sent.length}`));
    await options?.beforeBroadcast?.(hash);
    this.sent.push({ validator, tx, hash });
    const seat = this.members.find((m) => m.validator === validator);
    if (tx.kind === "commit" && seat) Object.assign(seat, { committed: true, commitment: tx.commitment });
    if (tx.kind === "decline" && seat) seat.declined = true;
    if (tx.kind === "reveal" && seat) seat.revealed = true;
    return { hash, blockNumber: this.nextBlock++, gasUsed: 50_000n };
  }
  async lookupTx(_validator: string, hash: string) {
    const status = this.journaled.get(hash) ?? "unknown";
    return status === "mined" ? { status: "mined" as const, blockNumber: 55 } : { status };
  }
  async waitMined() {
    return { blockNumber: 56 };
  }
}

