//! Names that reach the file system: a tool's name, a command (`bin`), a release asset, a
//! version or tag, a target. They come from SPECs, the manifest, the lock file, the bin dir's
//! receipt, the shared cache's index and release listings, and every one of those sources is
//! untrusted (SPEC.md, "Trust"). [`Name`] is built by one parser, [`Name::parse`], which every
//! source goes through (deserializing a `Name` runs it too), so a value of this type is always
//! one plain path component: never empty, `.` or `..`; no `/`, `\`, NUL or control character;
//! at most [`MAX_NAME`] bytes.

use std::fmt;

/// The longest name accepted, in bytes (a file name's limit on common filesystems).
pub const MAX_NAME: usize = 255;

/// One plain path component, checked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// Checks `text` against the rules; the error says which one it breaks.
    pub fn parse(text: &str) -> Result<Name, String> {
        check(text)?;
        Ok(Name(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Why `text` cannot be one path component, if it cannot.
pub fn check(text: &str) -> Result<(), String> {
    let shown = text.escape_debug().to_string();
    if text.is_empty() {
        return Err("a name is empty".to_string());
    }
    if text.len() > MAX_NAME {
        return Err(format!("`{shown}` is longer than {MAX_NAME} bytes"));
    }
    if text == "." || text == ".." {
        return Err(format!("`{text}` is not a name"));
    }
    if text.contains(['/', '\\']) {
        return Err(format!("`{shown}` holds a path separator"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("`{shown}` holds a control character"));
    }
    Ok(())
}

/// A lock file's URL (SPEC.md, "Lock file"): `https://` only (never `http://` or `file://`:
/// where bytes come from is `--mirror`'s business), no credentials, and a github.com URL is
/// exactly the canonical release address whose owner, repository, tag and asset are each one
/// plain name, since mirrors rewrite that form and nothing else.
pub fn check_lock_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|_| format!("`{text}` is not a URL"))?;
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "url must be an https:// address, not `{}`",
            crate::http::redact(text)
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("url must not carry credentials".to_string());
    }
    if url.host_str() != Some("github.com") {
        return Ok(());
    }
    let rest = text
        .strip_prefix("https://github.com/")
        .ok_or_else(|| format!("`{text}` is not the canonical https://github.com/… form"))?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [owner, repo, "releases", "download", tag, asset]
            if [owner, repo, tag, asset].iter().all(|p| check(p).is_ok())
                && !rest.contains(['?', '#', '%']) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "`{text}` is not a release download (https://github.com/OWNER/REPO/releases/download/TAG/ASSET)"
        )),
    }
}

impl std::ops::Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<std::path::Path> for Name {
    fn as_ref(&self) -> &std::path::Path {
        std::path::Path::new(&self.0)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'de> serde::Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        let text = String::deserialize(d)?;
        Name::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_components_pass() {
        for ok in [
            "platform", "gh", "v2.63.0", "jq-1.7.1", "rg.exe", "a b", "ünï",
        ] {
            assert_eq!(Name::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn paths_and_control_characters_are_refused() {
        let long = "x".repeat(MAX_NAME + 1);
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "/abs",
            "..\\..\\x",
            "a\\b",
            "nul\0",
            "new\nline",
            "tab\t",
            "esc\u{1b}",
            &long,
        ] {
            assert!(Name::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Name::parse(&"x".repeat(MAX_NAME)).is_ok());
    }

    #[test]
    fn deserializing_runs_the_parser() {
        let ok: Name = serde_json::from_str("\"gh\"").unwrap();
        assert_eq!(ok, "gh");
        let err = serde_json::from_str::<Name>("\"../../bin/sh\"").unwrap_err();
        assert!(err.to_string().contains("path separator"), "{err}");
    }
}
