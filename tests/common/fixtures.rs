//! Release fixtures shaped like the real Platform.sh / Upsun CLI releases (`SPEC.md`, "Where the
//! CLI comes from"): GoReleaser asset names, `checksums.txt`, the archive layout, and the
//! github.com path layout, served by a [`TestServer`] or written as a mirror tree.
//!
//! Test data that is data lives in the repository's `fixtures/` folder and is read through
//! [`fixture`]: release listings, checksum files, manifests, lock files, and the CLI archive's
//! files. Everything is deterministic: the same inputs give the same bytes, so hashes can be
//! compared across runs and against a lock file.

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::server::{Behavior, TestServer};

/// A fixed mtime for every archive entry (2023-11-14), so archives are reproducible.
const MTIME: u64 = 1_700_000_000;

/// The GoReleaser target of the machine running the tests.
pub fn this_target() -> &'static str {
    if cfg!(target_os = "macos") {
        "darwin_all"
    } else if cfg!(target_os = "windows") {
        "windows_amd64"
    } else if cfg!(target_arch = "aarch64") {
        "linux_arm64"
    } else {
        "linux_amd64"
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// GoReleaser's format: `<hex>  <name>\n` per entry, in the given order.
pub fn checksums_txt(entries: &[(&str, &[u8])]) -> String {
    entries
        .iter()
        .map(|(name, bytes)| format!("{}  {name}\n", sha256_hex(bytes)))
        .collect()
}

/// The text of `fixtures/{path}`, the repository's test data.
pub fn fixture(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path);
    std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("read fixture {}: {e}", full.display()))
}

/// The asset names of a fixture release listing (`releases/gh-v2.63.0.json`), in its order.
pub fn fixture_asset_names(path: &str) -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_str(&fixture(path)).expect("a fixture release is JSON");
    json["assets"]
        .as_array()
        .expect("a fixture release lists assets")
        .iter()
        .map(|a| a["name"].as_str().expect("an asset has a name").to_owned())
        .collect()
}

/// A file of the CLI archive (`fixtures/cli-archive/`, shared with `scripts/demo.sh`), with
/// `@BIN@` and `@VERSION@` filled in.
fn cli_archive_file(name: &str, bin_name: &str, version: &str) -> Vec<u8> {
    fixture(&format!("cli-archive/{name}"))
        .replace("@BIN@", bin_name)
        .replace("@VERSION@", version)
        .into_bytes()
}

/// The script standing in for the CLI: `platform --version` prints `platform CLI 5.10.8`.
pub fn cli_script(bin_name: &str, version: &str) -> Vec<u8> {
    cli_archive_file("bin.sh", bin_name, version)
}

/// The files of a CLI archive as `(path, mode, content)`, binary first: the layout SPEC.md
/// describes (the binary at the root, `README.md`, bash and zsh completions).
pub fn cli_files(bin_name: &str, version: &str) -> Vec<(String, u32, Vec<u8>)> {
    let file = |name: &str| cli_archive_file(name, bin_name, version);
    vec![
        (bin_name.to_owned(), 0o755, cli_script(bin_name, version)),
        ("README.md".to_owned(), 0o644, file("README.md")),
        (
            format!("completion/bash/{bin_name}.bash"),
            0o644,
            file("completion.bash"),
        ),
        (
            format!("completion/zsh/_{bin_name}"),
            0o644,
            file("completion.zsh"),
        ),
    ]
}

/// A CLI release archive (`.tar.gz`): the binary at the root plus README and completions.
pub fn cli_archive(bin_name: &str, version: &str) -> Vec<u8> {
    let files = cli_files(bin_name, version);
    let entries: Vec<(&str, u32, &[u8])> = files
        .iter()
        .map(|(p, m, c)| (p.as_str(), *m, c.as_slice()))
        .collect();
    tar_gz(&entries)
}

/// A Windows CLI archive (`.zip`, stored): `{bin}.exe` at the root plus README and completions.
pub fn cli_zip(bin_name: &str, version: &str) -> Vec<u8> {
    let mut files = cli_files(bin_name, version);
    files[0].0 = format!("{bin_name}.exe");
    let entries: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, _, c)| (p.as_str(), c.as_slice()))
        .collect();
    zip_stored(&entries)
}

/// A well-formed `.tar.gz` of regular files `(path, mode, content)` with GNU headers, uid/gid 0
/// and a fixed mtime. For hostile archives, write raw headers instead.
pub fn tar_gz(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    gzip(&tar(files))
}

/// An uncompressed tar of regular files `(path, mode, content)`.
pub fn tar(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, mode, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(content.len() as u64);
        header.set_mode(*mode);
        header.set_mtime(MTIME);
        header.set_uid(0);
        header.set_gid(0);
        builder
            .append_data(&mut header, path, *content)
            .expect("append tar entry");
    }
    builder.into_inner().expect("finish tar")
}

/// gzip with a zero mtime and no file name in the header, so output depends on input only.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).expect("gzip write");
    enc.finish().expect("gzip finish")
}

/// A minimal zip with stored (uncompressed) entries, DOS time fixed at 1980-01-01.
pub fn zip_stored(files: &[(&str, &[u8])]) -> Vec<u8> {
    fn u16le(out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn u32le(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = (1 << 5) | 1; // 1980-01-01

    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, content) in files {
        let mut crc = flate2::Crc::new();
        crc.update(content);
        let crc = crc.sum();
        let size = u32::try_from(content.len()).expect("zip entry under 4 GiB");
        let name_len = u16::try_from(name.len()).expect("short zip name");
        let offset = u32::try_from(out.len()).expect("zip under 4 GiB");

        u32le(&mut out, 0x0403_4b50); // local file header
        u16le(&mut out, 20); // version needed
        u16le(&mut out, 0); // flags
        u16le(&mut out, 0); // method: stored
        u16le(&mut out, DOS_TIME);
        u16le(&mut out, DOS_DATE);
        u32le(&mut out, crc);
        u32le(&mut out, size);
        u32le(&mut out, size);
        u16le(&mut out, name_len);
        u16le(&mut out, 0); // extra length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(content);

        u32le(&mut central, 0x0201_4b50); // central directory header
        u16le(&mut central, 0x0314); // made by: unix, 2.0
        u16le(&mut central, 20);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u16le(&mut central, DOS_TIME);
        u16le(&mut central, DOS_DATE);
        u32le(&mut central, crc);
        u32le(&mut central, size);
        u32le(&mut central, size);
        u16le(&mut central, name_len);
        u16le(&mut central, 0); // extra
        u16le(&mut central, 0); // comment
        u16le(&mut central, 0); // disk
        u16le(&mut central, 0); // internal attributes
        u32le(&mut central, 0o100_644 << 16); // external: unix regular file 0644
        u32le(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let count = u16::try_from(files.len()).expect("few zip entries");
    let cd_offset = u32::try_from(out.len()).expect("zip under 4 GiB");
    let cd_size = u32::try_from(central.len()).expect("zip under 4 GiB");
    out.extend_from_slice(&central);
    u32le(&mut out, 0x0605_4b50); // end of central directory
    u16le(&mut out, 0);
    u16le(&mut out, 0);
    u16le(&mut out, count);
    u16le(&mut out, count);
    u32le(&mut out, cd_size);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0);
    out
}

/// A GitHub release: where it lives and its assets, `checksums.txt` included (last).
#[derive(Clone, Debug)]
pub struct Release {
    pub owner: String,
    pub repo: String,
    pub tag: String,
    /// The version without `v`.
    pub version: String,
    pub assets: Vec<(String, Vec<u8>)>,
}

impl Release {
    /// `/{owner}/{repo}/releases/download/{tag}/{asset}`
    pub fn path(&self, asset: &str) -> String {
        format!(
            "/{}/{}/releases/download/{}/{asset}",
            self.owner, self.repo, self.tag
        )
    }

    /// The canonical URL, as a lock file records it: `https://github.com{path}`.
    pub fn github_url(&self, asset: &str) -> String {
        format!("https://github.com{}", self.path(asset))
    }

    /// `{bin}_{version}_{target}.tar.gz` (`.zip` for `windows_amd64`).
    pub fn asset_name(&self, bin: &str, target: &str) -> String {
        asset_name(bin, &self.version, target)
    }

    /// The bytes of an asset; panics when there is none by that name.
    pub fn bytes(&self, asset: &str) -> &[u8] {
        self.assets
            .iter()
            .find(|(n, _)| n == asset)
            .map(|(_, b)| b.as_slice())
            .unwrap_or_else(|| panic!("release {} has no asset {asset}", self.tag))
    }

    pub fn sha256(&self, asset: &str) -> String {
        sha256_hex(self.bytes(asset))
    }

    /// Replace (or add) an asset *without* touching `checksums.txt`: a tampered release.
    pub fn replace_asset(&mut self, asset: &str, bytes: Vec<u8>) {
        match self.assets.iter_mut().find(|(n, _)| n == asset) {
            Some((_, b)) => *b = bytes,
            None => self.assets.push((asset.to_owned(), bytes)),
        }
    }

    /// Rewrite `checksums.txt` to cover every other asset.
    pub fn refresh_checksums(&mut self) {
        self.assets.retain(|(n, _)| n != "checksums.txt");
        let entries: Vec<(&str, &[u8])> = self
            .assets
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let sums = checksums_txt(&entries).into_bytes();
        self.assets.push(("checksums.txt".to_owned(), sums));
    }
}

/// `{bin}_{version}_{target}.tar.gz` (`.zip` for `windows_amd64`); `version` without `v`.
pub fn asset_name(bin: &str, version: &str, target: &str) -> String {
    let ext = if target.starts_with("windows") {
        "zip"
    } else {
        "tar.gz"
    };
    format!("{bin}_{version}_{target}.{ext}")
}

/// Owner, repo and tag of a CLI version per SPEC.md: 5.10.0 and later live in `upsun/cli` with a
/// `v` tag, 5.9.x and earlier in `platformsh/cli` with a bare tag. `version` may carry a `v`.
pub fn cli_location(version: &str) -> (&'static str, &'static str, String) {
    let version = version.strip_prefix('v').unwrap_or(version);
    let core = version.split(['-', '+']).next().unwrap_or(version);
    let mut nums = core.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let key = (
        nums.next().unwrap_or(0),
        nums.next().unwrap_or(0),
        nums.next().unwrap_or(0),
    );
    if key >= (5, 10, 0) {
        ("upsun", "cli", format!("v{version}"))
    } else {
        ("platformsh", "cli", version.to_owned())
    }
}

/// A CLI release with one archive per `(bin, target)` and a `checksums.txt` covering them, e.g.
/// `cli_release("5.10.8", &["platform", "upsun"], &[this_target()])`.
pub fn cli_release(version: &str, tool_bins: &[&str], targets: &[&str]) -> Release {
    let (owner, repo, tag) = cli_location(version);
    let version = version.strip_prefix('v').unwrap_or(version).to_owned();
    let mut assets = Vec::new();
    for bin in tool_bins {
        for target in targets {
            let bytes = if target.starts_with("windows") {
                cli_zip(bin, &version)
            } else {
                cli_archive(bin, &version)
            };
            assets.push((asset_name(bin, &version, target), bytes));
        }
    }
    let mut rel = Release {
        owner: owner.to_owned(),
        repo: repo.to_owned(),
        tag,
        version,
        assets,
    };
    rel.refresh_checksums();
    rel
}

/// Route every asset of `rel` (`checksums.txt` included) on `server`, as files with Range.
pub fn mount_release(server: &TestServer, rel: &Release) {
    for (name, bytes) in &rel.assets {
        server.route(&rel.path(name), Behavior::file(bytes.clone()));
    }
}

/// `/{owner}/{repo}/releases/latest` answers 302 to `{url}/{owner}/{repo}/releases/tag/{tag}`,
/// like github.com; the tag page itself answers 200 with some HTML.
pub fn mount_latest_redirect(server: &TestServer, owner: &str, repo: &str, tag: &str) {
    let tag_path = format!("/{owner}/{repo}/releases/tag/{tag}");
    server.route(
        &format!("/{owner}/{repo}/releases/latest"),
        Behavior::redirect(302, format!("{}{tag_path}", server.url())),
    );
    server.route(
        &tag_path,
        Behavior::ok(format!("<!DOCTYPE html><title>Release {tag}</title>\n"))
            .header("Content-Type", "text/html; charset=utf-8"),
    );
}

/// `/{owner}/{repo}/releases/latest` answers 200 with `"{tag}\n"`, like a static mirror.
pub fn mount_latest_body(server: &TestServer, owner: &str, repo: &str, tag: &str) {
    server.route(
        &format!("/{owner}/{repo}/releases/latest"),
        Behavior::ok(format!("{tag}\n")).header("Content-Type", "text/plain"),
    );
}

/// Write `rel` under `root` in the mirror layout: `{root}/{owner}/{repo}/releases/download/{tag}/…`.
pub fn write_release_tree(root: &Path, rel: &Release) {
    let dir = root
        .join(&rel.owner)
        .join(&rel.repo)
        .join("releases/download")
        .join(&rel.tag);
    std::fs::create_dir_all(&dir).expect("create release dir");
    for (name, bytes) in &rel.assets {
        std::fs::write(dir.join(name), bytes).expect("write asset");
    }
}

/// Write `{root}/{owner}/{repo}/releases/latest` containing `"{tag}\n"`.
pub fn write_latest_file(root: &Path, owner: &str, repo: &str, tag: &str) {
    let dir = root.join(owner).join(repo).join("releases");
    std::fs::create_dir_all(&dir).expect("create releases dir");
    std::fs::write(dir.join("latest"), format!("{tag}\n")).expect("write latest");
}

// ---- other released tools (issue 7): more formats, GitHub's release API ----

/// A `.tar.xz` of regular files `(path, mode, content)` (see [`tar`]).
pub fn tar_xz(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut writer =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).expect("xz");
    writer.write_all(&tar(files)).expect("xz write");
    writer.finish().expect("xz finish")
}

/// A `.tar.zst` of regular files `(path, mode, content)` (see [`tar`]).
pub fn tar_zst(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(
        tar(files).as_slice(),
        ruzstd::encoding::CompressionLevel::Fastest,
    )
}

/// A release of any tool, with exactly the assets given (no `checksums.txt` added).
pub fn github_release(
    owner: &str,
    repo: &str,
    tag: &str,
    assets: Vec<(String, Vec<u8>)>,
) -> Release {
    Release {
        owner: owner.to_owned(),
        repo: repo.to_owned(),
        tag: tag.to_owned(),
        version: tag.strip_prefix('v').unwrap_or(tag).to_owned(),
        assets,
    }
}

/// `/api/v3/repos/{owner}/{repo}/releases/tags/{tag}`: where hookstrap asks a mirror for the
/// release's asset list (GitHub Enterprise's layout).
pub fn release_api_path(rel: &Release) -> String {
    format!(
        "/api/v3/repos/{}/{}/releases/tags/{}",
        rel.owner, rel.repo, rel.tag
    )
}

/// The release as GitHub's REST API returns it (the fields hookstrap reads, plus a few it
/// ignores): canonical `browser_download_url`s, sizes, and with `digests` each asset's
/// `"digest": "sha256:…"`.
pub fn release_api_json(rel: &Release, digests: bool) -> String {
    let assets: Vec<serde_json::Value> = rel
        .assets
        .iter()
        .enumerate()
        .map(|(i, (name, bytes))| {
            let mut asset = serde_json::json!({
                "id": 1000 + i,
                "name": name,
                "label": "",
                "content_type": "application/octet-stream",
                "state": "uploaded",
                "size": bytes.len(),
                "download_count": 42,
                "browser_download_url": rel.github_url(name),
            });
            if digests {
                asset["digest"] = format!("sha256:{}", sha256_hex(bytes)).into();
            }
            asset
        })
        .collect();
    serde_json::json!({
        "url": format!("https://api.github.com/repos/{}/{}/releases/1", rel.owner, rel.repo),
        "html_url": format!("https://github.com/{}/{}/releases/tag/{}", rel.owner, rel.repo, rel.tag),
        "tag_name": rel.tag,
        "name": rel.tag,
        "draft": false,
        "prerelease": false,
        "assets": assets,
    })
    .to_string()
}

/// Serve `rel` like github.com does for any tool: the API JSON (with or without digests), every
/// asset, and `releases/latest` as a 302 to its tag.
pub fn mount_github_release(server: &TestServer, rel: &Release, digests: bool) {
    server.route(
        &release_api_path(rel),
        Behavior::ok(release_api_json(rel, digests)).header("Content-Type", "application/json"),
    );
    mount_release(server, rel);
    mount_latest_redirect(server, &rel.owner, &rel.repo, &rel.tag);
}

// ---- several tools at once (tests/parallel.rs) ----

/// What the stand-in binary of [`tool_release`] prints: `{repo} {tag}`.
pub fn tool_script(repo: &str, tag: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho '{repo} {tag}'\n").into_bytes()
}

/// A small release of the GitHub tool `{owner}/{repo}` for this machine's target:
/// `{repo}_{version}_{target}.tar.gz` holding the executable `{repo}` ([`tool_script`]), and a
/// `checksums.txt`. Serve it with [`mount_github_release`].
pub fn tool_release(owner: &str, repo: &str, tag: &str) -> Release {
    let version = tag.strip_prefix('v').unwrap_or(tag);
    let archive = tar_gz(&[(repo, 0o755, &tool_script(repo, tag))]);
    let asset = format!("{repo}_{version}_{}.tar.gz", this_target());
    let mut rel = github_release(owner, repo, tag, vec![(asset, archive)]);
    rel.refresh_checksums();
    rel
}
