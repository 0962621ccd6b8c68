//! A project living with its build hook (issue 12): names users expect, tags with and without
//! their `v`, another target beside the host's, and keeping pins current with `outdated`,
//! `lock --upgrade` and `lock --check`. Every test runs the real binary against a loopback
//! server and counts the requests it makes.

mod common;

use std::path::Path;

use common::fixtures::{self, Release, checksums_txt, github_release, this_target};
use common::server::{Behavior, TestServer};
use common::{Sandbox, assert_exit, assert_success, stderr, stdout};

/// A native program by its first bytes (ELF), so the archive's script does not count.
fn program(version: &str) -> Vec<u8> {
    format!("\x7fELF toolctl {version}\n").into_bytes()
}

/// `acme/tool` at `tag`: `tool-X/bin/toolctl` (the program) beside `install-man-page.sh` (an
/// executable script), for this machine.
fn tool_release(tag: &str) -> Release {
    let version = tag.trim_start_matches('v');
    let asset = format!("tool_{version}_{}.tar.gz", this_target());
    let dir = format!("tool-{version}");
    let archive = fixtures::tar_gz(&[
        (&format!("{dir}/bin/toolctl"), 0o755, &program(version)),
        (
            &format!("{dir}/install-man-page.sh"),
            0o755,
            b"#!/bin/sh\necho man\n",
        ),
        (&format!("{dir}/README.md"), 0o644, b"# tool\n"),
    ]);
    let sums = checksums_txt(&[(asset.as_str(), archive.as_slice())]);
    github_release(
        "acme",
        "tool",
        tag,
        vec![
            (asset, archive),
            ("checksums.txt".into(), sums.into_bytes()),
        ],
    )
}

/// A server with `acme/tool` v1.0.0 and v1.1.0 (latest), and the CLI 5.10.7 and 5.10.8
/// (latest).
fn server() -> TestServer {
    let server = TestServer::start();
    for tag in ["v1.0.0", "v1.1.0"] {
        fixtures::mount_github_release(&server, &tool_release(tag), false);
    }
    for version in ["5.10.7", "5.10.8"] {
        fixtures::mount_release(
            &server,
            &fixtures::cli_release(version, &["platform"], &[this_target()]),
        );
    }
    fixtures::mount_latest_redirect(&server, "upsun", "cli", "v5.10.8");
    server
}

fn run(sb: &Sandbox, server: &TestServer, args: &[&str]) -> std::process::Output {
    common::run(sb.cmd().args(args).args(["--mirror", &server.url()]))
}

fn manifest(sb: &Sandbox, text: &str) {
    std::fs::write(sb.app.join("hookstrap.toml"), text).unwrap();
}

fn lock_text(sb: &Sandbox) -> String {
    std::fs::read_to_string(sb.lock_file()).unwrap()
}

fn installed(sb: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(sb.bin_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

// ---- names users expect ----

#[test]
fn the_command_is_the_programs_own_name_found_by_its_magic_bytes() {
    let server = server();
    let sb = Sandbox::new();
    assert_success(&run(&sb, &server, &["install", "github:acme/tool@v1.1.0"]));
    assert_eq!(installed(&sb), ["toolctl"], "not `tool`, not the script");
    assert_eq!(
        std::fs::read(sb.bin_dir().join("toolctl")).unwrap(),
        program("1.1.0")
    );
    // `--bin` names it.
    let sb = Sandbox::new();
    assert_success(&run(
        &sb,
        &server,
        &["install", "github:acme/tool@v1.1.0", "--bin", "tl"],
    ));
    assert_eq!(installed(&sb), ["tl"]);
}

#[test]
fn a_manifest_key_is_a_spec_and_a_github_spec_of_it_is_the_same_tool() {
    let server = server();
    let sb = Sandbox::new();
    manifest(&sb, "[tools]\ntool = { github = \"acme/tool\" }\n");
    assert_success(&run(&sb, &server, &["install", "tool"]));
    assert_success(&run(&sb, &server, &["lock", "tool"]));
    assert!(
        lock_text(&sb).contains("name = \"tool\""),
        "{}",
        lock_text(&sb)
    );
    assert!(
        lock_text(&sb).contains("bin = \"toolctl\""),
        "{}",
        lock_text(&sb)
    );
    // The same repository by a github: SPEC is the manifest's tool, not a second copy.
    std::fs::remove_file(sb.lock_file()).unwrap();
    assert_success(&run(&sb, &server, &["install", "github:acme/tool@v1.0.0"]));
    let listed = stdout(&sb.run(&["list"]));
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.starts_with("tool\t1.0.0\t"), "{listed}");
}

#[test]
fn a_tag_without_its_v_resolves_to_the_tag_that_exists_warm_and_cold() {
    let server = server();
    let cold = Sandbox::new();
    assert_success(&run(&cold, &server, &["install", "github:acme/tool@1.0.0"]));
    let warm = Sandbox::new();
    let out = common::run(
        warm.cmd()
            .args([
                "install",
                "github:acme/tool@1.0.0",
                "--mirror",
                &server.url(),
            ])
            .env("HOOKSTRAP_CACHE_DIR", &cold.cache),
    );
    assert_success(&out);
    for sb in [&cold, &warm] {
        assert_eq!(
            std::fs::read(sb.bin_dir().join("toolctl")).unwrap(),
            program("1.0.0")
        );
    }
}

#[test]
fn relocking_without_a_manifest_keeps_each_pins_exact_tag() {
    let server = server();
    let sb = Sandbox::new();
    assert_success(&run(&sb, &server, &["lock", "github:acme/tool@v1.0.0"]));
    assert!(
        lock_text(&sb).contains("/download/v1.0.0/"),
        "{}",
        lock_text(&sb)
    );
    // A plain `lock`, warm and then with a cold cache.
    for cache in ["warm", "cold"] {
        if cache == "cold" {
            std::fs::remove_dir_all(&sb.cache).unwrap();
        }
        assert_success(&run(&sb, &server, &["lock"]));
        let text = lock_text(&sb);
        assert!(text.contains("/download/v1.0.0/"), "{cache}: {text}");
        assert!(!text.contains("/download/1.0.0/"), "{cache}: {text}");
    }
}

// ---- another target ----

#[test]
fn another_target_never_touches_the_hosts_setup() {
    let server = server();
    let sb = Sandbox::new();
    assert_success(&run(&sb, &server, &["install", "platform@5.10.8"]));
    let env_before = std::fs::read(sb.env_file()).unwrap();
    let bin_before = std::fs::read(sb.bin_dir().join("platform")).unwrap();
    let other = if this_target() == "linux_arm64" {
        "linux_amd64"
    } else {
        "linux_arm64"
    };
    fixtures::mount_release(
        &server,
        &fixtures::cli_release("5.10.8", &["platform"], &[this_target(), other]),
    );
    // Into the host's bin dir: refused, with the flag that works.
    let out = run(
        &sb,
        &server,
        &["install", "platform@5.10.8", "--target", other],
    );
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--bin-dir DIR"), "{}", stderr(&out));
    // Into a bin dir of its own: the env file and the host's binary are untouched.
    let arm = sb.app.join("other-bin");
    let out = run(
        &sb,
        &server,
        &[
            "install",
            "platform@5.10.8",
            "--target",
            other,
            "--bin-dir",
            arm.to_str().unwrap(),
        ],
    );
    assert_success(&out);
    assert!(arm.join("platform").is_file());
    assert_eq!(std::fs::read(sb.env_file()).unwrap(), env_before);
    assert_eq!(
        std::fs::read(sb.bin_dir().join("platform")).unwrap(),
        bin_before
    );
}

// ---- keeping pins current ----

#[test]
fn outdated_lists_pinned_and_newest_and_exit_code_says_behind() {
    let server = server();
    let sb = Sandbox::new();
    manifest(
        &sb,
        "[tools]\nplatform = \"latest\"\ntool = { github = \"acme/tool\" }\n",
    );
    assert_success(&run(
        &sb,
        &server,
        &["lock", "platform@5.10.7", "tool@v1.0.0"],
    ));
    let out = run(&sb, &server, &["outdated"]);
    assert_success(&out);
    assert_eq!(
        stdout(&out),
        "platform\t5.10.7\t5.10.8\tbehind\ntool\t1.0.0\t1.1.0\tbehind\n"
    );
    let out = run(&sb, &server, &["outdated", "--exit-code", "platform"]);
    assert_exit(&out, 9);
    assert!(stderr(&out).contains("lock --upgrade"), "{}", stderr(&out));
    let out = run(&sb, &server, &["outdated", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["artifacts"][0]["tool"], "platform");
    assert_eq!(json["artifacts"][0]["latest"], "5.10.8");
    assert_eq!(json["artifacts"][0]["behind"], true);
}

#[test]
fn lock_upgrade_moves_pins_and_says_so_and_a_pinned_install_refuses_another_version() {
    let server = server();
    let sb = Sandbox::new();
    manifest(
        &sb,
        "[tools]\nplatform = \"latest\"\ntool = { github = \"acme/tool\", version = \"v1.0.0\" }\n",
    );
    assert_success(&run(&sb, &server, &["lock", "platform@5.10.7"]));
    // Under the lock, another version is refused with the command that moves the pin.
    for spec in ["platform@latest", "platform@5.10.8"] {
        let out = run(&sb, &server, &["install", spec]);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("hookstrap lock --upgrade platform"),
            "{spec}: {}",
            stderr(&out)
        );
    }
    let out = run(&sb, &server, &["lock", "--upgrade"]);
    assert_success(&out);
    // The manifest allows any platform, and exactly v1.0.0 of tool.
    assert_eq!(
        stdout(&out),
        "platform 5.10.7 → 5.10.8\ntool (new) → 1.0.0\n"
    );
    assert!(lock_text(&sb).contains("version = \"5.10.8\""));
    let out = run(&sb, &server, &["lock", "--upgrade"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "");
}

#[test]
fn lock_check_compares_lock_and_manifest_without_the_network() {
    let server = server();
    let sb = Sandbox::new();
    manifest(
        &sb,
        "[tools]\nplatform = \"latest\"\ntool = { github = \"acme/tool\" }\n",
    );
    assert_success(&run(&sb, &server, &["lock"]));
    server.clear_requests();
    // `latest` in the manifest is satisfied by any pin.
    assert_success(&run(&sb, &server, &["lock", "--check"]));
    // A tool added to the manifest, a target, a version the manifest no longer allows.
    for (text, expected) in [
        (
            "[tools]\nplatform = \"latest\"\ntool = { github = \"acme/tool\" }\njq = { github = \"jqlang/jq\" }\n",
            "`jq` is declared but not pinned",
        ),
        (
            "targets = [\"linux_amd64\", \"linux_arm64\"]\n[tools]\nplatform = \"latest\"\ntool = { github = \"acme/tool\" }\n",
            "has no pin for target",
        ),
        (
            "[tools]\nplatform = \"5.10.7\"\ntool = { github = \"acme/tool\" }\n",
            "`platform` is pinned at 5.10.8, but hookstrap.toml asks for 5.10.7",
        ),
        (
            "[tools]\nplatform = \"latest\"\n",
            "`tool` is pinned but hookstrap.toml no longer declares it",
        ),
    ] {
        manifest(&sb, text);
        let out = run(&sb, &server, &["lock", "--check"]);
        assert_exit(&out, 9);
        assert!(
            stderr(&out).contains(expected),
            "{expected}: {}",
            stderr(&out)
        );
    }
    assert_eq!(server.total(), 0, "{:?}", server.requests());
    // A plain `lock` drops the pin the manifest no longer declares.
    assert_success(&run(&sb, &server, &["lock"]));
    assert!(
        !lock_text(&sb).contains("name = \"tool\""),
        "{}",
        lock_text(&sb)
    );
    assert_success(&run(&sb, &server, &["lock", "--check"]));
}

#[test]
fn latest_that_cannot_be_resolved_hints_at_a_lock_file() {
    let server = TestServer::start();
    server.route("/upsun/cli/releases/latest", Behavior::status(503));
    let sb = Sandbox::new();
    let out = run(&sb, &server, &["install", "platform"]);
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(
        err.contains("cannot find the latest release of upsun/cli"),
        "{err}"
    );
    assert!(
        err.contains("hint: pin versions with `hookstrap lock`"),
        "{err}"
    );
}

// ---- Renovate ----

/// The regex manager's pattern the README documents, applied to the README's own manifest
/// examples: every pinned tool is found, with its repository and version.
#[test]
fn the_documented_renovate_pattern_matches_the_readme_manifests() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let config = readme
        .split("```json")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```json Renovate config in the README");
    let json: serde_json::Value = serde_json::from_str(config).expect("valid JSON");
    let manager = &json["customManagers"][0];
    assert_eq!(manager["datasourceTemplate"], "github-releases");
    let pattern = manager["matchStrings"][0].as_str().unwrap();
    // Renovate's named groups are `(?<name>…)`: Rust's regex spells them `(?P<name>…)`.
    let re = regex_lite::Regex::new(&pattern.replace("(?<", "(?P<")).unwrap();
    let mut found = Vec::new();
    for block in readme.split("```toml").skip(1) {
        let toml = block.split("```").next().unwrap_or_default();
        if !toml.contains("[tools]") {
            continue;
        }
        for caps in re.captures_iter(toml) {
            found.push(format!("{}@{}", &caps["depName"], &caps["currentValue"]));
        }
    }
    for expected in [
        "cli/cli@v2.63.0",
        "jqlang/jq@jq-1.7.1",
        "BurntSushi/ripgrep@14.1.1",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected} in {found:?}"
        );
    }
}

// ---- minimum release age ----

/// `releases.atom` for upsun/cli: 5.10.8 published a day ago, 5.10.7 ten days ago.
fn mount_feed(server: &TestServer) {
    let now = std::time::SystemTime::now();
    let ago = |days: u64| {
        humantime::format_rfc3339_seconds(now - std::time::Duration::from_secs(days * 86_400))
    };
    let entry = |tag: &str, days: u64| {
        format!(
            "<entry><id>tag:github.com,2008:Repository/1/{tag}</id><updated>{}</updated><link rel=\"alternate\" type=\"text/html\" href=\"https://github.com/upsun/cli/releases/tag/{tag}\"/><title>{tag}</title></entry>",
            ago(days)
        )
    };
    let feed = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">{}{}</feed>",
        entry("v5.10.8", 1),
        entry("v5.10.7", 10)
    );
    server.route("/upsun/cli/releases.atom", Behavior::ok(feed));
}

#[test]
fn min_release_age_skips_releases_published_too_recently() {
    let server = server();
    mount_feed(&server);
    let sb = Sandbox::new();
    manifest(
        &sb,
        "min_release_age = \"3d\"\n\n[tools]\nplatform = \"latest\"\n",
    );
    let out = run(&sb, &server, &["install"]);
    assert_success(&out);
    assert_eq!(
        std::fs::read(sb.bin_dir().join("platform")).unwrap(),
        fixtures::cli_script("platform", "5.10.7")
    );
    assert_eq!(server.count("/upsun/cli/releases.atom"), 1);
    assert_eq!(
        server.count("/upsun/cli/releases/latest"),
        0,
        "the feed, not latest"
    );
    // The flag wins over the manifest.
    let out = run(&sb, &server, &["install", "--min-release-age", "0s"]);
    assert_success(&out);
    assert_eq!(
        std::fs::read(sb.bin_dir().join("platform")).unwrap(),
        fixtures::cli_script("platform", "5.10.8")
    );
    // `lock --upgrade` respects it too.
    assert_success(&run(&sb, &server, &["lock", "--upgrade"]));
    assert!(
        lock_text(&sb).contains("version = \"5.10.7\""),
        "{}",
        lock_text(&sb)
    );
    // Nothing old enough: exit 3, saying why.
    let out = run(&sb, &server, &["outdated", "--min-release-age", "30d"]);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("no release of upsun/cli is older than 30days"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_mirror_carries_the_release_feed_for_min_release_age() {
    let server = server();
    mount_feed(&server);
    let warm = Sandbox::new();
    manifest(
        &warm,
        "min_release_age = \"3d\"\n\n[tools]\nplatform = \"latest\"\n",
    );
    assert_success(&run(&warm, &server, &["install"]));
    let tree = warm.path().join("mirror");
    assert_success(&warm.run(&["mirror", tree.to_str().unwrap()]));
    let feed = std::fs::read_to_string(tree.join("upsun/cli/releases.atom")).unwrap();
    assert!(feed.contains("<title>v5.10.7</title>"), "{feed}");
    assert!(
        feed.contains("<updated>"),
        "the time travels with the release: {feed}"
    );
    // Another machine, from the file:// mirror alone.
    let sb = Sandbox::new();
    manifest(
        &sb,
        "min_release_age = \"3d\"\n\n[tools]\nplatform = \"latest\"\n",
    );
    let out =
        common::run(
            sb.cmd()
                .args(["install", "--mirror", &format!("file://{}", tree.display())]),
        );
    assert_success(&out);
    assert_eq!(
        std::fs::read(sb.bin_dir().join("platform")).unwrap(),
        fixtures::cli_script("platform", "5.10.7")
    );
}
