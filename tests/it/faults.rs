//! Faults: clients that vanish (FIN or RST) mid-download or mid-request,
//! half-close, or abort pipelined downloads; files that change, vanish or
//! cannot be read while served. After each, the server's descriptors are
//! back to their baseline and its RSS has not grown without bound.

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use crate::support::*;

const SMALL: &[u8] = b"small file, still served\n";

fn content_length(head: &str) -> Option<u64> {
    head.split("\r\n")
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length").then(|| v.trim())
        })
        .and_then(|v| v.parse().ok())
}

#[test]
fn forty_clients_vanishing_mid_download_with_fin_or_rst_leave_the_server_serving_without_leaks() {
    let _serial = serial();
    const LEN: usize = 5 << 20;
    let content = Arc::new(pattern(LEN, 1));
    let dir = site(&[("big.bin", &content), ("small.txt", SMALL)]);
    let server = Server::start(dir.path(), &["--threads", "2", "--linger-timeout", "500ms"]);
    // Warm both workers' caches so the baseline includes them.
    for _ in 0..2 {
        assert_ok(&fetch(server.addr, "/big.bin"), &content);
        assert_ok(&fetch(server.addr, "/small.txt"), SMALL);
    }
    let base = baseline(&server);

    const CLIENTS: usize = 40;
    const READ_BEFORE_VANISHING: usize = 256 * 1024;
    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let addr = server.addr;
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let content = Arc::clone(&content);
            thread::spawn(move || -> Result<usize, String> {
                let setup = (|| -> Result<(TcpStream, usize), String> {
                    let mut c = connect_small_rcvbuf(addr, 64 * 1024);
                    c.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
                        .map_err(|e| format!("write: {e}"))?;
                    let mut got = Vec::new();
                    read_at_least(&mut c, &mut got, READ_BEFORE_VANISHING)?;
                    let end = head_end(&got).ok_or("no head")?;
                    let head = String::from_utf8_lossy(&got[..end]).into_owned();
                    if !head.starts_with("HTTP/1.1 200 OK\r\n")
                        || content_length(&head) != Some(LEN as u64)
                    {
                        return Err(format!("unexpected head: {head:?}"));
                    }
                    let body = &got[end..];
                    if body != &content[..body.len()] {
                        return Err("body prefix differs from the file".into());
                    }
                    Ok((c, body.len()))
                })();
                // Everyone vanishes at once, also after a failed setup.
                barrier.wait();
                let (c, n) = setup.map_err(|e| format!("client {i}: {e}"))?;
                if i % 2 == 0 {
                    // FIN first (the close then resets: unread data is pending).
                    let _ = c.shutdown(Shutdown::Both);
                    drop(c);
                } else {
                    reset(c);
                }
                Ok(n)
            })
        })
        .collect();
    barrier.wait();
    for (i, h) in handles.into_iter().enumerate() {
        let n = h
            .join()
            .expect("client thread")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            n < LEN,
            "client {i} had the whole file before vanishing: not a mid-download abort"
        );
    }

    // Still serving, exactly.
    assert_ok(&fetch(server.addr, "/small.txt"), SMALL);
    assert_ok(&fetch(server.addr, "/big.bin"), &content);
    assert_no_leak(&server, &base);
}

#[test]
fn downloads_aborted_mid_body_or_before_a_pipelined_batch_is_read_leave_the_server_serving() {
    let t = Site::standard();
    let f = fs::File::create(t.path().join("huge.bin")).unwrap();
    f.set_len(64 * 1024 * 1024).unwrap();
    drop(f);
    let s = Server::start(t.path(), &["--threads", "2"]);
    for _ in 0..8 {
        let mut c = s.conn();
        c.send(&get_req("/huge.bin"));
        let mut tmp = [0u8; 65536];
        let _ = c.s.read(&mut tmp);
        drop(c); // abort with unread data: the server sees EPIPE/ECONNRESET
    }
    // Pipelined then abort before reading anything.
    let mut c = s.conn();
    let mut raw = Vec::new();
    for _ in 0..50 {
        raw.extend(get_req("/huge.bin"));
    }
    c.send(&raw);
    drop(c);
    assert_ok(&s.request(&get_req("/a.txt")), b"hello");
    assert_ok(&s.request(&get_req("/b.txt")), b"world!");
}

#[test]
fn a_client_that_half_closes_right_after_its_request_still_gets_the_whole_eight_mebibyte_file() {
    let _serial = serial();
    // More than the server's largest send buffer (tcp_wmem max, 4 MiB here)
    // plus the client's receive buffer: the response is still going out
    // when the server sees the client's EOF.
    const LEN: usize = 8 << 20;
    let content = pattern(LEN, 2);
    let dir = site(&[("big.bin", &content), ("small.txt", SMALL)]);
    let server = Server::start(dir.path(), &["--threads", "2"]);
    assert_ok(&fetch(server.addr, "/small.txt"), SMALL);
    let base = baseline(&server);

    // Keep-alive request (no Connection: close): only the half-close says
    // no more requests are coming. A pipelined small GET rides behind.
    let mut c = connect_small_rcvbuf(server.addr, 32 * 1024);
    c.write_all(
        b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /small.txt HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .expect("write requests");
    c.shutdown(Shutdown::Write).expect("half-close");
    // The client reads nothing for 300 ms: the server meets the EOF while
    // its response is still blocked on the small receive buffer.
    thread::sleep(Duration::from_millis(300));
    let raw = read_to_close(&mut c);
    let rs = parse_all(&raw, &[false, false]);
    assert_eq!(
        rs.len(),
        2,
        "expected two responses, got {} ({} bytes)",
        rs.len(),
        raw.len()
    );
    assert_ok(&rs[0], &content);
    assert_ok(&rs[1], SMALL);
    drop(c);
    assert_no_leak(&server, &base);
}

#[test]
fn two_hundred_aborted_connections_then_a_thousand_sequential_ones_are_all_served_exactly() {
    let _serial = serial();
    let data = pattern(3000, 3);
    let dir = site(&[("data.bin", &data)]);
    let server = Server::start(dir.path(), &["--threads", "2", "--linger-timeout", "500ms"]);
    assert_ok(&fetch(server.addr, "/data.bin"), &data);
    assert_ok(&fetch(server.addr, "/data.bin"), &data);
    let base = baseline(&server);

    // All 200 open at once, then each ends its own way.
    let half = b"GET /data.bin HTTP/1.1\r\nHost: t\r\nAcc";
    let mut junk: Vec<(usize, TcpStream)> = Vec::new();
    for i in 0..200 {
        let mut c = server.connect();
        if i % 4 == 1 || i % 4 == 2 {
            c.write_all(half).expect("write half a request");
        }
        junk.push((i, c));
    }
    for (i, c) in junk {
        match i % 4 {
            0 | 1 => drop(c), // connect-and-close, half-a-request-and-close (FIN)
            _ => reset(c),    // half-a-request-and-reset, connect-and-reset (RST)
        }
    }

    for i in 0..1_000 {
        let r = try_get(server.addr, "/data.bin", IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("sequential connection {i}: {e}"));
        assert_eq!(
            r.status_line, "HTTP/1.1 200 OK",
            "sequential connection {i}"
        );
        assert!(r.body == data, "sequential connection {i}: body differs");
    }
    assert_no_leak(&server, &base);
}

#[test]
fn a_large_file_replaced_by_rename_between_requests_gets_a_new_etag_and_its_new_bytes_at_once() {
    const LEN: usize = 1 << 20; // sent from disk, not from the in-memory cache
    let old = pattern(LEN, 5);
    let new = pattern(LEN, 6);
    let dir = site(&[("big.bin", &old)]);
    let path = dir.path().join("big.bin");
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    let server = Server::start(dir.path(), &["--threads", "1"]);

    let mut c = server.connect();
    let r1 = get_on(&mut c, "/big.bin");
    assert_ok(&r1, &old);
    let e1 = r1.header("ETag").expect("ETag").to_owned();

    // Same size and same mtime: only the inode tells them apart.
    let tmp = dir.path().join(".big.bin.new");
    fs::write(&tmp, &new).unwrap();
    fs::File::options()
        .write(true)
        .open(&tmp)
        .and_then(|f| f.set_modified(mtime))
        .expect("set mtime");
    fs::rename(&tmp, &path).unwrap();

    // At once (well within the 1 s revalidation window), same connection.
    let r2 = get_on(&mut c, "/big.bin");
    assert_ok(&r2, &new);
    let e2 = r2.header("ETag").expect("ETag").to_owned();
    assert_ne!(e2, e1, "new bytes under the old ETag");
    let req = format!("GET /big.bin HTTP/1.1\r\nHost: t\r\nIf-None-Match: {e1}\r\n\r\n");
    c.write_all(req.as_bytes()).unwrap();
    let r3 = read_response(&mut c, false).expect("response");
    assert_ok(&r3, &new);
    assert_eq!(r3.header("ETag"), Some(e2.as_str()));
    // The replaced file is not kept open.
    let held = deleted_files_held(server.child.id());
    assert!(held.is_empty(), "the replaced file is still open: {held:?}");
}

/// Restores modes on drop so the temporary tree can be removed by a
/// non-root user, whatever the test's outcome.
struct RestoreModes(Vec<(PathBuf, u32)>);

impl Drop for RestoreModes {
    fn drop(&mut self) {
        for (p, mode) in &self.0 {
            let _ = fs::set_permissions(p, fs::Permissions::from_mode(*mode));
        }
    }
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn unreadable_files_and_folders_are_403_and_an_unreadable_folder_is_never_listed() {
    let dir = site(&[
        ("open.txt", b"open\n"),
        ("secret.txt", b"SECRET-FILE-MARKER\n"),
        ("locked/inner.txt", b"LOCKED-INNER-MARKER\n"),
        ("xonly/inner.txt", b"reachable\n"),
    ]);
    let root = dir.path();
    // Permissions don't bind root: run the server as nobody if we are root.
    let as_root = rustix::process::geteuid().is_root();
    let setpriv_ok = as_root
        && Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
            .status()
            .is_ok_and(|s| s.success());
    if as_root && !setpriv_ok {
        skip(
            "faults::unreadable_files_and_folders_are_403_and_an_unreadable_folder_is_never_listed",
            "running as root, for whom file modes don't apply (CAP_DAC_OVERRIDE), and \
             `setpriv` is not available to run the server as an unprivileged user",
        );
        return;
    }
    let _restore = RestoreModes(vec![
        (root.join("secret.txt"), 0o644),
        (root.join("locked"), 0o755),
        (root.join("xonly"), 0o755),
    ]);
    chmod(&dir.outside(), 0o755); // tempdir is 0700: let nobody in
    chmod(root, 0o755);
    chmod(&root.join("secret.txt"), 0o000);
    chmod(&root.join("locked"), 0o000);
    chmod(&root.join("xonly"), 0o111);

    let server = if setpriv_ok {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_ferry"))
            .arg(root)
            .args(["--port", "0", "--quiet", "--threads", "1"]);
        Server::spawn(cmd, root)
    } else {
        Server::start(root, &["--threads", "1"])
    };
    // Otherwise this test would check nothing.
    let uid = proc_status_field(server.child.id(), "Uid:").unwrap_or_default();
    let euid = uid.split_whitespace().nth(1).unwrap_or("?");
    assert_ne!(
        euid, "0",
        "the server runs as root, so file modes don't bind it: {uid}"
    );
    assert_ok(&fetch(server.addr, "/open.txt"), b"open\n");
    let base = baseline(&server);

    for target in ["/secret.txt", "/locked/", "/locked/inner.txt", "/xonly/"] {
        let r = fetch(server.addr, target);
        r.assert_common();
        assert_eq!(r.status_line, "HTTP/1.1 403 Forbidden", "GET {target}");
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains("MARKER") && !body.contains("inner.txt"),
            "GET {target} revealed content or a listing: {body}"
        );
    }
    // A folder that can be searched but not read: its files are reachable.
    assert_ok(&fetch(server.addr, "/xonly/inner.txt"), b"reachable\n");
    // The root listing itself still works.
    let r = fetch(server.addr, "/");
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_no_leak(&server, &base);
}

/// A file replaced by rename, then removed, is served fresh: the new bytes,
/// then 404 (each within the one-second revalidation).
#[test]
fn a_replaced_then_removed_file_is_served_fresh() {
    let dir = site(&[("a.txt", b"one")]);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    assert_ok(&s.get("/a.txt"), b"one");
    let tmp = dir.path().join("a.tmp");
    fs::write(&tmp, b"two two").unwrap();
    fs::rename(&tmp, dir.path().join("a.txt")).unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || s.get("/a.txt").body
            == b"two two"),
        "the new bytes never came"
    );
    fs::remove_file(dir.path().join("a.txt")).unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || s.get("/a.txt").status() == 404),
        "the removed file is still served"
    );
}

/// A small file held in memory is a consistent snapshot: while the change
/// is not yet seen, the old bytes come with the old ETag; once seen, the
/// new bytes with a new ETag and Last-Modified, and the old tag no longer
/// matches.
#[test]
fn a_small_cached_file_is_a_consistent_snapshot_and_fresh_within_a_second() {
    let t0: u64 = 1_000_000_000;
    let dir = site(&[("s.txt", b"version-one")]);
    let p = dir.path().join("s.txt");
    set_mtime(&p, at(t0, 0));
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let old = s.ask("GET", "/s.txt", &[]);
    let t1 = old.header("ETag").unwrap().to_owned();
    fs::write(&p, b"version-two").unwrap();
    set_mtime(&p, at(t0 + 5, 0));
    let mut seen = Vec::new();
    let fresh = wait_until(Duration::from_secs(3), || {
        let r = s.ask("GET", "/s.txt", &[]);
        let new = r.body == b"version-two";
        seen.push(r);
        new
    });
    assert!(fresh, "the change was not seen within 3 s");
    let new = seen.last().unwrap();
    let t2 = new.header("ETag").unwrap().to_owned();
    assert_ne!(t1, t2);
    assert_eq!(new.header("Last-Modified"), Some(imf(t0 + 5).as_str()));
    for r in &seen {
        match &r.body[..] {
            b"version-one" => assert_eq!(r.header("ETag"), Some(t1.as_str())),
            b"version-two" => assert_eq!(r.header("ETag"), Some(t2.as_str())),
            other => panic!("neither version: {:?}", String::from_utf8_lossy(other)),
        }
    }
    let r = s.ask("GET", "/s.txt", &[("If-None-Match", &t1)]);
    assert_ok(&r, b"version-two");
}
