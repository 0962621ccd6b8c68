//! What the unpacker's unit tests share: a sandbox that notices anything written outside
//! `dest`, archives of every format, and readers that count or fail. Hostile tar streams come
//! from the raw header builder shared with the integration tests (`super::tar_header`).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::{ExtractError, Format, Limits, Unpacked, unpack, unpack_tar_gz};
use crate::diag::Diagnostic;

// ---- a sandbox: dest is a subdirectory, everything beside it must stay untouched ----

pub(super) struct Sandbox {
    pub(super) root: TempDir,
    pub(super) dest: PathBuf,
}

impl Sandbox {
    pub(super) fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("outside.txt"), "keep").unwrap();
        let dest = root.path().join("dest");
        fs::create_dir(&dest).unwrap();
        Self { root, dest }
    }

    pub(super) fn unpack_gz(
        &self,
        archive: &[u8],
        limits: &Limits,
    ) -> Result<Unpacked, ExtractError> {
        unpack_tar_gz(archive, &self.dest, limits)
    }

    /// `bytes` as `format`, a bare binary being called `tool`.
    pub(super) fn unpack(
        &self,
        format: Format,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<Unpacked, ExtractError> {
        unpack(format, bytes, None, &self.dest, "tool", limits)
    }

    /// Every path under `root` outside `dest`, with file contents.
    fn outside(&self) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
        let mut found = BTreeMap::new();
        let mut stack = vec![self.root.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path == self.dest {
                    continue;
                }
                let meta = fs::symlink_metadata(&path).unwrap();
                if meta.is_dir() {
                    stack.push(path.clone());
                    found.insert(path, None);
                } else {
                    found.insert(path.clone(), Some(fs::read(&path).unwrap_or_default()));
                }
            }
        }
        found
    }

    pub(super) fn assert_outside_untouched(&self) {
        let expected =
            BTreeMap::from([(self.root.path().join("outside.txt"), Some(b"keep".to_vec()))]);
        assert_eq!(
            self.outside(),
            expected,
            "something was written outside dest"
        );
    }

    /// All paths under dest, relative, with `/` separators.
    pub(super) fn listing(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![self.dest.clone()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path.strip_prefix(&self.dest).unwrap();
                found.push(rel.to_string_lossy().replace('\\', "/"));
                if fs::symlink_metadata(&path).unwrap().is_dir() {
                    stack.push(path);
                }
            }
        }
        found.sort();
        found
    }

    pub(super) fn dest_bytes(&self) -> u64 {
        let mut total = 0;
        let mut stack = vec![self.dest.clone()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let meta = fs::symlink_metadata(&path).unwrap();
                if meta.is_dir() {
                    stack.push(path);
                } else {
                    total += meta.len();
                }
            }
        }
        total
    }
}

/// Unpack a tar (gzip'ed here) that must be refused with `code`; nothing may leak outside.
pub(super) fn refused_with(tar: &[u8], limits: &Limits, code: u8) -> ExtractError {
    let sandbox = Sandbox::new();
    let err = sandbox
        .unpack_gz(&gz(tar), limits)
        .expect_err("archive was accepted");
    assert_eq!(err.exit_code(), code, "{err}: {:?}", err);
    sandbox.assert_outside_untouched();
    // uv style: no trailing period, names in backticks, printable.
    let message = err.to_string();
    assert!(!message.ends_with('.'), "{message}");
    assert!(!message.chars().any(char::is_control), "{message:?}");
    err
}

pub(super) fn refused(tar: &[u8]) -> ExtractError {
    refused_with(tar, &Limits::default(), 6)
}

#[cfg(unix)]
pub(super) fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

// ---- archives ----

/// A tar written by the `tar` crate (a real writer), holding `files` (`name`, mode, data);
/// names ending in `/` are directories.
pub(super) fn tar_of(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, mode, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(*mode);
        header.set_entry_type(if name.ends_with('/') {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        builder.append_data(&mut header, name, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

pub(super) fn gz(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub(super) fn xz(data: &[u8]) -> Vec<u8> {
    let mut w =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(0)).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

pub(super) fn zst(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

pub(super) const TAR_FORMATS: [Format; 3] = [Format::TarGz, Format::TarXz, Format::TarZst];

/// `tar` compressed as `format`, one of [`TAR_FORMATS`].
pub(super) fn compress(format: Format, tar: &[u8]) -> Vec<u8> {
    match format {
        Format::TarGz => gz(tar),
        Format::TarXz => xz(tar),
        Format::TarZst => zst(tar),
        other => panic!("{other:?} is not a compressed tar"),
    }
}

/// `entries`: (name, unix mode or None, data); names ending in `/` are directories.
pub(super) fn zip_of(entries: &[(&str, Option<u32>, &[u8])]) -> Vec<u8> {
    use ::zip::write::SimpleFileOptions;
    let mut w = ::zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    for (name, mode, data) in entries {
        let mut options =
            SimpleFileOptions::default().compression_method(::zip::CompressionMethod::Deflated);
        if let Some(mode) = mode {
            options = options.unix_permissions(*mode);
        }
        if let Some(dir) = name.strip_suffix('/') {
            w.add_directory(dir, options).unwrap();
        } else {
            w.start_file(*name, options).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

/// gh 2.63.0's layout: `gh_2.63.0_linux_amd64/{bin/gh,LICENSE,share/man/man1/gh.1}`.
pub(super) fn gh_tree() -> Vec<u8> {
    tar_of(&[
        ("gh_2.63.0_linux_amd64/", 0o755, b""),
        ("gh_2.63.0_linux_amd64/bin/", 0o755, b""),
        ("gh_2.63.0_linux_amd64/bin/gh", 0o755, b"\x7fELF gh"),
        ("gh_2.63.0_linux_amd64/LICENSE", 0o644, b"MIT"),
        (
            "gh_2.63.0_linux_amd64/share/man/man1/gh.1",
            0o644,
            b".TH GH",
        ),
    ])
}

/// ripgrep 14.1.1's layout: the binary at the top of a directory, completions beside it.
pub(super) fn rg_tree() -> Vec<u8> {
    tar_of(&[
        (
            "ripgrep-14.1.1-x86_64-unknown-linux-musl/rg",
            0o755,
            b"\x7fELF rg",
        ),
        (
            "ripgrep-14.1.1-x86_64-unknown-linux-musl/README.md",
            0o644,
            b"# rg",
        ),
        (
            "ripgrep-14.1.1-x86_64-unknown-linux-musl/complete/rg.bash",
            0o644,
            b"complete",
        ),
        (
            "ripgrep-14.1.1-x86_64-unknown-linux-musl/doc/rg.1",
            0o644,
            b".TH RG",
        ),
    ])
}

/// Deterministic noise.
pub(super) fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

// ---- readers ----

/// Gives `data`, then fails as a broken disk would.
pub(super) struct FailingReader<'a> {
    pub(super) data: &'a [u8],
}

impl Read for FailingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = self.data.len().min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Counts what was read through it (by `&mut`, to look at the count afterwards).
pub(super) struct Counting<R> {
    pub(super) inner: R,
    pub(super) count: u64,
}

impl<R> Counting<R> {
    pub(super) fn new(inner: R) -> Self {
        Counting { inner, count: 0 }
    }
}

impl<R: Read> Read for &mut Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}
