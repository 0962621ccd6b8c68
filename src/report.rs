//! What the user sees while hookstrap works: progress, retries and warnings on stderr; the
//! error report; and the typed data (`--json` receipts) on stdout.
//!
//! The core only knows the [`Reporter`] trait; indicatif lives here alone. A bar is drawn only
//! when stderr is a terminal and either `--progress always` or (`auto`) `CI` is not true;
//! `--progress always` without a terminal prints a plain line now and then instead, never
//! escape codes.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Events the core reports. Implementations must be cheap: `download_progress` is called for
/// every chunk.
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
    /// Detail for `-v`: what was resolved and why, where hashes came from, cache use.
    fn verbose(&self, message: &str);
    /// Detail for `-vv`: every file read on the way (certificates, …).
    fn debug(&self, message: &str);
}

/// How download progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// indicatif bars (stderr is a terminal), one per download, stacked.
    Bar,
    /// `--progress always` without a terminal: a plain line now and then.
    Lines,
    Off,
}

/// A plain-line progress report (`--progress always` without a terminal).
struct Lines {
    name: String,
    total: Option<u64>,
    bytes: u64,
    last: Instant,
    shown: u64,
}

/// How often a plain progress line is printed, at most.
const LINE_EVERY: Duration = Duration::from_secs(1);

impl Lines {
    fn line(&self) -> String {
        match self.total {
            Some(total) if total > 0 => format!(
                "{}: {} of {} ({}%)",
                self.name,
                crate::size::human(self.bytes),
                crate::size::human(total),
                self.bytes.saturating_mul(100) / total
            ),
            _ => format!("{}: {}", self.name, crate::size::human(self.bytes)),
        }
    }
}

/// The terminal reporter behind the binary: one bar per download, stacked in one
/// [`MultiProgress`] so parallel downloads share one coherent display, and message lines
/// printed above the bars, whole (never interleaved with another thread's line).
pub struct Terminal {
    quiet: bool,
    verbosity: u8,
    /// `Some` when bars are drawn.
    multi: Option<MultiProgress>,
    bars: Mutex<BTreeMap<usize, ProgressBar>>,
    lines: Option<Mutex<BTreeMap<usize, Lines>>>,
    next_id: AtomicUsize,
}

impl Terminal {
    pub fn new(progress: ProgressMode, quiet: bool, verbosity: u8) -> Self {
        let progress = if quiet { ProgressMode::Off } else { progress };
        Terminal {
            quiet,
            verbosity,
            multi: (progress == ProgressMode::Bar)
                .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            bars: Mutex::new(BTreeMap::new()),
            lines: (progress == ProgressMode::Lines).then(|| Mutex::new(BTreeMap::new())),
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

    fn start_bar(&self, multi: &MultiProgress, id: usize, name: String, total: Option<u64>) {
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
        bar.set_message(name);
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(id, bar);
        }
    }
}

impl Reporter for Terminal {
    fn download_start(&self, url: &str, total: Option<u64>) -> usize {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let name = url.rsplit('/').next().unwrap_or(url).to_string();
        if let Some(multi) = &self.multi {
            self.start_bar(multi, id, name, total);
        } else if let Some(lines) = &self.lines {
            let started = Lines {
                name,
                total,
                bytes: 0,
                last: Instant::now(),
                shown: 0,
            };
            self.line("", &started.line());
            if let Ok(mut map) = lines.lock() {
                map.insert(id, started);
            }
        }
        id
    }

    fn download_progress(&self, id: usize, bytes: u64) {
        if let Ok(bars) = self.bars.lock()
            && let Some(bar) = bars.get(&id)
        {
            bar.set_position(bytes);
        }
        if let Some(lines) = &self.lines
            && let Ok(mut map) = lines.lock()
            && let Some(lines) = map.get_mut(&id)
        {
            lines.bytes = bytes;
            if lines.last.elapsed() >= LINE_EVERY {
                lines.last = Instant::now();
                lines.shown = bytes;
                self.line("", &lines.line());
            }
        }
    }

    fn download_end(&self, id: usize) {
        let bar = self.bars.lock().ok().and_then(|mut bars| bars.remove(&id));
        if let (Some(bar), Some(multi)) = (bar, &self.multi) {
            bar.finish_and_clear();
            multi.remove(&bar);
        }
        if let Some(lines) = &self.lines
            && let Some(done) = lines.lock().ok().and_then(|mut map| map.remove(&id))
            && done.shown != done.bytes
        {
            self.line("", &done.line());
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
        if self.verbosity >= 1 && !self.quiet {
            self.line("", message);
        }
    }

    fn debug(&self, message: &str) {
        if self.verbosity >= 2 && !self.quiet {
            self.line("", message);
        }
    }
}

/// The causes of `err` worth printing, outermost first: each said once (a library that
/// repeats its cause in its own message, or restates its parent, is cut to what is new), and,
/// unless `verbose`, nothing below a [`Summary`](crate::diag::Summary), which already tells the
/// rest in one line.
pub fn causes(err: &(dyn std::error::Error + 'static), verbose: bool) -> Vec<String> {
    let mut said = vec![err.to_string()];
    let mut out = Vec::new();
    let mut source = err.source();
    while let Some(cause) = source {
        let mut text = cause.to_string();
        if let Some(rest) = said
            .last()
            .and_then(|last| text.strip_prefix(&format!("{last}: ")))
        {
            text = rest.to_string();
        }
        let repeated = text.trim().is_empty() || said.iter().any(|s| s.contains(&text));
        if !repeated {
            out.push(text.clone());
        }
        said.push(cause.to_string());
        if !verbose && cause.is::<crate::diag::Summary>() {
            break;
        }
        source = cause.source();
    }
    out
}

/// An error and its causes on one line, for retry notices and warnings.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    for cause in causes(err, false) {
        text.push_str(": ");
        text.push_str(&cause);
    }
    text
}

/// Prints an error the way SPEC.md wants it: `error: …`, `  Caused by: …` lines (all of them
/// at `-v`), `hint: …`.
pub fn print_error(err: &(dyn crate::diag::Diagnostic + 'static), verbosity: u8) {
    let mut out = format!("error: {err}\n");
    for cause in causes(err, verbosity > 0) {
        out.push_str(&format!("  Caused by: {cause}\n"));
    }
    if let Some(hint) = err.hint() {
        out.push_str(&format!("hint: {hint}\n"));
    }
    let _ = std::io::stderr().write_all(out.as_bytes());
}

/// Where a build hook's output goes (`hook build`): both its streams to hookstrap's stderr,
/// live and unbuffered (the hook writes to the file descriptor itself), so stdout keeps
/// carrying data only.
pub fn hook_stdio() -> std::io::Result<(std::process::Stdio, std::process::Stdio)> {
    use std::os::fd::AsFd;
    let stderr = std::io::stderr().as_fd().try_clone_to_owned()?;
    Ok((stderr.into(), std::process::Stdio::inherit()))
}

/// The files (device, inode) stdout and stderr write to, when they are files: they grow with
/// hookstrap's own output and the hook's, which is not the hook writing where it should not.
pub fn output_files() -> Vec<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    [stdout.as_fd(), stderr.as_fd()]
        .into_iter()
        .filter_map(|fd| fd.try_clone_to_owned().ok())
        .filter_map(|fd| std::fs::File::from(fd).metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| (m.dev(), m.ino()))
        .collect()
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

/// One artifact (one tool, version and target) a command worked on: what `install` placed,
/// `fetch` cached, `lock` pinned. Its keys are the vocabulary every command's `--json` shares
/// (docs/json.md; SPEC.md asks for `tool`, `version`, `target`, `url`, `sha256`, `cache`, `bin`,
/// `env_file`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArtifactReceipt {
    pub tool: String,
    /// Without a leading `v`.
    pub version: String,
    pub target: String,
    /// The canonical `https://github.com/…` address (also behind a mirror).
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
    /// `lock`: the BLAKE3 of the binary the archive unpacks to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bin_blake3: Option<String>,
    /// `lock`: where a tool outside the catalog comes from (`github:OWNER/REPO`, `url:URL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `lock`: the command's name, where it is not the tool's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The installed binary (`null` but for `install`).
    pub bin: Option<std::path::PathBuf>,
    /// The env file given the PATH block (`null` but for `install`).
    pub env_file: Option<std::path::PathBuf>,
}

/// A command's receipt over several artifacts: the first one's fields at the top (so a
/// single-tool run reads flat, as SPEC.md's receipt does), and every one under `artifacts`.
#[derive(Debug, serde::Serialize)]
pub struct Batch<T: serde::Serialize> {
    #[serde(flatten)]
    pub first: Option<T>,
    pub artifacts: Vec<T>,
}

impl<T: serde::Serialize + Clone> Batch<T> {
    pub fn new(artifacts: Vec<T>) -> Self {
        Batch {
            first: artifacts.first().cloned(),
            artifacts,
        }
    }
}

/// `--json` on failure: the one object stdout holds (stderr still has the text).
#[derive(Debug, serde::Serialize)]
pub struct ErrorReport {
    /// The message, as after `error:`.
    pub error: String,
    /// The exit code.
    pub code: u8,
    pub hint: Option<String>,
    /// The `Caused by:` lines.
    pub causes: Vec<String>,
}

impl ErrorReport {
    pub fn of(err: &(dyn crate::diag::Diagnostic + 'static), verbosity: u8) -> ErrorReport {
        ErrorReport {
            error: err.to_string(),
            code: err.exit_code(),
            hint: err.hint(),
            causes: causes(err, verbosity > 0),
        }
    }
}
