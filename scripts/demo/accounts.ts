import { HDNodeWallet, Mnemonic, type Wallet } from "ethers";

/** Hardhat's well-known development mnemonic: its accounts are funded with 10,000 ETH on every local node. */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

/** Local-development account `index` (0 = the deployer). Never use these keys on a real network. */
export function devAccount(index: number): Wallet {
  const node = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT_MNEMONIC), `m/44'/60'/0'/0/${index}`);
  return node as unknown as Wallet;
}

/** Roles in the demo and tests: who deploys, who validates, who asks. */
export const ROLES = {
  deployer: 0,
  validators: [1, 2, 3, 4, 5],
  user: 10,
} as const;
