//! The file system side: the root every open is checked against, path
//! cleaning, the per-worker open-file cache kept coherent by directory
//! watches, and MIME types.

pub mod budget;
pub mod cache;
pub mod compress;
pub mod mime;
pub mod path;
pub mod root;
pub mod watch;

use std::fs::File;
use std::os::unix::fs::FileExt;

pub use cache::{CachedFile, FileCache};
pub use path::{CleanPath, clean_path, rel_bytes, rel_lossy, to_rel};
pub use root::Root;

/// The names a folder's index may have, the first found wins.
pub const INDEX_NAMES: [&str; 2] = ["index.html", "index.htm"];

/// Reads into `buf` from offset 0 until it is full or the file ends;
/// returns how much was read.
pub(crate) fn read_full_at(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
