//! hookstrap: install the Platform.sh / Upsun CLI in a build hook — resolve a version, download
//! the release archive, verify its SHA-256, cache it, unpack it safely, place the binary, and
//! put it on `PATH` through one idempotent block in `.environment`.
//!
//! The contract is `SPEC.md`; the data flows one way through one module per stage:
//! [`resolve`] → [`fetch`] ([`cache`], [`http`], [`verify`]) → [`extract`] → [`install`] →
//! [`envfile`]. Only `main.rs` and [`report`] talk to the terminal; only [`context`] reads the
//! environment.

pub mod cache;
pub mod catalog;
pub mod cli;
pub mod context;
pub mod envfile;
pub mod error;
pub mod extract;
pub mod fetch;
pub mod http;
pub mod install;
pub mod lockfile;
pub mod report;
pub mod resolve;
mod settings;
pub mod verify;
// Other released tools (issue 7): asset formats, GitHub releases, the manifest, the SPEC grammar.
pub mod archive;
pub mod github;
pub mod manifest;
pub mod spec;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

pub use crate::error::{Error, Result};

use crate::cache::Cache;
use crate::catalog::{Target, Tool};
use crate::cli::{CacheAction, Cli, Command};
use crate::context::Context;
use crate::error::{IoContext, UsageError};
use crate::http::Http;
use crate::install::{BinDir, Placement};
use crate::lockfile::{LockFile, LockedArtifact, LockedTool};
use crate::manifest::Manifest;
use crate::report::Reporter;
use crate::resolve::{Artifact, Request, Resolver, Spec, Wanted};
use crate::settings::Settings;
use crate::spec::{AnySpec, parse_any_spec};

/// Runs one command. Data goes to `out` (stdout); messages go through the reporter.
pub fn run(cli: Cli, ctx: &Context, out: &mut dyn Write) -> Result<()> {
    let settings = Settings::new(&cli.global, ctx)?;
    let reporter = report::Terminal::new(settings.bars, settings.quiet, settings.verbose);
    let app = App {
        settings: &settings,
        reporter: &reporter,
        http: Http::new(settings.http.clone(), &reporter),
        cache: Cache::new(settings.cache_dir.clone(), settings.lock_timeout),
    };
    match cli.command {
        Command::Install {
            specs,
            target,
            sha256,
        } => app.install(&specs, target.as_deref(), sha256.as_deref(), out),
        Command::Fetch {
            specs,
            targets,
            sha256,
        } => app.fetch(&specs, &targets, sha256.as_deref(), out),
        Command::Lock {
            specs,
            targets,
            sha256,
        } => app.lock(&specs, &targets, sha256.as_deref(), out),
        Command::List => app.list(out),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "hookstrap", &mut buf);
            emit(out, &String::from_utf8_lossy(&buf))
        }
        Command::Cache { action } => app.cache(action, out),
        Command::Mirror { dir } => app.mirror(&dir, out),
        Command::Env => app.env(ctx, out),
        Command::Uninstall { tools } => app.uninstall(&tools, out),
    }
}

struct App<'a> {
    settings: &'a Settings,
    reporter: &'a dyn Reporter,
    http: Http<'a>,
    cache: Cache,
}

/// Writes data to stdout; a closed pipe is not an error worth a message.
fn emit(out: &mut dyn Write, text: &str) -> Result<()> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other.fs("write", Path::new("<stdout>"))?),
    }
}

impl App<'_> {
    fn note(&self, message: &str) {
        self.reporter.info(message);
    }

    fn json(&self, out: &mut dyn Write, value: Value) -> Result<()> {
        emit(out, &format!("{value}\n"))
    }

    fn load_lock(&self) -> Result<Option<(LockFile, PathBuf)>> {
        match &self.settings.lock_path {
            Some(path) => Ok(Some((LockFile::read(path)?, path.clone()))),
            None => Ok(None),
        }
    }

    fn resolver<'r>(&'r self, lock: Option<&'r (LockFile, PathBuf)>) -> Resolver<'r> {
        Resolver {
            http: &self.http,
            cache: &self.cache,
            mirror: &self.settings.mirror,
            lock: lock.map(|(l, p)| (l, p.as_path())),
            offline: self.settings.http.offline,
        }
    }

    /// What to work on: the SPECs given (with the manifest's options for tools it declares),
    /// else the manifest's tools, else the lock file's, else `platform@latest`.
    fn requests(
        &self,
        given: &[String],
        sha256: Option<&str>,
        lock: Option<&(LockFile, PathBuf)>,
    ) -> Result<Vec<Request>> {
        let manifest = Manifest::load(&self.settings.app_dir)?;
        let mut requests: Vec<Request> = if !given.is_empty() {
            given
                .iter()
                .map(|text| {
                    let spec = parse_any_spec(text)?;
                    let mut req = Request::from_spec(&spec);
                    if let Some(decl) = manifest.as_ref().and_then(|m| m.tool(&req.name)) {
                        let declared = Request::from_decl(decl);
                        req.bin = declared.bin;
                        req.asset = declared.asset;
                        req.sha256 = declared.sha256;
                    }
                    Ok(req)
                })
                .collect::<Result<_>>()?
        } else if let Some(manifest) = manifest.as_ref().filter(|m| !m.tools.is_empty()) {
            manifest.tools.iter().map(Request::from_decl).collect()
        } else if let Some((lock, path)) = lock.filter(|(l, _)| !l.tools.is_empty()) {
            lock.tools
                .iter()
                .map(|t| Request::from_locked(t, path))
                .collect::<Result<_, _>>()?
        } else {
            vec![Request::from_spec(&AnySpec::Cli(Spec {
                tool: Tool::Platform,
                version: Wanted::Latest,
            }))]
        };
        if let Some(sha) = sha256 {
            let sha = verify::parse_sha256(sha).ok_or_else(|| UsageError::BadValue {
                name: "--sha256".into(),
                value: sha.to_string(),
                reason: "expected 64 hexadecimal digits".into(),
            })?;
            match requests.as_mut_slice() {
                [one] => one.sha256 = Some(sha),
                _ => {
                    return Err(UsageError::Other(
                        "`--sha256` pins one SPEC: name exactly one".into(),
                    )
                    .into());
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for req in &requests {
            if !seen.insert(req.name.clone()) {
                return Err(
                    UsageError::Other(format!("`{}` is named more than once", req.name)).into(),
                );
            }
        }
        requests.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(requests)
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
        self.targets(given)
    }

    fn targets(&self, given: &[String]) -> Result<Vec<Target>> {
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

    fn install(
        &self,
        given: &[String],
        target: Option<&str>,
        sha256: Option<&str>,
        out: &mut dyn Write,
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
        let requests = self.requests(given, sha256, lock.as_ref())?;
        let resolver = self.resolver(lock.as_ref());

        // A doomed env-file edit fails before anything is fetched or placed.
        if let Some(env) = &self.settings.env_file {
            envfile::check(env, &self.settings.bin_dir)?;
        }
        // Every version and hash is settled before the bin dir is touched; then each tool is
        // fetched, verified and placed atomically on its own.
        let planned = requests
            .iter()
            .map(|req| resolver.resolve(req, target))
            .collect::<Result<Vec<_>>>()?;
        let bin = BinDir::open(&self.settings.bin_dir, self.settings.lock_timeout)?;
        let bin_dir = std::fs::canonicalize(&bin.path).fs("resolve", &bin.path)?;
        let mut receipts = Vec::new();
        for art in &planned {
            let bin_path = bin_dir.join(art.bin_name());
            if bin.is_current(&art.name, art.sha256()) {
                receipts.push((art, bin_path, "installed", false));
                continue;
            }
            let cache = self.place(&bin, art)?;
            receipts.push((art, bin_path, cache, true));
        }
        let env_change = match &self.settings.env_file {
            Some(env) => Some(envfile::ensure(env, &bin_dir)?),
            None => None,
        };
        drop(bin);

        for (art, path, _, changed) in &receipts {
            let verb = if *changed {
                "installed"
            } else {
                "already installed:"
            };
            self.note(&format!(
                "{verb} {} {} → {}",
                art.name,
                art.version,
                path.display()
            ));
        }
        if let Some(envfile::Change::Appended | envfile::Change::Replaced) = env_change
            && let Some(env) = &self.settings.env_file
        {
            self.note(&format!(
                "added {} to PATH in {}",
                bin_dir.display(),
                env.display()
            ));
        }
        if self.settings.json {
            let items: Vec<Value> = receipts
                .iter()
                .map(|(art, path, cache, changed)| {
                    json!({
                        "tool": art.name,
                        "version": art.version,
                        "target": art.target.name(),
                        "url": art.url,
                        "sha256": art.sha256,
                        "cache": if *cache == "installed" { "hit" } else { *cache },
                        "changed": changed,
                        "bin": path,
                        "env_file": self.settings.env_file,
                    })
                })
                .collect();
            self.json(
                out,
                combine(items, json!({"env_file": self.settings.env_file})),
            )?;
        }
        Ok(())
    }

    /// Puts the artifact's binary into the bin dir by the cheapest safe way, and says whether
    /// the cache had it: the cache's verified unpacked copy (no unpacking at all); else the
    /// verified archive, unpacked while it downloads on a miss (one pass over the bytes).
    fn place(&self, bin: &BinDir, art: &Artifact) -> Result<&'static str> {
        let sha = art.sha256();
        let bin_name = art.bin_name();
        let what = Placement {
            tool: &art.name,
            version: &art.version,
            target: art.target.name(),
            sha256: sha,
            bin_name: &bin_name,
        };
        let warn = |m: &str| self.reporter.warn(m);
        self.cache.ensure_layout()?;
        {
            // Shared: `prune` leaves the copy alone while we link it.
            let _held = self.cache.lock_shared(sha)?;
            if let Some(cached) = self.cache.unpacked(sha, &bin_name, &warn)? {
                bin.place_verified(&cached.path, &cached.blake3, &what)?;
                return Ok("hit");
            }
        }

        let limits = &self.settings.limits;
        let staging = bin.staging()?;
        let dest = staging.path();
        let (got, streamed) = if art.format.streams() {
            // The extractor reads the download as it arrives. It trusts nothing: it writes
            // only into `staging`, and what it wrote is used only if the whole download
            // verified.
            std::thread::scope(|scope| {
                let (mut tap, reader) = fetch::Tap::new();
                let (format, bare) = (art.format, bin_name.as_str());
                let unpacker =
                    scope.spawn(move || archive::unpack(format, reader, None, dest, bare, limits));
                let got = fetch::obtain_with(
                    &self.cache,
                    &self.http,
                    art,
                    &self.settings.mirror,
                    self.reporter,
                    Some(&mut tap),
                );
                let whole = tap.whole();
                drop(tap);
                let unpacked = unpacker.join().is_ok_and(|r| r.is_ok());
                (got, whole && unpacked)
            })
        } else {
            let got = fetch::obtain(
                &self.cache,
                &self.http,
                art,
                &self.settings.mirror,
                self.reporter,
            );
            (got, false)
        };
        let got = got?;
        let staging = if streamed {
            staging
        } else {
            // A cache hit, a download that restarted, a zip (it needs its central directory
            // first), or an archive the extractor refused: unpack the verified blob,
            // re-hashing it on the way, for the definitive answer.
            drop(staging);
            let staging = bin.staging()?;
            bin.unpack_blob(
                staging.path(),
                &got.path,
                art.format,
                &bin_name,
                &art.url,
                &got.sha256,
                limits,
            )?;
            staging
        };
        let unpacked = BinDir::find(staging.path(), &art.bin, &bin_name, art.at_root)?;
        let (installed, fingerprint) = bin.place(staging, &unpacked, &what, None)?;
        if let Err(e) = self
            .cache
            .keep_unpacked(&got.sha256, &bin_name, &installed, &fingerprint)
        {
            self.reporter.warn(&format!(
                "cannot keep an unpacked copy in the cache: {}",
                report::chain(&e)
            ));
        }
        Ok(if got.hit { "hit" } else { "miss" })
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
                    manifest::Source::Cli(_) => art.version.clone(),
                    _ => art.tag.clone(),
                });
            }
            out.push(art);
        }
        Ok(out)
    }

    fn fetch(
        &self,
        given: &[String],
        targets: &[String],
        sha256: Option<&str>,
        out: &mut dyn Write,
    ) -> Result<()> {
        let targets = self.targets(targets)?;
        let lock = self.load_lock()?;
        let requests = self.requests(given, sha256, lock.as_ref())?;
        let resolver = self.resolver(lock.as_ref());
        let mut items = Vec::new();
        for req in &requests {
            for art in self.resolve_all(&resolver, req, &targets)? {
                let got = fetch::obtain(
                    &self.cache,
                    &self.http,
                    &art,
                    &self.settings.mirror,
                    self.reporter,
                )?;
                let cache = if got.hit { "hit" } else { "miss" };
                if !self.settings.json {
                    emit(
                        out,
                        &format!(
                            "{}\t{}\t{}\t{}\t{}\t{}\n",
                            art.name, art.version, art.target, got.sha256, got.size, cache
                        ),
                    )?;
                }
                items.push(json!({
                    "tool": art.name,
                    "version": art.version,
                    "target": art.target.name(),
                    "url": art.url,
                    "sha256": got.sha256,
                    "size": got.size,
                    "cache": cache,
                    "path": got.path,
                    "bin": Value::Null,
                    "env_file": Value::Null,
                }));
            }
        }
        if self.settings.json {
            self.json(out, combine(items, json!({})))?;
        }
        Ok(())
    }

    fn lock(
        &self,
        given: &[String],
        targets: &[String],
        sha256: Option<&str>,
        out: &mut dyn Write,
    ) -> Result<()> {
        let targets = self.targets_or_manifest(targets)?;
        let path = self.settings.lock_write_path();
        let existing = match path.exists() {
            true => Some((LockFile::read(&path)?, path.clone())),
            false => None,
        };
        // `lock` resolves afresh: with no SPEC, what the manifest declares, else what the lock
        // file already pins (at its versions, for the targets asked), else `platform@latest`.
        let requests = self.requests(given, sha256, existing.as_ref())?;
        let resolver = self.resolver(None);
        let mut lock = existing.map(|(l, _)| l).unwrap_or_default();
        for req in &requests {
            let mut pinned: Option<LockedTool> = None;
            for art in self.resolve_all(&resolver, req, &targets)? {
                let got = fetch::obtain(
                    &self.cache,
                    &self.http,
                    &art,
                    &self.settings.mirror,
                    self.reporter,
                )?;
                let tool = pinned.get_or_insert_with(|| LockedTool {
                    name: art.name.clone(),
                    version: art.version.clone(),
                    source: req.source_text(),
                    bin: (req.bin != req.name).then(|| req.bin.clone()),
                    artifacts: Vec::new(),
                });
                tool.artifacts.push(LockedArtifact {
                    target: art.target.name().to_string(),
                    url: art.url.clone(),
                    sha256: got.sha256,
                    size: got.size,
                });
            }
            if let Some(tool) = pinned {
                self.note(&format!("locked {} {}", tool.name, tool.version));
                lock.upsert(tool);
            }
        }
        lock.write(&path)?;
        if self.settings.json {
            self.json(
                out,
                json!({"lock_file": path, "tools": serde_json::to_value(&lock.tools).unwrap_or_default()}),
            )?;
        } else {
            emit(out, &format!("{}\n", path.display()))?;
        }
        Ok(())
    }

    fn cache(&self, action: CacheAction, out: &mut dyn Write) -> Result<()> {
        match action {
            CacheAction::Dir => emit(out, &format!("{}\n", self.cache.root().display())),
            CacheAction::List => {
                let listed = self.cache.list();
                if self.settings.json {
                    return self.json(out, json!({"artifacts": listed}));
                }
                let mut text = String::new();
                for item in listed {
                    let e = &item.entry;
                    text.push_str(&format!(
                        "{}\t{}\t{}\t{}\t{}\t{}\n",
                        e.tool,
                        e.version,
                        e.target,
                        e.size,
                        format_time(item.last_used),
                        e.sha256
                    ));
                }
                emit(out, &text)
            }
            CacheAction::Verify => {
                let damaged = self.cache.verify_all()?;
                if damaged.is_empty() {
                    self.note("every cached artifact is intact");
                    return Ok(());
                }
                for (path, reason) in &damaged {
                    self.reporter
                        .warn(&format!("damaged: `{}`: {reason}", path.display()));
                }
                Err(verify::VerifyError::Damaged {
                    count: damaged.len(),
                    first: damaged[0].0.clone(),
                }
                .into())
            }
            CacheAction::Prune { older_than, all } => {
                let age = match (older_than, all) {
                    (_, true) => None,
                    (Some(days), false) => Some(std::time::Duration::from_secs(days * 86_400)),
                    (None, false) => Some(std::time::Duration::from_secs(30 * 86_400)),
                };
                let (count, bytes) = self.cache.prune(age)?;
                self.note(&format!("removed {count} artifact(s), {bytes} bytes"));
                Ok(())
            }
        }
    }

    fn mirror(&self, dir: &Path, out: &mut dyn Write) -> Result<()> {
        let written = cache::export_mirror(&self.cache, dir, &|m| self.reporter.warn(m))?;
        self.note(&format!("wrote {written} artifact(s) to {}", dir.display()));
        if self.settings.json {
            self.json(out, json!({"mirror": dir, "artifacts": written}))?;
        }
        Ok(())
    }

    fn env(&self, ctx: &Context, out: &mut dyn Write) -> Result<()> {
        let s = self.settings;
        let target = Target::host().map(|t| t.name().to_string());
        let mut vars = serde_json::Map::new();
        for name in context::VARIABLES {
            if let Some(value) = ctx.var(name) {
                let shown = if context::SECRET_VARIABLES.contains(name) {
                    "(set)".to_string()
                } else {
                    http::redact(value)
                };
                vars.insert((*name).to_string(), Value::String(shown));
            }
        }
        let value = json!({
            "app_dir": s.app_dir,
            "bin_dir": s.bin_dir,
            "env_file": s.env_file,
            "cache_dir": s.cache_dir,
            "lock_file": s.lock_path,
            "mirror": http::redact(&s.mirror),
            "target": target.as_ref().ok(),
            "offline": s.http.offline,
            "token": if s.http.token.is_some() { "set" } else { "unset" },
            "variables": vars,
        });
        if s.json {
            return self.json(out, value);
        }
        let show = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or("(none)".to_string(), |p| p.display().to_string())
        };
        let mut text = String::new();
        text.push_str(&format!("app dir:    {}\n", s.app_dir.display()));
        text.push_str(&format!("bin dir:    {}\n", s.bin_dir.display()));
        text.push_str(&format!("env file:   {}\n", show(&s.env_file)));
        text.push_str(&format!("cache dir:  {}\n", s.cache_dir.display()));
        text.push_str(&format!("lock file:  {}\n", show(&s.lock_path)));
        text.push_str(&format!("mirror:     {}\n", http::redact(&s.mirror)));
        text.push_str(&format!(
            "target:     {}\n",
            target.unwrap_or_else(|e| format!("(unsupported: {e})"))
        ));
        text.push_str(&format!("offline:    {}\n", s.http.offline));
        text.push_str(&format!(
            "token:      {}\n",
            if s.http.token.is_some() {
                "set"
            } else {
                "unset"
            }
        ));
        for (name, value) in vars {
            text.push_str(&format!("{name}={}\n", value.as_str().unwrap_or_default()));
        }
        emit(out, &text)
    }

    fn list(&self, out: &mut dyn Write) -> Result<()> {
        let s = self.settings;
        let receipt = install::read_receipt(&s.bin_dir);
        let items: Vec<Value> = receipt
            .tools
            .iter()
            .map(|(name, t)| {
                json!({
                    "tool": name,
                    "version": t.version,
                    "target": t.target,
                    "sha256": t.sha256,
                    "bin": s.bin_dir.join(&t.bin),
                })
            })
            .collect();
        if s.json {
            return self.json(out, json!({"bin_dir": s.bin_dir, "tools": items}));
        }
        let mut text = String::new();
        for (name, t) in &receipt.tools {
            text.push_str(&format!(
                "{name}\t{}\t{}\t{}\n",
                t.version,
                t.target,
                s.bin_dir.join(&t.bin).display()
            ));
        }
        emit(out, &text)
    }

    fn uninstall(&self, tools: &[String], out: &mut dyn Write) -> Result<()> {
        let s = self.settings;
        if !s.bin_dir.exists() {
            if let Some(env) = &s.env_file {
                envfile::remove(env)?;
            }
            self.note("nothing is installed");
            return Ok(());
        }
        let bin = BinDir::open(&s.bin_dir, s.lock_timeout)?;
        let receipt = bin.receipt();
        for name in tools {
            if !receipt.tools.contains_key(name) {
                if !spec::is_tool_name(name) {
                    return Err(UsageError::UnknownTool(name.clone()).into());
                }
                self.note(&format!("{name} is not installed"));
            }
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
        if s.json {
            self.json(out, json!({"removed": removed, "env_file": s.env_file}))?;
        }
        Ok(())
    }
}

/// One JSON object per command: the first item's fields at the top (so a single-tool run reads
/// flat), and every item under `tools`.
fn combine(items: Vec<Value>, extra: Value) -> Value {
    let mut top = items
        .first()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Value::Object(extra) = extra {
        top.extend(extra);
    }
    top.insert("tools".into(), Value::Array(items));
    Value::Object(top)
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
