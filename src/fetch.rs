//! Getting a verified archive into the cache: a hit when the blob is there and still hashes to
//! its name, otherwise one download (per artifact, across processes) under the artifact's lock.

use std::path::PathBuf;

use crate::cache::{Cache, IndexEntry};
use crate::error::{Error, IoContext};
use crate::http::{Http, HttpError, redact};
use crate::report::Reporter;
use crate::resolve::{Artifact, mirrored};
use crate::verify::VerifyError;

/// A verified blob and whether it was already cached.
pub struct Obtained {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub hit: bool,
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
    let (path, hit) = match cache.verified_blob(&sha256, &|m| reporter.warn(m))? {
        Some(path) => (path, true),
        None => download(cache, http, art, mirror, &sha256, reporter)?,
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
    })
}

/// Downloads under the artifact's lock, unless another process stored it while we waited.
fn download(
    cache: &Cache,
    http: &Http,
    art: &Artifact,
    mirror: &str,
    sha256: &str,
    reporter: &dyn Reporter,
) -> Result<(PathBuf, bool), Error> {
    let url = mirrored(&art.url, mirror);
    let offline = || Error::Offline {
        what: format!("{}@{} --target {}", art.tool, art.version, art.target),
    };
    if http.config().offline && !url.starts_with("file:") {
        return Err(offline());
    }
    let _held = cache.lock(sha256)?;
    if let Some(path) = cache.verified_blob(sha256, &|m| reporter.warn(m))? {
        return Ok((path, true));
    }
    reporter.verbose(&format!("downloading `{}`", redact(&url)));
    let mut partial = cache.partial()?;
    let partial_path = partial.path().to_path_buf();
    let (computed, _) = http
        .download(&url, partial.as_file_mut(), &partial_path)
        .map_err(|e| match e {
            HttpError::FileNotFound(_) if http.config().offline => offline(),
            other => other.into(),
        })?;
    let path = cache.store(partial, &url, sha256, &computed)?;
    Ok((path, false))
}
