// The crash loop (issue 18, item 5): a real Chromium, SIGKILLed while the
// page's log runs with acks=all, relaunched on the same profile, again and
// again. After each relaunch every record the page had acknowledged before
// the kill must be back, or the page itself must say that it is gone.
//
//   node scripts/kill-loop.mjs [--seed N] [--iterations K] [--dist DIR] [--keep-profile] [--stop-on-loss]
//
// `--stop-on-loss` fails the loop at the first loss the page reports, before
// "Start fresh", so the profile kept shows what the browser left on disk.
//
// What one iteration does:
//   1. launch /usr/bin/chromium ourselves (so we hold the browser's main
//      process id) on the loop's own --user-data-dir, with a DevTools port;
//      Playwright attaches over CDP;
//   2. load the page from a static server on 127.0.0.1 and, if an earlier
//      iteration left a log, check it: Resume must be offered; after Resume,
//      every partition must end at or after what the page had acknowledged
//      (the `brokerlab.acked` record in localStorage, read just before the
//      kill), unless the page put up its own "acknowledged records are gone"
//      banner, which counts as a reported loss, not a failure;
//   3. choose the Log broker (first iteration), 100× speed, Play;
//   4. at a seeded random moment read the record, then SIGKILL the main
//      process by pid.
// No console error and no uncaught page error is allowed at any point.
//
// The kill moments come from the seed printed first; a failure prints the
// seed, the iteration and the command that replays the same schedule.
// Drives the page by accessible names only (role + name), as people do.

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { randomInt } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./static-server.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(ROOT, ".tools", "package.json"));
const { chromium } = require("playwright-core");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
/// The page's record of what it acknowledged (src/storage/acked.rs).
const ACKED_KEY = "brokerlab.acked";
/// The database the page keeps its log in (src/ui/persist.rs).
const DB_NAME = "brokerlab-log";
/// Wall ms after Play before the kill: drawn from this range.
const RUN_MS_MIN = 150;
const RUN_MS_MAX = 2500;
/// One kill in this many comes during start-up instead (page load, store
/// open, Resume): recovery itself must survive a kill too.
const EARLY_KILL_ONE_IN = 6;
/// Wall ms after navigation for an early kill.
const EARLY_MS_MAX = 1500;
/// How long anything the page should show may take (a loaded 2-core machine).
const WAIT_MS = 30_000;
/// How long a start-up cut short by an early kill may take to wind down.
const AFTER_KILL_MS = 5_000;
/// How long the first visit stays open before its clean close: longer than
/// the 10 s after which Chromium commits its storage bookkeeping (see
/// [`firstVisit`]).
const FIRST_VISIT_MS = 12_000;

function parseArgs(argv) {
  const args = { seed: null, iterations: 50, dist: path.join(ROOT, "dist"), keepProfile: false, stopOnLoss: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--seed") args.seed = wholeNumber(a, next());
    else if (a === "--iterations") args.iterations = wholeNumber(a, next());
    else if (a === "--dist") args.dist = path.resolve(next());
    else if (a === "--keep-profile") args.keepProfile = true;
    else if (a === "--stop-on-loss") args.stopOnLoss = true;
    else usage(`unknown argument ${a}`);
  }
  if (args.seed === null) args.seed = randomInt(1, 2 ** 31);
  if (args.iterations < 1) usage("--iterations must be at least 1");
  return args;
}

function wholeNumber(name, text) {
  if (!/^\d+$/.test(text)) usage(`${name} must be a whole number, not ${JSON.stringify(text)}`);
  return Number(text);
}

function usage(why) {
  console.error(`kill-loop: ${why}`);
  console.error("usage: node scripts/kill-loop.mjs [--seed N] [--iterations K] [--dist DIR] [--keep-profile] [--stop-on-loss]");
  process.exit(2);
}

/// mulberry32: a small seeded generator; the kill schedule depends on the seed only.
function rng(seed) {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
    between(lo, hi) {
      return lo + Math.floor(this.next() * (hi - lo + 1));
    },
  };
}

/// Starts Chromium on `profile` and waits for its DevTools endpoint.
function launch(profile) {
  const args = [
    "--headless",
    `--user-data-dir=${profile}`,
    "--remote-debugging-port=0",
    "--remote-debugging-address=127.0.0.1",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--no-default-browser-check",
    "about:blank",
  ];
  // Its own process group, so the helpers it forks can be cleaned up after
  // the main process is killed (they exit on their own once it is gone).
  const child = spawn(CHROMIUM, args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let stderr = "";
  const endpoint = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no DevTools endpoint in ${WAIT_MS} ms:\n${stderr}`)), WAIT_MS);
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`chromium exited (${code ?? signal}) before it listened:\n${stderr}`));
    });
  });
  const browser = { child, endpoint, stderr: () => stderr, exit: null };
  browser.exited = new Promise((ok) =>
    child.on("exit", (code, signal) => {
      browser.exit = signal ?? `exit code ${code}`;
      ok();
    }),
  );
  return browser;
}

/// SIGKILL to the browser's main process, by pid; then its leftover helpers.
async function kill(browser) {
  const pid = browser.child.pid;
  if (browser.exit !== null) {
    const tail = browser.stderr().split("\n").slice(-15).join("\n  ");
    throw new Failure(`chromium was gone before the kill (${browser.exit}):\n  ${tail}`);
  }
  process.kill(pid, "SIGKILL");
  await browser.exited;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // the group is already gone
  }
}

/// The page's acknowledged frontiers, per partition, from its
/// `brokerlab.acked` record (the page writes it every 250 ms while a run
/// plays, so a kill soon after Play may find none yet: `null`).
async function ackedNow(page) {
  const text = await page.evaluate((key) => localStorage.getItem(key), ACKED_KEY);
  if (!text) return null;
  const record = JSON.parse(text);
  if (record.version !== 1) throw new Failure(`brokerlab.acked has format version ${record.version}, this loop reads 1`);
  if (record.db !== DB_NAME) return null;
  return { partitions: record.partitions, acked: record.acked };
}

/// Per partition drawn in the page's picture, its log end, from each
/// partition's description ("orders-0: offsets 0..12, 12 on disk, ...").
async function partitionEnds(page) {
  const titles = await page.locator("svg g.partition > title").allTextContents();
  const ends = {};
  for (const t of titles) {
    const m = /^(.+): offsets (\d+)\.\.(\d+), (\d+) on disk/.exec(t);
    if (m) ends[m[1]] = Number(m[3]);
  }
  return ends;
}

/// Frontiers `a` raised to `b` where `b` is further (a later read of the
/// same log's record).
function furthest(a, b) {
  const out = { ...a };
  for (const [p, n] of Object.entries(b)) out[p] = Math.max(out[p] ?? 0, n);
  return out;
}

function sum(partitions) {
  return Object.values(partitions).reduce((s, n) => s + n, 0);
}

class Failure extends Error {}

/// The page's first visit on the fresh profile: open it, let the store
/// open, wait [`FIRST_VISIT_MS`], close the browser cleanly. No log is
/// written.
///
/// Why: Chromium keeps its record of which sites have storage (the
/// QuotaManager SQLite database, `Default/WebStorage/QuotaManager`) in an
/// open transaction that it commits only 10 s after a change
/// (`QuotaDatabase::ScheduleCommit`, `kCommitIntervalMs`), or at a clean
/// exit. A profile whose every launch is SIGKILLed sooner never commits that
/// the page's site has storage, and now and then Chromium then starts with
/// the site's IndexedDB directory gone: its LevelDB log says "Creating DB
/// ... since it was missing", and both the log and the database are simply
/// not there, with no `dataLoss` for the page to report. That is the
/// browser forgetting a site it never finished registering, not the page
/// losing what IndexedDB had committed; a person's browser has been closed
/// at least once since their first visit. The kills that follow test the
/// page's durability on a profile that knows the site.
async function firstVisit(ctx) {
  const browser = launch(ctx.profile);
  const errors = [];
  const { cdp, page } = await attach(browser, errors);
  await page.goto(`${ctx.url}#/play`);
  await page.getByRole("combobox", { name: "Broker", exact: true }).selectOption({ label: "Log" });
  await page.getByText(/· log in IndexedDB/).waitFor();
  await sleep(FIRST_VISIT_MS);
  await cdp.close();
  // A clean exit: Chromium commits what it holds before it goes.
  process.kill(browser.child.pid, "SIGTERM");
  await browser.exited;
  checkErrors(errors, "on the first visit");
}

/// One launch → check → run → kill. Most kills come a seeded time after
/// Play; one in [`EARLY_KILL_ONE_IN`] comes a seeded time after navigation,
/// wherever the start-up has got to (loading, opening the store, Resume).
async function iteration(ctx) {
  const { rand } = ctx;
  const early = rand.between(1, EARLY_KILL_ONE_IN) === 1;
  const earlyMs = rand.between(0, EARLY_MS_MAX);
  const runMs = rand.between(RUN_MS_MIN, RUN_MS_MAX);
  const browser = launch(ctx.profile);
  const out = { early, restored: null, lossReported: null, read: null, errors: [], note: "" };
  let killed = false;
  const flow = run(ctx, browser, out, runMs).then(
    () => null,
    (e) => (killed ? null : e),
  );
  if (early) {
    await Promise.race([flow, browser.endpoint.then(() => sleep(earlyMs))]);
    out.note = `killed ${earlyMs} ms after start-up began`;
  }
  const failed = early ? null : await flow;
  killed = true;
  await kill(browser);
  // Whatever the start-up was waiting for fails now the browser is gone;
  // a CDP connection still being set up may take its own time to notice.
  await out.cdp?.close().catch(() => {});
  const late = early ? await Promise.race([flow, sleep(AFTER_KILL_MS)]) : null;
  const error = failed ?? late;
  if (error) throw error;
  checkErrors(out.errors, "before the kill");
  return out;
}

/// Playwright over CDP on `browser`'s first page, collecting console errors
/// and uncaught page errors into `errors`.
async function attach(browser, errors) {
  const cdp = await chromium.connectOverCDP(await browser.endpoint, { timeout: WAIT_MS });
  const context = cdp.contexts()[0];
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.setDefaultTimeout(WAIT_MS);
  return { cdp, page };
}

/// Load, reopen what is stored, Play, read what was acknowledged.
async function run(ctx, browser, out, runMs) {
  const { cdp, page } = await attach(browser, out.errors);
  out.cdp = cdp;
  await page.goto(`${ctx.url}#/play`);
  await reopen(ctx, page, out);
  await page.getByRole("combobox", { name: "Speed", exact: true }).selectOption({ label: "100×" });
  await page.getByText(/· log in IndexedDB/).waitFor();
  await page.getByRole("button", { name: "Play", exact: true }).click();
  await sleep(runMs);
  out.read = await ackedNow(page);
  out.note = `killed ${runMs} ms after Play`;
}

function sleep(ms) {
  return new Promise((ok) => setTimeout(ok, ms));
}

function checkErrors(errors, when) {
  if (errors.length) throw new Failure(`${when}: ${errors.join("\n  ")}`);
}

/// After a relaunch: a stored log must be offered and hold what was
/// acknowledged, or the page must say what is gone. Leaves a log run on
/// IndexedDB selected.
async function reopen(ctx, page, out) {
  const resume = page.getByRole("button", { name: "Resume", exact: true });
  const gone = page.getByRole("alert", { name: /acknowledged records? (are|is) gone from the stored log/ });
  await page.getByRole("combobox", { name: "Broker", exact: true }).selectOption({ label: "Log" });
  await page.getByText(/· log in IndexedDB/).or(resume).or(gone).first().waitFor();
  if ((await resume.isVisible()) || (await gone.isVisible())) {
    return resumeAndCompare(ctx, page, out, resume, gone);
  }
  if (ctx.logWritten) {
    throw new Failure(`a log was written before the kill, and the page offers no Resume\n  ${await storedState(page)}`);
  }
}

/// What the browser holds for the page, for a failure's message: the
/// databases IndexedDB lists, and the record of acknowledgements.
async function storedState(page) {
  const state = await page
    .evaluate(async (key) => ({
      databases: indexedDB.databases ? (await indexedDB.databases()).map((d) => `${d.name} v${d.version}`) : "n/a",
      acked: localStorage.getItem(key),
    }), ACKED_KEY)
    .catch((e) => ({ error: String(e) }));
  return `what the browser holds: ${JSON.stringify(state)}`;
}

async function resumeAndCompare(ctx, page, out, resume, gone) {
  if (await gone.isVisible()) {
    out.lossReported = await gone.getByRole("heading").textContent();
    // Every sentence of the page's report (what the browser said, where):
    // a reported loss is allowed, but the loop's output keeps why.
    out.lossDetail = (await gone.locator("p").allTextContents()).join(" ");
    if (ctx.stopOnLoss) {
      throw new Failure(`stopped at a reported loss (--stop-on-loss): ${out.lossReported}: ${out.lossDetail}\n  ${await storedState(page)}`);
    }
  }
  const offered = (await resume.isVisible()) && (await resume.isEnabled());
  if (!offered && !out.lossReported) throw new Failure("the stored log is not offered for Resume");
  if (offered) {
    await resume.click();
    await resume.waitFor({ state: "hidden" });
    const ends = await partitionEnds(page);
    const short = Object.entries(ctx.expected)
      .filter(([p, n]) => (ends[p] ?? 0) < n)
      .map(([p, n]) => `${p}: acknowledged up to offset ${n}, back up to ${ends[p] ?? 0}`);
    if (short.length && !out.lossReported) {
      throw new Failure(`acknowledged records did not come back and the page said nothing:\n  ${short.join("\n  ")}`);
    }
    out.restored = { ends, short };
  }
  if (out.lossReported) {
    // The page said what is gone; go on from a fresh log, as a person would.
    await page.getByRole("button", { name: "Start fresh", exact: true }).first().click();
    ctx.expected = {};
    ctx.logWritten = false;
    await page.getByRole("combobox", { name: "Broker", exact: true }).selectOption({ label: "Log" });
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  console.log(`kill-loop: seed ${args.seed}, ${args.iterations} iterations`);
  if (!fs.existsSync(path.join(args.dist, "index.html"))) usage(`no build in ${args.dist} (run trunk build --release first)`);
  const profile = path.join(ROOT, "target", "kill-loop", "profile");
  fs.rmSync(profile, { recursive: true, force: true });
  fs.mkdirSync(profile, { recursive: true });
  const server = await serve(args.dist);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const ctx = { rand: rng(args.seed), url, profile, expected: {}, logWritten: false, stopOnLoss: args.stopOnLoss };
  const tally = { kills: 0, early: 0, checked: 0, allBack: 0, lossReported: 0, acked: 0 };
  let i = 0;
  try {
    await firstVisit(ctx);
    for (i = 0; i < args.iterations; i++) {
      const before = ctx.expected;
      const started = Date.now();
      const out = await iteration(ctx);
      const took = ((Date.now() - started) / 1000).toFixed(1);
      tally.kills++;
      if (out.early) tally.early++;
      if (out.restored) {
        tally.checked++;
        if (out.restored.short.length === 0) tally.allBack++;
      }
      if (out.lossReported) tally.lossReported++;
      if (out.read) {
        ctx.expected = furthest(ctx.expected, out.read.partitions);
        ctx.logWritten ||= sum(out.read.partitions) > 0;
      }
      tally.acked = Math.max(tally.acked, sum(ctx.expected));
      const back = out.restored ? `back: ${fmt(out.restored.ends)} (needed ${fmt(before)})` : "nothing to check";
      const loss = out.lossReported ? `; the page reported: ${out.lossReported} (${out.lossDetail})` : "";
      const read = out.read ? `; acknowledged: ${fmt(out.read.partitions)} (${out.read.acked} acks)` : "";
      console.log(`iteration ${i} (${took} s): ${back}${loss}; ${out.note}${read}`);
    }
  } catch (e) {
    console.error(`\nkill-loop FAILED at iteration ${i} (seed ${args.seed}): ${e instanceof Failure ? e.message : e.stack}`);
    console.error(`reproduce: node scripts/kill-loop.mjs --seed ${args.seed} --iterations ${i + 1}`);
    console.error(`profile kept in ${profile}`);
    server.close();
    process.exit(1);
  }
  server.close();
  if (!args.keepProfile) fs.rmSync(profile, { recursive: true, force: true });
  const s = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(
    `kill-loop: seed ${args.seed}: ${tally.kills} kills (${tally.early} during start-up), ` +
      `${tally.checked} reopened logs checked, ${tally.allBack} with every acknowledged record back, ` +
      `${tally.lossReported} losses reported by the page, up to ${tally.acked} acknowledged records, in ${s} s`,
  );
}

function fmt(partitions) {
  const e = Object.entries(partitions);
  return e.length ? e.map(([p, n]) => `${p}@${n}`).join(" ") : "-";
}

main();
