/** The JSON shapes the API serves from the chain (GET /v1/requests, /v1/validators, /v1/models, /v1/node). */

/** Status names the API uses, in IChatRecordRegistry.Status order. */
export const REQUEST_STATUSES = ["none", "requested", "committed", "revealed", "finalized", "timed_out", "declined"] as const;
export type RequestStatusName = (typeof REQUEST_STATUSES)[number];
export const SLASH_REASONS = ["missed_commit", "missed_reveal", "dissent"] as const;
/** IChatRecordRegistry.DeclineReason names, in order. */
export const DECLINE_REASONS = ["prompt_too_long", "invalid_prompt", "model_unavailable"] as const;

/** Where something happened on-chain. `timestamp` is the block's unix time in seconds. */
export interface ChainRef {
  block: number;
  txHash: string;
  timestamp: number | null;
}

export type TimelineEntry = ChainRef & {
  type:
    | "requested"
    | "drawn"
    | "reassigned"
    | "committed"
    | "declined"
    | "revealed"
    | "finalized"
    | "request_declined"
    | "slashed"
    | "timed_out"
    | "settled"
    | "callback_failed";
  attempt?: number;
  /** `drawn`: the attempt's committee. */
  committee?: string[];
  validator?: string;
  responseHash?: string;
  reason?: string;
  /** `slashed`: stake taken; `settled`: wei credited back to the requester. */
  amount?: string;
  exhausted?: boolean;
};

export interface CommitteeMemberView {
  validator: string;
  committed: boolean;
  revealed: boolean;
  declined: boolean;
  commitment: string | null;
  responseHash: string | null;
  /** Revealed the finalized hash (null until finalized). */
  agreed: boolean | null;
}

/** A request as the chain knows it; texts are the raw event texts (the route checks them against the hashes). */
export interface RequestOnChain {
  requestId: string;
  status: RequestStatusName;
  requester: string;
  modelId: number;
  fee: string;
  attempt: number;
  quorum: number;
  maxNewTokens: number | null;
  consumer: string | null;
  callbackGasLimit: number;
  callbackFailed: boolean;
  commitDeadline: number;
  revealDeadline: number;
  hashes: { prompt: string; response: string | null; model: string };
  committee: CommitteeMemberView[];
  timeline: TimelineEntry[];
  /** Seconds from the request's block to its finalizing block (null until finalized). */
  latencySeconds: number | null;
  /** Prompt text from ChatRequested. */
  eventPrompt: string | null;
  /** Revealed texts by response hash, from ResponseRevealed. */
  eventResponses: Record<string, string>;
}

export interface RequestSummary {
  requestId: string;
  status: RequestStatusName;
  requester: string;
  modelId: number;
  fee: string;
  promptHash: string;
  responseHash: string | null;
  committee: string[];
  attempt: number;
  requested: ChainRef;
  finalized: ChainRef | null;
  latencySeconds: number | null;
}

export interface ValidatorView {
  address: string;
  active: boolean;
  stake: string;
  /** stake / totalStake, 0..1. */
  stakeShare: number;
  endpoint: string;
  unbonding: string;
  /** Unix seconds when the unbonding stake can be withdrawn (null when nothing unbonds). */
  unlockAt: number | null;
  /** Wei of fee shares and callback reimbursements it can withdraw from the chat registry (`creditOf`). */
  credit: string;
  /** Committee seats drawn so far, and the seats expected with today's stakes in the committees drawn since it staked. */
  selection: { seats: number; expectedSeats: number };
  lastCommit: (ChainRef & { requestId: string }) | null;
  lastReveal: (ChainRef & { requestId: string }) | null;
  slashes: { count: number; amount: string; recent: (ChainRef & { requestId: string; reason: string; amount: string })[] };
}

export interface NetworkView {
  blockNumber: number;
  totals: {
    totalStake: string;
    totalUnbonding: string;
    slashedBalance: string;
    activeValidators: number;
    stakeUnit: string;
    minimumStake: string;
    unbondingPeriod: number;
    /** The stake token's units: every stake amount above is in its smallest unit (10^-decimals of one `symbol`). */
    stakeToken: { symbol: string; decimals: number };
  };
  draws: { requests: number; committees: number; seats: number };
  randomnessSource: string;
  config: {
    minimumFee: string;
    slashAmount: string;
    committeeSize: number;
    quorum: number;
    maxAttempts: number;
    commitWindow: number;
    revealWindow: number;
  };
  validators: ValidatorView[];
}

export interface ModelView {
  modelId: number;
  modelHash: string;
  enabled: boolean;
  /** What requestChat accepts (prompt bytes, new tokens) and the context the nodes decline beyond. */
  limits: { maxPromptBytes: number; maxNewTokens: number; contextLength: number };
  uri: string;
  registered: ChainRef | null;
}

export interface AnchoredBatchView {
  batchId: string;
  merkleRoot: string;
  validator: string;
  modelId: number;
  count: number;
  anchoredAt: number;
}

export interface RpcHealth {
  ok: boolean;
  headBlock: number | null;
  latencyMs: number | null;
  indexedBlock: number;
  error: string | null;
  checkedAt: number;
}
