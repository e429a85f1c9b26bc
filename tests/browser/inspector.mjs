// Drives Debian's chromium through the agent's web inspector, as a developer would.
// Started by tests/tests/inspector_browser.rs, which runs relay, agent and a recording target
// and checks afterwards what the target received. Exits non-zero on the first failed check.
//
// env: INSPECTOR_URL, HOOK_URL, SAMPLE (an Okta event-hook body), TARGET_NAME (its target's
// display name), EDIT_MARKER (replaces it in the edited replay), CHROMIUM, SHOTS_DIR (optional:
// where to write inspector-list.png and inspector-event.png).
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const INSPECTOR = env("INSPECTOR_URL");
const HOOK = env("HOOK_URL");
const SAMPLE = readFileSync(env("SAMPLE"), "utf8");
const NAME = env("TARGET_NAME");
const MARKER = env("EDIT_MARKER");
const SHOTS = process.env.SHOTS_DIR || "";
const STEP = 30_000;

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

async function postHook(body) {
  const resp = await fetch(HOOK, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", "user-agent": "Okta Hook Service v1.0.0 - browser-test" },
    body,
  });
  check(resp.status === 200, `the relay accepted the hook (${resp.status})`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // The CI container runs as root, where chromium's sandbox cannot start.
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const figures = {};
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("dialog", (d) => { errors.push(`a dialog opened: ${d.message()}`); d.dismiss(); });

  await page.goto(INSPECTOR);
  await page.locator("#live.on").waitFor({ timeout: STEP });
  check(true, "the page opened and its live stream connected");

  // A hostile body first: it must be shown as text and never run.
  const hostile = JSON.stringify({
    eventType: "com.okta.event_hook",
    eventId: "hostile-1",
    data: { events: [{ uuid: "hostile-uuid", eventType: "user.lifecycle.create",
      target: [{ type: "User", displayName: "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">" }] }] },
  });
  await postHook(hostile);
  const hostileRow = page.locator("#rows tr", { hasText: "<script>window.__pwned=1</script>" });
  await hostileRow.waitFor({ timeout: STEP });
  check(true, "the hostile event appeared live, its <script> shown as text");

  // The real Okta sample: time from the relay's 200 to the row on screen.
  const before = Date.now();
  await postHook(SAMPLE);
  const posted = Date.now();
  const row = page.locator("#rows tr", { hasText: "user.session.start" });
  await row.waitFor({ timeout: STEP });
  figures.live_row_ms_after_relay_answered = Date.now() - posted;
  figures.live_row_ms_after_post_started = Date.now() - before;
  check(true, `the Okta event appeared live without a reload (${figures.live_row_ms_after_relay_answered} ms after the relay answered)`);
  await row.locator("td.status", { hasText: "200" }).waitFor({ timeout: STEP });
  if (SHOTS) {
    // A fuller list for the README: a deactivation, Okta redelivering the sample (a duplicate)
    // and a token inline hook with its budget. Posted before the sample's row is opened, so
    // the sample is no longer the newest row: open it by its text below.
    await postHook(JSON.stringify({ eventType: "com.okta.event_hook", eventId: "shot-1", data: { events: [{ uuid: "shot-u1",
      eventType: "user.lifecycle.deactivate", target: [{ type: "User", displayName: "John Doe" }] }] } }));
    await postHook(SAMPLE);
    await postHook(JSON.stringify({ eventType: "com.okta.oauth2.tokens.transform", eventId: "shot-2",
      data: { context: { user: { profile: { login: "jane.roe@example.com" } } } } }));
    await page.locator("#rows tr").nth(4).waitFor({ timeout: STEP });
    await page.locator("#rows tr", { hasText: "duplicate" }).waitFor({ timeout: STEP });
    await page.screenshot({ path: join(SHOTS, "inspector-list.png") });
    await page.keyboard.press("End");
    await page.keyboard.press("k");
  }

  // Keyboard only: select the Okta row (the newest) and open it.
  if (!SHOTS) await page.keyboard.press("Home");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/events\//, { timeout: STEP });
  const sampleUrl = page.url();
  const requestPane = page.locator("#request-pane .json");
  await requestPane.waitFor({ timeout: STEP });
  const shown = await requestPane.innerText();
  check(shown.includes(`"${NAME}"`), `the event page shows the target's display name "${NAME}" in the body`);
  check((await page.locator("#summary").innerText()).includes("user.session.start"), "the summary names the event type");
  if (SHOTS) await page.screenshot({ path: join(SHOTS, "inspector-event.png"), fullPage: false });

  // The hostile event's page: text, not markup, and nothing ran.
  await page.goto(`${INSPECTOR}/`);
  await hostileRow.waitFor({ timeout: STEP });
  await hostileRow.locator("td.path a").click();
  await page.locator("#request-pane .json").waitFor({ timeout: STEP });
  const hostileText = await page.locator("#request-pane").innerText();
  check(hostileText.includes("<script>window.__pwned=1</script>"), "the hostile body is shown literally");
  check(await page.evaluate(() => window.__pwned === undefined), "the hostile body's script and onerror never ran");
  check(await page.evaluate(() => document.querySelectorAll("script").length === 4 && document.querySelectorAll("img").length === 0),
    "no element was created from the body");

  // Edit and replay the Okta event with the keyboard.
  await page.goto(sampleUrl);
  await page.locator("#request-pane .json").waitFor({ timeout: STEP });
  await page.keyboard.press("e");
  const editor = page.locator("#ed-body");
  await editor.waitFor({ timeout: STEP });
  const text = await editor.inputValue();
  check(text.includes(`"${NAME}"`), "the editor holds the body");
  await editor.fill(text.split(`"${NAME}"`).join(`"${MARKER}"`));
  await page.keyboard.press("Control+Enter");
  await page.locator("#notice", { hasText: "Replayed: 200" }).waitFor({ timeout: STEP });
  check(true, "the edited replay was sent and answered 200");
  await page.locator("#summary .tag.replay").waitFor({ timeout: STEP });
  const replayed = await page.locator("#request-pane").innerText();
  check(replayed.includes(MARKER) && !replayed.includes(`"${NAME}"`), "the replay's page shows the edited body");
  check((await page.locator("#summary").innerText()).includes("replay of"), "the replay links to its original");

  // Compare the edited replay (newest) with its original, from the keyboard.
  await page.keyboard.press("Escape");
  await page.waitForURL(/\/$/, { timeout: STEP });
  await page.locator("#rows tr", { hasText: "user.session.start" }).first().waitFor({ timeout: STEP });
  await page.keyboard.press("Home");
  await page.keyboard.press("x");
  const originalIndex = await page.locator("#rows tr").evaluateAll(
    (rows, url) => rows.findIndex((r) => url.endsWith(r.dataset.id)), sampleUrl);
  for (let i = 0; i < originalIndex; i++) await page.keyboard.press("j");
  await page.keyboard.press("x");
  await page.keyboard.press("c");
  await page.waitForURL(/\/compare\//, { timeout: STEP });
  await page.locator("#diff .d-add", { hasText: MARKER }).waitFor({ timeout: STEP });
  await page.locator("#diff .d-del", { hasText: `"${NAME}"` }).first().waitFor({ timeout: STEP });
  check(true, "comparing the replay with its original shows the edit as a diff");
  check(errors.length === 0, `no page errors (${errors.join("; ")})`);
  console.log(`FIGURES ${JSON.stringify(figures)}`);
} finally {
  await browser.close();
}
