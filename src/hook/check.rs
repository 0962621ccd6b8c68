//! After the hook: what it leaves behind, checked the way the platform will use it.
//!
//! - `.environment` is sourced in dash with a known `PATH` (twice, to see it does not grow):
//!   what it adds to `PATH`, and anything it prints (it must print nothing: the output lands in
//!   every deploy hook, cron and SSH session).
//! - `.platformsh/bin`: what the hook left there.
//! - Writes outside the build dir, the cache dir and `/tmp`, which the platform's read-only
//!   file system refuses. Where the kernel has Landlock, `hook confine` refuses them too, so
//!   the hook fails here as it would there; the kernel does not say what was refused, the hook's
//!   own errors do. Always, and as the only check without Landlock, the project's source and
//!   the top level of `$HOME` are compared before and after the hook; other places cannot be
//!   seen.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

pub use super::confine::Confinement;
use super::run::{self, Launcher};
use crate::report::Reporter;

/// How deep a watched place is compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Depth {
    /// Its entries only.
    One,
    /// Everything under it but `.git`.
    All,
}

/// Most entries a watch records, so a huge tree cannot stall the build.
const MAX_ENTRIES: usize = 200_000;

/// An entry as seen: enough to notice a write.
#[derive(Debug, Clone, PartialEq)]
struct Stamp {
    dir: bool,
    len: u64,
    mtime: (i64, i64),
    ino: u64,
}

/// The watched places before the hook ran.
pub struct Watch {
    roots: Vec<(PathBuf, Depth)>,
    allowed: Vec<PathBuf>,
    /// Files (device, inode) not to count: hookstrap's own output, when it goes to a file.
    ignored: Vec<(u64, u64)>,
    before: BTreeMap<PathBuf, Stamp>,
}

/// One entry that changed outside the allowed places.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub path: PathBuf,
    /// `new`, `modified` or `removed`.
    pub what: &'static str,
}

/// What the write check found.
#[derive(Debug, Serialize)]
pub struct WriteCheck {
    pub confinement: Confinement,
    pub watched: Vec<PathBuf>,
    pub changed: Vec<Change>,
}

impl Watch {
    /// Records the watched places (those that exist), skipping the allowed ones inside them
    /// and the `ignored` files (device, inode).
    pub fn start(
        roots: &[(PathBuf, Depth)],
        allowed: &[PathBuf],
        ignored: Vec<(u64, u64)>,
    ) -> Watch {
        let roots: Vec<(PathBuf, Depth)> = roots
            .iter()
            .filter(|(p, _)| !p.as_os_str().is_empty())
            .filter_map(|(p, d)| Some((std::fs::canonicalize(p).ok()?, *d)))
            .collect();
        let allowed = allowed
            .iter()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
            .collect();
        let mut watch = Watch {
            roots,
            allowed,
            ignored,
            before: BTreeMap::new(),
        };
        watch.before = watch.snapshot();
        watch
    }

    fn snapshot(&self) -> BTreeMap<PathBuf, Stamp> {
        let mut seen = BTreeMap::new();
        for (root, depth) in &self.roots {
            if !self.is_allowed(root) {
                self.record(root, *depth, &mut seen);
            }
        }
        seen
    }

    fn is_allowed(&self, path: &Path) -> bool {
        self.allowed.iter().any(|a| path.starts_with(a))
    }

    fn record(&self, dir: &Path, depth: Depth, seen: &mut BTreeMap<PathBuf, Stamp>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            if seen.len() >= MAX_ENTRIES {
                return;
            }
            let path = entry.path();
            if entry.file_name() == ".git" || self.is_allowed(&path) {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if self.ignored.contains(&(meta.dev(), meta.ino())) {
                continue;
            }
            let stamp = Stamp {
                dir: meta.is_dir(),
                len: meta.len(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                ino: meta.ino(),
            };
            seen.insert(path.clone(), stamp);
            if meta.is_dir() && depth == Depth::All {
                self.record(&path, depth, seen);
            }
        }
    }

    /// Compares the watched places with what they were.
    pub fn finish(self, confinement: Confinement) -> WriteCheck {
        let after = self.snapshot();
        WriteCheck {
            confinement,
            watched: self.roots.iter().map(|(p, _)| p.clone()).collect(),
            changed: diff(&self.before, &after),
        }
    }
}

/// New, modified and removed entries, by path. A directory counts only when it appears or
/// goes: its own times change with every file written in it, which is reported by name.
fn diff(before: &BTreeMap<PathBuf, Stamp>, after: &BTreeMap<PathBuf, Stamp>) -> Vec<Change> {
    let mut changes = Vec::new();
    for (path, stamp) in after {
        let what = match before.get(path) {
            None => "new",
            Some(old) if old.dir && stamp.dir => continue,
            Some(old) if old != stamp => "modified",
            Some(_) => continue,
        };
        changes.push(Change {
            path: path.clone(),
            what,
        });
    }
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        changes.push(Change {
            path: path.clone(),
            what: "removed",
        });
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    changes
}

const ALLOWED: &str = "the build dir, the cache dir and /tmp";

/// Says what the write check saw, and what it could not see.
pub fn report_writes(reporter: &dyn Reporter, check: &WriteCheck, failed: bool) {
    let watched = check
        .watched
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ");
    match &check.confinement {
        Confinement::Enforced | Confinement::Partial => {
            let how = match check.confinement {
                Confinement::Enforced => "refused (Landlock)",
                _ => "refused where this kernel's Landlock can (partly enforced)",
            };
            reporter.info(&format!(
                "writes outside {ALLOWED}: {how}, as on the platform, whose file system is read-only elsewhere"
            ));
            if failed {
                reporter.info(
                    "if the hook's errors above say `Permission denied`, it wrote outside those places: the platform refuses that too",
                );
            }
        }
        Confinement::Off(why) => reporter.warn(&format!(
            "writes outside {ALLOWED}: NOT prevented ({why}); only {watched} are compared before and after, other places cannot be seen"
        )),
    }
    if !check.changed.is_empty() {
        let names: Vec<String> = check
            .changed
            .iter()
            .map(|c| format!("{} ({})", c.path.display(), c.what))
            .collect();
        reporter.warn(&format!(
            "changed outside {ALLOWED} while the hook ran: {}",
            super::list(&names)
        ));
    } else if matches!(check.confinement, Confinement::Off(_)) {
        reporter.info(&format!("nothing changed in {watched}"));
    }
}

/// What sourcing `.environment` does.
#[derive(Debug, Default, Serialize)]
pub struct EnvCheck {
    pub present: bool,
    /// Entries it puts on `PATH`, in order.
    pub added: Vec<String>,
    /// What sourcing printed (stdout and stderr): it should be nothing.
    pub output: String,
    /// Whether `PATH` grew again when sourced a second time.
    pub grows: bool,
    /// Sourcing failed or hung.
    pub error: Option<String>,
}

/// The `PATH` `.environment` is sourced with, to see what it adds.
const BASE_PATH: &str = "/usr/bin:/bin";

/// Separates what sourcing printed from the `PATH`s the script prints after it.
const SEP: char = '\u{1e}';

/// How long sourcing `.environment` may take.
const SOURCE_LIMIT: Duration = Duration::from_secs(60);

/// Sources the build dir's `.environment` in dash, twice, with [`BASE_PATH`].
pub fn environment(
    launcher: &Launcher,
    dash: &Path,
    env: &BTreeMap<String, String>,
    build_dir: &Path,
) -> EnvCheck {
    if std::fs::symlink_metadata(build_dir.join(".environment")).is_err() {
        return EnvCheck::default();
    }
    let mut env = env.clone();
    env.insert("PATH".into(), BASE_PATH.into());
    let script = format!(
        ". ./.environment; p1=$PATH; . ./.environment; printf '{SEP}%s{SEP}%s' \"$p1\" \"$PATH\""
    );
    let cmd = launcher.capture(dash, &script, &env, build_dir);
    let mut check = EnvCheck {
        present: true,
        ..EnvCheck::default()
    };
    let output = match run::run_captured(cmd, SOURCE_LIMIT) {
        Ok(Some(output)) => output,
        Ok(None) => {
            check.error = Some(format!(
                "sourcing it did not finish within {}s",
                SOURCE_LIMIT.as_secs()
            ));
            return check;
        }
        Err(e) => {
            check.error = Some(format!("cannot run dash: {e}"));
            return check;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut parts = stdout.rsplitn(3, SEP);
    let (second, first, printed) = (parts.next(), parts.next(), parts.next());
    check.output = format!("{}{stderr}", printed.unwrap_or(&stdout));
    match (output.status.success(), first, second) {
        (true, Some(first), Some(second)) => {
            check.added = added(first);
            check.grows = second.len() > first.len();
        }
        _ => {
            check.error = Some(format!(
                "sourcing it failed ({}){}",
                output.status,
                if stderr.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", stderr.trim())
                }
            ));
        }
    }
    check
}

/// The entries of `path` that [`BASE_PATH`] does not have, in order, each once.
fn added(path: &str) -> Vec<String> {
    let base: Vec<&str> = BASE_PATH.split(':').collect();
    let mut out: Vec<String> = Vec::new();
    for entry in path.split(':') {
        if !base.contains(&entry) && !out.iter().any(|e| e == entry) {
            out.push(entry.to_string());
        }
    }
    out
}

pub fn report_environment(reporter: &dyn Reporter, check: &EnvCheck) {
    if !check.present {
        reporter.info(".environment: none, so nothing is added to PATH");
        return;
    }
    if let Some(error) = &check.error {
        reporter.warn(&format!(".environment: {error}"));
        return;
    }
    if check.added.is_empty() {
        reporter.info(".environment adds nothing to PATH");
    } else {
        reporter.info(&format!(
            ".environment adds to PATH: {}",
            check.added.join(", ")
        ));
    }
    if check.output.is_empty() {
        reporter.info(".environment prints nothing when sourced");
    } else {
        let shown: String = check.output.chars().take(300).collect();
        reporter.warn(&format!(
            ".environment prints when sourced, and must not (it runs before every deploy hook, cron and SSH session): {:?}",
            shown
        ));
    }
    if check.grows {
        reporter.warn(".environment adds to PATH again each time it is sourced");
    }
}

/// What the hook left in `.platformsh/bin` (hidden files aside), sorted.
pub fn bin_dir(build_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(build_dir.join(".platformsh").join("bin"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

pub fn report_bin(reporter: &dyn Reporter, names: &[String]) {
    if names.is_empty() {
        reporter.info(".platformsh/bin: nothing");
    } else {
        reporter.info(&format!(".platformsh/bin: {}", names.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confinement_round_trips_through_its_status_file() {
        for c in [
            Confinement::Enforced,
            Confinement::Partial,
            Confinement::Off("no Landlock".into()),
        ] {
            assert_eq!(Confinement::parse(&c.status_text()), c);
        }
    }

    #[test]
    fn the_watch_sees_new_modified_and_removed_files_but_not_allowed_dirs() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("src/deep")).unwrap();
        std::fs::create_dir_all(r.join("build")).unwrap();
        std::fs::create_dir_all(r.join(".git")).unwrap();
        std::fs::write(r.join("src/deep/kept"), "1").unwrap();
        std::fs::write(r.join("src/changed"), "1").unwrap();
        std::fs::write(r.join("src/gone"), "1").unwrap();
        std::fs::write(r.join("src/log"), "").unwrap();
        let log = std::fs::metadata(r.join("src/log")).unwrap();
        let watch = Watch::start(
            &[(r.to_path_buf(), Depth::All)],
            &[r.join("build")],
            vec![(log.dev(), log.ino())],
        );
        std::fs::write(r.join("src/log"), "our own output").unwrap();
        std::fs::write(r.join("src/changed"), "22").unwrap();
        std::fs::remove_file(r.join("src/gone")).unwrap();
        std::fs::write(r.join("src/deep/new"), "1").unwrap();
        std::fs::write(r.join("build/allowed"), "1").unwrap();
        std::fs::write(r.join(".git/index"), "1").unwrap();
        let check = watch.finish(Confinement::Off("test".into()));
        let r = std::fs::canonicalize(r).unwrap();
        let seen: Vec<(PathBuf, &str)> = check
            .changed
            .iter()
            .map(|c| (c.path.strip_prefix(&r).unwrap().to_path_buf(), c.what))
            .collect();
        assert_eq!(
            seen,
            vec![
                (PathBuf::from("src/changed"), "modified"),
                (PathBuf::from("src/deep/new"), "new"),
                (PathBuf::from("src/gone"), "removed"),
            ]
        );
    }

    #[test]
    fn depth_one_sees_only_the_top() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("sub")).unwrap();
        let watch = Watch::start(&[(r.to_path_buf(), Depth::One)], &[], vec![]);
        std::fs::write(r.join("sub/inner"), "1").unwrap();
        std::fs::write(r.join("top"), "1").unwrap();
        let check = watch.finish(Confinement::Enforced);
        assert_eq!(check.changed.len(), 1);
        assert!(check.changed[0].path.ends_with("top"));
    }

    #[test]
    fn added_path_entries_keep_their_order_once() {
        assert_eq!(
            added("/app/.platformsh/bin:/app/node_modules/.bin:/usr/bin:/bin:/app/.platformsh/bin"),
            vec!["/app/.platformsh/bin", "/app/node_modules/.bin"]
        );
        assert!(added(BASE_PATH).is_empty());
    }
}
