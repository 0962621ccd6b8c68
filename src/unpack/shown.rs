//! Names from an archive made fit for a terminal: lossy UTF-8, control characters escaped,
//! cut if huge. A leaf of the unpacker: every other file of it may use these.

use std::path::Path;

/// Longest entry name printed in a message; longer ones are cut.
const MAX_SHOWN_NAME: usize = 200;

/// An entry name fit for a terminal: lossy UTF-8, control characters escaped, cut if huge.
pub(super) fn shown_name(raw: &[u8]) -> String {
    shown_text(&String::from_utf8_lossy(raw))
}

/// Text from an archive fit for a terminal: control characters escaped, cut if huge.
pub(super) fn shown_text(text: &str) -> String {
    let mut shown = escape_text(text);
    if let Some((cut, _)) = shown.char_indices().nth(MAX_SHOWN_NAME) {
        shown.truncate(cut);
        shown.push('…');
    }
    shown
}

/// A local path fit for a terminal (it contains entry names).
pub(super) fn shown_path(path: &Path) -> String {
    escape_text(&path.to_string_lossy())
}

/// `text` with control characters escaped (`\n`, `\u{1b}`).
pub(super) fn escape_text(text: &str) -> String {
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
