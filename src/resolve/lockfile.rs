//! `hookstrap.lock`: per tool a version, and per target the canonical URL, SHA-256 and size.
//!
//! The file is TOML (SPEC.md, "Lock file"), written in a stable order (tools by name,
//! artifacts by target) so that diffs are small and human. Every field is checked while it is
//! parsed, so a bad value is reported with its line and column (exit 2).

use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use crate::diag::{FileError, FsError, IoContext, UsageError, line_column};
use crate::fsutil::{Links, SMALL_FILE_MAX, read_capped};
use crate::names::{self, Name};
use crate::verify::parse_sha256;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub version: u32,
    #[serde(default, rename = "tool")]
    pub tools: Vec<LockedTool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LockedTool {
    #[serde(deserialize_with = "de_name")]
    pub name: String,
    #[serde(deserialize_with = "de_name")]
    pub version: String,
    /// Where a tool outside the catalog comes from: `github:OWNER/REPO` or `url:URL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The command's name, when not the tool's name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_name"
    )]
    pub bin: Option<String>,
    #[serde(default, rename = "artifact")]
    pub artifacts: Vec<LockedArtifact>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LockedArtifact {
    #[serde(deserialize_with = "de_name")]
    pub target: String,
    #[serde(deserialize_with = "de_url")]
    pub url: String,
    #[serde(deserialize_with = "de_sha256")]
    pub sha256: String,
    pub size: u64,
    /// The installed binary's BLAKE3 (what the archive's binary hashes to once unpacked), so
    /// a copy kept in the shared cache is placed only when it hashes to this pin.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_sha256"
    )]
    pub bin_blake3: Option<String>,
}

fn de_sha256<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    parse_sha256(&text)
        .ok_or_else(|| serde::de::Error::custom("sha256 must be 64 hexadecimal digits"))
}

fn de_opt_sha256<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    de_sha256(d).map(Some)
}

fn de_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    Name::parse(&text)
        .map(Name::into_string)
        .map_err(serde::de::Error::custom)
}

fn de_opt_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    de_name(d).map(Some)
}

fn de_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    check_url(&text).map_err(serde::de::Error::custom)?;
    Ok(text)
}

/// A lock file's URL: see [`names::check_lock_url`].
pub fn check_url(text: &str) -> Result<(), String> {
    names::check_lock_url(text)
}

impl LockFile {
    pub fn new() -> Self {
        LockFile {
            version: FORMAT_VERSION,
            tools: Vec::new(),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<LockFile, UsageError> {
        let bad = |offset: usize, message: String| {
            let (line, column) = line_column(text, offset);
            UsageError::BadLock {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let lock: LockFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            bad(offset, e.message().trim_end().to_string())
        })?;
        if lock.version != FORMAT_VERSION {
            let offset = text.find("version").unwrap_or(0);
            return Err(bad(
                offset,
                format!(
                    "unsupported lock format version {} (this hookstrap reads {FORMAT_VERSION})",
                    lock.version
                ),
            ));
        }
        Ok(lock)
    }

    /// Reads the lock file (a regular file of at most a few MiB).
    pub fn read(path: &Path) -> Result<LockFile, FileError<UsageError>> {
        let bytes = read_capped(path, SMALL_FILE_MAX, Links::Follow)?.ok_or_else(|| {
            FsError::io(
                "read the lock file",
                path,
                std::io::ErrorKind::NotFound.into(),
            )
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            FileError::Bad(UsageError::BadLock {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("not UTF-8 ({e})"),
            })
        })?;
        LockFile::parse(&text, path).map_err(FileError::Bad)
    }

    pub fn tool(&self, name: &str) -> Option<&LockedTool> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// Keeps the tools `keep` says yes to; returns the names of the others, which are dropped.
    pub fn retain(&mut self, keep: impl Fn(&LockedTool) -> bool) -> Vec<String> {
        let dropped = self
            .tools
            .iter()
            .filter(|t| !keep(t))
            .map(|t| t.name.clone())
            .collect();
        self.tools.retain(|t| keep(t));
        dropped
    }

    /// Adds or replaces a tool's pin, keeping artifacts of other targets pinned for the same
    /// version.
    pub fn upsert(&mut self, tool: LockedTool) {
        match self.tools.iter_mut().find(|t| t.name == tool.name) {
            Some(existing) if existing.version == tool.version => {
                for art in tool.artifacts {
                    existing.artifacts.retain(|a| a.target != art.target);
                    existing.artifacts.push(art);
                }
            }
            Some(existing) => *existing = tool,
            None => self.tools.push(tool),
        }
    }

    /// The file's text, in stable order.
    pub fn render(&self) -> String {
        let mut lock = self.clone();
        lock.tools.sort_by(|a, b| a.name.cmp(&b.name));
        for tool in &mut lock.tools {
            tool.artifacts.sort_by(|a, b| a.target.cmp(&b.target));
        }
        let body = toml::to_string(&lock).unwrap_or_default();
        format!(
            "# Written by `hookstrap lock`. Pins the exact bytes `hookstrap install` accepts.\n{body}"
        )
    }

    pub fn write(&self, path: &Path) -> Result<(), FsError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".hookstrap-lock-")
            .tempfile_in(dir)
            .fs("create a temporary file in", dir)?;
        std::io::Write::write_all(&mut tmp, self.render().as_bytes()).fs("write", tmp.path())?;
        tmp.persist(path)
            .map_err(|e| FsError::io("write", path, e.error))?;
        Ok(())
    }
}

impl Default for LockFile {
    fn default() -> Self {
        Self::new()
    }
}

impl LockedTool {
    pub fn artifact(&self, target: &str) -> Option<&LockedArtifact> {
        self.artifacts.iter().find(|a| a.target == target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn sample() -> LockFile {
        LockFile {
            version: 1,
            tools: vec![LockedTool {
                name: "platform".into(),
                version: "5.10.8".into(),
                source: None,
                bin: None,
                artifacts: vec![LockedArtifact {
                    target: "linux_amd64".into(),
                    url: "https://github.com/upsun/cli/releases/download/v5.10.8/platform_5.10.8_linux_amd64.tar.gz".into(),
                    sha256: SHA.into(),
                    size: 12345678,
                    bin_blake3: None,
                }],
            }],
        }
    }

    const PLATFORM_LOCK: &str = include_str!("../../fixtures/locks/valid/platform.lock");

    #[test]
    fn round_trips_in_spec_shape() {
        let text = sample().render();
        // Byte for byte what `hookstrap lock` writes: SPEC.md's shape, in a stable order.
        assert_eq!(text, PLATFORM_LOCK);
        assert!(text.contains("version = 1\n"), "{text}");
        assert!(
            text.contains("[[tool]]\nname = \"platform\"\nversion = \"5.10.8\"\n"),
            "{text}"
        );
        assert!(
            text.contains("[[tool.artifact]]\ntarget = \"linux_amd64\"\n"),
            "{text}"
        );
        assert_eq!(LockFile::parse(&text, Path::new("l")).unwrap(), sample());
    }

    #[test]
    fn stable_order() {
        let mut lock = sample();
        let mut upsun = lock.tools[0].clone();
        upsun.name = "upsun".into();
        lock.tools.insert(0, upsun);
        let mut arm = lock.tools[1].artifacts[0].clone();
        arm.target = "linux_arm64".into();
        lock.tools[1].artifacts.insert(0, arm);
        let text = lock.render();
        assert!(text.find("\"platform\"").unwrap() < text.find("\"upsun\"").unwrap());
        assert!(text.find("linux_amd64").unwrap() < text.find("linux_arm64").unwrap());
    }

    #[test]
    fn errors_carry_line_and_column() {
        let text = sample().render().replace(SHA, "nothex");
        match LockFile::parse(&text, Path::new("l")) {
            Err(UsageError::BadLock {
                line,
                column,
                message,
                ..
            }) => {
                let expected_line = text.lines().position(|l| l.contains("nothex")).unwrap() + 1;
                assert_eq!(line, expected_line);
                assert_eq!(column, 10);
                assert!(message.contains("sha256"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_fixture(include_str!(
                "../../fixtures/locks/malformed/unclosed-table.lock"
            )),
            Err(UsageError::BadLock { line: 2, .. })
        ));
        assert!(
            parse_fixture(include_str!(
                "../../fixtures/locks/malformed/version-2.lock"
            ))
            .is_err()
        );
        assert!(
            parse_fixture(include_str!(
                "../../fixtures/locks/malformed/unknown-field.lock"
            ))
            .is_err()
        );
    }

    fn parse_fixture(text: &str) -> Result<LockFile, UsageError> {
        LockFile::parse(text, Path::new("l"))
    }

    /// Each malformed lock file in `fixtures/locks/malformed/` (its last line says what to
    /// expect) fails at that line and column with that message.
    #[test]
    fn malformed_fixtures_fail_where_their_comment_says() {
        let cases = [
            (
                include_str!("../../fixtures/locks/malformed/bad-sha256.lock"),
                (11, 10),
                "sha256 must be 64 hexadecimal digits",
            ),
            (
                include_str!("../../fixtures/locks/malformed/ftp-url.lock"),
                (10, 7),
                "url must be an https:// address",
            ),
            (
                include_str!("../../fixtures/locks/malformed/missing-size.lock"),
                (8, 1),
                "missing field `size`",
            ),
            (
                include_str!("../../fixtures/locks/malformed/unclosed-table.lock"),
                (2, 8),
                "unclosed array table, expected `]`",
            ),
            (
                include_str!("../../fixtures/locks/malformed/version-2.lock"),
                (1, 1),
                "unsupported lock format version 2",
            ),
            (
                include_str!("../../fixtures/locks/malformed/unknown-field.lock"),
                (2, 1),
                "unknown field `extra`",
            ),
        ];
        for (text, (want_line, want_column), needle) in cases {
            match parse_fixture(text) {
                Err(UsageError::BadLock {
                    line,
                    column,
                    message,
                    ..
                }) => {
                    assert_eq!(
                        (line, column),
                        (want_line, want_column),
                        "{message}\n{text}"
                    );
                    assert!(message.contains(needle), "{message}\n{text}");
                    let noted = format!("# expect: line {line}, column {column}: {needle}");
                    assert!(text.contains(&noted), "{text}");
                }
                other => panic!("{other:?}\n{text}"),
            }
        }
    }

    /// A lock of catalog and GitHub tools for two targets: every field read back, and
    /// rendered again byte for byte.
    #[test]
    fn a_lock_of_several_tools_round_trips() {
        let text = include_str!("../../fixtures/locks/valid/platform-gh-jq-ripgrep.lock");
        let lock = parse_fixture(text).unwrap();
        let names: Vec<&str> = lock.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["gh", "jq", "platform", "ripgrep"]);
        let rg = lock.tool("ripgrep").unwrap();
        assert_eq!(rg.source.as_deref(), Some("github:BurntSushi/ripgrep"));
        assert_eq!(rg.bin.as_deref(), Some("rg"));
        assert_eq!(lock.tool("platform").unwrap().source, None);
        assert_eq!(lock.tool("jq").unwrap().version, "jq-1.7.1");
        let gh = lock.tool("gh").unwrap().artifact("linux_arm64").unwrap();
        assert_eq!(
            gh.url,
            "https://github.com/cli/cli/releases/download/v2.63.0/gh_2.63.0_linux_arm64.tar.gz"
        );
        assert_eq!(gh.size, 11559210);
        for tool in &lock.tools {
            let targets: Vec<&str> = tool.artifacts.iter().map(|a| a.target.as_str()).collect();
            assert_eq!(targets, ["linux_amd64", "linux_arm64"], "{}", tool.name);
        }
        assert_eq!(lock.render(), text);
    }

    #[test]
    fn lock_urls_are_https_and_canonical_on_github() {
        for ok in [
            "https://github.com/upsun/cli/releases/download/v5.10.8/platform_5.10.8_linux_amd64.tar.gz",
            "https://example.com/tools/tool-linux-amd64",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:8080/tool",
            "file:///srv/mirror/tool",
            "https://user:pass@example.com/tool",
            "https://github.com/upsun/cli/raw/main/install.sh",
            "https://github.com/o/r/releases/download/v1/..%2f..%2fx",
            "https://github.com/o/r/releases/download/v1/a/b",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
