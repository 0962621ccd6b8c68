//! Getting a verified archive into the cache: a hit when the blob is there and still hashes to
//! its name, otherwise one download (per artifact, across processes) under the artifact's lock.
//!
//! The protocol (rustup's and uv's, with `flock`): take the artifact's lock shared and look;
//! on a miss, take it exclusively and look again (another process may have stored it while we
//! waited), download into a uniquely named partial file, and rename it into place only once
//! its hash matches. The returned [`Obtained`] keeps holding the lock, so a concurrent
//! `cache prune` cannot remove the blob while the caller unpacks it.

use std::path::PathBuf;

use crate::cache::{Cache, Held, IndexEntry};
use crate::error::{Error, IoContext};
use crate::http::{Http, HttpError, redact};
use crate::report::Reporter;
use crate::resolve::{Artifact, mirrored};
use crate::verify::VerifyError;

/// A verified blob and whether it was already cached. Holds the artifact's lock until dropped.
pub struct Obtained {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub hit: bool,
    _held: Held,
}

pub fn obtain(
    cache: &Cache,
    http: &Http,
    art: &Artifact,
    mirror: &str,
    reporter: &dyn Reporter,
) -> Result<Obtained, Error> {
    let sha256 = art
        .sha256
        .clone()
        .ok_or_else(|| Error::Internal(format!("no hash resolved for `{}`", art.url)))?;
    cache.ensure_layout()?;
    let shared = cache.lock_shared(&sha256)?;
    let (path, hit, held) = match cache.verified_blob(&sha256, &|m| reporter.warn(m))? {
        Some(path) => (path, true, shared),
        None => {
            drop(shared);
            download(cache, http, art, mirror, &sha256, reporter)?
        }
    };
    let size = std::fs::metadata(&path).fs("read", &path)?.len();
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
        tool: art.tool.name().to_string(),
        version: art.version.to_string(),
        target: art.target.name().to_string(),
        owner: art.repo.owner.to_string(),
        repo: art.repo.name.to_string(),
        tag: art.tag.clone(),
        asset: art.asset.clone(),
        url: art.url.clone(),
        sha256: sha256.clone(),
        size,
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
) -> Result<(PathBuf, bool, Held), Error> {
    let url = mirrored(&art.url, mirror);
    let offline = || Error::Offline {
        what: format!("{}@{} --target {}", art.tool, art.version, art.target),
    };
    if http.config().offline && !url.starts_with("file:") {
        return Err(offline());
    }
    let held = cache.lock(sha256)?;
    if let Some(path) = cache.verified_blob(sha256, &|m| reporter.warn(m))? {
        return Ok((path, true, held));
    }
    reporter.verbose(&format!("downloading `{}`", redact(&url)));
    let mut partial = cache.partial(sha256)?;
    let partial_path = partial.path().to_path_buf();
    let (computed, _) = http
        .download_verified(&url, partial.as_file_mut(), &partial_path, Some(sha256))
        .map_err(|e| match e {
            HttpError::FileNotFound(_) if http.config().offline => offline(),
            other => other.into(),
        })?;
    let path = cache.store(partial, &url, sha256, &computed)?;
    Ok((path, false, held))
}
