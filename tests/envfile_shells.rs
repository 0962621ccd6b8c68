//! The env file as real shells see it (SPEC.md, "The env file"): after `hookstrap install`,
//! sourcing `.environment` in `dash` and `bash` prints nothing, puts the bin dir on `PATH`
//! exactly once however often it is sourced, and makes the installed CLI runnable — also for a
//! bin dir whose path holds a space and a `$`, and after installs of two tools.
//!
//! dash and bash are installed by `scripts/test.sh`; a missing shell fails these tests loudly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fixtures::{cli_release, this_target, write_latest_file, write_release_tree};
use common::{Sandbox, assert_success, run, stderr, stdout};

const SHELLS: [&str; 2] = ["dash", "bash"];
/// The PATH the shells start with: the bin dir is not on it.
const BASE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A `file://` mirror under the sandbox holding `platform` and `upsun` 5.10.8 (also `latest`)
/// for this machine.
fn mirror(sb: &Sandbox) -> String {
    let root = sb.path().join("mirror");
    write_release_tree(
        &root,
        &cli_release("5.10.8", &["platform", "upsun"], &[this_target()]),
    );
    write_latest_file(&root, "upsun", "cli", "v5.10.8");
    format!("file://{}", root.display())
}

fn install(sb: &Sandbox, mirror: &str, args: &[&str]) {
    let mut cmd = sb.cmd();
    cmd.args(["install", "--mirror", mirror]).args(args);
    assert_success(&run(&mut cmd));
}

/// Runs `script` with `shell -c` in `dir`, with a minimal environment.
fn shell(shell: &str, dir: &Path, script: &str) -> Output {
    let out = Command::new(shell)
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("PATH", BASE_PATH)
        .env("HOME", dir)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("`{shell}` must be installed (scripts/test.sh installs it): {e}")
        });
    assert!(
        out.status.success(),
        "{shell} -c {script:?} failed: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    out
}

/// `PATH` after sourcing the env file `times` times, as split entries.
fn path_after_sourcing(sh: &str, dir: &Path, times: usize) -> Vec<String> {
    let script = format!(
        "{}printf '%s\\n' \"$PATH\"",
        ". ./.environment; ".repeat(times)
    );
    let out = shell(sh, dir, &script);
    assert!(out.stderr.is_empty(), "{sh}: {}", stderr(&out));
    let text = stdout(&out);
    let line = text.strip_suffix('\n').expect("one line");
    assert!(
        !line.contains('\n'),
        "{sh} printed more than PATH: {text:?}"
    );
    line.split(':').map(str::to_owned).collect()
}

#[track_caller]
fn assert_once(path: &[String], dir: &Path, sh: &str) {
    let dir = dir.to_str().unwrap();
    let hits = path.iter().filter(|p| *p == dir).count();
    assert_eq!(hits, 1, "{sh}: `{dir}` must be on PATH once: {path:?}");
    // And nothing of the original PATH was lost.
    for entry in BASE_PATH.split(':') {
        assert!(path.iter().any(|p| p == entry), "{sh}: lost {entry}");
    }
}

fn real(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).expect("path exists")
}

#[test]
fn shells_are_installed() {
    for sh in SHELLS {
        let out = shell(sh, Path::new("/"), "true");
        assert!(out.status.success(), "{sh} does not run");
    }
}

#[test]
fn sourcing_prints_nothing() {
    let sb = Sandbox::new();
    install(&sb, &mirror(&sb), &["platform"]);
    for sh in SHELLS {
        for script in [
            ". ./.environment",
            "set -eu; . ./.environment; . ./.environment",
        ] {
            let out = shell(sh, &sb.app, script);
            assert!(out.stdout.is_empty(), "{sh}: {:?}", stdout(&out));
            assert!(out.stderr.is_empty(), "{sh}: {:?}", stderr(&out));
        }
    }
}

#[test]
fn bin_dir_is_on_path_once_even_when_sourced_twice() {
    let sb = Sandbox::new();
    install(&sb, &mirror(&sb), &["platform"]);
    let bin = real(&sb.bin_dir());
    for sh in SHELLS {
        let once = path_after_sourcing(sh, &sb.app, 1);
        assert_once(&once, &bin, sh);
        assert_eq!(once[0], bin.to_str().unwrap(), "{sh}: bin dir goes first");
        let twice = path_after_sourcing(sh, &sb.app, 2);
        assert_eq!(twice, once, "{sh}: sourcing again must not grow PATH");
    }
}

#[test]
fn installed_cli_runs_after_sourcing() {
    let sb = Sandbox::new();
    install(&sb, &mirror(&sb), &["platform"]);
    for sh in SHELLS {
        // Not reachable before sourcing...
        let out = Command::new(sh)
            .args(["-c", "command -v platform"])
            .env_clear()
            .env("PATH", BASE_PATH)
            .current_dir(&sb.app)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{sh}: platform already on PATH?");
        // ...and runs after.
        let out = shell(sh, &sb.app, ". ./.environment; platform --version");
        assert_eq!(stdout(&out), "platform CLI 5.10.8\n", "{sh}");
    }
}

#[test]
fn bin_dir_with_a_space_and_a_dollar_works() {
    let sb = Sandbox::new();
    let mirror = mirror(&sb);
    let bin = sb.path().join("my tools $HOME 'q'").join("bin");
    install(
        &sb,
        &mirror,
        &["--bin-dir", bin.to_str().unwrap(), "platform"],
    );
    let bin = real(&bin);
    assert!(bin.join("platform").is_file());
    for sh in SHELLS {
        let once = path_after_sourcing(sh, &sb.app, 1);
        assert_once(&once, &bin, sh);
        assert_eq!(path_after_sourcing(sh, &sb.app, 2), once, "{sh}");
        let out = shell(sh, &sb.app, ". ./.environment; platform --version");
        assert_eq!(stdout(&out), "platform CLI 5.10.8\n", "{sh}");
        assert!(out.stderr.is_empty(), "{sh}: {}", stderr(&out));
    }
}

#[test]
fn env_file_stays_valid_after_installing_two_tools() {
    let sb = Sandbox::new();
    let mirror = mirror(&sb);
    std::fs::write(sb.env_file(), "export APP_VAR='kept'\n").unwrap();
    install(&sb, &mirror, &["platform"]);
    let after_one = std::fs::read_to_string(sb.env_file()).unwrap();
    install(&sb, &mirror, &["upsun"]);
    let text = std::fs::read_to_string(sb.env_file()).unwrap();
    assert_eq!(text, after_one, "a second tool needs no second block");
    assert_eq!(text.matches("# >>> hookstrap >>>").count(), 1, "{text}");
    assert_eq!(text.matches("# <<< hookstrap <<<").count(), 1, "{text}");
    let bin = real(&sb.bin_dir());
    for sh in SHELLS {
        assert_once(&path_after_sourcing(sh, &sb.app, 2), &bin, sh);
        let out = shell(
            sh,
            &sb.app,
            ". ./.environment; . ./.environment; platform --version; upsun --version; printf '%s\\n' \"$APP_VAR\"",
        );
        assert_eq!(
            stdout(&out),
            "platform CLI 5.10.8\nupsun CLI 5.10.8\nkept\n",
            "{sh}"
        );
        assert!(out.stderr.is_empty(), "{sh}: {}", stderr(&out));
    }
}
