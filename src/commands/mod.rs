//! One short function per command, each stringing the stages together: resolve → fetch
//! (http, cache, verify) → unpack → install → envfile, with `report` writing what happened.
//! No stage logic lives here; this is where the stages' errors meet as [`crate::Error`].

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cache::Cache;
use crate::cli::{CacheAction, Cli, Command, HookAction, Pick};
use crate::context::{self, Context};
use crate::diag::{IoContext, UsageError};
use crate::envfile;
use crate::error::{Error, Result};
use crate::hook;
use crate::http::{self, Http};
use crate::install::{self, BinDir};
use crate::jobs::{Jobs, LazyBinDir, Pinned, Prepared};
use crate::mirror;
use crate::pool;
use crate::report::{self, ArtifactReceipt, Batch, CacheUse, Reporter};
use crate::resolve::catalog::{Target, Tool};
use crate::resolve::lockfile::LockFile;
use crate::resolve::manifest::{Manifest, Source};
use crate::resolve::spec::is_tool_name;
use crate::resolve::{Anchor, AnySpec, Artifact, Request, Spec, Wanted, parse_any_spec};
use crate::settings::Settings;
use crate::verify;

mod lock;

/// Runs one command. Data goes to `out` (stdout); messages go through the reporter.
pub fn run(cli: Cli, ctx: &Context, out: &mut dyn Write) -> Result<()> {
    // `hook confine` runs inside a hook's environment and replaces itself with the hook: no
    // settings, no reporter.
    if let Command::Hook {
        action:
            HookAction::Confine {
                writable,
                status,
                command,
            },
    } = &cli.command
    {
        return Err(hook::confine::exec(writable, status, command).into());
    }
    crate::fault::arm(ctx.fault_pause.as_deref());
    let settings = Settings::new(&cli.options(), ctx)?;
    let reporter = report::Terminal::new(settings.progress, settings.quiet, settings.verbosity);
    let app = App {
        settings: &settings,
        reporter: &reporter,
        http: Http::new(settings.http.clone(), &reporter),
        cache: Cache::new(settings.cache_dir.clone(), settings.lock_timeout),
        out,
    };
    app.dispatch(cli.command, ctx)
}

struct App<'a> {
    settings: &'a Settings,
    reporter: &'a dyn Reporter,
    http: Http<'a>,
    cache: Cache,
    out: &'a mut dyn Write,
}

/// A lock file as read, with its path.
type Lock = (LockFile, PathBuf);

impl App<'_> {
    fn dispatch(mut self, command: Command, ctx: &Context) -> Result<()> {
        match command {
            Command::Install(a) => self.install(
                &Asked::new(&a.specs, a.sha256.as_deref(), &a.pick),
                a.target.as_deref(),
            ),
            Command::Fetch(a) => self.fetch(
                &Asked::new(&a.specs, a.sha256.as_deref(), &a.pick),
                &a.targets,
            ),
            Command::Lock(a) => {
                let asked = Asked::new(&a.specs, a.sha256.as_deref(), &a.pick);
                match (a.upgrade, a.check) {
                    (_, true) => self.lock_check(&a.targets),
                    (upgrade, false) => self.lock(&asked, &a.targets, upgrade),
                }
            }
            Command::Outdated(a) => self.outdated(&a.tools, a.exit_code),
            Command::List { .. } => self.list(),
            Command::Completions { shell } => {
                if self.settings.json {
                    return Err(UsageError::Other(
                        "`completions` prints a shell script, not JSON: drop `--json`".into(),
                    )
                    .into());
                }
                let mut cmd = <Cli as clap::CommandFactory>::command();
                let mut buf = Vec::new();
                clap_complete::generate(shell, &mut cmd, "hookstrap", &mut buf);
                self.data(&String::from_utf8_lossy(&buf))
            }
            Command::Cache { action } => self.cache(action),
            Command::Mirror { dir, .. } => self.mirror(&ctx.cwd.join(dir)),
            Command::Env(_) => self.env(ctx),
            Command::Uninstall { tools, .. } => self.uninstall(&tools),
            Command::Hook { action } => self.hook(action, ctx),
        }
    }

    fn note(&self, message: &str) {
        self.reporter.info(message);
    }

    fn data(&mut self, text: &str) -> Result<()> {
        Ok(report::data(self.out, text).fs("write", Path::new("<stdout>"))?)
    }

    fn json(&mut self, value: &impl Serialize) -> Result<()> {
        Ok(report::json(self.out, value).fs("write", Path::new("<stdout>"))?)
    }

    fn load_lock(&self) -> Result<Option<Lock>> {
        match &self.settings.lock_path {
            Some(path) => Ok(Some((LockFile::read(path)?, path.clone()))),
            None => Ok(None),
        }
    }

    /// What every job of a batch shares; `lock` is the lock file to resolve from.
    fn jobs<'r>(&'r self, lock: Option<&'r Lock>) -> Jobs<'r> {
        Jobs {
            settings: self.settings,
            reporter: self.reporter,
            http: &self.http,
            cache: &self.cache,
            lock: lock.map(|(l, p)| (l, p.as_path())),
            min_age: self.min_release_age(),
            published: Default::default(),
        }
    }

    /// Every job's result, in order; or, when any failed, the first failure in order (which
    /// decides the exit code). With several items, it says which one failed, and later
    /// failures are warnings.
    fn all_or_first<R>(
        &self,
        action: &'static str,
        names: &[String],
        outcomes: Vec<pool::Outcome<R, Error>>,
    ) -> Result<Vec<R>> {
        let failures = match pool::all_or_first_failure(outcomes) {
            Ok(done) => return Ok(done),
            Err(failures) => failures,
        };
        let name = |i: usize| names.get(i).cloned().unwrap_or_default();
        for (i, e) in &failures.rest {
            self.reporter.warn(&format!(
                "also cannot {action} `{}`: {}",
                name(*i),
                report::chain(e)
            ));
        }
        let (i, first) = failures.first;
        if names.len() < 2 {
            return Err(first);
        }
        Err(Error::Job {
            action,
            what: name(i),
            source: Box::new(first),
        })
    }

    /// `--min-release-age`, else the manifest's `min_release_age` (a manifest that cannot be read
    /// is reported where it is read for its tools).
    fn min_release_age(&self) -> Option<std::time::Duration> {
        self.settings.min_release_age.or_else(|| {
            Manifest::load(&self.settings.app_dir)
                .ok()
                .flatten()
                .and_then(|m| m.min_release_age)
        })
    }

    /// At `-v`, what each request resolved to and why (the lock file, the manifest, the
    /// command line, `latest`).
    fn say_resolved<'p>(
        &self,
        resolved: impl IntoIterator<Item = (&'p Request, &'p Artifact)>,
        origin: Origin,
    ) {
        for (req, art) in resolved {
            self.reporter.verbose(&self.resolution(req, art, origin));
        }
    }

    /// `resolved platform@latest to platform 5.10.8 (upsun/cli v5.10.8): why`.
    fn resolution(&self, req: &Request, art: &Artifact, origin: Origin) -> String {
        let spec = match (&req.source, &req.version) {
            (Source::Url { .. }, _) => req.name.clone(),
            (_, Some(v)) => format!("{}@{v}", req.name),
            (_, None) => format!("{}@latest", req.name),
        };
        let release = match art.owner.is_empty() {
            true => String::new(),
            false => format!(" ({}/{} {})", art.owner, art.repo, art.tag),
        };
        let latest = || {
            if self.settings.http.offline {
                "offline, the newest release in the cache".to_string()
            } else {
                let url = format!(
                    "{}/{}/{}/releases/latest",
                    self.settings.mirror.trim_end_matches('/'),
                    art.owner,
                    art.repo
                );
                format!("`{}` names {}", http::redact(&url), art.tag)
            }
        };
        let why = match (&art.anchor, &req.version, origin) {
            (Anchor::Lock(path), _, _) => format!("pinned by the lock file `{}`", path.display()),
            (_, _, _) if matches!(req.source, Source::Url { .. }) => {
                "a URL names no version: its hash stands in for one".to_string()
            }
            (_, Some(v), Origin::Manifest) => format!("hookstrap.toml asks for {v}"),
            (_, Some(v), _) => format!("{v} asked for on the command line"),
            (_, None, Origin::Manifest) => {
                format!("hookstrap.toml asks for the latest; {}", latest())
            }
            (_, None, Origin::Default) => {
                format!(
                    "no SPEC, hookstrap.toml or lock file, so the latest; {}",
                    latest()
                )
            }
            (_, None, _) => latest(),
        };
        format!(
            "resolved {spec} to {} {}{release}: {why}",
            art.name, art.version
        )
    }

    /// Says what vouches for each artifact's hash: at `-v` always, and as a warning when
    /// nothing but the shared cache does (`--offline` without a lock file).
    fn say_anchors<'p>(&self, planned: impl IntoIterator<Item = &'p Artifact>) {
        let mut unanchored = Vec::new();
        for art in planned {
            self.reporter.verbose(&format!(
                "{} {} ({}): `{}` must hash to sha256 {}, from {}",
                art.name, art.version, art.target, art.asset, art.sha256, art.anchor
            ));
            if art.anchor == Anchor::CacheOnly {
                unanchored.push(format!("{} {}", art.name, art.version));
            }
        }
        if !unanchored.is_empty() {
            self.reporter.warn(&format!(
                "offline without a lock file, nothing but the cache vouches for {}: the cache is shared by every branch of the project; pin it with `hookstrap lock` to be sure",
                unanchored.join(", ")
            ));
        }
    }

    // ---- what to work on ----

    /// What to work on: the SPECs given (with the manifest's options for tools it declares),
    /// else the manifest's tools, else the lock file's, else `platform@latest`.
    fn requests(&self, asked: &Asked, lock: Option<&Lock>) -> Result<(Vec<Request>, Origin)> {
        let manifest = Manifest::load(&self.settings.app_dir)?;
        let (mut requests, origin): (Vec<Request>, Origin) = if !asked.specs.is_empty() {
            let requests = asked
                .specs
                .iter()
                .map(|text| given_request(text, manifest.as_ref(), asked.pick))
                .collect::<Result<_>>()?;
            (requests, Origin::Given)
        } else if let Some(manifest) = manifest.as_ref().filter(|m| !m.tools.is_empty()) {
            let requests = manifest.tools.iter().map(Request::from_decl).collect();
            (requests, Origin::Manifest)
        } else if let Some((lock, path)) = lock.filter(|(l, _)| !l.tools.is_empty()) {
            let requests = lock
                .tools
                .iter()
                .map(|t| Request::from_locked(t, path))
                .collect::<Result<_, _>>()?;
            (requests, Origin::Lock)
        } else {
            let latest = Request::from_spec(&AnySpec::Cli(Spec {
                tool: Tool::Platform,
                version: Wanted::Latest,
            }));
            (vec![latest], Origin::Default)
        };
        if let Some(sha) = asked.sha256 {
            pin_one(&mut requests, sha)?;
        }
        let mut seen = BTreeSet::new();
        if let Some(twice) = requests.iter().find(|r| !seen.insert(r.name.clone())) {
            return Err(
                UsageError::Other(format!("`{}` is named more than once", twice.name)).into(),
            );
        }
        requests.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((requests, origin))
    }

    /// The targets given, else the manifest's (for `lock`), else this machine's.
    fn targets_or_manifest(&self, given: &[String]) -> Result<Vec<Target>> {
        if given.is_empty()
            && let Some(manifest) = Manifest::load(&self.settings.app_dir)?
            && !manifest.targets.is_empty()
        {
            let mut targets = manifest.targets;
            targets.sort();
            return Ok(targets);
        }
        targets(given)
    }

    /// Each request resolved for the first target (which pins its version for the others),
    /// then every (tool, target) pair, in that order: the pairs `fetch` and `lock` work on.
    fn plan(
        &self,
        jobs: &Jobs,
        action: &'static str,
        requests: &[Request],
        targets: &[Target],
    ) -> Result<Plan> {
        let Some(&first_target) = targets.first() else {
            return Ok(Plan::default());
        };
        let outcomes = pool::map(self.settings.jobs, requests, |req| {
            jobs.resolve_first(req, first_target)
        });
        let names: Vec<String> = requests.iter().map(|r| r.name.clone()).collect();
        let tools = self.all_or_first(action, &names, outcomes)?;
        let pairs = (0..tools.len())
            .flat_map(|i| targets.iter().map(move |&t| (i, t)))
            .collect();
        Ok(Plan { tools, pairs })
    }

    // ---- install ----

    fn install(&mut self, asked: &Asked, target: Option<&str>) -> Result<()> {
        let host = Target::host().ok();
        let target = match target {
            Some(t) => Target::parse(t)?,
            None => Target::host()?,
        };
        let env_file = self.env_file_for(target, host)?;
        if !target.installable() {
            return Err(UsageError::Other(format!(
                "cannot install `{target}` binaries: `install` unpacks tar.gz releases; use `hookstrap fetch --target {target}` to cache them"
            ))
            .into());
        }
        let lock = self.load_lock()?;
        let (requests, origin) = self.requests(asked, lock.as_ref())?;
        // A doomed env-file edit fails before anything is fetched or placed.
        if let Some(env) = &env_file {
            envfile::check(env, &self.settings.bin_dir)?;
        }
        // Each tool is resolved, fetched, verified and staged in the bin dir by its own job,
        // several at once; the bin dir changes only once every job succeeded (README,
        // "Several tools at once").
        let bin = LazyBinDir::new(&self.settings.bin_dir, self.settings.lock_timeout);
        let jobs = self.jobs(lock.as_ref());
        let outcomes = pool::map(self.settings.jobs, &requests, |req| {
            jobs.prepare_install(req, target, &bin)
        });
        let names: Vec<String> = requests.iter().map(|r| r.name.clone()).collect();
        let prepared = self
            .all_or_first("install", &names, outcomes)
            .inspect_err(|_| {
                if names.len() > 1 {
                    self.reporter.warn(
                        "nothing was installed: the bin dir and the env file are as they were",
                    );
                }
            })?;
        self.say_resolved(requests.iter().zip(prepared.iter().map(|p| &p.art)), origin);
        self.say_anchors(prepared.iter().map(|p| &p.art));
        let receipts = self.install_all(bin.get()?, prepared, env_file.as_deref())?;
        if self.settings.json {
            self.json(&Batch::new(receipts))?;
        }
        Ok(())
    }

    /// The env file an install may edit. Another target's binaries never touch the host's
    /// setup: they imply `--no-env-file`, and need a bin dir of their own (`--bin-dir`), or a
    /// Mac binary would replace the Linux one on PATH.
    fn env_file_for(&self, target: Target, host: Option<Target>) -> Result<Option<PathBuf>> {
        if Some(target) == host {
            return Ok(self.settings.env_file.clone());
        }
        if !self.settings.bin_dir_given || self.settings.bin_dir == self.settings.default_bin_dir()
        {
            return Err(UsageError::Other(format!(
                "`install --target {target}` would put {target} binaries in this machine's bin dir `{}`; give them one of their own with `--bin-dir DIR` (the env file is left alone)",
                self.settings.bin_dir.display()
            ))
            .into());
        }
        Ok(None)
    }

    /// Commits every staged binary, in order, under the bin dir's lock, then writes the env
    /// block.
    fn install_all(
        &self,
        bin: &BinDir,
        prepared: Vec<Prepared>,
        env_file: Option<&Path>,
    ) -> Result<Vec<ArtifactReceipt>> {
        let bin_dir = std::fs::canonicalize(&bin.path).fs("resolve", &bin.path)?;
        let mut receipts = Vec::new();
        for Prepared { art, staged } in prepared {
            let (cache, changed, path) = match staged {
                Err(path) => (CacheUse::Hit, false, path),
                Ok((staged, cache)) => (cache, true, bin.commit(staged)?),
            };
            let (name, version, path_shown) = (&art.name, &art.version, path.display());
            if !changed {
                self.reporter.verbose(&format!(
                    "{name} {version} ({}): the bin dir holds it already (its receipt and the binary match)",
                    art.target
                ));
            }
            self.note(&match (changed, cache) {
                (false, _) => format!("already installed: {name} {version} → {path_shown}"),
                (true, CacheUse::Hit) => {
                    format!("installed {name} {version} (cached) → {path_shown}")
                }
                (true, CacheUse::Miss) => {
                    format!("installed {name} {version} (downloaded) → {path_shown}")
                }
            });
            receipts.push(ArtifactReceipt {
                changed: Some(changed),
                bin: Some(path),
                env_file: env_file.map(Path::to_path_buf),
                ..receipt(&art, cache)
            });
        }
        if let Some(env) = env_file
            && let envfile::Change::Appended | envfile::Change::Replaced =
                envfile::ensure(env, &bin_dir)?
        {
            self.note(&format!(
                "added {} to PATH in {}",
                bin_dir.display(),
                env.display()
            ));
        }
        Ok(receipts)
    }

    // ---- fetch and lock ----

    fn fetch(&mut self, asked: &Asked, targets_given: &[String]) -> Result<()> {
        let targets = targets(targets_given)?;
        let lock = self.load_lock()?;
        let (requests, origin) = self.requests(asked, lock.as_ref())?;
        let jobs = self.jobs(lock.as_ref());
        let plan = self.plan(&jobs, "fetch", &requests, &targets)?;
        self.say_resolved(plan.tools.iter().map(|p| (&p.req, &p.first)), origin);
        let outcomes = pool::map(self.settings.jobs, &plan.pairs, |&(i, target)| {
            jobs.fetch_one(&plan.tools[i], target)
        });
        let fetched = self.all_or_first("fetch", &plan.names(), outcomes)?;
        self.say_anchors(fetched.iter().map(|(art, _)| art));
        let items: Vec<ArtifactReceipt> = fetched
            .iter()
            .map(|(art, got)| ArtifactReceipt {
                sha256: got.sha256.clone(),
                size: Some(got.size),
                path: Some(got.path.clone()),
                ..receipt(art, CacheUse::from_hit(got.hit))
            })
            .collect();
        if self.settings.json {
            return self.json(&Batch::new(items));
        }
        let text: String = items
            .iter()
            .map(|i| {
                let cache = if i.cache == CacheUse::Hit {
                    "hit"
                } else {
                    "miss"
                };
                let size = i.size.unwrap_or_default();
                format!(
                    "{}\t{}\t{}\t{}\t{size}\t{cache}\n",
                    i.tool, i.version, i.target, i.sha256
                )
            })
            .collect();
        self.data(&text)
    }

    // ---- the cache and mirrors ----

    fn cache(&mut self, action: CacheAction) -> Result<()> {
        let settings = self.settings;
        match action {
            CacheAction::Dir { .. } => {
                if self.settings.json {
                    return self.json(&CacheDir {
                        cache_dir: &settings.cache_dir,
                    });
                }
                let dir = format!("{}\n", self.cache.root().display());
                self.data(&dir)
            }
            CacheAction::List { .. } => self.cache_list(),
            CacheAction::Verify { .. } => self.cache_verify(),
            CacheAction::Prune {
                older_than, all, ..
            } => {
                let age = match (older_than, all) {
                    (_, true) => None,
                    (days, false) => {
                        Some(std::time::Duration::from_secs(days.unwrap_or(30) * 86_400))
                    }
                };
                let (count, bytes) = self.cache.prune(age)?;
                self.note(&format!(
                    "removed {count} artifact(s), {}",
                    crate::size::human(bytes)
                ));
                if self.settings.json {
                    #[derive(Serialize)]
                    struct Pruned<'a> {
                        cache_dir: &'a Path,
                        removed: usize,
                        size: u64,
                    }
                    return self.json(&Pruned {
                        cache_dir: &settings.cache_dir,
                        removed: count,
                        size: bytes,
                    });
                }
                Ok(())
            }
        }
    }

    fn cache_list(&mut self) -> Result<()> {
        let settings = self.settings;
        let listed = self.cache.list();
        if self.settings.json {
            #[derive(Serialize)]
            struct Artifacts<'a> {
                cache_dir: &'a Path,
                artifacts: Vec<crate::cache::Listed>,
            }
            return self.json(&Artifacts {
                cache_dir: &settings.cache_dir,
                artifacts: listed,
            });
        }
        let text: String = listed
            .iter()
            .map(|item| {
                let e = &item.entry;
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\n",
                    e.tool,
                    e.version,
                    e.target,
                    e.size,
                    format_time(item.last_used),
                    e.sha256
                )
            })
            .collect();
        self.data(&text)
    }

    fn cache_verify(&mut self) -> Result<()> {
        let settings = self.settings;
        let mut damaged = self.cache.verify_blobs()?;
        damaged.extend(self.verify_unpacked_copies()?);
        let Some((first, _)) = damaged.first() else {
            self.note("every cached artifact is intact");
            if self.settings.json {
                #[derive(Serialize)]
                struct Verified<'a> {
                    cache_dir: &'a Path,
                    intact: bool,
                }
                return self.json(&Verified {
                    cache_dir: &settings.cache_dir,
                    intact: true,
                });
            }
            return Ok(());
        };
        for (path, reason) in &damaged {
            self.reporter
                .warn(&format!("damaged: `{}`: {reason}", path.display()));
        }
        Err(verify::VerifyError::Damaged {
            count: damaged.len(),
            first: first.clone(),
        }
        .into())
    }

    /// Each binary the cache keeps unpacked, against what its archive (verified against its
    /// name) unpacks to now. A copy that differs, or that cannot be checked (its archive is
    /// gone or damaged, its name is not the archive's binary), is removed and reported: the
    /// cache is never called intact for something that was not checked.
    fn verify_unpacked_copies(&self) -> Result<Vec<(PathBuf, String)>> {
        let mut damaged = Vec::new();
        let copies = self.cache.unpacked_copies();
        if copies.is_empty() {
            return Ok(damaged);
        }
        let tmp = crate::fsutil::real_dir(self.cache.root(), &["tmp"])?;
        let entries = self.cache.entries();
        for copy in copies {
            let problem = match self.check_copy(&copy, &entries, &tmp) {
                Ok(None) => continue,
                Ok(Some(problem)) => problem,
                Err(e) => report::chain(&e),
            };
            self.cache.discard_unpacked(&copy.archive_sha256)?;
            damaged.push((copy.path, format!("{problem}; removed it")));
        }
        Ok(damaged)
    }

    /// Why a kept copy is not what its archive yields, if it is not.
    fn check_copy(
        &self,
        copy: &crate::cache::UnpackedCopy,
        entries: &[crate::cache::IndexEntry],
        tmp: &Path,
    ) -> Result<Option<String>> {
        let Some(entry) = entries.iter().find(|e| e.sha256 == copy.archive_sha256) else {
            return Ok(Some("no cached archive it can be checked against".into()));
        };
        let Some(blob) = self
            .cache
            .verified_blob(&entry.sha256, &|m| self.reporter.warn(m))?
        else {
            return Ok(Some("its archive is missing or damaged".into()));
        };
        let Some(art) = crate::resolve::Location::from_index(entry, &copy.bin_name) else {
            return Ok(Some(
                "its archive is not one hookstrap installs from".into(),
            ));
        };
        let (_, expected) = install::binary_fingerprint(tmp, &blob, &art, &self.settings.limits)?;
        let Some(file) = crate::fsutil::open_regular(&copy.path)? else {
            return Ok(Some("it vanished".into()));
        };
        let actual = verify::fingerprint_reader(file).fs("read", &copy.path)?;
        Ok((actual != expected)
            .then(|| format!("hashes to {actual}, but its archive's binary hashes to {expected}")))
    }

    fn mirror(&mut self, dir: &Path) -> Result<()> {
        let written = mirror::export(&self.cache, dir, &|m| self.reporter.warn(m))?;
        self.note(&format!(
            "wrote {} artifact(s) to {}",
            written.len(),
            dir.display()
        ));
        if self.settings.json {
            #[derive(Serialize)]
            struct Mirrored<'a> {
                mirror: &'a Path,
                cache_dir: &'a Path,
                artifacts: Vec<mirror::Exported>,
            }
            let settings = self.settings;
            return self.json(&Mirrored {
                mirror: dir,
                cache_dir: &settings.cache_dir,
                artifacts: written,
            });
        }
        Ok(())
    }

    // ---- hook build ----

    /// `hook build`: the build dir's path on stdout when kept (or the `--json` outcome); a
    /// failing hook's status becomes the exit status.
    fn hook(&mut self, action: HookAction, ctx: &Context) -> Result<()> {
        let opts = hook_options(action, ctx, self.settings)?;
        let finished = hook::build(&opts, self.reporter)?;
        if self.settings.json {
            self.json(&finished.outcome)?;
        } else if let Some(dir) = &finished.outcome.build_dir {
            self.data(&format!("{}\n", dir.display()))?;
        }
        finished.failure.map_or(Ok(()), |e| Err(e.into()))
    }

    // ---- the app's own state ----

    fn env(&mut self, ctx: &Context) -> Result<()> {
        let s = self.settings;
        let variables = context::VARIABLES
            .iter()
            .filter_map(|name| {
                let value = ctx.var(name)?;
                let shown = if context::SECRET_VARIABLES.contains(name) {
                    "(set)".to_string()
                } else {
                    http::redact(value)
                };
                Some(((*name).to_string(), shown))
            })
            .collect();
        let detected = Detected {
            app_dir: &s.app_dir,
            bin_dir: &s.bin_dir,
            env_file: s.env_file.as_deref(),
            cache_dir: &s.cache_dir,
            lock_file: s.lock_path.as_deref(),
            mirror: http::redact(&s.mirror),
            target: Target::host()
                .map(|t| t.name().to_string())
                .map_err(|e| e.to_string()),
            offline: s.http.offline,
            token: if s.http.token.is_some() {
                "set"
            } else {
                "unset"
            },
            variables,
        };
        if s.json {
            return self.json(&detected);
        }
        let text = detected.text();
        self.data(&text)
    }

    fn list(&mut self) -> Result<()> {
        let s = self.settings;
        let receipt = install::read_receipt(&s.bin_dir);
        let tools: Vec<Listed> = receipt
            .tools
            .iter()
            .map(|(name, t)| Listed {
                tool: name.clone(),
                version: t.version.clone(),
                target: t.target.clone(),
                sha256: t.sha256.clone(),
                bin: s.bin_dir.join(&t.bin),
            })
            .collect();
        if s.json {
            #[derive(Serialize)]
            struct Installed<'a> {
                bin_dir: &'a Path,
                artifacts: Vec<Listed>,
            }
            return self.json(&Installed {
                bin_dir: &s.bin_dir,
                artifacts: tools,
            });
        }
        let text: String = tools
            .iter()
            .map(|t| {
                format!(
                    "{}\t{}\t{}\t{}\n",
                    t.tool,
                    t.version,
                    t.target,
                    t.bin.display()
                )
            })
            .collect();
        self.data(&text)
    }

    fn uninstall(&mut self, tools: &[String]) -> Result<()> {
        let s = self.settings;
        if !s.bin_dir.exists() {
            if let Some(env) = &s.env_file {
                envfile::remove(env)?;
            }
            self.note("nothing is installed");
            return self.say_removed(Vec::new());
        }
        let bin = BinDir::open(&s.bin_dir, s.lock_timeout)?;
        let receipt = bin.receipt();
        for name in tools.iter().filter(|n| !receipt.tools.contains_key(*n)) {
            if !is_tool_name(name) {
                return Err(UsageError::UnknownTool(name.clone()).into());
            }
            self.note(&format!("{name} is not installed"));
        }
        let (removed, left) = bin.uninstall(tools)?;
        if !left
            && let Some(env) = &s.env_file
            && envfile::remove(env)?
        {
            self.note(&format!(
                "removed the hookstrap block from {}",
                env.display()
            ));
        }
        for path in &removed {
            self.note(&format!("removed {}", path.display()));
        }
        let gone = receipt
            .tools
            .iter()
            .map(|(name, t)| Listed {
                tool: name.clone(),
                version: t.version.clone(),
                target: t.target.clone(),
                sha256: t.sha256.clone(),
                bin: bin.path.join(&t.bin),
            })
            .filter(|l| removed.contains(&l.bin))
            .collect();
        self.say_removed(gone)
    }

    /// `uninstall --json`: what was removed.
    fn say_removed(&mut self, artifacts: Vec<Listed>) -> Result<()> {
        let s = self.settings;
        if !s.json {
            return Ok(());
        }
        #[derive(Serialize)]
        struct Removed<'a> {
            bin_dir: &'a Path,
            env_file: Option<&'a Path>,
            removed: usize,
            artifacts: Vec<Listed>,
        }
        self.json(&Removed {
            bin_dir: &s.bin_dir,
            env_file: s.env_file.as_deref(),
            removed: artifacts.len(),
            artifacts,
        })
    }
}

/// `hook build`'s flags, settings and surroundings as [`hook::BuildOptions`].
fn hook_options(action: HookAction, ctx: &Context, s: &Settings) -> Result<hook::BuildOptions> {
    let HookAction::Build {
        app,
        source,
        build_dir,
        keep,
        var_file,
        timeout,
        ..
    } = action
    else {
        return Err(UsageError::Other("`hook confine` is run by `hook build` only".into()).into());
    };
    let abs = |p: PathBuf| ctx.cwd.join(p);
    Ok(hook::BuildOptions {
        app,
        source_given: source.is_some(),
        source: source.map_or_else(|| ctx.cwd.clone(), abs),
        build_dir: build_dir.map(abs),
        keep,
        offline: s.http.offline,
        var_file: var_file.map(abs),
        timeout: hook::parse_timeout(&timeout)?,
        cache_root: s.cache_dir.clone(),
        exe: ctx.exe.clone(),
        search_path: ctx.search_path.clone(),
        home: ctx.home.clone(),
        temp_dir: ctx.temp_dir.clone(),
    })
}

/// Where the requests came from, for `-v`'s account of what was resolved and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// SPECs on the command line.
    Given,
    /// The manifest's tools.
    Manifest,
    /// The lock file's tools.
    Lock,
    /// Nothing: `platform@latest`.
    Default,
}

/// The receipt of `art`, before a command adds what it knows.
fn receipt(art: &Artifact, cache: CacheUse) -> ArtifactReceipt {
    ArtifactReceipt {
        tool: art.name.clone(),
        version: art.version.clone(),
        target: art.target.name().to_string(),
        url: art.url.clone(),
        sha256: art.sha256.clone(),
        size: art.size,
        cache,
        changed: None,
        path: None,
        bin_blake3: None,
        source: None,
        command: None,
        bin: None,
        env_file: None,
    }
}

/// What the command line asked for: SPECs, a pinned hash, and how to pick and name the tool.
pub(crate) struct Asked<'a> {
    pub specs: &'a [String],
    pub sha256: Option<&'a str>,
    pub pick: &'a Pick,
}

impl<'a> Asked<'a> {
    fn new(specs: &'a [String], sha256: Option<&'a str>, pick: &'a Pick) -> Self {
        Asked {
            specs,
            sha256,
            pick,
        }
    }
}

/// A SPEC from the command line. A tool the manifest declares is a SPEC under its key (`gh`,
/// `gh@v2.64.0`), with its `bin`, `asset` and `sha256`; a `github:`/`url:` SPEC naming a tool
/// the manifest declares is that tool, not a second copy. `--bin` and `--asset` win.
fn given_request(text: &str, manifest: Option<&Manifest>, pick: &Pick) -> Result<Request> {
    let (key, version) = match text.split_once('@') {
        Some((key, version)) => (key, Some(version)),
        None => (text, None),
    };
    let declared = manifest.and_then(|m| m.tool(key));
    let mut req = match declared {
        Some(decl) if !text.contains(':') => {
            let mut req = Request::from_decl(decl);
            match version {
                Some("latest") => {
                    req.version = None;
                    req.latest = true;
                }
                Some(v) => req.version = Some(v.to_string()),
                None => {}
            }
            req
        }
        _ => {
            let spec = parse_any_spec(text)?;
            let mut req = Request::from_spec(&spec);
            req.latest |= version == Some("latest");
            let same = manifest.and_then(|m| m.tools.iter().find(|d| d.source == req.source));
            if let Some(decl) = same {
                let declared = Request::from_decl(decl);
                req.name = declared.name;
                req.bin = declared.bin;
                req.bin_explicit = declared.bin_explicit;
                req.asset = declared.asset;
                req.sha256 = req.sha256.or(declared.sha256);
            }
            req
        }
    };
    if let Some(bin) = &pick.bin {
        crate::names::check(bin).map_err(|reason| UsageError::BadValue {
            name: "--bin".into(),
            value: bin.clone(),
            reason,
        })?;
        req.bin = bin.clone();
        req.bin_explicit = true;
    }
    if let Some(asset) = &pick.asset {
        req.asset = Some(asset.clone());
    }
    Ok(req)
}

/// `--sha256`: pins the one request there is.
fn pin_one(requests: &mut [Request], sha: &str) -> Result<()> {
    let sha = verify::parse_sha256(sha).ok_or_else(|| UsageError::BadValue {
        name: "--sha256".into(),
        value: sha.to_string(),
        reason: "expected 64 hexadecimal digits".into(),
    })?;
    match requests {
        [one] => {
            one.sha256 = Some(sha);
            Ok(())
        }
        _ => Err(UsageError::Other("`--sha256` pins one SPEC: name exactly one".into()).into()),
    }
}

/// What `fetch` and `lock` work on: each tool resolved for the first target, and every (tool
/// index, target) pair.
#[derive(Default)]
struct Plan {
    tools: Vec<Pinned>,
    pairs: Vec<(usize, Target)>,
}

impl Plan {
    /// `tool (target)` for each pair, to name the one that failed.
    fn names(&self) -> Vec<String> {
        self.pairs
            .iter()
            .map(|&(i, t)| {
                let name = self.tools.get(i).map_or("", |p| p.req.name.as_str());
                format!("{name} ({t})")
            })
            .collect()
    }
}

/// The targets given (sorted, without repeats), else this machine's.
fn targets(given: &[String]) -> Result<Vec<Target>> {
    if given.is_empty() {
        return Ok(vec![Target::host()?]);
    }
    let mut targets = given
        .iter()
        .map(|t| Target::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    targets.sort();
    targets.dedup();
    Ok(targets)
}

/// `hookstrap cache dir --json`.
#[derive(Serialize)]
struct CacheDir<'a> {
    cache_dir: &'a Path,
}

/// `hookstrap env`: what was detected.
#[derive(Serialize)]
struct Detected<'a> {
    app_dir: &'a Path,
    bin_dir: &'a Path,
    env_file: Option<&'a Path>,
    cache_dir: &'a Path,
    lock_file: Option<&'a Path>,
    mirror: String,
    #[serde(serialize_with = "ok_or_null")]
    target: std::result::Result<String, String>,
    offline: bool,
    token: &'static str,
    variables: std::collections::BTreeMap<String, String>,
}

fn ok_or_null<S: serde::Serializer>(
    value: &std::result::Result<String, String>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match value {
        Ok(v) => s.serialize_some(v),
        Err(_) => s.serialize_none(),
    }
}

impl Detected<'_> {
    fn text(&self) -> String {
        let show = |p: Option<&Path>| p.map_or("(none)".to_string(), |p| p.display().to_string());
        let target = match &self.target {
            Ok(t) => t.clone(),
            Err(e) => format!("(unsupported: {e})"),
        };
        let mut text = format!(
            "app dir:    {}\nbin dir:    {}\nenv file:   {}\ncache dir:  {}\nlock file:  {}\nmirror:     {}\ntarget:     {target}\noffline:    {}\ntoken:      {}\n",
            self.app_dir.display(),
            self.bin_dir.display(),
            show(self.env_file),
            self.cache_dir.display(),
            show(self.lock_file),
            self.mirror,
            self.offline,
            self.token,
        );
        for (name, value) in &self.variables {
            text.push_str(&format!("{name}={value}\n"));
        }
        text
    }
}

/// One line of `hookstrap list`.
#[derive(Serialize)]
struct Listed {
    tool: String,
    version: String,
    target: String,
    sha256: String,
    bin: PathBuf,
}

/// The last use as an HTTP date (`Sat, 28 Nov 2026 00:01:02 GMT`): unambiguous, UTC.
fn format_time(secs: u64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_utc() {
        assert_eq!(format_time(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(format_time(1_795_900_000), "Sat, 28 Nov 2026 21:06:40 GMT");
    }
}
