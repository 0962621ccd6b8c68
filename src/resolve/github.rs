//! GitHub releases of any tool (SPEC.md, "Other released tools"): the release JSON, which asset
//! fits a target, and where the release publishes that asset's SHA-256.
//!
//! Everything here is a pure decision over data already fetched; the caller does the I/O.
//!
//! Choosing an asset: only installable files count ([`Format::from_asset_name`], minus checksum
//! and metadata files). Each name is scanned for an OS and an architecture, aliases included
//! (`linux`/`Linux`, `darwin`/`macos`/`apple`/`osx`, `windows`/`win`; `amd64`/`x86_64`/`x64`,
//! `arm64`/`aarch64`, `universal`/`all`). A name that mentions another OS or architecture is out;
//! without an `asset` pattern, a name must mention the target's OS. The best score wins: the exact
//! architecture, then (Linux) musl > static > unspecified > gnu, then a name that starts with the
//! binary's name, then the format (bare > tar.gz > tar.xz > tar.zst > zip). A tie is an error
//! that lists the candidates, never a guess. For `darwin_all`, a universal build is preferred,
//! then amd64 (which Apple silicon runs too), then arm64.
//!
//! Hashes, in order of preference: the API's `digest` (`sha256:` only), a `{asset}.sha256`
//! sidecar, then checksum files (`checksums.txt`, `SHA256SUMS`, `*_checksums.txt`, …), then
//! yq's column format (`checksums` + `checksums_hashes_order`) and BSD-style lines. No hash is
//! a verification failure (exit 5): fail closed.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::diag::{Code, Diagnostic};

use crate::resolve::assets::Format;
use crate::resolve::catalog::Target;
use crate::verify::{Checksums, VerifyError, parse_sha256};

/// A release as `GET /repos/{owner}/{repo}/releases/tags/{tag}` returns it (fields we use).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Release {
    pub tag_name: String,
    #[serde(default)]
    pub prerelease: bool,
    #[serde(default)]
    pub assets: Vec<Asset>,
}

/// One file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Asset {
    pub name: String,
    pub browser_download_url: String,
    #[serde(default)]
    pub size: u64,
    /// `sha256:HEX` (GitHub computes it for uploaded assets); other algorithms are ignored.
    #[serde(default)]
    pub digest: Option<String>,
}

impl Release {
    pub fn parse(json: &str) -> Result<Release, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The asset named exactly `name`.
    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.name == name)
    }
}

impl Asset {
    /// The SHA-256 from the API's `digest`, lower-case hex, if it gives one.
    pub fn sha256_digest(&self) -> Option<String> {
        let digest = self.digest.as_deref()?;
        let (algo, hex) = digest.split_once(':')?;
        if algo.eq_ignore_ascii_case("sha256") {
            parse_sha256(hex)
        } else {
            None
        }
    }
}

/// Whether `base` (`--mirror` or the default) is GitHub itself.
pub fn is_github(base: &str) -> bool {
    let base = base.trim_end_matches('/');
    base.eq_ignore_ascii_case("https://github.com")
        || base.eq_ignore_ascii_case("https://www.github.com")
}

/// The release API address for `tag`: GitHub's API, or on a mirror GitHub Enterprise's layout
/// (`{mirror}/api/v3/…`, which a static JSON file satisfies).
pub fn api_url(mirror_or_github: &str, owner: &str, repo: &str, tag: &str) -> String {
    format!(
        "{}/releases/tags/{}",
        repo_api(mirror_or_github, owner, repo),
        encode_segment(tag)
    )
}

fn repo_api(base: &str, owner: &str, repo: &str) -> String {
    let (owner, repo) = (encode_segment(owner), encode_segment(repo));
    if is_github(base) {
        format!("https://api.github.com/repos/{owner}/{repo}")
    } else {
        format!("{}/api/v3/repos/{owner}/{repo}", base.trim_end_matches('/'))
    }
}

/// Percent-encodes everything but unreserved characters, so a tag stays one path segment.
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

// ---- choosing the asset ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Os {
    Linux,
    Darwin,
    Windows,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arch {
    Amd64,
    Arm64,
    Universal,
    Other,
}

/// OS words; an alias may be followed by digits (`linux64`, `win32`).
const OS_ALIASES: &[(&str, Os)] = &[
    ("linux", Os::Linux),
    ("darwin", Os::Darwin),
    ("macos", Os::Darwin),
    ("apple", Os::Darwin),
    ("osx", Os::Darwin),
    ("mac", Os::Darwin),
    ("windows", Os::Windows),
    ("win", Os::Windows),
    ("freebsd", Os::Other),
    ("netbsd", Os::Other),
    ("openbsd", Os::Other),
    ("dragonfly", Os::Other),
    ("android", Os::Other),
    ("illumos", Os::Other),
    ("solaris", Os::Other),
    ("aix", Os::Other),
    ("plan9", Os::Other),
    ("wasi", Os::Other),
    ("ios", Os::Other),
];

const ARCH_ALIASES: &[(&str, Arch)] = &[
    ("x86_64", Arch::Amd64),
    ("x86-64", Arch::Amd64),
    ("amd64", Arch::Amd64),
    ("x64", Arch::Amd64),
    ("64bit", Arch::Amd64),
    ("64-bit", Arch::Amd64),
    ("win64", Arch::Amd64),
    ("aarch64", Arch::Arm64),
    ("arm64", Arch::Arm64),
    ("universal", Arch::Universal),
    ("universal2", Arch::Universal),
    ("all", Arch::Universal),
    ("386", Arch::Other),
    ("i386", Arch::Other),
    ("i586", Arch::Other),
    ("i686", Arch::Other),
    ("x86", Arch::Other),
    ("32bit", Arch::Other),
    ("32-bit", Arch::Other),
    ("win32", Arch::Other),
    ("arm", Arch::Other),
    ("armv5", Arch::Other),
    ("armv6", Arch::Other),
    ("armv6l", Arch::Other),
    ("armv6hf", Arch::Other),
    ("armv7", Arch::Other),
    ("armv7l", Arch::Other),
    ("armv7hf", Arch::Other),
    ("armhf", Arch::Other),
    ("armel", Arch::Other),
    ("arm32", Arch::Other),
    ("ppc", Arch::Other),
    ("ppc64", Arch::Other),
    ("ppc64le", Arch::Other),
    ("powerpc64le", Arch::Other),
    ("s390x", Arch::Other),
    ("riscv64", Arch::Other),
    ("riscv64gc", Arch::Other),
    ("mips", Arch::Other),
    ("mipsle", Arch::Other),
    ("mips64", Arch::Other),
    ("mips64le", Arch::Other),
    ("loong64", Arch::Other),
    ("loongarch64", Arch::Other),
    ("sparc64", Arch::Other),
    ("wasm", Arch::Other),
    ("wasm32", Arch::Other),
];

/// Every alias found in `name` as a whole word, longest aliases first; a match is blanked out
/// so that `x86` is not found again inside `x86_64`, nor `arm` inside `arm64`.
fn find_words<T: Copy>(name: &str, aliases: &[(&str, T)], digits_may_follow: bool) -> Vec<T> {
    let mut sorted: Vec<&(&str, T)> = aliases.iter().collect();
    sorted.sort_by_key(|(alias, _)| std::cmp::Reverse(alias.len()));
    let mut text: Vec<u8> = name.to_ascii_lowercase().into_bytes();
    let mut found = Vec::new();
    for (alias, value) in sorted {
        let alias = alias.as_bytes();
        let mut start = 0;
        while start + alias.len() <= text.len() {
            let end = start + alias.len();
            let before_ok = start == 0 || !text[start - 1].is_ascii_alphanumeric();
            let after_ok = end == text.len()
                || !text[end].is_ascii_alphanumeric()
                || (digits_may_follow && text[end].is_ascii_digit());
            if &text[start..end] == alias && before_ok && after_ok {
                found.push(*value);
                text[start..end].fill(b' ');
                start = end;
            } else {
                start += 1;
            }
        }
    }
    found
}

fn target_os(target: Target) -> Os {
    match target {
        Target::LinuxAmd64 | Target::LinuxArm64 => Os::Linux,
        Target::DarwinAll => Os::Darwin,
        Target::WindowsAmd64 => Os::Windows,
    }
}

/// Names of checksum lists, signatures and other metadata that have no telling extension
/// (yq's `checksums`, `checksums_hashes_order`).
fn is_metadata(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "checksum",
        "sha256sum",
        "sha512sum",
        "sha1sum",
        "md5sum",
        "sbom",
        "provenance",
        "attestation",
    ]
    .iter()
    .any(|word| lower.contains(word))
        || ["license", "readme", "changelog", "notice"]
            .iter()
            .any(|word| lower.starts_with(word))
}

/// Whether an asset could be installed at all (an archive or a bare binary, not metadata).
pub fn is_installable(name: &str) -> bool {
    Format::from_asset_name(name).is_some() && !is_metadata(name)
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Families of other architectures, matched as word prefixes (`mips64r6el`, `ppc64el`,
/// `armv7`, `s390x`), after the known aliases are blanked out.
const OTHER_ARCH_PREFIXES: [&str; 11] = [
    "mips", "ppc", "powerpc", "s390", "riscv", "loong", "sparc", "armv", "armel", "armhf", "wasm",
];

/// Legacy or informal aliases: a name using the usual ones wins a tie (`jq-macos-amd64` over
/// `jq-osx-amd64`, `jq-windows-amd64.exe` over `jq-win64.exe`).
const LEGACY_ALIASES: [&str; 6] = ["osx", "mac", "win", "win64", "64bit", "64-bit"];

fn has_prefix_word(lower: &str, prefixes: &[&str]) -> bool {
    lower.char_indices().any(|(at, _)| {
        let before_ok = at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric();
        before_ok && prefixes.iter().any(|p| lower[at..].starts_with(p))
    })
}

/// How well a name fits, compared field by field; see the module documentation.
type Score = ([u8; 6], std::cmp::Reverse<usize>);

/// A candidate's score for a target, or `None` when it does not fit.
fn score(name: &str, target: Target, patterned: bool, bin: &str) -> Option<Score> {
    let lower = name.to_ascii_lowercase();
    let mut oses = find_words(name, OS_ALIASES, true);
    if oses.is_empty() && lower.ends_with(".exe") {
        oses.push(Os::Windows);
    }
    let want_os = target_os(target);
    if oses.iter().any(|os| *os != want_os) {
        return None;
    }
    let os_rank = if oses.is_empty() {
        if !patterned {
            return None;
        }
        0
    } else {
        1
    };
    let arches = find_words(name, ARCH_ALIASES, false);
    if arches.contains(&Arch::Other) {
        return None;
    }
    // Blank the known words out, then look for other architecture families.
    let mut rest = lower.clone();
    let known = ARCH_ALIASES.iter().map(|(a, _)| *a);
    for alias in known.chain(OS_ALIASES.iter().map(|(a, _)| *a)) {
        rest = blank_word(&rest, alias);
    }
    if has_prefix_word(&rest, &OTHER_ARCH_PREFIXES) {
        return None;
    }
    let arch = match (
        arches.contains(&Arch::Amd64),
        arches.contains(&Arch::Arm64),
        arches.contains(&Arch::Universal),
    ) {
        (false, false, false) => None,
        (true, false, false) => Some(Arch::Amd64),
        (false, true, false) => Some(Arch::Arm64),
        _ => Some(Arch::Universal),
    };
    let arch_rank = match (target, arch) {
        (Target::DarwinAll, Some(Arch::Universal)) => 4,
        (Target::DarwinAll, Some(Arch::Amd64)) => 3,
        (Target::DarwinAll, Some(Arch::Arm64)) => 2,
        (Target::DarwinAll, None) => 1,
        (Target::LinuxAmd64 | Target::WindowsAmd64, Some(Arch::Amd64)) => 4,
        (Target::LinuxArm64, Some(Arch::Arm64)) => 4,
        (_, Some(Arch::Universal)) => 2,
        // A name without an architecture is most likely amd64; on arm64 only if asked for.
        (Target::LinuxAmd64 | Target::WindowsAmd64, None) => 1,
        (Target::LinuxArm64, None) if patterned => 1,
        _ => return None,
    };
    let has = |word: &str| !find_words(name, &[(word, ())], false).is_empty();
    let libc_rank = match target {
        Target::LinuxAmd64 | Target::LinuxArm64 => {
            if has("musl") {
                3
            } else if has("static") {
                2
            } else if has("gnu") || has("glibc") {
                0
            } else {
                1
            }
        }
        Target::WindowsAmd64 => u8::from(has("msvc") || !has("gnu")),
        Target::DarwinAll => 1,
    };
    let usual_rank = u8::from(!LEGACY_ALIASES.iter().any(|alias| {
        !find_words(
            name,
            &[(*alias, ())],
            matches!(*alias, "win" | "mac" | "osx"),
        )
        .is_empty()
    }));
    let bin = bin.to_ascii_lowercase();
    let bin_rank = match lower.strip_prefix(bin.as_str()) {
        _ if bin.is_empty() => 0,
        Some(rest) if rest.is_empty() || rest.starts_with(['-', '_', '.']) => 2,
        Some(_) => 1,
        None => 0,
    };
    let format_rank = match Format::from_asset_name(name)? {
        Format::Bare => 4,
        Format::TarGz => 3,
        Format::TarXz => 2,
        Format::TarZst => 1,
        Format::Zip => 0,
    };
    Some((
        [
            arch_rank,
            libc_rank,
            os_rank,
            usual_rank,
            bin_rank,
            format_rank,
        ],
        // Last, the plainest name: `hugo_0.139.0_linux-amd64.tar.gz` over
        // `hugo_extended_0.139.0_linux-amd64.tar.gz`.
        std::cmp::Reverse(name.len()),
    ))
}

/// `text` with every whole-word occurrence of `word` replaced by spaces.
fn blank_word(text: &str, word: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let w = word.as_bytes();
    let mut start = 0;
    while start + w.len() <= bytes.len() {
        let end = start + w.len();
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let after_ok = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if &bytes[start..end] == w && before_ok && after_ok {
            bytes[start..end].fill(b' ');
            start = end;
        } else {
            start += 1;
        }
    }
    String::from_utf8(bytes).unwrap_or_default()
}

/// Why no asset was chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChooseError {
    #[error("no release asset fits target `{target}`{}", pattern_note(pattern))]
    NoMatch {
        target: Target,
        pattern: Option<String>,
        /// The release's asset names (at most [`MAX_LISTED`]).
        assets: Vec<String>,
    },
    #[error("several release assets fit target `{target}` equally well: {}", candidates.join(", "))]
    Ambiguous {
        target: Target,
        candidates: Vec<String>,
    },
}

fn pattern_note(pattern: &Option<String>) -> String {
    pattern
        .as_ref()
        .map(|p| format!(" and matches `{p}`"))
        .unwrap_or_default()
}

/// Most asset names listed in an error.
pub const MAX_LISTED: usize = 20;

impl Diagnostic for ChooseError {
    /// No asset: not found (3). Several: the declaration must say which (usage, 2).
    fn code(&self) -> Code {
        match self {
            ChooseError::NoMatch { .. } => Code::NotFound,
            ChooseError::Ambiguous { .. } => Code::Usage,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            ChooseError::NoMatch { assets, .. } if assets.is_empty() => {
                Some("the release has no assets".to_owned())
            }
            ChooseError::NoMatch { assets, .. } => Some(format!(
                "the release has {}; pick one with `asset = \"PATTERN\"` in hookstrap.toml (`*` matches anything)",
                assets.join(", ")
            )),
            ChooseError::Ambiguous { .. } => Some(
                "pick one with `asset = \"PATTERN\"` in hookstrap.toml (`*` matches anything)"
                    .to_owned(),
            ),
        }
    }
}

/// The asset of `assets` to install on `target`: see the module documentation. `pattern` (the
/// manifest's `asset`, `*` wildcards) narrows the candidates first and lets a name that does not
/// mention the OS or architecture through; `bin` (the command's name) breaks ties.
pub fn choose_asset<'a>(
    assets: &'a [Asset],
    target: Target,
    pattern: Option<&str>,
    bin: &str,
) -> Result<&'a Asset, ChooseError> {
    let mut best: Vec<&Asset> = Vec::new();
    let mut best_score = None;
    for asset in assets {
        if !is_installable(&asset.name) {
            continue;
        }
        if let Some(pattern) = pattern
            && !glob_match(pattern, &asset.name)
        {
            continue;
        }
        let Some(score) = score(&asset.name, target, pattern.is_some(), bin) else {
            continue;
        };
        match best_score {
            Some(best_score) if score < best_score => {}
            Some(best_score) if score == best_score => best.push(asset),
            _ => {
                best_score = Some(score);
                best = vec![asset];
            }
        }
    }
    match best.as_slice() {
        [one] => Ok(one),
        [] => Err(ChooseError::NoMatch {
            target,
            pattern: pattern.map(str::to_owned),
            assets: assets
                .iter()
                .take(MAX_LISTED)
                .map(|a| a.name.clone())
                .collect(),
        }),
        many => Err(ChooseError::Ambiguous {
            target,
            candidates: many.iter().map(|a| a.name.clone()).collect(),
        }),
    }
}

// ---- where the hash comes from ----

/// One place a release publishes an asset's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashSource<'a> {
    /// The release API's `digest`: the hash itself.
    Digest(String),
    /// `{asset}.sha256`: the hex alone, or `hex  name`.
    Sidecar(&'a Asset),
    /// A `sha256sum`-style list: `hex  name` per line.
    Sums(&'a Asset),
    /// yq's list: per line the name, then one hash per algorithm in the order the second file
    /// lists them (`checksums` + `checksums_hashes_order`).
    Columns { sums: &'a Asset, order: &'a Asset },
    /// BSD-style lines: `SHA256 (name) = hex`.
    Bsd(&'a Asset),
}

impl HashSource<'_> {
    /// The assets to download (in this order) before [`HashSource::lookup`].
    pub fn files(&self) -> Vec<&Asset> {
        match self {
            HashSource::Digest(_) => Vec::new(),
            HashSource::Sidecar(a) | HashSource::Sums(a) | HashSource::Bsd(a) => vec![a],
            HashSource::Columns { sums, order } => vec![sums, order],
        }
    }

    /// Where the hash came from, for messages.
    pub fn describe(&self) -> String {
        match self {
            HashSource::Digest(_) => "the release API's digest".to_owned(),
            HashSource::Sidecar(a) | HashSource::Sums(a) | HashSource::Bsd(a) => {
                format!("`{}`", a.name)
            }
            HashSource::Columns { sums, .. } => format!("`{}`", sums.name),
        }
    }

    /// The hash of `asset_name` from the texts of [`HashSource::files`]. A list that does not
    /// mention the asset is [`VerifyError::MissingLine`] (try the next source); a list that
    /// names it twice with different hashes is [`VerifyError::Ambiguous`] (stop).
    pub fn lookup(&self, texts: &[&str], asset_name: &str) -> Result<String, VerifyError> {
        let missing = |url: &str| VerifyError::MissingLine {
            asset: asset_name.to_owned(),
            url: url.to_owned(),
        };
        let text = |i: usize, asset: &Asset| -> Result<&str, VerifyError> {
            texts
                .get(i)
                .copied()
                .ok_or_else(|| missing(&asset.browser_download_url))
        };
        match self {
            HashSource::Digest(hex) => Ok(hex.clone()),
            HashSource::Sidecar(a) => parse_sidecar(text(0, a)?, asset_name)
                .ok_or_else(|| missing(&a.browser_download_url)),
            HashSource::Sums(a) => {
                let url = &a.browser_download_url;
                let sums = Checksums::parse(text(0, a)?, url)?;
                match sums.get(asset_name, url) {
                    Ok(hex) => Ok(hex.to_owned()),
                    // Some lists name files by path (`dist/tool.tar.gz`).
                    Err(VerifyError::MissingLine { .. }) => by_base_name(sums, asset_name, url),
                    Err(err) => Err(err),
                }
            }
            HashSource::Columns { sums, order } => {
                let url = &sums.browser_download_url;
                parse_columns(text(0, sums)?, text(1, order)?, asset_name, url)?
                    .ok_or_else(|| missing(url))
            }
            HashSource::Bsd(a) => {
                let url = &a.browser_download_url;
                parse_bsd(text(0, a)?, asset_name, url)?.ok_or_else(|| missing(url))
            }
        }
    }
}

fn by_base_name(sums: Checksums, asset_name: &str, url: &str) -> Result<String, VerifyError> {
    let mut found: Option<String> = None;
    for (name, hex) in sums.into_map() {
        if name.rsplit('/').next() == Some(asset_name) {
            match &found {
                Some(other) if *other != hex => {
                    return Err(VerifyError::Ambiguous {
                        asset: asset_name.to_owned(),
                        url: url.to_owned(),
                    });
                }
                _ => found = Some(hex),
            }
        }
    }
    found.ok_or_else(|| VerifyError::MissingLine {
        asset: asset_name.to_owned(),
        url: url.to_owned(),
    })
}

/// Signature, certificate and bundle files that sit next to checksum lists.
fn is_signature(lower: &str) -> bool {
    [
        ".sig",
        ".asc",
        ".pem",
        ".gpg",
        ".minisig",
        ".sigstore",
        ".bundle",
        ".json",
        ".crt",
        ".cert",
        ".p7s",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
}

/// Checksum lists for algorithms other than SHA-256.
fn other_algorithm(lower: &str) -> bool {
    ["sha512", "sha384", "sha1", "md5", "b3", "blake"]
        .iter()
        .any(|algo| lower.contains(algo))
}

/// Exact names of SHA-256 lists, most common first.
const SUMS_NAMES: [&str; 8] = [
    "checksums.txt",
    "sha256sums",
    "sha256sums.txt",
    "sha256sum.txt",
    "sha256sum",
    "checksums.sha256",
    "sha256.txt",
    "checksums.sha256.txt",
];

/// Every place `release` publishes the hash of `asset`, most trusted first (see the module
/// documentation). Empty means nothing is published: refuse, unless the hash is pinned.
pub fn hash_sources<'a>(release: &'a Release, asset: &Asset) -> Vec<HashSource<'a>> {
    let mut sources = Vec::new();
    if let Some(hex) = asset.sha256_digest() {
        sources.push(HashSource::Digest(hex));
    }
    for suffix in [".sha256", ".sha256sum", ".sha256.txt"] {
        let name = format!("{}{suffix}", asset.name);
        if let Some(sidecar) = release.assets.iter().find(|a| a.name == name) {
            sources.push(HashSource::Sidecar(sidecar));
        }
    }
    let others: Vec<&Asset> = release
        .assets
        .iter()
        .filter(|a| a.name != asset.name)
        .collect();
    let lower = |a: &Asset| a.name.to_ascii_lowercase();
    // Exact well-known names, in the order above.
    for known in SUMS_NAMES {
        sources.extend(
            others
                .iter()
                .filter(|a| lower(a) == known)
                .map(|a| HashSource::Sums(a)),
        );
    }
    // Then `*_checksums.txt`, `*checksums*.txt`, `*SHA256SUMS*`.
    for a in &others {
        let name = lower(a);
        if SUMS_NAMES.contains(&name.as_str()) || is_signature(&name) || other_algorithm(&name) {
            continue;
        }
        if name.contains("bsd") {
            continue;
        }
        let listed = (name.contains("checksums") && name.ends_with(".txt"))
            || name.contains("sha256sums")
            || name.contains("sha256sum.txt");
        if listed {
            sources.push(HashSource::Sums(a));
        }
    }
    // yq: `checksums` with the column order in `checksums_hashes_order`; alone, a plain list.
    if let Some(sums) = others.iter().find(|a| a.name == "checksums") {
        match others.iter().find(|a| a.name == "checksums_hashes_order") {
            Some(order) => sources.push(HashSource::Columns { sums, order }),
            None => sources.push(HashSource::Sums(sums)),
        }
    }
    for a in &others {
        let name = lower(a);
        if name.contains("checksums")
            && name.contains("bsd")
            && !is_signature(&name)
            && !other_algorithm(&name)
        {
            sources.push(HashSource::Bsd(a));
        }
    }
    sources
}

/// The hash in a sidecar file (`tool.tar.gz.sha256`): either just the hex, or `hex  name` (as
/// `sha256sum` writes it, the name possibly a path or prefixed by `*`), or a BSD-style line.
/// A line naming another file does not count.
pub fn parse_sidecar(text: &str, asset_name: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let hex = if let Some(hex) = parse_sha256(line) {
            Some(hex)
        } else if let Some((name, hex)) = bsd_line(line) {
            (base_name(name) == asset_name).then_some(hex)
        } else {
            let mut words = line.split_whitespace();
            let hex = words.next().and_then(parse_sha256);
            let name = words.collect::<Vec<_>>().join(" ");
            let name = name.strip_prefix('*').unwrap_or(&name);
            hex.filter(|_| base_name(name) == asset_name)
        };
        match (&found, hex) {
            (_, None) => {}
            (None, Some(hex)) => found = Some(hex),
            (Some(a), Some(b)) if *a == b => {}
            // Two different hashes: trust neither.
            (Some(_), Some(_)) => return None,
        }
    }
    found
}

fn base_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// `SHA256 (name) = hex` (also `SHA2-256`), as `shasum --tag` and BSD `sha256` write it.
fn bsd_line(line: &str) -> Option<(&str, String)> {
    let (algo, rest) = line.split_once(" (")?;
    let algo = algo.trim().to_ascii_uppercase().replace(['-', '_'], "");
    if algo != "SHA256" && algo != "SHA2256" {
        return None;
    }
    let (name, hex) = rest.rsplit_once(") = ")?;
    Some((name, parse_sha256(hex.trim())?))
}

fn parse_bsd(text: &str, asset_name: &str, url: &str) -> Result<Option<String>, VerifyError> {
    let mut found: BTreeMap<&str, String> = BTreeMap::new();
    for line in text.lines() {
        if let Some((name, hex)) = bsd_line(line.trim())
            && base_name(name) == asset_name
        {
            if found.get(asset_name).is_some_and(|h| *h != hex) {
                return Err(VerifyError::Ambiguous {
                    asset: asset_name.to_owned(),
                    url: url.to_owned(),
                });
            }
            found.insert(asset_name, hex);
        }
    }
    Ok(found.remove(asset_name))
}

/// yq's `checksums`: `name  hash1 hash2 …` with the algorithms in the order `order` lists
/// them, one per line (`SHA-256` among them).
pub fn parse_columns(
    sums: &str,
    order: &str,
    asset_name: &str,
    url: &str,
) -> Result<Option<String>, VerifyError> {
    let normalize = |s: &str| s.trim().to_ascii_uppercase().replace(['-', '_', ' '], "");
    let Some(column) = order
        .lines()
        .filter(|l| !l.trim().is_empty())
        .position(|l| normalize(l) == "SHA256")
    else {
        return Ok(None);
    };
    let mut found: Option<String> = None;
    for line in sums.lines() {
        let mut words = line.split_whitespace();
        if words.next().map(base_name) != Some(asset_name) {
            continue;
        }
        let Some(hex) = words.nth(column).and_then(parse_sha256) else {
            continue;
        };
        match &found {
            Some(other) if *other != hex => {
                return Err(VerifyError::Ambiguous {
                    asset: asset_name.to_owned(),
                    url: url.to_owned(),
                });
            }
            _ => found = Some(hex),
        }
    }
    Ok(found)
}

/// The release publishes no hash for the asset and none is pinned (exit 5: fail closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{owner}/{repo} {tag} publishes no SHA-256 for `{asset}`")]
pub struct NoHashError {
    pub owner: String,
    pub repo: String,
    pub tag: String,
    pub asset: String,
}

impl Diagnostic for NoHashError {
    fn code(&self) -> Code {
        Code::Verify
    }

    fn hint(&self) -> Option<String> {
        Some(
            "refusing to install it unverified: check the file yourself, then pin its hash with \
             `--sha256 HEX`, `sha256 = \"HEX\"` in hookstrap.toml, or `hookstrap lock`"
                .to_owned(),
        )
    }
}

impl fmt::Display for HashSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn release(repo: &str, tag: &str, names: &[&str]) -> Release {
        Release {
            tag_name: tag.to_owned(),
            prerelease: false,
            assets: names
                .iter()
                .map(|name| Asset {
                    name: (*name).to_owned(),
                    browser_download_url: format!(
                        "https://github.com/{repo}/releases/download/{tag}/{name}"
                    ),
                    size: 1,
                    digest: None,
                })
                .collect(),
        }
    }

    /// cli/cli v2.63.0.
    fn gh() -> Release {
        release(
            "cli/cli",
            "v2.63.0",
            &[
                "gh_2.63.0_checksums.txt",
                "gh_2.63.0_linux_386.deb",
                "gh_2.63.0_linux_386.rpm",
                "gh_2.63.0_linux_386.tar.gz",
                "gh_2.63.0_linux_amd64.deb",
                "gh_2.63.0_linux_amd64.rpm",
                "gh_2.63.0_linux_amd64.tar.gz",
                "gh_2.63.0_linux_arm64.deb",
                "gh_2.63.0_linux_arm64.rpm",
                "gh_2.63.0_linux_arm64.tar.gz",
                "gh_2.63.0_linux_armv6.deb",
                "gh_2.63.0_linux_armv6.rpm",
                "gh_2.63.0_linux_armv6.tar.gz",
                "gh_2.63.0_macOS_amd64.zip",
                "gh_2.63.0_macOS_arm64.zip",
                "gh_2.63.0_macOS_universal.pkg",
                "gh_2.63.0_windows_386.msi",
                "gh_2.63.0_windows_386.zip",
                "gh_2.63.0_windows_amd64.msi",
                "gh_2.63.0_windows_amd64.zip",
                "gh_2.63.0_windows_arm64.msi",
                "gh_2.63.0_windows_arm64.zip",
            ],
        )
    }

    /// jqlang/jq jq-1.7.1.
    fn jq() -> Release {
        release(
            "jqlang/jq",
            "jq-1.7.1",
            &[
                "jq-1.7.1.tar.gz",
                "jq-1.7.1.zip",
                "jq-linux-amd64",
                "jq-linux-arm64",
                "jq-linux-armel",
                "jq-linux-armhf",
                "jq-linux-i386",
                "jq-linux-mips",
                "jq-linux-mips64",
                "jq-linux-mips64el",
                "jq-linux-mips64r6",
                "jq-linux-mips64r6el",
                "jq-linux-mipsel",
                "jq-linux-mipsr6",
                "jq-linux-mipsr6el",
                "jq-linux-powerpc",
                "jq-linux-ppc64el",
                "jq-linux-riscv64",
                "jq-linux-s390x",
                "jq-linux64",
                "jq-macos-amd64",
                "jq-macos-arm64",
                "jq-osx-amd64",
                "jq-win64.exe",
                "jq-windows-amd64.exe",
                "jq-windows-i386.exe",
                "sha256sum.txt",
            ],
        )
    }

    /// BurntSushi/ripgrep 14.1.1: every archive has a `.sha256` sidecar.
    fn ripgrep() -> Release {
        let archives = [
            "ripgrep-14.1.1-aarch64-apple-darwin.tar.gz",
            "ripgrep-14.1.1-aarch64-unknown-linux-gnu.tar.gz",
            "ripgrep-14.1.1-armv7-unknown-linux-gnueabihf.tar.gz",
            "ripgrep-14.1.1-armv7-unknown-linux-musleabi.tar.gz",
            "ripgrep-14.1.1-armv7-unknown-linux-musleabihf.tar.gz",
            "ripgrep-14.1.1-i686-pc-windows-msvc.zip",
            "ripgrep-14.1.1-i686-unknown-linux-gnu.tar.gz",
            "ripgrep-14.1.1-powerpc64-unknown-linux-gnu.tar.gz",
            "ripgrep-14.1.1-s390x-unknown-linux-gnu.tar.gz",
            "ripgrep-14.1.1-x86_64-apple-darwin.tar.gz",
            "ripgrep-14.1.1-x86_64-pc-windows-gnu.zip",
            "ripgrep-14.1.1-x86_64-pc-windows-msvc.zip",
            "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz",
            "ripgrep_14.1.1-1_amd64.deb",
        ];
        let mut names: Vec<String> = Vec::new();
        for a in archives {
            names.push(a.to_owned());
            names.push(format!("{a}.sha256"));
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        release("BurntSushi/ripgrep", "14.1.1", &names)
    }

    /// mikefarah/yq v4.44.6 (abridged).
    fn yq() -> Release {
        release(
            "mikefarah/yq",
            "v4.44.6",
            &[
                "checksums",
                "checksums-bsd",
                "checksums_hashes_order",
                "extract-checksum.sh",
                "install-man-page.sh",
                "yq_darwin_amd64",
                "yq_darwin_amd64.tar.gz",
                "yq_darwin_arm64",
                "yq_darwin_arm64.tar.gz",
                "yq_linux_386",
                "yq_linux_386.tar.gz",
                "yq_linux_amd64",
                "yq_linux_amd64.tar.gz",
                "yq_linux_arm",
                "yq_linux_arm.tar.gz",
                "yq_linux_arm64",
                "yq_linux_arm64.tar.gz",
                "yq_linux_mips64le",
                "yq_linux_ppc64le",
                "yq_linux_riscv64",
                "yq_linux_s390x",
                "yq_man_page_only.tar.gz",
                "yq_windows_386.exe",
                "yq_windows_amd64.exe",
                "yq_windows_amd64.zip",
            ],
        )
    }

    fn chosen(release: &Release, target: Target, bin: &str) -> String {
        choose_asset(&release.assets, target, None, bin)
            .unwrap_or_else(|e| panic!("{target}: {e} ({:?})", e.hint()))
            .name
            .clone()
    }

    #[test]
    fn chooses_gh_assets() {
        let gh = gh();
        assert_eq!(
            chosen(&gh, Target::LinuxAmd64, "gh"),
            "gh_2.63.0_linux_amd64.tar.gz"
        );
        assert_eq!(
            chosen(&gh, Target::LinuxArm64, "gh"),
            "gh_2.63.0_linux_arm64.tar.gz"
        );
        // The universal build is a .pkg: not installable; amd64 runs on both kinds of Mac.
        assert_eq!(
            chosen(&gh, Target::DarwinAll, "gh"),
            "gh_2.63.0_macOS_amd64.zip"
        );
        assert_eq!(
            chosen(&gh, Target::WindowsAmd64, "gh"),
            "gh_2.63.0_windows_amd64.zip"
        );
    }

    #[test]
    fn chooses_jq_assets() {
        let jq = jq();
        assert_eq!(chosen(&jq, Target::LinuxAmd64, "jq"), "jq-linux-amd64");
        assert_eq!(chosen(&jq, Target::LinuxArm64, "jq"), "jq-linux-arm64");
        assert_eq!(chosen(&jq, Target::DarwinAll, "jq"), "jq-macos-amd64");
        assert_eq!(
            chosen(&jq, Target::WindowsAmd64, "jq"),
            "jq-windows-amd64.exe"
        );
    }

    #[test]
    fn chooses_ripgrep_assets() {
        let rg = ripgrep();
        assert_eq!(
            chosen(&rg, Target::LinuxAmd64, "rg"),
            "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz"
        );
        assert_eq!(
            chosen(&rg, Target::LinuxArm64, "rg"),
            "ripgrep-14.1.1-aarch64-unknown-linux-gnu.tar.gz"
        );
        assert_eq!(
            chosen(&rg, Target::DarwinAll, "rg"),
            "ripgrep-14.1.1-x86_64-apple-darwin.tar.gz"
        );
        assert_eq!(
            chosen(&rg, Target::WindowsAmd64, "rg"),
            "ripgrep-14.1.1-x86_64-pc-windows-msvc.zip"
        );
    }

    #[test]
    fn chooses_yq_assets() {
        let yq = yq();
        assert_eq!(chosen(&yq, Target::LinuxAmd64, "yq"), "yq_linux_amd64");
        assert_eq!(chosen(&yq, Target::LinuxArm64, "yq"), "yq_linux_arm64");
        assert_eq!(
            chosen(&yq, Target::WindowsAmd64, "yq"),
            "yq_windows_amd64.exe"
        );
        // With a pattern, the archive instead.
        let asset =
            choose_asset(&yq.assets, Target::LinuxAmd64, Some("yq_*.tar.gz"), "yq").unwrap();
        assert_eq!(asset.name, "yq_linux_amd64.tar.gz");
    }

    #[test]
    fn prefers_musl_then_static_then_gnu() {
        let r = release(
            "o/t",
            "v1",
            &[
                "t-x86_64-unknown-linux-gnu.tar.gz",
                "t-x86_64-unknown-linux-static.tar.gz",
                "t-x86_64-unknown-linux-musl.tar.gz",
            ],
        );
        assert_eq!(
            chosen(&r, Target::LinuxAmd64, "t"),
            "t-x86_64-unknown-linux-musl.tar.gz"
        );
        let r = release(
            "o/t",
            "v1",
            &[
                "t-x86_64-unknown-linux-gnu.tar.gz",
                "t-linux-amd64-static.tar.xz",
            ],
        );
        assert_eq!(
            chosen(&r, Target::LinuxAmd64, "t"),
            "t-linux-amd64-static.tar.xz"
        );
    }

    #[test]
    fn darwin_prefers_universal_builds() {
        let r = release(
            "gohugoio/hugo",
            "v0.139.0",
            &[
                "hugo_0.139.0_darwin-universal.tar.gz",
                "hugo_0.139.0_darwin-universal.pkg",
                "hugo_0.139.0_linux-amd64.tar.gz",
                "hugo_0.139.0_linux-arm64.tar.gz",
                "hugo_extended_0.139.0_linux-amd64.tar.gz",
                "hugo_extended_withdeploy_0.139.0_linux-amd64.tar.gz",
                "hugo_0.139.0_checksums.txt",
            ],
        );
        assert_eq!(
            chosen(&r, Target::DarwinAll, "hugo"),
            "hugo_0.139.0_darwin-universal.tar.gz"
        );
        // Variants of one build: the plainest name.
        assert_eq!(
            chosen(&r, Target::LinuxAmd64, "hugo"),
            "hugo_0.139.0_linux-amd64.tar.gz"
        );
        let extended = choose_asset(
            &r.assets,
            Target::LinuxAmd64,
            Some("hugo_extended_0*"),
            "hugo",
        )
        .unwrap();
        assert_eq!(extended.name, "hugo_extended_0.139.0_linux-amd64.tar.gz");
    }

    #[test]
    fn node_style_names() {
        let r = release(
            "nodejs/node",
            "v20.11.0",
            &[
                "node-v20.11.0-linux-x64.tar.xz",
                "node-v20.11.0-linux-arm64.tar.xz",
                "node-v20.11.0-linux-armv7l.tar.xz",
                "node-v20.11.0-linux-ppc64le.tar.xz",
                "node-v20.11.0-darwin-arm64.tar.gz",
                "node-v20.11.0-win-x64.zip",
                "node-v20.11.0.tar.gz",
                "SHASUMS256.txt",
            ],
        );
        assert_eq!(
            chosen(&r, Target::LinuxAmd64, "node"),
            "node-v20.11.0-linux-x64.tar.xz"
        );
        assert_eq!(
            chosen(&r, Target::LinuxArm64, "node"),
            "node-v20.11.0-linux-arm64.tar.xz"
        );
        assert_eq!(
            chosen(&r, Target::DarwinAll, "node"),
            "node-v20.11.0-darwin-arm64.tar.gz"
        );
        assert_eq!(
            chosen(&r, Target::WindowsAmd64, "node"),
            "node-v20.11.0-win-x64.zip"
        );
    }

    #[test]
    fn no_fitting_asset_lists_the_release() {
        let r = release(
            "o/t",
            "v1",
            &["t-freebsd-amd64.tar.gz", "t-linux-386.tar.gz", "t.deb"],
        );
        let err = choose_asset(&r.assets, Target::LinuxAmd64, None, "t").unwrap_err();
        assert!(matches!(err, ChooseError::NoMatch { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 3);
        assert!(err.hint().unwrap().contains("t-freebsd-amd64.tar.gz"));
        let err = choose_asset(&jq().assets, Target::LinuxArm64, Some("jq-9*"), "jq").unwrap_err();
        assert!(err.to_string().contains("matches `jq-9*`"), "{err}");
        // Without a pattern, a source tarball never fits.
        let r = release("o/t", "v1", &["t-1.0.tar.gz", "t-1.0.zip"]);
        assert!(choose_asset(&r.assets, Target::LinuxAmd64, None, "t").is_err());
        let err = choose_asset(&[], Target::LinuxAmd64, None, "t").unwrap_err();
        assert_eq!(err.hint().unwrap(), "the release has no assets");
    }

    #[test]
    fn ties_are_errors_not_guesses() {
        let r = release(
            "o/t",
            "v1",
            &["one-linux-amd64.tar.gz", "two-linux-amd64.tar.gz"],
        );
        let err = choose_asset(&r.assets, Target::LinuxAmd64, None, "x").unwrap_err();
        assert_eq!(
            err,
            ChooseError::Ambiguous {
                target: Target::LinuxAmd64,
                candidates: vec![
                    "one-linux-amd64.tar.gz".to_owned(),
                    "two-linux-amd64.tar.gz".to_owned()
                ]
            }
        );
        assert_eq!(err.exit_code(), 2);
        assert!(err.hint().unwrap().contains("asset ="));
        // The command's name settles it.
        assert_eq!(
            chosen(&r, Target::LinuxAmd64, "two"),
            "two-linux-amd64.tar.gz"
        );
        // So does a pattern.
        let a = choose_asset(&r.assets, Target::LinuxAmd64, Some("one-*"), "x").unwrap();
        assert_eq!(a.name, "one-linux-amd64.tar.gz");
    }

    #[test]
    fn a_pattern_never_selects_metadata_or_another_platform() {
        let gh = gh();
        let err = choose_asset(
            &gh.assets,
            Target::LinuxAmd64,
            Some("gh_*_checksums.txt"),
            "gh",
        )
        .unwrap_err();
        assert!(matches!(err, ChooseError::NoMatch { .. }));
        let err = choose_asset(
            &gh.assets,
            Target::LinuxArm64,
            Some("gh_*_linux_amd64.tar.gz"),
            "gh",
        )
        .unwrap_err();
        assert!(matches!(err, ChooseError::NoMatch { .. }));
        // A name without OS or arch is fine when the pattern picks it.
        let r = release("o/t", "v1", &["tool.tar.gz", "tool.tar.gz.sha256"]);
        let a = choose_asset(&r.assets, Target::LinuxArm64, Some("tool.tar.gz"), "tool").unwrap();
        assert_eq!(a.name, "tool.tar.gz");
        assert!(choose_asset(&r.assets, Target::LinuxAmd64, None, "tool").is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match(
            "gh_*_linux_amd64.tar.gz",
            "gh_2.63.0_linux_amd64.tar.gz"
        ));
        assert!(!glob_match(
            "gh_*_linux_amd64.tar.gz",
            "gh_2.63.0_linux_amd64.tar.gz.sig"
        ));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(glob_match("a*b*c", "a-b-b-c"));
        assert!(!glob_match("a*b*c", "a-c"));
        assert!(!glob_match("a*a", "a"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exact2"));
    }

    // ---- hashes ----

    #[test]
    fn gh_hash_comes_from_its_checksums_file() {
        let gh = gh();
        let asset = gh.asset("gh_2.63.0_linux_amd64.tar.gz").unwrap();
        let sources = hash_sources(&gh, asset);
        assert_eq!(
            sources,
            [HashSource::Sums(
                gh.asset("gh_2.63.0_checksums.txt").unwrap()
            )]
        );
        let text = format!("{B}  gh_2.63.0_linux_386.tar.gz\n{A}  gh_2.63.0_linux_amd64.tar.gz\n");
        assert_eq!(sources[0].lookup(&[&text], &asset.name).unwrap(), A);
        assert_eq!(sources[0].describe(), "`gh_2.63.0_checksums.txt`");
    }

    #[test]
    fn jq_hash_comes_from_sha256sum_txt() {
        let jq = jq();
        let asset = jq.asset("jq-linux-amd64").unwrap();
        let sources = hash_sources(&jq, asset);
        assert_eq!(
            sources,
            [HashSource::Sums(jq.asset("sha256sum.txt").unwrap())]
        );
        let text = format!("{A}  jq-linux-amd64\n{B}  jq-linux-arm64\n");
        assert_eq!(sources[0].lookup(&[&text], "jq-linux-amd64").unwrap(), A);
        // An asset the list does not mention: try the next source (or refuse).
        let err = sources[0].lookup(&[&text], "jq-linux-i386").unwrap_err();
        assert!(matches!(err, VerifyError::MissingLine { .. }));
    }

    #[test]
    fn ripgrep_hash_comes_from_its_sidecar() {
        let rg = ripgrep();
        let name = "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz";
        let sources = hash_sources(&rg, rg.asset(name).unwrap());
        let sidecar = rg.asset(&format!("{name}.sha256")).unwrap();
        assert_eq!(sources, [HashSource::Sidecar(sidecar)]);
        let text = format!("{A}  {name}\n");
        assert_eq!(sources[0].lookup(&[&text], name).unwrap(), A);
        assert_eq!(sources[0].files(), [sidecar]);
    }

    #[test]
    fn yq_hash_comes_from_its_column_format() {
        let yq = yq();
        let asset = yq.asset("yq_linux_amd64").unwrap();
        let sources = hash_sources(&yq, asset);
        assert_eq!(
            sources,
            [
                HashSource::Columns {
                    sums: yq.asset("checksums").unwrap(),
                    order: yq.asset("checksums_hashes_order").unwrap()
                },
                HashSource::Bsd(yq.asset("checksums-bsd").unwrap()),
            ]
        );
        let order = "CRC32\nMD4\nMD5\nSHA-1\nSHA-224\nSHA-256\nSHA-384\nSHA-512\n";
        let crc = "12345678";
        let md = "0123456789abcdef0123456789abcdef";
        let sha1 = "0123456789abcdef0123456789abcdef01234567";
        let sums = format!(
            "yq_linux_386  {crc} {md} {md} {sha1} {} {B} {}\n\
             yq_linux_amd64  {crc} {md} {md} {sha1} {} {A} {}\n",
            "c".repeat(56),
            "d".repeat(96),
            "c".repeat(56),
            "d".repeat(96),
        );
        assert_eq!(sources[0].files().len(), 2);
        assert_eq!(
            sources[0]
                .lookup(&[&sums, order], "yq_linux_amd64")
                .unwrap(),
            A
        );
        assert_eq!(
            sources[0].lookup(&[&sums, order], "yq_linux_386").unwrap(),
            B
        );
        // An order file without SHA-256: no hash from this source.
        let err = sources[0]
            .lookup(&[&sums, "MD5\n"], "yq_linux_amd64")
            .unwrap_err();
        assert!(matches!(err, VerifyError::MissingLine { .. }));
        let bsd = format!("MD5 (yq_linux_amd64) = {md}\nSHA256 (yq_linux_amd64) = {A}\n");
        assert_eq!(sources[1].lookup(&[&bsd], "yq_linux_amd64").unwrap(), A);
    }

    #[test]
    fn a_release_without_hashes_has_no_source() {
        let r = release(
            "o/tool",
            "v1.0.0",
            &[
                "tool-linux-amd64.tar.gz",
                "tool-linux-amd64.tar.gz.sig",
                "SHA256SUMS.asc",
            ],
        );
        let asset = choose_asset(&r.assets, Target::LinuxAmd64, None, "tool").unwrap();
        assert!(hash_sources(&r, asset).is_empty());
        let err = NoHashError {
            owner: "o".into(),
            repo: "tool".into(),
            tag: "v1.0.0".into(),
            asset: asset.name.clone(),
        };
        assert_eq!(err.exit_code(), 5);
        assert_eq!(
            err.to_string(),
            "o/tool v1.0.0 publishes no SHA-256 for `tool-linux-amd64.tar.gz`"
        );
        assert!(err.hint().unwrap().contains("--sha256"));
    }

    #[test]
    fn the_api_digest_comes_first() {
        let mut r = gh();
        let upper = A.to_ascii_uppercase();
        r.assets[6].digest = Some(format!("sha256:{upper}"));
        let asset = r.assets[6].clone();
        assert_eq!(asset.name, "gh_2.63.0_linux_amd64.tar.gz");
        let sources = hash_sources(&r, &asset);
        assert_eq!(sources[0], HashSource::Digest(A.to_owned()));
        assert_eq!(sources.len(), 2);
        assert_eq!(sources[0].lookup(&[], &asset.name).unwrap(), A);
        // Other algorithms and malformed digests are ignored.
        for digest in [
            format!("sha512:{A}{A}"),
            "sha256:abc".to_owned(),
            A.to_owned(),
        ] {
            r.assets[6].digest = Some(digest);
            assert_eq!(r.assets[6].sha256_digest(), None);
        }
    }

    #[test]
    fn checksum_file_names() {
        let r = release(
            "o/t",
            "v1",
            &[
                "t-linux-amd64.tar.gz",
                "t_1.0_checksums.txt",
                "t_1.0_checksums.txt.sig",
                "t_1.0_checksums.txt.pem",
                "SHA256SUMS",
                "SHA256SUMS.asc",
                "checksums.txt",
                "sha512sums.txt",
                "multiple.checksums.txt",
                "release-SHA256SUMS-v1",
            ],
        );
        let asset = r.asset("t-linux-amd64.tar.gz").unwrap();
        let names: Vec<String> = hash_sources(&r, asset)
            .iter()
            .flat_map(|s| s.files().into_iter().map(|a| a.name.clone()))
            .collect();
        assert_eq!(
            names,
            [
                "checksums.txt",
                "SHA256SUMS",
                "t_1.0_checksums.txt",
                "multiple.checksums.txt",
                "release-SHA256SUMS-v1"
            ]
        );
    }

    #[test]
    fn sums_lists_may_name_paths() {
        let r = release("o/t", "v1", &["t-linux-amd64", "checksums.txt"]);
        let sources = hash_sources(&r, &r.assets[0]);
        let text = format!("{A}  dist/t-linux-amd64\n");
        assert_eq!(sources[0].lookup(&[&text], "t-linux-amd64").unwrap(), A);
        let text = format!("{A}  dist/t-linux-amd64\n{B}  other/t-linux-amd64\n");
        assert!(matches!(
            sources[0].lookup(&[&text], "t-linux-amd64"),
            Err(VerifyError::Ambiguous { .. })
        ));
    }

    #[test]
    fn sidecars() {
        let name = "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz";
        assert_eq!(parse_sidecar(&format!("{A}\n"), name).as_deref(), Some(A));
        assert_eq!(
            parse_sidecar(&format!("{A}  {name}\n"), name).as_deref(),
            Some(A)
        );
        assert_eq!(
            parse_sidecar(&format!("{A} *{name}\r\n"), name).as_deref(),
            Some(A)
        );
        assert_eq!(
            parse_sidecar(&format!("{A}  ./target/{name}"), name).as_deref(),
            Some(A)
        );
        assert_eq!(
            parse_sidecar(&format!("SHA256 ({name}) = {A}\n"), name).as_deref(),
            Some(A)
        );
        let upper = A.to_ascii_uppercase();
        assert_eq!(parse_sidecar(&upper, name).as_deref(), Some(A));
        // Another file's hash, a short hash, nothing, or two different hashes: none.
        assert_eq!(parse_sidecar(&format!("{A}  other.tar.gz\n"), name), None);
        assert_eq!(parse_sidecar(&A[..63], name), None);
        assert_eq!(parse_sidecar("", name), None);
        assert_eq!(parse_sidecar(&format!("{A}\n{B}\n"), name), None);
    }

    #[test]
    fn api_urls() {
        assert_eq!(
            api_url("https://github.com", "cli", "cli", "v2.63.0"),
            "https://api.github.com/repos/cli/cli/releases/tags/v2.63.0"
        );
        assert_eq!(
            api_url("https://github.com/", "jqlang", "jq", "jq-1.7.1"),
            "https://api.github.com/repos/jqlang/jq/releases/tags/jq-1.7.1"
        );
        assert_eq!(
            api_url("https://mirror.example.com/gh/", "cli", "cli", "v2.63.0"),
            "https://mirror.example.com/gh/api/v3/repos/cli/cli/releases/tags/v2.63.0"
        );
        assert_eq!(
            api_url("file:///srv/mirror", "o", "r", "v1+build/x"),
            "file:///srv/mirror/api/v3/repos/o/r/releases/tags/v1%2Bbuild%2Fx"
        );
    }

    #[test]
    fn release_json_ignores_unknown_fields() {
        let json = format!(
            r#"{{"url":"x","id":1,"tag_name":"v2.63.0","name":"GitHub CLI 2.63.0",
            "draft":false,"prerelease":false,"author":{{"login":"x"}},
            "assets":[{{"id":2,"name":"gh_2.63.0_linux_amd64.tar.gz","size":12345,
              "content_type":"application/gzip","digest":"sha256:{A}",
              "browser_download_url":"https://github.com/cli/cli/releases/download/v2.63.0/gh_2.63.0_linux_amd64.tar.gz"}},
              {{"name":"gh_2.63.0_checksums.txt","size":10,"digest":null,
              "browser_download_url":"https://github.com/cli/cli/releases/download/v2.63.0/gh_2.63.0_checksums.txt"}}]}}"#
        );
        let r = Release::parse(&json).unwrap();
        assert_eq!(r.tag_name, "v2.63.0");
        assert!(!r.prerelease);
        assert_eq!(r.assets.len(), 2);
        assert_eq!(r.assets[0].size, 12345);
        assert_eq!(r.assets[0].sha256_digest().as_deref(), Some(A));
        assert_eq!(r.assets[1].digest, None);
        assert!(Release::parse("{}").is_err());
        assert!(
            Release::parse(r#"{"tag_name":"v1"}"#)
                .unwrap()
                .assets
                .is_empty()
        );
    }
}
