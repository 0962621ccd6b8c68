//! A zstd decoder for `.tar.zst`: ruzstd's frame decoder, driven over every frame of the input
//! (a stream may hold several, and skippable frames), checking each frame's content checksum
//! when it has one. ruzstd's window limit (128 MiB) bounds its memory. It reads its input to
//! EOF, so anything after the last frame that is not a frame is refused.

use std::io::{self, Read};

/// A zstd decoder over every frame of the input (a stream may hold several, and skippable
/// frames), checking each frame's content checksum. It reads its input to EOF.
pub(super) struct ZstdFrames<R> {
    source: R,
    decoder: ruzstd::decoding::FrameDecoder,
    in_frame: bool,
}

impl<R: Read> ZstdFrames<R> {
    pub(super) fn new(source: R) -> Self {
        ZstdFrames {
            source,
            decoder: ruzstd::decoding::FrameDecoder::new(),
            in_frame: false,
        }
    }

    /// The input, where the decoder left it.
    pub(super) fn into_inner(self) -> R {
        self.source
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
