//! Live reload (`--watch`) over real sockets: the injected script, its own
//! representation, the reserved `/.ferry/live` event stream, which changes
//! reach which page (stylesheets swapped, everything else reloaded, nothing
//! for files the page never loaded), one event per editor save, heartbeats,
//! the connection limit, and a shutdown that does not wait for streams.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::*;

const PAGE: &[u8] = b"<!DOCTYPE html>\n<html><head><link rel=\"stylesheet\" href=\"style.css\">\
</head><body><h1>page</h1><script type=\"module\" src=\"app.js\"></script></body></html>\n";

fn site() -> Site {
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
    let site = site();
    let s = Server::start(site.path(), &[]);
    assert_ok(&s.get("/"), PAGE);
    assert_eq!(s.get("/.ferry/live?page=/").status_line, NOT_FOUND);
}

/// The page gets the script just before `</body>`, with its length, its
/// own ETag (a distinct representation), the same fields for HEAD, and no
/// precompressed sidecar (it would lack the script).
#[test]
fn html_carries_the_script_before_body_end_as_its_own_representation() {
    let site = site();
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
    let site = site();
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

/// An editor's burst (write a temporary file, rename it over, chmod) is one
/// event; a write still in progress is none.
#[test]
fn one_editor_save_is_one_event() {
    let site = site();
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
    let site = site();
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
