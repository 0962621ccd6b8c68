//! Several tools and targets at once (`--jobs N`, `HOOKSTRAP_JOBS`): `install`, `fetch` and
//! `lock` resolve and download concurrently, at most N at a time; the output is in sorted order
//! whatever finishes first; and when one tool fails, nothing is placed and the first failure in
//! sorted order decides the exit code.
//!
//! Overlap is proven by counting, never by timing: the test server holds every response back
//! for a while and records the most requests it was answering at once
//! ([`TestServer::max_in_flight`]). Five GitHub tools (`alpha` … `echo`, one small release
//! each, [`fixtures::tool_release`]) make the manifest.

mod common;

use std::path::Path;
use std::time::Duration;

use common::fixtures::{
    self, Release, cli_release, mount_github_release, mount_release, release_api_path, tool_release,
};
use common::server::{Behavior, TestServer};
use common::{Sandbox, assert_exit, assert_success, stderr, stdout};

const TOOLS: [&str; 5] = ["alpha", "bravo", "charlie", "delta", "echo"];
/// Long enough that requests sent together are surely answered together, short enough to keep
/// the suite fast.
const HOLD: Duration = Duration::from_millis(150);

/// The five releases at `tag`, served (release API with digests, archives, checksums).
fn serve_tools(server: &TestServer, tag: &str) -> Vec<Release> {
    TOOLS
        .iter()
        .map(|name| {
            let rel = tool_release("acme", name, tag);
            mount_github_release(server, &rel, true);
            rel
        })
        .collect()
}

/// `hookstrap.toml` declaring the five tools at `tag`.
fn manifest(tag: &str) -> String {
    let mut text = String::from("[tools]\n");
    for name in TOOLS {
        text.push_str(&format!(
            "{name} = {{ github = \"acme/{name}\", version = \"{tag}\" }}\n"
        ));
    }
    text
}

fn sandbox_with_manifest(tag: &str) -> Sandbox {
    let sb = Sandbox::new();
    std::fs::write(sb.app.join("hookstrap.toml"), manifest(tag)).expect("write manifest");
    sb
}

/// Runs `hookstrap ARGS --mirror URL`.
fn run(sb: &Sandbox, server: &TestServer, args: &[&str]) -> std::process::Output {
    let mirror = server.url();
    let mut all = args.to_vec();
    all.extend(["--mirror", mirror.as_str()]);
    sb.run(&all)
}

/// What each tool's installed binary says, or `None` when it is not there.
fn installed(sb: &Sandbox) -> Vec<Option<String>> {
    TOOLS
        .iter()
        .map(|name| std::fs::read_to_string(sb.bin_dir().join(name)).ok())
        .collect()
}

/// Entries of `dir` whose names start with `prefix` (leftover temporaries).
fn leftovers(dir: &Path, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// Everything under `dir` (relative paths and contents), to compare a tree before and after.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .display()
                .to_string();
            if path.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(root, &path, out);
            } else {
                out.push((rel, std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The lines of stderr that start with `prefix`.
fn lines_starting(text: &str, prefix: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

// ---- overlap, counted at the server ----

#[test]
fn five_tools_overlap_with_jobs_4_and_never_with_jobs_1() {
    let server = TestServer::start();
    serve_tools(&server, "v1.0.0");
    server.delay_responses(HOLD);

    let parallel = sandbox_with_manifest("v1.0.0");
    let out = run(&parallel, &server, &["install", "--jobs", "4"]);
    assert_success(&out);
    let most = server.max_in_flight();
    eprintln!("--jobs 4: at most {most} requests in flight");
    assert!(
        (2..=4).contains(&most),
        "--jobs 4 had {most} requests in flight at most"
    );
    // Each tool: its release listing, then its archive.
    assert_eq!(server.total(), 10, "{:?}", server.requests());

    server.reset_in_flight();
    let sequential = sandbox_with_manifest("v1.0.0");
    let out = run(&sequential, &server, &["install", "--jobs", "1"]);
    assert_success(&out);
    assert_eq!(server.max_in_flight(), 1, "--jobs 1 never overlaps");

    // Same result either way.
    for sb in [&parallel, &sequential] {
        for (name, said) in TOOLS.iter().zip(installed(sb)) {
            let said = said.unwrap_or_else(|| panic!("{name} not installed"));
            assert!(said.contains(&format!("{name} v1.0.0")), "{said}");
        }
    }
    for sb in [&parallel, &sequential] {
        let env = std::fs::read_to_string(sb.env_file()).expect("env file");
        assert_eq!(env.matches("# >>> hookstrap >>>").count(), 1, "{env}");
    }
}

#[test]
fn hookstrap_jobs_sets_the_bound_and_the_flag_wins() {
    let server = TestServer::start();
    serve_tools(&server, "v1.0.0");
    server.delay_responses(HOLD);

    let sb = sandbox_with_manifest("v1.0.0");
    let mut cmd = sb.cmd();
    cmd.env("HOOKSTRAP_JOBS", "1")
        .args(["install", "--mirror", &server.url()]);
    assert_success(&common::run(&mut cmd));
    assert_eq!(server.max_in_flight(), 1);

    server.reset_in_flight();
    let sb = sandbox_with_manifest("v1.0.0");
    let mut cmd = sb.cmd();
    cmd.env("HOOKSTRAP_JOBS", "1")
        .args(["install", "--jobs", "3", "--mirror", &server.url()]);
    assert_success(&common::run(&mut cmd));
    let most = server.max_in_flight();
    assert!((2..=3).contains(&most), "{most}");

    // The default overlaps too.
    server.reset_in_flight();
    let sb = sandbox_with_manifest("v1.0.0");
    assert_success(&run(&sb, &server, &["install"]));
    assert!(server.max_in_flight() > 1, "{}", server.max_in_flight());
}

#[test]
fn zero_or_garbage_jobs_is_a_usage_error() {
    let sb = Sandbox::new();
    for args in [
        &["install", "--jobs", "0"][..],
        &["install", "--jobs", "many"],
    ] {
        let out = sb.run(args);
        assert_exit(&out, 2);
    }
    for value in ["0", "many", "-1"] {
        let mut cmd = sb.cmd();
        cmd.env("HOOKSTRAP_JOBS", value).arg("install");
        let out = common::run(&mut cmd);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("HOOKSTRAP_JOBS"), "{}", stderr(&out));
    }
    assert!(!sb.bin_dir().exists());
}

#[test]
fn fetch_of_several_tools_and_targets_overlaps_and_prints_in_order() {
    let server = TestServer::start();
    let targets = ["linux_amd64", "linux_arm64"];
    let rel = cli_release("5.10.8", &["platform", "upsun"], &targets);
    mount_release(&server, &rel);
    server.delay_responses(HOLD);

    let sb = Sandbox::new();
    // Given out of order: the output is sorted by tool, then target, all the same.
    let out = run(
        &sb,
        &server,
        &[
            "fetch",
            "upsun@5.10.8",
            "platform@5.10.8",
            "--target",
            "linux_arm64",
            "--target",
            "linux_amd64",
            "--jobs",
            "4",
        ],
    );
    assert_success(&out);
    let most = server.max_in_flight();
    eprintln!("fetch --jobs 4: at most {most} requests in flight");
    assert!((2..=4).contains(&most), "{most}");
    let rows: Vec<(String, String)> = stdout(&out)
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols[0].to_owned(), cols[2].to_owned())
        })
        .collect();
    let expected: Vec<(String, String)> = ["platform", "upsun"]
        .iter()
        .flat_map(|b| targets.iter().map(|t| (b.to_string(), t.to_string())))
        .collect();
    assert_eq!(rows, expected, "{}", stdout(&out));
}

#[test]
fn targets_sharing_one_archive_do_not_wait_for_each_other() {
    // Regression: a job kept its blob's lock until the batch was reported, so a second job
    // wanting the same blob (the fixtures' targets share their archive's bytes) waited for the
    // lock timeout. Jobs now let go of a blob as soon as they are done with it.
    let server = TestServer::start();
    let targets = ["darwin_all", "linux_amd64", "linux_arm64"];
    let rel = cli_release("5.10.8", &["platform"], &targets);
    mount_release(&server, &rel);
    let sb = Sandbox::new();
    let mut cmd = sb.cmd();
    cmd.env("HOOKSTRAP_LOCK_TIMEOUT", "5").args([
        "fetch",
        "platform@5.10.8",
        "--jobs",
        "3",
        "--mirror",
        &server.url(),
    ]);
    for t in targets {
        cmd.args(["--target", t]);
    }
    let started = std::time::Instant::now();
    let out = common::run(&mut cmd);
    assert_success(&out);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(stdout(&out).lines().count(), 3, "{}", stdout(&out));
}

#[test]
fn lock_writes_the_same_file_whatever_the_number_of_jobs() {
    let server = TestServer::start();
    serve_tools(&server, "v1.0.0");
    server.delay_responses(HOLD);

    let parallel = sandbox_with_manifest("v1.0.0");
    assert_success(&run(&parallel, &server, &["lock", "--jobs", "4"]));
    assert!(server.max_in_flight() > 1, "{}", server.max_in_flight());
    let sequential = sandbox_with_manifest("v1.0.0");
    assert_success(&run(&sequential, &server, &["lock", "--jobs", "1"]));
    let a = std::fs::read_to_string(parallel.lock_file()).expect("lock file");
    let b = std::fs::read_to_string(sequential.lock_file()).expect("lock file");
    assert_eq!(a, b);
    let names: Vec<&str> = a
        .lines()
        .filter_map(|l| l.strip_prefix("name = "))
        .collect();
    assert_eq!(
        names,
        TOOLS.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>(),
        "{a}"
    );
}

// ---- deterministic output ----

#[test]
fn output_is_in_sorted_order_when_the_first_tool_finishes_last() {
    let server = TestServer::start();
    let rels = serve_tools(&server, "v1.0.0");
    // alpha's archive comes last by far; the others come at once.
    let alpha = &rels[0];
    let (asset, bytes) = &alpha.assets[0];
    server.route(
        &alpha.path(asset),
        Behavior::file(bytes.clone()).delayed(Duration::from_millis(600)),
    );

    let sb = sandbox_with_manifest("v1.0.0");
    let out = run(&sb, &server, &["install", "--jobs", "5", "--json"]);
    assert_success(&out);
    // alpha was asked for before the others finished, yet answered last.
    let err = stderr(&out);
    let said: Vec<String> = lines_starting(&err, "installed ");
    let expected: Vec<String> = TOOLS
        .iter()
        .map(|t| {
            let path = std::fs::canonicalize(sb.bin_dir()).unwrap().join(t);
            format!("installed {t} 1.0.0 (downloaded) → {}", path.display())
        })
        .collect();
    assert_eq!(said, expected, "{err}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let order: Vec<&str> = json["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|t| t["tool"].as_str().expect("tool"))
        .collect();
    assert_eq!(order, TOOLS);
    assert_eq!(json["tool"], "alpha");
}

// ---- when one of several fails ----

/// A bin dir holding v1.0.0 of the five tools, and a manifest asking for v2.0.0.
fn installed_v1_asking_v2(server: &TestServer) -> Sandbox {
    let sb = sandbox_with_manifest("v1.0.0");
    assert_success(&run(&sb, server, &["install"]));
    std::fs::write(sb.app.join("hookstrap.toml"), manifest("v2.0.0")).expect("manifest");
    sb
}

#[test]
fn one_tool_missing_fails_the_run_names_it_and_places_nothing() {
    for jobs in ["1", "4"] {
        let server = TestServer::start();
        serve_tools(&server, "v1.0.0");
        let v2 = serve_tools(&server, "v2.0.0");
        // charlie 2.0.0 does not exist.
        server.route(&release_api_path(&v2[2]), Behavior::status(404));
        let sb = installed_v1_asking_v2(&server);
        let bin_before = snapshot(&sb.bin_dir());
        let env_before = std::fs::read(sb.env_file()).expect("env file");
        server.delay_responses(HOLD);

        let out = run(&sb, &server, &["install", "--jobs", jobs]);
        assert_exit(&out, 3);
        let err = stderr(&out);
        assert!(
            err.starts_with("error: cannot install `charlie`")
                || err.contains("\nerror: cannot install `charlie`"),
            "--jobs {jobs}: {err}"
        );
        assert!(err.contains("acme/charlie/releases/tags/v2.0.0"), "{err}");
        assert!(err.contains("nothing was installed"), "{err}");
        // Every tool is still the old one, byte for byte; the receipt and env file too.
        assert_eq!(snapshot(&sb.bin_dir()), bin_before, "--jobs {jobs}");
        assert_eq!(std::fs::read(sb.env_file()).unwrap(), env_before);
        for said in installed(&sb) {
            assert!(said.is_some_and(|s| s.contains("v1.0.0")));
        }
        // No staging directory, receipt temporary or partial download is left.
        assert!(leftovers(&sb.bin_dir(), ".hookstrap-tmp").is_empty());
        assert!(leftovers(&sb.bin_dir(), ".hookstrap-receipt-tmp").is_empty());
        assert!(
            leftovers(&sb.cache.join("tmp"), "").is_empty(),
            "--jobs {jobs}"
        );

        // Once charlie 2.0.0 exists, the same command moves every tool.
        mount_github_release(&server, &v2[2], true);
        server.delay_responses(Duration::ZERO);
        assert_success(&run(&sb, &server, &["install", "--jobs", jobs]));
        for said in installed(&sb) {
            assert!(said.is_some_and(|s| s.contains("v2.0.0")));
        }
    }
}

#[test]
fn the_first_failure_in_sorted_order_decides_even_when_another_fails_first() {
    let server = TestServer::start();
    let rels = serve_tools(&server, "v1.0.0");
    // charlie is missing, but slowly; echo's archive is not what its digest says, at once.
    server.route(
        &release_api_path(&rels[2]),
        Behavior::status(404).delayed(Duration::from_millis(700)),
    );
    let echo = &rels[4];
    let (asset, _) = &echo.assets[0];
    server.route(
        &echo.path(asset),
        Behavior::file(b"not the archive".to_vec()),
    );

    let sb = sandbox_with_manifest("v1.0.0");
    let out = run(&sb, &server, &["install", "--jobs", "4"]);
    // charlie (3: not found) comes before echo (5: verification) in sorted order.
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(err.contains("error: cannot install `charlie`"), "{err}");
    assert!(
        err.contains("warning: also cannot install `echo`"),
        "the other failure is said too: {err}"
    );
    // A fresh app: nothing placed, no receipt, no env file, no temporaries.
    assert_eq!(installed(&sb), vec![None; 5]);
    assert!(!sb.env_file().exists());
    let left: Vec<String> = leftovers(&sb.bin_dir(), "");
    assert!(left.is_empty(), "{left:?}");
    assert!(leftovers(&sb.cache.join("tmp"), "").is_empty());
}

#[test]
fn a_failing_fetch_names_the_tool_and_target() {
    let server = TestServer::start();
    let mut rel = cli_release("5.10.8", &["platform"], &["linux_amd64", "linux_arm64"]);
    // Both targets' archives are the same bytes in fixtures: make arm64's its own, then lose it.
    let arm64 = rel.asset_name("platform", "linux_arm64");
    let other = fixtures::tar_gz(&[("platform", 0o755, b"#!/bin/sh\necho arm64\n".as_slice())]);
    rel.replace_asset(&arm64, other);
    rel.refresh_checksums();
    mount_release(&server, &rel);
    server.route(&rel.path(&arm64), Behavior::status(404));
    let sb = Sandbox::new();
    let out = run(
        &sb,
        &server,
        &[
            "fetch",
            "platform@5.10.8",
            "--target",
            "linux_amd64",
            "--target",
            "linux_arm64",
        ],
    );
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("error: cannot fetch `platform (linux_arm64)`"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
    // What did verify stays in the cache for the next try; no partial file does.
    assert!(leftovers(&sb.cache.join("tmp"), "").is_empty());
}
