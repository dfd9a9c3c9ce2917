//! Command line and startup: the default folder, the one stdout line,
//! the warnings and LAN URLs on stderr, errors with exit status 2, --help
//! (its headings and examples) and --version, short flags, flag syntax.

use std::io::Read;
use std::net::TcpListener;
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

/// What a server wrote to stderr by the time it is killed.
fn stderr_after_kill(mut s: Server) -> String {
    let mut err = s.stderr();
    let _ = s.child.kill();
    let _ = s.child.wait();
    let mut text = String::new();
    err.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn a_non_loopback_bind_warns_and_lists_the_lan_urls_while_loopback_does_not() {
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &["--bind", "0.0.0.0"]);
    assert!(s.line.contains("at http://0.0.0.0:"), "{}", s.line);
    let text = stderr_after_kill(s);
    assert!(
        text.contains("warning: 0.0.0.0 is not a loopback address"),
        "{text}"
    );
    // One line per non-loopback IPv4 interface.
    let has_lan = Command::new("sh")
        .args([
            "-c",
            "ip -4 -o addr show scope global 2>/dev/null | grep -q inet",
        ])
        .status()
        .is_ok_and(|st| st.success());
    if has_lan {
        assert!(text.contains("ferry: also at http://"), "{text}");
        assert!(!text.contains("also at http://127."), "{text}");
    } else {
        skip(
            "cli::a_non_loopback_bind_warns_and_lists_the_lan_urls_while_loopback_does_not",
            "no non-loopback IPv4 interface (or no `ip`): the LAN URL lines were not checked",
        );
    }
    let text = stderr_after_kill(Server::start(dir.path(), &[]));
    assert!(!text.contains("warning"), "{text}");
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
