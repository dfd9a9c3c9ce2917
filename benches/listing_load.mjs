// How long a big folder listing takes to load in headless Chromium.
//
//   node benches/listing_load.mjs URL RUNS
//
// URL is a ferry listing on 127.0.0.1 (benches/listing_load.sh starts ferry
// on a 5,000-entry folder and runs this). Loads the page twice to warm up
// (ferry compresses a listing once, off its workers), then RUNS times, each
// in a fresh tab, and prints one line per run and the medians:
// DOMContentLoaded and load (ms from navigation start, Navigation Timing),
// bytes on the wire and decoded, rows in the table.
// Uses playwright-core from tests/browser (npm ci there) and Debian's
// /usr/bin/chromium (CHROMIUM overrides it). Every wait is bounded; the
// browser is closed in a finally block.

import { createRequire } from "node:module";

const require = createRequire(new URL("../tests/browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const [url, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 9);
if (!url || new URL(url).hostname !== "127.0.0.1" || !(runs > 0)) {
  console.error("usage: node benches/listing_load.mjs http://127.0.0.1:PORT/dir/ RUNS");
  process.exit(2);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const watchdog = setTimeout(() => {
  console.error("listing_load: watchdog fired after 300 s");
  process.exit(3);
}, 300_000);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  timeout: 30_000,
  args: ["--no-sandbox", "--disable-gpu", "--proxy-server=http://127.0.0.1:9"],
});
let status = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const load = async () => {
    const page = await context.newPage();
    try {
      const resp = await page.goto(url, { waitUntil: "load", timeout: 30_000 });
      if (!resp || resp.status() !== 200) throw new Error(`status ${resp && resp.status()}`);
      return await page.evaluate(() => {
        const n = performance.getEntriesByType("navigation")[0];
        return {
          dcl: n.domContentLoadedEventEnd,
          load: n.loadEventEnd,
          wire: n.encodedBodySize,
          bytes: n.decodedBodySize,
          rows: document.querySelectorAll("tbody tr").length,
        };
      });
    } finally {
      await page.close();
    }
  };
  await load();
  await load();
  const got = [];
  for (let i = 0; i < runs; i++) {
    const r = await load();
    got.push(r);
    console.log(
      `run ${i + 1}: DOMContentLoaded ${r.dcl.toFixed(1)} ms, load ${r.load.toFixed(1)} ms, ` +
        `${r.wire} bytes on the wire, ${r.bytes} bytes of HTML, ${r.rows} rows`,
    );
  }
  console.log(
    `median of ${runs}: DOMContentLoaded ${median(got.map((r) => r.dcl)).toFixed(1)} ms, ` +
      `load ${median(got.map((r) => r.load)).toFixed(1)} ms, ` +
      `${got[0].bytes} bytes of HTML (${got[0].wire} on the wire), ${got[0].rows} rows`,
  );
} catch (e) {
  console.error(`listing_load: ${e.message}`);
  status = 1;
} finally {
  await browser.close().catch(() => {});
  clearTimeout(watchdog);
}
process.exit(status);
