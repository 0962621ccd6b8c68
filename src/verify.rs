//! The trust gate: hashing bytes as they stream past, and comparing the result with the hash
//! they must have. Where that hash comes from is [`crate::resolve`]'s business (a lock pin, a
//! pinned hash, or what the release publishes, read by [`crate::resolve::checksums`]).
//!
//! Fail closed: bytes are trusted only when they hash to exactly the expected SHA-256; a
//! mismatch names the URL and both hashes. [`VerifyError`] is every trust failure, wherever it
//! is found (a checksums file that does not list the asset is one too).

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use crate::diag::{Code, Diagnostic};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("checksum mismatch for `{url}`\n  expected: {expected}\n  computed: {actual}")]
    Mismatch {
        url: String,
        expected: String,
        actual: String,
    },
    #[error("size mismatch for `{url}`: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        url: String,
        expected: u64,
        actual: u64,
    },
    #[error("`{asset}` has no line in `{url}`")]
    MissingLine { asset: String, url: String },
    #[error("`{url}` lists `{asset}` twice with different hashes")]
    Ambiguous { asset: String, url: String },
    #[error("{count} cached artifact(s) are damaged, the first `{first}`")]
    Damaged {
        count: usize,
        first: std::path::PathBuf,
    },
    #[error("`{url}` is larger than {max} bytes, so it is not a checksums file")]
    TooLarge { url: String, max: u64 },
    #[error("`{url}` is not a checksums file: line {line} {reason}")]
    Malformed {
        url: String,
        line: usize,
        reason: String,
    },
}

impl Diagnostic for VerifyError {
    fn code(&self) -> Code {
        Code::Verify
    }

    fn hint(&self) -> Option<String> {
        match self {
            VerifyError::Mismatch { .. } | VerifyError::SizeMismatch { .. } => Some(
                "the bytes are not what was published or pinned: check the mirror, or re-pin with `hookstrap lock` if the release was re-published"
                    .into(),
            ),
            VerifyError::MissingLine { .. } => {
                Some("the release does not publish a hash for this asset; refusing to install it unverified".into())
            }
            VerifyError::Damaged { .. } => {
                Some("`hookstrap cache prune --all` clears the cache; the next install fetches again".into())
            }
            _ => None,
        }
    }
}

/// A lower-case hex SHA-256, checked for shape.
pub fn parse_sha256(text: &str) -> Option<String> {
    (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| text.to_ascii_lowercase())
}

/// Hex of a finished SHA-256.
pub fn hex(hasher: Sha256) -> String {
    format!("{:x}", hasher.finalize())
}

/// A reader that hashes and counts everything read through it.
pub struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> HashReader<R> {
    pub fn new(inner: R) -> Self {
        HashReader {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// Reads whatever is left so the hash covers the whole stream, then returns
    /// `(sha256 hex, length)`.
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((hex(self.hasher), self.len))
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// SHA-256 and length of a whole file.
pub fn hash_file(path: &std::path::Path) -> io::Result<(String, u64)> {
    let file = std::fs::File::open(path)?;
    HashReader::new(io::BufReader::with_capacity(256 * 1024, file)).finish()
}

/// BLAKE3 of a whole file: hookstrap's own fingerprint of a binary it unpacked (the receipt,
/// the cache's unpacked copies). Releases publish SHA-256, so archives are checked with that;
/// for our own records BLAKE3 is as strong and about four times faster, which a warm install
/// of a 60 MB binary feels.
pub fn fingerprint_file(path: &std::path::Path) -> io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(io::BufReader::with_capacity(
        256 * 1024,
        std::fs::File::open(path)?,
    ))?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// BLAKE3 of everything `reader` yields (a file already opened, e.g. without following links).
pub fn fingerprint_reader(reader: impl Read) -> io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(io::BufReader::with_capacity(256 * 1024, reader))?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// Compares a computed hash with the expected one.
pub fn check(url: &str, expected: &str, actual: &str) -> Result<(), VerifyError> {
    if expected.eq_ignore_ascii_case(actual) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch {
            url: url.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn hash_reader_hashes_everything() {
        let data = b"hello world".repeat(1000);
        let mut r = HashReader::new(&data[..]);
        let mut first = [0u8; 10];
        r.read_exact(&mut first).unwrap();
        let (hash, len) = r.finish().unwrap();
        assert_eq!(len, data.len() as u64);
        assert_eq!(hash, format!("{:x}", Sha256::digest(&data)));
    }

    #[test]
    fn check_reports_both_hashes() {
        let err = check("https://x/y", A, B).unwrap_err().to_string();
        assert!(err.contains(A) && err.contains(B) && err.contains("https://x/y"));
        assert!(check("u", A, &A.to_ascii_uppercase()).is_ok());
    }
}
