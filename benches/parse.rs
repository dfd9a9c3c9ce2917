//! Request-head parsing cost for a realistic browser request and a minimal
//! curl request (`cargo bench --bench parse`).

use criterion::{Criterion, criterion_group, criterion_main};
use ferry::h1::Limits;
use ferry::h1::parse::parse;
use std::hint::black_box;

const BROWSER: &[u8] = b"GET /assets/app.3f9a1c.js HTTP/1.1\r\n\
Host: 127.0.0.1:8000\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0\r\n\
Accept: */*\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Referer: http://127.0.0.1:8000/\r\n\
Connection: keep-alive\r\n\
Sec-Fetch-Dest: script\r\n\
Sec-Fetch-Mode: no-cors\r\n\
Sec-Fetch-Site: same-origin\r\n\
If-None-Match: \"5f1a-2c1b\"\r\n\r\n";

/// A 2 KiB head, most of it cookies (a logged-in browser).
fn cookie_heavy() -> Vec<u8> {
    let mut r = BROWSER[..BROWSER.len() - 2].to_vec();
    r.extend_from_slice(b"Cookie: ");
    for i in 0..45 {
        r.extend_from_slice(format!("session_{i:02}=0123456789abcdef01234567; ").as_bytes());
    }
    r.extend_from_slice(b"last=1\r\n\r\n");
    assert!(r.len() >= 2048, "{}", r.len());
    r
}

const CURL: &[u8] = b"GET /1k.bin HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    c.bench_function("parse browser request", |b| {
        b.iter(|| parse(black_box(BROWSER), &limits).unwrap().unwrap().1)
    });
    let cookies = cookie_heavy();
    c.bench_function("parse 2 KiB cookie-heavy request", |b| {
        b.iter(|| parse(black_box(&cookies), &limits).unwrap().unwrap().1)
    });
    c.bench_function("parse curl request", |b| {
        b.iter(|| parse(black_box(CURL), &limits).unwrap().unwrap().1)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
