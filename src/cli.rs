//! The command line, as clap sees it. Definitions only: meaning lives in `settings.rs` and
//! `commands.rs`.
//!
//! Options come in small groups ([`Locations`] pieces, [`NetworkArgs`], [`LimitArgs`]), each
//! attached to the subcommands that use it, so every subcommand's help lists only what it
//! reads. The output options ([`OutputArgs`]: `-q`, `-v`, `--json`, `--progress`) are global:
//! they may come before or after the subcommand. [`Cli::options`] folds whatever a command took
//! into one [`Options`] value, the rest at their defaults.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// `hookstrap --help`: the recipe most readers came for.
const RECIPE: &str = "\
In a build hook, with hookstrap's install.sh and a lock file committed to the app's repository:
    sh ./hookstrap-install.sh install
(README, \"In a build hook\": `sh hookstrap-install.sh lock platform` writes hookstrap.lock)";

#[derive(Debug, Parser)]
#[command(
    name = "hookstrap",
    version,
    about = "Install the Platform.sh / Upsun CLI in a build hook: pinned, verified, cached, atomic",
    after_help = RECIPE,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// What is printed and how: global, before or after the subcommand.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Print nothing on success
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say what was resolved and why, where each hash came from, cache hits, bytes and time
    /// (-vv: also each certificate file read)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Print one JSON object on stdout (see docs/json.md); on failure one with `error`, `code`
    /// and `hint`
    #[arg(long, global = true)]
    pub json: bool,
    /// Progress on stderr: `auto` draws a bar when stderr is a terminal and `CI` is not true;
    /// `always` draws one anyway (plain lines when stderr is not a terminal)
    #[arg(long, global = true, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Progress {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Locations")]
pub struct AppDirArg {
    /// The application directory [env: PLATFORM_APP_DIR] [default: current directory]
    #[arg(long, value_name = "DIR")]
    pub app_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Locations")]
pub struct BinDirArg {
    /// Where binaries go [env: HOOKSTRAP_BIN_DIR] [default: <app-dir>/.platformsh/bin]
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Locations")]
pub struct EnvFileArgs {
    /// The file that gets the PATH block [default: <app-dir>/.environment]
    #[arg(long, value_name = "FILE", conflicts_with = "no_env_file")]
    pub env_file: Option<PathBuf>,
    /// Do not touch any env file (on a laptop: put the bin dir on PATH yourself)
    #[arg(long)]
    pub no_env_file: bool,
}

#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Locations")]
pub struct CacheDirArg {
    /// The download cache [env: HOOKSTRAP_CACHE_DIR, then $PLATFORM_CACHE_DIR/hookstrap]
    /// [default: the user cache dir]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Locations")]
pub struct LockArg {
    /// The lock file [default: <app-dir>/hookstrap.lock when it exists]
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Network")]
pub struct NetworkArgs {
    /// Fetch from this mirror instead of https://github.com (https://, file://, loopback
    /// http://, or a directory) [env: HOOKSTRAP_MIRROR]
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Never use the network: only the cache and file:// mirrors [env: HOOKSTRAP_OFFLINE=1]
    #[arg(long)]
    pub offline: bool,
    /// Allow plain http:// to hosts other than loopback
    #[arg(long)]
    pub allow_http: bool,
    /// `latest` and `lock --upgrade` skip releases younger than this (`3d`, `12h`)
    /// [default: hookstrap.toml's `min_release_age`, else none]
    #[arg(long, value_name = "DURATION")]
    pub min_release_age: Option<String>,
}

#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Archive limits")]
pub struct LimitArgs {
    /// Largest total unpacked size: bytes, or with a unit (500MB, 2GiB)
    /// [env: HOOKSTRAP_MAX_UNPACKED] [default: 1GiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_unpacked: Option<u64>,
    /// Most entries an archive may hold [env: HOOKSTRAP_MAX_ENTRIES] [default: 10000]
    #[arg(long, value_name = "N")]
    pub max_entries: Option<u64>,
    /// Longest entry name an archive may hold, in bytes [env: HOOKSTRAP_MAX_PATH_LEN]
    /// [default: 4096]
    #[arg(long, value_name = "BYTES")]
    pub max_path_len: Option<usize>,
}

/// How many tools and targets are worked on at once.
#[derive(Debug, Clone, Default, Args)]
pub struct JobsArg {
    /// Tools and targets worked on at once by install, fetch and lock [env: HOOKSTRAP_JOBS]
    /// [default: 8]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// How a SPEC's tool is picked and named, as the manifest's `bin` and `asset` say.
#[derive(Debug, Clone, Default, Args)]
pub struct Pick {
    /// The command's name in the bin dir [default: the program the archive holds]
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// A `*` pattern that picks the GitHub release asset, e.g. `gh_*_linux_amd64.tar.gz`
    #[arg(long, value_name = "PATTERN")]
    pub asset: Option<String>,
}

fn parse_size(text: &str) -> Result<u64, String> {
    crate::size::parse(text)
}

/// Every option at once, as `settings` reads them: what the command took, the rest at their
/// defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub output: OutputArgs,
    pub app_dir: AppDirArg,
    pub bin_dir: BinDirArg,
    pub env_file: EnvFileArgs,
    pub cache_dir: CacheDirArg,
    pub lock: LockArg,
    pub network: NetworkArgs,
    pub limits: LimitArgs,
    pub jobs: JobsArg,
}

impl Cli {
    /// The options the command was given, folded into one value.
    pub fn options(&self) -> Options {
        let mut o = Options {
            output: self.output.clone(),
            ..Options::default()
        };
        match &self.command {
            Command::Install(a) => {
                o.app_dir = a.app_dir.clone();
                o.bin_dir = a.bin_dir.clone();
                o.env_file = a.env_file.clone();
                o.cache_dir = a.cache_dir.clone();
                o.lock = a.lock.clone();
                o.network = a.network.clone();
                o.limits = a.limits.clone();
                o.jobs = a.jobs.clone();
            }
            Command::Fetch(a) => {
                o.app_dir = a.app_dir.clone();
                o.cache_dir = a.cache_dir.clone();
                o.lock = a.lock.clone();
                o.network = a.network.clone();
                o.jobs = a.jobs.clone();
            }
            Command::Lock(a) => {
                o.app_dir = a.app_dir.clone();
                o.cache_dir = a.cache_dir.clone();
                o.lock = a.lock.clone();
                o.network = a.network.clone();
                o.limits = a.limits.clone();
                o.jobs = a.jobs.clone();
            }
            Command::Outdated(a) => {
                o.app_dir = a.app_dir.clone();
                o.bin_dir = a.bin_dir.clone();
                o.cache_dir = a.cache_dir.clone();
                o.lock = a.lock.clone();
                o.network = a.network.clone();
            }
            Command::Hook { action } => {
                if let HookAction::Build {
                    app_dir,
                    cache_dir,
                    network,
                    ..
                } = action
                {
                    o.app_dir = app_dir.clone();
                    o.cache_dir = cache_dir.clone();
                    o.network = network.clone();
                }
            }
            Command::Cache { action } => {
                o.cache_dir = action.cache_dir().clone();
                if let CacheAction::Verify { limits, .. } = action {
                    o.limits = limits.clone();
                }
            }
            Command::Mirror { cache_dir, .. } => o.cache_dir = cache_dir.clone(),
            Command::Env(a) => {
                o.app_dir = a.app_dir.clone();
                o.bin_dir = a.bin_dir.clone();
                o.env_file = a.env_file.clone();
                o.cache_dir = a.cache_dir.clone();
                o.lock = a.lock.clone();
                o.network = a.network.clone();
            }
            Command::List { app_dir, bin_dir } => {
                o.app_dir = app_dir.clone();
                o.bin_dir = bin_dir.clone();
            }
            Command::Uninstall {
                app_dir,
                bin_dir,
                env_file,
                ..
            } => {
                o.app_dir = app_dir.clone();
                o.bin_dir = bin_dir.clone();
                o.env_file = env_file.clone();
            }
            Command::Completions { .. } => {}
        }
        o
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve, fetch, verify, unpack, place, and write the env file
    #[command(after_long_help = "\
Examples:
  hookstrap install                        # what hookstrap.toml or hookstrap.lock names, else platform@latest
  hookstrap install platform@5.10.8 jq     # a pinned CLI and a tool declared in hookstrap.toml
  hookstrap install --no-env-file --bin-dir ~/.local/bin github:jqlang/jq   # on a laptop")]
    Install(InstallArgs),
    /// Resolve, fetch and verify into the cache only (cache warming)
    #[command(after_long_help = "\
Examples:
  hookstrap fetch                          # what the lock file pins, for this machine
  hookstrap fetch platform@5.10.8 --target linux_amd64 --target linux_arm64 --target darwin_all
  hookstrap fetch --json | jq -r .sha256")]
    Fetch(FetchArgs),
    /// Pin url, sha256 and size per target into the lock file
    #[command(after_long_help = "\
Examples:
  hookstrap lock platform                  # pin the newest CLI for this machine
  hookstrap lock --target linux_amd64 --target linux_arm64   # re-pin everything for two targets
  hookstrap lock platform@latest           # move the CLI's pin to the newest release")]
    Lock(LockArgs),
    /// Inspect and maintain the cache
    #[command(after_long_help = "\
Examples:
  hookstrap cache list
  hookstrap cache verify                   # re-hash everything; exit 5 naming any damaged blob
  hookstrap cache prune --older-than 30")]
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Write the cache out as a static mirror tree (github.com's layout)
    #[command(after_long_help = "\
Examples:
  hookstrap fetch platform@5.10.8 --target linux_amd64 --target linux_arm64
  hookstrap mirror /srv/hookstrap-mirror
  hookstrap install --mirror https://mirror.internal.example   # on the other machines")]
    Mirror {
        /// Where to write the tree (created if needed; files already there are kept)
        dir: PathBuf,
        #[command(flatten)]
        cache_dir: CacheDirArg,
    },
    /// Print what was detected: dirs, target, variables in effect
    #[command(after_long_help = "\
Examples:
  hookstrap env
  hookstrap env --json | jq -r .cache_dir")]
    Env(EnvArgs),
    /// List the installed tools: name, version, target, path
    #[command(after_long_help = "\
Examples:
  hookstrap list
  hookstrap list --json | jq -r '.artifacts[].bin'")]
    List {
        #[command(flatten)]
        app_dir: AppDirArg,
        #[command(flatten)]
        bin_dir: BinDirArg,
    },
    /// Print a shell completion script (a script: `--json` does not apply)
    #[command(after_long_help = "\
Examples:
  hookstrap completions bash > /etc/bash_completion.d/hookstrap
  hookstrap completions zsh > \"${fpath[1]}/_hookstrap\"
  hookstrap completions fish > ~/.config/fish/completions/hookstrap.fish")]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Remove installed tools and, when none is left, the env block
    #[command(after_long_help = "\
Examples:
  hookstrap uninstall gh                   # one tool; the PATH block stays while others remain
  hookstrap uninstall                      # everything, and the PATH block")]
    Uninstall {
        /// Tools to remove (default: all)
        tools: Vec<String>,
        #[command(flatten)]
        app_dir: AppDirArg,
        #[command(flatten)]
        bin_dir: BinDirArg,
        #[command(flatten)]
        env_file: EnvFileArgs,
    },
    /// Each tool's pinned (or installed) version and the newest release
    #[command(after_long_help = "\
Examples:
  hookstrap outdated                       # tool, pinned, newest, behind|current
  hookstrap outdated --exit-code           # exit 9 when anything is behind (for CI)
  hookstrap lock --upgrade                 # then move the pins")]
    Outdated(OutdatedArgs),
    /// Reproduce the platform's build hook on this machine
    #[command(after_long_help = "\
Examples:
  hookstrap hook build                     # the only app, as committed, under dash
  hookstrap hook build --app api --keep    # keep the build dir and print its path
  hookstrap hook build --offline           # prove a warm cache and a lock suffice")]
    Hook {
        #[command(subcommand)]
        action: HookAction,
    },
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// TOOL[@VERSION] (platform, upsun@5.10.8, a tool of hookstrap.toml),
    /// github:OWNER/REPO[@TAG] or url:URL [default: hookstrap.toml's tools, else the lock
    /// file's, else platform@latest]
    pub specs: Vec<String>,
    /// Install another target's binary (linux_amd64, linux_arm64, darwin_all) [default: this
    /// machine's]
    #[arg(long, value_name = "T")]
    pub target: Option<String>,
    /// The SHA-256 the one SPEC's archive must have (needed for url: SPECs)
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    #[command(flatten)]
    pub app_dir: AppDirArg,
    #[command(flatten)]
    pub bin_dir: BinDirArg,
    #[command(flatten)]
    pub env_file: EnvFileArgs,
    #[command(flatten)]
    pub cache_dir: CacheDirArg,
    #[command(flatten)]
    pub lock: LockArg,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub pick: Pick,
    #[command(flatten)]
    pub jobs: JobsArg,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// TOOL[@VERSION], github:OWNER/REPO[@TAG] or url:URL [default: hookstrap.toml's tools,
    /// else the lock file's, else platform@latest]
    pub specs: Vec<String>,
    /// Targets to fetch: linux_amd64, linux_arm64, darwin_all, windows_amd64 (repeatable)
    /// [default: this machine's]
    #[arg(long = "target", value_name = "T")]
    pub targets: Vec<String>,
    /// The SHA-256 the one SPEC's archive must have (needed for url: SPECs)
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    #[command(flatten)]
    pub app_dir: AppDirArg,
    #[command(flatten)]
    pub cache_dir: CacheDirArg,
    #[command(flatten)]
    pub lock: LockArg,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub pick: Pick,
    #[command(flatten)]
    pub jobs: JobsArg,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// TOOL[@VERSION], github:OWNER/REPO[@TAG] or url:URL to pin [default: hookstrap.toml's
    /// tools, else what the lock file pins, else platform@latest]
    pub specs: Vec<String>,
    /// Targets to pin (repeatable) [default: the manifest's `targets`, else this machine's]
    #[arg(long = "target", value_name = "T")]
    pub targets: Vec<String>,
    /// The SHA-256 the one SPEC's archive must have (needed for url: SPECs)
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    #[command(flatten)]
    pub app_dir: AppDirArg,
    #[command(flatten)]
    pub cache_dir: CacheDirArg,
    #[command(flatten)]
    pub lock: LockArg,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub pick: Pick,
    #[command(flatten)]
    pub jobs: JobsArg,
    /// Move pins to the newest release the manifest allows (all tools, or the TOOLs named)
    /// and print `tool old → new` per change
    #[arg(long, conflicts_with = "check")]
    pub upgrade: bool,
    /// Exit 9 unless the lock covers exactly the manifest's tools and targets, at versions it
    /// allows; no network (for CI)
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub app_dir: AppDirArg,
    #[command(flatten)]
    pub bin_dir: BinDirArg,
    #[command(flatten)]
    pub env_file: EnvFileArgs,
    #[command(flatten)]
    pub cache_dir: CacheDirArg,
    #[command(flatten)]
    pub lock: LockArg,
    #[command(flatten)]
    pub network: NetworkArgs,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Print the cache directory
    Dir {
        #[command(flatten)]
        cache_dir: CacheDirArg,
    },
    /// One line per cached artifact: tool, version, target, size, last use, sha256
    List {
        #[command(flatten)]
        cache_dir: CacheDirArg,
    },
    /// Re-hash every blob and kept binary; exit 5 naming any damaged one (and remove it)
    Verify {
        #[command(flatten)]
        cache_dir: CacheDirArg,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Remove what has not been used recently (default: for 30 days)
    Prune {
        /// Remove what has not been used for this many days [default: 30]
        #[arg(long, value_name = "DAYS", conflicts_with = "all")]
        older_than: Option<u64>,
        /// Remove everything (safe while another build is installing)
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        cache_dir: CacheDirArg,
    },
}

impl CacheAction {
    fn cache_dir(&self) -> &CacheDirArg {
        match self {
            CacheAction::Dir { cache_dir }
            | CacheAction::List { cache_dir }
            | CacheAction::Verify { cache_dir, .. }
            | CacheAction::Prune { cache_dir, .. } => cache_dir,
        }
    }
}

#[derive(Debug, Args)]
pub struct OutdatedArgs {
    /// Tools to check [default: the lock's, else the manifest's, else the installed ones]
    pub tools: Vec<String>,
    /// Exit 9 when any tool is behind
    #[arg(long)]
    pub exit_code: bool,
    #[command(flatten)]
    pub app_dir: AppDirArg,
    #[command(flatten)]
    pub bin_dir: BinDirArg,
    #[command(flatten)]
    pub cache_dir: CacheDirArg,
    #[command(flatten)]
    pub lock: LockArg,
    #[command(flatten)]
    pub network: NetworkArgs,
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
        #[command(flatten)]
        app_dir: AppDirArg,
        #[command(flatten)]
        cache_dir: CacheDirArg,
        #[command(flatten)]
        network: NetworkArgs,
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
