//! Compressed forms, made once per version of a file (or of a listing) and
//! kept, so a compressed response costs what a precompressed file does.
//!
//! - Each (version, coding) is compressed at most once per process: the
//!   forms are shared by all workers, kept within a memory budget
//!   (`--compress-cache`, least recently used out), and a version's forms
//!   are dropped the moment the file cache hears the file changed.
//! - No worker compresses: two threads of their own (at a lower priority)
//!   do. The first asks for a version start a fast pass of every coding
//!   (brotli 5, zstd 3, gzip 6: ready in milliseconds for usual files), and
//!   the best pass (brotli 11 with a 16 MiB window, zstd 19, gzip 9) then
//!   replaces each in the background. Until a form is ready, responses are
//!   identity.
//! - Compressible: text, JavaScript, JSON, XML, SVG, wasm, web manifests,
//!   source maps, TrueType and OpenType fonts — at least [`MIN_LEN`] bytes
//!   and at most `--compress-max`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};

use super::budget::{FdBudget, FdTicket};
use crate::http::negotiate::Coding;

/// Bodies shorter than this stay identity: compression would save little.
pub const MIN_LEN: u64 = 1024;

/// Whether a content type is worth compressing.
pub fn compressible(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime.starts_with("text/")
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
        || matches!(
            mime.as_str(),
            "application/javascript"
                | "application/json"
                | "application/xml"
                | "application/wasm"
                | "application/manifest+json"
                | "image/svg+xml"
                | "font/ttf"
                | "font/otf"
                | "application/x-font-ttf"
                | "application/x-font-opentype"
                | "application/vnd.ms-opentype"
                | "application/font-sfnt"
        )
}

/// A version's identity: a hash of what tells versions apart.
pub fn source_id(parts: impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// A compressed form.
#[derive(Debug)]
pub struct Form {
    pub coding: Coding,
    /// Its length in bytes.
    pub len: u64,
    pub data: FormData,
    /// Its strong ETag: the source's with the coding appended (and `-fast`
    /// or `-quick` until the best pass's form replaces it).
    pub etag: Box<str>,
    /// Made by the best pass (no better one is coming).
    pub best: bool,
}

/// Where a form's bytes are.
#[derive(Debug)]
pub enum FormData {
    /// In memory: small forms, copied behind the response head.
    Bytes(Arc<[u8]>),
    /// In an anonymous in-memory file (memfd), sent by sendfile like a
    /// precompressed file on disk; it holds a place in the descriptor
    /// budget.
    File(File, FdTicket),
}

/// Forms at least this long are kept in a memfd and sent with sendfile
/// (no copy); shorter ones are copied behind the head (one send).
pub const FILE_MIN: usize = 16 * 1024;

impl Form {
    fn new(
        coding: Coding,
        bytes: Vec<u8>,
        etag: Box<str>,
        best: bool,
        fds: &Arc<FdBudget>,
    ) -> Form {
        let len = bytes.len() as u64;
        let data = match in_memfd(&bytes, fds) {
            Some((file, ticket)) => FormData::File(file, ticket),
            None => FormData::Bytes(bytes.into()),
        };
        Form {
            coding,
            len,
            data,
            etag,
            best,
        }
    }

    /// The form's bytes (a copy, when they are in a memfd).
    pub fn bytes(&self) -> std::io::Result<Arc<[u8]>> {
        match &self.data {
            FormData::Bytes(b) => Ok(Arc::clone(b)),
            FormData::File(file, _) => {
                let mut buf = vec![0u8; self.len as usize];
                let n = super::read_full_at(file, &mut buf)?;
                buf.truncate(n);
                Ok(buf.into())
            }
        }
    }
}

/// A long form's bytes in a memfd, sealed against any change; None for a
/// short one, or when no descriptor (or memfd) is to be had: memfds take
/// descriptors only while half the descriptor budget is free.
fn in_memfd(bytes: &[u8], fds: &Arc<FdBudget>) -> Option<(File, FdTicket)> {
    use rustix::fs::{MemfdFlags, SealFlags};
    if bytes.len() < FILE_MIN {
        return None;
    }
    let ticket = fds.spare_ticket()?;
    let fd = rustix::fs::memfd_create(
        "ferry-form",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )
    .ok()?;
    let file = File::from(fd);
    file.write_all_at(bytes, 0).ok()?;
    let seals = SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL;
    rustix::fs::fcntl_add_seals(&file, seals).ok()?;
    Some((file, ticket))
}

/// What to compress.
pub enum Source {
    /// An open file of `len` bytes; `unchanged` tells, after reading,
    /// whether the file is still the version asked for (else what was read
    /// may be another version's bytes, and nothing is kept).
    File {
        file: File,
        len: u64,
        unchanged: Box<dyn Fn(&File) -> bool + Send>,
        /// The descriptor's place in the descriptor budget.
        ticket: FdTicket,
    },
    Bytes(Arc<[u8]>),
}

impl Source {
    fn read(&self) -> std::io::Result<Arc<[u8]>> {
        match self {
            Source::Bytes(b) => Ok(Arc::clone(b)),
            Source::File {
                file,
                len,
                unchanged,
                ..
            } => {
                let mut buf = vec![0u8; *len as usize];
                let filled = super::read_full_at(file, &mut buf)?;
                if filled != buf.len() || !unchanged(file) {
                    return Err(std::io::ErrorKind::InvalidData.into());
                }
                Ok(buf.into())
            }
        }
    }
}

/// Bodies up to this size are compressed by the worker itself when the
/// client accepts no other representation and no form is ready yet (at
/// the quickest level); larger ones get 503 with Retry-After.
pub const INLINE_MAX: u64 = 256 * 1024;

/// Versions queued or being compressed at most (each may hold a
/// descriptor): a flood of requests for many files waits its turn as
/// identity responses instead of queueing without bound.
pub const MAX_QUEUED: usize = 32;

/// Versions remembered as too large for the budget (not compressed again).
const TOO_BIG_MEMO: usize = 4096;

struct Job {
    id: u64,
    source: Source,
    /// The source's ETag (quotes included), to derive the forms' tags.
    etag: Box<str>,
    best: bool,
}

struct Slot {
    form: Arc<Form>,
    used: u64,
}

#[derive(Default)]
struct Inner {
    forms: HashMap<(u64, Coding), Slot>,
    /// The forms by last use, oldest first.
    order: BTreeMap<u64, (u64, Coding)>,
    held: usize,
    clock: u64,
    /// Versions whose passes are queued or running.
    asked: HashSet<u64>,
    /// Versions dropped while being compressed: their results are not kept.
    dropped: HashSet<u64>,
    /// Versions whose forms did not fit the budget.
    too_big: HashSet<u64>,
}

impl Inner {
    fn touch(&mut self, key: (u64, Coding)) -> Option<Arc<Form>> {
        self.clock += 1;
        let now = self.clock;
        let slot = self.forms.get_mut(&key)?;
        self.order.remove(&slot.used);
        slot.used = now;
        self.order.insert(now, key);
        Some(Arc::clone(&slot.form))
    }

    fn remove(&mut self, key: (u64, Coding)) {
        if let Some(s) = self.forms.remove(&key) {
            self.order.remove(&s.used);
            self.held -= s.form.len as usize;
        }
    }
}

/// The shared store of compressed forms and its two threads.
pub struct Compressor {
    inner: Mutex<Inner>,
    budget: usize,
    /// The descriptor budget the files being compressed count against.
    fds: Arc<FdBudget>,
    fast: Mutex<Sender<Job>>,
    best: Mutex<Sender<Job>>,
}

impl Compressor {
    /// Starts the fast-pass and best-pass threads. `budget`: bytes of forms
    /// kept; `fds`: the descriptor budget a file being compressed holds a
    /// place in.
    pub fn start(budget: usize, fds: Arc<FdBudget>) -> std::io::Result<Arc<Compressor>> {
        let (fast_tx, fast_rx) = channel::<Job>();
        let (best_tx, best_rx) = channel::<Job>();
        let c = Arc::new(Compressor {
            inner: Mutex::default(),
            budget,
            fds,
            fast: Mutex::new(fast_tx),
            best: Mutex::new(best_tx),
        });
        for (name, rx) in [
            ("ferry-compress", fast_rx),
            ("ferry-compress-best", best_rx),
        ] {
            let c = Arc::clone(&c);
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    // Below the workers: compression never competes with
                    // answering requests.
                    let _ = rustix::process::setpriority_process(None, 10);
                    for job in rx {
                        c.run(job);
                    }
                })?;
        }
        Ok(c)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The ready forms of version `id` (br, zstd, gzip).
    pub fn forms(&self, id: u64) -> [Option<Arc<Form>>; 3] {
        let mut inner = self.lock();
        Coding::COMPRESSED.map(|c| inner.touch((id, c)))
    }

    /// Asks for the forms of version `id`, once: `source` is called only
    /// if they are not made nor being made, and there is room in the
    /// queue (else a later request asks again).
    pub fn ask(&self, id: u64, etag: &str, source: impl FnOnce() -> Option<Source>) {
        {
            let mut inner = self.lock();
            if inner.asked.len() >= MAX_QUEUED
                || inner.too_big.contains(&id)
                || !inner.asked.insert(id)
            {
                return;
            }
            inner.dropped.remove(&id);
        }
        let Some(source) = source() else {
            self.lock().asked.remove(&id);
            return;
        };
        let job = Job {
            id,
            source,
            etag: etag.into(),
            best: false,
        };
        let _ = self
            .fast
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job);
    }

    /// Whether version `id`'s forms were found too large to keep: they
    /// are not made again, so a client taking nothing else never gets one.
    pub fn too_big(&self, id: u64) -> bool {
        self.lock().too_big.contains(&id)
    }

    /// A place in the descriptor budget for a file to compress (None: the
    /// budget is spent, and the file is not compressed now).
    pub fn ticket(&self) -> Option<FdTicket> {
        self.fds.ticket()
    }

    /// A version is gone (its file changed): its forms go too.
    pub fn forget(&self, id: u64) {
        let mut inner = self.lock();
        for c in Coding::COMPRESSED {
            inner.remove((id, c));
        }
        if inner.asked.contains(&id) {
            inner.dropped.insert(id);
        }
    }

    /// Bytes of forms held (always within the budget).
    pub fn held(&self) -> usize {
        self.lock().held
    }

    fn run(&self, job: Job) {
        let bytes = job.source.read();
        for coding in Coding::COMPRESSED {
            let Ok(bytes) = &bytes else { break };
            if self.lock().dropped.contains(&job.id) {
                break;
            }
            let level = if job.best { Level::Best } else { Level::Fast };
            let Ok(out) = compress(coding, bytes, level) else {
                continue;
            };
            let etag = form_etag(&job.etag, coding, level);
            let form = Form::new(coding, out, etag, job.best, &self.fds);
            self.keep(job.id, Arc::new(form));
        }
        let again = bytes.is_ok() && !job.best && {
            let inner = self.lock();
            !inner.dropped.contains(&job.id) && !inner.too_big.contains(&job.id)
        };
        if again {
            // The best pass reads the source again rather than holding its
            // bytes while queued.
            let next = Job { best: true, ..job };
            let _ = self
                .best
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .send(next);
        } else {
            let mut inner = self.lock();
            inner.asked.remove(&job.id);
            inner.dropped.remove(&job.id);
        }
    }

    /// Makes a form of one coding now, at the quickest level, on the
    /// caller's thread (a
    /// body of at most [`INLINE_MAX`] bytes that the client takes in no
    /// other representation), and keeps it like the threads' forms (when
    /// the version has an `id`).
    pub fn make_now(
        &self,
        id: Option<u64>,
        etag: &str,
        coding: Coding,
        data: &[u8],
    ) -> Option<Arc<Form>> {
        let bytes = compress(coding, data, Level::Inline).ok()?;
        let form = Arc::new(Form::new(
            coding,
            bytes,
            form_etag(etag, coding, Level::Inline),
            false,
            &self.fds,
        ));
        if let Some(id) = id {
            self.keep(id, Arc::clone(&form));
        }
        Some(form)
    }

    /// Keeps a form, within the budget (least recently used out).
    fn keep(&self, id: u64, form: Arc<Form>) {
        let len = form.len as usize;
        let mut inner = self.lock();
        if inner.dropped.contains(&id) {
            return;
        }
        if len > self.budget / 4 {
            // It would push out most of what is kept: never compress this
            // version again.
            if inner.too_big.len() >= TOO_BIG_MEMO {
                inner.too_big.clear();
            }
            inner.too_big.insert(id);
            return;
        }
        inner.remove((id, form.coding));
        while inner.held + len > self.budget {
            let Some((_, &victim)) = inner.order.iter().next() else {
                break;
            };
            inner.remove(victim);
        }
        inner.clock += 1;
        let used = inner.clock;
        inner.held += len;
        inner.order.insert(used, (id, form.coding));
        inner.forms.insert((id, form.coding), Slot { form, used });
    }
}

/// A form's strong ETag: its source's with the coding appended, and
/// `-fast` or `-quick` for the lower levels' forms (other bytes than the
/// best level's).
fn form_etag(source: &str, coding: Coding, level: Level) -> Box<str> {
    format!(
        "{}-{}{}\"",
        source.trim_end_matches('"'),
        String::from_utf8_lossy(coding.token()),
        match level {
            Level::Inline => "-quick",
            Level::Fast => "-fast",
            Level::Best => "",
        }
    )
    .into()
}

/// How hard to compress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// On a worker, for a client that takes nothing else: the quickest
    /// (brotli 1, zstd 1, gzip 1), about a millisecond for 256 KiB.
    Inline,
    /// The first pass: brotli 5, zstd 3, gzip 6.
    Fast,
    /// The second: brotli 11 with a 16 MiB window, zstd 19, gzip 9.
    Best,
}

/// Compresses `data` with `coding` at `level`.
pub fn compress(coding: Coding, data: &[u8], level: Level) -> std::io::Result<Vec<u8>> {
    let pick = |inline, fast, best| match level {
        Level::Inline => inline,
        Level::Fast => fast,
        Level::Best => best,
    };
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    match coding {
        Coding::Br => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: pick(1, 5, 11),
                lgwin: pick(22, 22, 24),
                size_hint: data.len(),
                ..Default::default()
            };
            let mut input = data;
            brotli::BrotliCompress(&mut input, &mut out, &params)?;
        }
        Coding::Zstd => {
            out = zstd::bulk::compress(data, pick(1, 3, 19))?;
        }
        Coding::Gzip => {
            let level = flate2::Compression::new(pick(1, 6, 9) as u32);
            let mut enc = flate2::write::GzEncoder::new(out, level);
            enc.write_all(data)?;
            out = enc.finish()?;
        }
        Coding::Identity => out.extend_from_slice(data),
    }
    Ok(out)
}

/// Decompresses (for tests).
pub fn decompress(coding: Coding, data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match coding {
        Coding::Br => {
            brotli::BrotliDecompress(&mut &data[..], &mut out)?;
        }
        Coding::Zstd => out = zstd::stream::decode_all(data)?,
        Coding::Gzip => {
            flate2::read::GzDecoder::new(data).read_to_end(&mut out)?;
        }
        Coding::Identity => out.extend_from_slice(data),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_that_compress() {
        for t in [
            "text/html; charset=utf-8",
            "text/javascript; charset=utf-8",
            "application/json",
            "application/ld+json",
            "image/svg+xml",
            "application/wasm",
            "application/manifest+json",
            "font/ttf",
            "font/otf",
            "application/atom+xml",
        ] {
            assert!(compressible(t), "{t}");
        }
        for t in [
            "image/png",
            "video/webm",
            "application/zip",
            "font/woff2",
            "font/woff",
            "application/gzip",
        ] {
            assert!(!compressible(t), "{t}");
        }
    }

    #[test]
    fn every_coding_round_trips_at_both_levels() {
        let data: Vec<u8> = (0..20_000).map(|i| b"ferry compresses "[i % 17]).collect();
        for c in Coding::COMPRESSED {
            for level in [Level::Inline, Level::Fast, Level::Best] {
                let z = compress(c, &data, level).unwrap();
                assert!(z.len() < data.len() / 10, "{c:?} {level:?}");
                assert_eq!(decompress(c, &z).unwrap(), data, "{c:?} {level:?}");
            }
        }
    }

    #[test]
    fn a_forgotten_version_loses_its_forms() {
        let c = Compressor::start(1 << 20, FdBudget::new(100)).unwrap();
        let data: Arc<[u8]> = b"ferry compresses ".repeat(2000).into();
        c.ask(1, "\"t\"", || Some(Source::Bytes(data)));
        let all_best = |c: &Compressor| {
            c.forms(1)
                .iter()
                .all(|f| f.as_ref().is_some_and(|f| f.best))
        };
        for _ in 0..1000 {
            if all_best(&c) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(all_best(&c));
        assert_eq!(c.forms(1)[0].as_ref().unwrap().etag.as_ref(), "\"t-br\"");
        assert!(c.held() > 0);
        c.forget(1);
        assert!(c.forms(1).iter().all(Option::is_none));
        assert_eq!(c.held(), 0);
    }
}
