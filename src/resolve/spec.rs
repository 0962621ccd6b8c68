//! The whole SPEC grammar (SPEC.md, "Other released tools"): `TOOL[@VERSION]` for the tools
//! hookstrap knows by name (parsed by [`crate::resolve::Spec`]), `github:OWNER/REPO[@TAG]` for
//! any GitHub release, and `url:URL` for a file anywhere (its hash pinned by `--sha256` or the
//! lock file). Also the value checks the manifest shares with it.

use std::fmt;
use std::net::IpAddr;

use crate::diag::UsageError;
use crate::resolve::assets::Format;
use crate::resolve::catalog::{Tool, Version};

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

/// Any SPEC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnySpec {
    /// `platform`, `upsun@5.10.8`, `platform@latest`.
    Cli(Spec),
    /// `github:cli/cli@v2.63.0`; no tag (or `@latest`): the release `latest` points to.
    GitHub {
        owner: String,
        repo: String,
        tag: Option<String>,
    },
    /// `url:https://example.com/tool-linux-amd64.tar.gz`.
    Url { url: String },
}

/// Parses `TOOL[@VERSION]`, `github:OWNER/REPO[@TAG]` or `url:URL` (exit 2 when malformed).
pub fn parse_any_spec(text: &str) -> Result<AnySpec, UsageError> {
    let bad = |reason: String| UsageError::BadSpec {
        spec: text.to_owned(),
        reason,
    };
    if let Some(rest) = text.strip_prefix("github:") {
        let (repo, tag) = match rest.split_once('@') {
            Some((repo, tag)) => (repo, Some(tag)),
            None => (rest, None),
        };
        let (owner, repo) = parse_repo(repo).map_err(bad)?;
        let tag = match tag {
            None | Some("latest") => None,
            Some(tag) => {
                check_tag(tag).map_err(bad)?;
                Some(tag.to_owned())
            }
        };
        return Ok(AnySpec::GitHub { owner, repo, tag });
    }
    if let Some(url) = text.strip_prefix("url:") {
        check_url(url).map_err(bad)?;
        return Ok(AnySpec::Url {
            url: url.to_owned(),
        });
    }
    if let Some((scheme, _)) = text.split_once(':')
        && !scheme.contains('@')
    {
        return Err(bad(format!(
            "unknown kind `{scheme}:`; a SPEC is TOOL[@VERSION], github:OWNER/REPO[@TAG] or url:URL"
        )));
    }
    Spec::parse(text).map(AnySpec::Cli)
}

impl AnySpec {
    /// The tool's name (the lock file's `name`, the default command name): the catalog name,
    /// the repository's name, or a name guessed from the URL's file name.
    pub fn name(&self) -> String {
        match self {
            AnySpec::Cli(spec) => spec.tool.name().to_owned(),
            AnySpec::GitHub { repo, .. } => repo.to_ascii_lowercase(),
            AnySpec::Url { url } => name_from_url(url).unwrap_or_else(|| "tool".to_owned()),
        }
    }
}

impl fmt::Display for AnySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnySpec::Cli(spec) => write!(f, "{spec}"),
            AnySpec::GitHub { owner, repo, tag } => {
                write!(f, "github:{owner}/{repo}")?;
                match tag {
                    Some(tag) => write!(f, "@{tag}"),
                    None => Ok(()),
                }
            }
            AnySpec::Url { url } => write!(f, "url:{url}"),
        }
    }
}

/// `OWNER/REPO` as GitHub allows them: ASCII letters, digits, `-`, `_`, `.` (owners: letters,
/// digits and `-`, at most 39); never `.` or `..`.
pub fn parse_repo(text: &str) -> Result<(String, String), String> {
    let Some((owner, repo)) = text.split_once('/') else {
        return Err(format!("`{text}` is not OWNER/REPO"));
    };
    let owner_ok = !owner.is_empty()
        && owner.len() <= 39
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !owner_ok {
        return Err(format!("`{owner}` is not a GitHub owner name"));
    }
    let repo_ok = !repo.is_empty()
        && repo.len() <= 100
        && repo != "."
        && repo != ".."
        && repo
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !repo_ok {
        return Err(format!("`{repo}` is not a GitHub repository name"));
    }
    Ok((owner.to_owned(), repo.to_owned()))
}

/// A release tag: non-empty, at most 128 of `A-Z a-z 0-9 . _ + -`.
pub fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("the tag after `@` is empty".to_owned());
    }
    let ok = tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!("`{tag}` is not a release tag"))
    }
}

/// A download address: `https://`, or `http://` to this machine (a local test server); no
/// credentials in it.
pub fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("`{text}` is not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a URL must not carry credentials".to_owned());
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "http" if loopback => {}
        "http" => return Err("plain http is refused; use an https:// address".to_owned()),
        _ => return Err(format!("`{text}` is not an https:// address")),
    }
    if url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .is_none_or(str::is_empty)
    {
        return Err(format!("`{text}` does not name a file"));
    }
    Ok(())
}

/// A tool name guessed from a download's file name: the archive extension dropped, then cut
/// before the first `-`/`_` that starts a version or a platform (`jq-linux-amd64` → `jq`,
/// `ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz` → `ripgrep`).
pub fn name_from_url(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let file = path.rsplit('/').next().filter(|f| !f.is_empty())?;
    let lower = file.to_ascii_lowercase();
    let stem = match Format::from_asset_name(&lower)? {
        Format::Bare => lower.strip_suffix(".exe").unwrap_or(&lower).to_owned(),
        _ => {
            let ext = [
                ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".tzst", ".zip",
            ]
            .iter()
            .find(|ext| lower.ends_with(*ext))?;
            lower[..lower.len() - ext.len()].to_owned()
        }
    };
    const PLATFORM_WORDS: [&str; 12] = [
        "linux",
        "darwin",
        "macos",
        "windows",
        "apple",
        "amd64",
        "x86_64",
        "arm64",
        "aarch64",
        "x64",
        "unknown",
        "universal",
    ];
    let mut cut = stem.len();
    for (at, c) in stem.char_indices() {
        if c != '-' && c != '_' {
            continue;
        }
        let rest = &stem[at + 1..];
        let starts_version = rest.starts_with(|c: char| c.is_ascii_digit())
            || (rest.starts_with('v') && rest[1..].starts_with(|c: char| c.is_ascii_digit()));
        if starts_version || PLATFORM_WORDS.iter().any(|w| rest.starts_with(w)) {
            cut = at;
            break;
        }
    }
    let name = &stem[..cut];
    is_tool_name(name).then(|| name.to_owned())
}

/// Tool names: `[a-z0-9][a-z0-9._-]*`, at most 64 bytes.
pub fn is_tool_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.len() <= 64
        && bytes.all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::Wanted;
    use crate::resolve::catalog::{Tool, Version};

    fn github(owner: &str, repo: &str, tag: Option<&str>) -> AnySpec {
        AnySpec::GitHub {
            owner: owner.into(),
            repo: repo.into(),
            tag: tag.map(Into::into),
        }
    }

    #[test]
    fn cli_specs_are_delegated() {
        assert_eq!(
            parse_any_spec("platform@5.10.8").unwrap(),
            AnySpec::Cli(Spec {
                tool: Tool::Platform,
                version: Wanted::Exact(Version::new(5, 10, 8))
            })
        );
        assert_eq!(
            parse_any_spec("upsun").unwrap(),
            AnySpec::Cli(Spec {
                tool: Tool::Upsun,
                version: Wanted::Any
            })
        );
        assert!(matches!(
            parse_any_spec("gh@1.0.0"),
            Err(UsageError::UnknownTool(_))
        ));
        assert!(matches!(
            parse_any_spec("platform@x"),
            Err(UsageError::BadSpec { .. })
        ));
    }

    #[test]
    fn github_specs() {
        assert_eq!(
            parse_any_spec("github:cli/cli@v2.63.0").unwrap(),
            github("cli", "cli", Some("v2.63.0"))
        );
        assert_eq!(
            parse_any_spec("github:jqlang/jq@jq-1.7.1").unwrap(),
            github("jqlang", "jq", Some("jq-1.7.1"))
        );
        assert_eq!(
            parse_any_spec("github:BurntSushi/ripgrep").unwrap(),
            github("BurntSushi", "ripgrep", None)
        );
        assert_eq!(
            parse_any_spec("github:mikefarah/yq@latest").unwrap(),
            github("mikefarah", "yq", None)
        );
        assert_eq!(
            parse_any_spec("github:gohugoio/hugo@v0.139.0")
                .unwrap()
                .to_string(),
            "github:gohugoio/hugo@v0.139.0"
        );
        assert_eq!(
            parse_any_spec("github:BurntSushi/ripgrep").unwrap().name(),
            "ripgrep"
        );
    }

    #[test]
    fn bad_github_specs_are_usage_errors() {
        for bad in [
            "github:",
            "github:cli",
            "github:/cli",
            "github:cli/",
            "github:cli/cli/extra",
            "github:cli/cli@",
            "github:cli/cli@v1 2",
            "github:cli/cli@../x",
            "github:c li/cli",
            "github:cli/..",
            "github:cli/cli@v1/../../x",
            "github:cl_i/cli",
        ] {
            let err = parse_any_spec(bad).expect_err(bad);
            assert!(matches!(err, UsageError::BadSpec { .. }), "{bad}: {err:?}");
        }
    }

    #[test]
    fn url_specs() {
        let url = "https://example.com/dl/tool-linux-amd64.tar.gz";
        assert_eq!(
            parse_any_spec(&format!("url:{url}")).unwrap(),
            AnySpec::Url { url: url.into() }
        );
        // Loopback http is allowed (local mirrors and tests), nothing else.
        for ok in [
            "url:http://127.0.0.1:8080/jq-linux-amd64",
            "url:http://localhost/jq",
            "url:http://[::1]:9/jq",
        ] {
            parse_any_spec(ok).expect(ok);
        }
        for bad in [
            "url:",
            "url:http://example.com/jq",
            "url:ftp://example.com/jq",
            "url:file:///tmp/jq",
            "url:https://user:pw@example.com/jq",
            "url:https://example.com/",
            "url:not a url",
            "ftp:example.com/jq",
        ] {
            let err = parse_any_spec(bad).expect_err(bad);
            assert!(matches!(err, UsageError::BadSpec { .. }), "{bad}: {err:?}");
        }
    }

    #[test]
    fn names_from_urls() {
        for (url, name) in [
            ("https://x/jq-linux-amd64", Some("jq")),
            ("https://x/yq_linux_amd64", Some("yq")),
            ("https://x/yq_linux_amd64.tar.gz", Some("yq")),
            ("https://x/gh_2.63.0_linux_amd64.tar.gz", Some("gh")),
            (
                "https://x/ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz",
                Some("ripgrep"),
            ),
            (
                "https://x/hugo_extended_0.139.0_linux-amd64.tar.gz",
                Some("hugo_extended"),
            ),
            ("https://x/tool.exe?download=1", Some("tool")),
            ("https://x/node-v20.11.0-linux-x64.tar.xz", Some("node")),
            ("https://x/tool.deb", None),
        ] {
            assert_eq!(name_from_url(url).as_deref(), name, "{url}");
        }
    }
}
