//! Routing and file resolution: method → action, URL path → a file or
//! folder under the root, never outside it.
//!
//! SECURITY: the path is percent-decoded once, split into segments, and any
//! `..`, backslash or NUL is refused before the file system is touched. The
//! open itself is `openat2(root, rel, RESOLVE_BENEATH)`, so the kernel
//! refuses any walk — through `..` or a symlink — that leaves the root. An
//! absolute symlink that points back inside the root is resolved by
//! `realpath` and accepted only if the result still lies under the root.
//!
//! Opened files live in a small per-worker cache (`path → fd, metadata,
//! content type, and the bytes of small files`), revalidated by a fresh
//! resolve at most once a second, so a keep-alive hit costs no open, stat
//! or close.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::http::conditional::Outcome;
use crate::listing::View;
use crate::request::{Fields, Method, Request, Single};
use crate::response::Status;

/// How long a cached file is trusted before it is resolved again.
const REVALIDATE_AFTER: Duration = Duration::from_secs(1);
/// A cached file not revalidated (so not requested) for this long is closed.
const IDLE_EVICT: Duration = Duration::from_secs(2);
/// Files up to this size are kept in memory and sent with one write.
pub const SMALL_FILE: u64 = 32 * 1024;
/// Per-worker cache bounds.
const CACHE_ENTRIES: usize = 1024;
const CACHE_BYTES: usize = 8 << 20;

/// The served folder.
pub struct Root {
    dir: OwnedFd,
    path: PathBuf,
    hidden: bool,
}

impl Root {
    /// Opens `path`, which must be a directory.
    pub fn open(path: &Path, hidden: bool) -> std::io::Result<Root> {
        let path = std::fs::canonicalize(path)?;
        if !path.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        let dir = rustix::fs::open(
            &path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Root { dir, path, hidden })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn hidden(&self) -> bool {
        self.hidden
    }

    /// Opens `rel` (segments already checked) beneath the root.
    pub fn open_beneath(&self, rel: &str, flags: OFlags) -> Result<OwnedFd, Status> {
        let rel = if rel.is_empty() { "." } else { rel };
        // openat2 refuses O_PATH combined with other flags (EINVAL).
        // NONBLOCK: opening a FIFO must not block the worker.
        let flags = if flags.contains(OFlags::PATH) {
            flags | OFlags::CLOEXEC
        } else {
            flags | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK
        };
        // Without --hidden, a symlink could lead to a dotfile, so the walk
        // may not follow any: a path with one (ELOOP) goes the realpath way,
        // which checks where it leads.
        let mut resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        if !self.hidden {
            resolve |= ResolveFlags::NO_SYMLINKS;
        }
        match rustix::fs::openat2(&self.dir, rel, flags, Mode::empty(), resolve) {
            Ok(fd) => Ok(fd),
            // EXDEV: the walk left the root (or met an absolute symlink);
            // ELOOP: a symlink, refused above; ENOSYS: a kernel without
            // openat2. All: check by realpath.
            Err(Errno::XDEV | Errno::LOOP | Errno::NOSYS) => self.open_checked(rel, flags),
            Err(e) => Err(errno_status(e)),
        }
    }

    fn open_checked(&self, rel: &str, flags: OFlags) -> Result<OwnedFd, Status> {
        let real = std::fs::canonicalize(self.path.join(rel)).map_err(|_| Status::NotFound)?;
        if !real.starts_with(&self.path) {
            return Err(Status::NotFound);
        }
        let rel_real = real
            .strip_prefix(&self.path)
            .map_err(|_| Status::NotFound)?;
        // The dotfile rule applies to where a link leads, too.
        if !self.hidden
            && rel_real
                .components()
                .any(|c| c.as_os_str().as_encoded_bytes().starts_with(b"."))
        {
            return Err(Status::NotFound);
        }
        rustix::fs::open(&real, flags | OFlags::NOFOLLOW, Mode::empty()).map_err(errno_status)
    }
}

fn errno_status(e: Errno) -> Status {
    match e {
        Errno::ACCESS | Errno::PERM => Status::Forbidden,
        Errno::MFILE | Errno::NFILE | Errno::NOMEM => Status::ServiceUnavailable,
        _ => Status::NotFound,
    }
}

/// A URL path decoded and checked: `rel` is relative to the root, segments
/// joined by `/`, without empty or `.` segments.
#[derive(Debug, PartialEq, Eq)]
pub struct CleanPath {
    pub rel: String,
    pub trailing_slash: bool,
}

/// Decodes a raw (percent-encoded) path once and checks every segment.
///
/// Malformed escapes, invalid UTF-8 and NUL: 400. `..` or a backslash: 403.
/// A dotfile segment without `--hidden`: 404.
pub fn clean_path(raw: &str, hidden: bool) -> Result<CleanPath, Status> {
    let bytes = raw.as_bytes();
    // percent-encoding passes malformed escapes through; we refuse them.
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !ok {
                return Err(Status::BadRequest);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    let decoded = percent_encoding::percent_decode(bytes)
        .decode_utf8()
        .map_err(|_| Status::BadRequest)?;
    if decoded.contains('\0') {
        return Err(Status::BadRequest);
    }
    let mut rel = String::with_capacity(decoded.len());
    for seg in decoded.split('/') {
        match seg {
            "" | "." => continue,
            ".." => return Err(Status::Forbidden),
            s if s.contains('\\') => return Err(Status::Forbidden),
            s if s.starts_with('.') && !hidden => return Err(Status::NotFound),
            s => {
                if !rel.is_empty() {
                    rel.push('/');
                }
                rel.push_str(s);
            }
        }
    }
    Ok(CleanPath {
        rel,
        trailing_slash: decoded.ends_with('/'),
    })
}

/// An open regular file, as cached, with its validators and its
/// precompressed sidecars.
pub struct CachedFile {
    pub file: File,
    pub len: u64,
    /// The original's type, also for a sidecar.
    pub content_type: Box<str>,
    /// The whole content, for small files.
    pub bytes: Option<Box<[u8]>>,
    /// Strong entity tag from metadata, quotes included.
    pub etag: Box<str>,
    /// `Last-Modified` value: the mtime, but never later than now.
    pub last_modified: Box<str>,
    pub last_modified_secs: i64,
    /// `name.br` / `name.gz` next to the file, if any.
    pub br: Option<Rc<CachedFile>>,
    pub gz: Option<Rc<CachedFile>>,
    version: Version,
    checked: Cell<Instant>,
}

impl CachedFile {
    /// For a file sent from disk (not from memory): one fstat, so a file
    /// rewritten or truncated in place is never announced with the old
    /// length or ETag. A file held in memory is a consistent snapshot and
    /// needs no check within the revalidation second.
    fn unchanged_on_disk(&self) -> bool {
        self.file
            .metadata()
            .is_ok_and(|m| m.nlink() > 0 && Version::of(&m) == self.version)
            && self
                .br
                .as_ref()
                .is_none_or(|f| f.bytes.is_some() || f.unchanged_on_disk())
            && self
                .gz
                .as_ref()
                .is_none_or(|f| f.bytes.is_some() || f.unchanged_on_disk())
    }

    /// Bytes held in memory by this entry and its sidecars.
    fn held(&self) -> usize {
        self.bytes.as_ref().map_or(0, |b| b.len())
            + self.br.as_ref().map_or(0, |f| f.held())
            + self.gz.as_ref().map_or(0, |f| f.held())
    }
}

/// What revalidation compares: a changed file, or one replaced by rename,
/// differs in at least one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl Version {
    fn of(m: &Metadata) -> Version {
        Version {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
        }
    }
}

/// A route that found a file (to be planned) or decided everything else.
enum Found {
    File(Rc<CachedFile>),
    /// A folder named without its trailing slash.
    AddSlash,
    /// A folder without index.html: list it (or not).
    Folder {
        rel: String,
        dir: File,
    },
    Other(Reply),
}

/// Per-site choices made on the command line.
#[derive(Debug, Clone, Copy)]
pub struct SiteOptions {
    /// List folders without index.html (else 403).
    pub listing: bool,
    /// `--spa`: unknown extension-less paths get /index.html.
    pub spa: bool,
    /// `--cors`: answer preflight requests.
    pub cors: bool,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            listing: true,
            spa: false,
            cors: false,
        }
    }
}

/// What the router decided.
pub enum Reply {
    /// A file: which representation, and 200/206/304/412/416.
    File(crate::http::FileReply),
    /// 200 with a listing of a folder, HTML or JSON.
    Listing { body: Vec<u8>, json: bool },
    /// 304 for a response without validators (a listing, `If-None-Match: *`).
    NotModified,
    /// 301 to this Location: the same path with a slash appended.
    Redirect(String),
    /// 204 to OPTIONS, with `Allow`, and for a CORS preflight the
    /// `Access-Control-Allow-*` lines to add.
    Options(Option<Vec<u8>>),
    /// An error page; 405 carries `Allow`.
    Error(Status),
}

/// Per-worker state for resolving requests.
pub struct Resolver {
    cache: HashMap<Box<str>, Rc<CachedFile>>,
    cached_bytes: usize,
    site: SiteOptions,
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver::new(SiteOptions::default())
    }
}

impl Resolver {
    pub fn new(site: SiteOptions) -> Resolver {
        Resolver {
            cache: HashMap::with_capacity(64),
            cached_bytes: 0,
            site,
        }
    }

    /// Decides the reply to a request (HEAD is routed as GET); for a file,
    /// its fields pick the representation and the range.
    pub fn route(&mut self, root: &Root, req: &Request<'_>, now: Instant) -> Reply {
        let f = &req.fields;
        match self.route_file(root, req.method, req.path, now) {
            Found::File(entry) => Reply::File(crate::http::plan(entry, f, req.method)),
            Found::AddSlash => Reply::Redirect(redirect_location(req.path, req.query)),
            Found::Folder { .. } if !self.site.listing => Reply::Error(Status::Forbidden),
            Found::Folder { rel, dir } => match crate::http::listing_precondition(f, req.method) {
                Outcome::Proceed => {
                    let view = View::from_request(req.query, f.accept.iter());
                    crate::listing::render(root, &rel, &dir, view)
                }
                Outcome::NotModified => Reply::NotModified,
                Outcome::Failed => Reply::Error(Status::PreconditionFailed),
            },
            Found::Other(Reply::Error(Status::NotFound)) if self.site.spa && wants_app(req) => {
                match self.route_file(root, req.method, "/index.html", now) {
                    Found::File(entry) => Reply::File(crate::http::plan(entry, f, req.method)),
                    _ => Reply::Error(Status::NotFound),
                }
            }
            Found::Other(Reply::Options(None)) if self.site.cors => Reply::Options(preflight(f)),
            Found::Other(reply) => reply,
        }
    }

    fn route_file(&mut self, root: &Root, method: Method, path: &str, now: Instant) -> Found {
        match method {
            Method::Get | Method::Head => {}
            Method::Options => return Found::Other(Reply::Options(None)),
            Method::Post
            | Method::Put
            | Method::Delete
            | Method::Patch
            | Method::Connect
            | Method::Trace => return Found::Other(Reply::Error(Status::MethodNotAllowed)),
            Method::Unknown => return Found::Other(Reply::Error(Status::NotImplemented)),
        }
        if path == "*" {
            return Found::Other(Reply::Error(Status::BadRequest));
        }
        // Hot path: the raw path is the cache key (decoding is a function
        // of it, so escaped and plain paths cache alike).
        if let Some(hit) = self.cache.get(path)
            && now.duration_since(hit.checked.get()) < REVALIDATE_AFTER
            && (hit.bytes.is_some() || hit.unchanged_on_disk())
        {
            return Found::File(Rc::clone(hit));
        }
        let clean = match clean_path(path, root.hidden()) {
            Ok(c) => c,
            Err(status) => return Found::Other(Reply::Error(status)),
        };
        self.resolve(root, path, &clean, now)
    }

    fn resolve(&mut self, root: &Root, key: &str, clean: &CleanPath, now: Instant) -> Found {
        let fd = match root.open_beneath(&clean.rel, OFlags::RDONLY) {
            Ok(fd) => fd,
            Err(status) => {
                self.forget(key);
                return Found::Other(Reply::Error(status));
            }
        };
        let file = File::from(fd);
        let Ok(meta) = file.metadata() else {
            return Found::Other(Reply::Error(Status::NotFound));
        };
        if meta.is_dir() {
            if !clean.trailing_slash {
                return Found::AddSlash;
            }
            let index = if clean.rel.is_empty() {
                "index.html".to_owned()
            } else {
                format!("{}/index.html", clean.rel)
            };
            if let Ok(fd) = root.open_beneath(&index, OFlags::RDONLY) {
                let index_file = File::from(fd);
                if let Ok(m) = index_file.metadata()
                    && m.is_file()
                {
                    return self.insert(root, key, index_file, &m, &index, now);
                }
            }
            return Found::Folder {
                rel: clean.rel.clone(),
                dir: file,
            };
        }
        if !meta.is_file() {
            // FIFOs, sockets, devices: not content.
            return Found::Other(Reply::Error(Status::NotFound));
        }
        if clean.trailing_slash {
            // "/file.txt/" names a directory that does not exist.
            return Found::Other(Reply::Error(Status::NotFound));
        }
        self.insert(root, key, file, &meta, &clean.rel, now)
    }

    /// Caches the file at `rel` (just opened) with its sidecars, unless the
    /// cached entry is the same version, which is then trusted anew.
    fn insert(
        &mut self,
        root: &Root,
        key: &str,
        file: File,
        meta: &Metadata,
        rel: &str,
        now: Instant,
    ) -> Found {
        let sidecars = !(rel.ends_with(".br") || rel.ends_with(".gz"));
        let br = sidecars.then(|| open_sidecar(root, rel, "br")).flatten();
        let gz = sidecars.then(|| open_sidecar(root, rel, "gz")).flatten();
        let version_of = |f: &Option<(File, Metadata)>| f.as_ref().map(|(_, m)| Version::of(m));
        if let Some(old) = self.cache.get(key)
            && old.version == Version::of(meta)
            && old.br.as_ref().map(|f| f.version) == version_of(&br)
            && old.gz.as_ref().map(|f| f.version) == version_of(&gz)
        {
            // Unchanged: keep the cached bytes, trust it for another second.
            old.checked.set(now);
            return Found::File(Rc::clone(old));
        }
        self.forget(key);
        let content_type: Box<str> = content_type(rel).into();
        let mut entry = self.load(file, meta, content_type.clone(), now);
        entry.br = br.map(|(f, m)| Rc::new(self.load(f, &m, content_type.clone(), now)));
        entry.gz = gz.map(|(f, m)| Rc::new(self.load(f, &m, content_type, now)));
        if self.cache.len() >= CACHE_ENTRIES
            && let Some(victim) = self.cache.keys().next().cloned()
        {
            self.forget(&victim);
        }
        let entry = Rc::new(entry);
        self.cached_bytes += entry.held();
        self.cache.insert(key.into(), Rc::clone(&entry));
        Found::File(entry)
    }

    /// Builds a cache entry, reading a small file's bytes while the
    /// per-worker memory budget allows.
    fn load(
        &self,
        file: File,
        meta: &Metadata,
        content_type: Box<str>,
        now: Instant,
    ) -> CachedFile {
        let version = Version::of(meta);
        let len = meta.len();
        let mut bytes = None;
        if len <= SMALL_FILE && self.cached_bytes + len as usize <= CACHE_BYTES {
            let mut buf = vec![0u8; len as usize];
            // A file that shrank under us is served by sendfile instead.
            if matches!(read_full_at(&file, &mut buf), Ok(n) if n == buf.len()) {
                bytes = Some(buf.into_boxed_slice());
            }
        }
        let mtime_ns = i128::from(version.mtime) * 1_000_000_000 + i128::from(version.mtime_nsec);
        // Last-Modified is never later than Date (RFC 9110 §8.8.2.1).
        let now_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let lm_secs = version.mtime.min(now_secs);
        CachedFile {
            file,
            len,
            content_type,
            bytes,
            etag: crate::http::etag::for_file(version.ino, len, mtime_ns).into(),
            last_modified: crate::http::date::format(lm_secs).into(),
            last_modified_secs: lm_secs,
            br: None,
            gz: None,
            version,
            checked: Cell::new(now),
        }
    }

    /// Nothing cached (an idle worker may then sleep without a timeout).
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Closes cached files not asked for lately, so a deleted file's space
    /// is freed and idle entries don't hold descriptors.
    pub fn evict_idle(&mut self, now: Instant) {
        let mut freed = 0;
        self.cache.retain(|_, entry| {
            let keep = now.saturating_duration_since(entry.checked.get()) < IDLE_EVICT;
            if !keep {
                freed += entry.held();
            }
            keep
        });
        self.cached_bytes -= freed;
    }

    fn forget(&mut self, key: &str) {
        if let Some(old) = self.cache.remove(key) {
            self.cached_bytes -= old.held();
        }
    }
}

/// `--spa`: a GET/HEAD for an extension-less path from a client that
/// accepts HTML (a browser navigating inside a single-page app).
fn wants_app(req: &Request<'_>) -> bool {
    let last = req.path.rsplit('/').next().unwrap_or("");
    matches!(req.method, Method::Get | Method::Head)
        && !last.contains('.')
        && req
            .fields
            .accept
            .iter()
            .any(|l| l.windows(9).any(|w| w.eq_ignore_ascii_case(b"text/html")))
}

/// The `Access-Control-Allow-*` lines for a CORS preflight (an OPTIONS
/// with `Origin` and `Access-Control-Request-Method`), or None for a plain
/// OPTIONS. Requested headers are echoed when they are a clean token list.
fn preflight(f: &Fields<'_>) -> Option<Vec<u8>> {
    if !matches!(f.origin, Single::One(_)) || !matches!(f.cors_method, Single::One(_)) {
        return None;
    }
    let mut out = b"Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n".to_vec();
    let mut names: Vec<&[u8]> = Vec::new();
    for line in f.cors_headers.iter() {
        for name in line.split(|&b| b == b',') {
            let name = crate::request::trim_ows(name);
            if !name.is_empty() && name.iter().all(|&b| crate::request::is_tchar(b)) {
                names.push(name);
            }
        }
    }
    if !names.is_empty() {
        out.extend_from_slice(b"Access-Control-Allow-Headers: ");
        out.extend_from_slice(&names.join(&b", "[..]));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Access-Control-Max-Age: 86400\r\n");
    Some(out)
}

/// The 301 Location for a folder: the request's path as sent (still
/// percent-encoded) with a slash appended, then its query. Built from the
/// parsed path and query only, so nothing in the query can steer it, and
/// with leading slashes collapsed and backslashes escaped, so no browser
/// reads it as a link to another host.
pub fn redirect_location(path: &str, query: Option<&str>) -> String {
    let mut loc = String::with_capacity(path.len() + query.map_or(0, str::len) + 2);
    loc.push('/');
    loc.push_str(path.trim_start_matches('/'));
    loc.push('/');
    if let Some(q) = query {
        loc.push('?');
        loc.push_str(q);
    }
    loc.replace('\\', "%5C")
}

/// `rel.ext` if it is a regular file beneath the root.
fn open_sidecar(root: &Root, rel: &str, ext: &str) -> Option<(File, Metadata)> {
    let fd = root
        .open_beneath(&format!("{rel}.{ext}"), OFlags::RDONLY)
        .ok()?;
    let file = File::from(fd);
    let meta = file.metadata().ok()?;
    meta.is_file().then_some((file, meta))
}

fn read_full_at(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// `Content-Type` for a file name: mime_guess, with our overrides, and
/// `charset=utf-8` on text types.
pub fn content_type(name: &str) -> String {
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let mime: &str = match ext.to_ascii_lowercase().as_str() {
        "js" | "mjs" => "text/javascript",
        "wasm" => "application/wasm",
        _ => mime_guess::from_ext(ext)
            .first_raw()
            .unwrap_or("application/octet-stream"),
    };
    if mime.starts_with("text/") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &str) -> Result<String, Status> {
        clean_path(raw, false).map(|c| c.rel)
    }

    #[test]
    fn paths_decode_once_and_normalise() {
        assert_eq!(clean("/"), Ok(String::new()));
        assert_eq!(clean("/a//b/./c"), Ok("a/b/c".into()));
        assert_eq!(clean("/a%20b"), Ok("a b".into()));
        assert_eq!(clean("/a+b"), Ok("a+b".into()));
        assert_eq!(clean("/%25"), Ok("%".into()));
        assert_eq!(clean("/caf%C3%A9"), Ok("café".into()));
        // Double encoding stays encoded: %252e%252e is the name "%2e%2e".
        assert_eq!(clean("/%252e%252e/x"), Ok("%2e%2e/x".into()));
    }

    #[test]
    fn traversal_and_bad_escapes_are_refused() {
        assert_eq!(clean("/../etc/passwd"), Err(Status::Forbidden));
        assert_eq!(clean("/a/%2e%2e/%2e%2e/etc"), Err(Status::Forbidden));
        assert_eq!(clean("/..%2f..%2fetc"), Err(Status::Forbidden));
        assert_eq!(clean("/..%5c..%5cetc"), Err(Status::Forbidden));
        assert_eq!(clean("/a\\b"), Err(Status::Forbidden));
        assert_eq!(clean("/%00"), Err(Status::BadRequest));
        assert_eq!(clean("/%zz"), Err(Status::BadRequest));
        assert_eq!(clean("/%4"), Err(Status::BadRequest));
        assert_eq!(clean("/%ff"), Err(Status::BadRequest));
        assert_eq!(clean("/.env"), Err(Status::NotFound));
        assert_eq!(clean_path("/.env", true).map(|c| c.rel), Ok(".env".into()));
    }

    #[test]
    fn redirects_keep_encoding_and_query_and_stay_on_site() {
        assert_eq!(redirect_location("/a%20b", None), "/a%20b/");
        assert_eq!(redirect_location("/d", Some("x=1&y")), "/d/?x=1&y");
        assert_eq!(redirect_location("//evil.example", None), "/evil.example/");
        assert_eq!(
            redirect_location("/sub", Some("next=http://x/\\evil")),
            "/sub/?next=http://x/%5Cevil"
        );
    }

    #[test]
    fn content_types_follow_the_rules() {
        assert_eq!(content_type("a.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("a.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("a.txt"), "text/plain; charset=utf-8");
        assert_eq!(content_type("a.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("a.mjs"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("a.wasm"), "application/wasm");
        assert_eq!(content_type("a.png"), "image/png");
        assert_eq!(content_type("a.unknownext"), "application/octet-stream");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;
    use crate::request::{Limits, parse};

    fn get(resolver: &mut Resolver, root: &Root, path: &str, now: Instant) -> Reply {
        let raw = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
        let (req, _) = parse(raw.as_bytes(), &Limits::default()).unwrap().unwrap();
        resolver.route(root, &req, now)
    }

    #[test]
    fn the_file_cache_stays_within_its_entry_and_byte_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let n = CACHE_ENTRIES + 50;
        for i in 0..n {
            std::fs::write(dir.path().join(format!("f{i}.txt")), vec![b'x'; 16 * 1024]).unwrap();
        }
        let root = Root::open(dir.path(), false).unwrap();
        let mut r = Resolver::default();
        let now = Instant::now();
        for i in 0..n {
            assert!(matches!(
                get(&mut r, &root, &format!("/f{i}.txt"), now),
                Reply::File(_)
            ));
            assert!(r.cache.len() <= CACHE_ENTRIES);
            assert!(r.cached_bytes <= CACHE_BYTES);
        }
        assert_eq!(r.cache.len(), CACHE_ENTRIES);
        let held: usize = r.cache.values().map(|e| e.held()).sum();
        assert_eq!(held, r.cached_bytes, "byte accounting matches the entries");
        // Entries nobody asked for lately are closed.
        r.evict_idle(now + IDLE_EVICT + Duration::from_millis(1));
        assert!(r.cache.is_empty());
        assert_eq!(r.cached_bytes, 0);
    }
}
