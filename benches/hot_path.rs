//! The hot stages besides parsing (`cargo bench --bench hot_path`): path
//! decoding, a warm route through the open-file cache (with conditional
//! and range planning), and encoding a file response head.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use ferry::request::{Limits, parse};
use ferry::resolve::{Resolver, Root, clean_path};
use ferry::response::{HeadWriter, Persist, Preamble, Status};

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
    let mut resolver = Resolver::default();
    let raw =
        b"GET /assets/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip, br\r\n\r\n";
    let (req, _) = parse(raw, &Limits::default()).unwrap().unwrap();
    c.bench_function("route warm cache hit", |b| {
        b.iter(|| {
            // Within the revalidation second: a pure cache hit.
            let now = Instant::now();
            black_box(resolver.route(&root, &req, now))
        })
    });

    let date = Preamble::default();
    let mut out = Vec::with_capacity(1024);
    c.bench_function("encode 200 file head", |b| {
        b.iter(|| {
            out.clear();
            let mut h = HeadWriter::new(&mut out, Status::Ok, &date);
            h.field(b"Last-Modified", b"Wed, 25 Nov 2026 15:44:01 GMT")
                .field(b"ETag", b"\"98c1d2-400-18eb55b7c4c82bfd\"")
                .field(b"Accept-Ranges", b"bytes")
                .field(b"Content-Type", b"text/javascript; charset=utf-8")
                .content_length(black_box(1024));
            h.finish(Persist::KeepAlive);
            black_box(out.len())
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
