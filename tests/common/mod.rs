//! Support code shared by the integration tests (`mod common;`).
//!
//! A [`Sandbox`] runs the real binary in a temporary app dir with a cleared environment, so no
//! variable of the developer's shell (proxies, tokens, cache dirs) leaks into a test;
//! `server` serves releases and faults over HTTP(S), `fixtures` builds the releases,
//! `tar_header` builds hostile tar streams from raw header bytes.
//! Each test binary uses a subset of this module, hence `dead_code` is allowed.
#![allow(dead_code)]

pub mod fixtures;
pub mod server;
pub mod tar_header;
pub mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// A throwaway world for one run of `hookstrap`: `tmp/app` (created, the cwd and
/// `PLATFORM_APP_DIR`), `tmp/cache` (`HOOKSTRAP_CACHE_DIR`, not created), `tmp/home` (created).
pub struct Sandbox {
    pub tmp: TempDir,
    pub app: PathBuf,
    pub cache: PathBuf,
    pub home: PathBuf,
}

impl Sandbox {
    pub fn new() -> Self {
        Self::new_in(&std::env::temp_dir())
    }

    /// A sandbox under `parent` instead of the temp dir, e.g. `CARGO_TARGET_TMPDIR` when what
    /// the test runs must tell `/tmp` from the sandbox (`hook build` lets a hook write to `/tmp`).
    pub fn new_in(parent: &Path) -> Self {
        std::fs::create_dir_all(parent).expect("create sandbox parent");
        let tmp = tempfile::Builder::new()
            .prefix("hookstrap-test-")
            .tempdir_in(parent)
            .expect("create sandbox");
        let app = tmp.path().join("app");
        let cache = tmp.path().join("cache");
        let home = tmp.path().join("home");
        std::fs::create_dir(&app).expect("create app dir");
        std::fs::create_dir(&home).expect("create home dir");
        Self {
            tmp,
            app,
            cache,
            home,
        }
    }

    /// The sandbox root, for extra files (mirrors, CA certificates, lock files).
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// `app/.platformsh/bin`, the default bin dir.
    pub fn bin_dir(&self) -> PathBuf {
        self.app.join(".platformsh").join("bin")
    }

    /// `app/.environment`, the default env file.
    pub fn env_file(&self) -> PathBuf {
        self.app.join(".environment")
    }

    /// `app/hookstrap.lock`, the default lock file.
    pub fn lock_file(&self) -> PathBuf {
        self.app.join("hookstrap.lock")
    }

    /// The binary with a cleared environment plus `PATH`, `HOME`, `PLATFORM_APP_DIR`,
    /// `HOOKSTRAP_CACHE_DIR`, `CI=1` and `HOOKSTRAP_RETRY_MAX_DELAY=0`, run from the app dir.
    /// Add arguments and variables on the returned command.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookstrap"));
        cmd.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("PLATFORM_APP_DIR", &self.app)
            .env("HOOKSTRAP_CACHE_DIR", &self.cache)
            .env("CI", "1")
            .env("HOOKSTRAP_RETRY_MAX_DELAY", "0")
            .current_dir(&self.app);
        cmd
    }

    /// `cmd()` with `args`, run to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd();
        cmd.args(args);
        run(&mut cmd)
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

/// Run to completion, capturing stdout and stderr.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Panic, showing both streams, unless the process exited with `code`.
#[track_caller]
pub fn assert_exit(out: &Output, code: i32) {
    if out.status.code() != Some(code) {
        panic!(
            "expected exit code {code}, got {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            stdout(out),
            stderr(out),
        );
    }
}

/// `assert_exit(out, 0)`.
#[track_caller]
pub fn assert_success(out: &Output) {
    assert_exit(out, 0);
}
