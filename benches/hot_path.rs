//! The hot stages besides parsing (`cargo bench --bench hot_path`), each
//! the real code: path decoding, a warm route through the open-file cache
//! (with conditional and range planning), encoding a file response head
//! with `h1::encode`, and a whole request turned into response bytes
//! without sockets (reader → site → head + body).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use ferry::conn::output::Output;
use ferry::fs::{Root, clean_path};
use ferry::h1::{self, DateCache, Event, FieldList, Head, Limits, RequestReader};
use ferry::http::{Persist, Status};
use ferry::site::jobs::Mailbox;
use ferry::site::{Site, SiteOptions, SiteShared};

fn bench(c: &mut Criterion) {
    c.bench_function("clean_path plain", |b| {
        b.iter(|| clean_path(black_box("/assets/js/app.3f9a1c.js"), false).unwrap())
    });
    c.bench_function("clean_path escaped", |b| {
        b.iter(|| {
            clean_path(
                black_box("/photos/caf%C3%A9%20terrace/IMG%200001.jpg"),
                false,
            )
            .unwrap()
        })
    });

    let dir = std::env::temp_dir().join(format!("ferry-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("assets/app.js"), vec![b'x'; 1024]).unwrap();
    let root = Root::open(&dir, false).unwrap();
    let shared = Arc::new(SiteShared::new(root, SiteOptions::default(), None).unwrap());
    let mut site = Site::new(shared, Mailbox::new(Box::new(|| {})));
    let raw: &[u8] =
        b"GET /assets/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip, br\r\n\r\n";
    let (req, _) = h1::parse::parse(raw, &Limits::default()).unwrap().unwrap();
    c.bench_function("route warm cache hit", |b| {
        b.iter(|| {
            // Within the revalidation second: a pure cache hit.
            black_box(site.respond(&req, Instant::now(), 0))
        })
    });

    let date = DateCache::default();
    let mut out = Vec::with_capacity(64 * 1024);
    c.bench_function("h1::encode 200 file head", |b| {
        b.iter(|| {
            out.clear();
            let mut fields = FieldList::default();
            fields
                .push(b"Last-Modified", b"Wed, 25 Nov 2026 15:44:01 GMT")
                .push(b"ETag", b"\"98c1d2-400-18eb55b7c4c82bfd\"")
                .push(b"Accept-Ranges", b"bytes")
                .push(b"Content-Type", b"text/javascript; charset=utf-8");
            let head = Head {
                status: Status::Ok,
                preamble: b"",
                fields,
                length: Some(black_box(1024)),
                persist: Persist::KeepAlive,
            };
            h1::encode(&head, &date, &mut out);
            black_box(out.len())
        })
    });

    // A browser's request for a cached 1 KiB file, bytes in, bytes out.
    let browser: &[u8] = b"GET /assets/app.js HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36\r\n\
Accept: */*\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n\
Referer: http://127.0.0.1:8000/\r\nConnection: keep-alive\r\n\r\n";
    let mut reader = RequestReader::new(Limits::default(), 1 << 20);
    let mut output = Output::default();
    c.bench_function("request bytes to response bytes (cached 1 KiB)", |b| {
        b.iter(|| {
            out.clear();
            let mut input = reader.begin(black_box(browser));
            while let Event::Head(req) = reader.next(&mut input) {
                let reply = site.respond(&req, Instant::now(), 0);
                site.encode_head(&reply, req.persist, &date, &mut out);
                output.stage(reply.into_body(), &mut out);
            }
            reader.end(input);
            black_box(out.len())
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
