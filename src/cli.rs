//! The command line, as clap sees it. Definitions only: meaning lives in `lib.rs`.

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
        /// TOOL[@VERSION] (platform, upsun@5.10.8), github:OWNER/REPO[@TAG] or url:URL
        specs: Vec<String>,
        /// Install another target's binary (default: this machine's)
        #[arg(long, value_name = "T")]
        target: Option<String>,
        /// The SHA-256 the one SPEC's archive must have (needed for url: SPECs)
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
    },
    /// Resolve, fetch and verify into the cache only (cache warming)
    Fetch {
        specs: Vec<String>,
        /// Targets to fetch (repeatable; default: this machine's)
        #[arg(long = "target", value_name = "T")]
        targets: Vec<String>,
        /// The SHA-256 the one SPEC's archive must have (needed for url: SPECs)
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
    },
    /// Pin url, sha256 and size per target into the lock file
    Lock {
        specs: Vec<String>,
        /// Targets to pin (repeatable; default: the manifest's `targets`, else this machine's)
        #[arg(long = "target", value_name = "T")]
        targets: Vec<String>,
        /// The SHA-256 the one SPEC's archive must have (needed for url: SPECs)
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
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
