//! Settings: the command line's values, turned once at startup into what
//! each layer needs. Nothing below `server` sees the clap struct.

use std::path::PathBuf;
use std::time::Duration;

use crate::h1::Limits;
use crate::site::SiteOptions;

/// Every wait a connection can be in, each with its deadline.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// A request head may take this long to arrive, from its first byte.
    pub header: Duration,
    /// An idle keep-alive connection is kept this long.
    pub keepalive: Duration,
    /// A response may make no progress for this long.
    pub write: Duration,
    /// A request body may make no progress for this long.
    pub body: Duration,
    /// After a closing response, input is drained this long.
    pub linger: Duration,
    /// On SIGINT/SIGTERM/SIGHUP, in-flight responses get this long.
    pub shutdown: Duration,
    /// Between heartbeats on a live-reload event stream.
    pub heartbeat: Duration,
}

impl Timeouts {
    /// The shortest, which sets how often the worker sweeps deadlines.
    pub fn shortest(&self) -> Duration {
        [
            self.header,
            self.keepalive,
            self.write,
            self.body,
            self.linger,
        ]
        .into_iter()
        .min()
        .unwrap_or(Duration::from_secs(1))
    }
}

/// The folder served when no DIR is given and it exists: a project's site
/// (in ferry's own repository, the welcome page).
pub const DEFAULT_DIR: &str = "./static";

/// How the folder to serve was chosen, for what startup says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirChoice {
    /// Named on the command line.
    Given,
    /// No DIR, and `./static` is a folder: that is served.
    Static,
    /// No DIR and no `./static`: the current folder is served.
    Current,
}

/// What the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The folder to serve.
    pub dir: PathBuf,
    pub dir_choice: DirChoice,
    /// `--bind` values: addresses or host names.
    pub binds: Vec<String>,
    /// SO_REUSEPORT on the listeners.
    pub reuse_port: bool,
    pub port: u16,
    /// Worker threads.
    pub threads: usize,
    /// No access log.
    pub quiet: bool,
    /// Open the browser once listening.
    pub open: bool,
    /// Serve and list dotfiles.
    pub hidden: bool,
    /// `--404 FILE`, read at startup.
    pub not_found_page: Option<PathBuf>,
    pub site: SiteOptions,
    pub timeouts: Timeouts,
    pub limits: Limits,
    /// Largest request body read (and discarded).
    pub max_body: u64,
    /// Slowest request body and response reader, bytes per second over
    /// each body / write timeout window (0: none).
    pub min_body_rate: u64,
    pub min_send_rate: u64,
    /// Connections held at once.
    pub max_connections: usize,
    /// A client sending a TLS handshake gets a hint on stderr at most once
    /// per this (a minute; shorter only in tests).
    pub tls_hint_every: Duration,
}
