// Real-browser end-to-end check of ferry, driven by tests/it/browser.rs.
//
//   node e2e.mjs BASE_URL SCREENSHOT_PNG [USER_DATA_DIR]
//
// BASE_URL is a running ferry (http://127.0.0.1:PORT/) serving the site that
// tests/it/browser.rs lays out. Prints one line per check ("ok [id] ..." or
// "FAIL [id] ..."), then a summary; exits 0 only if every check passed.
// Every wait is bounded, and the browser is closed in a finally block
// (launch, check lines, watchdog and exit: harness.mjs).
// CHROMIUM overrides the browser binary (default /usr/bin/chromium).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  EXE,
  STEP_MS,
  check,
  finish,
  guard,
  launch,
  loopbackBase,
  step,
  watchForeign,
  within,
} from "./harness.mjs";

const [baseArg, shotPath, udArg] = process.argv.slice(2);
const USAGE = "node e2e.mjs BASE_URL SCREENSHOT_PNG [USER_DATA_DIR]";
const BASE = loopbackBase(shotPath ? baseArg : undefined, USAGE);

const WATCHDOG_MS = 40_000; // the whole script (tests/it/browser.rs allows 50 s)
const watchdog = guard(WATCHDOG_MS);

// Must match tests/it/browser.rs.
const SUBDIR = "sub dir";
const FILE = "héllo wörld.txt";
const FILE_TEXT = "Grüße from ferry: héllo wörld ✓";

/** Decoded path of a URL ("/sub dir/héllo wörld.txt"). */
const decodedPath = (u) => decodeURIComponent(new URL(u).pathname);

let ownUserData = null;

/**
 * Marks the first <a> (preferring one inside `scope`) whose href resolves to
 * `target` with data-e2e=`mark`, and returns how many anchors matched.
 */
async function markLink(page, target, mark, scope = "table") {
  return page.evaluate(
    ({ target, mark, scope }) => {
      const want = decodeURIComponent(new URL(target).pathname);
      const all = [...document.querySelectorAll("a[href]")].filter(
        (a) => decodeURIComponent(new URL(a.href).pathname) === want,
      );
      const inScope = all.filter((a) => scope && a.closest(scope));
      const pick = inScope[0] || all[0];
      if (pick) pick.setAttribute("data-e2e", mark);
      return all.length;
    },
    { target, mark, scope },
  );
}

/** Clicks the marked link and returns the navigation's main response. */
async function follow(page, mark, expectedUrl) {
  const want = decodedPath(expectedUrl);
  const [resp] = await Promise.all([
    page.waitForResponse(
      (r) => r.request().isNavigationRequest() && decodedPath(r.url()) === want,
      { timeout: STEP_MS },
    ),
    page.click(`[data-e2e="${mark}"]`, { timeout: STEP_MS }),
  ]);
  await page.waitForLoadState("load", { timeout: STEP_MS });
  return resp;
}

async function main() {
  fs.mkdirSync(path.dirname(shotPath), { recursive: true });
  let userData = udArg;
  if (!userData) {
    userData = ownUserData = fs.mkdtempSync(path.join(os.tmpdir(), "ferry-e2e-profile-"));
  }
  const context = await launch(userData);
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(STEP_MS);
  page.setDefaultNavigationTimeout(STEP_MS);

  // Every request the browser makes, and every response status per path.
  const foreign = watchForeign(context);
  const statuses = new Map(); // decoded path -> [status...]
  const mediaRanges = []; // Range headers the <video> element sent
  const mediaStatuses = []; // and the statuses (with Content-Range) it got
  context.on("request", (r) => {
    if (r.resourceType() === "media") mediaRanges.push(r.headers()["range"] || "(none)");
  });
  context.on("response", (r) => {
    const u = new URL(r.url());
    if (u.hostname !== "127.0.0.1") return;
    const p = decodeURIComponent(u.pathname);
    if (!statuses.has(p)) statuses.set(p, []);
    statuses.get(p).push(r.status());
    if (r.request().resourceType() === "media") {
      const cr = r.headers()["content-range"];
      mediaStatuses.push(cr ? `${r.status()} (${cr})` : String(r.status()));
    }
  });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  console.log(`browser: ${EXE} ${context.browser()?.version() ?? ""}`.trim());
  console.log(`base: ${BASE}`);

  // 1. Root listing, with a screenshot.
  await step("root-listing", async () => {
    const resp = await page.goto(BASE, { waitUntil: "load" });
    const ctype = resp.headers()["content-type"] || "";
    // Entry links: those inside the listing's <table>.
    const names = await page.evaluate(() =>
      [...document.querySelectorAll("table a[href]")].map((a) =>
        decodeURIComponent(new URL(a.href).pathname),
      ),
    );
    const want = ["/clip.webm", "/video.html", `/${SUBDIR}/`, "/welcome/"];
    const missing = want.filter((w) => !names.includes(w));
    check(
      "root-listing",
      resp.status() === 200 && ctype.startsWith("text/html") && missing.length === 0,
      `GET / is an HTML listing (${resp.status()}, ${ctype}) whose <table> links ${want.join(", ")}`,
      missing.length ? `missing table links: ${missing.join(", ")}` : "",
    );
  });
  await step("screenshot", async () => {
    await page.screenshot({ path: shotPath, fullPage: true, timeout: STEP_MS });
    const size = fs.statSync(shotPath).size;
    check("screenshot", size > 1000, `screenshot of the root listing saved: ${shotPath} (${size} bytes)`);
    console.log(`screenshot: ${path.resolve(shotPath)}`);
  });

  // 2. Follow the link into "sub dir/".
  const subUrl = new URL(encodeURIComponent(SUBDIR) + "/", BASE).href;
  await step("into-subdir", async () => {
    await page.goto(BASE, { waitUntil: "load" });
    const n = await markLink(page, subUrl, "sub");
    if (!n) throw new Error(`no link to ${subUrl} on the root listing`);
    const resp = await follow(page, "sub", subUrl);
    const files = await page.evaluate(() =>
      [...document.querySelectorAll("a[href]")].map((a) =>
        decodeURIComponent(new URL(a.href).pathname),
      ),
    );
    check(
      "into-subdir",
      resp.status() === 200 &&
        decodedPath(page.url()) === `/${SUBDIR}/` &&
        files.includes(`/${SUBDIR}/${FILE}`),
      `clicked the "${SUBDIR}/" link: now at ${page.url()} (${resp.status()}), listing links "${FILE}"`,
      `files: ${files.join(", ")}`,
    );
  });

  // 3. Back to the root by the breadcrumb (or, until the new listing lands, "../").
  await step("back-to-root", async () => {
    if (decodedPath(page.url()) !== `/${SUBDIR}/`) await page.goto(subUrl, { waitUntil: "load" });
    let via = null;
    const crumbs = await markLink(page, BASE, "up", ".breadcrumb");
    const inCrumb = await page.evaluate(() => {
      const a = document.querySelector('[data-e2e="up"]');
      return !!(a && a.closest(".breadcrumb"));
    });
    if (crumbs && inCrumb) {
      via = "breadcrumb";
    } else {
      // Fallback: the parent link "../".
      await page.evaluate(() => document.querySelector('[data-e2e="up"]')?.removeAttribute("data-e2e"));
      const marked = await page.evaluate(() => {
        const a = [...document.querySelectorAll("a[href]")].find(
          (a) => a.getAttribute("href") === "../" || a.getAttribute("href") === "./../",
        );
        if (a) a.setAttribute("data-e2e", "up");
        return !!a;
      });
      if (!marked) throw new Error("neither a .breadcrumb link to / nor a ../ link");
      via = 'parent link "../" (no .breadcrumb element with a link to / yet)';
    }
    console.log(`back-to-root uses: ${via}`);
    const resp = await follow(page, "up", BASE);
    check(
      "back-to-root",
      resp.status() === 200 && page.url() === BASE,
      `went back to the root via the ${via}: now at ${page.url()}`,
    );
  });

  // 4. The file with a space and UTF-8 in its name.
  const fileUrl = new URL(`${encodeURIComponent(SUBDIR)}/${encodeURIComponent(FILE)}`, BASE).href;
  await step("utf8-file", async () => {
    await page.goto(subUrl, { waitUntil: "load" });
    const n = await markLink(page, fileUrl, "file");
    if (!n) throw new Error(`no link to ${fileUrl} in the listing`);
    const resp = await follow(page, "file", fileUrl);
    const text = (await page.evaluate(() => document.body.innerText)).trim();
    const ctype = resp.headers()["content-type"] || "";
    check(
      "utf8-file",
      resp.status() === 200 && text === FILE_TEXT && /charset=utf-8/i.test(ctype),
      `clicked "${FILE}": ${resp.status()}, ${ctype}, text ${JSON.stringify(text)}`,
      `expected ${JSON.stringify(FILE_TEXT)}`,
    );
  });

  // 5. The welcome page: its stylesheet applied and its image rendered.
  await step("welcome-css", async () => {
    const resp = await page.goto(new URL("welcome/", BASE).href, { waitUntil: "load" });
    const css = statuses.get("/welcome/style.css") || [];
    // The expected colour comes from the served style.css itself.
    const sheet = await page.evaluate(async () => (await fetch("style.css")).text());
    const m = sheet.match(/--ink:\s*#([0-9a-f]{6})/i);
    const ink = m
      ? `rgb(${parseInt(m[1].slice(0, 2), 16)}, ${parseInt(m[1].slice(2, 4), 16)}, ${parseInt(m[1].slice(4, 6), 16)})`
      : null;
    const got = await page.evaluate(() => {
      const b = getComputedStyle(document.body);
      const main = document.querySelector("main");
      return {
        color: b.color,
        margin: b.marginTop,
        font: b.fontFamily,
        mainMax: main ? getComputedStyle(main).maxWidth : null,
        sheets: document.styleSheets.length,
      };
    });
    check(
      "welcome-css",
      resp.status() === 200 &&
        css.includes(200) &&
        got.margin === "0px" &&
        got.mainMax === "640px" &&
        got.font.includes("system-ui") &&
        (ink === null || got.color === ink),
      `welcome/ styled by style.css (${css.join("/")}): body margin ${got.margin} (UA default 8px), ` +
        `main max-width ${got.mainMax}, body color ${got.color}${ink ? ` = --ink ${ink}` : ""}, font ${got.font.split(",")[0]}`,
    );
  });
  await step("welcome-image", async () => {
    if (decodedPath(page.url()) !== "/welcome/") await page.goto(new URL("welcome/", BASE).href, { waitUntil: "load" });
    const img = await page.waitForFunction(
      () => {
        const i = document.querySelector('img[src$="ferry.svg"]');
        return i && i.complete ? { w: i.naturalWidth, h: i.naturalHeight } : null;
      },
      null,
      { timeout: STEP_MS },
    );
    const { w, h } = await img.jsonValue();
    const svg = statuses.get("/welcome/ferry.svg") || [];
    check(
      "welcome-image",
      w > 0 && h > 0 && svg.includes(200),
      `ferry.svg rendered: naturalWidth ${w}, naturalHeight ${h} (${svg.join("/")})`,
    );
  });

  // 5b. A script compressed on the fly (ferry has its forms ready): the
  // response is br, zstd or gzip, and the script ran to its last statement.
  await step("compressed-js", async () => {
    const [js] = await Promise.all([
      page.waitForResponse((r) => decodedPath(r.url()) === "/app/bundle.js", { timeout: STEP_MS }),
      page.goto(new URL("app/", BASE).href, { waitUntil: "load" }),
    ]);
    const coding = js.headers()["content-encoding"] || "(none)";
    const length = Number(js.headers()["content-length"]);
    const body = (await js.body()).length;
    const ran = await page.evaluate(() => document.body.dataset.bundle || "(not run)");
    check(
      "compressed-js",
      js.status() === 200 && ["br", "zstd", "gzip"].includes(coding) && ran === "ok" && length < body / 2,
      `app/bundle.js: ${js.status()}, Content-Encoding ${coding}, ${length} bytes on the wire for ` +
        `${body} decoded, and the script ran to its end (data-bundle ${JSON.stringify(ran)})`,
    );
  });

  // 5c. A folder of 60 files: the filter box (a small inline script) hides
  // the rows whose name lacks the text; without JavaScript the page is
  // complete and the box is not shown; the column headers sort.
  const manyUrl = new URL("many/", BASE).href;
  const visible = () =>
    page.evaluate(() =>
      [...document.querySelectorAll("tbody tr")]
        .filter((r) => !r.hidden && getComputedStyle(r).display !== "none")
        .map((r) => r.cells[0].textContent),
    );
  await step("filter-box", async () => {
    await page.goto(manyUrl, { waitUntil: "load" });
    const all = await visible();
    const shown = await page.isVisible("#filter");
    await page.fill("#filter", "ITEM 5", { timeout: STEP_MS });
    const some = await visible();
    await page.fill("#filter", "", { timeout: STEP_MS });
    const again = await visible();
    const want = ["../", "item 5.txt", ...Array.from({ length: 10 }, (_, i) => `item 5${i}.txt`)];
    check(
      "filter-box",
      shown && all.length === 61 && JSON.stringify(some) === JSON.stringify(want) && again.length === 61,
      `many/: the filter box is shown; "ITEM 5" leaves ${some.length} of ${all.length} rows ` +
        `(${some.slice(0, 3).join(", ")}, …), clearing it shows ${again.length}`,
      `expected ${want.join(", ")}`,
    );
  });
  await step("filter-without-js", async () => {
    // The page as parsed without running its script (DOMParser runs none).
    const got = await page.evaluate(async () => {
      const html = await (await fetch(".", { cache: "no-store" })).text();
      const doc = new DOMParser().parseFromString(html, "text/html");
      const f = doc.getElementById("filter");
      return { hidden: !!f && f.hidden, rows: doc.querySelectorAll("tbody tr").length };
    });
    check(
      "filter-without-js",
      got.hidden && got.rows === 61,
      `without JavaScript the box is hidden (${got.hidden}) and all ${got.rows} rows are there`,
    );
  });
  await step("sort-button", async () => {
    await page.goto(manyUrl, { waitUntil: "load" });
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.request().isNavigationRequest(), { timeout: STEP_MS }),
      page.click("thead th:nth-child(2) button", { timeout: STEP_MS }),
    ]);
    await page.waitForLoadState("load", { timeout: STEP_MS });
    const rows = await visible();
    const url = new URL(page.url());
    check(
      "sort-button",
      resp.status() === 200 && url.search === "?sort=size&order=asc" && rows[1] === "item 60.txt",
      `clicking "Size" loads ${url.pathname}${url.search} (${resp.status()}): smallest first, ${rows[1]}`,
    );
  });

  // 6. Video: play, then seek to the middle (needs Range).
  await step("video-play", async () => {
    const resp = await page.goto(new URL("video.html", BASE).href, { waitUntil: "load" });
    if (resp.status() !== 200) throw new Error(`video.html: ${resp.status()}`);
    const can = await page.evaluate(() => document.createElement("video").canPlayType('video/webm; codecs="vp8"'));
    await page.waitForFunction(() => {
      const v = document.querySelector("video");
      if (v.error) throw new Error(`media error ${v.error.code}: ${v.error.message}`);
      return v.readyState >= 1 && Number.isFinite(v.duration);
    }, null, { timeout: STEP_MS });
    const duration = await page.evaluate(() => document.querySelector("video").duration);
    await within(STEP_MS, "video.play()", page.evaluate(() => document.querySelector("video").play()));
    await page.waitForFunction(() => document.querySelector("video").currentTime > 0.3, null, {
      timeout: STEP_MS,
    });
    const t = await page.evaluate(() => document.querySelector("video").currentTime);
    check(
      "video-play",
      t > 0.3,
      `clip.webm (canPlayType vp8: "${can}", duration ${duration.toFixed(2)} s) played: currentTime ${t.toFixed(2)} s`,
    );
  });
  await step("video-seek", async () => {
    const mid = await page.evaluate(async () => {
      const v = document.querySelector("video");
      v.pause();
      const mid = v.duration / 2;
      const seeked = new Promise((res) => v.addEventListener("seeked", res, { once: true }));
      v.currentTime = mid;
      await seeked;
      return mid;
    });
    const at = await page.evaluate(() => document.querySelector("video").currentTime);
    await within(STEP_MS, "video.play() after seeking", page.evaluate(() => document.querySelector("video").play()));
    await page.waitForFunction((m) => document.querySelector("video").currentTime > m + 0.3, mid, {
      timeout: STEP_MS,
    });
    const after = await page.evaluate(() => {
      const v = document.querySelector("video");
      v.pause();
      return v.currentTime;
    });
    check(
      "video-seek",
      Math.abs(at - mid) < 0.5 && after > mid + 0.3,
      `seeked to the middle (${mid.toFixed(2)} s → currentTime ${at.toFixed(2)} s), then played on to ${after.toFixed(2)} s`,
    );
  });
  await step("range-206", async () => {
    // Also one explicit Range request from the page, checked to the byte.
    const probe = await page.evaluate(async () => {
      const r = await fetch("clip.webm", { headers: { Range: "bytes=100-199" }, cache: "no-store" });
      const b = await r.arrayBuffer();
      return { status: r.status, range: r.headers.get("content-range"), len: b.byteLength };
    });
    check(
      "range-206",
      mediaStatuses.some((s) => /^206 \(bytes \d+-\d+\/\d+\)$/.test(s)) &&
        mediaRanges.some((r) => r.startsWith("bytes=")) &&
        probe.status === 206 &&
        /^bytes 100-199\/\d+$/.test(probe.range || "") &&
        probe.len === 100,
      `<video> sent Range (${mediaRanges.join(", ") || "no request seen"}) and got ` +
        `${mediaStatuses.join("/") || "no response seen"}; fetch Range bytes=100-199 → ${probe.status} ${probe.range} ${probe.len} bytes`,
    );
  });

  check(
    "local-only",
    foreign.length === 0,
    "every request the browser made went to 127.0.0.1",
    foreign.slice(0, 5).join(", "),
  );
  if (errors.length) console.log(`page errors: ${errors.join(" | ")}`);
}

await finish("browser e2e", watchdog, main, () => {
  if (ownUserData) fs.rmSync(ownUserData, { recursive: true, force: true });
});
