//! `scripts/install.sh`, the one-liner a build hook uses to get hookstrap itself: run under real
//! `dash` against a loopback server, with the pin rewritten to the binary under test.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::fixtures::{self, cli_release, mount_latest_body, mount_release, sha256_hex};
use common::server::{Behavior, TestServer};
use common::{Sandbox, assert_exit, assert_success, stderr};

/// The asset and pin line install.sh picks on this machine.
const ASSET: &str = if cfg!(target_arch = "aarch64") {
    "hookstrap-aarch64-linux"
} else {
    "hookstrap-x86_64-linux"
};
const PIN: &str = if cfg!(target_arch = "aarch64") {
    "SHA256_AARCH64="
} else {
    "SHA256_X86_64="
};

/// install.sh with this machine's pin set to `sha`, written into the sandbox.
fn pinned_script(sb: &Sandbox, sha: &str) -> PathBuf {
    let original =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install.sh"))
            .unwrap();
    let mut found = false;
    let text: String = original
        .lines()
        .map(|line| {
            if line.starts_with(PIN) {
                found = true;
                format!("{PIN}{sha}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    assert!(found, "install.sh has no {PIN} pin line");
    let path = sb.path().join("install.sh");
    std::fs::write(&path, text).unwrap();
    path
}

struct World {
    sb: Sandbox,
    server: TestServer,
    tmpdir: PathBuf,
    binary_sha: String,
}

fn world() -> World {
    let sb = Sandbox::new();
    let server = TestServer::start();
    let binary = std::fs::read(env!("CARGO_BIN_EXE_hookstrap")).unwrap();
    let binary_sha = sha256_hex(&binary);
    server.route(&format!("/base/{ASSET}"), Behavior::file(binary));
    let rel = cli_release("5.10.8", &["platform"], &[fixtures::this_target()]);
    mount_release(&server, &rel);
    mount_latest_body(&server, &rel.owner, &rel.repo, &rel.tag);
    let tmpdir = sb.path().join("tmp");
    std::fs::create_dir(&tmpdir).unwrap();
    World {
        sb,
        server,
        tmpdir,
        binary_sha,
    }
}

impl World {
    fn dash(&self, script: &Path, args: &[&str]) -> Command {
        // The sandbox's cleared environment, with dash as the program.
        let base = self.sb.cmd();
        let mut dash = Command::new("dash");
        dash.env_clear()
            .envs(base.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .env("TMPDIR", &self.tmpdir)
            .env(
                "HOOKSTRAP_INSTALL_BASE",
                format!("{}/base", self.server.url()),
            )
            .current_dir(&self.sb.app)
            .arg(script)
            .args(args);
        dash
    }

    fn tmp_is_empty(&self) -> bool {
        std::fs::read_dir(&self.tmpdir).unwrap().next().is_none()
    }
}

#[test]
fn installs_hookstrap_then_runs_it_and_leaves_nothing() {
    let w = world();
    let script = pinned_script(&w.sb, &w.binary_sha);
    let mirror = w.server.url();
    let out = w
        .dash(&script, &["install", "platform", "--mirror", &mirror])
        .output()
        .unwrap();
    assert_success(&out);
    let bin = w.sb.bin_dir().join("platform");
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        "platform CLI 5.10.8"
    );
    assert!(w.tmp_is_empty(), "install.sh left files in TMPDIR");
    assert_eq!(w.server.count(&format!("/base/{ASSET}")), 1);
}

#[test]
fn piped_into_sh_s_like_the_readme_says() {
    let w = world();
    let script = pinned_script(&w.sb, &w.binary_sha);
    let mirror = w.server.url();
    let mut child = w
        .dash(
            Path::new("-s"),
            &["--", "install", "platform@5.10.8", "--mirror", &mirror],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&std::fs::read(&script).unwrap()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_success(&out);
    assert!(w.sb.bin_dir().join("platform").is_file());
    assert!(w.tmp_is_empty());
}

#[test]
fn a_wrong_pin_refuses_to_run_anything() {
    let w = world();
    let script = pinned_script(&w.sb, &"0".repeat(64));
    let out = w.dash(&script, &["install", "platform"]).output().unwrap();
    assert_exit(&out, 5);
    let err = stderr(&out);
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(
        err.contains(&w.binary_sha),
        "names the computed hash: {err}"
    );
    assert!(!w.sb.bin_dir().exists(), "nothing may be installed");
    assert!(w.tmp_is_empty(), "install.sh left files in TMPDIR");
}

#[test]
fn a_missing_release_is_a_network_error_and_leaves_nothing() {
    let w = world();
    w.server
        .route(&format!("/base/{ASSET}"), Behavior::status(404));
    let script = pinned_script(&w.sb, &w.binary_sha);
    let out = w.dash(&script, &["install", "platform"]).output().unwrap();
    assert_exit(&out, 4);
    assert!(!w.sb.bin_dir().exists());
    assert!(w.tmp_is_empty());
}

#[test]
fn hookstraps_own_exit_code_is_passed_through() {
    let w = world();
    let script = pinned_script(&w.sb, &w.binary_sha);
    let out = w.dash(&script, &["install", "nope"]).output().unwrap();
    assert_exit(&out, 2);
    assert!(w.tmp_is_empty());
}

#[test]
fn keep_dir_holds_the_verified_binary() {
    let w = world();
    let script = pinned_script(&w.sb, &w.binary_sha);
    let keep = w.sb.path().join("keep");
    let out = w
        .dash(&script, &["--version"])
        .env("HOOKSTRAP_INSTALL_KEEP", &keep)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(
        sha256_hex(&std::fs::read(keep.join("hookstrap")).unwrap()),
        w.binary_sha
    );
}

// ---- issue 12: a committed install.sh caches hookstrap; recipes fail closed ----

/// A port nothing listens on: every request to it is refused.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_warm_build_with_a_committed_install_sh_and_a_lock_makes_no_request() {
    let w = world();
    let script = pinned_script(&w.sb, &w.binary_sha);
    let platform_cache = w.sb.path().join("platform-cache");
    let hookstrap = |base: &str, mirror: &str, args: &[&str]| {
        w.dash(&script, args)
            .env("PLATFORM_CACHE_DIR", &platform_cache)
            .env_remove("HOOKSTRAP_CACHE_DIR")
            .env("HOOKSTRAP_INSTALL_BASE", base)
            .env("HOOKSTRAP_MIRROR", mirror)
            .output()
            .unwrap()
    };
    let live_base = format!("{}/base", w.server.url());
    // The developer locks once; the first build fills both caches.
    assert_success(&hookstrap(
        &live_base,
        &w.server.url(),
        &["lock", "platform@5.10.8"],
    ));
    assert_success(&hookstrap(&live_base, &w.server.url(), &["install"]));
    assert!(
        platform_cache
            .join("hookstrap-bin")
            .join(format!("hookstrap-{}", w.binary_sha))
            .is_file()
    );
    std::fs::remove_dir_all(w.sb.bin_dir()).unwrap();

    // The next build, with every request refused: nothing is needed from the network.
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let out = hookstrap(&format!("{dead}/base"), &dead, &["install"]);
    assert_success(&out);
    assert!(w.sb.bin_dir().join("platform").is_file());

    // And with the server up, it is asked nothing.
    std::fs::remove_dir_all(w.sb.bin_dir()).unwrap();
    w.server.clear_requests();
    assert_success(&hookstrap(&live_base, &w.server.url(), &["install"]));
    assert_eq!(w.server.total(), 0, "{:?}", w.server.requests());
    assert!(w.tmp_is_empty());
}

#[test]
fn the_cached_hookstrap_is_checked_against_the_pin_on_every_use() {
    let w = world();
    let script = pinned_script(&w.sb, &w.binary_sha);
    let cache = w.sb.path().join("bin-cache");
    std::fs::create_dir_all(&cache).unwrap();
    // A branch plants a script under the very name the pin gives.
    let planted = cache.join(format!("hookstrap-{}", w.binary_sha));
    let proof = w.sb.path().join("pwned");
    std::fs::write(&planted, format!("#!/bin/sh\ntouch {}\n", proof.display())).unwrap();
    let out = w
        .dash(&script, &["--version"])
        .env("HOOKSTRAP_INSTALL_CACHE", &cache)
        .output()
        .unwrap();
    assert_success(&out);
    assert!(!proof.exists(), "the planted script never ran");
    assert!(
        stderr(&out).contains("discarding the cached copy"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.server.count(&format!("/base/{ASSET}")), 1);
    assert_eq!(sha256_hex(&std::fs::read(&planted).unwrap()), w.binary_sha);
}

/// The build hooks the README documents (`hooks: build: |` blocks), in order.
fn readme_recipes() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut recipes = Vec::new();
    let mut lines = readme.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.trim_end().ends_with("build: |") {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let mut body = String::new();
        while let Some(next) = lines.peek() {
            let next_indent = next.len() - next.trim_start().len();
            if next.trim().is_empty() || next.starts_with("```") || next_indent <= indent {
                break;
            }
            body.push_str(next.trim_start());
            body.push('\n');
            lines.next();
        }
        if body.contains("hookstrap") {
            recipes.push(body);
        }
    }
    recipes
}

#[test]
fn every_documented_build_hook_fails_closed_under_dash() {
    let recipes = readme_recipes();
    assert!(recipes.len() >= 3, "{recipes:?}");
    for recipe in &recipes {
        assert!(
            recipe.starts_with("set -e\n"),
            "every recipe sets -e: {recipe}"
        );
        assert!(
            !recipe.contains("| sh ") && !recipe.contains("| sh\n"),
            "no recipe pipes a download into sh: {recipe}"
        );
        for failing in [true, false] {
            let w = world();
            let script = pinned_script(&w.sb, &w.binary_sha);
            std::fs::copy(&script, w.sb.app.join("hookstrap-install.sh")).unwrap();
            let script_sha = sha256_hex(&std::fs::read(&script).unwrap());
            let base = format!("{}/base", w.server.url());
            w.server.route(
                "/base/install.sh",
                Behavior::file(std::fs::read(&script).unwrap()),
            );
            if failing {
                for path in [format!("/base/{ASSET}"), "/base/install.sh".to_string()] {
                    w.server.route(&path, Behavior::status(503));
                }
            }
            let hook = recipe
                .replace(
                    "https://github.com/hookstrap/hookstrap/releases/download/v0.1.0",
                    &base,
                )
                .replace("INSTALL_SH_SHA256", &script_sha)
                .replace("/tmp/", &format!("{}/", w.tmpdir.display()));
            let out = Command::new("dash")
                .arg("-c")
                .arg(&hook)
                .env_clear()
                .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                .env("HOME", &w.sb.home)
                .env("PLATFORM_APP_DIR", &w.sb.app)
                .env("PLATFORM_CACHE_DIR", w.sb.path().join("platform-cache"))
                .env("TMPDIR", &w.tmpdir)
                .env("HOOKSTRAP_INSTALL_BASE", &base)
                .env("HOOKSTRAP_MIRROR", w.server.url())
                .env("HOOKSTRAP_RETRY_MAX_DELAY", "0")
                .current_dir(&w.sb.app)
                .output()
                .unwrap();
            if failing {
                assert!(
                    !out.status.success(),
                    "a failing download must fail the build:\n{hook}\n{}",
                    stderr(&out)
                );
                assert!(!w.sb.bin_dir().join("platform").exists());
            } else {
                assert_success(&out);
                assert!(w.sb.bin_dir().join("platform").is_file(), "{hook}");
            }
        }
    }
}
