//! The aggregate error: what `hookstrap::run` can fail with, gathered from every stage's own
//! error type. Only the top (`lib`, `commands`, `main`) sees it; each stage returns its own
//! enum and knows its exit codes and hints through [`Diagnostic`], which this type delegates to.

use crate::diag::{FsError, Offline, Outdated, UsageError};
use crate::fetch::FetchError;
use crate::hook::HookError;
use crate::http::HttpError;
use crate::install::InstallError;
use crate::resolve::ResolveError;
use crate::unpack::{ExtractError, FindError};
use crate::verify::VerifyError;

/// Everything `hookstrap::run` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error(transparent)]
    Offline(#[from] Offline),
    #[error(transparent)]
    Outdated(#[from] Outdated),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Find(#[from] FindError),
    #[error(transparent)]
    Install(#[from] InstallError),
    /// `hook build`; a failing hook's exit status becomes the process's ([`Code::Hook`]).
    #[error(transparent)]
    Hook(#[from] HookError),
}

impl From<crate::diag::FileError<UsageError>> for Error {
    fn from(e: crate::diag::FileError<UsageError>) -> Self {
        Error::Resolve(e.into())
    }
}

impl From<crate::diag::FileError<crate::resolve::manifest::ManifestError>> for Error {
    fn from(e: crate::diag::FileError<crate::resolve::manifest::ManifestError>) -> Self {
        Error::Resolve(e.into())
    }
}

crate::delegate_diagnostic!(Error {
    Usage,
    Fs,
    Offline,
    Outdated,
    Http,
    Verify,
    Resolve,
    Fetch,
    Extract,
    Find,
    Install,
    Hook
});

pub type Result<T, E = Error> = std::result::Result<T, E>;
