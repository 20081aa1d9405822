import { expect } from "chai";
import type { OracleNode } from "../../oracle/src/node";
import { type E2eChain, E2E_CHAINS, startE2eChain, startNode, waitFor } from "./helpers";

interface Readyz {
  status: number;
  body: { status: string; conditions?: { name: string; ok: boolean; message?: string }[] };
}

async function readyz(node: OracleNode): Promise<Readyz> {
  const response = await fetch(`${node.url}/readyz`);
  return { status: response.status, body: (await response.json()) as Readyz["body"] };
}

for (const chainKind of E2E_CHAINS) {
  describe(`readiness against a hung RPC (${chainKind} node process stopped with SIGSTOP)`, function () {
    this.timeout(180_000);
    let chain: E2eChain;
    let node: OracleNode;
    let stopped = false;
    before(async function () {
      chain = await startE2eChain({ chain: chainKind, config: { committeeSize: 1, quorum: 1, maxAttempts: 2 }, stakes: [100n] });
      node = await startNode(chain, [chain.validators[0].privateKey], { extraArgs: ["--max-head-age-ms", "2000"] });
    });
    after(async function () {
      if (stopped) process.kill(-chain.node.pid, "SIGCONT");
      await node?.stop();
      await chain?.stop();
    });

    it("answers 503 naming chain_head while the RPC hangs, and 200 again once it answers", async function () {
      await waitFor("ready", async () => ((await readyz(node)).status === 200 ? true : undefined));

      // The whole process group: the chain runs as the group leader started by startChainNode.
      process.kill(-chain.node.pid, "SIGSTOP");
      stopped = true;
      const hungAt = Date.now();
      const hung = await waitFor("503 while the RPC hangs", async () => {
        const r = await readyz(node);
        return r.status === 503 ? r : undefined;
      }, 20_000);
      const head = hung.body.conditions?.find((c) => c.name === "chain_head");
      expect(head?.ok, JSON.stringify(hung.body)).to.equal(false);
      expect(head?.message).to.match(/no answer from the RPC for \d+ ms/);
      expect(Date.now() - hungAt, "503 within a few seconds of the limit").to.be.below(15_000);
      // Hung for a while longer: still not ready.
      await new Promise((r) => setTimeout(r, 5_000));
      expect((await readyz(node)).status).to.equal(503);

      process.kill(-chain.node.pid, "SIGCONT");
      stopped = false;
      const back = await waitFor("200 after SIGCONT", async () => {
        const r = await readyz(node);
        return r.status === 200 ? r : undefined;
      }, 30_000);
      expect(back.body.conditions?.find((c) => c.name === "chain_head")?.ok).to.equal(true);
      expect(back.body.conditions?.find((c) => c.name === "listener_lag")?.ok).to.equal(true);
    });
  });
}
