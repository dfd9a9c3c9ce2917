//! Folder listings: HTML (escaped names, working links, folders first,
//! sizes, dates, breadcrumb, sorting) and JSON; odd names; no validators.

use crate::support::*;

fn html_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(semi) = after.find(';').filter(|j| *j < 12) else {
            out.push('&');
            rest = &after[1..];
            continue;
        };
        let ent = &after[1..semi];
        let ch = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                u32::from_str_radix(&ent[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every `href` of a page, HTML-unescaped.
pub fn hrefs(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut pos = 0;
    for _ in 0..100_000 {
        let Some(i) = lower[pos..].find("href=") else {
            break;
        };
        let start = pos + i + 5;
        let q = html.as_bytes().get(start).copied();
        if q == Some(b'"') || q == Some(b'\'') {
            let q = q.unwrap() as char;
            if let Some(j) = html[start + 1..].find(q) {
                out.push(html_unescape(&html[start + 1..start + 1 + j]));
                pos = start + 1 + j + 1;
                continue;
            }
        }
        pos = start;
    }
    out
}

/// Resolves an href against a folder's URL path, the way a browser would.
pub fn resolve(base: &str, href: &str) -> String {
    let href = href.split('#').next().unwrap();
    let (path, query) = match href.find('?') {
        Some(i) => (&href[..i], &href[i..]),
        None => (href, ""),
    };
    let joined = if let Some(rest) = path.strip_prefix("http://") {
        match rest.find('/') {
            Some(i) => rest[i..].to_string(),
            None => "/".to_string(),
        }
    } else if path.starts_with('/') {
        path.to_string()
    } else if path.is_empty() {
        base.to_string()
    } else {
        format!("{base}{path}")
    };
    let mut segs: Vec<&str> = Vec::new();
    let parts: Vec<&str> = joined.split('/').collect();
    let n = parts.len();
    for (i, seg) in parts.into_iter().enumerate() {
        match seg {
            "." => {
                if i == n - 1 {
                    segs.push("");
                }
            }
            ".." => {
                if segs.len() > 1 {
                    segs.pop();
                }
                if i == n - 1 {
                    segs.push("");
                }
            }
            s => segs.push(s),
        }
    }
    let mut p = segs.join("/");
    if !p.starts_with('/') {
        p.insert(0, '/');
    }
    format!("{p}{query}")
}

fn href_is_properly_encoded(h: &str) -> bool {
    h.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%?".contains(&b))
}

fn pct_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[test]
fn every_listing_link_is_percent_encoded_and_leads_to_its_entry() {
    let t = Site::new();
    let names = [
        "sp ace.txt",
        "pct%41.txt",
        "hash#frag.txt",
        "q?x=1.txt",
        "caf\u{e9}-\u{65e5}\u{672c}.txt",
        "<b>&\"'tag.txt",
        "plus+sign.txt",
        "semi;colon.txt",
        "normal.txt",
    ];
    for n in names {
        t.file(&format!("d/{n}"), n.as_bytes());
    }
    t.file("d/a <sub> dir/inner.txt", b"INNER");
    let s = Server::start(t.path(), &[]);
    let r = s.request(&get_req("/d/"));
    assert_eq!(r.status_line, OK);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let body = r.text();
    assert!(!body.contains("<b>&"), "raw file name in the HTML:\n{body}");
    assert!(!body.contains("<sub>"), "raw folder name in the HTML");
    assert!(
        body.contains("&lt;b&gt;&amp;"),
        "escaped name missing:\n{body}"
    );
    let links = hrefs(&body);
    for n in names {
        let want = format!("/d/{n}");
        let h = links
            .iter()
            .find(|h| pct_decode(resolve("/d/", h).split('?').next().unwrap()) == want.as_bytes())
            .unwrap_or_else(|| panic!("no working href for {n:?}; hrefs {links:?}"));
        assert!(href_is_properly_encoded(h), "href {h:?} for {n:?}");
        assert_ok(&s.request(&get_req(&resolve("/d/", h))), n.as_bytes());
    }
    let dir_href = links
        .iter()
        .find(|h| pct_decode(resolve("/d/", h).split('?').next().unwrap()) == b"/d/a <sub> dir/")
        .unwrap_or_else(|| panic!("no href to the subfolder (with its slash): {links:?}"));
    assert!(href_is_properly_encoded(dir_href), "{dir_href:?}");
    let inner = format!("{}inner.txt", resolve("/d/", dir_href));
    assert_ok(&s.request(&get_req(&inner)), b"INNER");
}

/// Every link of a listing works: names are escaped, and what no URL
/// reaches (dotfiles, a name with a backslash, refused as a path) is not
/// listed.
/// Was: `back\slash` was listed, and its link got 403 / now: not listed.
#[test]
fn a_listing_escapes_names_puts_folders_first_shows_sizes_and_hides_what_no_url_reaches() {
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
    let t = Site::new();
    for n in names {
        t.file(&format!("d/{n}"), n.as_bytes());
    }
    t.dir("d/zsub")
        .file("d/.hidden", b"h")
        .file("d/.dotdir/f", b"4")
        .file("d/back\\slash.txt", b"b");
    let s = Server::start(t.path(), &[]);
    let r = s.request(&get_req("/d/"));
    assert_eq!(r.status_line, OK);
    let page = r.text();
    assert!(page.contains("<a href=\"../\">../</a>"), "parent link");
    assert!(
        !page.contains(".hidden") && !page.contains(".dotdir"),
        "dotfiles hidden"
    );
    assert!(!page.contains("slash"), "the backslash name is not listed");
    let json = s
        .ask("GET", "/d/", &[("Accept", "application/json")])
        .text();
    assert!(
        !json.contains("slash") && json.contains("plain.txt"),
        "{json}"
    );
    assert!(page.contains("&lt;b&gt;&amp;&quot;&#39;.txt"), "{page}");
    assert!(!page.contains("<b>"), "raw markup must not appear");
    let zsub = page.find("zsub/").unwrap();
    let plain = page.find("plain.txt").unwrap();
    assert!(zsub < plain, "folders first");
    // Entry links are relative ("./name"): skip folders, the parent, the
    // breadcrumb ("/…") and the sort links ("?sort=…").
    let entries: Vec<&str> = page
        .split("href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .filter(|h| h.starts_with("./") && !h.ends_with('/'))
        .collect();
    assert_eq!(entries.len(), names.len(), "{entries:?}");
    for href in entries {
        let got = s.get(&format!("/d/{}", href.trim_start_matches("./")));
        assert_eq!(got.status(), 200, "{href}");
        assert!(names.contains(&got.text().as_str()), "{href}");
    }
    assert!(
        page.contains("title=\"9 bytes\">9 B<"),
        "size of plain.txt: {page}"
    );
}

#[test]
fn a_root_listing_has_no_parent_link_and_head_matches_it() {
    let dir = site(&[("x.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    let r = s.request(&get_req("/"));
    assert!(!r.text().contains("../"));
    let h = s.request(&req("HEAD", "/"));
    assert_eq!(h.comparable_headers(), r.comparable_headers());
    assert!(h.body.is_empty());
}

#[test]
fn a_listing_row_shows_the_exact_size_and_the_modification_time() {
    let t = Site::new();
    t.file("d/f.bin", &vec![0u8; 12345]);
    // 2001-02-03 04:05:06 UTC
    set_mtime(&t.path().join("d/f.bin"), at(981_173_106, 0));
    let s = Server::start(t.path(), &[]);
    let r = s.request(&get_req("/d/"));
    assert_eq!(r.status_line, OK);
    let body = r.text();
    let i = body
        .find("<tr><td><a href=\"./f.bin\">")
        .expect("file in listing");
    let row_end = body[i..].find('\n').map(|j| i + j).unwrap();
    assert_eq!(
        &body[i..row_end],
        "<tr><td><a href=\"./f.bin\">f.bin</a><td title=\"12345 bytes\">12.1 KiB<td>2001-02-03 04:05:06"
    );
    assert!(
        body.contains(">Modified (UTC)</button></form></th>"),
        "the times are UTC"
    );
}

/// A name that is not UTF-8 (Linux names are bytes) is listed — shown
/// lossily (U+FFFD), linked by its exact bytes percent-encoded — in HTML
/// and JSON, and its link serves it; a folder so named is listed with a
/// lossy title and exact breadcrumb links; an edit to such a file is seen
/// at once, by the listing and by the file cache.
#[test]
fn names_that_are_not_utf8_are_listed_lossily_linked_exactly_and_served() {
    use std::os::unix::ffi::OsStrExt;
    let t = Site::new();
    t.file("d/good.txt", b"GOOD");
    let d = t.path().join("d");
    let bad = d.join(std::ffi::OsStr::from_bytes(b"bad\xff\xfe.txt"));
    std::fs::write(&bad, b"BAD").unwrap();
    let folder = d.join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("inner.txt"), b"INNER").unwrap();
    let s = Server::start(t.path(), &[]);
    let mut c = s.conn();
    let r = c.get("/d/");
    r.assert_common();
    assert_eq!(r.status_line, OK);
    let page = r.text();
    assert!(
        page.contains("<a href=\"./bad%FF%FE.txt\">bad\u{fffd}\u{fffd}.txt</a>"),
        "{page}"
    );
    assert!(
        page.contains("<a href=\"./caf%E9/\">caf\u{fffd}/</a>"),
        "{page}"
    );
    let links: Vec<String> = hrefs(&page).iter().map(|h| resolve("/d/", h)).collect();
    for (link, body) in [("/d/bad%FF%FE.txt", &b"BAD"[..]), ("/d/good.txt", b"GOOD")] {
        assert!(links.iter().any(|l| l == link), "{link} in {links:?}");
        assert_ok(&c.get(link), body);
    }
    // JSON: the lossy name, the exact href.
    let doc = json_doc(&c.get("/d/?format=json"));
    let e = doc["entries"].as_array().unwrap();
    let pairs: Vec<(&str, &str, &serde_json::Value)> = e
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["href"].as_str().unwrap(),
                &e["size"],
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("caf\u{fffd}", "caf%E9/", &serde_json::Value::Null),
            ("bad\u{fffd}\u{fffd}.txt", "bad%FF%FE.txt", &3.into()),
            ("good.txt", "good.txt", &4.into()),
        ]
    );
    // The folder: redirected to its slash form, listed, its file served.
    let r = c.get("/d/caf%E9");
    assert_eq!(
        (r.status_line.as_str(), r.header("Location")),
        (MOVED, Some("/d/caf%E9/"))
    );
    let inner = c.get("/d/caf%E9/").text();
    assert!(
        inner.contains("<title>Index of /d/caf\u{fffd}/</title>"),
        "{inner}"
    );
    assert!(
        inner.contains("<a href=\"/d/\">d</a><span class=\"sep\">/</span><a href=\"/d/caf%E9/\">caf\u{fffd}</a>"),
        "{inner}"
    );
    let doc = json_doc(&c.get("/d/caf%E9/?format=json"));
    assert_eq!(doc["path"], "/d/caf\u{fffd}/");
    assert_ok(&c.get("/d/caf%E9/inner.txt"), b"INNER");
    // An edit is seen at once: by the file cache and by the listing.
    std::fs::write(&bad, b"BAD, LONGER").unwrap();
    assert_ok(&c.get("/d/bad%FF%FE.txt"), b"BAD, LONGER");
    let doc = json_doc(&c.get("/d/?format=json"));
    assert_eq!(doc["entries"][1]["size"], 11);
}

fn names_site() -> Site {
    site(&[
        ("docs/small.txt", b"x"),
        ("docs/big.bin", &[0u8; 5000]),
        ("docs/mid.css", &[b'a'; 200]),
        ("docs/with space & \u{e9}.txt", b"spaced"),
        ("docs/100%#?.txt", b"odd"),
        ("docs/sub/inner.txt", b"inner"),
    ])
}

fn get_with(s: &Server, target: &str, fields: &str) -> Response {
    let raw = s.exchange(
        format!("GET {target} HTTP/1.1\r\nHost: t\r\n{fields}Connection: close\r\n\r\n").as_bytes(),
    );
    parse_all(&raw, &[]).remove(0)
}

#[test]
fn the_json_listing_describes_every_entry_and_every_href_works() {
    let dir = names_site();
    let s = Server::start(dir.path(), &[]);
    for (target, fields) in [
        ("/docs/", "Accept: application/json\r\n"),
        ("/docs/?format=json", ""),
    ] {
        let r = get_with(&s, target, fields);
        assert_eq!(r.status_line, OK);
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.header("Vary"), Some("Accept, Accept-Encoding"));
        let doc: serde_json::Value = serde_json::from_slice(&r.body).expect("valid JSON");
        assert_eq!(doc["path"], "/docs/");
        let entries = doc["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 6);
        assert_eq!(entries[0]["name"], "sub", "folders first");
        assert_eq!(entries[0]["type"], "directory");
        assert!(entries[0]["size"].is_null(), "a folder's size is null");
        assert_eq!(
            (
                &doc["total"],
                &doc["page"],
                &doc["pages"],
                &doc["truncated"]
            ),
            (&6.into(), &1.into(), &1.into(), &false.into())
        );
        assert_eq!(
            (&doc["next"], &doc["prev"]),
            (&serde_json::Value::Null, &serde_json::Value::Null)
        );
        for e in entries {
            let name = e["name"].as_str().unwrap();
            let href = e["href"].as_str().unwrap();
            let modified = e["modified"].as_str().unwrap();
            assert!(
                modified.len() == 20 && modified.ends_with('Z') && &modified[10..11] == "T",
                "{modified}"
            );
            let got = get_with(&s, &format!("/docs/{href}"), "");
            assert_eq!(got.status(), 200, "{href}");
            if e["type"] == "file" {
                let on_disk = std::fs::read(dir.path().join("docs").join(name)).unwrap();
                assert_eq!(got.body, on_disk, "{name}");
                assert_eq!(e["size"].as_u64(), Some(on_disk.len() as u64));
            }
        }
    }
    // Browsers still get HTML.
    let html = get_with(
        &s,
        "/docs/",
        "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n",
    );
    assert_eq!(
        html.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(html.header("Vary"), Some("Accept, Accept-Encoding"));
}

#[test]
fn the_html_listing_has_a_breadcrumb_sizes_and_sorting() {
    let dir = names_site();
    let s = Server::start(dir.path(), &[]);
    let page = get_with(&s, "/docs/sub/", "").text();
    assert!(
        page.contains("<a href=\"/\">/</a><a href=\"/docs/\">docs</a><span class=\"sep\">/</span><a href=\"/docs/sub/\">sub</a>"),
        "{page}"
    );
    assert!(page.contains("<a href=\"../\">../</a>"));
    assert!(page.contains("prefers-color-scheme:dark"));
    let page = get_with(&s, "/docs/", "").text();
    assert!(page.contains("title=\"5000 bytes\">4.9 KiB<"), "{page}");
    assert!(page.contains("1 folder, 5 files"), "{page}");
    let order = |page: &str| -> Vec<usize> {
        ["small.txt", "mid.css", "big.bin"]
            .iter()
            .map(|n| page.find(&format!(">{n}<")).unwrap())
            .collect()
    };
    let by_size = get_with(&s, "/docs/?sort=size", "").text();
    let o = order(&by_size);
    assert!(o[0] < o[1] && o[1] < o[2], "ascending size");
    let by_size_desc = get_with(&s, "/docs/?sort=size&order=desc", "").text();
    let o = order(&by_size_desc);
    assert!(o[2] < o[1] && o[1] < o[0], "descending size");
    assert!(
        by_size_desc.find(">sub/<").unwrap() < o[2],
        "folders stay first"
    );
    assert!(
        by_size.contains(
            "<th aria-sort=\"ascending\"><form rel=\"nofollow\"><input type=\"hidden\" name=\"sort\" \
             value=\"size\"><button name=\"order\" value=\"desc\">Size ↑</button></form></th>"
        ),
        "the column toggles: {by_size}"
    );
}

/// A listing has no ETag or Last-Modified (so no validator can go stale),
/// and shows an entry added to the folder on the next request.
#[test]
fn a_listing_carries_no_validators_and_shows_a_new_entry_at_once() {
    let dir = site(&[("sub/a.txt", b"a")]);
    let s = Server::start(dir.path(), &[]);
    let r = s.request(&get_req("/sub/"));
    assert_eq!(r.status_line, OK);
    assert_eq!(r.header("ETag"), None);
    assert_eq!(r.header("Last-Modified"), None);
    std::fs::write(dir.path().join("sub/brand-new-entry.txt"), b"b").unwrap();
    let r = s.request(&get_req("/sub/"));
    assert!(r.text().contains("brand-new-entry.txt"));
}

/// A listed file that grows shows its new size in the next listing: the
/// folder's times don't change, but its cached listing is watched.
#[test]
fn a_listing_shows_a_listed_files_new_size_at_once() {
    let dir = site(&[("sub/a.txt", b"a")]);
    let s = Server::start(dir.path(), &[]);
    assert_eq!(s.request(&get_req("/sub/")).status_line, OK);
    std::fs::write(dir.path().join("sub/a.txt"), pattern(123_456, 7)).unwrap();
    let r = s.request(&get_req("/sub/"));
    assert!(r.text().contains("title=\"123456 bytes\""), "{}", r.text());
}

/// `--max-listing-read N` reads N entries of the folder: a folder with
/// exactly N entries is listed whole, not cut short by the `.` and `..`
/// the kernel also returns; one more entry makes it partial.
/// Was: `.` and `..` counted, so N entries were listed partial / now: listed whole.
#[test]
fn a_folder_of_exactly_max_listing_read_entries_is_listed_whole() {
    let dir = site(&[
        ("five/1.txt", b"1"),
        ("five/2.txt", b"2"),
        ("five/3.txt", b"3"),
        ("five/4.txt", b"4"),
        ("five/5.txt", b"5"),
        ("six/1.txt", b"1"),
        ("six/2.txt", b"2"),
        ("six/3.txt", b"3"),
        ("six/4.txt", b"4"),
        ("six/5.txt", b"5"),
        ("six/6.txt", b"6"),
    ]);
    let s = Server::start(dir.path(), &["--max-listing-read", "5"]);
    let r = s.request(&get_req("/five/?format=json"));
    assert_eq!(r.status_line, OK);
    let doc: serde_json::Value = serde_json::from_slice(&r.body).expect("valid JSON");
    let names: Vec<&str> = doc["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["1.txt", "2.txt", "3.txt", "4.txt", "5.txt"],
        "{}",
        r.text()
    );
    assert_eq!(doc["truncated"], false, "{}", r.text());
    let html = s.request(&get_req("/five/")).text();
    assert!(!html.contains("--max-listing-read"), "{html}");
    let six = s.request(&get_req("/six/?format=json"));
    assert_eq!(six.status_line, OK);
    let doc: serde_json::Value = serde_json::from_slice(&six.body).expect("valid JSON");
    assert_eq!(json_names(&six).len(), 5, "{}", six.text());
    assert_eq!(doc["truncated"], true, "{}", six.text());
}

fn json_names(r: &Response) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_slice(&r.body).expect("valid JSON");
    doc["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["name"].as_str().expect("name").to_owned())
        .collect()
}

/// Listings of folders not yet read (so answered after the listing thread
/// has read them) pipelined between file GETs and HEADs come back in the
/// order asked, each exactly framed.
#[test]
fn pipelined_listings_of_unread_folders_and_files_are_answered_in_order() {
    let dir = site(&[("small.txt", b"small\n")]);
    for d in ["p", "q"] {
        for i in 0..1_500 {
            dir.file(&format!("{d}/e{i:04}"), b"");
        }
    }
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let mut raw = Vec::new();
    raw.extend(get_req("/p/?format=json"));
    raw.extend(get_req("/small.txt"));
    raw.extend(req("HEAD", "/q/"));
    raw.extend(get_req("/small.txt"));
    raw.extend(b"GET /q/?format=json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let rs = parse_all(&s.exchange(&raw), &[false, false, true, false, false]);
    assert_eq!(rs.len(), 5);
    for r in &rs {
        r.assert_common();
        assert_eq!(r.status_line, OK);
    }
    assert_eq!(rs[0].header("Content-Type"), Some("application/json"));
    assert_eq!(json_names(&rs[0]).len(), 1_500);
    assert_ok(&rs[1], b"small\n");
    assert_eq!(
        rs[2].header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_ok(&rs[3], b"small\n");
    let names = json_names(&rs[4]);
    assert_eq!((names.len(), names[0].as_str()), (1_500, "e0000"));
}

/// Listings are cached per folder version: an entry added while the folder
/// is being read, or in the same clock tick as a cached read, is in the
/// next listing all the same.
#[test]
fn an_entry_added_during_or_just_after_a_listing_is_in_the_next_one() {
    let dir = Site::new();
    for i in 0..4_000 {
        dir.file(&format!("big/e{i:05}"), b"");
    }
    dir.dir("small");
    let s = Server::start(dir.path(), &[]);
    let addr = s.addr;
    for round in 0..5 {
        // Added while a listing of the big folder is under way.
        let during = std::thread::spawn(move || fetch(addr, "/big/?format=json"));
        std::thread::sleep(std::time::Duration::from_millis(2 * round));
        let name = format!("0-added-{round}");
        dir.file(&format!("big/{name}"), b"");
        assert_eq!(during.join().unwrap().status_line, OK);
        let names = json_names(&fetch(addr, "/big/?format=json"));
        assert!(names.contains(&name), "round {round}: {name} missing");
    }
    for round in 0..50 {
        // Added right after a listing, in the same tick of the folder's mtime.
        dir.file(&format!("small/a-{round}"), b"");
        let _ = fetch(addr, "/small/?format=json");
        dir.file(&format!("small/b-{round}"), b"");
        let names = json_names(&fetch(addr, "/small/?format=json"));
        assert!(
            names.contains(&format!("b-{round}")),
            "round {round}: {names:?}"
        );
    }
}

/// `Accept` means the same over many lines, empty ones included: JSON asked
/// for on the 13th line is JSON, and an HTML preference there is HTML.
#[test]
fn accept_over_many_lines_with_empty_ones_is_one_list() {
    let dir = site(&[("sub/a.txt", b"a")]);
    let s = Server::start(dir.path(), &[]);
    let ask = |last: &str| {
        let mut f: Vec<(&str, &str)> = ["", ",", "x/y;q=0.1"]
            .iter()
            .cycle()
            .take(12)
            .map(|v| ("Accept", *v))
            .collect();
        f.push(("Accept", last));
        s.ask("GET", "/sub/", &f)
    };
    assert_eq!(
        ask("application/json").header("Content-Type"),
        Some("application/json")
    );
    assert_eq!(
        ask("text/html").header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
}

/// Names sort naturally and case-insensitively, folders first, as
/// miniserve does (`apple, Banana, file2, file10`); names equal but for
/// case go by their bytes, so the order never depends on the disk's.
#[test]
fn names_sort_naturally_and_case_insensitively_in_html_and_json() {
    let dir = Site::new();
    for n in [
        "file10",
        "Banana",
        "file2",
        "apple",
        "b",
        "B",
        "img-9.png",
        "img-10.png",
    ] {
        dir.file(&format!("d/{n}"), n.as_bytes());
    }
    dir.dir("d/Zoo")
        .dir("d/attic")
        .dir("d/dir 10")
        .dir("d/dir 9");
    let s = Server::start(dir.path(), &[]);
    let want = [
        "attic",
        "dir 9",
        "dir 10",
        "Zoo",
        "apple",
        "B",
        "b",
        "Banana",
        "file2",
        "file10",
        "img-9.png",
        "img-10.png",
    ];
    assert_eq!(json_names(&s.request(&get_req("/d/?format=json"))), want);
    let page = s.request(&get_req("/d/")).text();
    let at: Vec<usize> = want
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let slash = if i < 4 { "/" } else { "" }; // the folders
            page.find(&format!(">{n}{slash}</a>"))
                .unwrap_or_else(|| panic!("{n} not in {page}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{want:?} at {at:?}");
    // Descending reverses the names, folders still first.
    let mut rev = want;
    rev[..4].reverse();
    rev[4..].reverse();
    assert_eq!(
        json_names(&s.request(&get_req("/d/?format=json&sort=name&order=desc"))),
        rev
    );
}

/// Lays out `d/` with two folders and files `f1` … `fN` of `i` bytes each
/// (sparse) and the time `i`: every order has one answer.
fn numbered(n: usize) -> Site {
    let dir = Site::new();
    dir.dir("d/sub-b").dir("d/sub-a");
    for i in 1..=n {
        let p = dir.path().join(format!("d/f{i}"));
        std::fs::File::create(&p)
            .unwrap()
            .set_len(i as u64)
            .unwrap();
        set_mtime(&p, at(1_000_000_000 + i as u64, 0));
    }
    dir
}

fn json_doc(r: &Response) -> serde_json::Value {
    assert_eq!(r.status_line, OK, "{}", r.text());
    serde_json::from_slice(&r.body).expect("valid JSON")
}

/// A folder of more entries than a page (10,000) is listed a page at a
/// time in the chosen order — the first 10,000 by name, size or time,
/// never a readdir subset; a script follows `next` to the end and gets
/// every entry once; the counts cover the whole folder; each page is its
/// own cached rendering.
#[test]
fn a_big_folder_is_listed_a_page_at_a_time_in_the_chosen_order() {
    let dir = numbered(10_005);
    let s = Server::start(dir.path(), &[]);
    let mut c = s.conn();
    let mut target = "/d/?format=json".to_string();
    let mut names: Vec<String> = Vec::new();
    let mut pages = Vec::new();
    for _ in 0..3 {
        let doc = json_doc(&c.get(&target));
        names.extend(
            doc["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["name"].as_str().unwrap().to_owned()),
        );
        let next = doc["next"].as_str().map(str::to_owned);
        pages.push(doc);
        match next {
            Some(n) => target = n,
            None => break,
        }
    }
    assert_eq!(pages.len(), 2);
    let mut want = vec!["sub-a".to_string(), "sub-b".to_string()];
    want.extend((1..=10_005).map(|i| format!("f{i}")));
    assert_eq!(
        names, want,
        "every entry once, folders first, f2 before f10"
    );
    let fields = |d: &serde_json::Value| {
        [
            "total",
            "offset",
            "page",
            "pages",
            "page_size",
            "next",
            "prev",
            "partial",
            "truncated",
        ]
        .map(|k| d[k].to_string())
        .join(" ")
    };
    assert_eq!(
        fields(&pages[0]),
        "10007 0 1 2 10000 \"/d/?page=2&format=json\" null false true"
    );
    assert_eq!(
        fields(&pages[1]),
        "10007 10000 2 2 10000 null \"/d/?format=json\" false true"
    );
    // By size, largest first: the biggest 10,000 files, not any 10,000.
    let by_size = json_doc(&c.get("/d/?format=json&sort=size&order=desc"));
    let e = by_size["entries"].as_array().unwrap();
    assert_eq!(e.len(), 10_000);
    assert_eq!(
        (e[0]["name"].as_str(), e[1]["size"].is_null()),
        (Some("sub-b"), true)
    );
    assert_eq!(e[2]["name"], "f10005");
    assert_eq!(e[9_999]["name"], "f8");
    assert_eq!(
        by_size["next"],
        "/d/?sort=size&order=desc&page=2&format=json"
    );
    let last = json_doc(&c.get("/d/?format=json&sort=time&page=2"));
    assert_eq!(last["entries"][6]["name"], "f10005", "newest last");
    // HTML: the same pages, the totals of the whole folder, links both ways.
    let p1 = c.get("/d/");
    assert_eq!(p1.status_line, OK);
    let p1 = p1.text();
    assert!(
        p1.contains("2 folders, 10005 files (47.7 MiB)"),
        "{}",
        &p1[p1.len() - 600..]
    );
    assert!(
        p1.contains("entries 1–10000 of 10007 · page 1 of 2 · <a rel=\"next nofollow\" href=\"?page=2\">next →</a>"),
        "{}",
        &p1[p1.len() - 600..]
    );
    assert!(p1.contains(">f9998<") && !p1.contains(">f9999<"));
    let p2 = c.get("/d/?page=2").text();
    assert!(p2.contains(">f9999<") && p2.contains(">f10005<") && !p2.contains(">f9998<"));
    assert!(
        p2.contains("entries 10001–10007 of 10007 · page 2 of 2 · <a rel=\"prev nofollow\" href=\"./\">← previous</a></nav>"),
        "{}",
        &p2[p2.len() - 600..]
    );
    // Cached per page: page 1 again is page 1, and HEAD matches GET.
    assert_eq!(c.get("/d/").text(), p1);
    let get = c.get("/d/?page=2&sort=size");
    let head = c.ask("HEAD", "/d/?page=2&sort=size", &[]);
    assert_eq!(head.comparable_headers(), get.comparable_headers());
    assert!(head.body.is_empty() && get.text().contains(">f10005<"));
}

/// `page` must be a page number: anything else is 400 (not ignored, not
/// clamped, so a script's mistake shows); a page past the last is 404;
/// page 1 of an empty folder is there.
#[test]
fn a_page_that_is_no_page_number_is_400_and_one_past_the_last_is_404() {
    let dir = site(&[("d/a.txt", b"a")]);
    dir.dir("empty");
    let s = Server::start(dir.path(), &[]);
    let mut c = s.conn();
    for bad in ["0", "", "x", "-1", "%31", "+2", "1.0", "4294967296"] {
        for fmt in ["", "&format=json"] {
            let r = c.get(&format!("/d/?page={bad}{fmt}"));
            r.assert_common();
            assert_eq!(r.status_line, BAD_REQUEST, "page={bad}{fmt}");
        }
    }
    for target in ["/d/?page=2", "/d/?page=2&format=json", "/empty/?page=2"] {
        assert_eq!(c.get(target).status_line, NOT_FOUND, "{target}");
    }
    assert_eq!(c.ask("HEAD", "/d/?page=3", &[]).status_line, NOT_FOUND);
    let doc = json_doc(&c.get("/empty/?page=1&format=json"));
    assert_eq!(
        (doc["total"].as_u64(), doc["pages"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(json_names(&c.get("/d/?page=1&format=json")), ["a.txt"]);
}

/// With `--max-listing-read`, sorting, paging and the counts work within
/// what was read, and the listing says so.
#[test]
fn a_folder_read_up_to_the_cap_is_sorted_and_paged_within_what_was_read() {
    let dir = numbered(10_005);
    let s = Server::start(dir.path(), &["--max-listing-read", "10003"]);
    let mut c = s.conn();
    let p1 = json_doc(&c.get("/d/?format=json"));
    let p2 = json_doc(&c.get("/d/?format=json&page=2"));
    assert_eq!(
        (&p1["total"], &p1["pages"], &p1["partial"], &p1["truncated"]),
        (&10_003.into(), &2.into(), &true.into(), &true.into())
    );
    let mut names: Vec<String> = Vec::new();
    for doc in [&p1, &p2] {
        for e in doc["entries"].as_array().unwrap() {
            names.push(e["name"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(names.len(), 10_003);
    let n = |s: &str| s.strip_prefix('f').and_then(|d| d.parse::<u32>().ok());
    let files: Vec<u32> = names.iter().filter_map(|s| n(s)).collect();
    assert!(
        files.windows(2).all(|w| w[0] < w[1]),
        "natural order across pages"
    );
    let html = c.get("/d/?page=2").text();
    assert!(
        html.contains("only the first 10003 entries of the folder were read (--max-listing-read)"),
        "{}",
        &html[html.len() - 600..]
    );
}

/// The sort controls are forms (buttons), not links, marked
/// `rel="nofollow"`: a client that follows every link of every listing
/// (as `wget -r -np` does; benches/wget_mirror.sh counts its requests)
/// fetches each folder once and each file once, and no sort variant.
#[test]
fn a_client_following_every_link_fetches_each_folder_and_file_once() {
    let dir = site(&[
        ("a.txt", b"a"),
        ("docs/b.md", b"b"),
        ("docs/sub/c.txt", b"c"),
        ("img/d.png", b"d"),
    ]);
    dir.dir("empty");
    let s = Server::start(dir.path(), &[]);
    let mut c = s.conn();
    let mut seen: Vec<String> = Vec::new();
    let mut todo = vec!["/".to_string()];
    while let Some(url) = todo.pop() {
        assert!(seen.len() < 100, "the crawl does not end: {seen:?}");
        if seen.contains(&url) {
            continue;
        }
        let r = c.get(&url);
        assert_eq!(r.status_line, OK, "{url}");
        if url.ends_with('/') {
            let page = r.text();
            assert!(!page.contains("?sort="), "a sort link in {url}");
            for th in ["name", "size", "time"] {
                assert!(
                    page.contains(&format!(
                        "<form rel=\"nofollow\"><input type=\"hidden\" name=\"sort\" value=\"{th}\">"
                    )),
                    "{url}: {page}"
                );
            }
            for h in hrefs(&page) {
                let to = resolve(&url, &h);
                // wget -np: nothing above where it started (all is below /).
                if to.starts_with(&url) && to != url {
                    todo.push(to);
                }
            }
        }
        seen.push(url);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "/",
            "/a.txt",
            "/docs/",
            "/docs/b.md",
            "/docs/sub/",
            "/docs/sub/c.txt",
            "/empty/",
            "/img/",
            "/img/d.png"
        ]
    );
}

/// Pages of 50 entries or more have a filter box: hidden in the markup and
/// shown by a small inline script (which `tests/browser/e2e.mjs` runs), so
/// without JavaScript the page is complete and shows no dead box; smaller
/// pages have neither. No response sets a Content-Security-Policy that
/// would block it.
#[test]
fn a_page_of_many_entries_has_a_filter_box_that_needs_no_javascript() {
    let dir = Site::new();
    for i in 0..50 {
        dir.file(&format!("many/f{i}"), b"");
    }
    dir.file("few/a.txt", b"a");
    let s = Server::start(dir.path(), &[]);
    let mut c = s.conn();
    let many = c.get("/many/");
    assert_eq!(many.header("Content-Security-Policy"), None);
    let page = many.text();
    assert!(
        page.contains(
            "<input type=\"search\" id=\"filter\" placeholder=\"Filter\" \
             aria-label=\"Show only the names on this page that contain\" hidden>"
        ),
        "{page}"
    );
    let script = &page[page.find("<script>").expect("the script")..];
    assert!(script.starts_with("<script>(()=>{const f=document.getElementById(\"filter\")"));
    assert!(script.ends_with("</script>\n</body></html>\n"), "{script}");
    assert!(script.len() < 500, "small: {} bytes", script.len());
    assert_eq!(
        page.matches("<tr>").count(),
        1 + 1 + 50,
        "header, parent, rows"
    );
    let few = c.get("/few/").text();
    assert!(
        !few.contains("id=\"filter\"") && !few.contains("<script"),
        "{few}"
    );
}
