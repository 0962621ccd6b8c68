//! The marked block in `.environment` that puts the bin dir on `PATH`.
//!
//! Invariants (SPEC.md, "The env file"): at most one block whatever the number of runs; every
//! byte outside the block is kept (a missing final newline is added before an appended block);
//! sourcing is silent, POSIX (dash) and idempotent. Every change is written to a temporary file
//! beside the real one and renamed over it, so a kill leaves the old file or the new one, never
//! half of either. A symlinked env file is edited at its target and the link kept.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::diag::{FsError, IoContext};

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

/// The file to edit: the env file itself, or the target of a symlink to it.
fn resolve(path: &Path) -> Result<Option<PathBuf>, FsError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FsError::io("read", path, e)),
        Ok(meta) => {
            let real = if meta.file_type().is_symlink() {
                match fs::canonicalize(path) {
                    Ok(real) => real,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(FsError::Refused {
                            path: path.to_path_buf(),
                            reason: "is a symlink to nothing".into(),
                        });
                    }
                    Err(e) => return Err(FsError::io("resolve", path, e)),
                }
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
            Ok(Some(real))
        }
    }
}

/// Adds the block for `bin_dir` to `env_file`, or leaves it alone when it is already there.
pub fn ensure(env_file: &Path, bin_dir: &Path) -> Result<Change, FsError> {
    let block = block(bin_dir)?;
    let Some(real) = resolve(env_file)? else {
        write_atomic(env_file, block.as_bytes(), None)?;
        return Ok(Change::Appended);
    };
    let text = read_text(&real)?;
    match find_block(&text, env_file)? {
        Some((s, e)) if text[s..e] == block => Ok(Change::Unchanged),
        Some((s, e)) => {
            // The bin dir moved: swap the block in place, keep everything around it.
            let updated = format!("{}{}{}", &text[..s], block, &text[e..]);
            write_atomic(&real, updated.as_bytes(), Some(&real))?;
            Ok(Change::Replaced)
        }
        None => {
            let mut updated = text;
            if !updated.is_empty() && !updated.ends_with('\n') {
                updated.push('\n');
            }
            updated.push_str(&block);
            write_atomic(&real, updated.as_bytes(), Some(&real))?;
            Ok(Change::Appended)
        }
    }
}

/// Checks, without writing, that `ensure` can succeed: the bin dir can go in a block, and the
/// env file is absent or a readable UTF-8 regular file whose block (if any) is intact. Called
/// before anything is downloaded or placed, so a doomed run changes nothing.
pub fn check(env_file: &Path, bin_dir: &Path) -> Result<(), FsError> {
    block(bin_dir)?;
    if let Some(real) = resolve(env_file)? {
        find_block(&read_text(&real)?, env_file)?;
    }
    Ok(())
}

/// Removes the block; returns whether there was one.
pub fn remove(env_file: &Path) -> Result<bool, FsError> {
    let Some(real) = resolve(env_file)? else {
        return Ok(false);
    };
    let text = read_text(&real)?;
    let Some((s, e)) = find_block(&text, env_file)? else {
        return Ok(false);
    };
    let updated = format!("{}{}", &text[..s], &text[e..]);
    write_atomic(&real, updated.as_bytes(), Some(&real))?;
    Ok(true)
}

fn read_text(path: &Path) -> Result<String, FsError> {
    let bytes = fs::read(path).fs("read", path)?;
    String::from_utf8(bytes).map_err(|_| FsError::Refused {
        path: path.to_path_buf(),
        reason: "is not UTF-8 text; refusing to edit it".into(),
    })
}

/// Writes `bytes` to `path` through a temporary sibling and a rename, keeping the permissions
/// of `keep_mode_of` when given.
fn write_atomic(path: &Path, bytes: &[u8], keep_mode_of: Option<&Path>) -> Result<(), FsError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).fs("create the directory", dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".hookstrap-env-")
        .tempfile_in(dir)
        .fs("create a temporary file in", dir)?;
    let mode = match keep_mode_of {
        Some(p) => fs::metadata(p).fs("read", p)?.permissions().mode() & 0o7777,
        None => 0o644,
    };
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .fs("set permissions on", tmp.path())?;
    tmp.write_all(bytes).fs("write", tmp.path())?;
    tmp.as_file().sync_all().fs("write", tmp.path())?;
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
