//! GitHub releases of any tool (SPEC.md, "Other released tools"): the release JSON as the REST
//! API (or a mirror's static copy of it) returns it, and the addresses to ask for it.
//!
//! Only the fields hookstrap reads are kept; everything else in the JSON is ignored, so a
//! listing from GitHub Enterprise or a hand-written mirror file parses the same. A release
//! listing is untrusted input: nothing here decides what to install or trust; which asset fits
//! a target lives in [`crate::resolve::assets`], where its hash is published in
//! [`crate::resolve::checksums`]. Addresses keep a tag one path segment whatever it contains.

use serde::Deserialize;

use crate::verify::parse_sha256;

/// A release as `GET /repos/{owner}/{repo}/releases/tags/{tag}` returns it (fields we use).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Release {
    pub tag_name: String,
    #[serde(default)]
    pub prerelease: bool,
    #[serde(default)]
    pub assets: Vec<Asset>,
}

/// One file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Asset {
    pub name: String,
    pub browser_download_url: String,
    #[serde(default)]
    pub size: u64,
    /// `sha256:HEX` (GitHub computes it for uploaded assets); other algorithms are ignored.
    #[serde(default)]
    pub digest: Option<String>,
}

impl Release {
    pub fn parse(json: &str) -> Result<Release, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The asset named exactly `name`.
    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.name == name)
    }
}

impl Asset {
    /// The SHA-256 from the API's `digest`, lower-case hex, if it gives one.
    pub fn sha256_digest(&self) -> Option<String> {
        let digest = self.digest.as_deref()?;
        let (algo, hex) = digest.split_once(':')?;
        if algo.eq_ignore_ascii_case("sha256") {
            parse_sha256(hex)
        } else {
            None
        }
    }
}

/// Whether `base` (`--mirror` or the default) is GitHub itself.
pub fn is_github(base: &str) -> bool {
    let base = base.trim_end_matches('/');
    base.eq_ignore_ascii_case("https://github.com")
        || base.eq_ignore_ascii_case("https://www.github.com")
}

/// The release API address for `tag`: GitHub's API, or on a mirror GitHub Enterprise's layout
/// (`{mirror}/api/v3/…`, which a static JSON file satisfies).
pub fn api_url(mirror_or_github: &str, owner: &str, repo: &str, tag: &str) -> String {
    format!(
        "{}/releases/tags/{}",
        repo_api(mirror_or_github, owner, repo),
        encode_segment(tag)
    )
}

fn repo_api(base: &str, owner: &str, repo: &str) -> String {
    let (owner, repo) = (encode_segment(owner), encode_segment(repo));
    if is_github(base) {
        format!("https://api.github.com/repos/{owner}/{repo}")
    } else {
        format!("{}/api/v3/repos/{owner}/{repo}", base.trim_end_matches('/'))
    }
}

/// Percent-encodes everything but unreserved characters, so a tag stays one path segment.
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Releases shaped like real ones (`fixtures/releases/`), for the unit tests of asset choice
/// and hash sources.
#[cfg(test)]
pub(crate) mod samples {
    use super::{Asset, Release};

    /// A release of `repo` at `tag` holding exactly `names` (size 1, no digest).
    pub fn release(repo: &str, tag: &str, names: &[&str]) -> Release {
        Release {
            tag_name: tag.to_owned(),
            prerelease: false,
            assets: names
                .iter()
                .map(|name| Asset {
                    name: (*name).to_owned(),
                    browser_download_url: format!(
                        "https://github.com/{repo}/releases/download/{tag}/{name}"
                    ),
                    size: 1,
                    digest: None,
                })
                .collect(),
        }
    }

    fn fixture(json: &str) -> Release {
        Release::parse(json).expect("a fixture release parses")
    }

    /// cli/cli v2.63.0: GoReleaser archives, packages, one `gh_2.63.0_checksums.txt`.
    pub fn gh() -> Release {
        fixture(include_str!("../../fixtures/releases/gh-v2.63.0.json"))
    }

    /// jqlang/jq jq-1.7.1: bare binaries, legacy names, `sha256sum.txt`.
    pub fn jq() -> Release {
        fixture(include_str!("../../fixtures/releases/jq-1.7.1.json"))
    }

    /// BurntSushi/ripgrep 14.1.1: Rust target triples, a `.sha256` sidecar per asset.
    pub fn ripgrep() -> Release {
        fixture(include_str!("../../fixtures/releases/ripgrep-14.1.1.json"))
    }

    /// mikefarah/yq v4.44.3: bare binaries and archives, `checksums` in columns.
    pub fn yq() -> Release {
        fixture(include_str!("../../fixtures/releases/yq-v4.44.3.json"))
    }

    /// gohugoio/hugo v0.139.0: three editions, universal macOS builds, legacy names.
    pub fn hugo() -> Release {
        fixture(include_str!("../../fixtures/releases/hugo-v0.139.0.json"))
    }

    /// A synthetic GoReleaser v2 release as GitHub lists it today: a `digest` on every asset,
    /// SBOMs, signatures, a binary-mode `checksums.txt`, a BSD list and a bare sidecar.
    pub fn acme() -> Release {
        fixture(include_str!(
            "../../fixtures/releases/acme-tool-v1.2.3.json"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[test]
    fn api_urls() {
        assert_eq!(
            api_url("https://github.com", "cli", "cli", "v2.63.0"),
            "https://api.github.com/repos/cli/cli/releases/tags/v2.63.0"
        );
        assert_eq!(
            api_url("https://github.com/", "jqlang", "jq", "jq-1.7.1"),
            "https://api.github.com/repos/jqlang/jq/releases/tags/jq-1.7.1"
        );
        assert_eq!(
            api_url("https://mirror.example.com/gh/", "cli", "cli", "v2.63.0"),
            "https://mirror.example.com/gh/api/v3/repos/cli/cli/releases/tags/v2.63.0"
        );
        assert_eq!(
            api_url("file:///srv/mirror", "o", "r", "v1+build/x"),
            "file:///srv/mirror/api/v3/repos/o/r/releases/tags/v1%2Bbuild%2Fx"
        );
    }

    #[test]
    fn release_json_ignores_unknown_fields() {
        let json = include_str!("../../fixtures/releases/unknown-fields.json");
        let r = Release::parse(json).unwrap();
        assert_eq!(r.tag_name, "v2.63.0");
        assert!(!r.prerelease);
        assert_eq!(r.assets.len(), 2);
        assert_eq!(r.assets[0].size, 12345);
        assert_eq!(r.assets[0].sha256_digest().as_deref(), Some(A));
        assert_eq!(r.assets[1].digest, None);
        assert!(Release::parse("{}").is_err());
        assert!(
            Release::parse(r#"{"tag_name":"v1"}"#)
                .unwrap()
                .assets
                .is_empty()
        );
    }

    #[test]
    fn every_fixture_release_parses_with_its_listing() {
        let releases = [
            ("v2.63.0", samples::gh(), 22),
            ("jq-1.7.1", samples::jq(), 27),
            ("14.1.1", samples::ripgrep(), 28),
            ("v4.44.3", samples::yq(), 54),
            ("v0.139.0", samples::hugo(), 30),
            ("v1.2.3", samples::acme(), 19),
        ];
        for (tag, release, count) in releases {
            assert_eq!(release.tag_name, tag);
            assert!(!release.prerelease, "{tag}");
            assert_eq!(release.assets.len(), count, "{tag}");
            for asset in &release.assets {
                assert!(asset.size > 0, "{tag}: {}", asset.name);
                assert!(
                    asset
                        .browser_download_url
                        .ends_with(&format!("/{tag}/{}", asset.name)),
                    "{tag}: {}",
                    asset.browser_download_url
                );
                // Assets uploaded before GitHub computed digests (2025) have none; the
                // synthetic acme release, uploaded since, has one on every asset.
                assert_eq!(
                    asset.sha256_digest().is_some(),
                    tag == "v1.2.3",
                    "{tag}: {}",
                    asset.name
                );
            }
        }
    }

    #[test]
    fn digests_other_than_sha256_are_ignored() {
        let mut asset = samples::gh().assets[0].clone();
        for digest in [
            format!("sha512:{A}{A}"),
            "sha256:abc".to_owned(),
            A.to_owned(),
        ] {
            asset.digest = Some(digest);
            assert_eq!(asset.sha256_digest(), None);
        }
        asset.digest = Some(format!("SHA256:{}", A.to_ascii_uppercase()));
        assert_eq!(asset.sha256_digest().as_deref(), Some(A));
    }
}
