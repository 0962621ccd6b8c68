//! The command line, as clap sees it. Definitions only: meaning lives in `lib.rs`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "hookstrap",
    version,
    about = "Install the Platform.sh / Upsun CLI in a build hook: pinned, verified, cached, atomic",
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The application directory [env: PLATFORM_APP_DIR] [default: current directory]
    #[arg(long, global = true, value_name = "DIR")]
    pub app_dir: Option<PathBuf>,
    /// Where binaries go [env: HOOKSTRAP_BIN_DIR] [default: <app-dir>/.platformsh/bin]
    #[arg(long, global = true, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// The file that gets the PATH block [default: <app-dir>/.environment]
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        conflicts_with = "no_env_file"
    )]
    pub env_file: Option<PathBuf>,
    /// Do not touch any env file
    #[arg(long, global = true)]
    pub no_env_file: bool,
    /// The download cache [env: HOOKSTRAP_CACHE_DIR, then $PLATFORM_CACHE_DIR/hookstrap]
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Fetch from this mirror instead of https://github.com (https://, file://, loopback http://) [env: HOOKSTRAP_MIRROR]
    #[arg(long, global = true, value_name = "URL")]
    pub mirror: Option<String>,
    /// The lock file [default: <app-dir>/hookstrap.lock when it exists]
    #[arg(long, global = true, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// `latest` and `lock --upgrade` skip releases younger than this (`3d`, `12h`)
    /// [default: hookstrap.toml's `min_release_age`, else none]
    #[arg(long, global = true, value_name = "DURATION")]
    pub min_release_age: Option<String>,
    /// Never use the network: only the cache and file:// mirrors [env: HOOKSTRAP_OFFLINE=1]
    #[arg(long, global = true)]
    pub offline: bool,
    /// Progress bars on stderr
    #[arg(long, global = true, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
    /// Print nothing on success
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more about what happens
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Print one JSON object on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Allow plain http:// to hosts other than loopback
    #[arg(long, global = true)]
    pub allow_http: bool,
    /// Largest total unpacked size in bytes [env: HOOKSTRAP_MAX_UNPACKED] [default: 1 GiB]
    #[arg(long, global = true, value_name = "BYTES")]
    pub max_unpacked: Option<u64>,
    /// Most entries an archive may hold [env: HOOKSTRAP_MAX_ENTRIES] [default: 10000]
    #[arg(long, global = true, value_name = "N")]
    pub max_entries: Option<u64>,
    /// Longest entry name an archive may hold, in bytes [env: HOOKSTRAP_MAX_PATH_LEN] [default: 4096]
    #[arg(long, global = true, value_name = "BYTES")]
    pub max_path_len: Option<usize>,
    /// Tools and targets worked on at once by install, fetch and lock [env: HOOKSTRAP_JOBS] [default: 8]
    #[arg(short, long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve, fetch, verify, unpack, place, and write the env file
    Install {
        /// TOOL[@VERSION] (platform, upsun@5.10.8), a tool of hookstrap.toml by its key,
        /// github:OWNER/REPO[@TAG] or url:URL
        specs: Vec<String>,
        /// Install another target's binary into another bin dir, without touching the env file
        /// (default: this machine's)
        #[arg(long, value_name = "T")]
        target: Option<String>,
        /// The SHA-256 the one SPEC's archive must have (needed for url: SPECs)
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
        #[command(flatten)]
        pick: Pick,
    },
    /// Resolve, fetch and verify into the cache only (cache warming)
    Fetch {
        /// What to fetch: SPECs as for `install` (default: the manifest's, else the lock's tools)
        specs: Vec<String>,
        /// Targets to fetch (repeatable; default: this machine's)
        #[arg(long = "target", value_name = "T")]
        targets: Vec<String>,
        /// The SHA-256 the one SPEC's archive must have (needed for url: SPECs)
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
        #[command(flatten)]
        pick: Pick,
    },
    /// Pin url, sha256 and size per target into the lock file
    Lock {
        /// What to pin: SPECs as for `install` (default: the manifest's tools, else the lock's)
        specs: Vec<String>,
        /// Targets to pin (repeatable; default: the manifest's `targets`, else this machine's)
        #[arg(long = "target", value_name = "T")]
        targets: Vec<String>,
        /// The SHA-256 the one SPEC's archive must have (needed for url: SPECs)
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
        #[command(flatten)]
        pick: Pick,
        /// Move pins to the newest release the manifest allows (all tools, or the TOOLs named)
        /// and print `tool old → new` per change
        #[arg(long, conflicts_with = "check")]
        upgrade: bool,
        /// Exit 9 unless the lock covers exactly the manifest's tools and targets, at versions
        /// it allows; no network (for CI)
        #[arg(long)]
        check: bool,
    },
    /// Each tool's pinned (or installed) version and the newest release
    Outdated {
        /// Tools to check (default: the lock's, else the manifest's, else the installed ones)
        tools: Vec<String>,
        /// Exit 9 when any tool is behind
        #[arg(long)]
        exit_code: bool,
    },
    /// Inspect and maintain the cache
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Write the cache out as a static mirror tree (github.com's layout)
    Mirror {
        /// Where to write the tree
        dir: PathBuf,
    },
    /// Print what was detected: dirs, target, variables in effect
    Env,
    /// List the installed tools: name, version, target, path
    List,
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Remove installed tools and, when none is left, the env block
    Uninstall {
        /// Tools to remove (default: all)
        tools: Vec<String>,
    },
    /// Reproduce the platform's build hook on this machine
    Hook {
        #[command(subcommand)]
        action: HookAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// Run the app's build hook locally as the platform would: on a copy of what is committed,
    /// under dash, with the platform's variables (`--offline` also applies)
    Build {
        /// The application to build (default: the only one)
        #[arg(long, value_name = "NAME")]
        app: Option<String>,
        /// The project: where `.upsun/` or `.platform/` lives [default: the nearest such directory up to the git repository's top level, else the current directory]
        #[arg(long, value_name = "DIR")]
        source: Option<PathBuf>,
        /// Build here (absent or empty) instead of a fresh temporary directory
        #[arg(long, value_name = "DIR")]
        build_dir: Option<PathBuf>,
        /// Keep the build dir and print its path on stdout
        #[arg(long)]
        keep: bool,
        /// Project variables for PLATFORM_VARIABLES: a JSON object or KEY=VALUE lines; `env:NAME` keys are also exported as NAME
        #[arg(long, value_name = "FILE")]
        var_file: Option<PathBuf>,
        /// Stop the hook after this long: 90s, 5m, 1h, or seconds
        #[arg(long, value_name = "DURATION", default_value = "1h")]
        timeout: String,
    },
    /// Internal (run by `hook build`): confine writes to the given places with Landlock, record
    /// whether that worked in STATUS, then execute PROGRAM
    #[command(hide = true)]
    Confine {
        /// A place the program may write to (repeatable)
        #[arg(long = "write", value_name = "PATH")]
        writable: Vec<PathBuf>,
        /// Where to record whether the confinement holds
        #[arg(long, value_name = "FILE")]
        status: PathBuf,
        /// The program and its arguments
        #[arg(last = true, required = true, value_name = "PROGRAM")]
        command: Vec<OsString>,
    },
}

/// How a SPEC's tool is picked and named, as the manifest's `bin` and `asset` say.
#[derive(Debug, Clone, Default, Args)]
pub struct Pick {
    /// The command's name in the bin dir (default: the program the archive holds)
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// A `*` pattern that picks the GitHub release asset, e.g. `gh_*_linux_amd64.tar.gz`
    #[arg(long, value_name = "PATTERN")]
    pub asset: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Print the cache directory
    Dir,
    /// One line per cached artifact: tool, version, target, size, last use
    List,
    /// Re-hash every blob; exit 5 naming any damaged one
    Verify,
    /// Remove blobs not used recently
    Prune {
        /// Remove blobs unused for this many days
        #[arg(long, value_name = "DAYS", conflicts_with = "all")]
        older_than: Option<u64>,
        /// Remove every blob
        #[arg(long)]
        all: bool,
    },
}
