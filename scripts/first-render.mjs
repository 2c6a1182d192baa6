#!/usr/bin/env node
// First interactive render (issue 16): the built page (dist/) served on
// localhost and loaded in headless Chromium, fresh profile each time; the
// time from navigation start to the first <button> the app renders (the wasm
// fetched, compiled, instantiated and mounted: the page answers clicks from
// then on). Prints one JSON line with the median, min and max of the loads.
// Not asserted: the number lives here, in the benchmark.
//
//   node scripts/first-render.mjs [--dist DIR] [--loads N]     (default dist/, 7)
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./static-server.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(ROOT, ".tools", "package.json"));
const { chromium } = require("playwright-core");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
/// How long one load may take on a loaded 2-core machine.
const WAIT_MS = 30_000;
/// Loads measured at most (each is a fresh browser context).
const LOADS_MAX = 50;

function parseArgs(argv) {
  const args = { dist: path.join(ROOT, "dist"), loads: 7 };
  for (let i = 0; i < argv.length; i++) {
    const next = () => argv[++i] ?? usage(`${argv[i - 1]} needs a value`);
    if (argv[i] === "--dist") args.dist = path.resolve(next());
    else if (argv[i] === "--loads") args.loads = Number(next());
    else usage(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(args.loads) || args.loads < 1 || args.loads > LOADS_MAX) {
    usage(`--loads must be a whole number from 1 to ${LOADS_MAX}`);
  }
  if (!fs.existsSync(path.join(args.dist, "index.html"))) {
    usage(`no index.html in ${args.dist}: run trunk build --release first`);
  }
  return args;
}

function usage(why) {
  console.error(`first-render: ${why}`);
  console.error("usage: node scripts/first-render.mjs [--dist DIR] [--loads N]");
  process.exit(2);
}

/// Runs in the page before its scripts: notes the time the first button
/// appears (performance.now() counts from navigation start).
function watchForFirstButton() {
  const seen = () => {
    if (window.__firstButtonMs === undefined && document.querySelector("button")) {
      window.__firstButtonMs = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true });
}

async function oneLoad(browser, url) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.addInitScript(watchForFirstButton);
    await page.goto(url);
    await page.waitForFunction(() => window.__firstButtonMs !== undefined, null, {
      timeout: WAIT_MS,
    });
    return await page.evaluate(() => window.__firstButtonMs);
  } finally {
    await context.close();
  }
}

const args = parseArgs(process.argv.slice(2));
const server = await serve(args.dist);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
try {
  const url = `http://127.0.0.1:${server.address().port}/`;
  const times = [];
  for (let i = 0; i < args.loads; i++) times.push(await oneLoad(browser, url));
  times.sort((a, b) => a - b);
  const ms = (x) => Math.round(x * 10) / 10;
  console.log(
    JSON.stringify({
      bench: "first_render",
      loads: times.length,
      ms_median: ms(times[Math.floor(times.length / 2)]),
      ms_min: ms(times[0]),
      ms_max: ms(times[times.length - 1]),
      goal_ms: 200,
    }),
  );
} finally {
  await browser.close();
  server.close();
}
