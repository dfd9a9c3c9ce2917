//! cargo-fuzz target `accept_encoding`: see fuzz/README.md. The properties live in
//! tests/fuzz_checks/mod.rs, shared with tests/it/properties.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

fuzz_target!(|data: &[u8]| fuzz_checks::fuzz_accept_encoding(data));
