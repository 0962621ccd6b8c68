//! The leaf every stage shares: SPEC.md's exit codes, the [`Diagnostic`] trait that every
//! stage's error implements (its exit code and a hint the user can act on), and the few small
//! error types more than one stage produces (bad usage, a refused local file, offline).
//!
//! This module imports no other module of the crate. Exit codes are named here and nowhere
//! else as numbers.

use std::path::PathBuf;

/// Process exit codes, as `SPEC.md` defines them ("Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Internal,
    Usage,
    NotFound,
    Network,
    Verify,
    Archive,
    LocalFs,
    Offline,
    /// `outdated --exit-code`: an update exists; `lock --check`: the lock is out of date.
    Outdated,
    /// `hook build`: the build hook's own exit status, passed through (SPEC.md: "`hook build`
    /// exits with the hook's own status when the hook fails"). A hook killed by signal N is
    /// `128 + N`, as shells report it; one stopped at the time limit is [`Code::HOOK_TIMEOUT`].
    Hook(u8),
}

impl Code {
    /// The status of a hook stopped at `hook build`'s time limit: 124, as `timeout(1)` exits.
    pub const HOOK_TIMEOUT: Code = Code::Hook(124);

    /// The status of a hook killed by signal `signal`: `128 + signal`, as shells report it.
    pub fn hook_signal(signal: i32) -> Code {
        Code::Hook(u8::try_from(128 + signal.clamp(0, 127)).unwrap_or(u8::MAX))
    }

    pub fn as_u8(self) -> u8 {
        match self {
            Code::Internal => 1,
            Code::Usage => 2,
            Code::NotFound => 3,
            Code::Network => 4,
            Code::Verify => 5,
            Code::Archive => 6,
            Code::LocalFs => 7,
            Code::Offline => 8,
            Code::Outdated => 9,
            Code::Hook(status) => status,
        }
    }
}

/// An error that knows what it means to the user: the exit code and, where the user can act,
/// one line of advice printed as `hint: …`.
pub trait Diagnostic: std::error::Error {
    fn code(&self) -> Code;

    fn hint(&self) -> Option<String> {
        None
    }

    /// The process exit code.
    fn exit_code(&self) -> u8 {
        self.code().as_u8()
    }
}

/// Implements [`Diagnostic`] for an error enum each of whose variants wraps one diagnostic:
/// the code and the hint are the wrapped error's, so a hint survives every level it crosses.
#[macro_export]
macro_rules! delegate_diagnostic {
    ($ty:ty { $($variant:ident),+ $(,)? }) => {
        impl $crate::diag::Diagnostic for $ty {
            fn code(&self) -> $crate::diag::Code {
                match self {
                    $(Self::$variant(e) => $crate::diag::Diagnostic::code(e),)+
                }
            }

            fn hint(&self) -> Option<String> {
                match self {
                    $(Self::$variant(e) => $crate::diag::Diagnostic::hint(e),)+
                }
            }
        }
    };
}

/// `outdated --exit-code` found a newer release, or `lock --check` found the lock out of date
/// (exit 9).
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct Outdated {
    pub what: String,
    pub hint: String,
}

impl Diagnostic for Outdated {
    fn code(&self) -> Code {
        Code::Outdated
    }

    fn hint(&self) -> Option<String> {
        Some(self.hint.clone())
    }
}

/// A library's error chain told in one readable line (`cannot resolve github.com`,
/// `connection refused by 127.0.0.1:1`), kept as a cause with the chain below it. The report
/// prints this line and stops there; the library's own words follow only at `-v`.
#[derive(Debug)]
pub struct Summary {
    text: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl Summary {
    pub fn new(text: impl Into<String>, source: Box<dyn std::error::Error + Send + Sync>) -> Self {
        Summary {
            text: text.into(),
            source,
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Summary {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// The network is needed but `--offline` (or `HOOKSTRAP_OFFLINE`) forbids it (exit 8). `what`
/// is the SPEC to warm the cache with.
#[derive(Debug, thiserror::Error)]
#[error("`{what}` is not in the cache and `--offline` forbids the network")]
pub struct Offline {
    pub what: String,
}

impl Diagnostic for Offline {
    fn code(&self) -> Code {
        Code::Offline
    }

    fn hint(&self) -> Option<String> {
        Some(format!(
            "warm the cache while online with `hookstrap fetch {}`, or point `--mirror` at a `file://` mirror",
            self.what
        ))
    }
}

/// A release, or an asset of one, that is not there (exit 3): on GitHub, or on a mirror that
/// lacks it. Resolve (the release's listing or checksums) and fetch (the asset) both find it.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.message())]
pub struct Missing {
    /// `OWNER/REPO`.
    pub repo: String,
    pub tag: String,
    /// The asset, or `None` for the release itself.
    pub asset: Option<String>,
    /// The mirror asked (credentials hidden), or `None` for github.com.
    pub mirror: Option<String>,
    /// What `hookstrap fetch` needs to get it: `platform@5.10.8 --target linux_arm64`.
    pub fetch: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl Missing {
    fn message(&self) -> String {
        let Missing {
            repo, tag, asset, ..
        } = self;
        match (&self.mirror, asset) {
            (None, None) if tag == "latest" => format!("{repo} has no latest release"),
            (Some(m), None) if tag == "latest" => {
                format!("the mirror `{m}` names no latest release of {repo}")
            }
            (None, None) => format!("{repo} has no release {tag}"),
            (None, Some(asset)) => format!("the release {tag} of {repo} has no asset `{asset}`"),
            (Some(m), None) => format!("the mirror `{m}` has no release {tag} of {repo}"),
            (Some(m), Some(asset)) => format!("the mirror `{m}` has no `{asset}` of {repo} {tag}"),
        }
    }
}

impl Diagnostic for Missing {
    fn code(&self) -> Code {
        Code::NotFound
    }

    fn hint(&self) -> Option<String> {
        match (&self.mirror, &self.asset) {
            (Some(_), _) => Some(format!(
                "if github.com has it, the mirror is partial or stale: where github.com is reachable, run `hookstrap fetch {}`, then `hookstrap mirror DIR` into the mirror's tree",
                self.fetch
            )),
            (None, None) => Some(format!(
                "the releases there are: https://github.com/{}/releases",
                self.repo
            )),
            (None, Some(_)) => None,
        }
    }
}

/// Bad input on the command line, in a SPEC or in the lock file (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("invalid SPEC `{spec}`: {reason}")]
    BadSpec { spec: String, reason: String },
    #[error("unknown tool `{0}`")]
    UnknownTool(String),
    #[error("unsupported target `{0}`")]
    UnsupportedTarget(String),
    #[error("this machine ({os}/{arch}) has no Platform.sh CLI release")]
    UnsupportedHost { os: String, arch: String },
    #[error("malformed lock file `{path}` at line {line}, column {column}: {message}")]
    BadLock {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("lock file `{path}` pins no `{tool}` for target `{target}`")]
    LockMissing {
        path: PathBuf,
        tool: String,
        target: String,
    },
    #[error("`{asked}` asked, but the lock file `{}` pins {tool} {pinned}", path.display())]
    PinConflict {
        asked: String,
        path: PathBuf,
        tool: String,
        pinned: String,
    },
    #[error("invalid value `{value}` for `{name}`: {reason}")]
    BadValue {
        name: String,
        value: String,
        reason: String,
    },
    #[error("{0}")]
    Other(String),
}

impl Diagnostic for UsageError {
    fn code(&self) -> Code {
        Code::Usage
    }

    fn hint(&self) -> Option<String> {
        match self {
            UsageError::BadSpec { .. } => Some(
                "a SPEC is TOOL[@VERSION] (`platform`, `upsun@5.10.8`, `platform@latest`), github:OWNER/REPO[@TAG] or url:URL"
                    .into(),
            ),
            UsageError::UnknownTool(name) => Some(format!(
                "hookstrap knows `platform` and `upsun` by name; for another tool give its release, `github:OWNER/REPO[@TAG]` (e.g. `github:cli/cli`), or declare it in hookstrap.toml (`[tools]` then `{name} = {{ github = \"OWNER/REPO\" }}`) and name it `{name}`"
            )),
            UsageError::UnsupportedTarget(_) | UsageError::UnsupportedHost { .. } => Some(
                "supported targets: linux_amd64, linux_arm64, darwin_all, windows_amd64 (fetch and lock only)"
                    .into(),
            ),
            UsageError::PinConflict { tool, .. } => Some(format!(
                "move the pin with `hookstrap lock --upgrade {tool}` (or `hookstrap lock {tool}@VERSION`), then commit hookstrap.lock"
            )),
            UsageError::LockMissing { tool, target, .. } => Some(format!(
                "add it with `hookstrap lock {tool} --target {target}`"
            )),
            UsageError::BadLock { .. } => {
                Some("fix the file, or delete it and run `hookstrap lock` again".into())
            }
            _ => None,
        }
    }
}

/// The local filesystem said no (exit 7).
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("cannot {action} `{path}`")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("timed out after {secs}s waiting for the lock `{path}`")]
    LockTimeout { path: PathBuf, secs: u64 },
    #[error("the env file `{path}` holds a damaged hookstrap block: {reason}")]
    DamagedBlock { path: PathBuf, reason: String },
    #[error("`{path}` {reason}")]
    Refused { path: PathBuf, reason: String },
}

impl FsError {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FsError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl Diagnostic for FsError {
    fn code(&self) -> Code {
        Code::LocalFs
    }

    fn hint(&self) -> Option<String> {
        match self {
            FsError::LockTimeout { .. } => Some(
                "another hookstrap holds it; wait for it, or raise `HOOKSTRAP_LOCK_TIMEOUT` (seconds); a lock is freed as soon as its process ends"
                    .into(),
            ),
            FsError::DamagedBlock { .. } => Some(
                "remove the lines from `# >>> hookstrap >>>` to `# <<< hookstrap <<<` by hand, then run again"
                    .into(),
            ),
            FsError::Io { source, .. } if source.raw_os_error() == Some(28) => {
                Some("the disk is full: free some space and run again".into())
            }
            _ => None,
        }
    }
}

/// A file the user keeps (the lock file, the manifest) could not be read (exit 7) or is
/// malformed (`E`'s code, exit 2).
#[derive(Debug, thiserror::Error)]
pub enum FileError<E: Diagnostic + 'static> {
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error(transparent)]
    Bad(E),
}

impl<E: Diagnostic + 'static> Diagnostic for FileError<E> {
    fn code(&self) -> Code {
        match self {
            FileError::Fs(e) => e.code(),
            FileError::Bad(e) => e.code(),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            FileError::Fs(e) => e.hint(),
            FileError::Bad(e) => e.hint(),
        }
    }
}

/// Shorthand for the stages that wrap io errors with a path.
pub trait IoContext<T> {
    fn fs(self, action: &'static str, path: &std::path::Path) -> Result<T, FsError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn fs(self, action: &'static str, path: &std::path::Path) -> Result<T, FsError> {
        self.map_err(|e| FsError::io(action, path, e))
    }
}

/// 1-based line and column (in characters) of a byte offset, for errors in TOML files.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}
