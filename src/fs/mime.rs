//! `Content-Type` for a file name: mime_guess, with our overrides in one
//! table, and `charset=utf-8` on text types; and the content coding a
//! file's own format carries (`.svgz` is gzip-coded SVG).

use std::path::Path;

use crate::http::negotiate::Coding;

/// Where mime_guess has no type or an outdated one: the type browsers and
/// the registrations expect today. Extensions in lower case.
const OVERRIDES: &[(&str, &str)] = &[
    // RFC 9239: JavaScript is text/javascript, whatever the module system.
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("cjs", "text/javascript"),
    // Source maps are JSON (mime_guess says text/plain).
    ("map", "application/json"),
    ("wasm", "application/wasm"),
    // RFC 8081: the font/ top-level type.
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("otf", "font/otf"),
    ("ttf", "font/ttf"),
    // RFC 4337 (mime_guess says audio/m4a, which is not registered).
    ("m4a", "audio/mp4"),
    // Gzip-coded SVG: the type is SVG's, the coding is in Content-Encoding
    // (see `content_coding`).
    ("svgz", "image/svg+xml"),
    ("webmanifest", "application/manifest+json"),
];

fn extension(name: &str) -> &str {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
}

pub fn content_type(name: &str) -> String {
    let ext = extension(name);
    let lower = ext.to_ascii_lowercase();
    let mime: &str = match OVERRIDES.iter().find(|(e, _)| *e == lower) {
        Some((_, mime)) => mime,
        None => mime_guess::from_ext(ext)
            .first_raw()
            .unwrap_or("application/octet-stream"),
    };
    if mime.starts_with("text/") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

/// The content coding the file's bytes carry by their format, sent as
/// `Content-Encoding` with them: gzip for `.svgz`, identity otherwise
/// (a `.gz` download is an archive, `application/gzip`, not a coding).
pub fn content_coding(name: &str) -> Coding {
    if extension(name).eq_ignore_ascii_case("svgz") {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_follow_the_rules() {
        assert_eq!(content_type("a.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("a.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("a.txt"), "text/plain; charset=utf-8");
        assert_eq!(content_type("a.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("a.mjs"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("a.CJS"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("a.wasm"), "application/wasm");
        assert_eq!(content_type("a.png"), "image/png");
        assert_eq!(content_type("a.woff"), "font/woff");
        assert_eq!(content_type("a.map"), "application/json");
        assert_eq!(content_type("a.unknownext"), "application/octet-stream");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }

    #[test]
    fn every_override_is_lower_case_and_once() {
        for (i, (ext, _)) in OVERRIDES.iter().enumerate() {
            assert_eq!(*ext, ext.to_ascii_lowercase());
            assert!(OVERRIDES[..i].iter().all(|(e, _)| e != ext), "{ext}");
        }
    }

    #[test]
    fn only_svgz_carries_a_coding_of_its_own() {
        assert_eq!(content_coding("a.svgz"), Coding::Gzip);
        assert_eq!(content_coding("A.SVGZ"), Coding::Gzip);
        assert_eq!(content_coding("a.svg"), Coding::Identity);
        assert_eq!(content_coding("a.tar.gz"), Coding::Identity);
        assert_eq!(content_coding("a.js.br"), Coding::Identity);
    }
}
