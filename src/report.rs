//! What the user sees while hookstrap works: progress bars, retries and warnings on stderr.
//!
//! The core only knows the [`Reporter`] trait; indicatif lives here alone. Bars are drawn only
//! when asked (`--progress always`) or when stderr is a terminal and `CI` is unset; otherwise
//! nothing but plain lines, never escape codes.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Events the core reports, possibly from several threads at once (`install`, `fetch` and
/// `lock` work on several artifacts in parallel). Implementations must be cheap:
/// `download_progress` is called for every chunk.
pub trait Reporter: Sync {
    /// A download begins; the id it returns names it in the calls that follow (uv's
    /// reporters do the same), since several may run at once.
    fn download_start(&self, url: &str, total: Option<u64>) -> usize;
    fn download_progress(&self, id: usize, bytes: u64);
    fn download_end(&self, id: usize);
    /// Something went wrong but hookstrap carries on (a retry, a damaged cache blob).
    fn warn(&self, message: &str);
    /// What was done, for people (stderr); silent with `-q`.
    fn info(&self, message: &str);
    /// Detail for `-v`.
    fn verbose(&self, message: &str);
}

/// The terminal reporter behind the binary: one bar per download, stacked in one
/// [`MultiProgress`] so parallel downloads share one coherent display, and message lines
/// printed above the bars, whole (never interleaved with another thread's line).
pub struct Terminal {
    quiet: bool,
    verbose: bool,
    /// `Some` when bars are drawn.
    multi: Option<MultiProgress>,
    bars: Mutex<BTreeMap<usize, ProgressBar>>,
    next_id: AtomicUsize,
}

impl Terminal {
    pub fn new(bars: bool, quiet: bool, verbose: bool) -> Self {
        Terminal {
            quiet,
            verbose,
            multi: (bars && !quiet)
                .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            bars: Mutex::new(BTreeMap::new()),
            next_id: AtomicUsize::new(0),
        }
    }

    fn line(&self, prefix: &str, message: &str) {
        // One write per line: lines from parallel jobs never interleave.
        let text = format!("{prefix}{message}\n");
        let write = || {
            let _ = std::io::stderr().write_all(text.as_bytes());
        };
        match &self.multi {
            // Bars are hidden while the line is written, then drawn again below it.
            Some(multi) => multi.suspend(write),
            None => write(),
        }
    }
}

impl Reporter for Terminal {
    fn download_start(&self, url: &str, total: Option<u64>) -> usize {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let Some(multi) = &self.multi else {
            return id;
        };
        let bar = multi.add(match total {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::no_length(),
        });
        let style = ProgressStyle::with_template(
            // `wide_bar` takes what the terminal's width leaves: stacked bars never wrap.
            "{msg:28!} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        let name = url.rsplit('/').next().unwrap_or(url).to_string();
        bar.set_message(name);
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(id, bar);
        }
        id
    }

    fn download_progress(&self, id: usize, bytes: u64) {
        if let Ok(bars) = self.bars.lock()
            && let Some(bar) = bars.get(&id)
        {
            bar.set_position(bytes);
        }
    }

    fn download_end(&self, id: usize) {
        let bar = self.bars.lock().ok().and_then(|mut bars| bars.remove(&id));
        if let (Some(bar), Some(multi)) = (bar, &self.multi) {
            bar.finish_and_clear();
            multi.remove(&bar);
        }
    }

    fn warn(&self, message: &str) {
        if !self.quiet {
            self.line("warning: ", message);
        }
    }

    fn info(&self, message: &str) {
        if !self.quiet {
            self.line("", message);
        }
    }

    fn verbose(&self, message: &str) {
        if self.verbose && !self.quiet {
            self.line("", message);
        }
    }
}

/// An error and its causes on one line, for retry notices.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut last = text.clone();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !last.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        last = next;
        source = cause.source();
    }
    text
}

/// Prints an error the way SPEC.md wants it: `error: …`, `  Caused by: …` lines, `hint: …`.
pub fn print_error(err: &dyn crate::diag::Diagnostic) {
    let mut out = String::new();
    out.push_str(&format!("error: {err}\n"));
    let mut source = std::error::Error::source(err);
    let mut last = err.to_string();
    while let Some(cause) = source {
        let text = cause.to_string();
        // Libraries often repeat their cause in their own message: print each thing once.
        if !last.contains(&text) {
            out.push_str(&format!("  Caused by: {text}\n"));
        }
        last = text;
        source = cause.source();
    }
    if let Some(hint) = err.hint() {
        out.push_str(&format!("hint: {hint}\n"));
    }
    let _ = std::io::stderr().write_all(out.as_bytes());
}

// ---- data on stdout ----

/// Writes data to stdout; a closed pipe is not an error worth a message (ripgrep).
pub fn data(out: &mut dyn Write, text: &str) -> std::io::Result<()> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes one JSON object (the `--json` receipt of a command) on its own line.
pub fn json(out: &mut dyn Write, value: &impl serde::Serialize) -> std::io::Result<()> {
    let text = serde_json::to_string(value).map_err(std::io::Error::other)?;
    data(out, &format!("{text}\n"))
}

/// Whether a command's artifact came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheUse {
    Hit,
    Miss,
}

impl CacheUse {
    pub fn from_hit(hit: bool) -> CacheUse {
        if hit { CacheUse::Hit } else { CacheUse::Miss }
    }
}

/// One artifact that `install` placed or `fetch` cached: the vocabulary every command's
/// `--json` shares (SPEC.md: `tool`, `version`, `target`, `url`, `sha256`, `cache`, `bin`,
/// `env_file`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArtifactReceipt {
    pub tool: String,
    pub version: String,
    pub target: String,
    pub url: String,
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub cache: CacheUse,
    /// `install`: whether the bin dir changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
    /// `fetch`: the verified blob in the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<std::path::PathBuf>,
    /// The installed binary (`null` for `fetch`).
    pub bin: Option<std::path::PathBuf>,
    pub env_file: Option<std::path::PathBuf>,
}

/// A command's receipt over several artifacts: the first one's fields at the top (so a
/// single-tool run reads flat), and every one under `tools`.
#[derive(Debug, serde::Serialize)]
pub struct Batch<T: serde::Serialize> {
    #[serde(flatten)]
    pub first: Option<T>,
    pub tools: Vec<T>,
}

impl<T: serde::Serialize + Clone> Batch<T> {
    pub fn new(tools: Vec<T>) -> Self {
        Batch {
            first: tools.first().cloned(),
            tools,
        }
    }
}
