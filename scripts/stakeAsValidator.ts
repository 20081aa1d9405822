/**
 * Stake as a validator from code: `npx hardhat run scripts/stakeAsValidator.ts --network localhost`.
 * Env: STAKE_AMOUNT (tokens, default 1000), ENDPOINT (your oracle's public URL), ACCOUNT (signer index, default 0).
 */
import hre from "hardhat";
import { formatAmount } from "../oracle/src/chain/errorText";
import { stakeAsValidator } from "./lib/chat";

async function main(): Promise<void> {
  const { validator, stake, units } = await stakeAsValidator(hre, {
    amount: process.env.STAKE_AMOUNT ?? "1000",
    endpoint: process.env.ENDPOINT ?? "",
    accountIndex: Number(process.env.ACCOUNT ?? 0),
  });
  console.log(`${validator} now stakes ${formatAmount(stake, units)}`);
}

main().catch((err: unknown) => {
  console.error(`stakeAsValidator failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
