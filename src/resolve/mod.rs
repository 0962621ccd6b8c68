//! From what the user asked for (a SPEC, the manifest, the lock file, `latest`) to concrete
//! artifacts: the release, the asset for a target, its canonical URL, and its hash.
//!
//! Hash sources, in order of trust: the lock file's pin; a `--sha256` or manifest pin; the
//! cache index (recorded after a verified download); what the release publishes (the CLI's
//! `checksums.txt`; for other GitHub tools the API's digest, a sidecar or a checksums file).
//! With a lock file, `latest`, the release API and checksum files are never requested. No hash
//! found and none pinned is a verification failure: nothing is ever installed unverified.

use std::fmt;
use std::path::Path;

pub mod assets;
pub mod catalog;
pub mod checksums;
pub mod feed;
pub mod github;
pub mod lockfile;
pub mod manifest;
pub mod pins;
pub mod spec;

use assets::Format;

use crate::cache::Cache;
use crate::diag::{Code, Diagnostic, FileError, FsError, Missing, Offline, UsageError};
use crate::http::{Http, HttpError};
use crate::verify::VerifyError;
use catalog::{Target, Tool, Version};
use checksums::Checksums;
use lockfile::{LockFile, LockedTool};
use manifest::{Source, ToolDecl};
pub use spec::{AnySpec, Spec, Wanted, parse_any_spec};

pub const GITHUB: &str = "https://github.com";

/// Why a request could not be turned into an artifact with a hash.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    Manifest(#[from] FileError<manifest::ManifestError>),
    #[error(transparent)]
    LockFile(#[from] FileError<UsageError>),
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error(transparent)]
    Offline(#[from] Offline),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Choose(#[from] assets::ChooseError),
    #[error(transparent)]
    NoHash(#[from] checksums::NoHashError),
    #[error(transparent)]
    Missing(Box<Missing>),
    #[error("`{what}` has no pinned SHA-256, and a URL publishes none")]
    Unpinned { what: String },
    /// `min_release_age`: every release the feed lists is younger than that.
    #[error("no release of {repo} is older than {age} (min_release_age)")]
    TooNew { repo: String, age: String },
    /// `latest` could not be asked: every unlocked build depends on that request.
    #[error("cannot find the latest release of {repo}")]
    Latest {
        repo: String,
        #[source]
        source: HttpError,
    },
}

impl ResolveError {
    fn inner(&self) -> Option<&dyn Diagnostic> {
        Some(match self {
            ResolveError::Usage(e) => e,
            ResolveError::Manifest(e) => e,
            ResolveError::LockFile(e) => e,
            ResolveError::Fs(e) => e,
            ResolveError::Offline(e) => e,
            ResolveError::Http(e) => e,
            ResolveError::Verify(e) => e,
            ResolveError::Choose(e) => e,
            ResolveError::NoHash(e) => e,
            ResolveError::Latest { source, .. } => source,
            ResolveError::Missing(e) => e.as_ref(),
            ResolveError::Unpinned { .. } | ResolveError::TooNew { .. } => return None,
        })
    }
}

impl From<Missing> for ResolveError {
    fn from(e: Missing) -> Self {
        ResolveError::Missing(Box::new(e))
    }
}

impl Diagnostic for ResolveError {
    fn code(&self) -> Code {
        match self {
            ResolveError::TooNew { .. } => Code::NotFound,
            _ => self.inner().map_or(Code::Verify, Diagnostic::code),
        }
    }

    fn hint(&self) -> Option<String> {
        if let ResolveError::TooNew { .. } = self {
            return Some(
                "wait, lower `min_release_age` (or `--min-release-age`), or pin a version".into(),
            );
        }
        if let ResolveError::Latest { .. } = self {
            return Some(
                "pin versions with `hookstrap lock` and commit hookstrap.lock: a locked build asks for no `latest`, and needs no network once the cache is warm"
                    .into(),
            );
        }
        match self.inner() {
            Some(inner) => inner.hint(),
            None => Some(
                "refusing to install it unverified: pass `--sha256 HEX`, set `sha256` in hookstrap.toml, or pin it in the lock file"
                    .into(),
            ),
        }
    }
}
const MAX_CHECKSUMS: u64 = 1 << 20;

/// One tool to resolve, whatever asked for it (a SPEC, the manifest, the lock file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The name the receipt, the lock file and the cache know it by.
    pub name: String,
    pub source: Source,
    /// A version or tag; `None` means the lock file's pin, else the latest release.
    pub version: Option<String>,
    /// The command's name in the bin dir.
    pub bin: String,
    /// Whether `bin` was given (manifest, `--bin`, lock file); else the command keeps the name
    /// of the program the archive holds.
    pub bin_explicit: bool,
    /// A `*` pattern that picks the GitHub release asset.
    pub asset: Option<String>,
    /// A hash pinned by `--sha256` or the manifest.
    pub sha256: Option<String>,
    /// `@latest` was asked in so many words (under a lock file, that is a request to move the
    /// pin, refused with a hint to `lock --upgrade`).
    pub latest: bool,
}

impl Request {
    pub fn from_spec(spec: &AnySpec) -> Request {
        let name = spec.name();
        let (source, version) = match spec {
            AnySpec::Cli(spec) => (
                Source::Cli(spec.tool),
                match &spec.version {
                    Wanted::Exact(v) => Some(v.to_string()),
                    Wanted::Latest | Wanted::Any => None,
                },
            ),
            AnySpec::GitHub { owner, repo, tag } => (
                Source::GitHub {
                    owner: owner.clone(),
                    repo: repo.clone(),
                },
                tag.clone(),
            ),
            AnySpec::Url { url } => (Source::Url { url: url.clone() }, None),
        };
        let latest = matches!(
            spec,
            AnySpec::Cli(Spec {
                version: Wanted::Latest,
                ..
            })
        );
        // The catalog's CLI is always its own name; other tools keep their program's name.
        let bin_explicit = matches!(source, Source::Cli(_));
        Request {
            bin: name.clone(),
            name,
            source,
            version,
            asset: None,
            sha256: None,
            latest,
            bin_explicit,
        }
    }

    pub fn from_decl(decl: &ToolDecl) -> Request {
        Request {
            name: decl.name.clone(),
            source: decl.source.clone(),
            version: decl.version.clone().filter(|v| v != "latest"),
            bin: decl.command().to_string(),
            bin_explicit: decl.bin.is_some() || matches!(decl.source, Source::Cli(_)),
            asset: decl.asset.clone(),
            sha256: decl.sha256.clone(),
            latest: false,
        }
    }

    /// A tool as the lock file records it (its `source` says where a non-catalog tool is from).
    pub fn from_locked(tool: &LockedTool, path: &Path) -> Result<Request, UsageError> {
        let bad = |message: String| UsageError::BadLock {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message,
        };
        let source = match tool.source.as_deref() {
            None => Source::Cli(
                Tool::parse(&tool.name)
                    .map_err(|_| bad(format!("unknown tool `{}` without a `source`", tool.name)))?,
            ),
            Some(text) => {
                match parse_any_spec(text).map_err(|e| bad(format!("tool `{}`: {e}", tool.name)))? {
                    AnySpec::Cli(spec) => Source::Cli(spec.tool),
                    AnySpec::GitHub { owner, repo, .. } => Source::GitHub { owner, repo },
                    AnySpec::Url { url } => Source::Url { url },
                }
            }
        };
        // A GitHub release's exact tag is in its canonical URL: re-pinning must ask for that tag
        // (`v2.63.0`), not the version the lock shows (`2.63.0`).
        let version = match &source {
            Source::GitHub { .. } => tool
                .artifacts
                .iter()
                .map(|a| release_parts(&a.url).2)
                .find(|tag| !tag.is_empty())
                .unwrap_or_else(|| tool.version.clone()),
            _ => tool.version.clone(),
        };
        Ok(Request {
            name: tool.name.clone(),
            source,
            version: Some(version),
            bin: tool.bin.clone().unwrap_or_else(|| tool.name.clone()),
            // The lock file records the command's name once `lock` has found it.
            bin_explicit: true,
            asset: None,
            sha256: None,
            latest: false,
        })
    }

    /// What the lock file records as `source` (nothing for catalog tools).
    pub fn source_text(&self) -> Option<String> {
        match &self.source {
            Source::Cli(_) => None,
            Source::GitHub { owner, repo } => Some(format!("github:{owner}/{repo}")),
            Source::Url { url } => Some(format!("url:{url}")),
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}@{v}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// Where one tool's file for one version and target lives, before its hash is known.
#[derive(Debug, Clone)]
pub struct Location {
    pub name: String,
    /// The version, without a leading `v`.
    pub version: String,
    pub target: Target,
    /// The GitHub release it belongs to (empty for `url:` tools).
    pub owner: String,
    pub repo: String,
    pub tag: String,
    pub asset: String,
    /// Canonical URL (what the lock file records): `https://github.com/…` for releases.
    pub url: String,
    pub format: Format,
    /// The command's name in the bin dir (without `.exe`).
    pub bin: String,
    /// Whether `bin` was given; else the command keeps the name of the program found.
    pub bin_explicit: bool,
    /// Whether the binary must sit at the archive's root (the Platform.sh CLI's layout), or
    /// may be found anywhere in it by name.
    pub at_root: bool,
    /// When the release was published, where its feed said (recorded in the cache's index, for
    /// mirrors' `releases.atom`).
    pub published: Option<std::time::SystemTime>,
}

impl Location {
    /// The Platform.sh / Upsun CLI.
    pub fn cli(tool: Tool, version: &Version, target: Target) -> Location {
        let (repo, tag) = tool.release(version);
        let asset = tool.asset(version, target);
        Location {
            name: tool.name().to_string(),
            version: version.to_string(),
            target,
            owner: repo.owner.to_string(),
            repo: repo.name.to_string(),
            url: release_url(repo.owner, repo.name, &tag, &asset),
            format: Format::from_asset_name(&asset).unwrap_or(Format::TarGz),
            tag,
            asset,
            bin: tool.name().to_string(),
            bin_explicit: true,
            at_root: true,
            published: None,
        }
    }

    /// A GitHub release asset.
    fn github(
        req: &Request,
        owner: &str,
        repo: &str,
        tag: &str,
        asset: String,
        target: Target,
    ) -> Result<Location, ResolveError> {
        // The tag and the asset name come from release listings: untrusted, and both reach
        // the file system (a file:// mirror, the cache's index, a mirror export).
        for (what, name) in [("tag", tag), ("asset", asset.as_str())] {
            crate::names::check(name).map_err(|reason| UsageError::BadValue {
                name: format!("the release's {what}"),
                value: name.escape_debug().to_string(),
                reason,
            })?;
        }
        let format = Format::from_asset_name(&asset).ok_or_else(|| {
            UsageError::Other(format!(
                "`{asset}` is not an archive or binary hookstrap can install"
            ))
        })?;
        Ok(Location {
            name: req.name.clone(),
            version: version_of_tag(tag),
            target,
            owner: owner.to_string(),
            repo: repo.to_string(),
            tag: tag.to_string(),
            url: release_url(owner, repo, tag, &asset),
            asset,
            format,
            bin: req.bin.clone(),
            bin_explicit: req.bin_explicit,
            at_root: false,
            published: None,
        })
    }

    /// The artifact a cache index entry describes, with `bin_name` its binary (for checking a
    /// kept copy against its archive); `None` if the entry names no installable asset.
    pub fn from_index(entry: &crate::cache::IndexEntry, bin_name: &str) -> Option<Artifact> {
        let target = Target::parse(&entry.target).ok()?;
        let format = Format::from_asset_name(&entry.asset)?;
        let bin = bin_name
            .strip_suffix(".exe")
            .unwrap_or(bin_name)
            .to_string();
        let loc = Location {
            name: entry.tool.clone(),
            version: entry.version.clone(),
            target,
            owner: entry.owner.clone(),
            repo: entry.repo.clone(),
            tag: entry.tag.clone(),
            asset: entry.asset.clone(),
            url: entry.url.clone(),
            format,
            bin,
            bin_explicit: true,
            // Found by name anywhere: the CLI's binary at the root is found that way too.
            at_root: false,
            published: None,
        };
        Some(loc.with_hash(entry.sha256.clone(), Some(entry.size), Anchor::CacheOnly))
    }

    /// The SPEC and target that `hookstrap fetch` takes to get this file (for hints):
    /// `platform@5.10.8 --target linux_amd64`, `github:cli/cli@v2.63.0 --target …`.
    pub fn fetch_spec(&self) -> String {
        let spec = if self.at_root || self.owner.is_empty() {
            format!("{}@{}", self.name, self.version)
        } else {
            format!("github:{}/{}@{}", self.owner, self.repo, self.tag)
        };
        format!("{spec} --target {}", self.target)
    }

    pub fn checksums_url(&self) -> String {
        release_url(&self.owner, &self.repo, &self.tag, "checksums.txt")
    }

    /// The file name in the bin dir.
    pub fn bin_name(&self) -> String {
        match self.target {
            Target::WindowsAmd64 => format!("{}.exe", self.bin),
            _ => self.bin.clone(),
        }
    }

    /// The artifact, now that its hash is known, and what vouches for that hash.
    pub fn with_hash(self, sha256: String, size: Option<u64>, anchor: Anchor) -> Artifact {
        Artifact {
            location: self,
            sha256,
            size,
            anchor,
            bin_blake3: None,
        }
    }
}

/// What vouches for an artifact's hash (SPEC.md, "Trust"). Bytes are placed only once they
/// match an anchor that does not live in the shared cache; the cache index is a hint, and
/// only `--offline` without a lock falls back to it ([`Anchor::CacheOnly`], said in a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// The lock file's pin (committed, reviewed).
    Lock(std::path::PathBuf),
    /// `--sha256 HEX` or `sha256` in hookstrap.toml.
    Pinned,
    /// What the release publishes, fetched in this run from this URL.
    Published(String),
    /// Nothing but the cache's own index: `--offline` without a lock.
    CacheOnly,
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anchor::Lock(path) => write!(f, "the lock file `{}`", path.display()),
            Anchor::Pinned => f.write_str("a pinned hash (--sha256 or hookstrap.toml)"),
            Anchor::Published(url) => write!(f, "`{}`", crate::http::redact(url)),
            Anchor::CacheOnly => f.write_str("the cache alone (offline, no lock file)"),
        }
    }
}

/// One downloadable file for one tool, version and target, with the SHA-256 it must hash to.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub location: Location,
    pub sha256: String,
    pub size: Option<u64>,
    pub anchor: Anchor,
    /// The installed binary's BLAKE3, where the lock file pins it: then a copy of the binary
    /// kept in the cache may be placed once it hashes to this.
    pub bin_blake3: Option<String>,
}

impl std::ops::Deref for Artifact {
    type Target = Location;

    fn deref(&self) -> &Location {
        &self.location
    }
}

/// `https://github.com/{owner}/{repo}/releases/download/{tag}/{asset}`.
pub fn release_url(owner: &str, repo: &str, tag: &str, asset: &str) -> String {
    format!("{GITHUB}/{owner}/{repo}/releases/download/{tag}/{asset}")
}

/// The last path segment of a URL: the asset's file name.
fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path).to_string()
}

/// Rewrites a canonical github.com URL onto the mirror.
pub fn mirrored(url: &str, mirror: &str) -> String {
    match url
        .strip_prefix(GITHUB)
        .filter(|rest| rest.starts_with('/'))
    {
        Some(rest) => format!("{}{rest}", mirror.trim_end_matches('/')),
        None => url.to_string(),
    }
}

/// Owner, repository and tag of a canonical release URL (empty for any other URL), for the
/// cache index and mirrors.
fn release_parts(url: &str) -> (String, String, String) {
    let parts: Vec<&str> = url
        .strip_prefix(GITHUB)
        .filter(|rest| rest.starts_with('/'))
        .map(|rest| rest.trim_start_matches('/').split('/').collect())
        .unwrap_or_default();
    match parts.as_slice() {
        [o, r, "releases", "download", t, _] => (o.to_string(), r.to_string(), t.to_string()),
        _ => Default::default(),
    }
}

/// The same tag with its `v` added or dropped (`2.63.0` ⇄ `v2.63.0`), for a tag given without
/// the `v` the release has, or with one it has not.
fn other_tag(tag: &str) -> Option<String> {
    match tag.strip_prefix('v') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => Some(rest.to_string()),
        Some(_) => None,
        None if tag.starts_with(|c: char| c.is_ascii_digit()) => Some(format!("v{tag}")),
        None => None,
    }
}

/// `v2.63.0` → `2.63.0`; other tags as they are.
pub(crate) fn version_of_tag(tag: &str) -> String {
    match tag.strip_prefix('v') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest.to_string(),
        _ => tag.to_string(),
    }
}

pub struct Resolver<'a> {
    pub http: &'a Http<'a>,
    pub cache: &'a Cache,
    pub mirror: &'a str,
    pub lock: Option<(&'a LockFile, &'a Path)>,
    /// `min_release_age`: `latest` is the newest release at least this old.
    pub min_age: Option<std::time::Duration>,
    /// When releases were published, as their feeds said (`owner/repo/tag` → time).
    pub published: std::sync::Mutex<std::collections::BTreeMap<String, std::time::SystemTime>>,
}

impl Resolver<'_> {
    /// The mirror in use, credentials hidden; `None` for github.com itself.
    fn mirror_shown(&self) -> Option<String> {
        (self.mirror.trim_end_matches('/') != GITHUB).then(|| crate::http::redact(self.mirror))
    }

    /// Whether the mirror says it does not hold `loc`'s asset: `hookstrap mirror` writes each
    /// release's listing (GitHub Enterprise's API path) with the assets it holds. Only that
    /// small listing is read, never the asset itself: nothing unverifiable is fetched. No
    /// listing, or one that names the asset: `false`.
    fn mirror_lacks(&self, loc: &Location) -> bool {
        let api = github::api_url(self.mirror, &loc.owner, &loc.repo, &loc.tag);
        self.http
            .get_small(&api, MAX_CHECKSUMS)
            .ok()
            .and_then(|body| github::Release::parse(&String::from_utf8_lossy(&body)).ok())
            .is_some_and(|release| !release.assets.iter().any(|a| a.name == loc.asset))
    }

    /// A 404 for something of the release `owner/repo` `tag` as what it means: that release
    /// (or `asset` of it) is missing, on GitHub or on the mirror. Other errors pass.
    fn missing(
        &self,
        err: ResolveError,
        (owner, repo, tag): (&str, &str, &str),
        asset: Option<&str>,
        fetch: &str,
    ) -> ResolveError {
        match err {
            ResolveError::Http(e @ (HttpError::NotFound { .. } | HttpError::FileNotFound(_))) => {
                Missing {
                    repo: format!("{owner}/{repo}"),
                    tag: tag.to_string(),
                    asset: asset.map(str::to_string),
                    mirror: self.mirror_shown(),
                    fetch: fetch.to_string(),
                    source: Box::new(e),
                }
                .into()
            }
            other => other,
        }
    }

    /// The artifact for a request on a target, with its hash: from the lock file, a pin, the
    /// cache index, or what the release publishes (in that order).
    pub fn resolve(&self, req: &Request, target: Target) -> Result<Artifact, ResolveError> {
        if let Some((lock, path)) = self.lock
            && let Some(pinned) = lock.tool(&req.name)
        {
            return self.pinned(req, pinned, path, target);
        }
        match &req.source {
            Source::Cli(tool) => self.cli(req, *tool, target),
            Source::GitHub { owner, repo } => self.github(req, owner, repo, target),
            Source::Url { url } => self.url(req, url, target),
        }
    }

    /// The Platform.sh / Upsun CLI: a version asked for, else `latest`; its hash pinned, else
    /// from the cache index, else from the release's `checksums.txt`.
    fn cli(&self, req: &Request, tool: Tool, target: Target) -> Result<Artifact, ResolveError> {
        let version = match &req.version {
            Some(v) => Version::parse(v).ok_or_else(|| UsageError::BadSpec {
                spec: req.to_string(),
                reason: "a version looks like 5.10.8 or v5.10.8".into(),
            })?,
            None => self.latest_cli(tool, target)?,
        };
        let mut loc = Location::cli(tool, &version, target);
        loc.published = self.published_at(&loc.owner, &loc.repo, &loc.tag);
        loc.name = req.name.clone();
        loc.bin = req.bin.clone();
        loc.bin_explicit = req.bin_explicit;
        if let Some(sha) = &req.sha256 {
            return Ok(loc.with_hash(sha.clone(), None, Anchor::Pinned));
        }
        let url = mirrored(&loc.checksums_url(), self.mirror);
        if self.http.refuses_offline(&url) {
            return self.offline_from_index(loc);
        }
        let sha = self.cli_checksum(&loc, &url)?;
        Ok(loc.with_hash(sha, None, Anchor::Published(url)))
    }

    /// The artifact exactly as the lock file pins it.
    fn pinned(
        &self,
        req: &Request,
        pinned: &LockedTool,
        path: &Path,
        target: Target,
    ) -> Result<Artifact, ResolveError> {
        let other = req
            .version
            .as_ref()
            .is_some_and(|asked| version_of_tag(asked) != version_of_tag(&pinned.version));
        if req.latest || other {
            let asked = if req.latest {
                format!("{}@latest", req.name)
            } else {
                req.to_string()
            };
            return Err(UsageError::PinConflict {
                asked,
                path: path.to_path_buf(),
                tool: req.name.clone(),
                pinned: pinned.version.clone(),
            }
            .into());
        }
        let locked = pinned
            .artifact(target.name())
            .ok_or_else(|| UsageError::LockMissing {
                path: path.to_path_buf(),
                tool: req.name.clone(),
                target: target.name().to_string(),
            })?;
        let asset = file_name(&locked.url);
        let format = Format::from_asset_name(&asset).ok_or_else(|| UsageError::BadLock {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: format!(
                "`{}` is not an archive or binary hookstrap can install",
                locked.url
            ),
        })?;
        let (owner, repo, tag) = release_parts(&locked.url);
        let loc = Location {
            name: req.name.clone(),
            version: version_of_tag(&pinned.version),
            target,
            owner,
            repo,
            tag,
            asset,
            url: locked.url.clone(),
            format,
            bin: req.bin.clone(),
            bin_explicit: req.bin_explicit,
            at_root: matches!(req.source, Source::Cli(_)),
            published: None,
        };
        let mut art = loc.with_hash(
            locked.sha256.clone(),
            Some(locked.size),
            Anchor::Lock(path.to_path_buf()),
        );
        art.bin_blake3 = locked.bin_blake3.clone();
        Ok(art)
    }

    /// The newest release tag of a repository, or offline the newest version the cache holds.
    fn latest_tag(
        &self,
        owner: &str,
        repo: &str,
        name: &str,
        target: Target,
    ) -> Result<String, ResolveError> {
        let url = format!(
            "{}/{owner}/{repo}/releases/latest",
            self.mirror.trim_end_matches('/')
        );
        if let Some(age) = self.min_age {
            return self.latest_aged(owner, repo, name, target, age);
        }
        if self.http.refuses_offline(&url) {
            return self
                .cache
                .entries()
                .into_iter()
                .filter(|e| e.tool == name && e.target == target.name() && !e.tag.is_empty())
                .filter_map(|e| Some((Version::parse_loose(&e.version)?, e.tag)))
                .filter(|(v, _)| !v.is_prerelease())
                .max()
                .map(|(_, tag)| tag)
                .ok_or_else(|| {
                    Offline {
                        what: format!("{name}@latest"),
                    }
                    .into()
                });
        }
        let tag = self.http.latest_tag(&url).map_err(|e| {
            let spec = match Tool::parse(name) {
                Ok(_) => format!("{name}@latest"),
                Err(_) => format!("github:{owner}/{repo}"),
            };
            let fetch = format!("{spec} --target {target}");
            // Not there is a missing release; anything else is `latest` that cannot be asked,
            // which every unlocked build depends on (the hint says to lock).
            match self.missing(e.into(), (owner, repo, "latest"), None, &fetch) {
                ResolveError::Http(source) => ResolveError::Latest {
                    repo: format!("{owner}/{repo}"),
                    source,
                },
                other => other,
            }
        })?;
        if Version::parse(&tag).is_some_and(|v| v.is_prerelease()) {
            return Err(HttpError::BadAnswer {
                url: crate::http::redact(&url),
                reason: format!("`{tag}` is a prerelease, which is never latest"),
            }
            .into());
        }
        Ok(tag)
    }

    /// The newest non-prerelease at least `age` old: from the repository's release feed
    /// (`releases.atom`, no rate-limited API), or offline from the times the cache recorded.
    fn latest_aged(
        &self,
        owner: &str,
        repo: &str,
        name: &str,
        target: Target,
        age: std::time::Duration,
    ) -> Result<String, ResolveError> {
        let now = std::time::SystemTime::now();
        let url = format!(
            "{}/{owner}/{repo}/releases.atom",
            self.mirror.trim_end_matches('/')
        );
        let releases: Vec<feed::Published> = if self.http.refuses_offline(&url) {
            self.cache
                .entries()
                .into_iter()
                .filter(|e| e.tool == name && e.target == target.name() && !e.tag.is_empty())
                .map(|e| feed::Published {
                    at: e.published.as_deref().and_then(feed::parse_time),
                    tag: e.tag,
                })
                .collect()
        } else {
            let body = self
                .small(&url, &format!("{name}@latest"))
                .map_err(|e| match e {
                    ResolveError::Http(source) => ResolveError::Latest {
                        repo: format!("{owner}/{repo}"),
                        source,
                    },
                    other => other,
                })?;
            feed::parse(&String::from_utf8_lossy(&body))
        };
        let newest = releases
            .into_iter()
            .filter(|r| feed::old_enough(r.at, age, now))
            .filter_map(|r| Some((Version::parse_loose(&version_of_tag(&r.tag))?, r)))
            .filter(|(v, _)| !v.is_prerelease())
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, r)| r)
            .ok_or_else(|| ResolveError::TooNew {
                repo: format!("{owner}/{repo}"),
                age: humantime::format_duration(age).to_string(),
            })?;
        if let (Ok(mut map), Some(at)) = (self.published.lock(), newest.at) {
            map.insert(format!("{owner}/{repo}/{}", newest.tag), at);
        }
        Ok(newest.tag)
    }

    /// When `owner/repo`'s release `tag` was published, if its feed said.
    fn published_at(&self, owner: &str, repo: &str, tag: &str) -> Option<std::time::SystemTime> {
        self.published
            .lock()
            .ok()?
            .get(&format!("{owner}/{repo}/{tag}"))
            .copied()
    }

    /// The newest release of what `req` names (its version, without `v`), as `latest` says;
    /// `None` for a `url:` tool, which has no releases.
    pub fn newest(&self, req: &Request, target: Target) -> Result<Option<String>, ResolveError> {
        Ok(match &req.source {
            Source::Cli(tool) => Some(self.latest_cli(*tool, target)?.to_string()),
            Source::GitHub { owner, repo } => Some(version_of_tag(
                &self.latest_tag(owner, repo, &req.name, target)?,
            )),
            Source::Url { .. } => None,
        })
    }

    fn latest_cli(&self, tool: Tool, target: Target) -> Result<Version, ResolveError> {
        let repo = tool.latest_repo();
        let tag = self.latest_tag(repo.owner, repo.name, tool.name(), target)?;
        Version::parse(&tag).ok_or_else(|| {
            HttpError::BadAnswer {
                url: crate::http::redact(&format!(
                    "{}/{}/{}/releases/latest",
                    self.mirror, repo.owner, repo.name
                )),
                reason: format!("`{tag}` is not a version"),
            }
            .into()
        })
    }

    /// Offline without a lock: the hash the cache's index recorded for this very location,
    /// the only thing left to go on (the caller warns that nothing else vouches for it).
    fn offline_from_index(&self, loc: Location) -> Result<Artifact, ResolveError> {
        match self
            .cache
            .lookup(&loc.name, &loc.version, loc.target.name())
        {
            Some(entry) if entry.url == loc.url => {
                Ok(loc.with_hash(entry.sha256, Some(entry.size), Anchor::CacheOnly))
            }
            _ => Err(Offline {
                what: format!("{}@{} --target {}", loc.name, loc.version, loc.target),
            }
            .into()),
        }
    }

    /// The CLI's hash from its release's `checksums.txt` at `url`.
    fn cli_checksum(&self, loc: &Location, url: &str) -> Result<String, ResolveError> {
        let what = loc.fetch_spec();
        let release = (loc.owner.as_str(), loc.repo.as_str(), loc.tag.as_str());
        let body = self
            .small(url, &what)
            .map_err(|e| self.missing(e, release, None, &what))?;
        let text = String::from_utf8_lossy(&body);
        // Messages name the file without the mirror's credentials.
        let shown = crate::http::redact(url);
        let sums = Checksums::parse(&text, &shown)?;
        match sums.get(&loc.asset, &shown) {
            Ok(sha) => Ok(sha.to_string()),
            // A mirror made by `hookstrap mirror` lists in checksums.txt only what it holds:
            // when its release listing says the asset is not there, the mirror lacks it, and
            // the release may well publish its hash. Anything else without a line stays a
            // verification failure.
            Err(e @ VerifyError::MissingLine { .. })
                if self.mirror_shown().is_some() && !sums.is_empty() && self.mirror_lacks(loc) =>
            {
                Err(Missing {
                    repo: format!("{}/{}", loc.owner, loc.repo),
                    tag: loc.tag.clone(),
                    asset: Some(loc.asset.clone()),
                    mirror: self.mirror_shown(),
                    fetch: what,
                    source: Box::new(e),
                }
                .into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A small published file (checksums, release JSON), with offline and size failures
    /// mapped to what they mean here.
    fn small(&self, url: &str, what: &str) -> Result<Vec<u8>, ResolveError> {
        self.http
            .get_small(url, MAX_CHECKSUMS)
            .map_err(|e| match e {
                HttpError::Offline { .. } => Offline {
                    what: what.to_string(),
                }
                .into(),
                // Real checksum files are a few KiB: a huge one is not a checksums file.
                HttpError::TooLarge { url, max } => VerifyError::TooLarge { url, max }.into(),
                other => other.into(),
            })
    }

    /// Any GitHub release: the asset picked by name for the target, its hash from what the
    /// release publishes.
    fn github(
        &self,
        req: &Request,
        owner: &str,
        repo: &str,
        target: Target,
    ) -> Result<Artifact, ResolveError> {
        let tag = match &req.version {
            Some(tag) => tag.clone(),
            None => self.latest_tag(owner, repo, &req.name, target)?,
        };
        let api = github::api_url(self.mirror, owner, repo, &tag);
        let what = format!("github:{owner}/{repo}@{tag} --target {target}");
        // Offline, a release this cache has seen is all there is to go on.
        if self.http.refuses_offline(&api) {
            return self.github_offline(req, owner, repo, &tag, target);
        }
        let (tag, api, release) = match self.github_release(&api, &what) {
            Err(ResolveError::Http(HttpError::NotFound { .. })) if req.version.is_some() => {
                // `@2.63.0` for a release tagged `v2.63.0` (or the reverse): the tag that exists.
                let Some(other) = other_tag(&tag) else {
                    return Err(self.missing(
                        self.no_release(owner, repo, &tag),
                        (owner, repo, &tag),
                        None,
                        &what,
                    ));
                };
                let other_api = github::api_url(self.mirror, owner, repo, &other);
                match self.github_release(&other_api, &what) {
                    Ok(release) => (other, other_api, release),
                    Err(ResolveError::Http(HttpError::NotFound { .. })) => {
                        return Err(self.missing(
                            self.no_release(owner, repo, &tag),
                            (owner, repo, &tag),
                            None,
                            &what,
                        ));
                    }
                    Err(e) => return Err(e),
                }
            }
            other => (
                tag.clone(),
                api.clone(),
                other.map_err(|e| self.missing(e, (owner, repo, &tag), None, &what))?,
            ),
        };
        let asset = assets::choose_asset(&release.assets, target, req.asset.as_deref(), &req.bin)?;
        let mut loc = Location::github(req, owner, repo, &tag, asset.name.clone(), target)?;
        loc.published = self.published_at(owner, repo, &tag);
        let size = (asset.size > 0).then_some(asset.size);
        if let Some(sha) = &req.sha256 {
            return Ok(loc.with_hash(sha.clone(), size, Anchor::Pinned));
        }
        let (sha, from) = self.published_hash(&release, asset, &loc, &what, &api)?;
        Ok(loc.with_hash(sha, size, Anchor::Published(from)))
    }

    fn no_release(&self, owner: &str, repo: &str, tag: &str) -> ResolveError {
        HttpError::NotFound {
            url: crate::http::redact(&github::api_url(self.mirror, owner, repo, tag)),
            status: 404,
        }
        .into()
    }

    /// The release's asset list, from the API (or the mirror's copy of it) at `api`.
    fn github_release(&self, api: &str, what: &str) -> Result<github::Release, ResolveError> {
        let body = self.small(api, what)?;
        github::Release::parse(&String::from_utf8_lossy(&body)).map_err(|e| {
            HttpError::BadAnswer {
                url: crate::http::redact(api),
                reason: format!("not a GitHub release ({e})"),
            }
            .into()
        })
    }

    /// The asset's hash from the first source the release publishes that lists it, with the
    /// URL it came from (the listing `api` itself for a digest); none is
    /// [`checksums::NoHashError`].
    fn published_hash(
        &self,
        release: &github::Release,
        asset: &github::Asset,
        loc: &Location,
        what: &str,
        api: &str,
    ) -> Result<(String, String), ResolveError> {
        for source in checksums::hash_sources(release, asset) {
            let mut texts = Vec::new();
            let mut urls = Vec::new();
            for file in source.files() {
                let url = release_url(&loc.owner, &loc.repo, &loc.tag, &file.name);
                let url = mirrored(&url, self.mirror);
                texts.push(String::from_utf8_lossy(&self.small(&url, what)?).into_owned());
                urls.push(url);
            }
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            let from = urls.into_iter().next().unwrap_or_else(|| api.to_string());
            match source.lookup(&texts, &asset.name) {
                Ok(sha) => return Ok((sha, from)),
                Err(VerifyError::MissingLine { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(checksums::NoHashError {
            owner: loc.owner.clone(),
            repo: loc.repo.clone(),
            tag: loc.tag.clone(),
            asset: asset.name.clone(),
        }
        .into())
    }

    /// A file anywhere: trusted only through a pinned hash.
    fn url(&self, req: &Request, url: &str, target: Target) -> Result<Artifact, ResolveError> {
        let asset = file_name(url);
        let format = Format::from_asset_name(&asset).ok_or_else(|| UsageError::BadSpec {
            spec: format!("url:{url}"),
            reason: format!("`{asset}` is not an archive or binary hookstrap can install"),
        })?;
        let sha256 = req.sha256.clone().ok_or_else(|| ResolveError::Unpinned {
            what: format!("url:{url}"),
        })?;
        let loc = Location {
            name: req.name.clone(),
            // A URL names no version: the content's hash stands in for one.
            version: format!("sha256-{}", &sha256[..12]),
            target,
            owner: String::new(),
            repo: String::new(),
            tag: String::new(),
            asset,
            url: url.to_string(),
            format,
            bin: req.bin.clone(),
            bin_explicit: req.bin_explicit,
            at_root: false,
            published: None,
        };
        Ok(loc.with_hash(sha256, None, Anchor::Pinned))
    }

    /// `--offline`, no lock: the release as the cache's index knows it.
    fn github_offline(
        &self,
        req: &Request,
        owner: &str,
        repo: &str,
        tag: &str,
        target: Target,
    ) -> Result<Artifact, ResolveError> {
        let entry = self
            .cache
            .lookup(&req.name, &version_of_tag(tag), target.name())
            .filter(|e| e.owner == owner && e.repo == repo)
            .filter(|e| {
                req.asset
                    .as_deref()
                    .is_none_or(|p| assets::glob_match(p, &e.asset))
            })
            .ok_or_else(|| Offline {
                what: format!("github:{owner}/{repo}@{tag} --target {target}"),
            })?;
        let loc = Location::github(req, owner, repo, tag, entry.asset, target)?;
        match &req.sha256 {
            Some(sha) => Ok(loc.with_hash(sha.clone(), entry.size.into(), Anchor::Pinned)),
            None => self.offline_from_index(loc),
        }
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
        let art = Location::cli(Tool::Platform, &Version::new(5, 10, 8), Target::LinuxAmd64);
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
        let old = Location::cli(Tool::Platform, &Version::new(5, 9, 0), Target::LinuxAmd64);
        assert_eq!(
            old.url,
            "https://github.com/platformsh/cli/releases/download/5.9.0/platform_5.9.0_linux_amd64.tar.gz"
        );
    }

    #[test]
    fn mirrors_rewrite_only_the_canonical_github_form() {
        let m = "https://mirror.example/gh";
        assert_eq!(
            mirrored("https://github.com/o/r/releases/download/v1/a.tar.gz", m),
            "https://mirror.example/gh/o/r/releases/download/v1/a.tar.gz"
        );
        for other in [
            "https://github.com.evil.example/o/r/releases/download/v1/a.tar.gz",
            "https://github.company/o/r/a.tar.gz",
            "https://example.com/github.com/a.tar.gz",
        ] {
            assert_eq!(mirrored(other, m), other);
        }
    }
}
