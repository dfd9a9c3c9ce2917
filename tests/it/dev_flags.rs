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
    // A missing asset asked for by a script, or a non-HTML client: still
    // 404.
    assert_eq!(get(&s, "/missing.js", "Accept: */*\r\n").status(), 404);
    assert_eq!(
        get(&s, "/users/42", "Accept: application/json\r\n").status(),
        404
    );
    assert_eq!(get(&s, "/app.js", html).body, b"js");
    // Without --spa: 404.
    let s = Server::start(dir.path(), &[]);
    assert_eq!(get(&s, "/users/42/settings", html).status(), 404);
}

/// `--spa`: a deep link whose last segment has a dot (`/users/john.doe`)
/// gets the app's index when no such file exists and the client names
/// HTML; a missing script, stylesheet or image asked for as such (`*/*`,
/// `text/css`, `image/*`) stays 404, and a file that exists is itself.
/// HEAD sends GET's fields.
#[test]
fn spa_falls_back_for_dotted_deep_links_but_not_for_missing_assets() {
    let dir = site(&[
        ("index.html", b"<div id=app></div>"),
        ("data.v1.json", b"{}"),
    ]);
    let s = Server::start(dir.path(), &["--spa"]);
    let nav = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let index: &[u8] = b"<div id=app></div>";
    let cases: [(&str, &str, u16, Option<&[u8]>); 8] = [
        ("/users/john.doe", nav, 200, Some(index)),
        ("/docs/v1.2/intro", nav, 200, Some(index)),
        ("/missing.js", nav, 200, Some(index)),
        ("/missing.js", "*/*", 404, None),
        ("/app.css", "text/css,*/*;q=0.1", 404, None),
        (
            "/logo.png",
            "image/avif,image/webp,image/*,*/*;q=0.8",
            404,
            None,
        ),
        ("/data.v1.json", nav, 200, Some(b"{}")),
        ("/users/john.doe", "text/html;q=0, */*", 404, None),
    ];
    table(
        &cases,
        |c| format!("{} {}", c.0, c.1),
        |&(path, accept, status, body)| {
            let r = s.ask("GET", path, &[("Accept", accept)]);
            assert_eq!(r.status(), status);
            if let Some(body) = body {
                assert_ok(&r, body);
            }
            let head = s.ask("HEAD", path, &[("Accept", accept)]);
            assert_eq!(head.comparable_headers(), r.comparable_headers());
        },
    );
}

/// `--spa` without an index in the root has nothing to fall back to:
/// ferry refuses to start, with one line (exit status 2). An `index.htm`
/// counts, and is what the fallback serves.
#[test]
fn spa_without_an_index_refuses_to_start_and_index_htm_counts() {
    let dir = site(&[("a.txt", b"a"), ("sub/index.html", b"not the root's")]);
    let root = dir.path().to_str().unwrap();
    assert_eq!(
        one_line_error(&[root, "--port", "0", "--spa"]),
        format!("ferry: --spa needs an index.html (or index.htm) in {root} to fall back to\n")
    );
    dir.file("index.htm", b"<p>htm app</p>");
    let s = Server::start(dir.path(), &["--spa"]);
    let r = get(&s, "/users/42", "Accept: text/html\r\n");
    assert_ok(&r, b"<p>htm app</p>");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
}

/// `--clean-urls` (as `serve` offers): `/about` serves `about.html` (200,
/// its validators) when nothing is named `about`; `/about.html` redirects
/// there with 301 (serve's status; GET and HEAD only, so 308 would add
/// nothing), keeping the encoding and the query; `/dir/index.html`
/// redirects to `/dir/`. A file or folder named like the clean URL wins,
/// and then the `.html` name is served as it is, so no redirect leads to
/// another or to a different file. Folders keep their slash redirect.
/// Nothing outside the root is reached by appending `.html`.
#[test]
fn clean_urls_serve_about_html_at_about_and_redirect_the_html_name() {
    let t = site(&[
        ("index.html", b"root"),
        ("about.html", b"about"),
        ("docs/index.html", b"docs"),
        ("docs/guide.html", b"guide"),
        ("both", b"both plain"),
        ("both.html", b"both html"),
        ("folder.html", b"folder html"),
        ("folder/x.txt", b"x"),
        ("a b.html", b"spaced"),
    ]);
    std::fs::write(t.outside().join("page.html"), SECRET).unwrap();
    t.symlink(t.outside().join("page.html"), "leak.html");
    let s = Server::start(t.path(), &["--clean-urls"]);
    let html = Some("text/html; charset=utf-8");
    // (path, status, body or Location)
    let cases: [(&str, u16, &str); 21] = [
        ("/about", 200, "about"),
        ("/about?x=1", 200, "about"),
        ("/about.html", 301, "/about"),
        ("/about.html?x=1&y", 301, "/about?x=1&y"),
        ("//about.html", 301, "/about"),
        ("/index.html", 301, "/"),
        ("/docs/index.html?v=2", 301, "/docs/?v=2"),
        ("/docs", 301, "/docs/"),
        ("/docs/", 200, "docs"),
        ("/docs/guide", 200, "guide"),
        ("/docs/guide.html", 301, "/docs/guide"),
        ("/both", 200, "both plain"),
        ("/both.html", 200, "both html"),
        ("/folder", 301, "/folder/"),
        ("/folder.html", 200, "folder html"),
        ("/a%20b", 200, "spaced"),
        ("/a%20b.html", 301, "/a%20b"),
        ("/missing", 404, ""),
        ("/missing.html", 404, ""),
        ("/leak", 404, ""),
        ("/../page", 403, ""),
    ];
    table(
        &cases,
        |c| c.0.to_string(),
        |&(path, status, want)| {
            let r = s.ask("GET", path, &[]);
            assert_eq!(r.status(), status, "{:?}", r.headers);
            assert!(!r.text().contains(SECRET), "{path}");
            match status {
                200 => {
                    assert_ok(&r, want.as_bytes());
                    if want != "both plain" {
                        assert_eq!(r.header("Content-Type"), html);
                    }
                    let tag = r.header("ETag").expect("validators").to_owned();
                    let again = s.ask("GET", path, &[("If-None-Match", &tag)]);
                    assert_eq!(again.status(), 304);
                }
                301 => {
                    assert_eq!(r.header("Location"), Some(want));
                    // One redirect, then the page.
                    let next = s.ask("GET", want, &[]);
                    assert_eq!(next.status(), 200, "{want}: {:?}", next.headers);
                }
                _ => {}
            }
            let head = s.ask("HEAD", path, &[]);
            assert_eq!(head.comparable_headers(), r.comparable_headers());
        },
    );
    // Without the flag: names as they are.
    let s = Server::start(t.path(), &[]);
    assert_eq!(s.ask("GET", "/about", &[]).status(), 404);
    assert_ok(&s.ask("GET", "/about.html", &[]), b"about");
}

/// With --spa, what a missing path answers depends on `Accept`
/// (the app's index for a browser, 404 for a script), so both answers
/// carry `Vary: Accept` (RFC 9110 §12.5.5); otherwise a shared cache
/// hands a browser the cached 404 (cacheable by default, §15.5.5) or a
/// script the app's HTML. The index's answers also vary by
/// Accept-Encoding when it may be compressed; answers Accept did not
/// choose (a file that exists) do not vary by it.
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
            // A script's missing asset: 404, which a browser navigating
            // there would not get (a dotted deep link falls back too).
            let r = get(&s, "/missing.js", "Accept: */*\r\n");
            assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
            assert_eq!(
                r.header("Vary"),
                Some("Accept"),
                "missing asset: {:?}",
                r.headers
            );
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

/// Request fields, `(name, value)`.
type Asked<'a> = &'a [(&'a str, &'a str)];

/// Field names a response carries more than once.
fn repeated(r: &Response) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut twice = Vec::new();
    for name in r.names() {
        if seen.contains(&name) {
            twice.push(name);
        } else {
            seen.push(name);
        }
    }
    twice
}

/// A `--header` replaces ferry's own field of that name on every kind of
/// response — files, 206 (one range and several), 304, 412, 416,
/// listings and their 304, redirects, OPTIONS and the CORS preflight,
/// 404, 405 — and HEAD sends GET's fields. `Content-Type` is the type of
/// files (multipart parts too); ferry's own pages keep theirs.
#[test]
fn a_header_replaces_ferrys_own_field_on_every_kind_of_response() {
    let big = pattern(4000, 3);
    let dir = site(&[("a.txt", b"hello"), ("big.bin", &big), ("d/x.txt", b"x")]);
    let s = Server::start(
        dir.path(),
        &[
            "--cors",
            "--header",
            "Cache-Control: public, max-age=60",
            "--header",
            "Content-Type: text/plain; charset=us-ascii",
            "--header",
            "Access-Control-Expose-Headers: X-Id",
            "--header",
            "access-control-max-age: 600",
            "--header",
            "X-Frame-Options: DENY",
        ],
    );
    let tag = s
        .ask("GET", "/a.txt", &[])
        .header("ETag")
        .unwrap()
        .to_owned();
    let ours = Some("text/plain; charset=us-ascii");
    let html = Some("text/html; charset=utf-8");
    let inm = [("If-None-Match", tag.as_str())];
    let one = [("Range", "bytes=0-9")];
    let two = [("Range", "bytes=0-1, 5-6")];
    let past = [("Range", "bytes=999999-")];
    let im = [("If-Match", "\"other\"")];
    let any = [("If-None-Match", "*")];
    let preflight = [
        ("Origin", "http://example.test"),
        ("Access-Control-Request-Method", "GET"),
    ];
    type Case<'a> = (&'a str, &'a str, Asked<'a>, u16, Option<&'a str>);
    let multipart = "multipart/byteranges";
    let cases: [Case; 14] = [
        ("GET", "/a.txt", &[], 200, ours),
        ("HEAD", "/a.txt", &[], 200, ours),
        ("GET", "/a.txt", &inm, 304, None),
        ("GET", "/big.bin", &one, 206, ours),
        ("GET", "/big.bin", &two, 206, Some(multipart)),
        ("GET", "/a.txt", &im, 412, html),
        ("GET", "/big.bin", &past, 416, html),
        ("GET", "/d/", &[], 200, html),
        ("GET", "/d/", &any, 304, None),
        ("GET", "/d", &[], 301, html),
        ("OPTIONS", "/a.txt", &[], 204, None),
        ("OPTIONS", "/a.txt", &preflight, 204, None),
        ("GET", "/missing", &[], 404, html),
        ("POST", "/a.txt", &[], 405, html),
    ];
    table(
        &cases,
        |c| format!("{} {} {:?}", c.0, c.1, c.2),
        |&(method, path, fields, status, ctype)| {
            let r = s.ask(method, path, fields);
            assert_eq!(r.status(), status, "{:?}", r.headers);
            assert_eq!(repeated(&r), Vec::<String>::new(), "{:?}", r.headers);
            assert_eq!(r.header("Cache-Control"), Some("public, max-age=60"));
            assert_eq!(r.header("X-Frame-Options"), Some("DENY"));
            assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
            assert_eq!(r.header("Access-Control-Expose-Headers"), Some("X-Id"));
            assert_eq!(r.header("Access-Control-Max-Age"), Some("600"));
            let ct = r.header("Content-Type");
            assert_eq!(
                ct.map(|c| c.split(';').next().unwrap()),
                ctype.map(|c| c.split(';').next().unwrap())
            );
            if ctype != Some(multipart) {
                assert_eq!(ct, ctype);
            }
            if method == "GET" && status == 200 {
                let head = s.ask("HEAD", path, fields);
                assert_eq!(head.comparable_headers(), r.comparable_headers());
            }
        },
    );
    let r = s.ask("GET", "/big.bin", &two);
    assert!(
        r.text().contains(
            "\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Range: bytes 0-1/4000\r\n"
        ),
        "{}",
        r.text()
    );
    let r = s.ask("OPTIONS", "/a.txt", &preflight);
    assert_eq!(
        r.header("Access-Control-Allow-Methods"),
        Some("GET, HEAD, OPTIONS")
    );
    // A Cache-Control header alone stands in for the default no-cache.
    let s = Server::start(dir.path(), &["--header", "Cache-Control: no-store"]);
    for path in ["/a.txt", "/d/", "/missing"] {
        assert_eq!(s.ask("GET", path, &[]).all("Cache-Control"), ["no-store"]);
    }
}

/// A `--header Vary` is merged with the Vary ferry sends into one field,
/// each name once whatever its case (RFC 9110 §12.5.5), on files, their
/// 304, listings and 406; alone where ferry sends none; `*` absorbs
/// every name.
#[test]
fn a_vary_header_is_merged_with_ferrys_own_into_one_field_rfc9110_12_5_5() {
    let js = "let x = 1;\n".repeat(200);
    let dir = site(&[
        ("a.js", js.as_bytes()),
        ("p.png", b"png"),
        ("d/x.txt", b"x"),
    ]);
    let s = Server::start(
        dir.path(),
        &[
            "--header",
            "Vary: Origin, accept-encoding",
            "--header",
            "vary: origin, Cookie",
        ],
    );
    let tag = s
        .ask("GET", "/a.js", &[])
        .header("ETag")
        .unwrap()
        .to_owned();
    let inm = [("If-None-Match", tag.as_str())];
    let no_identity = [("Accept-Encoding", "identity;q=0, br")];
    let cases: [(&str, Asked, u16, &str); 6] = [
        ("/a.js", &[], 200, "Accept-Encoding, Origin, Cookie"),
        ("/a.js", &inm, 304, "Accept-Encoding, Origin, Cookie"),
        ("/d/", &[], 200, "Accept, Accept-Encoding, Origin, Cookie"),
        (
            "/p.png",
            &no_identity,
            406,
            "Accept-Encoding, Origin, Cookie",
        ),
        ("/p.png", &[], 200, "Origin, accept-encoding, Cookie"),
        ("/missing", &[], 404, "Origin, accept-encoding, Cookie"),
    ];
    table(
        &cases,
        |c| format!("{} {:?}", c.0, c.1),
        |&(path, fields, status, vary)| {
            let r = s.ask("GET", path, fields);
            assert_eq!(r.status(), status, "{:?}", r.headers);
            assert_eq!(r.all("Vary"), [vary]);
            let head = s.ask("HEAD", path, fields);
            assert_eq!(head.comparable_headers(), r.comparable_headers());
        },
    );
    let s = Server::start(dir.path(), &["--header", "Vary: *"]);
    for path in ["/a.js", "/d/", "/p.png"] {
        assert_eq!(s.ask("GET", path, &[]).all("Vary"), ["*"], "{path}");
    }
}

/// A `--header` that contradicts another flag stops startup with one line
/// naming both (exit status 2): `--cors` and Access-Control-Allow-Origin,
/// `--no-cache` or `--cache-control` and Cache-Control; so does a second
/// field that has one value (Content-Type, Access-Control-Allow-Origin in
/// any case).
/// Was: two Access-Control-Allow-Origin fields were sent, which fails
/// every CORS request / now: refused.
#[test]
fn a_header_contradicting_another_flag_is_a_one_line_error_naming_both() {
    let dir = site(&[("a.txt", b"a")]);
    let root = dir.path().to_str().unwrap();
    for (flags, line) in [
        (
            &[
                "--cors",
                "--header",
                "Access-Control-Allow-Origin: https://a.test",
            ][..],
            "ferry: --header Access-Control-Allow-Origin conflicts with --cors: \
             both set Access-Control-Allow-Origin; keep one of them\n",
        ),
        (
            &["--header", "cache-control: no-store", "--no-cache"],
            "ferry: --header cache-control conflicts with --no-cache: \
             both set cache-control; keep one of them\n",
        ),
        (
            &[
                "--cache-control",
                "max-age=60",
                "--header",
                "Cache-Control: no-store",
            ],
            "ferry: --header Cache-Control conflicts with --cache-control: \
             both set Cache-Control; keep one of them\n",
        ),
        (
            &[
                "--header",
                "Content-Type: text/plain",
                "--header",
                "Content-Type: text/css",
            ],
            "ferry: --header Content-Type is given twice; give it once\n",
        ),
        (
            &[
                "--header",
                "Access-Control-Allow-Origin: https://a.test",
                "--header",
                "access-control-allow-origin: https://b.test",
            ],
            "ferry: --header access-control-allow-origin is given twice; give it once\n",
        ),
    ] {
        let mut args = vec![root, "--port", "0"];
        args.extend_from_slice(flags);
        assert_eq!(one_line_error(&args), line, "{flags:?}");
    }
}

/// The fields conditional requests, ranges, codings and redirects rest on
/// are refused at startup like the framing fields (exit status 2, saying
/// why), so are the fields of one connection (RFC 9110 7.6.1), and so is a
/// Vary that is not a list of field names.
/// Was: Keep-Alive, Upgrade, TE and Trailer were sent on every response /
/// now: refused.
#[test]
fn headers_ferry_alone_sets_are_refused_at_startup() {
    let dir = site(&[("a.txt", b"a")]);
    let root = dir.path().to_str().unwrap();
    for (header, why) in [
        (
            "ETag: \"x\"",
            "ETag is set by ferry (conditional requests depend on it)",
        ),
        (
            "last-modified: Sun, 09 Sep 2001 01:46:40 GMT",
            "last-modified is set by ferry (conditional requests depend on it)",
        ),
        (
            "Content-Range: bytes 0-1/2",
            "Content-Range is set by ferry (range requests depend on it)",
        ),
        (
            "Accept-Ranges: none",
            "Accept-Ranges is set by ferry (range requests depend on it)",
        ),
        (
            "Content-Encoding: gzip",
            "Content-Encoding is set by ferry (it names the coding of the bytes sent)",
        ),
        (
            "Location: /elsewhere",
            "Location is set by ferry (redirects depend on it)",
        ),
        (
            "Transfer-Encoding: chunked",
            "Transfer-Encoding is set by ferry (message framing depends on it)",
        ),
        (
            "Keep-Alive: timeout=5",
            "Keep-Alive cannot be sent (it describes one connection, RFC 9110 7.6.1)",
        ),
        (
            "Upgrade: h2c",
            "Upgrade cannot be sent (ferry never switches protocols)",
        ),
        ("TE: trailers", "TE cannot be sent (it is a request field)"),
        (
            "Trailer: X-Sum",
            "Trailer cannot be sent (ferry sends no trailer fields)",
        ),
        ("Vary: a b", "Vary is a list of field names, or *"),
    ] {
        let (code, out, err) = run_ferry(&[root, "--port", "0", "--header", header], None);
        assert_eq!(code, Some(2), "{header}: {err}");
        assert_eq!(out, "", "{header}");
        assert!(err.contains(why), "{header}: {err}");
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
