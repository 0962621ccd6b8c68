//! What a release asset's name says: its packing format, and whether it can be installed at
//! all (packages, signatures, checksums and metadata cannot). Asset choice and the unpacker
//! both read this; it decides nothing about the bytes themselves.

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

    /// What to call the format in a message.
    /// Whether it can be unpacked as it streams in (a zip needs its central directory, at the
    /// end, first).
    pub fn streams(self) -> bool {
        self != Format::Zip
    }

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
