//! Tar streams, plain or behind a decoder (gzip, xz, zstd): one entry loop for all of them.
//!
//! - A compressed stream must start with its format's magic bytes, else it is
//!   [`ExtractError::WrongFormat`]; then it goes through its decoder into [`unpack_decoded`].
//!   Decoder memory is bounded (xz: 256 MiB dictionary limit; zstd: ruzstd's 128 MiB window).
//! - Only regular files (`0` and the old `\0`) and directories (`5`) are unpacked, by the rules
//!   of [`super::entry`]. GNU long names and pax headers are read as metadata (the `tar` crate
//!   resolves them); global pax headers are skipped; links, devices, FIFOs, sparse files and
//!   every other type are refused. Nothing goes through `tar`'s own `unpack`.
//! - The decoded stream is counted as it streams. A file may only hold the bytes its header
//!   claims. Headers, long names, pax data and padding get their own small allowance: 1 MiB plus
//!   2 KiB + 2 × `max_path_len` per entry, at most 1 MiB + 2 × `max_path_len` at a time. So the
//!   decoded stream is cut off after `max_unpacked_bytes` plus that slack (a bomb stops long
//!   before the disk or memory fills), and memory stays at one 64 KiB buffer plus whatever
//!   `tar` buffers for one long name or pax header.
//! - Truncation anywhere is an error: a missing end-of-archive block, a short entry, a short
//!   stream or a failed integrity check (gzip CRC and length, xz block checks, zstd content
//!   checksums). A single zero block is accepted as the end marker, as GNU tar does.
//! - After the end marker the decoded stream is read to its end within the allowance, then the
//!   caller's reader is drained to EOF. Bytes after a gzip member are drained without decoding
//!   (GNU tar ignores them); the xz and zstd decoders read their input to EOF, refusing
//!   anything that is not a stream.

use std::io::{self, BufReader, Read};
use std::path::Path;

use tar::EntryType;

use super::entry::{BUF_SIZE, Size, Tree};
use super::shown::{escape_text, shown_name};
use super::source::{Budgeted, Source, Tracker, classify, drain};
use super::zstd::ZstdFrames;
use super::{ExtractError, Format, Limits, Unpacked};

/// Allowance for headers, long names, pax data and padding before the first entry, and the
/// most one step of the `tar` reader may consume between two entries (before `max_path_len`).
const HEADER_SLACK: u64 = 1 << 20;

/// Allowance for headers and padding added per entry (before `max_path_len`).
const ENTRY_SLACK: u64 = 2048;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Most memory the xz decoder may allocate for one block's dictionary, in KiB (`xz -9` needs
/// 64 MiB; anything larger than this is not a release archive).
const XZ_MEM_LIMIT_KB: u32 = 256 * 1024;

/// Unpack a gzip'ed tar stream into `dest` (an existing, empty directory), then drain `reader`
/// to EOF so that a hashing reader wrapping it sees every byte.
pub fn unpack_tar_gz<R: Read>(
    reader: R,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    let tracker = Tracker::default();
    let input = open(reader, &tracker, Format::TarGz, &GZIP_MAGIC)?;
    let mut decoder = flate2::bufread::GzDecoder::new(input);
    let unpacked = unpack_decoded(&mut decoder, &tracker, dest, limits)?;
    drain(decoder.into_inner(), &tracker)?;
    Ok(unpacked)
}

/// The same for an xz-compressed tar stream. Concatenated streams and stream padding are valid.
pub(super) fn unpack_tar_xz(
    reader: impl Read,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    let tracker = Tracker::default();
    let input = open(reader, &tracker, Format::TarXz, &XZ_MAGIC)?;
    let mut decoder = lzma_rust2::XzReader::new_mem_limit(input, true, XZ_MEM_LIMIT_KB);
    let unpacked = unpack_decoded(&mut decoder, &tracker, dest, limits)?;
    drain(decoder.into_inner(), &tracker)?;
    Ok(unpacked)
}

/// The same for a zstd-compressed tar stream, of one frame or several.
pub(super) fn unpack_tar_zst(
    reader: impl Read,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    let tracker = Tracker::default();
    let input = open(reader, &tracker, Format::TarZst, &ZSTD_MAGIC)?;
    let mut decoder = ZstdFrames::new(input);
    let unpacked = unpack_decoded(&mut decoder, &tracker, dest, limits)?;
    drain(decoder.into_inner(), &tracker)?;
    Ok(unpacked)
}

/// The same for an uncompressed tar stream (public for tests and fuzzing).
pub fn unpack_tar<R: Read>(
    reader: R,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    let tracker = Tracker::default();
    unpack_decoded(Source::new(reader, &tracker), &tracker, dest, limits)
}

/// The caller's reader behind a buffer, once its first bytes are `magic` (`format`'s).
type Input<'t, R> = BufReader<io::Chain<io::Cursor<Vec<u8>>, Source<'t, R>>>;

fn open<'t, R: Read>(
    reader: R,
    tracker: &'t Tracker,
    format: Format,
    magic: &[u8],
) -> Result<Input<'t, R>, ExtractError> {
    let mut source = Source::new(reader, tracker);
    let mut head = Vec::with_capacity(magic.len());
    (&mut source)
        .take(magic.len() as u64)
        .read_to_end(&mut head)
        .map_err(|err| classify(err, tracker))?;
    if head.is_empty() {
        return Err(ExtractError::Empty);
    }
    if head != magic {
        return Err(ExtractError::WrongFormat { expected: format });
    }
    Ok(BufReader::with_capacity(
        BUF_SIZE,
        io::Cursor::new(head).chain(source),
    ))
}

/// Unpack the tar stream `decoded` into `dest`, then read it to its end within the allowance.
fn unpack_decoded(
    decoded: impl Read,
    tracker: &Tracker,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    let mut stream = Budgeted::new(decoded, tracker);
    let unpacked = unpack_entries(&mut stream, tracker, dest, limits)?;
    drain(&mut stream, tracker)?;
    Ok(unpacked)
}

/// The allowance for what is not file data: headers, long names, pax data and padding.
struct Slack {
    /// What is left of it.
    left: u64,
    /// The most one step of the `tar` reader may use.
    step: u64,
    /// What each entry adds.
    per_entry: u64,
}

impl Slack {
    fn new(limits: &Limits) -> Self {
        let path_slack = (limits.max_path_len as u64).saturating_mul(2);
        Slack {
            left: HEADER_SLACK,
            step: HEADER_SLACK.saturating_add(path_slack),
            per_entry: ENTRY_SLACK.saturating_add(path_slack),
        }
    }

    /// What the next step may read.
    fn next(&self) -> u64 {
        self.left.min(self.step)
    }
}

/// Unpack every entry up to the end marker, then leave the allowance set for what follows.
fn unpack_entries(
    reader: impl Read,
    tracker: &Tracker,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    let mut tree = Tree::new(dest, limits, tracker);
    let mut slack = Slack::new(limits);
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries().map_err(|err| classify(err, tracker))?;
    loop {
        // Everything `tar` reads in this step is headers, long names, pax data or padding.
        let start = tracker.read();
        tracker.allow(slack.next());
        let next = entries.next();
        slack.left = slack.left.saturating_sub(tracker.read() - start);
        let Some(entry) = entry_or_end(next, tracker)? else {
            break;
        };
        tree.count(&entry.path_bytes())?;
        slack.left = slack.left.saturating_add(slack.per_entry);
        unpack_entry(&mut tree, entry, tracker)?;
    }
    tracker.allow(slack.next());
    Ok(tree.unpacked())
}

/// The next entry, `None` at the end marker; the end of the stream without one is a cut.
fn entry_or_end<E>(
    next: Option<io::Result<E>>,
    tracker: &Tracker,
) -> Result<Option<E>, ExtractError> {
    match next {
        None if tracker.stream_ended() && tracker.read() == 0 => Err(ExtractError::Empty),
        // `tar` also stops at EOF on a block boundary: without an end marker, the archive was
        // cut short.
        None if tracker.stream_ended() => Err(ExtractError::Truncated { source: None }),
        None => Ok(None),
        Some(Err(err)) => Err(classify(err, tracker)),
        Some(Ok(entry)) => Ok(Some(entry)),
    }
}

/// Place one entry by its type.
fn unpack_entry<R: Read>(
    tree: &mut Tree<'_>,
    mut entry: tar::Entry<'_, R>,
    tracker: &Tracker,
) -> Result<(), ExtractError> {
    let raw_name = entry.path_bytes().into_owned();
    match entry.header().entry_type() {
        EntryType::Regular => {
            let size = entry.size();
            let mode = entry.header().mode().ok();
            // Exactly the entry's data; `tar` would not read past it anyway.
            tracker.allow(size);
            tree.file(&raw_name, Size::Exact(size), mode, &mut entry)?;
            Ok(())
        }
        EntryType::Directory => tree.dir(&raw_name, entry.size()),
        // Metadata for the whole archive; `tar` skips its data on the next step.
        EntryType::XGlobalHeader => Ok(()),
        other => Err(ExtractError::UnsupportedEntry {
            name: shown_name(&raw_name),
            kind: kind_name(other),
        }),
    }
}

/// What to call an entry type in a message.
fn kind_name(kind: EntryType) -> String {
    match kind {
        EntryType::Symlink => "symbolic link".to_owned(),
        EntryType::Link => "hard link".to_owned(),
        EntryType::Char => "character device".to_owned(),
        EntryType::Block => "block device".to_owned(),
        EntryType::Fifo => "FIFO".to_owned(),
        EntryType::GNUSparse => "GNU sparse file".to_owned(),
        EntryType::Continuous => "contiguous file".to_owned(),
        other => format!(
            "entry of type `{}`",
            escape_text(&char::from(other.as_byte()).to_string())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostic;
    use crate::unpack::find_binary;
    use crate::unpack::tar_header::{Header, MODE, REGULAR, SYMLINK, Tar, header};
    use crate::unpack::testing::*;
    use flate2::Compression;
    use std::fs;

    // ---- entry types ----
    fn refused_kind(kind: u8, expected: &str) {
        let tar = Tar::default().special("thing", kind).finish();
        let err = refused(&tar);
        assert!(
            matches!(err, ExtractError::UnsupportedEntry { .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("archive entry `thing` is a {expected}, which is not allowed")
        );
    }

    #[test]
    fn refuses_symlink() {
        refused_kind(b'2', "symbolic link");
    }

    #[test]
    fn refuses_symlink_then_write_through_it() {
        let tar = Tar::default()
            .link("link", SYMLINK, "/tmp")
            .file("link/evil", 0o644, b"evil");
        refused(&tar.finish());
    }

    #[test]
    fn refuses_hardlink() {
        refused_kind(b'1', "hard link");
    }

    #[test]
    fn refuses_char_device() {
        refused_kind(b'3', "character device");
    }

    #[test]
    fn refuses_block_device() {
        refused_kind(b'4', "block device");
    }

    #[test]
    fn refuses_fifo() {
        refused_kind(b'6', "FIFO");
    }

    #[test]
    fn refuses_contiguous_and_unknown_types() {
        refused_kind(b'7', "contiguous file");
        refused_kind(b'Z', "entry of type `Z`");
    }

    #[test]
    fn refuses_gnu_sparse() {
        let err = refused(&Tar::default().special("sparse", b'S').finish());
        assert!(
            matches!(
                err,
                ExtractError::UnsupportedEntry { .. } | ExtractError::Corrupt { .. }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn refuses_directory_with_data() {
        let err = refused(&Tar::default().entry(b"d/", b'5', 0o755, b"hidden").finish());
        assert!(
            matches!(err, ExtractError::DirectoryWithData { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn skips_global_pax_header() {
        let sandbox = Sandbox::new();
        let tar = Tar::default()
            .entry(b"pax_global_header", b'g', 0o644, b"52 comment=abc\n")
            .file("a", 0o644, b"x")
            .finish();
        let unpacked = sandbox.unpack_gz(&gz(&tar), &Limits::default()).unwrap();
        assert_eq!(
            unpacked,
            Unpacked {
                entries: 1,
                bytes: 1
            }
        );
        assert_eq!(sandbox.listing(), ["a"]);
    }

    #[test]
    fn refuses_invalid_mode() {
        let bad_mode = Header::new(b"a", REGULAR, 0o644, 0).field(MODE, b"9z9z9z9\0");
        let err = refused(&Tar::default().raw(&bad_mode.bytes(), b"").finish());
        assert!(matches!(err, ExtractError::InvalidMode { .. }), "{err:?}");
    }

    /// Feeds a gzip stream compressed on the fly and counts how much of the plain input was
    /// ever pulled, so a bomb never exists in memory or on disk.
    struct LazyGz<R: Read> {
        encoder: flate2::read::GzEncoder<Counted<R>>,
    }

    impl<R: Read> LazyGz<R> {
        fn new(plain: R) -> Self {
            Self {
                encoder: flate2::read::GzEncoder::new(
                    Counted {
                        inner: plain,
                        count: 0,
                    },
                    Compression::fast(),
                ),
            }
        }
        fn plain_pulled(&self) -> u64 {
            self.encoder.get_ref().count
        }
    }

    impl<R: Read> Read for &mut LazyGz<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.encoder.read(buf)
        }
    }

    struct Counted<R> {
        inner: R,
        count: u64,
    }

    impl<R: Read> Read for Counted<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.count += n as u64;
            Ok(n)
        }
    }

    #[test]
    fn gzip_bomb_in_one_entry_is_stopped_at_its_header() {
        let claimed: u64 = 10 << 30;
        let head = header(b"bomb", b'0', 0o644, claimed);
        let plain = io::Cursor::new(head.to_vec()).chain(io::repeat(0).take(claimed));
        let mut lazy = LazyGz::new(plain);
        let sandbox = Sandbox::new();
        let limits = Limits {
            max_unpacked_bytes: 1 << 20,
            ..Limits::default()
        };
        let err = unpack_tar_gz(&mut lazy, &sandbox.dest, &limits).unwrap_err();
        assert!(matches!(err, ExtractError::TooLarge { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 6);
        assert!(lazy.plain_pulled() < 2 << 20, "{}", lazy.plain_pulled());
        assert!(sandbox.dest_bytes() < 2 << 20);
        sandbox.assert_outside_untouched();
    }

    #[test]
    fn gzip_bomb_of_zeros_is_stopped() {
        // 200 MB of zeros: the first block ends the archive and the rest must not be drained.
        let plain = Tar::default().file("a", 0o644, b"x").unfinished();
        let plain = io::Cursor::new(plain).chain(io::repeat(0).take(200_000_000));
        let mut lazy = LazyGz::new(plain);
        let sandbox = Sandbox::new();
        let limits = Limits {
            max_unpacked_bytes: 1 << 20,
            ..Limits::default()
        };
        let err = unpack_tar_gz(&mut lazy, &sandbox.dest, &limits).unwrap_err();
        assert!(matches!(err, ExtractError::OversizedMetadata), "{err:?}");
        assert_eq!(err.exit_code(), 6);
        assert!(lazy.plain_pulled() < 4 << 20, "{}", lazy.plain_pulled());
        assert!(sandbox.dest_bytes() < 2 << 20);
        sandbox.assert_outside_untouched();
    }

    #[test]
    fn gzip_bomb_in_long_name_is_stopped() {
        // `tar` reads a long name into memory: the budget must cut it off.
        let claimed: u64 = 10 << 30;
        let head = header(b"././@LongLink", b'L', 0o644, claimed);
        let plain = io::Cursor::new(head.to_vec()).chain(io::repeat(b'a').take(claimed));
        let mut lazy = LazyGz::new(plain);
        let sandbox = Sandbox::new();
        let err = unpack_tar_gz(&mut lazy, &sandbox.dest, &Limits::default()).unwrap_err();
        assert!(matches!(err, ExtractError::OversizedMetadata), "{err:?}");
        assert!(lazy.plain_pulled() < 4 << 20, "{}", lazy.plain_pulled());
        sandbox.assert_outside_untouched();
    }

    #[test]
    fn huge_global_header_is_stopped() {
        let claimed: u64 = 1 << 30;
        let head = header(b"pax_global_header", b'g', 0o644, claimed);
        let plain = io::Cursor::new(head.to_vec()).chain(io::repeat(b'a').take(claimed));
        let mut lazy = LazyGz::new(plain);
        let sandbox = Sandbox::new();
        let err = unpack_tar_gz(&mut lazy, &sandbox.dest, &Limits::default()).unwrap_err();
        assert!(matches!(err, ExtractError::OversizedMetadata), "{err:?}");
        assert!(lazy.plain_pulled() < 4 << 20, "{}", lazy.plain_pulled());
    }

    // ---- corrupt and truncated input ----
    #[test]
    fn refuses_truncated_gzip() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let archive = gz(&Tar::default().file("a", 0o644, &data).finish());
        let sandbox = Sandbox::new();
        let err = sandbox
            .unpack_gz(&archive[..archive.len() / 2], &Limits::default())
            .unwrap_err();
        assert!(matches!(err, ExtractError::Truncated { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 6);
        sandbox.assert_outside_untouched();
    }

    #[test]
    fn refuses_gzip_cut_anywhere() {
        let archive = gz(&Tar::default()
            .dir("d", 0o755)
            .file("d/a", 0o755, b"hello")
            .finish());
        for cut in 0..archive.len() {
            let sandbox = Sandbox::new();
            let result = sandbox.unpack_gz(&archive[..cut], &Limits::default());
            let err = result.expect_err(&format!("accepted a gzip cut at {cut}"));
            assert_eq!(err.exit_code(), 6, "cut at {cut}: {err:?}");
        }
        Sandbox::new()
            .unpack_gz(&archive, &Limits::default())
            .unwrap();
    }

    #[test]
    fn refuses_bad_gzip_checksum() {
        let mut archive = gz(&Tar::default().file("a", 0o644, b"x").finish());
        let at = archive.len() - 8;
        archive[at] ^= 0xff;
        let sandbox = Sandbox::new();
        let err = sandbox.unpack_gz(&archive, &Limits::default()).unwrap_err();
        assert!(matches!(err, ExtractError::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn refuses_tar_without_end_marker() {
        let tar = Tar::default().file("a", 0o644, b"x").unfinished();
        let err = refused(&tar);
        assert!(
            matches!(err, ExtractError::Truncated { source: None }),
            "{err:?}"
        );
    }

    #[test]
    fn refuses_partial_entry_data() {
        let mut tar = header(b"a", b'0', 0o644, 1000).to_vec();
        tar.extend_from_slice(&[b'x'; 100]);
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::Truncated { .. }), "{err:?}");
    }

    #[test]
    fn refuses_partial_header() {
        let mut tar = Tar::default().file("a", 0o644, b"x").unfinished();
        tar.extend_from_slice(&header(b"b", b'0', 0o644, 0)[..200]);
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::Truncated { .. }), "{err:?}");
    }

    #[test]
    fn refuses_tar_cut_anywhere() {
        let tar = Tar::default()
            .dir("d", 0o755)
            .file("d/a", 0o755, b"hello")
            .long_name(&[b'n'; 150])
            .file("x", 0o644, &[b'y'; 700])
            .pax_path("p/q")
            .file("y", 0o644, b"z")
            .finish();
        // One zero block is enough to end an archive (as for GNU tar).
        let end = tar.len() - 1024 + 512;
        for cut in 0..end {
            let sandbox = Sandbox::new();
            let err = unpack_tar(&tar[..cut], &sandbox.dest, &Limits::default())
                .expect_err(&format!("accepted a tar cut at {cut}"));
            assert_eq!(err.exit_code(), 6, "cut at {cut}: {err:?}");
            assert!(
                matches!(err, ExtractError::Truncated { .. } | ExtractError::Empty),
                "cut at {cut}: {err:?}"
            );
            sandbox.assert_outside_untouched();
        }
        for cut in [end, tar.len()] {
            let sandbox = Sandbox::new();
            let unpacked = unpack_tar(&tar[..cut], &sandbox.dest, &Limits::default()).unwrap();
            assert_eq!(
                unpacked,
                Unpacked {
                    entries: 4,
                    bytes: 706
                }
            );
            assert_eq!(
                sandbox.listing(),
                ["d", "d/a", "n".repeat(150).as_str(), "p", "p/q"]
            );
        }
    }

    #[test]
    fn refuses_bad_header_checksum() {
        let mut tar = Tar::default().file("a", 0o644, b"x").finish();
        tar[0] = b'b';
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn refuses_random_bytes() {
        for seed in 1..20 {
            let bytes = noise(4096, seed);
            let sandbox = Sandbox::new();
            let err = sandbox.unpack_gz(&bytes, &Limits::default()).unwrap_err();
            assert!(
                matches!(
                    err,
                    ExtractError::WrongFormat {
                        expected: Format::TarGz
                    }
                ),
                "{err:?}"
            );
            // Behind a valid gzip magic, or as a plain tar.
            let mut bytes = bytes;
            bytes[..4].copy_from_slice(&[0x1f, 0x8b, 0x08, 0x00]);
            let err = sandbox.unpack_gz(&bytes, &Limits::default()).unwrap_err();
            assert_eq!(err.exit_code(), 6, "{err:?}");
            let err = sandbox
                .unpack_gz(&gz(&bytes), &Limits::default())
                .unwrap_err();
            assert_eq!(err.exit_code(), 6, "{err:?}");
            let err = unpack_tar(&bytes[..], &sandbox.dest, &Limits::default()).unwrap_err();
            assert_eq!(err.exit_code(), 6, "{err:?}");
            sandbox.assert_outside_untouched();
        }
    }

    #[test]
    fn refuses_empty_input() {
        let sandbox = Sandbox::new();
        let err = sandbox.unpack_gz(b"", &Limits::default()).unwrap_err();
        assert!(matches!(err, ExtractError::Empty), "{err:?}");
        assert_eq!(err.exit_code(), 6);
        let err = sandbox.unpack_gz(&gz(b""), &Limits::default()).unwrap_err();
        assert!(matches!(err, ExtractError::Empty), "{err:?}");
        let err = unpack_tar(&b""[..], &sandbox.dest, &Limits::default()).unwrap_err();
        assert!(matches!(err, ExtractError::Empty), "{err:?}");
        let err = sandbox.unpack_gz(b"\x1f", &Limits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ExtractError::WrongFormat {
                    expected: Format::TarGz
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn refuses_plain_tar_given_as_gzip() {
        let sandbox = Sandbox::new();
        let tar = Tar::default().file("a", 0o644, b"x").finish();
        let err = sandbox.unpack_gz(&tar, &Limits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ExtractError::WrongFormat {
                    expected: Format::TarGz
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "archive is not a gzip stream");
        assert!(err.hint().is_some());
    }

    // ---- local errors ----
    #[test]
    fn missing_dest_is_a_local_error() {
        let sandbox = Sandbox::new();
        let missing = sandbox.dest.join("missing");
        let tar = gz(&Tar::default().file("a/b", 0o644, b"x").finish());
        let err = unpack_tar_gz(&tar[..], &missing, &Limits::default()).unwrap_err();
        assert!(matches!(err, ExtractError::Create { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 7);
        assert!(err.to_string().starts_with("failed to create `"), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn failing_reader_is_a_local_error() {
        let archive = gz(&Tar::default().file("a", 0o644, &noise(100_000, 3)).finish());
        let sandbox = Sandbox::new();
        for cut in [1, 2, 100, archive.len() / 2, archive.len()] {
            let reader = FailingReader {
                data: &archive[..cut],
            };
            let err = unpack_tar_gz(reader, &sandbox.dest, &Limits::default()).unwrap_err();
            assert!(
                matches!(err, ExtractError::Read { .. }),
                "cut {cut}: {err:?}"
            );
            assert_eq!(err.exit_code(), 7);
            let _ = fs::remove_file(sandbox.dest.join("a"));
        }
    }

    // ---- valid archives ----
    fn release_tar() -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let files: [(&str, u32, &[u8]); 4] = [
            ("platform", 0o775, b"\x7fELF fake binary"),
            ("README.md", 0o664, b"# Platform.sh CLI\n"),
            (
                "completion/bash/platform.bash",
                0o644,
                b"complete -F _platform platform\n",
            ),
            ("completion/zsh/_platform", 0o600, b"#compdef platform\n"),
        ];
        for (name, mode, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(mode);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, name, data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn unpacks_a_release_archive() {
        let sandbox = Sandbox::new();
        let unpacked = sandbox
            .unpack_gz(&gz(&release_tar()), &Limits::default())
            .unwrap();
        assert_eq!(
            unpacked,
            Unpacked {
                entries: 4,
                bytes: 16 + 18 + 31 + 18
            }
        );
        assert_eq!(
            sandbox.listing(),
            [
                "README.md",
                "completion",
                "completion/bash",
                "completion/bash/platform.bash",
                "completion/zsh",
                "completion/zsh/_platform",
                "platform"
            ]
        );
        let dest = &sandbox.dest;
        assert_eq!(
            fs::read(dest.join("platform")).unwrap(),
            b"\x7fELF fake binary"
        );
        assert_eq!(
            fs::read(dest.join("completion/zsh/_platform")).unwrap(),
            b"#compdef platform\n"
        );
        #[cfg(unix)]
        {
            assert_eq!(mode_of(&dest.join("platform")), 0o755);
            assert_eq!(mode_of(&dest.join("README.md")), 0o644);
            assert_eq!(mode_of(&dest.join("completion")), 0o755);
            assert_eq!(mode_of(&dest.join("completion/bash/platform.bash")), 0o644);
            assert_eq!(mode_of(&dest.join("completion/zsh/_platform")), 0o644);
        }
        sandbox.assert_outside_untouched();
    }

    #[test]
    fn unpacks_long_names_and_dot_prefixes() {
        let long = format!("{}/file", "d".repeat(150));
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in [("./", &b""[..]), ("./bin/", b""), (long.as_str(), b"long")] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o755);
            header.set_entry_type(if path.ends_with('/') {
                tar::EntryType::Directory
            } else {
                tar::EntryType::Regular
            });
            builder.append_data(&mut header, path, data).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let sandbox = Sandbox::new();
        let unpacked = sandbox.unpack_gz(&gz(&tar), &Limits::default()).unwrap();
        assert_eq!(
            unpacked,
            Unpacked {
                entries: 3,
                bytes: 4
            }
        );
        assert_eq!(fs::read(sandbox.dest.join(&long)).unwrap(), b"long");
        assert!(sandbox.dest.join("bin").is_dir());
    }

    #[test]
    fn empty_archive_with_end_marker_is_fine() {
        let sandbox = Sandbox::new();
        let unpacked = sandbox
            .unpack_gz(&gz(&[0u8; 10240]), &Limits::default())
            .unwrap();
        assert_eq!(unpacked, Unpacked::default());
    }

    #[test]
    fn drains_the_reader_to_eof() {
        // GNU tar pads to 10 KiB records; some writers append zeros after the gzip member.
        let mut tar = release_tar();
        tar.resize(tar.len().div_ceil(10240) * 10240 + 10240, 0);
        let mut archive = gz(&tar);
        archive.extend_from_slice(&[0u8; 4096]);
        let mut garbage = archive.clone();
        garbage.extend_from_slice(b"trailing garbage that is not gzip");
        for bytes in [archive, garbage] {
            let sandbox = Sandbox::new();
            let mut reader = Counting::new(&bytes[..]);
            let unpacked = unpack_tar_gz(&mut reader, &sandbox.dest, &Limits::default()).unwrap();
            assert_eq!(unpacked.entries, 4);
            assert_eq!(reader.count, bytes.len() as u64);
        }
        // The same for a plain tar.
        let sandbox = Sandbox::new();
        let mut reader = Counting::new(&tar[..]);
        unpack_tar(&mut reader, &sandbox.dest, &Limits::default()).unwrap();
        assert_eq!(reader.count, tar.len() as u64);
    }

    // ---- tar formats ----
    #[test]
    fn unpacks_every_tar_format_and_finds_the_binary() {
        for format in TAR_FORMATS {
            let sandbox = Sandbox::new();
            let unpacked = sandbox
                .unpack(format, &compress(format, &gh_tree()), &Limits::default())
                .unwrap();
            assert_eq!(unpacked.entries, 5, "{format:?}");
            assert_eq!(unpacked.bytes, 7 + 3 + 6, "{format:?}");
            let bin = find_binary(&sandbox.dest, "gh").unwrap();
            assert_eq!(bin, sandbox.dest.join("gh_2.63.0_linux_amd64/bin/gh"));
            assert_eq!(fs::read(&bin).unwrap(), b"\x7fELF gh");
            #[cfg(unix)]
            {
                assert_eq!(mode_of(&bin), 0o755);
                assert_eq!(
                    mode_of(&sandbox.dest.join("gh_2.63.0_linux_amd64/LICENSE")),
                    0o644
                );
            }

            let sandbox = Sandbox::new();
            sandbox
                .unpack(format, &compress(format, &rg_tree()), &Limits::default())
                .unwrap();
            assert_eq!(
                find_binary(&sandbox.dest, "rg").unwrap(),
                sandbox
                    .dest
                    .join("ripgrep-14.1.1-x86_64-unknown-linux-musl/rg")
            );
        }
    }

    #[test]
    fn tar_formats_apply_the_hardened_rules() {
        // GNU headers, as GNU tar writes them.
        let escape = Header::new(b"../escape", REGULAR, 0o644, 1).gnu();
        let evil = Tar::default().raw(&escape.bytes(), b"x").finish();
        let symlink = Header::new(b"bin/tool", SYMLINK, 0o777, 0)
            .gnu()
            .link_name(b"/etc/passwd");
        let link = Tar::default().raw(&symlink.bytes(), b"").finish();

        let setuid = tar_of(&[("tool", 0o4755, b"x"), ("doc", 0o666, b"y")]);
        for format in TAR_FORMATS {
            for (tar, what) in [(&evil, "dotdot"), (&link, "symlink")] {
                let sandbox = Sandbox::new();
                let err = sandbox
                    .unpack(format, &compress(format, tar), &Limits::default())
                    .unwrap_err();
                assert_eq!(err.exit_code(), 6, "{format:?} {what}: {err:?}");
                sandbox.assert_outside_untouched();
            }
            let sandbox = Sandbox::new();
            sandbox
                .unpack(format, &compress(format, &setuid), &Limits::default())
                .unwrap();
            #[cfg(unix)]
            {
                assert_eq!(mode_of(&sandbox.dest.join("tool")), 0o755);
                assert_eq!(mode_of(&sandbox.dest.join("doc")), 0o644);
            }
        }
    }

    #[test]
    fn tar_formats_bound_decompression_bombs() {
        let limits = Limits {
            max_unpacked_bytes: 256 * 1024,
            ..Limits::default()
        };
        // Entries within the limit one by one, over it together.
        let chunk = vec![0u8; 100 * 1024];
        let many = tar_of(&[
            ("a", 0o644, &chunk),
            ("b", 0o644, &chunk),
            ("c", 0o644, &chunk),
        ]);
        // A small archive followed by 16 MiB of zeros that decompress to nothing useful.
        let mut padded = tar_of(&[("a", 0o644, b"x")]);
        padded.resize(padded.len() + (16 << 20), 0);
        for format in TAR_FORMATS {
            let sandbox = Sandbox::new();
            let err = sandbox
                .unpack(format, &compress(format, &many), &limits)
                .unwrap_err();
            assert!(
                matches!(err, ExtractError::TooLarge { .. }),
                "{format:?}: {err:?}"
            );
            let sandbox = Sandbox::new();
            let err = sandbox
                .unpack(format, &compress(format, &padded), &limits)
                .unwrap_err();
            assert!(
                matches!(err, ExtractError::OversizedMetadata),
                "{format:?}: {err:?}"
            );
        }
    }

    #[test]
    fn tar_formats_refuse_truncation_and_corruption() {
        let tar = tar_of(&[("bin/tool", 0o755, &[7u8; 3000]), ("README", 0o644, b"hi")]);
        for format in [Format::TarXz, Format::TarZst] {
            let archive = compress(format, &tar);
            for cut in (0..archive.len()).step_by(7) {
                let sandbox = Sandbox::new();
                let err = sandbox
                    .unpack(format, &archive[..cut], &Limits::default())
                    .expect_err(&format!("{format:?} accepted a cut at {cut}"));
                assert_eq!(err.exit_code(), 6, "{format:?} cut at {cut}: {err:?}");
            }
            for at in [archive.len() / 2, archive.len() - 1] {
                let mut bad = archive.clone();
                bad[at] ^= 0x55;
                let sandbox = Sandbox::new();
                let err = sandbox
                    .unpack(format, &bad, &Limits::default())
                    .expect_err(&format!("{format:?} accepted a flip at {at}"));
                assert_eq!(err.exit_code(), 6, "{format:?} flip at {at}: {err:?}");
            }
            let mut trailing = archive.clone();
            trailing.extend_from_slice(b"garbage after the stream");
            let err = Sandbox::new()
                .unpack(format, &trailing, &Limits::default())
                .unwrap_err();
            assert_eq!(err.exit_code(), 6, "{format:?}: {err:?}");
            // The wrong format entirely: refused at the magic bytes, as for gzip.
            let err = Sandbox::new()
                .unpack(format, &gz(&tar), &Limits::default())
                .unwrap_err();
            assert!(
                matches!(err, ExtractError::WrongFormat { expected } if expected == format),
                "{format:?}: {err:?}"
            );
            assert_eq!(err.exit_code(), 6);
            let err = Sandbox::new()
                .unpack(format, b"", &Limits::default())
                .unwrap_err();
            assert!(matches!(err, ExtractError::Empty), "{format:?}: {err:?}");
        }
    }

    #[test]
    fn zstd_checks_the_content_checksum() {
        let tar = tar_of(&[("tool", 0o755, b"binary")]);
        let archive = ruzstd::encoding::compress_to_vec(
            &tar[..],
            ruzstd::encoding::CompressionLevel::Uncompressed,
        );
        // Flip a byte of the file's data inside the raw block: only the checksum can tell.
        let at = archive.windows(6).position(|w| w == b"binary").unwrap();
        let mut bad = archive.clone();
        bad[at] = b'B';
        let sandbox = Sandbox::new();
        let err = sandbox
            .unpack(Format::TarZst, &bad, &Limits::default())
            .unwrap_err();
        assert!(matches!(err, ExtractError::Corrupt { .. }), "{err:?}");
        Sandbox::new()
            .unpack(Format::TarZst, &archive, &Limits::default())
            .unwrap();
    }

    #[test]
    fn zstd_reads_several_frames_and_skippable_frames() {
        let tar = gh_tree();
        let (head, tail) = tar.split_at(1000);
        let mut archive = zst(head);
        // A skippable frame: magic 0x184D2A50, length 4, payload.
        archive.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]);
        archive.extend_from_slice(&zst(tail));
        let sandbox = Sandbox::new();
        let unpacked = sandbox
            .unpack(Format::TarZst, &archive, &Limits::default())
            .unwrap();
        assert_eq!(unpacked.entries, 5);
        find_binary(&sandbox.dest, "gh").unwrap();
    }

    #[test]
    fn xz_reads_concatenated_streams() {
        let tar = rg_tree();
        let (head, tail) = tar.split_at(700);
        let mut archive = xz(head);
        archive.extend_from_slice(&xz(tail));
        let sandbox = Sandbox::new();
        sandbox
            .unpack(Format::TarXz, &archive, &Limits::default())
            .unwrap();
        find_binary(&sandbox.dest, "rg").unwrap();
    }
}
