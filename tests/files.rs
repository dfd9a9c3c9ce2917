//! Files, folders and paths: content types, decoding, traversal and
//! symlinks, folder redirects and listings, dotfiles, large files.

mod common;

use std::os::unix::fs::symlink;

use common::{Server, curl, parse_all, site};

fn raw_get(s: &Server, target: &str) -> common::Response {
    let raw = s.exchange(
        format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    parse_all(&raw, &[]).remove(0)
}

#[test]
fn content_types_follow_the_extension() {
    let dir = site(&[
        ("a.html", b"x"),
        ("a.css", b"x"),
        ("a.js", b"x"),
        ("a.mjs", b"x"),
        ("a.wasm", b"x"),
        ("a.json", b"x"),
        ("a.png", b"x"),
        ("a.svg", b"x"),
        ("a.txt", b"x"),
        ("a.weirdext", b"x"),
        ("noext", b"x"),
    ]);
    let s = Server::start(dir.path(), &[]);
    for (path, ct) in [
        ("/a.html", "text/html; charset=utf-8"),
        ("/a.css", "text/css; charset=utf-8"),
        ("/a.js", "text/javascript; charset=utf-8"),
        ("/a.mjs", "text/javascript; charset=utf-8"),
        ("/a.wasm", "application/wasm"),
        ("/a.json", "application/json"),
        ("/a.png", "image/png"),
        ("/a.svg", "image/svg+xml"),
        ("/a.txt", "text/plain; charset=utf-8"),
        ("/a.weirdext", "application/octet-stream"),
        ("/noext", "application/octet-stream"),
    ] {
        let r = s.get(path);
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.header("Content-Type"), Some(ct), "{path}");
    }
}

#[test]
fn paths_are_percent_decoded_once_and_queries_ignored() {
    let dir = site(&[
        ("a b.txt", b"space"),
        ("a+b.txt", b"plus"),
        ("%41.txt", b"literal percent"),
        ("caf\u{e9}.txt", b"utf8"),
    ]);
    let s = Server::start(dir.path(), &[]);
    assert_eq!(raw_get(&s, "/a%20b.txt").body, b"space");
    assert_eq!(raw_get(&s, "/a+b.txt").body, b"plus");
    assert_eq!(raw_get(&s, "/a+b.txt?x=1&y=%zz").body, b"plus");
    assert_eq!(raw_get(&s, "/%2541.txt").body, b"literal percent");
    assert_eq!(raw_get(&s, "/caf%C3%A9.txt").body, b"utf8");
    assert_eq!(
        raw_get(&s, "/%41.txt").status(),
        404,
        "decoded once: %41 is A"
    );
}

#[test]
fn malformed_escapes_invalid_utf8_and_nul_are_400() {
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    for target in [
        "/%zz",
        "/%4",
        "/a%",
        "/%ff",
        "/%C3",
        "/%00",
        "/a.txt%00.png",
    ] {
        let r = raw_get(&s, target);
        assert_eq!(r.status_line, "HTTP/1.1 400 Bad Request", "{target}");
    }
}

#[test]
fn nothing_outside_the_root_is_ever_served() {
    let outer = site(&[("secret.txt", b"TOP SECRET"), ("root/a.txt", b"inside")]);
    let root = outer.path().join("root");
    symlink(outer.path().join("secret.txt"), root.join("out-link")).unwrap();
    symlink(outer.path(), root.join("out-dir")).unwrap();
    symlink("../secret.txt", root.join("rel-out")).unwrap();
    let s = Server::start(&root, &[]);
    for target in [
        "/../secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/a/../../secret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/%252e%252e/secret.txt",
        "//../secret.txt",
        "/./../secret.txt",
        "/out-link",
        "/out-dir/secret.txt",
        "/out-dir/",
        "/rel-out",
        "http://t/../secret.txt",
    ] {
        let raw = s.exchange(
            format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("TOP SECRET"), "{target} leaked: {text}");
        let code = parse_all(&raw, &[])[0].status();
        assert!([400, 403, 404].contains(&code), "{target}: {code}");
    }
    // Absolute filesystem paths are just names under the root.
    let etc = raw_get(&s, "//etc/passwd");
    assert_eq!(etc.status(), 404);
    // curl --path-as-is sends the dot segments unnormalised.
    let (code, out, _) = curl(&["--path-as-is", &s.url("/../secret.txt")]);
    assert_eq!(code, 0);
    assert!(!String::from_utf8_lossy(&out).contains("TOP SECRET"));
}

#[test]
fn symlinks_inside_the_root_work() {
    let dir = site(&[("real/file.txt", b"real content"), ("top.txt", b"top")]);
    symlink("real/file.txt", dir.path().join("rel-link.txt")).unwrap();
    symlink(dir.path().join("top.txt"), dir.path().join("abs-link.txt")).unwrap();
    symlink("real", dir.path().join("dir-link")).unwrap();
    let s = Server::start(dir.path(), &[]);
    assert_eq!(s.get("/rel-link.txt").body, b"real content");
    assert_eq!(s.get("/abs-link.txt").body, b"top");
    assert_eq!(s.get("/dir-link/file.txt").body, b"real content");
}

#[test]
fn a_folder_without_slash_redirects_keeping_encoding_and_query() {
    let dir = site(&[("my dir/x.txt", b"x"), ("sub/index.html", b"<p>index</p>")]);
    let s = Server::start(dir.path(), &[]);
    let r = raw_get(&s, "/my%20dir?a=1&b=%20");
    assert_eq!(r.status_line, "HTTP/1.1 301 Moved Permanently");
    assert_eq!(r.header("Location"), Some("/my%20dir/?a=1&b=%20"));
    r.assert_common();
    let r = raw_get(&s, "/sub");
    assert_eq!(r.header("Location"), Some("/sub/"));
    let r = raw_get(&s, "/sub/");
    assert_eq!(r.status(), 200);
    assert_eq!(r.body, b"<p>index</p>");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    // curl follows it.
    let (code, out, _) = curl(&["-L", &s.url("/sub")]);
    assert_eq!(code, 0);
    assert_eq!(out, b"<p>index</p>");
}

#[test]
fn a_file_with_a_trailing_slash_is_404() {
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    assert_eq!(raw_get(&s, "/a.txt/").status(), 404);
}

#[test]
fn listings_escape_names_and_encode_hrefs_so_every_link_works() {
    let names = [
        "plain.txt",
        "with space.txt",
        "100%.txt",
        "hash#tag.txt",
        "what?.txt",
        "caf\u{e9}.txt",
        "<b>&\"'.txt",
        "a:b.txt",
    ];
    let files: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| (format!("d/{n}"), n.as_bytes().to_vec()))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    let dir = site(&refs);
    std::fs::create_dir(dir.path().join("d/zsub")).unwrap();
    std::fs::write(dir.path().join("d/.hidden"), b"h").unwrap();
    let s = Server::start(dir.path(), &[]);
    let r = raw_get(&s, "/d/");
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    let page = String::from_utf8(r.body.clone()).unwrap();
    assert!(page.contains("<a href=\"../\">../</a>"), "parent link");
    assert!(!page.contains(".hidden"), "dotfiles hidden");
    assert!(page.contains("&lt;b&gt;&amp;&quot;&#39;.txt"), "{page}");
    assert!(!page.contains("<b>"), "raw markup must not appear");
    // Directories first.
    let zsub = page.find("zsub/").unwrap();
    let plain = page.find("plain.txt").unwrap();
    assert!(zsub < plain, "directories are listed first");
    // Every href, fetched relative to /d/, returns that file's own name.
    let hrefs: Vec<&str> = page
        .split("href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        // Entry links are relative ("./name"); skip folders, the parent,
        // the breadcrumb ("/…") and the sort links ("?sort=…").
        .filter(|h| h.starts_with("./") && !h.ends_with('/'))
        .collect();
    assert_eq!(hrefs.len(), names.len(), "{hrefs:?}");
    for href in hrefs {
        let target = format!("/d/{}", href.trim_start_matches("./"));
        let got = raw_get(&s, &target);
        assert_eq!(got.status(), 200, "{href}");
        assert!(
            names.contains(&std::str::from_utf8(&got.body).unwrap()),
            "{href}"
        );
    }
    // Sizes shown.
    assert!(
        page.contains("title=\"9 bytes\">9 B<"),
        "size of plain.txt: {page}"
    );
}

#[test]
fn a_root_listing_has_no_parent_link_and_head_matches() {
    let dir = site(&[("x.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    let r = raw_get(&s, "/");
    assert!(!String::from_utf8_lossy(&r.body).contains("../"));
    let raw = s.exchange(b"HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let h = parse_all(&raw, &[true]).remove(0);
    assert_eq!(h.header("Content-Length"), r.header("Content-Length"));
    assert!(h.body.is_empty());
}

#[test]
fn dotfiles_are_404_unless_hidden_is_given() {
    let dir = site(&[
        (".env", b"KEY=1"),
        (".git/config", b"[core]"),
        ("ok.txt", b"ok"),
    ]);
    let s = Server::start(dir.path(), &[]);
    assert_eq!(raw_get(&s, "/.env").status(), 404);
    assert_eq!(raw_get(&s, "/.git/config").status(), 404);
    assert_eq!(raw_get(&s, "/%2eenv").status(), 404);
    let listing = String::from_utf8(raw_get(&s, "/").body).unwrap();
    assert!(!listing.contains(".env") && !listing.contains(".git"));
    drop(s);
    let s = Server::start(dir.path(), &["--hidden"]);
    assert_eq!(raw_get(&s, "/.env").body, b"KEY=1");
    assert_eq!(raw_get(&s, "/.git/config").body, b"[core]");
    let listing = String::from_utf8(raw_get(&s, "/").body).unwrap();
    assert!(listing.contains(".env"));
}

#[test]
fn special_files_are_not_served() {
    let dir = site(&[("a.txt", b"x")]);
    let fifo = dir.path().join("pipe");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !status.map(|s| s.success()).unwrap_or(false) {
        return;
    }
    let s = Server::start(dir.path(), &[]);
    // Opening a FIFO must not block the worker.
    assert_eq!(raw_get(&s, "/pipe").status(), 404);
    assert_eq!(raw_get(&s, "/a.txt").status(), 200);
}

#[test]
fn large_files_arrive_intact_by_curl_and_raw_socket() {
    let content = common::pattern(5 * 1024 * 1024 + 17, 1);
    let dir = site(&[("big.bin", &content), ("small.bin", &content[..40_000])]);
    let s = Server::start(dir.path(), &[]);
    let (code, out, err) = curl(&[&s.url("/big.bin")]);
    assert_eq!(code, 0, "{err}");
    assert!(out == content, "curl body differs ({} bytes)", out.len());
    let r = s.get("/small.bin");
    assert_eq!(r.body, &content[..40_000]);
    // Two big responses pipelined on one connection.
    let raw = s.exchange(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /small.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let rs = parse_all(&raw, &[]);
    assert_eq!(rs.len(), 2);
    assert!(rs[0].body == content);
    assert!(rs[1].body == content[..40_000]);
}

#[test]
fn a_changed_file_is_served_fresh() {
    let dir = site(&[("a.txt", b"one")]);
    let s = Server::start(dir.path(), &[]);
    assert_eq!(s.get("/a.txt").body, b"one");
    // Replace by rename (new inode): picked up within the 1 s revalidation.
    let tmp = dir.path().join("a.tmp");
    std::fs::write(&tmp, b"two two").unwrap();
    std::fs::rename(&tmp, dir.path().join("a.txt")).unwrap();
    let mut body = Vec::new();
    for _ in 0..150 {
        body = s.get("/a.txt").body;
        if body == b"two two" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(body, b"two two");
    std::fs::remove_file(dir.path().join("a.txt")).unwrap();
    let mut code = 200;
    for _ in 0..150 {
        code = s.get("/a.txt").status();
        if code == 404 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(code, 404);
}

#[test]
fn the_default_site_is_served_from_static() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
    let s = Server::start(&root, &[]);
    let r = s.get("/");
    assert_eq!(r.status(), 200);
    assert_eq!(r.body, std::fs::read(root.join("index.html")).unwrap());
    let page = String::from_utf8(r.body).unwrap();
    for asset in ["style.css", "ferry.svg"] {
        assert!(page.contains(asset), "index links {asset}");
        let a = s.get(&format!("/{asset}"));
        assert_eq!(a.status(), 200, "{asset}");
        assert_eq!(a.body, std::fs::read(root.join(asset)).unwrap());
    }
}
