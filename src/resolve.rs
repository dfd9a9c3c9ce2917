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

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::request::Method;
use crate::response::Status;

/// How long a cached file is trusted before it is resolved again.
const REVALIDATE_AFTER: Duration = Duration::from_secs(1);
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
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(&self.dir, rel, flags, Mode::empty(), resolve) {
            Ok(fd) => Ok(fd),
            // EXDEV: the walk left the root (or met an absolute symlink);
            // ENOSYS: a kernel without openat2. Both: check by realpath.
            Err(Errno::XDEV) | Err(Errno::NOSYS) => self.open_checked(rel, flags),
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

/// An open regular file, as cached.
pub struct CachedFile {
    pub file: File,
    pub len: u64,
    pub content_type: Box<str>,
    /// The whole content, for small files.
    pub bytes: Option<Box<[u8]>>,
    dev: u64,
    ino: u64,
    mtime: SystemTime,
    checked: Instant,
}

/// What the router decided.
pub enum Reply {
    /// 200 with a file.
    File(Rc<CachedFile>),
    /// 200 with an HTML listing of a folder.
    Listing(Vec<u8>),
    /// 301 to the same path with a slash appended.
    AddSlash,
    /// 204 to OPTIONS, with `Allow`.
    Options,
    /// An error page; 405 carries `Allow`.
    Error(Status),
}

/// Per-worker state for resolving requests.
pub struct Resolver {
    cache: HashMap<Box<str>, Rc<CachedFile>>,
    cached_bytes: usize,
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver {
            cache: HashMap::with_capacity(64),
            cached_bytes: 0,
        }
    }
}

impl Resolver {
    /// Decides the reply to `method` on the raw `path` (HEAD is routed as GET).
    pub fn route(&mut self, root: &Root, method: Method, path: &str, now: Instant) -> Reply {
        match method {
            Method::Get | Method::Head => {}
            Method::Options => return Reply::Options,
            Method::Post
            | Method::Put
            | Method::Delete
            | Method::Patch
            | Method::Connect
            | Method::Trace => return Reply::Error(Status::MethodNotAllowed),
            Method::Unknown => return Reply::Error(Status::NotImplemented),
        }
        if path == "*" {
            return Reply::Error(Status::BadRequest);
        }
        // Hot path: a path without escapes is its own cache key.
        if !path.contains('%')
            && let Some(hit) = self.cache.get(path)
            && now.duration_since(hit.checked) < REVALIDATE_AFTER
        {
            return Reply::File(Rc::clone(hit));
        }
        let clean = match clean_path(path, root.hidden()) {
            Ok(c) => c,
            Err(status) => return Reply::Error(status),
        };
        self.resolve(root, path, &clean, now)
    }

    fn resolve(&mut self, root: &Root, key: &str, clean: &CleanPath, now: Instant) -> Reply {
        let fd = match root.open_beneath(&clean.rel, OFlags::RDONLY) {
            Ok(fd) => fd,
            Err(status) => {
                self.forget(key);
                return Reply::Error(status);
            }
        };
        let file = File::from(fd);
        let Ok(meta) = file.metadata() else {
            return Reply::Error(Status::NotFound);
        };
        if meta.is_dir() {
            if !clean.trailing_slash {
                return Reply::AddSlash;
            }
            let index = if clean.rel.is_empty() {
                "index.html".to_owned()
            } else {
                format!("{}/index.html", clean.rel)
            };
            return match root.open_beneath(&index, OFlags::RDONLY) {
                Ok(fd) => {
                    let index_file = File::from(fd);
                    match index_file.metadata() {
                        Ok(m) if m.is_file() => self.insert(key, index_file, &m, &index, now),
                        _ => crate::listing::render(root, &clean.rel, &file),
                    }
                }
                Err(_) => crate::listing::render(root, &clean.rel, &file),
            };
        }
        if !meta.is_file() {
            // FIFOs, sockets, devices: not content.
            return Reply::Error(Status::NotFound);
        }
        if clean.trailing_slash {
            // "/file.txt/" names a directory that does not exist.
            return Reply::Error(Status::NotFound);
        }
        self.insert(key, file, &meta, &clean.rel, now)
    }

    fn insert(
        &mut self,
        key: &str,
        file: File,
        meta: &std::fs::Metadata,
        name: &str,
        now: Instant,
    ) -> Reply {
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if let Some(old) = self.cache.get_mut(key)
            && old.dev == meta.dev()
            && old.ino == meta.ino()
            && old.len == meta.len()
            && old.mtime == mtime
        {
            // Unchanged: keep the cached bytes, trust it for another second.
            if let Some(entry) = Rc::get_mut(old) {
                entry.checked = now;
                return Reply::File(Rc::clone(old));
            }
        }
        let len = meta.len();
        let mut bytes = None;
        if len <= SMALL_FILE && self.cached_bytes + len as usize <= CACHE_BYTES {
            let mut buf = vec![0u8; len as usize];
            match read_full_at(&file, &mut buf) {
                Ok(n) if n == buf.len() => bytes = Some(buf.into_boxed_slice()),
                // Shrunk under us: serve what the descriptor gives, by sendfile.
                _ => {}
            }
        }
        let entry = Rc::new(CachedFile {
            len,
            content_type: content_type(name).into(),
            bytes,
            dev: meta.dev(),
            ino: meta.ino(),
            mtime,
            checked: now,
            file,
        });
        self.forget(key);
        if self.cache.len() >= CACHE_ENTRIES
            && let Some(victim) = self.cache.keys().next().cloned()
        {
            self.forget(&victim);
        }
        self.cached_bytes += entry.bytes.as_ref().map_or(0, |b| b.len());
        self.cache.insert(key.into(), Rc::clone(&entry));
        Reply::File(entry)
    }

    fn forget(&mut self, key: &str) {
        if let Some(old) = self.cache.remove(key) {
            self.cached_bytes -= old.bytes.as_ref().map_or(0, |b| b.len());
        }
    }
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

/// Borrow-free handle for the sendfile path.
pub fn file_fd(f: &CachedFile) -> std::os::fd::BorrowedFd<'_> {
    f.file.as_fd()
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
