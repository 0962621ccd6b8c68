//! The lock file's life beside the app: `lock` (pin, keeping pins the manifest still allows,
//! dropping tools it no longer declares), `lock --upgrade` (move pins to the newest allowed
//! release, saying `tool old → new`), `lock --check` (does the lock match the manifest? no
//! network, exit 9 when not) and `outdated` (pinned or installed version against the newest).

use std::path::Path;

use serde::Serialize;

use super::{App, Asked, Lock, Origin, receipt, targets};
use crate::diag::{Outdated, UsageError};
use crate::error::Result;
use crate::install;
use crate::jobs::Pinned;
use crate::pool;
use crate::report::{ArtifactReceipt, Batch, CacheUse};
use crate::resolve::catalog::Target;
use crate::resolve::lockfile::{LockFile, LockedTool};
use crate::resolve::manifest::{Manifest, Source};
use crate::resolve::{Request, pins, version_of_tag};

/// One pin that moved.
#[derive(Debug, Serialize)]
struct Moved {
    tool: String,
    from: Option<String>,
    to: String,
}

/// One line of `outdated`.
#[derive(Debug, Serialize)]
struct Row {
    tool: String,
    /// The pinned version, else the installed one.
    version: Option<String>,
    latest: Option<String>,
    behind: bool,
}

impl App<'_> {
    /// `lock [SPEC…]` and `lock --upgrade [TOOL…]`.
    pub(super) fn lock(
        &mut self,
        asked: &Asked,
        targets_given: &[String],
        upgrade: bool,
    ) -> Result<()> {
        let targets = self.targets_or_manifest(targets_given)?;
        let path = self.settings.lock_write_path();
        let existing: Option<Lock> = match path.exists() {
            true => Some((LockFile::read(&path)?, path.clone())),
            false => None,
        };
        let manifest = Manifest::load(&self.settings.app_dir)?;
        let old = existing
            .as_ref()
            .map(|(l, _)| l.clone())
            .unwrap_or_default();
        let (mut requests, origin) = self.requests(asked, existing.as_ref())?;
        for req in &mut requests {
            choose_version(req, &old, manifest.as_ref(), upgrade);
        }
        let mut lock = old.clone();
        if asked.specs.is_empty()
            && let Some(manifest) = &manifest
        {
            for dropped in lock.retain(|t| manifest.tool(&t.name).is_some()) {
                self.note(&format!(
                    "dropped the pin of {dropped}: hookstrap.toml no longer declares it"
                ));
            }
        }
        let mut moved = Vec::new();
        let (tools, receipts) = self.pin(&requests, &targets, origin)?;
        for tool in tools {
            let before = old.tool(&tool.name).map(|t| t.version.clone());
            if before.as_deref() != Some(tool.version.as_str()) {
                moved.push(Moved {
                    tool: tool.name.clone(),
                    from: before,
                    to: tool.version.clone(),
                });
            }
            self.note(&format!("locked {} {}", tool.name, tool.version));
            lock.upsert(tool);
        }
        lock.write(&path)?;
        self.say_locked(&path, receipts, &moved, upgrade)
    }

    fn say_locked(
        &mut self,
        path: &Path,
        receipts: Vec<ArtifactReceipt>,
        moved: &[Moved],
        upgrade: bool,
    ) -> Result<()> {
        if self.settings.json {
            #[derive(Serialize)]
            struct Locked<'a> {
                lock_file: &'a Path,
                #[serde(flatten)]
                pinned: Batch<ArtifactReceipt>,
                moved: &'a [Moved],
            }
            return self.json(&Locked {
                lock_file: path,
                pinned: Batch::new(receipts),
                moved,
            });
        }
        if !upgrade {
            return self.data(&format!("{}\n", path.display()));
        }
        if moved.is_empty() {
            self.note("every pin is at the newest release hookstrap.toml allows");
        }
        let text: String = moved
            .iter()
            .map(|m| match &m.from {
                Some(from) => format!("{} {from} → {}\n", m.tool, m.to),
                None => format!("{} (new) → {}\n", m.tool, m.to),
            })
            .collect();
        self.data(&text)
    }

    /// Each tool's pin: every target's artifact fetched and verified, and the binary it
    /// unpacks to fingerprinted, several at once; one `LockedTool` per request, its artifacts
    /// in target order, and a receipt per artifact.
    fn pin(
        &self,
        requests: &[Request],
        targets: &[Target],
        origin: Origin,
    ) -> Result<(Vec<LockedTool>, Vec<ArtifactReceipt>)> {
        let jobs = self.jobs(None);
        let plan = self.plan(&jobs, "lock", requests, targets)?;
        self.say_resolved(plan.tools.iter().map(|p| (&p.req, &p.first)), origin);
        let outcomes = pool::map(self.settings.jobs, &plan.pairs, |&(i, target)| {
            jobs.pin_one(&plan.tools[i], target)
        });
        let pinned = self.all_or_first("lock", &plan.names(), outcomes)?;
        self.say_anchors(pinned.iter().map(|(art, ..)| art));
        let mut tools: Vec<Option<LockedTool>> = plan.tools.iter().map(|_| None).collect();
        let mut receipts = Vec::new();
        for (&(i, _), (art, locked, command, hit)) in plan.pairs.iter().zip(pinned) {
            let (Some(slot), Some(Pinned { req, .. })) = (tools.get_mut(i), plan.tools.get(i))
            else {
                continue;
            };
            let tool = slot.get_or_insert_with(|| LockedTool {
                name: art.name.clone(),
                version: art.version.clone(),
                source: req.source_text(),
                bin: (command != req.name).then(|| command.clone()),
                artifacts: Vec::new(),
            });
            receipts.push(ArtifactReceipt {
                sha256: locked.sha256.clone(),
                size: Some(locked.size),
                bin_blake3: locked.bin_blake3.clone(),
                source: tool.source.clone(),
                command: tool.bin.clone(),
                ..receipt(&art, CacheUse::from_hit(hit))
            });
            tool.artifacts.push(locked);
        }
        Ok((tools.into_iter().flatten().collect(), receipts))
    }

    /// `lock --check`: the lock covers exactly the manifest's tools and targets, at versions it
    /// allows. Reads two files; no network.
    pub(super) fn lock_check(&mut self, targets_given: &[String]) -> Result<()> {
        let Some(manifest) = Manifest::load(&self.settings.app_dir)? else {
            return Err(UsageError::Other(format!(
                "`lock --check` compares the lock file with `{}`, and there is none",
                self.settings.app_dir.join("hookstrap.toml").display()
            ))
            .into());
        };
        let path = self.settings.lock_write_path();
        let hint = "run `hookstrap lock` (or `hookstrap lock --upgrade`) and commit hookstrap.lock";
        if !path.exists() {
            return Err(Outdated {
                what: format!("there is no lock file `{}`", path.display()),
                hint: hint.into(),
            }
            .into());
        }
        let lock = LockFile::read(&path)?;
        let targets = self.targets_or_manifest(targets_given)?;
        let problems = pins::check(&manifest, &lock, &targets);
        if problems.is_empty() {
            self.note(&format!("`{}` matches hookstrap.toml", path.display()));
            return Ok(());
        }
        for problem in &problems {
            self.reporter.warn(problem);
        }
        Err(Outdated {
            what: format!(
                "the lock file `{}` does not match hookstrap.toml ({} problem(s))",
                path.display(),
                problems.len()
            ),
            hint: hint.into(),
        }
        .into())
    }

    /// `outdated [TOOL…]`: each tool's pinned (else installed) version and the newest release.
    pub(super) fn outdated(&mut self, tools: &[String], exit_code: bool) -> Result<()> {
        let lock = self.load_lock()?;
        let none = Asked {
            specs: &[],
            sha256: None,
            pick: &Default::default(),
        };
        let (mut requests, _) = self.requests(&none, lock.as_ref())?;
        if !tools.is_empty() {
            requests.retain(|r| tools.contains(&r.name));
            if let Some(name) = tools
                .iter()
                .find(|n| !requests.iter().any(|r| &r.name == *n))
            {
                return Err(UsageError::UnknownTool(name.clone()).into());
            }
        }
        let host = targets(&[])?[0];
        let receipt = install::read_receipt(&self.settings.bin_dir);
        let jobs = self.jobs(None);
        let resolver = jobs.resolver();
        let mut rows = Vec::new();
        for req in &requests {
            let version = lock
                .as_ref()
                .and_then(|(l, _)| l.tool(&req.name))
                .map(|t| t.version.clone())
                .or_else(|| receipt.tools.get(&req.name).map(|t| t.version.clone()));
            let latest = resolver.newest(req, host)?;
            let behind = is_behind(version.as_deref(), latest.as_deref(), &req.source);
            rows.push(Row {
                tool: req.name.clone(),
                version,
                latest,
                behind,
            });
        }
        self.say_outdated(&rows)?;
        let behind: Vec<&str> = rows
            .iter()
            .filter(|r| r.behind)
            .map(|r| r.tool.as_str())
            .collect();
        if exit_code && !behind.is_empty() {
            return Err(Outdated {
                what: format!("a newer release exists for {}", behind.join(", ")),
                hint: "move the pins with `hookstrap lock --upgrade`, then commit hookstrap.lock"
                    .into(),
            }
            .into());
        }
        Ok(())
    }

    fn say_outdated(&mut self, rows: &[Row]) -> Result<()> {
        if self.settings.json {
            #[derive(Serialize)]
            struct Rows<'a> {
                artifacts: &'a [Row],
            }
            return self.json(&Rows { artifacts: rows });
        }
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let text: String = rows
            .iter()
            .map(|r| {
                let state = if r.behind { "behind" } else { "current" };
                format!(
                    "{}\t{}\t{}\t{state}\n",
                    r.tool,
                    dash(&r.version),
                    dash(&r.latest)
                )
            })
            .collect();
        self.data(&text)
    }
}

/// Which version `lock` pins a request at. `--upgrade`: the newest the manifest allows (its
/// exact version, else `latest`). Otherwise a version asked for wins; else a pin the manifest
/// still allows is kept (re-locking adds targets, it does not move versions); else `latest`.
fn choose_version(req: &mut Request, old: &LockFile, manifest: Option<&Manifest>, upgrade: bool) {
    let decl = manifest.and_then(|m| m.tool(&req.name));
    let declared = decl
        .and_then(|d| d.version.clone())
        .filter(|v| v != "latest");
    if upgrade {
        req.version = declared;
        req.latest = false;
        return;
    }
    if req.version.is_some() || req.latest {
        return;
    }
    let Some(pinned) = old.tool(&req.name) else {
        return;
    };
    if decl.is_none_or(|d| pins::allows(d, &pinned.version))
        && let Ok(from_lock) = Request::from_locked(pinned, Path::new(""))
    {
        req.version = from_lock.version;
    }
}

/// Whether `latest` is newer than `version` (versions compared as versions where both parse).
fn is_behind(version: Option<&str>, latest: Option<&str>, source: &Source) -> bool {
    let (Some(version), Some(latest)) = (version, latest) else {
        return false;
    };
    if matches!(source, Source::Url { .. }) {
        return false;
    }
    use crate::resolve::catalog::Version;
    match (
        Version::parse_loose(&version_of_tag(version)),
        Version::parse_loose(&version_of_tag(latest)),
    ) {
        (Some(v), Some(l)) => l > v,
        _ => version_of_tag(version) != version_of_tag(latest),
    }
}
