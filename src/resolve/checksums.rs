//! Where a release publishes an asset's SHA-256, and reading it out of the file that holds it.
//!
//! Hash sources, in order of preference: the API's `digest` (`sha256:` only), a
//! `{asset}.sha256` sidecar, then checksum lists (`checksums.txt`, `SHA256SUMS`,
//! `*_checksums.txt`, …), then yq's column format (`checksums` + `checksums_hashes_order`) and
//! BSD-style lines. No hash is a verification failure (exit 5): fail closed.
//!
//! One parser family reads every dialect: the same line rules (a leading byte-order mark
//! dropped, CRLF accepted, blank lines skipped, a line over [`MAX_LINE`] bytes refused), one
//! line parser per dialect (`hex  name`, `SHA256 (name) = hex`, yq's columns, a sidecar's bare
//! hex), and one table, [`Checksums`], that answers for a name. A name listed twice with
//! different hashes is poisoned, never guessed; lines that are not checksum lines are ignored
//! and never match. Checksum files are untrusted input: nothing here panics on any text.

use std::collections::BTreeMap;
use std::fmt;

use crate::diag::{Code, Diagnostic};
use crate::resolve::github::{Asset, Release};
use crate::verify::{VerifyError, parse_sha256};

/// The longest line accepted in a checksums file; real ones are ~100 bytes (yq's column
/// lines, with 31 hashes each, about 2,000).
pub const MAX_LINE: usize = 4096;

// ---- the lines of any dialect ----

/// The lines worth reading: a leading byte-order mark (a file saved on Windows would hide the
/// first hash) and `\r` dropped, each line trimmed, blank ones skipped. A line longer than
/// [`MAX_LINE`] bytes means this is not a checksums file at all.
fn lines<'t>(text: &'t str, url: &str) -> Result<Vec<&'t str>, VerifyError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        if line.len() > MAX_LINE {
            return Err(VerifyError::Malformed {
                url: url.to_owned(),
                line: index + 1,
                reason: format!("is longer than {MAX_LINE} bytes"),
            });
        }
        let line = line.strip_suffix('\r').unwrap_or(line).trim();
        if !line.is_empty() {
            out.push(line);
        }
    }
    Ok(out)
}

/// A listed name as written, less `sha256sum`'s binary-mode `*` and a leading `./`.
fn clean_name(name: &str) -> &str {
    let name = name.trim_start();
    let name = name.strip_prefix('*').unwrap_or(name);
    name.strip_prefix("./").unwrap_or(name)
}

/// `hex  name` or `hex *name`, as `sha256sum` and GoReleaser write it.
fn gnu_line(line: &str) -> Option<(&str, String)> {
    let (hash, name) = line.split_once(char::is_whitespace)?;
    let hex = parse_sha256(hash)?;
    Some((clean_name(name), hex))
}

/// `SHA256 (name) = hex` (also `SHA-256`, `SHA2-256`), as `shasum --tag`, BSD `sha256` and
/// `rhash --bsd` write it.
fn bsd_line(line: &str) -> Option<(&str, String)> {
    let (algo, rest) = line.split_once(" (")?;
    let algo = algo.trim().to_ascii_uppercase().replace(['-', '_'], "");
    if algo != "SHA256" && algo != "SHA2256" {
        return None;
    }
    let (name, hex) = rest.rsplit_once(") = ")?;
    Some((clean_name(name), parse_sha256(hex.trim())?))
}

/// yq's `checksums` line: `name  hash1 hash2 …`, the SHA-256 in `column` (0-based, after the
/// name).
fn column_line(line: &str, column: usize) -> Option<(&str, String)> {
    let mut words = line.split_whitespace();
    let name = words.next()?;
    Some((clean_name(name), parse_sha256(words.nth(column)?)?))
}

/// Which column of yq's `checksums` holds SHA-256: its line in `checksums_hashes_order`
/// (blank lines not counted), written `SHA-256`, `SHA256` or `sha_256`.
fn sha256_column(order: &str) -> Option<usize> {
    let normalize = |s: &str| s.trim().to_ascii_uppercase().replace(['-', '_', ' '], "");
    order
        .lines()
        .filter(|l| !l.trim().is_empty())
        .position(|l| normalize(l) == "SHA256")
}

/// A sidecar line: the hex alone (which names `asset_name`), or a GNU or BSD line.
fn sidecar_line<'t>(line: &'t str, asset_name: &'t str) -> Option<(&'t str, String)> {
    match parse_sha256(line) {
        Some(hex) => Some((asset_name, hex)),
        None => bsd_line(line).or_else(|| gnu_line(line)),
    }
}

fn base_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

// ---- the table every dialect fills ----

/// The hashes a checksums file lists, by name as written. A name listed twice with different
/// hashes is poisoned: asking for it is [`VerifyError::Ambiguous`].
#[derive(Debug, Default)]
pub struct Checksums {
    entries: BTreeMap<String, Option<String>>,
}

impl Checksums {
    /// `checksums.txt` as GoReleaser (and `sha256sum`) write it: `<hex>  <name>` per line, the
    /// name optionally prefixed by `*` (binary mode) or `./`.
    pub fn parse(text: &str, url: &str) -> Result<Checksums, VerifyError> {
        Checksums::read(text, url, gnu_line)
    }

    /// BSD-style lines: `SHA256 (name) = hex`; lines for other algorithms are ignored.
    pub fn parse_bsd(text: &str, url: &str) -> Result<Checksums, VerifyError> {
        Checksums::read(text, url, bsd_line)
    }

    /// yq's column format: `sums` holds `name  hash1 hash2 …` with the algorithms in the order
    /// `order` lists them, one per line. Without `SHA-256` in `order`, nothing is listed.
    pub fn parse_columns(sums: &str, order: &str, url: &str) -> Result<Checksums, VerifyError> {
        match sha256_column(order) {
            Some(column) => Checksums::read(sums, url, |line| column_line(line, column)),
            None => Ok(Checksums::default()),
        }
    }

    /// Every line `parse_line` understands, into the table.
    fn read<'t>(
        text: &'t str,
        url: &str,
        parse_line: impl Fn(&'t str) -> Option<(&'t str, String)>,
    ) -> Result<Checksums, VerifyError> {
        let mut sums = Checksums::default();
        for (name, hex) in lines(text, url)?.into_iter().filter_map(parse_line) {
            sums.insert(name, hex);
        }
        Ok(sums)
    }

    fn insert(&mut self, name: &str, hex: String) {
        if name.is_empty() {
            return;
        }
        match self.entries.get_mut(name) {
            None => {
                self.entries.insert(name.to_owned(), Some(hex));
            }
            Some(existing) => {
                if existing.as_deref() != Some(hex.as_str()) {
                    *existing = None;
                }
            }
        }
    }

    /// Whether no line was understood (a file that is not a checksums file at all).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every name with exactly one hash.
    pub fn into_map(self) -> BTreeMap<String, String> {
        self.entries
            .into_iter()
            .filter_map(|(name, hash)| Some((name, hash?)))
            .collect()
    }

    /// The one hash listed for exactly the name `asset`.
    pub fn get(&self, asset: &str, url: &str) -> Result<&str, VerifyError> {
        match self.entries.get(asset) {
            Some(Some(hash)) => Ok(hash),
            Some(None) => Err(ambiguous(asset, url)),
            None => Err(missing(asset, url)),
        }
    }

    /// The one hash listed for `asset`, whether a line names the file itself or a path to it
    /// (`dist/tool.tar.gz`): every such line must agree, else it is ambiguous.
    pub fn find(&self, asset: &str, url: &str) -> Result<String, VerifyError> {
        let mut found: Option<&str> = None;
        for (name, hash) in &self.entries {
            if base_name(name) != asset {
                continue;
            }
            match (hash.as_deref(), found) {
                (None, _) => return Err(ambiguous(asset, url)),
                (Some(hash), Some(other)) if hash != other => return Err(ambiguous(asset, url)),
                (Some(hash), _) => found = Some(hash),
            }
        }
        found.map(str::to_owned).ok_or_else(|| missing(asset, url))
    }
}

fn missing(asset: &str, url: &str) -> VerifyError {
    VerifyError::MissingLine {
        asset: asset.to_owned(),
        url: url.to_owned(),
    }
}

fn ambiguous(asset: &str, url: &str) -> VerifyError {
    VerifyError::Ambiguous {
        asset: asset.to_owned(),
        url: url.to_owned(),
    }
}

/// The hash in a sidecar file (`tool.tar.gz.sha256`): either just the hex, or `hex  name` (as
/// `sha256sum` writes it, the name possibly a path or prefixed by `*`), or a BSD-style line.
/// A line naming another file does not count; two different hashes, or a line too long to be
/// a checksum, give none.
pub fn parse_sidecar(text: &str, asset_name: &str) -> Option<String> {
    Checksums::read(text, "", |line| sidecar_line(line, asset_name))
        .ok()?
        .find(asset_name, "")
        .ok()
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
        let text = |i: usize, asset: &Asset| -> Result<&str, VerifyError> {
            texts
                .get(i)
                .copied()
                .ok_or_else(|| missing(asset_name, &asset.browser_download_url))
        };
        match self {
            HashSource::Digest(hex) => Ok(hex.clone()),
            HashSource::Sidecar(a) => parse_sidecar(text(0, a)?, asset_name)
                .ok_or_else(|| missing(asset_name, &a.browser_download_url)),
            HashSource::Sums(a) => {
                let url = &a.browser_download_url;
                Checksums::parse(text(0, a)?, url)?.find(asset_name, url)
            }
            HashSource::Columns { sums, order } => {
                let url = &sums.browser_download_url;
                Checksums::parse_columns(text(0, sums)?, text(1, order)?, url)?
                    .find(asset_name, url)
            }
            HashSource::Bsd(a) => {
                let url = &a.browser_download_url;
                Checksums::parse_bsd(text(0, a)?, url)?.find(asset_name, url)
            }
        }
    }
}

impl fmt::Display for HashSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
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
        sources.extend(release.asset(&name).map(HashSource::Sidecar));
    }
    let others: Vec<&Asset> = release
        .assets
        .iter()
        .filter(|a| a.name != asset.name)
        .collect();
    sources.extend(sums_lists(&others).into_iter().map(HashSource::Sums));
    sources.extend(yq_columns(&others));
    sources.extend(bsd_lists(&others).into_iter().map(HashSource::Bsd));
    sources
}

/// `sha256sum`-style lists: the well-known names in [`SUMS_NAMES`] order, then
/// `*_checksums.txt`, `*checksums*.txt`, `*SHA256SUMS*` in listing order.
fn sums_lists<'a>(others: &[&'a Asset]) -> Vec<&'a Asset> {
    let lower = |a: &Asset| a.name.to_ascii_lowercase();
    let mut lists: Vec<&Asset> = SUMS_NAMES
        .iter()
        .flat_map(|known| others.iter().copied().filter(move |a| lower(a) == *known))
        .collect();
    for a in others {
        let name = lower(a);
        if SUMS_NAMES.contains(&name.as_str())
            || is_signature(&name)
            || other_algorithm(&name)
            || name.contains("bsd")
        {
            continue;
        }
        let listed = (name.contains("checksums") && name.ends_with(".txt"))
            || name.contains("sha256sums")
            || name.contains("sha256sum.txt");
        if listed {
            lists.push(a);
        }
    }
    lists
}

/// yq: `checksums` with the column order in `checksums_hashes_order`; alone, a plain list.
fn yq_columns<'a>(others: &[&'a Asset]) -> Option<HashSource<'a>> {
    let sums = others.iter().find(|a| a.name == "checksums")?;
    Some(
        match others.iter().find(|a| a.name == "checksums_hashes_order") {
            Some(order) => HashSource::Columns { sums, order },
            None => HashSource::Sums(sums),
        },
    )
}

/// BSD-style lists (yq's `checksums-bsd`).
fn bsd_lists<'a>(others: &[&'a Asset]) -> Vec<&'a Asset> {
    others
        .iter()
        .copied()
        .filter(|a| {
            let name = a.name.to_ascii_lowercase();
            name.contains("checksums")
                && name.contains("bsd")
                && !is_signature(&name)
                && !other_algorithm(&name)
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::assets::choose_asset;
    use crate::resolve::catalog::Target;
    use crate::resolve::github::samples::{acme, gh, hugo, jq, release, ripgrep, yq};

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    // ---- the GNU dialect, as the CLI's `checksums.txt` uses it ----

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

    // ---- where a release publishes the hash ----

    // The published files of the fixture releases (`fixtures/checksums/`), and the hash each
    // gives for the asset hookstrap picks on linux_amd64.
    const GH_SUMS: &str = include_str!("../../fixtures/checksums/gh/gh_2.63.0_checksums.txt");
    const GH_AMD64: &str = "8ee6ef2b95d72483223c74c5f0352c39f48426c3c03d5205c2bfe31a2c51d2d0";
    const GH_386: &str = "e98bd0ab6f105f7fcbd26e35db05880b4e2b618b8662129f9c96909e01d7df93";
    const JQ_SUMS: &str = include_str!("../../fixtures/checksums/jq/sha256sum.txt");
    const JQ_AMD64: &str = "46ad09da905d215bdf63147f838828e9962b108bc13fe59b1240da8629aaa1d2";
    const RG_SIDECAR: &str = include_str!(
        "../../fixtures/checksums/ripgrep/ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz.sha256"
    );
    const RG_MUSL: &str = "b856ed4edbe0c0d619a6914ee48dcec76d0e4d6b82f04944e6b40b62956e6a68";
    const YQ_COLUMNS: &str = include_str!("../../fixtures/checksums/yq/checksums");
    const YQ_ORDER: &str = include_str!("../../fixtures/checksums/yq/checksums_hashes_order");
    const YQ_BSD: &str = include_str!("../../fixtures/checksums/yq/checksums-bsd");
    const YQ_AMD64: &str = "1d7780cdb899632235a09a5239d1817919a58d55d3e50ceac38cf3e926f4561b";
    const YQ_386: &str = "39b2b07af9c521cabb9b818b4360af6cb584e67c7859c38a9b971433c3bef717";
    const HUGO_SUMS: &str =
        include_str!("../../fixtures/checksums/hugo/hugo_0.139.0_checksums.txt");
    const HUGO_AMD64: &str = "ec61afba73a080aa255d6a49ea5d69a6cdd3868e3767e32cd9788a999d0fbaca";
    const ACME_BINARY_MODE: &str = include_str!("../../fixtures/checksums/acme/checksums.txt");
    const ACME_BSD: &str = include_str!("../../fixtures/checksums/acme/checksums-bsd.txt");
    const ACME_SIDECAR: &str =
        include_str!("../../fixtures/checksums/acme/tool_1.2.3_linux_amd64.tar.gz.sha256");
    const ACME_AMD64: &str = "01ca169580083fcf5af7c4d088b52ed1c8522b0b2e7cff2481a0a59cc012a7e3";

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
        assert_eq!(
            sources[0].lookup(&[GH_SUMS], &asset.name).unwrap(),
            GH_AMD64
        );
        assert_eq!(
            sources[0]
                .lookup(&[GH_SUMS], "gh_2.63.0_linux_386.tar.gz")
                .unwrap(),
            GH_386
        );
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
        assert_eq!(
            sources[0].lookup(&[JQ_SUMS], "jq-linux-amd64").unwrap(),
            JQ_AMD64
        );
        // An asset the list does not mention: try the next source (or refuse).
        let err = sources[0]
            .lookup(&[JQ_SUMS], "jq-freebsd-amd64")
            .unwrap_err();
        assert!(matches!(err, VerifyError::MissingLine { .. }));
    }

    #[test]
    fn ripgrep_hash_comes_from_its_sidecar() {
        let rg = ripgrep();
        let name = "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz";
        let sources = hash_sources(&rg, rg.asset(name).unwrap());
        let sidecar = rg.asset(&format!("{name}.sha256")).unwrap();
        assert_eq!(sources, [HashSource::Sidecar(sidecar)]);
        assert_eq!(sources[0].lookup(&[RG_SIDECAR], name).unwrap(), RG_MUSL);
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
        let texts = [YQ_COLUMNS, YQ_ORDER];
        assert_eq!(sources[0].files().len(), 2);
        assert_eq!(
            sources[0].lookup(&texts, "yq_linux_amd64").unwrap(),
            YQ_AMD64
        );
        assert_eq!(sources[0].lookup(&texts, "yq_linux_386").unwrap(), YQ_386);
        // An order file without SHA-256: no hash from this source.
        let err = sources[0]
            .lookup(&[YQ_COLUMNS, "MD5\n"], "yq_linux_amd64")
            .unwrap_err();
        assert!(matches!(err, VerifyError::MissingLine { .. }));
        // The BSD list (every algorithm per file) agrees.
        assert_eq!(
            sources[1].lookup(&[YQ_BSD], "yq_linux_amd64").unwrap(),
            YQ_AMD64
        );
    }

    /// Every dialect the parsers read, from a real-shaped file, gives the hash of the asset
    /// it covers.
    #[test]
    fn each_dialect_yields_the_right_hash() {
        let gnu = |text: &str, name: &str| Checksums::parse(text, "u").unwrap().find(name, "u");
        let bsd = |text: &str, name: &str| Checksums::parse_bsd(text, "u").unwrap().find(name, "u");
        // GNU `hash  name`: GoReleaser and `sha256sum`.
        assert_eq!(
            gnu(GH_SUMS, "gh_2.63.0_linux_amd64.tar.gz").unwrap(),
            GH_AMD64
        );
        assert_eq!(gnu(JQ_SUMS, "jq-linux-amd64").unwrap(), JQ_AMD64);
        assert_eq!(
            gnu(HUGO_SUMS, "hugo_0.139.0_linux-amd64.tar.gz").unwrap(),
            HUGO_AMD64
        );
        // GNU binary mode, `hash *name`.
        let name = "tool_1.2.3_linux_amd64.tar.gz";
        assert_eq!(gnu(ACME_BINARY_MODE, name).unwrap(), ACME_AMD64);
        // BSD `SHA256 (name) = hash` (`shasum --tag`), and `rhash --bsd` with every algorithm.
        assert_eq!(bsd(ACME_BSD, name).unwrap(), ACME_AMD64);
        assert_eq!(bsd(YQ_BSD, "yq_linux_amd64").unwrap(), YQ_AMD64);
        // A sidecar with the name, and one with the hex alone.
        let musl = "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz";
        assert_eq!(parse_sidecar(RG_SIDECAR, musl).as_deref(), Some(RG_MUSL));
        assert_eq!(
            parse_sidecar(ACME_SIDECAR, name).as_deref(),
            Some(ACME_AMD64)
        );
        // yq's columns: SHA-256 is the 18th of 31 hashes, among other 64-digit ones.
        let columns = Checksums::parse_columns(YQ_COLUMNS, YQ_ORDER, "u").unwrap();
        assert_eq!(columns.find("yq_linux_amd64", "u").unwrap(), YQ_AMD64);
        // A dialect's file read as another one gives nothing, never a wrong hash.
        assert!(gnu(YQ_BSD, "yq_linux_amd64").is_err());
        assert!(bsd(GH_SUMS, "gh_2.63.0_linux_amd64.tar.gz").is_err());
        assert!(gnu(YQ_COLUMNS, "yq_linux_amd64").is_err());
    }

    /// The hash of the asset chosen for linux_amd64, through the sources each fixture
    /// release publishes, from the fixture files.
    #[test]
    fn each_fixture_release_publishes_the_chosen_assets_hash() {
        let published = |name: &str| -> &str {
            match name {
                "gh_2.63.0_checksums.txt" => GH_SUMS,
                "sha256sum.txt" => JQ_SUMS,
                "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz.sha256" => RG_SIDECAR,
                "checksums" => YQ_COLUMNS,
                "checksums_hashes_order" => YQ_ORDER,
                "checksums-bsd" => YQ_BSD,
                "hugo_0.139.0_checksums.txt" => HUGO_SUMS,
                other => panic!("no fixture for `{other}`"),
            }
        };
        for (release, bin, want) in [
            (gh(), "gh", GH_AMD64),
            (jq(), "jq", JQ_AMD64),
            (ripgrep(), "rg", RG_MUSL),
            (yq(), "yq", YQ_AMD64),
            (hugo(), "hugo", HUGO_AMD64),
        ] {
            let asset = choose_asset(&release.assets, Target::LinuxAmd64, None, bin).unwrap();
            let source = &hash_sources(&release, asset)[0];
            let texts: Vec<&str> = source.files().iter().map(|f| published(&f.name)).collect();
            assert_eq!(source.lookup(&texts, &asset.name).unwrap(), want, "{bin}");
        }
        // A release uploaded since GitHub computes digests: the API's digest comes first,
        // and the files it also publishes agree with it.
        let acme = acme();
        let asset = choose_asset(&acme.assets, Target::LinuxAmd64, None, "tool").unwrap();
        let sources = hash_sources(&acme, asset);
        assert_eq!(sources[0], HashSource::Digest(ACME_AMD64.to_owned()));
        let names: Vec<String> = sources
            .iter()
            .flat_map(|s| s.files().into_iter().map(|a| a.name.clone()))
            .collect();
        assert_eq!(
            names,
            [
                "tool_1.2.3_linux_amd64.tar.gz.sha256",
                "checksums.txt",
                "checksums-bsd.txt"
            ]
        );
        for (source, text) in sources[1..]
            .iter()
            .zip([ACME_SIDECAR, ACME_BINARY_MODE, ACME_BSD])
        {
            assert_eq!(source.lookup(&[text], &asset.name).unwrap(), ACME_AMD64);
        }
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
        // The file itself and a path to it must agree too: two hashes for one name is never
        // settled by picking one.
        let text = format!("{A}  t-linux-amd64\n{B}  dist/t-linux-amd64\n");
        assert!(matches!(
            sources[0].lookup(&[&text], "t-linux-amd64"),
            Err(VerifyError::Ambiguous { .. })
        ));
        // `get` (the CLI's `checksums.txt`) reads the exact name only.
        let sums = Checksums::parse(&text, "u").unwrap();
        assert_eq!(sums.get("t-linux-amd64", "u").unwrap(), A);
    }

    #[test]
    fn every_dialect_shares_the_line_rules() {
        let name = "yq_linux_amd64";
        let bsd = format!("\u{feff}SHA256 ({name}) = {A}\r\n\r\n");
        assert_eq!(
            Checksums::parse_bsd(&bsd, "u")
                .unwrap()
                .find(name, "u")
                .unwrap(),
            A
        );
        assert_eq!(
            parse_sidecar(&format!("\u{feff}{A}\r\n"), name).as_deref(),
            Some(A)
        );
        let sums = format!("\u{feff}{name}  {B} {A}\r\n");
        let columns = Checksums::parse_columns(&sums, "MD5\r\nSHA-256\r\n", "u").unwrap();
        assert_eq!(columns.find(name, "u").unwrap(), A);
        let long = format!("{A}  {name}\n{}\n", "x".repeat(MAX_LINE + 1));
        for parsed in [
            Checksums::parse(&long, "u"),
            Checksums::parse_bsd(&long, "u"),
            Checksums::parse_columns(&long, "SHA-256\n", "u"),
        ] {
            assert!(matches!(
                parsed,
                Err(VerifyError::Malformed { line: 2, .. })
            ));
        }
        assert_eq!(parse_sidecar(&long, name), None);
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
}
