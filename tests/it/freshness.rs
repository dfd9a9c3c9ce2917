//! A change on disk made before a request is sent is seen by that request:
//! new bytes, a new ETag and Last-Modified, the right length, a 404 for a
//! deleted file, never a 304 for a tag that no longer matches — for every
//! kind of change, on keep-alive and new connections, with the folders
//! watched and with no watch at all (`--max-watches 0`: a stat per
//! request). And the watches stay few however big the tree.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::support::*;

/// Iterations per kind of change, connection kind and watch mode.
const ROUNDS: usize = 200;

/// What the next request must get after a change.
struct Want {
    status: &'static str,
    body: Vec<u8>,
    /// The ETag must differ from the previous response's.
    new_tag: bool,
}

/// One kind of change: the setup, the change for round `i`, and the
/// request to make.
struct Kind {
    name: &'static str,
    target: &'static str,
    fields: &'static [(&'static str, &'static str)],
    setup: fn(&Path),
    change: fn(&Path, usize) -> Want,
}

fn ok(body: Vec<u8>) -> Want {
    Want {
        status: OK,
        body,
        new_tag: true,
    }
}

fn kinds() -> Vec<Kind> {
    vec![
        Kind {
            name: "in-place write, small",
            target: "/small.txt",
            fields: &[],
            setup: |d| fs::write(d.join("small.txt"), b"v").unwrap(),
            change: |d, i| {
                let body = format!("version {i} {}", "x".repeat(i % 7)).into_bytes();
                fs::write(d.join("small.txt"), &body).unwrap();
                ok(body)
            },
        },
        Kind {
            name: "in-place write, large (sendfile)",
            target: "/large.bin",
            fields: &[],
            setup: |d| fs::write(d.join("large.bin"), pattern(40_000, 0)).unwrap(),
            change: |d, i| {
                let body = pattern(40_000 + i % 3, i as u64 + 1);
                fs::write(d.join("large.bin"), &body).unwrap();
                ok(body)
            },
        },
        Kind {
            name: "truncation",
            target: "/trunc.bin",
            fields: &[],
            setup: |d| fs::write(d.join("trunc.bin"), pattern(1000, 5)).unwrap(),
            change: |d, i| {
                let f = fs::File::options()
                    .write(true)
                    .open(d.join("trunc.bin"))
                    .unwrap();
                let len = 1000 - (i % 900) - 1;
                if i % 900 == 0 {
                    fs::write(d.join("trunc.bin"), pattern(1000, 5)).unwrap();
                }
                f.set_len(len as u64).unwrap();
                ok(pattern(1000, 5)[..len].to_vec())
            },
        },
        Kind {
            name: "editor-style save (write a temporary file, rename it over)",
            target: "/page.html",
            fields: &[],
            setup: |d| fs::write(d.join("page.html"), b"<p>0</p>").unwrap(),
            change: |d, i| {
                let body = format!("<p>{i}</p>").into_bytes();
                fs::write(d.join(".page.html.swp"), &body).unwrap();
                fs::rename(d.join(".page.html.swp"), d.join("page.html")).unwrap();
                ok(body)
            },
        },
        Kind {
            name: "delete and re-create",
            target: "/gone.txt",
            fields: &[],
            setup: |d| fs::write(d.join("gone.txt"), b"here").unwrap(),
            change: |d, i| {
                if i % 2 == 0 {
                    fs::remove_file(d.join("gone.txt")).unwrap();
                    Want {
                        status: NOT_FOUND,
                        body: Vec::new(),
                        new_tag: false,
                    }
                } else {
                    let body = format!("back {i}").into_bytes();
                    fs::write(d.join("gone.txt"), &body).unwrap();
                    ok(body)
                }
            },
        },
        Kind {
            name: "touch (new mtime, same bytes)",
            target: "/touched.txt",
            fields: &[],
            setup: |d| fs::write(d.join("touched.txt"), b"same bytes").unwrap(),
            change: |d, i| {
                set_mtime(&d.join("touched.txt"), at(1_700_000_000 + i as u64, 0));
                ok(b"same bytes".to_vec())
            },
        },
        Kind {
            name: "same-size rewrite with the mtime put back (cp -p, touch -r)",
            target: "/cpp.txt",
            fields: &[],
            setup: |d| fs::write(d.join("cpp.txt"), b"content 0").unwrap(),
            change: |d, i| {
                let body = format!("content {}", i % 10).into_bytes();
                fs::write(d.join("cpp.txt"), &body).unwrap();
                set_mtime(&d.join("cpp.txt"), at(1_600_000_000, 0));
                ok(body)
            },
        },
        Kind {
            name: "a precompressed sidecar rewritten",
            target: "/app.js",
            fields: &[("Accept-Encoding", "gzip")],
            setup: |d| {
                fs::write(d.join("app.js"), b"console.log('source')").unwrap();
                set_mtime(&d.join("app.js"), at(1_600_000_000, 0));
                fs::write(d.join("app.js.gz"), b"gz 0").unwrap();
            },
            change: |d, i| {
                let body = format!("gz bytes {i}").into_bytes();
                fs::write(d.join("app.js.gz"), &body).unwrap();
                ok(body)
            },
        },
    ]
}

/// Runs every kind `ROUNDS` times; returns (stale bodies, wrong lengths,
/// 304s for an old tag) per kind.
fn run(args: &[&str], keep_alive: bool) -> Vec<(String, usize, usize, usize)> {
    let site = Site::new();
    let kinds = kinds();
    for k in &kinds {
        (k.setup)(site.path());
    }
    let s = Server::start(site.path(), args);
    let mut c = Conn::new(connect(s.addr));
    let mut results = Vec::new();
    for k in &kinds {
        let (mut stale, mut wrong_len, mut old_304) = (0, 0, 0);
        let mut prev_tag: Option<String> = None;
        for i in 0..ROUNDS {
            let want = (k.change)(site.path(), i);
            let mut fields: Vec<(&str, &str)> = k.fields.to_vec();
            if let Some(t) = prev_tag.as_deref()
                && want.new_tag
            {
                fields.push(("If-None-Match", t));
            }
            let r = if keep_alive {
                ask_on(&mut c.s, "GET", k.target, &fields)
            } else {
                s.ask("GET", k.target, &fields)
            };
            if r.status_line == NOT_MODIFIED {
                old_304 += 1;
                continue;
            }
            if r.status_line != want.status || (want.status == OK && r.body != want.body) {
                stale += 1;
            }
            if want.status == OK
                && r.header("Content-Length") != Some(want.body.len().to_string().as_str())
            {
                wrong_len += 1;
            }
            let tag = r.header("ETag").map(str::to_owned);
            if want.new_tag && tag.is_some() && tag == prev_tag {
                stale += 1;
            }
            prev_tag = tag;
        }
        results.push((k.name.to_owned(), stale, wrong_len, old_304));
    }
    results
}

fn assert_never_stale(args: &[&str], mode: &str) {
    for keep_alive in [true, false] {
        let conn = if keep_alive {
            "keep-alive"
        } else {
            "new connections"
        };
        let results = run(args, keep_alive);
        for (name, stale, wrong_len, old_304) in &results {
            let _ = std::io::Write::write_fmt(
                &mut std::io::stderr(),
                format_args!(
                    "freshness ({mode}, {conn}) {name}: {ROUNDS} changes, {stale} stale, \
                     {wrong_len} wrong lengths, {old_304} 304s for an old tag\n"
                ),
            );
        }
        let bad: Vec<_> = results
            .iter()
            .filter(|(_, a, b, c)| a + b + c > 0)
            .collect();
        assert!(bad.is_empty(), "{mode}, {conn}: {bad:?}");
    }
}

#[test]
fn every_change_is_seen_by_the_next_request_with_the_folders_watched() {
    assert_never_stale(&["--threads", "2"], "watched");
}

#[test]
fn every_change_is_seen_by_the_next_request_without_any_watch() {
    assert_never_stale(
        &["--threads", "2", "--max-watches", "0"],
        "a stat per request",
    );
}

/// `--404 FILE` follows changes to that file, and falls back to the built-in
/// page while it is gone.
#[test]
fn the_404_page_follows_changes_to_its_file() {
    let site = Site::new();
    let page = site.outside().join("404.html");
    fs::write(&page, b"not here 0").unwrap();
    let s = Server::start(site.path(), &["--404", page.to_str().unwrap()]);
    for i in 1..50 {
        let body = format!("not here {i}").into_bytes();
        fs::write(&page, &body).unwrap();
        let r = s.get("/missing");
        assert_eq!(r.status_line, NOT_FOUND);
        assert_eq!(r.body, body, "round {i}");
    }
    fs::remove_file(&page).unwrap();
    let r = s.get("/missing");
    assert_eq!(r.status_line, NOT_FOUND);
    assert!(
        r.text().contains("<title>404 Not Found</title>"),
        "{}",
        r.text()
    );
}

/// A sidecar older than its source (the source was edited after the
/// sidecar was made) is not used: every client gets the new source.
#[test]
fn a_sidecar_older_than_its_source_is_not_used() {
    let site = Site::new();
    site.file("app.js", b"new source");
    site.file("app.js.gz", b"old gz");
    set_mtime(&site.path().join("app.js.gz"), at(1_600_000_000, 0));
    let s = Server::start_raw(site.path(), &["--threads", "1"]);
    let r = s.ask("GET", "/app.js", &[("Accept-Encoding", "gzip")]);
    assert_ok(&r, b"new source");
    assert_eq!(r.header("Content-Encoding"), None);
}

/// A sidecar whose time is its source's kept to the second (`brotli -k`
/// copies it so) is as fresh as its source, and used.
/// Was: ignored as older than its source (by the source's nanoseconds) /
/// now: used.
#[test]
fn a_sidecar_with_its_sources_time_in_whole_seconds_is_used() {
    let site = Site::new();
    site.file("app.js", b"source")
        .file("app.js.br", b"BR-SIDECAR");
    set_mtime(&site.path().join("app.js"), at(1_700_000_000, 534_887_591));
    set_mtime(&site.path().join("app.js.br"), at(1_700_000_000, 0));
    let s = Server::start(site.path(), &["--no-compress"]);
    let r = s.ask("GET", "/app.js", &[("Accept-Encoding", "br")]);
    assert_ok(&r, b"BR-SIDECAR");
    assert_eq!(r.header("Content-Encoding"), Some("br"));
    // A second earlier is older.
    set_mtime(&site.path().join("app.js.br"), at(1_699_999_999, 0));
    let r = s.ask("GET", "/app.js", &[("Accept-Encoding", "br")]);
    assert_ok(&r, b"source");
}

/// The inotify watches ferry holds, read from /proc (every inotify
/// descriptor's `inotify wd:` lines).
fn watches_of(pid: u32) -> usize {
    let mut n = 0;
    for e in fs::read_dir(format!("/proc/{pid}/fd")).unwrap().flatten() {
        let is_inotify =
            fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().contains("inotify"));
        if is_inotify {
            let info = fs::read_to_string(format!(
                "/proc/{pid}/fdinfo/{}",
                e.file_name().to_string_lossy()
            ))
            .unwrap_or_default();
            n += info
                .lines()
                .filter(|l| l.starts_with("inotify wd:"))
                .count();
        }
    }
    n
}

/// Only the folders of served files (and their ancestors) are watched: a
/// 50,000-file `node_modules` the page never loads costs no watch, no
/// failure and no warning.
#[test]
fn a_huge_folder_the_page_never_loads_costs_no_watch() {
    let _serial = serial();
    let site = Site::new();
    site.file(
        "index.html",
        b"<html><body><script src=\"js/app.js\"></script></body></html>",
    );
    site.file("js/app.js", b"console.log(1)");
    let nm = site.path().join("node_modules/pkg");
    fs::create_dir_all(&nm).unwrap();
    for i in 0..50_000 {
        fs::write(nm.join(format!("m{i}.js")), b"").unwrap();
    }
    let mut s = Server::start_raw(site.path(), &["--watch", "--quiet", "--threads", "2"]);
    let rx = stderr_lines(s.stderr());
    let mut c = Conn::new(connect(s.addr));
    c.send(&get_req("/"));
    assert_eq!(c.read_response(false).status_line, OK);
    let referer = format!("http://{}/", s.addr);
    let r = ask_on(&mut c.s, "GET", "/js/app.js", &[("Referer", &referer)]);
    assert_eq!(r.status_line, OK);
    std::thread::sleep(Duration::from_millis(100));
    let watches = watches_of(s.pid());
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!("watches while serving a page beside a 50,000-file folder: {watches}\n"),
    );
    // The root and js/, for the file cache and for live reload.
    assert!(watches <= 4, "{watches} watches");
    s.signal_and_wait(rustix::process::Signal::TERM, Duration::from_secs(5))
        .expect("exit");
    let mut seen = Vec::new();
    drain_lines(&rx, &mut seen);
    seen.retain(|l| !l.starts_with("ferry: stopped; "));
    assert!(seen.is_empty(), "stderr: {seen:?}");
}

/// A file with another hard link, written through that link (in a folder
/// no watch covers, here outside the root), is seen by the next request:
/// new bytes and tag, never a 304 for the old one.
/// Was: the old bytes and a 304 for the old tag for about 2 s / now: a
/// hard-linked file is checked by a stat per request.
#[test]
fn a_file_written_through_another_hard_link_is_seen_by_the_next_request() {
    let site = Site::new();
    site.file("d/f.txt", b"v0");
    let other = site
        .outside()
        .join(format!("link-{}.txt", std::process::id()));
    let _ = fs::remove_file(&other);
    fs::hard_link(site.path().join("d/f.txt"), &other).unwrap();
    let s = Server::start(site.path(), &[]);
    let mut c = s.conn();
    let mut last = c.get("/d/f.txt");
    assert_ok(&last, b"v0");
    let mut stale = Vec::new();
    for i in 1..=50 {
        let body = format!("v{i}{}", "x".repeat(i % 7));
        fs::write(&other, &body).unwrap();
        let tag = last.header("ETag").unwrap().to_owned();
        let r = c.ask("GET", "/d/f.txt", &[("If-None-Match", &tag)]);
        if r.status() != 200 || r.body != body.as_bytes() {
            stale.push((i, r.status_line.clone()));
        }
        last = r;
    }
    let _ = fs::remove_file(&other);
    assert_eq!(stale, [], "stale answers");
}
