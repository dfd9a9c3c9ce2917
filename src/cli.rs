//! Command line: flags → a validated [`Config`], once at startup, then
//! [`Config::into_settings`] for the layers below.
//!
//! Every limit and timeout is a flag so tests can run with short values while
//! the defaults stay as specified.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser};

use crate::h1::Limits;
use crate::settings::{DEFAULT_DIR, DirChoice, Settings, Timeouts};
use crate::site::SiteOptions;

/// `--help` headings, in the order they are shown: the everyday flags
/// (clap's own "Options", first) and the responses, then the tuning.
const RESPONSES: &str = "Responses";
const TIMEOUTS: &str = "Tuning: timeouts";
const LIMITS: &str = "Tuning: limits";
const RESOURCES: &str = "Tuning: threads, caches and sockets";

/// A fast, standards-correct HTTP/1.1 static-file server.
#[derive(Parser, Debug, Clone)]
#[command(name = "ferry", version, about, long_about = None, after_help = examples())]
pub struct Config {
    /// Folder to serve [default: ./static if there is one, else the
    /// current folder].
    pub dir: Option<PathBuf>,

    /// Address to listen on: IPv4 or IPv6 (`::` serves both), or a host
    /// name (all its addresses); repeat for several. Ignored when a
    /// supervisor passes listening sockets (systemd socket activation).
    #[arg(short, long, value_name = "ADDR", default_value = "127.0.0.1", value_parser = parse_bind)]
    pub bind: Vec<String>,

    /// Port to listen on; 0 picks a free port.
    #[arg(short, long, default_value_t = 8000)]
    pub port: u16,

    /// Open the default browser at the served URL once listening.
    #[arg(short, long)]
    pub open: bool,

    /// No access log.
    #[arg(short, long)]
    pub quiet: bool,

    /// Live reload: pages reload by themselves when a file they loaded
    /// changes (a changed stylesheet is swapped in place).
    #[arg(long)]
    pub watch: bool,

    /// Serve and list dotfiles (names starting with '.').
    #[arg(long)]
    pub hidden: bool,

    /// Single-page apps: a GET for a missing path from a client naming
    /// HTML in Accept gets /index.html (or /index.htm) with 200; ferry
    /// refuses to start without one.
    #[arg(long, help_heading = RESPONSES)]
    pub spa: bool,

    /// Clean URLs: /about serves about.html when nothing is named about,
    /// and /about.html redirects there (301); /dir/index.html redirects to
    /// /dir/.
    #[arg(long, help_heading = RESPONSES)]
    pub clean_urls: bool,

    /// Answer folders without index.html (or index.htm) with 403 instead
    /// of a listing.
    #[arg(long, help_heading = RESPONSES)]
    pub no_listing: bool,

    /// A custom page for 404 responses (the status stays 404).
    #[arg(long = "404", value_name = "FILE", help_heading = RESPONSES)]
    pub not_found_page: Option<PathBuf>,

    /// Allow cross-origin reads: `Access-Control-Allow-Origin: *` on every
    /// response, and answers to CORS preflight requests; not with --header
    /// 'Access-Control-Allow-Origin: …'.
    #[arg(long, help_heading = RESPONSES)]
    pub cors: bool,

    /// A response header, `'Name: value'` (repeatable), on every response;
    /// it replaces ferry's own field of that name (Vary: merged with
    /// ferry's; Content-Type: of files only). ETag, Last-Modified,
    /// Content-Range, Accept-Ranges, Content-Encoding, Location, the
    /// framing and the connection fields are refused; a single-valued one
    /// (Content-Type, Access-Control-Allow-Origin, …) is given once.
    #[arg(long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header, help_heading = RESPONSES)]
    pub headers: Vec<(String, String)>,

    /// Cache-Control value for file and listing responses [default:
    /// no-cache, so browsers revalidate (cheaply, with 304) every time];
    /// not with --header 'Cache-Control: …'.
    #[arg(long, value_name = "VALUE", conflicts_with = "no_cache", value_parser = parse_field_value, help_heading = RESPONSES)]
    pub cache_control: Option<String>,

    /// `--cache-control no-cache` (the default; kept as a spelling).
    #[arg(long, help_heading = RESPONSES)]
    pub no_cache: bool,

    /// Don't compress responses on the fly (br, zstd, gzip).
    #[arg(long, help_heading = RESPONSES)]
    pub no_compress: bool,

    /// Time a request head may take to arrive, from its first byte.
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = parse_duration, help_heading = TIMEOUTS)]
    pub header_timeout: Duration,

    /// Time an idle keep-alive connection is kept open.
    #[arg(long, value_name = "DUR", default_value = "60s", value_parser = parse_duration, help_heading = TIMEOUTS)]
    pub keepalive_timeout: Duration,

    /// Time a response may make no progress before it is abandoned.
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = parse_duration, help_heading = TIMEOUTS)]
    pub write_timeout: Duration,

    /// Time a request body may make no progress before the connection is closed.
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = parse_duration, help_heading = TIMEOUTS)]
    pub body_timeout: Duration,

    /// After a response that closes the connection, time spent draining what
    /// the client still sends, so it reads the response instead of a reset.
    #[arg(long, value_name = "DUR", default_value = "2s", value_parser = parse_duration, help_heading = TIMEOUTS)]
    pub linger_timeout: Duration,

    /// On SIGINT/SIGTERM/SIGHUP, time in-flight responses get to finish.
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_duration, help_heading = TIMEOUTS)]
    pub shutdown_timeout: Duration,

    /// Time between heartbeats on a live-reload event stream.
    #[arg(long, value_name = "DUR", default_value = "15s", value_parser = parse_duration, help_heading = TIMEOUTS)]
    pub heartbeat: Duration,

    /// Connections held at once; beyond it new ones get 503 and are closed.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..), help_heading = LIMITS)]
    pub max_connections: u32,

    /// Largest request body read (and discarded); larger gets 413 and close.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20, help_heading = LIMITS)]
    pub max_body: u64,

    /// Longest request target; longer gets 414.
    #[arg(long, value_name = "BYTES", default_value_t = 8 * 1024, value_parser = clap::value_parser!(u32).range(1..), help_heading = LIMITS)]
    pub max_target: u32,

    /// Largest request head (request line + header fields); larger gets 431.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u32).range(64..=(16 << 20)), help_heading = LIMITS)]
    pub max_header_bytes: u32,

    /// Most header fields in a request; more gets 431.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000), help_heading = LIMITS)]
    pub max_headers: u16,

    /// Slowest request body accepted, in bytes per second, averaged over
    /// each --body-timeout; slower: 408 and close (0: no minimum).
    #[arg(long, value_name = "BYTES", default_value_t = 1024, help_heading = LIMITS)]
    pub min_body_rate: u64,

    /// Slowest reader of a response served, in bytes per second, averaged
    /// over each --write-timeout; slower: close (0: no minimum).
    #[arg(long, value_name = "BYTES", default_value_t = 1024, help_heading = LIMITS)]
    pub min_send_rate: u64,

    /// Directory entries read for one listing at most (dotfiles, special
    /// files and links out of the root count too); past it the listing is
    /// partial and says so.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = parse_count, help_heading = LIMITS)]
    pub max_listing_read: usize,

    /// Worker threads [default: number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024), help_heading = RESOURCES)]
    pub threads: Option<u16>,

    /// Let another ferry bind the same address and port while this one
    /// runs (SO_REUSEPORT), for restarts without downtime: start the new
    /// one, then stop this one with SIGTERM.
    #[arg(long, help_heading = RESOURCES)]
    pub reuse_port: bool,

    /// Descriptors the open-file caches of all workers may hold together,
    /// at most half the open-file limit [default: a quarter of the
    /// open-file limit, at most 4096].
    #[arg(long, value_name = "N", value_parser = parse_count, help_heading = RESOURCES)]
    pub cache_fds: Option<usize>,

    /// Memory for listings cached per folder version, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20, help_heading = RESOURCES)]
    pub listing_cache: usize,

    /// Memory for compressed forms kept (each file version is compressed
    /// once per coding), in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20, help_heading = RESOURCES)]
    pub compress_cache: usize,

    /// Largest file compressed on the fly, in bytes; larger ones are sent
    /// as they are.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20, help_heading = RESOURCES)]
    pub compress_max: u64,

    /// Directory watches the caches and live reload may hold together
    /// [default: a quarter of the user's inotify limit, at most 8192];
    /// files in folders beyond it are checked with a stat per request.
    #[arg(long, value_name = "N", help_heading = RESOURCES)]
    pub max_watches: Option<usize>,

    #[command(flatten)]
    pub testing: TestingAids,
}

/// Flags for ferry's own tests, compiled into debug builds only: a release
/// build (`cargo build --release`, `cargo install`) has no such flag and
/// refuses it like any unknown one.
#[cfg(debug_assertions)]
#[derive(Args, Debug, Clone, Default)]
pub struct TestingAids {
    /// A request for exactly this path panics inside the handler (for the
    /// panic-containment tests).
    #[arg(long, hide = true)]
    pub debug_panic_path: Option<String>,

    /// Testing aid: the hint a TLS handshake gets on stderr is said at most
    /// once per this per client address.
    #[arg(long, hide = true, default_value = "60s", value_parser = parse_duration)]
    pub debug_tls_hint_every: Duration,
}

/// Release builds: no testing aids.
#[cfg(not(debug_assertions))]
#[derive(Args, Debug, Clone, Default)]
pub struct TestingAids {}

/// How often a client address may get the TLS hint (release builds; the
/// debug builds' testing aid defaults to the same).
#[cfg(not(debug_assertions))]
const TLS_HINT_EVERY: Duration = Duration::from_secs(60);

impl TestingAids {
    #[cfg(debug_assertions)]
    fn tls_hint_every(&self) -> Duration {
        self.debug_tls_hint_every
    }

    #[cfg(not(debug_assertions))]
    fn tls_hint_every(&self) -> Duration {
        TLS_HINT_EVERY
    }
}

/// The examples that end `--help`, under a heading styled like clap's own.
fn examples() -> String {
    let heading = clap::builder::Styles::default().get_header().to_owned();
    format!(
        "{heading}Examples:{heading:#}
  ferry                         serve ./static if there is one, else this folder,
                                at http://127.0.0.1:8000/
  ferry ~/site -o --watch       open a browser; pages reload when their files change
  ferry . -b 0.0.0.0 -p 8080    share this folder on the LAN (no TLS, no password)"
    )
}

/// Flags that contradict each other: one line for the user, exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A `--header` sets a field another flag sets too.
    HeaderConflict { field: String, flag: &'static str },
    /// A `--header` that can have one value only, given twice.
    HeaderTwice(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::HeaderConflict { field, flag } => write!(
                f,
                "--header {field} conflicts with {flag}: both set {field}; keep one of them"
            ),
            ConfigError::HeaderTwice(field) => {
                write!(f, "--header {field} is given twice; give it once")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The settings the server runs with, or why these flags cannot go
    /// together.
    pub fn into_settings(self) -> Result<Settings, ConfigError> {
        let header = |name: &str| {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(n, _)| n.clone())
        };
        if let Some(field) = header("access-control-allow-origin")
            && self.cors
        {
            return Err(ConfigError::HeaderConflict {
                field,
                flag: "--cors",
            });
        }
        // A `--header Cache-Control: …` stands in for the default; with
        // an explicit policy it is a contradiction.
        let own_cache_control = header("cache-control");
        if let Some(field) = own_cache_control.clone() {
            let flag = if self.no_cache {
                Some("--no-cache")
            } else if self.cache_control.is_some() {
                Some("--cache-control")
            } else {
                None
            };
            if let Some(flag) = flag {
                return Err(ConfigError::HeaderConflict { field, flag });
            }
        }
        for single in SINGLE_VALUED {
            let mut given = self
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(single));
            if let Some((field, _)) = given.nth(1) {
                return Err(ConfigError::HeaderTwice(field.clone()));
            }
        }
        let cache_control = match own_cache_control {
            Some(_) => None,
            None => Some(self.cache_control.unwrap_or_else(|| "no-cache".to_owned())),
        };
        // One worker per core. More threads than cores never raised
        // throughput in our measurements but raised p99 twelvefold.
        let threads = match self.threads {
            Some(n) => usize::from(n),
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let (dir, dir_choice) = match self.dir {
            Some(dir) => (dir, DirChoice::Given),
            None => default_dir(Path::new(DEFAULT_DIR).is_dir()),
        };
        let tls_hint_every = self.testing.tls_hint_every();
        Ok(Settings {
            dir,
            dir_choice,
            binds: self.bind,
            reuse_port: self.reuse_port,
            port: self.port,
            threads,
            quiet: self.quiet,
            open: self.open,
            hidden: self.hidden,
            not_found_page: self.not_found_page,
            site: SiteOptions {
                listing: !self.no_listing,
                spa: self.spa,
                clean_urls: self.clean_urls,
                cors: self.cors,
                cache_control,
                headers: self.headers,
                #[cfg(debug_assertions)]
                debug_panic_path: self.testing.debug_panic_path,
                max_listing_read: self.max_listing_read,
                listing_cache: self.listing_cache,
                cache_fds: self.cache_fds,
                max_watches: self.max_watches,
                watch: self.watch,
                compress: !self.no_compress,
                compress_cache: self.compress_cache,
                compress_max: self.compress_max,
            },
            timeouts: Timeouts {
                header: self.header_timeout,
                keepalive: self.keepalive_timeout,
                write: self.write_timeout,
                body: self.body_timeout,
                linger: self.linger_timeout,
                heartbeat: self.heartbeat,
                shutdown: self.shutdown_timeout,
            },
            limits: Limits {
                max_target: self.max_target as usize,
                max_head: self.max_header_bytes as usize,
                max_headers: usize::from(self.max_headers),
            },
            max_body: self.max_body,
            min_body_rate: self.min_body_rate,
            min_send_rate: self.min_send_rate,
            max_connections: self.max_connections as usize,
            tls_hint_every,
        })
    }
}

/// The folder served without a DIR: `./static` when it is a folder (a
/// project's site), else the current folder, as `python3 -m http.server`.
fn default_dir(static_is_dir: bool) -> (PathBuf, DirChoice) {
    if static_is_dir {
        (PathBuf::from(DEFAULT_DIR), DirChoice::Static)
    } else {
        (PathBuf::from("."), DirChoice::Current)
    }
}

/// A header field value: visible ASCII, spaces and tabs, so a flag can
/// never inject a line break (and a second header) into responses.
fn parse_field_value(s: &str) -> Result<String, String> {
    let v = s.trim_matches([' ', '\t']);
    if v.is_empty() {
        return Err("must not be empty".into());
    }
    if !v
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || (0x21..=0x7e).contains(&b))
    {
        return Err("only visible ASCII, spaces and tabs are allowed".into());
    }
    Ok(v.to_owned())
}

/// Fields a response carries once, with one value: a second `--header`
/// of one of these is refused, not sent twice (two
/// Access-Control-Allow-Origin fields fail every CORS request).
const SINGLE_VALUED: [&str; 8] = [
    "content-type",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-max-age",
    "content-disposition",
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
];

/// Fields only ferry sets, and why: a value from the command line would
/// break what rests on them.
const REFUSED: [(&str, &str); 11] = [
    ("content-length", "message framing depends on it"),
    ("transfer-encoding", "message framing depends on it"),
    ("connection", "message framing depends on it"),
    ("date", "it is the time of each response"),
    ("server", "it names ferry"),
    ("etag", "conditional requests depend on it"),
    ("last-modified", "conditional requests depend on it"),
    ("content-range", "range requests depend on it"),
    ("accept-ranges", "range requests depend on it"),
    ("content-encoding", "it names the coding of the bytes sent"),
    ("location", "redirects depend on it"),
];

/// Fields no response of ferry's may carry, and why.
const NEVER_SENT: [(&str, &str); 5] = [
    ("keep-alive", "it describes one connection, RFC 9110 7.6.1"),
    (
        "proxy-connection",
        "it describes one connection, RFC 9110 7.6.1",
    ),
    ("upgrade", "ferry never switches protocols"),
    ("te", "it is a request field"),
    ("trailer", "ferry sends no trailer fields"),
];

/// `Name: value` for `--header`: a token name (not one only ferry sets)
/// and a clean field value; for `Vary`, a list of field names or `*`.
fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| "expected 'Name: value'".to_owned())?;
    if name.is_empty() || !name.bytes().all(crate::http::syntax::is_tchar) {
        return Err(format!("{name:?} is not a valid header name"));
    }
    if let Some((_, why)) = REFUSED.iter().find(|(o, _)| name.eq_ignore_ascii_case(o)) {
        return Err(format!("{name} is set by ferry ({why}) and cannot be set"));
    }
    if let Some((_, why)) = (NEVER_SENT.iter()).find(|(o, _)| name.eq_ignore_ascii_case(o)) {
        return Err(format!("{name} cannot be sent ({why})"));
    }
    let value = parse_field_value(value)?;
    if name.eq_ignore_ascii_case("vary") {
        let mut names = value
            .split(',')
            .map(|n| n.trim_matches([' ', '\t']))
            .filter(|n| !n.is_empty())
            .peekable();
        let names_only = names.peek().is_some()
            && names.all(|n| n == "*" || n.bytes().all(crate::http::syntax::is_tchar));
        if !names_only {
            return Err("Vary is a list of field names, or *".into());
        }
    }
    Ok((name.to_owned(), value))
}

/// A `--bind` value: an IP address, or a host name to resolve at startup.
fn parse_bind(s: &str) -> Result<String, String> {
    if s.parse::<IpAddr>().is_ok() {
        return Ok(s.to_owned());
    }
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if s.len() <= 253 && s.split('.').all(label) && s.bytes().any(|b| b.is_ascii_alphabetic()) {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is neither an IP address nor a host name"))
    }
}

/// A count of at least 1.
fn parse_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Accepts `10` (seconds), `10s`, `500ms`, `1m` and other humantime forms.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = match s.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(s).map_err(|e| e.to_string())?,
    };
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_bare_seconds_and_units() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn extra_headers_are_validated() {
        assert_eq!(
            parse_header("X-Frame-Options: DENY"),
            Ok(("X-Frame-Options".into(), "DENY".into()))
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("Bad Name: x").is_err());
        assert!(parse_header("X-A: a\r\nX-B: b").is_err());
        assert!(parse_header("Content-Length: 5").is_err());
        assert!(parse_header(": x").is_err());
        assert_eq!(
            parse_header("Vary: Origin, Cookie"),
            Ok(("Vary".into(), "Origin, Cookie".into()))
        );
        assert!(parse_header("Vary: a b").is_err());
        assert!(parse_header("Vary: ,").is_err());
    }

    #[test]
    fn fields_conditionals_ranges_and_framing_rest_on_are_refused() {
        for name in [
            "ETag",
            "last-modified",
            "Content-Range",
            "Accept-Ranges",
            "Content-Encoding",
            "Location",
            "Transfer-Encoding",
            "Connection",
            "Date",
            "Server",
        ] {
            let err = parse_header(&format!("{name}: x")).unwrap_err();
            assert!(
                err.starts_with(&format!("{name} is set by ferry (")),
                "{err}"
            );
        }
        for name in ["Keep-Alive", "proxy-connection", "Upgrade", "TE", "Trailer"] {
            let err = parse_header(&format!("{name}: x")).unwrap_err();
            assert!(
                err.starts_with(&format!("{name} cannot be sent (")),
                "{err}"
            );
        }
    }

    fn settings(args: &[&str]) -> Result<Settings, ConfigError> {
        let mut all = vec!["ferry"];
        all.extend_from_slice(args);
        Config::parse_from(all).into_settings()
    }

    #[test]
    fn a_header_and_a_flag_setting_one_field_conflict() {
        let conflict = |field: &str, flag| {
            Err(ConfigError::HeaderConflict {
                field: field.into(),
                flag,
            })
        };
        let err = settings(&[
            "--cors",
            "--header",
            "access-control-allow-origin: https://a.test",
        ]);
        assert_eq!(
            err.map(|_| ()),
            conflict("access-control-allow-origin", "--cors")
        );
        let err = settings(&["--no-cache", "--header", "Cache-Control: no-store"]);
        assert_eq!(err.map(|_| ()), conflict("Cache-Control", "--no-cache"));
        let err = settings(&[
            "--header",
            "Cache-Control: no-store",
            "--cache-control",
            "max-age=1",
        ]);
        assert_eq!(
            err.map(|_| ()),
            conflict("Cache-Control", "--cache-control")
        );
        let err = settings(&[
            "--header",
            "Content-Type: a/b",
            "--header",
            "content-type: c/d",
        ]);
        assert_eq!(
            err.map(|_| ()),
            Err(ConfigError::HeaderTwice("content-type".into()))
        );
        assert_eq!(
            ConfigError::HeaderConflict {
                field: "Cache-Control".into(),
                flag: "--no-cache"
            }
            .to_string(),
            "--header Cache-Control conflicts with --no-cache: both set Cache-Control; keep one of them"
        );
        // Alone, each is fine; a Cache-Control header stands in for the
        // default.
        let s = settings(&["--header", "Cache-Control: no-store"]).unwrap();
        assert_eq!(s.site.cache_control, None);
        let s = settings(&["--cache-control", "max-age=60", "--cors"]).unwrap();
        assert_eq!(s.site.cache_control.as_deref(), Some("max-age=60"));
        let s = settings(&["--header", "Access-Control-Expose-Headers: X-Id", "--cors"]);
        assert!(s.is_ok());
    }

    #[test]
    fn header_values_from_flags_cannot_break_lines() {
        assert_eq!(parse_field_value(" max-age=60 "), Ok("max-age=60".into()));
        assert!(parse_field_value("a\r\nX-Injected: 1").is_err());
        assert!(parse_field_value("").is_err());
        assert!(parse_field_value("caf\u{e9}").is_err());
    }

    #[test]
    fn defaults_match_the_documented_limits() {
        let c = Config::parse_from(["ferry"]);
        assert_eq!(c.dir, None);
        assert_eq!(c.port, 8000);
        assert_eq!(c.max_connections, 10_000);
        assert_eq!(c.header_timeout, Duration::from_secs(10));
        assert_eq!(c.keepalive_timeout, Duration::from_secs(60));
        assert_eq!(c.write_timeout, Duration::from_secs(30));
        assert_eq!(c.max_target, 8192);
        assert_eq!(c.max_header_bytes, 65536);
        assert_eq!(c.max_headers, 100);
    }

    #[test]
    fn without_a_dir_static_is_served_if_it_is_a_folder_else_the_current_one() {
        assert_eq!(
            default_dir(true),
            (PathBuf::from("./static"), DirChoice::Static)
        );
        assert_eq!(default_dir(false), (PathBuf::from("."), DirChoice::Current));
        let s = settings(&["some/dir"]).unwrap();
        assert_eq!(
            (s.dir, s.dir_choice),
            (PathBuf::from("some/dir"), DirChoice::Given)
        );
    }

    #[test]
    fn short_flags_are_the_everyday_ones() {
        let c = Config::parse_from(["ferry", "-p", "9", "-b", "::1", "-q", "-o"]);
        assert_eq!(
            (c.port, c.bind, c.quiet, c.open),
            (9, vec!["::1".into()], true, true)
        );
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Config::command().debug_assert();
    }

    /// `--debug-panic-path` makes requests panic: only the debug builds
    /// the tests run have it; `cargo test --release` checks that a release
    /// build refuses it.
    #[test]
    fn the_panic_testing_aid_exists_in_debug_builds_only() {
        let parsed = Config::try_parse_from(["ferry", "--debug-panic-path", "/boom"]);
        assert_eq!(parsed.is_ok(), cfg!(debug_assertions), "{parsed:?}");
    }

    /// The examples that end `--help` are command lines ferry accepts.
    #[test]
    fn the_help_examples_parse() {
        let text = examples();
        let commands: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("  ")?.split("  ").next())
            .filter(|c| c.starts_with("ferry"))
            .collect();
        assert_eq!(commands.len(), 3, "{text}");
        for command in commands {
            let parsed = Config::try_parse_from(command.split_whitespace());
            assert!(parsed.is_ok(), "{command}: {parsed:?}");
        }
    }
}
