//! Untrusted input, end to end (issue 5): the real `hookstrap install` against a [`TestServer`]
//! serving a release whose archive is hostile but whose `checksums.txt` lists it correctly, so
//! verification passes and extraction alone must refuse it. Every hostile archive is built here
//! from raw tar header bytes (`common::tar_header`; the `tar` crate's builder refuses the names
//! we need).
//!
//! For each refusal we check the exit code, the entry named on stderr, and what the failure left
//! behind: the sandbox tree (cache aside) is byte for byte what it was, so nothing was written
//! outside, the bin dir has no new binary, the previous install is intact and no
//! `.hookstrap-tmp-*` is left; paths a traversal would reach outside the sandbox do not exist;
//! the cache gained only the verified blob and its bookkeeping.
//!
//! The other untrusted files follow: `checksums.txt`, the lock file, the cache directory and the
//! env file.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::fixtures::{self, Release, this_target};
use common::server::{Behavior, TestServer};
use common::tar_header::{HARD_LINK, SYMLINK, Tar, header};
use common::{Sandbox, assert_exit, assert_success, stderr};

/// The version installed before each hostile one, which must survive.
const OLD: &str = "5.10.7";
/// The version whose archive is hostile.
const NEW: &str = "5.10.8";
const BIN: &str = "platform";

// ---- raw tar (`common::tar_header`) ----

/// The files of a real release of `version` (binary first), as raw entries.
fn release(version: &str) -> Tar {
    let mut tar = Tar::default();
    for (path, mode, content) in fixtures::cli_files(BIN, version) {
        tar = tar.file(&path, mode, &content);
    }
    tar
}

/// The release's files without the binary.
fn release_without_binary(version: &str) -> Tar {
    let mut tar = Tar::default();
    for (path, mode, content) in fixtures::cli_files(BIN, version).into_iter().skip(1) {
        tar = tar.file(&path, mode, &content);
    }
    tar
}

/// A finished archive, gzip'ed as releases ship it.
trait FinishGz {
    fn finish_gz(self) -> Vec<u8>;
}

impl FinishGz for Tar {
    fn finish_gz(self) -> Vec<u8> {
        fixtures::gzip(&self.finish())
    }
}

// ---- the world: a sandbox, a server, and a previous install ----

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir(u32),
    File(u32, Vec<u8>),
    Link(PathBuf),
}

/// Every path under `root` (relative), except the top-level names in `skip`.
fn tree(root: &Path, skip: &[&str]) -> BTreeMap<PathBuf, Node> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if dir == root && skip.iter().any(|s| rel == Path::new(s)) {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let node = if meta.file_type().is_symlink() {
                Node::Link(fs::read_link(&path).unwrap())
            } else if meta.is_dir() {
                stack.push(path.clone());
                Node::Dir(mode)
            } else {
                Node::File(mode, fs::read(&path).unwrap())
            };
            found.insert(rel, node);
        }
    }
    found
}

struct World {
    sb: Sandbox,
    server: TestServer,
    /// A name unique to this test, for traversal targets outside the sandbox.
    unique: String,
}

impl World {
    /// A sandbox with `platform@OLD` installed from the server.
    fn new() -> Self {
        let world = Self::bare();
        let old = fixtures::cli_release(OLD, &[BIN], &[this_target()]);
        fixtures::mount_release(&world.server, &old);
        let out = world.install(OLD, &[]);
        assert_success(&out);
        assert_eq!(fs::read(world.bin()).unwrap(), world.old_script());
        world
    }

    /// A sandbox and a server, nothing installed.
    fn bare() -> Self {
        let sb = Sandbox::new();
        let unique = format!(
            "hookstrap-untrusted-{}",
            sb.path().file_name().unwrap().to_string_lossy()
        );
        Self {
            sb,
            server: TestServer::start(),
            unique,
        }
    }

    fn bin(&self) -> PathBuf {
        self.sb.bin_dir().join(BIN)
    }

    fn old_script(&self) -> Vec<u8> {
        fixtures::cli_script(BIN, OLD)
    }

    fn asset(&self) -> String {
        fixtures::asset_name(BIN, NEW, this_target())
    }

    /// Where traversals would land outside the sandbox: `$TMPDIR/<unique>` and, absolutely,
    /// `/tmp/<unique>`.
    fn outside_targets(&self) -> Vec<PathBuf> {
        vec![
            self.sb.path().parent().unwrap().join(&self.unique),
            Path::new("/tmp").join(&self.unique),
        ]
    }

    /// Serve `platform@NEW` with `archive` as its asset and a `checksums.txt` that lists it
    /// correctly.
    fn serve(&self, archive: Vec<u8>) -> Release {
        let mut rel = fixtures::cli_release(NEW, &[BIN], &[this_target()]);
        rel.replace_asset(&self.asset(), archive);
        rel.refresh_checksums();
        fixtures::mount_release(&self.server, &rel);
        rel
    }

    /// `hookstrap install platform@VERSION --mirror <server>` plus `args`.
    fn install_cmd(&self, version: &str, args: &[&str]) -> Command {
        let mut cmd = self.sb.cmd();
        cmd.args(["install", &format!("{BIN}@{version}"), "--mirror"])
            .arg(self.server.url())
            .args(args);
        cmd
    }

    fn install(&self, version: &str, args: &[&str]) -> Output {
        common::run(&mut self.install_cmd(version, args))
    }

    /// Everything in the sandbox but the cache.
    fn snapshot(&self) -> BTreeMap<PathBuf, Node> {
        tree(self.sb.path(), &["cache"])
    }

    fn cache_tree(&self) -> BTreeMap<PathBuf, Node> {
        tree(&self.sb.cache, &[])
    }

    /// Serve `archive`, run `install platform@NEW` with `args`/`envs`, and check the refusal:
    /// exit `code`, `needle` on stderr, nothing changed outside the cache, the cache gained
    /// only the verified blob and its bookkeeping, nothing outside the sandbox.
    #[track_caller]
    fn refused(
        &self,
        archive: Vec<u8>,
        args: &[&str],
        envs: &[(&str, &str)],
        code: i32,
        needle: &str,
    ) -> String {
        let sha = fixtures::sha256_hex(&archive);
        self.serve(archive);
        let before = self.snapshot();
        let cache_before = self.cache_tree();
        let out = common::run(self.install_cmd(NEW, args).envs(envs.iter().copied()));
        assert_exit(&out, code);
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
        self.assert_untouched(&before);
        for (path, node) in self.cache_tree() {
            if cache_before.get(&path) == Some(&node) {
                continue;
            }
            let text = path.to_string_lossy();
            let blob = format!("blobs/sha256/{sha}");
            let ok = text == blob
                || text == format!("locks/{sha}.lock")
                || (text.starts_with("index/") && text.ends_with(".json"));
            assert!(ok, "unexpected cache change: {path:?} = {node:?}");
        }
        err
    }

    /// The sandbox (cache aside) is what it was, the old binary is in place, nothing escaped.
    #[track_caller]
    fn assert_untouched(&self, before: &BTreeMap<PathBuf, Node>) {
        let after = self.snapshot();
        if &after != before {
            let added: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
            let removed: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
            let changed: Vec<_> = after
                .iter()
                .filter(|(k, v)| before.get(*k).is_some_and(|b| b != *v))
                .map(|(k, _)| k)
                .collect();
            panic!(
                "the sandbox changed: added {added:?}, removed {removed:?}, changed {changed:?}"
            );
        }
        assert_eq!(fs::read(self.bin()).unwrap(), self.old_script());
        assert!(
            !after
                .keys()
                .any(|p| p.to_string_lossy().contains(".hookstrap-tmp-")),
            "a temporary directory was left behind: {:?}",
            after.keys().collect::<Vec<_>>()
        );
        for outside in self.outside_targets() {
            assert!(
                fs::symlink_metadata(&outside).is_err(),
                "{outside:?} was created"
            );
        }
    }
}

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

// ---- 1. only plain relative paths ----

#[test]
fn dotdot_entry_is_refused() {
    let w = World::new();
    let name = format!("../../../../{}", w.unique);
    let archive = release(NEW).file(&name, 0o644, b"evil").finish_gz();
    let err = w.refused(
        archive,
        &[],
        &[],
        6,
        &format!("archive entry `{name}` contains a `..` component"),
    );
    assert!(err.contains("hint: "), "{err}");
}

#[test]
fn dotdot_inside_a_directory_is_refused() {
    let w = World::new();
    // Reaches `app/` from the extraction directory `app/.platformsh/.hookstrap-tmp-*`.
    let name = "completion/../../../evil";
    let archive = release(NEW).file(name, 0o644, b"evil").finish_gz();
    w.refused(archive, &[], &[], 6, &format!("`{name}`"));
}

#[test]
fn dotdot_into_the_cache_is_refused() {
    let w = World::new();
    let name = "../../../cache/blobs/sha256/evil";
    let archive = Tar::default().file(name, 0o644, b"evil").finish_gz();
    w.refused(archive, &[], &[], 6, &format!("`{name}`"));
}

#[test]
fn absolute_entry_is_refused() {
    let w = World::new();
    let name = format!("/tmp/{}/evil", w.unique);
    let archive = release(NEW).file(&name, 0o644, b"evil").finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        &format!("archive entry `{name}` is an absolute path"),
    );
}

#[test]
fn drive_letter_entries_are_refused() {
    for name in ["C:/evil", "c:evil", "C:\\Windows\\evil"] {
        let w = World::new();
        let archive = release(NEW).file(name, 0o644, b"evil").finish_gz();
        w.refused(
            archive,
            &[],
            &[],
            6,
            &format!("archive entry `{name}` starts with a drive prefix"),
        );
    }
}

#[test]
fn backslash_traversal_is_refused() {
    let w = World::new();
    let name = format!("..\\..\\..\\..\\{}", w.unique);
    let archive = release(NEW).file(&name, 0o644, b"evil").finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        &format!("archive entry `{name}` contains a backslash"),
    );
}

#[test]
fn nul_in_a_name_is_refused() {
    let w = World::new();
    // A ustar name stops at its first NUL; a GNU long name keeps inner NULs.
    let archive = release(NEW)
        .long_name(b"README.md\0/../../../evil")
        .file("placeholder", 0o644, b"evil")
        .finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        "archive entry `README.md\\u{0}/../../../evil` contains a NUL byte",
    );
}

#[test]
fn long_name_and_pax_traversals_are_refused() {
    let w = World::new();
    let name = format!("../../../../{}", w.unique);
    let archive = release(NEW)
        .long_name(name.as_bytes())
        .file("innocent", 0o644, b"evil")
        .finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        &format!("`{name}` contains a `..` component"),
    );

    let w = World::new();
    let archive = release(NEW)
        .pax_path(&name)
        .file("innocent", 0o644, b"evil")
        .finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        &format!("`{name}` contains a `..` component"),
    );
}

#[test]
fn overlong_name_is_refused() {
    let w = World::new();
    let name = "n".repeat(5000);
    let archive = release(NEW)
        .long_name(name.as_bytes())
        .file("placeholder", 0o644, b"x")
        .finish_gz();
    let err = w.refused(archive, &[], &[], 6, "has a name longer than 4096 bytes");
    assert!(err.contains(&format!("`{}…`", &name[..200])), "{err}");
    assert!(err.len() < 1000, "huge names are cut: {} bytes", err.len());
}

#[test]
fn path_length_limit_is_set_by_flag_and_variable() {
    let name = format!("{}/{}/file", "d".repeat(100), "e".repeat(100));
    let archive = release(NEW)
        .long_name(name.as_bytes())
        .file("placeholder", 0o644, b"x")
        .finish_gz();
    let w = World::new();
    w.refused(
        archive.clone(),
        &["--max-path-len", "150"],
        &[],
        6,
        "has a name longer than 150 bytes",
    );
    let w = World::new();
    w.refused(
        archive.clone(),
        &[],
        &[("HOOKSTRAP_MAX_PATH_LEN", "150")],
        6,
        "has a name longer than 150 bytes",
    );
    // The default (4096) takes it.
    let w = World::new();
    w.serve(archive);
    assert_success(&w.install(NEW, &[]));
}

#[test]
fn name_too_long_for_the_filesystem_is_refused() {
    let w = World::new();
    // Under the 4096-byte limit, but one component is over NAME_MAX: an archive fault (6), not
    // a local write failure (7).
    let name = format!("completion/{}", "c".repeat(300));
    let archive = release(NEW)
        .long_name(name.as_bytes())
        .file("placeholder", 0o644, b"x")
        .finish_gz();
    w.refused(archive, &[], &[], 6, "is too long for this filesystem");
}

// ---- 1. only regular files and directories ----

#[test]
fn symlink_out_of_the_archive_is_refused() {
    let w = World::new();
    let outside = w.outside_targets()[0].clone();
    let archive = release(NEW)
        .link("escape", SYMLINK, outside.to_str().unwrap())
        .file("escape/evil", 0o644, b"evil")
        .finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        "archive entry `escape` is a symbolic link, which is not allowed",
    );
}

#[test]
fn binary_as_a_symlink_is_refused() {
    let w = World::new();
    let archive = release_without_binary(NEW)
        .link(BIN, SYMLINK, "/bin/sh")
        .finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        &format!("archive entry `{BIN}` is a symbolic link"),
    );
}

#[test]
fn hardlink_is_refused() {
    let w = World::new();
    let archive = release(NEW)
        .link("passwd", HARD_LINK, "/etc/passwd")
        .finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        "archive entry `passwd` is a hard link, which is not allowed",
    );
}

#[test]
fn devices_and_fifos_are_refused() {
    for (kind, what) in [
        (b'3', "character device"),
        (b'4', "block device"),
        (b'6', "FIFO"),
    ] {
        let w = World::new();
        let archive = release(NEW).entry(b"node", kind, 0o666, b"").finish_gz();
        w.refused(
            archive,
            &[],
            &[],
            6,
            &format!("archive entry `node` is a {what}, which is not allowed"),
        );
    }
}

#[test]
fn file_replacing_a_directory_is_refused() {
    let w = World::new();
    let archive = release(NEW).file("completion", 0o644, b"evil").finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        "archive entry `completion` collides with an earlier entry",
    );
}

#[test]
fn directory_replacing_a_file_is_refused() {
    let w = World::new();
    let archive = release(NEW).dir("README.md/", 0o755).finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        "archive entry `README.md/` collides with an earlier entry",
    );
}

#[test]
fn second_binary_replacing_the_first_is_refused() {
    let w = World::new();
    let archive = release(NEW)
        .file(BIN, 0o755, b"#!/bin/sh\necho swapped\n")
        .finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        &format!("archive entry `{BIN}` collides with an earlier entry"),
    );
}

#[test]
fn setuid_setgid_and_sticky_bits_never_survive() {
    let w = World::new();
    let archive = Tar::default()
        .dir("completion/", 0o1777)
        .file(BIN, 0o7777, &fixtures::cli_script(BIN, NEW))
        .file("README.md", 0o6666, b"readme")
        .finish_gz();
    w.serve(archive);
    let out = w.install(NEW, &[]);
    assert_success(&out);
    assert_eq!(fs::read(w.bin()).unwrap(), fixtures::cli_script(BIN, NEW));
    assert_eq!(mode_of(&w.bin()), 0o755);
    // Only the binary lands in the bin dir.
    let names: Vec<_> = fs::read_dir(w.sb.bin_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(names, [BIN]);
}

#[test]
fn binary_without_execute_bits_is_installed_executable() {
    let w = World::new();
    let archive = Tar::default()
        .file(BIN, 0o600, &fixtures::cli_script(BIN, NEW))
        .finish_gz();
    w.serve(archive);
    assert_success(&w.install(NEW, &[]));
    assert_eq!(mode_of(&w.bin()), 0o755);
}

// ---- 2. limits ----

/// A gzip stream of `prefix` followed by `zeros` zero bytes, written directly as deflate (one
/// stored block, then 258-byte back-references of 13 bits each), so a bomb of any size costs
/// milliseconds to build: 256 MiB of zeros take 1.7 MB. `prefix` must end in a zero byte (the
/// back-references copy it). The trailer is valid, so the stream is a real, complete gzip file.
fn gzip_bomb(prefix: &[u8], zeros: u64) -> Vec<u8> {
    assert_eq!(prefix.last(), Some(&0));
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    // Stored blocks (BFINAL=0, BTYPE=00, then byte-aligned LEN, NLEN, data).
    for chunk in prefix.chunks(0xffff) {
        out.push(0);
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    // One final block with the fixed Huffman code.
    let mut bits = BitWriter { out, acc: 0, n: 0 };
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE=01
    let mut matches = zeros / 258;
    let copy = |bits: &mut BitWriter, count: u64| {
        for _ in 0..count {
            bits.code(0b1100_0101, 8); // length 258 (symbol 285)
            bits.code(0, 5); // distance 1
        }
    };
    if matches >= 16 {
        // Eight matches are 104 bits, 13 whole bytes: past the first group the bytes repeat.
        copy(&mut bits, 16);
        matches -= 16;
        let unit = bits.out[bits.out.len() - 13..].to_vec();
        for _ in 0..matches / 8 {
            bits.out.extend_from_slice(&unit);
        }
        matches %= 8;
    }
    copy(&mut bits, matches);
    for _ in 0..zeros % 258 {
        bits.code(0b0011_0000, 8); // literal 0
    }
    bits.code(0, 7); // end of block (symbol 256)
    let mut out = bits.finish();
    let mut crc = flate2::Crc::new();
    crc.update(prefix);
    let crc = crc32_after_zeros(crc.sum(), zeros);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&((prefix.len() as u64 + zeros) as u32).to_le_bytes());
    out
}

/// Deflate's bit order: values LSB first, Huffman codes MSB first.
struct BitWriter {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.acc |= ((value >> i) & 1) << self.n;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    fn code(&mut self, code: u32, count: u32) {
        for i in (0..count).rev() {
            self.put((code >> i) & 1, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// The CRC-32 of some data whose CRC-32 is `crc`, followed by `len` zero bytes, in O(log len)
/// (zlib's `crc32_combine` operator: squaring the GF(2) matrix of one zero bit).
fn crc32_after_zeros(crc: u32, mut len: u64) -> u32 {
    fn times(mat: &[u32; 32], mut vec: u32) -> u32 {
        let mut sum = 0;
        let mut i = 0;
        while vec != 0 {
            if vec & 1 != 0 {
                sum ^= mat[i];
            }
            vec >>= 1;
            i += 1;
        }
        sum
    }
    fn square(mat: &[u32; 32]) -> [u32; 32] {
        std::array::from_fn(|n| times(mat, mat[n]))
    }
    let mut op = [0u32; 32];
    op[0] = 0xedb8_8320;
    for (n, row) in op.iter_mut().enumerate().skip(1) {
        *row = 1 << (n - 1);
    }
    // One zero bit, squared three times: one zero byte.
    let mut op = square(&square(&square(&op)));
    let mut reg = !crc;
    while len > 0 {
        if len & 1 != 0 {
            reg = times(&op, reg);
        }
        len >>= 1;
        op = square(&op);
    }
    !reg
}

/// A tar whose one file `name` claims `size` zero bytes, all present, gzip'ed as a bomb.
fn zeros_bomb(name: &str, size: u64) -> Vec<u8> {
    let head = header(name.as_bytes(), b'0', 0o755, size);
    // The data, its padding and the end marker are all zeros.
    gzip_bomb(&head, size.next_multiple_of(512) + 1024)
}

#[test]
fn gzip_bomb_helper_builds_what_it_says() {
    use std::io::Read;
    for zeros in [
        0,
        1,
        257,
        258,
        259,
        258 * 16,
        258 * 23 + 7,
        100_000,
        3 << 20,
    ] {
        let prefix = release(NEW).finish();
        let bomb = gzip_bomb(&prefix, zeros);
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&bomb[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain.len() as u64, prefix.len() as u64 + zeros);
        assert_eq!(&plain[..prefix.len()], prefix.as_slice());
        assert!(plain[prefix.len()..].iter().all(|&b| b == 0));
    }
    assert!(zeros_bomb(BIN, BOMB).len() < (BOMB / 150) as usize);
}

/// 256 MiB of zeros, 256 times the limit the tests set.
const BOMB: u64 = 256 << 20;

#[test]
fn gzip_bomb_is_stopped_by_max_unpacked_flag() {
    let w = World::new();
    let archive = zeros_bomb(BIN, BOMB);
    let err = w.refused(
        archive,
        &["--max-unpacked", "1048576"],
        &[],
        6,
        &format!("archive unpacks to more than 1048576 bytes (at entry `{BIN}`)"),
    );
    assert!(err.contains("--max-unpacked"), "{err}");
}

#[test]
fn gzip_bomb_is_stopped_by_max_unpacked_variable() {
    let w = World::new();
    w.refused(
        zeros_bomb(BIN, BOMB),
        &[],
        &[("HOOKSTRAP_MAX_UNPACKED", "1048576")],
        6,
        &format!("archive unpacks to more than 1048576 bytes (at entry `{BIN}`)"),
    );
}

#[test]
fn max_unpacked_flag_wins_over_variable() {
    let w = World::new();
    w.refused(
        zeros_bomb(BIN, BOMB),
        &["--max-unpacked", "1048576"],
        &[("HOOKSTRAP_MAX_UNPACKED", "1073741824")],
        6,
        "more than 1048576 bytes",
    );
    // And the other way round, the same bomb under a raised limit is only a large file.
    let w = World::new();
    w.serve(zeros_bomb(BIN, 2 << 20));
    let out = common::run(
        w.install_cmd(NEW, &["--max-unpacked", "4194304"])
            .env("HOOKSTRAP_MAX_UNPACKED", "1048576"),
    );
    assert_success(&out);
    assert_eq!(fs::metadata(w.bin()).unwrap().len(), 2 << 20);
}

#[test]
fn many_files_stop_at_the_one_past_max_unpacked() {
    let w = World::new();
    let chunk = vec![b'x'; 300 << 10];
    let mut tar = release(NEW);
    for i in 0..8 {
        tar = tar.file(&format!("data/part{i}"), 0o644, &chunk);
    }
    w.refused(
        tar.finish_gz(),
        &["--max-unpacked", "1048576"],
        &[],
        6,
        "archive unpacks to more than 1048576 bytes (at entry `data/part3`)",
    );
}

#[test]
fn trailing_zeros_bomb_is_stopped() {
    let w = World::new();
    // A valid archive, then 256 MiB of zeros after its end marker: the stream is cut off.
    let archive = gzip_bomb(&release(NEW).finish(), BOMB);
    w.refused(
        archive,
        &["--max-unpacked", "1048576"],
        &[],
        6,
        "archive has oversized headers or trailing data",
    );
}

#[test]
fn gzip_bomb_over_the_default_limit_is_stopped() {
    let w = World::new();
    // 1.25 GiB of zeros in 8.5 MB, no flag, no variable.
    let archive = zeros_bomb(BIN, 5 << 28);
    assert!(archive.len() < 9 << 20, "{} bytes", archive.len());
    w.refused(
        archive,
        &[],
        &[],
        6,
        &format!("archive unpacks to more than 1073741824 bytes (at entry `{BIN}`)"),
    );
}

#[test]
fn default_limit_refuses_a_file_over_one_gib() {
    let w = World::new();
    // The header alone claims 2 GiB: refused before a byte of it is read.
    let mut tar = release(NEW).unfinished();
    tar.extend_from_slice(&header(b"huge", b'0', 0o644, 2 << 30));
    tar.extend_from_slice(&[0u8; 4096]);
    w.refused(
        fixtures::gzip(&tar),
        &[],
        &[],
        6,
        "archive unpacks to more than 1073741824 bytes (at entry `huge`)",
    );
}

#[test]
fn too_many_entries_are_refused_by_flag_and_variable() {
    let w = World::new();
    let archive = release(NEW).finish_gz();
    let err = w.refused(
        archive.clone(),
        &["--max-entries", "3"],
        &[],
        6,
        "archive has more than 3 entries (at entry `completion/zsh/_platform`)",
    );
    assert!(err.contains("--max-entries"), "{err}");
    let w = World::new();
    w.refused(
        archive.clone(),
        &[],
        &[("HOOKSTRAP_MAX_ENTRIES", "2")],
        6,
        "archive has more than 2 entries (at entry `completion/bash/platform.bash`)",
    );
    // Exactly at the limit is fine.
    let w = World::new();
    w.serve(archive);
    assert_success(&w.install(NEW, &["--max-entries", "4"]));
    assert_eq!(fs::read(w.bin()).unwrap(), fixtures::cli_script(BIN, NEW));
}

#[test]
fn default_entry_limit_is_ten_thousand() {
    let w = World::new();
    let mut tar = release(NEW);
    for i in 0..10_000 {
        tar = tar.dir(&format!("d{i}/"), 0o755);
    }
    w.refused(
        tar.finish_gz(),
        &[],
        &[],
        6,
        "archive has more than 10000 entries (at entry `d9996/`)",
    );
}

#[test]
fn bad_limit_values_are_usage_errors() {
    let w = World::bare();
    let out = w.sb.run(&["install", "--max-unpacked", "lots"]);
    assert_exit(&out, 2);
    let out = common::run(
        w.sb.cmd()
            .args(["install"])
            .env("HOOKSTRAP_MAX_ENTRIES", "-1"),
    );
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("HOOKSTRAP_MAX_ENTRIES"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.server.total(), 0);
}

// ---- 3. corrupt input ----

#[test]
fn truncated_gzip_is_refused() {
    let w = World::new();
    let full = release(NEW).finish_gz();
    w.refused(
        full[..full.len() / 2].to_vec(),
        &[],
        &[],
        6,
        "archive is truncated",
    );
}

#[test]
fn gzip_with_a_bad_trailer_is_refused() {
    let w = World::new();
    let mut archive = release(NEW).finish_gz();
    let crc = archive.len() - 8;
    archive[crc] ^= 0xff;
    w.refused(archive, &[], &[], 6, "archive is corrupt");
}

#[test]
fn truncated_tar_is_refused() {
    // Cut inside the binary's data, and right before the end marker.
    let tar = release(NEW).finish();
    for cut in [700, tar.len() - 1024] {
        let w = World::new();
        w.refused(
            fixtures::gzip(&tar[..cut]),
            &[],
            &[],
            6,
            "archive is truncated",
        );
    }
}

#[test]
fn random_bytes_are_refused() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    let w = World::new();
    w.refused(noise.clone(), &[], &[], 6, "archive is not a gzip stream");
    // The same noise behind a valid gzip layer.
    let w = World::new();
    w.refused(fixtures::gzip(&noise), &[], &[], 6, "archive is");
}

#[test]
fn empty_file_is_refused() {
    let w = World::new();
    w.refused(Vec::new(), &[], &[], 6, "archive is empty");
}

#[test]
fn archive_without_the_binary_is_refused() {
    let w = World::new();
    let archive = release_without_binary(NEW).finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        &format!("the archive holds no usable `{BIN}`"),
    );
    // Under a directory is not at the root.
    let w = World::new();
    let archive = release_without_binary(NEW)
        .file(&format!("bin/{BIN}"), 0o755, b"#!/bin/sh\n")
        .finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        &format!("the archive holds no usable `{BIN}`"),
    );
}

#[test]
fn binary_that_is_a_directory_is_refused() {
    let w = World::new();
    let archive = release_without_binary(NEW)
        .dir(&format!("{BIN}/"), 0o755)
        .file(&format!("{BIN}/inside"), 0o755, b"x")
        .finish_gz();
    w.refused(
        archive,
        &[],
        &[],
        6,
        &format!("the archive holds no usable `{BIN}`: it is not a regular file"),
    );
}

// ---- 4. checksums.txt ----

/// Serve `platform@NEW` (a good archive) with `checksums` as its checksums file.
fn serve_with_checksums(w: &World, checksums: String) -> Vec<u8> {
    let archive = fixtures::cli_archive(BIN, NEW);
    let mut rel = fixtures::cli_release(NEW, &[BIN], &[this_target()]);
    rel.replace_asset(&w.asset(), archive.clone());
    rel.replace_asset("checksums.txt", checksums.into_bytes());
    fixtures::mount_release(&w.server, &rel);
    archive
}

#[test]
fn checksums_junk_lines_are_ignored() {
    let w = World::new();
    let archive = fixtures::cli_archive(BIN, NEW);
    let sha = fixtures::sha256_hex(&archive);
    let asset = w.asset();
    let text = format!(
        "# signed by nobody\n\n\
         not-a-hash  {asset}\n\
         {}  {asset}\n\
         {sha}\n\
         \u{0}\u{7f}binary junk\r\n\
         {sha}  other_asset.tar.gz\n\
         {sha}  {asset}\r\n\
         trailing words without a hash",
        &sha[..63]
    );
    serve_with_checksums(&w, text);
    let out = w.install(NEW, &[]);
    assert_success(&out);
    assert_eq!(fs::read(w.bin()).unwrap(), fixtures::cli_script(BIN, NEW));
}

#[test]
fn checksums_junk_never_counts_as_a_hash() {
    let w = World::new();
    let sha = fixtures::sha256_hex(&fixtures::cli_archive(BIN, NEW));
    let asset = w.asset();
    // A hash one digit short, one with a non-hex digit, and the name with a suffix.
    let text = format!(
        "{}  {asset}\n{}g  {asset}\n{sha}  {asset}.sig\n",
        &sha[..63],
        &sha[..63]
    );
    serve_with_checksums(&w, text);
    let before = w.snapshot();
    let out = w.install(NEW, &[]);
    assert_exit(&out, 5);
    assert!(
        stderr(&out).contains(&format!("`{asset}` has no line in `")),
        "{}",
        stderr(&out)
    );
    w.assert_untouched(&before);
    assert_eq!(
        w.server
            .count(&fixtures::cli_release(NEW, &[BIN], &[this_target()]).path(&asset)),
        0
    );
}

#[test]
fn checksums_listing_a_name_twice_with_different_hashes_is_refused() {
    let w = World::new();
    let archive = fixtures::cli_archive(BIN, NEW);
    let sha = fixtures::sha256_hex(&archive);
    let asset = w.asset();
    let other = fixtures::sha256_hex(b"something else");
    // The right hash first: a parser that takes the first line would install.
    serve_with_checksums(&w, format!("{sha}  {asset}\n{other} *{asset}\n"));
    let before = w.snapshot();
    let out = w.install(NEW, &[]);
    assert_exit(&out, 5);
    assert!(
        stderr(&out).contains(&format!("lists `{asset}` twice with different hashes")),
        "{}",
        stderr(&out)
    );
    w.assert_untouched(&before);
    // The same hash twice is harmless.
    serve_with_checksums(&w, format!("{sha}  {asset}\n{sha}  ./{asset}\n"));
    assert_success(&w.install(NEW, &[]));
}

#[test]
fn checksums_overlong_line_is_refused() {
    let w = World::new();
    let sha = fixtures::sha256_hex(&fixtures::cli_archive(BIN, NEW));
    let asset = w.asset();
    serve_with_checksums(
        &w,
        format!("{sha}  {asset}\n{sha}  {}\n", "x".repeat(10_000)),
    );
    let before = w.snapshot();
    let out = w.install(NEW, &[]);
    assert_exit(&out, 5);
    assert!(
        stderr(&out).contains("is not a checksums file: line 2 is longer than 4096 bytes"),
        "{}",
        stderr(&out)
    );
    w.assert_untouched(&before);
}

#[test]
fn huge_checksums_file_is_refused() {
    let w = World::new();
    let sha = fixtures::sha256_hex(&fixtures::cli_archive(BIN, NEW));
    let line = format!("{sha}  {}\n", w.asset());
    serve_with_checksums(&w, line.repeat((2 << 20) / line.len()));
    let before = w.snapshot();
    let out = w.install(NEW, &[]);
    // Refused without reading it all, as a verification failure.
    assert_exit(&out, 5);
    assert!(
        stderr(&out).contains("checksums.txt` is larger than 1048576 bytes"),
        "{}",
        stderr(&out)
    );
    let asset = fixtures::cli_release(NEW, &[BIN], &[this_target()]).path(&w.asset());
    assert_eq!(w.server.count(&asset), 0, "the archive was downloaded");
    w.assert_untouched(&before);
}

// ---- 4. the lock file ----

fn lock_text(w: &World, sha: &str) -> String {
    let rel = fixtures::cli_release(NEW, &[BIN], &[this_target()]);
    format!(
        "version = 1\n\n[[tool]]\nname = \"{BIN}\"\nversion = \"{NEW}\"\n\n[[tool.artifact]]\ntarget = \"{}\"\nurl = \"{}\"\nsha256 = \"{sha}\"\nsize = 1234\n",
        this_target(),
        rel.github_url(&w.asset())
    )
}

#[test]
fn malformed_lock_file_is_a_usage_error_with_line_and_column() {
    /// What it is, how it breaks a good lock file, what the message says.
    type Case = (&'static str, fn(String) -> String, &'static str);
    let cases: [Case; 4] = [
        // A bad hash: line 10, column 10 (the opening quote).
        (
            "bad hash",
            |t| t.replace(&"0".repeat(64), "nothex"),
            "at line 10, column 10: sha256 must be 64 hexadecimal digits",
        ),
        // Broken TOML on line 3.
        (
            "syntax",
            |t| t.replace("[[tool]]", "[[tool]"),
            "at line 3, column ",
        ),
        // An unknown key on line 6.
        (
            "unknown key",
            |t| {
                t.replace(
                    "\n\n[[tool.artifact]]",
                    "\nsurprise = true\n\n[[tool.artifact]]",
                )
            },
            "at line 6, column 1: unknown field `surprise`",
        ),
        // A future format.
        (
            "version",
            |t| t.replace("version = 1", "version = 7"),
            "at line 1, column 1: unsupported lock format version 7",
        ),
    ];
    for (what, edit, needle) in cases {
        let w = World::new();
        let text = edit(lock_text(&w, &"0".repeat(64)));
        fs::write(w.sb.lock_file(), &text).unwrap();
        w.server.clear_requests();
        let before = w.snapshot();
        let out = common::run(w.sb.cmd().args(["install", "--mirror"]).arg(w.server.url()));
        assert_exit(&out, 2);
        let err = stderr(&out);
        let path = w.sb.lock_file();
        assert!(
            err.contains(&format!(
                "malformed lock file `{}` {needle}",
                path.display()
            )),
            "{what}: {err}\n--- lock ---\n{text}"
        );
        assert!(err.contains("hint: "), "{what}: {err}");
        w.assert_untouched(&before);
        assert_eq!(w.server.total(), 0, "{what}: the network was used");
    }
}

#[test]
fn lock_file_that_is_not_utf8_is_a_usage_error() {
    let w = World::new();
    fs::write(w.sb.lock_file(), b"version = 1\n\xff\xfe").unwrap();
    let out = common::run(w.sb.cmd().args(["install", "--mirror"]).arg(w.server.url()));
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("at line 1, column 1: not UTF-8"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn lock_file_pinning_a_hostile_archive_is_refused_by_extraction() {
    // The lock file is the trust anchor here: it pins the hostile archive exactly.
    let w = World::new();
    let name = format!("../../../../{}", w.unique);
    let archive = release(NEW).file(&name, 0o644, b"evil").finish_gz();
    let sha = fixtures::sha256_hex(&archive);
    let text = lock_text(&w, &sha).replace("size = 1234", &format!("size = {}", archive.len()));
    fs::write(w.sb.lock_file(), text).unwrap();
    let before = w.snapshot();
    w.serve(archive);
    let out = common::run(w.sb.cmd().args(["install", "--mirror"]).arg(w.server.url()));
    assert_exit(&out, 6);
    assert!(
        stderr(&out).contains(&format!("`{name}`")),
        "{}",
        stderr(&out)
    );
    w.assert_untouched(&before);
}

// ---- 4. the cache directory ----

/// The cache path of a blob.
fn blob(w: &World, bytes: &[u8]) -> PathBuf {
    w.sb.cache
        .join("blobs/sha256")
        .join(fixtures::sha256_hex(bytes))
}

#[test]
fn cache_with_foreign_files_still_installs() {
    let w = World::new();
    let cache = &w.sb.cache;
    let archive = w
        .serve(fixtures::cli_archive(BIN, NEW))
        .bytes(&w.asset())
        .to_vec();
    let bogus = fixtures::sha256_hex(b"bogus");
    for (path, body) in [
        ("README", &b"not ours"[..]),
        ("blobs/sha256/not-a-hash", b"junk"),
        (
            &format!("blobs/sha256/{bogus}"),
            b"does not hash to its name",
        ),
        ("blobs/sha256/nested/deeper/file", b"junk"),
        ("index/garbage.json", b"{not json"),
        ("index/other.json", b"{\"tool\": 1}"),
        ("index/notes.txt", b"junk"),
        ("locks/whatever.lock", b""),
        ("tmp/partial-from-a-dead-process", b"half a download"),
    ] {
        let path = cache.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, body).unwrap();
    }
    std::os::unix::fs::symlink("/etc", cache.join("blobs/sha256/etc-link")).unwrap();
    let out = w.install(NEW, &[]);
    assert_success(&out);
    assert_eq!(fs::read(w.bin()).unwrap(), fixtures::cli_script(BIN, NEW));
    assert_eq!(fs::read(blob(&w, &archive)).unwrap(), archive);
    // Foreign files are not ours to delete during an install.
    assert_eq!(fs::read(cache.join("README")).unwrap(), b"not ours");
    let out = w.sb.run(&["cache", "list"]);
    assert_success(&out);
    assert!(
        common::stdout(&out).contains(NEW),
        "{}",
        common::stdout(&out)
    );
}

#[test]
fn cached_blob_replaced_by_a_symlink_is_fetched_again() {
    let w = World::new();
    let archive = w
        .serve(fixtures::cli_archive(BIN, NEW))
        .bytes(&w.asset())
        .to_vec();
    assert_success(&w.sb.run(&[
        "fetch",
        &format!("{BIN}@{NEW}"),
        "--mirror",
        &w.server.url(),
    ]));
    let path = blob(&w, &archive);
    // A link to a file with the right bytes, elsewhere: still not a blob we wrote.
    let elsewhere = w.sb.path().join("elsewhere.tar.gz");
    fs::write(&elsewhere, &archive).unwrap();
    fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    let asset_path = fixtures::cli_release(NEW, &[BIN], &[this_target()]).path(&w.asset());
    w.server.clear_requests();

    let out = w.install(NEW, &[]);
    assert_success(&out);
    assert_eq!(fs::read(w.bin()).unwrap(), fixtures::cli_script(BIN, NEW));
    assert!(
        fs::symlink_metadata(&path).unwrap().is_file(),
        "the blob is a file again"
    );
    assert_eq!(fs::read(&path).unwrap(), archive);
    assert_eq!(
        fs::read(&elsewhere).unwrap(),
        archive,
        "the link's target is untouched"
    );
    assert_eq!(w.server.count(&asset_path), 1, "downloaded again");
}

#[test]
fn cached_blob_replaced_by_a_directory_is_fetched_again() {
    let w = World::new();
    let archive = w
        .serve(fixtures::cli_archive(BIN, NEW))
        .bytes(&w.asset())
        .to_vec();
    assert_success(&w.sb.run(&[
        "fetch",
        &format!("{BIN}@{NEW}"),
        "--mirror",
        &w.server.url(),
    ]));
    let path = blob(&w, &archive);
    fs::remove_file(&path).unwrap();
    fs::create_dir_all(path.join("inner")).unwrap();
    fs::write(path.join("inner/file"), b"x").unwrap();

    let out = w.install(NEW, &[]);
    assert_success(&out);
    assert_eq!(fs::read(w.bin()).unwrap(), fixtures::cli_script(BIN, NEW));
    assert!(fs::symlink_metadata(&path).unwrap().is_file());
    assert_eq!(fs::read(&path).unwrap(), archive);
}

#[test]
fn cached_blob_with_other_bytes_is_fetched_again() {
    let w = World::new();
    let archive = w
        .serve(fixtures::cli_archive(BIN, NEW))
        .bytes(&w.asset())
        .to_vec();
    assert_success(&w.sb.run(&[
        "fetch",
        &format!("{BIN}@{NEW}"),
        "--mirror",
        &w.server.url(),
    ]));
    let path = blob(&w, &archive);
    // A hostile archive planted under the good archive's name.
    let name = format!("../../../../{}", w.unique);
    fs::write(
        &path,
        Tar::default().file(&name, 0o644, b"evil").finish_gz(),
    )
    .unwrap();

    let out = w.install(NEW, &[]);
    assert_success(&out);
    assert_eq!(fs::read(w.bin()).unwrap(), fixtures::cli_script(BIN, NEW));
    assert_eq!(fs::read(&path).unwrap(), archive);
    for outside in w.outside_targets() {
        assert!(!outside.exists());
    }
}

#[test]
fn stale_locks_and_leftovers_of_a_killed_install_do_not_block() {
    let w = World::new();
    let rel = fixtures::cli_release(NEW, &[BIN], &[this_target()]);
    let asset_path = rel.path(&w.asset());
    fixtures::mount_release(&w.server, &rel);
    // The download stalls: the install holds the bin dir's and the artifact's locks.
    w.server
        .route(&asset_path, Behavior::stall_after_headers(1 << 20));
    let mut child = w
        .install_cmd(NEW, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while w.server.count(&asset_path) == 0 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("install ended before it downloaded: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // What a kill during extraction leaves: staging lives in the bin dir whose lock the
    // install held (the lock is on the directory itself: no lock file is left).
    let stale = w.sb.bin_dir().join(".hookstrap-tmp-killed");
    fs::create_dir_all(stale.join("completion")).unwrap();
    fs::write(stale.join(BIN), b"half").unwrap();
    assert!(!w.sb.bin_dir().join(".hookstrap.lock").exists());
    let sha = rel.sha256(&w.asset());
    assert!(w.sb.cache.join(format!("locks/{sha}.lock")).exists());
    assert_eq!(
        fs::read(w.bin()).unwrap(),
        w.old_script(),
        "the kill left the old binary"
    );

    w.server
        .route(&asset_path, Behavior::file(rel.bytes(&w.asset()).to_vec()));
    // A lock left held would make this wait: fail fast instead of after ten minutes.
    let out = common::run(w.install_cmd(NEW, &[]).env("HOOKSTRAP_LOCK_TIMEOUT", "20"));
    assert_success(&out);
    assert_eq!(fs::read(w.bin()).unwrap(), fixtures::cli_script(BIN, NEW));
    assert!(!stale.exists(), "the stale temporary directory was removed");
    // The partial download of the killed process is never served as a blob.
    let blobs: Vec<_> = fs::read_dir(w.sb.cache.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for blob in blobs {
        let name = blob.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(fixtures::sha256_hex(&fs::read(&blob).unwrap()), name);
    }
}

// ---- 4. the env file ----

#[test]
fn env_file_symlink_is_appended_through_and_kept() {
    let w = World::bare();
    let real = w.sb.home.join("environment.real");
    fs::write(&real, "export A=1\n").unwrap();
    std::os::unix::fs::symlink("../home/environment.real", w.sb.env_file()).unwrap();
    let old = fixtures::cli_release(OLD, &[BIN], &[this_target()]);
    fixtures::mount_release(&w.server, &old);
    assert_success(&w.install(OLD, &[]));
    let env = w.sb.env_file();
    assert!(fs::symlink_metadata(&env).unwrap().file_type().is_symlink());
    assert_eq!(
        fs::read_link(&env).unwrap(),
        Path::new("../home/environment.real")
    );
    let text = fs::read_to_string(&real).unwrap();
    assert!(
        text.starts_with("export A=1\n# >>> hookstrap >>>\n"),
        "{text}"
    );
    assert_eq!(text.matches("# >>> hookstrap >>>").count(), 1);
    // Idempotent through the link too.
    assert_success(&w.install(OLD, &[]));
    assert_eq!(fs::read_to_string(&real).unwrap(), text);
    assert!(fs::symlink_metadata(&env).unwrap().file_type().is_symlink());
}

#[test]
fn env_file_that_is_a_directory_is_refused() {
    let w = World::bare();
    let env = w.sb.env_file();
    fs::create_dir(&env).unwrap();
    fs::write(env.join("keep"), "x").unwrap();
    let old = fixtures::cli_release(OLD, &[BIN], &[this_target()]);
    fixtures::mount_release(&w.server, &old);
    let out = w.install(OLD, &[]);
    assert_exit(&out, 7);
    assert!(
        stderr(&out).contains(&format!("`{}`", env.display())),
        "{}",
        stderr(&out)
    );
    assert!(env.is_dir());
    assert_eq!(fs::read(env.join("keep")).unwrap(), b"x");
}

#[test]
fn env_file_with_crlf_lines_keeps_every_byte() {
    let w = World::bare();
    let old = fixtures::cli_release(OLD, &[BIN], &[this_target()]);
    fixtures::mount_release(&w.server, &old);
    for original in ["export A=1\r\nexport B=2\r\n", "export A=1\r\nexport B=2"] {
        let env = w.sb.env_file();
        fs::write(&env, original).unwrap();
        assert_success(&w.install(OLD, &[]));
        let text = fs::read_to_string(&env).unwrap();
        let sep = if original.ends_with('\n') { "" } else { "\n" };
        assert!(
            text.starts_with(&format!("{original}{sep}# >>> hookstrap >>>\n")),
            "{text:?}"
        );
        assert_eq!(text.matches("# >>> hookstrap >>>").count(), 1);
        assert_success(&w.install(OLD, &[]));
        assert_eq!(
            fs::read_to_string(&env).unwrap(),
            text,
            "second run changed it"
        );
        fs::remove_file(&env).unwrap();
    }
}

#[test]
fn env_file_with_a_crlf_block_keeps_one_block() {
    let w = World::bare();
    let old = fixtures::cli_release(OLD, &[BIN], &[this_target()]);
    fixtures::mount_release(&w.server, &old);
    assert_success(&w.install(OLD, &[]));
    let env = w.sb.env_file();
    // Someone's editor turned every line ending into CRLF.
    let crlf = fs::read_to_string(&env).unwrap().replace('\n', "\r\n");
    fs::write(&env, format!("export A=1\r\n{crlf}export Z=9\r\n")).unwrap();
    assert_success(&w.install(OLD, &[]));
    let text = fs::read_to_string(&env).unwrap();
    assert_eq!(text.matches("# >>> hookstrap >>>").count(), 1, "{text:?}");
    assert_eq!(text.matches("# <<< hookstrap <<<").count(), 1, "{text:?}");
    assert!(text.starts_with("export A=1\r\n"), "{text:?}");
    assert!(text.ends_with("export Z=9\r\n"), "{text:?}");
}

#[test]
fn env_file_with_a_damaged_block_is_refused_with_a_hint() {
    let cases = [
        (
            "export A=1\n# >>> hookstrap >>>\nexport PATH=/x:$PATH\n",
            "a start marker without its end marker",
        ),
        (
            "export A=1\n# <<< hookstrap <<<\n",
            "an end marker without its start marker",
        ),
    ];
    for (original, reason) in cases {
        let w = World::bare();
        let old = fixtures::cli_release(OLD, &[BIN], &[this_target()]);
        fixtures::mount_release(&w.server, &old);
        let env = w.sb.env_file();
        fs::write(&env, original).unwrap();
        let out = w.install(OLD, &[]);
        assert_exit(&out, 7);
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "the env file `{}` holds a damaged hookstrap block: {reason}",
                env.display()
            )),
            "{err}"
        );
        assert!(
            err.contains("hint: remove the lines from `# >>> hookstrap >>>`"),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(&env).unwrap(),
            original,
            "the env file was changed"
        );
    }
}
