//! ferry's black-box tests: the real binary, started on port 0, over real
//! sockets. One module per behaviour; `tests/README.md` maps them.

mod support;

mod cli;
mod dev_flags;
mod files;
mod framing;
mod listing;
mod paths;
mod protocol;
