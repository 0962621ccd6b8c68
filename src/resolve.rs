//! From what the user asked for (a SPEC, the lock file, `latest`) to concrete artifacts: the
//! release, the asset for a target, its canonical URL, the URL to fetch it from, and its hash.
//!
//! Hash sources, in order of trust: the lock file's pin; the cache index (recorded after a
//! verified download); the release's `checksums.txt`. With a lock file, `latest` and
//! `checksums.txt` are never requested.

use std::fmt;

use crate::cache::Cache;
use crate::catalog::{Repo, Target, Tool, Version};
use crate::error::{Error, UsageError};
use crate::http::{Http, HttpError};
use crate::lockfile::LockFile;
use crate::verify::{Checksums, VerifyError};

pub const GITHUB: &str = "https://github.com";
const MAX_CHECKSUMS: u64 = 1 << 20;

/// `TOOL[@VERSION]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub tool: Tool,
    pub version: Wanted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    Latest,
    /// No version given: the lock file's, else the latest.
    Any,
    Exact(Version),
}

impl Spec {
    pub fn parse(text: &str) -> Result<Spec, UsageError> {
        let bad = |reason: &str| UsageError::BadSpec {
            spec: text.to_string(),
            reason: reason.to_string(),
        };
        let (name, version) = match text.split_once('@') {
            Some((name, version)) => (name, Some(version)),
            None => (text, None),
        };
        if name.is_empty() {
            return Err(bad("the tool name is empty"));
        }
        let tool = Tool::parse(name)?;
        let version = match version {
            None => Wanted::Any,
            Some("latest") => Wanted::Latest,
            Some("") => return Err(bad("the version after `@` is empty")),
            Some(v) => Wanted::Exact(
                Version::parse(v).ok_or_else(|| bad("a version looks like 5.10.8 or v5.10.8"))?,
            ),
        };
        Ok(Spec { tool, version })
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Wanted::Any => write!(f, "{}", self.tool),
            Wanted::Latest => write!(f, "{}@latest", self.tool),
            Wanted::Exact(v) => write!(f, "{}@{v}", self.tool),
        }
    }
}

/// One downloadable file for one tool, version and target.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub tool: Tool,
    pub version: Version,
    pub target: Target,
    pub repo: Repo,
    pub tag: String,
    pub asset: String,
    /// Canonical `https://github.com/…` URL (what the lock file records).
    pub url: String,
    pub sha256: Option<String>,
    pub size: Option<u64>,
    /// Where the hash came from, for messages.
    pub pinned_by_lock: bool,
}

impl Artifact {
    pub fn new(tool: Tool, version: Version, target: Target) -> Artifact {
        let (repo, tag) = tool.release(&version);
        let asset = tool.asset(&version, target);
        let url = format!(
            "{GITHUB}/{}/{}/releases/download/{tag}/{asset}",
            repo.owner, repo.name
        );
        Artifact {
            tool,
            version,
            target,
            repo,
            tag,
            asset,
            url,
            sha256: None,
            size: None,
            pinned_by_lock: false,
        }
    }

    pub fn checksums_url(&self) -> String {
        format!(
            "{GITHUB}/{}/{}/releases/download/{}/checksums.txt",
            self.repo.owner, self.repo.name, self.tag
        )
    }

    pub fn bin_name(&self) -> String {
        self.tool.bin_name(self.target)
    }
}

/// Rewrites a canonical github.com URL onto the mirror.
pub fn mirrored(url: &str, mirror: &str) -> String {
    match url.strip_prefix(GITHUB) {
        Some(rest) => format!("{}{rest}", mirror.trim_end_matches('/')),
        None => url.to_string(),
    }
}

pub struct Resolver<'a> {
    pub http: &'a Http<'a>,
    pub cache: &'a Cache,
    pub mirror: &'a str,
    pub lock: Option<(&'a LockFile, &'a std::path::Path)>,
    pub offline: bool,
}

impl Resolver<'_> {
    /// The version a SPEC means, without touching the network when the lock file or (offline)
    /// the cache can answer.
    pub fn version(&self, spec: &Spec, target: Target) -> Result<Version, Error> {
        if let Some((lock, path)) = self.lock
            && let Some(pinned) = lock.tool(spec.tool.name())
        {
            let version = Version::parse(&pinned.version).ok_or_else(|| UsageError::BadLock {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("`{}` is not a version", pinned.version),
            })?;
            return match &spec.version {
                Wanted::Exact(v) if *v != version => Err(UsageError::Other(format!(
                    "`{spec}` asked, but the lock file `{}` pins {} {version}; run `hookstrap lock {spec}` to change the pin",
                    path.display(),
                    spec.tool
                ))
                .into()),
                _ => Ok(version),
            };
        }
        match &spec.version {
            Wanted::Exact(v) => Ok(v.clone()),
            Wanted::Latest | Wanted::Any => self.latest(spec.tool, target),
        }
    }

    fn latest(&self, tool: Tool, target: Target) -> Result<Version, Error> {
        let repo = tool.latest_repo();
        let url = format!(
            "{}/{}/{}/releases/latest",
            self.mirror.trim_end_matches('/'),
            repo.owner,
            repo.name
        );
        if self.offline && !url.starts_with("file:") {
            // Offline, `latest` is the newest release this cache holds for the target.
            return self
                .cache
                .entries()
                .into_iter()
                .filter(|e| e.tool == tool.name() && e.target == target.name())
                .filter_map(|e| Version::parse(&e.version))
                .filter(|v| !v.is_prerelease())
                .max()
                .ok_or_else(|| Error::Offline {
                    what: format!("{tool}@latest"),
                });
        }
        let tag = self.http.latest_tag(&url)?;
        let version = Version::parse(&tag).ok_or_else(|| HttpError::BadAnswer {
            url: url.clone(),
            reason: format!("`{tag}` is not a version"),
        })?;
        if version.is_prerelease() {
            return Err(HttpError::BadAnswer {
                url,
                reason: format!("`{tag}` is a prerelease, which is never latest"),
            }
            .into());
        }
        Ok(version)
    }

    /// The artifact for a SPEC on a target, with its hash when the lock file or the cache
    /// index knows it.
    pub fn artifact(&self, spec: &Spec, target: Target) -> Result<Artifact, Error> {
        let version = self.version(spec, target)?;
        let mut art = Artifact::new(spec.tool, version, target);
        if let Some((lock, path)) = self.lock
            && let Some(pinned) = lock.tool(spec.tool.name())
        {
            let locked = pinned
                .artifact(target.name())
                .ok_or_else(|| UsageError::LockMissing {
                    path: path.to_path_buf(),
                    tool: spec.tool.name().to_string(),
                    target: target.name().to_string(),
                })?;
            art.url = locked.url.clone();
            art.sha256 = Some(locked.sha256.clone());
            art.size = Some(locked.size);
            art.pinned_by_lock = true;
            return Ok(art);
        }
        if let Some(entry) =
            self.cache
                .lookup(spec.tool.name(), &art.version.to_string(), target.name())
            && entry.url == art.url
        {
            art.sha256 = Some(entry.sha256);
            art.size = Some(entry.size);
        }
        Ok(art)
    }

    /// Fills in the hash from the release's `checksums.txt` when nothing else knew it.
    pub fn ensure_hash(&self, art: &mut Artifact) -> Result<(), Error> {
        if art.sha256.is_some() {
            return Ok(());
        }
        let url = mirrored(&art.checksums_url(), self.mirror);
        let body = self
            .http
            .get_small(&url, MAX_CHECKSUMS)
            .map_err(|e| match e {
                HttpError::Offline { .. } => Error::Offline {
                    what: format!("{}@{}", art.tool, art.version),
                },
                // Real checksum files are a few KiB: a huge one is not a checksums file.
                HttpError::TooLarge { url, max } => VerifyError::TooLarge { url, max }.into(),
                other => other.into(),
            })?;
        let text = String::from_utf8_lossy(&body);
        let sums = Checksums::parse(&text, &url)?;
        art.sha256 = Some(sums.get(&art.asset, &url)?.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(
            Spec::parse("platform").unwrap(),
            Spec {
                tool: Tool::Platform,
                version: Wanted::Any
            }
        );
        assert_eq!(Spec::parse("upsun@latest").unwrap().version, Wanted::Latest);
        assert_eq!(
            Spec::parse("platform@v5.10.8").unwrap().version,
            Wanted::Exact(Version::new(5, 10, 8))
        );
        assert_eq!(
            Spec::parse("platform@5.10.8").unwrap(),
            Spec::parse("platform@v5.10.8").unwrap()
        );
        for bad in [
            "",
            "@5.10.8",
            "platform@",
            "platform@5.10",
            "platform@x",
            "nope",
            "nope@1.2.3",
            "Platform",
            "platform@5.10.8@1",
        ] {
            assert!(Spec::parse(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(Spec::parse("gh"), Err(UsageError::UnknownTool(_))));
    }

    #[test]
    fn urls_are_canonical_and_mirrorable() {
        let art = Artifact::new(Tool::Platform, Version::new(5, 10, 8), Target::LinuxAmd64);
        assert_eq!(
            art.url,
            "https://github.com/upsun/cli/releases/download/v5.10.8/platform_5.10.8_linux_amd64.tar.gz"
        );
        assert_eq!(
            art.checksums_url(),
            "https://github.com/upsun/cli/releases/download/v5.10.8/checksums.txt"
        );
        assert_eq!(
            mirrored(&art.url, "file:///srv/mirror/"),
            "file:///srv/mirror/upsun/cli/releases/download/v5.10.8/platform_5.10.8_linux_amd64.tar.gz"
        );
        let old = Artifact::new(Tool::Platform, Version::new(5, 9, 0), Target::LinuxAmd64);
        assert_eq!(
            old.url,
            "https://github.com/platformsh/cli/releases/download/5.9.0/platform_5.9.0_linux_amd64.tar.gz"
        );
    }
}
