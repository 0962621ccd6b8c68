//! Zip archives, by the same entry rules as tar (see [`super::entry`]).
//!
//! - A zip needs to seek, so it is read from a local file: the caller's `src_path` (the same
//!   bytes as `reader`, which is drained to EOF first), else `reader` spooled to an anonymous
//!   file in `dest`.
//! - The entry count is checked against the central directory before anything is written.
//! - Only regular files and directories are accepted, by the unix file type in the external
//!   attributes (or, without one, by a trailing `/`); encrypted entries are refused.
//! - Bytes are counted as they are decompressed (the sizes in the directory may lie), and CRCs
//!   are checked by reading every entry to its end.
//! - Zips made on Windows carry no modes: files named `bare_name` or `bare_name.exe` become
//!   0755 whatever their mode.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::Path;

use ::zip::result::ZipError;

use super::entry::{BUF_SIZE, Size, Tree, file_name};
use super::shown::{escape_text, shown_name};
use super::source::{Source, Tracker, classify, copy_limited, drain};
use super::{ExtractError, Limits, Unpacked};

/// File type bits of a unix mode.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;

type Archive<'t> = ::zip::ZipArchive<BufReader<Source<'t, File>>>;

/// Unpack a zip (see the module docs) into `dest`, an existing empty directory.
pub(super) fn unpack_zip(
    reader: impl Read,
    src_path: Option<&Path>,
    dest: &Path,
    bare_name: &str,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    let tracker = Tracker::default();
    let file = local_copy(reader, src_path, dest, &tracker)?;
    let mut archive = open(file, &tracker)?;
    let mut tree = Tree::new(dest, limits, &tracker);
    for raw_name in archive.file_names_raw() {
        tree.count(raw_name)?;
    }
    for index in 0..archive.len() {
        let entry = archive
            .by_index(index)
            .map_err(|err| zip_error(err, &tracker))?;
        unpack_entry(&mut tree, entry, bare_name)?;
    }
    Ok(tree.unpacked())
}

/// The zip as a local file, with `reader` read to its end either way.
fn local_copy(
    reader: impl Read,
    src_path: Option<&Path>,
    dest: &Path,
    tracker: &Tracker,
) -> Result<File, ExtractError> {
    let mut source = Source::new(reader, tracker);
    if let Some(path) = src_path {
        drain(&mut source, tracker)?;
        return File::open(path).map_err(|source| ExtractError::Read { source });
    }
    // In `dest`, the caller's temporary directory; unnamed, it never shows in the tree.
    let mut spool = tempfile::tempfile_in(dest).map_err(|source| ExtractError::Create {
        path: dest.to_path_buf(),
        source,
    })?;
    let mut buf = vec![0u8; BUF_SIZE];
    copy_limited(&mut source, &mut spool, dest, u64::MAX, &mut buf, tracker)?;
    spool
        .rewind()
        .map_err(|source| ExtractError::Read { source })?;
    Ok(spool)
}

/// Read the central directory of the local copy.
fn open(file: File, tracker: &Tracker) -> Result<Archive<'_>, ExtractError> {
    let len = file
        .metadata()
        .map_err(|source| ExtractError::Read { source })?
        .len();
    if len == 0 {
        return Err(ExtractError::Empty);
    }
    let reader = BufReader::new(Source::new(file, tracker));
    ::zip::ZipArchive::new(reader).map_err(|err| zip_error(err, tracker))
}

/// Place one entry by its type.
fn unpack_entry<R: Read>(
    tree: &mut Tree<'_>,
    mut entry: ::zip::read::ZipFile<'_, R>,
    bare_name: &str,
) -> Result<(), ExtractError> {
    let raw_name = entry.name_raw().to_vec();
    let mode = entry.unix_mode().unwrap_or(0);
    let is_dir = is_dir(&raw_name, mode)?;
    if entry.encrypted() {
        return Err(ExtractError::UnsupportedEntry {
            name: shown_name(&raw_name),
            kind: "encrypted file".to_owned(),
        });
    }
    if is_dir {
        return tree.dir(&raw_name, entry.size());
    }
    let mode = if is_bare_name(&raw_name, bare_name) {
        mode | 0o111
    } else {
        mode
    };
    tree.file(
        &raw_name,
        Size::Claimed(entry.size()),
        Some(mode),
        &mut entry,
    )?;
    Ok(())
}

/// Whether an entry is a directory, by its unix file type, else by its name; other file types
/// are refused.
fn is_dir(raw_name: &[u8], mode: u32) -> Result<bool, ExtractError> {
    match mode & S_IFMT {
        0 => Ok(raw_name.ends_with(b"/")),
        S_IFDIR => Ok(true),
        S_IFREG if raw_name.ends_with(b"/") => Err(ExtractError::UnsafePath {
            name: shown_name(raw_name),
            reason: "is a file whose name ends with `/`",
        }),
        S_IFREG => Ok(false),
        other => Err(ExtractError::UnsupportedEntry {
            name: shown_name(raw_name),
            kind: kind_name(other).to_owned(),
        }),
    }
}

/// Whether a file entry is the binary a bare name asks for (`gh`, `gh.exe`).
fn is_bare_name(raw_name: &[u8], bare_name: &str) -> bool {
    let name = file_name(raw_name);
    let bare = bare_name.as_bytes();
    name == bare || name.strip_suffix(b".exe") == Some(bare)
}

/// What to call a zip entry's unix file type in a message.
fn kind_name(file_type: u32) -> &'static str {
    match file_type {
        0o120_000 => "symbolic link",
        0o020_000 => "character device",
        0o060_000 => "block device",
        0o010_000 => "FIFO",
        0o140_000 => "socket",
        _ => "file of unknown type",
    }
}

/// What a zip reader error means: its I/O errors like any other read error (a bad deflate
/// stream, a CRC mismatch or a size that does not add up is the archive's fault; the local
/// file failing is not); anything else is a corrupt archive.
fn zip_error(err: ZipError, tracker: &Tracker) -> ExtractError {
    match err {
        ZipError::Io(err) => classify(err, tracker),
        other => ExtractError::Corrupt {
            source: io::Error::new(io::ErrorKind::InvalidData, escape_text(&other.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostic;
    use crate::unpack::testing::*;
    use crate::unpack::{Format, find_binary, unpack};
    use std::fs;

    // ---- zip ----
    #[test]
    fn unpacks_a_windows_zip_and_marks_the_binary_executable() {
        let zip = zip_of(&[
            ("gh_2.63.0_windows_amd64/", None, b""),
            ("gh_2.63.0_windows_amd64/bin/gh.exe", None, b"MZ gh"),
            ("gh_2.63.0_windows_amd64/LICENSE", None, b"MIT"),
        ]);
        let sandbox = Sandbox::new();
        let unpacked = unpack(
            Format::Zip,
            &zip[..],
            None,
            &sandbox.dest,
            "gh",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(unpacked.entries, 3);
        assert_eq!(unpacked.bytes, 8);
        let bin = find_binary(&sandbox.dest, "gh").unwrap();
        assert_eq!(bin, sandbox.dest.join("gh_2.63.0_windows_amd64/bin/gh.exe"));
        #[cfg(unix)]
        {
            assert_eq!(mode_of(&bin), 0o755);
            assert_eq!(
                mode_of(&sandbox.dest.join("gh_2.63.0_windows_amd64/LICENSE")),
                0o644
            );
            assert_eq!(
                mode_of(&sandbox.dest.join("gh_2.63.0_windows_amd64")),
                0o755
            );
        }
    }

    #[test]
    fn zip_unix_modes_are_rebuilt() {
        let zip = zip_of(&[
            ("gh_2.63.0_macOS_arm64/bin/gh", Some(0o4775), b"gh"),
            ("gh_2.63.0_macOS_arm64/share/doc", Some(0o666), b"doc"),
        ]);
        let root = tempfile::TempDir::new().unwrap();
        let src = root.path().join("gh.zip");
        fs::write(&src, &zip).unwrap();
        let sandbox = Sandbox::new();
        // From the file; the reader is the same bytes (drained).
        unpack(
            Format::Zip,
            &zip[..],
            Some(&src),
            &sandbox.dest,
            "other",
            &Limits::default(),
        )
        .unwrap();
        #[cfg(unix)]
        {
            assert_eq!(
                mode_of(&sandbox.dest.join("gh_2.63.0_macOS_arm64/bin/gh")),
                0o755
            );
            assert_eq!(
                mode_of(&sandbox.dest.join("gh_2.63.0_macOS_arm64/share/doc")),
                0o644
            );
        }
    }

    #[test]
    fn zip_refuses_unsafe_names() {
        for name in [
            "../escape",
            "/abs",
            "C:/x",
            "a\\b",
            "a/../../b",
            "nul\0byte",
        ] {
            let zip = zip_of(&[("ok", None, b"x"), (name, None, b"evil")]);
            let sandbox = Sandbox::new();
            let err = unpack(
                Format::Zip,
                &zip[..],
                None,
                &sandbox.dest,
                "t",
                &Limits::default(),
            )
            .expect_err(name);
            assert!(
                matches!(err, ExtractError::UnsafePath { .. }),
                "{name:?}: {err:?}"
            );
            assert_eq!(err.exit_code(), 6);
            sandbox.assert_outside_untouched();
        }
    }

    #[test]
    fn zip_refuses_symlinks_and_special_files() {
        use zip::write::SimpleFileOptions;
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        w.add_symlink("bin/tool", "/etc/passwd", SimpleFileOptions::default())
            .unwrap();
        let zip = w.finish().unwrap().into_inner();
        let sandbox = Sandbox::new();
        let err = unpack(
            Format::Zip,
            &zip[..],
            None,
            &sandbox.dest,
            "tool",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ExtractError::UnsupportedEntry { kind, .. } if kind == "symbolic link"),
            "{err:?}"
        );
        assert!(fs::symlink_metadata(sandbox.dest.join("bin/tool")).is_err());

        // Devices, FIFOs and sockets by their file type bits (the writer would not make them).
        for (file_type, kind) in [
            (0o010_000, "FIFO"),
            (0o020_000, "character device"),
            (0o060_000, "block device"),
            (0o140_000, "socket"),
        ] {
            let mut zip = zip_of(&[("special", Some(0o644), b"")]);
            let at = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap() + 38;
            let attrs: u32 = (file_type | 0o644) << 16;
            zip[at..at + 4].copy_from_slice(&attrs.to_le_bytes());
            let sandbox = Sandbox::new();
            let err = unpack(
                Format::Zip,
                &zip[..],
                None,
                &sandbox.dest,
                "t",
                &Limits::default(),
            )
            .unwrap_err();
            assert!(
                matches!(&err, ExtractError::UnsupportedEntry { kind: k, .. } if k == kind),
                "{kind}: {err:?}"
            );
            assert!(sandbox.listing().is_empty());
        }
    }

    #[test]
    fn zip_limits_entries_and_bytes() {
        let limits = Limits {
            max_unpacked_bytes: 1000,
            max_entries: 3,
            ..Limits::default()
        };
        let names: Vec<String> = (0..4).map(|i| format!("f{i}")).collect();
        let entries: Vec<(&str, Option<u32>, &[u8])> = names
            .iter()
            .map(|n| (n.as_str(), None, &b"x"[..]))
            .collect();
        let zip = zip_of(&entries);
        let sandbox = Sandbox::new();
        let err = unpack(Format::Zip, &zip[..], None, &sandbox.dest, "t", &limits).unwrap_err();
        assert!(
            matches!(err, ExtractError::TooManyEntries { max: 3, .. }),
            "{err:?}"
        );
        assert!(sandbox.listing().is_empty(), "checked before writing");

        let big = vec![0u8; 600];
        let zip = zip_of(&[("a", None, &big), ("b", None, &big)]);
        let err = unpack(
            Format::Zip,
            &zip[..],
            None,
            &Sandbox::new().dest,
            "t",
            &limits,
        )
        .unwrap_err();
        assert!(
            matches!(err, ExtractError::TooLarge { max: 1000, .. }),
            "{err:?}"
        );
    }

    /// Rewrite every recorded uncompressed size of a one-entry zip to `size`.
    fn lie_about_size(zip: &mut [u8], size: u32) {
        for (sig, offset) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
            let at = zip.windows(4).position(|w| w == sig).unwrap();
            zip[at + offset..at + offset + 4].copy_from_slice(&size.to_le_bytes());
        }
    }

    #[test]
    fn zip_counts_real_bytes_not_declared_sizes() {
        let limits = Limits {
            max_unpacked_bytes: 64 * 1024,
            ..Limits::default()
        };
        let bomb = vec![0u8; 1 << 20];
        let mut zip = zip_of(&[("tool", None, &bomb)]);
        lie_about_size(&mut zip, 10);
        let sandbox = Sandbox::new();
        let err = unpack(Format::Zip, &zip[..], None, &sandbox.dest, "tool", &limits).unwrap_err();
        assert_eq!(err.exit_code(), 6, "{err:?}");
        let written = fs::metadata(sandbox.dest.join("tool")).map_or(0, |m| m.len());
        assert!(
            written <= limits.max_unpacked_bytes,
            "wrote {written} bytes"
        );
    }

    #[test]
    fn zip_refuses_corrupt_and_empty_input() {
        let zip = zip_of(&[("tool", None, &[9u8; 5000])]);
        let sandbox = Sandbox::new();
        let err = unpack(
            Format::Zip,
            &b""[..],
            None,
            &sandbox.dest,
            "t",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ExtractError::Empty), "{err:?}");
        let err = unpack(
            Format::Zip,
            &b"not a zip at all"[..],
            None,
            &sandbox.dest,
            "t",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ExtractError::Corrupt { .. }), "{err:?}");
        for cut in [10, zip.len() / 2, zip.len() - 10] {
            let err = unpack(
                Format::Zip,
                &zip[..cut],
                None,
                &Sandbox::new().dest,
                "t",
                &Limits::default(),
            )
            .expect_err(&format!("cut at {cut}"));
            assert_eq!(err.exit_code(), 6, "cut at {cut}: {err:?}");
        }
        // A flipped byte in the compressed data: the CRC (or the inflater) catches it.
        let at = zip.windows(4).position(|w| w == b"PK\x03\x04").unwrap() + 30 + 4 + 2;
        let mut bad = zip.clone();
        bad[at] ^= 0xff;
        let err = unpack(
            Format::Zip,
            &bad[..],
            None,
            &Sandbox::new().dest,
            "t",
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 6, "{err:?}");
    }
}

#[cfg(test)]
mod fuzz_regressions {
    use super::*;
    use crate::diag::Diagnostic;
    use crate::unpack::{Format, unpack};

    /// Found by `scripts/fuzz.sh archive`: a zip whose sizes do not add up was a local error
    /// (exit 7) instead of a corrupt archive (exit 6).
    #[test]
    fn a_zip_with_inconsistent_sizes_is_an_archive_error() {
        let zip: &[u8] = &[
            80, 75, 3, 4, 20, 0, 0, 0, 0, 0, 122, 191, 123, 93, 29, 157, 251, 4, 10, 0, 0, 0, 10,
            0, 0, 0, 4, 0, 0, 0, 116, 111, 111, 108, 35, 33, 47, 98, 105, 110, 47, 115, 104, 10,
            80, 75, 3, 4, 20, 0, 0, 0, 0, 0, 122, 191, 123, 93, 131, 22, 220, 140, 1, 0, 0, 0, 1,
            0, 0, 0, 10, 0, 0, 0, 100, 105, 114, 47, 114, 101, 97, 100, 109, 101, 120, 80, 75, 1,
            2, 20, 3, 20, 0, 0, 0, 123, 0, 0, 122, 191, 93, 29, 157, 251, 4, 10, 0, 0, 0, 10, 0, 0,
            0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 1, 0, 0, 0, 0, 116, 111, 111, 108, 80, 75,
            1, 2, 20, 3, 20, 0, 0, 0, 0, 0, 122, 191, 123, 93, 131, 22, 100, 0, 1, 0, 0, 0, 1, 0,
            0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 1, 44, 0, 0, 0, 100, 105, 114, 47, 114,
            101, 97, 100, 109, 101, 80, 75, 5, 6, 0, 0, 0, 0, 2, 0, 2, 0, 106, 0, 0, 0, 85, 0, 0,
            0, 0, 0,
        ];
        let dir = tempfile::tempdir().unwrap();
        let err = unpack(
            Format::Zip,
            zip,
            None,
            dir.path(),
            "tool",
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 6, "{err:?}");
    }
}
