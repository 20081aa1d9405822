/**
 * Read chat records from code: `npx hardhat run scripts/readRecords.ts --network localhost`.
 * Env: REQUESTER (address, default signer 0), LIMIT (default 10).
 */
import hre from "hardhat";
import { formatRecord, listRequests, readRecord } from "./lib/chat";

async function main(): Promise<void> {
  const requester = process.env.REQUESTER ?? (await hre.ethers.getSigners())[0].address;
  const ids = await listRequests(hre, requester, Number(process.env.LIMIT ?? 10));
  if (ids.length === 0) console.log(`no requests from ${requester}`);
  for (const id of ids) console.log(formatRecord(hre, await readRecord(hre, id)) + "\n");
}

main().catch((err: unknown) => {
  console.error(`readRecords failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
