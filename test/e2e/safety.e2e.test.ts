import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ethers, parseEther } from "ethers";
import { createCommon } from "../../oracle/src/common";
import { ConfigError } from "../../oracle/src/config";
import type { OracleNode } from "../../oracle/src/node";
import { devAccount } from "../../scripts/demo/accounts";
import { contractsOf, sendChatRequest } from "../../scripts/demo/network";
import { type E2eChain, E2E_CHAINS, registryEvents, setBalance, startE2eChain, startNode, waitFor } from "./helpers";

const USER = devAccount(10);
const API_KEY = "e2e-api-key-0123456789abcdef";

async function getJson(url: string, init?: RequestInit) {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as any };
}

for (const chainKind of E2E_CHAINS) {
  describe(`validator node safety (${chainKind} node process, tiny model)`, function () {
    this.timeout(180_000);
    let chain: E2eChain;
    let node: OracleNode;
    before(async function () {
      chain = await startE2eChain({ chain: chainKind, config: { committeeSize: 1, quorum: 1, maxAttempts: 2 }, stakes: [100n] });
      const keysFile = path.join(chain.dir, "api-keys");
      fs.writeFileSync(keysFile, `# e2e\n${API_KEY}\n`);
      node = await startNode(chain, [chain.validators[0].privateKey], { extraArgs: ["--api-keys", keysFile, "--wallet-reserve-eth", "1"] });
    });
    after(async function () {
      await node?.stop();
      await chain?.stop();
    });

    it("serves the request after one whose prompt is not UTF-8, which it declines; the API shows both", async function () {
      const { chat } = contractsOf(chain.deployment, chain.provider);
      const raw = Uint8Array.from([0x48, 0x69, 0xff, 0xfe, 0x21]);
      const fee = (await chat.getConfig()).minimumFee as bigint;
      const data = chat.interface.encodeFunctionData("requestChat", [1, raw, 8, ethers.ZeroAddress, 0, 0]);
      await (await USER.connect(chain.provider).sendTransaction({ to: chain.deployment.addresses.ChatRecordRegistry, data, value: fee })).wait();
      const poisonId = (await chat.getFunction("requestCount")()) as bigint;
      const normal = await sendChatRequest(chain.provider, chain.deployment, USER, { prompt: "after the poison", maxNewTokens: 6 });

      await waitFor("the normal request finalized", async () =>
        (await registryEvents(chain)).find((e) => e.name === "RecordFinalized" && e.args.requestId === normal.requestId),
      );
      await waitFor("the poison request declined", async () =>
        (await registryEvents(chain)).find((e) => e.name === "RequestDeclined" && e.args.requestId === poisonId),
      );
      // Counted once the node has the decline's receipt, which can come a poll after the test sees the event.
      const counted = /chat_oracle_unservable_requests_total\{reason="InvalidPrompt"\} [1-9]/;
      await waitFor("the decline counted in /metrics", async () => (counted.test(await (await fetch(`${node.url}/metrics`)).text()) ? true : undefined), 10_000);
      const shown = await getJson(`${node.url}/v1/requests/${poisonId}`);
      expect(shown.status).to.equal(200);
      expect(shown.body.prompt).to.include({ text: "Hi\uFFFD\uFFFD!", verified: false });
      expect((await getJson(`${node.url}/readyz`)).status).to.equal(200);
    });

    it("answers POST /v1/chat only with a key from --api-keys", async function () {
      const post = (headers: Record<string, string>) =>
        getJson(`${node.url}/v1/chat`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ prompt: "hello", maxNewTokens: 2 }) });
      expect((await post({})).status).to.equal(401);
      expect((await post({ "x-api-key": API_KEY })).status).to.equal(201);
    });

    it("reports its wallet and turns /readyz to 503 below the reserve, and back above it", async function () {
      const address = chain.validators[0].address;
      const metrics = await (await fetch(`${node.url}/metrics`)).text();
      expect(metrics).to.match(new RegExp(`chat_oracle_wallet_balance_ether\\{address="${address}"\\} \\d+`));
      const ready = await getJson(`${node.url}/readyz`);
      expect(ready.body.conditions.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).to.deep.equal([
        ["chain_head", true],
        ["listener_lag", true],
        ["key_exclusive", true],
        ["inference", true],
        ["wallet_reserve", true],
      ]);
      await setBalance(chain, address, parseEther("0.5"));
      const low = await waitFor("readyz 503", async () => {
        const r = await getJson(`${node.url}/readyz`);
        return r.status === 503 ? r : undefined;
      }, 20_000);
      expect(low.body.error.message).to.equal(`wallet_reserve: ${address} below the reserve of 1.0 ETH`);
      expect(node.ready()).to.equal(false);
      await setBalance(chain, address, parseEther("100"));
      await waitFor("readyz 200", async () => ((await getJson(`${node.url}/readyz`)).status === 200 ? true : undefined), 20_000);
    });

    it("refuses a second node on its data dir", function () {
      expect(() => createCommon({ ...node.common.config })).to.throw(ConfigError, `--data-dir: ${node.common.config.dataDir} is in use by another oracle node (pid ${process.pid})`);
    });
  });
}
