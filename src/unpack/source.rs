//! Bytes in, for every format: the caller's reader and a decoder's output, watched so that each
//! failure means one thing.
//!
//! - [`Source`] wraps the caller's reader (or the local zip file) and records that it failed or
//!   ended; [`Budgeted`] wraps a decoder's output (or a plain tar stream), counts it, refuses to
//!   go past a limit the tar loop sets, and records that the decoder failed or ended.
//! - [`classify`] is the one place a read error becomes an [`ExtractError`]: the caller's reader
//!   failing is a local error (exit 7); past the limit is oversized metadata; anything else is
//!   the archive's fault (exit 6): truncated when the input ran out, corrupt otherwise.
//! - [`drain`] reads to EOF, so that a hashing reader wrapped around the input sees every byte;
//!   [`copy_limited`] writes an entry's data and stops one byte past a budget.
//!
//! The state lives in [`Cell`]s of a shared [`Tracker`] because `tar`, the decoders and the zip
//! reader own the readers while they run.

use std::cell::Cell;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::ExtractError;
use super::shown::escape_text;

/// What the readers of one archive saw.
#[derive(Default)]
pub(super) struct Tracker {
    /// The caller's reader failed: a local error, not a bad archive.
    source_failed: Cell<bool>,
    /// The caller's reader reached its end.
    source_eof: Cell<bool>,
    /// The decoder failed while the caller's reader did not.
    decoder_failed: Cell<bool>,
    /// Decoded bytes read through [`Budgeted`] so far.
    read: Cell<u64>,
    /// How far `read` may go before reading fails.
    limit: Cell<u64>,
    /// The decoded stream reached its end.
    stream_eof: Cell<bool>,
    /// A read failed because it would have gone past `limit`.
    over_limit: Cell<bool>,
}

impl Tracker {
    /// Decoded bytes read so far.
    pub(super) fn read(&self) -> u64 {
        self.read.get()
    }

    /// Let [`Budgeted`] give `more` bytes past what it gave so far, and no more.
    pub(super) fn allow(&self, more: u64) {
        self.limit.set(self.read.get().saturating_add(more));
    }

    /// Whether the decoded stream reached its end.
    pub(super) fn stream_ended(&self) -> bool {
        self.stream_eof.get()
    }
}

/// The caller's reader, reporting its failures and its end to the tracker.
pub(super) struct Source<'t, R> {
    inner: R,
    tracker: &'t Tracker,
}

impl<'t, R> Source<'t, R> {
    pub(super) fn new(inner: R, tracker: &'t Tracker) -> Self {
        Source { inner, tracker }
    }
}

impl<R: Read> Read for Source<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(0) if !buf.is_empty() => {
                self.tracker.source_eof.set(true);
                Ok(0)
            }
            Ok(n) => Ok(n),
            Err(err) => {
                if err.kind() != io::ErrorKind::Interrupted {
                    self.tracker.source_failed.set(true);
                }
                Err(err)
            }
        }
    }
}

/// For the zip reader, which seeks in a local file. A seek there fails only for an offset the
/// archive chose (before the start), so its errors are the archive's fault and not recorded.
impl<R: Seek> Seek for Source<'_, R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// A decoder's output, counted, failing rather than going past the tracker's limit.
pub(super) struct Budgeted<'t, R> {
    inner: R,
    tracker: &'t Tracker,
}

impl<'t, R> Budgeted<'t, R> {
    pub(super) fn new(inner: R, tracker: &'t Tracker) -> Self {
        Budgeted { inner, tracker }
    }
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
        let n = self.inner.read(&mut buf[..len]).inspect_err(|err| {
            if err.kind() != io::ErrorKind::Interrupted && !t.source_failed.get() {
                t.decoder_failed.set(true);
            }
        })?;
        if n == 0 {
            t.stream_eof.set(true);
        }
        t.read.set(t.read.get() + n as u64);
        Ok(n)
    }
}

/// What an error from reading an archive means, from what the readers saw.
pub(super) fn classify(err: io::Error, tracker: &Tracker) -> ExtractError {
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
    // `tar` stopping inside the decoded stream, or a decoder failing once its input ran out,
    // is a cut; decoders do not all say `UnexpectedEof` for it.
    let cut_short = err.kind() == io::ErrorKind::UnexpectedEof
        || tracker.stream_eof.get()
        || (tracker.decoder_failed.get() && tracker.source_eof.get());
    if cut_short {
        ExtractError::Truncated { source: Some(err) }
    } else {
        ExtractError::Corrupt { source: err }
    }
}

/// Read `reader` to its end, so that a hashing reader under it sees every byte. Within a
/// [`Budgeted`] limit, this also bounds what a decoder may still produce.
pub(super) fn drain(mut reader: impl Read, tracker: &Tracker) -> Result<(), ExtractError> {
    io::copy(&mut reader, &mut io::sink())
        .map(drop)
        .map_err(|err| classify(err, tracker))
}

/// Where [`copy_limited`] stopped.
pub(super) enum Copied {
    /// At the end of the data, having written this many bytes.
    All(u64),
    /// There was more data than the limit.
    OverLimit,
}

/// Copy `from` into `to` (the file at `path`) through `buf`, at most `limit` bytes: reading a
/// byte more stops the copy.
pub(super) fn copy_limited(
    from: &mut impl Read,
    to: &mut impl Write,
    path: &Path,
    limit: u64,
    buf: &mut [u8],
    tracker: &Tracker,
) -> Result<Copied, ExtractError> {
    let mut written: u64 = 0;
    loop {
        let room = limit - written;
        // Ask for one byte more than allowed, to notice going over.
        let want = usize::try_from(room.saturating_add(1)).map_or(buf.len(), |r| r.min(buf.len()));
        let n = match from.read(&mut buf[..want]) {
            Ok(0) => return Ok(Copied::All(written)),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(classify(err, tracker)),
        };
        if n as u64 > room {
            return Ok(Copied::OverLimit);
        }
        to.write_all(&buf[..n])
            .map_err(|source| ExtractError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        written += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostic;
    use crate::unpack::testing::FailingReader;

    /// A decoder that found a bad block.
    struct BadBlock;

    impl Read for BadBlock {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::InvalidData, "bad block"))
        }
    }

    fn unlimited() -> Tracker {
        let tracker = Tracker::default();
        tracker.allow(u64::MAX);
        tracker
    }

    #[test]
    fn the_callers_reader_failing_is_a_local_error() {
        let tracker = unlimited();
        let source = Source::new(FailingReader { data: b"abc" }, &tracker);
        let err = drain(Budgeted::new(source, &tracker), &tracker).unwrap_err();
        assert!(matches!(err, ExtractError::Read { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 7);
    }

    #[test]
    fn a_decoder_failing_is_the_archives_fault() {
        let tracker = unlimited();
        // The decoder fails while its input still has bytes.
        let source = Source::new(&[7u8; 100][..], &tracker);
        let decoder = source.take(10).chain(BadBlock);
        let err = drain(Budgeted::new(decoder, &tracker), &tracker).unwrap_err();
        assert!(matches!(err, ExtractError::Corrupt { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 6);
    }

    #[test]
    fn a_decoder_failing_after_its_input_ended_is_a_cut() {
        let tracker = unlimited();
        let source = Source::new(&[7u8; 100][..], &tracker);
        let decoder = source.chain(BadBlock);
        let err = drain(Budgeted::new(decoder, &tracker), &tracker).unwrap_err();
        assert!(
            matches!(err, ExtractError::Truncated { source: Some(_) }),
            "{err:?}"
        );
        assert_eq!(err.exit_code(), 6);
    }

    #[test]
    fn going_past_the_allowance_is_oversized_metadata() {
        let tracker = Tracker::default();
        tracker.allow(5);
        let err = drain(Budgeted::new(&[0u8; 10][..], &tracker), &tracker).unwrap_err();
        assert!(matches!(err, ExtractError::OversizedMetadata), "{err:?}");
        assert_eq!(tracker.read(), 5);
    }

    #[test]
    fn a_limited_copy_stops_one_byte_past_its_limit() {
        let tracker = Tracker::default();
        let mut buf = [0u8; 4];
        let mut out = Vec::new();
        let path = Path::new("out");
        let copied = copy_limited(&mut &[1u8; 10][..], &mut out, path, 10, &mut buf, &tracker);
        assert!(matches!(copied, Ok(Copied::All(10))));
        assert_eq!(out.len(), 10);
        out.clear();
        let copied = copy_limited(&mut &[1u8; 11][..], &mut out, path, 10, &mut buf, &tracker);
        assert!(matches!(copied, Ok(Copied::OverLimit)));
        assert!(out.len() <= 10, "{}", out.len());
    }
}
