//! The error type of every stage, and the exit code each one maps to (`SPEC.md`, "Exit codes").
//!
//! Each stage owns a small `thiserror` enum; [`Error`] only gathers them. A message says what
//! failed, with the path or URL in backticks and no trailing period; the cause lives in
//! `#[source]` and is printed by `main` as `Caused by:` lines, never repeated in the message.

use std::path::PathBuf;

use crate::extract::ExtractError;
use crate::http::HttpError;
use crate::verify::VerifyError;

/// Process exit codes, as `SPEC.md` defines them.
pub mod code {
    pub const INTERNAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const NETWORK: u8 = 4;
    pub const VERIFY: u8 = 5;
    pub const ARCHIVE: u8 = 6;
    pub const LOCAL_FS: u8 = 7;
    pub const OFFLINE: u8 = 8;
}

/// Everything `hookstrap::run` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error("`{what}` is not in the cache and `--offline` forbids the network")]
    Offline { what: String },
    #[error(transparent)]
    Choose(#[from] crate::github::ChooseError),
    #[error(transparent)]
    NoHash(#[from] crate::github::NoHashError),
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error("`{what}` has no pinned SHA-256, and a URL publishes none")]
    Unpinned { what: String },
    #[error("the archive holds no usable `{name}`: it {reason}")]
    BinaryMissing { name: String, reason: String },
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => code::USAGE,
            Error::Http(e) => e.exit_code(),
            Error::Verify(_) => code::VERIFY,
            Error::Extract(e) => e.exit_code(),
            Error::Fs(_) => code::LOCAL_FS,
            Error::Offline { .. } => code::OFFLINE,
            Error::BinaryMissing { .. } => code::ARCHIVE,
            Error::Choose(e) => e.exit_code(),
            Error::NoHash(e) => e.exit_code(),
            Error::Manifest(e) => e.exit_code(),
            Error::Unpinned { .. } => code::VERIFY,
            Error::Internal(_) => code::INTERNAL,
        }
    }

    /// A line the user can act on, printed after the error as `hint: …`.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Usage(e) => e.hint(),
            Error::Http(e) => e.hint(),
            Error::Verify(e) => e.hint(),
            Error::Extract(e) => e.hint(),
            Error::Fs(e) => e.hint(),
            Error::Offline { what } => Some(format!(
                "warm the cache while online with `hookstrap fetch {what}`, or point `--mirror` at a `file://` mirror"
            )),
            Error::Choose(e) => e.hint(),
            Error::NoHash(e) => e.hint(),
            Error::Manifest(e) => e.hint(),
            Error::Unpinned { .. } => Some(
                "refusing to install it unverified: pass `--sha256 HEX`, set `sha256` in hookstrap.toml, or pin it in the lock file"
                    .into(),
            ),
            Error::BinaryMissing { .. } | Error::Internal(_) => None,
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
    #[error("invalid value `{value}` for `{name}`: {reason}")]
    BadValue {
        name: String,
        value: String,
        reason: String,
    },
    #[error("{0}")]
    Other(String),
}

impl UsageError {
    fn hint(&self) -> Option<String> {
        match self {
            UsageError::BadSpec { .. } | UsageError::UnknownTool(_) => Some(
                "a SPEC is TOOL[@VERSION], e.g. `platform`, `upsun@5.10.8`, `platform@latest`"
                    .into(),
            ),
            UsageError::UnsupportedTarget(_) | UsageError::UnsupportedHost { .. } => Some(
                "supported targets: linux_amd64, linux_arm64, darwin_all, windows_amd64 (fetch and lock only)"
                    .into(),
            ),
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

/// Shorthand for the stages that wrap io errors with a path.
pub trait IoContext<T> {
    fn fs(self, action: &'static str, path: &std::path::Path) -> Result<T, FsError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn fs(self, action: &'static str, path: &std::path::Path) -> Result<T, FsError> {
        self.map_err(|e| FsError::io(action, path, e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// 1-based line and column (in characters) of a byte offset, for errors in TOML files.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}
