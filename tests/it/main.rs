//! ferry's black-box tests: the real binary, started on port 0, over real
//! sockets. One module per behaviour; `tests/README.md` maps them.

mod support;

mod browser;
mod caching;
mod capacity;
mod cli;
mod dev_flags;
mod encoding;
mod faults;
mod files;
mod framing;
mod listing;
mod operations;
mod paths;
mod protocol;
mod ranges;
mod regressions;
mod timeouts;
