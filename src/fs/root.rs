//! The served folder, and every open beneath it.
//!
//! SECURITY: every open is checked by the kernel against the root. The
//! common case is one `openat2(root, rel, RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS)`. A path with a symlink on its way takes the slow
//! path: the links are read one at a time (`readlinkat` on a descriptor
//! opened without following), every name on the way — the request's and
//! the links' — is checked (the dotfile rule, never above the root), and
//! the resolved path is opened with the same `openat2` flags. Whatever
//! changes in the tree meanwhile (a directory swapped for a symlink), the
//! file opened is beneath the root and reached without following a link:
//! there is no check-then-open window. An absolute link target that names
//! the root another way (a symlinked parent folder) is resolved with
//! `realpath` only to learn where beneath the root it leads; that path is
//! then checked and opened like the rest. On a kernel without `openat2`
//! (before 5.6), each open walks the path one component at a time from
//! the root's descriptor with `O_NOFOLLOW`.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::path::rel_bytes;
use crate::http::Status;

/// Symlinks followed for one open at most (the kernel's MAXSYMLINKS).
const MAX_LINKS: usize = 40;
/// Resolutions retried when the tree changes between resolve and open.
const MAX_RETRIES: usize = 3;
const RESOLVE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

/// Whether this kernel has `openat2` (cleared on the first ENOSYS).
static HAVE_OPENAT2: AtomicBool = AtomicBool::new(true);

/// The served folder.
pub struct Root {
    dir: OwnedFd,
    path: PathBuf,
    hidden: bool,
}

impl Root {
    /// Opens `path`, which must be a directory. `hidden`: serve dotfiles.
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

    /// The root's own descriptor (`O_PATH`).
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// The metadata of `rel` (a resolved path: no symlink is followed at
    /// its end), for revalidating what cannot be watched.
    pub fn stat(&self, rel: &str) -> Option<rustix::fs::Stat> {
        let rel = if rel.is_empty() { "." } else { rel };
        let name = rel_bytes(rel);
        rustix::fs::statat(
            &self.dir,
            OsStr::from_bytes(&name),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .ok()
    }

    /// Opens `rel` (segments already checked; names that are not UTF-8
    /// escaped as [`super::path`] says) beneath the root.
    pub fn open_beneath(&self, rel: &str, flags: OFlags) -> Result<OwnedFd, Status> {
        self.open_resolved(rel, flags).map(|(fd, _)| fd)
    }

    /// Opens `rel` (segments already checked) beneath the root; with the
    /// path it led to when a symlink was on its way (None: `rel` itself).
    pub fn open_resolved(
        &self,
        rel: &str,
        flags: OFlags,
    ) -> Result<(OwnedFd, Option<String>), Status> {
        // NONBLOCK: opening a FIFO must not block the worker. openat2
        // refuses O_PATH combined with most other flags (EINVAL).
        let flags = if flags.contains(OFlags::PATH) {
            flags | OFlags::CLOEXEC
        } else {
            flags | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK
        };
        match self.open_no_links(rel, flags) {
            Ok(fd) => Ok((fd, None)),
            // A symlink on the way.
            Err(Errno::LOOP) => self.open_through_links(rel, flags),
            Err(e) => Err(errno_status(e)),
        }
    }

    /// Resolves the links on `rel`'s way, then opens the result (and says
    /// what it was); again if the tree changed in between.
    fn open_through_links(
        &self,
        rel: &str,
        flags: OFlags,
    ) -> Result<(OwnedFd, Option<String>), Status> {
        for _ in 0..MAX_RETRIES {
            let resolved = self.resolve_links(rel)?;
            match self.open_no_links(&resolved, flags) {
                Ok(fd) => return Ok((fd, Some(resolved))),
                Err(Errno::LOOP) => continue,
                Err(e) => return Err(errno_status(e)),
            }
        }
        Err(Status::NotFound)
    }

    /// The path `rel` leads to, with every symlink on the way replaced by
    /// its target, or why it may not be served: a name that is a dotfile
    /// (without `--hidden`), a walk above the root or out of it, or too
    /// many links.
    fn resolve_links(&self, rel: &str) -> Result<String, Status> {
        let mut done: Vec<String> = Vec::new();
        let mut todo: VecDeque<String> = components(rel).map(str::to_owned).collect();
        let mut links = 0;
        while let Some(name) = todo.pop_front() {
            if name == ".." {
                done.pop().ok_or(Status::NotFound)?;
                continue;
            }
            if name.starts_with('.') && !self.hidden {
                return Err(Status::NotFound);
            }
            done.push(name);
            let path = done.join("/");
            let fd = self
                .open_no_links(&path, OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC)
                .map_err(errno_status)?;
            let stat = rustix::fs::fstat(&fd).map_err(errno_status)?;
            if FileType::from_raw_mode(stat.st_mode) != FileType::Symlink {
                continue;
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(Status::NotFound);
            }
            done.pop();
            let target = rustix::fs::readlinkat(&fd, "", Vec::new()).map_err(errno_status)?;
            let target = target.to_str().map_err(|_| Status::NotFound)?;
            let rest = match target.strip_prefix('/') {
                // An absolute link counts only if it points into the root.
                Some(_) => {
                    let inside = self.beneath(Path::new(target)).ok_or(Status::NotFound)?;
                    done.clear();
                    inside
                }
                None => target.to_owned(),
            };
            for c in components(&rest).rev() {
                todo.push_front(c.to_owned());
            }
        }
        Ok(done.join("/"))
    }

    /// Where the absolute link target `target` leads beneath the root, as
    /// a path relative to it; None if elsewhere. A target that starts with
    /// the root's real path is taken as written (its names are then checked
    /// and its links resolved one at a time like any other); one that names
    /// the root another way (through a symlinked folder, as when `/home`
    /// is a link) is compared once every link on its way is resolved. Only
    /// the verdict comes from outside the root: the path returned is still
    /// checked name by name and opened beneath the root without following
    /// a link.
    fn beneath(&self, target: &Path) -> Option<String> {
        if let Ok(inside) = target.strip_prefix(&self.path) {
            return inside.to_str().map(str::to_owned);
        }
        let real = std::fs::canonicalize(target).ok()?;
        real.strip_prefix(&self.path)
            .ok()?
            .to_str()
            .map(str::to_owned)
    }

    /// Opens `rel` beneath the root following no symlink at all: ELOOP if
    /// there is one (the last component too, unless `flags` has O_PATH |
    /// O_NOFOLLOW, which opens the link itself).
    fn open_no_links(&self, rel: &str, flags: OFlags) -> Result<OwnedFd, Errno> {
        let rel = if rel.is_empty() { "." } else { rel };
        if HAVE_OPENAT2.load(Ordering::Relaxed) {
            let path = rel_bytes(rel);
            let path = OsStr::from_bytes(&path);
            match rustix::fs::openat2(&self.dir, path, flags, Mode::empty(), RESOLVE) {
                Err(Errno::NOSYS) => HAVE_OPENAT2.store(false, Ordering::Relaxed),
                other => return other,
            }
        }
        self.walk(rel, flags)
    }

    /// Without openat2: one `openat(dir, name, O_NOFOLLOW)` per component,
    /// each relative to the descriptor of the directory before it.
    fn walk(&self, rel: &str, flags: OFlags) -> Result<OwnedFd, Errno> {
        let names: Vec<&str> = components(rel).collect();
        if names.is_empty() {
            return rustix::fs::openat(&self.dir, ".", flags, Mode::empty());
        }
        let mut dir: Option<OwnedFd> = None;
        for (i, name) in names.iter().enumerate() {
            if *name == ".." {
                return Err(Errno::XDEV);
            }
            let at = dir.as_ref().map_or(self.dir.as_fd(), |d| d.as_fd());
            let f = if i + 1 == names.len() {
                flags | OFlags::NOFOLLOW
            } else {
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
            };
            let name = rel_bytes(name);
            dir = Some(rustix::fs::openat(
                at,
                OsStr::from_bytes(&name),
                f,
                Mode::empty(),
            )?);
        }
        dir.ok_or(Errno::NOENT)
    }
}

/// The non-empty, non-`.` components of a relative path.
fn components(rel: &str) -> impl DoubleEndedIterator<Item = &str> {
    rel.split('/').filter(|c| !c.is_empty() && *c != ".")
}

/// The status a failed open means for the client.
fn errno_status(e: Errno) -> Status {
    match e {
        Errno::ACCESS | Errno::PERM => Status::Forbidden,
        Errno::MFILE | Errno::NFILE | Errno::NOMEM => Status::ServiceUnavailable,
        _ => Status::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("d/e")).unwrap();
        std::fs::write(root.join("d/e/f.txt"), b"inside").unwrap();
        std::fs::write(root.join(".env"), b"dot").unwrap();
        std::fs::write(t.path().join("secret"), b"outside").unwrap();
        symlink("d/e/f.txt", root.join("rel")).unwrap();
        symlink(root.join("d/e"), root.join("abs")).unwrap();
        symlink("../secret", root.join("up")).unwrap();
        symlink(t.path().join("secret"), root.join("abs-out")).unwrap();
        symlink(".env", root.join("dot")).unwrap();
        symlink("e/../../d", root.join("d/loopy")).unwrap();
        symlink("self", root.join("self")).unwrap();
        let r = Root::open(&root, false).unwrap();
        (t, r)
    }

    fn read(r: &Root, rel: &str) -> Result<String, Status> {
        let fd = r.open_beneath(rel, OFlags::RDONLY)?;
        Ok(std::fs::read_to_string(format!("/proc/self/fd/{}", {
            use std::os::fd::AsRawFd;
            fd.as_raw_fd()
        }))
        .unwrap())
    }

    #[test]
    fn links_inside_the_root_are_followed_and_the_rest_refused() {
        let (_t, r) = tree();
        assert_eq!(read(&r, "d/e/f.txt").as_deref(), Ok("inside"));
        assert_eq!(read(&r, "rel").as_deref(), Ok("inside"));
        assert_eq!(read(&r, "abs/f.txt").as_deref(), Ok("inside"));
        assert_eq!(read(&r, "d/loopy/e/f.txt").as_deref(), Ok("inside"));
        assert_eq!(read(&r, "up"), Err(Status::NotFound));
        assert_eq!(read(&r, "abs-out"), Err(Status::NotFound));
        assert_eq!(
            read(&r, "dot"),
            Err(Status::NotFound),
            "a link to a dotfile"
        );
        assert_eq!(read(&r, "self"), Err(Status::NotFound), "a link loop");
    }

    #[test]
    fn an_absolute_link_naming_the_root_through_another_link_is_followed() {
        let (t, r) = tree();
        let alias = t.path().join("alias");
        symlink(r.path(), &alias).unwrap();
        let root = r.path().to_owned();
        symlink(alias.join("d/e/f.txt"), root.join("via-file")).unwrap();
        symlink(alias.join("abs"), root.join("via-link")).unwrap();
        symlink(alias.join("d"), root.join("via-dir")).unwrap();
        symlink(alias.join(".env"), root.join("via-dot")).unwrap();
        symlink(alias.join("up"), root.join("via-up")).unwrap();
        symlink(alias.join("../secret"), root.join("via-out")).unwrap();
        symlink(alias.join("missing"), root.join("via-missing")).unwrap();
        assert_eq!(read(&r, "via-file").as_deref(), Ok("inside"));
        assert_eq!(read(&r, "via-link/f.txt").as_deref(), Ok("inside"));
        assert_eq!(read(&r, "via-dir/e/f.txt").as_deref(), Ok("inside"));
        assert_eq!(read(&r, "via-dot"), Err(Status::NotFound), "a dotfile");
        assert_eq!(read(&r, "via-up"), Err(Status::NotFound), "a link out");
        assert_eq!(read(&r, "via-out"), Err(Status::NotFound), "outside");
        assert_eq!(read(&r, "via-missing"), Err(Status::NotFound));
    }

    #[test]
    fn the_walk_without_openat2_follows_no_link() {
        let (_t, r) = tree();
        assert!(r.walk("d/e/f.txt", OFlags::RDONLY).is_ok());
        assert_eq!(r.walk("rel", OFlags::RDONLY).map(|_| ()), Err(Errno::LOOP));
        assert!(r.walk("abs/f.txt", OFlags::RDONLY).is_err());
    }
}
