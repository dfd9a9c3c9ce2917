//! Real-browser end-to-end test: headless Chromium, driven by Playwright
//! (`tests/browser/e2e.mjs`), browses a site served by the real binary.
//! See `tests/browser/README.md`.
//!
//! Without Chromium, Node or `tests/browser/node_modules` the test reports
//! itself SKIPPED (stderr, `target/test-skips.txt` and
//! `target/browser-artifacts/SKIPPED`), unless `FERRY_REQUIRE_BROWSER=1`,
//! which turns a skip into a failure.
//!
//! The harness here (`browser_or_skip`, `one_browser`, `run_script`,
//! `ScriptRun::assert_passed`) also runs `live_reload`'s script.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use crate::support::{Server, skip, target_dir, wait_until};

/// Longest the Node script may run (it stops itself at 40 s).
const NODE_LIMIT: Duration = Duration::from_secs(50);

/// Must match `FILE_TEXT` in e2e.mjs.
const FILE_TEXT: &str = "Grüße from ferry: héllo wörld ✓";

/// Every check e2e.mjs prints as `ok [id] …`.
const CHECKS: &[&str] = &[
    "root-listing",
    "screenshot",
    "into-subdir",
    "back-to-root",
    "utf8-file",
    "welcome-css",
    "welcome-image",
    "compressed-js",
    "filter-box",
    "filter-without-js",
    "sort-button",
    "video-play",
    "video-seek",
    "range-206",
    "local-only",
];

const VIDEO_HTML: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>clip</title></head>\n<body><video src=\"clip.webm\" muted playsinline preload=\"auto\" \
width=\"160\" height=\"120\"></video></body></html>\n";

/// A line straight to stderr, past libtest's capture, so a passing or
/// skipped run still shows it in CI logs.
pub(crate) fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

pub(crate) fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn artifacts_dir() -> PathBuf {
    target_dir().join("browser-artifacts")
}

/// What the run needs and does not have, if anything.
fn missing_prerequisite(chromium: &Path, browser_dir: &Path) -> Option<String> {
    if !chromium.is_file() {
        return Some(format!(
            "{} not found (apt-get install -y chromium)",
            chromium.display()
        ));
    }
    match Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {}
        _ => return Some("node not found (apt-get install -y nodejs npm)".into()),
    }
    if !browser_dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        return Some(format!(
            "npm package playwright-core missing (cd {} && npm ci)",
            browser_dir.display()
        ));
    }
    None
}

/// A 60 KiB script, compressed on the fly: it folds a long array into a
/// checksum and, in its last statement (so only if every byte arrived and
/// decoded), writes "ok" or what it got into `data-bundle`.
fn bundle_js() -> String {
    let data: Vec<u32> = (0..12_000u32).map(|i| (i * 7919) % 10_007).collect();
    let sum = data
        .iter()
        .fold(0u64, |s, &x| (s * 31 + u64::from(x)) % 1_000_003);
    let list: Vec<String> = data.iter().map(u32::to_string).collect();
    format!(
        "const DATA = [{}];\nlet s = 0;\nfor (const x of DATA) s = (s * 31 + x) % 1000003;\n\
         document.body.dataset.bundle = s === {sum} ? \"ok\" : \"checksum \" + s;\n",
        list.join(",")
    )
}

const APP_HTML: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>app</title></head>\n<body><script src=\"bundle.js\"></script></body></html>\n";

/// Lays out the site the script browses.
fn make_site(browser_dir: &Path) -> tempfile::TempDir {
    let site = tempfile::tempdir().expect("tempdir");
    let root = site.path();
    std::fs::create_dir_all(root.join("sub dir")).unwrap();
    std::fs::write(
        root.join("sub dir/héllo wörld.txt"),
        format!("{FILE_TEXT}\n"),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("welcome")).unwrap();
    for name in ["index.html", "style.css", "ferry.svg"] {
        std::fs::copy(
            manifest_dir().join("static").join(name),
            root.join("welcome").join(name),
        )
        .unwrap_or_else(|e| panic!("copy static/{name}: {e}"));
    }
    std::fs::copy(browser_dir.join("clip.webm"), root.join("clip.webm"))
        .expect("copy tests/browser/clip.webm");
    std::fs::write(root.join("video.html"), VIDEO_HTML).unwrap();
    std::fs::create_dir_all(root.join("app")).unwrap();
    std::fs::write(root.join("app/index.html"), APP_HTML).unwrap();
    std::fs::write(root.join("app/bundle.js"), bundle_js()).unwrap();
    // 60 files, "item 60.txt" the smallest: a filter box, and sorting.
    std::fs::create_dir_all(root.join("many")).unwrap();
    for i in 1..=60 {
        std::fs::write(root.join(format!("many/item {i}.txt")), vec![b'x'; 61 - i]).unwrap();
    }
    site
}

/// Asks for the bundle as Chromium does until ferry has its compressed
/// forms (the first responses are identity while they are made), so the
/// browser gets a compressed one.
fn warm_bundle(server: &Server) {
    let ready = wait_until(Duration::from_secs(20), || {
        let r = server.ask(
            "GET",
            "/app/bundle.js",
            &[("Accept-Encoding", "gzip, deflate, br, zstd")],
        );
        r.header("Content-Encoding").is_some()
            && r.header("ETag").is_some_and(|t| {
                ["-br\"", "-zstd\"", "-gzip\""]
                    .iter()
                    .any(|c| t.ends_with(c))
            })
    });
    assert!(ready, "ferry never compressed app/bundle.js");
}

/// Pids of live processes whose command line mentions `marker` (the unique
/// user-data dir of this run: only the Chromium this test started).
fn marked_processes(marker: &str) -> Vec<rustix::process::Pid> {
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        // A zombie's cmdline is empty, so only live processes match.
        let Ok(cmdline) = std::fs::read(p.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(marker)
            && let Some(pid) = rustix::process::Pid::from_raw(pid)
        {
            found.push(pid);
        }
    }
    found
}

/// Gives this run's Chromium processes `grace` to finish exiting (renderers
/// may still be on their way out when the browser process is gone), then
/// kills what is left and returns those pids.
fn reap_browser(marker: &str, grace: Duration) -> Vec<i32> {
    let start = Instant::now();
    loop {
        let left = marked_processes(marker);
        if left.is_empty() {
            return Vec::new();
        }
        if start.elapsed() > grace {
            for pid in &left {
                let _ = rustix::process::kill_process(*pid, rustix::process::Signal::KILL);
            }
            return left.iter().map(|p| p.as_raw_nonzero().get()).collect();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Chromium and the directory of the browser scripts, once the run's
/// prerequisites are known to be there.
pub(crate) struct Browser {
    pub chromium: PathBuf,
    /// `tests/browser`: the scripts and their `node_modules`.
    pub dir: PathBuf,
}

/// The browser to run `test` with, or `None` after recording the skip
/// (stderr, `target/test-skips.txt` and `target/browser-artifacts/SKIPPED`);
/// with `FERRY_REQUIRE_BROWSER=1` a missing prerequisite fails instead.
pub(crate) fn browser_or_skip(test: &str) -> Option<Browser> {
    let require = std::env::var("FERRY_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let dir = manifest_dir().join("tests/browser");
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let artifacts = artifacts_dir();
    std::fs::create_dir_all(&artifacts).expect("create target/browser-artifacts");
    let skipped_file = artifacts.join("SKIPPED");
    let _ = std::fs::remove_file(&skipped_file);

    if let Some(reason) = missing_prerequisite(&chromium, &dir) {
        assert!(
            !require,
            "FERRY_REQUIRE_BROWSER=1 but {test} cannot run: {reason}"
        );
        skip(test, &reason);
        let line = format!("browser test SKIPPED: {reason}");
        std::fs::write(&skipped_file, format!("{line}\n")).expect("write SKIPPED");
        return None;
    }
    Some(Browser { chromium, dir })
}

/// One Chromium at a time: the machine has two cores, and the live-reload
/// test measures latencies.
pub(crate) fn one_browser() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|p| p.into_inner())
}

/// How a browser script's run ended.
pub(crate) struct ScriptRun {
    /// Killed after the time limit.
    pub timed_out: bool,
    pub limit: Duration,
    /// `None` when it was killed.
    pub status: Option<std::process::ExitStatus>,
    /// Its stdout, and its stderr lines prefixed `stderr: `.
    pub out: String,
    /// Chromium processes still alive 3 s after the script ended (killed).
    pub leftovers: Vec<i32>,
    pub elapsed: Duration,
}

/// Runs `node SCRIPT ARGS… USER_DATA_DIR` in `tests/browser` (a fresh
/// user-data dir made here), echoing its output line by line. Every stdout
/// line goes to `on_line`; what it returns is written to the script's
/// stdin as a line. After `limit` the node process group gets SIGTERM (the
/// script closes the browser), SIGKILL 3 s later. Afterwards every Chromium
/// process of this run is given 3 s to exit, then killed.
pub(crate) fn run_script(
    browser: &Browser,
    script: &str,
    args: &[&OsStr],
    limit: Duration,
    mut on_line: impl FnMut(&str) -> Option<String>,
) -> ScriptRun {
    let profile = tempfile::Builder::new()
        .prefix("ferry-e2e-profile-")
        .tempdir()
        .expect("profile tempdir");
    let marker = profile.path().to_str().expect("UTF-8 temp path").to_owned();

    let started = Instant::now();
    let mut cmd = Command::new("node");
    cmd.arg(browser.dir.join(script))
        .args(args)
        .arg(profile.path())
        .current_dir(&browser.dir)
        .env("CHROMIUM", &browser.chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Own process group, so a timeout can signal node and its children.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().expect("spawn node");
    let mut stdin = child.stdin.take();

    let out = Arc::new(Mutex::new(String::new()));
    let (tx, stdout_lines) = mpsc::channel::<String>();
    let mut readers = Vec::new();
    for (stream, prefix, tx) in [
        (
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            "",
            Some(tx),
        ),
        (Box::new(child.stderr.take().unwrap()), "stderr: ", None),
    ] {
        let out = Arc::clone(&out);
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                say(&format!("{prefix}{line}"));
                {
                    let mut o = out.lock().unwrap();
                    o.push_str(prefix);
                    o.push_str(&line);
                    o.push('\n');
                }
                if let Some(tx) = &tx {
                    let _ = tx.send(line);
                }
            }
        }));
    }

    let pgid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    let mut timed_out = false;
    let status = loop {
        match stdout_lines.recv_timeout(Duration::from_millis(20)) {
            Ok(line) => {
                if let Some(reply) = on_line(&line)
                    && let Some(w) = stdin.as_mut()
                    && writeln!(w, "{reply}").and_then(|()| w.flush()).is_err()
                {
                    stdin = None;
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Timeout | mpsc::RecvTimeoutError::Disconnected) => {}
        }
        if let Some(status) = child.try_wait().expect("try_wait node") {
            break Some(status);
        }
        if started.elapsed() > limit {
            timed_out = true;
            // SIGTERM first: the script closes the browser on it.
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::TERM);
            let grace = Instant::now();
            while grace.elapsed() < Duration::from_secs(3) {
                if child.try_wait().expect("try_wait node").is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
            let _ = child.wait();
            break None;
        }
        // Without a stdout reader (its EOF came first) the receive returns
        // at once: pace the polling.
        std::thread::sleep(Duration::from_millis(5));
    };
    drop(stdin);
    // Playwright starts Chromium in a process group of its own: make sure
    // nothing of this run's browser outlives it.
    let leftovers = reap_browser(&marker, Duration::from_secs(3));
    for r in readers {
        let _ = r.join();
    }
    let out = out.lock().unwrap().clone();
    ScriptRun {
        timed_out,
        limit,
        status,
        out,
        leftovers,
        elapsed: started.elapsed(),
    }
}

impl ScriptRun {
    /// The script ran to its end, exited 0, printed no `FAIL` line and an
    /// `ok [id]` line for each of `checks`, and left no Chromium behind.
    pub(crate) fn assert_passed(&self, checks: &[&str]) {
        // The script's output was echoed above, line by line.
        assert!(
            !self.timed_out,
            "the browser script was killed after {:?} (its output is above)",
            self.limit
        );
        let status = self.status.expect("an exit status when not timed out");
        let failures: Vec<&str> = self
            .out
            .lines()
            .filter(|l| l.starts_with("FAIL "))
            .collect();
        assert!(
            status.success() && failures.is_empty(),
            "the browser script failed ({status}):\n{}\n(full output above)",
            failures.join("\n")
        );
        for id in checks {
            let tag = format!("ok [{id}] ");
            assert!(
                self.out.lines().any(|l| l.starts_with(&tag)),
                "check {id} not reported as passed (output above)"
            );
        }
        assert!(
            self.leftovers.is_empty(),
            "Chromium processes were still running 3 s after the script ended (killed: {:?})",
            self.leftovers
        );
    }
}

#[test]
fn real_browser_end_to_end() {
    let Some(browser) = browser_or_skip("browser::real_browser_end_to_end") else {
        return;
    };
    let shot = artifacts_dir().join("listing.png");
    let _ = std::fs::remove_file(&shot);

    let site = make_site(&browser.dir);
    let server = Server::start(site.path(), &[]);
    warm_bundle(&server);
    let base = server.url("/");
    let run = {
        let _one = one_browser();
        run_script(
            &browser,
            "e2e.mjs",
            &[OsStr::new(&base), shot.as_os_str()],
            NODE_LIMIT,
            |_| None,
        )
    };
    drop(server);

    run.assert_passed(CHECKS);
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        shot.display()
    );
    say(&format!(
        "browser test passed in {:.1} s; screenshot: {}",
        run.elapsed.as_secs_f64(),
        shot.display()
    ));
}
