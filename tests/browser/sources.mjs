// The web inspector's list over a history of several sources: every row names its source.
// Started by tests/tests/inspector_browser.rs over `agent inspect`. Exits non-zero on the first
// failed check.
//
// env: INSPECTOR_URL, SOURCES (the rows' sources, newest first, comma-separated), CHROMIUM.
import { chromium } from "playwright-core";

const INSPECTOR = process.env.INSPECTOR_URL;
const SOURCES = (process.env.SOURCES || "").split(",");

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // The CI container runs as root, where chromium's sandbox cannot start.
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  await page.goto(INSPECTOR);
  const badges = page.locator("#rows tr td.path .source");
  await badges.nth(SOURCES.length - 1).waitFor({ timeout: 30_000 });
  const shown = await badges.allTextContents();
  check(JSON.stringify(shown) === JSON.stringify(SOURCES), `each row names its source: ${shown}`);
} finally {
  await browser.close();
}
