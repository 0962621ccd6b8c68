//! Getting a verified archive into the cache: a hit when the blob is there and still hashes to
//! its name, otherwise one download (per artifact, across processes) under the artifact's lock.
//!
//! The protocol (rustup's and uv's, with `flock`): take the artifact's lock shared and look;
//! on a miss, take it exclusively and look again (another process may have stored it while we
//! waited), download into a uniquely named partial file, and rename it into place only once
//! its hash matches. The returned [`Obtained`] keeps holding the lock, so a concurrent
//! `cache prune` cannot remove the blob while the caller unpacks it.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender};

use crate::cache::{Cache, Held, IndexEntry};
use crate::diag::{Code, Diagnostic, FsError, IoContext, Missing, Offline};
use crate::http::{Http, HttpError, Sink, redact};
use crate::report::Reporter;
use crate::resolve::{Artifact, GITHUB, mirrored};
use crate::verify::{self, VerifyError};

/// Why a verified blob could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error(transparent)]
    Offline(#[from] Offline),
    #[error(transparent)]
    Missing(Box<Missing>),
}

impl FetchError {
    fn inner(&self) -> &dyn Diagnostic {
        match self {
            FetchError::Http(e) => e,
            FetchError::Verify(e) => e,
            FetchError::Fs(e) => e,
            FetchError::Offline(e) => e,
            FetchError::Missing(e) => e.as_ref(),
        }
    }
}

impl From<Missing> for FetchError {
    fn from(e: Missing) -> Self {
        FetchError::Missing(Box::new(e))
    }
}

impl Diagnostic for FetchError {
    fn code(&self) -> Code {
        self.inner().code()
    }

    fn hint(&self) -> Option<String> {
        self.inner().hint()
    }
}

/// A verified blob and whether it was already cached. Holds the artifact's lock until dropped.
pub struct Obtained {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub hit: bool,
    _held: Held,
}

/// A copy of a download's bytes for a consumer that works while the download runs (the
/// extractor, so that a cold install reads the bytes once). The copy is only good if the tap
/// saw every byte of one uninterrupted answer: [`Tap::whole`] says so after the download.
pub struct Tap {
    tx: Option<SyncSender<Vec<u8>>>,
    whole: bool,
}

impl Tap {
    /// A tap and the reader for the other side (which sees EOF once the tap is dropped).
    pub fn new() -> (Tap, TapReader) {
        // 16 chunks of at most 256 KiB (4 MiB): memory stays bounded whatever the archive's
        // size, and the extractor, the slower side, always has bytes waiting.
        let (tx, rx) = std::sync::mpsc::sync_channel(16);
        (
            Tap {
                tx: Some(tx),
                whole: false,
            },
            TapReader {
                rx,
                chunk: Vec::new(),
                pos: 0,
            },
        )
    }

    /// Whether the other side got the complete download, in order, with no restart.
    pub fn whole(&self) -> bool {
        self.whole
    }

    fn send(&mut self, bytes: &[u8]) {
        if let Some(tx) = &self.tx
            && tx.send(bytes.to_vec()).is_err()
        {
            // The consumer stopped (it failed); the download goes on without it.
            self.tx = None;
        }
    }
}

/// The reading end of a [`Tap`].
pub struct TapReader {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for TapReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The partial file, plus the tap when there is one.
struct Tee<'a> {
    file: &'a mut File,
    tap: Option<&'a mut Tap>,
}

impl Sink for Tee<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        if let Some(tap) = self.tap.as_deref_mut() {
            tap.send(bytes);
        }
        Ok(())
    }

    fn restart(&mut self) -> io::Result<()> {
        Sink::restart(self.file)?;
        if let Some(tap) = self.tap.take() {
            // What the consumer got so far is void: cut it off; the caller reads the blob.
            tap.tx = None;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if let Some(tap) = self.tap.as_deref_mut() {
            tap.whole = tap.tx.is_some();
        }
        self.file.flush()
    }
}

/// [`obtain_with`] without a tap.
pub fn obtain(
    cache: &Cache,
    http: &Http,
    art: &Artifact,
    mirror: &str,
    reporter: &dyn Reporter,
) -> Result<Obtained, FetchError> {
    obtain_with(cache, http, art, mirror, reporter, None)
}

/// A verified blob for `art`; on a download, `tap` (if any) sees the bytes as they arrive.
pub fn obtain_with(
    cache: &Cache,
    http: &Http,
    art: &Artifact,
    mirror: &str,
    reporter: &dyn Reporter,
    tap: Option<&mut Tap>,
) -> Result<Obtained, FetchError> {
    let sha256 = art.sha256.clone();
    cache.ensure_layout(&|m| reporter.warn(m))?;
    let shared = cache.lock_shared(&sha256)?;
    let (path, hit, held) = match cache.verified_blob(&sha256, &|m| reporter.warn(m))? {
        Some(path) => (path, true, shared),
        None => {
            drop(shared);
            download(cache, http, art, mirror, &sha256, reporter, tap)?
        }
    };
    let size = std::fs::metadata(&path).fs("read", &path)?.len();
    if hit {
        reporter.verbose(&format!(
            "{} {} ({}): cache hit: {}, `{}`",
            art.name,
            art.version,
            art.target,
            crate::size::human(size),
            path.display()
        ));
    }
    if let Some(expected) = art.size
        && expected != size
    {
        return Err(VerifyError::SizeMismatch {
            url: art.url.clone(),
            expected,
            actual: size,
        }
        .into());
    }
    cache.record(&IndexEntry {
        tool: art.name.clone(),
        version: art.version.clone(),
        target: art.target.name().to_string(),
        owner: art.owner.clone(),
        repo: art.repo.clone(),
        tag: art.tag.clone(),
        asset: art.asset.clone(),
        url: art.url.clone(),
        sha256: sha256.clone(),
        size,
        published: art
            .published
            .map(|at| humantime::format_rfc3339_seconds(at).to_string()),
    })?;
    Ok(Obtained {
        path,
        sha256,
        size,
        hit,
        _held: held,
    })
}

/// Downloads under the artifact's exclusive lock, unless another process stored it while we
/// waited; returns the blob, whether it was a hit after all, and the lock (still held).
fn download(
    cache: &Cache,
    http: &Http,
    art: &Artifact,
    mirror: &str,
    sha256: &str,
    reporter: &dyn Reporter,
    tap: Option<&mut Tap>,
) -> Result<(PathBuf, bool, Held), FetchError> {
    let url = mirrored(&art.url, mirror);
    let offline = || Offline {
        what: format!("{}@{} --target {}", art.name, art.version, art.target),
    };
    if http.refuses_offline(&url) {
        return Err(offline().into());
    }
    let held = cache.lock(sha256)?;
    if let Some(path) = cache.verified_blob(sha256, &|m| reporter.warn(m))? {
        return Ok((path, true, held));
    }
    let started = std::time::Instant::now();
    let mut partial = cache.partial(sha256)?;
    let partial_path = partial.path().to_path_buf();
    let mut tee = Tee {
        file: partial.as_file_mut(),
        tap,
    };
    let (computed, len) = http
        .download(&url, &mut tee, &partial_path, Some(sha256), art.size)
        .map_err(|e| match e {
            HttpError::FileNotFound(_) if http.config().offline => offline().into(),
            HttpError::NotFound { .. } | HttpError::FileNotFound(_) if !art.owner.is_empty() => {
                Missing {
                    repo: format!("{}/{}", art.owner, art.repo),
                    tag: art.tag.clone(),
                    asset: Some(art.asset.clone()),
                    mirror: (mirror.trim_end_matches('/') != GITHUB).then(|| redact(mirror)),
                    fetch: art.fetch_spec(),
                    source: Box::new(e),
                }
                .into()
            }
            other => FetchError::from(other),
        })?;
    verify::check(&redact(&url), sha256, &computed)?;
    reporter.verbose(&format!(
        "{} {} ({}): cache miss: downloaded {} from `{}` in {:.2}s",
        art.name,
        art.version,
        art.target,
        crate::size::human(len),
        redact(&url),
        started.elapsed().as_secs_f64()
    ));
    let path = cache.store(partial, sha256)?;
    Ok((path, false, held))
}
