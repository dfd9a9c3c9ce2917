// What every browser script shares: the loopback-only base URL, the check
// lines ("ok [id] ..." / "FAIL [id] ..."), bounded steps, the Chromium
// launch (Debian's /usr/bin/chromium, headless, a dead proxy), the
// watchdog and signal handling, and the end of a run (browser closed in a
// finally block, summary line, exit status). Used by e2e.mjs and live.mjs.
// CHROMIUM overrides the browser binary (default /usr/bin/chromium).

import fs from "node:fs";
import { chromium } from "playwright-core";

export const EXE = process.env.CHROMIUM || "/usr/bin/chromium";
export const STEP_MS = 10_000; // any single wait

/** The base URL argument, with a trailing slash; exits unless it is 127.0.0.1. */
export function loopbackBase(arg, usage) {
  if (!arg) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  const base = new URL(arg);
  if (base.hostname !== "127.0.0.1") {
    console.error(`refusing a non-loopback base URL: ${base}`);
    process.exit(2);
  }
  return base.href.endsWith("/") ? base.href : base.href + "/";
}

let passed = 0;
let failed = 0;
let aborted = false; // set by the watchdog or a signal: run no further step

export function ok(id, msg) {
  passed++;
  console.log(`ok [${id}] ${msg}`);
}
export function fail(id, msg) {
  failed++;
  console.log(`FAIL [${id}] ${msg}`);
}
export function check(id, cond, msg, detail = "") {
  if (cond) ok(id, msg);
  else fail(id, `${msg}${detail ? ` (${detail})` : ""}`);
  return cond;
}
/** Runs one step; an exception (a timeout included) fails it, and the run goes on. */
export async function step(id, fn) {
  if (aborted) {
    fail(id, "not run (aborted)");
    return;
  }
  try {
    await fn();
  } catch (e) {
    fail(id, `threw: ${String(e && e.message ? e.message : e).split("\n")[0]}`);
  }
}
/** A promise that rejects after `ms`. */
export function within(ms, what, p) {
  let t;
  const timer = new Promise((_, rej) => {
    t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

let context = null;

/**
 * Launches Chromium on a fresh (empty) user-data dir. Only loopback can be
 * reached: anything else goes to a closed local port through the proxy.
 */
export async function launch(userData) {
  if (fs.readdirSync(userData).length !== 0) {
    throw new Error(`user-data dir ${userData} is not fresh (not empty)`);
  }
  context = await chromium.launchPersistentContext(userData, {
    executablePath: EXE,
    headless: true,
    timeout: 20_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // Belt and braces for "only 127.0.0.1 traffic": anything that is not
      // loopback (always bypassed) would go to a closed local port and fail.
      "--proxy-server=http://127.0.0.1:9",
    ],
    viewport: { width: 960, height: 420 }, // fullPage screenshots grow as needed
    deviceScaleFactor: 1,
    colorScheme: "light",
    locale: "en-US",
    timezoneId: "UTC",
  });
  return context;
}

export async function closeBrowser() {
  if (!context) return;
  const c = context;
  context = null;
  try {
    await within(5_000, "closing the browser", c.close());
  } catch (e) {
    console.error(`closing the browser: ${e.message}`);
    try {
      c.browser()?.process?.()?.kill("SIGKILL");
    } catch {}
  }
}

/** Records every request the context makes to a host other than 127.0.0.1. */
export function watchForeign(ctx) {
  const foreign = [];
  ctx.on("request", (r) => {
    const u = new URL(r.url());
    if (u.protocol === "data:" || u.protocol === "blob:" || u.protocol === "about:") return;
    if (u.hostname !== "127.0.0.1") foreign.push(r.url());
  });
  return foreign;
}

/**
 * Stops the run after `ms` (closing the browser first, exit 3), and on
 * SIGTERM/SIGINT (exit 4).
 */
export function guard(ms) {
  const watchdog = setTimeout(async () => {
    aborted = true;
    console.log(`FAIL [watchdog] the run took longer than ${ms} ms`);
    await closeBrowser();
    process.exit(3);
  }, ms);
  watchdog.unref();
  for (const sig of ["SIGTERM", "SIGINT"]) {
    process.on(sig, async () => {
      aborted = true;
      console.log(`FAIL [signal] got ${sig}`);
      await closeBrowser();
      process.exit(4);
    });
  }
  return watchdog;
}

/**
 * Runs `main`, closes the browser (then `cleanup`), prints the summary line
 * `NAME: N checks ok, M failed` and exits: 0 only if every check passed.
 */
export async function finish(name, watchdog, main, cleanup = () => {}) {
  try {
    await main();
  } catch (e) {
    fail("setup", String(e && e.message ? e.message : e).split("\n")[0]);
  } finally {
    await closeBrowser();
    cleanup();
  }
  let code = 0;
  if (failed > 0 || passed === 0) code = 1;
  if (aborted) code = 3;
  console.log(`${name}: ${passed} checks ok, ${failed} failed`);
  clearTimeout(watchdog);
  process.exit(code);
}
