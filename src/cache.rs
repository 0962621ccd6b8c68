//! The content-addressed store in `$PLATFORM_CACHE_DIR/hookstrap` (or wherever `--cache-dir`
//! points), shared by every branch and every concurrent build of a project.
//!
//! Layout:
//! - `blobs/sha256/<hex>`: archives, named by their hash; the mtime is the last use.
//! - `unpacked/<archive-hex>/<bin>`: a copy of the binary an archive unpacked to, placed by a
//!   warm install only once it hashes to the lock file's pin of that binary.
//! - `index/<key>.json`: (tool, version, target) → where it came from, sha256, size.
//! - `locks/<hex>.lock`: one advisory lock per artifact: download under the lock, check again
//!   after taking it, so N processes download an artifact once.
//! - `tmp/`: partial downloads under unique names; never read, removed on drop or by `prune`.
//!
//! Trust (SPEC.md, "Trust"): whoever can push a branch can write here, so nothing read from
//! the cache decides what is installed. A blob is used only once it hashes to the SHA-256 an
//! anchor gave (the caller's), an unpacked copy only once it hashes to a lock-file pin, and the
//! index is a hint that only `--offline` without a lock falls back to. Nothing here is followed
//! through a link: every directory is checked to be a real one before anything is written in
//! it, files are opened with `O_NOFOLLOW` and checked to be regular, small files are read with
//! a size cap, and whatever leaves the cache leaves as a copy, never a hard link.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::diag::{FsError, IoContext};
use crate::fsutil::{
    Links, SMALL_FILE_MAX, copy_new, lock_file, open_regular, read_capped, readable, real_dir,
    remove_any, write_atomic,
};
use crate::names;
use crate::verify::{self, HashReader};

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by hookstrap.\n# For information about cache directory tags see https://bford.info/cachedir/\n";

/// Where an artifact came from and what it hashes to: a hint, never an anchor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IndexEntry {
    pub tool: String,
    pub version: String,
    pub target: String,
    pub owner: String,
    pub repo: String,
    pub tag: String,
    pub asset: String,
    /// The canonical `https://github.com/…` URL.
    pub url: String,
    pub sha256: String,
    pub size: u64,
    /// When the release was published (RFC 3339), where its feed said: what
    /// `hookstrap mirror` writes into `releases.atom` for `min_release_age`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
}

impl IndexEntry {
    /// Whether every field is what hookstrap writes: names that are one plain path component
    /// (owner, repo and tag may be empty, for `url:` tools), a SHA-256, an https URL. Entries
    /// that are not are ignored, whoever wrote them.
    fn is_sane(&self) -> bool {
        let name = |t: &str| names::check(t).is_ok();
        let optional = |t: &str| t.is_empty() || name(t);
        name(&self.tool)
            && name(&self.version)
            && name(&self.target)
            && name(&self.asset)
            && optional(&self.owner)
            && optional(&self.repo)
            && optional(&self.tag)
            && verify::parse_sha256(&self.sha256).as_deref() == Some(self.sha256.as_str())
            && names::check_lock_url(&self.url).is_ok()
    }
}

/// One line of `cache list`.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub entry: IndexEntry,
    pub path: PathBuf,
    /// Seconds since the epoch of the last use.
    pub last_used: u64,
}

/// A binary kept unpacked: the archive it came from and its file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackedCopy {
    pub archive_sha256: String,
    pub bin_name: String,
    pub path: PathBuf,
}

pub struct Cache {
    root: PathBuf,
    lock_timeout: Duration,
}

/// A hold on one artifact's lock file; released on drop (and by the kernel if the process
/// dies, so a killed process never leaves a lock behind).
pub struct Held {
    _file: File,
}

impl Cache {
    pub fn new(root: PathBuf, lock_timeout: Duration) -> Self {
        Cache { root, lock_timeout }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, sha256: &str) -> PathBuf {
        self.root.join("blobs").join("sha256").join(sha256)
    }

    fn index_path(&self, tool: &str, version: &str, target: &str) -> PathBuf {
        let key = format!("{}@{}@{}", escape(tool), escape(version), escape(target));
        self.root.join("index").join(format!("{key}.json"))
    }

    /// Creates the layout and the `CACHEDIR.TAG` (so backup tools skip it). Every directory in
    /// the cache must be a real directory: a link (or anything else) planted in the place of
    /// one is removed, said through `on_damage`, and replaced by a directory, so a branch can
    /// neither redirect production's writes nor stop its builds. The root itself is followed
    /// if it is a link: it is where the user or the platform said the cache is.
    pub fn ensure_layout(&self, on_damage: &dyn Fn(&str)) -> Result<(), FsError> {
        fs::create_dir_all(&self.root).fs("create the cache directory", &self.root)?;
        for dir in [
            &["blobs", "sha256"][..],
            &["index"],
            &["locks"],
            &["tmp"],
            &["unpacked"],
        ] {
            if let Err(FsError::Refused { path, reason }) = real_dir(&self.root, dir) {
                on_damage(&format!(
                    "`{}` {reason}; replacing it with a directory",
                    path.display()
                ));
                remove_any(&path)?;
                real_dir(&self.root, dir)?;
            }
        }
        let tag = self.root.join("CACHEDIR.TAG");
        if fs::symlink_metadata(&tag).is_err() {
            write_atomic(&self.root.join("tmp"), &tag, CACHEDIR_TAG.as_bytes())?;
        }
        Ok(())
    }

    /// Takes the artifact's lock exclusively (to download and store it), waiting up to the lock
    /// timeout.
    pub fn lock(&self, sha256: &str) -> Result<Held, FsError> {
        self.acquire(sha256, true)
    }

    /// Takes the artifact's lock shared (to read the blob): many readers at once, none while a
    /// download holds it, and `prune` leaves a blob alone while any reader holds it.
    pub fn lock_shared(&self, sha256: &str) -> Result<Held, FsError> {
        self.acquire(sha256, false)
    }

    fn lock_path(&self, sha256: &str) -> PathBuf {
        self.root.join("locks").join(format!("{sha256}.lock"))
    }

    /// A link (or anything but a file) planted in the lock file's place is removed and the
    /// lock file made anew: it is never opened through, and cannot block the artifact.
    fn acquire(&self, sha256: &str, exclusive: bool) -> Result<Held, FsError> {
        let path = self.lock_path(sha256);
        let file = match lock_file(&path, exclusive, self.lock_timeout) {
            Err(FsError::Refused { .. }) => {
                remove_any(&path)?;
                lock_file(&path, exclusive, self.lock_timeout)?
            }
            other => other?,
        };
        Ok(Held { _file: file })
    }

    /// The blob for `sha256` if present and it hashes to that (hashed from the file opened
    /// without following links). Anything else in its place (other bytes, a link, a FIFO, a
    /// directory) is removed, reported through `on_damage`, and treated as absent.
    pub fn verified_blob(
        &self,
        sha256: &str,
        on_damage: &dyn Fn(&str),
    ) -> Result<Option<PathBuf>, FsError> {
        let path = self.blob_path(sha256);
        let file = match open_regular(&path) {
            Ok(Some(file)) => file,
            Ok(None) => return Ok(None),
            Err(FsError::Refused { reason, .. }) => {
                on_damage(&format!(
                    "cache entry `{}` {reason}; removing it",
                    path.display()
                ));
                remove_any(&path)?;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let (actual, _) = HashReader::new(io::BufReader::with_capacity(256 * 1024, file))
            .finish()
            .fs("read", &path)?;
        if actual != sha256 {
            on_damage(&format!(
                "cached `{}` is damaged (hashes to {actual}); removing it and fetching again",
                path.display()
            ));
            remove_any(&path)?;
            return Ok(None);
        }
        touch(&path);
        Ok(Some(path))
    }

    fn unpacked_dir(&self, archive_sha256: &str) -> PathBuf {
        self.root.join("unpacked").join(archive_sha256)
    }

    /// The copy of `bin_name` kept from the archive `archive_sha256`, if it is a regular file.
    /// Unverified: the caller places it only once it hashes to the lock file's pin.
    pub fn unpacked(&self, archive_sha256: &str, bin_name: &str) -> Option<PathBuf> {
        let path = self.unpacked_dir(archive_sha256).join(bin_name);
        let regular = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
        regular.then_some(path)
    }

    /// Forgets a kept copy that did not hash to its pin.
    pub fn discard_unpacked(&self, archive_sha256: &str) -> Result<(), FsError> {
        remove_any(&self.unpacked_dir(archive_sha256))
    }

    /// Keeps a copy of a binary unpacked from the verified archive `archive_sha256`, for warm
    /// installs with a lock file: copied (never linked: the installed binary and the cache
    /// share no inode) into `tmp/`, then renamed into place.
    pub fn keep_unpacked(
        &self,
        archive_sha256: &str,
        bin_name: &str,
        src: &Path,
    ) -> Result<(), FsError> {
        names::check(bin_name).map_err(|reason| FsError::Refused {
            path: PathBuf::from(bin_name),
            reason,
        })?;
        let dir = real_dir(&self.root, &["unpacked", archive_sha256])?;
        let tmp = real_dir(&self.root, &["tmp"])?;
        let staged = tempfile::Builder::new()
            .prefix("unpacked-")
            .tempdir_in(&tmp)
            .fs("create a temporary directory in", &tmp)?;
        let staged_bin = staged.path().join(bin_name);
        copy_new(src, &staged_bin, 0o755)?;
        let dest = dir.join(bin_name);
        fs::rename(&staged_bin, &dest).fs("store", &dest)?;
        Ok(())
    }

    /// Every kept unpacked copy (regular files named like binaries under archive hashes).
    pub fn unpacked_copies(&self) -> Vec<UnpackedCopy> {
        let mut out = Vec::new();
        let Ok(dirs) = fs::read_dir(self.root.join("unpacked")) else {
            return out;
        };
        for dir in dirs.flatten() {
            let sha = dir.file_name().to_string_lossy().to_string();
            let Ok(files) = fs::read_dir(dir.path()) else {
                continue;
            };
            for file in files.flatten() {
                out.push(UnpackedCopy {
                    archive_sha256: sha.clone(),
                    bin_name: file.file_name().to_string_lossy().to_string(),
                    path: file.path(),
                });
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// A new, uniquely named partial file under `tmp/` for the artifact `sha256`. It is deleted
    /// on drop unless stored; a killed process leaves it behind, and `prune` removes it once
    /// nobody holds the artifact's lock. Partial files are never read as blobs.
    pub fn partial(&self, sha256: &str) -> Result<tempfile::NamedTempFile, FsError> {
        let dir = real_dir(&self.root, &["tmp"])?;
        tempfile::Builder::new()
            .prefix(&format!("{sha256}.partial-"))
            .tempfile_in(&dir)
            .fs("create a download file in", &dir)
    }

    /// Moves a downloaded file, whose hash the caller has checked to be `sha256`, into the
    /// store. Not synced to disk first: every use re-hashes a blob, so one torn by a power cut
    /// is found, removed and fetched again, and a sync would cost every cold install the time
    /// to flush the whole archive (14 ms for 24 MB on the benchmark's machine).
    pub fn store(
        &self,
        partial: tempfile::NamedTempFile,
        sha256: &str,
    ) -> Result<PathBuf, FsError> {
        readable(partial.path())?;
        real_dir(&self.root, &["blobs", "sha256"])?;
        let dest = self.blob_path(sha256);
        partial
            .persist(&dest)
            .map_err(|e| FsError::io("store the download as", &dest, e.error))?;
        Ok(dest)
    }

    pub fn record(&self, entry: &IndexEntry) -> Result<(), FsError> {
        if !entry.is_sane() {
            return Ok(());
        }
        let path = self.index_path(&entry.tool, &entry.version, &entry.target);
        let body = serde_json::to_vec_pretty(entry).unwrap_or_default();
        real_dir(&self.root, &["index"])?;
        write_atomic(&real_dir(&self.root, &["tmp"])?, &path, &body)
    }

    /// The index's record for (tool, version, target): a hint, read with a size cap, never
    /// through a link, and ignored unless every field is sane.
    pub fn lookup(&self, tool: &str, version: &str, target: &str) -> Option<IndexEntry> {
        read_entry(&self.index_path(tool, version, target))
    }

    /// Every index entry (unreadable, foreign or insane files are skipped).
    pub fn entries(&self) -> Vec<IndexEntry> {
        let Ok(dir) = fs::read_dir(self.root.join("index")) else {
            return Vec::new();
        };
        let mut out: Vec<IndexEntry> = dir
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| read_entry(&e.path()))
            .collect();
        out.sort_by(|a, b| (&a.tool, &a.version, &a.target).cmp(&(&b.tool, &b.version, &b.target)));
        out
    }

    /// Entries whose blob exists, with their last use.
    pub fn list(&self) -> Vec<Listed> {
        self.entries()
            .into_iter()
            .filter_map(|entry| {
                let path = self.blob_path(&entry.sha256);
                let meta = fs::symlink_metadata(&path).ok()?;
                let last_used = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs());
                Some(Listed {
                    entry,
                    path,
                    last_used,
                })
            })
            .collect()
    }

    /// Re-hashes every blob (opened without following links); returns the damaged ones
    /// (path, reason). Unpacked copies are checked by the caller against their archives.
    pub fn verify_blobs(&self) -> Result<Vec<(PathBuf, String)>, FsError> {
        let dir = self.root.join("blobs").join("sha256");
        let mut damaged = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(damaged),
            Err(e) => return Err(FsError::io("read", &dir, e)),
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if let Some(reason) = blob_damage(&path)? {
                damaged.push((path, reason));
            }
        }
        Ok(damaged)
    }

    /// Removes blobs unused for `older_than` (all with `None`), with the index entries that
    /// point at them, and partial files that no live process is writing. Safe while other
    /// processes install: a blob or partial file whose artifact lock is held (shared by a
    /// reader, exclusive by a download) is left alone, and a blob is only removed under its
    /// exclusive lock, so a reader never sees it vanish. Lock files themselves are kept:
    /// deleting one that another process has open would let two processes "hold" it.
    /// Returns the number of blobs removed and bytes freed.
    pub fn prune(&self, older_than: Option<Duration>) -> Result<(usize, u64), FsError> {
        let (removed, freed) = self.prune_blobs(older_than)?;
        self.prune_unpacked()?;
        self.prune_index();
        self.prune_tmp();
        Ok((removed, freed))
    }

    fn prune_blobs(&self, older_than: Option<Duration>) -> Result<(usize, u64), FsError> {
        let now = SystemTime::now();
        let (mut removed, mut freed) = (0, 0);
        let Ok(entries) = fs::read_dir(self.root.join("blobs").join("sha256")) else {
            return Ok((0, 0));
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let idle = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            if older_than.is_some_and(|age| idle < age) {
                continue;
            }
            let name = entry.file_name().to_string_lossy().to_string();
            // Not a blob name: nothing can lock or serve it, so it is just debris.
            let _held = if is_sha256(&name) {
                // Skip what a concurrent install is reading or fetching right now.
                let Some(held) = self.try_lock(&name) else {
                    continue;
                };
                Some(held)
            } else {
                None
            };
            remove_any(&path)?;
            removed += 1;
            freed += meta.len();
        }
        Ok((removed, freed))
    }

    /// Unpacked copies live as long as their archive (a warm install touches the archive).
    fn prune_unpacked(&self) -> Result<(), FsError> {
        let Ok(entries) = fs::read_dir(self.root.join("unpacked")) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if !is_sha256(&name) {
                remove_any(&entry.path())?;
                continue;
            }
            let Some(_held) = self.try_lock(&name) else {
                continue;
            };
            if fs::symlink_metadata(self.blob_path(&name)).is_err() {
                remove_any(&entry.path())?;
            }
        }
        Ok(())
    }

    fn prune_index(&self) {
        for entry in self.entries() {
            // Under the artifact's lock: a concurrent download stores the blob, then records
            // its index entry, both while holding it.
            let Some(_held) = self.try_lock(&entry.sha256) else {
                continue;
            };
            if fs::symlink_metadata(self.blob_path(&entry.sha256)).is_err() {
                let path = self.index_path(&entry.tool, &entry.version, &entry.target);
                let _ = fs::remove_file(path);
            }
        }
    }

    fn prune_tmp(&self) {
        let now = SystemTime::now();
        let Ok(entries) = fs::read_dir(self.root.join("tmp")) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let stale = match name.split_once(".partial-") {
                // A partial download: stale once nobody holds its artifact's lock (its
                // writer holds it exclusively until the file is stored or dropped).
                Some((sha, _)) if is_sha256(sha) => self.try_lock(sha).is_some(),
                // Anything else (a small file being written atomically) is only stale
                // when it is clearly abandoned.
                _ => fs::symlink_metadata(entry.path())
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|d| d > Duration::from_secs(86_400)),
            };
            if stale {
                let _ = remove_any(&entry.path());
            }
        }
    }

    /// The artifact's lock, exclusively, if nobody holds it right now.
    fn try_lock(&self, sha256: &str) -> Option<Held> {
        let file = lock_file(&self.lock_path(sha256), true, Duration::ZERO).ok()?;
        Some(Held { _file: file })
    }
}

fn is_sha256(name: &str) -> bool {
    verify::parse_sha256(name).as_deref() == Some(name)
}

/// Why the file at `path` under `blobs/sha256/` is not a good blob, if it is not.
fn blob_damage(path: &Path) -> Result<Option<String>, FsError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let file = match open_regular(path) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(None),
        Err(FsError::Refused { reason, .. }) => return Ok(Some(reason)),
        Err(e) => return Err(e),
    };
    if !is_sha256(&name) {
        return Ok(Some("not named by a sha256".into()));
    }
    let (actual, _) = HashReader::new(io::BufReader::with_capacity(256 * 1024, file))
        .finish()
        .fs("read", path)?;
    Ok((actual != name).then(|| format!("hashes to {actual}")))
}

/// One index entry, read with a size cap and never through a link; `None` if it is not a
/// sane entry.
fn read_entry(path: &Path) -> Option<IndexEntry> {
    let bytes = read_capped(path, SMALL_FILE_MAX, Links::Refuse).ok()??;
    let entry: IndexEntry = serde_json::from_slice(&bytes).ok()?;
    entry.is_sane().then_some(entry)
}

fn escape(part: &str) -> String {
    part.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Marks a use (the mtime `prune --older-than` reads), never through a link.
fn touch(path: &Path) {
    if let Ok(Some(f)) = open_regular(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_escaped() {
        assert_eq!(escape("github:cli/cli"), "github%3Acli%2Fcli");
        assert_eq!(escape("5.10.8"), "5.10.8");
    }

    #[test]
    fn damaged_blob_is_removed_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(1));
        cache.ensure_layout(&|_| ()).unwrap();
        let data = b"archive bytes";
        let sha = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(data));
        fs::write(cache.blob_path(&sha), b"archive bytez").unwrap();
        let warned = std::cell::Cell::new(false);
        assert_eq!(
            cache.verified_blob(&sha, &|_| warned.set(true)).unwrap(),
            None
        );
        assert!(warned.get());
        assert!(!cache.blob_path(&sha).exists());
        fs::write(cache.blob_path(&sha), data).unwrap();
        assert!(cache.verified_blob(&sha, &|_| ()).unwrap().is_some());
    }

    #[test]
    fn readers_share_and_exclude_writers() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), Duration::from_millis(50));
        cache.ensure_layout(&|_| ()).unwrap();
        let a = cache.lock_shared("abc").unwrap();
        let _b = cache.lock_shared("abc").unwrap();
        assert!(matches!(
            cache.lock("abc"),
            Err(FsError::LockTimeout { .. })
        ));
        drop(a);
        drop(_b);
        let _w = cache.lock("abc").unwrap();
        assert!(matches!(
            cache.lock_shared("abc"),
            Err(FsError::LockTimeout { .. })
        ));
    }

    #[test]
    fn prune_keeps_a_partial_file_whose_download_is_alive() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), Duration::from_millis(50));
        cache.ensure_layout(&|_| ()).unwrap();
        let live = "a".repeat(64);
        let dead = "b".repeat(64);
        let held = cache.lock(&live).unwrap();
        let live_partial = cache
            .partial(&live)
            .unwrap()
            .into_temp_path()
            .keep()
            .unwrap();
        let dead_partial = cache
            .partial(&dead)
            .unwrap()
            .into_temp_path()
            .keep()
            .unwrap();
        cache.prune(None).unwrap();
        assert!(live_partial.exists());
        assert!(!dead_partial.exists());
        drop(held);
        cache.prune(None).unwrap();
        assert!(!live_partial.exists());
    }

    #[test]
    fn lock_times_out_while_held() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), Duration::from_millis(100));
        cache.ensure_layout(&|_| ()).unwrap();
        let _held = cache.lock("abc").unwrap();
        // A second open file description conflicts with the first, even in one process.
        assert!(matches!(
            cache.lock("abc"),
            Err(FsError::LockTimeout { .. })
        ));
    }
}
