//! One short function per command, each stringing the stages together: resolve → fetch
//! (http, cache, verify) → unpack → install → envfile, with `report` writing what happened.
//! No stage logic lives here; this is where the stages' errors meet as [`crate::Error`].

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cache::Cache;
use crate::cli::{CacheAction, Cli, Command};
use crate::context::{self, Context};
use crate::diag::{IoContext, UsageError};
use crate::envfile;
use crate::error::Result;
use crate::fetch::{self, Obtained};
use crate::http::{self, Http};
use crate::install::{self, BinDir, Placement};
use crate::mirror;
use crate::report::{self, ArtifactReceipt, Batch, CacheUse, Reporter};
use crate::resolve::catalog::{Target, Tool};
use crate::resolve::lockfile::{LockFile, LockedArtifact, LockedTool};
use crate::resolve::manifest::{Manifest, Source};
use crate::resolve::spec::is_tool_name;
use crate::resolve::{Anchor, AnySpec, Artifact, Request, Resolver, Spec, Wanted, parse_any_spec};
use crate::settings::Settings;
use crate::unpack;
use crate::verify;

/// Runs one command. Data goes to `out` (stdout); messages go through the reporter.
pub fn run(cli: Cli, ctx: &Context, out: &mut dyn Write) -> Result<()> {
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
            Command::Install(a) => self.install(&a.specs, a.target.as_deref(), a.sha256.as_deref()),
            Command::Fetch(a) => self.fetch(&a.specs, &a.targets, a.sha256.as_deref()),
            Command::Lock(a) => self.lock(&a.specs, &a.targets, a.sha256.as_deref()),
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

    fn resolver<'r>(&'r self, lock: Option<&'r Lock>) -> Resolver<'r> {
        Resolver {
            http: &self.http,
            cache: &self.cache,
            mirror: &self.settings.mirror,
            lock: lock.map(|(l, p)| (l, p.as_path())),
        }
    }

    /// At `-v`, answers the trust questions for one request: what it resolved to and why (the
    /// lock file, the manifest, the command line, `latest`), then per artifact the asset and
    /// where its hash comes from.
    fn say_plan(&self, req: &Request, arts: &[Artifact], asked: Asked) {
        if let Some(first) = arts.first() {
            self.reporter.verbose(&self.resolution(req, first, asked));
        }
        for art in arts {
            self.reporter.verbose(&format!(
                "{} {} ({}): `{}` must hash to sha256 {}, from {}",
                art.name, art.version, art.target, art.asset, art.sha256, art.anchor
            ));
        }
    }

    /// `resolved platform@latest to platform 5.10.8 (upsun/cli v5.10.8): why`.
    fn resolution(&self, req: &Request, art: &Artifact, asked: Asked) -> String {
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
        let why = match (&art.anchor, &req.version, asked) {
            (Anchor::Lock(path), _, _) => format!("pinned by the lock file `{}`", path.display()),
            (_, _, _) if matches!(req.source, Source::Url { .. }) => {
                "a URL names no version: its hash stands in for one".to_string()
            }
            (_, Some(v), Asked::Manifest) => format!("hookstrap.toml asks for {v}"),
            (_, Some(v), _) => format!("{v} asked for on the command line"),
            (_, None, Asked::Manifest) => {
                format!("hookstrap.toml asks for the latest; {}", latest())
            }
            (_, None, Asked::Default) => {
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

    /// When nothing but the shared cache vouches for a hash (`--offline` without a lock
    /// file), says so in a warning.
    fn warn_unanchored(&self, planned: &[Artifact]) {
        let unanchored: Vec<String> = planned
            .iter()
            .filter(|a| a.anchor == Anchor::CacheOnly)
            .map(|a| format!("{} {}", a.name, a.version))
            .collect();
        if !unanchored.is_empty() {
            self.reporter.warn(&format!(
                "offline without a lock file, nothing but the cache vouches for {}: the cache is shared by every branch of the project; pin it with `hookstrap lock` to be sure",
                unanchored.join(", ")
            ));
        }
    }

    /// A verified blob for `art` in the cache (downloaded on a miss).
    fn obtain(&self, art: &Artifact, tap: Option<&mut fetch::Tap>) -> Result<Obtained> {
        Ok(fetch::obtain_with(
            &self.cache,
            &self.http,
            art,
            &self.settings.mirror,
            self.reporter,
            tap,
        )?)
    }

    // ---- what to work on ----

    /// What to work on: the SPECs given (with the manifest's options for tools it declares),
    /// else the manifest's tools, else the lock file's, else `platform@latest`.
    fn requests(
        &self,
        given: &[String],
        sha256: Option<&str>,
        lock: Option<&Lock>,
    ) -> Result<(Vec<Request>, Asked)> {
        let manifest = Manifest::load(&self.settings.app_dir)?;
        let (mut requests, asked): (Vec<Request>, Asked) = if !given.is_empty() {
            let requests = given
                .iter()
                .map(|text| given_request(text, manifest.as_ref()))
                .collect::<Result<_>>()?;
            (requests, Asked::Given)
        } else if let Some(manifest) = manifest.as_ref().filter(|m| !m.tools.is_empty()) {
            let requests = manifest.tools.iter().map(Request::from_decl).collect();
            (requests, Asked::Manifest)
        } else if let Some((lock, path)) = lock.filter(|(l, _)| !l.tools.is_empty()) {
            let requests = lock
                .tools
                .iter()
                .map(|t| Request::from_locked(t, path))
                .collect::<Result<_, _>>()?;
            (requests, Asked::Lock)
        } else {
            let latest = Request::from_spec(&AnySpec::Cli(Spec {
                tool: Tool::Platform,
                version: Wanted::Latest,
            }));
            (vec![latest], Asked::Default)
        };
        if let Some(sha) = sha256 {
            pin_one(&mut requests, sha)?;
        }
        let mut seen = BTreeSet::new();
        if let Some(twice) = requests.iter().find(|r| !seen.insert(r.name.clone())) {
            return Err(
                UsageError::Other(format!("`{}` is named more than once", twice.name)).into(),
            );
        }
        requests.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((requests, asked))
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

    /// Resolves a request for each target, the first target's answer pinning the version for
    /// the others, so every target gets the same release even if `latest` moves meanwhile
    /// (and `latest` is asked once per tool, not once per target).
    fn resolve_all(
        &self,
        resolver: &Resolver,
        req: &Request,
        targets: &[Target],
    ) -> Result<Vec<Artifact>> {
        let mut req = req.clone();
        let mut out = Vec::new();
        for &target in targets {
            let art = resolver.resolve(&req, target)?;
            if req.version.is_none() && !art.tag.is_empty() {
                req.version = Some(match req.source {
                    Source::Cli(_) => art.version.clone(),
                    _ => art.tag.clone(),
                });
            }
            out.push(art);
        }
        Ok(out)
    }

    // ---- install ----

    fn install(
        &mut self,
        given: &[String],
        target: Option<&str>,
        sha256: Option<&str>,
    ) -> Result<()> {
        let target = match target {
            Some(t) => Target::parse(t)?,
            None => Target::host()?,
        };
        if !target.installable() {
            return Err(UsageError::Other(format!(
                "cannot install `{target}` binaries: `install` unpacks tar.gz releases; use `hookstrap fetch --target {target}` to cache them"
            ))
            .into());
        }
        let lock = self.load_lock()?;
        let (requests, asked) = self.requests(given, sha256, lock.as_ref())?;
        // A doomed env-file edit fails before anything is fetched or placed.
        if let Some(env) = &self.settings.env_file {
            envfile::check(env, &self.settings.bin_dir)?;
        }
        // Every version and hash is settled before the bin dir is touched; then each tool is
        // fetched, verified and placed atomically on its own.
        let resolver = self.resolver(lock.as_ref());
        let planned = requests
            .iter()
            .map(|req| resolver.resolve(req, target))
            .collect::<Result<Vec<_>, _>>()?;
        for (req, art) in requests.iter().zip(&planned) {
            self.say_plan(req, std::slice::from_ref(art), asked);
        }
        self.warn_unanchored(&planned);
        let receipts = self.install_all(&planned)?;
        if self.settings.json {
            self.json(&Batch::new(receipts))?;
        }
        Ok(())
    }

    /// Places every planned artifact under the bin dir's lock, then writes the env block.
    fn install_all(&self, planned: &[Artifact]) -> Result<Vec<ArtifactReceipt>> {
        let bin = BinDir::open(&self.settings.bin_dir, self.settings.lock_timeout)?;
        let bin_dir = std::fs::canonicalize(&bin.path).fs("resolve", &bin.path)?;
        let mut receipts = Vec::new();
        for art in planned {
            let (cache, changed) =
                if bin.is_current(&art.name, &art.sha256, art.bin_blake3.as_deref()) {
                    self.reporter.verbose(&format!(
                    "{} {} ({}): the bin dir holds it already (its receipt and the binary match)",
                    art.name, art.version, art.target
                ));
                    (CacheUse::Hit, false)
                } else {
                    (self.place(&bin, art)?, true)
                };
            let path = bin_dir.join(art.bin_name());
            let (name, version, path_shown) = (&art.name, &art.version, path.display());
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
                env_file: self.settings.env_file.clone(),
                ..receipt(art, cache)
            });
        }
        if let Some(env) = &self.settings.env_file
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

    /// Puts the artifact's binary into the bin dir by the cheapest safe way, and says whether
    /// the cache had it: the cache's verified unpacked copy (no unpacking at all); else the
    /// verified archive, unpacked while it downloads on a miss (one pass over the bytes).
    fn place(&self, bin: &BinDir, art: &Artifact) -> Result<CacheUse> {
        let what = Placement::of(art);
        self.cache.ensure_layout(&|m| self.reporter.warn(m))?;
        if what.bin_blake3.is_some() && self.place_kept_copy(bin, art, &what)? {
            return Ok(CacheUse::Hit);
        }
        let (got, staging) = self.fetch_and_unpack(bin, art)?;
        let unpacked = BinDir::find(staging.path(), &art.bin, &what.bin_name, art.at_root)
            .map_err(|e| e.in_archive(art))?;
        let (installed, _) = bin.place(staging, &unpacked, &what)?;
        if let Err(e) = self
            .cache
            .keep_unpacked(&got.sha256, &what.bin_name, &installed)
        {
            self.reporter.warn(&format!(
                "cannot keep an unpacked copy in the cache: {}",
                report::chain(&e)
            ));
        }
        Ok(CacheUse::from_hit(got.hit))
    }

    /// The lock file pins the binary: place the cache's kept copy if it hashes to the pin (no
    /// unpacking at all). A copy that does not is discarded with a warning, and the caller
    /// goes on from the verified archive. Says whether the copy was placed.
    fn place_kept_copy(&self, bin: &BinDir, art: &Artifact, what: &Placement) -> Result<bool> {
        // Shared: `prune` leaves the copy alone while we copy it.
        let _held = self.cache.lock_shared(&art.sha256)?;
        let Some(copy) = self.cache.unpacked(&art.sha256, &what.bin_name) else {
            return Ok(false);
        };
        match bin.place_pinned_copy(&copy, what) {
            Ok(_) => {
                self.reporter.verbose(&format!(
                    "{} {} ({}): cache hit: the kept binary `{}` hashes to the lock file's pin, nothing to unpack",
                    art.name,
                    art.version,
                    art.target,
                    copy.display()
                ));
                Ok(true)
            }
            Err(install::InstallError::Verify(e)) => {
                self.reporter.warn(&format!(
                    "discarding the cache's copy `{}`: it does not hash to the lock file's pin ({})",
                    copy.display(),
                    report::chain(&e)
                ));
                self.cache.discard_unpacked(&art.sha256)?;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The verified blob, and a staging directory holding what it unpacks to. On a download,
    /// the extractor reads the bytes as they arrive; it trusts nothing: it writes only into
    /// staging, and what it wrote is used only if the whole download verified. Anything else
    /// (a cache hit, a download that restarted, a zip, an archive the extractor refused) is
    /// unpacked again from the verified blob, re-hashed on the way, for the definitive answer.
    fn fetch_and_unpack(
        &self,
        bin: &BinDir,
        art: &Artifact,
    ) -> Result<(Obtained, tempfile::TempDir)> {
        let limits = &self.settings.limits;
        let bin_name = art.bin_name();
        let staging = bin.staging()?;
        let (got, streamed) = if art.format.streams() {
            let dest = staging.path();
            std::thread::scope(|scope| {
                let (mut tap, reader) = fetch::Tap::new();
                let (format, bare) = (art.format, bin_name.as_str());
                let unpacker =
                    scope.spawn(move || unpack::unpack(format, reader, None, dest, bare, limits));
                let got = self.obtain(art, Some(&mut tap));
                let whole = tap.whole();
                drop(tap);
                let unpacked = unpacker.join().is_ok_and(|r| r.is_ok());
                (got, whole && unpacked)
            })
        } else {
            (self.obtain(art, None), false)
        };
        let got = got?;
        if streamed {
            crate::fault::pause("unpack");
            return Ok((got, staging));
        }
        drop(staging);
        let staging = bin.staging()?;
        install::unpack_blob(staging.path(), &got.path, art, limits)?;
        crate::fault::pause("unpack");
        Ok((got, staging))
    }

    // ---- fetch and lock ----

    fn fetch(
        &mut self,
        given: &[String],
        targets_given: &[String],
        sha256: Option<&str>,
    ) -> Result<()> {
        let targets = targets(targets_given)?;
        let lock = self.load_lock()?;
        let (requests, asked) = self.requests(given, sha256, lock.as_ref())?;
        let mut items = Vec::new();
        {
            let resolver = self.resolver(lock.as_ref());
            for req in &requests {
                let arts = self.resolve_all(&resolver, req, &targets)?;
                self.say_plan(req, &arts, asked);
                self.warn_unanchored(&arts);
                for art in arts {
                    let got = self.obtain(&art, None)?;
                    items.push(ArtifactReceipt {
                        sha256: got.sha256.clone(),
                        size: Some(got.size),
                        path: Some(got.path.clone()),
                        ..receipt(&art, CacheUse::from_hit(got.hit))
                    });
                }
            }
        }
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

    fn lock(
        &mut self,
        given: &[String],
        targets_given: &[String],
        sha256: Option<&str>,
    ) -> Result<()> {
        let targets = self.targets_or_manifest(targets_given)?;
        let path = self.settings.lock_write_path();
        let existing = match path.exists() {
            true => Some((LockFile::read(&path)?, path.clone())),
            false => None,
        };
        // `lock` resolves afresh: with no SPEC, what the manifest declares, else what the lock
        // file already pins (at its versions, for the targets asked), else `platform@latest`.
        let (requests, asked) = self.requests(given, sha256, existing.as_ref())?;
        let mut lock = existing.map(|(l, _)| l).unwrap_or_default();
        let mut receipts = Vec::new();
        for req in &requests {
            let (tool, pinned) = self.pin(req, &targets, asked)?;
            if let Some(tool) = tool {
                self.note(&format!("locked {} {}", tool.name, tool.version));
                lock.upsert(tool);
            }
            receipts.extend(pinned);
        }
        lock.write(&path)?;
        if self.settings.json {
            #[derive(Serialize)]
            struct Locked<'a> {
                lock_file: &'a Path,
                #[serde(flatten)]
                pinned: Batch<ArtifactReceipt>,
            }
            return self.json(&Locked {
                lock_file: &path,
                pinned: Batch::new(receipts),
            });
        }
        self.data(&format!("{}\n", path.display()))
    }

    /// One tool's pin: each target's artifact, fetched and verified; and their receipts.
    fn pin(
        &self,
        req: &Request,
        targets: &[Target],
        asked: Asked,
    ) -> Result<(Option<LockedTool>, Vec<ArtifactReceipt>)> {
        let resolver = self.resolver(None);
        let mut pinned: Option<LockedTool> = None;
        let mut receipts = Vec::new();
        let arts = self.resolve_all(&resolver, req, targets)?;
        self.say_plan(req, &arts, asked);
        for art in arts {
            crate::resolve::lockfile::check_url(&art.url).map_err(|reason| {
                UsageError::BadValue {
                    name: format!("the URL of `{}`", art.name),
                    value: http::redact(&art.url),
                    reason: format!("a lock file pins https:// URLs only: {reason}"),
                }
            })?;
            let got = self.obtain(&art, None)?;
            let tool = pinned.get_or_insert_with(|| LockedTool {
                name: art.name.clone(),
                version: art.version.clone(),
                source: req.source_text(),
                bin: (req.bin != req.name).then(|| req.bin.clone()),
                artifacts: Vec::new(),
            });
            let tmp = crate::fsutil::real_dir(self.cache.root(), &["tmp"])?;
            let bin_blake3 =
                install::binary_fingerprint(&tmp, &got.path, &art, &self.settings.limits)?;
            receipts.push(ArtifactReceipt {
                sha256: got.sha256.clone(),
                size: Some(got.size),
                bin_blake3: Some(bin_blake3.clone()),
                source: tool.source.clone(),
                command: tool.bin.clone(),
                ..receipt(&art, CacheUse::from_hit(got.hit))
            });
            tool.artifacts.push(LockedArtifact {
                target: art.target.name().to_string(),
                url: art.url.clone(),
                sha256: got.sha256.clone(),
                size: got.size,
                bin_blake3: Some(bin_blake3),
            });
        }
        Ok((pinned, receipts))
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
        let expected = install::binary_fingerprint(tmp, &blob, &art, &self.settings.limits)?;
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

/// Where the requests came from, for `-v`'s account of what was resolved and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// SPECs on the command line.
    Given,
    /// The manifest's tools.
    Manifest,
    /// The lock file's tools.
    Lock,
    /// Nothing: `platform@latest`.
    Default,
}

/// A SPEC from the command line, with the manifest's options when it declares that tool; a
/// name only the manifest knows (`gh`, `gh@v2.64.0`) is that declaration.
fn given_request(text: &str, manifest: Option<&Manifest>) -> Result<Request> {
    let (name, version) = text
        .split_once('@')
        .map_or((text, None), |(n, v)| (n, Some(v)));
    let declared = manifest.and_then(|m| m.tool(name));
    if let (Some(decl), Err(UsageError::UnknownTool(_))) = (declared, parse_any_spec(text)) {
        let mut req = Request::from_decl(decl);
        match version {
            None => {}
            Some(_) if matches!(req.source, Source::Url { .. }) => {
                return Err(UsageError::BadSpec {
                    spec: text.to_string(),
                    reason: format!("`{name}` is a url: tool, which has no versions"),
                }
                .into());
            }
            Some("latest") => req.version = None,
            Some(tag) => {
                crate::resolve::spec::check_tag(tag).map_err(|reason| UsageError::BadSpec {
                    spec: text.to_string(),
                    reason,
                })?;
                req.version = Some(tag.to_string());
            }
        }
        return Ok(req);
    }
    let spec = parse_any_spec(text)?;
    let mut req = Request::from_spec(&spec);
    if let Some(decl) = manifest.and_then(|m| m.tool(&req.name)) {
        let declared = Request::from_decl(decl);
        req.bin = declared.bin;
        req.asset = declared.asset;
        req.sha256 = declared.sha256;
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
