//! Command line and startup: the default folder, the one stdout line,
//! the warnings and Local / Network URLs on stderr, errors with exit
//! status 2, --help (its headings and examples) and --version, short
//! flags, flag syntax.

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::*;

#[test]
fn startup_prints_exactly_one_line_with_the_absolute_root_and_real_port() {
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    assert_eq!(
        s.line,
        format!(
            "ferry: serving {} at http://127.0.0.1:{}/\n",
            dir.path().display(),
            s.port()
        )
    );
    assert_ne!(s.port(), 0);
    assert_eq!(s.get("/a.txt").body, b"x");
}

#[test]
fn a_relative_dir_is_printed_absolute() {
    let dir = site(&[("a.txt", b"x")]);
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.outside())
        .arg("root")
        .args(["--port", "0", "--quiet"]);
    let s = Server::spawn(cmd, dir.path());
    assert_eq!(
        s.line,
        format!(
            "ferry: serving {} at http://127.0.0.1:{}/\n",
            dir.path().display(),
            s.port()
        )
    );
}

#[test]
fn a_root_given_through_a_symlink_serves_its_files() {
    let t = Site::standard();
    let link = t.outside().join("rootlink");
    std::os::unix::fs::symlink(t.path(), &link).unwrap();
    let s = Server::start(&link, &[]);
    assert_ok(&s.get("/a.txt"), b"hello");
    assert_ok(&s.get("/sub/x.txt"), b"sub-x");
}

#[test]
fn the_default_dir_is_static_in_the_working_directory() {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--port", "0", "--quiet"]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
    let s = Server::spawn(cmd, &root);
    let canonical = std::fs::canonicalize(&root).unwrap();
    assert_eq!(
        s.line,
        format!(
            "ferry: serving {} at http://127.0.0.1:{}/\n",
            canonical.display(),
            s.port()
        )
    );
    assert_eq!(s.get("/").status(), 200);
}

/// No DIR, in a folder with `static/`: that is served (the stdout line
/// names it), and stderr says why, after the stdout line.
#[test]
fn without_a_dir_a_static_folder_is_served_and_named_on_stderr() {
    let t = site(&[("static/index.html", b"WELCOME"), ("a.txt", b"x")]);
    let mut cmd = Command::new(BIN);
    cmd.current_dir(t.path()).args(["--port", "0", "--quiet"]);
    let s = Server::spawn(cmd, &t.path().join("static"));
    assert_eq!(
        s.line,
        format!(
            "ferry: serving {}/static at http://127.0.0.1:{}/\n",
            t.path().display(),
            s.port()
        )
    );
    assert_ok(&s.get("/index.html"), b"WELCOME");
    assert_eq!(s.get("/a.txt").status(), 404);
    assert_eq!(
        stderr_after_kill(s),
        "ferry: no DIR given and ./static is a folder: serving it \
         (`ferry .` serves the current folder)\n"
    );
}

/// No DIR and no `static/` folder (none, or a file of that name): the
/// current folder is served, with nothing said on stderr.
#[test]
fn without_a_dir_or_a_static_folder_the_current_folder_is_served() {
    for static_file in [false, true] {
        let t = site(&[("a.txt", b"x")]);
        if static_file {
            t.file("static", b"a file, not a folder");
        }
        let mut cmd = Command::new(BIN);
        cmd.current_dir(t.path()).args(["--port", "0", "--quiet"]);
        let s = Server::spawn(cmd, t.path());
        assert_eq!(
            s.line,
            format!(
                "ferry: serving {} at http://127.0.0.1:{}/\n",
                t.path().display(),
                s.port()
            ),
            "static is a file: {static_file}"
        );
        assert_ok(&s.get("/a.txt"), b"x");
        assert_eq!(stderr_after_kill(s), "", "static is a file: {static_file}");
    }
}

/// `static` given explicitly is a DIR like any other: missing, it is the
/// one-line error with status 2, not a fallback.
#[test]
fn an_explicit_static_that_is_missing_is_a_one_line_error() {
    let t = site(&[("a.txt", b"x")]);
    let (code, out, err) = run_ferry(&["static", "--port", "0"], Some(t.path()));
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "ferry: cannot serve static: No such file or directory\n"
    );
}

/// `-p`, `-b`, `-q` and `-o` spell `--port`, `--bind`, `--quiet` and
/// `--open` (`-b`'s effect on the URLs: the bind-all tests).
#[test]
fn short_flags_p_b_q_o_are_port_bind_quiet_and_open() {
    let t = site(&[("a.txt", b"x")]);
    // A stand-in xdg-open that records its argument.
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("opened.txt");
    let script = bin.path().join("xdg-open");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$1\" > '{}.tmp' && mv '{0}.tmp' '{0}'\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg(t.path())
        .args(["-p", "0", "-b", "127.0.0.1", "-q", "-o"])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()));
    let s = Server::spawn(cmd, t.path());
    assert_ne!(s.port(), 8000, "-p 0 picks a free port");
    assert_eq!(
        s.line,
        format!(
            "ferry: serving {} at http://127.0.0.1:{}/\n",
            t.path().display(),
            s.port()
        )
    );
    assert!(
        wait_until(Duration::from_secs(5), || record.exists()),
        "-o ran no launcher"
    );
    assert_eq!(std::fs::read_to_string(&record).unwrap(), s.url("/") + "\n");
    assert_ok(&s.get("/a.txt"), b"x");
    assert_eq!(stderr_after_kill(s), "", "-q: no access log");
}

#[test]
fn ipv6_loopback_prints_a_bracketed_url_and_serves() {
    if TcpListener::bind("[::1]:0").is_err() {
        skip(
            "cli::ipv6_loopback_prints_a_bracketed_url_and_serves",
            "no IPv6 loopback (::1) on this machine",
        );
        return;
    }
    let t = Site::standard();
    let s = Server::start(t.path(), &["--bind", "::1"]);
    assert_eq!(
        s.line,
        format!(
            "ferry: serving {} at http://[::1]:{}/\n",
            t.path().display(),
            s.port()
        )
    );
    let mut c = Conn::new(connect(s.addr));
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: [::1]\r\n\r\n");
    let r = c.read_response(false);
    r.assert_common();
    assert_ok(&r, b"hello");
}

/// What a server wrote to stderr by the time it is killed: call it after
/// a response, when every startup note is out (they are written before
/// the workers start).
fn stderr_after_kill(mut s: Server) -> String {
    let mut err = s.stderr();
    let _ = s.child.kill();
    let _ = s.child.wait();
    let mut text = String::new();
    err.read_to_string(&mut text).unwrap();
    text
}

/// This machine's LAN addresses of a family (`-4`, `-6`) as `ip` lists
/// them (scope global: neither loopback nor link-local), or None without
/// `ip`.
fn lan_ips(family: &str) -> Option<Vec<IpAddr>> {
    let out = Command::new("ip")
        .args([family, "-o", "addr", "show", "scope", "global"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut ips: Vec<IpAddr> = text
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "inet" || *w == "inet6")?;
            words.next()?.split('/').next()?.parse().ok()
        })
        .collect();
    ips.dedup();
    Some(ips)
}

/// Checks the block after the warning: `Local:` with `local`, then the
/// `Network:` URLs, aligned, one per LAN address of the wildcard's
/// families (the order is the interfaces', so compared as a set, IPv4
/// first).
fn assert_local_network_block(lines: &[String], local: &str, lan: &[IpAddr], port: u16) {
    assert_eq!(lines[0], format!("  Local:   {local}\n"), "{lines:?}");
    let urls: Vec<String> = lan
        .iter()
        .map(|ip| url_of(SocketAddr::new(*ip, port)))
        .collect();
    if urls.is_empty() {
        assert_eq!(
            lines[1..],
            ["  Network: none (no interface but loopback has an address)\n".to_owned()]
        );
        return;
    }
    assert_eq!(lines.len(), 1 + urls.len(), "{lines:?}");
    let mut got = Vec::new();
    for (i, line) in lines[1..].iter().enumerate() {
        let label = if i == 0 { "  Network: " } else { "           " };
        let url = line
            .strip_prefix(label)
            .unwrap_or_else(|| panic!("{line:?} starts with {label:?}"));
        got.push(url.trim_end().to_owned());
    }
    let v4_first = got.iter().map(|u| u.contains('[')).collect::<Vec<_>>();
    assert!(v4_first.is_sorted(), "IPv4 first: {got:?}");
    let (mut got, mut want) = (got, urls);
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

fn url_of(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("http://{a}/"),
        SocketAddr::V6(a) => format!("http://[{}]:{}/", a.ip(), a.port()),
    }
}

/// `-b 0.0.0.0`: the stdout line keeps its format with a URL that works
/// on this machine (127.0.0.1); stderr warns and lists the Local / Network
/// URLs (IPv4 only: 0.0.0.0 takes no IPv6), all before the first
/// access-log line.
#[test]
fn bind_all_prints_a_local_url_and_a_local_network_block_before_any_access_line() {
    let dir = site(&[("a.txt", b"x")]);
    let mut s = Server::start_raw(dir.path(), &["-b", "0.0.0.0"]);
    let port = s.port();
    assert_eq!(
        s.line,
        format!(
            "ferry: serving {} at http://127.0.0.1:{port}/\n",
            dir.path().display()
        )
    );
    assert_ok(&s.get("/a.txt"), b"x");
    let rx = stderr_lines(s.stderr());
    let mut seen = Vec::new();
    let access = wait_for_line(
        &rx,
        &mut seen,
        &["\"GET /a.txt HTTP/1.1\" 200 "],
        Duration::from_secs(5),
    );
    assert!(access.is_some(), "no access-log line: {seen:?}");
    let block = &seen[..seen.len() - 1];
    assert_eq!(
        block[0],
        format!(
            "ferry: warning: listening on all addresses (0.0.0.0): anyone who can reach \
             this machine can read {} (ferry has no TLS and no authentication)\n",
            dir.path().display()
        )
    );
    match lan_ips("-4") {
        Some(lan) => assert_local_network_block(
            &block[1..],
            &format!("http://127.0.0.1:{port}/"),
            &lan,
            port,
        ),
        None => skip(
            "cli::bind_all_prints_a_local_url_and_a_local_network_block_before_any_access_line",
            "no `ip`: the Network URLs were not checked",
        ),
    }
}

/// `-b ::` is dual-stack: the stdout line gives 127.0.0.1 (IPv4 works
/// wherever IPv4 does), and the block lists the IPv4 and the IPv6 LAN
/// URLs, link-local ones skipped.
#[test]
fn dual_stack_bind_all_prints_127_0_0_1_and_lists_both_families() {
    if TcpListener::bind("[::1]:0").is_err() {
        skip(
            "cli::dual_stack_bind_all_prints_127_0_0_1_and_lists_both_families",
            "no IPv6 on this machine",
        );
        return;
    }
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &["-b", "::"]);
    let port = s.port();
    assert_eq!(
        s.line,
        format!(
            "ferry: serving {} at http://127.0.0.1:{port}/\n",
            dir.path().display()
        )
    );
    assert_ok(&s.get("/a.txt"), b"x");
    let text = stderr_after_kill(s);
    let lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    assert_eq!(
        lines[0],
        format!(
            "ferry: warning: listening on all addresses (::): anyone who can reach \
             this machine can read {} (ferry has no TLS and no authentication)\n",
            dir.path().display()
        )
    );
    match (lan_ips("-4"), lan_ips("-6")) {
        (Some(mut lan), Some(v6)) => {
            lan.extend(v6);
            assert_local_network_block(
                &lines[1..],
                &format!("http://127.0.0.1:{port}/"),
                &lan,
                port,
            )
        }
        _ => skip(
            "cli::dual_stack_bind_all_prints_127_0_0_1_and_lists_both_families",
            "no `ip`: the Network URLs were not checked",
        ),
    }
}

/// `::` beside an IPv4 address takes IPv6 only: its URL on this machine
/// is then `[::1]`, on the stdout line when it is the first listener.
#[test]
fn an_ipv6_only_bind_all_prints_the_ipv6_loopback_url() {
    if TcpListener::bind("[::1]:0").is_err() {
        skip(
            "cli::an_ipv6_only_bind_all_prints_the_ipv6_loopback_url",
            "no IPv6 on this machine",
        );
        return;
    }
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &["-b", "::", "-b", "127.0.0.1"]);
    let port = s.port();
    assert_eq!(
        s.line,
        format!(
            "ferry: serving {} at http://[::1]:{port}/\n",
            dir.path().display()
        )
    );
    assert_ok(&s.get("/a.txt"), b"x");
    let text = stderr_after_kill(s);
    assert!(
        text.starts_with(&format!(
            "ferry: also listening at http://127.0.0.1:{port}/\n\
             ferry: warning: listening on all addresses (::): "
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("\n  Local:   http://[::1]:{port}/\n")),
        "{text}"
    );
}

/// Bound to loopback (the default), startup says nothing on stderr.
#[test]
fn a_loopback_bind_says_nothing_on_stderr() {
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    assert_ok(&s.get("/a.txt"), b"x");
    assert_eq!(stderr_after_kill(s), "");
}

#[test]
fn a_missing_dir_is_a_one_line_error_with_status_2() {
    let err = one_line_error(&["/definitely/not/here", "--port", "0"]);
    assert_eq!(
        err,
        "ferry: cannot serve /definitely/not/here: No such file or directory\n"
    );
}

#[test]
fn a_file_given_as_dir_is_a_one_line_error_with_status_2() {
    let dir = site(&[("a.txt", b"x")]);
    let file = dir.path().join("a.txt");
    let err = one_line_error(&[file.to_str().unwrap(), "--port", "0"]);
    assert!(err.contains("not a directory"), "{err}");
}

#[test]
fn an_address_in_use_suggests_port_0_with_status_2() {
    let dir = site(&[("a.txt", b"x")]);
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let err = one_line_error(&[dir.path().to_str().unwrap(), "--port", &port, "--quiet"]);
    assert!(
        err.contains("already in use") && err.contains("--port 0"),
        "{err}"
    );
}

#[test]
fn bad_flags_exit_2_without_panicking() {
    for args in [
        &["--port", "70000"][..],
        &["--threads", "0"],
        &["--header-timeout", "soon"],
        &["--bind", "nowhere"],
        &["--bind", "not-an-address", "--port", "0"],
    ] {
        let (code, out, err) = run_ferry(args, None);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(out, "", "{args:?}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn duration_flags_accept_bare_seconds_an_s_suffix_and_ms() {
    let t = Site::standard();
    let s = Server::start(
        t.path(),
        &[
            "--header-timeout",
            "10",
            "--keepalive-timeout",
            "10s",
            "--write-timeout",
            "500ms",
            "--body-timeout",
            "2s",
            "--shutdown-timeout",
            "100ms",
        ],
    );
    assert_ok(&s.get("/a.txt"), b"hello");
}

#[test]
fn help_lists_the_flags_and_version_prints_the_version() {
    let (code, help, _) = run_ferry(&["--help"], None);
    assert_eq!(code, Some(0));
    for flag in [
        "--bind",
        "--port",
        "--threads",
        "--quiet",
        "--hidden",
        "--max-connections",
        "--header-timeout",
        "--keepalive-timeout",
        "--write-timeout",
    ] {
        assert!(help.contains(flag), "--help lists {flag}");
    }
    assert!(!help.contains("debug-panic"), "testing aid stays hidden");
    let (code, version, _) = run_ferry(&["--version"], None);
    assert_eq!(code, Some(0));
    assert_eq!(version, format!("ferry {}\n", env!("CARGO_PKG_VERSION")));
}

/// `--help`: the everyday flags first (with their short forms), then the
/// tuning under their own headings, examples at the end; the testing aid
/// nowhere.
#[test]
fn help_puts_everyday_flags_first_then_tuning_and_ends_with_examples() {
    let (code, help, _) = run_ferry(&["--help"], None);
    assert_eq!(code, Some(0));
    let headings = [
        "Arguments:",
        "Options:",
        "Responses:",
        "Tuning: timeouts:",
        "Tuning: limits:",
        "Tuning: threads, caches and sockets:",
        "Examples:",
    ];
    let found: Vec<&str> = help
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(' ') && l.ends_with(':'))
        .collect();
    assert_eq!(found, headings, "{help}");
    // Each section: its text up to the next heading.
    let section = |h: &str| {
        let start = help.find(&format!("\n{h}\n")).expect(h) + h.len() + 2;
        let end = help[start..].find("\n\n").map_or(help.len(), |e| start + e);
        &help[start..end]
    };
    let has = |h: &str, flags: &[&str]| {
        let text = section(h);
        for flag in flags {
            assert!(
                text.lines().any(|l| l.trim_start().starts_with(flag)),
                "{flag} under {h}:\n{text}"
            );
        }
    };
    has(
        "Options:",
        &[
            "-b, --bind <ADDR>",
            "-p, --port <PORT>",
            "-o, --open",
            "-q, --quiet",
            "--watch",
            "--hidden",
        ],
    );
    has(
        "Responses:",
        &[
            "--spa",
            "--clean-urls",
            "--no-listing",
            "--404",
            "--cors",
            "--header",
            "--cache-control",
            "--no-cache",
            "--no-compress",
        ],
    );
    has(
        "Tuning: timeouts:",
        &[
            "--header-timeout <DUR>",
            "--keepalive-timeout <DUR>",
            "--write-timeout <DUR>",
            "--body-timeout <DUR>",
            "--linger-timeout <DUR>",
            "--shutdown-timeout <DUR>",
            "--heartbeat <DUR>",
        ],
    );
    has(
        "Tuning: limits:",
        &[
            "--max-connections <N>",
            "--max-body <BYTES>",
            "--max-target <BYTES>",
            "--max-header-bytes <BYTES>",
            "--max-headers <N>",
            "--min-body-rate <BYTES>",
            "--min-send-rate <BYTES>",
            "--max-listing-read <N>",
        ],
    );
    has(
        "Tuning: threads, caches and sockets:",
        &[
            "--threads <N>",
            "--reuse-port",
            "--cache-fds <N>",
            "--listing-cache <BYTES>",
            "--compress-cache <BYTES>",
            "--compress-max <BYTES>",
            "--max-watches <N>",
        ],
    );
    let examples = section("Examples:");
    assert!(
        help.trim_end().ends_with(examples.trim_end()),
        "examples last"
    );
    let commands: Vec<&str> = examples
        .lines()
        .filter_map(|l| l.strip_prefix("  ferry"))
        .collect();
    assert!((2..=3).contains(&commands.len()), "{examples}");
    assert!(!help.contains("debug-panic"), "testing aid stays hidden");
}

/// SIGHUP drains like SIGTERM (issue: "document it"): the help of
/// --shutdown-timeout, the flag that bounds that drain, names it.
/// Was: the help said SIGINT/SIGTERM only / now: SIGINT/SIGTERM/SIGHUP.
#[test]
fn help_says_the_shutdown_timeout_applies_to_sighup_too() {
    let (code, help, _) = run_ferry(&["--help"], None);
    assert_eq!(code, Some(0));
    let start = help
        .find("--shutdown-timeout")
        .expect("--help lists --shutdown-timeout");
    let rest = &help[start + 2..];
    let entry = &rest[..rest.find("\n      --").unwrap_or(rest.len())];
    assert!(entry.contains("SIGHUP"), "{entry}");
}
