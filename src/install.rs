//! Placing a verified archive's binary in the bin dir, atomically, and taking it out again.
//!
//! Extraction happens in a temporary directory inside the bin dir's parent (same filesystem),
//! the archive is hashed again while it is unpacked and trusted only if it matches, and the one
//! binary is then renamed over the old one: after any failure or kill the bin dir holds the
//! previous complete binary or the new one. Installs into one bin dir are serialized by a lock
//! file; a receipt records what each tool's binary is so repeated runs are no-ops.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tempfile::TempDir;

use crate::diag::{Code, Diagnostic, FsError, IoContext};
use crate::resolve::Artifact;
use crate::unpack::{self, ExtractError, FindError, Limits};
use crate::verify::{self, HashReader, VerifyError};

const RECEIPT: &str = ".hookstrap-receipt.json";
const LOCK: &str = ".hookstrap.lock";
const TMP_PREFIX: &str = ".hookstrap-tmp-";

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
}

impl InstallError {
    fn inner(&self) -> &dyn Diagnostic {
        match self {
            InstallError::Fs(e) => e,
            InstallError::Extract(e) => e,
            InstallError::Find(e) => e,
            InstallError::Verify(e) => e,
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

/// What `bin_dir` holds, read without taking its lock (the receipt is replaced atomically).
pub fn read_receipt(bin_dir: &Path) -> Receipt {
    fs::read(bin_dir.join(RECEIPT))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// What is being placed: the receipt's record of one tool.
pub struct Placement {
    pub tool: String,
    pub version: String,
    pub target: String,
    /// The archive's hash.
    pub sha256: String,
    pub bin_name: String,
}

impl Placement {
    pub fn of(art: &Artifact) -> Placement {
        Placement {
            tool: art.name.clone(),
            version: art.version.clone(),
            target: art.target.name().to_string(),
            sha256: art.sha256.clone(),
            bin_name: art.bin_name(),
        }
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
        let file = crate::fsutil::lock_file(&path.join(LOCK), true, timeout)?;
        let bin = BinDir {
            path: path.to_path_buf(),
            _lock: file,
        };
        bin.clean_stale();
        Ok(bin)
    }

    /// Removes temporary directories left by killed installs (we hold the lock, so none is live).
    fn clean_stale(&self) {
        let Some(parent) = self.path.parent() else {
            return;
        };
        for dir in [parent, self.path.as_path()] {
            if let Ok(entries) = fs::read_dir(dir) {
                for entry in entries.flatten() {
                    if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                        let _ = fs::remove_dir_all(entry.path());
                    }
                }
            }
        }
    }

    pub fn receipt(&self) -> Receipt {
        read_receipt(&self.path)
    }

    fn write_receipt(&self, receipt: &Receipt) -> Result<(), FsError> {
        let path = self.path.join(RECEIPT);
        if receipt.tools.is_empty() {
            return match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(FsError::io("remove", &path, e))
                }
                _ => Ok(()),
            };
        }
        let body = serde_json::to_vec_pretty(receipt).unwrap_or_default();
        crate::fsutil::write_atomic(&self.path, &path, &body)
    }

    /// Whether `tool` is installed from exactly this archive and its binary is intact.
    pub fn is_current(&self, tool: &str, sha256: &str) -> bool {
        let receipt = self.receipt();
        let Some(installed) = receipt.tools.get(tool) else {
            return false;
        };
        if installed.sha256 != sha256 {
            return false;
        }
        let bin = self.path.join(&installed.bin);
        let is_file = fs::symlink_metadata(&bin).is_ok_and(|m| m.is_file());
        is_file && verify::fingerprint_file(&bin).is_ok_and(|h| h == installed.bin_blake3)
    }

    /// A new temporary directory beside the bin dir (same filesystem, so the final rename is
    /// atomic). It is removed on drop, and by the next install if this process is killed.
    pub fn staging(&self) -> Result<TempDir, FsError> {
        let parent = self.path.parent().unwrap_or(&self.path);
        tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempdir_in(parent)
            .fs("create a temporary directory in", parent)
    }

    /// Unpacks `blob` into `staging`, hashing it on the way, and fails unless it is the
    /// artifact's archive: the cache is re-checked on every use at no extra pass.
    pub fn unpack_blob(
        &self,
        staging: &Path,
        blob: &Path,
        art: &Artifact,
        limits: &Limits,
    ) -> Result<(), InstallError> {
        let file = File::open(blob).fs("read", blob)?;
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

    /// Renames `unpacked` (a regular file inside `staging`) into the bin dir and records it.
    /// `bin_blake3` is the binary's fingerprint when the caller already knows it. Returns the
    /// installed path and its hash.
    pub fn place(
        &self,
        staging: TempDir,
        unpacked: &Path,
        what: &Placement,
        bin_blake3: Option<&str>,
    ) -> Result<(PathBuf, String), InstallError> {
        fs::set_permissions(unpacked, fs::Permissions::from_mode(0o755))
            .fs("set permissions on", unpacked)?;
        let bin_blake3 = match bin_blake3 {
            Some(known) => known.to_string(),
            None => verify::fingerprint_file(unpacked).fs("read", unpacked)?,
        };
        let dest = self.path.join(&what.bin_name);
        fs::rename(unpacked, &dest).fs("move the binary to", &dest)?;
        drop(staging);

        let mut receipt = self.receipt();
        receipt.tools.insert(
            what.tool.to_string(),
            Installed {
                version: what.version.to_string(),
                target: what.target.to_string(),
                sha256: what.sha256.to_string(),
                bin: what.bin_name.to_string(),
                bin_blake3: bin_blake3.clone(),
            },
        );
        self.write_receipt(&receipt)?;
        Ok((dest, bin_blake3))
    }

    /// Places an already verified binary (the cache's unpacked copy): a hard link where the
    /// filesystem allows (nothing copied), a copy otherwise, then the same atomic rename.
    pub fn place_verified(
        &self,
        src: &Path,
        bin_blake3: &str,
        what: &Placement,
    ) -> Result<PathBuf, InstallError> {
        let staging = self.staging()?;
        let staged = staging.path().join(&what.bin_name);
        if fs::hard_link(src, &staged).is_err() {
            fs::copy(src, &staged).fs("copy to", &staged)?;
        }
        Ok(self.place(staging, &staged, what, Some(bin_blake3))?.0)
    }

    /// Removes the given tools (all when `tools` is empty); returns the removed binaries and
    /// whether any tool is left.
    pub fn uninstall(&self, tools: &[String]) -> Result<(Vec<PathBuf>, bool), FsError> {
        let mut receipt = self.receipt();
        let names: Vec<String> = if tools.is_empty() {
            receipt.tools.keys().cloned().collect()
        } else {
            tools.to_vec()
        };
        let mut removed = Vec::new();
        for name in names {
            if let Some(installed) = receipt.tools.remove(&name) {
                let bin = self.path.join(&installed.bin);
                match fs::remove_file(&bin) {
                    Ok(()) => removed.push(bin),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(FsError::io("remove", &bin, e)),
                }
            }
        }
        self.write_receipt(&receipt)?;
        Ok((removed, !receipt.tools.is_empty()))
    }
}
