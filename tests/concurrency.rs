//! Faults and concurrency around the shared cache: many processes at once, `kill -9` in the
//! middle of a download, `prune` during an install, and a damaged blob.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::fixtures::{self, Release};
use common::server::TestServer;
use common::{Sandbox, assert_exit, assert_success, stderr, stdout};

const BLOCK_START: &str = "# >>> hookstrap >>>";

/// Deterministic incompressible bytes (xorshift), so archives are big enough for a download
/// to be caught halfway.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A CLI release for this machine whose `platform` archive also carries `padding` bytes of
/// noise.
fn big_release(version: &str, padding: usize) -> Release {
    let target = fixtures::this_target();
    let mut rel = fixtures::cli_release(version, &["platform"], &[target]);
    let asset = rel.asset_name("platform", target);
    let mut files = fixtures::cli_files("platform", version);
    files.push(("padding.bin".into(), 0o644, noise(padding, 7)));
    let entries: Vec<(&str, u32, &[u8])> = files
        .iter()
        .map(|(p, m, c)| (p.as_str(), *m, c.as_slice()))
        .collect();
    rel.replace_asset(&asset, fixtures::tar_gz(&entries));
    rel.refresh_checksums();
    rel
}

fn archive_of(rel: &Release) -> (String, String, usize) {
    let asset = rel.asset_name("platform", fixtures::this_target());
    (
        rel.path(&asset),
        rel.sha256(&asset),
        rel.bytes(&asset).len(),
    )
}

fn blob(cache: &Path, sha: &str) -> PathBuf {
    cache.join("blobs").join("sha256").join(sha)
}

fn partials(cache: &Path, sha: &str) -> Vec<(PathBuf, u64)> {
    let Ok(entries) = std::fs::read_dir(cache.join("tmp")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{sha}.partial-"))
        })
        .map(|e| (e.path(), e.metadata().map_or(0, |m| m.len())))
        .collect()
}

/// Polls `cond` every 10 ms; panics with `what` after 30 s.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

fn spawn_quiet(cmd: &mut std::process::Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hookstrap")
}

/// A server for one release whose archive is sent up to `hold_at` bytes, then held back until
/// [`GatedServer::open_gate`] (or forever, until the server is dropped). Every other asset is
/// served whole. One request per connection.
struct GatedServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    gate: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
    accept: Option<JoinHandle<()>>,
}

impl GatedServer {
    fn start(rel: &Release, held_path: &str, hold_at: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let files: Arc<HashMap<String, Vec<u8>>> = Arc::new(
            rel.assets
                .iter()
                .map(|(name, bytes)| (rel.path(name), bytes.clone()))
                .collect(),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let held_path = held_path.to_string();
        let accept = {
            let (stop, gate, requests) = (stop.clone(), gate.clone(), requests.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(conn) = conn else { continue };
                    let (stop, gate, requests, files, held_path) = (
                        stop.clone(),
                        gate.clone(),
                        requests.clone(),
                        files.clone(),
                        held_path.clone(),
                    );
                    thread::spawn(move || {
                        let _ = serve(conn, &files, &held_path, hold_at, &stop, &gate, &requests);
                    });
                }
            })
        };
        GatedServer {
            addr,
            stop,
            gate,
            requests,
            accept: Some(accept),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn count(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }

    fn open_gate(&self) {
        self.gate.store(true, Ordering::SeqCst);
    }
}

impl Drop for GatedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn serve(
    conn: TcpStream,
    files: &HashMap<String, Vec<u8>>,
    held_path: &str,
    hold_at: usize,
    stop: &AtomicBool,
    gate: &AtomicBool,
    requests: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
    }
    requests.lock().unwrap().push(path.clone());
    let mut out = conn;
    let Some(body) = files.get(&path) else {
        return out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if path != held_path {
        return out.write_all(body);
    }
    out.write_all(&body[..hold_at])?;
    out.flush()?;
    loop {
        if gate.load(Ordering::SeqCst) {
            out.write_all(&body[hold_at..])?;
            return out.flush();
        }
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn eight_parallel_installs_sharing_one_cache_download_the_archive_once() {
    let rel = big_release("5.10.8", 1 << 20);
    let (path, sha, _) = archive_of(&rel);
    let server = TestServer::start();
    fixtures::mount_release(&server, &rel);
    let shared = tempfile::tempdir().unwrap();
    let boxes: Vec<Sandbox> = (0..8).map(|_| Sandbox::new()).collect();
    let children: Vec<Child> = boxes
        .iter()
        .map(|sb| {
            spawn_quiet(
                sb.cmd()
                    .args(["install", "platform@5.10.8", "--mirror", &server.url()])
                    .env("HOOKSTRAP_CACHE_DIR", shared.path()),
            )
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert_success(out);
    }
    assert_eq!(server.count(&path), 1, "{:?}", server.requests());
    let first = std::fs::read(boxes[0].bin_dir().join("platform")).unwrap();
    assert!(String::from_utf8_lossy(&first).contains("platform CLI 5.10.8"));
    for sb in &boxes {
        assert_eq!(std::fs::read(sb.bin_dir().join("platform")).unwrap(), first);
    }
    assert!(blob(shared.path(), &sha).exists());
    assert!(partials(shared.path(), &sha).is_empty());
    let verify = common::run(
        boxes[0]
            .cmd()
            .args(["cache", "verify"])
            .env("HOOKSTRAP_CACHE_DIR", shared.path()),
    );
    assert_success(&verify);
}

#[test]
fn eight_parallel_installs_into_one_app_dir_write_the_block_once() {
    let rel = fixtures::cli_release("5.10.8", &["platform"], &[fixtures::this_target()]);
    let server = TestServer::start();
    fixtures::mount_release(&server, &rel);
    let sb = Sandbox::new();
    let before = "export FOO=bar\n# keep me";
    std::fs::write(sb.env_file(), before).unwrap();
    let children: Vec<Child> = (0..8)
        .map(|_| {
            spawn_quiet(
                sb.cmd()
                    .args(["install", "platform@5.10.8", "--mirror", &server.url()]),
            )
        })
        .collect();
    for child in children {
        assert_success(&child.wait_with_output().unwrap());
    }
    let env = std::fs::read_to_string(sb.env_file()).unwrap();
    assert_eq!(env.matches(BLOCK_START).count(), 1, "{env}");
    assert!(
        env.starts_with(&format!("{before}\n{BLOCK_START}\n")),
        "{env}"
    );
    assert!(
        std::fs::read_to_string(sb.bin_dir().join("platform"))
            .unwrap()
            .contains("platform CLI 5.10.8")
    );
    // Nothing temporary is left beside or in the bin dir.
    for dir in [sb.app.join(".platformsh"), sb.bin_dir()] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.starts_with(".hookstrap-tmp-"), "left behind: {name}");
        }
    }
}

#[test]
fn kill_9_during_a_download_leaves_the_previous_install_and_the_cache_intact() {
    let old = fixtures::cli_release("5.10.7", &["platform"], &[fixtures::this_target()]);
    let new = big_release("5.10.8", 1 << 20);
    let (new_path, new_sha, new_len) = archive_of(&new);
    let normal = TestServer::start();
    fixtures::mount_release(&normal, &old);
    fixtures::mount_release(&normal, &new);

    let sb = Sandbox::new();
    assert_success(&sb.run(&["install", "platform@5.10.7", "--mirror", &normal.url()]));
    let bin = sb.bin_dir().join("platform");
    let snapshot = |p: &Path| {
        let m = std::fs::metadata(p).unwrap();
        (
            std::fs::read(p).unwrap(),
            m.ino(),
            m.mtime_nsec(),
            m.ctime_nsec(),
            m.mode(),
        )
    };
    let bin_before = snapshot(&bin);
    let env_before = std::fs::read(sb.env_file()).unwrap();

    let hold_at = new_len / 2;
    let gated = GatedServer::start(&new, &new_path, hold_at);
    let mut child =
        spawn_quiet(
            sb.cmd()
                .args(["install", "platform@5.10.8", "--mirror", &gated.url()]),
        );
    wait_for("half of the archive in a partial file", || {
        gated.count(&new_path) == 1
            && partials(&sb.cache, &new_sha)
                .iter()
                .any(|(_, len)| *len >= hold_at as u64)
    });
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");

    // The killed run touched neither the installed binary nor the env file, and stored
    // nothing: the partial download is not a blob.
    assert_eq!(snapshot(&bin), bin_before);
    assert_eq!(std::fs::read(sb.env_file()).unwrap(), env_before);
    assert!(!blob(&sb.cache, &new_sha).exists());
    assert_eq!(partials(&sb.cache, &new_sha).len(), 1);
    assert_success(&sb.run(&["cache", "verify"]));

    // Offline, the partial file is never served.
    let out = sb.run(&[
        "install",
        "platform@5.10.8",
        "--offline",
        "--mirror",
        &normal.url(),
    ]);
    assert_exit(&out, 8);
    assert_eq!(snapshot(&bin), bin_before);

    // A rerun against a healthy server finishes the job.
    let out = sb.run(&["install", "platform@5.10.8", "--mirror", &normal.url()]);
    assert_success(&out);
    assert!(
        std::fs::read_to_string(&bin)
            .unwrap()
            .contains("platform CLI 5.10.8")
    );
    assert_eq!(normal.count(&new_path), 1);
    assert_success(&sb.run(&["cache", "verify"]));
    // The dead process's partial file is debris that prune clears (its lock is free).
    assert_success(&sb.run(&["cache", "prune", "--older-than", "1"]));
    assert!(partials(&sb.cache, &new_sha).is_empty());
    assert!(blob(&sb.cache, &new_sha).exists());
}

#[test]
fn prune_all_while_another_process_downloads_is_safe() {
    let old = fixtures::cli_release("5.10.7", &["platform"], &[fixtures::this_target()]);
    let (_, old_sha, _) = archive_of(&old);
    let new = big_release("5.10.8", 1 << 20);
    let (new_path, new_sha, new_len) = archive_of(&new);
    let normal = TestServer::start();
    fixtures::mount_release(&normal, &old);
    let sb = Sandbox::new();
    assert_success(&sb.run(&["fetch", "platform@5.10.7", "--mirror", &normal.url()]));
    assert!(blob(&sb.cache, &old_sha).exists());

    let hold_at = new_len / 3;
    let gated = GatedServer::start(&new, &new_path, hold_at);
    let other = Sandbox::new();
    let child = spawn_quiet(
        other
            .cmd()
            .args(["install", "platform@5.10.8", "--mirror", &gated.url()])
            .env("HOOKSTRAP_CACHE_DIR", &sb.cache),
    );
    wait_for("a third of the archive in a partial file", || {
        partials(&sb.cache, &new_sha)
            .iter()
            .any(|(_, len)| *len >= hold_at as u64)
    });
    let out = sb.run(&["cache", "prune", "--all"]);
    assert_success(&out);
    // The unused blob went; the download in progress kept its partial file.
    assert!(!blob(&sb.cache, &old_sha).exists());
    assert_eq!(partials(&sb.cache, &new_sha).len(), 1);

    gated.open_gate();
    let out = child.wait_with_output().unwrap();
    assert_success(&out);
    assert!(
        std::fs::read_to_string(other.bin_dir().join("platform"))
            .unwrap()
            .contains("platform CLI 5.10.8")
    );
    assert!(blob(&sb.cache, &new_sha).exists());
    assert_success(&sb.run(&["cache", "verify"]));
    let list = stdout(&sb.run(&["cache", "list"]));
    assert!(
        list.contains("5.10.8") && !list.contains("5.10.7"),
        "{list}"
    );
}

#[test]
fn a_flipped_byte_in_a_cached_blob_is_detected() {
    let rel = big_release("5.10.8", 64 << 10);
    let (path, sha, len) = archive_of(&rel);
    let server = TestServer::start();
    fixtures::mount_release(&server, &rel);
    let warm = Sandbox::new();
    assert_success(&warm.run(&["install", "platform@5.10.8", "--mirror", &server.url()]));
    assert_eq!(server.count(&path), 1);
    let flip = |cache: &Path| {
        let p = blob(cache, &sha);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[len / 2] ^= 0x01;
        std::fs::write(&p, bytes).unwrap();
    };
    // Only the archive is left to install from: the unpacked copy is tested below.
    std::fs::remove_dir_all(warm.cache.join("unpacked")).unwrap();
    flip(&warm.cache);

    // `cache verify` names the damaged blob and exits 5 (and leaves it for inspection).
    let out = warm.run(&["cache", "verify"]);
    assert_exit(&out, 5);
    assert!(stderr(&out).contains(&sha), "{}", stderr(&out));
    assert!(blob(&warm.cache, &sha).exists());

    // Offline, a damaged blob is never installed: exit 5 or 8, nothing in the new app dir.
    let offline = Sandbox::new();
    let out = common::run(
        offline
            .cmd()
            .args([
                "install",
                "platform@5.10.8",
                "--offline",
                "--mirror",
                &server.url(),
            ])
            .env("HOOKSTRAP_CACHE_DIR", &warm.cache),
    );
    assert!(
        matches!(out.status.code(), Some(5 | 8)),
        "{out:?}\n{}",
        stderr(&out)
    );
    assert!(!offline.bin_dir().join("platform").exists());
    assert!(!offline.env_file().exists());
    assert_eq!(server.count(&path), 1);

    // Online, the damage is reported and the archive fetched again.
    assert_success(&warm.run(&["fetch", "platform@5.10.8", "--mirror", &server.url()]));
    let _ = std::fs::remove_dir_all(warm.cache.join("unpacked"));
    flip(&warm.cache);
    let fresh = Sandbox::new();
    let out = common::run(
        fresh
            .cmd()
            .args(["install", "platform@5.10.8", "--mirror", &server.url()])
            .env("HOOKSTRAP_CACHE_DIR", &warm.cache),
    );
    assert_success(&out);
    let err = stderr(&out);
    assert!(
        err.contains("warning: ") && err.contains("damaged"),
        "{err}"
    );
    assert!(err.contains(&sha), "{err}");
    assert!(server.count(&path) >= 2);
    assert_eq!(
        std::fs::read(fresh.bin_dir().join("platform")).unwrap(),
        std::fs::read(warm.bin_dir().join("platform")).unwrap()
    );
    assert_success(&warm.run(&["cache", "verify"]));
}

#[test]
fn a_damaged_unpacked_copy_is_detected_and_never_placed() {
    let rel = big_release("5.10.8", 64 << 10);
    let (_, sha, _) = archive_of(&rel);
    let server = TestServer::start();
    fixtures::mount_release(&server, &rel);
    let first = Sandbox::new();
    assert_success(&first.run(&["lock", "platform@5.10.8", "--mirror", &server.url()]));
    assert_success(&first.run(&["install", "--mirror", &server.url()]));
    let good = std::fs::read(first.bin_dir().join("platform")).unwrap();
    let copy = first.cache.join("unpacked").join(&sha).join("platform");
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        good,
        "the cache keeps the unpacked binary"
    );

    // Damage the copy in place: the installed binary is a copy, not a link, so it is unharmed.
    let mut bytes = good.clone();
    bytes[0] ^= 0x01;
    std::fs::write(&copy, &bytes).unwrap();
    assert_eq!(
        std::fs::read(first.bin_dir().join("platform")).unwrap(),
        good
    );

    // A warm, offline, locked install elsewhere refuses the copy and unpacks the verified
    // archive instead.
    let second = Sandbox::new();
    std::fs::copy(first.lock_file(), second.lock_file()).unwrap();
    let out = common::run(
        second
            .cmd()
            .args(["install", "--offline"])
            .env("HOOKSTRAP_CACHE_DIR", &first.cache),
    );
    assert_success(&out);
    assert!(
        stderr(&out).contains("discarding the cache's copy"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(second.bin_dir().join("platform")).unwrap(),
        good
    );

    // `cache verify` checks a kept copy against what its archive unpacks to.
    std::fs::write(&copy, &bytes).unwrap();
    let out = first.run(&["cache", "verify"]);
    assert_exit(&out, 5);
    assert!(stderr(&out).contains("unpacked"), "{}", stderr(&out));
    assert!(!copy.exists(), "the damaged copy was removed");
    assert_success(&first.run(&["cache", "verify"]));
}

#[test]
fn a_locked_warm_install_places_the_unpacked_copy_without_the_network() {
    let rel = big_release("5.10.8", 64 << 10);
    let (path, _, _) = archive_of(&rel);
    let server = TestServer::start();
    fixtures::mount_release(&server, &rel);
    let first = Sandbox::new();
    assert_success(&first.run(&["lock", "platform@5.10.8", "--mirror", &server.url()]));
    let out = common::run(
        first
            .cmd()
            .args(["install", "--json", "--mirror", &server.url()]),
    );
    assert_success(&out);
    let before = server.total();
    let second = Sandbox::new();
    std::fs::copy(first.lock_file(), second.lock_file()).unwrap();
    let out = common::run(
        second
            .cmd()
            .args(["install", "--json", "--mirror", &server.url()])
            .env("HOOKSTRAP_CACHE_DIR", &first.cache),
    );
    assert_success(&out);
    assert!(
        stdout(&out).contains("\"cache\":\"hit\""),
        "{}",
        stdout(&out)
    );
    assert_eq!(server.total(), before, "a locked warm install asks nothing");
    assert_eq!(server.count(&path), 1);
    let installed = second.bin_dir().join("platform");
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(first.bin_dir().join("platform")).unwrap()
    );
    // A copy, never a hard link to the cache or to another app's binary.
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&installed).unwrap();
    assert_eq!(meta.nlink(), 1);
}

#[test]
fn an_unlocked_warm_install_confirms_the_published_hash_and_unpacks_the_archive() {
    let rel = big_release("5.10.8", 64 << 10);
    let (path, sha, _) = archive_of(&rel);
    let server = TestServer::start();
    fixtures::mount_release(&server, &rel);
    let first = Sandbox::new();
    assert_success(&first.run(&["install", "platform@5.10.8", "--mirror", &server.url()]));
    // Poison the kept copy: with no lock file pinning the binary, it must never be used.
    let copy = first.cache.join("unpacked").join(&sha).join("platform");
    assert!(copy.exists(), "the cache keeps the unpacked binary");
    std::fs::write(&copy, b"#!/bin/sh\necho pwned\n").unwrap();
    server.clear_requests();
    let second = Sandbox::new();
    let out = common::run(
        second
            .cmd()
            .args(["install", "platform@5.10.8", "--mirror", &server.url()])
            .env("HOOKSTRAP_CACHE_DIR", &first.cache),
    );
    assert_success(&out);
    assert_eq!(server.count(&rel.path("checksums.txt")), 1);
    assert_eq!(server.count(&path), 0, "the archive came from the cache");
    assert_eq!(
        std::fs::read(second.bin_dir().join("platform")).unwrap(),
        std::fs::read(first.bin_dir().join("platform")).unwrap()
    );
}
