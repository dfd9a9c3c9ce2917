//! Change notification: directory watches (inotify) for the caches that
//! must never serve a stale byte. A watch is on a *directory* — an editor
//! that saves by writing a temporary file and renaming it over the original
//! replaces the file, and a watch on the file itself would be lost — and
//! on each of its ancestors up to the root, so that renaming a parent is
//! seen too. Watches are counted: they are added when an entry under a
//! directory is cached and removed with the last one, and every instance
//! in the process shares one [`WatchBudget`] (`--max-watches`), well
//! below the user's limit. A directory that cannot be watched (the budget,
//! the system's limit, a file system without notifications) is reported as
//! such, and its entries are revalidated per request instead.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rustix::fs::OFlags;
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io::Errno;

use super::Root;

/// What a watch reports: every way the entries of a directory can change.
const EVENTS: WatchFlags = WatchFlags::MODIFY
    .union(WatchFlags::ATTRIB)
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::CREATE)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF)
    .union(WatchFlags::ONLYDIR);

/// Events read in one [`Watches::drain`] at most.
pub const MAX_DRAIN: usize = 4096;

/// Watches all instances may hold together.
pub struct WatchBudget {
    max: usize,
    held: AtomicUsize,
    /// A watch was refused once (reported once).
    refused: AtomicBool,
}

impl WatchBudget {
    pub fn new(max: usize) -> Arc<WatchBudget> {
        Arc::new(WatchBudget {
            max,
            held: AtomicUsize::new(0),
            refused: AtomicBool::new(false),
        })
    }

    /// A quarter of the user's inotify watch limit, at most 8192.
    pub fn default_size() -> usize {
        std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .map_or(1024, |n| (n / 4).min(8192))
    }

    fn take(&self) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                (h < self.max).then_some(h + 1)
            })
            .is_ok()
    }

    fn give(&self) {
        self.held.fetch_sub(1, Ordering::AcqRel);
    }

    /// Watches held by all instances.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    fn refused_once(&self, why: impl std::fmt::Display) {
        if !self.refused.swap(true, Ordering::AcqRel) {
            crate::log::note(format_args!(
                "{why}: changed files under unwatched folders are found by a stat per request"
            ));
        }
    }
}

/// What changed, as paths relative to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An entry of a watched directory was written, replaced, created,
    /// removed or had its metadata changed: `path` is the entry.
    /// `complete`: the change is done (the file closed after writing,
    /// renamed into place or away, removed), not a write in progress.
    Entry {
        dir: String,
        path: String,
        complete: bool,
        /// Only its metadata changed (`touch`, `chmod`): a listing shows
        /// it, a page does not.
        attrib: bool,
    },
    /// A watched directory itself was moved or removed.
    Dir(String),
    /// Events were lost: anything may have changed.
    Overflow,
}

/// One watch: the directory (an inode) and the names it was asked for by
/// (one directory can be reached by several paths through symlinks), each
/// with its count.
struct Watched {
    names: HashMap<String, usize>,
}

/// One inotify instance and the directories it watches.
pub struct Watches {
    /// Shared with a thread that waits on it (live reload), never dup'ed.
    fd: Option<Arc<OwnedFd>>,
    by_wd: HashMap<i32, Watched>,
    by_dir: HashMap<String, i32>,
    budget: Arc<WatchBudget>,
    buf: Vec<MaybeUninit<u8>>,
}

impl Watches {
    /// A new instance; without one (the system's instance limit), nothing
    /// is watched and every [`Watches::hold`] says so.
    pub fn new(budget: Arc<WatchBudget>, enabled: bool) -> Watches {
        let fd = if enabled && budget.max > 0 {
            match inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK) {
                Ok(fd) => Some(Arc::new(fd)),
                Err(e) => {
                    budget.refused_once(format_args!("inotify: {e}"));
                    None
                }
            }
        } else {
            None
        };
        Watches {
            fd,
            by_wd: HashMap::new(),
            by_dir: HashMap::new(),
            budget,
            buf: vec![MaybeUninit::uninit(); 64 * 1024],
        }
    }

    /// The descriptor to wait on for events, if there is an instance.
    pub fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.fd.as_ref().map(|fd| fd.as_fd())
    }

    /// The same descriptor, for a thread that waits on it.
    pub fn shared_fd(&self) -> Option<Arc<OwnedFd>> {
        self.fd.clone()
    }

    /// Watches the directory `dir` (relative to the root, `""` for the
    /// root) and its ancestors, one more reference each. False when any of
    /// them could not be watched (then nothing is held).
    pub fn hold(&mut self, root: &Root, dir: &str) -> bool {
        let Some(fd) = &self.fd else {
            return false;
        };
        let chain = ancestors(dir);
        let mut taken: Vec<String> = Vec::new();
        for d in &chain {
            if let Some(wd) = self.by_dir.get(d.as_str()) {
                if let Some(n) = self.by_wd.get_mut(wd).and_then(|w| w.names.get_mut(d)) {
                    *n += 1;
                }
                taken.push(d.clone());
                continue;
            }
            let added = match add_watch(fd, root, d) {
                // The same directory under another name: one watch.
                Ok(wd) if self.by_wd.contains_key(&wd) => {
                    if let Some(w) = self.by_wd.get_mut(&wd) {
                        w.names.insert(d.clone(), 1);
                    }
                    self.by_dir.insert(d.clone(), wd);
                    true
                }
                Ok(wd) if self.budget.take() => {
                    self.by_wd.insert(
                        wd,
                        Watched {
                            names: HashMap::from([(d.clone(), 1)]),
                        },
                    );
                    self.by_dir.insert(d.clone(), wd);
                    true
                }
                Ok(wd) => {
                    let _ = inotify::remove_watch(&**fd, wd);
                    self.budget
                        .refused_once("the --max-watches budget is spent");
                    false
                }
                Err(e) => {
                    if matches!(e, Errno::NOSPC | Errno::NOMEM) {
                        self.budget.refused_once(format_args!("inotify watch: {e}"));
                    }
                    false
                }
            };
            if !added {
                for t in &taken {
                    self.release_one(t);
                }
                return false;
            }
            taken.push(d.clone());
        }
        true
    }

    /// Gives back what [`Watches::hold`] took for `dir`.
    pub fn release(&mut self, dir: &str) {
        for d in ancestors(dir) {
            self.release_one(&d);
        }
    }

    fn release_one(&mut self, dir: &str) {
        let Some(&wd) = self.by_dir.get(dir) else {
            return;
        };
        let Some(w) = self.by_wd.get_mut(&wd) else {
            return;
        };
        if let Some(n) = w.names.get_mut(dir) {
            *n -= 1;
            if *n == 0 {
                w.names.remove(dir);
                self.by_dir.remove(dir);
            }
        }
        if w.names.is_empty() {
            self.by_wd.remove(&wd);
            if let Some(fd) = &self.fd {
                let _ = inotify::remove_watch(&**fd, wd);
            }
            self.budget.give();
        }
    }

    /// Reads the pending events (nonblocking) into `out`. At most
    /// [`MAX_DRAIN`] at a time: a tree changing faster than they can be
    /// read (a script renaming in a loop) must not hold the caller, so past
    /// that the rest counts as an overflow (anything may have changed).
    pub fn drain(&mut self, out: &mut Vec<Change>) {
        let Some(fd) = &self.fd else {
            return;
        };
        let mut gone: Vec<i32> = Vec::new();
        let mut reader = inotify::Reader::new(&**fd, &mut self.buf);
        for n in 0.. {
            if n == MAX_DRAIN {
                out.push(Change::Overflow);
                break;
            }
            let ev = match reader.next() {
                Ok(ev) => ev,
                Err(Errno::INTR) => continue,
                Err(_) => break, // AGAIN: drained
            };
            let flags = ev.events();
            if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                out.push(Change::Overflow);
                continue;
            }
            let Some(w) = self.by_wd.get(&ev.wd()) else {
                continue;
            };
            if flags.intersects(ReadFlags::DELETE_SELF | ReadFlags::MOVE_SELF | ReadFlags::IGNORED)
            {
                out.extend(w.names.keys().map(|d| Change::Dir(d.clone())));
                if flags.contains(ReadFlags::IGNORED) {
                    gone.push(ev.wd());
                }
                continue;
            }
            // A folder made is complete at once (files made in it come as
            // events of their own, once it is watched).
            let complete = flags.intersects(
                ReadFlags::CLOSE_WRITE
                    | ReadFlags::MOVED_TO
                    | ReadFlags::MOVED_FROM
                    | ReadFlags::DELETE,
            ) || flags.contains(ReadFlags::CREATE | ReadFlags::ISDIR);
            let attrib = flags.contains(ReadFlags::ATTRIB);
            // Names that are not UTF-8 as relative paths spell them.
            if let Some(name) = ev.file_name().map(|n| super::path::to_rel(n.to_bytes())) {
                for dir in w.names.keys() {
                    let path = if dir.is_empty() {
                        name.to_string()
                    } else {
                        format!("{dir}/{name}")
                    };
                    out.push(Change::Entry {
                        dir: dir.clone(),
                        path,
                        complete,
                        attrib,
                    });
                }
            }
        }
        // The kernel dropped these watches (their directory is gone).
        for wd in gone {
            if let Some(w) = self.by_wd.remove(&wd) {
                for d in w.names.keys() {
                    self.by_dir.remove(d);
                }
                self.budget.give();
            }
        }
    }

    /// Directories watched by this instance.
    pub fn len(&self) -> usize {
        self.by_wd.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_wd.is_empty()
    }
}

impl Drop for Watches {
    fn drop(&mut self) {
        for _ in 0..self.by_wd.len() {
            self.budget.give();
        }
    }
}

/// Adds a watch on `dir` beneath the root: opened through the root (so
/// kernel-checked), then watched through its `/proc/self/fd` link.
fn add_watch(fd: &OwnedFd, root: &Root, dir: &str) -> Result<i32, Errno> {
    let dirfd = root
        .open_beneath(dir, OFlags::PATH | OFlags::DIRECTORY)
        .map_err(|_| Errno::NOENT)?;
    let path = format!("/proc/self/fd/{}", dirfd.as_raw_fd());
    inotify::add_watch(fd, path.as_str(), EVENTS)
}

/// `"a/b"` → `["", "a", "a/b"]`.
fn ancestors(dir: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut at = String::new();
    for seg in dir.split('/').filter(|s| !s.is_empty()) {
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(seg);
        out.push(at.clone());
    }
    out
}

/// The directory part of a relative path (`""` for a name at the root).
pub fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Whether notifications from the root's file system can be trusted: not
/// for network and user-space file systems, whose changes elsewhere never
/// reach inotify.
pub fn notifies(root: &Root) -> bool {
    // statfs f_type magics: NFS, SMB/CIFS (3), FUSE, 9P, Ceph, AFS, Coda,
    // Lustre... (linux/magic.h)
    const REMOTE: [i64; 11] = [
        0x6969,
        0x517b,
        0xff53_4d42,
        0xfe53_4d42,
        0x6573_5546,
        0x0102_1997,
        0x00c3_6400,
        0x5346_414f,
        0x6b41_4653,
        0x7375_7245,
        0x0bd0_0bd0,
    ];
    match rustix::fs::fstatfs(root.fd()) {
        // f_type's width differs between architectures.
        #[allow(clippy::unnecessary_cast)]
        Ok(st) => !REMOTE.contains(&(st.f_type as i64)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_run_from_the_root_down() {
        assert_eq!(ancestors(""), [""]);
        assert_eq!(ancestors("a/b"), ["", "a", "a/b"]);
        assert_eq!(parent("a/b/c.js"), "a/b");
        assert_eq!(parent("c.js"), "");
    }

    #[test]
    fn watches_see_writes_renames_and_deletes_and_are_counted() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("a/b")).unwrap();
        std::fs::write(t.path().join("a/b/f"), b"1").unwrap();
        let root = Root::open(t.path(), false).unwrap();
        let budget = WatchBudget::new(10);
        let mut w = Watches::new(Arc::clone(&budget), true);
        assert!(w.hold(&root, "a/b"));
        assert!(w.hold(&root, "a"));
        assert_eq!((w.len(), budget.held()), (3, 3));
        std::fs::write(t.path().join("a/b/f"), b"2").unwrap();
        std::fs::rename(t.path().join("a/b"), t.path().join("a/c")).unwrap();
        let mut out = Vec::new();
        w.drain(&mut out);
        assert!(out.contains(&Change::Entry {
            dir: "a/b".into(),
            path: "a/b/f".into(),
            complete: true,
            attrib: false,
        }));
        assert!(out.contains(&Change::Entry {
            dir: "a".into(),
            path: "a/b".into(),
            complete: true,
            attrib: false,
        }));
        w.release("a/b");
        w.release("a");
        assert_eq!((w.len(), budget.held()), (0, 0));
        // The budget is shared and enforced.
        let small = WatchBudget::new(1);
        let mut w = Watches::new(small, true);
        assert!(!w.hold(&root, "a"), "two watches needed, one allowed");
        assert!(w.is_empty());
    }
}
