//! `ferry [DIR]`: parse flags, serve, map failure to exit status 2.
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let settings = match ferry::cli::Config::parse().into_settings() {
        Ok(settings) => settings,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "ferry: {e}");
            return ExitCode::from(2);
        }
    };
    match ferry::server::run(settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Never a panic, even with stderr gone.
            let _ = writeln!(std::io::stderr(), "ferry: {e}");
            ExitCode::from(2)
        }
    }
}
