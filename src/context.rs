//! Everything hookstrap reads from its surroundings, read once: the working directory, the
//! environment variables it honours, the user cache dir, whether stderr is a terminal, and, for
//! `hook build`, the running executable, `PATH`, `HOME` and the temporary directory.
//!
//! No other module calls `std::env`; tests and library users build a [`Context`] by hand.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

/// The variables hookstrap honours (SPEC.md, "Options and environment").
pub const VARIABLES: &[&str] = &[
    "PLATFORM_APP_DIR",
    "PLATFORM_CACHE_DIR",
    "HOOKSTRAP_BIN_DIR",
    "HOOKSTRAP_CACHE_DIR",
    "HOOKSTRAP_MIRROR",
    "HOOKSTRAP_OFFLINE",
    "HOOKSTRAP_RETRIES",
    "HOOKSTRAP_TIMEOUT",
    "HOOKSTRAP_MAX_UNPACKED",
    "HOOKSTRAP_MAX_ENTRIES",
    "HOOKSTRAP_MAX_PATH_LEN",
    "HOOKSTRAP_LOCK_TIMEOUT",
    "HOOKSTRAP_RETRY_MAX_DELAY",
    "HOOKSTRAP_JOBS",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NO_COLOR",
    "CI",
];

/// Variables whose values are secrets: shown only as set/unset.
pub const SECRET_VARIABLES: &[&str] = &["GITHUB_TOKEN", "GH_TOKEN"];

#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The process's working directory.
    pub cwd: PathBuf,
    /// The honoured variables that are set (empty values count as unset).
    pub vars: BTreeMap<String, String>,
    /// The per-user cache dir from `directories`, if the platform has one.
    pub user_cache_dir: Option<PathBuf>,
    /// Whether stderr is a terminal (progress bars only go there).
    pub stderr_is_tty: bool,
    /// `HOOKSTRAP_FAULT_PAUSE`, read only by the test build (`src/fault.rs`).
    pub fault_pause: Option<String>,
    /// The running hookstrap executable: `hook build` puts its directory first on the hook's
    /// `PATH` and re-executes it to confine the hook.
    pub exe: Option<PathBuf>,
    /// `PATH`, which `hook build` hands to the hook (after the executable's directory).
    pub search_path: Option<String>,
    /// `HOME`, which `hook build` watches for writes the hook should not make.
    pub home: Option<PathBuf>,
    /// The directory for temporary files (`TMPDIR`, else `/tmp`): `hook build`'s default
    /// build dir lives there.
    pub temp_dir: PathBuf,
}

/// The command line as given (for clap, and to know `--json` was asked even when it does not
/// parse).
pub fn args() -> Vec<std::ffi::OsString> {
    std::env::args_os().collect()
}

impl Context {
    /// Reads the real process environment. The only place `std::env` is touched.
    pub fn from_process() -> std::io::Result<Self> {
        let cwd = std::env::current_dir()?;
        let vars = VARIABLES
            .iter()
            .filter_map(|name| {
                std::env::var(name)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .map(|v| ((*name).to_string(), v))
            })
            .collect();
        let user_cache_dir = directories::ProjectDirs::from("", "", "hookstrap")
            .map(|dirs| dirs.cache_dir().to_path_buf());
        Ok(Context {
            cwd,
            vars,
            user_cache_dir,
            stderr_is_tty: std::io::stderr().is_terminal(),
            fault_pause: if cfg!(feature = "fault-injection") {
                std::env::var("HOOKSTRAP_FAULT_PAUSE").ok()
            } else {
                None
            },
            exe: std::env::current_exe().ok(),
            search_path: std::env::var("PATH").ok().filter(|v| !v.is_empty()),
            home: std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            temp_dir: std::env::temp_dir(),
        })
    }

    /// A set, non-empty variable.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The first of an upper-case variable and its lower-case twin that is set.
    pub fn var_any_case(&self, upper: &str) -> Option<&str> {
        self.var(upper)
            .or_else(|| self.var(&upper.to_ascii_lowercase()))
    }

    /// A boolean switch: set to anything but `0`, `false` or `no`.
    pub fn flag(&self, name: &str) -> bool {
        self.var(name)
            .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "no"))
    }
}
