import { JsonRpcProvider, Network, type JsonRpcPayload, type JsonRpcResult } from "ethers";
import { network } from "hardhat";

/**
 * A JSON-RPC provider over Hardhat's in-process chain (the node's code wants a `JsonRpcProvider`; Hardhat's own is
 * not one) that counts the calls by method, so a test can tell which component read what from the chain.
 */
export class CountingHardhatProvider extends JsonRpcProvider {
  readonly calls = new Map<string, number>();

  constructor() {
    super(undefined, Network.from(31337), { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
  }

  count(method: string): number {
    return this.calls.get(method) ?? 0;
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const requests = Array.isArray(payload) ? payload : [payload];
    return Promise.all(
      requests.map(async ({ id, method, params }) => {
        this.calls.set(method, this.count(method) + 1);
        try {
          const result = await network.provider.request({ method, params: params as unknown[] });
          return { id, result };
        } catch (error) {
          const { code, message, data } = error as { code?: number; message: string; data?: unknown };
          // ethers reads error answers from the same list ({ id, error }).
          return { id, error: { code: code ?? -32603, message, data } } as unknown as JsonRpcResult;
        }
      }),
    );
  }
}
