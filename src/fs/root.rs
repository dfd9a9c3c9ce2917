//! The served folder, and every open beneath it.
//!
//! SECURITY: opens are `openat2(root, rel, RESOLVE_BENEATH)`, so the kernel
//! refuses any walk — through `..` or a symlink — that leaves the root. An
//! absolute symlink that points back inside the root is resolved by
//! `realpath` and accepted only if the result still lies under the root.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::http::Status;

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

/// The status a failed open means for the client.
fn errno_status(e: Errno) -> Status {
    match e {
        Errno::ACCESS | Errno::PERM => Status::Forbidden,
        Errno::MFILE | Errno::NFILE | Errno::NOMEM => Status::ServiceUnavailable,
        _ => Status::NotFound,
    }
}
