//! Small filesystem policies every stage shares, each decided here once: atomic writes of
//! small files, advisory lock files, removal of whatever a path holds, and the modes of the
//! files hookstrap creates.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use crate::diag::{FsError, IoContext};

/// Most bytes read from a small local file hookstrap parses (lock file, manifest, receipt,
/// cache index entries, fingerprints): real ones are a few KiB.
pub const SMALL_FILE_MAX: u64 = 4 << 20;

/// Whether a link in the file's place is followed: yes for the user's own files (a symlinked
/// lock file is theirs to make), never in shared places (the cache, the bin dir).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    Follow,
    Refuse,
}

/// Reads a small regular file, at most `max` bytes; `None` when there is none. A FIFO, device,
/// socket or directory in its place is refused at once (opened non-blocking, so a FIFO with no
/// writer cannot hang the build), as is a link where `links` refuses them, and a file larger
/// than `max`.
pub fn read_capped(path: &Path, max: u64, links: Links) -> Result<Option<Vec<u8>>, FsError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    let file = match File::options().read(true).custom_flags(flags).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(refused(path, "is a symbolic link; refusing to follow it"));
        }
        Err(e) => return Err(FsError::io("read", path, e)),
    };
    let meta = file.metadata().fs("read", path)?;
    if !meta.is_file() {
        return Err(refused(path, "is not a regular file"));
    }
    if meta.len() > max {
        return Err(refused(path, &format!("is larger than {max} bytes")));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow after the check: read one byte past the cap to notice.
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .fs("read", path)?;
    if bytes.len() as u64 > max {
        return Err(refused(path, &format!("is larger than {max} bytes")));
    }
    Ok(Some(bytes))
}

fn refused(path: &Path, reason: &str) -> FsError {
    FsError::Refused {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Removes whatever `path` is (a file, a link, a directory tree), never following a link;
/// absent is fine.
pub fn remove_any(path: &Path) -> Result<(), FsError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(FsError::io("remove", path, e)),
    };
    let result = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(FsError::io("remove", path, e)),
        _ => Ok(()),
    }
}

/// Makes a file we created `0644`, as an ordinary file would be.
pub fn readable(path: &Path) -> Result<(), FsError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).fs("set permissions on", path)
}

/// Opens (creating it) and locks the advisory lock file `path`, exclusively or shared, waiting
/// up to `timeout`. The kernel releases the lock when the file is closed or the process dies,
/// so a killed hookstrap never leaves a lock behind.
pub fn lock_file(path: &Path, exclusive: bool, timeout: Duration) -> Result<File, FsError> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .fs("open the lock file", path)?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let attempt = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match attempt {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(FsError::LockTimeout {
                    path: path.to_path_buf(),
                    secs: timeout.as_secs(),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(FsError::io("lock", path, e)),
        }
    }
}

/// Writes a small file through a temporary file in `tmp_dir` and a rename.
pub fn write_atomic(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).fs("create the directory", parent)?;
    }
    fs::create_dir_all(tmp_dir).fs("create the directory", tmp_dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(tmp_dir)
        .fs("create a temporary file in", tmp_dir)?;
    tmp.write_all(bytes).fs("write", tmp.path())?;
    // tempfile creates 0600; these are ordinary files (and a mirror's are served by others).
    readable(tmp.path())?;
    tmp.persist(path)
        .map_err(|e| FsError::io("write", path, e.error))?;
    Ok(())
}
