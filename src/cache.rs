//! The content-addressed store in `$PLATFORM_CACHE_DIR/hookstrap` (or wherever `--cache-dir`
//! points), shared by every branch and every concurrent build.
//!
//! Layout:
//! - `blobs/sha256/<hex>`: verified archives, named by their hash; the mtime is the last use.
//! - `index/<key>.json`: (tool, version, target) → where it came from, sha256, size, so a pinned
//!   or repeated install needs no network.
//! - `locks/<hex>.lock`: one advisory lock per artifact: download under the lock, check again
//!   after taking it, so N processes download an artifact once.
//! - `tmp/`: partial downloads under unique names; never read, removed on drop or by `prune`.
//!
//! Invariant: a file under `blobs/` was renamed there only after its hash matched, and it is
//! hashed again whenever it is used; a blob that does not hash to its name, or is not a regular
//! file, is removed and never served.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::diag::{FsError, IoContext};
use crate::fsutil::{lock_file, readable, remove_any, write_atomic};
use crate::verify;

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by hookstrap.\n# For information about cache directory tags see https://bford.info/cachedir/\n";

/// Where an artifact came from and what it hashes to.
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
}

/// The extension of an unpacked binary's record: its BLAKE3 fingerprint.
const FINGERPRINT: &str = "blake3";

/// A binary kept unpacked in the cache, verified against its recorded fingerprint.
pub struct CachedBin {
    pub path: PathBuf,
    pub blake3: String,
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

pub struct Cache {
    root: PathBuf,
    lock_timeout: Duration,
}

/// An exclusive hold on one artifact's lock file; released on drop (and by the kernel if the
/// process dies, so a killed process never leaves a lock behind).
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

    /// Creates the layout and the `CACHEDIR.TAG` (so backup tools skip it).
    pub fn ensure_layout(&self) -> Result<(), FsError> {
        for dir in ["blobs/sha256", "index", "locks", "tmp"] {
            let d = self.root.join(dir);
            fs::create_dir_all(&d).fs("create the cache directory", &d)?;
        }
        let tag = self.root.join("CACHEDIR.TAG");
        if !tag.exists() {
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

    fn acquire(&self, sha256: &str, exclusive: bool) -> Result<Held, FsError> {
        let file = lock_file(&self.lock_path(sha256), exclusive, self.lock_timeout)?;
        Ok(Held { _file: file })
    }

    /// The blob for `sha256` if present and intact. A damaged blob (wrong hash, not a regular
    /// file) is removed, reported through `on_damage`, and treated as absent.
    pub fn verified_blob(
        &self,
        sha256: &str,
        on_damage: &dyn Fn(&str),
    ) -> Result<Option<PathBuf>, FsError> {
        let path = self.blob_path(sha256);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(FsError::io("read", &path, e)),
        };
        if !meta.file_type().is_file() {
            on_damage(&format!(
                "cache entry `{}` is not a regular file; removing it",
                path.display()
            ));
            remove_any(&path)?;
            return Ok(None);
        }
        let (actual, _) = verify::hash_file(&path).fs("read", &path)?;
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

    /// The binary `bin_name` once unpacked from the archive `archive_sha256`, if the cache
    /// keeps it and it still hashes to what was recorded. A damaged copy is removed and
    /// reported through `on_damage`. Warm installs place this instead of unpacking again.
    pub fn unpacked(
        &self,
        archive_sha256: &str,
        bin_name: &str,
        on_damage: &dyn Fn(&str),
    ) -> Result<Option<CachedBin>, FsError> {
        let dir = self.unpacked_dir(archive_sha256);
        let path = dir.join(bin_name);
        let recorded = match fs::read_to_string(dir.join(format!("{bin_name}.{FINGERPRINT}"))) {
            // 64 hexadecimal digits, the same shape as a SHA-256.
            Ok(text) => verify::parse_sha256(text.trim()),
            Err(_) => None,
        };
        let Some(recorded) = recorded else {
            return Ok(None);
        };
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()) {
            remove_any(&dir)?;
            return Ok(None);
        }
        let actual = verify::fingerprint_file(&path).fs("read", &path)?;
        if actual != recorded {
            on_damage(&format!(
                "cached `{}` is damaged (hashes to {actual}); removing it",
                path.display()
            ));
            remove_any(&dir)?;
            return Ok(None);
        }
        // Using the unpacked copy is a use of its archive, for `prune --older-than`.
        touch(&self.blob_path(archive_sha256));
        Ok(Some(CachedBin {
            path,
            blake3: recorded,
        }))
    }

    /// Keeps a verified binary, unpacked from the archive `archive_sha256`, for warm installs:
    /// a hard link to `src` where the filesystem allows, a copy otherwise, renamed into place
    /// after its recorded hash.
    pub fn keep_unpacked(
        &self,
        archive_sha256: &str,
        bin_name: &str,
        src: &Path,
        bin_blake3: &str,
    ) -> Result<(), FsError> {
        let dir = self.unpacked_dir(archive_sha256);
        fs::create_dir_all(&dir).fs("create the cache directory", &dir)?;
        let tmp = self.root.join("tmp");
        let staged = tempfile::Builder::new()
            .prefix("unpacked-")
            .tempdir_in(&tmp)
            .fs("create a temporary directory in", &tmp)?;
        let staged_bin = staged.path().join(bin_name);
        if fs::hard_link(src, &staged_bin).is_err() {
            fs::copy(src, &staged_bin).fs("copy to", &staged_bin)?;
        }
        write_atomic(
            &tmp,
            &dir.join(format!("{bin_name}.{FINGERPRINT}")),
            format!("{bin_blake3}\n").as_bytes(),
        )?;
        let dest = dir.join(bin_name);
        fs::rename(&staged_bin, &dest).fs("store", &dest)?;
        Ok(())
    }

    /// A new, uniquely named partial file under `tmp/` for the artifact `sha256`. It is deleted
    /// on drop unless stored; a killed process leaves it behind, and `prune` removes it once
    /// nobody holds the artifact's lock. Partial files are never read as blobs.
    pub fn partial(&self, sha256: &str) -> Result<tempfile::NamedTempFile, FsError> {
        let dir = self.root.join("tmp");
        tempfile::Builder::new()
            .prefix(&format!("{sha256}.partial-"))
            .tempfile_in(&dir)
            .fs("create a download file in", &dir)
    }

    /// Moves a downloaded file, whose hash the caller has checked to be `sha256`, into the
    /// store.
    pub fn store(
        &self,
        partial: tempfile::NamedTempFile,
        sha256: &str,
    ) -> Result<PathBuf, FsError> {
        partial.as_file().sync_all().fs("write", partial.path())?;
        readable(partial.path())?;
        let dest = self.blob_path(sha256);
        partial
            .persist(&dest)
            .map_err(|e| FsError::io("store the download as", &dest, e.error))?;
        Ok(dest)
    }

    pub fn record(&self, entry: &IndexEntry) -> Result<(), FsError> {
        let path = self.index_path(&entry.tool, &entry.version, &entry.target);
        let body = serde_json::to_vec_pretty(entry).unwrap_or_default();
        write_atomic(&self.root.join("tmp"), &path, &body)
    }

    pub fn lookup(&self, tool: &str, version: &str, target: &str) -> Option<IndexEntry> {
        let path = self.index_path(tool, version, target);
        let bytes = fs::read(path).ok()?;
        let entry: IndexEntry = serde_json::from_slice(&bytes).ok()?;
        (verify::parse_sha256(&entry.sha256).as_deref() == Some(entry.sha256.as_str()))
            .then_some(entry)
    }

    /// Every index entry (unreadable or foreign files are skipped).
    pub fn entries(&self) -> Vec<IndexEntry> {
        let Ok(dir) = fs::read_dir(self.root.join("index")) else {
            return Vec::new();
        };
        let mut out: Vec<IndexEntry> = dir
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| serde_json::from_slice(&fs::read(e.path()).ok()?).ok())
            .filter(|e: &IndexEntry| verify::parse_sha256(&e.sha256).is_some())
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

    /// Re-hashes every blob; returns the damaged ones (path, reason).
    pub fn verify_all(&self) -> Result<Vec<(PathBuf, String)>, FsError> {
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
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let meta = fs::symlink_metadata(&path).fs("read", &path)?;
            if !meta.file_type().is_file() {
                damaged.push((path, "not a regular file".into()));
                continue;
            }
            if verify::parse_sha256(&name).as_deref() != Some(name.as_str()) {
                damaged.push((path, "not named by a sha256".into()));
                continue;
            }
            let (actual, _) = verify::hash_file(&path).fs("read", &path)?;
            if actual != name {
                damaged.push((path, format!("hashes to {actual}")));
            }
        }
        // Unpacked copies: each binary against the hash recorded beside it.
        let unpacked = self.root.join("unpacked");
        let mut records: Vec<PathBuf> = fs::read_dir(&unpacked)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|dir| fs::read_dir(dir.path()).into_iter().flatten().flatten())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == FINGERPRINT))
            .collect();
        records.sort();
        for record in records {
            let bin = record.with_extension("");
            let recorded = fs::read_to_string(&record)
                .ok()
                .and_then(|t| verify::parse_sha256(t.trim()));
            let Some(recorded) = recorded else {
                damaged.push((record, "not a BLAKE3 record".into()));
                continue;
            };
            if !fs::symlink_metadata(&bin).is_ok_and(|m| m.file_type().is_file()) {
                damaged.push((bin, "not a regular file".into()));
                continue;
            }
            let actual = verify::fingerprint_file(&bin).fs("read", &bin)?;
            if actual != recorded {
                damaged.push((bin, format!("hashes to {actual}, recorded {recorded}")));
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
        let now = SystemTime::now();
        let mut removed = 0;
        let mut freed = 0;
        let dir = self.root.join("blobs").join("sha256");
        if let Ok(entries) = fs::read_dir(&dir) {
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
                let _held = if verify::parse_sha256(&name).as_deref() == Some(name.as_str()) {
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
        }
        // Unpacked copies live as long as their archive (a warm install touches the archive).
        if let Ok(entries) = fs::read_dir(self.root.join("unpacked")) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if verify::parse_sha256(&name).as_deref() != Some(name.as_str()) {
                    continue;
                }
                let Some(_held) = self.try_lock(&name) else {
                    continue;
                };
                if !self.blob_path(&name).exists() {
                    remove_any(&entry.path())?;
                }
            }
        }
        for entry in self.entries() {
            // Under the artifact's lock: a concurrent download stores the blob, then records
            // its index entry, both while holding it.
            let Some(_held) = self.try_lock(&entry.sha256) else {
                continue;
            };
            if !self.blob_path(&entry.sha256).exists() {
                let path = self.index_path(&entry.tool, &entry.version, &entry.target);
                let _ = fs::remove_file(path);
            }
        }
        if let Ok(entries) = fs::read_dir(self.root.join("tmp")) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                let stale = match name.split_once(".partial-") {
                    // A partial download: stale once nobody holds its artifact's lock (its
                    // writer holds it exclusively until the file is stored or dropped).
                    Some((sha, _)) if verify::parse_sha256(sha).as_deref() == Some(sha) => {
                        self.try_lock(sha).is_some()
                    }
                    // Anything else (a small file being written atomically) is only stale
                    // when it is clearly abandoned.
                    _ => entry
                        .metadata()
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
        Ok((removed, freed))
    }

    /// The artifact's lock, exclusively, if nobody holds it right now.
    fn try_lock(&self, sha256: &str) -> Option<Held> {
        let file = lock_file(&self.lock_path(sha256), true, Duration::ZERO).ok()?;
        Some(Held { _file: file })
    }
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

fn touch(path: &Path) {
    if let Ok(f) = File::options().write(true).open(path) {
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
        cache.ensure_layout().unwrap();
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
        cache.ensure_layout().unwrap();
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
        cache.ensure_layout().unwrap();
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
        cache.ensure_layout().unwrap();
        let _held = cache.lock("abc").unwrap();
        // A second open file description conflicts with the first, even in one process.
        assert!(matches!(
            cache.lock("abc"),
            Err(FsError::LockTimeout { .. })
        ));
    }
}
