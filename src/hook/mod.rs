//! `hookstrap hook build`: reproduce the platform's build of one app on this machine, so a build
//! hook can be debugged without pushing.
//!
//! The stages, each in its own file: [`config`] reads the app from `.upsun/config.yaml`,
//! `.platform/applications.yaml` or `.platform.app.yaml`; [`tree`] copies what is committed under
//! the app's root into a fresh build dir (as the platform builds from the git tree); [`vars`]
//! reads `--var-file`; [`run`] builds the hook's small explicit environment and runs
//! `dash -c "$hook"` in its own process group with a time limit, confined by [`confine`] (a
//! re-exec of hookstrap that applies Landlock, then executes dash) and, under `--offline`, cut
//! from the network; [`check`] looks at the result: `.environment`, `.platformsh/bin`, and writes
//! outside the places the platform lets a build write (the build dir, the cache dir, `/tmp`).
//!
//! Invariants: nothing here prints (messages go through the [`Reporter`], the hook's own output
//! goes straight to stderr), nothing reads the environment (the caller passes [`BuildOptions`]),
//! and the build dir, the hook's `TMPDIR` and the run's scratch dir are removed on every path
//! out unless `--keep` keeps the build dir. The hook never sees `PLATFORM_PROJECT` or
//! `PLATFORM_BRANCH`: with `PLATFORM_TREE_ID` they make the Platform.sh CLI believe it runs on
//! the platform.

pub mod check;
pub mod config;
pub mod confine;
pub mod run;
pub mod tree;
pub mod vars;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::diag::{Code, Diagnostic, FsError, IoContext};
use crate::report::Reporter;

/// The platform's limit on a build hook, and the default of `--timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// What went wrong in `hook build`, before, during or after the hook. The hook's own failure
/// exits with the hook's status ([`Code::Hook`]); every other error keeps SPEC.md's codes.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("no app configuration in `{dir}`")]
    NoConfig { dir: PathBuf },
    #[error("malformed `{path}`{at}: {message}")]
    BadConfig {
        path: PathBuf,
        /// ` at line L, column C`, or empty when the error has no position.
        at: String,
        message: String,
    },
    #[error("no app `{name}` in `{path}`; its apps: {}", .apps.join(", "))]
    UnknownApp {
        name: String,
        path: PathBuf,
        apps: Vec<String>,
    },
    #[error("`{path}` defines several apps: {}", .apps.join(", "))]
    ChooseApp { path: PathBuf, apps: Vec<String> },
    #[error("app `{app}` in `{path}` has no build hook (`hooks.build`)")]
    NoBuildHook { app: String, path: PathBuf },
    #[error("app `{app}`: source root `{root}` {reason}")]
    BadRoot {
        app: String,
        root: String,
        reason: String,
    },
    #[error("malformed variables file `{path}` at line {line}, column {column}: {message}")]
    BadVarFile {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("invalid value `{value}` for `--timeout`: expected 90s, 5m, 1h or a number of seconds")]
    BadTimeout { value: String },
    #[error("cannot build in `{path}`: {reason}")]
    BadBuildDir { path: PathBuf, reason: String },
    #[error("`{tool}` is not installed; `hook build` needs it {why}")]
    MissingTool {
        tool: &'static str,
        package: &'static str,
        why: &'static str,
    },
    #[error("`{dir}` has no commit yet: the platform builds from the last commit")]
    NoCommit { dir: PathBuf },
    #[error("`git {command}` failed in `{dir}`: {message}")]
    Git {
        command: String,
        dir: PathBuf,
        message: String,
    },
    #[error("cannot run `{program}`")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error("the build hook failed with exit status {status}")]
    Failed { status: u8 },
    #[error("the build hook was killed by signal {signal}")]
    Killed { signal: i32 },
    #[error(
        "the build hook did not finish within {limit}: stopped it and every process it started"
    )]
    Timeout { limit: String },
    #[error("interrupted by signal {signal}: stopped the build hook and every process it started")]
    Interrupted { signal: i32 },
}

impl Diagnostic for HookError {
    fn code(&self) -> Code {
        match self {
            HookError::Fs(e) => e.code(),
            HookError::Git { .. } | HookError::Spawn { .. } => Code::LocalFs,
            HookError::Failed { status } => Code::Hook(*status),
            HookError::Killed { signal } | HookError::Interrupted { signal } => {
                Code::hook_signal(*signal)
            }
            HookError::Timeout { .. } => Code::HOOK_TIMEOUT,
            _ => Code::Usage,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            HookError::NoConfig { .. } => Some(
                "add `.upsun/config.yaml`, `.platform/applications.yaml` or `.platform.app.yaml`, or point `--source` at the project"
                    .into(),
            ),
            HookError::ChooseApp { apps, .. } => Some(format!(
                "choose one with `--app NAME`, e.g. `--app {}`",
                apps.first().map_or("app", String::as_str)
            )),
            HookError::MissingTool { package, .. } => Some(format!(
                "install it, e.g. `apt-get install {package}` (Debian, Ubuntu)"
            )),
            HookError::NoCommit { .. } => Some("commit the app first, e.g. `git add -A && git commit`".into()),
            HookError::Failed { .. } | HookError::Killed { .. } => Some(
                "the hook's output is above; `--keep` keeps the build dir to look into".into(),
            ),
            HookError::Timeout { .. } => Some(
                "the platform stops a build hook after an hour too; `--timeout` changes the limit here"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// Everything `hook build` needs, decided by the caller from flags, settings and the context.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// `--app`.
    pub app: Option<String>,
    /// Where to start looking for the project (absolute).
    pub source: PathBuf,
    /// Whether `--source` named the project exactly (else: the git repository's top level).
    pub source_given: bool,
    /// `--build-dir` (absolute), else a fresh directory under `temp_dir`.
    pub build_dir: Option<PathBuf>,
    pub keep: bool,
    pub offline: bool,
    /// `--var-file` (absolute).
    pub var_file: Option<PathBuf>,
    pub timeout: Duration,
    /// hookstrap's cache dir: the persistent `PLATFORM_CACHE_DIR`s live under `hook-cache/`.
    pub cache_root: PathBuf,
    /// The running hookstrap: its directory goes first on the hook's `PATH`; it is re-executed
    /// to confine the hook. Without it the hook runs unconfined.
    pub exe: Option<PathBuf>,
    /// The developer's `PATH`, handed on after the executable's directory.
    pub search_path: Option<String>,
    /// The developer's `HOME`, watched for writes.
    pub home: Option<PathBuf>,
    /// Where the default build dir and the hook's `TMPDIR` go.
    pub temp_dir: PathBuf,
}

/// What `hook build` did, for `--json` and for the caller's stdout.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub app: String,
    pub config_file: PathBuf,
    /// The build dir when `--keep` kept it.
    pub build_dir: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub tree_id: Option<String>,
    pub files: usize,
    /// Files built as committed although the working tree differs.
    pub modified: Vec<String>,
    /// The hook's exit status (`null` when it did not exit on its own).
    pub status: Option<i32>,
    pub hook_seconds: f64,
    pub total_seconds: f64,
    /// `null` when the hook failed (the result was not checked).
    pub environment: Option<check::EnvCheck>,
    /// What the hook left in `.platformsh/bin` (`null` when the hook failed).
    pub bin: Option<Vec<String>>,
    pub writes: check::WriteCheck,
    /// `--offline`: whether the hook's network was cut (`null` without `--offline`).
    pub network_cut: Option<bool>,
}

/// A finished run: what happened, and the hook's failure if it failed (its exit status is then
/// the process's).
pub struct Finished {
    pub outcome: Outcome,
    pub failure: Option<HookError>,
}

/// Runs the app's build hook as the platform would; see the module docs.
pub fn build(opts: &BuildOptions, reporter: &dyn Reporter) -> Result<Finished, HookError> {
    let started = Instant::now();
    let prepared = prepare(opts, reporter)?;
    let ran = run_hook(&prepared, opts, reporter)?;
    let (environment, bin) = match ran.failure {
        None => check_result(&prepared, &ran.launcher, reporter),
        Some(_) => (None, None),
    };
    let Prepared {
        project,
        app,
        scratch,
        build_dir,
        cache_dir,
        copied,
        ..
    } = prepared;
    let kept = scratch.finish(opts.keep, &build_dir);
    if kept.is_none() {
        reporter.info("removed the build dir (`--keep` keeps it)");
    }
    let total_seconds = started.elapsed().as_secs_f64();
    reporter.info(&format!("total time {}", seconds(total_seconds)));
    Ok(Finished {
        outcome: Outcome {
            app: app.name,
            config_file: project.dir.join(&app.file),
            build_dir: kept,
            cache_dir,
            tree_id: copied.tree_id,
            files: copied.files,
            modified: copied.modified,
            status: ran.ended.status(),
            hook_seconds: ran.seconds,
            total_seconds,
            environment,
            bin,
            writes: ran.writes,
            network_cut: opts.offline.then(|| ran.launcher.net_cut()),
        },
        failure: ran.failure,
    })
}

/// Everything settled before the hook runs.
struct Prepared {
    project: tree::Project,
    app: config::App,
    dash: PathBuf,
    scratch: Scratch,
    build_dir: PathBuf,
    cache_dir: PathBuf,
    copied: tree::Copied,
    env: BTreeMap<String, String>,
}

/// Reads the config and the variables, finds dash, makes the dirs, copies the committed tree
/// and builds the hook's environment. Every usage error surfaces here, before anything runs.
fn prepare(opts: &BuildOptions, reporter: &dyn Reporter) -> Result<Prepared, HookError> {
    let project = tree::Project::open(&opts.source, opts.source_given, config::has_config)?;
    let app = config::find_app(&project.dir, opts.app.as_deref())?;
    let variables = match &opts.var_file {
        Some(path) => vars::load(path)?,
        None => vars::Variables::default(),
    };
    let hook_path = run::hook_path(opts.exe.as_deref(), opts.search_path.as_deref());
    let dash = run::locate("dash", &hook_path).ok_or(HookError::MissingTool {
        tool: "dash",
        package: "dash",
        why: "to run the hook as the platform does",
    })?;
    let mut scratch = Scratch::create(&opts.temp_dir)?;
    let build_dir = match &opts.build_dir {
        Some(dir) => scratch.adopt_build_dir(dir, &project.app_dir(&app.root))?,
        None => scratch.default_build_dir()?,
    };
    let cache_dir = opts
        .cache_root
        .join("hook-cache")
        .join(project_key(&project.dir))
        .join(&app.name);
    std::fs::create_dir_all(&cache_dir).fs("create", &cache_dir)?;

    reporter.info(&format!(
        "app `{}` from `{}`",
        app.name,
        project.dir.join(&app.file).display()
    ));
    let copied = tree::copy(&project, &app, &build_dir)?;
    report_copy(reporter, &copied, &build_dir);
    if !run::has_set_e(&app.build_hook) {
        reporter.warn("the hook has no `set -e`: only its last command's status counts");
    }
    let env = run::environment(&run::EnvInputs {
        build_dir: &build_dir,
        cache_dir: &cache_dir,
        tmp_dir: scratch.tmp(),
        app: &app,
        tree_id: copied.tree_id.as_deref(),
        variables: &variables,
        path: &hook_path,
        offline: opts.offline,
    });
    Ok(Prepared {
        project,
        app,
        dash,
        scratch,
        build_dir,
        cache_dir,
        copied,
        env,
    })
}

/// The hook's run: how it ended, how long it took, and what it did outside.
struct Ran {
    ended: run::Ended,
    seconds: f64,
    failure: Option<HookError>,
    writes: check::WriteCheck,
    launcher: run::Launcher,
}

/// Runs the hook, confined and watched, and says how that went.
fn run_hook(p: &Prepared, opts: &BuildOptions, reporter: &dyn Reporter) -> Result<Ran, HookError> {
    let writable = [
        p.build_dir.clone(),
        p.cache_dir.clone(),
        p.scratch.tmp().to_path_buf(),
    ];
    let launcher = run::Launcher::new(
        opts.exe.as_deref(),
        &writable,
        p.scratch.root(),
        opts.offline,
    );
    let watch = check::Watch::start(
        &[
            (p.project.dir.clone(), check::Depth::All),
            (opts.home.clone().unwrap_or_default(), check::Depth::One),
        ],
        // Not `/tmp` as a whole: a checkout there is still watched.
        &writable,
        crate::report::output_files(),
    );
    reporter.info(&format!(
        "running the build hook: {} -c \"$hook\" in {} (time limit {})",
        p.dash.display(),
        p.build_dir.display(),
        format_duration(opts.timeout)
    ));
    let started = Instant::now();
    let command = launcher.command(&p.dash, &p.app.build_hook, &p.env, &p.build_dir);
    let ended = run::run_hook(command, opts.timeout).map_err(|source| HookError::Spawn {
        program: p.dash.clone(),
        source,
    })?;
    let took = started.elapsed().as_secs_f64();
    if ended.leftovers {
        reporter.info("stopped the processes the hook left running, as the platform does");
    }
    let failure = ended.failure(opts.timeout);
    // A failure's error itself is printed last, by main, with its hint.
    let verb = match failure {
        None => "succeeded in",
        Some(_) => "failed after",
    };
    reporter.info(&format!("the build hook {verb} {}", seconds(took)));
    let writes = watch.finish(launcher.confinement());
    check::report_writes(reporter, &writes, failure.is_some());
    if opts.offline {
        reporter.info(&launcher.net_text());
    }
    Ok(Ran {
        ended,
        seconds: took,
        failure,
        writes,
        launcher,
    })
}

/// What a successful hook left: `.environment` and `.platformsh/bin`, reported.
fn check_result(
    p: &Prepared,
    launcher: &run::Launcher,
    reporter: &dyn Reporter,
) -> (Option<check::EnvCheck>, Option<Vec<String>>) {
    let environment = check::environment(launcher, &p.dash, &p.env, &p.build_dir);
    check::report_environment(reporter, &environment);
    let bin = check::bin_dir(&p.build_dir);
    check::report_bin(reporter, &bin);
    (Some(environment), Some(bin))
}

fn report_copy(reporter: &dyn Reporter, copied: &tree::Copied, build_dir: &Path) {
    let what = match &copied.tree_id {
        Some(tree) => format!("the committed tree {tree}"),
        None => "the files (not a git repository: every file but `.git`)".to_string(),
    };
    reporter.info(&format!(
        "copied {what} ({}, {}) into {}",
        count(copied.files, "file"),
        count(copied.links, "link"),
        build_dir.display()
    ));
    if !copied.modified.is_empty() {
        reporter.warn(&format!(
            "built as committed, not as in the working tree: {}",
            list(&copied.modified)
        ));
    }
    if !copied.uncommitted.is_empty() {
        reporter.info(&format!(
            "left out, not committed: {}",
            list(&copied.uncommitted)
        ));
    }
    if !copied.refused_links.is_empty() {
        reporter.warn(&format!(
            "left out, links that leave the app's root: {}",
            list(&copied.refused_links)
        ));
    }
    if !copied.skipped.is_empty() {
        reporter.warn(&format!("left out: {}", list(&copied.skipped)));
    }
}

/// At most ten names, then how many more.
pub(crate) fn list(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// `1 file`, `2 files`.
fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        _ => format!("{n} {noun}s"),
    }
}

fn seconds(secs: f64) -> String {
    format!("{secs:.1}s")
}

/// `--timeout`: `90s`, `5m`, `1h`, or a number of seconds; never zero.
pub fn parse_timeout(text: &str) -> Result<Duration, HookError> {
    let bad = || HookError::BadTimeout {
        value: text.to_string(),
    };
    let trimmed = text.trim();
    let (number, unit) = match trimmed.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&trimmed[..i], c),
        _ => (trimmed, 's'),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        _ => return Err(bad()),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    match n.checked_mul(scale) {
        Some(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(bad()),
    }
}

/// `1h`, `5m`, `90s`: the largest whole unit.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs > 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs > 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// The name of a project's cache dir: the directory's name (for people) and the first 12 hex
/// digits of the SHA-256 of its absolute path (so two checkouts never share one).
pub fn project_key(dir: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let name: String = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let digest = Sha256::digest(dir.as_os_str().as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", name.trim_start_matches('.'))
}

/// The run's own directories: a scratch dir under the temp dir holding the hook's `TMPDIR`
/// (`tmp/`), the confinement status and, by default, the build dir (`app/`, like the platform's
/// `/app`). Dropping it removes all of that; [`Scratch::finish`] keeps the build dir on
/// `--keep`.
struct Scratch {
    root: PathBuf,
    tmp: PathBuf,
    /// A `--build-dir` to remove (or empty again) when done.
    adopted: Option<(PathBuf, bool)>,
    keep_root: bool,
}

impl Scratch {
    fn create(temp_dir: &Path) -> Result<Scratch, HookError> {
        let dir = tempfile::Builder::new()
            .prefix("hookstrap-hook-")
            .tempdir_in(temp_dir)
            .fs("create a directory in", temp_dir)?;
        let root = dir.keep();
        let tmp = root.join("tmp");
        let scratch = Scratch {
            root,
            tmp,
            adopted: None,
            keep_root: false,
        };
        std::fs::create_dir(&scratch.tmp).fs("create", &scratch.tmp)?;
        Ok(scratch)
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn tmp(&self) -> &Path {
        &self.tmp
    }

    fn default_build_dir(&mut self) -> Result<PathBuf, HookError> {
        let dir = self.root.join("app");
        std::fs::create_dir(&dir).fs("create", &dir)?;
        Ok(dir)
    }

    /// `--build-dir`: absent (created) or an empty directory, outside the app's source.
    fn adopt_build_dir(&mut self, dir: &Path, source: &Path) -> Result<PathBuf, HookError> {
        let bad = |reason: &str| HookError::BadBuildDir {
            path: dir.to_path_buf(),
            reason: reason.to_string(),
        };
        let existed = match std::fs::symlink_metadata(dir) {
            Ok(meta) if meta.is_dir() => {
                let mut entries = std::fs::read_dir(dir).fs("read", dir)?;
                if entries.next().is_some() {
                    return Err(bad("it is not empty (the build starts from nothing)"));
                }
                true
            }
            Ok(_) => return Err(bad("it is not a directory")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(FsError::io("read", dir, e).into()),
        };
        if !existed {
            std::fs::create_dir_all(dir).fs("create", dir)?;
        }
        let canonical = std::fs::canonicalize(dir).fs("resolve", dir)?;
        if canonical.starts_with(source) {
            if !existed {
                let _ = std::fs::remove_dir(&canonical);
            }
            return Err(bad("it is inside the app's source"));
        }
        self.adopted = Some((canonical.clone(), existed));
        Ok(canonical)
    }

    /// Removes what the run made; keeps the build dir on `--keep` and returns its path.
    fn finish(mut self, keep: bool, build_dir: &Path) -> Option<PathBuf> {
        if !keep {
            return None;
        }
        if self.adopted.is_some() {
            self.adopted = None;
        } else {
            // The build dir is `root/app`: keep the root, drop the rest.
            self.keep_root = true;
            let _ = crate::fsutil::remove_any(&self.tmp);
            let _ = crate::fsutil::remove_any(&self.root.join(run::CONFINE_STATUS));
        }
        Some(build_dir.to_path_buf())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some((dir, existed)) = self.adopted.take() {
            let _ = crate::fsutil::remove_any(&dir);
            if existed {
                let _ = std::fs::create_dir(&dir);
            }
        }
        if !self.keep_root {
            let _ = crate::fsutil::remove_any(&self.root);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_take_units_or_seconds() {
        assert_eq!(parse_timeout("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_timeout("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_timeout("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_timeout("42").unwrap(), Duration::from_secs(42));
        for bad in ["", "0", "0s", "1d", "m", "-5", "1.5h", "s5"] {
            let err = parse_timeout(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn durations_show_their_largest_unit() {
        assert_eq!(format_duration(DEFAULT_TIMEOUT), "1h");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    }

    #[test]
    fn project_keys_name_the_dir_and_differ_by_path() {
        let a = project_key(Path::new("/home/me/shop"));
        let b = project_key(Path::new("/srv/shop"));
        assert!(
            a.starts_with("shop-") && a.len() == "shop-".len() + 12,
            "{a}"
        );
        assert_ne!(a, b);
        assert!(project_key(Path::new("/x/my app")).starts_with("my_app-"));
    }

    #[test]
    fn the_hook_status_is_the_exit_code() {
        assert_eq!(HookError::Failed { status: 3 }.exit_code(), 3);
        assert_eq!(HookError::Interrupted { signal: 2 }.exit_code(), 130);
        assert_eq!(HookError::Timeout { limit: "2s".into() }.exit_code(), 124);
        assert_eq!(
            HookError::NoBuildHook {
                app: "a".into(),
                path: "x".into()
            }
            .exit_code(),
            2
        );
    }

    #[test]
    fn long_lists_are_cut() {
        let names: Vec<String> = (0..12).map(|i| format!("f{i}")).collect();
        assert!(list(&names).ends_with("f9 and 2 more"));
    }
}
