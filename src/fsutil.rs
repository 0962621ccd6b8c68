//! Small filesystem policies every stage shares, each decided here once: atomic writes of
//! small files, advisory lock files, removal of whatever a path holds, and the modes of the
//! files hookstrap creates.

use std::fs::{self, File};
use std::io::{self, Read, Write};
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
    use std::os::unix::fs::OpenOptionsExt;

    // Never through a link: a link planted in a shared place must not make hookstrap create
    // (or open) a file elsewhere.
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refused(path, "is a symbolic link; refusing to follow it"),
            _ => FsError::io("open the lock file", path, e),
        })?;
    wait_for_lock(file, path, exclusive, timeout)
}

/// Locks the directory `path` itself (flock on the directory), exclusively, waiting up to
/// `timeout`: a lock that leaves no file behind. A link in the directory's place is refused.
pub fn lock_dir(path: &Path, timeout: Duration) -> Result<File, FsError> {
    use std::os::unix::fs::OpenOptionsExt;

    let file = File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => refused(path, "is not a directory"),
            _ => FsError::io("open", path, e),
        })?;
    wait_for_lock(file, path, true, timeout)
}

fn wait_for_lock(
    file: File,
    path: &Path,
    exclusive: bool,
    timeout: Duration,
) -> Result<File, FsError> {
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
    write_atomic_named(tmp_dir, ".tmp-", path, bytes)
}

/// [`write_atomic`] with the temporary file's name prefix, so the directory's owner can
/// recognise and remove what a killed run left.
pub fn write_atomic_named(
    tmp_dir: &Path,
    prefix: &str,
    path: &Path,
    bytes: &[u8],
) -> Result<(), FsError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).fs("create the directory", parent)?;
    }
    fs::create_dir_all(tmp_dir).fs("create the directory", tmp_dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(prefix)
        .tempfile_in(tmp_dir)
        .fs("create a temporary file in", tmp_dir)?;
    tmp.write_all(bytes).fs("write", tmp.path())?;
    // tempfile creates 0600; these are ordinary files (and a mirror's are served by others).
    readable(tmp.path())?;
    tmp.persist(path)
        .map_err(|e| FsError::io("write", path, e.error))?;
    Ok(())
}

/// Opens a regular file for reading without following a link in its place (nor blocking on a
/// FIFO); `None` when there is none. Anything but a regular file is refused.
pub fn open_regular(path: &Path) -> Result<Option<File>, FsError> {
    use std::os::unix::fs::OpenOptionsExt;

    let file = match File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(refused(path, "is a symbolic link; refusing to follow it"));
        }
        Err(e) => return Err(FsError::io("read", path, e)),
    };
    if !file.metadata().fs("read", path)?.is_file() {
        return Err(refused(path, "is not a regular file"));
    }
    Ok(Some(file))
}

/// Makes sure `root/parts…` is a chain of real directories, creating what is missing: a link
/// or a file in the way is refused, so nothing is ever written through a link planted in a
/// shared place (nor created at a dangling link's target). `root` itself must be a directory
/// (reached through a link if it is one: it is where the user said). Returns the full path.
pub fn real_dir(root: &Path, parts: &[&str]) -> Result<std::path::PathBuf, FsError> {
    let mut path = root.to_path_buf();
    if !fs::metadata(root).fs("read", root)?.is_dir() {
        return Err(refused(root, "is not a directory"));
    }
    for part in parts {
        path.push(part);
        check_real_dir(&path, true)?;
    }
    Ok(path)
}

/// Creates `path` as a directory (its parent exists) unless it is one; a link or anything else
/// in its place is refused.
fn check_real_dir(path: &Path, create: bool) -> Result<(), FsError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_dir() => Ok(()),
        Ok(m) if m.file_type().is_symlink() => Err(refused(
            path,
            "is a symbolic link where hookstrap keeps a directory; refusing to follow it",
        )),
        Ok(_) => Err(refused(path, "is not a directory")),
        Err(e) if e.kind() == io::ErrorKind::NotFound && create => match fs::create_dir(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => check_real_dir(path, false),
            Err(e) => Err(FsError::io("create the directory", path, e)),
        },
        Err(e) => Err(FsError::io("read", path, e)),
    }
}

/// Copies the regular file `src` (never through a link) to the new file `dst` (created, never
/// replacing anything), mode `mode`. The copy shares no inode with `src`: writing to one
/// changes nothing in the other. On Linux `std::io::copy` uses `copy_file_range`, which a
/// copy-on-write filesystem (btrfs, XFS) may serve as a reflink.
pub fn copy_new(src: &Path, dst: &Path, mode: u32) -> Result<u64, FsError> {
    let (mut from, mut to) = open_copy(src, dst, mode)?;
    let n = io::copy(&mut from, &mut to).fs("copy to", dst)?;
    to.flush().fs("write", dst)?;
    Ok(n)
}

/// The regular file `src` (never through a link) and the new file `dst` (created, readable and
/// writable, never replacing anything), for a copy.
fn open_copy(src: &Path, dst: &Path, mode: u32) -> Result<(File, File), FsError> {
    use std::os::unix::fs::OpenOptionsExt;

    let from = open_regular(src)?
        .ok_or_else(|| FsError::io("read", src, io::ErrorKind::NotFound.into()))?;
    let to = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dst)
        .fs("create", dst)?;
    Ok((from, to))
}

/// [`copy_new`], while `read_copy` reads the new file (the copy itself, never the source) on
/// a second thread, trailing the copy as it grows; returns what `read_copy` returns. So a copy
/// and a pass over it (hashing it) take about as long as the longer of the two, and what is
/// read is exactly what the copy holds. The copy still goes through `copy_file_range` (a
/// reflink where the filesystem can), a few MiB at a time.
pub fn copy_new_and_read<T: Send>(
    src: &Path,
    dst: &Path,
    mode: u32,
    read_copy: impl FnOnce(&mut dyn Read) -> io::Result<T> + Send,
) -> Result<T, FsError> {
    const STEP: u64 = 4 << 20;
    let (mut from, mut to) = open_copy(src, dst, mode)?;
    // The same open file: the reader uses positioned reads, which leave the copy's offset be.
    let copy = to.try_clone().fs("open", dst)?;
    let (progress, copied) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let reading = scope.spawn(move || {
            read_copy(&mut Trailing {
                file: copy,
                pos: 0,
                copied: 0,
                progress: copied,
            })
        });
        let copying = (|| {
            let mut total = 0;
            loop {
                let n = io::copy(&mut (&mut from).take(STEP), &mut to)?;
                if n == 0 {
                    return to.flush();
                }
                total += n;
                if progress.send(total).is_err() {
                    // The reader gave up: its error is the one to report.
                    return Ok(());
                }
            }
        })();
        drop(progress);
        let read = reading
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the reading thread failed")));
        copying.fs("copy to", dst)?;
        read.fs("read", dst)
    })
}

/// A reader of a file being written, that never overtakes the writer: it reads up to what the
/// writer says it has written, waits for more, and ends when the writer is done.
struct Trailing {
    file: File,
    pos: u64,
    copied: u64,
    progress: std::sync::mpsc::Receiver<u64>,
}

impl Read for Trailing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;

        while self.pos == self.copied {
            match self.progress.recv() {
                Ok(copied) => self.copied = copied,
                // The writer is done (or failed, which it reports itself).
                Err(_) => return Ok(0),
            }
        }
        let left = usize::try_from(self.copied - self.pos).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the copy shrank while it was read",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_read_whole_while_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 1, 4 << 20, (9 << 20) + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let src = dir.path().join(format!("src-{len}"));
            let dst = dir.path().join(format!("dst-{len}"));
            fs::write(&src, &data).unwrap();
            let read = copy_new_and_read(&src, &dst, 0o755, |copy| {
                let mut all = Vec::new();
                copy.read_to_end(&mut all)?;
                Ok(all)
            })
            .unwrap();
            assert_eq!(read, data, "{len}");
            assert_eq!(fs::read(&dst).unwrap(), data, "{len}");
        }
    }

    #[test]
    fn a_copy_never_replaces_a_file_and_a_reader_error_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let dst = dir.path().join("dst");
        fs::write(&src, vec![1u8; 1 << 20]).unwrap();
        fs::write(&dst, b"mine").unwrap();
        assert!(copy_new_and_read(&src, &dst, 0o644, |_| Ok(())).is_err());
        assert_eq!(fs::read(&dst).unwrap(), b"mine");
        fs::remove_file(&dst).unwrap();
        let err = copy_new_and_read(&src, &dst, 0o644, |_| -> io::Result<()> {
            Err(io::Error::other("no thanks"))
        })
        .unwrap_err();
        assert!(format!("{err:?}").contains("no thanks"), "{err:?}");
    }
}
