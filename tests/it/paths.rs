//! Request targets to files: percent-decoding once, refusing every way out
//! of the root (dot segments in any encoding, absolute paths, symlinks
//! leading outside), dotfiles, folder redirects, and names the file system
//! or the response head can't take.

use proptest::prelude::*;

use crate::listing::{hrefs, resolve};
use crate::support::*;

/// The standard site plus symlinks inside and out of the root.
fn linked_site() -> Site {
    let t = Site::standard();
    let out = t.outside();
    t.symlink(out.join("secret.txt"), "out-file")
        .symlink("../secret.txt", "out-rel")
        .symlink(out.join("outdir"), "out-dir")
        .symlink("/etc/passwd", "passwd")
        .symlink("a.txt", "in-file")
        .symlink("sub", "in-dir");
    t
}

/// Nothing of the outside: no secret, no listing of the outside folder,
/// no /etc/passwd.
fn assert_nothing_outside(r: &Response) {
    let body = r.text();
    assert!(!body.contains(SECRET), "leaked the outside file: {body}");
    assert!(!body.contains("secret.txt"), "listed the outside folder");
    assert!(!body.contains("outdir"), "listed the outside folder");
    assert!(!body.contains("root:"), "leaked /etc/passwd");
}

/// Every way out of the root gets one exact refusal: 403 when dot segments
/// would climb above it, 404 when the name does not exist inside it (an
/// absolute path is a name under the root, a symlink leading out is not
/// followed).
#[test]
fn targets_leading_out_of_the_root_get_one_exact_refusal() {
    let t = linked_site();
    let s = Server::start(t.path(), &[]);
    let abs = t.outside().join("secret.txt").display().to_string();
    let enc = abs.replace('/', "%2f");
    let cases: Vec<(String, &str)> = [
        ("/../secret.txt", FORBIDDEN),
        ("/../../secret.txt", FORBIDDEN),
        ("/sub/../../secret.txt", FORBIDDEN),
        ("/a/../../secret.txt", FORBIDDEN),
        ("/%2e%2e/secret.txt", FORBIDDEN),
        ("/%2E%2E/secret.txt", FORBIDDEN),
        ("/.%2e/secret.txt", FORBIDDEN),
        ("/%2e./secret.txt", FORBIDDEN),
        ("/..%2fsecret.txt", FORBIDDEN),
        ("/%2e%2e%2fsecret.txt", FORBIDDEN),
        ("/%2E%2E%2Fsecret.txt", FORBIDDEN),
        ("/sub/..%2f..%2fsecret.txt", FORBIDDEN),
        ("/sub%2f..%2f..%2fsecret.txt", FORBIDDEN),
        ("/..%5csecret.txt", FORBIDDEN),
        ("/%5c..%5csecret.txt", FORBIDDEN),
        ("/..\\secret.txt", FORBIDDEN),
        ("/../outdir/secret.txt", FORBIDDEN),
        ("/%2e%2e/outdir/secret.txt", FORBIDDEN),
        ("/./../secret.txt", FORBIDDEN),
        ("/sub/./../../secret.txt", FORBIDDEN),
        ("//../secret.txt", FORBIDDEN),
        ("http://t/../secret.txt", FORBIDDEN),
        ("/..", FORBIDDEN),
        ("/../", FORBIDDEN),
        ("/%2e%2e", FORBIDDEN),
        ("/%252e%252e/secret.txt", NOT_FOUND),
        ("/%252e%252e%252fsecret.txt", NOT_FOUND),
        ("/..%252fsecret.txt", NOT_FOUND),
        ("/..;/secret.txt", NOT_FOUND),
        ("/.../secret.txt", NOT_FOUND),
        ("//etc/passwd", NOT_FOUND),
        ("/%2fetc%2fpasswd", NOT_FOUND),
        ("/out-file", NOT_FOUND),
        ("/out-rel", NOT_FOUND),
        ("/out-dir/secret.txt", NOT_FOUND),
        ("/out-dir/", NOT_FOUND),
        ("/passwd", NOT_FOUND),
    ]
    .into_iter()
    .map(|(t, s)| (t.to_owned(), s))
    .chain([
        (format!("/{abs}"), NOT_FOUND),
        (format!("//{abs}"), NOT_FOUND),
        (format!("/{enc}"), NOT_FOUND),
        (format!("/%2f{}", &enc[3..]), NOT_FOUND),
        (format!("/sub/{enc}"), NOT_FOUND),
    ])
    .collect();
    table(
        &cases,
        |c| c.0.clone(),
        |(target, status)| {
            let r = s.request(&get_req(target));
            assert_eq!(r.status_line, *status);
            assert_nothing_outside(&r);
        },
    );
}

#[test]
fn curl_path_as_is_dot_segments_are_refused() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    for p in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/../../secret.txt",
        "/..%2fsecret.txt",
    ] {
        let out = curl_ok(&["--path-as-is", "-w", "[%{http_code}]", &s.url(p)]);
        let text = String::from_utf8_lossy(&out);
        assert!(text.ends_with("[403]"), "{p}: {text}");
        assert!(!text.contains(SECRET), "{p}: {text}");
    }
}

const MARKER: &str = SECRET;

fn atoms(outer: String) -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("%2e%2e".to_owned()),
        Just("%2E%2e".to_owned()),
        Just(".%2e".to_owned()),
        Just("%252e%252e".to_owned()),
        Just("%c0%ae%c0%ae".to_owned()),
        Just("%e0%80%ae".to_owned()),
        Just("%2f".to_owned()),
        Just("%2F".to_owned()),
        Just("%5c".to_owned()),
        Just("\\".to_owned()),
        Just("%00".to_owned()),
        Just("/".to_owned()),
        Just("//".to_owned()),
        Just("secret.txt".to_owned()),
        Just("out-link".to_owned()),
        Just("out-dir".to_owned()),
        Just("rel-out".to_owned()),
        Just("inside".to_owned()),
        Just("a.txt".to_owned()),
        Just("?x=../".to_owned()),
        Just(outer.trim_start_matches('/').to_owned()),
        "[a-z%./\\\\]{1,6}",
    ]
}

fn target(outer: String) -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("/"), Just("http://t/"), Just("//")],
        proptest::collection::vec(
            (atoms(outer), prop_oneof![Just("/"), Just("%2f"), Just("")]),
            1..8,
        ),
    )
        .prop_map(|(start, parts)| {
            let mut t = start.to_owned();
            for (a, sep) in parts {
                t.push_str(&a);
                t.push_str(sep);
            }
            t
        })
}

/// As a property: whatever target is generated (encoded and double-encoded
/// dot segments, `%2f`, `%5c`, overlong UTF-8, NUL, absolute paths,
/// backslashes, symlinks to outside), with or without --hidden, no
/// response contains the secret planted outside the root.
#[test]
fn no_generated_target_ever_reaches_a_file_outside_the_root() {
    let t = site(&[("a.txt", b"public"), ("inside/b.txt", b"public too")]);
    let outer = t.outside();
    t.symlink(outer.join("secret.txt"), "out-link")
        .symlink(&outer, "out-dir")
        .symlink("../secret.txt", "rel-out");
    let outer_path = outer.display().to_string();
    for hidden in [false, true] {
        let args: &[&str] = if hidden { &["--hidden"] } else { &[] };
        let s = Server::start(t.path(), args);
        let config = ProptestConfig {
            cases: 250,
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        proptest!(config, |(t in target(outer_path.clone()))| {
            // Targets with bytes httparse rejects still go out raw.
            let raw = format!("GET {t} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            let got = s.exchange(raw.as_bytes());
            let text = String::from_utf8_lossy(&got);
            prop_assert!(!text.contains(MARKER), "{t} leaked: {text}");
            prop_assert!(text.starts_with("HTTP/1.1 "), "{t}: {text}");
        });
        // The marker is reachable through nothing, but the root works.
        assert_eq!(s.get("/a.txt").body, b"public");
        assert_eq!(s.get("/inside/b.txt").body, b"public too");
    }
}

#[test]
fn symlinks_inside_the_root_are_followed() {
    let t = linked_site();
    t.file("real/file.txt", b"real content")
        .symlink("real/file.txt", "rel-link.txt")
        .symlink(t.path().join("b.txt"), "abs-link.txt")
        .symlink("real", "dir-link");
    let s = Server::start(t.path(), &[]);
    for (target, body) in [
        ("/in-file", &b"hello"[..]),
        ("/in-dir/x.txt", b"sub-x"),
        ("/rel-link.txt", b"real content"),
        ("/abs-link.txt", b"world!"),
        ("/dir-link/file.txt", b"real content"),
    ] {
        assert_ok(&s.request(&get_req(target)), body);
    }
}

/// An absolute symlink whose target names the root by another path (a
/// symlinked parent folder, as when `/home` is a link) ends inside the
/// root, so it is followed like any link that stays inside (README: "one
/// that stays inside works"); its target is never read outside the root.
/// Was: 404 (compared with the root's real path as written) / now: resolved, then compared.
#[test]
fn an_absolute_symlink_naming_the_root_through_another_link_is_followed() {
    let t = Site::standard();
    let alias = t.outside().join("alias");
    std::os::unix::fs::symlink(t.path(), &alias).unwrap();
    t.symlink(alias.join("a.txt"), "via-alias.txt")
        .symlink(alias.join("sub"), "via-alias-dir")
        .file(".env", b"DOTFILE")
        .symlink(alias.join(".env"), "via-alias-dot")
        .symlink(alias.join("../secret.txt"), "via-alias-out")
        .symlink(alias.join("../outdir"), "via-alias-outdir");
    let s = Server::start(t.path(), &[]);
    assert_ok(&s.request(&get_req("/via-alias.txt")), b"hello");
    assert_ok(&s.request(&get_req("/via-alias-dir/x.txt")), b"sub-x");
    // Resolved through the alias, the rules of the root still hold.
    for target in [
        "/via-alias-dot",
        "/via-alias-out",
        "/via-alias-outdir/secret.txt",
    ] {
        let r = s.request(&get_req(target));
        assert_eq!(r.status_line, NOT_FOUND, "{target}");
        assert!(!r.text().contains(SECRET) && !r.text().contains("DOTFILE"));
    }
    // Started through the alias, the links read the same.
    let s = Server::start(&alias, &[]);
    assert_ok(&s.request(&get_req("/via-alias.txt")), b"hello");
}

/// A target is percent-decoded exactly once (`%2541` is the file `%41`),
/// `+` is a plus, UTF-8 escapes name UTF-8 files, and the query is neither
/// decoded nor validated.
#[test]
fn targets_are_percent_decoded_exactly_once_and_the_query_is_left_alone() {
    let t = Site::standard();
    t.file("%41.txt", b"LITERAL-PERCENT-41")
        .file("A.txt", b"DOUBLE-DECODED")
        .file("a+b.txt", b"PLUS")
        .file("a b.txt", b"SPACE")
        .file("\u{e9}t\u{e9}.txt", b"UTF8")
        .file("q.txt", b"QUERY");
    let s = Server::start(t.path(), &[]);
    let cases: &[(&str, &[u8])] = &[
        ("/%2541.txt", b"LITERAL-PERCENT-41"),
        ("/%41.txt", b"DOUBLE-DECODED"),
        ("/a+b.txt", b"PLUS"),
        ("/a%2Bb.txt", b"PLUS"),
        ("/a%2bb.txt", b"PLUS"),
        ("/a%2Bb.txt?z", b"PLUS"),
        ("/a+b.txt?x=1&y=%zz", b"PLUS"),
        ("/a%20b.txt", b"SPACE"),
        ("/%C3%A9t%C3%A9.txt", b"UTF8"),
        ("/%71.txt", b"QUERY"),
        ("/q.txt?", b"QUERY"),
        ("/q.txt?x=1&y=../../secret.txt", b"QUERY"),
        ("/a.txt?%zz", b"hello"),
        ("/a.txt?%00", b"hello"),
        ("/a.txt?%ff%fe", b"hello"),
        ("/a.txt?a=%", b"hello"),
        ("/a.txt?/../../secret.txt", b"hello"),
    ];
    table(
        cases,
        |c| c.0.to_string(),
        |&(target, body)| assert_ok(&s.request(&get_req(target)), body),
    );
}

/// A bad escape or NUL is 400.
#[test]
fn malformed_escapes_and_nul_in_the_path_are_400() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let cases = [
        "/%zz",
        "/a%zz.txt",
        "/%4",
        "/a.txt%4",
        "/a%",
        "/a.txt%",
        "/%ff%00",
        "/%00",
        "/a.txt%00",
        "/a.txt%00.html",
        "/a.txt%00.png",
    ];
    table(
        &cases,
        |c| c.to_string(),
        |target| {
            let r = s.request(&get_req(target));
            assert_eq!(r.status_line, BAD_REQUEST);
            assert_nothing_outside(&r);
        },
    );
}

/// Escapes that decode to bytes that are not UTF-8 (Latin-1, truncated
/// sequences, overlong forms of `.`, `/` and `\`) name files by those
/// bytes (Linux names are bytes): a folder named `%C0%AE%C0%AE` is that
/// folder, never `..`; next to a real `..` the path is still 403; nothing
/// outside the root is ever reached.
#[test]
fn bytes_that_are_not_utf8_name_files_and_never_lead_out() {
    use std::os::unix::ffi::OsStrExt;
    let t = Site::standard();
    let put = |rel: &[u8], body: &[u8]| {
        let p = t.path().join(std::ffi::OsStr::from_bytes(rel));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    };
    put(b"\xc0\xae\xc0\xae/inner.txt", b"OVERLONG-DOTS-FOLDER");
    put(b"caf\xe9.txt", b"LATIN-1");
    put(b"a\xc0\xafb", b"OVERLONG-SLASH");
    let s = Server::start(t.path(), &[]);
    let cases: [(&str, &str, &[u8]); 14] = [
        ("/%C0%AE%C0%AE/inner.txt", OK, b"OVERLONG-DOTS-FOLDER"),
        ("/%c0%ae%c0%ae/inner.txt", OK, b"OVERLONG-DOTS-FOLDER"),
        ("/caf%E9.txt", OK, b"LATIN-1"),
        ("/a%C0%AFb", OK, b"OVERLONG-SLASH"),
        ("/%C0%AE%C0%AE/secret.txt", NOT_FOUND, b""),
        ("/%C0%AE%C0%AE/%C0%AE%C0%AE/secret.txt", NOT_FOUND, b""),
        ("/%E0%80%AE%E0%80%AE/secret.txt", NOT_FOUND, b""),
        ("/%C0%AE%C0%AE%C0%AFsecret.txt", NOT_FOUND, b""),
        ("/%C1%9C..%C1%9Csecret.txt", NOT_FOUND, b""),
        ("/%ff", NOT_FOUND, b""),
        ("/%c3%28", NOT_FOUND, b""),
        ("/%ff/../secret.txt", FORBIDDEN, b""),
        ("/%FF/%2e%2e/%2e%2e/secret.txt", FORBIDDEN, b""),
        ("/%ff%5c..%5csecret.txt", FORBIDDEN, b""),
    ];
    table(
        &cases,
        |c| c.0.to_string(),
        |&(target, status, body)| {
            let r = s.request(&get_req(target));
            assert_eq!(r.status_line, status);
            assert_nothing_outside(&r);
            if status == OK {
                assert_ok(&r, body);
            }
        },
    );
}

#[test]
fn dotfiles_are_404_without_hidden_in_any_spelling() {
    let t = Site::standard();
    t.file(".env", b"DOT-ENV")
        .file(".git/config", b"DOT-GIT")
        .file("sub/.htpasswd", b"DOT-HT")
        .file(".well/known.txt", b"DOT-WELL");
    let s = Server::start(t.path(), &[]);
    let cases = [
        "/.env",
        "/%2eenv",
        "/%2Eenv",
        "/.git/config",
        "/.git/",
        "/.git",
        "/%2egit/config",
        "/sub/.htpasswd",
        "/sub/%2ehtpasswd",
        "/.well/known.txt",
    ];
    table(
        &cases,
        |c| c.to_string(),
        |target| {
            let r = s.request(&get_req(target));
            assert_eq!(r.status_line, NOT_FOUND);
            assert!(!r.text().contains("DOT-"));
        },
    );
    let listing = s.get("/").text();
    assert!(
        !listing.contains(".env") && !listing.contains(".git"),
        "{listing}"
    );
    assert_ok(&s.get("/sub/x.txt"), b"sub-x");
}

#[test]
fn hidden_serves_and_lists_dotfiles_and_still_never_leaves_the_root() {
    let t = site(&[
        (".env", b"DOT-ENV"),
        (".git/config", b"DOT-GIT"),
        ("v.txt", b"v"),
    ]);
    let s = Server::start(t.path(), &["--hidden"]);
    assert_ok(&s.request(&get_req("/.env")), b"DOT-ENV");
    assert_ok(&s.request(&get_req("/.git/config")), b"DOT-GIT");
    let links: Vec<String> = hrefs(&s.get("/").text())
        .iter()
        .map(|h| resolve("/", h))
        .collect();
    assert!(links.contains(&"/.env".to_string()), "{links:?}");
    assert!(links.contains(&"/.git/".to_string()), "{links:?}");
    let r = s.request(&get_req("/../secret.txt"));
    assert_eq!(r.status_line, FORBIDDEN);
    assert_nothing_outside(&r);
}

#[test]
fn a_file_path_with_a_trailing_slash_or_more_segments_is_404() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    for target in ["/a.txt/", "/a.txt/x", "/sub/x.txt/"] {
        assert_eq!(
            s.request(&get_req(target)).status_line,
            NOT_FOUND,
            "{target}"
        );
    }
}

#[test]
fn names_too_long_for_the_file_system_are_404_not_500() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let long_name = format!("/{}", "n".repeat(300));
    let deep = "/d".repeat(2500);
    for target in [long_name.as_str(), deep.as_str()] {
        let r = s.request(&get_req(target));
        assert_eq!(r.status_line, NOT_FOUND, "{} byte path", target.len());
    }
}

#[test]
fn an_index_html_symlinked_outside_the_root_is_not_served() {
    let t = Site::standard();
    t.dir("s2")
        .symlink(t.outside().join("secret.txt"), "s2/index.html");
    let s = Server::start(t.path(), &[]);
    // The folder is listed as if it had no index; the link itself is 404.
    let r = s.request(&get_req("/s2/"));
    assert_eq!(r.status_line, OK);
    assert!(!r.text().contains(SECRET));
    let r = s.request(&get_req("/s2/index.html"));
    assert_eq!(r.status_line, NOT_FOUND);
    assert!(!r.text().contains(SECRET));
}

/// A folder asked for without its slash is a 301 to the slashed path, the
/// encoding and the query kept, never to another host.
#[test]
fn a_folder_without_its_slash_redirects_to_the_exact_slashed_path() {
    let t = Site::standard();
    t.dir("plain/deeper")
        .dir("my dir")
        .dir("caf\u{e9}")
        .dir("evil.example");
    let s = Server::start(t.path(), &[]);
    let cases = [
        ("/sub", "/sub/"),
        ("/plain", "/plain/"),
        ("/plain/deeper", "/plain/deeper/"),
        ("/my%20dir", "/my%20dir/"),
        ("/my%20dir?q=a%20b&x=1", "/my%20dir/?q=a%20b&x=1"),
        ("/my%20dir?a=1&b=%20", "/my%20dir/?a=1&b=%20"),
        ("/sub?x=y", "/sub/?x=y"),
        ("/caf%C3%A9", "/caf%C3%A9/"),
        ("//evil.example", "/evil.example/"),
        ("///evil.example", "/evil.example/"),
        ("/%2fevil.example", "/%2fevil.example/"),
    ];
    table(
        &cases,
        |c| c.0.to_string(),
        |&(target, location)| {
            let r = s.request(&get_req(target));
            assert_eq!(r.status_line, MOVED);
            assert_eq!(r.all("Location"), [location]);
        },
    );
}

#[test]
fn curl_follows_a_folder_redirect_to_its_index() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let out = curl_ok(&["-i", "-L", &s.url("/sub?k=v")]);
    // curl -L prints the redirect's head but not its body.
    let Parse::Done(first, used) = parse_response(&out, true, true) else {
        panic!("cannot parse {:?}", String::from_utf8_lossy(&out));
    };
    assert_eq!(first.status_line, MOVED);
    assert_eq!(first.header("location"), Some("/sub/?k=v"));
    let rest = parse_all(&out[used..], &[false]);
    assert_eq!(rest.len(), 1);
    assert_ok(&rest[0], b"<p>SUB-INDEX</p>\n");
    assert_eq!(curl_ok(&["-L", &s.url("/sub")]), b"<p>SUB-INDEX</p>\n");
}

/// CR/LF in a folder name or the query can't start a field of the
/// response: the Location keeps them escaped, the listing's hrefs too.
#[test]
fn cr_lf_in_a_folder_name_or_the_query_cannot_inject_response_fields() {
    let t = Site::standard();
    t.dir("x\r\nSet-Cookie: evil=1");
    let s = Server::start(t.path(), &[]);
    let cases = [
        (
            "/x%0D%0ASet-Cookie:%20evil=1",
            "/x%0D%0ASet-Cookie:%20evil=1/",
        ),
        (
            "/sub?%0D%0ASet-Cookie:%20evil=1",
            "/sub/?%0D%0ASet-Cookie:%20evil=1",
        ),
        (
            "/sub?a=%0d%0aX-Injected:%201",
            "/sub/?a=%0d%0aX-Injected:%201",
        ),
    ];
    table(
        &cases,
        |c| c.0.to_string(),
        |&(target, location)| {
            let r = s.request(&get_req(target));
            assert_eq!(r.status_line, MOVED);
            assert_eq!(r.header("location"), Some(location));
            assert!(r.header("set-cookie").is_none() && r.header("x-injected").is_none());
        },
    );
    let t2 = Site::new();
    t2.dir("d/x\r\nSet-Cookie: evil=1");
    let s2 = Server::start(t2.path(), &[]);
    let r = s2.request(&get_req("/d/"));
    assert_eq!(r.status_line, OK);
    let links = hrefs(&r.text());
    assert!(
        links.iter().all(|h| !h.contains('\r') && !h.contains('\n')),
        "raw CR/LF in an href: {links:?}"
    );
}

/// A file, or the `.gz` sidecar chosen for it, swapped again and again
/// (`renameat2(RENAME_EXCHANGE)`) with a symlink to a file outside the
/// root never gets outside bytes served: the final component is checked
/// by the kernel on every open, on the plain path and through a link.
#[test]
fn a_file_or_its_sidecar_swapped_for_an_outside_symlink_never_serves_outside_bytes() {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let t = Site::new();
    t.file("f.txt", b"inside")
        .file("g.txt", b"plain")
        .file("g.txt.gz", b"gzinside");
    let secret = t.outside().join("secret.txt");
    t.symlink(&secret, "evil-f")
        .symlink(&secret, "evil-gz")
        .symlink(".", "via");
    let s = Server::start(t.path(), &["--threads", "2"]);
    let root = t.path().to_path_buf();
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let pairs = [("f.txt", "evil-f"), ("g.txt.gz", "evil-gz")];
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for (a, b) in pairs {
                    if renameat_with(CWD, root.join(a), CWD, root.join(b), RenameFlags::EXCHANGE)
                        .is_ok()
                    {
                        swaps += 1;
                    }
                }
            }
            swaps
        })
    };
    let targets = ["/f.txt", "/via/f.txt", "/g.txt", "/via/g.txt"];
    let until = Instant::now() + Duration::from_secs(3);
    let (mut served, mut ok) = (0u64, 0u64);
    let mut c = s.conn();
    while Instant::now() < until {
        let target = targets[served as usize % targets.len()];
        c.send(build("GET", target, &[("Accept-Encoding", "gzip")], false).as_bytes());
        let r = c.read_response(false);
        served += 1;
        assert!(
            !r.body.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "{target}: response {served} came from outside the root"
        );
        if r.status() == 200 {
            ok += 1;
            let expected: &[&[u8]] = &[b"inside", b"plain", b"gzinside"];
            assert!(
                expected.contains(&r.body.as_slice()),
                "{target}: {:?}",
                r.text()
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(
        swaps > 1000 && ok > 0,
        "the race did not run: {swaps} swaps, {ok} served"
    );
}
