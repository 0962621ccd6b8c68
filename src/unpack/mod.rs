//! Release archives of every shape a tool may ship: `.tar.gz`, `.tar.xz`, `.tar.zst`, `.zip` and
//! a bare binary, unpacked under the same hardened rules as [`crate::unpack`] (SPEC.md,
//! "Untrusted archives"), then the one binary to install found inside by name.
//!
//! - Tar formats go through a decompressor into [`extract::unpack_tar`], which enforces names,
//!   entry types, modes and limits; the decompressed stream is cut off just past the byte limit,
//!   so a decompression bomb stops early. Decoder memory is bounded too (xz: 256 MiB dictionary
//!   limit; zstd: ruzstd's 128 MiB window limit). Integrity trailers (xz block checks, zstd
//!   content checksums) are verified; trailing garbage after an xz or zstd stream is refused.
//! - Zip entries are checked with the same name rules; only regular files and directories are
//!   accepted (the unix file type in the external attributes), encrypted entries are refused,
//!   bytes are counted as they are decompressed (the sizes in the directory may lie), and CRCs
//!   are checked by reading every entry to its end.
//! - A bare binary is copied to `dest/bare_name`, counted against the byte limit.
//!
//! Every format drains `reader` to EOF, so a hashing reader wrapped around it sees every byte.
//! On error nothing is cleaned up: `dest` is the caller's temporary directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

mod tarball;

pub use crate::resolve::assets::Format;
pub use tarball::{ExtractError, Limits, Unpacked, unpack_tar, unpack_tar_gz};

use crate::diag::{Code, Diagnostic};
use tarball as extract;
use tarball::{ensure_dir, escape_text, shown_name, shown_text, too_long};

/// Size of the copy buffer.
const BUF_SIZE: usize = 64 * 1024;

/// Most memory the xz decoder may allocate for one block's dictionary, in KiB (`xz -9` needs
/// 64 MiB; anything larger than this is not a release archive).
const XZ_MEM_LIMIT_KB: u32 = 256 * 1024;

/// Unpack `reader` (an asset in `format`) into `dest`, an existing empty directory.
///
/// - `src_path`: the same bytes as a file. A zip needs to seek: it is read from `src_path` (and
///   `reader` is drained to EOF first); without one, `reader` is spooled to an anonymous
///   temporary file.
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
        Format::TarGz => extract::unpack_tar_gz(reader, dest, limits),
        Format::TarXz => unpack_tar_xz(reader, dest, limits),
        Format::TarZst => unpack_tar_zst(reader, dest, limits),
        Format::Zip => unpack_zip(reader, src_path, dest, bare_name, limits),
        Format::Bare => unpack_bare(reader, dest, bare_name, limits),
    }
}

// ---- tar.xz and tar.zst ----

/// The caller's reader, remembering how much it gave, whether it ended and whether it failed,
/// so that a decoder's error can be told apart: a local read failure (exit 7), a truncated
/// stream or a corrupt one (exit 6).
struct Tracked<R> {
    inner: R,
    read: u64,
    eof: bool,
    failed: bool,
}

impl<R> Tracked<R> {
    fn new(inner: R) -> Self {
        Tracked {
            inner,
            read: 0,
            eof: false,
            failed: false,
        }
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(0) if !buf.is_empty() => {
                self.eof = true;
                Ok(0)
            }
            Ok(n) => {
                self.read += n as u64;
                Ok(n)
            }
            Err(err) => {
                if err.kind() != io::ErrorKind::Interrupted {
                    self.failed = true;
                }
                Err(err)
            }
        }
    }
}

/// Reads the first bytes of `source` (at most `magic.len()`) and checks them against `magic`.
fn check_magic<R: Read>(
    source: &mut Tracked<R>,
    magic: &[u8],
    what: &str,
) -> Result<Vec<u8>, ExtractError> {
    let mut head = vec![0u8; magic.len()];
    let mut filled = 0;
    while filled < head.len() {
        match source.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(ExtractError::Read { source }),
        }
    }
    head.truncate(filled);
    if head.is_empty() {
        return Err(ExtractError::Empty);
    }
    if head != magic {
        return Err(ExtractError::Corrupt {
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                format!("archive is not {what} stream"),
            ),
        });
    }
    Ok(head)
}

/// `unpack_tar` reports every error of the reader it is given as a local read failure; for a
/// decoder most are the archive's fault. Decide from what the underlying reader saw.
fn reclassify<R>(err: ExtractError, source: &Tracked<R>) -> ExtractError {
    match err {
        ExtractError::Read { source: err } if !source.failed => {
            if source.eof || err.kind() == io::ErrorKind::UnexpectedEof {
                ExtractError::Truncated { source: Some(err) }
            } else {
                ExtractError::Corrupt { source: err }
            }
        }
        other => other,
    }
}

/// Drain whatever the decoder left unread, so a hashing reader sees every byte.
fn drain_source<R: Read>(source: &mut Tracked<R>) -> Result<(), ExtractError> {
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        match source.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(ExtractError::Read { source }),
        }
    }
}

const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];

fn unpack_tar_xz(
    reader: impl Read,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    let mut source = Tracked::new(reader);
    let head = check_magic(&mut source, &XZ_MAGIC, "an xz")?;
    // Concatenated streams and stream padding are valid xz (and the decoder reads to EOF, so
    // anything else after the last stream is refused).
    let mut decoder = lzma_rust2::XzReader::new_mem_limit(
        io::Cursor::new(head).chain(source),
        true,
        XZ_MEM_LIMIT_KB,
    );
    let result = extract::unpack_tar(&mut decoder, dest, limits);
    let (_, mut source) = decoder.into_inner().into_inner();
    let unpacked = result.map_err(|err| reclassify(err, &source))?;
    drain_source(&mut source)?;
    Ok(unpacked)
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

fn unpack_tar_zst(
    reader: impl Read,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    let mut source = Tracked::new(reader);
    let head = check_magic(&mut source, &ZSTD_MAGIC, "a zstd")?;
    let mut decoder = ZstdFrames::new(io::Cursor::new(head).chain(source));
    let result = extract::unpack_tar(&mut decoder, dest, limits);
    let (_, mut source) = decoder.source.into_inner();
    let unpacked = result.map_err(|err| reclassify(err, &source))?;
    drain_source(&mut source)?;
    Ok(unpacked)
}

/// A zstd decoder over every frame of the input (a stream may hold several, and skippable
/// frames), checking each frame's content checksum. It reads its input to EOF.
struct ZstdFrames<R> {
    source: R,
    decoder: ruzstd::decoding::FrameDecoder,
    in_frame: bool,
}

impl<R: Read> ZstdFrames<R> {
    fn new(source: R) -> Self {
        ZstdFrames {
            source,
            decoder: ruzstd::decoding::FrameDecoder::new(),
            in_frame: false,
        }
    }

    /// Start the next frame; `false` at the end of the input.
    fn next_frame(&mut self) -> io::Result<bool> {
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        loop {
            let mut first = [0u8; 1];
            let n = loop {
                match self.source.read(&mut first) {
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    other => break other?,
                }
            };
            if n == 0 {
                return Ok(false);
            }
            let mut input = (&first[..]).chain(&mut self.source);
            match self.decoder.init(&mut input) {
                Ok(()) => return Ok(true),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped = io::copy(
                        &mut (&mut self.source).take(u64::from(length)),
                        &mut io::sink(),
                    )?;
                    if skipped != u64::from(length) {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(err) => return Err(zstd_error(err)),
            }
        }
    }
}

fn zstd_error(err: ruzstd::decoding::errors::FrameDecoderError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, err.to_string())
}

impl<R: Read> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if !self.next_frame()? {
                    return Ok(0);
                }
                self.in_frame = true;
            }
            if self.decoder.can_collect() > 0 {
                return self.decoder.read(buf);
            }
            if self.decoder.is_finished() {
                // Every byte of the frame has been read out: its checksum is final.
                if let Some(expected) = self.decoder.get_checksum_from_data()
                    && self.decoder.get_calculated_checksum() != Some(expected)
                {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "zstd frame checksum mismatch",
                    ));
                }
                self.in_frame = false;
                continue;
            }
            // One block is at most 128 KiB of output.
            self.decoder
                .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBlocks(1))
                .map_err(zstd_error)?;
        }
    }
}

// ---- zip ----

/// File type bits of a unix mode.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;

fn unpack_zip(
    reader: impl Read,
    src_path: Option<&Path>,
    dest: &Path,
    bare_name: &str,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    let mut reader = reader;
    let file = match src_path {
        Some(path) => {
            io::copy(&mut reader, &mut io::sink())
                .map_err(|source| ExtractError::Read { source })?;
            File::open(path).map_err(|source| ExtractError::Read { source })?
        }
        None => {
            let mut spool = tempfile::tempfile().map_err(|source| ExtractError::Create {
                path: std::env::temp_dir(),
                source,
            })?;
            io::copy(&mut reader, &mut spool).map_err(|source| ExtractError::Read { source })?;
            spool
                .rewind()
                .map_err(|source| ExtractError::Read { source })?;
            spool
        }
    };
    let len = file
        .metadata()
        .map_err(|source| ExtractError::Read { source })?
        .len();
    if len == 0 {
        return Err(ExtractError::Empty);
    }
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file)).map_err(zip_error)?;
    if archive.len() as u64 > limits.max_entries {
        let name = archive
            .file_names_raw()
            .nth(usize::try_from(limits.max_entries).unwrap_or(usize::MAX))
            .map(shown_name)
            .unwrap_or_default();
        return Err(ExtractError::TooManyEntries {
            name,
            max: limits.max_entries,
        });
    }
    let mut unpacked = Unpacked::default();
    let mut buf = vec![0u8; BUF_SIZE];
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(zip_error)?;
        let raw_name = entry.name_raw().to_vec();
        let shown = shown_name(&raw_name);
        let relative = extract::safe_relative_path(&raw_name, limits.max_path_len)?;
        let mode = entry.unix_mode().unwrap_or(0);
        let is_dir = match mode & S_IFMT {
            0 => raw_name.ends_with(b"/"),
            S_IFDIR => true,
            S_IFREG if raw_name.ends_with(b"/") => {
                return Err(ExtractError::UnsafePath {
                    name: shown,
                    reason: "is a file whose name ends with `/`",
                });
            }
            S_IFREG => false,
            other => {
                return Err(ExtractError::UnsupportedEntry {
                    name: shown,
                    kind: zip_kind_name(other).to_owned(),
                });
            }
        };
        if entry.encrypted() {
            return Err(ExtractError::UnsupportedEntry {
                name: shown,
                kind: "encrypted file".to_owned(),
            });
        }
        if is_dir {
            if entry.size() != 0 {
                return Err(ExtractError::DirectoryWithData { name: shown });
            }
            let mut path = dest.to_path_buf();
            for component in &relative {
                path.push(component);
                ensure_dir(&path, &shown)?;
            }
            unpacked.entries += 1;
            continue;
        }
        let Some((file_name, parents)) = relative.split_last() else {
            return Err(ExtractError::UnsafePath {
                name: shown,
                reason: "is empty",
            });
        };
        let budget = limits.max_unpacked_bytes - unpacked.bytes;
        if entry.size() > budget {
            return Err(ExtractError::TooLarge {
                name: shown,
                max: limits.max_unpacked_bytes,
            });
        }
        let mut path = dest.to_path_buf();
        for component in parents {
            path.push(component);
            ensure_dir(&path, &shown)?;
        }
        path.push(file_name);
        let mut out = create_file(&path, &shown)?;
        // The directory's size may lie: count what the decoder really produces.
        let written = copy_limited(&mut entry, &mut out, &path, budget, &mut buf).map_err(
            |err| match err {
                CopyError::OverLimit => ExtractError::TooLarge {
                    name: shown.clone(),
                    max: limits.max_unpacked_bytes,
                },
                CopyError::Read(err) => archive_read_error(err),
                CopyError::Write(err) => err,
            },
        )?;
        let chosen = *file_name == bare_name
            || file_name
                .strip_suffix(".exe")
                .is_some_and(|stem| stem == bare_name);
        let mode = if mode & 0o111 != 0 || chosen {
            0o755
        } else {
            0o644
        };
        extract::set_file_mode(&out, mode).map_err(|source| ExtractError::Write {
            path: path.clone(),
            source,
        })?;
        unpacked.bytes += written;
        unpacked.entries += 1;
    }
    Ok(unpacked)
}

/// What to call a zip entry's unix file type in a message.
fn zip_kind_name(file_type: u32) -> &'static str {
    match file_type {
        0o120_000 => "symbolic link",
        0o020_000 => "character device",
        0o060_000 => "block device",
        0o010_000 => "FIFO",
        0o140_000 => "socket",
        _ => "file of unknown type",
    }
}

fn zip_error(err: zip::result::ZipError) -> ExtractError {
    use zip::result::ZipError;
    match err {
        ZipError::Io(err) => archive_read_error(err),
        other => ExtractError::Corrupt {
            source: io::Error::new(io::ErrorKind::InvalidData, escape_text(&other.to_string())),
        },
    }
}

/// An error while reading a zip that is already a local, verified file: the archive's fault
/// (a bad deflate stream, a CRC mismatch, a size that does not add up), except a real I/O error.
fn archive_read_error(err: io::Error) -> ExtractError {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => ExtractError::Truncated { source: Some(err) },
        // `Unsupported`: an entry compressed with a method we do not read (say, LZMA in a zip).
        io::ErrorKind::InvalidData
        | io::ErrorKind::InvalidInput
        | io::ErrorKind::Unsupported
        | io::ErrorKind::Other => ExtractError::Corrupt {
            source: io::Error::new(err.kind(), escape_text(&err.to_string())),
        },
        _ => ExtractError::Read { source: err },
    }
}

enum CopyError {
    OverLimit,
    Read(io::Error),
    Write(ExtractError),
}

/// Copy at most `limit` bytes from `from` to `to`; reading a byte more is an error.
fn copy_limited(
    from: &mut impl Read,
    to: &mut File,
    path: &Path,
    limit: u64,
    buf: &mut [u8],
) -> Result<u64, CopyError> {
    let mut written: u64 = 0;
    loop {
        let room = limit - written;
        // Ask for one byte more than allowed, to notice going over.
        let want = usize::try_from(room.saturating_add(1)).map_or(buf.len(), |r| r.min(buf.len()));
        let n = match from.read(&mut buf[..want]) {
            Ok(0) => return Ok(written),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(CopyError::Read(err)),
        };
        if n as u64 > room {
            return Err(CopyError::OverLimit);
        }
        to.write_all(&buf[..n]).map_err(|source| {
            CopyError::Write(ExtractError::Write {
                path: path.to_path_buf(),
                source,
            })
        })?;
        written += n as u64;
    }
}

// ---- bare binaries ----

fn unpack_bare(
    reader: impl Read,
    dest: &Path,
    bare_name: &str,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    check_bare_name(bare_name)?;
    let mut source = Tracked::new(reader);
    let path = dest.join(bare_name);
    let mut out = create_file(&path, bare_name)?;
    let mut buf = vec![0u8; BUF_SIZE];
    let written = copy_limited(
        &mut source,
        &mut out,
        &path,
        limits.max_unpacked_bytes,
        &mut buf,
    )
    .map_err(|err| match err {
        CopyError::OverLimit => ExtractError::TooLarge {
            name: bare_name.to_owned(),
            max: limits.max_unpacked_bytes,
        },
        CopyError::Read(source) => ExtractError::Read { source },
        CopyError::Write(err) => err,
    })?;
    if written == 0 {
        return Err(ExtractError::Empty);
    }
    extract::set_file_mode(&out, 0o755).map_err(|source| ExtractError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(Unpacked {
        entries: 1,
        bytes: written,
    })
}

/// The name a bare binary gets must be one plain file name.
fn check_bare_name(name: &str) -> Result<(), ExtractError> {
    let reason = if name.is_empty() {
        Some("is empty")
    } else if name == "." || name == ".." {
        Some("is not a file name")
    } else if name.contains(['/', '\\', '\0']) || name.chars().any(char::is_control) {
        Some("is not a plain file name")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ExtractError::UnsafePath {
            name: shown_text(name),
            reason,
        }),
        None => Ok(()),
    }
}

// ---- finding the binary ----

/// Why no binary was found in an unpacked tree.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("the archive holds no usable `{name}`: it holds no file of that name{}", if files.is_empty() { "" } else { ", nor one executable file" })]
    NotFound {
        name: String,
        /// A few regular files that are there, to help pick a `bin` name.
        files: Vec<String>,
    },
    #[error("the archive holds no usable `{name}`: it holds several: {}", paths.join(", "))]
    Ambiguous { name: String, paths: Vec<String> },
    #[error("the archive holds no usable `{name}`: it holds `{path}`, which is not a regular file")]
    NotRegular { name: String, path: String },
    /// The Platform.sh CLI's layout: the binary sits at the archive's root.
    #[error("the archive holds no usable `{name}`: it {}", if *.present { "is not a regular file" } else { "is not at the archive's root" })]
    NotAtRoot { name: String, present: bool },
    #[error("failed to read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl Diagnostic for FindError {
    /// 7 for a local read failure, 6 (archive refused: binary missing) otherwise.
    fn code(&self) -> Code {
        match self {
            FindError::Io { .. } => Code::LocalFs,
            _ => Code::Archive,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            FindError::NotFound { files, .. } if !files.is_empty() => Some(format!(
                "set `bin` to the command's name in hookstrap.toml; the archive holds {}",
                files.join(", ")
            )),
            FindError::Ambiguous { .. } => {
                Some("the archive is not shaped like a single-tool release".to_owned())
            }
            FindError::NotFound { .. }
            | FindError::NotRegular { .. }
            | FindError::NotAtRoot { .. }
            | FindError::Io { .. } => None,
        }
    }
}

/// Most file names listed in [`FindError::NotFound`].
const MAX_LISTED: usize = 10;

/// The regular file called `name` (else `name.exe`) anywhere under `dest`, an unpacked
/// archive: `gh_2.63.0_linux_amd64/bin/gh`, `ripgrep-14.1.1-x86_64-unknown-linux-musl/rg`.
/// Two candidates of the same kind are ambiguous; a link or other non-regular file of that name
/// is refused; directories of that name are not candidates. Links are never followed.
///
/// With no file of that name, the archive's only executable file is the binary: the command is
/// named after the repository whatever the archive calls it (SPEC.md, "Other released tools"),
/// so `github:cli/cli` installs `gh_2.63.0_linux_amd64/bin/gh` as `cli`. Several executables
/// and no file of that name is [`FindError::NotFound`], listing them: never a guess.
pub fn find_binary(dest: &Path, name: &str) -> Result<PathBuf, FindError> {
    let exe = format!("{name}.exe");
    let mut exact = Vec::new();
    let mut with_exe = Vec::new();
    let mut others = Vec::new();
    let mut executables = Vec::new();
    let mut pending = vec![dest.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|source| FindError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| FindError::Io {
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(|source| FindError::Io {
                path: path.clone(),
                source,
            })?;
            if file_type.is_dir() {
                pending.push(path);
                continue;
            }
            let file_name = entry.file_name();
            let matches = if file_name == std::ffi::OsStr::new(name) {
                Some(&mut exact)
            } else if file_name == std::ffi::OsStr::new(&exe) {
                Some(&mut with_exe)
            } else {
                None
            };
            match matches {
                Some(_) if !file_type.is_file() => {
                    return Err(FindError::NotRegular {
                        name: name.to_owned(),
                        path: relative_text(dest, &path),
                    });
                }
                Some(list) => list.push(path),
                None if file_type.is_file() => {
                    if is_executable(&entry).map_err(|source| FindError::Io {
                        path: path.clone(),
                        source,
                    })? {
                        executables.push(path.clone());
                    }
                    others.push(relative_text(dest, &path));
                }
                None => {}
            }
        }
    }
    let found = if exact.is_empty() { with_exe } else { exact };
    match found.len() {
        0 if executables.len() == 1 => Ok(executables.into_iter().next().unwrap_or_default()),
        0 => {
            others.sort();
            others.truncate(MAX_LISTED);
            Err(FindError::NotFound {
                name: name.to_owned(),
                files: others,
            })
        }
        1 => Ok(found.into_iter().next().unwrap_or_default()),
        _ => {
            let mut paths: Vec<String> = found.iter().map(|p| relative_text(dest, p)).collect();
            paths.sort();
            Err(FindError::Ambiguous {
                name: name.to_owned(),
                paths,
            })
        }
    }
}

/// Whether an unpacked file has an executable bit (unpacking rebuilt every mode as 0755 or
/// 0644). Elsewhere than Unix, a `.exe` name stands in for the bit.
#[cfg(unix)]
fn is_executable(entry: &fs::DirEntry) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    Ok(entry.metadata()?.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(entry: &fs::DirEntry) -> io::Result<bool> {
    Ok(entry
        .file_name()
        .to_string_lossy()
        .to_ascii_lowercase()
        .ends_with(".exe"))
}

fn relative_text(dest: &Path, path: &Path) -> String {
    shown_text(&path.strip_prefix(dest).unwrap_or(path).to_string_lossy())
}

// ---- filesystem helpers (the same rules as `extract`) ----

/// Create a new file, never opening an existing one or following a link.
fn create_file(path: &Path, shown: &str) -> Result<File, ExtractError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|source| match source.kind() {
        io::ErrorKind::AlreadyExists => ExtractError::Duplicate {
            name: shown.to_owned(),
        },
        io::ErrorKind::InvalidFilename => too_long(shown),
        _ => ExtractError::Create {
            path: path.to_path_buf(),
            source,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    // ---- fixtures ----

    /// A tar holding `files` (`name`, mode, data); names ending in `/` are directories.
    fn tar_of(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
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

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn xz(data: &[u8]) -> Vec<u8> {
        let mut w =
            lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(0)).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    fn zst(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    fn compress(format: Format, tar: &[u8]) -> Vec<u8> {
        match format {
            Format::TarGz => gz(tar),
            Format::TarXz => xz(tar),
            Format::TarZst => zst(tar),
            _ => unreachable!(),
        }
    }

    const TAR_FORMATS: [Format; 3] = [Format::TarGz, Format::TarXz, Format::TarZst];

    /// `entries`: (name, unix mode or None, data); names ending in `/` are directories.
    fn zip_of(entries: &[(&str, Option<u32>, &[u8])]) -> Vec<u8> {
        use zip::write::SimpleFileOptions;
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, mode, data) in entries {
            let mut options =
                SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
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
    fn gh_tree() -> Vec<u8> {
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
    fn rg_tree() -> Vec<u8> {
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

    struct Dirs {
        _root: TempDir,
        dest: PathBuf,
        outside: PathBuf,
    }

    impl Dirs {
        fn new() -> Dirs {
            let root = TempDir::new().unwrap();
            let dest = root.path().join("dest");
            let outside = root.path().join("outside");
            fs::create_dir(&dest).unwrap();
            fs::create_dir(&outside).unwrap();
            Dirs {
                _root: root,
                dest,
                outside,
            }
        }

        fn unpack(
            &self,
            format: Format,
            bytes: &[u8],
            limits: &Limits,
        ) -> Result<Unpacked, ExtractError> {
            unpack(format, bytes, None, &self.dest, "tool", limits)
        }

        fn assert_outside_untouched(&self) {
            assert_eq!(fs::read_dir(&self.outside).unwrap().count(), 0);
            let parent = self.dest.parent().unwrap();
            assert_eq!(fs::read_dir(parent).unwrap().count(), 2);
        }

        fn listing(&self) -> Vec<String> {
            fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
                for entry in fs::read_dir(dir).unwrap() {
                    let path = entry.unwrap().path();
                    out.push(
                        path.strip_prefix(root)
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    );
                    if fs::symlink_metadata(&path).unwrap().is_dir() {
                        walk(root, &path, out);
                    }
                }
            }
            let mut out = Vec::new();
            walk(&self.dest, &self.dest, &mut out);
            out.sort();
            out
        }
    }

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    struct Counting<'a> {
        data: &'a [u8],
        read: usize,
    }

    impl Read for &mut Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (&self.data[self.read..]).read(buf)?;
            self.read += n;
            Ok(n)
        }
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

    // ---- tar formats ----

    #[test]
    fn unpacks_every_tar_format_and_finds_the_binary() {
        for format in TAR_FORMATS {
            let dirs = Dirs::new();
            let unpacked = dirs
                .unpack(format, &compress(format, &gh_tree()), &Limits::default())
                .unwrap();
            assert_eq!(unpacked.entries, 5, "{format:?}");
            assert_eq!(unpacked.bytes, 7 + 3 + 6, "{format:?}");
            let bin = find_binary(&dirs.dest, "gh").unwrap();
            assert_eq!(bin, dirs.dest.join("gh_2.63.0_linux_amd64/bin/gh"));
            assert_eq!(fs::read(&bin).unwrap(), b"\x7fELF gh");
            #[cfg(unix)]
            {
                assert_eq!(mode_of(&bin), 0o755);
                assert_eq!(
                    mode_of(&dirs.dest.join("gh_2.63.0_linux_amd64/LICENSE")),
                    0o644
                );
            }

            let dirs = Dirs::new();
            dirs.unpack(format, &compress(format, &rg_tree()), &Limits::default())
                .unwrap();
            assert_eq!(
                find_binary(&dirs.dest, "rg").unwrap(),
                dirs.dest
                    .join("ripgrep-14.1.1-x86_64-unknown-linux-musl/rg")
            );
        }
    }

    #[test]
    fn tar_formats_apply_the_hardened_rules() {
        let mut escape = tar::Header::new_gnu();
        escape.set_size(1);
        escape.set_mode(0o644);
        escape.set_entry_type(tar::EntryType::Regular);
        // `tar::Builder` refuses `..`; write the name into the raw header.
        escape.as_old_mut().name[..9].copy_from_slice(b"../escape");
        escape.set_cksum();
        let mut evil = escape.as_bytes().to_vec();
        evil.extend_from_slice(&[b'x'; 512]);
        evil.extend_from_slice(&[0; 1024]);

        let mut link = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        link.append_link(&mut header, "bin/tool", "/etc/passwd")
            .unwrap();
        let link = link.into_inner().unwrap();

        let setuid = tar_of(&[("tool", 0o4755, b"x"), ("doc", 0o666, b"y")]);
        for format in TAR_FORMATS {
            for (tar, what) in [(&evil, "dotdot"), (&link, "symlink")] {
                let dirs = Dirs::new();
                let err = dirs
                    .unpack(format, &compress(format, tar), &Limits::default())
                    .unwrap_err();
                assert_eq!(err.exit_code(), 6, "{format:?} {what}: {err:?}");
                dirs.assert_outside_untouched();
            }
            let dirs = Dirs::new();
            dirs.unpack(format, &compress(format, &setuid), &Limits::default())
                .unwrap();
            #[cfg(unix)]
            {
                assert_eq!(mode_of(&dirs.dest.join("tool")), 0o755);
                assert_eq!(mode_of(&dirs.dest.join("doc")), 0o644);
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
            let dirs = Dirs::new();
            let err = dirs
                .unpack(format, &compress(format, &many), &limits)
                .unwrap_err();
            assert!(
                matches!(err, ExtractError::TooLarge { .. }),
                "{format:?}: {err:?}"
            );
            let dirs = Dirs::new();
            let err = dirs
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
                let dirs = Dirs::new();
                let err = dirs
                    .unpack(format, &archive[..cut], &Limits::default())
                    .expect_err(&format!("{format:?} accepted a cut at {cut}"));
                assert_eq!(err.exit_code(), 6, "{format:?} cut at {cut}: {err:?}");
            }
            for at in [archive.len() / 2, archive.len() - 1] {
                let mut bad = archive.clone();
                bad[at] ^= 0x55;
                let dirs = Dirs::new();
                let err = dirs
                    .unpack(format, &bad, &Limits::default())
                    .expect_err(&format!("{format:?} accepted a flip at {at}"));
                assert_eq!(err.exit_code(), 6, "{format:?} flip at {at}: {err:?}");
            }
            let mut trailing = archive.clone();
            trailing.extend_from_slice(b"garbage after the stream");
            let err = Dirs::new()
                .unpack(format, &trailing, &Limits::default())
                .unwrap_err();
            assert_eq!(err.exit_code(), 6, "{format:?}: {err:?}");
            // The wrong format entirely.
            let err = Dirs::new()
                .unpack(format, &gz(&tar), &Limits::default())
                .unwrap_err();
            assert!(
                matches!(err, ExtractError::Corrupt { .. }),
                "{format:?}: {err:?}"
            );
            let err = Dirs::new()
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
        let dirs = Dirs::new();
        let err = dirs
            .unpack(Format::TarZst, &bad, &Limits::default())
            .unwrap_err();
        assert!(matches!(err, ExtractError::Corrupt { .. }), "{err:?}");
        Dirs::new()
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
        let dirs = Dirs::new();
        let unpacked = dirs
            .unpack(Format::TarZst, &archive, &Limits::default())
            .unwrap();
        assert_eq!(unpacked.entries, 5);
        find_binary(&dirs.dest, "gh").unwrap();
    }

    #[test]
    fn xz_reads_concatenated_streams() {
        let tar = rg_tree();
        let (head, tail) = tar.split_at(700);
        let mut archive = xz(head);
        archive.extend_from_slice(&xz(tail));
        let dirs = Dirs::new();
        dirs.unpack(Format::TarXz, &archive, &Limits::default())
            .unwrap();
        find_binary(&dirs.dest, "rg").unwrap();
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
            let dirs = Dirs::new();
            let mut reader = Counting {
                data: &bytes,
                read: 0,
            };
            unpack(
                format,
                &mut reader,
                None,
                &dirs.dest,
                "gh",
                &Limits::default(),
            )
            .unwrap();
            assert_eq!(reader.read, bytes.len(), "{format:?}");
        }
    }

    struct Failing;

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
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
            let dirs = Dirs::new();
            let reader = io::Cursor::new(head).chain(Failing);
            let err =
                unpack(format, reader, None, &dirs.dest, "tool", &Limits::default()).unwrap_err();
            assert!(
                matches!(err, ExtractError::Read { .. }),
                "{format:?}: {err:?}"
            );
            assert_eq!(err.exit_code(), 7);
        }
    }

    // ---- zip ----

    #[test]
    fn unpacks_a_windows_zip_and_marks_the_binary_executable() {
        let zip = zip_of(&[
            ("gh_2.63.0_windows_amd64/", None, b""),
            ("gh_2.63.0_windows_amd64/bin/gh.exe", None, b"MZ gh"),
            ("gh_2.63.0_windows_amd64/LICENSE", None, b"MIT"),
        ]);
        let dirs = Dirs::new();
        let unpacked = unpack(
            Format::Zip,
            &zip[..],
            None,
            &dirs.dest,
            "gh",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(unpacked.entries, 3);
        assert_eq!(unpacked.bytes, 8);
        let bin = find_binary(&dirs.dest, "gh").unwrap();
        assert_eq!(bin, dirs.dest.join("gh_2.63.0_windows_amd64/bin/gh.exe"));
        #[cfg(unix)]
        {
            assert_eq!(mode_of(&bin), 0o755);
            assert_eq!(
                mode_of(&dirs.dest.join("gh_2.63.0_windows_amd64/LICENSE")),
                0o644
            );
            assert_eq!(mode_of(&dirs.dest.join("gh_2.63.0_windows_amd64")), 0o755);
        }
    }

    #[test]
    fn zip_unix_modes_are_rebuilt() {
        let zip = zip_of(&[
            ("gh_2.63.0_macOS_arm64/bin/gh", Some(0o4775), b"gh"),
            ("gh_2.63.0_macOS_arm64/share/doc", Some(0o666), b"doc"),
        ]);
        let root = TempDir::new().unwrap();
        let src = root.path().join("gh.zip");
        fs::write(&src, &zip).unwrap();
        let dirs = Dirs::new();
        // From the file; the reader is the same bytes (drained).
        unpack(
            Format::Zip,
            &zip[..],
            Some(&src),
            &dirs.dest,
            "other",
            &Limits::default(),
        )
        .unwrap();
        #[cfg(unix)]
        {
            assert_eq!(
                mode_of(&dirs.dest.join("gh_2.63.0_macOS_arm64/bin/gh")),
                0o755
            );
            assert_eq!(
                mode_of(&dirs.dest.join("gh_2.63.0_macOS_arm64/share/doc")),
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
            let dirs = Dirs::new();
            let err = unpack(
                Format::Zip,
                &zip[..],
                None,
                &dirs.dest,
                "t",
                &Limits::default(),
            )
            .expect_err(name);
            assert!(
                matches!(err, ExtractError::UnsafePath { .. }),
                "{name:?}: {err:?}"
            );
            assert_eq!(err.exit_code(), 6);
            dirs.assert_outside_untouched();
        }
    }

    #[test]
    fn zip_refuses_symlinks_and_special_files() {
        use zip::write::SimpleFileOptions;
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        w.add_symlink("bin/tool", "/etc/passwd", SimpleFileOptions::default())
            .unwrap();
        let zip = w.finish().unwrap().into_inner();
        let dirs = Dirs::new();
        let err = unpack(
            Format::Zip,
            &zip[..],
            None,
            &dirs.dest,
            "tool",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ExtractError::UnsupportedEntry { kind, .. } if kind == "symbolic link"),
            "{err:?}"
        );
        assert!(fs::symlink_metadata(dirs.dest.join("bin/tool")).is_err());

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
            let dirs = Dirs::new();
            let err = unpack(
                Format::Zip,
                &zip[..],
                None,
                &dirs.dest,
                "t",
                &Limits::default(),
            )
            .unwrap_err();
            assert!(
                matches!(&err, ExtractError::UnsupportedEntry { kind: k, .. } if k == kind),
                "{kind}: {err:?}"
            );
            assert!(dirs.listing().is_empty());
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
        let dirs = Dirs::new();
        let err = unpack(Format::Zip, &zip[..], None, &dirs.dest, "t", &limits).unwrap_err();
        assert!(
            matches!(err, ExtractError::TooManyEntries { max: 3, .. }),
            "{err:?}"
        );
        assert!(dirs.listing().is_empty(), "checked before writing");

        let big = vec![0u8; 600];
        let zip = zip_of(&[("a", None, &big), ("b", None, &big)]);
        let err = unpack(Format::Zip, &zip[..], None, &Dirs::new().dest, "t", &limits).unwrap_err();
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
        let dirs = Dirs::new();
        let err = unpack(Format::Zip, &zip[..], None, &dirs.dest, "tool", &limits).unwrap_err();
        assert_eq!(err.exit_code(), 6, "{err:?}");
        let written = fs::metadata(dirs.dest.join("tool")).map_or(0, |m| m.len());
        assert!(
            written <= limits.max_unpacked_bytes,
            "wrote {written} bytes"
        );
    }

    #[test]
    fn zip_refuses_corrupt_and_empty_input() {
        let zip = zip_of(&[("tool", None, &[9u8; 5000])]);
        let dirs = Dirs::new();
        let err = unpack(
            Format::Zip,
            &b""[..],
            None,
            &dirs.dest,
            "t",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ExtractError::Empty), "{err:?}");
        let err = unpack(
            Format::Zip,
            &b"not a zip at all"[..],
            None,
            &dirs.dest,
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
                &Dirs::new().dest,
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
            &Dirs::new().dest,
            "t",
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 6, "{err:?}");
    }

    // ---- bare ----

    #[test]
    fn bare_binaries_are_copied_executable() {
        let dirs = Dirs::new();
        let unpacked = unpack(
            Format::Bare,
            &b"\x7fELF jq"[..],
            None,
            &dirs.dest,
            "jq",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            unpacked,
            Unpacked {
                entries: 1,
                bytes: 7
            }
        );
        assert_eq!(dirs.listing(), ["jq"]);
        assert_eq!(find_binary(&dirs.dest, "jq").unwrap(), dirs.dest.join("jq"));
        #[cfg(unix)]
        assert_eq!(mode_of(&dirs.dest.join("jq")), 0o755);
    }

    #[test]
    fn bare_binaries_respect_the_limit_and_names() {
        let limits = Limits {
            max_unpacked_bytes: 100,
            ..Limits::default()
        };
        let dirs = Dirs::new();
        let err = unpack(
            Format::Bare,
            &[1u8; 101][..],
            None,
            &dirs.dest,
            "yq",
            &limits,
        )
        .unwrap_err();
        assert!(
            matches!(err, ExtractError::TooLarge { max: 100, .. }),
            "{err:?}"
        );
        unpack(
            Format::Bare,
            &[1u8; 100][..],
            None,
            &Dirs::new().dest,
            "yq",
            &limits,
        )
        .unwrap();
        let err = unpack(
            Format::Bare,
            &b""[..],
            None,
            &Dirs::new().dest,
            "yq",
            &limits,
        )
        .unwrap_err();
        assert!(matches!(err, ExtractError::Empty), "{err:?}");
        for name in ["", ".", "..", "a/b", "../x", "a\\b", "a\0b"] {
            let dirs = Dirs::new();
            let err =
                unpack(Format::Bare, &b"x"[..], None, &dirs.dest, name, &limits).expect_err(name);
            assert!(
                matches!(err, ExtractError::UnsafePath { .. }),
                "{name:?}: {err:?}"
            );
            dirs.assert_outside_untouched();
        }
        // Never over an existing file.
        let dirs = Dirs::new();
        fs::write(dirs.dest.join("yq"), b"old").unwrap();
        let err = unpack(Format::Bare, &b"x"[..], None, &dirs.dest, "yq", &limits).unwrap_err();
        assert!(matches!(err, ExtractError::Duplicate { .. }), "{err:?}");
        assert_eq!(fs::read(dirs.dest.join("yq")).unwrap(), b"old");
    }

    // ---- find_binary ----

    #[test]
    fn find_binary_refuses_ambiguity_and_absence() {
        let dirs = Dirs::new();
        dirs.unpack(
            Format::TarGz,
            &gz(&tar_of(&[
                ("a/bin/gh", 0o755, b"1"),
                ("b/bin/gh", 0o755, b"2"),
                ("README.md", 0o644, b"r"),
            ])),
            &Limits::default(),
        )
        .unwrap();
        let err = find_binary(&dirs.dest, "gh").unwrap_err();
        assert!(
            matches!(&err, FindError::Ambiguous { name, paths } if name == "gh" && paths == &["a/bin/gh", "b/bin/gh"]),
            "{err:?}"
        );
        assert_eq!(err.exit_code(), 6);
        let err = find_binary(&dirs.dest, "jq").unwrap_err();
        assert!(
            matches!(&err, FindError::NotFound { files, .. } if files.len() == 3),
            "{err:?}"
        );
        assert!(err.hint().unwrap().contains("README.md"));
        let err: crate::Error = err.into();
        assert_eq!(err.exit_code(), 6);
    }

    #[test]
    fn find_binary_prefers_the_exact_name_and_skips_directories() {
        let dirs = Dirs::new();
        dirs.unpack(
            Format::TarGz,
            &gz(&tar_of(&[
                ("tool/", 0o755, b""),
                ("share/tool/", 0o755, b""),
                ("bin/tool", 0o755, b"1"),
                ("win/tool.exe", 0o755, b"2"),
            ])),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            find_binary(&dirs.dest, "tool").unwrap(),
            dirs.dest.join("bin/tool")
        );
    }

    #[test]
    fn find_binary_falls_back_to_the_only_executable() {
        let dirs = Dirs::new();
        dirs.unpack(
            Format::TarGz,
            &gz(&tar_of(&[
                ("gh_2.63.0_linux_amd64/LICENSE", 0o644, b"l"),
                ("gh_2.63.0_linux_amd64/bin/gh", 0o755, b"1"),
                ("gh_2.63.0_linux_amd64/share/man/man1/gh.1", 0o644, b"m"),
            ])),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            find_binary(&dirs.dest, "cli").unwrap(),
            dirs.dest.join("gh_2.63.0_linux_amd64/bin/gh")
        );
        // Two executables and none of that name: no guess.
        let dirs = Dirs::new();
        dirs.unpack(
            Format::TarGz,
            &gz(&tar_of(&[("a", 0o755, b"1"), ("b", 0o755, b"2")])),
            &Limits::default(),
        )
        .unwrap();
        let err = find_binary(&dirs.dest, "cli").unwrap_err();
        assert!(
            matches!(&err, FindError::NotFound { files, .. } if files == &["a", "b"]),
            "{err:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn find_binary_refuses_links() {
        let dirs = Dirs::new();
        fs::create_dir(dirs.dest.join("bin")).unwrap();
        std::os::unix::fs::symlink("/bin/sh", dirs.dest.join("bin/gh")).unwrap();
        let err = find_binary(&dirs.dest, "gh").unwrap_err();
        assert!(matches!(err, FindError::NotRegular { .. }), "{err:?}");
    }
}

#[cfg(test)]
mod fuzz_regressions {
    use super::*;

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
