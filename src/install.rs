//! Placing a verified archive's binary in the bin dir, atomically, and taking it out again.
//!
//! Extraction happens in a staging directory inside the bin dir (same filesystem, and owned by
//! the bin dir whose lock is held: cleaning it never touches a sibling bin dir's work). The
//! archive is hashed again while it is unpacked and trusted only if it matches; where the lock
//! file pins the binary, the binary must hash to that pin too: it is then [`Staged`]. The one
//! binary is renamed over the old one ([`BinDir::commit`]): after any failure or kill the bin
//! dir holds the previous complete binary or the new one. Staging is the slow part and runs for
//! several tools at once; commits are cheap and run one after another. Installs into one bin dir are serialized by a lock on the directory itself;
//! a receipt records what each tool's binary is so repeated runs are no-ops. The receipt is
//! trusted only as far as the bin dir it sits in: its names are checked like any other input,
//! and `uninstall` removes only regular files directly inside the bin dir.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tempfile::TempDir;

use crate::diag::{Code, Diagnostic, FsError, IoContext};
use crate::fault;
use crate::fsutil::{self, Links, SMALL_FILE_MAX};
use crate::names;
use crate::resolve::Artifact;
use crate::unpack::{self, ExtractError, FindError, Limits};
use crate::verify::{self, HashReader, VerifyError};

const RECEIPT: &str = ".hookstrap-receipt.json";
/// Before 0.2 the bin dir's lock was this file; it is removed when found.
const OLD_LOCK: &str = ".hookstrap.lock";
/// Staging directories (and, before 0.2, the same prefix in the bin dir's parent).
const TMP_PREFIX: &str = ".hookstrap-tmp-";
/// The receipt's temporary file while it is rewritten.
const RECEIPT_TMP_PREFIX: &str = ".hookstrap-receipt-tmp-";

/// Why a binary was not placed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Find(#[from] FindError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// An archive refused, named: which tool, version and asset it was.
    #[error("cannot install {what}")]
    Archive {
        what: String,
        #[source]
        source: ArchiveFault,
    },
}

/// What was wrong in an archive ([`InstallError::Archive`]), with its own exit code.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveFault {
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Find(#[from] FindError),
}

impl InstallError {
    fn inner(&self) -> &dyn Diagnostic {
        match self {
            InstallError::Fs(e) => e,
            InstallError::Extract(e) => e,
            InstallError::Find(e) => e,
            InstallError::Verify(e) => e,
            InstallError::Archive {
                source: ArchiveFault::Extract(e),
                ..
            } => e,
            InstallError::Archive {
                source: ArchiveFault::Find(e),
                ..
            } => e,
        }
    }

    /// An archive's fault named with the artifact it is in (`platform 5.10.8 from
    /// `platform_5.10.8_linux_amd64.tar.gz``); other errors as they are.
    pub fn in_archive(self, art: &Artifact) -> InstallError {
        let what = format!("{} {} from `{}`", art.name, art.version, art.asset);
        match self {
            InstallError::Extract(e) => InstallError::Archive {
                what,
                source: e.into(),
            },
            InstallError::Find(e) => InstallError::Archive {
                what,
                source: e.into(),
            },
            other => other,
        }
    }
}

impl Diagnostic for InstallError {
    fn code(&self) -> Code {
        self.inner().code()
    }

    fn hint(&self) -> Option<String> {
        self.inner().hint()
    }
}

/// What the bin dir holds, per tool.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Receipt {
    #[serde(default)]
    pub tools: BTreeMap<String, Installed>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Installed {
    pub version: String,
    pub target: String,
    /// The archive's hash.
    pub sha256: String,
    /// The binary's file name in the bin dir.
    pub bin: String,
    /// The binary's own fingerprint (BLAKE3), to notice it was replaced or damaged.
    pub bin_blake3: String,
}

impl Installed {
    fn is_sane(&self, tool: &str) -> bool {
        [tool, &self.version, &self.target, &self.bin]
            .iter()
            .all(|n| names::check(n).is_ok())
    }
}

/// What `bin_dir` holds, read without taking its lock (the receipt is replaced atomically),
/// with a size cap and never through a link. Entries whose names are not plain file names are
/// dropped: a receipt never makes hookstrap touch a path outside the bin dir.
pub fn read_receipt(bin_dir: &Path) -> Receipt {
    let mut receipt: Receipt =
        fsutil::read_capped(&bin_dir.join(RECEIPT), SMALL_FILE_MAX, Links::Refuse)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
    receipt.tools.retain(|tool, t| t.is_sane(tool));
    receipt
}

/// What is being placed: the receipt's record of one tool.
pub struct Placement {
    pub tool: String,
    pub version: String,
    pub target: String,
    /// The archive's hash.
    pub sha256: String,
    pub bin_name: String,
    /// The lock file's pin of the binary's BLAKE3, if any.
    pub bin_blake3: Option<String>,
}

impl Placement {
    pub fn of(art: &Artifact) -> Placement {
        Placement {
            tool: art.name.clone(),
            version: art.version.clone(),
            target: art.target.name().to_string(),
            sha256: art.sha256.clone(),
            bin_name: art.bin_name(),
            bin_blake3: art.bin_blake3.clone(),
        }
    }
}

/// A binary in a staging directory of the bin dir, executable, fingerprinted and (where the
/// lock file pins it) checked against its pin: ready for [`BinDir::commit`]. Dropping it
/// removes the staging directory, so work that is not committed leaves nothing behind.
pub struct Staged {
    staging: TempDir,
    path: PathBuf,
    what: Placement,
    bin_blake3: String,
}

impl Staged {
    /// Makes `unpacked` (a regular file inside `staging`) executable and fingerprints it; it
    /// must hash to the lock file's pin where `what` has one.
    pub fn check(
        staging: TempDir,
        unpacked: PathBuf,
        what: Placement,
    ) -> Result<Staged, InstallError> {
        let bin_blake3 = verify::fingerprint_file(&unpacked).fs("read", &unpacked)?;
        Staged::new(staging, unpacked, what, bin_blake3)
    }

    /// [`Staged::check`] for a binary whose fingerprint the caller computed while it read the
    /// file for another reason (copying it), sparing a second pass over it.
    pub fn new(
        staging: TempDir,
        unpacked: PathBuf,
        what: Placement,
        bin_blake3: String,
    ) -> Result<Staged, InstallError> {
        fs::set_permissions(&unpacked, fs::Permissions::from_mode(0o755))
            .fs("set permissions on", &unpacked)?;
        if let Some(pin) = &what.bin_blake3 {
            verify::check(
                &format!("{} {} binary `{}`", what.tool, what.version, what.bin_name),
                pin,
                &bin_blake3,
            )?;
        }
        Ok(Staged {
            staging,
            path: unpacked,
            what,
            bin_blake3,
        })
    }
}

/// An exclusive hold on a bin dir.
pub struct BinDir {
    pub path: PathBuf,
    _lock: File,
}

impl BinDir {
    /// Creates the bin dir if needed and takes its lock, waiting up to `timeout`.
    pub fn open(path: &Path, timeout: Duration) -> Result<BinDir, FsError> {
        fs::create_dir_all(path).fs("create the bin directory", path)?;
        let meta = fs::metadata(path).fs("read", path)?;
        if !meta.is_dir() {
            return Err(FsError::Refused {
                path: path.to_path_buf(),
                reason: "is not a directory".into(),
            });
        }
        // The bin dir is the app's own: a link to it is followed, once, here.
        let real = fs::canonicalize(path).fs("resolve", path)?;
        let lock = fsutil::lock_dir(&real, timeout)?;
        let bin = BinDir {
            path: real,
            _lock: lock,
        };
        bin.clean_stale();
        Ok(bin)
    }

    /// Removes what killed runs left in this bin dir (we hold its lock, so none is live):
    /// staging directories and receipt temporaries, and the lock file of older versions.
    fn clean_stale(&self) {
        let Ok(entries) = fs::read_dir(&self.path) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with(TMP_PREFIX)
                || name.starts_with(RECEIPT_TMP_PREFIX)
                || name == OLD_LOCK
            {
                let _ = fsutil::remove_any(&entry.path());
            }
        }
    }

    pub fn receipt(&self) -> Receipt {
        read_receipt(&self.path)
    }

    fn write_receipt(&self, receipt: &Receipt) -> Result<(), FsError> {
        let path = self.path.join(RECEIPT);
        if receipt.tools.is_empty() {
            return fsutil::remove_any(&path);
        }
        let body = serde_json::to_vec_pretty(receipt).unwrap_or_default();
        let mut tmp = tempfile::Builder::new()
            .prefix(RECEIPT_TMP_PREFIX)
            .tempfile_in(&self.path)
            .fs("create a temporary file in", &self.path)?;
        std::io::Write::write_all(&mut tmp, &body).fs("write", tmp.path())?;
        fault::pause("receipt");
        tmp.persist(&path)
            .map_err(|e| FsError::io("write", &path, e.error))?;
        Ok(())
    }

    /// Where `tool` is installed, if it is installed from exactly this archive and its binary
    /// is intact: it hashes to the lock file's pin where there is one, else to what the
    /// receipt recorded.
    pub fn is_current(&self, tool: &str, sha256: &str, pin: Option<&str>) -> Option<PathBuf> {
        let receipt = self.receipt();
        let installed = receipt.tools.get(tool)?;
        if installed.sha256 != sha256 {
            return None;
        }
        let expected = pin.unwrap_or(&installed.bin_blake3);
        let bin = self.path.join(&installed.bin);
        let file = fsutil::open_regular(&bin).ok()??;
        verify::fingerprint_reader(file)
            .is_ok_and(|h| h == expected)
            .then_some(bin)
    }

    /// A new staging directory inside the bin dir (same filesystem, so the final rename is
    /// atomic). It is removed on drop, and by the next install if this process is killed.
    pub fn staging(&self) -> Result<TempDir, FsError> {
        tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempdir_in(&self.path)
            .fs("create a temporary directory in", &self.path)
    }

    /// The binary to place from an unpacked archive: at its root (`at_root`, the Platform.sh
    /// CLI's layout), or the one regular file of that name anywhere in it.
    pub fn find(
        staging: &Path,
        bin: &str,
        bin_name: &str,
        at_root: bool,
    ) -> Result<PathBuf, InstallError> {
        if !at_root {
            return Ok(unpack::find_binary(staging, bin)?);
        }
        let unpacked = staging.join(bin_name);
        match fs::symlink_metadata(&unpacked) {
            Ok(m) if m.is_file() => Ok(unpacked),
            other => Err(FindError::NotAtRoot {
                name: bin_name.to_string(),
                present: other.is_ok(),
            }
            .into()),
        }
    }

    /// Renames a staged binary into the bin dir and records it in the receipt; returns the
    /// installed path. Cheap (a rename and a small file), so `install` commits its tools one
    /// after another under the bin dir's lock, once every one of them is staged.
    pub fn commit(&self, staged: Staged) -> Result<PathBuf, InstallError> {
        let Staged {
            staging,
            path,
            what,
            bin_blake3,
        } = staged;
        let dest = self.path.join(&what.bin_name);
        fault::pause("place");
        fs::rename(&path, &dest).fs("move the binary to", &dest)?;
        drop(staging);

        let mut receipt = self.receipt();
        receipt.tools.insert(
            what.tool.to_string(),
            Installed {
                version: what.version.to_string(),
                target: what.target.to_string(),
                sha256: what.sha256.to_string(),
                bin: what.bin_name.to_string(),
                bin_blake3,
            },
        );
        self.write_receipt(&receipt)?;
        Ok(dest)
    }

    /// Stages a copy of the cache's unpacked binary `src`, which only the lock file's pin can
    /// vouch for: it is copied into staging (never linked), the private copy is hashed (the
    /// bytes written, as they are written), and it is staged only if it matches `what`'s pin.
    /// A mismatch is a [`VerifyError`], after which the caller discards the cached copy and
    /// installs from the verified archive.
    pub fn stage_pinned_copy(&self, src: &Path, what: Placement) -> Result<Staged, InstallError> {
        let staging = self.staging()?;
        let staged = staging.path().join(&what.bin_name);
        let bin_blake3 = fsutil::copy_new_and_read(src, &staged, 0o755, |copy| {
            verify::fingerprint_reader(copy)
        })?;
        Staged::new(staging, staged, what, bin_blake3)
    }

    /// Removes the given tools (all when `tools` is empty); returns the removed binaries and
    /// whether any tool is left. Only regular files or links directly inside the bin dir, as
    /// the receipt names them, are removed.
    pub fn uninstall(&self, tools: &[String]) -> Result<(Vec<PathBuf>, bool), FsError> {
        let mut receipt = self.receipt();
        let names: Vec<String> = if tools.is_empty() {
            receipt.tools.keys().cloned().collect()
        } else {
            tools.to_vec()
        };
        let mut removed = Vec::new();
        for name in names {
            let Some(installed) = receipt.tools.remove(&name) else {
                continue;
            };
            let bin = self.path.join(&installed.bin);
            match fs::symlink_metadata(&bin) {
                Ok(m) if m.is_file() || m.file_type().is_symlink() => {
                    fs::remove_file(&bin).fs("remove", &bin)?;
                    removed.push(bin);
                }
                _ => {}
            }
        }
        self.write_receipt(&receipt)?;
        Ok((removed, !receipt.tools.is_empty()))
    }
}

/// Unpacks the verified blob into `staging`, hashing it on the way, and fails unless it is the
/// artifact's archive: the cache is re-checked on every use at no extra pass. The blob is
/// opened without following a link.
pub fn unpack_blob(
    staging: &Path,
    blob: &Path,
    art: &Artifact,
    limits: &Limits,
) -> Result<(), InstallError> {
    unpack_verified(staging, blob, art, limits).map_err(|e| e.in_archive(art))
}

fn unpack_verified(
    staging: &Path,
    blob: &Path,
    art: &Artifact,
    limits: &Limits,
) -> Result<(), InstallError> {
    let file = fsutil::open_regular(blob)?
        .ok_or_else(|| FsError::io("read", blob, std::io::ErrorKind::NotFound.into()))?;
    let mut reader = HashReader::new(BufReader::with_capacity(256 * 1024, file));
    let bare_name = art.bin_name();
    unpack::unpack(
        art.format,
        &mut reader,
        Some(blob),
        staging,
        &bare_name,
        limits,
    )?;
    let (actual, _) = reader.finish().fs("read", blob)?;
    verify::check(&art.url, &art.sha256, &actual)?;
    Ok(())
}

/// The file name and BLAKE3 of the binary the verified blob unpacks to (what `lock` pins),
/// found as `install` finds it. Unpacks into a temporary directory under `tmp_in`.
pub fn binary_fingerprint(
    tmp_in: &Path,
    blob: &Path,
    art: &Artifact,
    limits: &Limits,
) -> Result<(String, String), InstallError> {
    let staging = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempdir_in(tmp_in)
        .fs("create a temporary directory in", tmp_in)?;
    unpack_blob(staging.path(), blob, art, limits)?;
    let found = BinDir::find(staging.path(), &art.bin, &art.bin_name(), art.at_root)
        .map_err(|e| e.in_archive(art))?;
    let name = found
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    Ok((name, verify::fingerprint_file(&found).fs("read", &found)?))
}
