//! Safe unpacking of release archives into a directory.
//!
//! The archive is hostile even after its checksum matched, so this module trusts nothing in it:
//!
//! - Only regular files (`0` and the old `\0`) and directories (`5`) are unpacked. GNU long names
//!   and pax headers are read as metadata (the `tar` crate resolves them); global pax headers are
//!   skipped; links, devices, FIFOs, sparse files and every other type are refused.
//! - Names are taken from the raw header bytes and must be plain relative UTF-8 paths: a leading
//!   `./` and `.` components are dropped; `..`, absolute paths, drive prefixes, backslashes, NUL
//!   bytes, empty names and names over [`Limits::max_path_len`] are refused, and so are names the
//!   filesystem cannot hold (`ENAMETOOLONG`): the archive is at fault, not the disk. Nothing is written
//!   through `tar`'s own `unpack`: files are created with `create_new` (`O_EXCL`) and parent
//!   directories with plain `create_dir`, checking without following links that each one is a
//!   real directory, so nothing can land outside `dest` or through a symlink.
//! - An entry whose path already exists is refused, except a directory over a directory.
//! - Modes are rebuilt: `0o755` for directories and files with any execute bit, `0o644` for other
//!   files; owners, times, setuid, setgid and sticky bits never survive.
//! - Everything read is counted as it streams. A file may only hold the bytes its header claims
//!   and the sum of those is capped at [`Limits::max_unpacked_bytes`], checked before writing.
//!   Headers, long names, pax data and padding get their own small allowance: 1 MiB plus
//!   2 KiB + 2 × `max_path_len` per entry, at most 1 MiB + 2 × `max_path_len` at a time. So the
//!   decompressed stream is cut off after `max_unpacked_bytes` plus that slack (a gzip bomb stops
//!   long before the disk or memory fills), and memory stays at one fixed 64 KiB buffer plus
//!   whatever `tar` buffers for one long name or pax header.
//! - Truncation anywhere is an error: a missing end-of-archive block, a short entry, a short
//!   gzip stream or a gzip trailer whose checksum does not match. A single zero block is accepted
//!   as the end marker, as GNU tar does.
//! - After the end marker the rest of the stream is drained to EOF, so a hashing reader wrapped
//!   around `reader` sees every byte; bytes after the gzip member are drained without decoding.
//!
//! On error nothing is cleaned up: `dest` is the caller's temporary directory.

use std::cell::Cell;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use tar::EntryType;

use crate::diag::{Code, Diagnostic};

/// Size of the one buffer every byte goes through.
const BUF_SIZE: usize = 64 * 1024;

/// Allowance for headers, long names, pax data and padding before the first entry, and the
/// most one step of the `tar` reader may consume between two entries (before `max_path_len`).
const HEADER_SLACK: u64 = 1 << 20;

/// Allowance for headers and padding added per entry (before `max_path_len`).
const ENTRY_SLACK: u64 = 2048;

/// Longest entry name printed in a message; longer ones are cut.
const MAX_SHOWN_NAME: usize = 200;

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
    #[error("archive is not a gzip stream")]
    NotGzip,
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
            Self::Empty | Self::NotGzip | Self::Truncated { .. } | Self::Corrupt { .. } => Some(
                "the release archive is damaged or is not a .tar.gz file; it cannot be installed"
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

/// Unpack a gzip'ed tar stream into `dest` (an existing, empty directory). After the tar end
/// marker, drain `reader` to EOF so that a hashing reader wrapping it sees every byte.
pub fn unpack_tar_gz<R: Read>(
    reader: R,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    let tracker = Tracker::default();
    let mut source = Source {
        inner: reader,
        tracker: &tracker,
    };
    // Check the magic ourselves: flate2's error for a stray file is less clear.
    let mut magic = [0u8; 2];
    let got =
        read_up_to(&mut source, &mut magic).map_err(|source| ExtractError::Read { source })?;
    match &magic[..got] {
        [] => return Err(ExtractError::Empty),
        [0x1f, 0x8b] => {}
        _ => return Err(ExtractError::NotGzip),
    }
    let compressed = BufReader::with_capacity(BUF_SIZE, io::Cursor::new(magic).chain(source));
    let mut stream = Budgeted {
        inner: flate2::bufread::GzDecoder::new(compressed),
        tracker: &tracker,
    };
    let mut buf = vec![0u8; BUF_SIZE];
    let unpacked = unpack_entries(&mut stream, &tracker, dest, limits, &mut buf)?;
    // Decoding to the end also checks the gzip trailer (CRC and length).
    drain(&mut stream, &tracker, &mut buf)?;
    // Whatever follows the gzip member is not ours to judge, but the hash must see it.
    let mut rest = stream.inner.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|source| ExtractError::Read { source })?;
    Ok(unpacked)
}

/// Same for an uncompressed tar stream (used by unpack_tar_gz internally; public for
/// tests/fuzzing).
pub fn unpack_tar<R: Read>(
    reader: R,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    let tracker = Tracker::default();
    let mut stream = Budgeted {
        inner: Source {
            inner: reader,
            tracker: &tracker,
        },
        tracker: &tracker,
    };
    let mut buf = vec![0u8; BUF_SIZE];
    let unpacked = unpack_entries(&mut stream, &tracker, dest, limits, &mut buf)?;
    drain(&mut stream, &tracker, &mut buf)?;
    Ok(unpacked)
}

/// Shared state between the readers below and the unpacking loop, which cannot reach the
/// readers while `tar` holds them.
#[derive(Default)]
struct Tracker {
    /// Decompressed bytes handed to `tar` so far.
    read: Cell<u64>,
    /// How far `read` may go before reading fails.
    limit: Cell<u64>,
    /// The decompressed stream reached its end.
    eof: Cell<bool>,
    /// A read failed because it would have passed `limit`.
    over_limit: Cell<bool>,
    /// The caller's reader failed (a local error, not a bad archive).
    source_failed: Cell<bool>,
}

/// The caller's reader, remembering whether it failed.
struct Source<'t, R> {
    inner: R,
    tracker: &'t Tracker,
}

impl<R: Read> Read for Source<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|err| {
            if err.kind() != io::ErrorKind::Interrupted {
                self.tracker.source_failed.set(true);
            }
        })
    }
}

/// The decompressed stream, counted, and failing rather than going past the tracker's limit.
struct Budgeted<'t, R> {
    inner: R,
    tracker: &'t Tracker,
}

impl<R: Read> Read for Budgeted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let t = self.tracker;
        let allowed = t.limit.get().saturating_sub(t.read.get());
        if allowed == 0 {
            t.over_limit.set(true);
            return Err(io::Error::other("archive size limit reached"));
        }
        let len = usize::try_from(allowed).map_or(buf.len(), |allowed| allowed.min(buf.len()));
        let n = self.inner.read(&mut buf[..len])?;
        if n == 0 {
            t.eof.set(true);
        }
        t.read.set(t.read.get() + n as u64);
        Ok(n)
    }
}

/// Unpack every entry up to the end marker, then leave the limit set for draining the rest.
fn unpack_entries<R: Read>(
    reader: R,
    tracker: &Tracker,
    dest: &Path,
    limits: &Limits,
    buf: &mut [u8],
) -> Result<Unpacked, ExtractError> {
    let path_slack = (limits.max_path_len as u64).saturating_mul(2);
    let step_slack = HEADER_SLACK.saturating_add(path_slack);
    let entry_slack = ENTRY_SLACK.saturating_add(path_slack);
    let mut slack_left = HEADER_SLACK;
    let mut seen: u64 = 0;
    let mut unpacked = Unpacked::default();

    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries().map_err(|err| classify(err, tracker))?;
    loop {
        // Everything `tar` reads in this step is headers, long names, pax data or padding.
        let start = tracker.read.get();
        tracker
            .limit
            .set(start.saturating_add(slack_left.min(step_slack)));
        let next = entries.next();
        slack_left = slack_left.saturating_sub(tracker.read.get() - start);
        let mut entry = match next {
            None if tracker.eof.get() && tracker.read.get() == 0 => {
                return Err(ExtractError::Empty);
            }
            // `tar` also stops at EOF on a block boundary: without an end marker, the archive
            // was cut short.
            None if tracker.eof.get() => return Err(ExtractError::Truncated { source: None }),
            None => break,
            Some(Err(err)) => return Err(classify(err, tracker)),
            Some(Ok(entry)) => entry,
        };
        seen += 1;
        if seen > limits.max_entries {
            return Err(ExtractError::TooManyEntries {
                name: shown_name(&entry.path_bytes()),
                max: limits.max_entries,
            });
        }
        slack_left = slack_left.saturating_add(entry_slack);

        let raw_name = entry.path_bytes().into_owned();
        let is_dir = match entry.header().entry_type() {
            EntryType::Regular => false,
            EntryType::Directory => true,
            // Metadata for the whole archive; `tar` skips its data on the next step.
            EntryType::XGlobalHeader => continue,
            other => {
                return Err(ExtractError::UnsupportedEntry {
                    name: shown_name(&raw_name),
                    kind: kind_name(other),
                });
            }
        };
        let relative = safe_relative_path(&raw_name, limits.max_path_len)?;
        let size = entry.size();
        if is_dir {
            if size != 0 {
                return Err(ExtractError::DirectoryWithData {
                    name: shown_name(&raw_name),
                });
            }
            let mut path = dest.to_path_buf();
            for component in &relative {
                path.push(component);
                ensure_dir(&path, &shown_name(&raw_name))?;
            }
        } else {
            if size > limits.max_unpacked_bytes - unpacked.bytes {
                return Err(ExtractError::TooLarge {
                    name: shown_name(&raw_name),
                    max: limits.max_unpacked_bytes,
                });
            }
            let mode = entry
                .header()
                .mode()
                .map_err(|_| ExtractError::InvalidMode {
                    name: shown_name(&raw_name),
                })?;
            let Some((file_name, parents)) = relative.split_last() else {
                return Err(ExtractError::UnsafePath {
                    name: shown_name(&raw_name),
                    reason: "is empty",
                });
            };
            let mut path = dest.to_path_buf();
            for component in parents {
                path.push(component);
                ensure_dir(&path, &shown_name(&raw_name))?;
            }
            path.push(file_name);
            let mut file = create_file(&path, &raw_name)?;
            // Exactly the entry's data; `tar` would not read past it anyway.
            tracker.limit.set(tracker.read.get().saturating_add(size));
            let written = copy_entry(&mut entry, &mut file, &path, buf, tracker)?;
            if written != size {
                return Err(ExtractError::Truncated { source: None });
            }
            let mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
            set_file_mode(&file, mode).map_err(|source| ExtractError::Write {
                path: path.clone(),
                source,
            })?;
            unpacked.bytes += size;
        }
        unpacked.entries += 1;
    }
    tracker.limit.set(
        tracker
            .read
            .get()
            .saturating_add(slack_left.min(step_slack)),
    );
    Ok(unpacked)
}

/// Copy one entry's data into `file` through the shared buffer; returns the bytes written.
fn copy_entry(
    entry: &mut impl Read,
    file: &mut File,
    path: &Path,
    buf: &mut [u8],
    tracker: &Tracker,
) -> Result<u64, ExtractError> {
    let mut written: u64 = 0;
    loop {
        let n = match entry.read(buf) {
            Ok(0) => return Ok(written),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(classify(err, tracker)),
        };
        file.write_all(&buf[..n])
            .map_err(|source| ExtractError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        written += n as u64;
    }
}

/// Read `stream` to its end within the limit left by [`unpack_entries`].
fn drain(stream: &mut impl Read, tracker: &Tracker, buf: &mut [u8]) -> Result<(), ExtractError> {
    loop {
        match stream.read(buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(classify(err, tracker)),
        }
    }
}

/// Turn an error from reading the archive into what it means, using what the readers saw.
fn classify(err: io::Error, tracker: &Tracker) -> ExtractError {
    if tracker.source_failed.get() {
        return ExtractError::Read { source: err };
    }
    if tracker.over_limit.get() {
        // Data reads are capped at exactly the entry's size, which was checked against
        // `max_unpacked_bytes`; only headers, padding and trailing data can get here.
        return ExtractError::OversizedMetadata;
    }
    // The message may quote a hostile name (`tar` puts entry paths in some of its errors).
    let err = io::Error::new(err.kind(), escape_text(&err.to_string()));
    if tracker.eof.get() || err.kind() == io::ErrorKind::UnexpectedEof {
        ExtractError::Truncated { source: Some(err) }
    } else {
        ExtractError::Corrupt { source: err }
    }
}

/// Check an entry name and split it into the components to create under `dest`.
///
/// An empty result means `dest` itself (a `./` directory entry).
pub(crate) fn safe_relative_path(raw: &[u8], max_len: usize) -> Result<Vec<&str>, ExtractError> {
    let unsafe_path = |reason| ExtractError::UnsafePath {
        name: shown_name(raw),
        reason,
    };
    if raw.len() > max_len {
        return Err(ExtractError::PathTooLong {
            name: shown_name(raw),
            max: max_len,
        });
    }
    if raw.is_empty() {
        return Err(unsafe_path("is empty"));
    }
    if raw.contains(&0) {
        return Err(unsafe_path("contains a NUL byte"));
    }
    if raw.len() >= 2 && raw[0].is_ascii_alphabetic() && raw[1] == b':' {
        return Err(unsafe_path("starts with a drive prefix"));
    }
    if raw.contains(&b'\\') {
        return Err(unsafe_path("contains a backslash"));
    }
    if raw[0] == b'/' {
        return Err(unsafe_path("is an absolute path"));
    }
    let name = std::str::from_utf8(raw).map_err(|_| unsafe_path("is not valid UTF-8"))?;
    let mut components = Vec::new();
    for component in name.split('/') {
        match component {
            "" | "." => {}
            ".." => return Err(unsafe_path("contains a `..` component")),
            normal => components.push(normal),
        }
    }
    Ok(components)
}

/// Make sure `path` is a real directory (not a link to one), creating it if missing.
/// `shown` is the entry's name as messages print it.
pub(crate) fn ensure_dir(path: &Path, shown: &str) -> Result<(), ExtractError> {
    match fs::create_dir(path) {
        Ok(()) => set_path_mode(path, 0o755).map_err(|source| ExtractError::Create {
            path: path.to_path_buf(),
            source,
        }),
        Err(err) if err.kind() == io::ErrorKind::InvalidFilename => Err(too_long(shown)),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            match fs::symlink_metadata(path) {
                Ok(meta) if meta.file_type().is_dir() => Ok(()),
                Ok(_) => Err(ExtractError::Duplicate {
                    name: shown.to_owned(),
                }),
                Err(source) => Err(ExtractError::Create {
                    path: path.to_path_buf(),
                    source,
                }),
            }
        }
        Err(source) => Err(ExtractError::Create {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A name within `max_path_len` that the filesystem still cannot hold (a component over
/// `NAME_MAX`, or the whole path over `PATH_MAX`): the archive's fault, not the disk's. (Found
/// while writing the extraction fuzz target: it was reported as a local write failure, exit 7.)
/// A name the filesystem cannot hold (a component over 255 bytes): the archive's fault.
pub(crate) fn too_long(shown: &str) -> ExtractError {
    ExtractError::UnsafePath {
        name: shown.to_owned(),
        reason: "is too long for this filesystem",
    }
}

/// Create a new file, never opening an existing one or following a link.
fn create_file(path: &Path, raw_name: &[u8]) -> Result<File, ExtractError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            ExtractError::Duplicate {
                name: shown_name(raw_name),
            }
        } else if source.kind() == io::ErrorKind::InvalidFilename {
            too_long(&shown_name(raw_name))
        } else {
            ExtractError::Create {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Set exactly `mode` (the umask does not apply), on the open file.
#[cfg(unix)]
pub(crate) fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub(crate) fn set_file_mode(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Set exactly `mode` on a directory this module just created.
#[cfg(unix)]
pub(crate) fn set_path_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub(crate) fn set_path_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Read until `buf` is full or EOF; returns how much was read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
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

/// An entry name fit for a terminal: lossy UTF-8, control characters escaped, cut if huge.
pub(crate) fn shown_name(raw: &[u8]) -> String {
    shown_text(&String::from_utf8_lossy(raw))
}

/// Text from an archive fit for a terminal: control characters escaped, cut if huge.
pub(crate) fn shown_text(text: &str) -> String {
    let mut shown = escape_text(text);
    if let Some((cut, _)) = shown.char_indices().nth(MAX_SHOWN_NAME) {
        shown.truncate(cut);
        shown.push('…');
    }
    shown
}

/// A local path fit for a terminal (it contains entry names).
fn shown_path(path: &Path) -> String {
    escape_text(&path.to_string_lossy())
}

pub(crate) fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::collections::BTreeMap;
    use tempfile::TempDir;

    // ---- raw archive building (tar's Builder refuses the malicious names we need) ----

    /// A 512-byte ustar header with a correct checksum. Sizes of 8 GiB and more use all 12
    /// digits of the field, which readers accept.
    fn header(name: &[u8], kind: u8, mode: u32, size: u64) -> [u8; 512] {
        let mut h = [0u8; 512];
        assert!(name.len() <= 100, "use long_name for longer names");
        h[..name.len()].copy_from_slice(name);
        h[100..108].copy_from_slice(format!("{mode:07o}\0").as_bytes());
        h[108..116].copy_from_slice(b"0001750\0");
        h[116..124].copy_from_slice(b"0001750\0");
        let size_field = if size < 1 << 33 {
            format!("{size:011o}\0")
        } else {
            format!("{size:012o}")
        };
        h[124..136].copy_from_slice(size_field.as_bytes());
        h[136..148].copy_from_slice(b"14546231222\0");
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    #[derive(Default)]
    struct Tar(Vec<u8>);

    impl Tar {
        fn entry(mut self, name: &[u8], kind: u8, mode: u32, data: &[u8]) -> Self {
            self.0
                .extend_from_slice(&header(name, kind, mode, data.len() as u64));
            self.0.extend_from_slice(data);
            self.pad()
        }
        fn pad(mut self) -> Self {
            let rem = self.0.len() % 512;
            if rem != 0 {
                self.0.resize(self.0.len() + 512 - rem, 0);
            }
            self
        }
        fn file(self, name: &str, mode: u32, data: &[u8]) -> Self {
            self.entry(name.as_bytes(), b'0', mode, data)
        }
        fn dir(self, name: &str) -> Self {
            self.entry(name.as_bytes(), b'5', 0o755, b"")
        }
        fn special(self, name: &str, kind: u8) -> Self {
            self.entry(name.as_bytes(), kind, 0o644, b"")
        }
        /// A GNU long-name entry naming the entry that follows.
        fn long_name(self, name: &[u8]) -> Self {
            let mut data = name.to_vec();
            data.push(0);
            self.entry(b"././@LongLink", b'L', 0o644, &data)
        }
        /// A pax header giving the path of the entry that follows.
        fn pax_path(self, path: &str) -> Self {
            let body = format!(" path={path}\n");
            let mut len = body.len() + 1;
            while format!("{len}{body}").len() != len {
                len += 1;
            }
            let record = format!("{len}{body}");
            self.entry(b"PaxHeaders/x", b'x', 0o644, record.as_bytes())
        }
        fn finish(mut self) -> Vec<u8> {
            self.0.extend_from_slice(&[0u8; 1024]);
            self.0
        }
        fn unfinished(self) -> Vec<u8> {
            self.0
        }
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    // ---- a sandbox: dest is a subdirectory, everything beside it must stay untouched ----

    struct Sandbox {
        root: TempDir,
        dest: PathBuf,
    }

    impl Sandbox {
        fn new() -> Self {
            let root = tempfile::tempdir().unwrap();
            fs::write(root.path().join("outside.txt"), "keep").unwrap();
            let dest = root.path().join("dest");
            fs::create_dir(&dest).unwrap();
            Self { root, dest }
        }

        fn unpack_gz(&self, archive: &[u8], limits: &Limits) -> Result<Unpacked, ExtractError> {
            unpack_tar_gz(archive, &self.dest, limits)
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

        fn assert_outside_untouched(&self) {
            let expected =
                BTreeMap::from([(self.root.path().join("outside.txt"), Some(b"keep".to_vec()))]);
            assert_eq!(
                self.outside(),
                expected,
                "something was written outside dest"
            );
        }

        /// All paths under dest, relative, with `/` separators.
        fn listing(&self) -> Vec<String> {
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

        fn dest_bytes(&self) -> u64 {
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
    fn refused_with(tar: &[u8], limits: &Limits, code: u8) -> ExtractError {
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

    fn refused(tar: &[u8]) -> ExtractError {
        refused_with(tar, &Limits::default(), 6)
    }

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    // ---- names ----

    #[test]
    fn refuses_dotdot() {
        let err = refused(&Tar::default().file("../x", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "archive entry `../x` contains a `..` component"
        );
    }

    #[test]
    fn refuses_dotdot_inside() {
        let err = refused(&Tar::default().file("a/../../x", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_dotdot_after_valid_entries() {
        let tar = Tar::default()
            .dir("a")
            .file("a/ok", 0o644, b"fine")
            .file("a/../../x", 0o644, b"evil")
            .finish();
        refused(&tar);
    }

    #[test]
    fn refuses_absolute() {
        let err = refused(&Tar::default().file("/etc/x", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_drive_backslash() {
        let err = refused(&Tar::default().file("C:\\x", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_drive_slash() {
        let err = refused(&Tar::default().file("c:/x", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_backslash() {
        let err = refused(&Tar::default().file("a\\..\\x", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_nul_in_name() {
        // A ustar name stops at its first NUL; a GNU long name keeps inner NULs.
        let tar = Tar::default()
            .long_name(b"a\0/../../x")
            .file("placeholder", 0o644, b"evil")
            .finish();
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
        assert!(err.to_string().contains("`a\\u{0}/../../x`"), "{err}");
    }

    #[test]
    fn refuses_empty_name() {
        let err = refused(&Tar::default().file("", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_file_named_dot() {
        let err = refused(&Tar::default().file("./", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_long_name_traversal() {
        let tar = Tar::default()
            .long_name(b"../../escaped")
            .file("innocent", 0o644, b"evil")
            .finish();
        refused(&tar);
    }

    #[test]
    fn refuses_pax_path_traversal() {
        let tar = Tar::default()
            .pax_path("../escaped")
            .file("innocent", 0o644, b"evil")
            .finish();
        let err = refused(&tar);
        assert!(err.to_string().contains("`../escaped`"), "{err}");
    }

    #[test]
    fn refuses_non_utf8_name() {
        let err = refused(&Tar::default().entry(b"a\xff", b'0', 0o644, b"x").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_path_too_long() {
        let limits = Limits {
            max_path_len: 50,
            ..Limits::default()
        };
        let name = "a".repeat(51);
        let err = refused_with(
            &Tar::default().file(&name, 0o644, b"x").finish(),
            &limits,
            6,
        );
        assert!(matches!(err, ExtractError::PathTooLong { .. }), "{err:?}");
        // Exactly the limit is fine.
        let sandbox = Sandbox::new();
        let tar = Tar::default().file(&name[..50], 0o644, b"x").finish();
        sandbox.unpack_gz(&gz(&tar), &limits).unwrap();
    }

    #[test]
    fn name_the_filesystem_cannot_hold_is_an_archive_error() {
        // Within `max_path_len`, but one component is over NAME_MAX (255 on Linux): the
        // archive is at fault, not the disk (exit 6, not 7).
        let long = "c".repeat(300);
        for tar in [
            Tar::default()
                .long_name(long.as_bytes())
                .file("placeholder", 0o644, b"x")
                .finish(),
            Tar::default()
                .long_name(format!("{long}/").as_bytes())
                .dir("placeholder")
                .finish(),
            Tar::default()
                .long_name(format!("d/{long}/f").as_bytes())
                .file("placeholder", 0o644, b"x")
                .finish(),
            // Short components, but with `dest` in front the path passes PATH_MAX (4096).
            Tar::default()
                .long_name(format!("{}f", "a/".repeat(2040)).as_bytes())
                .file("placeholder", 0o644, b"x")
                .finish(),
        ] {
            let err = refused(&tar);
            assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
            assert!(
                err.to_string().contains("too long for this filesystem"),
                "{err}"
            );
        }
    }

    #[test]
    fn refuses_path_too_long_by_default() {
        let name = vec![b'a'; 5000];
        let tar = Tar::default()
            .long_name(&name)
            .file("placeholder", 0o644, b"x")
            .finish();
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::PathTooLong { .. }), "{err:?}");
        assert!(err.to_string().len() < 400, "huge names are cut: {err}");
    }

    #[test]
    fn control_characters_are_escaped_in_messages() {
        let err = refused(&Tar::default().file("\x1b[31m/../x\n", 0o644, b"x").finish());
        assert!(err.to_string().contains("\\u{1b}[31m/../x\\n"), "{err}");
    }

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
        let mut h = header(b"link", b'2', 0o777, 0);
        h[157..161].copy_from_slice(b"/tmp");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let mut tar = Tar(h.to_vec());
        tar = tar.file("link/evil", 0o644, b"evil");
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

    // ---- collisions ----

    #[test]
    fn refuses_duplicate_file() {
        let tar = Tar::default()
            .file("a", 0o644, b"first")
            .file("a", 0o644, b"second")
            .finish();
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::Duplicate { .. }), "{err:?}");
    }

    #[test]
    fn refuses_file_replacing_dir() {
        let tar = Tar::default().dir("a").file("a", 0o644, b"x").finish();
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::Duplicate { .. }), "{err:?}");
    }

    #[test]
    fn refuses_dir_replacing_file() {
        let tar = Tar::default().file("a", 0o644, b"x").dir("a/").finish();
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::Duplicate { .. }), "{err:?}");
    }

    #[test]
    fn refuses_file_under_file() {
        let tar = Tar::default()
            .file("a", 0o644, b"x")
            .file("a/b", 0o644, b"y")
            .finish();
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::Duplicate { .. }), "{err:?}");
    }

    #[test]
    fn dir_over_dir_is_fine() {
        let sandbox = Sandbox::new();
        let tar = Tar::default()
            .file("a/b", 0o644, b"x")
            .dir("a")
            .dir("./a/")
            .dir("./")
            .finish();
        let unpacked = sandbox.unpack_gz(&gz(&tar), &Limits::default()).unwrap();
        assert_eq!(
            unpacked,
            Unpacked {
                entries: 4,
                bytes: 1
            }
        );
        assert_eq!(sandbox.listing(), ["a", "a/b"]);
    }

    #[cfg(unix)]
    #[test]
    fn never_follows_a_symlink_in_dest() {
        let sandbox = Sandbox::new();
        let outside = sandbox.root.path().join("outside.txt");
        std::os::unix::fs::symlink(sandbox.root.path(), sandbox.dest.join("up")).unwrap();
        std::os::unix::fs::symlink(&outside, sandbox.dest.join("file")).unwrap();
        for tar in [
            Tar::default().file("up/evil", 0o644, b"evil").finish(),
            Tar::default().file("file", 0o644, b"evil").finish(),
            Tar::default().dir("up").finish(),
        ] {
            let err = sandbox
                .unpack_gz(&gz(&tar), &Limits::default())
                .unwrap_err();
            assert_eq!(err.exit_code(), 6, "{err:?}");
        }
        fs::remove_file(sandbox.dest.join("up")).unwrap();
        fs::remove_file(sandbox.dest.join("file")).unwrap();
        sandbox.assert_outside_untouched();
    }

    // ---- modes ----

    #[cfg(unix)]
    #[test]
    fn setuid_file_becomes_0755() {
        let sandbox = Sandbox::new();
        let tar = Tar::default().file("suid", 0o4755, b"x").finish();
        sandbox.unpack_gz(&gz(&tar), &Limits::default()).unwrap();
        assert_eq!(mode_of(&sandbox.dest.join("suid")), 0o755);
        sandbox.assert_outside_untouched();
    }

    #[cfg(unix)]
    #[test]
    fn modes_are_rebuilt() {
        let sandbox = Sandbox::new();
        let tar = Tar::default()
            .file("plain", 0o666, b"x")
            .file("group_exec", 0o6710, b"x")
            .file("sticky", 0o1600, b"x")
            .entry(b"dir", b'5', 0o7777, b"")
            .file("implicit/f", 0o400, b"x")
            .finish();
        sandbox.unpack_gz(&gz(&tar), &Limits::default()).unwrap();
        let dest = &sandbox.dest;
        assert_eq!(mode_of(&dest.join("plain")), 0o644);
        assert_eq!(mode_of(&dest.join("group_exec")), 0o755);
        assert_eq!(mode_of(&dest.join("sticky")), 0o644);
        assert_eq!(mode_of(&dest.join("dir")), 0o755);
        assert_eq!(mode_of(&dest.join("implicit")), 0o755);
        assert_eq!(mode_of(&dest.join("implicit/f")), 0o644);
    }

    #[test]
    fn refuses_invalid_mode() {
        let mut h = header(b"a", b'0', 0o644, 0);
        h[100..108].copy_from_slice(b"9z9z9z9\0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let err = refused(&Tar(h.to_vec()).finish());
        assert!(matches!(err, ExtractError::InvalidMode { .. }), "{err:?}");
    }

    // ---- limits ----

    #[test]
    fn refuses_too_many_entries() {
        let limits = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        let mut tar = Tar::default();
        for i in 0..3 {
            tar = tar.file(&format!("f{i}"), 0o644, b"x");
        }
        let ok = tar.finish();
        let sandbox = Sandbox::new();
        sandbox.unpack_gz(&gz(&ok), &limits).unwrap();

        let mut tar = Tar::default();
        for i in 0..4 {
            tar = tar.file(&format!("f{i}"), 0o644, b"x");
        }
        let err = refused_with(&tar.finish(), &limits, 6);
        assert!(
            matches!(err, ExtractError::TooManyEntries { max: 3, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "archive has more than 3 entries (at entry `f3`)"
        );
        assert!(err.hint().unwrap().contains("--max-entries"));
    }

    #[test]
    fn refuses_over_max_unpacked_via_many_entries() {
        let limits = Limits {
            max_unpacked_bytes: 10_000,
            ..Limits::default()
        };
        let chunk = vec![b'x'; 3000];
        let mut tar = Tar::default();
        for i in 0..4 {
            tar = tar.file(&format!("f{i}"), 0o644, &chunk);
        }
        let sandbox = Sandbox::new();
        let err = sandbox.unpack_gz(&gz(&tar.finish()), &limits).unwrap_err();
        assert!(
            matches!(err, ExtractError::TooLarge { max: 10_000, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "archive unpacks to more than 10000 bytes (at entry `f3`)"
        );
        assert_eq!(err.exit_code(), 6);
        assert_eq!(
            sandbox.dest_bytes(),
            9000,
            "the fourth file was never started"
        );
        assert!(err.hint().unwrap().contains("HOOKSTRAP_MAX_UNPACKED"));
        sandbox.assert_outside_untouched();
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
            .dir("d")
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
            .dir("d")
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

    /// Deterministic noise.
    fn noise(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    }

    #[test]
    fn refuses_random_bytes() {
        for seed in 1..20 {
            let bytes = noise(4096, seed);
            let sandbox = Sandbox::new();
            let err = sandbox.unpack_gz(&bytes, &Limits::default()).unwrap_err();
            assert!(matches!(err, ExtractError::NotGzip), "{err:?}");
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
        assert!(matches!(err, ExtractError::NotGzip), "{err:?}");
    }

    #[test]
    fn refuses_plain_tar_given_as_gzip() {
        let sandbox = Sandbox::new();
        let tar = Tar::default().file("a", 0o644, b"x").finish();
        let err = sandbox.unpack_gz(&tar, &Limits::default()).unwrap_err();
        assert!(matches!(err, ExtractError::NotGzip), "{err:?}");
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

    struct FailingReader<'a> {
        data: &'a [u8],
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

    struct CountingReader<R> {
        inner: R,
        count: u64,
    }

    impl<R: Read> Read for &mut CountingReader<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.count += n as u64;
            Ok(n)
        }
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
            let mut reader = CountingReader {
                inner: &bytes[..],
                count: 0,
            };
            let unpacked = unpack_tar_gz(&mut reader, &sandbox.dest, &Limits::default()).unwrap();
            assert_eq!(unpacked.entries, 4);
            assert_eq!(reader.count, bytes.len() as u64);
        }
        // The same for a plain tar.
        let sandbox = Sandbox::new();
        let mut reader = CountingReader {
            inner: &tar[..],
            count: 0,
        };
        unpack_tar(&mut reader, &sandbox.dest, &Limits::default()).unwrap();
        assert_eq!(reader.count, tar.len() as u64);
    }

    #[test]
    fn default_limits() {
        let limits = Limits::default();
        assert_eq!(limits.max_unpacked_bytes, 1 << 30);
        assert_eq!(limits.max_entries, 10_000);
        assert_eq!(limits.max_path_len, 4096);
    }

    // ---- any name at all ----

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn name_bytes() -> impl Strategy<Value = Vec<u8>> {
            proptest::collection::vec(
                prop_oneof![
                    Just(b'.'),
                    Just(b'/'),
                    Just(b'\\'),
                    Just(0u8),
                    Just(b':'),
                    Just(b'a'),
                    Just(b'C'),
                    any::<u8>(),
                ],
                0..24,
            )
        }

        proptest! {
            #[test]
            fn any_name_is_refused_or_lands_inside_dest(name in name_bytes(), is_dir in any::<bool>()) {
                let tar = Tar::default().long_name(&name);
                let tar = if is_dir {
                    tar.dir("placeholder")
                } else {
                    tar.file("placeholder", 0o644, b"data")
                };
                let sandbox = Sandbox::new();
                let result = sandbox.unpack_gz(&gz(&tar.finish()), &Limits::default());
                sandbox.assert_outside_untouched();
                match result {
                    Err(err) => prop_assert_eq!(err.exit_code(), 6, "{:?}", err),
                    Ok(unpacked) => {
                        prop_assert_eq!(unpacked.entries, 1);
                        let listing = sandbox.listing();
                        if is_dir {
                            prop_assert!(listing.iter().all(|p| sandbox.dest.join(p).is_dir()));
                        } else {
                            let files: Vec<_> = listing
                                .iter()
                                .filter(|p| !sandbox.dest.join(p).is_dir())
                                .collect();
                            prop_assert_eq!(files.len(), 1);
                            let path = sandbox.dest.join(files[0]);
                            prop_assert!(path.starts_with(&sandbox.dest));
                            prop_assert_eq!(fs::read(&path).unwrap(), b"data");
                        }
                    }
                }
            }
        }
    }
}
