//! Live reload (`--watch`) in a real browser: headless Chromium, driven by
//! Playwright (`tests/browser/live.mjs`), keeps a page open on `ferry
//! --watch` while the script edits the site's files: a stylesheet is
//! swapped in place, a module (imported by a module) or an image reloads
//! the page, an unrelated file does nothing, one editor-style save reloads
//! once, 20 saves are timed, and the page reloads once after the server
//! restarts (and keeps following its files). See `tests/browser/README.md`.
//!
//! Same prerequisites and skip contract as `browser`: without Chromium,
//! Node or `tests/browser/node_modules` it reports itself SKIPPED, unless
//! `FERRY_REQUIRE_BROWSER=1`.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::browser::{artifacts_dir, browser_or_skip, one_browser, run_script, say};
use crate::support::{BIN, Server, serial, site};

/// Longest the Node script may run (it stops itself at 50 s).
const NODE_LIMIT: Duration = Duration::from_secs(60);
/// How long the server stays down when it is restarted: more than two of
/// the page's reconnection attempts (`retry: 500`) fail first.
const DOWN: Duration = Duration::from_millis(1200);

/// Every check live.mjs prints as `ok [id] …`.
const CHECKS: &[&str] = &[
    "css-swap",
    "module-reload",
    "image-reload",
    "unrelated-no-reload",
    "one-reload-per-save",
    "timing",
    "reconnect",
    "reload-after-restart",
    "local-only",
];

/// The page: it counts its own loads (`window.__nav`, kept in
/// sessionStorage), so a reload shows and a stylesheet swap does not.
const INDEX_HTML: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>live reload</title>
<script>
sessionStorage.setItem("nav", String(Number(sessionStorage.getItem("nav") || 0) + 1));
window.__nav = Number(sessionStorage.getItem("nav"));
</script>
<link rel="stylesheet" href="style.css">
<script type="module" src="app.js"></script>
</head>
<body><h1>live reload</h1><img src="pic.svg" alt="" width="40" height="40"></body></html>
"#;
const STYLE_CSS: &str = "h1 { color: rgb(200, 0, 0); }\n";
/// Writes its marker and the time it ran (`Date.now()`, the clock the
/// script's saves are timed with) into the DOM.
const APP_JS: &str = r#"import { DEP } from "./dep.js";
const APP = "app-0";
document.body.dataset.app = APP;
document.body.dataset.dep = DEP;
document.body.dataset.appAt = String(Date.now());
"#;
/// Loaded only through app.js's import.
const DEP_JS: &str = "export const DEP = \"dep-0\";\n";
const PIC_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"40\">\
<rect width=\"40\" height=\"40\" fill=\"#c00000\"/></svg>\n";
/// Never loaded by the page.
const OTHER_TXT: &str = "not loaded by any page\n";

/// `ferry ROOT --port PORT --watch --quiet`, its stderr echoed (prefixed
/// `ferry: `) and kept in `log`.
fn watching(root: &Path, port: u16, log: &Arc<Mutex<Vec<String>>>) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.arg(root)
        .args(["--port", &port.to_string(), "--watch", "--quiet"]);
    let mut server = Server::spawn(cmd, root);
    let stderr = server.stderr();
    let log = Arc::clone(log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            say(&format!("ferry: {line}"));
            log.lock().unwrap().push(line);
        }
    });
    server
}

/// Stops the server as a user would (SIGTERM) and, [`DOWN`] after it
/// exited, starts it again on the same port: what the script is told
/// (`restarted …` or `restart-failed …`). Never panics: the browser is
/// still running.
fn restart(
    server: &mut Option<Server>,
    root: &Path,
    port: u16,
    log: &Arc<Mutex<Vec<String>>>,
) -> String {
    let Some(mut old) = server.take() else {
        return "restart-failed no server to restart".into();
    };
    let stop = Instant::now();
    let exited = old.signal_and_wait(rustix::process::Signal::TERM, Duration::from_secs(5));
    let stopped_in = stop.elapsed();
    drop(old); // kills it if SIGTERM did not
    if exited.is_none() {
        return format!("restart-failed ferry still running {stopped_in:?} after SIGTERM");
    }
    std::thread::sleep(DOWN);
    let start = Instant::now();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| watching(root, port, log))) {
        Ok(new) => {
            *server = Some(new);
            format!(
                "restarted: stopped by SIGTERM in {} ms, down for {} ms, up again on port {port} in {} ms",
                stopped_in.as_millis(),
                DOWN.as_millis(),
                start.elapsed().as_millis()
            )
        }
        Err(_) => format!("restart-failed ferry did not start again on port {port}"),
    }
}

#[test]
fn a_page_follows_the_changes_of_what_it_loaded() {
    let Some(browser) =
        browser_or_skip("live_reload::a_page_follows_the_changes_of_what_it_loaded")
    else {
        return;
    };
    // The timing check measures latencies: nothing heavy beside it.
    let _serial = serial();
    let timing = artifacts_dir().join("live-reload-timing.txt");
    let _ = std::fs::remove_file(&timing);

    let site = site(&[
        ("index.html", INDEX_HTML.as_bytes()),
        ("style.css", STYLE_CSS.as_bytes()),
        ("app.js", APP_JS.as_bytes()),
        ("dep.js", DEP_JS.as_bytes()),
        ("pic.svg", PIC_SVG.as_bytes()),
        ("other.txt", OTHER_TXT.as_bytes()),
    ]);
    let root = site.path().to_path_buf();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut server = Some(watching(&root, 0, &log));
    let port = server.as_ref().unwrap().port();
    let base = server.as_ref().unwrap().url("/");

    let run = {
        let _one = one_browser();
        run_script(
            &browser,
            "live.mjs",
            &[OsStr::new(&base), root.as_os_str(), timing.as_os_str()],
            NODE_LIMIT,
            |line| (line == "restart-server").then(|| restart(&mut server, &root, port, &log)),
        )
    };
    drop(server);
    let stderr = log.lock().unwrap().clone();
    if !stderr.is_empty() {
        say(&format!(
            "ferry's stderr ({} lines) is above, prefixed `ferry: `",
            stderr.len()
        ));
    }

    run.assert_passed(CHECKS);
    let summary = std::fs::read_to_string(&timing)
        .unwrap_or_else(|e| panic!("{} not written: {e}", timing.display()));
    say(&format!(
        "live-reload browser test passed in {:.1} s; timing ({}):\n{}",
        run.elapsed.as_secs_f64(),
        timing.display(),
        summary.trim_end()
    ));
}
