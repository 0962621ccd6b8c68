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

/// Releases shaped like real ones, for the unit tests of asset choice and hash sources.
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

    /// cli/cli v2.63.0.
    pub fn gh() -> Release {
        release(
            "cli/cli",
            "v2.63.0",
            &[
                "gh_2.63.0_checksums.txt",
                "gh_2.63.0_linux_386.deb",
                "gh_2.63.0_linux_386.rpm",
                "gh_2.63.0_linux_386.tar.gz",
                "gh_2.63.0_linux_amd64.deb",
                "gh_2.63.0_linux_amd64.rpm",
                "gh_2.63.0_linux_amd64.tar.gz",
                "gh_2.63.0_linux_arm64.deb",
                "gh_2.63.0_linux_arm64.rpm",
                "gh_2.63.0_linux_arm64.tar.gz",
                "gh_2.63.0_linux_armv6.deb",
                "gh_2.63.0_linux_armv6.rpm",
                "gh_2.63.0_linux_armv6.tar.gz",
                "gh_2.63.0_macOS_amd64.zip",
                "gh_2.63.0_macOS_arm64.zip",
                "gh_2.63.0_macOS_universal.pkg",
                "gh_2.63.0_windows_386.msi",
                "gh_2.63.0_windows_386.zip",
                "gh_2.63.0_windows_amd64.msi",
                "gh_2.63.0_windows_amd64.zip",
                "gh_2.63.0_windows_arm64.msi",
                "gh_2.63.0_windows_arm64.zip",
            ],
        )
    }

    /// jqlang/jq jq-1.7.1.
    pub fn jq() -> Release {
        release(
            "jqlang/jq",
            "jq-1.7.1",
            &[
                "jq-1.7.1.tar.gz",
                "jq-1.7.1.zip",
                "jq-linux-amd64",
                "jq-linux-arm64",
                "jq-linux-armel",
                "jq-linux-armhf",
                "jq-linux-i386",
                "jq-linux-mips",
                "jq-linux-mips64",
                "jq-linux-mips64el",
                "jq-linux-mips64r6",
                "jq-linux-mips64r6el",
                "jq-linux-mipsel",
                "jq-linux-mipsr6",
                "jq-linux-mipsr6el",
                "jq-linux-powerpc",
                "jq-linux-ppc64el",
                "jq-linux-riscv64",
                "jq-linux-s390x",
                "jq-linux64",
                "jq-macos-amd64",
                "jq-macos-arm64",
                "jq-osx-amd64",
                "jq-win64.exe",
                "jq-windows-amd64.exe",
                "jq-windows-i386.exe",
                "sha256sum.txt",
            ],
        )
    }

    /// BurntSushi/ripgrep 14.1.1: every archive has a `.sha256` sidecar.
    pub fn ripgrep() -> Release {
        let archives = [
            "ripgrep-14.1.1-aarch64-apple-darwin.tar.gz",
            "ripgrep-14.1.1-aarch64-unknown-linux-gnu.tar.gz",
            "ripgrep-14.1.1-armv7-unknown-linux-gnueabihf.tar.gz",
            "ripgrep-14.1.1-armv7-unknown-linux-musleabi.tar.gz",
            "ripgrep-14.1.1-armv7-unknown-linux-musleabihf.tar.gz",
            "ripgrep-14.1.1-i686-pc-windows-msvc.zip",
            "ripgrep-14.1.1-i686-unknown-linux-gnu.tar.gz",
            "ripgrep-14.1.1-powerpc64-unknown-linux-gnu.tar.gz",
            "ripgrep-14.1.1-s390x-unknown-linux-gnu.tar.gz",
            "ripgrep-14.1.1-x86_64-apple-darwin.tar.gz",
            "ripgrep-14.1.1-x86_64-pc-windows-gnu.zip",
            "ripgrep-14.1.1-x86_64-pc-windows-msvc.zip",
            "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz",
            "ripgrep_14.1.1-1_amd64.deb",
        ];
        let mut names: Vec<String> = Vec::new();
        for a in archives {
            names.push(a.to_owned());
            names.push(format!("{a}.sha256"));
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        release("BurntSushi/ripgrep", "14.1.1", &names)
    }

    /// mikefarah/yq v4.44.6 (abridged).
    pub fn yq() -> Release {
        release(
            "mikefarah/yq",
            "v4.44.6",
            &[
                "checksums",
                "checksums-bsd",
                "checksums_hashes_order",
                "extract-checksum.sh",
                "install-man-page.sh",
                "yq_darwin_amd64",
                "yq_darwin_amd64.tar.gz",
                "yq_darwin_arm64",
                "yq_darwin_arm64.tar.gz",
                "yq_linux_386",
                "yq_linux_386.tar.gz",
                "yq_linux_amd64",
                "yq_linux_amd64.tar.gz",
                "yq_linux_arm",
                "yq_linux_arm.tar.gz",
                "yq_linux_arm64",
                "yq_linux_arm64.tar.gz",
                "yq_linux_mips64le",
                "yq_linux_ppc64le",
                "yq_linux_riscv64",
                "yq_linux_s390x",
                "yq_man_page_only.tar.gz",
                "yq_windows_386.exe",
                "yq_windows_amd64.exe",
                "yq_windows_amd64.zip",
            ],
        )
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
        let json = format!(
            r#"{{"url":"x","id":1,"tag_name":"v2.63.0","name":"GitHub CLI 2.63.0",
            "draft":false,"prerelease":false,"author":{{"login":"x"}},
            "assets":[{{"id":2,"name":"gh_2.63.0_linux_amd64.tar.gz","size":12345,
              "content_type":"application/gzip","digest":"sha256:{A}",
              "browser_download_url":"https://github.com/cli/cli/releases/download/v2.63.0/gh_2.63.0_linux_amd64.tar.gz"}},
              {{"name":"gh_2.63.0_checksums.txt","size":10,"digest":null,
              "browser_download_url":"https://github.com/cli/cli/releases/download/v2.63.0/gh_2.63.0_checksums.txt"}}]}}"#
        );
        let r = Release::parse(&json).unwrap();
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
