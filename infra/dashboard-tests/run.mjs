// Browser test of the clipper dashboard: playwright-core drives Debian's Chromium (never a
// downloaded browser) against a running `clipper run` (started by the Rust test
// `relay/tests/dashboard.rs::browser`, which also scripts the chat and the fake Twitch).
//
// Env: DASH_URL, LOGIN (who the fake authorize page logs in), CHANNEL (watched, chatting),
// CHROMIUM (default /usr/bin/chromium), SHOTS (screenshot directory).
// Prints one line per check and the measured first paint and page weight; exits 1 on failure.
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = process.env.DASH_URL;
const channel = process.env.CHANNEL || "livechan";
const shots = process.env.SHOTS || join(tmpdir(), "clipper-shots");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
mkdirSync(shots, { recursive: true });

const profile = mkdtempSync(join(tmpdir(), "clipper-chromium-"));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = ctx.pages()[0] || (await ctx.newPage());
page.setDefaultTimeout(10000);
const problems = [];
page.on("console", (m) => { if (m.type() === "error") problems.push(`console error on ${page.url()}: ${m.text()}`); });
page.on("pageerror", (e) => problems.push(`page error on ${page.url()}: ${e.message}`));

let failed = 0;
async function check(name, fn) {
  const t0 = Date.now();
  try { await fn(); console.log(`ok   ${name} (${Date.now() - t0} ms)`); }
  catch (e) { failed++; console.log(`FAIL ${name}: ${e.message.split("\n")[0]}`); }
}
function assert(c, msg) { if (!c) throw new Error(msg); }

// First paint and weight of the page just loaded (decoded bytes of the document and every
// resource it fetched, the event stream excluded).
async function measure(label) {
  const m = await page.evaluate(() => {
    const paint = performance.getEntriesByType("paint");
    const fp = paint.find((p) => p.name === "first-paint");
    const fcp = paint.find((p) => p.name === "first-contentful-paint");
    const nav = performance.getEntriesByType("navigation")[0];
    const res = performance.getEntriesByType("resource").filter((r) => !r.name.includes("/api/events"));
    const bytes = (nav ? nav.decodedBodySize : 0) + res.reduce((s, r) => s + (r.decodedBodySize || 0), 0);
    return { fp: fp ? fp.startTime : null, fcp: fcp ? fcp.startTime : null, bytes, n: res.length + 1 };
  });
  console.log(`measure ${label}: first paint ${m.fp?.toFixed(0)} ms, first contentful paint ${m.fcp?.toFixed(0)} ms, weight ${(m.bytes / 1024).toFixed(1)} KB in ${m.n} requests`);
  assert(m.bytes < 300 * 1024, `${label} weighs ${m.bytes} bytes (limit 300 KB)`);
  return m;
}

async function fits(label) {
  const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(over <= 1, `${label}: page ${over}px wider than the viewport`);
}

try {
  await check("log in through the fake Twitch authorize page", async () => {
    await page.goto(base + "/");
    assert(page.url().includes("/oauth2/authorize"), "not sent to authorize: " + page.url());
    const u = new URL(page.url());
    assert(u.searchParams.get("scope").split(" ").includes("clips:edit"), "no clips:edit scope");
    await page.click("#authorize");
    await page.waitForURL(base + "/");
    await page.waitForSelector("#rows tr th a");
  });

  await check("overview lists the channel and is keyboard navigable", async () => {
    await page.goto(base + "/");
    await page.waitForSelector(`#rows a[href="/channel/${channel}"]`);
    await measure("overview");
    await page.keyboard.press("Tab");
    assert(await page.evaluate(() => document.activeElement.textContent) === "Skip to content", "first Tab is not the skip link");
    await page.keyboard.press("Tab");
    assert(await page.evaluate(() => document.activeElement.getAttribute("href")) === "/", "second Tab is not the nav");
    await page.screenshot({ path: join(shots, "overview-1280.png"), fullPage: true });
  });

  await check("a channel is added from the overview", async () => {
    await page.fill("#new-channel", "browseradded");
    await page.keyboard.press("Enter");
    await page.waitForSelector('#rows a[href="/channel/browseradded"]', { timeout: 5000 });
  });

  await check("channel page: the SSE timeline updates", async () => {
    await page.goto(`${base}/channel/${channel}`);
    await page.waitForSelector("#timeline canvas");
    await page.waitForFunction(() => Number(document.body.dataset.windows || 0) >= 2, null, { timeout: 20000 });
    await measure("channel");
    await page.screenshot({ path: join(shots, "channel-1280.png"), fullPage: true });
  });

  await check("channel page: a scripted burst becomes a clip on the live page", async () => {
    writeFileSync(join(shots, "burst.now"), ""); // the Rust side sends !testclip and a burst
    await page.waitForFunction(() => Number(document.body.dataset.clips || 0) >= 1, null, { timeout: 25000 });
    const first = await page.textContent("#recent-clips li");
    assert(/would_clip|pending|confirmed/.test(first) && first.includes("forced"), "clip item: " + first);
    await page.screenshot({ path: join(shots, "channel-clip-1280.png"), fullPage: true });
  });

  await check("channel page: a threshold change is saved", async () => {
    await page.fill("#s-threshold", "0.75");
    await page.click('#settings button[type="submit"]');
    await page.waitForFunction(() => document.querySelector("#settings .note").textContent === "Saved.");
    const list = await page.evaluate(async () => (await fetch("/api/channels")).json());
    const c = list.find((x) => x.channel === channel);
    assert(c.threshold === 0.75, "threshold not saved: " + JSON.stringify(c));
  });

  await check("clips page: filters, cards, CSV export", async () => {
    await page.goto(base + "/clips");
    await page.waitForSelector(".card");
    const n = await page.locator(".card").count();
    await page.selectOption("#f-status", "failed");
    await page.waitForFunction((n) => document.querySelectorAll(".card").length < n, n);
    const href = await page.getAttribute('.exports a[download="clips.csv"]', "href");
    const csv = await page.evaluate(async (h) => (await fetch(h)).text(), href);
    assert(csv.startsWith("request_id,channel,status"), "CSV header: " + csv.slice(0, 40));
    assert(csv.trim().split("\n").length === 2, "CSV of failed clips: " + csv);
    await page.selectOption("#f-status", "");
    await page.waitForFunction((n) => document.querySelectorAll(".card").length === n, n);
    await measure("clips");
    await page.screenshot({ path: join(shots, "clips-1280.png"), fullPage: true });
  });

  await check("analytics page: chart and counts", async () => {
    await page.goto(base + "/analytics");
    await page.waitForSelector("#per-day canvas");
    await page.waitForSelector("table.bars");
    await measure("analytics");
    await page.screenshot({ path: join(shots, "analytics-1280.png"), fullPage: true });
  });

  await check("every page fits a phone (390x844)", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, path, sel] of [["overview", "/", "#rows a"], ["channel", `/channel/${channel}`, "#timeline canvas"], ["clips", "/clips", ".card"], ["analytics", "/analytics", "#per-day canvas"]]) {
      await page.goto(base + path);
      await page.waitForSelector(sel);
      await fits(name);
      await page.screenshot({ path: join(shots, `${name}-390.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await check("no console errors on any page", async () => {
    assert(problems.length === 0, problems.join("\n"));
  });

  await check("log out", async () => {
    await page.goto(base + "/");
    await page.click('#logout button');
    await page.waitForSelector("text=Logged out");
    const r = await page.evaluate(async () => (await fetch("/api/me")).status);
    assert(r === 401, "still logged in: " + r); // (this 401 is the one console error expected)
  });

} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(failed ? `browser test: ${failed} check(s) failed` : "browser test: all checks passed");
console.log(`screenshots: ${shots}`);
process.exit(failed ? 1 : 0);
