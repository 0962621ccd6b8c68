//! The release archive is hostile even after its checksum matched. For any bytes, given as a
//! plain tar and (compressed here) as a tar.gz:
//! - nothing panics, and every refusal is an archive error (exit 6) with a printable message;
//! - nothing appears outside the destination, and inside it only regular files (0644/0755) and
//!   directories (0755), within the limits;
//! - the plain and the gzip'ed stream unpack to the same result.
//!
//! The raw input is also fed to `unpack_tar_gz` as is, for the gzip layer itself.
#![no_main]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

use hookstrap::diag::Diagnostic;
use hookstrap::unpack::{ExtractError, Limits, Unpacked, unpack_tar, unpack_tar_gz};

const LIMITS: Limits = Limits {
    max_unpacked_bytes: 1 << 20,
    max_entries: 64,
    max_path_len: 1024,
};

/// One scratch root per process (in memory when `/dev/shm` exists), with a sentinel file.
fn root() -> &'static Path {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::Builder::new()
                .prefix("hookstrap-fuzz-")
                .tempdir_in(shm)
        } else {
            tempfile::Builder::new().prefix("hookstrap-fuzz-").tempdir()
        }
        .expect("scratch dir");
        fs::write(dir.path().join("sentinel"), b"keep").expect("sentinel");
        dir
    })
    .path()
}

#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File(Vec<u8>),
}

/// Everything under `dir`, checking types and modes on the way.
fn listing(dir: &Path) -> BTreeMap<PathBuf, Node> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).expect("read_dir") {
            let path = entry.expect("dir entry").path();
            let meta = fs::symlink_metadata(&path).expect("metadata");
            let mode = meta.permissions().mode() & 0o7777;
            let rel = path.strip_prefix(dir).expect("inside").to_path_buf();
            if meta.is_dir() {
                assert_eq!(mode, 0o755, "directory {rel:?} has mode {mode:o}");
                stack.push(path);
                found.insert(rel, Node::Dir);
            } else if meta.is_file() {
                // Files are created 0600 and get their final mode once their data is complete,
                // so a refused archive may leave one 0600 file behind (in the caller's temp dir).
                assert!(
                    matches!(mode, 0o644 | 0o755 | 0o600),
                    "file {rel:?} has mode {mode:o}"
                );
                found.insert(rel, Node::File(fs::read(&path).expect("read")));
            } else {
                panic!("{rel:?} is neither a file nor a directory: {meta:?}");
            }
        }
    }
    found
}

type Outcome = Result<(Unpacked, BTreeMap<PathBuf, Node>), u8>;

fn run(name: &str, unpack: impl FnOnce(&Path) -> Result<Unpacked, ExtractError>) -> Outcome {
    let root = root();
    let dest = root.join(name);
    fs::create_dir(&dest).expect("create dest");
    let result = unpack(&dest);
    let outcome = match result {
        Ok(unpacked) => {
            let files = listing(&dest);
            assert!(unpacked.entries <= LIMITS.max_entries);
            assert!(unpacked.bytes <= LIMITS.max_unpacked_bytes);
            let bytes: usize = files
                .values()
                .map(|n| match n {
                    Node::File(data) => data.len(),
                    Node::Dir => 0,
                })
                .sum();
            assert_eq!(bytes as u64, unpacked.bytes);
            for (path, node) in &files {
                if let Node::File(_) = node {
                    let mode = fs::metadata(dest.join(path))
                        .expect("metadata")
                        .permissions()
                        .mode();
                    assert!(matches!(mode & 0o7777, 0o644 | 0o755), "{path:?}: {mode:o}");
                }
            }
            Ok((unpacked, files))
        }
        Err(err) => {
            let message = err.to_string();
            assert!(!message.chars().any(char::is_control), "{message:?}");
            assert_eq!(err.exit_code(), 6, "{err:?}");
            // Whatever was written stays inside dest.
            let _ = listing(&dest);
            Err(err.exit_code())
        }
    };
    // Nothing beside dest.
    let mut names: Vec<_> = fs::read_dir(root)
        .expect("read root")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    let mut expected = [std::ffi::OsString::from(name), "sentinel".into()];
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(fs::read(root.join("sentinel")).expect("sentinel"), b"keep");
    fs::remove_dir_all(&dest).expect("clean dest");
    outcome
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

fn same(a: &Outcome, b: &Outcome) -> bool {
    match (a, b) {
        (Ok((ua, la)), Ok((ub, lb))) => ua == ub && la == lb,
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let plain = run("tar", |dest| unpack_tar(data, dest, &LIMITS));
    let compressed = gzip(data);
    let gz = run("tar.gz", |dest| {
        unpack_tar_gz(&compressed[..], dest, &LIMITS)
    });
    assert!(same(&plain, &gz), "tar: {plain:?}\ntar.gz: {gz:?}");
    let _ = run("raw.gz", |dest| unpack_tar_gz(data, dest, &LIMITS));
});
