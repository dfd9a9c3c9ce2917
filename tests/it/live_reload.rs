//! Live reload (`--watch`) over real sockets: the injected script, its own
//! representation, the reserved `/.ferry/live` event stream, which changes
//! reach which page (stylesheets swapped, everything else reloaded, nothing
//! for files the page never loaded), one event per editor save, heartbeats,
//! the connection limit, and a shutdown that does not wait for streams.

//!
//! And in a real browser: headless Chromium, driven by Playwright
//! (`tests/browser/live.mjs`), keeps a page open on `ferry --watch` while
//! the script edits the site's files: a stylesheet is swapped in place, a
//! module (imported by a module) or an image reloads the page, an unrelated
//! file does nothing, one editor-style save reloads once, 20 saves are
//! timed, and the page reloads once after the server restarts (and keeps
//! following its files). See `tests/browser/README.md`. Same prerequisites
//! and skip contract as `browser`: without Chromium, Node or
//! `tests/browser/node_modules` it reports itself SKIPPED, unless
//! `FERRY_REQUIRE_BROWSER=1`.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::browser::{artifacts_dir, browser_or_skip, one_browser, run_script, say};
use crate::support::*;

const PAGE: &[u8] = b"<!DOCTYPE html>\n<html><head><link rel=\"stylesheet\" href=\"style.css\">\
</head><body><h1>page</h1><script type=\"module\" src=\"app.js\"></script></body></html>\n";

fn watched_site() -> Site {
    let s = Site::new();
    s.file("index.html", PAGE)
        .file("style.css", b"h1{color:red}")
        .file("app.js", b"import './dep.js';")
        .file("dep.js", b"document.body.dataset.v = 1;")
        .file("other.txt", b"never loaded");
    s
}

/// Saves `rel` the way editors do: a temporary file renamed over it.
fn editor_save(dir: &Path, rel: &str, content: &[u8]) {
    let tmp = dir.join(format!("{rel}.ferry-tmp~"));
    fs::write(&tmp, content).unwrap();
    fs::rename(&tmp, dir.join(rel)).unwrap();
}

/// An open event stream for `page`, past its head.
struct Stream {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Stream {
    fn open(server: &Server, page: &str) -> Stream {
        let mut s = connect(server.addr);
        s.write_all(format!("GET /.ferry/live?page={page} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .unwrap();
        let mut st = Stream { s, buf: Vec::new() };
        let head = st
            .until(b"\r\n\r\n", Duration::from_secs(2))
            .expect("a head");
        let head = String::from_utf8_lossy(&head).into_owned();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains("\r\nContent-Type: text/event-stream\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nCache-Control: no-cache\r\n"), "{head}");
        assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
        assert!(!head.contains("Content-Length"), "{head}");
        assert_eq!(
            st.event(Duration::from_secs(2)).as_deref(),
            Some("retry: 500")
        );
        st
    }

    /// Bytes up to and including `end`, or None within `limit`.
    fn until(&mut self, end: &[u8], limit: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(i) = self.buf.windows(end.len()).position(|w| w == end) {
                return Some(self.buf.drain(..i + end.len()).collect());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.s.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 4096];
            match self.s.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The next event (its lines, trimmed), or None within `limit`.
    fn event(&mut self, limit: Duration) -> Option<String> {
        let raw = self.until(b"\n\n", limit)?;
        Some(String::from_utf8_lossy(&raw).trim_end().to_owned())
    }
}

/// Loads the page and what it loads, as a browser would (Referer).
fn load_page(server: &Server) {
    let mut c = Conn::new(connect(server.addr));
    c.send(&get_req("/"));
    assert_eq!(c.read_response(false).status_line, OK);
    let page = format!("http://{}/", server.addr);
    let app = format!("http://{}/app.js", server.addr);
    for (target, referer) in [("/style.css", &page), ("/app.js", &page), ("/dep.js", &app)] {
        let r = ask_on(&mut c.s, "GET", target, &[("Referer", referer)]);
        assert_eq!(r.status_line, OK, "{target}");
    }
}

#[test]
fn without_watch_nothing_is_injected_and_the_reserved_route_is_a_dotfile() {
    let site = watched_site();
    let s = Server::start(site.path(), &[]);
    assert_ok(&s.get("/"), PAGE);
    assert_eq!(s.get("/.ferry/live?page=/").status_line, NOT_FOUND);
}

/// The page gets the script just before `</body>`, with its length, its
/// own ETag (a distinct representation), the same fields for HEAD, and no
/// precompressed sidecar (it would lack the script).
#[test]
fn html_carries_the_script_before_body_end_as_its_own_representation() {
    let site = watched_site();
    site.file("index.html.gz", b"stale sidecar");
    let plain = Server::start(site.path(), &[]);
    let plain_tag = plain.get("/").header("ETag").unwrap().to_owned();
    let s = Server::start(site.path(), &["--watch"]);
    let r = s.ask("GET", "/", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.status_line, OK);
    let text = r.text();
    let at = text
        .find("<script>/* ferry --watch */")
        .expect("the script");
    assert_eq!(&text[..at], &String::from_utf8_lossy(PAGE)[..at]);
    assert!(text[at..].ends_with("</script></body></html>\n"), "{text}");
    assert_eq!(
        r.header("Content-Length"),
        Some(r.body.len().to_string().as_str())
    );
    assert_eq!(r.header("Content-Encoding"), None);
    let tag = r.header("ETag").unwrap();
    assert_ne!(tag, plain_tag);
    assert!(tag.ends_with("-lr\""), "{tag}");
    let head = s.ask("HEAD", "/", &[("Accept-Encoding", "gzip")]);
    let but_date = |r: &Response| -> Vec<(String, String)> {
        r.headers
            .iter()
            .filter(|(n, _)| n != "Date")
            .cloned()
            .collect()
    };
    assert_eq!(but_date(&head), but_date(&r), "HEAD sends GET's fields");
    // Other types are untouched.
    assert_ok(&s.get("/style.css"), b"h1{color:red}");
}

/// A stylesheet the page loaded is swapped in place (`css`), a module it
/// imported transitively reloads the page, a file it never loaded tells it
/// nothing.
#[test]
fn each_change_reaches_the_pages_that_loaded_the_file() {
    let site = watched_site();
    let s = Server::start(site.path(), &["--watch"]);
    load_page(&s);
    let mut st = Stream::open(&s, "%2F");
    editor_save(site.path(), "style.css", b"h1{color:blue}");
    assert_eq!(
        st.event(Duration::from_secs(2)).as_deref(),
        Some("event: css\ndata: /style.css")
    );
    editor_save(site.path(), "dep.js", b"document.body.dataset.v = 2;");
    assert_eq!(
        st.event(Duration::from_secs(2)).as_deref(),
        Some("event: reload\ndata:")
    );
    fs::write(site.path().join("other.txt"), b"changed").unwrap();
    assert_eq!(
        st.event(Duration::from_millis(400)),
        None,
        "other.txt was never loaded"
    );
    // The page itself.
    editor_save(site.path(), "index.html", PAGE);
    assert_eq!(
        st.event(Duration::from_secs(2)).as_deref(),
        Some("event: reload\ndata:")
    );
}

/// A folder a build tool removes and makes again (or swaps, or moves away
/// and back) keeps reloading its pages: the removal reloads them, the
/// files coming back reload them again (they got 404 meanwhile), and the
/// new folder's files are followed from then on.
/// Was: after the folder was recreated no change reached the page again /
/// now: every step does.
#[test]
fn a_folder_removed_and_made_again_keeps_reloading_its_pages() {
    let site = Site::new();
    site.file("index.html", PAGE)
        .file("js/app.js", b"let v = 1;");
    let s = Server::start(site.path(), &["--watch"]);
    let page = format!("http://{}/", s.addr);
    let load = |want: u16| {
        let mut c = Conn::new(connect(s.addr));
        assert_eq!(c.get("/").status(), 200);
        let r = ask_on(&mut c.s, "GET", "/js/app.js", &[("Referer", &page)]);
        assert_eq!(r.status(), want);
    };
    let reload = |st: &mut Stream, what: &str| {
        assert_eq!(
            st.event(Duration::from_secs(2)).as_deref(),
            Some("event: reload\ndata:"),
            "{what}"
        );
    };
    load(200);
    let mut st = Stream::open(&s, "%2F");
    fs::remove_dir_all(site.path().join("js")).unwrap();
    reload(&mut st, "the folder removed");
    load(404);
    fs::create_dir(site.path().join("js")).unwrap();
    fs::write(site.path().join("js/app.js"), b"let v = 2;").unwrap();
    reload(&mut st, "the folder made again");
    load(200);
    fs::write(site.path().join("js/app.js"), b"let v = 3;").unwrap();
    reload(&mut st, "a file of the new folder edited");
    load(200);
    fs::rename(site.path().join("js"), site.path().join("js-away")).unwrap();
    reload(&mut st, "the folder moved away");
    fs::rename(site.path().join("js-away"), site.path().join("js")).unwrap();
    reload(&mut st, "the folder moved back");
    load(200);
    fs::write(site.path().join("js/app.js"), b"let v = 4;").unwrap();
    reload(&mut st, "edited after the move back");
}

/// A folder listing is an HTML page too: under `--watch` it carries the
/// script (the JSON listing does not), and a file added, removed or
/// changed in the folder, or a folder made in it, reloads it.
/// Was: listings had no script / now: they have, and follow their folder.
#[test]
fn a_listing_carries_the_script_and_follows_its_folder() {
    let site = Site::new();
    site.file("d/a.txt", b"a");
    let s = Server::start(site.path(), &["--watch"]);
    let page = s.get("/d/");
    assert_eq!(page.status(), 200);
    let html = page.text();
    let script_at = html
        .find("<script>/* ferry --watch */")
        .unwrap_or_else(|| panic!("no script: {html}"));
    assert!(
        html[script_at..].ends_with("</script></body></html>\n"),
        "{html}"
    );
    let json = s.get("/d/?format=json").text();
    assert!(!json.contains("ferry --watch"), "{json}");
    let without = Server::start(site.path(), &[]);
    assert!(!without.get("/d/").text().contains("ferry --watch"));
    let mut st = Stream::open(&s, "%2Fd%2F");
    let reload = |st: &mut Stream, what: &str| {
        assert_eq!(
            st.event(Duration::from_secs(2)).as_deref(),
            Some("event: reload\ndata:"),
            "{what}"
        );
    };
    fs::write(site.path().join("d/b.txt"), b"b").unwrap();
    reload(&mut st, "a file added");
    fs::create_dir(site.path().join("d/sub")).unwrap();
    reload(&mut st, "a folder made");
    fs::write(site.path().join("d/a.txt"), b"longer").unwrap();
    reload(&mut st, "a file changed");
    fs::remove_file(site.path().join("d/b.txt")).unwrap();
    reload(&mut st, "a file removed");
    // A touch changes the Modified column.
    set_mtime(&site.path().join("d/a.txt"), at(1_000_000_000, 0));
    reload(&mut st, "a file touched");
    // A dotfile is not listed (no --hidden): nothing to reload.
    fs::write(site.path().join("d/.a.txt.swp"), b"swap").unwrap();
    fs::write(site.path().join("d/.a.txt.swp"), b"swap 2").unwrap();
    assert_eq!(st.event(Duration::from_millis(400)), None, "a dotfile");
    // The listing shows it.
    assert!(!s.get("/d/").text().contains("b.txt"));
}

/// HEAD of the event stream sends GET's head and nothing after it (RFC
/// 9110 9.3.2: HEAD is supported wherever GET is, as the 405's Allow
/// says), and subscribes nothing.
/// Was: 405 with `Allow: GET, HEAD, OPTIONS` / now: the head.
#[test]
fn head_of_the_event_stream_is_its_head() {
    let site = watched_site();
    let s = Server::start(site.path(), &["--watch"]);
    let mut c = Conn::new(connect(s.addr));
    c.send(b"HEAD /.ferry/live?page=%2F HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response(true);
    assert_eq!(r.status_line, OK);
    assert_eq!(r.header("Content-Type"), Some("text/event-stream"));
    assert_eq!(r.header("Connection"), Some("close"));
    assert_eq!(r.header("Content-Length"), None);
    c.assert_closed_clean("after the HEAD");
    let post = s.ask("POST", "/.ferry/live", &[]);
    assert_eq!(post.status(), 405);
    assert_eq!(post.header("Allow"), Some("GET, HEAD, OPTIONS"));
}

/// A page navigated to before it exists gets the 404 page with the script
/// (the built-in one and a `--404` page), and reloads once the file
/// appears; a build that removes a page's folder leaves the tab on such a
/// page, which then comes back by itself.
/// Was: 404 pages had no script, so the tab stayed on it for good / now:
/// they have, and the missing page is a dependency.
#[test]
fn a_404_page_reloads_once_its_page_exists() {
    let site = Site::new();
    site.file("index.html", PAGE)
        .file("nf.html", b"<html><body>gone</body></html>");
    let custom = site.path().join("nf.html");
    let custom = custom.to_str().unwrap();
    for args in [vec!["--watch"], vec!["--watch", "--404", custom]] {
        let s = Server::start(site.path(), &args);
        let nav = [("Sec-Fetch-Dest", "document")];
        let r = s.ask("GET", "/dist/page.html", &nav);
        assert_eq!(r.status(), 404, "{args:?}");
        assert!(
            r.text().contains("<script>/* ferry --watch */"),
            "{args:?}: {}",
            r.text()
        );
        let head = s.ask("HEAD", "/dist/page.html", &nav);
        assert_eq!(head.header("Content-Length"), r.header("Content-Length"));
        let mut st = Stream::open(&s, "%2Fdist%2Fpage.html");
        fs::create_dir_all(site.path().join("dist")).unwrap();
        fs::write(site.path().join("dist/page.html"), PAGE).unwrap();
        assert_eq!(
            st.event(Duration::from_secs(2)).as_deref(),
            Some("event: reload\ndata:"),
            "{args:?}"
        );
        fs::remove_dir_all(site.path().join("dist")).unwrap();
    }
}

/// A file that changes after its page loaded it and before the page's
/// stream opens (a save while a slow page is still loading) reloads the
/// page as soon as the stream opens; a stream opened after the page was
/// served again gets nothing.
/// Was: that change was never told / now: told on connect.
#[test]
fn a_change_made_while_the_page_was_loading_is_told_when_its_stream_opens() {
    let site = watched_site();
    let s = Server::start(site.path(), &["--watch"]);
    load_page(&s);
    // Another tab of the page, open already: its event says the server
    // has dealt with the change before the late stream opens.
    let mut other_tab = Stream::open(&s, "%2F");
    fs::write(site.path().join("dep.js"), b"document.body.dataset.v = 9;").unwrap();
    assert_eq!(
        other_tab.event(Duration::from_secs(2)).as_deref(),
        Some("event: reload\ndata:")
    );
    let mut st = Stream::open(&s, "%2F");
    assert_eq!(
        st.event(Duration::from_secs(2)).as_deref(),
        Some("event: reload\ndata:")
    );
    drop(st);
    // The reloaded page is current: its stream is told nothing.
    load_page(&s);
    let mut st = Stream::open(&s, "%2F");
    assert_eq!(st.event(Duration::from_millis(400)), None);
}

/// A `Referer` naming nothing ferry served is no page: it makes no
/// dependency (so made-up Referers cannot grow the server's memory).
/// Was: every distinct Referer was remembered for good (281 MB after
/// 40,000 requests with 7 KB ones) / now: only pages served count.
#[test]
fn a_referer_naming_nothing_served_makes_no_dependency() {
    let site = watched_site();
    let s = Server::start(site.path(), &["--watch"]);
    let made_up = format!("http://{}/never-served.html", s.addr);
    let r = s.ask("GET", "/other.txt", &[("Referer", &made_up)]);
    assert_eq!(r.status(), 200);
    let mut st = Stream::open(&s, "%2Fnever-served.html");
    fs::write(site.path().join("other.txt"), b"changed").unwrap();
    assert_eq!(st.event(Duration::from_millis(400)), None);
}

/// A page whose path needs percent-encoding (a space, non-ASCII) is told
/// of its changes: the script names it by `location.pathname`, encoded
/// once more as a query value.
/// Was: the server took the still-encoded path for the page's name, and
/// such pages never reloaded / now: they do.
#[test]
fn a_page_whose_path_is_percent_encoded_is_told_of_its_changes() {
    let site = Site::new();
    site.file("sp ace/p\u{e9}.html", PAGE);
    let s = Server::start(site.path(), &["--watch"]);
    assert_eq!(s.get("/sp%20ace/p%C3%A9.html").status(), 200);
    // encodeURIComponent("/sp%20ace/p%C3%A9.html")
    let mut st = Stream::open(&s, "%2Fsp%2520ace%2Fp%25C3%25A9.html");
    editor_save(site.path(), "sp ace/p\u{e9}.html", PAGE);
    assert_eq!(
        st.event(Duration::from_secs(2)).as_deref(),
        Some("event: reload\ndata:")
    );
}

/// An editor's burst (write a temporary file, rename it over, chmod) is one
/// event; a write still in progress is none.
#[test]
fn one_editor_save_is_one_event() {
    let site = watched_site();
    let s = Server::start(site.path(), &["--watch"]);
    load_page(&s);
    let mut st = Stream::open(&s, "%2F");
    // A file opened and written but not closed yet: no event.
    let mut f = fs::File::options()
        .write(true)
        .open(site.path().join("dep.js"))
        .unwrap();
    f.write_all(b"// half").unwrap();
    assert_eq!(
        st.event(Duration::from_millis(300)),
        None,
        "a write in progress"
    );
    drop(f);
    assert_eq!(
        st.event(Duration::from_secs(2)).as_deref(),
        Some("event: reload\ndata:")
    );
    editor_save(site.path(), "app.js", b"import './dep.js'; // 2");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(
        site.path().join("app.js"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    assert_eq!(
        st.event(Duration::from_secs(2)).as_deref(),
        Some("event: reload\ndata:")
    );
    assert_eq!(
        st.event(Duration::from_millis(300)),
        None,
        "one event per save"
    );
}

/// Heartbeats keep a stream alive and find dead clients; streams count
/// against --max-connections; shutdown closes them at once.
#[test]
fn streams_beat_count_against_the_limit_and_never_delay_shutdown() {
    let _serial = serial();
    let site = watched_site();
    let mut s = Server::start(
        site.path(),
        &[
            "--watch",
            "--heartbeat",
            "100ms",
            "--max-connections",
            "201",
        ],
    );
    let mut first = Stream::open(&s, "%2F");
    assert_eq!(
        first.event(Duration::from_secs(2)).as_deref(),
        Some(": ferry")
    );
    let streams: Vec<Stream> = (0..199).map(|_| Stream::open(&s, "%2F")).collect();
    // 200 streams + 1: the next connection is over the limit.
    let mut c = Conn::new(connect(s.addr));
    c.send(&get_req("/style.css"));
    assert_eq!(c.read_response(false).status_line, OK);
    let over = s.get("/style.css");
    assert_eq!(over.status_line, UNAVAILABLE);
    let t = Instant::now();
    let status = s
        .signal_and_wait(rustix::process::Signal::TERM, Duration::from_secs(5))
        .expect("exit");
    assert!(status.success());
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "200 streams delayed the exit by {:?}",
        t.elapsed()
    );
    drop(streams);
}

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
