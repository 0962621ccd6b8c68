//! Finding the one binary to install in an unpacked tree, by name, never following a link.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::shown::shown_text;
use crate::diag::{Code, Diagnostic};

/// Why no binary was found in an unpacked tree.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("the archive holds no usable `{name}`: it holds no file of that name{}", if files.is_empty() { "" } else { ", nor one executable file" })]
    NotFound {
        name: String,
        /// A few regular files that are there, to help pick a `bin` name.
        files: Vec<String>,
    },
    #[error("the archive holds no usable `{name}`: it holds several: {}", paths.join(", "))]
    Ambiguous { name: String, paths: Vec<String> },
    #[error("the archive holds no usable `{name}`: it holds `{path}`, which is not a regular file")]
    NotRegular { name: String, path: String },
    /// The Platform.sh CLI's layout: the binary sits at the archive's root.
    #[error("the archive holds no usable `{name}`: it {}", if *.present { "is not a regular file" } else { "is not at the archive's root" })]
    NotAtRoot { name: String, present: bool },
    #[error("failed to read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl Diagnostic for FindError {
    /// 7 for a local read failure, 6 (archive refused: binary missing) otherwise.
    fn code(&self) -> Code {
        match self {
            FindError::Io { .. } => Code::LocalFs,
            _ => Code::Archive,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            FindError::NotFound { files, .. } if !files.is_empty() => Some(format!(
                "set `bin` to the command's name in hookstrap.toml; the archive holds {}",
                files.join(", ")
            )),
            FindError::Ambiguous { .. } => {
                Some("the archive is not shaped like a single-tool release".to_owned())
            }
            FindError::NotFound { .. }
            | FindError::NotRegular { .. }
            | FindError::NotAtRoot { .. }
            | FindError::Io { .. } => None,
        }
    }
}

/// Most file names listed in [`FindError::NotFound`].
const MAX_LISTED: usize = 10;

/// The regular file called `name` (else `name.exe`) anywhere under `dest`, an unpacked
/// archive: `gh_2.63.0_linux_amd64/bin/gh`, `ripgrep-14.1.1-x86_64-unknown-linux-musl/rg`.
/// Two candidates of the same kind are ambiguous; a link or other non-regular file of that name
/// is refused; directories of that name are not candidates. Links are never followed.
///
/// With no file of that name, the archive's only executable file is the binary: the command is
/// named after the repository whatever the archive calls it (SPEC.md, "Other released tools"),
/// so `github:cli/cli` installs `gh_2.63.0_linux_amd64/bin/gh` as `cli`. Several executables
/// and no file of that name is [`FindError::NotFound`], listing them: never a guess.
pub fn find_binary(dest: &Path, name: &str) -> Result<PathBuf, FindError> {
    let mut found = Found::new(dest, name);
    let mut pending = vec![dest.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|source| FindError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| FindError::Io {
                path: dir.clone(),
                source,
            })?;
            if let Some(subdir) = found.visit(&entry)? {
                pending.push(subdir);
            }
        }
    }
    found.choose()
}

/// What a walk of the tree found.
struct Found<'a> {
    dest: &'a Path,
    name: &'a str,
    exe: String,
    /// Files called `name`.
    exact: Vec<PathBuf>,
    /// Files called `name.exe`.
    with_exe: Vec<PathBuf>,
    /// Every other regular file, relative to `dest`, as shown.
    others: Vec<String>,
    /// Every other regular file with an execute bit.
    executables: Vec<PathBuf>,
    /// Those of them that are programs by their magic bytes (ELF, Mach-O, PE), not scripts.
    programs: Vec<PathBuf>,
}

impl<'a> Found<'a> {
    fn new(dest: &'a Path, name: &'a str) -> Self {
        Found {
            dest,
            name,
            exe: format!("{name}.exe"),
            exact: Vec::new(),
            with_exe: Vec::new(),
            others: Vec::new(),
            executables: Vec::new(),
            programs: Vec::new(),
        }
    }

    /// Record one directory entry; a subdirectory is returned, to walk.
    fn visit(&mut self, entry: &fs::DirEntry) -> Result<Option<PathBuf>, FindError> {
        let path = entry.path();
        let io_error = |source| FindError::Io {
            path: path.clone(),
            source,
        };
        let file_type = entry.file_type().map_err(io_error)?;
        if file_type.is_dir() {
            return Ok(Some(path));
        }
        let file_name = entry.file_name();
        let list = if file_name == OsStr::new(self.name) {
            &mut self.exact
        } else if file_name == OsStr::new(&self.exe) {
            &mut self.with_exe
        } else {
            if file_type.is_file() {
                if is_executable(entry).map_err(io_error)? {
                    if is_program(&path).map_err(io_error)? {
                        self.programs.push(path.clone());
                    }
                    self.executables.push(path.clone());
                }
                self.others.push(relative_text(self.dest, &path));
            }
            return Ok(None);
        };
        if !file_type.is_file() {
            return Err(FindError::NotRegular {
                name: self.name.to_owned(),
                path: relative_text(self.dest, &path),
            });
        }
        list.push(path);
        Ok(None)
    }

    /// The binary: the one file of that name, else the one executable.
    fn choose(mut self) -> Result<PathBuf, FindError> {
        let found = if self.exact.is_empty() {
            &mut self.with_exe
        } else {
            &mut self.exact
        };
        if found.len() > 1 {
            let mut paths: Vec<String> =
                found.iter().map(|p| relative_text(self.dest, p)).collect();
            paths.sort();
            return Err(FindError::Ambiguous {
                name: self.name.to_owned(),
                paths,
            });
        }
        if let Some(only) = found.pop() {
            return Ok(only);
        }
        // The one program, recognised by its magic bytes, so that a script beside it (yq's
        // `install-man-page.sh`) does not count; else, with no program at all, the one
        // executable file (a tool that is a script).
        if self.programs.len() == 1
            && let Some(only) = self.programs.pop()
        {
            return Ok(only);
        }
        if self.programs.is_empty()
            && self.executables.len() == 1
            && let Some(only) = self.executables.pop()
        {
            return Ok(only);
        }
        self.others.sort();
        self.others.truncate(MAX_LISTED);
        Err(FindError::NotFound {
            name: self.name.to_owned(),
            files: self.others,
        })
    }
}

/// Whether a file starts like a native program: ELF, Mach-O (thin or universal) or PE.
fn is_program(path: &Path) -> io::Result<bool> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let mut file = fs::File::open(path)?;
    let n = file.read(&mut magic)?;
    let magic = &magic[..n];
    Ok(magic.starts_with(b"\x7fELF")
        || magic.starts_with(b"MZ")
        || [
            [0xfe, 0xed, 0xfa, 0xce],
            [0xfe, 0xed, 0xfa, 0xcf],
            [0xce, 0xfa, 0xed, 0xfe],
            [0xcf, 0xfa, 0xed, 0xfe],
            [0xca, 0xfe, 0xba, 0xbe],
        ]
        .iter()
        .any(|m| magic == m))
}

/// Whether an unpacked file has an executable bit (unpacking rebuilt every mode as 0755 or
/// 0644). Elsewhere than Unix, a `.exe` name stands in for the bit.
#[cfg(unix)]
fn is_executable(entry: &fs::DirEntry) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    Ok(entry.metadata()?.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(entry: &fs::DirEntry) -> io::Result<bool> {
    Ok(entry
        .file_name()
        .to_string_lossy()
        .to_ascii_lowercase()
        .ends_with(".exe"))
}

fn relative_text(dest: &Path, path: &Path) -> String {
    shown_text(&path.strip_prefix(dest).unwrap_or(path).to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::testing::*;
    use crate::unpack::{Format, Limits};

    // ---- find_binary ----
    #[test]
    fn find_binary_refuses_ambiguity_and_absence() {
        let sandbox = Sandbox::new();
        sandbox
            .unpack(
                Format::TarGz,
                &gz(&tar_of(&[
                    ("a/bin/gh", 0o755, b"1"),
                    ("b/bin/gh", 0o755, b"2"),
                    ("README.md", 0o644, b"r"),
                ])),
                &Limits::default(),
            )
            .unwrap();
        let err = find_binary(&sandbox.dest, "gh").unwrap_err();
        assert!(
            matches!(&err, FindError::Ambiguous { name, paths } if name == "gh" && paths == &["a/bin/gh", "b/bin/gh"]),
            "{err:?}"
        );
        assert_eq!(err.exit_code(), 6);
        let err = find_binary(&sandbox.dest, "jq").unwrap_err();
        assert!(
            matches!(&err, FindError::NotFound { files, .. } if files.len() == 3),
            "{err:?}"
        );
        assert!(err.hint().unwrap().contains("README.md"));
        let err: crate::Error = err.into();
        assert_eq!(err.exit_code(), 6);
    }

    #[test]
    fn find_binary_prefers_the_exact_name_and_skips_directories() {
        let sandbox = Sandbox::new();
        sandbox
            .unpack(
                Format::TarGz,
                &gz(&tar_of(&[
                    ("tool/", 0o755, b""),
                    ("share/tool/", 0o755, b""),
                    ("bin/tool", 0o755, b"1"),
                    ("win/tool.exe", 0o755, b"2"),
                ])),
                &Limits::default(),
            )
            .unwrap();
        assert_eq!(
            find_binary(&sandbox.dest, "tool").unwrap(),
            sandbox.dest.join("bin/tool")
        );
    }

    #[test]
    fn find_binary_falls_back_to_the_only_executable() {
        let sandbox = Sandbox::new();
        sandbox
            .unpack(
                Format::TarGz,
                &gz(&tar_of(&[
                    ("gh_2.63.0_linux_amd64/LICENSE", 0o644, b"l"),
                    ("gh_2.63.0_linux_amd64/bin/gh", 0o755, b"1"),
                    ("gh_2.63.0_linux_amd64/share/man/man1/gh.1", 0o644, b"m"),
                ])),
                &Limits::default(),
            )
            .unwrap();
        assert_eq!(
            find_binary(&sandbox.dest, "cli").unwrap(),
            sandbox.dest.join("gh_2.63.0_linux_amd64/bin/gh")
        );
        // Two executables and none of that name: no guess.
        let sandbox = Sandbox::new();
        sandbox
            .unpack(
                Format::TarGz,
                &gz(&tar_of(&[("a", 0o755, b"1"), ("b", 0o755, b"2")])),
                &Limits::default(),
            )
            .unwrap();
        let err = find_binary(&sandbox.dest, "cli").unwrap_err();
        assert!(
            matches!(&err, FindError::NotFound { files, .. } if files == &["a", "b"]),
            "{err:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn find_binary_refuses_links() {
        let sandbox = Sandbox::new();
        fs::create_dir(sandbox.dest.join("bin")).unwrap();
        std::os::unix::fs::symlink("/bin/sh", sandbox.dest.join("bin/gh")).unwrap();
        let err = find_binary(&sandbox.dest, "gh").unwrap_err();
        assert!(matches!(err, FindError::NotRegular { .. }), "{err:?}");
    }
}
