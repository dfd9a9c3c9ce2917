//! `ferry [DIR]`: parse flags, serve, map failure to exit status 2.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cfg = ferry::cli::Config::parse();
    match ferry::server::run(cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferry: {e}");
            ExitCode::from(2)
        }
    }
}
