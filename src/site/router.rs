//! Method + path → a [`Reply`]: files through the open-file cache, folders
//! (redirect to the slash form, `index.html` or `index.htm`, or a
//! listing), OPTIONS and CORS preflight, `--clean-urls`, the `--spa`
//! fallback, and the statuses for everything else.

use std::borrow::Cow;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use rustix::fs::OFlags;

use crate::fs::budget::FdBudget;
use crate::fs::cache::{clean_key, key_of};
use crate::fs::compress::{Compressor, Form, INLINE_MAX, MIN_LEN};
use crate::fs::watch::Watches;
use crate::fs::{CachedFile, CleanPath, FileCache, INDEX_NAMES, Root, clean_path};
use crate::h1::Request;
use crate::http::conditional::{Outcome, Validators};
use crate::http::negotiate::{Coding, EncodingWeights, MediaWeights, Offer};
use crate::http::{self, Fields, Method, Representation, Status};

use super::jobs::ListingJob;
use super::listing::View;
use super::listing::cache::FolderStamp;
use super::reply::{FileReply, Reply, Vary};
use super::{SiteOptions, cors};

/// What a path led to.
enum Found {
    File(Rc<CachedFile>),
    /// A folder named without its trailing slash.
    AddSlash,
    /// A folder without an index: list it (or not).
    Folder {
        rel: String,
        dir: File,
        stamp: FolderStamp,
    },
    Other(Reply),
}

/// Where a request was routed.
pub enum Route {
    Reply(Reply),
    /// A listing to look up in the listing cache, or to make.
    Listing(ListingJob),
}

/// One worker's router, with its file cache.
pub struct Router {
    cache: FileCache,
    /// On-the-fly compression: the shared store of forms, and the largest
    /// file compressed.
    compress: Option<(Arc<Compressor>, u64)>,
}

impl Router {
    /// `inject`: the live-reload script for HTML (`--watch`); `compress`:
    /// the store of compressed forms and the largest file compressed.
    pub fn new(
        budget: Arc<FdBudget>,
        watches: Watches,
        inject: Option<Arc<[u8]>>,
        compress: Option<(Arc<Compressor>, u64)>,
    ) -> Router {
        let store = compress.as_ref().map(|(c, _)| Arc::clone(c));
        Router {
            cache: FileCache::new(budget, watches, inject, store),
            compress,
        }
    }

    pub fn cache(&mut self) -> &mut FileCache {
        &mut self.cache
    }

    /// Decides the reply to a request (HEAD is routed as GET); for a file,
    /// its fields pick the representation and the range.
    pub fn route(
        &mut self,
        root: &Root,
        opts: &SiteOptions,
        req: &Request<'_>,
        now: Instant,
    ) -> Route {
        let f = &req.fields;
        let mut found = self.find(root, req.method, req.path, now);
        if opts.clean_urls && req.method.is_get_or_head() {
            found = self.clean_url(root, req, found, now);
        }
        let reply = match found {
            Found::File(entry) => self.plan_file(entry, f, req.method, opts, false),
            Found::AddSlash => Reply::Redirect(redirect_location(req.path, req.query)),
            Found::Folder { .. } if !opts.listing => Reply::error(Status::Forbidden),
            Found::Folder { rel, dir, stamp } => {
                // A `page` that is not a page number: 400, before any
                // precondition (RFC 9110 §13.2.1).
                let Ok(view) = View::from_request(req.query, f.accept.iter()) else {
                    return Route::Reply(Reply::error(Status::BadRequest));
                };
                match http::plan_without_validators(f, req.method) {
                    Outcome::Proceed => {
                        return Route::Listing(ListingJob {
                            stamp,
                            view,
                            rel,
                            dir,
                        });
                    }
                    Outcome::NotModified => Reply::ListingNotModified {
                        vary: self.compress.is_some(),
                    },
                    Outcome::Failed => Reply::error(Status::PreconditionFailed),
                }
            }
            // `--spa`: a GET/HEAD for a missing path gets the root's index
            // when the client names HTML (a browser navigating inside the
            // app, also to a deep link with a dot in it), a 404 otherwise
            // (a script's missing asset); either answer varies by Accept.
            Found::Other(Reply::Error(Status::NotFound, ..))
                if opts.spa && req.method.is_get_or_head() =>
            {
                let index = wants_html(req).then(|| self.find(root, req.method, "/", now));
                match index {
                    Some(Found::File(entry)) => self.plan_file(entry, f, req.method, opts, true),
                    _ => Reply::Error(Status::NotFound, None, Vary::ACCEPT),
                }
            }
            Found::Other(Reply::Options(None)) if opts.cors => Reply::Options(cors::preflight(f)),
            Found::Other(reply) => reply,
        };
        Route::Reply(reply)
    }

    /// `--clean-urls`: a path that names nothing finds its `.html` file
    /// (`/about` → `about.html`); a `.html` file asked for by name
    /// redirects (301) to its clean URL — `/dir/index.html` to `/dir/`,
    /// `/about.html` to `/about` when that names nothing itself (else the
    /// clean URL would serve something else). Every lookup goes through
    /// [`Self::find`], so the root's checks apply; a redirect never leads
    /// to another.
    fn clean_url(&mut self, root: &Root, req: &Request<'_>, found: Found, now: Instant) -> Found {
        match found {
            Found::File(_) => {
                let Some(stem) = req.path.strip_suffix(".html") else {
                    return found;
                };
                if let Some(dir) = stem.strip_suffix("/index") {
                    let loc = local_location(&format!("{dir}/"), req.query);
                    return Found::Other(Reply::Redirect(loc));
                }
                if stem.ends_with('/') {
                    return found;
                }
                match self.find(root, req.method, stem, now) {
                    Found::Other(Reply::Error(Status::NotFound, ..)) => {
                        Found::Other(Reply::Redirect(local_location(stem, req.query)))
                    }
                    _ => found,
                }
            }
            Found::Other(Reply::Error(Status::NotFound, ..))
                if !req.path.ends_with('/') && !req.path.ends_with(".html") =>
            {
                match self.find(root, req.method, &format!("{}.html", req.path), now) {
                    Found::File(entry) => Found::File(entry),
                    _ => found,
                }
            }
            other => other,
        }
    }

    /// Picks the representation by Accept-Encoding — the file, a fresh
    /// sidecar, or a compressed form made on the fly — then plans the
    /// response: preconditions, then ranges. A range is of the file or a
    /// sidecar, never of a form made on the fly: a Range request gets no
    /// form unless identity is excluded (then the Range is ignored). When
    /// nothing on offer is acceptable, a small compressible body is
    /// compressed at once (even under [`MIN_LEN`]); otherwise 503 while a
    /// form is being made, or 406. `by_accept`: the file was chosen by the
    /// request's Accept (`--spa`), so the answer varies by it too.
    fn plan_file(
        &self,
        entry: Rc<CachedFile>,
        f: &Fields<'_>,
        method: Method,
        opts: &SiteOptions,
        by_accept: bool,
    ) -> Reply {
        let part_type = opts.content_type();
        if entry.coding != Coding::Identity {
            return plan_coded(entry, f, method, part_type);
        }
        let weights = EncodingWeights::of(f.accept_encoding.iter());
        let store = self
            .compress
            .as_ref()
            .and_then(|(store, max)| (entry.compressible && entry.len <= *max).then_some(store));
        let ranged = method == Method::Get && f.range.is_one();
        let mut offers = [Offer {
            coding: Coding::Identity,
            len: entry.len,
        }; 6];
        let mut n = 1;
        for (coding, car) in [(Coding::Br, &entry.br), (Coding::Gzip, &entry.gz)] {
            if let Some(car) = car {
                offers[n] = Offer {
                    coding,
                    len: car.len,
                };
                n += 1;
            }
        }
        let mut forms: [Option<Arc<Form>>; 3] = [None, None, None];
        if let Some(store) = store
            && (entry.len >= MIN_LEN || weights.weight(Coding::Identity) == 0)
            && weights.wants_compression()
            && (!ranged || weights.weight(Coding::Identity) == 0)
        {
            forms = entry.forms(store);
            for form in forms.iter().flatten() {
                // A fresh sidecar of the same coding wins.
                if !offers[..n].iter().any(|o| o.coding == form.coding) {
                    offers[n] = Offer {
                        coding: form.coding,
                        len: form.len,
                    };
                    n += 1;
                }
            }
        }
        // A compressible type varies by Accept-Encoding even when this file
        // is too large to compress: a client refusing identity gets 406.
        let vary = Vary {
            accept: by_accept,
            accept_encoding: (self.compress.is_some() && entry.compressible)
                || entry.br.is_some()
                || entry.gz.is_some(),
        };
        let (coding, form) = match weights.choose(&offers[..n]) {
            Some(coding) => {
                let sidecar = match coding {
                    Coding::Br => entry.br.is_some(),
                    Coding::Gzip => entry.gz.is_some(),
                    _ => false,
                };
                let form = forms.into_iter().flatten().find(|f| f.coding == coding);
                (coding, form.filter(|_| !sidecar))
            }
            None => match (store, weights.quickest()) {
                (Some(store), Some(coding)) if entry.len <= INLINE_MAX => {
                    match make_now(&entry, store, coding) {
                        Some(form) => (coding, Some(form)),
                        None => return Reply::error(Status::InternalServerError),
                    }
                }
                // Being made: 503 and Retry-After, unless its forms are
                // known to be too large to keep (then never: 406).
                (Some(store), Some(_)) if !store.too_big(entry.version_id()) => {
                    return Reply::NoCoding {
                        later: true,
                        vary: Vary {
                            accept_encoding: true,
                            ..vary
                        },
                    };
                }
                _ => {
                    return Reply::NoCoding {
                        later: false,
                        vary: Vary {
                            accept_encoding: true,
                            ..vary
                        },
                    };
                }
            },
        };
        // A sidecar is sent when its coding was chosen and no form was.
        let sidecar = match (coding, &form) {
            (Coding::Br, None) => entry.br.clone(),
            (Coding::Gzip, None) => entry.gz.clone(),
            _ => None,
        };
        let file = sidecar.unwrap_or(entry);
        let (etag, len) = match &form {
            Some(form) => (form.etag.as_bytes(), form.len),
            None => (file.etag.as_bytes(), file.len),
        };
        let rep = Representation {
            validators: Validators {
                etag: Some(etag),
                last_modified: Some(file.last_modified_secs),
            },
            len,
            coded: coding != Coding::Identity,
            ranges: form.is_none(),
        };
        let plan = http::plan(f, method, &rep, unix_now());
        Reply::File(FileReply::new(file, coding, vary, plan, form, part_type))
    }

    fn find(&mut self, root: &Root, method: Method, path: &str, now: Instant) -> Found {
        match method {
            Method::Get | Method::Head => {}
            Method::Options => return Found::Other(Reply::Options(None)),
            Method::Post
            | Method::Put
            | Method::Delete
            | Method::Patch
            | Method::Connect
            | Method::Trace => return Found::Other(Reply::error(Status::MethodNotAllowed)),
            Method::Unknown => return Found::Other(Reply::error(Status::NotImplemented)),
        }
        if path == "*" {
            return Found::Other(Reply::error(Status::BadRequest));
        }
        // Hot path: a clean path is its own cache key, borrowed; aliases
        // (escapes, `//`, `/./`) are cleaned first and share that key.
        let (key, clean) = match clean_key(path, root.hidden()) {
            Some(key) => (Cow::Borrowed(key), None),
            None => match clean_path(path, root.hidden()) {
                Ok(c) => (Cow::Owned(key_of(&c)), Some(c)),
                Err(status) => return Found::Other(Reply::error(status)),
            },
        };
        if let Some(hit) = self.cache.get(root, &key, now) {
            return Found::File(hit);
        }
        let clean = match clean {
            Some(c) => c,
            None => match clean_path(path, root.hidden()) {
                Ok(c) => c,
                Err(status) => return Found::Other(Reply::error(status)),
            },
        };
        self.open(root, &key, &clean, now)
    }

    fn open(&mut self, root: &Root, key: &str, clean: &CleanPath, now: Instant) -> Found {
        let (fd, resolved) = match self.open_resolved(root, &clean.rel) {
            Ok(opened) => opened,
            Err(status) => {
                self.cache.forget(key);
                return Found::Other(Reply::error(status));
            }
        };
        let rel = file_rel(&clean.rel, resolved);
        let file = File::from(fd);
        let Ok(meta) = file.metadata() else {
            return Found::Other(Reply::error(Status::NotFound));
        };
        if meta.is_dir() {
            if !clean.trailing_slash {
                return Found::AddSlash;
            }
            for name in INDEX_NAMES {
                let index = if rel.is_empty() {
                    name.to_string()
                } else {
                    format!("{rel}/{name}")
                };
                let Ok((fd, resolved)) = self.open_resolved(root, &index) else {
                    continue;
                };
                let index_file = File::from(fd);
                if let Ok(m) = index_file.metadata()
                    && m.is_file()
                {
                    let index = file_rel(&index, resolved);
                    let entry = self.cache.insert(root, key, index_file, &m, &index, now);
                    return Found::File(entry);
                }
            }
            return Found::Folder {
                rel: clean.rel.clone(),
                dir: file,
                stamp: FolderStamp::of(&meta),
            };
        }
        if !meta.is_file() {
            // FIFOs, sockets, devices: not content.
            return Found::Other(Reply::error(Status::NotFound));
        }
        if clean.trailing_slash {
            // "/file.txt/" names a directory that does not exist.
            return Found::Other(Reply::error(Status::NotFound));
        }
        Found::File(self.cache.insert(root, key, file, &meta, &rel, now))
    }

    /// Opens `rel` for reading beneath the root. Out of descriptors, the
    /// cache lets go of files no response is using and the open is tried
    /// again; only when it has none left is the answer 503 (and every
    /// worker's cache has been asked to let go of its unused files).
    fn open_resolved(
        &mut self,
        root: &Root,
        rel: &str,
    ) -> Result<(OwnedFd, Option<String>), Status> {
        loop {
            match root.open_resolved(rel, OFlags::RDONLY) {
                // The file, its two sidecars, and a step of link resolving.
                Err(Status::ServiceUnavailable) if self.cache.let_go(4) => continue,
                opened => return opened,
            }
        }
    }
}

/// The path a file is known by in the cache: `named` with the symlinks on
/// its way resolved, so every name through a linked folder (`via/f`,
/// `via/via/f` with `via -> .`) is one entry. A name that is itself a link
/// to another name keeps its own path: its type (and sidecars) are the
/// name's, as they were.
fn file_rel(named: &str, resolved: Option<String>) -> String {
    fn last(p: &str) -> &str {
        p.rsplit('/').next().unwrap_or("")
    }
    match resolved {
        Some(r) if last(&r) == last(named) => r,
        _ => named.to_owned(),
    }
}

/// A file whose format carries a coding (`.svgz`): its bytes are its one
/// representation, sent with `Content-Encoding` whatever Accept-Encoding
/// says (RFC 9110 §12.5.3 lets a server send a coding not asked for, and
/// there is no identity form to send instead), so the response does not
/// vary by it. Its own ETag; ranges and preconditions apply to its bytes,
/// and several ranges get the whole file, as for a sidecar.
fn plan_coded(
    file: Rc<CachedFile>,
    f: &Fields<'_>,
    method: Method,
    part_type: Option<&str>,
) -> Reply {
    let rep = Representation {
        validators: Validators {
            etag: Some(file.etag.as_bytes()),
            last_modified: Some(file.last_modified_secs),
        },
        len: file.len,
        coded: true,
        ranges: true,
    };
    let plan = http::plan(f, method, &rep, unix_now());
    let coding = file.coding;
    Reply::File(FileReply::new(
        file,
        coding,
        Vary::NONE,
        plan,
        None,
        part_type,
    ))
}

/// Compresses a small file now with `coding`, for a client that accepts
/// nothing ready (see [`Compressor::make_now`]); the other forms follow on
/// the compression threads.
fn make_now(entry: &CachedFile, store: &Compressor, coding: Coding) -> Option<Arc<Form>> {
    let form = store.make_now(
        Some(entry.version_id()),
        &entry.etag,
        coding,
        &entry.content()?,
    );
    entry.forms(store);
    form
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A client that names HTML as acceptable: a browser navigating inside a
/// single-page app (also to a deep link with a dot in it,
/// `/users/john.doe`). A script or a stylesheet asks with `*/*` or its own
/// type, so a missing asset stays 404.
fn wants_html(req: &Request<'_>) -> bool {
    MediaWeights::of(req.fields.accept.iter()).names_html()
}

/// The index of the folder `rel` (`""`: the root), for the startup check
/// of `--spa`: the first of [`INDEX_NAMES`] that is a regular file, open,
/// with its metadata and path.
pub fn open_index(root: &Root, rel: &str) -> Option<(File, std::fs::Metadata, String)> {
    INDEX_NAMES.iter().find_map(|name| {
        let path = if rel.is_empty() {
            (*name).to_owned()
        } else {
            format!("{rel}/{name}")
        };
        let file = File::from(root.open_beneath(&path, OFlags::RDONLY).ok()?);
        let meta = file.metadata().ok()?;
        meta.is_file().then_some((file, meta, path))
    })
}

/// The 301 Location for a folder: the request's path as sent (still
/// percent-encoded) with a slash appended, then its query (see
/// [`local_location`]).
pub fn redirect_location(path: &str, query: Option<&str>) -> String {
    local_location(&format!("{path}/"), query)
}

/// A Location on this site: `path` as sent (still percent-encoded), then
/// `query`. Built from the parsed path and query only, so nothing in the
/// query can steer it, and with leading slashes collapsed and backslashes
/// escaped, so no browser reads it as a link to another host.
pub fn local_location(path: &str, query: Option<&str>) -> String {
    let mut loc = String::with_capacity(path.len() + query.map_or(0, str::len) + 2);
    loc.push('/');
    loc.push_str(path.trim_start_matches('/'));
    if let Some(q) = query {
        loc.push('?');
        loc.push_str(q);
    }
    loc.replace('\\', "%5C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_known_by_its_path_with_the_links_on_its_way_resolved() {
        assert_eq!(file_rel("d/f.txt", None), "d/f.txt");
        assert_eq!(file_rel("via/via/f.txt", Some("f.txt".into())), "f.txt");
        assert_eq!(
            file_rel("dl/index.html", Some("d/index.html".into())),
            "d/index.html"
        );
        // A name that is itself a link to another name keeps its own.
        assert_eq!(file_rel("latest", Some("v2.tar".into())), "latest");
    }

    #[test]
    fn clean_url_locations_keep_encoding_and_query_and_stay_on_site() {
        assert_eq!(local_location("/a%20b", Some("x=1")), "/a%20b?x=1");
        assert_eq!(local_location("//evil.example/x", None), "/evil.example/x");
        assert_eq!(local_location("/d/", None), "/d/");
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
}
