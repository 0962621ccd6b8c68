//! The build starts from what is committed, as the platform builds from the git tree.
//!
//! In a git repository, the app's root is listed from the last commit (`git ls-tree -r HEAD`),
//! not from the working tree: an untracked or staged-only file is left out, and a file that
//! differs from the commit (`git diff HEAD`) is copied from its committed blob
//! (`git cat-file blob`) and named in a warning. Unchanged files are read from the working
//! tree, never through a link. Modes come from the tree (0755 or 0644). Outside a repository,
//! every file under the app's root but `.git` is copied.
//!
//! A symbolic link is copied as a link only when its target stays inside the app's root
//! (relative, with every `..` before any name, and no more `..` than the link is deep);
//! otherwise it is left out and named. Submodules and special files are left out and named.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use super::HookError;
use super::config::App;
use crate::diag::{FsError, IoContext};

/// The project: the directory holding its configuration, and its git repository if any.
#[derive(Debug, Clone)]
pub struct Project {
    /// Absolute and canonical.
    pub dir: PathBuf,
    pub git: Option<Repo>,
}

/// The git repository around a project.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The repository's top level (canonical).
    pub top: PathBuf,
    /// The project dir relative to `top`, `/`-separated, empty when they are the same.
    pub prefix: String,
}

/// What [`copy`] did.
#[derive(Debug, Default)]
pub struct Copied {
    pub files: usize,
    pub links: usize,
    /// `git rev-parse HEAD:<root>`: the tree the platform would build (`None` outside git).
    pub tree_id: Option<String>,
    /// Committed files whose working copy differs: built as committed.
    pub modified: Vec<String>,
    /// Files under the root that are not committed: left out.
    pub uncommitted: Vec<String>,
    /// Links whose target leaves the root: left out.
    pub refused_links: Vec<String>,
    /// Submodules and special files: left out, with why.
    pub skipped: Vec<String>,
}

impl Project {
    /// The project at `start`: exactly there when `exact`, else the nearest directory from
    /// `start` up to the top level of its git repository that holds an app configuration
    /// (`has_config`), else that top level (or `start` itself outside a repository).
    pub fn open(
        start: &Path,
        exact: bool,
        has_config: impl Fn(&Path) -> bool,
    ) -> Result<Project, HookError> {
        let start = fs::canonicalize(start).fs("open", start)?;
        let top = git_top(&start)?;
        let dir = match (&top, exact) {
            (Some(top), false) => start
                .ancestors()
                .take_while(|d| d.starts_with(top))
                .find(|d| has_config(d))
                .unwrap_or(top)
                .to_path_buf(),
            _ => start,
        };
        let git = top.map(|top| {
            let prefix = dir.strip_prefix(&top).map(slash_path).unwrap_or_default();
            Repo { top, prefix }
        });
        Ok(Project { dir, git })
    }

    /// The app's source: `dir/root`.
    pub fn app_dir(&self, root: &Path) -> PathBuf {
        self.dir.join(root)
    }
}

/// The repository's top level around `dir`; `None` outside a repository. Without `git`, a
/// `.git` in `dir` or above is an error (the commit cannot be read), else there is no repository.
fn git_top(dir: &Path) -> Result<Option<PathBuf>, HookError> {
    let out = match Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if dir.ancestors().any(|d| d.join(".git").exists()) {
                return Err(HookError::MissingTool {
                    tool: "git",
                    package: "git",
                    why: "to read the last commit",
                });
            }
            return Ok(None);
        }
        Err(source) => {
            return Err(HookError::Spawn {
                program: "git".into(),
                source,
            });
        }
    };
    if !out.status.success() {
        let message = String::from_utf8_lossy(&out.stderr);
        if message.contains("not a git repository") {
            return Ok(None);
        }
        return Err(git_error("rev-parse --show-toplevel", dir, &out.stderr));
    }
    let top = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    Ok(Some(fs::canonicalize(&top).fs("open", Path::new(&top))?))
}

fn git_error(command: &str, dir: &Path, stderr: &[u8]) -> HookError {
    HookError::Git {
        command: command.to_string(),
        dir: dir.to_path_buf(),
        message: String::from_utf8_lossy(stderr).trim().to_string(),
    }
}

/// `git -C top --literal-pathspecs ARGS`, its stdout.
fn git(top: &Path, args: &[&str]) -> Result<Vec<u8>, HookError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(top)
        .arg("--literal-pathspecs")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| HookError::Spawn {
            program: "git".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(git_error(&args.join(" "), top, &out.stderr));
    }
    Ok(out.stdout)
}

/// Copies the app's source into `dest` (an empty directory); see the module docs.
pub fn copy(project: &Project, app: &App, dest: &Path) -> Result<Copied, HookError> {
    match &project.git {
        Some(repo) => copy_committed(repo, &app.name, &slash_path(&app.root), dest),
        None => {
            let mut copied = Copied::default();
            walk(
                &project.app_dir(&app.root),
                dest,
                Path::new(""),
                &mut copied,
            )?;
            Ok(copied)
        }
    }
}

/// One entry of `git ls-tree -r`.
struct Entry {
    mode: String,
    oid: String,
    /// The path from the repository's top level.
    path: String,
}

fn copy_committed(repo: &Repo, app: &str, root: &str, dest: &Path) -> Result<Copied, HookError> {
    let spec = join(&repo.prefix, root);
    if git(&repo.top, &["rev-parse", "--verify", "--quiet", "HEAD"]).is_err() {
        return Err(HookError::NoCommit {
            dir: repo.top.clone(),
        });
    }
    let tree = format!("HEAD:{spec}");
    let tree_id = git(&repo.top, &["rev-parse", "--verify", "--quiet", &tree]).map_err(|_| {
        HookError::BadRoot {
            app: app.to_string(),
            root: if spec.is_empty() {
                "/".into()
            } else {
                spec.clone()
            },
            reason: "is not in the last commit".into(),
        }
    })?;
    let pathspec: Vec<&str> = if spec.is_empty() {
        vec![]
    } else {
        vec!["--", &spec]
    };
    let with_spec = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(pathspec.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        git(&repo.top, &args)
    };
    let entries = parse_ls_tree(&run(with_spec(&[
        "ls-tree",
        "-r",
        "-z",
        "--full-tree",
        "HEAD",
    ]))?);
    let changed: BTreeSet<String> = nul_list(&run(with_spec(&[
        "diff",
        "--no-renames",
        "--name-only",
        "-z",
        "HEAD",
    ]))?);
    let untracked = nul_list(&run(with_spec(&[
        "ls-files",
        "-z",
        "--others",
        "--exclude-standard",
    ]))?);

    let mut copied = Copied {
        tree_id: Some(String::from_utf8_lossy(&tree_id).trim().to_string()),
        ..Copied::default()
    };
    let committed: BTreeSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let strip = |path: &str| -> String {
        match spec.as_str() {
            "" => path.to_string(),
            s => path
                .strip_prefix(s)
                .and_then(|p| p.strip_prefix('/'))
                .unwrap_or(path)
                .to_string(),
        }
    };
    for entry in &entries {
        let rel = strip(&entry.path);
        let Some(rel_path) = plain_relative(&rel) else {
            copied.skipped.push(format!("{rel} (not a plain path)"));
            continue;
        };
        let modified = changed.contains(&entry.path);
        if modified {
            copied.modified.push(rel.clone());
        }
        let worktree = repo.top.join(&entry.path);
        let target = dest.join(&rel_path);
        match entry.mode.as_str() {
            "100644" | "100755" => {
                let mode = if entry.mode == "100755" { 0o755 } else { 0o644 };
                let bytes = match modified {
                    true => None,
                    false => read_nofollow(&worktree).ok(),
                };
                let bytes = match bytes {
                    Some(b) => b,
                    None => git(&repo.top, &["cat-file", "blob", &entry.oid])?,
                };
                write_new(&target, &bytes, mode)?;
                copied.files += 1;
            }
            "120000" => {
                let link = match modified {
                    true => None,
                    false => fs::read_link(&worktree).ok(),
                };
                let link = match link {
                    Some(l) => l,
                    None => {
                        let bytes = git(&repo.top, &["cat-file", "blob", &entry.oid])?;
                        PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
                    }
                };
                place_link(&target, &rel_path, &link, &rel, &mut copied)?;
            }
            "160000" => copied.skipped.push(format!(
                "{rel} (a submodule: hookstrap does not fetch submodules)"
            )),
            other => copied.skipped.push(format!("{rel} (git mode {other})")),
        }
    }
    copied.uncommitted = changed
        .iter()
        .filter(|p| !committed.contains(p.as_str()))
        .chain(untracked.iter())
        .map(|p| strip(p))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(copied)
}

fn parse_ls_tree(out: &[u8]) -> Vec<Entry> {
    out.split(|b| *b == 0)
        .filter(|r| !r.is_empty())
        .filter_map(|record| {
            let text = String::from_utf8_lossy(record);
            let (meta, path) = text.split_once('\t')?;
            let mut fields = meta.split(' ');
            let mode = fields.next()?.to_string();
            let _kind = fields.next()?;
            let oid = fields.next()?.to_string();
            Some(Entry {
                mode,
                oid,
                path: path.to_string(),
            })
        })
        .collect()
}

fn nul_list(out: &[u8]) -> BTreeSet<String> {
    out.split(|b| *b == 0)
        .filter(|r| !r.is_empty())
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect()
}

/// Outside git: every file under `src` but `.git`, recursively, never following a link.
fn walk(src: &Path, dest: &Path, rel: &Path, copied: &mut Copied) -> Result<(), HookError> {
    let dir = src.join(rel);
    let mut names: Vec<_> = fs::read_dir(&dir)
        .fs("read", &dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()
        .fs("read", &dir)?;
    names.sort();
    for name in names {
        if name == ".git" {
            continue;
        }
        let rel = rel.join(&name);
        let path = src.join(&rel);
        let shown = rel.display().to_string();
        let meta = fs::symlink_metadata(&path).fs("read", &path)?;
        let kind = meta.file_type();
        if kind.is_dir() {
            let target = dest.join(&rel);
            fs::create_dir(&target).fs("create", &target)?;
            walk(src, dest, &rel, copied)?;
        } else if kind.is_file() {
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            let bytes = read_nofollow(&path).fs("read", &path)?;
            write_new(&dest.join(&rel), &bytes, mode)?;
            copied.files += 1;
        } else if kind.is_symlink() {
            let link = fs::read_link(&path).fs("read", &path)?;
            place_link(&dest.join(&rel), &rel, &link, &shown, copied)?;
        } else {
            copied.skipped.push(format!("{shown} (not a file)"));
        }
    }
    Ok(())
}

/// Creates the link when its target stays inside the root, else records it as refused.
fn place_link(
    target: &Path,
    rel: &Path,
    link: &Path,
    shown: &str,
    copied: &mut Copied,
) -> Result<(), HookError> {
    if !stays_inside(rel, link) {
        copied
            .refused_links
            .push(format!("{shown} -> {}", link.display()));
        return Ok(());
    }
    ensure_parent(target)?;
    std::os::unix::fs::symlink(link, target).fs("create", target)?;
    copied.links += 1;
    Ok(())
}

/// Whether a link at `rel` (relative to the root) pointing at `target` resolves inside the
/// root: relative, every `..` before any name (so no link in the path can turn it around),
/// and no more `..` than the link's directory is deep.
pub fn stays_inside(rel: &Path, target: &Path) -> bool {
    let depth = rel.parent().map_or(0, |p| p.components().count());
    let mut ups = 0;
    let mut named = false;
    for part in target.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if !named => ups += 1,
            Component::Normal(_) => named = true,
            _ => return false,
        }
    }
    !target.as_os_str().is_empty() && ups <= depth
}

/// `rel` as a relative path of plain names; `None` for anything else.
fn plain_relative(rel: &str) -> Option<PathBuf> {
    let path = Path::new(rel);
    let plain = !rel.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(n) if n != ".git"));
    plain.then(|| path.to_path_buf())
}

/// Reads a regular file without following a link in its place.
fn read_nofollow(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Creates `path` (never over something), its parents as needed, with `mode`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    ensure_parent(path)?;
    let mut file = fs::File::options()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .fs("create", path)?;
    file.write_all(bytes).fs("write", path)?;
    // The umask may have taken bits away: the tree's mode is what the build sees.
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).fs("set the mode of", path)
}

fn ensure_parent(path: &Path) -> Result<(), FsError> {
    match path.parent() {
        Some(parent) => fs::create_dir_all(parent).fs("create", parent),
        None => Ok(()),
    }
}

fn slash_path(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_stay_inside_only_when_they_cannot_climb_out() {
        let inside = |rel: &str, target: &str| stays_inside(Path::new(rel), Path::new(target));
        assert!(inside("a", "b"));
        assert!(inside("a", "./sub/b"));
        assert!(inside("d/a", "../b"));
        assert!(inside("d/e/a", "../../b"));
        assert!(inside("d/a", ".."));
        assert!(!inside("a", "../b"));
        assert!(!inside("d/a", "../../b"));
        assert!(!inside("a", "/etc/passwd"));
        assert!(!inside("d/a", "sub/../.."));
        assert!(!inside("a", "lnk/.."));
        assert!(!inside("a", ""));
    }

    #[test]
    fn plain_paths_only() {
        assert!(plain_relative("a/b.txt").is_some());
        assert!(plain_relative("a/../b").is_none());
        assert!(plain_relative("/etc/passwd").is_none());
        assert!(plain_relative("x/.git/config").is_none());
        assert!(plain_relative("").is_none());
    }

    #[test]
    fn outside_git_every_file_but_dot_git_is_copied() {
        let src = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let s = src.path();
        fs::create_dir_all(s.join(".git")).unwrap();
        fs::write(s.join(".git/HEAD"), "x").unwrap();
        fs::create_dir_all(s.join("bin")).unwrap();
        fs::write(s.join("bin/run"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(s.join("bin/run"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(s.join("README"), "hi").unwrap();
        std::os::unix::fs::symlink("README", s.join("readme")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", s.join("passwd")).unwrap();
        let mut copied = Copied::default();
        walk(s, dest.path(), Path::new(""), &mut copied).unwrap();
        let d = dest.path();
        assert!(!d.join(".git").exists());
        assert_eq!(fs::read_to_string(d.join("README")).unwrap(), "hi");
        let mode = fs::metadata(d.join("bin/run"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            fs::read_link(d.join("readme")).unwrap(),
            Path::new("README")
        );
        assert!(fs::symlink_metadata(d.join("passwd")).is_err());
        assert_eq!(
            copied.refused_links,
            vec!["passwd -> /etc/passwd".to_string()]
        );
        assert_eq!((copied.files, copied.links), (2, 1));
    }
}
