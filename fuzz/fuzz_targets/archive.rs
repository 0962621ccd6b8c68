//! Every other archive format is as hostile as tar.gz. For any bytes, unpacked as a zip, a
//! tar.xz, a tar.zst or a bare binary (the first byte picks which):
//! - nothing panics, and a refusal is an archive error (exit 6) or, never for these inputs, a
//!   local one;
//! - nothing appears outside the destination, and inside it no link, only regular files and
//!   directories, within the limits.
#![no_main]

use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

use hookstrap::unpack::{Format, unpack};
use hookstrap::diag::Diagnostic;
use hookstrap::unpack::Limits;

const LIMITS: Limits = Limits {
    max_unpacked_bytes: 1 << 20,
    max_entries: 64,
    max_path_len: 1024,
};

fn root() -> &'static Path {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("hookstrap-fuzz-archive-")
            .tempdir()
            .expect("scratch dir");
        fs::write(dir.path().join("sentinel"), b"keep").expect("sentinel");
        dir
    })
    .path()
}

/// Walks `dir`: no symlinks, every file within the byte budget.
fn check_tree(dir: &Path, total: &mut u64, entries: &mut u64) {
    for entry in fs::read_dir(dir).expect("read dest") {
        let entry = entry.expect("entry");
        let meta = fs::symlink_metadata(entry.path()).expect("metadata");
        assert!(!meta.file_type().is_symlink(), "a link was created: {:?}", entry.path());
        *entries += 1;
        if meta.is_dir() {
            check_tree(&entry.path(), total, entries);
        } else {
            assert!(meta.is_file(), "not a regular file: {:?}", entry.path());
            *total += meta.len();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let format = match which % 4 {
        0 => Format::Zip,
        1 => Format::TarXz,
        2 => Format::TarZst,
        _ => Format::Bare,
    };
    let root = root();
    let dest = tempfile::tempdir_in(root).expect("dest");
    match unpack(format, bytes, None, dest.path(), "tool", &LIMITS) {
        Ok(_) => {
            let (mut total, mut entries) = (0, 0);
            check_tree(dest.path(), &mut total, &mut entries);
            assert!(total <= LIMITS.max_unpacked_bytes, "{total} bytes unpacked");
        }
        Err(err) => {
            assert_eq!(err.exit_code(), 6, "{format:?}: {err}");
        }
    }
    drop(dest);
    let left: Vec<_> = fs::read_dir(root).expect("root").flatten().map(|e| e.file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("sentinel")], "something escaped");
});
