//! The shared cache, the lock file and every local file are untrusted input (issue 11,
//! SPEC.md "Trust"). `$PLATFORM_CACHE_DIR` is shared by every branch of a project, so each
//! test here plants what a hostile branch could (a poisoned copy, a forged index entry, links,
//! FIFOs, hostile names), checks the plant is really there, then runs the real binary and
//! checks that nothing it placed came from the plant and nothing outside hookstrap's own
//! directories changed.

mod common;

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::fixtures::{self, Release, cli_script, sha256_hex, this_target};
use common::server::{Behavior, TestServer};
use common::{Sandbox, assert_exit, assert_success, stderr, stdout};

const OLD: &str = "5.10.7";
const V: &str = "5.10.8";
const EVIL: &[u8] = b"#!/bin/sh\necho pwned\n";

/// A loopback server holding releases `OLD` and `V` of `platform` for this machine.
struct World {
    server: TestServer,
    rel: Release,
}

impl World {
    fn new() -> World {
        let server = TestServer::start();
        let old = fixtures::cli_release(OLD, &["platform"], &[this_target()]);
        let rel = fixtures::cli_release(V, &["platform"], &[this_target()]);
        fixtures::mount_release(&server, &old);
        fixtures::mount_release(&server, &rel);
        World { server, rel }
    }

    fn mirror(&self) -> String {
        self.server.url()
    }

    fn asset(&self) -> String {
        self.rel.asset_name("platform", this_target())
    }

    fn asset_path(&self) -> String {
        self.rel.path(&self.asset())
    }

    fn sha(&self) -> String {
        self.rel.sha256(&self.asset())
    }

    /// `args` in `sb`, against this world's mirror, with the cache at `cache`. The mirror is
    /// given as `HOOKSTRAP_MIRROR`: `--mirror` belongs to the commands that fetch only.
    fn run_in(&self, sb: &Sandbox, cache: &Path, args: &[&str]) -> Output {
        common::run(
            sb.cmd()
                .args(args)
                .env("HOOKSTRAP_MIRROR", self.mirror())
                .env("HOOKSTRAP_CACHE_DIR", cache),
        )
    }

    /// An app that locked `platform@V` and installed it, warming its cache.
    fn locked_app(&self) -> Sandbox {
        let sb = Sandbox::new();
        assert_success(&self.run_in(&sb, &sb.cache, &["lock", &format!("platform@{V}")]));
        assert_success(&self.run_in(&sb, &sb.cache, &["install"]));
        sb
    }
}

fn good() -> Vec<u8> {
    cli_script("platform", V)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every path under `root` whose name starts with one of hookstrap's temporary prefixes.
fn temporaries(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if [
                ".hookstrap-tmp-",
                ".hookstrap-receipt-tmp-",
                ".hookstrap-env-",
            ]
            .iter()
            .any(|p| name.starts_with(p))
            {
                found.push(entry.path());
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(entry.path());
            }
        }
    }
    found
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
    assert!(
        std::fs::symlink_metadata(path)
            .unwrap()
            .file_type()
            .is_fifo_like()
    );
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}

impl FifoLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo()
    }
}

/// Runs `cmd` to completion, failing the test if it takes more than `limit` (a hang on a FIFO
/// would otherwise hang the suite).
fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}: {cmd:?}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- 1. anchors ----

#[test]
fn a_planted_unpacked_copy_with_its_own_fingerprint_is_never_installed() {
    let w = World::new();
    let first = w.locked_app();
    let copy = first.cache.join("unpacked").join(w.sha()).join("platform");
    assert_eq!(read(&copy), good(), "the cache keeps a copy of the binary");

    // The attack: a script in place of the copy, with a fingerprint of its own beside it.
    std::fs::write(&copy, EVIL).unwrap();
    std::fs::write(
        copy.with_file_name("platform.blake3"),
        format!("{}\n", blake3::hash(EVIL).to_hex()),
    )
    .unwrap();
    assert_eq!(read(&copy), EVIL);

    // Production's build, with the lock file: the copy does not hash to the lock's pin.
    let prod = Sandbox::new();
    std::fs::copy(first.lock_file(), prod.lock_file()).unwrap();
    let out = w.run_in(&prod, &first.cache, &["install", "--json"]);
    assert_success(&out);
    assert_eq!(read(&prod.bin_dir().join("platform")), good());
    assert!(
        stderr(&out).contains("discarding the cache's copy"),
        "{}",
        stderr(&out)
    );

    // Without a lock file, no copy is ever placed: the binary comes from the verified archive.
    std::fs::write(&copy, EVIL).unwrap();
    let unlocked = Sandbox::new();
    assert_success(&w.run_in(
        &unlocked,
        &first.cache,
        &["install", &format!("platform@{V}")],
    ));
    assert_eq!(read(&unlocked.bin_dir().join("platform")), good());

    // `cache verify` checks the copy against what its archive unpacks to.
    std::fs::write(&copy, EVIL).unwrap();
    let out = w.run_in(&first, &first.cache, &["cache", "verify"]);
    assert_exit(&out, 5);
    assert!(
        stderr(&out).contains(&copy.display().to_string()),
        "names the copy: {}",
        stderr(&out)
    );
}

/// A forged index entry and a planted blob it points at.
fn forge_index(w: &World, cache: &Path) -> String {
    let evil_archive = fixtures::tar_gz(&[("platform", 0o755, EVIL)]);
    let evil_sha = sha256_hex(&evil_archive);
    std::fs::write(cache.join("blobs/sha256").join(&evil_sha), &evil_archive).unwrap();
    let index: Vec<PathBuf> = std::fs::read_dir(cache.join("index"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(index.len(), 1, "{index:?}");
    let text = std::fs::read_to_string(&index[0]).unwrap();
    let good_size = w.rel.bytes(&w.asset()).len();
    let forged = text.replace(&w.sha(), &evil_sha).replace(
        &format!("\"size\": {good_size}"),
        &format!("\"size\": {}", evil_archive.len()),
    );
    std::fs::write(&index[0], &forged).unwrap();
    assert!(
        std::fs::read_to_string(&index[0])
            .unwrap()
            .contains(&evil_sha)
    );
    evil_sha
}

#[test]
fn a_forged_index_entry_is_a_hint_never_an_anchor() {
    let w = World::new();
    let first = Sandbox::new();
    assert_success(&w.run_in(&first, &first.cache, &["install", &format!("platform@{V}")]));
    forge_index(&w, &first.cache);

    w.server.clear_requests();
    let prod = Sandbox::new();
    let out = w.run_in(&prod, &first.cache, &["install", &format!("platform@{V}")]);
    assert_success(&out);
    assert_eq!(read(&prod.bin_dir().join("platform")), good());
    assert_eq!(
        w.server.count(&w.rel.path("checksums.txt")),
        1,
        "the published hash was fetched to anchor the install"
    );
}

#[test]
fn offline_without_a_lock_says_that_only_the_cache_vouches() {
    let w = World::new();
    let first = Sandbox::new();
    assert_success(&w.run_in(&first, &first.cache, &["install", &format!("platform@{V}")]));
    let second = Sandbox::new();
    let out = w.run_in(
        &second,
        &first.cache,
        &["install", &format!("platform@{V}"), "--offline"],
    );
    assert_success(&out);
    assert!(
        stderr(&out).contains("nothing but the cache vouches for platform 5.10.8"),
        "{}",
        stderr(&out)
    );
    // With a lock file, offline has an anchor: no such warning.
    let locked = w.locked_app();
    let third = Sandbox::new();
    std::fs::copy(locked.lock_file(), third.lock_file()).unwrap();
    let out = w.run_in(&third, &locked.cache, &["install", "--offline"]);
    assert_success(&out);
    assert!(!stderr(&out).contains("vouches"), "{}", stderr(&out));
}

#[test]
fn the_lock_files_pin_of_the_binary_is_checked_on_a_cold_install() {
    let w = World::new();
    let first = w.locked_app();
    let text = std::fs::read_to_string(first.lock_file()).unwrap();
    let pin = blake3::hash(&good()).to_hex().to_string();
    assert!(text.contains(&format!("bin_blake3 = \"{pin}\"")), "{text}");
    let other = blake3::hash(EVIL).to_hex().to_string();
    let prod = Sandbox::new();
    std::fs::write(prod.lock_file(), text.replace(&pin, &other)).unwrap();
    let out = w.run_in(&prod, &prod.cache, &["install"]);
    assert_exit(&out, 5);
    assert!(!prod.bin_dir().join("platform").exists());
    assert!(temporaries(&prod.app).is_empty());
}

// ---- 2. no links, no shared inodes ----

#[test]
fn a_link_in_place_of_a_blob_is_never_read_through() {
    let w = World::new();
    let first = w.locked_app();
    let blob = first.cache.join("blobs/sha256").join(w.sha());
    // Outside the cache, the very bytes the blob should hold: following the link would
    // "verify". It must not be followed at all.
    let outside = first.path().join("outside-blob");
    std::fs::write(&outside, w.rel.bytes(&w.asset())).unwrap();
    std::fs::remove_file(&blob).unwrap();
    symlink(&outside, &blob).unwrap();
    assert!(
        std::fs::symlink_metadata(&blob)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    std::fs::remove_dir_all(first.cache.join("unpacked")).unwrap();

    w.server.clear_requests();
    let prod = Sandbox::new();
    std::fs::copy(first.lock_file(), prod.lock_file()).unwrap();
    let out = w.run_in(&prod, &first.cache, &["install"]);
    assert_success(&out);
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert_eq!(w.server.count(&w.asset_path()), 1, "downloaded again");
    assert!(std::fs::symlink_metadata(&blob).unwrap().is_file());
    assert_eq!(read(&outside), w.rel.bytes(&w.asset()), "untouched");
}

#[test]
fn links_planted_for_cache_directories_and_lock_files_create_nothing_at_their_targets() {
    let w = World::new();
    let sb = Sandbox::new();
    let cache = sb.cache.clone();
    for dir in ["blobs/sha256", "index", "locks"] {
        std::fs::create_dir_all(cache.join(dir)).unwrap();
    }
    let elsewhere = sb.path().join("elsewhere");
    // Dangling links: a directory of the layout, and the artifact's lock file.
    symlink(elsewhere.join("unpacked"), cache.join("unpacked")).unwrap();
    symlink(
        elsewhere.join("lock"),
        cache.join("locks").join(format!("{}.lock", w.sha())),
    )
    .unwrap();
    symlink(elsewhere.join("tmp"), cache.join("tmp")).unwrap();
    assert!(!elsewhere.exists());

    assert_success(&w.run_in(&sb, &cache, &["lock", &format!("platform@{V}")]));
    let out = w.run_in(&sb, &cache, &["install"]);
    assert_success(&out);
    assert_eq!(read(&sb.bin_dir().join("platform")), good());
    assert!(
        !elsewhere.exists(),
        "nothing was created at a link's target"
    );
    for dir in ["unpacked", "tmp"] {
        let meta = std::fs::symlink_metadata(cache.join(dir)).unwrap();
        assert!(meta.is_dir(), "{dir} is a real directory again");
    }
}

#[test]
fn an_installed_binary_shares_no_inode_with_the_cache_or_another_app() {
    let w = World::new();
    let first = w.locked_app();
    let second = Sandbox::new();
    std::fs::copy(first.lock_file(), second.lock_file()).unwrap();
    assert_success(&w.run_in(&second, &first.cache, &["install"]));
    let one = first.bin_dir().join("platform");
    let two = second.bin_dir().join("platform");
    let copy = first.cache.join("unpacked").join(w.sha()).join("platform");
    for path in [&one, &two, &copy] {
        assert_eq!(
            std::fs::metadata(path).unwrap().nlink(),
            1,
            "{}",
            path.display()
        );
    }
    // Writing to one app's binary changes nothing else.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&one)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"#!/bin/sh\necho changed\n"))
        .unwrap();
    assert_eq!(read(&two), good());
    assert_eq!(read(&copy), good());
}

// ---- 3. names are data ----

#[test]
fn a_receipt_naming_a_path_outside_the_bin_dir_touches_nothing() {
    let w = World::new();
    let sb = w.locked_app();
    let victim = sb.app.join("victim");
    std::fs::write(&victim, b"keep me").unwrap();
    let receipt = sb.bin_dir().join(".hookstrap-receipt.json");
    let text = std::fs::read_to_string(&receipt).unwrap();
    let hostile = text.replace("\"bin\": \"platform\"", "\"bin\": \"../../victim\"");
    assert_ne!(hostile, text, "the receipt was rewritten");
    std::fs::write(&receipt, hostile).unwrap();
    let out = sb.run(&["uninstall"]);
    assert_success(&out);
    assert_eq!(read(&victim), b"keep me");
}

#[test]
fn hostile_names_in_a_lock_file_are_refused() {
    let w = World::new();
    let sb = w.locked_app();
    let text = std::fs::read_to_string(sb.lock_file()).unwrap();
    for (from, to) in [
        ("name = \"platform\"", "name = \"../platform\""),
        ("version = \"5.10.8\"", "version = \"5.10.8/../../x\""),
        ("target = \"", "target = \"..\\\\"),
    ] {
        let bad = text.replacen(from, to, 1);
        assert_ne!(bad, text, "{from}");
        let other = Sandbox::new();
        std::fs::write(other.lock_file(), &bad).unwrap();
        let out = other.run(&["install", "--offline"]);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("malformed lock file"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_listing_whose_asset_name_holds_backslashes_cannot_escape_a_file_mirror() {
    let sb = Sandbox::new();
    let mirror = sb.path().join("mirror");
    let name = format!("tool..\\..\\..\\escaped_{}.tar.gz", this_target());
    let archive = fixtures::tar_gz(&[("tool", 0o755, b"#!/bin/sh\n")]);
    let rel = fixtures::github_release("acme", "tool", "v1.0.0", vec![(name.clone(), archive)]);
    fixtures::write_release_tree(&mirror, &rel);
    let api = mirror.join(fixtures::release_api_path(&rel).trim_start_matches('/'));
    std::fs::create_dir_all(api.parent().unwrap()).unwrap();
    std::fs::write(&api, fixtures::release_api_json(&rel, true)).unwrap();
    let url = format!("file://{}", mirror.display());
    let out = sb.run(&["install", "github:acme/tool@v1.0.0", "--mirror", &url]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("path separator"), "{}", stderr(&out));
    assert!(!sb.bin_dir().join("tool").exists());
}

// ---- 5. known sizes bound downloads ----

#[test]
fn a_body_larger_than_the_locked_size_is_stopped_and_nothing_is_kept() {
    let w = World::new();
    let first = Sandbox::new();
    assert_success(&w.run_in(&first, &first.cache, &["lock", &format!("platform@{V}")]));
    // The mirror now serves 64 MiB for the asset.
    let huge = vec![0u8; 64 << 20];
    w.server.route(&w.asset_path(), Behavior::file(huge));
    let prod = Sandbox::new();
    std::fs::copy(first.lock_file(), prod.lock_file()).unwrap();
    let out = w.run_in(&prod, &prod.cache, &["install"]);
    assert_exit(&out, 5);
    let size = w.rel.bytes(&w.asset()).len();
    assert!(
        stderr(&out).contains(&format!("larger than the {size} bytes expected")),
        "{}",
        stderr(&out)
    );
    let tmp: Vec<_> = std::fs::read_dir(prod.cache.join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "no partial download kept: {tmp:?}");
    let blobs: Vec<_> = std::fs::read_dir(prod.cache.join("blobs/sha256"))
        .unwrap()
        .collect();
    assert!(blobs.is_empty(), "{blobs:?}");
    assert!(!prod.bin_dir().join("platform").exists());
}

// ---- 6. local files are read with bounds ----

#[test]
fn a_fifo_or_a_directory_in_place_of_a_local_file_is_refused_at_once() {
    let limit = Duration::from_secs(20);
    // The lock file.
    let sb = Sandbox::new();
    mkfifo(&sb.lock_file());
    let out = run_within(sb.cmd().args(["install", "--offline"]), limit);
    assert_exit(&out, 7);
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    // The manifest.
    let sb = Sandbox::new();
    std::fs::create_dir(sb.app.join("hookstrap.toml")).unwrap();
    let out = run_within(sb.cmd().args(["install", "--offline"]), limit);
    assert_exit(&out, 7);
    // The receipt: `list` ignores what is not a regular file.
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.bin_dir()).unwrap();
    mkfifo(&sb.bin_dir().join(".hookstrap-receipt.json"));
    let out = run_within(sb.cmd().args(["list"]), limit);
    assert_success(&out);
    assert_eq!(stdout(&out), "");
    // An index entry.
    let w = World::new();
    let first = Sandbox::new();
    assert_success(&w.run_in(&first, &first.cache, &["install", &format!("platform@{V}")]));
    let entry = std::fs::read_dir(first.cache.join("index"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(&entry).unwrap();
    mkfifo(&entry);
    let out = run_within(
        first
            .cmd()
            .args(["cache", "list"])
            .env("HOOKSTRAP_CACHE_DIR", &first.cache),
        limit,
    );
    assert_success(&out);
}

#[test]
fn an_oversized_lock_file_is_refused_without_reading_it() {
    let sb = Sandbox::new();
    let file = std::fs::File::create(sb.lock_file()).unwrap();
    file.set_len(512 << 20).unwrap(); // sparse: 512 MiB of zeros
    let out = run_within(
        sb.cmd().args(["install", "--offline"]),
        Duration::from_secs(20),
    );
    assert_exit(&out, 7);
    assert!(stderr(&out).contains("is larger than"), "{}", stderr(&out));
}

// ---- 7. one redaction ----

#[test]
fn mirror_credentials_never_appear_on_any_path() {
    let w = World::new();
    let mut tampered = w.rel.clone();
    tampered.replace_asset(&w.asset(), fixtures::tar_gz(&[("platform", 0o755, EVIL)]));
    let secret = "s3cr3t-pa55";
    let mirror = w
        .mirror()
        .replace("http://", &format!("http://hookstrap:{secret}@"));
    // A closed port, for a refused connection.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let closed_mirror = format!("http://u:{secret}@127.0.0.1:{closed}");
    w.server.route(
        "/upsun/cli/releases/download/v5.10.9/checksums.txt",
        Behavior::body(200, "not a checksums file\n"),
    );
    w.server.route(
        "/upsun/cli/releases/download/v5.10.10/checksums.txt",
        Behavior::status(503),
    );
    let cases: Vec<(Vec<String>, Option<i32>)> = vec![
        (vec!["install".into(), "platform@9.9.9".into()], Some(3)),
        (vec!["install".into(), "platform@5.10.9".into()], Some(5)),
        (vec!["install".into(), "platform@5.10.10".into()], Some(4)),
        (vec!["install".into(), "platform@latest".into()], None),
        (
            vec!["-v".into(), "install".into(), format!("platform@{V}")],
            Some(0),
        ),
        (
            vec!["--json".into(), "install".into(), format!("platform@{V}")],
            Some(0),
        ),
        (
            vec!["--json".into(), "fetch".into(), format!("platform@{OLD}")],
            Some(0),
        ),
        (vec!["env".into()], Some(0)),
    ];
    for (args, code) in cases {
        let sb = Sandbox::new();
        let mut cmd = sb.cmd();
        cmd.args(&args).args(["--mirror", &mirror]);
        let out = common::run(&mut cmd);
        if let Some(code) = code {
            assert_exit(&out, code);
        }
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains(secret), "{args:?} leaked it:\n{all}");
    }
    // Tampered bytes (checksum mismatch) and a refused connection.
    fixtures::mount_release(&w.server, &tampered);
    let sb = Sandbox::new();
    let out = sb.run(&["install", &format!("platform@{V}"), "--mirror", &mirror]);
    assert_exit(&out, 5);
    assert!(!format!("{}{}", stdout(&out), stderr(&out)).contains(secret));
    let out = sb.run(&[
        "install",
        &format!("platform@{V}"),
        "--mirror",
        &closed_mirror,
    ]);
    assert_exit(&out, 4);
    assert!(!format!("{}{}", stdout(&out), stderr(&out)).contains(secret));
}

// ---- 8. temporaries and sibling bin dirs ----

#[test]
fn leftovers_are_removed_by_the_next_run_and_a_sibling_bin_dirs_work_is_left_alone() {
    let w = World::new();
    let sb = w.locked_app();
    let bin = sb.bin_dir();
    let sibling = sb.app.join(".platformsh/macbin");
    std::fs::create_dir_all(sibling.join(".hookstrap-tmp-theirs")).unwrap();
    let parent_leftover = sb.app.join(".platformsh/.hookstrap-tmp-theirs");
    std::fs::create_dir_all(&parent_leftover).unwrap();
    std::fs::create_dir_all(bin.join(".hookstrap-tmp-killed/completion")).unwrap();
    std::fs::write(bin.join(".hookstrap-receipt-tmp-killed"), b"{").unwrap();
    std::fs::write(sb.app.join(".hookstrap-env-killed"), b"half").unwrap();
    std::fs::write(bin.join(".hookstrap.lock"), b"").unwrap();

    assert_success(&w.run_in(&sb, &sb.cache, &["install", "--no-env-file"]));
    assert!(!bin.join(".hookstrap-tmp-killed").exists());
    assert!(!bin.join(".hookstrap-receipt-tmp-killed").exists());
    assert!(
        !bin.join(".hookstrap.lock").exists(),
        "the old lock file name is cleaned up"
    );
    assert!(
        sibling.join(".hookstrap-tmp-theirs").exists(),
        "a sibling's work is left alone"
    );
    assert!(parent_leftover.exists());
    // The env file's temporaries go with the next edit of the env file.
    assert!(sb.app.join(".hookstrap-env-killed").exists());
    assert_success(&w.run_in(&sb, &sb.cache, &["uninstall"]));
    assert!(!sb.app.join(".hookstrap-env-killed").exists());
}

// ---- 9. an env file through a link ----

#[test]
fn an_env_file_behind_links_keeps_its_inode_owner_mode_and_links() {
    let w = World::new();
    let sb = Sandbox::new();
    let real = sb.app.join("real-env");
    let hard = sb.app.join("hard-env");
    std::fs::write(&real, "export A=1\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::hard_link(&real, &hard).unwrap();
    symlink("real-env", sb.env_file()).unwrap();
    let before = std::fs::metadata(&real).unwrap();

    assert_success(&w.run_in(&sb, &sb.cache, &["install", &format!("platform@{V}")]));
    let after = std::fs::metadata(&real).unwrap();
    assert_eq!(after.ino(), before.ino());
    assert_eq!(after.mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert_eq!(after.nlink(), 2);
    let text = std::fs::read_to_string(&hard).unwrap();
    assert!(
        text.starts_with("export A=1\n# >>> hookstrap >>>\n"),
        "{text}"
    );
    assert!(
        std::fs::symlink_metadata(sb.env_file())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // Sourced in dash, it puts the bin dir on PATH.
    let path = Command::new("dash")
        .args(["-c", ". ./.environment; printf %s \"$PATH\""])
        .current_dir(&sb.app)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&path.stdout).starts_with(
            &std::fs::canonicalize(sb.bin_dir())
                .unwrap()
                .display()
                .to_string()
        )
    );

    // Moving the block would need a new inode: refused before anything is placed.
    let other = sb.app.join("other-bin");
    let out = w.run_in(
        &sb,
        &sb.cache,
        &[
            "install",
            &format!("platform@{OLD}"),
            "--bin-dir",
            other.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 7);
    assert!(!other.join("platform").exists());
    assert_eq!(std::fs::read_to_string(&real).unwrap(), text);
    // So is removing it.
    let out = sb.run(&["uninstall"]);
    assert_exit(&out, 7);
    assert_eq!(std::fs::read_to_string(&real).unwrap(), text);
}

// ---- 11. a kill at every phase ----

/// Installs `platform@OLD` without touching the env file, which holds a line of the user's.
fn app_with_old_install(w: &World) -> Sandbox {
    let sb = Sandbox::new();
    std::fs::write(sb.env_file(), "export A=1\n").unwrap();
    assert_success(&w.run_in(
        &sb,
        &sb.cache,
        &["install", &format!("platform@{OLD}"), "--no-env-file"],
    ));
    assert_eq!(
        read(&sb.bin_dir().join("platform")),
        cli_script("platform", OLD)
    );
    sb
}

/// After a kill: the old or the new complete binary, a whole env file, then a rerun that
/// succeeds and leaves no temporary file.
fn assert_recovers(w: &World, sb: &Sandbox, phase: &str) {
    let bin = read(&sb.bin_dir().join("platform"));
    assert!(
        bin == cli_script("platform", OLD) || bin == good(),
        "{phase}: a half-placed binary: {bin:?}"
    );
    let env = std::fs::read_to_string(sb.env_file()).unwrap();
    assert!(
        env == "export A=1\n"
            || (env.starts_with("export A=1\n# >>> hookstrap >>>\n")
                && env.ends_with("# <<< hookstrap <<<\n")),
        "{phase}: the env file is damaged: {env:?}"
    );
    w.server.route(
        &w.asset_path(),
        Behavior::file(w.rel.bytes(&w.asset()).to_vec()),
    );
    let out = w.run_in(sb, &sb.cache, &["install", &format!("platform@{V}")]);
    assert_success(&out);
    assert_eq!(read(&sb.bin_dir().join("platform")), good(), "{phase}");
    let env = std::fs::read_to_string(sb.env_file()).unwrap();
    assert_eq!(
        env.matches("# >>> hookstrap >>>").count(),
        1,
        "{phase}: {env}"
    );
    assert!(
        temporaries(&sb.app).is_empty(),
        "{phase}: {:?}",
        temporaries(&sb.app)
    );
    let listed = stdout(&sb.run(&["list"]));
    assert!(
        listed.contains(&format!("platform\t{V}\t")),
        "{phase}: {listed}"
    );
}

#[test]
fn a_kill_during_the_download_leaves_the_old_install() {
    let w = World::new();
    let sb = app_with_old_install(&w);
    w.server
        .route(&w.asset_path(), Behavior::stall_after_headers(1 << 20));
    let mut child = sb
        .cmd()
        .args(["install", &format!("platform@{V}"), "--mirror", &w.mirror()])
        .env("HOOKSTRAP_CACHE_DIR", &sb.cache)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while w.server.count(&w.asset_path()) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before downloading"
        );
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_recovers(&w, &sb, "download");
}

#[test]
fn a_kill_at_each_later_phase_leaves_a_whole_install() {
    for phase in ["unpack", "place", "receipt", "env"] {
        let w = World::new();
        let sb = app_with_old_install(&w);
        let marker = sb.path().join(format!("paused-{phase}"));
        let mut child = sb
            .cmd()
            .args(["install", &format!("platform@{V}"), "--mirror", &w.mirror()])
            .env("HOOKSTRAP_CACHE_DIR", &sb.cache)
            .env(
                "HOOKSTRAP_FAULT_PAUSE",
                format!("{phase}:{}", marker.display()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !marker.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("{phase}: ended ({status}) before pausing: {err}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{phase}: never paused"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_recovers(&w, &sb, phase);
    }
}

// ---- 10. unverified bytes stay in staging ----

#[test]
fn a_hostile_archive_with_the_wrong_hash_leaves_nothing_outside_staging() {
    use common::tar_header::Tar;
    // Traversal toward the app dir and the sandbox, and a bomb: served for the real asset's
    // name, with the real (good) checksums.txt, so only the hash stands between it and the
    // bin dir. The cold install unpacks while it downloads, so the extractor sees it all.
    let traversal = Tar::default()
        .file("platform", 0o755, EVIL)
        .file("../../../escaped", 0o644, b"escaped")
        .file("../../../../escaped-too", 0o644, b"escaped")
        .finish();
    let bomb = Tar::default()
        .file("platform", 0o755, EVIL)
        .file("zeros", 0o644, &vec![0u8; 8 << 20])
        .finish();
    for (what, tar) in [("traversal", traversal), ("bomb", bomb)] {
        let w = World::new();
        let hostile = fixtures::gzip(&tar);
        assert_ne!(sha256_hex(&hostile), w.sha());
        w.server.route(&w.asset_path(), Behavior::file(hostile));
        let sb = Sandbox::new();
        let before: Vec<PathBuf> = walk(sb.path());
        let out = common::run(
            sb.cmd()
                .args(["install", &format!("platform@{V}"), "--mirror", &w.mirror()])
                .args(["--max-unpacked", "1048576"])
                .env("HOOKSTRAP_CACHE_DIR", &sb.cache),
        );
        assert_exit(&out, 5);
        assert!(
            stderr(&out).contains("checksum mismatch"),
            "{what}: {}",
            stderr(&out)
        );
        for escaped in ["escaped", "escaped-too"] {
            for dir in [sb.path(), &sb.app, sb.path().parent().unwrap()] {
                assert!(
                    !dir.join(escaped).exists(),
                    "{what}: {}",
                    dir.join(escaped).display()
                );
            }
        }
        assert!(
            temporaries(sb.path()).is_empty(),
            "{what}: staging left behind"
        );
        assert!(!sb.bin_dir().join("platform").exists());
        // Nothing new but the cache and the (empty) bin dir.
        let bin = sb.bin_dir();
        let after: Vec<PathBuf> = walk(sb.path())
            .into_iter()
            .filter(|p| !p.starts_with(&sb.cache) && *p != bin && Some(p.as_path()) != bin.parent())
            .collect();
        assert!(walk(&bin).is_empty(), "{what}: {:?}", walk(&bin));
        assert_eq!(after, before, "{what}");
    }
}

/// Every path under `root`, sorted.
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            }
            out.push(entry.path());
        }
    }
    out.sort();
    out
}
