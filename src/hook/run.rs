//! The hook's environment and its process.
//!
//! The environment is small and explicit, not the developer's shell: `PATH` (the running
//! hookstrap's directory first, so the hook can call `hookstrap`, then the developer's `PATH`),
//! `HOME` (the build dir, as on the platform), `LANG=C.UTF-8`, `TMPDIR`, the platform's
//! `PLATFORM_APP_DIR`, `PLATFORM_CACHE_DIR`, `PLATFORM_APPLICATION_NAME`, `PLATFORM_TREE_ID`,
//! `PLATFORM_VARIABLES` and `PLATFORM_APPLICATION` (base64 JSON), the `env:` variables, and
//! `HOOKSTRAP_OFFLINE=1` under `--offline`. Never `PLATFORM_PROJECT` or `PLATFORM_BRANCH`: with
//! the tree ID they make the Platform.sh CLI believe it runs on the platform.
//!
//! The hook runs as `dash -c "$hook"` in the build dir, with no stdin, in a process group of
//! its own, so that a time limit, a Ctrl-C or its end can stop everything it started (the
//! platform does the same when a build ends). The command is wrapped, when the machine allows,
//! in `unshare --net` (under `--offline`) and in `hookstrap hook confine` (Landlock).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use base64::Engine;
use rustix::process::{Pid, Signal};

use super::HookError;
use super::config::App;
use super::confine::Confinement;
use super::vars::Variables;

/// The file in the scratch dir where `hook confine` records whether Landlock holds.
pub const CONFINE_STATUS: &str = "confine.status";

/// `PATH` when the developer has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Devices a build may write to everywhere (`> /dev/null`, a terminal, shared memory).
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/pts",
    "/dev/shm",
];

/// How long a hook gets to stop after a forwarded Ctrl-C before it is killed.
const GRACE: Duration = Duration::from_secs(5);

/// The hook's `PATH`: the running hookstrap's directory, then the developer's `PATH`.
pub fn hook_path(exe: Option<&Path>, search: Option<&str>) -> String {
    let rest = search.unwrap_or(DEFAULT_PATH);
    match exe.and_then(Path::parent) {
        Some(dir) => format!("{}:{rest}", dir.display()),
        None => rest.to_string(),
    }
}

/// The first executable `program` on `path`.
pub fn locate(program: &str, path: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Whether the hook turns on `errexit` (`set -e`, `set -eu`, `set -o errexit`, …) on a line
/// of its own. Without it, dash goes on after a failing command and only the last status counts.
pub fn has_set_e(hook: &str) -> bool {
    hook.lines().any(|line| {
        let mut words = line.split_whitespace();
        if words.next() != Some("set") {
            return false;
        }
        let words: Vec<&str> = words.take_while(|w| !w.starts_with('#')).collect();
        words.iter().enumerate().any(|(i, w)| {
            (w.starts_with('-') && !w.starts_with("--") && w[1..].contains('e'))
                || (*w == "-o" && words.get(i + 1) == Some(&"errexit"))
        })
    })
}

/// What the hook's environment is made of.
pub struct EnvInputs<'a> {
    pub build_dir: &'a Path,
    pub cache_dir: &'a Path,
    pub tmp_dir: &'a Path,
    pub app: &'a App,
    pub tree_id: Option<&'a str>,
    pub variables: &'a Variables,
    pub path: &'a str,
    pub offline: bool,
}

/// The hook's whole environment; see the module docs.
pub fn environment(i: &EnvInputs) -> BTreeMap<String, String> {
    let b64 = |value: &serde_json::Value| {
        base64::engine::general_purpose::STANDARD.encode(value.to_string())
    };
    let mut env: BTreeMap<String, String> = i.variables.exported.iter().cloned().collect();
    let show = |p: &Path| p.display().to_string();
    let fixed = [
        ("PATH", i.path.to_string()),
        ("HOME", show(i.build_dir)),
        ("LANG", "C.UTF-8".to_string()),
        ("TMPDIR", show(i.tmp_dir)),
        ("PLATFORM_APP_DIR", show(i.build_dir)),
        ("PLATFORM_CACHE_DIR", show(i.cache_dir)),
        ("PLATFORM_APPLICATION_NAME", i.app.name.clone()),
        (
            "PLATFORM_VARIABLES",
            b64(&serde_json::Value::Object(i.variables.all.clone())),
        ),
        ("PLATFORM_APPLICATION", b64(&i.app.config)),
    ];
    env.extend(fixed.into_iter().map(|(k, v)| (k.to_string(), v)));
    if let Some(tree) = i.tree_id {
        env.insert("PLATFORM_TREE_ID".into(), tree.to_string());
    }
    if i.offline {
        env.insert("HOOKSTRAP_OFFLINE".into(), "1".into());
    }
    env
}

/// Whether the network could be cut, and how.
enum NetCut {
    NotAsked,
    Cut(Vec<OsString>),
    Unavailable(String),
}

/// How the hook's process is started: the wrappers this machine allows around `dash`.
pub struct Launcher {
    /// `hookstrap hook confine --write … --status … --`, when the executable is known.
    confine: Option<Vec<OsString>>,
    net: NetCut,
    status: PathBuf,
}

impl Launcher {
    /// The hook may write to `dirs`, `/tmp` (as on the platform) and a few devices.
    pub fn new(exe: Option<&Path>, dirs: &[PathBuf], scratch: &Path, offline: bool) -> Self {
        let status = scratch.join(CONFINE_STATUS);
        let confine = exe.map(|exe| {
            let mut args: Vec<OsString> = vec![exe.into(), "hook".into(), "confine".into()];
            let places = dirs.iter().map(PathBuf::as_path);
            for dir in places.chain(["/tmp"].iter().chain(DEVICES).map(Path::new)) {
                args.push("--write".into());
                args.push(dir.into());
            }
            args.extend(["--status".into(), status.clone().into(), "--".into()]);
            args
        });
        let net = match offline {
            true => probe_net_cut(),
            false => NetCut::NotAsked,
        };
        Launcher {
            confine,
            net,
            status,
        }
    }

    /// `dash -c "$script"` in `cwd` with exactly `env`, wrapped, in its own process group.
    fn base(
        &self,
        dash: &Path,
        script: &str,
        env: &BTreeMap<String, String>,
        cwd: &Path,
    ) -> Command {
        let mut argv: Vec<OsString> = Vec::new();
        if let NetCut::Cut(prefix) = &self.net {
            argv.extend(prefix.iter().cloned());
        }
        if let Some(confine) = &self.confine {
            argv.extend(confine.iter().cloned());
        }
        argv.extend([dash.into(), "-c".into(), script.into()]);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .env_clear()
            .envs(env)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .process_group(0);
        cmd
    }

    /// The hook, its output streamed live to hookstrap's stderr.
    pub fn command(
        &self,
        dash: &Path,
        hook: &str,
        env: &BTreeMap<String, String>,
        cwd: &Path,
    ) -> io::Result<Command> {
        let mut cmd = self.base(dash, hook, env, cwd);
        let (out, err) = crate::report::hook_stdio()?;
        cmd.stdout(out).stderr(err);
        Ok(cmd)
    }

    /// A check script, its output captured.
    pub fn capture(
        &self,
        dash: &Path,
        script: &str,
        env: &BTreeMap<String, String>,
        cwd: &Path,
    ) -> Command {
        let mut cmd = self.base(dash, script, env, cwd);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    }

    /// Whether Landlock held for the last run, as `hook confine` recorded it.
    pub fn confinement(&self) -> Confinement {
        if self.confine.is_none() {
            return Confinement::Off(
                "the running executable is unknown, so it cannot confine the hook".into(),
            );
        }
        match std::fs::read_to_string(&self.status) {
            Ok(text) => Confinement::parse(&text),
            Err(_) => Confinement::Off("the confinement did not report".into()),
        }
    }

    /// Whether the hook ran without a network (`--offline` only).
    pub fn net_cut(&self) -> bool {
        matches!(self.net, NetCut::Cut(_))
    }

    /// One line on the network under `--offline`.
    pub fn net_text(&self) -> String {
        match &self.net {
            NetCut::Cut(prefix) => format!(
                "network: cut (`{}`): the hook had only an unconnected loopback, and HOOKSTRAP_OFFLINE=1",
                prefix
                    .iter()
                    .take(prefix.len().saturating_sub(1))
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            NetCut::Unavailable(why) => {
                format!("network: NOT cut ({why}); only HOOKSTRAP_OFFLINE=1 kept hookstrap off it")
            }
            NetCut::NotAsked => "network: not cut (no `--offline`)".into(),
        }
    }
}

/// `unshare --net` as root; else with a user namespace mapping the current user (or root).
fn probe_net_cut() -> NetCut {
    let Some(unshare) = locate("unshare", DEFAULT_PATH) else {
        return NetCut::Unavailable("`unshare` is not installed (util-linux)".into());
    };
    let candidates: &[&[&str]] = if rustix::process::getuid().is_root() {
        &[&["--net"]]
    } else {
        &[
            &["--map-current-user", "--net"],
            &["--map-root-user", "--net"],
        ]
    };
    for flags in candidates {
        let works = Command::new(&unshare)
            .args(*flags)
            .args(["--", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if works {
            let mut prefix: Vec<OsString> = vec![unshare.clone().into()];
            prefix.extend(flags.iter().map(OsString::from));
            prefix.push("--".into());
            return NetCut::Cut(prefix);
        }
    }
    NetCut::Unavailable(
        "`unshare --net` is refused here: it needs root or unprivileged user namespaces".into(),
    )
}

/// How the hook ended.
#[derive(Debug)]
pub enum End {
    Exited(ExitStatus),
    TimedOut,
    Interrupted(i32),
}

/// How the hook ended, and whether processes it left running were stopped.
#[derive(Debug)]
pub struct Ended {
    pub end: End,
    pub leftovers: bool,
}

impl Ended {
    /// The hook's failure, if it failed.
    pub fn failure(&self, limit: Duration) -> Option<HookError> {
        match &self.end {
            End::Exited(status) => match (status.code(), status.signal()) {
                (Some(0), _) => None,
                (Some(code), _) => Some(HookError::Failed {
                    status: u8::try_from(code).unwrap_or(u8::MAX),
                }),
                (None, Some(signal)) => Some(HookError::Killed { signal }),
                (None, None) => Some(HookError::Failed { status: 1 }),
            },
            End::TimedOut => Some(HookError::Timeout {
                limit: super::format_duration(limit),
            }),
            End::Interrupted(signal) => Some(HookError::Interrupted { signal: *signal }),
        }
    }

    /// The exit status, when the hook exited on its own.
    pub fn status(&self) -> Option<i32> {
        match &self.end {
            End::Exited(status) => status.code(),
            _ => None,
        }
    }
}

enum Event {
    Exited(io::Result<ExitStatus>),
    Signal(i32),
}

/// Runs the hook to its end, at most `limit`. A Ctrl-C (SIGINT, SIGTERM, SIGHUP) to hookstrap
/// is passed on to the hook's process group, which is killed after a grace period; at the
/// limit the group is killed at once. When the hook is done, whatever it left running in its
/// group is killed too.
pub fn run_hook(cmd: io::Result<Command>, limit: Duration) -> io::Result<Ended> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut cmd = cmd?;
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let handle = signals.handle();
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            handle.close();
            return Err(e);
        }
    };
    let group = Pid::from_child(&child);
    let (tx, rx) = mpsc::channel();
    let on_signal = tx.clone();
    let listener = std::thread::spawn(move || {
        for signal in signals.forever() {
            if on_signal.send(Event::Signal(signal)).is_err() {
                break;
            }
        }
    });
    wait_in_thread(child, tx);
    // One event decides: the hook's end, a signal, or the deadline. During the grace period
    // after a forwarded signal, a second signal kills at once.
    let end = match rx.recv_timeout(limit) {
        Ok(Event::Exited(status)) => status.map(End::Exited),
        Ok(Event::Signal(signal)) => {
            let _ = rustix::process::kill_process_group(group, forwarded(signal));
            if !matches!(rx.recv_timeout(GRACE), Ok(Event::Exited(_))) {
                let _ = rustix::process::kill_process_group(group, Signal::KILL);
                wait_for_exit(&rx);
            }
            Ok(End::Interrupted(signal))
        }
        Err(RecvTimeoutError::Timeout) => {
            let _ = rustix::process::kill_process_group(group, Signal::KILL);
            wait_for_exit(&rx);
            Ok(End::TimedOut)
        }
        Err(RecvTimeoutError::Disconnected) => {
            Err(io::Error::other("lost track of the hook's process"))
        }
    };
    handle.close();
    let _ = listener.join();
    let leftovers = rustix::process::kill_process_group(group, Signal::KILL).is_ok();
    Ok(Ended {
        end: end?,
        leftovers,
    })
}

/// Runs a check to its end with its output captured; `None` when it hit `limit` (its process
/// group is then killed).
pub fn run_captured(mut cmd: Command, limit: Duration) -> io::Result<Option<Output>> {
    let child = cmd.spawn()?;
    let group = Pid::from_child(&child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let result = match rx.recv_timeout(limit) {
        Ok(output) => output.map(Some),
        Err(_) => {
            let _ = rustix::process::kill_process_group(group, Signal::KILL);
            let _ = rx.recv();
            Ok(None)
        }
    };
    let _ = rustix::process::kill_process_group(group, Signal::KILL);
    result
}

fn wait_in_thread(mut child: Child, tx: mpsc::Sender<Event>) {
    std::thread::spawn(move || {
        let _ = tx.send(Event::Exited(child.wait()));
    });
}

fn wait_for_exit(rx: &mpsc::Receiver<Event>) {
    while let Ok(event) = rx.recv() {
        if let Event::Exited(_) = event {
            return;
        }
    }
}

fn forwarded(signal: i32) -> Signal {
    use signal_hook::consts::{SIGHUP, SIGINT};
    match signal {
        SIGINT => Signal::INT,
        SIGHUP => Signal::HUP,
        _ => Signal::TERM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_e_is_found_in_its_spellings() {
        assert!(has_set_e("set -e\nnpm ci\n"));
        assert!(has_set_e("  set -euo pipefail\n"));
        assert!(has_set_e("set -o errexit\n"));
        assert!(has_set_e("set -x -e # trace\n"));
        assert!(!has_set_e("npm ci\n"));
        assert!(!has_set_e("# set -e\nnpm ci\n"));
        assert!(!has_set_e("set -x\n"));
        assert!(!has_set_e("echo set -e\n"));
        assert!(!has_set_e("set # -e\n"));
    }

    #[test]
    fn the_hook_path_starts_with_hookstraps_dir() {
        assert_eq!(
            hook_path(
                Some(Path::new("/opt/hs/bin/hookstrap")),
                Some("/usr/bin:/bin")
            ),
            "/opt/hs/bin:/usr/bin:/bin"
        );
        assert_eq!(hook_path(None, None), DEFAULT_PATH);
    }

    #[test]
    fn the_environment_is_the_platforms_and_nothing_else() {
        let app = App {
            name: "app".into(),
            build_hook: "true".into(),
            root: PathBuf::new(),
            file: PathBuf::from(".platform.app.yaml"),
            config: serde_json::json!({"name": "app", "type": "php:8.3"}),
        };
        let variables = super::super::vars::parse("env:GREETING=hi\nsecret=x\n").unwrap();
        let env = environment(&EnvInputs {
            build_dir: Path::new("/b/app"),
            cache_dir: Path::new("/c"),
            tmp_dir: Path::new("/b/tmp"),
            app: &app,
            tree_id: Some("abc"),
            variables: &variables,
            path: "/usr/bin:/bin",
            offline: true,
        });
        let keys: Vec<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "GREETING",
                "HOME",
                "HOOKSTRAP_OFFLINE",
                "LANG",
                "PATH",
                "PLATFORM_APPLICATION",
                "PLATFORM_APPLICATION_NAME",
                "PLATFORM_APP_DIR",
                "PLATFORM_CACHE_DIR",
                "PLATFORM_TREE_ID",
                "PLATFORM_VARIABLES",
                "TMPDIR"
            ]
        );
        let decode = |k: &str| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&env[k])
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        };
        assert_eq!(decode("PLATFORM_VARIABLES")["secret"], "x");
        assert_eq!(decode("PLATFORM_APPLICATION")["type"], "php:8.3");
        assert_eq!(env["HOME"], "/b/app");
    }

    #[test]
    fn a_hung_check_is_killed_at_its_limit() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30"])
            .stdout(Stdio::piped())
            .process_group(0);
        let started = std::time::Instant::now();
        assert!(
            run_captured(cmd, Duration::from_millis(200))
                .unwrap()
                .is_none()
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
