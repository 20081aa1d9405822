/**
 * `npm run page:screenshot -- [--url URL] [--out FILE] [--phone] [--full-page] [--dark]`: a PNG of a node's monitoring
 * page in headless chromium (playwright-core). It waits for the page to say it has loaded (`body[data-loaded]`), not
 * for the network to go quiet: the page keeps an SSE stream open, which is why chromium's own
 * `--screenshot --virtual-time-budget` never finishes on it.
 */
import fs from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { launchChromium } from "./lib/chromium";

const LAPTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };

interface ScreenshotOptions {
  url: string;
  out: string;
  phone: boolean;
  fullPage: boolean;
  dark: boolean;
  timeoutMs: number;
}

function pageUrl(value: string): string {
  try {
    return new URL(value).toString();
  } catch {
    throw new InvalidArgumentError(`must be a URL such as http://127.0.0.1:8080/, got "${value}"`);
  }
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`must be a whole number above 0, got "${value}"`);
  return n;
}

/** Opens the page at the chosen size, waits until it has loaded its data, and writes the PNG; returns its path. */
export async function screenshotPage(options: ScreenshotOptions): Promise<string> {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({
      viewport: options.phone ? PHONE : LAPTOP,
      isMobile: options.phone,
      hasTouch: options.phone,
      deviceScaleFactor: options.phone ? 2 : 1,
      colorScheme: options.dark ? "dark" : "light",
    });
    const page = await context.newPage();
    await page.goto(options.url, { waitUntil: "domcontentloaded", timeout: options.timeoutMs });
    await page.waitForSelector("body[data-loaded=true]", { timeout: options.timeoutMs });
    const out = path.resolve(options.out);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: options.fullPage });
    return out;
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  const program = new Command()
    .name("npm run page:screenshot --")
    .description("Screenshot a node's monitoring page with headless chromium.")
    .option("--url <url>", "the page (a request: append #request/<id>)", pageUrl, "http://127.0.0.1:8080/")
    .option("--out <file>", "PNG to write", "test-output/page.png")
    .option("--phone", "390 × 844 at 2× like a phone (default: a 1366 × 900 laptop)", false)
    .option("--full-page", "the whole page, not only the first screen", false)
    .option("--dark", "the dark colour scheme", false)
    .option("--timeout-ms <n>", "longest wait for the page to load its data", positiveInteger, 30_000)
    .showHelpAfterError("(see --help)");
  program.parse(process.argv);
  const out = await screenshotPage(program.opts<ScreenshotOptions>());
  process.stdout.write(`${path.relative(process.cwd(), out)}\n`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`page:screenshot: ${error.message.split("\n")[0]}\n`);
    process.exit(1);
  });
}
