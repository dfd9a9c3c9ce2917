//! Work too slow for a worker, done on its own thread: reading and
//! rendering a folder listing (a folder may hold 100,000 entries). The
//! requesting worker gets the result in its [`Mailbox`], which wakes its
//! event loop; the connection that asked waits meanwhile, and the worker
//! serves everyone else.

use std::fs::File;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};

use super::listing::cache::{FolderStamp, ListingCache, Rendered};
use super::listing::{self, View};
use crate::fs::Root;
use crate::http::Status;

/// A result for the connection with `token`.
pub enum Done {
    Listing(Result<Rendered, Status>),
    /// For a live-reload event stream.
    Live(super::live::LiveEvent),
}

/// A worker's mailbox for finished jobs.
pub struct Mailbox {
    done: Mutex<Vec<(u64, Done)>>,
    wake: Box<dyn Fn() + Send + Sync>,
}

impl Mailbox {
    /// `wake`: makes the worker's event loop look at the mailbox.
    pub fn new(wake: Box<dyn Fn() + Send + Sync>) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            done: Mutex::new(Vec::new()),
            wake,
        })
    }

    pub fn post(&self, token: u64, done: Done) {
        self.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((token, done));
        (self.wake)();
    }

    /// Moves every posted result into `into`.
    pub fn take(&self, into: &mut Vec<(u64, Done)>) {
        into.append(&mut self.done.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// Who waits for a job: a connection of a worker.
pub struct Waiter {
    pub token: u64,
    pub mailbox: Arc<Mailbox>,
}

/// A listing to read (unless its folder version was read already) and
/// render.
pub struct ListingJob {
    pub stamp: FolderStamp,
    pub view: View,
    pub rel: String,
    pub dir: File,
}

/// The job thread's queue.
pub struct Jobs {
    tx: Mutex<Sender<ListingJob>>,
}

impl Jobs {
    /// Starts the job thread.
    pub fn start(
        root: Arc<Root>,
        cache: Arc<ListingCache>,
        max_read: usize,
        live_script: Option<&'static str>,
    ) -> std::io::Result<Jobs> {
        let (tx, rx) = channel::<ListingJob>();
        std::thread::Builder::new()
            .name("ferry-listing".into())
            .spawn(move || {
                for job in rx {
                    run_listing(&root, &cache, max_read, live_script, job);
                }
            })?;
        Ok(Jobs { tx: Mutex::new(tx) })
    }

    pub fn submit(&self, job: ListingJob) {
        let _ = self.tx.lock().unwrap_or_else(|p| p.into_inner()).send(job);
    }
}

/// Makes the listing a job asks for; an HTML one gets the live-reload
/// script (`--watch`) before its `</body>`, as HTML files do.
fn run_listing(
    root: &Root,
    cache: &ListingCache,
    max_read: usize,
    live_script: Option<&str>,
    job: ListingJob,
) {
    // Watch before reading, so a change during the read is known.
    let (folder, watched) = match cache.folder(job.stamp) {
        Some(folder) => (Ok(folder), false),
        None => {
            let watched = cache.begin_read(root, &job.rel);
            let read = listing::read(root, &job.rel, &job.dir, max_read).map(Arc::new);
            (read, watched)
        }
    };
    let (waiters, result) = match folder {
        Ok(folder) => match listing::render(&folder, &job.rel, job.view, max_read) {
            Ok(mut body) => {
                if let Some(script) = live_script.filter(|_| !job.view.json) {
                    crate::fs::cache::inject_before_body_end(&mut body, script.as_bytes());
                }
                let body: Arc<[u8]> = body.into();
                let (waiters, serial) = cache.fill(
                    job.stamp,
                    &job.rel,
                    job.view,
                    folder,
                    Some(Arc::clone(&body)),
                    watched,
                );
                (waiters, Ok((body, job.view.json, serial)))
            }
            // No such page: the folder is kept, the answer is not.
            Err(status) => {
                let (waiters, _) = cache.fill(job.stamp, &job.rel, job.view, folder, None, watched);
                (waiters, Err(status))
            }
        },
        Err(status) => (
            cache.fail(job.stamp, &job.rel, job.view, watched),
            Err(status),
        ),
    };
    for w in waiters {
        w.mailbox.post(w.token, Done::Listing(result.clone()));
    }
}
