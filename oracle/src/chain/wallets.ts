import { formatEther, getAddress, type Provider } from "ethers";
import type { Common } from "../common";

/** Gas an `anchorBatch` may use (measured ~107 k); what the reserve check prices an anchor at. */
export const ANCHOR_GAS_LIMIT = 150_000n;

export interface WalletMonitor {
  /** Reads every watched balance now (updates the gauge); an RPC failure keeps the last known balances. */
  refresh(): Promise<void>;
  /** The last balance read of `address`, undefined before the first read. */
  balance(address: string): bigint | undefined;
  /** Watched addresses whose last known balance is below the reserve (the readiness condition). */
  belowReserve(): string[];
  /**
   * Why `address` must not pay `gasLimit` gas now: its fresh balance minus the transaction's worst-case fee would be
   * below the reserve. Undefined when it may. An unreadable balance refuses (spending blind could empty the wallet).
   */
  refuseSpend(address: string, gasLimit: bigint): Promise<string | undefined>;
  start(): void;
  stop(): void;
}

export interface WalletMonitorOptions {
  provider: Provider;
  /** Keys whose balances are watched (validator keys, and a separate anchor key if any). */
  addresses: readonly string[];
  /** Wei each watched key keeps for commits and reveals. */
  reserveWei: bigint;
  /** Milliseconds between balance reads (default 15 s). */
  intervalMs?: number;
}

/**
 * Watches the node's wallets: a balance gauge per key (`chat_oracle_wallet_balance_ether`), the readiness condition
 * "every key above the reserve", and the check that keeps optional spending (anchors) out of the reserve a validator
 * needs for its commits and reveals (an emptied validator cannot commit and is slashed).
 */
export function createWalletMonitor(common: Common, options: WalletMonitorOptions): WalletMonitor {
  const { logger, metrics } = common;
  const log = logger.child({ component: "wallets" });
  const addresses = [...new Set(options.addresses.map((a) => getAddress(a)))];
  const balances = new Map<string, bigint>();
  let timer: NodeJS.Timeout | undefined;

  async function read(address: string): Promise<bigint> {
    const balance = await options.provider.getBalance(address);
    balances.set(address, balance);
    metrics.walletBalanceEther.set({ address }, Number(formatEther(balance)));
    return balance;
  }

  const monitor: WalletMonitor = {
    async refresh() {
      await Promise.all(
        addresses.map((address) =>
          read(address).catch((error: unknown) => {
            metrics.rpcErrorsTotal.inc();
            log.debug({ err: error, address }, "balance read failed");
          }),
        ),
      );
      const low = monitor.belowReserve();
      if (low.length > 0) log.warn({ addresses: low, reserve: formatEther(options.reserveWei) }, "wallet below reserve");
    },
    balance: (address) => balances.get(getAddress(address)),
    belowReserve: () => addresses.filter((a) => (balances.get(a) ?? options.reserveWei) < options.reserveWei),
    async refuseSpend(address, gasLimit) {
      let balance: bigint;
      let feePerGas: bigint;
      try {
        balance = await read(getAddress(address));
        const fees = await options.provider.getFeeData();
        feePerGas = fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
      } catch (error) {
        metrics.rpcErrorsTotal.inc();
        return `balance unreadable: ${(error as Error).message}`.slice(0, 200);
      }
      const cost = gasLimit * feePerGas;
      if (balance - cost >= options.reserveWei) return undefined;
      return `balance ${formatEther(balance)} ETH minus up to ${formatEther(cost)} ETH of gas is below the reserve of ${formatEther(options.reserveWei)} ETH`;
    },
    start() {
      if (timer) return;
      void monitor.refresh();
      timer = setInterval(() => void monitor.refresh(), options.intervalMs ?? 15_000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return monitor;
}
