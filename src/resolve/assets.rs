//! Which release asset to install on a target, from the asset names alone: what a name says
//! about its packing format, its OS and its architecture, and which name fits a target best.
//!
//! Everything here is a pure decision over a listing already fetched; it decides nothing about
//! the bytes themselves (the unpacker reads [`Format`] too).
//!
//! Choosing an asset: only installable files count ([`Format::from_asset_name`], minus checksum
//! and metadata files). Each name is scanned for an OS and an architecture, aliases included
//! (`linux`/`Linux`, `darwin`/`macos`/`apple`/`osx`, `windows`/`win`; `amd64`/`x86_64`/`x64`,
//! `arm64`/`aarch64`, `universal`/`all`). A name that mentions another OS or architecture is out;
//! without an `asset` pattern, a name must mention the target's OS. The best score wins: the exact
//! architecture, then (Linux) musl > static > unspecified > gnu, then a name that mentions its
//! OS, then the usual aliases over legacy ones (`macos` over `osx`), then a name that starts
//! with the binary's name, then the format (bare > tar.gz > tar.xz > tar.zst > zip), then the
//! shortest name. A tie is an error that lists the candidates, never a guess. For
//! `darwin_all`, a universal build is preferred, then amd64 (which Apple silicon runs too),
//! then arm64.

use std::cmp::Reverse;

use crate::diag::{Code, Diagnostic};
use crate::resolve::catalog::Target;
use crate::resolve::github::Asset;

/// How a release asset is packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    TarGz,
    TarXz,
    TarZst,
    Zip,
    /// The asset is the binary itself (`jq-linux-amd64`, `yq_linux_amd64`, `tool.exe`).
    Bare,
}

/// Archive extensions, longest first where one ends another.
const ARCHIVES: [(&str, Format); 7] = [
    (".tar.gz", Format::TarGz),
    (".tgz", Format::TarGz),
    (".tar.xz", Format::TarXz),
    (".txz", Format::TarXz),
    (".tar.zst", Format::TarZst),
    (".tzst", Format::TarZst),
    (".zip", Format::Zip),
];

/// Extensions of files that are not installable here: OS packages, installers, signatures,
/// certificates, checksums, SBOMs and other metadata, scripts, docs, and archive formats this
/// module does not read.
const NOT_INSTALLABLE: &[&str] = &[
    // OS packages and installers.
    ".deb",
    ".rpm",
    ".apk",
    ".msi",
    ".msix",
    ".appx",
    ".pkg",
    ".dmg",
    ".snap",
    ".flatpak",
    ".appimage",
    ".nupkg",
    ".whl",
    ".jar",
    ".vsix",
    ".ipa",
    ".aab",
    // Signatures, certificates, keys.
    ".sig",
    ".asc",
    ".pem",
    ".crt",
    ".cert",
    ".pub",
    ".key",
    ".minisig",
    ".p7s",
    ".gpg",
    // Checksums.
    ".sha256",
    ".sha256sum",
    ".sha512",
    ".sha512sum",
    ".sha1",
    ".sha1sum",
    ".md5",
    ".md5sum",
    ".sum",
    ".b3",
    ".blake3",
    // SBOMs, provenance, metadata, docs, scripts.
    ".sbom",
    ".spdx",
    ".json",
    ".jsonl",
    ".intoto",
    ".txt",
    ".md",
    ".html",
    ".xml",
    ".yaml",
    ".yml",
    ".toml",
    ".sh",
    ".ps1",
    ".bat",
    ".cmd",
    ".1",
    // Archives this module does not unpack.
    ".tar",
    ".gz",
    ".xz",
    ".zst",
    ".bz2",
    ".tbz",
    ".tbz2",
    ".lz",
    ".lz4",
    ".lzma",
    ".7z",
    ".rar",
    ".z",
];

impl Format {
    /// The format of an asset, from its file name (case-insensitive); `None` for files that are
    /// not installable (packages, signatures, checksums, metadata…). A name with no archive or
    /// non-installable extension is a bare binary.
    pub fn from_asset_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.is_empty() || lower.contains('/') {
            return None;
        }
        if let Some((_, format)) = ARCHIVES.iter().find(|(ext, _)| lower.ends_with(ext)) {
            return Some(*format);
        }
        if NOT_INSTALLABLE.iter().any(|ext| lower.ends_with(ext)) {
            return None;
        }
        Some(Format::Bare)
    }

    /// Whether it can be unpacked as it streams in (a zip needs its central directory, at the
    /// end, first).
    pub fn streams(self) -> bool {
        self != Format::Zip
    }

    /// What to call the format in a message.
    pub fn name(self) -> &'static str {
        match self {
            Format::TarGz => "tar.gz",
            Format::TarXz => "tar.xz",
            Format::TarZst => "tar.zst",
            Format::Zip => "zip",
            Format::Bare => "bare binary",
        }
    }
}

// ---- what a name says ----

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

/// Families of other architectures, matched as word prefixes (`mips64r6el`, `ppc64el`,
/// `armv7`, `s390x`), after the known aliases are blanked out.
const OTHER_ARCH_PREFIXES: [&str; 11] = [
    "mips", "ppc", "powerpc", "s390", "riscv", "loong", "sparc", "armv", "armel", "armhf", "wasm",
];

/// Legacy or informal aliases: a name using the usual ones wins a tie (`jq-macos-amd64` over
/// `jq-osx-amd64`, `jq-windows-amd64.exe` over `jq-win64.exe`).
const LEGACY_ALIASES: [&str; 6] = ["osx", "mac", "win", "win64", "64bit", "64-bit"];

/// Whether `word` occurs in `text` at `start` as a whole word: no letter or digit on either
/// side, except digits after it when `digits_may_follow` (`linux64`).
fn word_at(text: &[u8], start: usize, word: &[u8], digits_may_follow: bool) -> bool {
    let end = start + word.len();
    if end > text.len() || &text[start..end] != word {
        return false;
    }
    let before_ok = start == 0 || !text[start - 1].is_ascii_alphanumeric();
    let after_ok = end == text.len()
        || !text[end].is_ascii_alphanumeric()
        || (digits_may_follow && text[end].is_ascii_digit());
    before_ok && after_ok
}

/// Blanks out every whole-word occurrence of `word` in `text`; how many there were.
fn blank_out(text: &mut [u8], word: &[u8], digits_may_follow: bool) -> usize {
    let mut count = 0;
    let mut start = 0;
    while start + word.len() <= text.len() {
        if word_at(text, start, word, digits_may_follow) {
            text[start..start + word.len()].fill(b' ');
            count += 1;
            start += word.len();
        } else {
            start += 1;
        }
    }
    count
}

/// Every alias found in `name` as a whole word, longest aliases first; a match is blanked out
/// so that `x86` is not found again inside `x86_64`, nor `arm` inside `arm64`.
fn find_words<T: Copy>(name: &str, aliases: &[(&str, T)], digits_may_follow: bool) -> Vec<T> {
    let mut sorted: Vec<&(&str, T)> = aliases.iter().collect();
    sorted.sort_by_key(|(alias, _)| Reverse(alias.len()));
    let mut text: Vec<u8> = name.to_ascii_lowercase().into_bytes();
    let mut found = Vec::new();
    for (alias, value) in sorted {
        let count = blank_out(&mut text, alias.as_bytes(), digits_may_follow);
        found.extend(std::iter::repeat_n(*value, count));
    }
    found
}

/// Whether `name` holds `word` as a whole word (case-insensitive).
fn has_word(name: &str, word: &str, digits_may_follow: bool) -> bool {
    !find_words(name, &[(word, ())], digits_may_follow).is_empty()
}

/// `lower` with every known OS and architecture alias blanked out, so what is left can be
/// searched for other architecture families.
fn without_known_words(lower: &str) -> String {
    let mut text = lower.as_bytes().to_vec();
    let known = ARCH_ALIASES.iter().map(|(a, _)| *a);
    for alias in known.chain(OS_ALIASES.iter().map(|(a, _)| *a)) {
        blank_out(&mut text, alias.as_bytes(), false);
    }
    // Only ASCII bytes were replaced, by ASCII spaces: still UTF-8.
    String::from_utf8(text).unwrap_or_default()
}

fn has_prefix_word(lower: &str, prefixes: &[&str]) -> bool {
    lower.char_indices().any(|(at, _)| {
        let before_ok = at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric();
        before_ok && prefixes.iter().any(|p| lower[at..].starts_with(p))
    })
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

// ---- scoring a name for a target ----

/// How well a name fits, compared field by field: the ranks of architecture, libc, OS,
/// aliases, binary name and format (see the module documentation), then the plainest name.
type Score = ([u8; 6], Reverse<usize>);

/// A candidate's score for a target, or `None` when it does not fit.
fn score(name: &str, target: Target, patterned: bool, bin: &str) -> Option<Score> {
    let lower = name.to_ascii_lowercase();
    let os_rank = os_rank(name, &lower, target, patterned)?;
    let arch_rank = arch_rank(arch_of(name, &lower)?, target, patterned)?;
    let format_rank = format_rank(name)?;
    Some((
        [
            arch_rank,
            libc_rank(name, target),
            os_rank,
            usual_rank(name),
            bin_rank(&lower, bin),
            format_rank,
        ],
        // Last, the plainest name: `hugo_0.139.0_linux-amd64.tar.gz` over
        // `hugo_extended_0.139.0_linux-amd64.tar.gz`.
        Reverse(name.len()),
    ))
}

/// 1 when the name mentions the target's OS, 0 when it mentions none (only with a pattern);
/// `None` when it mentions another OS, or none without a pattern.
fn os_rank(name: &str, lower: &str, target: Target, patterned: bool) -> Option<u8> {
    let mut oses = find_words(name, OS_ALIASES, true);
    if oses.is_empty() && lower.ends_with(".exe") {
        oses.push(Os::Windows);
    }
    let want = target_os(target);
    if oses.iter().any(|os| *os != want) {
        return None;
    }
    match (oses.is_empty(), patterned) {
        (false, _) => Some(1),
        (true, true) => Some(0),
        (true, false) => None,
    }
}

/// The architecture a name mentions: `Some(None)` for none, `None` for another architecture
/// (or a family of them: `mips64r6el`), which rules the name out.
fn arch_of(name: &str, lower: &str) -> Option<Option<Arch>> {
    let arches = find_words(name, ARCH_ALIASES, false);
    if arches.contains(&Arch::Other)
        || has_prefix_word(&without_known_words(lower), &OTHER_ARCH_PREFIXES)
    {
        return None;
    }
    Some(
        match (
            arches.contains(&Arch::Amd64),
            arches.contains(&Arch::Arm64),
            arches.contains(&Arch::Universal),
        ) {
            (false, false, false) => None,
            (true, false, false) => Some(Arch::Amd64),
            (false, true, false) => Some(Arch::Arm64),
            // Both, or a universal build.
            _ => Some(Arch::Universal),
        },
    )
}

/// How well an architecture fits the target; `None` when it cannot run there.
fn arch_rank(arch: Option<Arch>, target: Target, patterned: bool) -> Option<u8> {
    match (target, arch) {
        (Target::DarwinAll, Some(Arch::Universal)) => Some(4),
        (Target::DarwinAll, Some(Arch::Amd64)) => Some(3),
        (Target::DarwinAll, Some(Arch::Arm64)) => Some(2),
        (Target::DarwinAll, None) => Some(1),
        (Target::LinuxAmd64 | Target::WindowsAmd64, Some(Arch::Amd64)) => Some(4),
        (Target::LinuxArm64, Some(Arch::Arm64)) => Some(4),
        (_, Some(Arch::Universal)) => Some(2),
        // A name without an architecture is most likely amd64; on arm64 only if asked for.
        (Target::LinuxAmd64 | Target::WindowsAmd64, None) => Some(1),
        (Target::LinuxArm64, None) if patterned => Some(1),
        _ => None,
    }
}

/// Linux: musl (3) > static (2) > unspecified (1) > gnu (0). Windows: msvc or no gnu (1).
fn libc_rank(name: &str, target: Target) -> u8 {
    let has = |word: &str| has_word(name, word, false);
    match target {
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
    }
}

/// 1 unless the name uses a legacy alias (`osx`, `win64`, `64bit`…).
fn usual_rank(name: &str) -> u8 {
    let legacy = LEGACY_ALIASES
        .iter()
        .any(|alias| has_word(name, alias, matches!(*alias, "win" | "mac" | "osx")));
    u8::from(!legacy)
}

/// 2 when the name is the binary's name followed by a separator, 1 when it merely starts
/// with it, else 0.
fn bin_rank(lower: &str, bin: &str) -> u8 {
    let bin = bin.to_ascii_lowercase();
    match lower.strip_prefix(bin.as_str()) {
        _ if bin.is_empty() => 0,
        Some(rest) if rest.is_empty() || rest.starts_with(['-', '_', '.']) => 2,
        Some(_) => 1,
        None => 0,
    }
}

/// bare > tar.gz > tar.xz > tar.zst > zip; `None` when not installable.
fn format_rank(name: &str) -> Option<u8> {
    Some(match Format::from_asset_name(name)? {
        Format::Bare => 4,
        Format::TarGz => 3,
        Format::TarXz => 2,
        Format::TarZst => 1,
        Format::Zip => 0,
    })
}

// ---- the choice ----

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
    let best = best_scored(assets, target, pattern, bin);
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

/// Every installable asset (matching `pattern`, if any) that shares the best score.
fn best_scored<'a>(
    assets: &'a [Asset],
    target: Target,
    pattern: Option<&str>,
    bin: &str,
) -> Vec<&'a Asset> {
    let mut best: Vec<&Asset> = Vec::new();
    let mut best_score = None;
    for asset in assets {
        if !is_installable(&asset.name) || pattern.is_some_and(|p| !glob_match(p, &asset.name)) {
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
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::github::Release;
    use crate::resolve::github::samples::{gh, hugo, jq, release, ripgrep, yq};

    fn chosen(release: &Release, target: Target, bin: &str) -> String {
        choose_asset(&release.assets, target, None, bin)
            .unwrap_or_else(|e| panic!("{target}: {e} ({:?})", e.hint()))
            .name
            .clone()
    }

    /// The asset each fixture release gives each target hookstrap installs on.
    #[test]
    fn chooses_an_asset_of_each_fixture_release_for_each_target() {
        let cases: [(Release, &str, [&str; 3]); 5] = [
            (
                gh(),
                "gh",
                [
                    "gh_2.63.0_linux_amd64.tar.gz",
                    "gh_2.63.0_linux_arm64.tar.gz",
                    "gh_2.63.0_macOS_amd64.zip",
                ],
            ),
            (
                jq(),
                "jq",
                ["jq-linux-amd64", "jq-linux-arm64", "jq-macos-amd64"],
            ),
            (
                ripgrep(),
                "rg",
                [
                    "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz",
                    "ripgrep-14.1.1-aarch64-unknown-linux-gnu.tar.gz",
                    "ripgrep-14.1.1-x86_64-apple-darwin.tar.gz",
                ],
            ),
            (
                yq(),
                "yq",
                ["yq_linux_amd64", "yq_linux_arm64", "yq_darwin_amd64"],
            ),
            (
                hugo(),
                "hugo",
                [
                    "hugo_0.139.0_linux-amd64.tar.gz",
                    "hugo_0.139.0_linux-arm64.tar.gz",
                    "hugo_0.139.0_darwin-universal.tar.gz",
                ],
            ),
        ];
        for (release, bin, expected) in cases {
            let targets = [Target::LinuxAmd64, Target::LinuxArm64, Target::DarwinAll];
            for (target, want) in targets.into_iter().zip(expected) {
                assert_eq!(chosen(&release, target, bin), want, "{bin} on {target}");
            }
        }
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
        let r = hugo();
        assert_eq!(
            chosen(&r, Target::DarwinAll, "hugo"),
            "hugo_0.139.0_darwin-universal.tar.gz"
        );
        // Variants of one build: the plainest name; the usual alias over the legacy
        // `Linux-64bit`.
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
}
