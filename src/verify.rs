//! Trust decisions: parsing `checksums.txt` and hashing bytes as they stream past.
//!
//! Fail closed: an asset is trusted only when exactly one SHA-256 is published for its name
//! and the bytes hash to it. Anything ambiguous is an error, never a guess.

use std::collections::BTreeMap;
use std::io::{self, Read};

use sha2::{Digest, Sha256};

use crate::diag::{Code, Diagnostic};

/// The longest line accepted in a checksums file; real ones are ~100 bytes.
const MAX_LINE: usize = 4096;

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

/// `checksums.txt` as GoReleaser (and `sha256sum`) write it: `<hex>  <name>` per line, the
/// name optionally prefixed by `*` (binary mode) or `./`; CRLF, upper-case hex, blank lines and
/// a leading byte-order mark are accepted. Lines that are not checksum lines (comments, junk)
/// are ignored, but a name listed twice with different hashes poisons that name.
#[derive(Debug, Default)]
pub struct Checksums {
    entries: BTreeMap<String, Option<String>>,
}

impl Checksums {
    pub fn parse(text: &str, url: &str) -> Result<Checksums, VerifyError> {
        let mut entries: BTreeMap<String, Option<String>> = BTreeMap::new();
        // A byte-order mark (a file saved on Windows) would hide the first line's hash.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, line) in text.split('\n').enumerate() {
            if line.len() > MAX_LINE {
                return Err(VerifyError::Malformed {
                    url: url.to_string(),
                    line: index + 1,
                    reason: format!("is longer than {MAX_LINE} bytes"),
                });
            }
            let line = line.strip_suffix('\r').unwrap_or(line).trim();
            let Some((hash, name)) = line.split_once(char::is_whitespace) else {
                continue;
            };
            let Some(hash) = parse_sha256(hash) else {
                continue;
            };
            let name = name.trim_start();
            let name = name.strip_prefix('*').unwrap_or(name);
            let name = name.strip_prefix("./").unwrap_or(name);
            if name.is_empty() {
                continue;
            }
            match entries.get_mut(name) {
                None => {
                    entries.insert(name.to_string(), Some(hash));
                }
                Some(existing) => {
                    if existing.as_deref() != Some(hash.as_str()) {
                        *existing = None;
                    }
                }
            }
        }
        Ok(Checksums { entries })
    }

    /// Every name with exactly one hash.
    pub fn into_map(self) -> BTreeMap<String, String> {
        self.entries
            .into_iter()
            .filter_map(|(name, hash)| Some((name, hash?)))
            .collect()
    }

    /// The one hash published for `asset`.
    pub fn get(&self, asset: &str, url: &str) -> Result<&str, VerifyError> {
        match self.entries.get(asset) {
            Some(Some(hash)) => Ok(hash),
            Some(None) => Err(VerifyError::Ambiguous {
                asset: asset.to_string(),
                url: url.to_string(),
            }),
            None => Err(VerifyError::MissingLine {
                asset: asset.to_string(),
                url: url.to_string(),
            }),
        }
    }
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

    fn parse(text: &str) -> Checksums {
        Checksums::parse(text, "u").unwrap()
    }

    #[test]
    fn goreleaser_format() {
        let c = parse(&format!(
            "{A}  platform_5.10.8_linux_amd64.tar.gz\n{B}  upsun_5.10.8_linux_amd64.tar.gz\n"
        ));
        assert_eq!(c.get("platform_5.10.8_linux_amd64.tar.gz", "u").unwrap(), A);
        assert_eq!(c.get("upsun_5.10.8_linux_amd64.tar.gz", "u").unwrap(), B);
    }

    #[test]
    fn binary_marker_dot_slash_crlf_uppercase_blank_lines() {
        let upper = A.to_ascii_uppercase();
        let c = parse(&format!(
            "\r\n{upper} *one.tar.gz\r\n\n{B}  ./two.tar.gz\r\n\n"
        ));
        assert_eq!(c.get("one.tar.gz", "u").unwrap(), A);
        assert_eq!(c.get("two.tar.gz", "u").unwrap(), B);
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let c = parse(&format!("\u{feff}{A}  one.tar.gz\r\n{B}  two.tar.gz\r\n"));
        assert_eq!(c.get("one.tar.gz", "u").unwrap(), A);
        assert_eq!(c.get("two.tar.gz", "u").unwrap(), B);
    }

    #[test]
    fn missing_name_is_an_error() {
        let c = parse(&format!("{A}  one.tar.gz\n"));
        assert!(matches!(
            c.get("two.tar.gz", "u"),
            Err(VerifyError::MissingLine { .. })
        ));
        // A prefix or suffix of a listed name is not that name.
        assert!(c.get("one.tar", "u").is_err());
        assert!(c.get("ne.tar.gz", "u").is_err());
    }

    #[test]
    fn two_hashes_for_one_name_is_ambiguous() {
        let c = parse(&format!("{A}  one.tar.gz\n{B}  ./one.tar.gz\n"));
        assert!(matches!(
            c.get("one.tar.gz", "u"),
            Err(VerifyError::Ambiguous { .. })
        ));
        // The same hash twice is harmless.
        let c = parse(&format!("{A}  one.tar.gz\n{A}  *one.tar.gz\n"));
        assert_eq!(c.get("one.tar.gz", "u").unwrap(), A);
    }

    #[test]
    fn junk_lines_are_ignored_and_never_match() {
        let c = parse(&format!(
            "# comment\nnot-a-hash  one.tar.gz\n{}  short.tar.gz\n{A}\n{A}  one.tar.gz\n",
            &A[..63]
        ));
        assert_eq!(c.get("one.tar.gz", "u").unwrap(), A);
        assert!(c.get("short.tar.gz", "u").is_err());
    }

    #[test]
    fn overlong_lines_are_refused() {
        let text = format!("{A}  {}\n", "x".repeat(MAX_LINE));
        assert!(matches!(
            Checksums::parse(&text, "u"),
            Err(VerifyError::Malformed { line: 1, .. })
        ));
    }

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
