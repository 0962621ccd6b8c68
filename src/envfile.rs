//! The marked block in `.environment` that puts the bin dir on `PATH`.
//!
//! Invariants (SPEC.md, "The env file"): at most one block whatever the number of runs; every
//! byte outside the block is kept (a missing final newline is added before an appended block);
//! sourcing is silent, POSIX (dash) and idempotent.
//!
//! How a change is written, so that a kill leaves the old file or the new one and hookstrap
//! never changes a file's inode, owner, mode or links behind the user's back:
//! - a new env file is written to a temporary file and renamed into place;
//! - the block is *appended* to an existing file in place, in one `write(2)` with `O_APPEND`,
//!   through a symlink if the env file is one: the inode, owner, mode and other hard links
//!   stay as they were;
//! - a rewrite (the block moved, `uninstall`) goes through a temporary file and a rename, which
//!   would make a new inode: it is refused (exit 7) for a symlinked or hard-linked env file, or
//!   one owned by another user, with a hint to edit it by hand.
//!
//! Every edit holds a lock on the env file's directory, under which the temporary files a
//! killed run left there are removed.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::diag::{FsError, IoContext};
use crate::fault;
use crate::fsutil::{self, Links, SMALL_FILE_MAX};

/// The temporary file of a rewrite, beside the env file.
const TMP_PREFIX: &str = ".hookstrap-env-";

pub const START: &str = "# >>> hookstrap >>>";
pub const END: &str = "# <<< hookstrap <<<";

/// What `ensure` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Unchanged,
    Appended,
    Replaced,
}

/// The block for `bin_dir` (an absolute path), ending in a newline.
pub fn block(bin_dir: &Path) -> Result<String, FsError> {
    let text = bin_dir.to_str().ok_or_else(|| FsError::Refused {
        path: bin_dir.to_path_buf(),
        reason: "is not valid UTF-8, so it cannot be written to a shell file".into(),
    })?;
    if text.contains(['\n', '\r', '\0', ':']) {
        return Err(FsError::Refused {
            path: bin_dir.to_path_buf(),
            reason: "contains a newline or a colon, so it cannot go on PATH".into(),
        });
    }
    // Inside double quotes only these four are special to a POSIX shell.
    let mut quoted = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    Ok(format!(
        "{START}\ncase \":$PATH:\" in *\":{quoted}:\"*) ;; *) export PATH=\"{quoted}:$PATH\" ;; esac\n{END}\n"
    ))
}

/// Where the block starts and ends (byte offsets of whole lines, end exclusive).
fn find_block(text: &str, path: &Path) -> Result<Option<(usize, usize)>, FsError> {
    let damaged = |reason: &str| FsError::DamagedBlock {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let mut offset = 0;
    let mut start = None;
    let mut found = None;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare == START {
            if start.is_some() || found.is_some() {
                return Err(damaged("more than one start marker"));
            }
            start = Some(offset);
        } else if bare == END {
            match start.take() {
                Some(s) if found.is_none() => found = Some((s, offset + line.len())),
                _ => return Err(damaged("an end marker without its start marker")),
            }
        }
        offset += line.len();
    }
    if start.is_some() {
        return Err(damaged("a start marker without its end marker"));
    }
    Ok(found)
}

/// The env file as found: absent, or the regular file to edit (the target of a symlink to it).
struct Found {
    /// The regular file itself.
    real: PathBuf,
    /// Whether a rename would change what the user sees through another name: a symlink's
    /// target, or a file with other hard links.
    linked: bool,
    /// Its owner: a rename must not change it.
    uid: u32,
}

fn find(path: &Path) -> Result<Option<Found>, FsError> {
    let meta = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(FsError::io("read", path, e)),
        Ok(meta) => meta,
    };
    let linked = meta.file_type().is_symlink();
    let real = if linked {
        fs::canonicalize(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FsError::Refused {
                path: path.to_path_buf(),
                reason: "is a symlink to nothing".into(),
            },
            _ => FsError::io("resolve", path, e),
        })?
    } else {
        path.to_path_buf()
    };
    let meta = fs::metadata(&real).fs("read", &real)?;
    if !meta.is_file() {
        return Err(FsError::Refused {
            path: path.to_path_buf(),
            reason: "is not a regular file".into(),
        });
    }
    Ok(Some(Found {
        real,
        linked: linked || meta.nlink() > 1,
        uid: meta.uid(),
    }))
}

/// Adds the block for `bin_dir` to `env_file`, or leaves it alone when it is already there.
pub fn ensure(env_file: &Path, bin_dir: &Path) -> Result<Change, FsError> {
    let block = block(bin_dir)?;
    let _lock = lock_dir_of(env_file)?;
    let Some(found) = find(env_file)? else {
        write_new(env_file, block.as_bytes(), None)?;
        return Ok(Change::Appended);
    };
    let text = read_text(&found.real)?;
    match find_block(&text, env_file)? {
        Some((s, e)) if text[s..e] == block => Ok(Change::Unchanged),
        Some((s, e)) => {
            // The bin dir moved: swap the block in place, keep everything around it.
            let updated = format!("{}{}{}", &text[..s], block, &text[e..]);
            rewrite(env_file, &found, updated.as_bytes())?;
            Ok(Change::Replaced)
        }
        None => {
            let mut addition = String::new();
            if !text.is_empty() && !text.ends_with('\n') {
                addition.push('\n');
            }
            addition.push_str(&block);
            append(&found.real, &text, addition.as_bytes())?;
            Ok(Change::Appended)
        }
    }
}

/// Checks, without writing, that `ensure` can succeed: the bin dir can go in a block, and the
/// env file is absent or a readable UTF-8 regular file whose block (if any) is intact. Called
/// before anything is downloaded or placed, so a doomed run changes nothing.
pub fn check(env_file: &Path, bin_dir: &Path) -> Result<(), FsError> {
    let block = block(bin_dir)?;
    if let Some(found) = find(env_file)? {
        let text = read_text(&found.real)?;
        if let Some((s, e)) = find_block(&text, env_file)?
            && text[s..e] != block
            && found.linked
        {
            return Err(not_replaceable(
                env_file,
                "is a symlink or has other hard links",
            ));
        }
    }
    Ok(())
}

/// Removes the block; returns whether there was one.
pub fn remove(env_file: &Path) -> Result<bool, FsError> {
    let _lock = lock_dir_of(env_file)?;
    let Some(found) = find(env_file)? else {
        return Ok(false);
    };
    let text = read_text(&found.real)?;
    let Some((s, e)) = find_block(&text, env_file)? else {
        return Ok(false);
    };
    let updated = format!("{}{}", &text[..s], &text[e..]);
    rewrite(env_file, &found, updated.as_bytes())?;
    Ok(true)
}

fn read_text(path: &Path) -> Result<String, FsError> {
    let bytes = fsutil::read_capped(path, SMALL_FILE_MAX, Links::Follow)?
        .ok_or_else(|| FsError::io("read", path, std::io::ErrorKind::NotFound.into()))?;
    String::from_utf8(bytes).map_err(|_| FsError::Refused {
        path: path.to_path_buf(),
        reason: "is not UTF-8 text; refusing to edit it".into(),
    })
}

/// The env file's directory, locked for the edit (created if missing), with the temporary
/// files a killed run left there removed.
fn lock_dir_of(env_file: &Path) -> Result<File, FsError> {
    let dir = dir_of(env_file);
    fs::create_dir_all(dir).fs("create the directory", dir)?;
    let real = fs::canonicalize(dir).fs("resolve", dir)?;
    let lock = fsutil::lock_dir(&real, Duration::from_secs(60))?;
    if let Ok(entries) = fs::read_dir(&real) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                let _ = fsutil::remove_any(&entry.path());
            }
        }
    }
    Ok(lock)
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Appends `addition` to the regular file `real` in one write, keeping its inode, owner, mode
/// and links. `before` is what was read: if the file changed since, nothing is written.
fn append(real: &Path, before: &str, addition: &[u8]) -> Result<(), FsError> {
    let mut file = File::options()
        .append(true)
        .open(real)
        .fs("open for appending", real)?;
    let len = file.metadata().fs("read", real)?.len();
    if len != before.len() as u64 {
        return Err(FsError::Refused {
            path: real.to_path_buf(),
            reason: "changed while hookstrap was editing it; run again".into(),
        });
    }
    fault::pause("env");
    file.write_all(addition).fs("append to", real)?;
    file.sync_all().fs("write", real)?;
    Ok(())
}

/// Replaces the env file's content through a temporary file and a rename, where that changes
/// nothing the user relies on; refuses otherwise.
fn rewrite(env_file: &Path, found: &Found, bytes: &[u8]) -> Result<(), FsError> {
    if found.linked {
        return Err(not_replaceable(
            env_file,
            "is a symlink or has other hard links",
        ));
    }
    write_new(&found.real, bytes, Some(found))
}

fn not_replaceable(env_file: &Path, why: &str) -> FsError {
    FsError::Refused {
        path: env_file.to_path_buf(),
        reason: format!(
            "{why}, so rewriting it would change what others see; remove the lines from `# >>> hookstrap >>>` to `# <<< hookstrap <<<` by hand and run again"
        ),
    }
}

/// Writes `bytes` to `path` through a temporary sibling and a rename; replacing `old`, its mode
/// is kept, and an owner the new file would not have is refused.
fn write_new(path: &Path, bytes: &[u8], old: Option<&Found>) -> Result<(), FsError> {
    let dir = dir_of(path);
    fs::create_dir_all(dir).fs("create the directory", dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)
        .fs("create a temporary file in", dir)?;
    let mode = match old {
        Some(old) => {
            let ours = tmp.as_file().metadata().fs("read", tmp.path())?.uid();
            if ours != old.uid {
                return Err(not_replaceable(path, "belongs to another user"));
            }
            fs::metadata(&old.real)
                .fs("read", &old.real)?
                .permissions()
                .mode()
                & 0o7777
        }
        None => 0o644,
    };
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .fs("set permissions on", tmp.path())?;
    tmp.write_all(bytes).fs("write", tmp.path())?;
    tmp.as_file().sync_all().fs("write", tmp.path())?;
    fault::pause("env");
    tmp.persist(path)
        .map_err(|e| FsError::io("replace", path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_matches_spec() {
        assert_eq!(
            block(Path::new("/app/.platformsh/bin")).unwrap(),
            "# >>> hookstrap >>>\ncase \":$PATH:\" in *\":/app/.platformsh/bin:\"*) ;; *) export PATH=\"/app/.platformsh/bin:$PATH\" ;; esac\n# <<< hookstrap <<<\n"
        );
    }

    #[test]
    fn shell_specials_are_escaped() {
        let b = block(Path::new("/a $b/`c`/\"d\"\\")).unwrap();
        assert!(b.contains("/a \\$b/\\`c\\`/\\\"d\\\"\\\\"), "{b}");
        assert!(block(Path::new("/a\nb")).is_err());
        assert!(block(Path::new("/a:b")).is_err());
    }

    #[test]
    fn damaged_blocks_are_refused() {
        let p = Path::new("e");
        assert!(find_block(&format!("x\n{START}\nfoo\n"), p).is_err());
        assert!(find_block(&format!("{END}\n"), p).is_err());
        assert!(find_block(&format!("{START}\n{END}\n{START}\n{END}\n"), p).is_err());
        assert_eq!(
            find_block(&format!("a\r\n{START}\r\nx\r\n{END}\r\nb"), p).unwrap(),
            Some((3, 48))
        );
    }

    #[test]
    fn check_refuses_what_ensure_would_refuse_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        let env = dir.path().join(".environment");
        check(&env, &bin).unwrap();
        assert!(!env.exists(), "check must not create the file");
        fs::write(&env, format!("a\n{START}\n")).unwrap();
        assert!(matches!(
            check(&env, &bin),
            Err(FsError::DamagedBlock { .. })
        ));
        assert_eq!(fs::read_to_string(&env).unwrap(), format!("a\n{START}\n"));
        fs::remove_file(&env).unwrap();
        fs::create_dir(&env).unwrap();
        assert!(matches!(check(&env, &bin), Err(FsError::Refused { .. })));
        assert!(check(&dir.path().join("x"), Path::new("/a:b")).is_err());
    }

    #[test]
    fn append_keep_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".environment");
        fs::write(&env, "export A=1").unwrap();
        let bin = dir.path().join("bin");
        assert_eq!(ensure(&env, &bin).unwrap(), Change::Appended);
        let once = fs::read_to_string(&env).unwrap();
        assert!(once.starts_with("export A=1\n# >>> hookstrap >>>\n"));
        assert_eq!(ensure(&env, &bin).unwrap(), Change::Unchanged);
        assert_eq!(fs::read_to_string(&env).unwrap(), once);
        assert_eq!(
            ensure(&env, &dir.path().join("other")).unwrap(),
            Change::Replaced
        );
        assert!(remove(&env).unwrap());
        assert_eq!(fs::read_to_string(&env).unwrap(), "export A=1\n");
        assert!(!remove(&env).unwrap());
    }
}
