import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "ethers";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createPageRouter } from "../../../../oracle/src/http/page";
import { launchChromium } from "../../../../scripts/lib/chromium";
import { screenshotPage } from "../../../../scripts/pageScreenshot";
import { CONTENT_TABLE, createContentStore, hashText } from "../../../../oracle/src/store/contentStore";
import { deployedNetworkFixture, getJson, postJson, runRequestToFinal, startApi, TEST_API_KEY, type ApiUnderTest, type Network } from "../fixture";

/** Screenshots for a person to look at (gitignored). */
const SCREENSHOTS = path.resolve("test-output", "monitoring-page");
const LAPTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };
/** Waits for a condition the page reaches by itself (SSE or its 5 s poll); generous for a loaded 2-core machine. */
const UNTIL = { timeout: 30_000 };
/** 18-decimal amounts the way the page writes them: "1,000", "0.5". */
const tokens = (wei: bigint) => Number(ethers.formatEther(wei)).toLocaleString("en-US", { maximumFractionDigits: 6 });

describe("monitoring page in a real browser", function () {
  this.timeout(120_000);
  let net: Network;
  let api: ApiUnderTest;
  let browser: Browser;
  let laptop: BrowserContext;
  /** Requests the page made to anything but the oracle (must stay empty: the page works offline). */
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];

  async function openPage(context: BrowserContext, hash = ""): Promise<Page> {
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${api.url}/${hash}`);
    await waitShown(page, "body[data-loaded=true]");
    return page;
  }

  async function newContext(viewport: { width: number; height: number }, mobile = false, colorScheme: "light" | "dark" = "light") {
    const context = await browser.newContext({ viewport, isMobile: mobile, hasTouch: mobile, deviceScaleFactor: mobile ? 2 : 1, colorScheme });
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (!url.startsWith(api.url)) {
        foreignRequests.push(url);
        return route.abort();
      }
      return route.continue();
    });
    return context;
  }

  /** waitForSelector that, on a timeout, says what the page showed instead (an error box, an empty state). */
  async function waitShown(page: Page, selector: string) {
    try {
      await page.waitForSelector(selector, UNTIL);
    } catch (error) {
      const shown = await page.locator(page.url().includes("#request/") || page.url().includes("#record/") ? "#detail" : "#overview").innerText().catch(() => "");
      throw new Error(`${(error as Error).message.split("\n")[0]}\npage showed:\n${shown.slice(0, 2000)}`);
    }
  }

  /** Text of the selection chart that runs past its SVG's edges or off the screen, i.e. is cut off. */
  async function clippedChartText(page: Page): Promise<string[]> {
    return page.evaluate(() => {
      const box = document.querySelector("#selection-chart svg")!.getBoundingClientRect();
      const cut: string[] = [];
      for (const text of Array.from(document.querySelectorAll("#selection-chart svg text"))) {
        const r = text.getBoundingClientRect();
        if (r.right > box.right + 0.5 || r.left < box.left - 0.5) cut.push(text.textContent ?? "");
      }
      for (const item of Array.from(document.querySelectorAll("#selection-chart [data-testid=chart-legend] > span"))) {
        if (item.getBoundingClientRect().right > window.innerWidth) cut.push(item.textContent ?? "");
      }
      return cut;
    });
  }

  async function badgeOf(page: Page) {
    const badge = page.locator("[data-testid=verified-badge]");
    await waitShown(page, "[data-testid=verified-badge]");
    return { verified: await badge.getAttribute("data-verified"), text: (await badge.innerText()).trim() };
  }

  before(async function () {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    net = await loadFixture(deployedNetworkFixture);
    api = await startApi(net, { batchSize: 2 }, { mount: (app) => app.use(createPageRouter()) });
    browser = await launchChromium();
    laptop = await newContext(LAPTOP);
  });

  after(async () => {
    await browser?.close();
    await api?.stop();
  });

  it("serves the page and its assets from the oracle with a same-origin-only content security policy", async () => {
    const page = await getJson(`${api.url}/`);
    expect(page.status).to.equal(200);
    expect(page.headers.get("content-type")).to.match(/^text\/html/);
    expect(page.headers.get("content-security-policy")).to.include("default-src 'none'").and.include("script-src 'self'");
    expect(page.body).to.include('src="/assets/app.js"').and.not.match(/https?:\/\/(?!127\.0\.0\.1)/);
    for (const asset of ["app.js", "app.css", "keccak.js"]) {
      const { status } = await getJson(`${api.url}/assets/${asset}`);
      expect(status, asset).to.equal(200);
    }
    const missing = await getJson(`${api.url}/assets/nope.js`);
    expect(missing.status).to.equal(404);
    expect(missing.body.error.code).to.be.a("string");
  });

  it("lists the staked validators with stake, share and the selection chart", async () => {
    const page = await openPage(laptop);
    const rows = page.locator("[data-testid=validator-row]");
    expect(await rows.count()).to.equal(3);
    for (const validator of net.validators) {
      const row = page.locator(`[data-testid=validator-row][data-validator="${validator.address.toLowerCase()}"]`);
      expect(await row.count(), validator.address).to.equal(1);
    }
    const totalStake = await net.validatorRegistry.totalStake();
    for (const validator of net.validators) {
      const { stake } = await net.validatorRegistry.validatorInfo(validator.address);
      const share = `${((Number(stake) / Number(totalStake)) * 100).toFixed(1)} %`;
      const row = page.locator(`[data-testid=validator-row][data-validator="${validator.address.toLowerCase()}"]`);
      expect(await row.innerText(), validator.address).to.include(tokens(stake)).and.include(share);
    }
    expect(await page.locator("#network-summary").innerText()).to.include(`${tokens(totalStake)} ${await net.token.symbol()}`);
    // Before any request the chart says so in words.
    expect(await page.locator("#selection-chart").innerText()).to.include("No committee has been drawn yet");
    expect(await page.locator("#request-list").innerText()).to.include("No chat request on-chain yet");
    expect(await page.locator("#record-list").innerText()).to.include("No off-chain record yet");
    await page.screenshot({ path: path.join(SCREENSHOTS, "empty-network-laptop.png"), fullPage: true });
    await page.close();
  });

  it("shows an on-chain request live until it is finalized, with the verified badge", async () => {
    const page = await openPage(laptop, "#requests");
    await waitShown(page, ".live-on");
    const { requestId } = await runRequestToFinal(net, "What does the network monitor show?");
    const row = `[data-testid=request-row][data-request-id="${requestId}"]`;
    await waitShown(page, `${row}[data-status=finalized]`);
    expect(await page.locator(`${row} .steps li.done`).count()).to.equal(4);
    await waitShown(page, "#selection-chart svg .bar-row");
    expect(await page.locator("#selection-chart svg .bar-row").count()).to.equal(3);
    await page.screenshot({ path: path.join(SCREENSHOTS, "overview-laptop.png"), fullPage: true });

    await page.click(`${row} a`);
    const badge = await badgeOf(page);
    expect(badge.verified).to.equal("true");
    expect(badge.text).to.include("Verified against chain");
    expect(await page.locator("ol.timeline li.tl-finalized").count()).to.equal(1);
    await page.screenshot({ path: path.join(SCREENSHOTS, "request-verified-laptop.png"), fullPage: true });
    await page.close();
  });

  it("lists a conversation turn's thread, each turn linked and checked, from any of its turns", async () => {
    const root = await runRequestToFinal(net, "Start a conversation");
    const second = await runRequestToFinal(net, "Continue it", { parentId: root.requestId });
    const page = await openPage(laptop, `#request/${second.requestId}`);
    await waitShown(page, ".thread-turns tbody tr");
    const rows = await page.locator(".thread-turns tbody tr").allInnerTexts();
    expect(rows).to.have.length(2);
    expect(rows[0]).to.include(`#${root.requestId}`).and.to.include("Start a conversation").and.to.include("linked, texts match");
    expect(rows[1]).to.include(`#${second.requestId}`).and.to.include("Continue it").and.to.include("linked, texts match");
    expect(await page.locator("[data-testid=thread-verdict]").getAttribute("data-verified")).to.equal("true");
    await page.click(`.thread-turns a[href="#request/${root.requestId}"]`);
    await waitShown(page, `text=Continued by:`);
    expect(await page.locator(`.thread a[href="#request/${second.requestId}"]`).count()).to.equal(1);
    await page.screenshot({ path: path.join(SCREENSHOTS, "request-thread-laptop.png"), fullPage: true });
    await page.close();
  });

  it("shows a request whose stored response text was tampered with as NOT verified", async () => {
    const { requestId, text } = await runRequestToFinal(net, "Tamper with my answer later");
    // The node keeps texts in its content store (the API serves those first); change the row behind its hash.
    const store = createContentStore(api.common.db);
    const responseHash = store.put(text);
    const page = await openPage(laptop, `#request/${requestId}`);
    expect((await badgeOf(page)).verified).to.equal("true");

    api.common.db.prepare(`UPDATE ${CONTENT_TABLE} SET text = ? WHERE hash = ?`).run(`${text} (edited)`, responseHash);
    await page.reload();
    await waitShown(page, "[data-testid=verified-badge][data-verified=false]");
    const badge = await badgeOf(page);
    expect(badge.text).to.include("NOT verified").and.include("response");
    expect(await page.locator("[data-testid=response] pre").innerText()).to.equal(`${text} (edited)`);
    expect(await page.locator("[data-testid=response] .bad").innerText()).to.include("hash differs");
    await page.screenshot({ path: path.join(SCREENSHOTS, "request-tampered-laptop.png"), fullPage: true });
    await page.close();
  });

  it("streams a chat from the page, verifies the streamed answer against the chain once anchored, and its record NOT once tampered", async () => {
    const page = await openPage(laptop, "#records");
    await page.fill("#chat-prompt", "Hello from the monitoring page");
    await page.fill("#chat-key", TEST_API_KEY);
    await page.click("#chat-form button[type=submit]");
    const link = page.locator("#chat-result a");
    await link.waitFor(UNTIL);
    const recordHash = (await link.getAttribute("href"))!.replace("#record/", "");
    await waitShown(page, `[data-testid=record-row][data-record-hash="${recordHash}"]`);
    const streamed = await page.locator("#chat-result [data-testid=streamed-answer]").innerText();
    expect(streamed).to.equal((await getJson(`${api.url}/v1/records/${recordHash}`)).body.response.text);
    // Texts match the receipt; the chain has nothing to say until the record is anchored.
    await waitShown(page, "#chat-result [data-testid=stream-check][data-verified=null]");
    // A second record fills the batch (batchSize 2); flush waits for the anchor transaction.
    expect((await postJson(`${api.url}/v1/chat`, { prompt: "A second record for the batch" })).status).to.equal(201);
    await api.anchorer.flush();
    await waitShown(page, "#chat-result [data-testid=stream-check][data-verified=true]");
    expect(await page.locator("#chat-result [data-testid=stream-check]").innerText()).to.include("Verified against chain").and.include("streamed text");

    await link.click();
    const badge = await badgeOf(page);
    expect(badge.verified).to.equal("true");
    expect(badge.text).to.include("Verified against chain").and.include("Merkle proof");
    expect(await page.locator("ol.proof li").count()).to.equal(1);
    await page.screenshot({ path: path.join(SCREENSHOTS, "record-verified-laptop.png"), fullPage: true });

    const { body: record } = await getJson(`${api.url}/v1/records/${recordHash}`);
    expect(hashText(record.prompt.text)).to.equal(record.prompt.hash);
    api.common.db.prepare(`UPDATE ${CONTENT_TABLE} SET text = ? WHERE hash = ?`).run("Hello from somebody else", record.prompt.hash);
    await page.reload();
    await waitShown(page, "[data-testid=verified-badge][data-verified=false]");
    expect((await badgeOf(page)).text).to.include("NOT verified").and.include("prompt text does not hash");
    await page.screenshot({ path: path.join(SCREENSHOTS, "record-tampered-laptop.png"), fullPage: true });
    await page.close();
  });

  it("says NOT verified when the stream it received was altered on the way (a forged delta)", async () => {
    const context = await newContext(LAPTOP);
    // A man in the middle (or a lying node) slips one more delta into the stream; the receipt stays the node's.
    await context.route("**/v1/chat/completions", async (route) => {
      const response = await route.fetch();
      const events = (await response.text()).split("\n\n");
      const forged = { ...JSON.parse(events[0].replace(/^data: /, "")), choices: [{ index: 0, delta: { content: " (forged)" }, logprobs: null, finish_reason: null }] };
      events.splice(1, 0, `data: ${JSON.stringify(forged)}`);
      await route.fulfill({ response, body: events.join("\n\n") });
    });
    try {
      const page = await openPage(context, "#records");
      await page.fill("#chat-prompt", "Is this answer really yours?");
      await page.fill("#chat-key", TEST_API_KEY);
      await page.click("#chat-form button[type=submit]");
      await waitShown(page, "#chat-result [data-testid=stream-check][data-verified=false]");
      expect(await page.locator("#chat-result [data-testid=streamed-answer]").innerText()).to.include("(forged)");
      expect(await page.locator("#chat-result [data-testid=stream-check]").innerText()).to.include("does not hash to the receipt's response hash");
    } finally {
      await context.close();
    }
  });

  it("shows a dissenting validator's slash in the request timeline and the validator list, and a pending unstake", async () => {
    const page = await openPage(laptop, "#network");
    const { requestId, committee } = await runRequestToFinal(net, "Who disagrees here?", { dissent: true });
    const dissenter = committee[0].address.toLowerCase();
    const unstaker = net.validators.find((v) => v.address.toLowerCase() !== dissenter)!;
    const unit = await net.validatorRegistry.STAKE_UNIT();
    await net.validatorRegistry.connect(unstaker).requestUnstake(unit);

    const rowOf = (address: string) => `[data-testid=validator-row][data-validator="${address.toLowerCase()}"]`;
    await waitShown(page, `${rowOf(dissenter)}:has-text("1 × (")`);
    await waitShown(page, `${rowOf(unstaker.address)}:has-text("unlocks in")`);
    expect(await page.locator(rowOf(unstaker.address)).innerText()).to.include(tokens(unit));
    expect(await page.locator("#network-summary").innerText()).to.match(/PENDING UNSTAKES\s*\n?\s*[1-9]/i);
    await page.screenshot({ path: path.join(SCREENSHOTS, "network-slash-unstake-laptop.png"), fullPage: true });

    await page.goto(`${api.url}/#request/${requestId}`);
    await waitShown(page, "ol.timeline li.tl-slashed");
    expect(await page.locator("ol.timeline li.tl-slashed").innerText()).to.include("dissent");
    expect(await page.locator("table.committee").innerText()).to.include("no (dissent)");
    expect((await badgeOf(page)).verified).to.equal("true");
    await page.close();
  });

  it("shows a request still waiting for its committee as requested, with only the prompt to check", async () => {
    const page = await openPage(laptop, "#requests");
    const tx = await net.chatRegistry.connect(net.user).requestChat(1, ethers.toUtf8Bytes("Nobody answers me"), 8, ethers.ZeroAddress, 0, 0, { value: 10n ** 15n });
    const receipt = await tx.wait();
    const requestId = receipt!.logs.map((log) => net.chatRegistry.interface.parseLog(log)).find((p) => p?.name === "ChatRequested")!.args.requestId as bigint;
    const row = `[data-testid=request-row][data-request-id="${requestId}"]`;
    await waitShown(page, `${row}[data-status=requested]`);
    expect(await page.locator(`${row} .steps li.done`).count()).to.equal(1);
    expect(await page.locator(row).innerText()).to.include("pending");

    await page.click(`${row} a`);
    const badge = await badgeOf(page);
    expect(badge.verified).to.equal("null");
    expect(badge.text).to.include("Not finalized yet").and.include("the prompt matches its on-chain hash");
    expect(await page.locator("[data-testid=response]").innerText()).to.include("No response is finalized yet");
    await page.close();
  });

  it("shows a request its committee declined as declined, with each member's reason in the timeline", async () => {
    const page = await openPage(laptop, "#requests");
    const prompt = new Uint8Array([0x68, 0x69, 0xff, 0xfe]); // not UTF-8
    const receipt = await (await net.chatRegistry.connect(net.user).requestChat(1, prompt, 8, ethers.ZeroAddress, 0, 0, { value: 10n ** 15n })).wait();
    const requestId = receipt!.logs.map((log) => net.chatRegistry.interface.parseLog(log)).find((p) => p?.name === "ChatRequested")!.args.requestId as bigint;
    const row = `[data-testid=request-row][data-request-id="${requestId}"]`;
    await waitShown(page, `${row}[data-status=requested]`);
    expect(await page.locator(row).innerText()).to.include("not drawn yet");
    await (await net.chatRegistry.connect(net.user).draw(requestId)).wait();
    const committee = (await net.chatRegistry.getRecord(requestId)).committee;
    for (const member of committee.slice(0, 2)) {
      const signer = net.validators.find((v) => v.address === member)!;
      await (await net.chatRegistry.connect(signer).declineRequest(requestId, 1)).wait(); // InvalidPrompt
    }
    await waitShown(page, `${row}[data-status=declined]`);
    await page.click(`${row} a`);
    await waitShown(page, "ol.timeline li.tl-request_declined");
    expect((await page.locator("ol.timeline li.tl-drawn").innerText()).toLowerCase()).to.include("committee drawn");
    expect((await page.locator("ol.timeline li.tl-declined").first().innerText()).toLowerCase()).to.include("invalid prompt");
    expect(await page.locator("table.committee").innerText()).to.include("declined");
    await page.close();
  });

  it("reads at phone width: validators, requests and a record as stacked cards", async () => {
    // Dark scheme on the phone, so the screenshots show both palettes.
    const phone = await newContext(PHONE, true, "dark");
    const page = await openPage(phone);
    await waitShown(page, "[data-testid=request-row][data-status=finalized]");
    // No sideways scrolling: the page is as wide as the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(PHONE.width);
    const svgWidth = await page.locator("#selection-chart svg").evaluate((svg) => svg.getBoundingClientRect().width);
    expect(svgWidth).to.be.at.most(PHONE.width);
    expect(await clippedChartText(page)).to.deep.equal([]);
    expect(await page.locator("[data-testid=chart-legend]").innerText()).to.include("seats drawn").and.include("expected from stake");
    // A narrower phone too (360 px wide Android screens): the legend wraps rather than runs off the chart.
    const narrow = await newContext({ width: 360, height: 780 }, true);
    const narrowPage = await openPage(narrow);
    await waitShown(narrowPage, "#selection-chart svg");
    expect(await clippedChartText(narrowPage)).to.deep.equal([]);
    await narrow.close();
    await page.screenshot({ path: path.join(SCREENSHOTS, "overview-phone.png"), fullPage: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, "overview-phone-first-screen.png") });
    await page.locator("#requests").screenshot({ path: path.join(SCREENSHOTS, "requests-phone.png") });
    const recordHash = await page.locator("[data-testid=record-row]").first().getAttribute("data-record-hash");
    await page.goto(`${api.url}/#record/${recordHash}`);
    await badgeOf(page);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(PHONE.width);
    await page.screenshot({ path: path.join(SCREENSHOTS, "record-phone.png"), fullPage: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, "record-phone-first-screen.png") });
    await phone.close();
  });

  it("writes a PNG of the loaded page with npm run page:screenshot's function, its SSE stream open", async () => {
    const out = path.join(SCREENSHOTS, "page-screenshot-cli.png");
    fs.rmSync(out, { force: true });
    expect(await screenshotPage({ url: `${api.url}/`, out, phone: true, fullPage: true, dark: false, timeoutMs: 30_000 })).to.equal(out);
    const png = fs.readFileSync(out);
    expect(png.subarray(0, 8).toString("hex")).to.equal("89504e470d0a1a0a"); // the PNG signature
    // Full page at phone width, 2× pixels: as wide as the phone, taller than one screen.
    expect([png.readUInt32BE(16), png.readUInt32BE(20) > 2 * 844]).to.deep.equal([2 * 390, true]);
  });

  it("says in words when a request or record is unknown, and never reached outside the oracle", async () => {
    const page = await openPage(laptop, "#request/999999");
    await waitShown(page, "#detail-body .empty:has-text('no request #999999')");
    await page.goto(`${api.url}/#record/0x${"ab".repeat(32)}`);
    await waitShown(page, "#detail-body .empty:has-text('knows no record or text')");
    await page.close();

    // An API failure (here: the RPC node gone) is said in words in each panel that lacks its data.
    const failing = await laptop.newPage();
    await failing.route("**/v1/validators", (route) =>
      route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: { code: "rpc_unavailable", message: "the RPC node does not answer" } }) }),
    );
    await failing.goto(`${api.url}/`);
    await waitShown(failing, "body[data-loaded=true]");
    expect(await failing.locator("#network-summary .error").innerText()).to.equal("Could not load the network: the RPC node does not answer (HTTP 503)");
    expect(await failing.locator("#validators").innerText()).to.include("No validator list without the network data");
    await failing.close();

    expect(foreignRequests).to.deep.equal([]);
    expect(pageErrors).to.deep.equal([]);
  });
});
