//! Regressions: one test per fixed defect, named for what it guards, each
//! with what it was and what it is now, asserting the exact current answer.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::caching::{T0, etag};
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

// ---------------------------------------------------------------- review

/// Was: ~60 KiB of pipelined GETs for a cached 32 KiB file from a client
/// that never reads made the server stage ~119 MiB / now: staged output
/// stops parsing at 128 KiB until the socket takes it.
#[test]
fn a_client_pipelining_without_reading_cannot_make_the_server_buffer_megabytes() {
    let _serial = serial();
    let body = vec![b'z'; 32 * 1024];
    let dir = site(&[("f.bin", &body)]);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    assert_eq!(s.get("/f.bin").status(), 200); // warm the cache
    let before = peak_rss_kib(s.pid(), Duration::from_millis(100));
    let req = b"GET /f.bin HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut batch = Vec::new();
    while batch.len() + req.len() <= 60 * 1024 {
        batch.extend_from_slice(req);
    }
    let mut c = connect(s.addr);
    c.write_all(&batch).expect("write the pipelined batch");
    // Never read; watch the server's memory for half a second.
    let after = peak_rss_kib(s.pid(), Duration::from_millis(500));
    let grown = after.saturating_sub(before);
    assert!(
        grown < 8 * 1024,
        "{} KiB of pipelined requests from a non-reader grew the server by {grown} KiB",
        batch.len() / 1024
    );
}

/// Was: the folder redirect took its Location from a URL found inside the
/// query (`find("://")`), an open redirect, with `\` passed through / now:
/// the Location is the slashed path plus the query as sent, `\` escaped.
#[test]
fn a_folder_redirect_keeps_a_query_holding_a_url_and_stays_on_the_site() {
    let dir = site(&[("sub/x.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    for (target, location) in [
        (
            "/sub?next=http://example.test/landing",
            "/sub/?next=http://example.test/landing",
        ),
        (
            "/sub?r=http://x/\\evil.test",
            "/sub/?r=http://x/%5Cevil.test",
        ),
    ] {
        let r = s.request(&get_req(target));
        assert_eq!(r.status_line, MOVED, "{target}");
        assert_eq!(r.header("Location"), Some(location), "{target}");
    }
}

/// Was: `--header` fields were added beside ferry's own, so `--header
/// 'Content-Type: …'` or `'Cache-Control: …'` sent that field twice, with
/// two values, and `--header 'ETag: …'` a second validator / now: the
/// header replaces ferry's field (Content-Type on files), and ETag is
/// refused at startup.
#[test]
fn a_header_named_like_one_of_ferrys_fields_is_sent_once() {
    let dir = site(&[("a.txt", b"hello")]);
    let s = Server::start(
        dir.path(),
        &[
            "--header",
            "Content-Type: text/markdown; charset=utf-8",
            "--header",
            "Cache-Control: max-age=5",
        ],
    );
    let r = s.ask("GET", "/a.txt", &[]);
    assert_ok(&r, b"hello");
    assert_eq!(r.all("Content-Type"), ["text/markdown; charset=utf-8"]);
    assert_eq!(r.all("Cache-Control"), ["max-age=5"]);
    let root = dir.path().to_str().unwrap();
    let (code, _, err) = run_ferry(&[root, "--port", "0", "--header", "ETag: \"x\""], None);
    assert_eq!(code, Some(2), "{err}");
}

/// Was: the access log was written to stderr from the worker with a
/// blocking write, so a full stderr pipe froze serving / now: a writer
/// thread takes whole buffers and drops what it cannot write.
#[test]
fn a_stalled_log_reader_does_not_stall_serving() {
    let _serial = serial();
    let dir = site(&[("f.txt", b"hello\n")]);
    // No --quiet: the access log is on; nobody ever reads stderr (64 KiB pipe).
    let s = Server::start_raw(dir.path(), &["--threads", "1"]);
    let query = "q".repeat(6000); // ~6 KiB log lines
    let mut c = Conn::new(connect_with(s.addr, Duration::from_millis(1500)));
    let deadline = Instant::now() + Duration::from_secs(6);
    for i in 0..60 {
        c.send(format!("GET /f.txt?{query} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        let r = c
            .try_read_response(false)
            .unwrap_or_else(|e| panic!("request {i}: the worker stopped answering: {e}"));
        assert_ok(&r, b"hello\n");
        assert!(Instant::now() < deadline, "60 requests took over 6 s");
    }
}

/// Was: a connection with a partial head grew its buffer to the head limit
/// plus 4 KiB and zero-filled it on every read, ~68 KiB per slow client /
/// now: reads go to the worker's scratch buffer, only the bytes received
/// are kept.
#[test]
fn slow_partial_heads_cost_little_memory() {
    let _serial = serial();
    let dir = site(&[("f.txt", b"hello\n")]);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    assert_eq!(s.get("/f.txt").status(), 200);
    let n = 200;
    let mut conns: Vec<TcpStream> = (0..n).map(|_| connect(s.addr)).collect();
    for c in &mut conns {
        c.write_all(b"GET /").unwrap();
    }
    let before = peak_rss_kib(s.pid(), Duration::from_millis(300));
    // A second read on each: the buffered-head path.
    for c in &mut conns {
        c.write_all(b"x").unwrap();
    }
    let after = peak_rss_kib(s.pid(), Duration::from_millis(500));
    let per_conn = after.saturating_sub(before) * 1024 / n;
    assert!(
        per_conn < 8 * 1024,
        "each slow client holding 6 bytes of a head costs ~{per_conn} bytes \
         (RSS {before} -> {after} KiB for {n} clients)"
    );
}

/// Was: errors decided after the head (413 for the body's length, 400 for
/// a bad chunk) carried the error page even for HEAD (RFC 9110 §9.3.2) /
/// now: no content.
#[test]
fn a_head_request_refused_for_its_body_gets_no_content() {
    let dir = site(&[("f.txt", b"hello\n")]);
    let s = Server::start(dir.path(), &[]);
    for (raw, status) in [
        (
            &b"HEAD /f.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n"[..],
            TOO_LARGE,
        ),
        (
            b"HEAD /f.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            BAD_REQUEST,
        ),
    ] {
        let raw = s.exchange(raw);
        let end = head_end(&raw).expect("a response head");
        let head = String::from_utf8_lossy(&raw[..end]);
        assert!(head.starts_with(&format!("{status}\r\n")), "{head}");
        assert_eq!(
            String::from_utf8_lossy(&raw[end..]),
            "",
            "content after a HEAD {status}"
        );
    }
}

/// Was: openat2 followed a relative symlink to a dotfile and served it
/// (only absolute links were checked) / now: walks without --hidden don't
/// follow symlinks; the target is checked.
#[test]
fn a_symlink_to_a_dotfile_is_hidden_like_the_dotfile() {
    let dir = site(&[(".secret", b"s3cret\n")]);
    dir.symlink(".secret", "pub")
        .symlink(dir.path().join(".secret"), "pub2");
    let s = Server::start(dir.path(), &[]);
    for target in ["/.secret", "/pub", "/pub2"] {
        let r = s.request(&get_req(target));
        assert_eq!(r.status_line, NOT_FOUND, "{target}");
        assert!(!r.text().contains("s3cret"), "{target}");
    }
}

/// Was: cache entries were revisited only when their path was asked for
/// again, so a served-then-deleted file stayed open (its space never
/// freed) while the server was busy with other paths / now: idle entries
/// close after 2 s.
#[test]
fn a_deleted_file_is_closed_while_the_server_stays_busy() {
    let dir = site(&[("big.bin", &vec![b'b'; 200 * 1024])]);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    assert_eq!(s.get("/big.bin").status(), 200);
    fs::remove_file(dir.path().join("big.bin")).unwrap();
    let closed = wait_until(Duration::from_secs(5), || {
        assert_eq!(s.get("/").status(), 200); // busy with another path
        deleted_files_held(s.pid()).is_empty()
    });
    assert!(
        closed,
        "deleted file still open: {:?}",
        deleted_files_held(s.pid())
    );
}

/// Was: the file cache was used only when the raw path had no `%`, so
/// every request for a name with an escape paid openat2, fstat and close /
/// now: the raw path is the cache key either way.
#[test]
fn percent_encoded_paths_are_served_from_the_cache() {
    let name = "regressions::percent_encoded_paths_are_served_from_the_cache";
    if !Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        skip(name, "strace is not installed");
        return;
    }
    let dir = site(&[("a b.txt", b"spaced\n"), ("plain.txt", b"plain\n")]);
    let trace_dir = tempfile::tempdir().unwrap();
    let trace = trace_dir.path().join("strace.txt");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=openat2", "-o"])
        .arg(&trace)
        .arg(BIN)
        .arg(dir.path())
        .args(["--port", "0", "--quiet", "--threads", "1"]);
    let s = Server::spawn_parent_of(cmd, dir.path());
    let count = |needle: &str| -> usize {
        fs::read_to_string(&trace)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    };
    for (path, file, expect) in [
        ("/plain.txt", "plain.txt", &b"plain\n"[..]),
        ("/a%20b.txt", "a b.txt", &b"spaced\n"[..]),
    ] {
        let mut c = s.conn();
        for _ in 0..20 {
            assert_ok(&c.get(path), expect);
        }
        let needle = format!("\"{file}\"");
        if !wait_until(Duration::from_secs(2), || count(&needle) >= 1) {
            skip(
                name,
                "strace recorded no openat2 (ptrace not permitted here?)",
            );
            return;
        }
        let opens = count(&needle);
        assert!(
            opens <= 2,
            "{path}: {opens} openat2 calls for 20 keep-alive requests"
        );
    }
}

/// Was: the listing formatted mtimes with httpdate, which panics at year
/// 10000, so one such file made its folder a permanent 500 / now: listed.
#[test]
fn a_listing_survives_a_year_10000_mtime() {
    let name = "regressions::a_listing_survives_a_year_10000_mtime";
    // tmpfs takes such mtimes; the build's file system may not.
    let base = Path::new("/dev/shm");
    if !base.is_dir() {
        skip(name, "no /dev/shm (tmpfs) to hold a year-10000 mtime");
        return;
    }
    let dir = tempfile::tempdir_in(base).unwrap();
    fs::create_dir(dir.path().join("d")).unwrap();
    let f = fs::File::create(dir.path().join("d/future.txt")).unwrap();
    let t = UNIX_EPOCH + Duration::from_secs(253_402_473_600); // 10000-01-02
    if f.set_modified(t).is_err() {
        skip(name, "/dev/shm refuses a year-10000 mtime");
        return;
    }
    drop(f);
    let s = Server::start(dir.path(), &[]);
    let r = s.request(&get_req("/d/"));
    assert_eq!(r.status_line, OK);
    assert!(r.text().contains("future.txt"));
}

/// Was: a sendfile that failed mid-batch (the file cut under it) was
/// ignored, the short body followed by the next pipelined answer / now: the
/// connection ends before the announced length and nothing follows.
///
/// A limit of zero-copy: bytes sendfile already queued are page-cache
/// pages, and truncating zeroes the part of a partly cut folio past the
/// new end, so zeros may arrive from the cut point on before the close.
/// Every other byte must be the original's.
#[test]
fn a_file_cut_during_a_transfer_ends_the_connection_before_its_length_and_the_batch() {
    let _serial = serial();
    const LEN: usize = 20 << 20;
    const CUT: usize = 1 << 20;
    let content = pattern(LEN, 4);
    let dir = site(&[("big.bin", &content), ("small.txt", SMALL)]);
    let path = dir.path().join("big.bin");
    let server = Server::start(dir.path(), &["--threads", "2"]);
    assert_ok(&fetch(server.addr, "/small.txt"), SMALL);
    let base = baseline(&server);

    // Keep-alive, so only the truncation can end the connection.
    let mut c = connect_small_rcvbuf(server.addr, 64 * 1024);
    c.write_all(
        b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /small.txt HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .expect("write requests");
    // Read slowly at first: the server's transfer stalls on full buffers.
    let mut got = Vec::new();
    for step in 1..=3 {
        read_at_least(&mut c, &mut got, step * 32 * 1024).expect("slow start");
        std::thread::sleep(Duration::from_millis(100)); // a slow reader
    }
    let end = head_end(&got).expect("a head in the first 32 KiB");
    let head = String::from_utf8_lossy(&got[..end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(content_length(&head), Some(LEN as u64), "{head}");

    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(CUT as u64))
        .expect("truncate");

    // Now read fast, to the end.
    let mut buf = vec![0u8; 256 * 1024];
    let mut ending: Option<std::io::Result<usize>> = None;
    for _ in 0..100_000 {
        match c.read(&mut buf) {
            Ok(0) => {
                ending = Some(Ok(0));
                break;
            }
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                assert!(
                    got.len() - end <= LEN,
                    "more body bytes than Content-Length: {}",
                    got.len() - end
                );
            }
            Err(e) => {
                ending = Some(Err(e));
                break;
            }
        }
    }
    let body = &got[end..];
    match ending {
        Some(Ok(0)) => {}
        Some(Err(e)) => panic!(
            "after {} body bytes the connection ended with an error, not EOF: {e}",
            body.len()
        ),
        _ => panic!("no end after {} body bytes", body.len()),
    }
    assert!(
        body.len() < LEN,
        "all {LEN} announced bytes arrived although the file was cut to {CUT}"
    );
    // Every byte received is the original file's, or (past the cut, in
    // data already queued by sendfile) a zero the kernel wrote: never bytes
    // of another version.
    let first_diff = body
        .iter()
        .zip(&content)
        .enumerate()
        .position(|(i, (a, b))| a != b && !(i >= CUT && *a == 0));
    if let Some(first) = first_diff {
        let last = body
            .iter()
            .zip(&content)
            .rposition(|(a, b)| a != b)
            .unwrap_or(first);
        let zeros = body[first..=last].iter().filter(|&&b| b == 0).count();
        panic!(
            "received {} body bytes (Content-Length {LEN}, cut to {CUT} during the transfer); \
             bytes {first}..={last} are not the original file's: {zeros} of those {} bytes \
             are zeros (padding)",
            body.len(),
            last - first + 1
        );
    }
    // The pipelined request behind it was never answered: its response
    // would have gone out after a short body, misframed.
    assert!(
        !body.windows(17).any(|w| w == b"HTTP/1.1 200 OK\r\n"),
        "a response followed the cut body"
    );
    drop(c);

    // The file as it is now is served exactly.
    assert_ok(&fetch(server.addr, "/big.bin"), &content[..CUT]);
    assert_no_leak(&server, &base);
}

// ---------------------------------------------------- validators tester

/// Was: a large file rewritten or truncated in place (same inode) was
/// announced with its old ETag and length, so a resume spliced versions
/// or a client waited for bytes that never came / now: files sent from
/// disk are fstat-checked before each response.
#[test]
fn a_large_file_rewritten_or_truncated_in_place_is_announced_with_its_new_etag_and_length() {
    let n = 200_000; // above the in-memory limit: sent from disk
    let dir = site(&[("big.bin", &vec![b'a'; n])]);
    let p = dir.path().join("big.bin");
    set_mtime(&p, at(T0, 0));
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let old_tag = etag(&s.ask("GET", "/big.bin", &[]));
    // Rewritten: same size, new bytes, new mtime.
    fs::write(&p, vec![b'b'; n]).unwrap();
    set_mtime(&p, at(T0 + 60, 0));
    let r = s.ask(
        "GET",
        "/big.bin",
        &[("Range", "bytes=100000-100009"), ("If-Range", &old_tag)],
    );
    assert_ok(&r, &vec![b'b'; n]);
    assert_ne!(r.header("ETag"), Some(old_tag.as_str()));
    assert_eq!(r.header("Last-Modified"), Some(imf(T0 + 60).as_str()));
    // Truncated.
    fs::write(&p, b"hello").unwrap();
    assert_ok(&s.ask("GET", "/big.bin", &[]), b"hello");
}

/// Was: mtimes before 1970 (restored archives) showed as 1970 in
/// Last-Modified and were clamped to 0 in the ETag, so rewriting such a
/// file kept its ETag / now: they are themselves.
#[test]
fn a_pre_1970_mtime_is_reported_as_itself_and_changes_the_etag() {
    let dir = site(&[("old.txt", b"aaaa")]);
    let p = dir.path().join("old.txt");
    set_mtime(&p, UNIX_EPOCH - Duration::from_secs(315_619_200)); // 1960-01-01
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let r = s.ask("GET", "/old.txt", &[]);
    assert_ok(&r, b"aaaa");
    assert_eq!(
        r.header("Last-Modified"),
        Some("Fri, 01 Jan 1960 00:00:00 GMT")
    );
    let e1 = etag(&r);
    for (field, date, status) in [
        (
            "If-Modified-Since",
            "Fri, 01 Jan 1965 00:00:00 GMT",
            NOT_MODIFIED,
        ),
        ("If-Unmodified-Since", "Fri, 01 Jan 1965 00:00:00 GMT", OK),
        (
            "If-Unmodified-Since",
            "Sun, 01 Jan 1950 00:00:00 GMT",
            PRECONDITION_FAILED,
        ),
    ] {
        assert_eq!(
            s.ask("GET", "/old.txt", &[(field, date)]).status_line,
            status,
            "{field}: {date}"
        );
    }
    // Rewritten with another pre-1970 mtime: a new ETag.
    fs::write(&p, b"bbbb").unwrap();
    set_mtime(&p, UNIX_EPOCH - Duration::from_secs(200_000_000));
    let r = crate::caching::until_served(&s, "/old.txt", &[], b"bbbb");
    assert_ne!(etag(&r), e1);
    assert_ok(
        &s.ask("GET", "/old.txt", &[("If-None-Match", &e1)]),
        b"bbbb",
    );
}

/// Was: a well-formed If-Unmodified-Since before 1970 (which httpdate
/// cannot represent) was ignored, so the request was served / now: it is
/// a valid date before any file: 412 (RFC 9110 §13.1.4).
#[test]
fn a_pre_1970_if_unmodified_since_is_a_valid_date_rfc9110_13_1_4() {
    let dir = site(&[("f.bin", b"data")]);
    set_mtime(&dir.path().join("f.bin"), at(T0, 0));
    let s = Server::start(dir.path(), &[]);
    for date in [
        "Mon, 01 Jan 1900 00:00:00 GMT",
        "Sun, 01 Jan 1950 00:00:00 GMT",
    ] {
        let r = s.ask("GET", "/f.bin", &[("If-Unmodified-Since", date)]);
        assert_eq!(r.status_line, PRECONDITION_FAILED, "{date}");
    }
}

/// Was: If-Range with a Last-Modified in the current second applied the
/// range, though such a date is weak (RFC 9110 §8.8.2.2, §13.1.5) / now:
/// the whole file.
///
/// The file's mtime is set to now, just after a second boundary, and the
/// request follows at once: its Date is that same second, so the date is
/// weak and the answer is 200. (If the machine is so slow that the second
/// has passed, the date is strong and the answer 206; the test then
/// retries, and says so if it never gets a same-second request.)
#[test]
fn if_range_with_a_last_modified_in_the_current_second_is_weak_rfc9110_13_1_5() {
    let _serial = serial();
    let data = pattern(100, 3);
    let dir = Site::new();
    let s = Server::start(dir.path(), &["--threads", "1"]);
    for attempt in 0..5 {
        // Just after a second boundary (bounded wait, at most ~1 s).
        wait_until(Duration::from_secs(2), || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .subsec_millis()
                < 100
        });
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let name = format!("hot{attempt}.bin"); // a new file: nothing cached
        dir.file(&name, &data);
        set_mtime(
            &dir.path().join(&name),
            at(now.as_secs(), now.subsec_nanos()),
        );
        let lm = imf(now.as_secs());
        let r = s.ask(
            "GET",
            &format!("/{name}"),
            &[("Range", "bytes=0-9"), ("If-Range", &lm)],
        );
        assert_eq!(r.header("Last-Modified"), Some(lm.as_str()));
        if r.header("Date") == Some(lm.as_str()) {
            assert_ok(&r, &data);
            return;
        }
        // The second passed: the date is strong now.
        assert_eq!(r.status_line, PARTIAL);
    }
    skip(
        "regressions::if_range_with_a_last_modified_in_the_current_second_is_weak_rfc9110_13_1_5",
        "five requests in a row took past the end of their second: the same-second case was not checked",
    );
}

/// Was: preconditions were not evaluated on listings / now: a listing has
/// no ETag, so no tag matches it (If-Match: "x" is 412) and `*` does
/// (If-None-Match: * is 304) (RFC 9110 §13.1.1, §13.1.2).
#[test]
fn preconditions_are_evaluated_on_listings_rfc9110_13_1() {
    let dir = site(&[("sub/a.txt", b"a")]);
    let s = Server::start(dir.path(), &[]);
    let l = s.ask("GET", "/sub/", &[]);
    assert_eq!(l.status_line, OK);
    assert_eq!(l.header("ETag"), None);
    for (field, value, status) in [
        (
            "If-Match",
            "\"certainly-not-the-listing\"",
            PRECONDITION_FAILED,
        ),
        ("If-Match", "*", OK),
        ("If-None-Match", "*", NOT_MODIFIED),
        ("If-None-Match", "\"x\"", OK),
    ] {
        assert_eq!(
            s.ask("GET", "/sub/", &[(field, value)]).status_line,
            status,
            "{field}: {value}"
        );
    }
}

/// Was: --cache-control took any value, so a CR LF in it injected a header
/// into every response / now: values with control characters are refused
/// at startup (status 2).
#[test]
fn a_cache_control_value_with_a_line_break_is_refused_at_startup() {
    let dir = site(&[("a.txt", b"a")]);
    let (code, out, err) = run_ferry(
        &[
            dir.path().to_str().unwrap(),
            "--port",
            "0",
            "--quiet",
            "--cache-control",
            "max-age=1\r\nX-Injected: yes",
        ],
        None,
    );
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("only visible ASCII, spaces and tabs are allowed"),
        "{err}"
    );
}

// ------------------------------------------------------------- fuzzing

/// Was: `HTTP/1.2` after enough empty lines put the minor digit past
/// --max-header-bytes; the re-parse indexed past its copy and the worker
/// panicked (a 500) / now: the head is over the limit: 431. Sent in one
/// write, so the verdict does not depend on read boundaries.
#[test]
fn an_http_1_2_head_past_the_limit_is_431_not_a_panic() {
    let dir = site(&[("index.html", b"hi")]);
    let mut s = Server::start(dir.path(), &["--max-header-bytes", "1024"]);
    let mut raw = b"\r\n".repeat(600);
    raw.extend_from_slice(b"GET / HTTP/1.2\r\nHost: h\r\n\r\n");
    let rs = parse_all(&s.exchange(&raw), &[false]);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status_line, HEAD_TOO_LARGE);
    assert_eq!(rs[0].header("Connection"), Some("close"));
    assert_ok(&s.get("/"), b"hi");
    assert!(s.alive());
}

/// Was: `GET / HTTP/2` at the end of a read was 400 (httparse rejects the
/// version at its first digit) while the whole line was 505 / now: a
/// version token that may still become `HTTP/d.d` waits for more: 505.
#[test]
fn a_version_token_cut_by_a_read_boundary_still_gets_505() {
    let dir = site(&[("index.html", b"hi")]);
    let s = Server::start(dir.path(), &[]);
    let mut c = s.conn();
    c.send(b"GET / HTTP/2");
    c.assert_still_open(Duration::from_millis(300), "the version is not complete");
    c.send(b".0\r\nHost: h\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.status_line, BAD_VERSION);
    assert_eq!(r.header("Connection"), Some("close"));
    // The parser itself: the cut token asks for more, the whole one is 505.
    use ferry::h1::parse::parse;
    use ferry::h1::{Limits, RequestError};
    let cut = parse(b"GET / HTTP/2", &Limits::default());
    assert!(matches!(cut, Ok(None)), "{cut:?}");
    let whole = parse(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", &Limits::default());
    assert_eq!(whole.unwrap_err(), RequestError::VersionNotSupported);
}

// ----------------------------------------------------------------- other

/// Was: with --404 PAGE, the access log counted the bytes of the built-in
/// 404 page / now: the bytes of the page sent.
#[test]
fn the_access_log_counts_the_custom_404_pages_bytes() {
    let dir = site(&[("a.txt", b"a")]);
    let page = dir.outside().join("oops.html");
    fs::write(&page, b"<h1>Nothing here</h1>\n").unwrap();
    let mut s = Server::start_raw(
        dir.path(),
        &["--threads", "1", "--404", page.to_str().unwrap()],
    );
    let rx = stderr_lines(s.stderr());
    let mut seen = Vec::new();
    assert_eq!(s.get("/nope").body, b"<h1>Nothing here</h1>\n");
    let line = wait_for_line(
        &rx,
        &mut seen,
        &["\"GET /nope HTTP/1.1\" 404 "],
        Duration::from_secs(3),
    )
    .unwrap_or_else(|| panic!("no log line for /nope: {seen:?}"));
    assert!(line.contains("\"GET /nope HTTP/1.1\" 404 22 "), "{line}");
}

/// Was: a worker with no connection left slept in epoll_wait without a
/// timeout and never swept its file cache, so a served-then-deleted file
/// stayed open on an idle server / now: the worker wakes while its cache
/// is not empty and closes entries unused for 2 s.
#[test]
fn an_idle_worker_closes_a_deleted_file_it_cached() {
    let content = pattern(64 * 1024, 7);
    let dir = site(&[("big.bin", &content)]);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    assert_ok(&fetch(s.addr, "/big.bin"), &content);
    fs::remove_file(dir.path().join("big.bin")).unwrap();
    // No traffic at all from now on.
    let closed = wait_until(Duration::from_secs(5), || {
        deleted_files_held(s.pid()).is_empty()
    });
    assert!(
        closed,
        "5 s after its only request, on an idle server, a deleted file is still open: {:?}",
        deleted_files_held(s.pid())
    );
}

// ------------------------------------------------------- hardening II

/// Was: pipelined `HEAD`s for a 10,000-entry folder were each answered by
/// reading, statting, sorting and rendering the folder on the worker, so a
/// few KiB of them froze the worker for minutes (a small file waited over
/// 60 s; SIGTERM took 123 s) / now: a listing is read on the job thread,
/// cached per folder version, and a connection is answered at most 32
/// requests per wake-up before the others get their turn.
#[test]
fn pipelined_listing_heads_cannot_freeze_a_worker() {
    let _serial = serial();
    let dir = site(&[("small.txt", SMALL)]);
    let big = dir.path().join("dir");
    fs::create_dir(&big).unwrap();
    for i in 0..10_000 {
        fs::write(big.join(format!("entry-{i:05}.txt")), b"").unwrap();
    }
    let mut s = Server::start(dir.path(), &["--threads", "2", "--shutdown-timeout", "2s"]);
    assert_ok(&s.get("/small.txt"), SMALL);
    // Two flooding connections (the least-loaded worker takes each: one per
    // worker), each 64 KiB of pipelined HEADs, drained by a reader so the
    // flood keeps going.
    let head = b"HEAD /dir/ HTTP/1.1\r\nHost: t\r\n\r\n";
    let flood: Vec<u8> = head.repeat(64 * 1024 / head.len());
    let mut readers = Vec::new();
    for _ in 0..2 {
        let mut c = connect(s.addr);
        let mut r = c.try_clone().unwrap();
        let batch = flood.clone();
        std::thread::spawn(move || {
            let _ = c.write_all(&batch);
        });
        readers.push(std::thread::spawn(move || {
            let mut sink = vec![0u8; 64 * 1024];
            let mut total = 0usize;
            r.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            while let Ok(n) = r.read(&mut sink) {
                if n == 0 {
                    break;
                }
                total += n;
            }
            total
        }));
    }
    std::thread::sleep(Duration::from_millis(50));
    let t = Instant::now();
    let r = try_get(s.addr, "/small.txt", Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("a small file during the flood: {e}"));
    let took = t.elapsed();
    assert_ok(&r, SMALL);
    let _ = writeln!(
        std::io::stderr(),
        "pipelined_listing_heads_cannot_freeze_a_worker: small file served in {took:?} during the flood"
    );
    assert!(took < Duration::from_secs(2), "small file took {took:?}");
    // Shutdown is honoured whatever the load.
    let t = Instant::now();
    let status = s
        .signal_and_wait(rustix::process::Signal::TERM, Duration::from_secs(4))
        .expect("exited within 4 s of SIGTERM (--shutdown-timeout 2s)");
    assert!(status.success(), "{status:?}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    for r in readers {
        let _ = r.join();
    }
}

/// Was: entries skipped by a listing (dotfiles, special files, links out of
/// the root) did not count toward its cap, so 100,000 outside symlinks cost
/// 0.8 s per request for an empty listing / now: `--max-listing-read`
/// counts every directory entry read, and a listing cut there says so.
#[test]
fn a_listing_reads_at_most_max_listing_read_entries_skipped_ones_included() {
    let dir = site(&[("sub/visible.txt", b"v")]);
    for i in 0..50 {
        fs::write(dir.path().join(format!("sub/.hidden-{i}")), b"h").unwrap();
    }
    let s = Server::start(dir.path(), &["--max-listing-read", "20"]);
    let r = s.get("/sub/?format=json");
    assert_eq!(r.status_line, OK);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["truncated"], true, "{}", r.text());
    let html = s.get("/sub/").text();
    assert!(
        html.contains("only the first 20 entries of the folder were read (--max-listing-read)"),
        "{html}"
    );
    // Without the cap the whole folder is read.
    let s = Server::start(dir.path(), &[]);
    let r = s.get("/sub/?format=json");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["truncated"], false);
    assert_eq!(v["entries"].as_array().unwrap().len(), 1);
}

/// Was: the open-file cache was keyed by the raw path, so `/app.js`,
/// `//app.js`, `/./app.js` and `/%61pp.js` each held the file and its
/// sidecars open, and a client cycling aliases pinned thousands of
/// descriptors until others got 503 / now: entries are keyed by the
/// resolved path and all caches share a descriptor budget.
#[test]
fn aliases_of_one_file_share_one_cached_descriptor() {
    let _serial = serial();
    let dir = site(&[("app.js", b"x".repeat(100).as_slice())]);
    fs::write(dir.path().join("app.js.gz"), b"gz").unwrap();
    fs::write(dir.path().join("app.js.br"), b"br").unwrap();
    let cmd = command_with_fd_limit(64, dir.path(), &["--quiet", "--threads", "1"]);
    let s = Server::spawn(cmd, dir.path());
    let mut held = Conn::new(connect(s.addr));
    held.send(&get_req("/app.js"));
    assert_eq!(held.read_response(false).status_line, OK);
    // 1,400 aliases on one keep-alive connection.
    let mut c = Conn::new(connect(s.addr));
    for i in 0..1_400 {
        let alias = match i % 4 {
            0 => format!("{}app.js", "/".repeat(1 + i % 50)),
            1 => format!("/{}app.js", "./".repeat(1 + i % 50)),
            2 => format!("/%61pp.js?{i}"),
            _ => format!("/{}%61pp.js", "//".repeat(i % 30)),
        };
        c.send(&get_req(&alias));
        assert_eq!(c.read_response(false).status_line, OK, "alias {alias}");
    }
    let open: Vec<String> = fd_targets(s.pid())
        .into_iter()
        .filter(|t| t.contains("app.js"))
        .collect();
    assert_eq!(
        open.len(),
        3,
        "one descriptor each for app.js, .gz, .br: {open:?}"
    );
    // The connection held from before and new ones are served.
    held.send(&get_req("/app.js"));
    assert_eq!(held.read_response(false).status_line, OK);
    for _ in 0..20 {
        assert_eq!(s.get("/app.js").status_line, OK);
    }
}

/// Starts ferry under `ulimit -n 64`, not quiet, and fills its stderr pipe
/// (nobody reads it) with access-log lines.
fn server_with_full_stderr(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--threads", "1", "--shutdown-timeout", "2s"];
    args.extend_from_slice(extra);
    let s = Server::spawn(command_with_fd_limit(64, dir, &args), dir);
    let query = "q".repeat(4000);
    let mut c = Conn::new(connect(s.addr));
    for _ in 0..40 {
        c.send(format!("GET /small.txt?{query} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        assert_ok(&c.read_response(false), SMALL);
    }
    s
}

/// Was: running out of descriptors made the accept loop `eprintln!` its
/// notice: with a stderr nobody reads, the accept thread blocked forever
/// (no client accepted again, SIGTERM ignored) / now: every diagnostic goes
/// through the log writer thread, and shutdown waits for it only briefly.
#[test]
fn a_blocked_stderr_never_stops_accepting_or_shutdown() {
    let _serial = serial();
    let dir = site(&[("small.txt", SMALL)]);
    let mut s = server_with_full_stderr(dir.path(), &[]);
    let _stderr = s.stderr(); // held, never read
    // Descriptors run out: the notice has nowhere to go.
    let crowd: Vec<TcpStream> = (0..80).map(|_| connect(s.addr)).collect();
    std::thread::sleep(Duration::from_millis(300));
    drop(crowd);
    let r = try_get(s.addr, "/small.txt", Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("a new client after the shortage: {e}"));
    assert_ok(&r, SMALL);
    let t = Instant::now();
    let status = s
        .signal_and_wait(rustix::process::Signal::TERM, Duration::from_secs(4))
        .expect("exited within 4 s of SIGTERM with a blocked stderr");
    assert_eq!(status.code(), Some(0));
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

/// Was: with stderr's reader gone (`ferry DIR 2>&1 | head -1`), the first
/// `eprintln!` (out of descriptors, a contained panic) panicked and the
/// process exited with status 101 / now: a broken stderr is survived.
#[test]
fn a_closed_stderr_does_not_crash_the_server() {
    if !has_panic_aid("regressions::a_closed_stderr_does_not_crash_the_server") {
        return;
    }
    let _serial = serial();
    let dir = site(&[("small.txt", SMALL)]);
    let mut s = Server::spawn(
        command_with_fd_limit(
            64,
            dir.path(),
            &["--threads", "1", "--debug-panic-path", "/boom"],
        ),
        dir.path(),
    );
    drop(s.stderr()); // the reader is gone: writes fail with EPIPE
    assert_eq!(s.get("/boom").status(), 500);
    let crowd: Vec<TcpStream> = (0..80).map(|_| connect(s.addr)).collect();
    std::thread::sleep(Duration::from_millis(300));
    drop(crowd);
    let r = try_get(s.addr, "/small.txt", Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("a new client after the shortage: {e}"));
    assert_ok(&r, SMALL);
    assert!(s.alive(), "the server died with its stderr");
    let status = s
        .signal_and_wait(rustix::process::Signal::TERM, Duration::from_secs(5))
        .expect("exit");
    assert_eq!(status.code(), Some(0));
}

/// Was: a path with a symlink was resolved by `realpath`, checked to be in
/// the root, then opened by its absolute path: swapping a directory for a
/// symlink to outside in between (`renameat2(RENAME_EXCHANGE)` in a loop)
/// served 58,571 of 168,093 responses from outside the root in 5 s / now:
/// the links are resolved one at a time and the result is opened with
/// `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`.
#[test]
fn a_directory_swapped_for_an_outside_symlink_never_serves_outside_bytes() {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    let site = Site::new();
    site.file("d/f.txt", b"inside");
    fs::create_dir_all(site.outside().join("o")).unwrap();
    fs::write(site.outside().join("o/f.txt"), SECRET).unwrap();
    site.symlink(site.outside().join("o"), "swap");
    site.symlink(".", "via"); // a link on the way: the slow path
    let s = Server::start(site.path(), &["--threads", "2"]);
    let (d, swap) = (site.path().join("d"), site.path().join("swap"));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if renameat_with(CWD, &d, CWD, &swap, RenameFlags::EXCHANGE).is_ok() {
                    swaps += 1;
                }
            }
            swaps
        })
    };
    let until = Instant::now() + Duration::from_secs(10);
    let (mut served, mut inside) = (0u64, 0u64);
    let mut c = Conn::new(connect(s.addr));
    while Instant::now() < until {
        c.send(&get_req("/via/d/f.txt"));
        let r = c.read_response(false);
        served += 1;
        assert!(
            !r.body.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "response {served} came from outside the root"
        );
        if r.status() == 200 {
            assert_eq!(r.body, b"inside");
            inside += 1;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    let _ = writeln!(
        std::io::stderr(),
        "symlink race: {served} responses ({inside} served inside, 0 outside), {swaps} swaps in 10 s"
    );
    assert!(
        swaps > 1000 && inside > 0,
        "the race did not run: {swaps} swaps, {inside} served"
    );
}

/// Was: a request body only had to make some progress every
/// `--body-timeout`, so a byte every 29 s held a connection slot for good /
/// now: it must also average `--min-body-rate` (default 1024 bytes/s) over
/// each window, else 408, close, and the slot is free again.
#[test]
fn a_body_slower_than_the_minimum_rate_is_dropped_and_its_slot_freed() {
    let _serial = serial();
    let dir = site(&[("small.txt", SMALL)]);
    let s = Server::start(
        dir.path(),
        &["--body-timeout", "2s", "--max-connections", "1"],
    );
    let mut c = connect(s.addr);
    c.write_all(b"POST /small.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nx")
        .unwrap();
    let t = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    c.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    for _ in 0..10 {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {
                let _ = c.write_all(b"x"); // a byte every 1.5 s
            }
        }
    }
    let took = t.elapsed();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with(&format!("{TIMEOUT}\r\n")), "{text}");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_millis(3500),
        "408 after {took:?}; expected at the end of the 2 s window"
    );
    // The one slot is free again.
    assert_ok(&s.get("/small.txt"), SMALL);
}

/// Was: a response only had to make some progress every `--write-timeout`,
/// so a reader taking a little at a time held its slot for as long as the
/// file lasted / now: it must average `--min-send-rate` over each window,
/// else it is closed and its slot is free. (Kernel buffers make a rate far
/// below a socket buffer a matter of the no-progress timeout; the rate here
/// is raised so the reader is steady, yet too slow.)
#[test]
fn a_reader_slower_than_the_minimum_send_rate_is_dropped_and_its_slot_freed() {
    let _serial = serial();
    let big = pattern(16 << 20, 3);
    let dir = site(&[("big.bin", &big), ("small.txt", SMALL)]);
    let s = Server::start(
        dir.path(),
        &[
            "--write-timeout",
            "1s",
            "--min-send-rate",
            "20000000",
            "--max-connections",
            "1",
        ],
    );
    let mut c = connect(s.addr);
    c.write_all(&get_req("/big.bin")).unwrap();
    // Read ~1.3 MB/s in the background, to the end.
    let reader = std::thread::spawn(move || {
        let mut total = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        for _ in 0..2_000 {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        total
    });
    // The slot comes free while the slow reader still drains its buffers.
    let freed = wait_until(Duration::from_secs(5), || {
        try_get(s.addr, "/small.txt", Duration::from_secs(1)).is_ok_and(|r| r.status() == 200)
    });
    assert!(freed, "the slow reader kept the only connection slot");
    let total = reader.join().unwrap();
    assert!(total < big.len(), "the slow reader got the whole file");
}

/// Was: a HEAD refused while its head was parsed (no Host, Content-Length
/// with Transfer-Encoding, `#` in the target, 414, 505, 501) got the
/// error page as content, which breaks the next response of a pipelining
/// client / now: a response to HEAD ends at the blank line, always.
#[test]
fn a_head_rejected_while_parsing_ends_at_the_blank_line_rfc9110_9_3_2() {
    let dir = site(&[("a.txt", b"hello")]);
    let s = Server::start(dir.path(), &["--max-target", "64"]);
    let long = format!("HEAD /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(100));
    let cases: &[(&str, &[u8], &str)] = &[
        ("no Host", b"HEAD /a.txt HTTP/1.1\r\n\r\n", BAD_REQUEST),
        (
            "Content-Length with Transfer-Encoding",
            b"HEAD /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            BAD_REQUEST,
        ),
        ("# in the target", b"HEAD /a.txt#x HTTP/1.1\r\nHost: t\r\n\r\n", BAD_REQUEST),
        ("asterisk target", b"HEAD * HTTP/1.1\r\nHost: t\r\n\r\n", BAD_REQUEST),
        (
            "bad Content-Length",
            b"HEAD /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
            BAD_REQUEST,
        ),
        ("414", long.as_bytes(), URI_TOO_LONG),
        ("505", b"HEAD /a.txt HTTP/2.0\r\nHost: t\r\n\r\n", BAD_VERSION),
        (
            "501",
            b"HEAD /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            NOT_IMPLEMENTED,
        ),
    ];
    table(
        cases,
        |c| c.0.to_string(),
        |&(_, raw, status)| {
            let raw = s.exchange(raw);
            let end = head_end(&raw).expect("a response head");
            let head = String::from_utf8_lossy(&raw[..end]);
            assert!(head.starts_with(&format!("{status}\r\n")), "{head}");
            assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
            assert_eq!(
                String::from_utf8_lossy(&raw[end..]),
                "",
                "content after the head"
            );
        },
    );
}

/// Was: the 304 for a folder listing (`If-None-Match: *`) omitted the
/// `Vary: Accept` its 200 carries (RFC 9110 §15.4.5) / now: it has it,
/// with `Accept-Encoding` when listings are compressed.
#[test]
fn a_304_for_a_listing_carries_vary_accept_rfc9110_15_4_5() {
    let dir = site(&[("sub/a.txt", b"a")]);
    for (flags, vary) in [
        (&[][..], "Accept, Accept-Encoding"),
        (&["--no-compress"][..], "Accept"),
    ] {
        let s = Server::start(dir.path(), flags);
        assert_eq!(s.get("/sub/").header("Vary"), Some(vary));
        let r = s.ask("GET", "/sub/", &[("If-None-Match", "*")]);
        assert_eq!(r.status_line, NOT_MODIFIED);
        assert_eq!(r.header("Vary"), Some(vary));
    }
}

/// Was: chunked framing accepted a size line `3 zzz`, unbalanced quotes and
/// non-ASCII bytes in extensions, trailer lines that are not fields, and
/// `Transfer-Encoding: chunked;foo=bar` / now: RFC 9112 §7.1 exactly; each
/// is a 400 and a close.
#[test]
fn chunked_framing_follows_the_grammar_exactly_rfc9112_7_1() {
    let dir = site(&[("a.txt", b"hello")]);
    let s = Server::start(dir.path(), &[]);
    let chunked = |te: &str, body: &[u8]| {
        let mut r = format!("POST /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: {te}\r\n\r\n")
            .into_bytes();
        r.extend_from_slice(body);
        r.extend_from_slice(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        r
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "size line with junk",
            chunked("chunked", b"3 zzz\r\nabc\r\n0\r\n\r\n"),
        ),
        (
            "unbalanced quote",
            chunked("chunked", b"3;a=\"x\r\nabc\r\n0\r\n\r\n"),
        ),
        (
            "non-ASCII extension",
            chunked("chunked", "3;a=\"é\"\r\nabc\r\n0\r\n\r\n".as_bytes()),
        ),
        (
            "extension without a name",
            chunked("chunked", b"3;=v\r\nabc\r\n0\r\n\r\n"),
        ),
        (
            "request line as a trailer",
            chunked("chunked", b"0\r\nGET /x HTTP/1.1\r\n\r\n"),
        ),
        (
            "space before a trailer's colon",
            chunked("chunked", b"0\r\nX : y\r\n\r\n"),
        ),
        (
            "folded trailer",
            chunked("chunked", b"0\r\nX: y\r\n folded\r\n\r\n"),
        ),
        (
            "chunked with a parameter",
            chunked("chunked;foo=bar", b"0\r\n\r\n"),
        ),
    ];
    table(
        &cases,
        |c| c.0.to_string(),
        |(_, raw)| {
            let rs = parse_all(&s.exchange(raw), &[false]);
            assert_eq!(rs.len(), 1, "the pipelined GET after it must not run");
            assert_eq!(rs[0].status_line, BAD_REQUEST);
            assert_eq!(rs[0].header("Connection"), Some("close"));
        },
    );
    // The grammar's full range is accepted.
    let mut good = chunked(
        "chunked",
        b"3 ; e = v ;f;q=\"a \\\" b\"\r\nabc\r\n0\r\nX-T: v\r\n\r\n",
    );
    good.truncate(good.len() - 2);
    good.extend_from_slice(b"Connection: close\r\n\r\n");
    let rs = parse_all(&s.exchange(&good), &[false, false]);
    assert_eq!(rs.len(), 2, "{rs:?}");
    assert_eq!(rs[0].status_line, NOT_ALLOWED);
    assert_ok(&rs[1], b"hello");
}

/// Was: only the first 8 lines of `If-Match`, `If-None-Match`,
/// `Accept-Encoding` and `Accept` were read, so a list split over 9 lines
/// gave 412 instead of 200 (If-Match) and 200 instead of 304
/// (If-None-Match) / now: every line counts (up to --max-headers).
#[test]
fn a_list_field_split_over_nine_lines_means_the_same_as_on_one() {
    let dir = site(&[("a.txt", b"hello")]);
    let s = Server::start(dir.path(), &[]);
    let tag = s.get("/a.txt").header("ETag").unwrap().to_owned();
    let lines = |name: &str| {
        let mut f: Vec<(String, String)> = (0..8)
            .map(|i| (name.to_owned(), format!("\"other-{i}\"")))
            .collect();
        f.push((name.to_owned(), tag.clone()));
        f
    };
    let ask = |fields: &[(String, String)]| {
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        s.ask("GET", "/a.txt", &refs)
    };
    assert_ok(&ask(&lines("If-Match")), b"hello");
    assert_eq!(ask(&lines("If-None-Match")).status_line, NOT_MODIFIED);
}

/// Was: SIGHUP (the terminal closed) killed the server at once, cutting
/// in-flight downloads / now: it drains like SIGTERM and exits 0.
#[test]
fn sighup_drains_in_flight_downloads_and_exits_zero() {
    let _serial = serial();
    let big = pattern(32 << 20, 9);
    let dir = site(&[("big.bin", &big)]);
    let mut s = Server::start(dir.path(), &["--shutdown-timeout", "10s"]);
    let mut c = connect_small_rcvbuf(s.addr, 64 * 1024);
    c.write_all(&get_req("/big.bin")).unwrap();
    let mut first = [0u8; 4096];
    c.read_exact(&mut first).unwrap(); // the download is under way
    s.signal(rustix::process::Signal::HUP);
    let mut rest = Vec::new();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = c.read_to_end(&mut rest);
    let mut all = first.to_vec();
    all.extend_from_slice(&rest);
    let end = head_end(&all).expect("head");
    assert_eq!(&all[end..], &big[..], "the download was cut");
    let status = s
        .wait_exit(Duration::from_secs(5))
        .expect("exit after the drain");
    assert_eq!(status.code(), Some(0));
}

/// Was: a script the page loaded compressed on the fly was recorded as the
/// page's dependency under its name without the extension (`big` for
/// `big.js`, as for a sidecar), so saving it did not reload the page /
/// now: a form made on the fly is recorded as its source.
#[test]
fn a_script_served_compressed_on_the_fly_still_reloads_its_page() {
    let script: Vec<u8> = (0..400)
        .flat_map(|i| format!("console.log('line {i} of a script');\n").into_bytes())
        .collect();
    let dir = site(&[
        (
            "index.html",
            b"<html><body><script src=big.js></script></body></html>",
        ),
        ("big.js", &script),
    ]);
    let s = Server::start(dir.path(), &["--watch"]);
    // Never sent uncompressed: identity excluded, so the first response is
    // a form made at once.
    let ae = ("Accept-Encoding", "identity;q=0, gzip, br");
    let page = format!("http://{}/", s.addr);
    let mut c = connect(s.addr);
    assert_eq!(ask_on(&mut c, "GET", "/", &[]).status(), 200);
    let r = ask_on(&mut c, "GET", "/big.js", &[ae, ("Referer", &page)]);
    assert!(r.header("Content-Encoding").is_some());
    let mut st = connect(s.addr);
    st.write_all(b"GET /.ferry/live?page=%2F HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    st.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // The stream's head and first bytes.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(&got).contains("retry: 500") && Instant::now() < deadline {
        if let Ok(n) = st.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    let tmp = dir.path().join("big.js.tmp~");
    std::fs::write(&tmp, b"console.log('new');\n").unwrap();
    std::fs::rename(&tmp, dir.path().join("big.js")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while !String::from_utf8_lossy(&got).contains("event: reload") && Instant::now() < deadline {
        if let Ok(n) = st.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert!(
        String::from_utf8_lossy(&got).contains("event: reload\ndata:"),
        "{}",
        String::from_utf8_lossy(&got)
    );
}

/// Was: a response staged for a request pipelined before a listing that
/// was not cached yet stayed in the worker's staging buffer while the
/// listing was made, and went out on the next connection the worker
/// served (another client got `a.txt`'s response before its own) / now:
/// it is sent on its own connection before the connection waits.
#[test]
fn a_response_pipelined_before_a_listing_goes_to_its_own_client() {
    let dir = site(&[("a.txt", b"AAAA\n"), ("b.txt", b"BBBB\n")]);
    let folder = dir.path().join("dir");
    fs::create_dir(&folder).unwrap();
    for i in 0..5000 {
        fs::write(folder.join(format!("e{i:04}")), b"").unwrap();
    }
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let mut a = s.conn();
    a.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /dir/ HTTP/1.1\r\nHost: t\r\n\r\n");
    // While the listing is made, another client on the same worker.
    let mut b = connect(s.addr);
    b.write_all(b"GET /b.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let raw = read_to_close(&mut b);
    let answers = parse_all(&raw, &[false]);
    assert_eq!(answers.len(), 1, "{}", String::from_utf8_lossy(&raw));
    assert_ok(&answers[0], b"BBBB\n");
    assert_ok(&a.read_response(false), b"AAAA\n");
    let listing = a.read_response(false);
    assert_eq!(listing.status_line, OK);
    assert!(listing.text().contains("e4999"), "{}", listing.text());
}
