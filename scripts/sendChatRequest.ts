/**
 * Send a chat request and wait for its record: `npx hardhat run scripts/sendChatRequest.ts --network localhost`.
 * Env: PROMPT (default "Hello, oracle!"), MAX_NEW_TOKENS (default 64), WAIT_MS (default 120000).
 */
import hre from "hardhat";
import { formatRecord, sendChatRequest, waitForCommittee, waitForRecord } from "./lib/chat";

async function main(): Promise<void> {
  const { requestId, seedBlock } = await sendChatRequest(hre, {
    prompt: process.env.PROMPT ?? "Hello, oracle!",
    maxNewTokens: Number(process.env.MAX_NEW_TOKENS ?? 64),
  });
  console.log(`request ${requestId} sent (committee drawn from block ${seedBlock})`);
  const { committee, drawn } = await waitForCommittee(hre, requestId);
  console.log(`committee ${drawn ? "" : "(preview) "}${committee.join(", ")}`);
  const record = await waitForRecord(hre, requestId, {
    timeoutMs: Number(process.env.WAIT_MS ?? 120_000),
    onStatus: (status) => console.log(`status ${status}`),
  });
  console.log(formatRecord(hre, record));
}

main().catch((err: unknown) => {
  console.error(`sendChatRequest failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
