//! Other released tools (SPEC.md, "Other released tools"; issue 7), end to end: `github:` and
//! `url:` SPECs, asset choice, hash sources, every archive format, the manifest, the lock file,
//! `list`, `uninstall`, `completions` and `mirror`.
//!
//! The releases list every asset of real ones (`fixtures/releases/`): gh (GoReleaser archives
//! with the binary under `bin/`, one `gh_{v}_checksums.txt`), jq (bare binaries,
//! `sha256sum.txt`), ripgrep (Rust target triples, one `.sha256` sidecar per asset); the
//! manifests are `fixtures/manifests/valid/`. Every release is served by a
//! [`TestServer`] in github.com's layout plus the release API at `/api/v3/…` (the mirror layout).

mod common;

use std::path::Path;

use common::fixtures::{
    self, Release, cli_release, fixture, github_release, mount_github_release, mount_release,
    release_api_path, sha256_hex, tar_gz, this_target, zip_stored,
};
use common::server::{Behavior, TestServer};
use common::{Sandbox, assert_exit, assert_success, stderr, stdout};

// ---- releases shaped like the real ones ----

/// `amd64` or `arm64`: the architecture part of the host's target.
fn host_arch() -> &'static str {
    if this_target() == "linux_arm64" {
        "arm64"
    } else {
        "amd64"
    }
}

/// A script standing in for a tool; it names the asset it came from, so a test can tell which
/// asset was installed.
fn script(tool: &str, from: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho \"{tool} from {from}\"\n").into_bytes()
}

/// A release of one tool in github.com's layout: the assets a fixture listing names
/// (`fixtures/releases/…`), each built by `bytes` or left out when it gives `None`; the
/// checksum files are written over the assets kept, by the test.
fn assets_of(listing: &str, bytes: impl Fn(&str) -> Option<Vec<u8>>) -> Vec<(String, Vec<u8>)> {
    fixtures::fixture_asset_names(listing)
        .into_iter()
        .filter_map(|name| Some((name.clone(), bytes(&name)?)))
        .collect()
}

/// Bytes that stand in for an asset no test installs (packages, other platforms).
fn stand_in(name: &str) -> Vec<u8> {
    format!("stand-in for {name}\n").into_bytes()
}

/// GoReleaser's `checksums.txt` over every asset of `assets`.
fn sums_of(assets: &[(String, Vec<u8>)]) -> Vec<u8> {
    let entries: Vec<(&str, &[u8])> = assets
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    fixtures::checksums_txt(&entries).into_bytes()
}

/// gh 2.63.0, every asset of the real release (`fixtures/releases/gh-v2.63.0.json`):
/// `gh_2.63.0_linux_{arch}.tar.gz` holding `gh_2.63.0_linux_{arch}/bin/gh`, the packages and
/// other platforms beside them, and one `gh_2.63.0_checksums.txt`.
fn gh_release() -> Release {
    let mut assets = assets_of("releases/gh-v2.63.0.json", |name| {
        if name.ends_with("_checksums.txt") {
            return None;
        }
        Some(match name.strip_suffix(".tar.gz") {
            Some(dir) if dir.contains("_linux_") => {
                let bin = script("gh", name);
                tar_gz(&[
                    (&format!("{dir}/LICENSE"), 0o644, b"MIT License\n"),
                    (&format!("{dir}/bin/gh"), 0o755, &bin),
                    (&format!("{dir}/share/man/man1/gh.1"), 0o644, b".TH gh 1\n"),
                    (
                        &format!("{dir}/share/man/man1/gh-api.1"),
                        0o644,
                        b".TH gh-api 1\n",
                    ),
                ])
            }
            _ => stand_in(name),
        })
    });
    let sums = sums_of(&assets);
    assets.push(("gh_2.63.0_checksums.txt".to_owned(), sums));
    github_release("cli", "cli", "v2.63.0", assets)
}

/// jq 1.7.1, every asset of the real release (`fixtures/releases/jq-1.7.1.json`): bare
/// binaries (`jq-linux-amd64`, legacy `jq-linux64`, `jq-osx-amd64`, `jq-win64.exe`, …), the
/// source archives, and `sha256sum.txt`.
fn jq_release() -> Release {
    let mut assets = assets_of("releases/jq-1.7.1.json", |name| match name {
        "sha256sum.txt" => None,
        "jq-1.7.1.tar.gz" | "jq-1.7.1.zip" => Some(stand_in(name)),
        _ => Some(script("jq", name)),
    });
    let sums = sums_of(&assets);
    assets.push(("sha256sum.txt".to_owned(), sums));
    github_release("jqlang", "jq", "jq-1.7.1", assets)
}

/// ripgrep 14.1.1, every asset of the real release (`fixtures/releases/ripgrep-14.1.1.json`):
/// `ripgrep-14.1.1-{triple}.tar.gz` holding `ripgrep-14.1.1-{triple}/rg`, each with a
/// `.sha256` sidecar; aarch64 Linux has only a gnu build. For x86_64 Linux the real release has
/// only musl; a gnu build is added, to show musl is preferred.
fn rg_release() -> Release {
    let mut assets = assets_of("releases/ripgrep-14.1.1.json", |name| {
        if name.ends_with(".sha256") {
            return None;
        }
        Some(match name.strip_suffix(".tar.gz") {
            Some(dir) => rg_archive(dir, name),
            None => stand_in(name),
        })
    });
    let gnu = "ripgrep-14.1.1-x86_64-unknown-linux-gnu";
    assets.push((
        format!("{gnu}.tar.gz"),
        rg_archive(gnu, &format!("{gnu}.tar.gz")),
    ));
    let sidecars: Vec<(String, Vec<u8>)> = assets
        .iter()
        .map(|(name, bytes)| {
            (
                format!("{name}.sha256"),
                format!("{}  {name}\n", sha256_hex(bytes)).into_bytes(),
            )
        })
        .collect();
    assets.extend(sidecars);
    github_release("BurntSushi", "ripgrep", "14.1.1", assets)
}

/// `{dir}.tar.gz` as ripgrep packs it: `{dir}/rg`, docs and completions.
fn rg_archive(dir: &str, asset: &str) -> Vec<u8> {
    let bin = script("rg", asset);
    tar_gz(&[
        (&format!("{dir}/rg"), 0o755, &bin),
        (&format!("{dir}/README.md"), 0o644, b"# ripgrep\n"),
        (&format!("{dir}/COPYING"), 0o644, b"Unlicense\n"),
        (&format!("{dir}/doc/rg.1"), 0o644, b".TH rg 1\n"),
        (&format!("{dir}/complete/rg.bash"), 0o644, b"complete rg\n"),
    ])
}

/// A tool released for both Linux targets in one archive format, verified by `checksums.txt`.
fn packed_release(repo: &str, ext: &str, pack: fn(&str, &[u8]) -> Vec<u8>) -> Release {
    let mut assets = Vec::new();
    for arch in ["amd64", "arm64"] {
        let asset = format!("{repo}_1.0.0_linux_{arch}.{ext}");
        let bytes = pack(repo, &script(repo, &asset));
        assets.push((asset, bytes));
    }
    let sums = sums_of(&assets);
    assets.push(("checksums.txt".to_owned(), sums));
    github_release("acme", repo, "v1.0.0", assets)
}

// ---- helpers ----

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write file");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The file names in the bin dir, hookstrap's own bookkeeping (dot files) left out.
fn bin_names(sb: &Sandbox) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(sb.bin_dir()) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// Runs `hookstrap ARGS --mirror URL`.
fn run_mirrored(sb: &Sandbox, server: &TestServer, args: &[&str]) -> std::process::Output {
    let mirror = server.url();
    let mut all = args.to_vec();
    all.extend(["--mirror", mirror.as_str()]);
    sb.run(&all)
}

/// The paths the server was asked for, in order.
fn paths(server: &TestServer) -> Vec<String> {
    server.requests().into_iter().map(|r| r.path).collect()
}

/// Runs the installed command through the env file under dash, as a later hook would.
fn run_through_env(sb: &Sandbox, commands: &str) -> String {
    let out = common::run(
        std::process::Command::new("dash")
            .arg("-c")
            .arg(format!(". ./.environment && {commands}"))
            .current_dir(&sb.app)
            .env_clear()
            .env("PATH", "/usr/bin:/bin"),
    );
    assert!(out.status.success(), "dash: {}", stderr(&out));
    stdout(&out)
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o7777
}

// ---- GitHub releases: asset choice and hash sources ----

#[test]
fn gh_from_the_manifest_is_found_under_bin_and_verified_by_its_checksums_file() {
    let server = TestServer::start();
    let rel = gh_release();
    mount_github_release(&server, &rel, false);
    let sb = Sandbox::new();
    write(
        &sb.app.join("hookstrap.toml"),
        &fixture("manifests/valid/gh.toml"),
    );

    let out = run_mirrored(&sb, &server, &["install"]);
    assert_success(&out);

    let asset = format!("gh_2.63.0_linux_{}.tar.gz", host_arch());
    assert_eq!(bin_names(&sb), ["gh"]);
    let gh = sb.bin_dir().join("gh");
    assert_eq!(read(&gh), String::from_utf8(script("gh", &asset)).unwrap());
    assert_eq!(mode(&gh), 0o755);
    let asked = paths(&server);
    assert!(
        asked.contains(&rel.path("gh_2.63.0_checksums.txt")),
        "{asked:?}"
    );
    assert!(asked.contains(&release_api_path(&rel)), "{asked:?}");
    // Packages and other platforms are never downloaded.
    assert_eq!(
        asked
            .iter()
            .filter(|p| p.contains("/releases/download/"))
            .count(),
        2,
        "{asked:?}"
    );
    assert!(run_through_env(&sb, "gh").contains(&asset));
}

#[test]
fn github_spec_alone_installs_the_program_under_its_own_name() {
    // SPEC.md: "The installed command is the manifest's `bin` (or `--bin`); else the program's
    // own name — the archive's only executable". `github:cli/cli` installs `gh`, not `cli`.
    let server = TestServer::start();
    let rel = gh_release();
    mount_github_release(&server, &rel, false);
    let sb = Sandbox::new();

    let out = run_mirrored(&sb, &server, &["install", "github:cli/cli@v2.63.0"]);
    assert_success(&out);

    let asset = format!("gh_2.63.0_linux_{}.tar.gz", host_arch());
    assert_eq!(bin_names(&sb), ["gh"]);
    assert_eq!(
        std::fs::read(sb.bin_dir().join("gh")).unwrap(),
        script("gh", &asset)
    );
}

#[test]
fn jq_bare_binary_is_verified_by_sha256sum_txt() {
    let server = TestServer::start();
    let rel = jq_release();
    mount_github_release(&server, &rel, false);
    let sb = Sandbox::new();

    let out = run_mirrored(
        &sb,
        &server,
        &["install", "github:jqlang/jq@jq-1.7.1", "--json"],
    );
    assert_success(&out);

    let asset = format!("jq-linux-{}", host_arch());
    assert_eq!(bin_names(&sb), ["jq"]);
    let jq = sb.bin_dir().join("jq");
    assert_eq!(std::fs::read(&jq).unwrap(), rel.bytes(&asset));
    assert_eq!(mode(&jq), 0o755);
    assert!(paths(&server).contains(&rel.path("sha256sum.txt")));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(json["tool"], "jq");
    assert_eq!(json["url"], rel.github_url(&asset));
    assert_eq!(json["sha256"], rel.sha256(&asset));
}

#[test]
fn offline_latest_of_a_github_tool_is_the_newest_cached_tag_even_when_not_semver() {
    let server = TestServer::start();
    let rel = jq_release();
    mount_github_release(&server, &rel, false);
    let online = Sandbox::new();
    assert_success(&run_mirrored(
        &online,
        &server,
        &["install", "github:jqlang/jq@jq-1.7.1"],
    ));
    let before = server.total();

    let offline = Sandbox::new();
    let out = common::run(
        offline
            .cmd()
            .args(["install", "github:jqlang/jq", "--offline", "--json"])
            .env("HOOKSTRAP_CACHE_DIR", &online.cache),
    );
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(json["version"], "jq-1.7.1");
    assert_eq!(json["cache"], "hit");
    assert_eq!(server.total(), before, "offline asked nothing");
}

#[test]
fn ripgrep_prefers_the_musl_build_verified_by_its_sidecar() {
    let server = TestServer::start();
    let rel = rg_release();
    mount_github_release(&server, &rel, false);
    let sb = Sandbox::new();
    write(
        &sb.app.join("hookstrap.toml"),
        &fixture("manifests/valid/ripgrep.toml"),
    );

    let out = run_mirrored(&sb, &server, &["install", "--target", "linux_amd64"]);
    assert_success(&out);

    let musl = "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz";
    assert_eq!(bin_names(&sb), ["rg"]);
    assert_eq!(
        std::fs::read(sb.bin_dir().join("rg")).unwrap(),
        script("rg", musl)
    );
    let asked = paths(&server);
    assert!(
        asked.contains(&rel.path(&format!("{musl}.sha256"))),
        "{asked:?}"
    );
    assert!(
        !asked.iter().any(|p| p.contains("linux-gnu")),
        "the gnu build was fetched: {asked:?}"
    );
}

#[test]
fn ripgrep_on_arm64_takes_the_only_aarch64_build() {
    let server = TestServer::start();
    let rel = rg_release();
    mount_github_release(&server, &rel, false);
    let sb = Sandbox::new();
    write(
        &sb.app.join("hookstrap.toml"),
        &fixture("manifests/valid/ripgrep.toml"),
    );

    // Another target's binaries go to a bin dir of their own, and the env file is left alone.
    let arm = sb.app.join("arm64-bin");
    let out = run_mirrored(
        &sb,
        &server,
        &[
            "install",
            "--target",
            "linux_arm64",
            "--bin-dir",
            arm.to_str().unwrap(),
        ],
    );
    assert_success(&out);
    assert!(!sb.env_file().exists());

    let gnu = "ripgrep-14.1.1-aarch64-unknown-linux-gnu.tar.gz";
    assert_eq!(std::fs::read(arm.join("rg")).unwrap(), script("rg", gnu));
    assert!(paths(&server).contains(&rel.path(&format!("{gnu}.sha256"))));
}

#[test]
fn api_digest_alone_verifies_the_latest_release() {
    let server = TestServer::start();
    let rel = github_release(
        "acme",
        "tool",
        "v3.1.4",
        vec![
            ("tool-linux-amd64".to_owned(), script("tool", "amd64")),
            ("tool-linux-arm64".to_owned(), script("tool", "arm64")),
            ("tool-darwin-arm64".to_owned(), script("tool", "darwin")),
        ],
    );
    mount_github_release(&server, &rel, true);
    let sb = Sandbox::new();

    let out = run_mirrored(&sb, &server, &["install", "github:acme/tool", "--json"]);
    assert_success(&out);

    let asset = format!("tool-linux-{}", host_arch());
    assert_eq!(
        std::fs::read(sb.bin_dir().join("tool")).unwrap(),
        rel.bytes(&asset)
    );
    assert_eq!(
        paths(&server),
        [
            "/acme/tool/releases/latest".to_owned(),
            release_api_path(&rel),
            rel.path(&asset),
        ]
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(json["version"], "3.1.4");
}

#[test]
fn release_without_any_hash_is_refused_and_nothing_is_installed() {
    let server = TestServer::start();
    let rel = github_release(
        "acme",
        "nohash",
        "v1.0.0",
        vec![
            (
                "nohash_1.0.0_linux_amd64.tar.gz".to_owned(),
                tar_gz(&[("nohash", 0o755, b"x")]),
            ),
            (
                "nohash_1.0.0_linux_arm64.tar.gz".to_owned(),
                tar_gz(&[("nohash", 0o755, b"x")]),
            ),
        ],
    );
    mount_github_release(&server, &rel, false);
    let sb = Sandbox::new();
    write(&sb.env_file(), "export FOO=1\n");

    let out = run_mirrored(&sb, &server, &["install", "github:acme/nohash@v1.0.0"]);
    assert_exit(&out, 5);

    let err = stderr(&out);
    assert!(
        err.contains("error:") && err.contains("no SHA-256"),
        "{err}"
    );
    assert!(err.contains("hint:") && err.contains("--sha256"), "{err}");
    assert!(bin_names(&sb).is_empty(), "{:?}", bin_names(&sb));
    assert_eq!(read(&sb.env_file()), "export FOO=1\n");
    assert!(
        !paths(&server)
            .iter()
            .any(|p| p.contains("/releases/download/")),
        "an unverifiable asset was downloaded"
    );
}

#[test]
fn tampered_asset_is_refused_and_nothing_is_installed() {
    let server = TestServer::start();
    let mut rel = gh_release();
    let asset = format!("gh_2.63.0_linux_{}.tar.gz", host_arch());
    rel.replace_asset(&asset, tar_gz(&[("gh", 0o755, b"#!/bin/sh\necho evil\n")]));
    mount_github_release(&server, &rel, false);
    let sb = Sandbox::new();
    write(&sb.env_file(), "export FOO=1\n");

    let out = run_mirrored(&sb, &server, &["install", "github:cli/cli@v2.63.0"]);
    assert_exit(&out, 5);

    let err = stderr(&out);
    assert!(err.contains(&asset), "{err}");
    assert!(bin_names(&sb).is_empty(), "{:?}", bin_names(&sb));
    assert_eq!(read(&sb.env_file()), "export FOO=1\n");
}

// ---- url: ----

#[test]
fn url_spec_with_sha256_installs() {
    let server = TestServer::start();
    let bytes = script("tool", "url");
    server.route("/dl/tool-linux-amd64", Behavior::file(bytes.clone()));
    let sb = Sandbox::new();
    let url = format!("url:{}/dl/tool-linux-amd64", server.url());

    let out = sb.run(&["install", &url, "--sha256", &sha256_hex(&bytes)]);
    assert_success(&out);

    assert_eq!(bin_names(&sb), ["tool"]);
    assert_eq!(std::fs::read(sb.bin_dir().join("tool")).unwrap(), bytes);
    assert!(run_through_env(&sb, "tool").contains("tool from url"));
}

#[test]
fn url_spec_without_sha256_is_refused() {
    let server = TestServer::start();
    server.route(
        "/dl/tool-linux-amd64",
        Behavior::file(script("tool", "url")),
    );
    let sb = Sandbox::new();
    let url = format!("url:{}/dl/tool-linux-amd64", server.url());

    let out = sb.run(&["install", &url]);
    assert_exit(&out, 5);

    let err = stderr(&out);
    assert!(err.contains("hint:") && err.contains("--sha256"), "{err}");
    assert!(bin_names(&sb).is_empty());
    assert!(!sb.env_file().exists());
    assert_eq!(server.total(), 0, "nothing is downloaded unpinned");
}

#[test]
fn url_spec_with_a_wrong_sha256_is_refused() {
    let server = TestServer::start();
    server.route(
        "/dl/tool-linux-amd64",
        Behavior::file(script("tool", "url")),
    );
    let sb = Sandbox::new();
    let url = format!("url:{}/dl/tool-linux-amd64", server.url());

    let out = sb.run(&["install", &url, "--sha256", &sha256_hex(b"something else")]);
    assert_exit(&out, 5);
    assert!(bin_names(&sb).is_empty());
}

#[test]
fn url_spec_pinned_by_the_lock_file_installs_without_sha256() {
    // A lock file holds https:// URLs only: the tool is served over TLS by a test CA.
    let ca = common::tls::TestCa::new();
    let server = TestServer::start_tls(&ca);
    let bytes = script("tool", "url");
    server.route("/dl/tool-linux-amd64", Behavior::file(bytes.clone()));
    let url = format!("url:{}/dl/tool-linux-amd64", server.url());
    let first = Sandbox::new();
    let pem = ca.write_pem(first.path());
    let run =
        |sb: &Sandbox, args: &[&str]| common::run(sb.cmd().args(args).env("SSL_CERT_FILE", &pem));
    assert_success(&run(
        &first,
        &["lock", &url, "--sha256", &sha256_hex(&bytes)],
    ));
    let text = read(&first.lock_file());
    assert!(text.contains(&format!("source = \"{url}\"")), "{text}");

    // Another machine with only the lock file: by its SPEC, and with no SPEC at all.
    for args in [vec!["install", url.as_str()], vec!["install"]] {
        let sb = Sandbox::new();
        std::fs::copy(first.lock_file(), sb.lock_file()).unwrap();
        let out = run(&sb, &args);
        assert_success(&out);
        assert_eq!(std::fs::read(sb.bin_dir().join("tool")).unwrap(), bytes);
    }
}

#[test]
fn a_lock_file_refuses_plain_http_and_file_urls() {
    let server = TestServer::start();
    let bytes = script("tool", "url");
    server.route("/dl/tool-linux-amd64", Behavior::file(bytes.clone()));
    for url in [
        format!("{}/dl/tool-linux-amd64", server.url()),
        "file:///srv/mirror/tool-linux-amd64".to_string(),
    ] {
        let sb = Sandbox::new();
        let lock = format!(
            "version = 1\n\n[[tool]]\nname = \"tool\"\nversion = \"sha256-{short}\"\nsource = \"url:{url}\"\n\n[[tool.artifact]]\ntarget = \"{target}\"\nurl = \"{url}\"\nsha256 = \"{sha}\"\nsize = {size}\n",
            short = &sha256_hex(&bytes)[..12],
            target = fixtures::this_target(),
            sha = sha256_hex(&bytes),
            size = bytes.len(),
        );
        std::fs::write(sb.lock_file(), lock).unwrap();
        let out = sb.run(&["install"]);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("url must be an https:// address"),
            "{}",
            stderr(&out)
        );
        assert_eq!(server.total(), 0, "nothing was fetched from `{url}`");
        assert!(bin_names(&sb).is_empty());
    }
    // `lock` itself never writes such a URL.
    let sb = Sandbox::new();
    let url = format!("url:{}/dl/tool-linux-amd64", server.url());
    let out = sb.run(&["lock", &url, "--sha256", &sha256_hex(&bytes)]);
    assert_exit(&out, 2);
    assert!(!sb.lock_file().exists());
}

// ---- archive formats ----

fn install_packed(rel: &Release) -> Sandbox {
    let server = TestServer::start();
    mount_github_release(&server, rel, false);
    let sb = Sandbox::new();
    let spec = format!("github:{}/{}@{}", rel.owner, rel.repo, rel.tag);
    let out = run_mirrored(&sb, &server, &["install", &spec]);
    assert_success(&out);
    let asset = rel
        .assets
        .iter()
        .map(|(n, _)| n.as_str())
        .find(|n| n.contains(&format!("linux_{}", host_arch())))
        .unwrap();
    assert_eq!(bin_names(&sb), [rel.repo.as_str()]);
    let bin = sb.bin_dir().join(&rel.repo);
    assert_eq!(std::fs::read(&bin).unwrap(), script(&rel.repo, asset));
    assert_eq!(mode(&bin), 0o755);
    sb
}

#[test]
fn tar_xz_archive_installs() {
    let rel = packed_release("xztool", "tar.xz", |name, bin| {
        fixtures::tar_xz(&[
            (&format!("xztool-1.0.0/{name}"), 0o755, bin),
            ("xztool-1.0.0/README.md", 0o644, b"readme\n"),
        ])
    });
    install_packed(&rel);
}

#[test]
fn tar_zst_archive_installs() {
    let rel = packed_release("zsttool", "tar.zst", |name, bin| {
        fixtures::tar_zst(&[(name, 0o755, bin), ("LICENSE", 0o644, b"license\n")])
    });
    install_packed(&rel);
}

#[test]
fn zip_archive_installs() {
    // zip_stored records every entry as 0644: the binary still becomes executable.
    let rel = packed_release("ziptool", "zip", |name, bin| {
        zip_stored(&[
            (&format!("dist/{name}"), bin),
            ("dist/README.md", b"readme\n"),
        ])
    });
    install_packed(&rel);
}

/// A release of one zip per Linux target, all with the same bytes, verified by checksums.txt.
fn zip_release(repo: &str, zip: &[u8]) -> Release {
    let mut assets = Vec::new();
    for arch in ["amd64", "arm64"] {
        assets.push((format!("{repo}_1.0.0_linux_{arch}.zip"), zip.to_vec()));
    }
    let entries: Vec<(&str, &[u8])> = assets
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let sums = fixtures::checksums_txt(&entries).into_bytes();
    assets.push(("checksums.txt".to_owned(), sums));
    github_release("acme", repo, "v1.0.0", assets)
}

fn assert_refused_zip(repo: &str, zip: &[u8], why: &str) {
    let server = TestServer::start();
    let rel = zip_release(repo, zip);
    mount_github_release(&server, &rel, false);
    let sb = Sandbox::new();
    let spec = format!("github:acme/{repo}@v1.0.0");

    let out = run_mirrored(&sb, &server, &["install", &spec]);
    assert_exit(&out, 6);

    assert!(stderr(&out).contains(why), "{}", stderr(&out));
    assert!(bin_names(&sb).is_empty(), "{:?}", bin_names(&sb));
    assert!(!sb.env_file().exists());
    assert_eq!(
        find_named(sb.path(), "evil"),
        Vec::<std::path::PathBuf>::new()
    );
}

/// Every path under `root` (links not followed) whose file name is `name`.
fn find_named(root: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let entry = entry.expect("dir entry");
            if entry.file_name() == name {
                found.push(entry.path());
            }
            if entry.file_type().expect("file type").is_dir() {
                pending.push(entry.path());
            }
        }
    }
    found
}

#[test]
fn zip_slip_entry_is_refused() {
    let zip = zip_stored(&[("slip", b"#!/bin/sh\n"), ("../../evil", b"pwned\n")]);
    assert_refused_zip("slip", &zip, "../../evil");
}

#[test]
fn zip_symlink_entry_is_refused() {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    writer.start_file("linky", options).unwrap();
    writer.write_all(b"#!/bin/sh\n").unwrap();
    writer.add_symlink("evil", "/etc/passwd", options).unwrap();
    let zip = writer.finish().unwrap().into_inner();
    assert_refused_zip("linky", &zip, "symbolic link");
}

#[test]
fn archive_without_the_named_binary_is_refused_listing_its_files() {
    // Two executables, neither named after the tool: no guess (exit 6), the files are listed.
    let rel = packed_release("multi", "tar.gz", |_, bin| {
        tar_gz(&[("multi-1.0/foo", 0o755, bin), ("multi-1.0/bar", 0o755, bin)])
    });
    let server = TestServer::start();
    mount_github_release(&server, &rel, false);
    let sb = Sandbox::new();

    let out = run_mirrored(&sb, &server, &["install", "github:acme/multi@v1.0.0"]);
    assert_exit(&out, 6);

    let err = stderr(&out);
    assert!(
        err.contains("multi-1.0/foo") && err.contains("multi-1.0/bar"),
        "{err}"
    );
    assert!(err.contains("bin"), "{err}");
    assert!(bin_names(&sb).is_empty());
}

// ---- choosing an asset: failures ----

#[test]
fn two_equally_good_assets_are_a_usage_error_listing_both() {
    let server = TestServer::start();
    let arch = host_arch();
    let a = format!("tool-cli_1.0.0_linux_{arch}.tar.gz");
    let b = format!("tool-gui_1.0.0_linux_{arch}.tar.gz");
    let rel = github_release(
        "acme",
        "twins",
        "v1.0.0",
        vec![
            (a.clone(), tar_gz(&[("twins", 0o755, b"a")])),
            (b.clone(), tar_gz(&[("twins", 0o755, b"b")])),
        ],
    );
    mount_github_release(&server, &rel, true);
    let sb = Sandbox::new();

    let out = run_mirrored(&sb, &server, &["install", "github:acme/twins@v1.0.0"]);
    assert_exit(&out, 2);

    let err = stderr(&out);
    assert!(err.contains(&a) && err.contains(&b), "{err}");
    assert!(err.contains("hint:") && err.contains("asset"), "{err}");
    assert!(bin_names(&sb).is_empty());
}

#[test]
fn the_manifest_asset_pattern_picks_among_equal_candidates() {
    let server = TestServer::start();
    let arch = host_arch();
    let a = format!("tool-cli_1.0.0_linux_{arch}.tar.gz");
    let b = format!("tool-gui_1.0.0_linux_{arch}.tar.gz");
    let rel = github_release(
        "acme",
        "twins",
        "v1.0.0",
        vec![
            (a.clone(), tar_gz(&[("twins", 0o755, b"a")])),
            (b.clone(), tar_gz(&[("twins", 0o755, b"b")])),
        ],
    );
    mount_github_release(&server, &rel, true);
    let sb = Sandbox::new();
    write(
        &sb.app.join("hookstrap.toml"),
        &fixture("manifests/valid/twins-asset-pattern.toml"),
    );

    let out = run_mirrored(&sb, &server, &["install"]);
    assert_success(&out);

    assert_eq!(std::fs::read(sb.bin_dir().join("twins")).unwrap(), b"b");
    assert!(!paths(&server).contains(&rel.path(&a)));
}

#[test]
fn a_release_with_no_asset_for_the_target_is_not_found() {
    let server = TestServer::start();
    let rel = github_release(
        "acme",
        "maconly",
        "v1.0.0",
        vec![
            (
                "maconly_1.0.0_darwin_arm64.tar.gz".to_owned(),
                tar_gz(&[("maconly", 0o755, b"m")]),
            ),
            ("maconly_1.0.0_windows_amd64.zip".to_owned(), b"PK".to_vec()),
            (
                "maconly_1.0.0_linux_amd64.deb".to_owned(),
                b"!<arch>\n".to_vec(),
            ),
        ],
    );
    mount_github_release(&server, &rel, true);
    let sb = Sandbox::new();

    let out = run_mirrored(&sb, &server, &["install", "github:acme/maconly@v1.0.0"]);
    assert_exit(&out, 3);

    let err = stderr(&out);
    assert!(err.contains(this_target()), "{err}");
    assert!(err.contains("maconly_1.0.0_darwin_arm64.tar.gz"), "{err}");
    assert!(bin_names(&sb).is_empty());
}

// ---- the manifest, the lock file, offline ----

/// Serves the Platform.sh CLI 5.10.8, gh and jq for both Linux targets.
fn serve_platform_gh_jq() -> (TestServer, Release, Release, Release) {
    let server = TestServer::start();
    let cli = cli_release("5.10.8", &["platform"], &["linux_amd64", "linux_arm64"]);
    mount_release(&server, &cli);
    let gh = gh_release();
    mount_github_release(&server, &gh, false);
    let jq = jq_release();
    mount_github_release(&server, &jq, false);
    (server, cli, gh, jq)
}

/// platform, gh and jq for both Linux targets (`fixtures/manifests/valid/platform-gh-jq.toml`).
fn manifest() -> String {
    fixture("manifests/valid/platform-gh-jq.toml")
}

#[test]
fn manifest_installs_platform_gh_and_jq_onto_one_path() {
    let (server, _, _, _) = serve_platform_gh_jq();
    let sb = Sandbox::new();
    write(&sb.app.join("hookstrap.toml"), &manifest());

    let out = run_mirrored(&sb, &server, &["install"]);
    assert_success(&out);

    assert_eq!(bin_names(&sb), ["gh", "jq", "platform"]);
    let env = read(&sb.env_file());
    assert_eq!(env.matches("# >>> hookstrap >>>").count(), 1, "{env}");
    let said = run_through_env(&sb, "platform --version && gh && jq");
    assert!(said.contains("platform CLI 5.10.8"), "{said}");
    assert!(
        said.contains(&format!("gh_2.63.0_linux_{}", host_arch())),
        "{said}"
    );
    assert!(
        said.contains(&format!("jq-linux-{}", host_arch())),
        "{said}"
    );

    // A second run changes nothing and adds no second block.
    let again = run_mirrored(&sb, &server, &["install"]);
    assert_success(&again);
    assert_eq!(read(&sb.env_file()), env);
}

/// `hookstrap lock` in a sandbox holding `manifest`, against `server`.
fn locked(server: &TestServer, manifest: &str) -> Sandbox {
    let sb = Sandbox::new();
    write(&sb.app.join("hookstrap.toml"), manifest);
    let out = run_mirrored(&sb, server, &["lock"]);
    assert_success(&out);
    sb
}

#[test]
fn lock_pins_every_manifest_tool_for_every_listed_target() {
    let (server, cli, gh, jq) = serve_platform_gh_jq();
    let manifest = fixture("manifests/valid/platform-gh-jq-ripgrep.toml");
    let rg = rg_release();
    mount_github_release(&server, &rg, false);
    let sb = locked(&server, &manifest);

    let text = read(&sb.lock_file());
    let lock: toml::Value = toml::from_str(&text).expect("lock is TOML");
    let tools = lock["tool"].as_array().expect("tools");
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["gh", "jq", "platform", "ripgrep"], "{text}");
    let tool = |name: &str| {
        tools
            .iter()
            .find(|t| t["name"].as_str() == Some(name))
            .unwrap()
    };

    let expect = |name: &str, rel: &Release, per_target: [&str; 2]| {
        let t = tool(name);
        let arts = t["artifact"].as_array().unwrap();
        let targets: Vec<&str> = arts.iter().map(|a| a["target"].as_str().unwrap()).collect();
        assert_eq!(targets, ["linux_amd64", "linux_arm64"], "{name}: {text}");
        for (art, asset) in arts.iter().zip(per_target) {
            assert_eq!(
                art["url"].as_str(),
                Some(rel.github_url(asset).as_str()),
                "{text}"
            );
            assert_eq!(
                art["sha256"].as_str(),
                Some(rel.sha256(asset).as_str()),
                "{text}"
            );
            assert_eq!(
                art["size"].as_integer(),
                Some(rel.bytes(asset).len() as i64),
                "{text}"
            );
        }
    };
    expect(
        "platform",
        &cli,
        [
            "platform_5.10.8_linux_amd64.tar.gz",
            "platform_5.10.8_linux_arm64.tar.gz",
        ],
    );
    expect(
        "gh",
        &gh,
        [
            "gh_2.63.0_linux_amd64.tar.gz",
            "gh_2.63.0_linux_arm64.tar.gz",
        ],
    );
    expect("jq", &jq, ["jq-linux-amd64", "jq-linux-arm64"]);
    expect(
        "ripgrep",
        &rg,
        [
            "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz",
            "ripgrep-14.1.1-aarch64-unknown-linux-gnu.tar.gz",
        ],
    );

    // Where a non-catalog tool comes from, and its command when not its name.
    assert!(tool("platform").get("source").is_none(), "{text}");
    assert_eq!(
        tool("gh")["source"].as_str(),
        Some("github:cli/cli"),
        "{text}"
    );
    assert_eq!(
        tool("jq")["source"].as_str(),
        Some("github:jqlang/jq"),
        "{text}"
    );
    assert_eq!(
        tool("ripgrep")["source"].as_str(),
        Some("github:BurntSushi/ripgrep"),
        "{text}"
    );
    assert!(tool("gh").get("bin").is_none(), "{text}");
    assert_eq!(tool("ripgrep")["bin"].as_str(), Some("rg"), "{text}");
    assert_eq!(tool("gh")["version"].as_str(), Some("2.63.0"), "{text}");
}

#[test]
fn install_from_the_lock_asks_for_no_release_api_or_checksums() {
    let (server, _, _, _) = serve_platform_gh_jq();
    let first = locked(&server, &manifest());
    // A fresh machine: same app files, empty cache.
    let sb = Sandbox::new();
    write(&sb.app.join("hookstrap.toml"), &manifest());
    std::fs::copy(first.lock_file(), sb.lock_file()).unwrap();
    server.clear_requests();

    let out = run_mirrored(&sb, &server, &["install"]);
    assert_success(&out);

    assert_eq!(bin_names(&sb), ["gh", "jq", "platform"]);
    let asked = paths(&server);
    assert_eq!(asked.len(), 3, "{asked:?}");
    for path in &asked {
        assert!(path.contains("/releases/download/"), "{asked:?}");
        assert!(
            !path.contains("checksums") && !path.contains("sha256sum"),
            "{asked:?}"
        );
    }
}

#[test]
fn lock_file_alone_installs_github_tools_with_their_source_and_bin() {
    // No manifest: the lock's `source` says where a tool comes from, `bin` what it is called.
    let (server, _, _, _) = serve_platform_gh_jq();
    let first = locked(&server, &fixture("manifests/valid/github-cli.toml"));
    let sb = Sandbox::new();
    std::fs::copy(first.lock_file(), sb.lock_file()).unwrap();

    let out = run_mirrored(&sb, &server, &["install"]);
    assert_success(&out);

    assert_eq!(bin_names(&sb), ["gh"]);
    let list = stdout(&sb.run(&["list"]));
    assert!(list.starts_with("github-cli\t2.63.0\t"), "{list}");
}

#[test]
fn offline_install_into_a_fresh_app_dir_with_the_same_cache_makes_no_request() {
    let (server, _, _, _) = serve_platform_gh_jq();
    let first = Sandbox::new();
    write(&first.app.join("hookstrap.toml"), &manifest());
    assert_success(&run_mirrored(&first, &server, &["install"]));
    server.clear_requests();

    let sb = Sandbox::new();
    write(&sb.app.join("hookstrap.toml"), &manifest());
    let mirror = server.url();
    let out = common::run(
        sb.cmd()
            .args(["install", "--offline", "--mirror", &mirror])
            .env("HOOKSTRAP_CACHE_DIR", &first.cache),
    );
    assert_success(&out);

    assert_eq!(bin_names(&sb), ["gh", "jq", "platform"]);
    assert_eq!(server.total(), 0, "{:?}", paths(&server));
    assert!(run_through_env(&sb, "gh").contains("gh_2.63.0"));
}

// ---- list, uninstall, completions ----

#[test]
fn list_prints_every_installed_tool_as_text_and_json() {
    let (server, _, _, _) = serve_platform_gh_jq();
    let sb = Sandbox::new();
    write(&sb.app.join("hookstrap.toml"), &manifest());
    assert_success(&run_mirrored(&sb, &server, &["install"]));

    let empty = Sandbox::new();
    let out = empty.run(&["list"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "");

    let out = sb.run(&["list"]);
    assert_success(&out);
    let target = this_target();
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    let want: Vec<String> = [("gh", "2.63.0"), ("jq", "jq-1.7.1"), ("platform", "5.10.8")]
        .iter()
        .map(|(name, version)| {
            let path = sb.bin_dir().join(name);
            format!("{name}\t{version}\t{target}\t{}", path.display())
        })
        .collect();
    assert_eq!(lines, want);

    let out = sb.run(&["list", "--json"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let tools = json["artifacts"].as_array().expect("artifacts");
    let names: Vec<&str> = tools.iter().map(|t| t["tool"].as_str().unwrap()).collect();
    assert_eq!(names, ["gh", "jq", "platform"]);
    let gh = &tools[0];
    assert_eq!(gh["version"], "2.63.0");
    assert_eq!(gh["target"], target);
    let gh_asset = format!("gh_2.63.0_{target}.tar.gz");
    assert_eq!(gh["sha256"], gh_release().sha256(&gh_asset));
    assert!(gh["bin"].as_str().unwrap().ends_with("/.platformsh/bin/gh"));
}

#[test]
fn uninstall_removes_each_kind_of_tool_and_the_block_only_with_the_last() {
    let (server, _, _, _) = serve_platform_gh_jq();
    let url_bytes = script("tool", "url");
    server.route("/dl/tool-linux-amd64", Behavior::file(url_bytes.clone()));
    let sb = Sandbox::new();
    write(&sb.env_file(), "export KEEP=1");
    write(&sb.app.join("hookstrap.toml"), &manifest());
    assert_success(&run_mirrored(&sb, &server, &["install"]));
    let url = format!("url:{}/dl/tool-linux-amd64", server.url());
    assert_success(&sb.run(&["install", &url, "--sha256", &sha256_hex(&url_bytes)]));
    assert_eq!(bin_names(&sb), ["gh", "jq", "platform", "tool"]);

    for (tool, left) in [
        ("gh", vec!["jq", "platform", "tool"]),
        ("tool", vec!["jq", "platform"]),
        ("platform", vec!["jq"]),
    ] {
        assert_success(&sb.run(&["uninstall", tool]));
        assert_eq!(bin_names(&sb), left, "after uninstalling {tool}");
        assert!(
            read(&sb.env_file()).contains("# >>> hookstrap >>>"),
            "the block went with {tool}"
        );
        let list = stdout(&sb.run(&["list"]));
        assert!(!list.contains(&format!("{tool}\t")), "{list}");
    }
    assert_success(&sb.run(&["uninstall", "jq"]));
    assert!(bin_names(&sb).is_empty());
    assert_eq!(read(&sb.env_file()), "export KEEP=1\n");
}

#[test]
fn completions_print_a_script_for_bash_zsh_and_fish() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = sb.run(&["completions", shell]);
        assert_success(&out);
        let text = stdout(&out);
        assert!(text.contains("hookstrap"), "{shell}: {text}");
        assert!(
            text.contains("install") && text.contains("uninstall"),
            "{shell}"
        );
        assert!(stderr(&out).is_empty(), "{shell}: {}", stderr(&out));
    }
    let script = sb.path().join("hookstrap.bash");
    std::fs::write(&script, sb.run(&["completions", "bash"]).stdout).unwrap();
    let out = common::run(std::process::Command::new("bash").arg("-n").arg(&script));
    assert!(out.status.success(), "bash -n: {}", stderr(&out));

    let out = sb.run(&["completions", "tcsh-but-not-really"]);
    assert_exit(&out, 2);
}

// ---- mirror ----

#[test]
fn mirror_export_serves_a_github_tool_through_its_release_json() {
    let server = TestServer::start();
    let rel = gh_release();
    mount_github_release(&server, &rel, false);
    let warm = Sandbox::new();
    assert_success(&run_mirrored(
        &warm,
        &server,
        &["install", "github:cli/cli@v2.63.0"],
    ));
    let tree = warm.path().join("mirror");
    assert_success(&warm.run(&["mirror", tree.to_str().unwrap()]));

    let json_path = tree.join("api/v3/repos/cli/cli/releases/tags/v2.63.0");
    let json: serde_json::Value = serde_json::from_str(&read(&json_path)).expect("release json");
    let asset = format!("gh_2.63.0_linux_{}.tar.gz", host_arch());
    let listed = &json["assets"][0];
    assert_eq!(listed["name"], asset.as_str());
    assert_eq!(listed["digest"], format!("sha256:{}", rel.sha256(&asset)));

    let mirror = TestServer::start();
    mirror.serve_dir(&tree);
    let sb = Sandbox::new();
    let out = run_mirrored(&sb, &mirror, &["install", "github:cli/cli@v2.63.0"]);
    assert_success(&out);

    assert_eq!(
        std::fs::read(sb.bin_dir().join("gh")).unwrap(),
        script("gh", &asset)
    );
    // The exported digest is the hash source: no checksums file is needed.
    assert_eq!(
        paths(&mirror),
        [
            "/api/v3/repos/cli/cli/releases/tags/v2.63.0".to_owned(),
            rel.path(&asset),
        ]
    );
}
