//! Precompressed sidecars (`.br`, `.gz`) chosen by Accept-Encoding (RFC
//! 9110 §12.5.3, §8.4): q-values, wildcards, Vary, one ETag per
//! representation, ranges and conditionals on the encoded bytes, and
//! sidecars that must not be used.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::caching::{T0, T0_IMF, assert_304, assert_412, etag, until_served};
use crate::support::*;

const JS: &[u8] = b"console.log('plain javascript, not encoded at all');\n";
const GZ: &[u8] = b"\x1f\x8bFAKE-GZIP-SIDECAR-BYTES-0123456789";
const BR: &[u8] = b"FAKE-BROTLI-SIDECAR-0123456789";
const JS_CT: &str = "text/javascript; charset=utf-8";

/// `app.js` with `.gz` and/or `.br` sidecars (arbitrary bytes), all at T0.
fn sidecar_site(gz: bool, br: bool) -> Site {
    let mut files: Vec<(&str, &[u8])> = vec![("app.js", JS)];
    if gz {
        files.push(("app.js.gz", GZ));
    }
    if br {
        files.push(("app.js.br", BR));
    }
    let dir = site(&files);
    for (name, _) in &files {
        set_mtime(&dir.path().join(name), at(T0, 0));
    }
    dir
}

/// The representation a response carries: its coding and bytes, or 406.
fn assert_coding(r: &Response, coding: Option<&str>) {
    if coding == Some("406") {
        assert_eq!(
            r.status_line, "HTTP/1.1 406 Not Acceptable",
            "{:?}",
            r.headers
        );
        assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
        return;
    }
    let body = match coding {
        None => JS,
        Some("gzip") => GZ,
        Some("br") => BR,
        Some(other) => panic!("no sidecar for {other}"),
    };
    assert_ok(r, body);
    assert_eq!(r.header("Content-Encoding"), coding, "{:?}", r.headers);
    assert_eq!(r.header("Content-Type"), Some(JS_CT));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
}

/// RFC 9110 §12.5.3: the most preferred acceptable coding among the
/// sidecars that exist (the smaller when equal: here br), identity when
/// nothing else is acceptable or it is preferred, 406 when identity is
/// excluded too; explicit q=0 beats `*`; x-gzip is gzip; repeated lines
/// form one list; names and `q` any case.
#[test]
fn accept_encoding_picks_one_representation_rfc9110_12_5_3() {
    let both = sidecar_site(true, true);
    let gz_only = sidecar_site(true, false);
    // Sidecars alone: forms made on the fly are `compression`'s.
    let s_both = Server::start(both.path(), &["--no-compress"]);
    let s_gz = Server::start(gz_only.path(), &["--no-compress"]);
    #[rustfmt::skip]
    let cases: &[(&str, &[&str], Option<&str>)] = &[
        ("both", &["gzip, br"], Some("br")),
        ("both", &["br, gzip"], Some("br")),
        ("both", &["gzip;q=0.5, br;q=0.5"], Some("br")),
        ("both", &["*"], Some("br")),
        ("both", &["gzip, deflate, br, zstd"], Some("br")),
        ("both", &["gzip"], Some("gzip")),
        ("both", &["br;q=0.5, gzip"], Some("gzip")),
        ("both", &["br;q=0.5, gzip;q=0.9"], Some("gzip")),
        ("both", &["gzip;q=1.000, br;q=0.999"], Some("gzip")),
        ("both", &["br;q=0, gzip;q=0.1"], Some("gzip")),
        ("both", &["br;q=0, *"], Some("gzip")),
        ("both", &["*;q=0, gzip"], Some("gzip")),
        ("both", &["GZIP"], Some("gzip")),
        ("both", &["gzip ; q=0.9, br ; q=0.2"], Some("gzip")),
        ("both", &["identity;q=0, gzip"], Some("gzip")),
        ("both", &["br"], Some("br")),
        ("both", &["BR;Q=1"], Some("br")),
        ("both", &["gzip;q=0.8, br;q=0.9"], Some("br")),
        ("both", &["*;q=0.1, br;q=0.2"], Some("br")),
        ("both", &["gzip;q=0.5, *"], Some("br")),
        ("both", &["*, br;q=0.2"], Some("gzip")),
        ("both", &[], None),
        ("both", &[""], None),
        ("both", &["identity"], None),
        ("both", &["deflate"], None),
        ("both", &["zstd"], None),
        ("both", &["gzip;q=0, br;q=0"], None),
        ("both", &["gzip;q=0.000, br;q=0.0"], None),
        ("both", &["*;q=0, identity"], None),
        ("both", &["identity;q=0, zstd"], Some("406")),
        ("both", &["*;q=0"], Some("406")),
        ("both", &["identity;q=1, gzip;q=0.5, br;q=0.4"], None),
        ("both", &["identity", "gzip"], Some("gzip")),
        ("both", &["gzip;q=0", "br"], Some("br")),
        ("both", &["br;q=0", "gzip;q=0"], None),
        ("gzip only", &["gzip;q=0"], None),
        ("gzip only", &["br"], None),
        ("gzip only", &["*;q=0, br"], Some("406")),
        ("gzip only", &["identity;q=0, br"], Some("406")),
        ("gzip only", &["identity;q=0, br, gzip;q=0.1"], Some("gzip")),
        ("gzip only", &["br, gzip;q=0.1"], Some("gzip")),
        ("gzip only", &["*"], Some("gzip")),
        ("gzip only", &["x-gzip"], Some("gzip")),
        ("gzip only", &["gzip;Q=0"], None),
        ("gzip only", &["gzip; q=0."], None),
        ("gzip only", &["gzip;q=0.001"], Some("gzip")),
        ("gzip only", &["gzip;q=1"], Some("gzip")),
        ("gzip only", &["gzip;q=0, *"], None),
        ("gzip only", &["*;q=0.5, gzip;q=0"], None),
    ];
    table(
        cases,
        |c| format!("{}: {:?}", c.0, c.1),
        |&(which, lines, coding)| {
            let s = if which == "both" { &s_both } else { &s_gz };
            let fields: Vec<(&str, &str)> = lines.iter().map(|l| ("Accept-Encoding", *l)).collect();
            assert_coding(&s.ask("GET", "/app.js", &fields), coding);
        },
    );
}

#[test]
fn each_representation_has_its_own_stable_etag() {
    let dir = sidecar_site(true, true);
    let s = Server::start(dir.path(), &[]);
    let plain = etag(&s.ask("GET", "/app.js", &[]));
    let gz = etag(&s.ask("GET", "/app.js", &[("Accept-Encoding", "gzip")]));
    let br = etag(&s.ask("GET", "/app.js", &[("Accept-Encoding", "br")]));
    assert_ne!(plain, gz);
    assert_ne!(plain, br);
    assert_ne!(gz, br);
    assert_eq!(
        etag(&s.ask("GET", "/app.js", &[("Accept-Encoding", "gzip")])),
        gz
    );
    let h = s.ask("HEAD", "/app.js", &[("Accept-Encoding", "br")]);
    assert_eq!(h.header("ETag"), Some(br.as_str()));
    assert_eq!(h.header("Content-Encoding"), Some("br"));
    assert_eq!(
        h.header("Content-Length"),
        Some(BR.len().to_string().as_str())
    );
    assert_eq!(h.header("Vary"), Some("Accept-Encoding"));
}

#[test]
fn conditional_requests_use_the_etag_of_the_negotiated_representation() {
    let dir = sidecar_site(true, false);
    let s = Server::start(dir.path(), &["--cache-control", "max-age=9"]);
    let plain = etag(&s.ask("GET", "/app.js", &[]));
    let gz = etag(&s.ask("GET", "/app.js", &[("Accept-Encoding", "gzip")]));
    let r = s.ask(
        "GET",
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", &gz)],
    );
    assert_304(&r, &gz, T0_IMF);
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    // A 304 by date names the negotiated representation too.
    let r = s.ask(
        "GET",
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-Modified-Since", T0_IMF)],
    );
    assert_304(&r, &gz, T0_IMF);
    assert_eq!(r.header("Cache-Control"), Some("max-age=9"));
    // The gzip tag does not revalidate the plain file, nor the reverse.
    let r = s.ask("GET", "/app.js", &[("If-None-Match", &gz)]);
    assert_coding(&r, None);
    assert_eq!(r.header("ETag"), Some(plain.as_str()));
    let r = s.ask(
        "GET",
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", &plain)],
    );
    assert_coding(&r, Some("gzip"));
    let r = s.ask("GET", "/app.js", &[("If-None-Match", &plain)]);
    assert_304(&r, &plain, T0_IMF);
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    // If-Match compares strongly with the selected representation.
    assert_412(&s.ask(
        "GET",
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-Match", &plain)],
    ));
    let r = s.ask(
        "GET",
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-Match", &gz)],
    );
    assert_coding(&r, Some("gzip"));
    // If-Range too.
    let r = s.ask(
        "GET",
        "/app.js",
        &[
            ("Accept-Encoding", "gzip"),
            ("Range", "bytes=0-3"),
            ("If-Range", &plain),
        ],
    );
    assert_coding(&r, Some("gzip"));
    let r = s.ask(
        "GET",
        "/app.js",
        &[
            ("Accept-Encoding", "gzip"),
            ("Range", "bytes=0-3"),
            ("If-Range", &gz),
        ],
    );
    assert_eq!(r.status_line, PARTIAL);
    assert_eq!(r.body, &GZ[..4]);
}

/// A single range applies to the encoded bytes; several ranges of an
/// encoded representation get all of it (a multipart body with
/// Content-Encoding would be misread as compressed).
#[test]
fn ranges_apply_to_the_encoded_bytes() {
    let dir = sidecar_site(true, true);
    let s = Server::start(dir.path(), &[]);
    let gz_tag = etag(&s.ask("GET", "/app.js", &[("Accept-Encoding", "gzip")]));
    let r = s.ask(
        "GET",
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("Range", "bytes=2-5")],
    );
    assert_eq!(r.status_line, PARTIAL);
    assert_eq!(r.body, &GZ[2..=5]);
    assert_eq!(
        r.header("Content-Range"),
        Some(format!("bytes 2-5/{}", GZ.len()).as_str())
    );
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert_eq!(r.header("Content-Type"), Some(JS_CT));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(r.header("ETag"), Some(gz_tag.as_str()));
    let r = s.ask(
        "GET",
        "/app.js",
        &[("Accept-Encoding", "br"), ("Range", "bytes=-4")],
    );
    assert_eq!(r.body, &BR[BR.len() - 4..]);
    assert_eq!(r.header("Content-Encoding"), Some("br"));
    let r = s.ask(
        "GET",
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("Range", "bytes=0-1,5-6")],
    );
    assert_coding(&r, Some("gzip"));
    // A plain 206 of a file with sidecars still varies.
    let r = s.ask("GET", "/app.js", &[("Range", "bytes=0-6")]);
    assert_eq!(r.body, &JS[..=6]);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    // Unsatisfiable against the encoded length (JS is longer than BR).
    let spec = format!("bytes={}-", BR.len());
    let r = s.ask(
        "GET",
        "/app.js",
        &[("Accept-Encoding", "br"), ("Range", &spec)],
    );
    assert_eq!(r.status_line, UNSATISFIABLE);
    assert_eq!(
        r.header("Content-Range"),
        Some(format!("bytes */{}", BR.len()).as_str())
    );
}

#[test]
fn head_sends_exactly_the_fields_get_sends_for_plain_encoded_304_and_412() {
    let dir = sidecar_site(true, true);
    let s = Server::start(dir.path(), &["--cache-control", "max-age=5"]);
    let plain = etag(&s.ask("GET", "/app.js", &[]));
    for h in [
        vec![],
        vec![("Accept-Encoding", "gzip")],
        vec![("Accept-Encoding", "br, gzip")],
        vec![("If-None-Match", plain.as_str())],
        vec![("If-Match", "\"no\"")],
    ] {
        let g = s.ask("GET", "/app.js", &h);
        let hd = s.ask("HEAD", "/app.js", &h);
        assert_eq!(g.status_line, hd.status_line, "{h:?}");
        assert_eq!(g.comparable_headers(), hd.comparable_headers(), "{h:?}");
    }
}

/// Sidecars that must not be used: without their original, requested by
/// their own name (served as themselves), leading outside the root, a
/// folder, a FIFO, or for a hidden file.
#[test]
fn sidecars_that_must_not_be_used_are_not() {
    // No original: the name is 404.
    let dir = site(&[("only.js.gz", GZ), ("only.js.br", BR)]);
    let s = Server::start(dir.path(), &[]);
    assert_eq!(
        s.ask("GET", "/only.js", &[("Accept-Encoding", "gzip, br")])
            .status_line,
        NOT_FOUND
    );
    // The sidecar's own URL: itself, without Content-Encoding.
    let dir = sidecar_site(true, false);
    let s = Server::start(dir.path(), &[]);
    let r = s.ask("GET", "/app.js.gz", &[("Accept-Encoding", "gzip")]);
    assert_ok(&r, GZ);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.header("Content-Type"), Some("application/gzip"));
    // A symlink leading outside the root, a folder: the plain file.
    let dir = site(&[
        ("app.js", JS),
        ("dir.js", JS),
        ("dir.js.gz/inner.txt", b"x"),
    ]);
    dir.symlink(dir.outside().join("secret.txt"), "app.js.gz");
    let s = Server::start(dir.path(), &[]);
    for path in ["/app.js", "/dir.js"] {
        let r = s.ask("GET", path, &[("Accept-Encoding", "gzip")]);
        assert_ok(&r, JS);
        assert_eq!(r.header("Content-Encoding"), None, "{path}");
        assert!(!r.text().contains(SECRET));
    }
    // A hidden file stays hidden, sidecar or not.
    let dir = site(&[(".secret.js", JS), (".secret.js.gz", GZ)]);
    let s = Server::start(dir.path(), &[]);
    assert_eq!(
        s.ask("GET", "/.secret.js", &[("Accept-Encoding", "gzip")])
            .status_line,
        NOT_FOUND
    );
}

#[test]
fn a_sidecar_that_is_a_fifo_neither_blocks_nor_is_served() {
    let dir = site(&[("app.js", JS)]);
    let made = Command::new("mkfifo")
        .arg(dir.path().join("app.js.gz"))
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        skip(
            "encoding::a_sidecar_that_is_a_fifo_neither_blocks_nor_is_served",
            "mkfifo is missing or failed",
        );
        return;
    }
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let t = Instant::now();
    let r = s.ask("GET", "/app.js", &[("Accept-Encoding", "gzip")]);
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_ok(&r, JS);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_ok(&s.ask("GET", "/app.js", &[]), JS);
}

#[test]
fn a_sidecar_added_or_removed_later_is_noticed() {
    let dir = site(&[("late.js", JS)]);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let gz = [("Accept-Encoding", "gzip")];
    let r = s.ask("GET", "/late.js", &gz);
    assert_ok(&r, JS);
    assert_eq!(r.header("Content-Encoding"), None);
    std::fs::write(dir.path().join("late.js.gz"), GZ).unwrap();
    let r = until_served(&s, "/late.js", &gz, GZ);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    std::fs::remove_file(dir.path().join("late.js.gz")).unwrap();
    let r = until_served(&s, "/late.js", &gz, JS);
    assert_eq!(r.header("Content-Encoding"), None);
}

/// A real gzip sidecar made by gzip(1): curl --compressed decodes it to the
/// original; raw, the bytes are the sidecar's.
#[test]
fn curl_compressed_decodes_a_real_gzip_sidecar_to_the_original() {
    let original: Vec<u8> = (0..2000)
        .flat_map(|i| format!("const line{i} = 'some repetitive javascript';\n").into_bytes())
        .collect();
    let dir = site(&[("bundle.js", &original)]);
    let zipped = Command::new("gzip")
        .args(["-k", "-n", "-9"])
        .arg(dir.path().join("bundle.js"))
        .status()
        .is_ok_and(|s| s.success());
    if !zipped {
        skip(
            "encoding::curl_compressed_decodes_a_real_gzip_sidecar_to_the_original",
            "gzip is missing or failed",
        );
        return;
    }
    let gz = std::fs::read(dir.path().join("bundle.js.gz")).unwrap();
    assert!(gz.len() < original.len() / 4);
    let s = Server::start(dir.path(), &[]);
    let out = tempfile::tempdir().unwrap();
    let (o, h) = (out.path().join("o.js"), out.path().join("h.txt"));
    let code = curl_ok(&[
        "-w",
        "%{http_code}",
        "--compressed",
        "-H",
        "Accept-Encoding: gzip",
        "-D",
        h.to_str().unwrap(),
        "-o",
        o.to_str().unwrap(),
        &s.url("/bundle.js"),
    ]);
    assert_eq!(code, b"200");
    assert!(
        std::fs::read(&o).unwrap() == original,
        "decoded bytes differ"
    );
    let heads = std::fs::read_to_string(&h).unwrap().to_ascii_lowercase();
    assert!(heads.contains("\r\ncontent-encoding: gzip\r\n"), "{heads}");
    assert!(
        heads.contains(&format!("\r\ncontent-length: {}\r\n", gz.len())),
        "{heads}"
    );
    assert!(heads.contains("\r\nvary: accept-encoding\r\n"), "{heads}");
    let r = s.ask("GET", "/bundle.js", &[("Accept-Encoding", "gzip")]);
    assert_ok(&r, &gz);
}

/// Accept-Encoding means the same over many lines, empty ones included
/// (RFC 9110 §5.3, §5.6.1): the coding on the 13th line is chosen, and a
/// `q=0` there refuses it like on one line.
#[test]
fn accept_encoding_over_many_lines_with_empty_ones_is_one_list() {
    let dir = sidecar_site(true, false);
    let s = Server::start(dir.path(), &[]);
    let ask = |last: &str| {
        let mut f: Vec<(&str, &str)> = ["", ",", "x-unknown;q=0.5"]
            .iter()
            .cycle()
            .take(12)
            .map(|v| ("Accept-Encoding", *v))
            .collect();
        f.push(("Accept-Encoding", last));
        s.ask("GET", "/app.js", &f)
    };
    assert_coding(&ask("gzip"), Some("gzip"));
    assert_coding(&ask("gzip;q=0"), None);
    assert_coding(&ask("*"), Some("gzip"));
}

/// An SVG of `len` bytes or so, gzip-coded as a `.svgz` file is.
fn svgz_bytes(len: usize) -> (Vec<u8>, Vec<u8>) {
    use std::io::Write;
    let mut svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\">\n".to_vec();
    let text = crate::compression::js_like(len, 21);
    for line in text.split(|&b| b == b'\n') {
        svg.extend_from_slice(b"<!-- ");
        svg.extend(line.iter().filter(|&&b| b != b'-'));
        svg.extend_from_slice(b" -->\n");
    }
    svg.extend_from_slice(b"</svg>\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&svg).unwrap();
    (svg, gz.finish().unwrap())
}

/// A `.svgz` is SVG whose bytes are gzip-coded by their format: sent as
/// they are with `Content-Type: image/svg+xml` and `Content-Encoding:
/// gzip`, whatever Accept-Encoding says (RFC 9110 §12.5.3: there is no
/// identity form to send instead), so without `Vary`; one ETag (the
/// file's); never compressed again, and a sidecar beside it is not used
/// (it would need two codings). curl --compressed decodes it to the SVG.
#[test]
fn an_svgz_is_sent_gzip_coded_as_it_is_whatever_accept_encoding_says() {
    let (svg, gz) = svgz_bytes(16 * 1024);
    assert!(gz.len() > 2048, "large enough to be compressed if it were");
    let dir = site(&[
        ("logo.svgz", &gz),
        ("logo.svgz.br", b"NOT-USED"),
        ("logo.svgz.gz", b"NOT-USED"),
        ("app.js", &crate::compression::js_like(8 * 1024, 22)),
    ]);
    let s = Server::start(dir.path(), &[]);
    let first = s.ask("GET", "/logo.svgz", &[]);
    let tag = etag(&first);
    let check = |r: &Response, what: &str| {
        assert_ok(r, &gz);
        assert_eq!(r.header("Content-Type"), Some("image/svg+xml"), "{what}");
        assert_eq!(r.header("Content-Encoding"), Some("gzip"), "{what}");
        assert_eq!(r.header("Vary"), None, "{what}");
        assert_eq!(r.header("ETag"), Some(tag.as_str()), "{what}");
        assert_eq!(r.header("Accept-Ranges"), Some("bytes"), "{what}");
    };
    let accepts = [
        None,
        Some("gzip"),
        Some("br"),
        Some("identity"),
        Some("gzip;q=0"),
        Some("identity;q=0, br"),
        Some("*"),
        Some("gzip, deflate, br, zstd"),
    ];
    // The compression threads work in the order asked: once app.js
    // (asked for later) is compressed, the svgz would have been too.
    for ae in accepts {
        let fields: Vec<(&str, &str)> = ae.map(|v| ("Accept-Encoding", v)).into_iter().collect();
        check(&s.ask("GET", "/logo.svgz", &fields), &format!("{ae:?}"));
    }
    crate::compression::warm(&s, "/app.js", "br");
    for ae in accepts {
        let fields: Vec<(&str, &str)> = ae.map(|v| ("Accept-Encoding", v)).into_iter().collect();
        let r = s.ask("GET", "/logo.svgz", &fields);
        check(&r, &format!("{ae:?}, later"));
        let h = s.ask("HEAD", "/logo.svgz", &fields);
        assert_eq!(
            h.comparable_headers(),
            r.comparable_headers(),
            "HEAD {ae:?}"
        );
    }
    assert!(crate::compression::decode("gzip", &first.body) == svg);
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("logo.svg");
    let code = curl_ok(&[
        "-w",
        "%{http_code}",
        "--compressed",
        "-o",
        o.to_str().unwrap(),
        &s.url("/logo.svgz"),
    ]);
    assert_eq!(code, b"200");
    assert!(std::fs::read(&o).unwrap() == svg, "curl decodes the SVG");
}

/// Ranges and preconditions of a `.svgz` apply to its gzip bytes, as for
/// a sidecar: one range is a 206 of those bytes (still `Content-Encoding:
/// gzip`), several get the whole file (a coded multipart body would be
/// misread), If-None-Match with its tag is a 304, If-Match with another
/// a 412.
#[test]
fn ranges_and_preconditions_of_an_svgz_apply_to_its_gzip_bytes() {
    let (_, gz) = svgz_bytes(4 * 1024);
    let dir = site(&[("logo.svgz", &gz)]);
    set_mtime(&dir.path().join("logo.svgz"), at(T0, 0));
    let s = Server::start(dir.path(), &[]);
    let tag = etag(&s.ask("GET", "/logo.svgz", &[]));
    let r = s.ask("GET", "/logo.svgz", &[("Range", "bytes=0-9")]);
    assert_eq!(r.status_line, "HTTP/1.1 206 Partial Content");
    assert_eq!(r.body, &gz[..10]);
    assert_eq!(
        r.header("Content-Range"),
        Some(format!("bytes 0-9/{}", gz.len()).as_str())
    );
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert_eq!(r.header("Content-Type"), Some("image/svg+xml"));
    assert_eq!(r.header("ETag"), Some(tag.as_str()));
    let r = s.ask("GET", "/logo.svgz", &[("Range", "bytes=0-9, 20-29")]);
    assert_ok(&r, &gz);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    let r = s.ask("GET", "/logo.svgz", &[("If-None-Match", &tag)]);
    assert_304(&r, &tag, T0_IMF);
    assert_eq!(r.header("Vary"), None);
    assert_412(&s.ask("GET", "/logo.svgz", &[("If-Match", "\"other\"")]));
}
