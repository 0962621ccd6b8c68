//! The aggregate error: what `hookstrap::run` can fail with, gathered from every stage's own
//! error type. Only the top (`lib`, `commands`, `main`) sees it; each stage returns its own
//! enum and knows its exit codes and hints through [`Diagnostic`], which this type delegates to.

use crate::diag::{Code, Diagnostic, FsError, Offline, Outdated, UsageError};
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
    /// One of several tools (or targets) failed: which one, and why (its cause decides the
    /// exit code and the hint).
    #[error("cannot {action} `{what}`")]
    Job {
        action: &'static str,
        what: String,
        #[source]
        source: Box<Error>,
    },
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

impl Error {
    fn inner(&self) -> &dyn Diagnostic {
        match self {
            Error::Usage(e) => e,
            Error::Fs(e) => e,
            Error::Offline(e) => e,
            Error::Outdated(e) => e,
            Error::Http(e) => e,
            Error::Verify(e) => e,
            Error::Resolve(e) => e,
            Error::Fetch(e) => e,
            Error::Extract(e) => e,
            Error::Find(e) => e,
            Error::Install(e) => e,
            Error::Hook(e) => e,
            Error::Job { source, .. } => source.as_ref(),
        }
    }
}

// Not `delegate_diagnostic!`: `Job` wraps a whole `Error`, whose code and hint are its cause's.
impl Diagnostic for Error {
    fn code(&self) -> Code {
        self.inner().code()
    }

    fn hint(&self) -> Option<String> {
        self.inner().hint()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
