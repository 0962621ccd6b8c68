//! Raw tar archives built from header bytes, for tests that need what a real writer refuses to
//! make: `..` and absolute names, links, devices and FIFOs, GNU long names and pax paths, bad
//! modes, sizes that lie, bad checksums, cut headers (tar-rs `tests/entry.rs` does the same).
//!
//! Shared by the integration tests (`common::tar_header`) and the unpacker's unit tests
//! (`#[path]`-included from `src/unpack/mod.rs`), so it uses `std` only. Each user needs a
//! subset of it.
#![allow(dead_code)]

use std::ops::Range;

/// The size of a header and of the blocks data is padded to.
pub const BLOCK: usize = 512;

// Entry types (the `typeflag` byte).
pub const REGULAR: u8 = b'0';
pub const HARD_LINK: u8 = b'1';
pub const SYMLINK: u8 = b'2';
pub const CHAR_DEVICE: u8 = b'3';
pub const BLOCK_DEVICE: u8 = b'4';
pub const DIRECTORY: u8 = b'5';
pub const FIFO: u8 = b'6';
pub const CONTIGUOUS: u8 = b'7';
pub const GNU_LONG_NAME: u8 = b'L';
pub const GNU_SPARSE: u8 = b'S';
pub const PAX: u8 = b'x';
pub const PAX_GLOBAL: u8 = b'g';

// Header fields.
pub const NAME: Range<usize> = 0..100;
pub const MODE: Range<usize> = 100..108;
pub const UID: Range<usize> = 108..116;
pub const GID: Range<usize> = 116..124;
pub const SIZE: Range<usize> = 124..136;
pub const MTIME: Range<usize> = 136..148;
pub const CHECKSUM: Range<usize> = 148..156;
pub const KIND: usize = 156;
pub const LINK_NAME: Range<usize> = 157..257;
pub const MAGIC: Range<usize> = 257..265;

/// One 512-byte header. Fields are written as given (nothing is checked, so any of them can be
/// hostile); [`Header::bytes`] fills in the checksum.
#[derive(Clone)]
pub struct Header([u8; BLOCK]);

impl Header {
    /// A ustar header for `name` (at most 100 bytes: use [`Tar::long_name`] for more), owned by
    /// root, with a fixed mtime. Sizes of 8 GiB and more use all 12 digits of the size field,
    /// which readers accept.
    pub fn new(name: &[u8], kind: u8, mode: u32, size: u64) -> Self {
        assert!(name.len() <= NAME.len(), "use long_name for longer names");
        let size_field = if size < 1 << 33 {
            format!("{size:011o}\0")
        } else {
            format!("{size:012o}")
        };
        let mut h = Header([0; BLOCK]);
        h.0[..name.len()].copy_from_slice(name);
        h.0[KIND] = kind;
        h.field(MODE, format!("{mode:07o}\0").as_bytes())
            .field(UID, b"0000000\0")
            .field(GID, b"0000000\0")
            .field(SIZE, size_field.as_bytes())
            .field(MTIME, b"14524770400\0")
            .field(MAGIC, b"ustar\x0000")
    }

    /// The old GNU magic (`ustar  \0`) instead of POSIX ustar's.
    pub fn gnu(self) -> Self {
        self.field(MAGIC, b"ustar  \0")
    }

    /// The target of a link.
    pub fn link_name(self, target: &[u8]) -> Self {
        assert!(target.len() <= LINK_NAME.len());
        self.field(LINK_NAME.start..LINK_NAME.start + target.len(), target)
    }

    /// Overwrite the bytes at `range` (a field, or part of one) with `value`, as is: a bad mode
    /// is `.field(MODE, b"9z9z9z9\0")`.
    pub fn field(mut self, range: Range<usize>, value: &[u8]) -> Self {
        self.0[range].copy_from_slice(value);
        self
    }

    /// The header with its checksum filled in.
    pub fn bytes(&self) -> [u8; BLOCK] {
        let mut h = self.0;
        set_checksum(&mut h);
        h
    }
}

/// Write the checksum of `h` into its checksum field: the sum of all bytes, the field itself
/// counted as spaces, as six octal digits, NUL, space.
pub fn set_checksum(h: &mut [u8; BLOCK]) {
    h[CHECKSUM].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[CHECKSUM].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// `Header::new(name, kind, mode, size).bytes()`.
pub fn header(name: &[u8], kind: u8, mode: u32, size: u64) -> [u8; BLOCK] {
    Header::new(name, kind, mode, size).bytes()
}

/// A tar stream under construction; [`Tar::finish`] adds the end marker.
#[derive(Default, Clone)]
pub struct Tar(pub Vec<u8>);

impl Tar {
    /// `header` then `data`, padded to a block. The header's size need not match the data.
    pub fn raw(self, header: &[u8; BLOCK], data: &[u8]) -> Self {
        self.bytes(header).bytes(data).pad()
    }

    /// `bytes` as they are, unpadded: a cut header or entry.
    pub fn bytes(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }

    /// Zeros up to the next block boundary.
    pub fn pad(mut self) -> Self {
        self.0.resize(self.0.len().next_multiple_of(BLOCK), 0);
        self
    }

    /// An entry of any type whose header size is the data's length.
    pub fn entry(self, name: &[u8], kind: u8, mode: u32, data: &[u8]) -> Self {
        self.raw(&header(name, kind, mode, data.len() as u64), data)
    }

    pub fn file(self, name: &str, mode: u32, data: &[u8]) -> Self {
        self.entry(name.as_bytes(), REGULAR, mode, data)
    }

    /// A directory; the name usually ends in `/`, which readers do not require.
    pub fn dir(self, name: &str, mode: u32) -> Self {
        self.entry(name.as_bytes(), DIRECTORY, mode, b"")
    }

    /// A data-less entry of `kind`: a device, a FIFO, or any other type byte.
    pub fn special(self, name: &str, kind: u8) -> Self {
        self.entry(name.as_bytes(), kind, 0o644, b"")
    }

    /// A link (`SYMLINK` or `HARD_LINK`) to `target`.
    pub fn link(self, name: &str, kind: u8, target: &str) -> Self {
        let header = Header::new(name.as_bytes(), kind, 0o777, 0).link_name(target.as_bytes());
        self.raw(&header.bytes(), b"")
    }

    /// A file whose header claims `size` bytes and holds `data`, padded, whatever its length.
    pub fn lying_file(self, name: &str, size: u64, data: &[u8]) -> Self {
        self.raw(&header(name.as_bytes(), REGULAR, 0o644, size), data)
    }

    /// A GNU long-name entry naming the entry that follows (any bytes, any length).
    pub fn long_name(self, name: &[u8]) -> Self {
        let mut data = name.to_vec();
        data.push(0);
        self.entry(b"././@LongLink", GNU_LONG_NAME, 0o644, &data)
    }

    /// A pax header giving the path of the entry that follows.
    pub fn pax_path(self, path: &str) -> Self {
        let body = format!(" path={path}\n");
        // The record's length counts its own digits.
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        self.entry(
            b"PaxHeaders/x",
            PAX,
            0o644,
            format!("{len}{body}").as_bytes(),
        )
    }

    /// The archive with its end marker (two zero blocks).
    pub fn finish(self) -> Vec<u8> {
        self.bytes(&[0; 2 * BLOCK]).0
    }

    /// The archive without an end marker.
    pub fn unfinished(self) -> Vec<u8> {
        self.0
    }
}
