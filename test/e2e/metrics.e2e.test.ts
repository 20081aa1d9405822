import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import type { OracleNode } from "../../oracle/src/node";
import { type E2eChain, E2E_CHAINS, startE2eChain, startNode, waitFor } from "./helpers";

const API_KEY = "e2e-metrics-key-0123456789abcdef";

/** The value of one sample in a Prometheus text scrape, or undefined when the series is absent. */
function sample(scrape: string, series: string): number | undefined {
  const line = scrape.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe(`node metrics after an anchor (${E2E_CHAINS[0]} node process, tiny model)`, function () {
  this.timeout(180_000);
  let chain: E2eChain;
  let node: OracleNode;
  before(async function () {
    chain = await startE2eChain({ config: { committeeSize: 1, quorum: 1 }, stakes: [100n] });
    const keysFile = path.join(chain.dir, "api-keys");
    fs.writeFileSync(keysFile, `${API_KEY}\n`);
    node = await startNode(chain, [chain.validators[0].privateKey], { extraArgs: ["--api-keys", keysFile, "--batch-size", "1"] });
  });
  after(async function () {
    await node?.stop();
    await chain?.stop();
  });

  it("times each anchor transaction once and lists every batch outcome in /v1/node", async function () {
    const posted = await fetch(`${node.url}/v1/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": API_KEY },
      body: JSON.stringify({ prompt: "count me once", maxNewTokens: 2 }),
    });
    expect(posted.status).to.equal(201);
    const view = await waitFor("the record anchored", async () => {
      const body = (await (await fetch(`${node.url}/v1/node`)).json()) as { records: { batches: Record<string, number> } };
      return body.records.batches.anchored === 1 ? body : undefined;
    });
    expect(view.records.batches).to.deep.equal({ anchored: 1, failed: 0, unconfirmed: 0, held_budget: 0, held_reserve: 0 });
    const scrape = await (await fetch(`${node.url}/metrics`)).text();
    expect(sample(scrape, 'chat_oracle_batches_total{outcome="anchored"}')).to.equal(1);
    expect(sample(scrape, 'chat_oracle_tx_seconds_count{kind="anchor"}'), "anchor transactions timed").to.equal(1);
  });
});
