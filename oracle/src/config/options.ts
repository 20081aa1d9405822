import { parseEther } from "ethers";
import { z } from "zod";
import { FALLBACK_RPC_URL, resolveRpcUrl } from "./rpcUrl";

/**
 * One node option: where it is read from (a command-line flag and an environment variable), what it means, and how
 * its text is parsed and validated. The same table drives parsing, validation errors and `--help`, so they never
 * disagree (Optimism `base-service/options.ts`).
 */
export interface OptionSpec {
  /** Command-line flag without the leading dashes, e.g. `rpc-url`. */
  readonly flag: string;
  /** Environment variable, e.g. `ORACLE_RPC_URL`. */
  readonly env: string;
  readonly description: string;
  /** Parses the raw text (or list of texts for repeatable options); its default applies when the option is absent. */
  readonly schema: z.ZodType;
  /** Shown in `--help`; the schema's own default is what applies. */
  readonly defaultText?: string;
  /** May be given several times on the command line; comma-separated in the environment. */
  readonly repeatable?: boolean;
  /** A switch without a value (`--flag`); `true`/`false`/`1`/`0` in the environment. */
  readonly boolean?: boolean;
  /** Never echoed back in errors or logs. */
  readonly secret?: boolean;
  /** A default that depends on options earlier in the table (which are already parsed); the schema validates it. */
  readonly defaultFrom?: (earlier: Readonly<Record<string, unknown>>) => unknown;
}

const PRIVATE_KEY = /^(0x)?[0-9a-fA-F]{64}$/;
const PROVIDERS = ["cuda", "webgpu", "cpu"] as const;

const intText = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const booleanText = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

/** The default model folder: the project's deterministic tiny model, built on first use when missing. */
export const DEFAULT_MODEL_DIR = "models/tiny";

export const OPTION_SPECS = {
  deployments: {
    flag: "deployments",
    env: "ORACLE_DEPLOYMENTS",
    description: "deployments file written by scripts/deploy.ts (addresses, ABIs, chain id, start block, RPC URL)",
    schema: z.string().min(1).default("deployments/localhost.json"),
    defaultText: "deployments/localhost.json",
  },
  rpcUrl: {
    flag: "rpc-url",
    env: "ORACLE_RPC_URL",
    description: "JSON-RPC endpoint of the chain",
    schema: z.url({ message: "must be an http(s) or ws(s) URL" }),
    // The demo's chain runs on a random port; its deployments file says where.
    defaultFrom: (earlier) => resolveRpcUrl(undefined, earlier.deployments as string),
    defaultText: `the deployments file's rpcUrl, else ${FALLBACK_RPC_URL}`,
  },
  wsUrl: {
    flag: "ws-url",
    env: "ORACLE_WS_URL",
    description:
      "WebSocket endpoint of the same chain node (anvil and hardhat serve one on their HTTP port): new blocks are read as the node announces them (eth_subscribe newHeads), with a check poll every 2 s, instead of polled for every --poll-interval-ms",
    schema: z.url({ protocol: /^wss?$/, message: "must be a ws(s) URL" }).optional(),
    defaultText: "none: blocks are polled for",
  },
  validatorKeys: {
    flag: "validator-key",
    env: "ORACLE_VALIDATOR_KEYS",
    description: "validator private keys (32 bytes hex), comma-separated; environment only (the command line is visible in ps)",
    schema: z.array(z.string().regex(PRIVATE_KEY, "must be a 32-byte hex private key")).default([]),
    repeatable: true,
    secret: true,
  },
  validatorKeyFile: {
    flag: "validator-key-file",
    env: "ORACLE_VALIDATOR_KEY_FILE",
    description: "file of validator private keys, one per line (keep it mode 0600)",
    schema: z.string().min(1).optional(),
  },
  keystore: {
    flag: "keystore",
    env: "ORACLE_KEYSTORE",
    description: "encrypted JSON keystore file of a validator key (instead of --validator-key)",
    schema: z.string().min(1).optional(),
  },
  keystorePassword: {
    flag: "keystore-password",
    env: "ORACLE_KEYSTORE_PASSWORD",
    description: "password of --keystore; environment only",
    schema: z.string().optional(),
    secret: true,
  },
  modelDir: {
    flag: "model-dir",
    env: "ORACLE_MODEL_DIR",
    description: `model folder (Optimum layout); the default tiny model is built when missing`,
    schema: z.string().min(1).default(DEFAULT_MODEL_DIR),
    defaultText: DEFAULT_MODEL_DIR,
  },
  providers: {
    flag: "providers",
    env: "ORACLE_PROVIDERS",
    description: "execution providers tried in order (comma-separated: cuda, webgpu, cpu)",
    schema: z.array(z.enum(PROVIDERS, { message: `must be one of ${PROVIDERS.join(", ")}` })).min(1).default(["cpu"]),
    defaultText: "cpu",
    repeatable: true,
  },
  threads: {
    flag: "threads",
    env: "ORACLE_THREADS",
    description: "CPU threads for inference (0 = one per core; 1 leaves the other cores to the chain client and API)",
    schema: intText(0, 256).default(1),
    defaultText: "1",
  },
  httpHost: {
    flag: "http-host",
    env: "ORACLE_HTTP_HOST",
    description: "address the HTTP API listens on",
    schema: z.string().min(1).default("127.0.0.1"),
    defaultText: "127.0.0.1",
  },
  httpPort: {
    flag: "http-port",
    env: "ORACLE_HTTP_PORT",
    description: "port of the HTTP API (0 = any free port)",
    schema: intText(0, 65535).default(8080),
    defaultText: "8080",
  },
  allowedHosts: {
    flag: "allowed-hosts",
    env: "ORACLE_ALLOWED_HOSTS",
    description:
      "Host header names the API answers besides loopback names, the listening address and --public-url's host (DNS rebinding guard); on a wildcard --http-host without it every Host is answered",
    schema: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a host name without port")).default([]),
    repeatable: true,
  },
  maxEventStreams: {
    flag: "max-event-streams",
    env: "ORACLE_MAX_EVENT_STREAMS",
    description: "most GET /v1/events streams open at once; more get 503",
    schema: intText(1, 100_000).default(64),
    defaultText: "64",
  },
  strictStartup: {
    flag: "strict-startup",
    env: "ORACLE_STRICT_STARTUP",
    description:
      "refuse to start when a validator key has no active stake, no ETH, or an on-chain endpoint other than --public-url (without it these are warnings)",
    schema: booleanText.default(false),
    defaultText: "false",
    boolean: true,
  },
  publicUrl: {
    flag: "public-url",
    env: "ORACLE_PUBLIC_URL",
    description: "base URL under which others reach this node's API (defaults to the listening address)",
    schema: z.url().optional(),
  },
  dataDir: {
    flag: "data-dir",
    env: "ORACLE_DATA_DIR",
    description: "folder of the node's SQLite database (journal, content store, batches)",
    schema: z.string().min(1).default(".data/oracle"),
    defaultText: ".data/oracle",
  },
  confirmations: {
    flag: "confirmations",
    env: "ORACLE_CONFIRMATIONS",
    description: "blocks a log must be buried under before the node acts on it",
    schema: intText(0, 1000).default(0),
    defaultText: "0",
  },
  pollIntervalMs: {
    flag: "poll-interval-ms",
    env: "ORACLE_POLL_INTERVAL_MS",
    description: "milliseconds between chain polls",
    schema: intText(10, 600_000).default(500),
    defaultText: "500",
  },
  blockRange: {
    flag: "block-range",
    env: "ORACLE_BLOCK_RANGE",
    description: "most blocks read per eth_getLogs call while catching up",
    schema: intText(1, 100_000).default(1000),
    defaultText: "1000",
  },
  reorgDepth: {
    flag: "reorg-depth",
    env: "ORACLE_REORG_DEPTH",
    description: "processed block hashes kept to find the common ancestor after a reorg",
    schema: intText(1, 10_000).default(256),
    defaultText: "256",
  },
  maxNewTokens: {
    flag: "max-new-tokens",
    env: "ORACLE_MAX_NEW_TOKENS",
    description: "upper bound on generated tokens for POST /v1/chat (on-chain requests use their own maxNewTokens)",
    schema: intText(1, 4096).default(256),
    defaultText: "256",
  },
  maxPromptChars: {
    flag: "max-prompt-chars",
    env: "ORACLE_MAX_PROMPT_CHARS",
    description: "longest prompt POST /v1/chat accepts",
    schema: intText(1, 1_000_000).default(4000),
    defaultText: "4000",
  },
  rateLimitPerMinute: {
    flag: "rate-limit-per-minute",
    env: "ORACLE_RATE_LIMIT_PER_MINUTE",
    description: "HTTP requests per client per minute (IPv6 clients keyed by /64)",
    schema: intText(1, 1_000_000).default(600),
    defaultText: "600",
  },
  trustProxy: {
    flag: "trust-proxy",
    env: "ORACLE_TRUST_PROXY",
    description:
      "reverse proxies in front of the API whose X-Forwarded-For names the client (rate limits key on it): a hop count, or comma-separated addresses, subnets or loopback; 0 trusts none",
    schema: z
      .string()
      .regex(/^(\d+|[\w.:/]+(\s*,\s*[\w.:/]+)*)$/, "must be a hop count or a list of addresses, subnets or loopback/linklocal/uniquelocal")
      .refine((v) => v !== "true", "must name the proxies (true would let any client pick its own key)")
      .transform((v) => (/^\d+$/.test(v) ? Number(v) : v))
      .default(0),
    defaultText: "0",
  },
  rateLimitTokensPerMinute: {
    flag: "rate-limit-tokens-per-minute",
    env: "ORACLE_RATE_LIMIT_TOKENS_PER_MINUTE",
    description: "tokens a client may ask POST /v1/chat to generate per minute (maxNewTokens summed; IPv6 clients by /64)",
    schema: intText(1, 100_000_000).default(4096),
    defaultText: "4096",
  },
  maxQueuedChats: {
    flag: "max-queued-chats",
    env: "ORACLE_MAX_QUEUED_CHATS",
    description: "POST /v1/chat calls waiting for or running inference at once; more get 503 with Retry-After",
    schema: intText(1, 100_000).default(16),
    defaultText: "16",
  },
  maxPendingRecords: {
    flag: "max-pending-records",
    env: "ORACLE_MAX_PENDING_RECORDS",
    description: "off-chain records waiting for an anchor at most; beyond it POST /v1/chat answers 503 until anchors catch up",
    schema: intText(1, 10_000_000).default(10_000),
    defaultText: "10000",
  },
  contentRetentionDays: {
    flag: "content-retention-days",
    env: "ORACLE_CONTENT_RETENTION_DAYS",
    description: "days a prompt or response text is kept in the content store after it was last stored (0 = no age limit)",
    schema: intText(0, 36_500).default(30),
    defaultText: "30",
  },
  contentMaxEntries: {
    flag: "content-max-entries",
    env: "ORACLE_CONTENT_MAX_ENTRIES",
    description: "texts kept in the content store at most (the least recently stored go first)",
    schema: intText(1, 1_000_000_000).default(1_000_000),
    defaultText: "1000000",
  },
  apiIndexMaxEvents: {
    flag: "api-index-max-events",
    env: "ORACLE_API_INDEX_MAX_EVENTS",
    description: "registry events the API keeps for request timelines and validator activity at most (the oldest go first)",
    schema: intText(1, 100_000_000).default(50_000),
    defaultText: "50000",
  },
  apiIndexMaxAgeBlocks: {
    flag: "api-index-max-age-blocks",
    env: "ORACLE_API_INDEX_MAX_AGE_BLOCKS",
    description: "blocks back from the processed block the API keeps registry events for (0 = no age limit)",
    schema: intText(0, 1_000_000_000).default(0),
    defaultText: "0",
  },
  batchSize: {
    flag: "batch-size",
    env: "ORACLE_BATCH_SIZE",
    description: "off-chain records per anchored Merkle batch",
    schema: intText(1, 100_000).default(256),
    defaultText: "256",
  },
  batchIntervalMs: {
    flag: "batch-interval-ms",
    env: "ORACLE_BATCH_INTERVAL_MS",
    description: "longest wait before a partial batch is anchored",
    schema: intText(100, 86_400_000).default(60_000),
    defaultText: "60000",
  },
  anchorKeyFile: {
    flag: "anchor-key-file",
    env: "ORACLE_ANCHOR_KEY_FILE",
    description: "file holding the private key that pays for record-batch anchors (an active validator's); default the first validator key",
    schema: z.string().min(1).optional(),
  },
  anchorMaxPerHour: {
    flag: "anchor-max-per-hour",
    env: "ORACLE_ANCHOR_MAX_PER_HOUR",
    description: "most record-batch anchors (transactions) sent per rolling hour; beyond it records wait",
    schema: intText(0, 3600).default(6),
    defaultText: "6",
  },
  anchorMinRecords: {
    flag: "anchor-min-records",
    env: "ORACLE_ANCHOR_MIN_RECORDS",
    description: "fewest records a partial batch needs before --batch-interval-ms anchors it (at most --batch-size)",
    schema: intText(1, 100_000).default(16),
    defaultText: "16",
  },
  walletReserveEth: {
    flag: "wallet-reserve-eth",
    env: "ORACLE_WALLET_RESERVE_ETH",
    description: "ether each validator key keeps for commits and reveals: anchoring never spends into it, and /readyz fails below it",
    schema: z
      .string()
      .regex(/^\d{1,9}(\.\d{1,18})?$/, "must be an amount of ether like 0.05")
      .default("0.05")
      .transform((text) => parseEther(text)),
    defaultText: "0.05",
  },
  maxHeadAgeMs: {
    flag: "max-head-age-ms",
    env: "ORACLE_MAX_HEAD_AGE_MS",
    description: "longest time without an answer from the RPC's head poll before /readyz fails (a hung or unreachable RPC)",
    schema: intText(1_000, 3_600_000).default(30_000),
    defaultText: "30000",
  },
  maxListenerLagBlocks: {
    flag: "max-listener-lag-blocks",
    env: "ORACLE_MAX_LISTENER_LAG_BLOCKS",
    description: "most confirmed blocks the chain listener may be behind the head before /readyz fails (once caught up)",
    schema: intText(1, 1_000_000).default(64),
    defaultText: "64",
  },
  txRetries: {
    flag: "tx-retries",
    env: "ORACLE_TX_RETRIES",
    description: "attempts for a transaction that fails with a retryable error",
    schema: intText(1, 100).default(5),
    defaultText: "5",
  },
  adminToken: {
    flag: "admin-token",
    env: "ORACLE_ADMIN_TOKEN",
    description: "bearer token for admin routes (pause/resume); admin routes are off without it; environment only",
    schema: z.string().min(16, "must be at least 16 characters").optional(),
    secret: true,
  },
  apiKeysFile: {
    flag: "api-keys",
    env: "ORACLE_API_KEYS_FILE",
    description: "file of API keys for POST /v1/chat, one per line (a raw key or sha256:<hex>); off-chain chat is off without it",
    schema: z.string().min(1).optional(),
  },
  timeoutSweeper: {
    flag: "timeout-sweeper",
    env: "ORACLE_TIMEOUT_SWEEPER",
    description: "call timeout() on requests whose deadline passed (any node may)",
    schema: booleanText.default(true),
    defaultText: "true",
    boolean: true,
  },
  logLevel: {
    flag: "log-level",
    env: "ORACLE_LOG_LEVEL",
    description: "pino log level",
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    defaultText: "info",
  },
  logFormat: {
    flag: "log-format",
    env: "ORACLE_LOG_FORMAT",
    description: "log lines as JSON (for collectors) or pretty (for people); auto: pretty when stdout is a terminal",
    schema: z.enum(["auto", "json", "pretty"], { message: "must be auto, json or pretty" }).default("auto"),
    defaultText: "auto",
  },
} satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTION_SPECS;
