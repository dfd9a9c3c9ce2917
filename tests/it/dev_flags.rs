//! Development conveniences: --no-listing, --spa, --404, --cors,
//! --header, --open.

use std::process::Command;

use crate::support::*;

fn get(s: &Server, target: &str, fields: &str) -> Response {
    let raw = s.exchange(
        format!("GET {target} HTTP/1.1\r\nHost: t\r\n{fields}Connection: close\r\n\r\n").as_bytes(),
    );
    parse_all(&raw, &[]).remove(0)
}

#[test]
fn no_listing_gives_403_for_folders_without_an_index() {
    let dir = site(&[("d/a.txt", b"a"), ("w/index.html", b"<p>w</p>")]);
    let s = Server::start(dir.path(), &["--no-listing"]);
    let r = get(&s, "/d/", "");
    assert_eq!(r.status_line, "HTTP/1.1 403 Forbidden");
    assert!(!String::from_utf8_lossy(&r.body).contains("a.txt"));
    assert_eq!(get(&s, "/w/", "").body, b"<p>w</p>");
    assert_eq!(get(&s, "/d/a.txt", "").body, b"a");
}

#[test]
fn spa_serves_the_index_for_app_routes_only() {
    let dir = site(&[("index.html", b"<div id=app></div>"), ("app.js", b"js")]);
    let s = Server::start(dir.path(), &["--spa"]);
    let html = "Accept: text/html,*/*;q=0.8\r\n";
    let r = get(&s, "/users/42/settings", html);
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.body, b"<div id=app></div>");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    // A missing asset (has an extension) or a non-HTML client: still 404.
    assert_eq!(get(&s, "/missing.js", html).status(), 404);
    assert_eq!(
        get(&s, "/users/42", "Accept: application/json\r\n").status(),
        404
    );
    assert_eq!(get(&s, "/app.js", html).body, b"js");
    // Without --spa: 404.
    let s = Server::start(dir.path(), &[]);
    assert_eq!(get(&s, "/users/42/settings", html).status(), 404);
}

/// With --spa, what an extension-less path answers depends on `Accept`
/// (the app's index for a browser, 404 for a script), so both answers
/// carry `Vary: Accept` (RFC 9110 §12.5.5); otherwise a shared cache
/// hands a browser the cached 404 (cacheable by default, §15.5.5) or a
/// script the app's HTML. The index's answers also vary by
/// Accept-Encoding when it may be compressed; answers Accept did not
/// choose (a file that exists, a missing asset) do not vary by it.
/// Was: no `Vary: Accept` on --spa's index or 404 / now: both (and the 304) carry it.
#[test]
fn spa_answers_that_depend_on_accept_carry_vary_accept_rfc9110_12_5_5() {
    let dir = site(&[("index.html", b"<div id=app></div>"), ("app.js", b"js")]);
    let page = dir.path().join("oops.html");
    std::fs::write(&page, b"<h1>oops</h1>").unwrap();
    let page = page.to_str().unwrap();
    // (flags, Vary of the index's answers, Vary of an existing file's)
    let cases: &[(&[&str], &str, Option<&str>)] = &[
        (
            &["--spa"],
            "Accept, Accept-Encoding",
            Some("Accept-Encoding"),
        ),
        (&["--spa", "--no-compress"], "Accept", None),
        (&["--spa", "--no-compress", "--404", page], "Accept", None),
    ];
    table(
        cases,
        |c| c.0.join(" "),
        |&(flags, index_vary, file_vary)| {
            let s = Server::start(dir.path(), flags);
            let html = "Accept: text/html,*/*;q=0.8\r\n";
            let r = get(&s, "/users/42", html);
            assert_eq!(r.status_line, "HTTP/1.1 200 OK");
            assert_eq!(r.body, b"<div id=app></div>");
            assert_eq!(r.header("Vary"), Some(index_vary), "200: {:?}", r.headers);
            let r = get(&s, "/users/42", &format!("{html}If-None-Match: *\r\n"));
            assert_eq!(r.status_line, "HTTP/1.1 304 Not Modified");
            assert_eq!(r.header("Vary"), Some(index_vary), "304: {:?}", r.headers);
            let r = get(&s, "/users/42", "Accept: application/json\r\n");
            assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
            assert_eq!(r.header("Vary"), Some("Accept"), "404: {:?}", r.headers);
            let r = get(&s, "/users/42", "");
            assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
            assert_eq!(r.header("Vary"), Some("Accept"), "404: {:?}", r.headers);
            let r = get(&s, "/missing.js", html);
            assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
            assert_eq!(r.header("Vary"), None, "missing asset: {:?}", r.headers);
            let r = get(&s, "/app.js", html);
            assert_eq!(r.status_line, "HTTP/1.1 200 OK");
            assert_eq!(
                r.header("Vary"),
                file_vary,
                "existing file: {:?}",
                r.headers
            );
        },
    );
}

#[test]
fn a_custom_404_page_keeps_the_status() {
    let dir = site(&[("a.txt", b"a")]);
    let page = dir.path().join("oops.html");
    std::fs::write(&page, b"<h1>Nothing here</h1>\n").unwrap();
    let s = Server::start(dir.path(), &["--404", page.to_str().unwrap()]);
    let r = get(&s, "/nope", "");
    assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.body, b"<h1>Nothing here</h1>\n");
    // HEAD: same length, no body.
    let raw = s.exchange(b"HEAD /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let h = parse_all(&raw, &[true]).remove(0);
    assert_eq!(h.header("Content-Length"), Some("22"));
    // Other errors keep their own pages.
    assert!(String::from_utf8_lossy(&get(&s, "/%zz", "").body).contains("400 Bad Request"));
    // A missing page file is a startup error.
    let (code, _, err) = run_ferry(
        &[
            dir.path().to_str().unwrap(),
            "--port",
            "0",
            "--404",
            "/no/such/page.html",
        ],
        None,
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot read the 404 page"), "{err}");
}

#[test]
fn cors_adds_allow_origin_and_answers_preflight() {
    let dir = site(&[("data.json", b"{}")]);
    let s = Server::start(dir.path(), &["--cors"]);
    let r = get(&s, "/data.json", "Origin: http://example.test\r\n");
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
    assert!(
        r.header("Access-Control-Expose-Headers")
            .unwrap()
            .contains("Content-Range")
    );
    assert_eq!(
        get(&s, "/missing", "").header("Access-Control-Allow-Origin"),
        Some("*")
    );
    let raw = s.exchange(
        b"OPTIONS /data.json HTTP/1.1\r\nHost: t\r\nOrigin: http://example.test\r\n\
          Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: range, if-none-match\r\n\
          Connection: close\r\n\r\n",
    );
    let p = parse_all(&raw, &[]).remove(0);
    assert_eq!(p.status_line, "HTTP/1.1 204 No Content");
    assert_eq!(p.header("Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(
        p.header("Access-Control-Allow-Methods"),
        Some("GET, HEAD, OPTIONS")
    );
    assert_eq!(
        p.header("Access-Control-Allow-Headers"),
        Some("range, if-none-match")
    );
    assert_eq!(p.header("Access-Control-Max-Age"), Some("86400"));
    // Without --cors: nothing.
    let s = Server::start(dir.path(), &[]);
    assert!(
        get(&s, "/data.json", "Origin: http://x\r\n")
            .header("Access-Control-Allow-Origin")
            .is_none()
    );
}

#[test]
fn extra_headers_go_on_every_response_and_bad_ones_exit_2() {
    let dir = site(&[("a.txt", b"a")]);
    let s = Server::start(
        dir.path(),
        &[
            "--header",
            "X-Frame-Options: DENY",
            "--header",
            "Cache-Control: no-store",
        ],
    );
    for target in ["/a.txt", "/missing"] {
        let r = get(&s, target, "");
        assert_eq!(r.header("X-Frame-Options"), Some("DENY"), "{target}");
        assert_eq!(r.header("Cache-Control"), Some("no-store"), "{target}");
    }
    for bad in [
        "NoColon",
        "Bad Name: x",
        "X-A: a\r\nX-B: b",
        "Content-Length: 1",
    ] {
        let (code, _, err) = run_ferry(
            &[dir.path().to_str().unwrap(), "--port", "0", "--header", bad],
            None,
        );
        assert_eq!(code, Some(2), "{bad:?}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn open_hands_the_url_to_the_desktop_launcher() {
    let dir = site(&[("a.txt", b"a")]);
    // A stand-in xdg-open that records its argument.
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("opened.txt");
    let script = bin.path().join("xdg-open");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1\" > '{}'\n", record.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg(dir.path())
        .args(["--port", "0", "--quiet", "--open"])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()));
    let s = Server::spawn(cmd, dir.path());
    let mut opened = String::new();
    for _ in 0..250 {
        if let Ok(text) = std::fs::read_to_string(&record)
            && !text.is_empty()
        {
            opened = text;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        opened.trim_end(),
        format!("http://127.0.0.1:{}/", s.addr.port())
    );
    // No launcher at all: still serving, with a note.
    let mut cmd = Command::new(BIN);
    cmd.arg(dir.path())
        .args(["--port", "0", "--open"])
        .env("PATH", "/nonexistent");
    let mut s = Server::spawn(cmd, dir.path());
    assert_eq!(s.get("/a.txt").body, b"a");
    // The note goes through the log writer (flushed within a second).
    let rx = stderr_lines(s.stderr());
    let mut seen = Vec::new();
    let note = wait_for_line(
        &rx,
        &mut seen,
        &["--open: no browser launcher"],
        std::time::Duration::from_secs(3),
    );
    assert!(note.is_some(), "{seen:?}");
}
