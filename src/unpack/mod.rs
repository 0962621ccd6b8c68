//! Release archives of every shape a tool may ship (`.tar.gz`, `.tar.xz`, `.tar.zst`, `.zip`
//! and a bare binary) unpacked into a directory, then the one binary to install found inside.
//!
//! The archive is hostile even after its checksum matched (SPEC.md, "Untrusted archives"), and
//! every format keeps the same invariants:
//!
//! - Every entry goes through the one set of rules in `entry.rs`: only regular files and
//!   directories with plain relative names land, only inside `dest`, never through a link or
//!   over an earlier entry; modes are rebuilt as 0755 or 0644.
//! - [`Limits`] hold for every format: entries are counted, file data is counted as it is
//!   written, and a decoder's output is cut off just past what the limits allow, so a bomb
//!   stops early.
//! - The same fault gives the same [`ExtractError`] in every format, and one classification
//!   (`source.rs`) tells the caller's reader failing (a local error, exit 7) from the archive's
//!   faults (exit 6).
//! - Every format reads the caller's reader to EOF, so a hashing reader wrapped around it sees
//!   every byte.
//! - Nothing is cleaned up on error: `dest` is the caller's temporary directory.
//!
//! The formats: `tarball.rs` (one entry loop for tar, plain or behind a gzip, xz or zstd
//! decoder, the last in `zstd.rs`), `zip.rs`, `bare.rs`; then `find.rs` finds the binary in the
//! unpacked tree. No part of this
//! module prints or reads the environment.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

mod bare;
mod entry;
mod find;
mod shown;
mod source;
mod tarball;
mod zip;
mod zstd;

pub use crate::resolve::assets::Format;
pub use find::{FindError, find_binary};
pub use tarball::{unpack_tar, unpack_tar_gz};

use crate::diag::{Code, Diagnostic};
use shown::shown_path;

#[cfg(test)]
#[path = "../../tests/common/tar_header.rs"]
mod tar_header;
#[cfg(test)]
mod testing;

/// What an archive may hold at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Sum of the sizes of all files.
    pub max_unpacked_bytes: u64,
    /// Number of entries, counting files, directories and global pax headers.
    pub max_entries: u64,
    /// Length in bytes of an entry's name as stored in the archive.
    pub max_path_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_unpacked_bytes: 1 << 30,
            max_entries: 10_000,
            max_path_len: 4096,
        }
    }
}

/// What an archive unpacked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Unpacked {
    /// File and directory entries unpacked (parents created on the way are not counted).
    pub entries: u64,
    /// Bytes written into files.
    pub bytes: u64,
}

/// Why an archive was not unpacked.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("archive is empty")]
    Empty,
    /// The first bytes are not the magic of the format the asset's name says.
    #[error("archive is not {}", stream_name(*expected))]
    WrongFormat { expected: Format },
    #[error("archive is truncated")]
    Truncated {
        #[source]
        source: Option<io::Error>,
    },
    #[error("archive is corrupt")]
    Corrupt {
        #[source]
        source: io::Error,
    },
    #[error("archive entry `{name}` is a {kind}, which is not allowed")]
    UnsupportedEntry { name: String, kind: String },
    #[error("archive entry `{name}` {reason}")]
    UnsafePath { name: String, reason: &'static str },
    #[error("archive entry `{name}` has a name longer than {max} bytes")]
    PathTooLong { name: String, max: usize },
    #[error("archive entry `{name}` collides with an earlier entry")]
    Duplicate { name: String },
    #[error("archive entry `{name}` is a directory with data")]
    DirectoryWithData { name: String },
    #[error("archive entry `{name}` has an invalid mode")]
    InvalidMode { name: String },
    #[error("archive has more than {max} entries (at entry `{name}`)")]
    TooManyEntries { name: String, max: u64 },
    #[error("archive unpacks to more than {max} bytes (at entry `{name}`)")]
    TooLarge { name: String, max: u64 },
    #[error("archive has oversized headers or trailing data")]
    OversizedMetadata,
    #[error("failed to read the archive")]
    Read {
        #[source]
        source: io::Error,
    },
    #[error("failed to create `{}`", shown_path(path))]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("failed to write `{}`", shown_path(path))]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl Diagnostic for ExtractError {
    /// 7 for a local read or write failure, 6 for anything wrong with the archive.
    fn code(&self) -> Code {
        match self {
            Self::Read { .. } | Self::Create { .. } | Self::Write { .. } => Code::LocalFs,
            _ => Code::Archive,
        }
    }

    /// What the user can do about it, where there is something.
    fn hint(&self) -> Option<String> {
        match self {
            Self::Empty
            | Self::WrongFormat { .. }
            | Self::Truncated { .. }
            | Self::Corrupt { .. } => Some(
                "the release archive is damaged or is not in the format its name says; \
                 it cannot be installed"
                    .to_owned(),
            ),
            Self::UnsupportedEntry { .. }
            | Self::UnsafePath { .. }
            | Self::PathTooLong { .. }
            | Self::Duplicate { .. }
            | Self::DirectoryWithData { .. }
            | Self::InvalidMode { .. } => Some(
                "release archives hold only plain files and directories; \
                 this one is malformed or has been tampered with"
                    .to_owned(),
            ),
            Self::TooLarge { .. } => Some(
                "if you trust this archive, raise the limit with `--max-unpacked BYTES` or \
                 `HOOKSTRAP_MAX_UNPACKED`"
                    .to_owned(),
            ),
            Self::TooManyEntries { .. } => Some(
                "if you trust this archive, raise the limit with `--max-entries N` or \
                 `HOOKSTRAP_MAX_ENTRIES`"
                    .to_owned(),
            ),
            Self::Create { source, .. } | Self::Write { source, .. } => match source.kind() {
                io::ErrorKind::StorageFull => Some("free some disk space and retry".to_owned()),
                io::ErrorKind::PermissionDenied => {
                    Some("check the permissions of the install directory".to_owned())
                }
                _ => None,
            },
            Self::OversizedMetadata | Self::Read { .. } => None,
        }
    }
}

/// What a format's bytes are called in a message.
fn stream_name(format: Format) -> &'static str {
    match format {
        Format::TarGz => "a gzip stream",
        Format::TarXz => "an xz stream",
        Format::TarZst => "a zstd stream",
        Format::Zip => "a zip archive",
        Format::Bare => "a file",
    }
}

/// Unpack `reader` (an asset in `format`) into `dest`, an existing empty directory.
///
/// - `src_path`: the same bytes as a file. A zip needs to seek: it is read from `src_path` (and
///   `reader` is drained to EOF first); without one, `reader` is spooled to an anonymous file
///   in `dest`.
/// - `bare_name`: the file name a bare binary gets in `dest` (mode 0755). In a zip, files named
///   `bare_name` or `bare_name.exe` also become 0755 (zips made on Windows carry no modes).
pub fn unpack(
    format: Format,
    reader: impl Read,
    src_path: Option<&Path>,
    dest: &Path,
    bare_name: &str,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    match format {
        Format::TarGz => tarball::unpack_tar_gz(reader, dest, limits),
        Format::TarXz => tarball::unpack_tar_xz(reader, dest, limits),
        Format::TarZst => tarball::unpack_tar_zst(reader, dest, limits),
        Format::Zip => zip::unpack_zip(reader, src_path, dest, bare_name, limits),
        Format::Bare => bare::unpack_bare(reader, dest, bare_name, limits),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::testing::*;

    #[test]
    fn default_limits() {
        let limits = Limits::default();
        assert_eq!(limits.max_unpacked_bytes, 1 << 30);
        assert_eq!(limits.max_entries, 10_000);
        assert_eq!(limits.max_path_len, 4096);
    }

    // ---- formats from names ----
    #[test]
    fn formats_from_asset_names() {
        for (name, format) in [
            ("gh_2.63.0_linux_amd64.tar.gz", Some(Format::TarGz)),
            ("tool.TGZ", Some(Format::TarGz)),
            ("node-v20.11.0-linux-x64.tar.xz", Some(Format::TarXz)),
            ("tool.txz", Some(Format::TarXz)),
            ("tool-linux.tar.zst", Some(Format::TarZst)),
            ("tool.tzst", Some(Format::TarZst)),
            ("gh_2.63.0_macOS_arm64.zip", Some(Format::Zip)),
            (
                "ripgrep-14.1.1-x86_64-pc-windows-msvc.zip",
                Some(Format::Zip),
            ),
            ("jq-linux-amd64", Some(Format::Bare)),
            ("yq_linux_amd64", Some(Format::Bare)),
            ("jq-windows-amd64.exe", Some(Format::Bare)),
            ("tool.exe", Some(Format::Bare)),
            ("tool-v1.2.3-linux-amd64", Some(Format::Bare)),
            ("gh_2.63.0_linux_amd64.deb", None),
            ("gh_2.63.0_linux_amd64.rpm", None),
            ("tool.apk", None),
            ("gh_2.63.0_windows_amd64.msi", None),
            ("gh_2.63.0_macOS_universal.pkg", None),
            ("tool.dmg", None),
            ("checksums.txt.sig", None),
            ("SHA256SUMS.asc", None),
            ("tool.pem", None),
            ("tool.sbom", None),
            ("tool.spdx.json", None),
            ("gh_2.63.0_checksums.txt", None),
            (
                "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz.sha256",
                None,
            ),
            ("tool.tar.gz.sha512", None),
            ("tool.md5", None),
            ("attestation.intoto.jsonl", None),
            ("install-man-page.sh", None),
            ("tool.tar", None),
            ("tool-linux-amd64.gz", None),
            ("tool.tar.bz2", None),
            ("", None),
        ] {
            assert_eq!(Format::from_asset_name(name), format, "{name}");
        }
    }

    #[test]
    fn every_format_drains_the_reader() {
        let tar = gh_tree();
        let zip = zip_of(&[("gh_2.63.0_windows_amd64/bin/gh.exe", None, b"MZ")]);
        let cases = [
            (Format::TarGz, gz(&tar)),
            (Format::TarXz, xz(&tar)),
            (Format::TarZst, zst(&tar)),
            (Format::Zip, zip),
            (Format::Bare, b"\x7fELF".to_vec()),
        ];
        for (format, bytes) in cases {
            let sandbox = Sandbox::new();
            let mut reader = Counting::new(&bytes[..]);
            unpack(
                format,
                &mut reader,
                None,
                &sandbox.dest,
                "gh",
                &Limits::default(),
            )
            .unwrap();
            assert_eq!(reader.count, bytes.len() as u64, "{format:?}");
        }
    }

    #[test]
    fn a_failing_reader_is_a_local_error_for_every_format() {
        let xz_head = xz(b"")[..6].to_vec();
        let zst_head = zst(b"")[..4].to_vec();
        for (format, head) in [
            (Format::TarGz, vec![0x1f, 0x8b, 8, 0]),
            (Format::TarXz, xz_head),
            (Format::TarZst, zst_head),
            (Format::Zip, b"PK".to_vec()),
            (Format::Bare, b"x".to_vec()),
        ] {
            let sandbox = Sandbox::new();
            let reader = FailingReader { data: &head };
            let err = unpack(
                format,
                reader,
                None,
                &sandbox.dest,
                "tool",
                &Limits::default(),
            )
            .unwrap_err();
            assert!(
                matches!(err, ExtractError::Read { .. }),
                "{format:?}: {err:?}"
            );
            assert_eq!(err.exit_code(), 7);
        }
    }

    // ---- the same fault, the same error ----

    #[test]
    fn wrong_magic_is_one_error_for_every_compressed_format() {
        let tar = tar_of(&[("tool", 0o755, b"x")]);
        let others = [
            ("gzip", Some(Format::TarGz), gz(&tar)),
            ("xz", Some(Format::TarXz), xz(&tar)),
            ("zstd", Some(Format::TarZst), zst(&tar)),
            ("zip", None, zip_of(&[("tool", None, b"x")])),
            ("plain tar", None, tar.clone()),
            ("noise", None, noise(4096, 7)),
            ("one byte", None, vec![0x1f]),
        ];
        for format in TAR_FORMATS {
            let message = match format {
                Format::TarGz => "archive is not a gzip stream",
                Format::TarXz => "archive is not an xz stream",
                _ => "archive is not a zstd stream",
            };
            for (what, _, bytes) in others.iter().filter(|(_, f, _)| *f != Some(format)) {
                let sandbox = Sandbox::new();
                let err = sandbox
                    .unpack(format, bytes, &Limits::default())
                    .unwrap_err();
                assert!(
                    matches!(err, ExtractError::WrongFormat { expected } if expected == format),
                    "{format:?} given {what}: {err:?}"
                );
                assert_eq!(err.to_string(), message);
                assert_eq!(err.exit_code(), 6);
                assert!(err.hint().is_some());
                assert!(sandbox.listing().is_empty(), "{format:?} given {what}");
            }
        }
    }

    #[test]
    fn empty_input_is_one_error_for_every_format() {
        for format in [
            Format::TarGz,
            Format::TarXz,
            Format::TarZst,
            Format::Zip,
            Format::Bare,
        ] {
            let err = Sandbox::new()
                .unpack(format, b"", &Limits::default())
                .unwrap_err();
            assert!(matches!(err, ExtractError::Empty), "{format:?}: {err:?}");
            assert_eq!(err.exit_code(), 6);
        }
        // A stream that decodes to nothing is empty too.
        for format in TAR_FORMATS {
            let err = Sandbox::new()
                .unpack(format, &compress(format, b""), &Limits::default())
                .unwrap_err();
            assert!(matches!(err, ExtractError::Empty), "{format:?}: {err:?}");
        }
    }
}
