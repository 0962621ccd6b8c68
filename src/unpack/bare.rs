//! A bare binary: the asset is the program itself (`jq-linux-amd64`). It is copied to
//! `dest/bare_name`, mode 0755, counted against [`Limits::max_unpacked_bytes`]; `bare_name`
//! must be one plain file name. An empty asset is refused.

use std::io::Read;
use std::path::Path;

use super::entry::Tree;
use super::shown::shown_text;
use super::source::{Source, Tracker};
use super::{ExtractError, Limits, Unpacked};

/// Copy `reader` to `dest/bare_name`, reading it to EOF.
pub(super) fn unpack_bare(
    reader: impl Read,
    dest: &Path,
    bare_name: &str,
    limits: &Limits,
) -> Result<Unpacked, ExtractError> {
    check_bare_name(bare_name)?;
    let tracker = Tracker::default();
    let mut source = Source::new(reader, &tracker);
    let mut tree = Tree::new(dest, limits, &tracker);
    let shown = shown_text(bare_name);
    if tree.top_file(bare_name, &shown, 0o755, &mut source)? == 0 {
        return Err(ExtractError::Empty);
    }
    Ok(tree.unpacked())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::testing::*;
    use crate::unpack::{Format, find_binary, unpack};
    use std::fs;

    // ---- bare ----
    #[test]
    fn bare_binaries_are_copied_executable() {
        let sandbox = Sandbox::new();
        let unpacked = unpack(
            Format::Bare,
            &b"\x7fELF jq"[..],
            None,
            &sandbox.dest,
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
        assert_eq!(sandbox.listing(), ["jq"]);
        assert_eq!(
            find_binary(&sandbox.dest, "jq").unwrap(),
            sandbox.dest.join("jq")
        );
        #[cfg(unix)]
        assert_eq!(mode_of(&sandbox.dest.join("jq")), 0o755);
    }

    #[test]
    fn bare_binaries_respect_the_limit_and_names() {
        let limits = Limits {
            max_unpacked_bytes: 100,
            ..Limits::default()
        };
        let sandbox = Sandbox::new();
        let err = unpack(
            Format::Bare,
            &[1u8; 101][..],
            None,
            &sandbox.dest,
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
            &Sandbox::new().dest,
            "yq",
            &limits,
        )
        .unwrap();
        let err = unpack(
            Format::Bare,
            &b""[..],
            None,
            &Sandbox::new().dest,
            "yq",
            &limits,
        )
        .unwrap_err();
        assert!(matches!(err, ExtractError::Empty), "{err:?}");
        for name in ["", ".", "..", "a/b", "../x", "a\\b", "a\0b"] {
            let sandbox = Sandbox::new();
            let err = unpack(Format::Bare, &b"x"[..], None, &sandbox.dest, name, &limits)
                .expect_err(name);
            assert!(
                matches!(err, ExtractError::UnsafePath { .. }),
                "{name:?}: {err:?}"
            );
            sandbox.assert_outside_untouched();
        }
        // Never over an existing file.
        let sandbox = Sandbox::new();
        fs::write(sandbox.dest.join("yq"), b"old").unwrap();
        let err = unpack(Format::Bare, &b"x"[..], None, &sandbox.dest, "yq", &limits).unwrap_err();
        assert!(matches!(err, ExtractError::Duplicate { .. }), "{err:?}");
        assert_eq!(fs::read(sandbox.dest.join("yq")).unwrap(), b"old");
    }
}
