//! Command line and startup: the one stdout line, errors with exit status
//! 2, --help and --version.

mod common;

use std::process::{Command, Stdio};

use common::{Server, site};

const BIN: &str = env!("CARGO_BIN_EXE_ferry");

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ferry")
}

#[test]
fn startup_prints_exactly_one_line_with_the_absolute_root_and_real_port() {
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    let canonical = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(
        s.line,
        format!(
            "ferry: serving {} at http://127.0.0.1:{}/\n",
            canonical.display(),
            s.addr.port()
        )
    );
    assert_ne!(s.addr.port(), 0);
    assert_eq!(s.get("/a.txt").body, b"x");
}

#[test]
fn a_relative_dir_is_printed_absolute() {
    let dir = site(&[("a.txt", b"x")]);
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path().parent().unwrap())
        .arg(dir.path().file_name().unwrap())
        .args(["--port", "0", "--quiet"]);
    let s = Server::spawn(cmd, dir.path());
    let canonical = std::fs::canonicalize(dir.path()).unwrap();
    assert!(
        s.line
            .starts_with(&format!("ferry: serving {} at ", canonical.display())),
        "{}",
        s.line
    );
}

#[test]
fn a_missing_dir_is_a_one_line_error_with_status_2() {
    let out = run(&["/definitely/not/here", "--port", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("ferry: cannot serve /definitely/not/here: No such file or directory"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn a_file_given_as_dir_is_an_error_with_status_2() {
    let dir = site(&[("a.txt", b"x")]);
    let file = dir.path().join("a.txt");
    let out = run(&[file.to_str().unwrap(), "--port", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not a directory"), "{err}");
}

#[test]
fn an_address_in_use_suggests_port_0_with_status_2() {
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    let port = s.addr.port().to_string();
    let out = run(&[dir.path().to_str().unwrap(), "--port", &port]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
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
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
fn help_and_version_work() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
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
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("ferry {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_default_dir_is_static_in_the_working_directory() {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--port", "0", "--quiet"]);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
    let s = Server::spawn(cmd, &root);
    let canonical = std::fs::canonicalize(&root).unwrap();
    assert!(
        s.line
            .starts_with(&format!("ferry: serving {} at", canonical.display()))
    );
    assert_eq!(s.get("/").status(), 200);
}

#[test]
fn a_non_loopback_bind_warns_on_stderr_and_loopback_does_not() {
    use std::io::Read;
    let dir = site(&[("a.txt", b"x")]);
    let mut s = Server::start(dir.path(), &["--bind", "0.0.0.0"]);
    assert!(s.line.contains("at http://0.0.0.0:"), "{}", s.line);
    let mut err = s.stderr();
    let _ = s.child.kill();
    let _ = s.child.wait();
    let mut text = String::new();
    err.read_to_string(&mut text).unwrap();
    assert!(
        text.contains("warning: 0.0.0.0 is not a loopback address"),
        "{text}"
    );
    let mut s = Server::start(dir.path(), &[]);
    let mut err = s.stderr();
    let _ = s.child.kill();
    let _ = s.child.wait();
    let mut text = String::new();
    err.read_to_string(&mut text).unwrap();
    assert!(!text.contains("warning"), "{text}");
}
