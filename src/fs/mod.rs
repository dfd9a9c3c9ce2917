//! The file system side: the root every open is checked against, path
//! cleaning, the per-worker open-file cache kept coherent by directory
//! watches, and MIME types.

pub mod cache;
pub mod compress;
pub mod mime;
pub mod path;
pub mod root;
pub mod watch;

pub use cache::{CachedFile, FileCache};
pub use path::{CleanPath, clean_path};
pub use root::Root;
