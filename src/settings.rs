//! Flags, variables and defaults folded into one value: flag wins over variable wins over
//! default (SPEC.md, "Options and environment"). Relative paths are made absolute against the
//! working directory here, once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{Options, Progress};
use crate::context::Context;
use crate::diag::UsageError;
use crate::http::{HttpConfig, ProxyConfig};
use crate::report::ProgressMode;
use crate::resolve::GITHUB;
use crate::unpack::Limits;

pub struct Settings {
    pub app_dir: PathBuf,
    pub bin_dir: PathBuf,
    /// Whether `--bin-dir` or `HOOKSTRAP_BIN_DIR` named the bin dir.
    pub bin_dir_given: bool,
    pub env_file: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub mirror: String,
    /// The lock file to read: `--lock`, else `<app-dir>/hookstrap.lock` when it exists.
    pub lock_path: Option<PathBuf>,
    lock_explicit: Option<PathBuf>,
    pub quiet: bool,
    /// `-v` counted: 1 says what was resolved and why, 2 adds per-file detail.
    pub verbosity: u8,
    pub json: bool,
    pub progress: ProgressMode,
    pub http: HttpConfig,
    pub limits: Limits,
    pub lock_timeout: Duration,
    /// `--min-release-age`.
    pub min_release_age: Option<Duration>,
    /// How many tools and targets `install`, `fetch` and `lock` work on at once.
    pub jobs: usize,
}

/// `--jobs` by default. A build hook's time goes into round trips (`latest`, the listing, the
/// checksum file, the download's first byte), not bandwidth or CPU, so overlapping them is what
/// pays; 8 covers a typical manifest in one wave (so five tools cost about one). More would
/// only add gunzip threads competing for a build container's few cores, connections GitHub
/// may throttle (browsers open 6 per host), and memory: each job holds at most ~5 MiB of
/// download in flight, so 8 jobs stay well under 64 MiB whatever the archives' sizes.
pub const DEFAULT_JOBS: usize = 8;

fn number<T: std::str::FromStr>(ctx: &Context, name: &str) -> Result<Option<T>, UsageError> {
    ctx.var(name)
        .map(|v| {
            v.trim().parse::<T>().map_err(|_| UsageError::BadValue {
                name: name.to_string(),
                value: v.to_string(),
                reason: "expected a whole number".into(),
            })
        })
        .transpose()
}

/// A size with an optional unit (`1GiB`, `500MB`, plain bytes), as the flag takes it.
fn size(ctx: &Context, name: &str) -> Result<Option<u64>, UsageError> {
    ctx.var(name)
        .map(|v| {
            crate::size::parse(v).map_err(|reason| UsageError::BadValue {
                name: name.to_string(),
                value: v.to_string(),
                reason,
            })
        })
        .transpose()
}

impl Settings {
    pub fn new(o: &Options, ctx: &Context) -> Result<Settings, UsageError> {
        let abs = |p: &Path| absolute(ctx, p);
        let app_dir = abs(&o
            .app_dir
            .app_dir
            .clone()
            .or_else(|| ctx.var("PLATFORM_APP_DIR").map(PathBuf::from))
            .unwrap_or_else(|| ctx.cwd.clone()));
        let bin_dir_given = o.bin_dir.bin_dir.is_some() || ctx.var("HOOKSTRAP_BIN_DIR").is_some();
        let bin_dir = o
            .bin_dir
            .bin_dir
            .clone()
            .or_else(|| ctx.var("HOOKSTRAP_BIN_DIR").map(PathBuf::from))
            .map_or_else(|| app_dir.join(".platformsh").join("bin"), |p| abs(&p));
        let env_file = (!o.env_file.no_env_file).then(|| {
            o.env_file
                .env_file
                .as_deref()
                .map_or_else(|| app_dir.join(".environment"), abs)
        });
        let lock_explicit = o.lock.lock.as_deref().map(abs);
        let lock_path = lock_explicit.clone().or_else(|| {
            let default = app_dir.join("hookstrap.lock");
            default.exists().then_some(default)
        });
        let out = &o.output;
        Ok(Settings {
            cache_dir: cache_dir(o, ctx)?,
            mirror: mirror_url(
                o.network
                    .mirror
                    .clone()
                    .or_else(|| ctx.var("HOOKSTRAP_MIRROR").map(str::to_string)),
                ctx,
            )?,
            app_dir,
            bin_dir,
            bin_dir_given,
            env_file,
            lock_path,
            lock_explicit,
            quiet: out.quiet,
            verbosity: out.verbose,
            json: out.json,
            progress: progress_mode(o, ctx),
            http: http_config(o, ctx)?,
            limits: limits(o, ctx)?,
            lock_timeout: Duration::from_secs(
                number(ctx, "HOOKSTRAP_LOCK_TIMEOUT")?.unwrap_or(600),
            ),
            min_release_age: min_release_age(o)?,
            jobs: jobs(o, ctx)?,
        })
    }

    /// The bin dir an app's own installs use: `<app-dir>/.platformsh/bin`.
    pub fn default_bin_dir(&self) -> PathBuf {
        self.app_dir.join(".platformsh").join("bin")
    }

    /// Where `lock` writes: `--lock FILE`, else `<app-dir>/hookstrap.lock`.
    pub fn lock_write_path(&self) -> PathBuf {
        self.lock_explicit
            .clone()
            .unwrap_or_else(|| self.app_dir.join("hookstrap.lock"))
    }
}

/// `p`, made absolute against the working directory.
fn absolute(ctx: &Context, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        ctx.cwd.join(p)
    }
}

/// `--cache-dir`, `HOOKSTRAP_CACHE_DIR`, `$PLATFORM_CACHE_DIR/hookstrap`, the user cache dir.
fn cache_dir(o: &Options, ctx: &Context) -> Result<PathBuf, UsageError> {
    o.cache_dir
        .cache_dir
        .clone()
        .or_else(|| ctx.var("HOOKSTRAP_CACHE_DIR").map(PathBuf::from))
        .or_else(|| ctx.var("PLATFORM_CACHE_DIR").map(|d| Path::new(d).join("hookstrap")))
        .or_else(|| ctx.user_cache_dir.clone())
        .map(|p| absolute(ctx, &p))
        .ok_or_else(|| {
            UsageError::Other(
                "no cache directory: set `--cache-dir`, `HOOKSTRAP_CACHE_DIR` or `PLATFORM_CACHE_DIR`"
                    .into(),
            )
        })
}

/// How progress is shown. `CI=false` (or 0, no) is not CI: only a true value turns the bar
/// off.
fn progress_mode(o: &Options, ctx: &Context) -> ProgressMode {
    let out = &o.output;
    match out.progress {
        _ if out.quiet => ProgressMode::Off,
        Progress::Never => ProgressMode::Off,
        Progress::Always if ctx.stderr_is_tty => ProgressMode::Bar,
        Progress::Always => ProgressMode::Lines,
        Progress::Auto if ctx.stderr_is_tty && !ctx.flag("CI") && !out.json => ProgressMode::Bar,
        Progress::Auto => ProgressMode::Off,
    }
}

/// The network settings: retries, timeouts, plain http, offline, token, proxies, TLS roots.
fn http_config(o: &Options, ctx: &Context) -> Result<HttpConfig, UsageError> {
    let token = ctx
        .var("GITHUB_TOKEN")
        .or_else(|| ctx.var("GH_TOKEN"))
        .map(str::to_string);
    Ok(HttpConfig {
        retries: number(ctx, "HOOKSTRAP_RETRIES")?.unwrap_or(4),
        idle_timeout: Duration::from_secs(
            number::<u64>(ctx, "HOOKSTRAP_TIMEOUT")?
                .unwrap_or(30)
                .max(1),
        ),
        connect_timeout: Duration::from_secs(10),
        allow_http: o.network.allow_http,
        offline: o.network.offline || ctx.flag("HOOKSTRAP_OFFLINE"),
        token,
        proxy: ProxyConfig {
            https: ctx.var_any_case("HTTPS_PROXY").map(str::to_string),
            http: ctx.var_any_case("HTTP_PROXY").map(str::to_string),
            all: ctx.var_any_case("ALL_PROXY").map(str::to_string),
            no_proxy: ctx.var_any_case("NO_PROXY").map(str::to_string),
        },
        cert_file: ctx.var("SSL_CERT_FILE").map(PathBuf::from),
        cert_dir: ctx.var("SSL_CERT_DIR").map(PathBuf::from),
        max_retry_delay: number(ctx, "HOOKSTRAP_RETRY_MAX_DELAY")?
            .map_or(crate::http::MAX_SERVER_DELAY, Duration::from_secs),
    })
}

/// The archive limits: flag, else variable, else default.
fn limits(o: &Options, ctx: &Context) -> Result<Limits, UsageError> {
    let defaults = Limits::default();
    Ok(Limits {
        max_unpacked_bytes: o
            .limits
            .max_unpacked
            .or(size(ctx, "HOOKSTRAP_MAX_UNPACKED")?)
            .unwrap_or(defaults.max_unpacked_bytes),
        max_entries: o
            .limits
            .max_entries
            .or(number(ctx, "HOOKSTRAP_MAX_ENTRIES")?)
            .unwrap_or(defaults.max_entries),
        max_path_len: o
            .limits
            .max_path_len
            .or(number(ctx, "HOOKSTRAP_MAX_PATH_LEN")?)
            .unwrap_or(defaults.max_path_len),
    })
}

/// `--min-release-age` (the manifest's `min_release_age` is read where the manifest is).
fn min_release_age(o: &Options) -> Result<Option<Duration>, UsageError> {
    o.network
        .min_release_age
        .as_deref()
        .map(|text| {
            crate::resolve::manifest::parse_age(text).map_err(|reason| UsageError::BadValue {
                name: "--min-release-age".into(),
                value: text.to_string(),
                reason,
            })
        })
        .transpose()
}

/// `--jobs`, else `HOOKSTRAP_JOBS` (at least 1), else [`DEFAULT_JOBS`].
fn jobs(o: &Options, ctx: &Context) -> Result<usize, UsageError> {
    if let Some(n) = o.jobs.jobs {
        return Ok(usize::from(n));
    }
    match number::<usize>(ctx, "HOOKSTRAP_JOBS")? {
        Some(0) => Err(UsageError::BadValue {
            name: "HOOKSTRAP_JOBS".into(),
            value: "0".into(),
            reason: "expected at least 1".into(),
        }),
        Some(n) => Ok(n),
        None => Ok(DEFAULT_JOBS),
    }
}

/// The mirror base URL: `https://github.com` by default; a bare path means `file://`.
fn mirror_url(given: Option<String>, ctx: &Context) -> Result<String, UsageError> {
    let Some(text) = given else {
        return Ok(GITHUB.to_string());
    };
    let bad = |reason: &str| UsageError::BadValue {
        name: "--mirror".into(),
        value: crate::http::redact(&text),
        reason: reason.to_string(),
    };
    if text.starts_with('/') || text.starts_with('.') {
        let path = ctx.cwd.join(&text);
        return url::Url::from_directory_path(&path)
            .map(|u| u.as_str().trim_end_matches('/').to_string())
            .map_err(|()| bad("not an absolute path"));
    }
    let parsed = url::Url::parse(&text).map_err(|_| bad("not a URL"))?;
    match parsed.scheme() {
        "https" | "http" | "file" => Ok(text.trim_end_matches('/').to_string()),
        _ => Err(bad("a mirror is an https://, http:// or file:// URL")),
    }
}
