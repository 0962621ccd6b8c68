//! Checksum files come from the release (or a mirror) before anything is verified: parsing any
//! dialect (`checksums.txt`, BSD lines, yq's columns, a sidecar) must never panic, and whatever
//! it accepts must be a well-formed, unambiguous answer.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hookstrap::resolve::checksums::{Checksums, parse_sidecar};
use hookstrap::verify::{VerifyError, parse_sha256};

fuzz_target!(|data: &[u8]| {
    // The resolver decodes the body lossily; do the same.
    let text = String::from_utf8_lossy(data);
    let sums = match Checksums::parse(&text, "u") {
        Ok(sums) => sums,
        Err(VerifyError::Malformed { line, .. }) => {
            assert!(line >= 1 && line <= text.split('\n').count());
            return;
        }
        Err(other) => panic!("unexpected error {other:?}"),
    };
    // Probe a few names the text mentions: every answer is one lower-case hex SHA-256, or a
    // clear refusal.
    for name in text.split_whitespace().take(16) {
        match sums.get(name, "u") {
            Ok(hash) => {
                assert_eq!(parse_sha256(hash).as_deref(), Some(hash));
                assert!(!name.is_empty());
            }
            Err(VerifyError::MissingLine { .. } | VerifyError::Ambiguous { .. }) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    for (name, hash) in sums.into_map() {
        assert!(!name.is_empty());
        assert_eq!(parse_sha256(&hash).as_deref(), Some(hash.as_str()));
    }
    // The other dialects share the line rules: same refusals, same shape of answers.
    let first = text.split_whitespace().next().unwrap_or("x");
    for sums in [
        Checksums::parse_bsd(&text, "u"),
        Checksums::parse_columns(&text, "MD5\nSHA-256\n", "u"),
    ] {
        match sums.map(|s| s.find(first, "u")) {
            Ok(Ok(hash)) => assert_eq!(parse_sha256(&hash).as_deref(), Some(hash.as_str())),
            Ok(Err(VerifyError::MissingLine { .. } | VerifyError::Ambiguous { .. })) => {}
            Err(VerifyError::Malformed { .. }) => {}
            other => panic!("unexpected answer {other:?}"),
        }
    }
    if let Some(hash) = parse_sidecar(&text, first) {
        assert_eq!(parse_sha256(&hash).as_deref(), Some(hash.as_str()));
    }
});
