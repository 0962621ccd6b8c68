//! The content-addressed cache: where it lives, what it holds, cache warming with `fetch`,
//! `--offline`, and the `cache dir|list|verify|prune` commands.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::fixtures::{self, Release};
use common::server::TestServer;
use common::{Sandbox, assert_exit, assert_success, stderr, stdout};

const ALL_TARGETS: [&str; 4] = ["linux_amd64", "linux_arm64", "darwin_all", "windows_amd64"];

/// A server with `platform` and `upsun` releases for every target at `versions`, the last one
/// being `latest`.
fn release_server(versions: &[&str]) -> (TestServer, Vec<Release>) {
    let server = TestServer::start();
    let releases: Vec<Release> = versions
        .iter()
        .map(|v| fixtures::cli_release(v, &["platform", "upsun"], &ALL_TARGETS))
        .collect();
    for rel in &releases {
        fixtures::mount_release(&server, rel);
    }
    let last = releases.last().expect("a version");
    fixtures::mount_latest_redirect(&server, "upsun", "cli", &last.tag);
    (server, releases)
}

fn blob(cache: &Path, sha: &str) -> PathBuf {
    cache.join("blobs").join("sha256").join(sha)
}

fn archive(rel: &Release, bin: &str, target: &str) -> (String, String) {
    let asset = rel.asset_name(bin, target);
    let sha = rel.sha256(&asset);
    (rel.path(&asset), sha)
}

fn files_in(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn cache_dir_follows_flag_then_variables_then_user_cache_dir() {
    let sb = Sandbox::new();
    let flag = sb.path().join("flag-cache");
    let platform = sb.path().join("platform-cache");
    let out = sb.run(&["cache", "dir", "--cache-dir", flag.to_str().unwrap()]);
    assert_success(&out);
    assert_eq!(stdout(&out).trim(), flag.to_str().unwrap());

    // HOOKSTRAP_CACHE_DIR (set by the sandbox) beats PLATFORM_CACHE_DIR.
    let out = common::run(
        sb.cmd()
            .args(["cache", "dir"])
            .env("PLATFORM_CACHE_DIR", &platform),
    );
    assert_success(&out);
    assert_eq!(stdout(&out).trim(), sb.cache.to_str().unwrap());

    let out = common::run(
        sb.cmd()
            .args(["cache", "dir"])
            .env_remove("HOOKSTRAP_CACHE_DIR")
            .env("PLATFORM_CACHE_DIR", &platform),
    );
    assert_success(&out);
    assert_eq!(
        stdout(&out).trim(),
        platform.join("hookstrap").to_str().unwrap()
    );

    let out = common::run(
        sb.cmd()
            .args(["cache", "dir"])
            .env_remove("HOOKSTRAP_CACHE_DIR"),
    );
    assert_success(&out);
    assert_eq!(
        stdout(&out).trim(),
        sb.home.join(".cache").join("hookstrap").to_str().unwrap()
    );
}

#[test]
fn install_stores_a_verified_blob_under_its_sha256_with_a_cachedir_tag() {
    let (server, rels) = release_server(&["5.10.8"]);
    let sb = Sandbox::new();
    let out = sb.run(&["install", "platform@5.10.8", "--mirror", &server.url()]);
    assert_success(&out);

    let target = fixtures::this_target();
    let asset = rels[0].asset_name("platform", target);
    let sha = rels[0].sha256(&asset);
    assert_eq!(
        std::fs::read(blob(&sb.cache, &sha)).unwrap(),
        rels[0].bytes(&asset)
    );
    let tag = std::fs::read_to_string(sb.cache.join("CACHEDIR.TAG")).unwrap();
    assert!(
        tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"),
        "{tag}"
    );
    // Only the verified blob: no partial download left in the store or beside it.
    assert_eq!(files_in(&sb.cache.join("blobs/sha256")), vec![sha.clone()]);
    assert!(files_in(&sb.cache.join("tmp")).is_empty());
    // The (tool, version, target) → sha256 mapping is recorded.
    let index = files_in(&sb.cache.join("index"));
    assert_eq!(index.len(), 1, "{index:?}");
    let entry = std::fs::read_to_string(sb.cache.join("index").join(&index[0])).unwrap();
    assert!(entry.contains(&sha), "{entry}");
    assert!(
        entry.contains(&format!("https://github.com{}", rels[0].path(&asset))),
        "{entry}"
    );
}

#[test]
fn second_app_dir_sharing_the_cache_is_a_hit_confirmed_by_the_published_hash() {
    let (server, rels) = release_server(&["5.10.8"]);
    let (archive_path, _) = archive(&rels[0], "platform", fixtures::this_target());
    let first = Sandbox::new();
    assert_success(&first.run(&["install", "platform@5.10.8", "--mirror", &server.url()]));
    assert_eq!(server.count(&archive_path), 1);

    // Same cache, another app dir, pinned version: the blob is there, but the cache's index
    // is no anchor (any branch can write it), so the published checksums.txt is read again,
    // and that is the only request: the archive comes from the cache.
    server.clear_requests();
    let second = Sandbox::new();
    let out = common::run(
        second
            .cmd()
            .args([
                "install",
                "platform@5.10.8",
                "--json",
                "--mirror",
                &server.url(),
            ])
            .env("HOOKSTRAP_CACHE_DIR", &first.cache),
    );
    assert_success(&out);
    assert_eq!(server.total(), 1, "{:?}", server.requests());
    assert_eq!(server.count(&rels[0].path("checksums.txt")), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["cache"], "hit", "{json}");
    assert_eq!(
        std::fs::read(second.bin_dir().join("platform")).unwrap(),
        std::fs::read(first.bin_dir().join("platform")).unwrap()
    );
}

#[test]
fn fetch_warms_the_cache_for_every_target_and_prints_what_it_cached() {
    let (server, rels) = release_server(&["5.10.8"]);
    let sb = Sandbox::new();
    let out = sb.run(&[
        "fetch",
        "platform@5.10.8",
        "upsun@5.10.8",
        "--target",
        "windows_amd64",
        "--target",
        "darwin_all",
        "--target",
        "linux_arm64",
        "--mirror",
        &server.url(),
    ]);
    assert_success(&out);
    let text = stdout(&out);
    for bin in ["platform", "upsun"] {
        for target in ["windows_amd64", "darwin_all", "linux_arm64"] {
            let asset = rels[0].asset_name(bin, target);
            let sha = rels[0].sha256(&asset);
            assert!(
                text.lines()
                    .any(|l| l.starts_with(&format!("{bin}\t5.10.8\t{target}\t{sha}\t"))),
                "{bin} {target} missing from:\n{text}"
            );
            assert_eq!(
                std::fs::read(blob(&sb.cache, &sha)).unwrap(),
                rels[0].bytes(&asset)
            );
        }
    }
    assert!(
        text.lines()
            .any(|l| l.contains("windows_amd64") && l.ends_with("\tmiss")),
        "{text}"
    );
    // Nothing was installed: fetch only fills the cache.
    assert!(!sb.bin_dir().exists());
    assert!(!sb.env_file().exists());

    // Warm already: the same fetch, offline, is all hits and makes no request.
    server.clear_requests();
    let out = sb.run(&[
        "fetch",
        "platform@5.10.8",
        "upsun@5.10.8",
        "--target",
        "windows_amd64",
        "--target",
        "darwin_all",
        "--target",
        "linux_arm64",
        "--offline",
        "--mirror",
        &server.url(),
    ]);
    assert_success(&out);
    assert_eq!(server.total(), 0, "{:?}", server.requests());
    assert_eq!(stdout(&out).lines().count(), 6);
    assert!(stdout(&out).lines().all(|l| l.ends_with("\thit")));
}

#[test]
fn fetch_refuses_a_tampered_asset_and_caches_nothing() {
    let server = TestServer::start();
    let mut rel = fixtures::cli_release("5.10.8", &["platform"], &["darwin_all"]);
    let asset = rel.asset_name("platform", "darwin_all");
    let mut bad = rel.bytes(&asset).to_vec();
    bad[10] ^= 1;
    rel.replace_asset(&asset, bad);
    fixtures::mount_release(&server, &rel);
    let sb = Sandbox::new();
    let out = sb.run(&[
        "fetch",
        "platform@5.10.8",
        "--target",
        "darwin_all",
        "--mirror",
        &server.url(),
    ]);
    assert_exit(&out, 5);
    assert!(
        stderr(&out).contains("checksum mismatch"),
        "{}",
        stderr(&out)
    );
    assert!(files_in(&sb.cache.join("blobs/sha256")).is_empty());
    assert!(files_in(&sb.cache.join("tmp")).is_empty());
}

#[test]
fn offline_install_serves_from_the_cache_without_one_request() {
    let (server, _) = release_server(&["5.10.7", "5.10.8"]);
    let warm = Sandbox::new();
    assert_success(&warm.run(&["fetch", "platform@5.10.7", "--mirror", &server.url()]));
    server.clear_requests();

    // The mirror still points at the server, so any connection would be recorded.
    for (args, version) in [
        (vec!["install", "platform@5.10.7"], "5.10.7"),
        // `latest` offline is the newest release the cache holds, not the server's 5.10.8.
        (vec!["install", "platform"], "5.10.7"),
    ] {
        let sb = Sandbox::new();
        let out = common::run(
            sb.cmd()
                .args(&args)
                .args(["--offline", "--mirror", &server.url()])
                .env("HOOKSTRAP_CACHE_DIR", &warm.cache),
        );
        assert_success(&out);
        let script = std::fs::read_to_string(sb.bin_dir().join("platform")).unwrap();
        assert!(
            script.contains(&format!("platform CLI {version}")),
            "{script}"
        );
    }
    // HOOKSTRAP_OFFLINE=1 is the same switch.
    let sb = Sandbox::new();
    let out = common::run(
        sb.cmd()
            .args(["install", "platform@5.10.7", "--mirror", &server.url()])
            .env("HOOKSTRAP_OFFLINE", "1")
            .env("HOOKSTRAP_CACHE_DIR", &warm.cache),
    );
    assert_success(&out);
    assert_eq!(server.total(), 0, "{:?}", server.requests());
}

#[test]
fn offline_miss_exits_8_naming_what_is_missing_with_a_fetch_hint() {
    let (server, _) = release_server(&["5.10.8"]);
    let sb = Sandbox::new();
    for spec in ["platform@5.10.8", "platform", "upsun@latest"] {
        let out = sb.run(&["install", spec, "--offline", "--mirror", &server.url()]);
        assert_exit(&out, 8);
        let err = stderr(&out);
        let tool = spec.split('@').next().unwrap();
        assert!(err.contains("error: ") && err.contains(tool), "{err}");
        assert!(
            err.contains("hint: ") && err.contains("hookstrap fetch"),
            "{err}"
        );
    }
    // Known hash (the index has it), blob gone: still a miss, still exit 8, naming the target.
    let warm = Sandbox::new();
    assert_success(&warm.run(&["fetch", "platform@5.10.8", "--mirror", &server.url()]));
    assert_success(&warm.run(&["cache", "prune", "--all"]));
    server.clear_requests();
    let out = warm.run(&[
        "install",
        "platform@5.10.8",
        "--offline",
        "--mirror",
        &server.url(),
    ]);
    assert_exit(&out, 8);
    assert!(
        stderr(&out).contains("hookstrap fetch platform@5.10.8"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.total(), 0, "{:?}", server.requests());
    assert!(!warm.bin_dir().join("platform").exists());
    assert!(!warm.env_file().exists());
}

#[test]
fn offline_install_reads_a_file_mirror() {
    let rel = fixtures::cli_release("5.10.8", &["platform"], &[fixtures::this_target()]);
    let sb = Sandbox::new();
    let mirror = sb.path().join("mirror");
    fixtures::write_release_tree(&mirror, &rel);
    fixtures::write_latest_file(&mirror, "upsun", "cli", &rel.tag);
    let url = format!("file://{}", mirror.display());
    let out = sb.run(&["install", "platform", "--offline", "--mirror", &url]);
    assert_success(&out);
    assert!(
        std::fs::read_to_string(sb.bin_dir().join("platform"))
            .unwrap()
            .contains("platform CLI 5.10.8")
    );
    // What came from the file mirror is cached like anything else.
    assert_eq!(files_in(&sb.cache.join("blobs/sha256")).len(), 1);
}

#[test]
fn cache_list_shows_tool_version_target_size_and_last_use() {
    let (server, rels) = release_server(&["5.10.8"]);
    let sb = Sandbox::new();
    assert_success(&sb.run(&[
        "fetch",
        "upsun@5.10.8",
        "platform@5.10.8",
        "--target",
        "windows_amd64",
        "--target",
        "linux_amd64",
        "--mirror",
        &server.url(),
    ]));
    let out = sb.run(&["cache", "list"]);
    assert_success(&out);
    let lines: Vec<Vec<String>> = stdout(&out)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    assert_eq!(lines.len(), 4, "{}", stdout(&out));
    let keys: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|l| (l[0].as_str(), l[1].as_str(), l[2].as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("platform", "5.10.8", "linux_amd64"),
            ("platform", "5.10.8", "windows_amd64"),
            ("upsun", "5.10.8", "linux_amd64"),
            ("upsun", "5.10.8", "windows_amd64"),
        ]
    );
    for l in &lines {
        let asset = rels[0].asset_name(&l[0], &l[2]);
        assert_eq!(l[3], rels[0].bytes(&asset).len().to_string(), "{l:?}");
        // Last use: an HTTP date, in this century.
        assert!(l[4].ends_with(" GMT"), "{l:?}");
        assert!(l[4].contains(" 20"), "{l:?}");
    }
    // --json carries the same, machine-readable.
    let out = sb.run(&["cache", "list", "--json"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let arts = json["artifacts"].as_array().unwrap();
    assert_eq!(arts.len(), 4);
    assert!(arts.iter().all(|a| a["last_used"].as_u64().unwrap() > 0));
}

#[test]
fn cache_verify_passes_on_an_intact_cache() {
    let (server, _) = release_server(&["5.10.8"]);
    let sb = Sandbox::new();
    assert_success(&sb.run(&[
        "fetch",
        "platform@5.10.8",
        "--target",
        "linux_amd64",
        "--target",
        "windows_amd64",
        "--mirror",
        &server.url(),
    ]));
    let out = sb.run(&["cache", "verify"]);
    assert_success(&out);
    // An empty (even missing) cache is intact too.
    assert_success(&Sandbox::new().run(&["cache", "verify"]));
}

#[test]
fn prune_older_than_removes_only_blobs_unused_that_long() {
    let (server, rels) = release_server(&["5.10.7", "5.10.8"]);
    let sb = Sandbox::new();
    for v in ["5.10.7", "5.10.8"] {
        assert_success(&sb.run(&["fetch", &format!("platform@{v}"), "--mirror", &server.url()]));
    }
    let target = fixtures::this_target();
    let (_, old) = archive(&rels[0], "platform", target);
    let (_, new) = archive(&rels[1], "platform", target);
    // 5.10.7 was last used ten days ago.
    let f = std::fs::File::options()
        .write(true)
        .open(blob(&sb.cache, &old))
        .unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(10 * 86_400))
        .unwrap();
    drop(f);

    assert_success(&sb.run(&["cache", "prune", "--older-than", "30"]));
    assert!(blob(&sb.cache, &old).exists());
    assert_success(&sb.run(&["cache", "prune", "--older-than", "5"]));
    assert!(!blob(&sb.cache, &old).exists());
    assert!(blob(&sb.cache, &new).exists());
    let list = stdout(&sb.run(&["cache", "list"]));
    assert!(
        !list.contains("5.10.7") && list.contains("5.10.8"),
        "{list}"
    );
    assert_success(&sb.run(&["cache", "verify"]));

    assert_success(&sb.run(&["cache", "prune", "--all"]));
    assert!(files_in(&sb.cache.join("blobs/sha256")).is_empty());
    assert!(files_in(&sb.cache.join("index")).is_empty());
    assert_eq!(stdout(&sb.run(&["cache", "list"])), "");
}

#[test]
fn prune_all_leaves_a_blob_alone_while_an_install_holds_it() {
    let (server, rels) = release_server(&["5.10.7", "5.10.8"]);
    let sb = Sandbox::new();
    for v in ["5.10.7", "5.10.8"] {
        assert_success(&sb.run(&["fetch", &format!("platform@{v}"), "--mirror", &server.url()]));
    }
    let target = fixtures::this_target();
    let (_, busy) = archive(&rels[0], "platform", target);
    let (_, idle) = archive(&rels[1], "platform", target);
    // What an install does while it unpacks a cached blob: hold the artifact's lock shared.
    let lock = std::fs::File::open(sb.cache.join("locks").join(format!("{busy}.lock"))).unwrap();
    lock.lock_shared().unwrap();
    assert_success(&sb.run(&["cache", "prune", "--all"]));
    assert!(blob(&sb.cache, &busy).exists());
    assert!(!blob(&sb.cache, &idle).exists());
    drop(lock);
    assert_success(&sb.run(&["cache", "prune", "--all"]));
    assert!(!blob(&sb.cache, &busy).exists());
}

#[test]
fn lock_wait_that_times_out_is_exit_7_with_a_hint() {
    let (server, rels) = release_server(&["5.10.8"]);
    let (_, sha) = archive(&rels[0], "platform", fixtures::this_target());
    let sb = Sandbox::new();
    // Another process is downloading this artifact and does not finish.
    std::fs::create_dir_all(sb.cache.join("locks")).unwrap();
    let lock = std::fs::File::create(sb.cache.join("locks").join(format!("{sha}.lock"))).unwrap();
    lock.lock().unwrap();
    let out = common::run(
        sb.cmd()
            .args(["install", "platform@5.10.8", "--mirror", &server.url()])
            .env("HOOKSTRAP_LOCK_TIMEOUT", "1"),
    );
    assert_exit(&out, 7);
    let err = stderr(&out);
    assert!(err.contains("timed out") && err.contains(&sha), "{err}");
    assert!(
        err.contains("hint: ") && err.contains("HOOKSTRAP_LOCK_TIMEOUT"),
        "{err}"
    );
    assert!(!sb.bin_dir().join("platform").exists());
    assert!(!blob(&sb.cache, &sha).exists());

    // Once the other process is gone, the same command goes through.
    drop(lock);
    assert_success(&sb.run(&["install", "platform@5.10.8", "--mirror", &server.url()]));
}
