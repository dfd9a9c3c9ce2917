//! Path safety as a property: whatever target is generated — encoded and
//! double-encoded dot-segments, `%2f`, `%5c`, overlong UTF-8, NUL, absolute
//! paths, backslashes, symlinks to outside — no response ever contains the
//! marker of a secret planted next to (outside) the served root.

mod common;

use std::os::unix::fs::symlink;

use common::Server;
use proptest::prelude::*;

const MARKER: &str = "SECRET-MARKER-7f3a9c";

fn atoms(outer: String) -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("%2e%2e".to_owned()),
        Just("%2E%2e".to_owned()),
        Just(".%2e".to_owned()),
        Just("%252e%252e".to_owned()),
        Just("%c0%ae%c0%ae".to_owned()),
        Just("%e0%80%ae".to_owned()),
        Just("%2f".to_owned()),
        Just("%2F".to_owned()),
        Just("%5c".to_owned()),
        Just("\\".to_owned()),
        Just("%00".to_owned()),
        Just("/".to_owned()),
        Just("//".to_owned()),
        Just("secret.txt".to_owned()),
        Just("out-link".to_owned()),
        Just("out-dir".to_owned()),
        Just("rel-out".to_owned()),
        Just("inside".to_owned()),
        Just("a.txt".to_owned()),
        Just("?x=../".to_owned()),
        Just(outer.trim_start_matches('/').to_owned()),
        "[a-z%./\\\\]{1,6}",
    ]
}

fn target(outer: String) -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("/"), Just("http://t/"), Just("//")],
        proptest::collection::vec(
            (atoms(outer), prop_oneof![Just("/"), Just("%2f"), Just("")]),
            1..8,
        ),
    )
        .prop_map(|(start, parts)| {
            let mut t = start.to_owned();
            for (a, sep) in parts {
                t.push_str(&a);
                t.push_str(sep);
            }
            t
        })
}

#[test]
fn no_generated_target_ever_reaches_a_file_outside_the_root() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    std::fs::create_dir_all(root.join("inside")).unwrap();
    std::fs::write(root.join("a.txt"), b"public").unwrap();
    std::fs::write(root.join("inside/b.txt"), b"public too").unwrap();
    std::fs::write(outer.path().join("secret.txt"), MARKER).unwrap();
    symlink(outer.path().join("secret.txt"), root.join("out-link")).unwrap();
    symlink(outer.path(), root.join("out-dir")).unwrap();
    symlink("../secret.txt", root.join("rel-out")).unwrap();
    let outer_path = outer.path().display().to_string();

    for hidden in [false, true] {
        let args: &[&str] = if hidden { &["--hidden"] } else { &[] };
        let s = Server::start(&root, args);
        let config = ProptestConfig {
            cases: 250,
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        proptest!(config, |(t in target(outer_path.clone()))| {
            // Targets with bytes httparse rejects still go out raw.
            let raw = format!("GET {t} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            let got = s.exchange(raw.as_bytes());
            let text = String::from_utf8_lossy(&got);
            prop_assert!(!text.contains(MARKER), "{t} leaked: {text}");
            prop_assert!(text.starts_with("HTTP/1.1 "), "{t}: {text}");
        });
        // The marker is reachable through nothing, but the root works.
        assert_eq!(s.get("/a.txt").body, b"public");
        assert_eq!(s.get("/inside/b.txt").body, b"public too");
    }
}
