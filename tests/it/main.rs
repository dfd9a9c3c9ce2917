//! ferry's integration tests: the real binary, started on port 0, over real
//! sockets, one module per behaviour; and the library's parsers and
//! semantics under properties (`properties`). `tests/README.md` maps them.

mod support;

/// The fuzz targets' properties, one copy shared with `fuzz/`.
#[path = "../fuzz_checks/mod.rs"]
mod fuzz_checks;

mod browser;
mod caching;
mod capacity;
mod cli;
mod compression;
mod dev_flags;
mod encoding;
mod faults;
mod files;
mod framing;
mod freshness;
mod listening;
mod listing;
mod live_reload;
mod operations;
mod paths;
mod properties;
mod protocol;
mod ranges;
mod regressions;
mod timeouts;
