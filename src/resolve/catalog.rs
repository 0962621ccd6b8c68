//! What a tool is: where its releases live, how its tags and assets are named per target.
//!
//! Facts from SPEC.md: 5.10.0 and later (and `latest`) come from `upsun/cli` with `v` tags,
//! 5.9.x and earlier from `platformsh/cli` with bare tags; assets are GoReleaser-named
//! `{bin}_{version}_{target}.tar.gz` (`.zip` on Windows) next to a `checksums.txt`.

use std::cmp::Ordering;
use std::fmt;

use crate::diag::UsageError;

/// The tools hookstrap knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tool {
    Platform,
    Upsun,
}

impl Tool {
    pub const ALL: [Tool; 2] = [Tool::Platform, Tool::Upsun];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Platform => "platform",
            Tool::Upsun => "upsun",
        }
    }

    pub fn parse(name: &str) -> Result<Tool, UsageError> {
        Tool::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| UsageError::UnknownTool(name.to_string()))
    }

    /// The repository whose `releases/latest` names the newest version.
    pub fn latest_repo(self) -> Repo {
        Repo::UPSUN
    }

    /// The repository and tag that hold `version`.
    pub fn release(self, version: &Version) -> (Repo, String) {
        if *version >= Version::new(5, 10, 0) {
            (Repo::UPSUN, format!("v{version}"))
        } else {
            (Repo::PLATFORMSH, version.to_string())
        }
    }

    /// The asset file name for `version` on `target`.
    pub fn asset(self, version: &Version, target: Target) -> String {
        format!(
            "{}_{}_{}.{}",
            self.name(),
            version,
            target.name(),
            target.ext()
        )
    }

    /// The binary's name inside the archive (and in the bin dir).
    pub fn bin_name(self, target: Target) -> String {
        match target {
            Target::WindowsAmd64 => format!("{}.exe", self.name()),
            _ => self.name().to_string(),
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A GitHub repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repo {
    pub owner: &'static str,
    pub name: &'static str,
}

impl Repo {
    pub const UPSUN: Repo = Repo {
        owner: "upsun",
        name: "cli",
    };
    pub const PLATFORMSH: Repo = Repo {
        owner: "platformsh",
        name: "cli",
    };
}

/// GoReleaser target names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    LinuxAmd64,
    LinuxArm64,
    DarwinAll,
    WindowsAmd64,
}

impl Target {
    pub const ALL: [Target; 4] = [
        Target::LinuxAmd64,
        Target::LinuxArm64,
        Target::DarwinAll,
        Target::WindowsAmd64,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::LinuxAmd64 => "linux_amd64",
            Target::LinuxArm64 => "linux_arm64",
            Target::DarwinAll => "darwin_all",
            Target::WindowsAmd64 => "windows_amd64",
        }
    }

    pub fn ext(self) -> &'static str {
        match self {
            Target::WindowsAmd64 => "zip",
            _ => "tar.gz",
        }
    }

    /// Whether `install` can unpack and place this target's archive here.
    pub fn installable(self) -> bool {
        self != Target::WindowsAmd64
    }

    pub fn parse(name: &str) -> Result<Target, UsageError> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| UsageError::UnsupportedTarget(name.to_string()))
    }

    /// The target of the machine hookstrap runs on, from `os`/`arch` as Rust names them.
    pub fn host_from(os: &str, arch: &str) -> Result<Target, UsageError> {
        match (os, arch) {
            ("linux", "x86_64") => Ok(Target::LinuxAmd64),
            ("linux", "aarch64") => Ok(Target::LinuxArm64),
            ("macos", "x86_64" | "aarch64") => Ok(Target::DarwinAll),
            ("windows", "x86_64") => Ok(Target::WindowsAmd64),
            _ => Err(UsageError::UnsupportedHost {
                os: os.to_string(),
                arch: arch.to_string(),
            }),
        }
    }

    pub fn host() -> Result<Target, UsageError> {
        Target::host_from(std::env::consts::OS, std::env::consts::ARCH)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A release version: `MAJOR.MINOR.PATCH` with an optional `-PRERELEASE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: Option<String>,
}

impl Version {
    pub fn new(major: u64, minor: u64, patch: u64) -> Self {
        Version {
            major,
            minor,
            patch,
            pre: None,
        }
    }

    /// Parses `5.10.8`, `v5.10.8` or `5.10.8-rc1`.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (text, None),
        };
        if let Some(pre) = pre
            && (pre.is_empty()
                || !pre
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'))
        {
            return None;
        }
        let mut parts = core.split('.');
        let mut num = || -> Option<u64> {
            let p = parts.next()?;
            if p.is_empty() || p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let (major, minor, patch) = (num()?, num()?, num()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
            pre: pre.map(str::to_string),
        })
    }

    /// Like [`Version::parse`], after any prefix before the first digit: release tags such as
    /// `jq-1.7.1` or `release-2.0.0` still order by their version.
    pub fn parse_loose(text: &str) -> Option<Version> {
        Version::parse(text.trim_start_matches(|c: char| !c.is_ascii_digit()))
    }

    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(pre) = &self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    /// Semver precedence, simplified: a prerelease sorts before its release, prereleases
    /// compare as strings.
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_with_and_without_v() {
        assert_eq!(Version::parse("5.10.8"), Some(Version::new(5, 10, 8)));
        assert_eq!(Version::parse("v5.10.8"), Some(Version::new(5, 10, 8)));
        let rc = Version::parse("5.11.0-rc1").unwrap();
        assert!(rc.is_prerelease());
        assert!(rc < Version::new(5, 11, 0));
        assert_eq!(
            Version::parse_loose("jq-1.7.1"),
            Some(Version::new(1, 7, 1))
        );
        assert_eq!(
            Version::parse_loose("v2.63.0"),
            Some(Version::new(2, 63, 0))
        );
        assert_eq!(Version::parse_loose("nightly"), None);
        for bad in [
            "",
            "5",
            "5.10",
            "5.10.8.1",
            "x.1.2",
            "5.10.8-",
            "5.1 0.8",
            "vv5.1.0",
            "5.10.8-r c",
        ] {
            assert_eq!(Version::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn releases_split_at_5_10() {
        let (repo, tag) = Tool::Platform.release(&Version::new(5, 10, 8));
        assert_eq!((repo, tag.as_str()), (Repo::UPSUN, "v5.10.8"));
        let (repo, tag) = Tool::Platform.release(&Version::new(5, 10, 0));
        assert_eq!((repo, tag.as_str()), (Repo::UPSUN, "v5.10.0"));
        let (repo, tag) = Tool::Platform.release(&Version::new(5, 9, 0));
        assert_eq!((repo, tag.as_str()), (Repo::PLATFORMSH, "5.9.0"));
        let (repo, _) = Tool::Upsun.release(&Version::new(4, 22, 0));
        assert_eq!(repo, Repo::PLATFORMSH);
    }

    #[test]
    fn asset_names_follow_goreleaser() {
        let v = Version::new(5, 10, 8);
        assert_eq!(
            Tool::Platform.asset(&v, Target::LinuxAmd64),
            "platform_5.10.8_linux_amd64.tar.gz"
        );
        assert_eq!(
            Tool::Upsun.asset(&v, Target::WindowsAmd64),
            "upsun_5.10.8_windows_amd64.zip"
        );
        assert_eq!(Tool::Upsun.bin_name(Target::WindowsAmd64), "upsun.exe");
    }

    #[test]
    fn hosts_map_to_targets() {
        assert_eq!(
            Target::host_from("linux", "x86_64").unwrap(),
            Target::LinuxAmd64
        );
        assert_eq!(
            Target::host_from("macos", "aarch64").unwrap(),
            Target::DarwinAll
        );
        assert!(Target::host_from("linux", "x86").is_err());
        assert!(Target::host_from("freebsd", "x86_64").is_err());
        assert!(Target::parse("linux_386").is_err());
    }
}
