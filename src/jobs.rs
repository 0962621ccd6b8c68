//! The per-artifact work of `install`, `fetch` and `lock`, shaped to run on the [`pool`]
//! (several tools and targets at once): a job reads shared state only (settings, reporter,
//! HTTP client, cache, lock file, all `Sync`) and returns a value.
//!
//! No job changes what the bin dir shows: `install`'s jobs resolve, fetch, verify and unpack
//! into staging directories of the bin dir, and `commands` commits the staged binaries
//! afterwards, in order, under the bin dir's one lock, and only if every job succeeded. Jobs of
//! one process share the cache through the same per-artifact file locks as separate processes
//! do, so two jobs wanting the same archive download it once.
//!
//! [`pool`]: crate::pool

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tempfile::TempDir;

use crate::cache::Cache;
use crate::diag::{FsError, UsageError};
use crate::error::Result;
use crate::fetch::{self, Obtained};
use crate::http::{self, Http};
use crate::install::{self, BinDir, Placement, Staged};
use crate::report::{self, CacheUse, Reporter};
use crate::resolve::catalog::Target;
use crate::resolve::lockfile::{LockFile, LockedArtifact};
use crate::resolve::manifest::Source;
use crate::resolve::{Artifact, Request, Resolver};
use crate::settings::Settings;
use crate::unpack;

/// What every job needs, shared by reference.
pub struct Jobs<'a> {
    pub settings: &'a Settings,
    pub reporter: &'a dyn Reporter,
    pub http: &'a Http<'a>,
    pub cache: &'a Cache,
    /// The lock file to resolve from (`None` for `lock`, which resolves afresh).
    pub lock: Option<(&'a LockFile, &'a Path)>,
    /// `min_release_age` (the flag, else the manifest's).
    pub min_age: Option<Duration>,
    /// When releases were published, as feeds said, shared by every job's resolver.
    pub published: Mutex<std::collections::BTreeMap<String, std::time::SystemTime>>,
}

/// The bin dir, created and locked by the first job that needs it: a run whose every tool
/// fails to resolve leaves no bin dir behind, and jobs that do need it share one lock.
pub struct LazyBinDir<'a> {
    path: &'a Path,
    timeout: Duration,
    opened: OnceLock<BinDir>,
    opening: Mutex<()>,
}

impl<'a> LazyBinDir<'a> {
    pub fn new(path: &'a Path, timeout: Duration) -> Self {
        LazyBinDir {
            path,
            timeout,
            opened: OnceLock::new(),
            opening: Mutex::new(()),
        }
    }

    /// The locked bin dir, opening it (and waiting for its lock) on first use.
    pub fn get(&self) -> Result<&BinDir, FsError> {
        if let Some(bin) = self.opened.get() {
            return Ok(bin);
        }
        // One opener at a time; a poisoned guard only means another job panicked.
        let _one = self.opening.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bin) = self.opened.get() {
            return Ok(bin);
        }
        let bin = BinDir::open(self.path, self.timeout)?;
        Ok(self.opened.get_or_init(|| bin))
    }
}

/// What `install` does for one tool, once every tool's job is done.
pub struct Prepared {
    pub art: Artifact,
    /// The binary staged for commit and whether the cache had it; else where it is already
    /// installed.
    pub staged: Result<(Staged, CacheUse), PathBuf>,
}

/// A blob `fetch` verified into the cache (its lock released).
pub struct Fetched {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub hit: bool,
}

/// A tool of `fetch` or `lock` resolved for its first target: the request with its version
/// pinned to that answer, and the answer.
pub struct Pinned {
    pub req: Request,
    pub first: Artifact,
}

impl Jobs<'_> {
    /// A resolver over the shared state. Release times learnt from feeds are kept across
    /// resolvers (in [`Jobs::published`]), so the cache's index records them.
    pub fn resolver(&self) -> Resolver<'_> {
        let published = self.published.lock().map(|m| m.clone()).unwrap_or_default();
        Resolver {
            http: self.http,
            cache: self.cache,
            mirror: &self.settings.mirror,
            lock: self.lock,
            min_age: self.min_age,
            published: Mutex::new(published),
        }
    }

    /// Resolves `req` for `target`, keeping what the resolver learnt of release times.
    fn resolve(&self, req: &Request, target: Target) -> Result<Artifact> {
        let resolver = self.resolver();
        let art = resolver.resolve(req, target)?;
        if let (Ok(mut shared), Ok(learnt)) = (self.published.lock(), resolver.published.lock()) {
            shared.extend(learnt.iter().map(|(k, v)| (k.clone(), *v)));
        }
        Ok(art)
    }

    /// A verified blob for `art` in the cache (downloaded on a miss).
    fn obtain(&self, art: &Artifact, tap: Option<&mut fetch::Tap>) -> Result<Obtained> {
        Ok(fetch::obtain_with(
            self.cache,
            self.http,
            art,
            &self.settings.mirror,
            self.reporter,
            tap,
        )?)
    }

    // ---- install ----

    /// One tool of `install`: resolved, then (unless the bin dir already holds exactly it)
    /// its binary verified and staged in the bin dir, ready to commit.
    pub fn prepare_install(
        &self,
        req: &Request,
        target: Target,
        bin: &LazyBinDir,
    ) -> Result<Prepared> {
        let art = self.resolve(req, target)?;
        let bin = bin.get()?;
        if let Some(path) = bin.is_current(&art.name, &art.sha256, art.bin_blake3.as_deref()) {
            return Ok(Prepared {
                art,
                staged: Err(path),
            });
        }
        let staged = self.stage(bin, &art)?;
        Ok(Prepared {
            art,
            staged: Ok(staged),
        })
    }

    /// Stages the artifact's binary by the cheapest safe way, and says whether the cache had
    /// it: the cache's verified unpacked copy (no unpacking at all); else the verified
    /// archive, unpacked while it downloads on a miss (one pass over the bytes).
    fn stage(&self, bin: &BinDir, art: &Artifact) -> Result<(Staged, CacheUse)> {
        self.cache.ensure_layout(&|m| self.reporter.warn(m))?;
        if art.bin_blake3.is_some()
            && let Some(staged) = self.stage_kept_copy(bin, art)?
        {
            return Ok((staged, CacheUse::Hit));
        }
        let (got, staging) = self.fetch_and_unpack(bin, art)?;
        let mut what = Placement::of(art);
        let unpacked = BinDir::find(staging.path(), &art.bin, &what.bin_name, art.at_root)
            .map_err(|e| e.in_archive(art))?;
        if !art.bin_explicit {
            // No `bin` given: the command keeps the program's own name (`gh` from cli/cli).
            what.bin_name = program_name(&unpacked)?;
        }
        // Two passes over the binary, side by side: the copy the cache keeps for warm installs,
        // and the fingerprint of the staged file.
        let (bin_name, from) = (what.bin_name.clone(), unpacked.clone());
        let (staged, kept) = std::thread::scope(|scope| {
            let keeping = scope.spawn(|| self.cache.keep_unpacked(&got.sha256, &bin_name, &from));
            let staged = Staged::check(staging, unpacked, what);
            (staged, keeping.join())
        });
        match kept {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.reporter.warn(&format!(
                "cannot keep an unpacked copy in the cache: {}",
                report::chain(&e)
            )),
            Err(_) => self
                .reporter
                .warn("cannot keep an unpacked copy in the cache"),
        }
        let staged = staged.inspect_err(|_| {
            // Not the binary the lock file pins: not one to keep either.
            let _ = self.cache.discard_unpacked(&got.sha256);
        })?;
        Ok((staged, CacheUse::from_hit(got.hit)))
    }

    /// The lock file pins the binary: stage the cache's kept copy if it hashes to the pin (no
    /// unpacking at all). A copy that does not is discarded with a warning, and the caller
    /// goes on from the verified archive.
    fn stage_kept_copy(&self, bin: &BinDir, art: &Artifact) -> Result<Option<Staged>> {
        // Shared: `prune` leaves the copy alone while we copy it.
        let _held = self.cache.lock_shared(&art.sha256)?;
        let Some(copy) = self.cache.unpacked(&art.sha256, &art.bin_name()) else {
            return Ok(None);
        };
        match bin.stage_pinned_copy(&copy, Placement::of(art)) {
            Ok(staged) => {
                self.reporter.verbose(&format!(
                    "{} {} ({}): cache hit: the kept binary `{}` hashes to the lock file's pin, nothing to unpack",
                    art.name,
                    art.version,
                    art.target,
                    copy.display()
                ));
                Ok(Some(staged))
            }
            Err(install::InstallError::Verify(e)) => {
                self.reporter.warn(&format!(
                    "discarding the cache's copy `{}`: it does not hash to the lock file's pin ({})",
                    copy.display(),
                    report::chain(&e)
                ));
                self.cache.discard_unpacked(&art.sha256)?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The verified blob, and a staging directory holding what it unpacks to. On a download,
    /// the extractor reads the bytes as they arrive; it trusts nothing: it writes only into
    /// staging, and what it wrote is used only if the whole download verified. Anything else
    /// (a cache hit, a download that restarted, a zip, an archive the extractor refused) is
    /// unpacked again from the verified blob, re-hashed on the way, for the definitive answer.
    fn fetch_and_unpack(&self, bin: &BinDir, art: &Artifact) -> Result<(Obtained, TempDir)> {
        let limits = &self.settings.limits;
        let bin_name = art.bin_name();
        let staging = bin.staging()?;
        let (got, streamed) = if art.format.streams() {
            let dest = staging.path();
            std::thread::scope(|scope| {
                let (mut tap, reader) = fetch::Tap::new();
                let (format, bare) = (art.format, bin_name.as_str());
                let unpacker =
                    scope.spawn(move || unpack::unpack(format, reader, None, dest, bare, limits));
                let got = self.obtain(art, Some(&mut tap));
                let whole = tap.whole();
                drop(tap);
                let unpacked = unpacker.join().is_ok_and(|r| r.is_ok());
                (got, whole && unpacked)
            })
        } else {
            (self.obtain(art, None), false)
        };
        let got = got?;
        if streamed {
            crate::fault::pause("unpack");
            return Ok((got, staging));
        }
        drop(staging);
        let staging = bin.staging()?;
        install::unpack_blob(staging.path(), &got.path, art, limits)?;
        crate::fault::pause("unpack");
        Ok((got, staging))
    }

    // ---- fetch and lock ----

    /// The request's artifact for `target`, and the request with its version pinned to that
    /// answer, so that every other target gets the same release even if `latest` moves
    /// meanwhile (and `latest` is asked once per tool, not once per target).
    pub fn resolve_first(&self, req: &Request, target: Target) -> Result<Pinned> {
        let art = self.resolve(req, target)?;
        let mut req = req.clone();
        if req.version.is_none() && !art.tag.is_empty() {
            req.version = Some(match req.source {
                Source::Cli(_) => art.version.clone(),
                _ => art.tag.clone(),
            });
        }
        Ok(Pinned { req, first: art })
    }

    /// The artifact of a pinned tool for `target` (the one already resolved when it is that
    /// target's), resolved at the pinned version.
    fn artifact_for(&self, pinned: &Pinned, target: Target) -> Result<Artifact> {
        if pinned.first.target == target {
            return Ok(pinned.first.clone());
        }
        self.resolve(&pinned.req, target)
    }

    /// One artifact of `fetch`: a verified blob in the cache. The blob's lock is released
    /// here, not when the batch is reported: another job may want the same blob (two targets
    /// can share an archive), and it waits for that lock.
    pub fn fetch_one(&self, pinned: &Pinned, target: Target) -> Result<(Artifact, Fetched)> {
        let art = self.artifact_for(pinned, target)?;
        let got = self.obtain(&art, None)?;
        let fetched = Fetched {
            path: got.path.clone(),
            sha256: got.sha256.clone(),
            size: got.size,
            hit: got.hit,
        };
        Ok((art, fetched))
    }

    /// One artifact of `lock`: fetched, verified, and the binary it unpacks to fingerprinted;
    /// with the command's name (the program's, when no `bin` was given).
    pub fn pin_one(
        &self,
        pinned: &Pinned,
        target: Target,
    ) -> Result<(Artifact, LockedArtifact, String, bool)> {
        let art = self.artifact_for(pinned, target)?;
        crate::resolve::lockfile::check_url(&art.url).map_err(|reason| UsageError::BadValue {
            name: format!("the URL of `{}`", art.name),
            value: http::redact(&art.url),
            reason: format!("a lock file pins https:// URLs only: {reason}"),
        })?;
        let got = self.obtain(&art, None)?;
        let tmp = crate::fsutil::real_dir(self.cache.root(), &["tmp"])?;
        let (program, bin_blake3) =
            install::binary_fingerprint(&tmp, &got.path, &art, &self.settings.limits)?;
        let command = program.strip_suffix(".exe").unwrap_or(&program).to_string();
        let locked = LockedArtifact {
            target: art.target.name().to_string(),
            url: art.url.clone(),
            sha256: got.sha256.clone(),
            size: got.size,
            bin_blake3: Some(bin_blake3),
        };
        Ok((art, locked, command, got.hit))
    }
}

/// The command name of a program found in an archive: its file name (`gh`, `rg.exe`).
fn program_name(found: &Path) -> Result<String> {
    let name = found
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    crate::names::check(&name).map_err(|reason| UsageError::BadValue {
        name: "the archive's program".into(),
        value: name.escape_debug().to_string(),
        reason,
    })?;
    Ok(name)
}
