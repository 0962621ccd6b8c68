//! `hookstrap install` end to end (issue 2): the real binary against fixture releases served by
//! a [`TestServer`] on 127.0.0.1 or read from a `file://` mirror. Each test asserts one promise
//! of SPEC.md: what gets installed, which URLs are asked for, the exit code and message of each
//! failure and what it leaves behind, idempotence, the env file's bytes, flags and variables,
//! output modes, `env`, `uninstall`, and the TLS stack the binary is built with.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fixtures::{
    Release, cli_archive, cli_release, gzip, mount_latest_body, mount_latest_redirect,
    mount_release, sha256_hex, tar_gz, this_target, write_latest_file, write_release_tree,
};
use common::server::TestServer;
use common::{Sandbox, assert_exit, assert_success, run, stderr, stdout};

const START: &str = "# >>> hookstrap >>>";
const END: &str = "# <<< hookstrap <<<";

// ---------------------------------------------------------------------------------------------
// helpers

/// A server holding the given CLI releases (`platform` and `upsun` for this machine), with
/// `releases/latest` redirecting to `latest` when given.
fn serve(versions: &[&str], latest: Option<&str>) -> (TestServer, Vec<Release>) {
    let server = TestServer::start();
    let releases: Vec<Release> = versions
        .iter()
        .map(|v| cli_release(v, &["platform", "upsun"], &[this_target()]))
        .collect();
    for rel in &releases {
        mount_release(&server, rel);
    }
    if let Some(v) = latest {
        mount_latest_redirect(&server, "upsun", "cli", &format!("v{v}"));
    }
    (server, releases)
}

/// A release whose `platform` asset is replaced by `bytes`, with `checksums.txt` matching them
/// (a well-published but broken archive).
fn release_with_platform_archive(version: &str, bytes: Vec<u8>) -> Release {
    let mut rel = cli_release(version, &["platform"], &[this_target()]);
    let asset = rel.asset_name("platform", this_target());
    rel.replace_asset(&asset, bytes);
    rel.refresh_checksums();
    rel
}

fn platform_asset(rel: &Release) -> String {
    rel.asset_name("platform", this_target())
}

/// `hookstrap install --mirror URL ARGS...` in the sandbox.
fn install(sb: &Sandbox, mirror: &str, args: &[&str]) -> Output {
    let mut cmd = sb.cmd();
    cmd.args(["install", "--mirror", mirror]).args(args);
    run(&mut cmd)
}

/// Runs an installed CLI script with `--version` and returns its stdout.
fn version_of(bin: &Path) -> String {
    let out = Command::new(bin)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(out.status.success(), "{} --version failed", bin.display());
    stdout(&out).trim().to_owned()
}

/// The failure shape SPEC.md promises: the exit code, and stderr opening with `error:`.
#[track_caller]
fn assert_error(out: &Output, code: i32) -> String {
    assert_exit(out, code);
    let err = stderr(out);
    assert!(
        err.starts_with("error:"),
        "stderr must start with `error:`:\n{err}"
    );
    assert!(
        stdout(out).is_empty(),
        "stdout must stay empty:\n{}",
        stdout(out)
    );
    err
}

/// Every path under `root` (recursively), relative, sorted.
fn walk(root: &Path) -> Vec<PathBuf> {
    fn go(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(root).unwrap().to_path_buf());
            if entry.file_type().unwrap().is_dir() {
                go(&path, root, out);
            }
        }
    }
    let mut out = Vec::new();
    go(root, root, &mut out);
    out.sort();
    out
}

/// No `.hookstrap-tmp-*` (extraction leftovers) anywhere under `root`.
#[track_caller]
fn assert_no_tmp_dirs(root: &Path) {
    let leftovers: Vec<PathBuf> = walk(root)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".hookstrap-tmp-"))
        })
        .collect();
    assert!(leftovers.is_empty(), "leftover temp dirs: {leftovers:?}");
}

/// Nothing was installed: no binary in the bin dir, no env file, no temp dirs.
#[track_caller]
fn assert_nothing_installed(sb: &Sandbox) {
    for name in ["platform", "upsun"] {
        assert!(
            !sb.bin_dir().join(name).exists(),
            "{name} must not be installed"
        );
    }
    assert!(
        !sb.env_file().exists(),
        ".environment must not be created:\n{:?}",
        std::fs::read_to_string(sb.env_file())
    );
    assert_no_tmp_dirs(&sb.app);
}

/// The env block SPEC.md shows, for a bin dir without shell specials.
fn block_for(bin_dir: &Path) -> String {
    let d = bin_dir.display();
    format!(
        "{START}\ncase \":$PATH:\" in *\":{d}:\"*) ;; *) export PATH=\"{d}:$PATH\" ;; esac\n{END}\n"
    )
}

/// The default bin dir as hookstrap writes it (absolute, symlinks resolved).
fn real_bin_dir(sb: &Sandbox) -> PathBuf {
    std::fs::canonicalize(sb.bin_dir()).expect("bin dir exists")
}

/// Files under `root` whose bytes are exactly `bytes`.
fn files_with_bytes(root: &Path, bytes: &[u8]) -> Vec<PathBuf> {
    walk(root)
        .into_iter()
        .map(|p| root.join(p))
        .filter(|p| p.is_file() && std::fs::read(p).is_ok_and(|b| b == bytes))
        .collect()
}

/// A TCP port on 127.0.0.1 nothing listens on (bound, then released).
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// what gets installed

#[test]
fn install_platform_without_version_installs_latest() {
    let (server, _) = serve(&["5.10.7", "5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &["platform"]);
    assert_success(&out);
    assert_eq!(
        version_of(&sb.bin_dir().join("platform")),
        "platform CLI 5.10.8"
    );
    assert_eq!(server.count("/upsun/cli/releases/latest"), 1);
}

#[test]
fn install_exact_version_does_not_ask_for_latest() {
    let (server, _) = serve(&["5.10.7", "5.10.8"], Some("5.10.7"));
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &["platform@5.10.8"]));
    assert_eq!(
        version_of(&sb.bin_dir().join("platform")),
        "platform CLI 5.10.8"
    );
    assert_eq!(server.count("/upsun/cli/releases/latest"), 0);
}

#[test]
fn install_version_with_v_prefix() {
    let (server, rels) = serve(&["5.10.7", "5.10.8"], Some("5.10.7"));
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &["platform@v5.10.8"]));
    assert_eq!(
        version_of(&sb.bin_dir().join("platform")),
        "platform CLI 5.10.8"
    );
    let asset = platform_asset(&rels[1]);
    assert_eq!(server.count(&rels[1].path(&asset)), 1);
}

#[test]
fn install_at_latest_follows_the_302_redirect() {
    let (server, _) = serve(&["5.10.7", "5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &["platform@latest"]));
    assert_eq!(
        version_of(&sb.bin_dir().join("platform")),
        "platform CLI 5.10.8"
    );
    assert_eq!(server.count("/upsun/cli/releases/latest"), 1);
}

#[test]
fn install_without_spec_installs_platform_latest() {
    let (server, _) = serve(&["5.10.7", "5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &[]));
    assert_eq!(
        version_of(&sb.bin_dir().join("platform")),
        "platform CLI 5.10.8"
    );
    assert!(!sb.bin_dir().join("upsun").exists());
}

#[test]
fn install_upsun_installs_the_upsun_asset() {
    let (server, rels) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &["upsun"]));
    assert_eq!(version_of(&sb.bin_dir().join("upsun")), "upsun CLI 5.10.8");
    assert!(!sb.bin_dir().join("platform").exists());
    let rel = &rels[0];
    assert_eq!(
        server.count(&rel.path(&rel.asset_name("upsun", this_target()))),
        1
    );
    assert_eq!(server.count(&rel.path(&platform_asset(rel))), 0);
}

#[test]
fn latest_from_a_static_200_body() {
    let (server, _) = serve(&["5.10.7", "5.10.8"], None);
    mount_latest_body(&server, "upsun", "cli", "v5.10.7");
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &["platform@latest"]));
    assert_eq!(
        version_of(&sb.bin_dir().join("platform")),
        "platform CLI 5.10.7"
    );
}

#[test]
fn latest_from_a_file_mirror_latest_file() {
    let sb = Sandbox::new();
    let mirror = sb.path().join("mirror");
    for v in ["5.10.7", "5.10.8"] {
        write_release_tree(&mirror, &cli_release(v, &["platform"], &[this_target()]));
    }
    write_latest_file(&mirror, "upsun", "cli", "v5.10.7");
    let url = format!("file://{}", mirror.display());
    assert_success(&install(&sb, &url, &["platform"]));
    assert_eq!(
        version_of(&sb.bin_dir().join("platform")),
        "platform CLI 5.10.7"
    );
}

#[test]
fn install_exact_version_from_a_file_mirror() {
    let sb = Sandbox::new();
    let mirror = sb.path().join("mirror");
    write_release_tree(
        &mirror,
        &cli_release("5.10.8", &["platform"], &[this_target()]),
    );
    let url = format!("file://{}", mirror.display());
    assert_success(&install(&sb, &url, &["platform@5.10.8"]));
    assert_eq!(
        version_of(&sb.bin_dir().join("platform")),
        "platform CLI 5.10.8"
    );
}

#[test]
fn a_prerelease_as_latest_is_refused() {
    let (server, _) = serve(&["5.10.8", "5.11.0-rc1"], None);
    mount_latest_redirect(&server, "upsun", "cli", "v5.11.0-rc1");
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &["platform"]);
    assert!(
        !matches!(out.status.code(), Some(0 | 1)),
        "a prerelease latest must be refused, not installed or crash: {out:?}"
    );
    let err = stderr(&out);
    assert!(err.starts_with("error:"), "{err}");
    assert!(err.contains("prerelease"), "{err}");
    assert_nothing_installed(&sb);
    let rc = cli_release("5.11.0-rc1", &["platform"], &[this_target()]);
    assert_eq!(server.count(&rc.path(&platform_asset(&rc))), 0);
}

#[test]
fn version_5_9_0_comes_from_platformsh_cli_with_a_bare_tag() {
    let (server, rels) = serve(&["5.9.0"], Some("5.10.8"));
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &["platform@5.9.0"]));
    assert_eq!(
        version_of(&sb.bin_dir().join("platform")),
        "platform CLI 5.9.0"
    );
    let asset = format!("platform_5.9.0_{}.tar.gz", this_target());
    let path = format!("/platformsh/cli/releases/download/5.9.0/{asset}");
    assert_eq!(rels[0].path(&asset), path);
    assert_eq!(server.count(&path), 1, "{:#?}", server.requests());
    assert_eq!(
        server.count("/platformsh/cli/releases/download/5.9.0/checksums.txt"),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// exit code 2: usage

#[track_caller]
fn assert_usage_error(args: &[&str]) -> String {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), args);
    let err = assert_error(&out, 2);
    assert_eq!(server.total(), 0, "a usage error needs no request");
    assert_nothing_installed(&sb);
    err
}

#[test]
fn exit_2_on_a_bad_flag() {
    assert_usage_error(&["--no-such-flag", "platform"]);
}

#[test]
fn exit_2_on_a_bad_version() {
    let err = assert_usage_error(&["platform@x"]);
    assert!(err.contains("platform@x"), "{err}");
}

#[test]
fn exit_2_on_an_unknown_tool() {
    let err = assert_usage_error(&["gh"]);
    assert!(err.contains("gh"), "{err}");
}

#[test]
fn exit_2_on_an_unknown_target() {
    let err = assert_usage_error(&["--target", "linux_386", "platform"]);
    assert!(err.contains("linux_386"), "{err}");
}

#[test]
fn exit_2_on_install_for_windows() {
    let err = assert_usage_error(&["--target", "windows_amd64", "platform"]);
    assert!(err.contains("windows_amd64"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// exit code 3: not found

#[test]
fn exit_3_when_the_version_is_not_on_the_server() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &["platform@5.10.99"]);
    let err = assert_error(&out, 3);
    assert!(err.contains("5.10.99"), "{err}");
    assert_nothing_installed(&sb);
}

// ---------------------------------------------------------------------------------------------
// exit code 4: network

#[test]
fn exit_4_when_the_server_is_unreachable() {
    let sb = Sandbox::new();
    let mirror = format!("http://127.0.0.1:{}", dead_port());
    let mut cmd = sb.cmd();
    // No retries, so stderr is the error alone (retries print warnings first).
    cmd.env("HOOKSTRAP_RETRIES", "0")
        .args(["install", "--mirror", &mirror, "platform@5.10.8"]);
    let out = run(&mut cmd);
    let err = assert_error(&out, 4);
    assert!(err.contains(&mirror), "{err}");
    assert_nothing_installed(&sb);
}

#[test]
fn exit_4_plain_http_to_a_remote_host_is_refused_before_connecting() {
    // Any connection attempt would go through this "proxy" and be recorded.
    let proxy = TestServer::start();
    let sb = Sandbox::new();
    let mut cmd = sb.cmd();
    cmd.env("HTTP_PROXY", proxy.url())
        .env("HTTPS_PROXY", proxy.url())
        .env("ALL_PROXY", proxy.url())
        .args([
            "install",
            "--mirror",
            "http://example.invalid",
            "platform@5.10.8",
        ]);
    let out = run(&mut cmd);
    let err = assert_error(&out, 4);
    assert!(err.contains("http://example.invalid"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("hint:") && l.contains("--allow-http")),
        "{err}"
    );
    assert_eq!(proxy.total(), 0, "{:#?}", proxy.requests());
    assert_nothing_installed(&sb);
}

// ---------------------------------------------------------------------------------------------
// exit code 5: verification

#[test]
fn exit_5_on_a_tampered_asset_names_url_expected_and_computed() {
    let mut rel = cli_release("5.10.8", &["platform"], &[this_target()]);
    let asset = platform_asset(&rel);
    let expected = rel.sha256(&asset);
    let evil = cli_archive("platform", "6.6.6");
    let computed = sha256_hex(&evil);
    rel.replace_asset(&asset, evil.clone());
    let server = TestServer::start();
    mount_release(&server, &rel);
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &["platform@5.10.8"]);
    let err = assert_error(&out, 5);
    assert!(err.contains(&rel.path(&asset)), "URL missing:\n{err}");
    assert!(err.contains(&expected), "expected hash missing:\n{err}");
    assert!(err.contains(&computed), "computed hash missing:\n{err}");
    assert_nothing_installed(&sb);
    assert!(
        files_with_bytes(&sb.cache, &evil).is_empty(),
        "the cache must not keep unverified bytes"
    );
}

#[test]
fn exit_5_when_checksums_txt_lacks_the_asset() {
    let mut rel = cli_release("5.10.8", &["platform", "upsun"], &[this_target()]);
    let asset = platform_asset(&rel);
    let upsun = rel.asset_name("upsun", this_target());
    let sums = format!("{}  {upsun}\n", rel.sha256(&upsun));
    rel.replace_asset("checksums.txt", sums.into_bytes());
    let server = TestServer::start();
    mount_release(&server, &rel);
    let sb = Sandbox::new();
    let err = assert_error(&install(&sb, &server.url(), &["platform@5.10.8"]), 5);
    assert!(err.contains(&asset), "{err}");
    assert_nothing_installed(&sb);
    assert_eq!(
        server.count(&rel.path(&asset)),
        0,
        "never fetch unverifiable"
    );
}

#[test]
fn exit_5_when_checksums_txt_has_two_hashes_for_the_asset() {
    let mut rel = cli_release("5.10.8", &["platform"], &[this_target()]);
    let asset = platform_asset(&rel);
    let sums = format!(
        "{}  {asset}\n{}  {asset}\n",
        rel.sha256(&asset),
        sha256_hex(b"something else")
    );
    rel.replace_asset("checksums.txt", sums.into_bytes());
    let server = TestServer::start();
    mount_release(&server, &rel);
    let sb = Sandbox::new();
    let err = assert_error(&install(&sb, &server.url(), &["platform@5.10.8"]), 5);
    assert!(err.contains(&asset), "{err}");
    assert_nothing_installed(&sb);
}

// ---------------------------------------------------------------------------------------------
// exit code 6: archive refused

#[track_caller]
fn assert_archive_refused(bytes: Vec<u8>) -> String {
    let rel = release_with_platform_archive("5.10.8", bytes);
    let server = TestServer::start();
    mount_release(&server, &rel);
    let sb = Sandbox::new();
    let err = assert_error(&install(&sb, &server.url(), &["platform@5.10.8"]), 6);
    assert_nothing_installed(&sb);
    err
}

#[test]
fn exit_6_when_the_archive_has_no_binary() {
    let err = assert_archive_refused(tar_gz(&[("README.md", 0o644, b"# no binary\n")]));
    assert!(err.contains("platform"), "{err}");
}

#[test]
fn exit_6_when_the_binary_is_a_directory() {
    let err = assert_archive_refused(tar_gz(&[(
        "platform/inner",
        0o755,
        b"#!/bin/sh\necho nope\n",
    )]));
    assert!(err.contains("platform"), "{err}");
}

#[test]
fn exit_6_on_a_corrupt_gzip() {
    let mut bytes = gzip(b"not a tar archive, and soon not a gzip stream either");
    let mid = bytes.len() / 2;
    for b in &mut bytes[10..mid] {
        *b ^= 0x5a;
    }
    assert_archive_refused(bytes);
}

#[test]
fn failed_archive_upgrade_keeps_the_old_binary_and_leaves_no_temp_dir() {
    let server = TestServer::start();
    let good = cli_release("5.10.8", &["platform"], &[this_target()]);
    mount_release(&server, &good);
    let bad =
        release_with_platform_archive("5.10.9", tar_gz(&[("README.md", 0o644, b"# no binary\n")]));
    mount_release(&server, &bad);
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &["platform@5.10.8"]));
    let env_before = std::fs::read(sb.env_file()).unwrap();
    assert_error(&install(&sb, &server.url(), &["platform@5.10.9"]), 6);
    assert_eq!(
        version_of(&sb.bin_dir().join("platform")),
        "platform CLI 5.10.8"
    );
    assert_eq!(std::fs::read(sb.env_file()).unwrap(), env_before);
    assert_no_tmp_dirs(&sb.app);
}

// ---------------------------------------------------------------------------------------------
// exit code 7: local filesystem

#[test]
fn exit_7_when_the_bin_dir_is_a_regular_file() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let file = sb.path().join("not-a-dir");
    std::fs::write(&file, b"i am a file\n").unwrap();
    let out = install(
        &sb,
        &server.url(),
        &["--bin-dir", file.to_str().unwrap(), "platform"],
    );
    let err = assert_error(&out, 7);
    assert!(err.contains(file.to_str().unwrap()), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"i am a file\n");
    assert!(!sb.env_file().exists(), "env file must stay untouched");
    assert_no_tmp_dirs(sb.path());
}

#[test]
fn exit_7_when_the_env_file_is_a_directory() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    std::fs::create_dir(sb.env_file()).unwrap();
    let err = assert_error(&install(&sb, &server.url(), &["platform"]), 7);
    assert!(err.contains(".environment"), "{err}");
    assert!(sb.env_file().is_dir());
    assert!(
        !sb.bin_dir().join("platform").exists(),
        "a doomed install must not place the binary"
    );
    assert_no_tmp_dirs(&sb.app);
}

// ---------------------------------------------------------------------------------------------
// idempotence

#[test]
fn second_run_is_a_no_op() {
    let (server, rels) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    std::fs::write(sb.env_file(), "export KEEP=1\n").unwrap();
    assert_success(&install(&sb, &server.url(), &["platform"]));
    let bin = sb.bin_dir().join("platform");
    let env1 = std::fs::read(sb.env_file()).unwrap();
    let meta1 = std::fs::metadata(&bin).unwrap();
    let bytes1 = std::fs::read(&bin).unwrap();
    let archive = rels[0].path(&platform_asset(&rels[0]));
    assert_eq!(server.count(&archive), 1);

    server.clear_requests();
    let out = install(&sb, &server.url(), &["platform"]);
    assert_success(&out);
    assert_eq!(std::fs::read(sb.env_file()).unwrap(), env1);
    let meta2 = std::fs::metadata(&bin).unwrap();
    assert_eq!(meta2.ino(), meta1.ino(), "binary was replaced");
    assert_eq!(meta2.mtime(), meta1.mtime());
    assert_eq!(meta2.mtime_nsec(), meta1.mtime_nsec());
    assert_eq!(std::fs::read(&bin).unwrap(), bytes1);
    assert!(
        stderr(&out).contains("already installed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.count(&archive), 0, "{:#?}", server.requests());
}

// ---------------------------------------------------------------------------------------------
// the env file

#[test]
fn env_file_without_trailing_newline_gets_one_before_the_block() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let before = "# set by the app\nexport A='x  y'\t\nexport B=1";
    std::fs::write(sb.env_file(), before).unwrap();
    assert_success(&install(&sb, &server.url(), &["platform"]));
    let after = std::fs::read_to_string(sb.env_file()).unwrap();
    assert_eq!(
        after,
        format!("{before}\n{}", block_for(&real_bin_dir(&sb)))
    );
}

#[test]
fn env_file_crlf_content_is_preserved() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let before = "export A=1\r\n\r\nexport B=2\r\n";
    std::fs::write(sb.env_file(), before).unwrap();
    assert_success(&install(&sb, &server.url(), &["platform"]));
    let after = std::fs::read_to_string(sb.env_file()).unwrap();
    assert_eq!(after, format!("{before}{}", block_for(&real_bin_dir(&sb))));
}

#[test]
fn fresh_env_file_is_exactly_the_block() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &["platform"]));
    let after = std::fs::read_to_string(sb.env_file()).unwrap();
    assert_eq!(after, block_for(&real_bin_dir(&sb)));
}

#[test]
fn symlinked_env_file_is_edited_through_the_link() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let real = sb.path().join("shared-env");
    std::fs::write(&real, "export SHARED=1\n").unwrap();
    std::os::unix::fs::symlink(&real, sb.env_file()).unwrap();
    assert_success(&install(&sb, &server.url(), &["platform"]));
    let meta = std::fs::symlink_metadata(sb.env_file()).unwrap();
    assert!(meta.file_type().is_symlink(), "the link must stay a link");
    assert_eq!(std::fs::read_link(sb.env_file()).unwrap(), real);
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        format!("export SHARED=1\n{}", block_for(&real_bin_dir(&sb)))
    );
}

#[test]
fn damaged_block_exits_7_with_a_hint_and_leaves_the_file() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let before = format!("export A=1\n{START}\nexport PATH=/somewhere:$PATH\n");
    std::fs::write(sb.env_file(), &before).unwrap();
    let err = assert_error(&install(&sb, &server.url(), &["platform"]), 7);
    assert!(err.lines().any(|l| l.starts_with("hint:")), "{err}");
    assert_eq!(std::fs::read_to_string(sb.env_file()).unwrap(), before);
    assert!(!sb.bin_dir().join("platform").exists());
}

// ---------------------------------------------------------------------------------------------
// upgrades

#[test]
fn upgrade_replaces_the_binary() {
    let (server, _) = serve(&["5.10.7", "5.10.8"], None);
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &["platform@5.10.7"]));
    let bin = sb.bin_dir().join("platform");
    assert_eq!(version_of(&bin), "platform CLI 5.10.7");
    let env1 = std::fs::read(sb.env_file()).unwrap();
    let out = install(&sb, &server.url(), &["platform@5.10.8"]);
    assert_success(&out);
    assert_eq!(version_of(&bin), "platform CLI 5.10.8");
    assert!(stderr(&out).contains("5.10.8"), "{}", stderr(&out));
    assert_eq!(std::fs::read(sb.env_file()).unwrap(), env1);
}

#[test]
fn failed_upgrade_keeps_the_working_binary() {
    let server = TestServer::start();
    mount_release(
        &server,
        &cli_release("5.10.8", &["platform"], &[this_target()]),
    );
    let mut bad = cli_release("5.10.9", &["platform"], &[this_target()]);
    let asset = platform_asset(&bad);
    bad.replace_asset(&asset, cli_archive("platform", "6.6.6"));
    mount_release(&server, &bad);
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &["platform@5.10.8"]));
    let env1 = std::fs::read(sb.env_file()).unwrap();
    assert_error(&install(&sb, &server.url(), &["platform@5.10.9"]), 5);
    assert_eq!(
        version_of(&sb.bin_dir().join("platform")),
        "platform CLI 5.10.8"
    );
    assert_eq!(std::fs::read(sb.env_file()).unwrap(), env1);
    assert_no_tmp_dirs(&sb.app);
}

// ---------------------------------------------------------------------------------------------
// flags and variables

#[test]
fn bin_dir_flag() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let dir = sb.path().join("tools/bin");
    let out = install(
        &sb,
        &server.url(),
        &["--bin-dir", dir.to_str().unwrap(), "platform"],
    );
    assert_success(&out);
    assert_eq!(version_of(&dir.join("platform")), "platform CLI 5.10.8");
    assert!(!sb.bin_dir().exists());
    let env = std::fs::read_to_string(sb.env_file()).unwrap();
    assert_eq!(env, block_for(&std::fs::canonicalize(&dir).unwrap()));
}

#[test]
fn relative_bin_dir_is_made_absolute_in_the_env_file() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    assert_success(&install(
        &sb,
        &server.url(),
        &["--bin-dir", "rel/bin", "platform"],
    ));
    let dir = std::fs::canonicalize(sb.app.join("rel/bin")).unwrap();
    assert!(dir.join("platform").is_file());
    assert_eq!(
        std::fs::read_to_string(sb.env_file()).unwrap(),
        block_for(&dir)
    );
}

#[test]
fn hookstrap_bin_dir_variable_and_flag_wins() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let from_var = sb.path().join("var-bin");
    let mut cmd = sb.cmd();
    cmd.env("HOOKSTRAP_BIN_DIR", &from_var).args([
        "install",
        "--mirror",
        &server.url(),
        "platform",
    ]);
    assert_success(&run(&mut cmd));
    assert!(from_var.join("platform").is_file());
    assert!(!sb.bin_dir().exists());

    let sb2 = Sandbox::new();
    let from_var = sb2.path().join("var-bin");
    let from_flag = sb2.path().join("flag-bin");
    let mut cmd = sb2.cmd();
    cmd.env("HOOKSTRAP_BIN_DIR", &from_var).args([
        "install",
        "--mirror",
        &server.url(),
        "--bin-dir",
        from_flag.to_str().unwrap(),
        "platform",
    ]);
    assert_success(&run(&mut cmd));
    assert!(from_flag.join("platform").is_file());
    assert!(!from_var.exists());
}

#[test]
fn env_file_flag() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let env = sb.path().join("custom.env");
    std::fs::write(&env, "export C=3\n").unwrap();
    assert_success(&install(
        &sb,
        &server.url(),
        &["--env-file", env.to_str().unwrap(), "platform"],
    ));
    assert!(!sb.env_file().exists());
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        format!("export C=3\n{}", block_for(&real_bin_dir(&sb)))
    );
}

#[test]
fn no_env_file_flag() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &["--no-env-file", "platform"]);
    assert_success(&out);
    assert!(sb.bin_dir().join("platform").is_file());
    assert!(!sb.env_file().exists());
    assert_eq!(
        walk(&sb.app)
            .iter()
            .filter(|p| p.ends_with(".environment"))
            .count(),
        0
    );
}

#[test]
fn app_dir_flag_wins_over_platform_app_dir() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let from_var = sb.path().join("var-app");
    let from_flag = sb.path().join("flag-app");
    std::fs::create_dir(&from_var).unwrap();
    std::fs::create_dir(&from_flag).unwrap();
    let mut cmd = sb.cmd();
    cmd.env("PLATFORM_APP_DIR", &from_var).args([
        "install",
        "--mirror",
        &server.url(),
        "--app-dir",
        from_flag.to_str().unwrap(),
        "platform",
    ]);
    assert_success(&run(&mut cmd));
    assert!(from_flag.join(".platformsh/bin/platform").is_file());
    assert!(from_flag.join(".environment").is_file());
    assert!(walk(&from_var).is_empty(), "{:?}", walk(&from_var));
    assert!(walk(&sb.app).is_empty(), "{:?}", walk(&sb.app));
}

#[test]
fn platform_app_dir_wins_over_the_working_directory() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let from_var = sb.path().join("var-app");
    std::fs::create_dir(&from_var).unwrap();
    let mut cmd = sb.cmd();
    cmd.env("PLATFORM_APP_DIR", &from_var)
        .args(["install", "--mirror", &server.url(), "platform"]);
    assert_success(&run(&mut cmd));
    assert!(from_var.join(".platformsh/bin/platform").is_file());
    assert!(walk(&sb.app).is_empty(), "{:?}", walk(&sb.app));
}

// ---------------------------------------------------------------------------------------------
// output

#[test]
fn json_prints_one_object_with_the_receipt() {
    let (server, rels) = serve(&["5.10.8"], Some("5.10.8"));
    let rel = &rels[0];
    let asset = platform_asset(rel);
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &["--json", "platform"]);
    assert_success(&out);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one JSON object:\n{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert!(v.is_object(), "{v}");
    assert_eq!(v["tool"], "platform");
    assert_eq!(v["version"], "5.10.8");
    assert_eq!(v["target"], this_target());
    assert_eq!(v["url"], rel.github_url(&asset));
    assert_eq!(v["sha256"], rel.sha256(&asset));
    assert_eq!(v["cache"], "miss");
    let bin = real_bin_dir(&sb).join("platform");
    assert_eq!(v["bin"], bin.to_str().unwrap());
    assert_eq!(
        std::fs::canonicalize(v["env_file"].as_str().unwrap()).unwrap(),
        std::fs::canonicalize(sb.env_file()).unwrap()
    );

    // A second app dir sharing the cache: the archive comes from the cache.
    let app2 = sb.path().join("app2");
    std::fs::create_dir(&app2).unwrap();
    server.clear_requests();
    let out = install(
        &sb,
        &server.url(),
        &["--json", "--app-dir", app2.to_str().unwrap(), "platform"],
    );
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(v["cache"], "hit");
    assert_eq!(v["url"], rel.github_url(&asset));
    assert!(
        v["bin"]
            .as_str()
            .unwrap()
            .ends_with("app2/.platformsh/bin/platform")
    );
    assert_eq!(server.count(&rel.path(&asset)), 0);
    assert!(app2.join(".platformsh/bin/platform").is_file());
}

#[test]
fn default_output_is_one_human_line_on_stderr() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &["platform"]);
    assert_success(&out);
    assert!(stdout(&out).is_empty(), "stdout: {}", stdout(&out));
    let err = stderr(&out);
    let bin = real_bin_dir(&sb).join("platform");
    let naming: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("platform 5.10.8") && l.contains(bin.to_str().unwrap()))
        .collect();
    assert_eq!(
        naming.len(),
        1,
        "one line naming tool, version, path:\n{err}"
    );
    assert!(!err.contains("error"), "{err}");
}

#[test]
fn quiet_prints_nothing_on_success() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &["-q", "platform"]);
    assert_success(&out);
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    assert!(sb.bin_dir().join("platform").is_file());
}

/// Runs `cmd` with stderr on a pseudo-terminal (`script`), so progress bars would be drawn.
fn run_on_tty(sb: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Vec<u8> {
    let exe = env!("CARGO_BIN_EXE_hookstrap");
    let quoted: Vec<String> = std::iter::once(exe)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let log = sb.path().join("tty.log");
    let mut cmd = sb.cmd();
    // A terminal that can draw bars: only CI / --progress may keep them away.
    cmd.env_remove("CI").env("TERM", "xterm");
    for (k, v) in env {
        cmd.env(k, v);
    }
    // script copies the terminal output (our stderr) to `log`.
    let mut script = Command::new("script");
    script
        .args(["-q", "-e", "-c", &quoted.join(" "), log.to_str().unwrap()])
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(&sb.app)
        .stdin(std::process::Stdio::null());
    let out = run(&mut script);
    assert_success(&out);
    std::fs::read(&log).unwrap()
}

#[test]
fn the_tty_harness_sees_progress_escape_codes() {
    // Control for the two tests below: on this pseudo-terminal, bars do show up.
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let tty = run_on_tty(
        &sb,
        &[],
        &[
            "install",
            "--mirror",
            &server.url(),
            "--progress",
            "always",
            "platform",
        ],
    );
    assert!(tty.contains(&0x1b), "{:?}", String::from_utf8_lossy(&tty));
}

#[test]
fn no_escape_codes_with_ci_and_progress_auto() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &["--progress", "auto", "platform"]);
    assert_success(&out);
    assert!(!out.stderr.contains(&0x1b), "{:?}", stderr(&out));
    // The same on a terminal: CI=1 turns the bars off.
    let sb = Sandbox::new();
    let tty = run_on_tty(
        &sb,
        &[("CI", "1")],
        &[
            "install",
            "--mirror",
            &server.url(),
            "--progress",
            "auto",
            "platform",
        ],
    );
    assert!(!tty.contains(&0x1b), "{:?}", String::from_utf8_lossy(&tty));
    assert!(sb.bin_dir().join("platform").is_file());
}

#[test]
fn no_escape_codes_with_progress_never() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let mut cmd = sb.cmd();
    cmd.env_remove("CI").args([
        "install",
        "--mirror",
        &server.url(),
        "--progress",
        "never",
        "platform",
    ]);
    let out = run(&mut cmd);
    assert_success(&out);
    assert!(!out.stderr.contains(&0x1b), "{:?}", stderr(&out));
    let sb = Sandbox::new();
    let tty = run_on_tty(
        &sb,
        &[],
        &[
            "install",
            "--mirror",
            &server.url(),
            "--progress",
            "never",
            "platform",
        ],
    );
    assert!(!tty.contains(&0x1b), "{:?}", String::from_utf8_lossy(&tty));
    assert!(sb.bin_dir().join("platform").is_file());
}

// ---------------------------------------------------------------------------------------------
// env

#[test]
fn env_lists_the_detected_setup_and_hides_the_token() {
    let sb = Sandbox::new();
    let mut cmd = sb.cmd();
    cmd.env("GITHUB_TOKEN", "secret").arg("env");
    let out = run(&mut cmd);
    assert_success(&out);
    let text = stdout(&out);
    let app = sb.app.to_str().unwrap();
    for needle in [
        app,
        sb.bin_dir().to_str().unwrap(),
        sb.env_file().to_str().unwrap(),
        sb.cache.to_str().unwrap(),
        this_target(),
    ] {
        assert!(text.contains(needle), "`{needle}` missing:\n{text}");
    }
    for label in ["app dir", "bin dir", "env file", "cache dir", "target"] {
        assert!(text.contains(label), "`{label}` missing:\n{text}");
    }
    assert!(!text.contains("secret"), "{text}");
    assert!(!stderr(&out).contains("secret"), "{}", stderr(&out));
    assert!(
        text.lines()
            .any(|l| l.contains("GITHUB_TOKEN") && l.contains("set")),
        "{text}"
    );

    let mut cmd = sb.cmd();
    cmd.env("GITHUB_TOKEN", "secret").args(["env", "--json"]);
    let out = run(&mut cmd);
    assert_success(&out);
    assert!(!stdout(&out).contains("secret"), "{}", stdout(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(v["target"], this_target());
}

// ---------------------------------------------------------------------------------------------
// uninstall

#[test]
fn uninstall_removes_the_binary_and_the_block_only() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    let before = "export A=1\r\n# keep me\n\nexport B=2\n";
    std::fs::write(sb.env_file(), before).unwrap();
    assert_success(&install(&sb, &server.url(), &["platform"]));
    // The user adds a line after the block; it must survive too.
    let mut env = std::fs::read_to_string(sb.env_file()).unwrap();
    env.push_str("export AFTER=1\n");
    std::fs::write(sb.env_file(), &env).unwrap();
    let out = sb.run(&["uninstall", "platform"]);
    assert_success(&out);
    assert!(stdout(&out).is_empty());
    assert!(!sb.bin_dir().join("platform").exists());
    assert_eq!(
        std::fs::read_to_string(sb.env_file()).unwrap(),
        format!("{before}export AFTER=1\n")
    );
}

#[test]
fn uninstall_one_of_two_tools_keeps_the_block() {
    let (server, _) = serve(&["5.10.8"], Some("5.10.8"));
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &["platform", "upsun"]));
    let env1 = std::fs::read(sb.env_file()).unwrap();
    assert_success(&sb.run(&["uninstall", "platform"]));
    assert!(!sb.bin_dir().join("platform").exists());
    assert_eq!(version_of(&sb.bin_dir().join("upsun")), "upsun CLI 5.10.8");
    assert_eq!(std::fs::read(sb.env_file()).unwrap(), env1);
    assert_success(&sb.run(&["uninstall", "upsun"]));
    assert!(!sb.bin_dir().join("upsun").exists());
    assert_eq!(std::fs::read_to_string(sb.env_file()).unwrap(), "");
}

#[test]
fn uninstall_when_nothing_is_installed_exits_0() {
    let sb = Sandbox::new();
    std::fs::write(sb.env_file(), "export A=1\n").unwrap();
    let out = sb.run(&["uninstall", "platform"]);
    assert_success(&out);
    assert!(stdout(&out).is_empty());
    assert_eq!(
        std::fs::read_to_string(sb.env_file()).unwrap(),
        "export A=1\n"
    );
    let out = sb.run(&["uninstall"]);
    assert_success(&out);
}

// ---------------------------------------------------------------------------------------------
// the TLS stack

#[test]
fn dependency_tree_has_no_openssl_or_native_tls() {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "-e", "normal", "--prefix", "none", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree failed:\n{}", stderr(&out));
    let tree = stdout(&out);
    assert!(tree.contains("rustls"), "unexpected tree:\n{tree}");
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for banned in [
        "openssl-sys",
        "openssl",
        "native-tls",
        "hyper-tls",
        "tokio-native-tls",
    ] {
        assert!(
            !crates.contains(&banned),
            "`{banned}` in the dependency tree:\n{tree}"
        );
    }
}

#[test]
fn binary_does_not_link_libssl() {
    let exe = env!("CARGO_BIN_EXE_hookstrap");
    let bytes = std::fs::read(exe).unwrap();
    assert!(bytes.starts_with(b"\x7fELF"), "not an ELF binary");
    let needle = b"libssl.so";
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "the binary names libssl.so"
    );
    if let Ok(out) = Command::new("ldd").arg(exe).output() {
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!text.contains("libssl"), "{text}");
        assert!(!text.contains("libcrypto"), "{text}");
    }
}
