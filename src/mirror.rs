//! `hookstrap mirror DIR`: the cache written out as a static tree in github.com's layout
//! (SPEC.md, "Mirror"), which any web server, object store or CDN can serve and `--mirror`
//! reads back. Only blobs that still hash to their name are written, each as a copy.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::cache::{Cache, IndexEntry};
use crate::diag::{FsError, IoContext};
use crate::fsutil::{readable, write_atomic};
use crate::resolve::catalog::Version;
use crate::resolve::checksums::Checksums;
use crate::resolve::feed;
use crate::resolve::release_url;
use crate::verify;

/// One artifact a mirror holds: the cache's record of it, and where it was written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Exported {
    #[serde(flatten)]
    pub entry: IndexEntry,
    pub path: PathBuf,
}

/// Writes every intact cached artifact into `dir` in github.com's layout (SPEC.md, "Mirror"):
/// `{owner}/{repo}/releases/download/{tag}/{asset}`, a `checksums.txt` per release listing the
/// assets held, `{owner}/{repo}/releases/latest` naming the newest non-prerelease tag, and
/// `{owner}/{repo}/releases.atom` listing the releases held with the time each was published
/// where the cache knows it (for `min_release_age`; a release without a time is never old
/// enough). Returns the artifacts written.
pub fn export(cache: &Cache, dir: &Path, warn: &dyn Fn(&str)) -> Result<Vec<Exported>, FsError> {
    // (owner, repo, tag) → asset → (sha256, size)
    let mut releases: BTreeMap<(String, String, String), ReleaseAssets> = BTreeMap::new();
    let mut newest: BTreeMap<(String, String), (Version, String)> = BTreeMap::new();
    // (owner, repo) → tag → when it was published (if known).
    let mut feeds: BTreeMap<(String, String), BTreeMap<String, Option<std::time::SystemTime>>> =
        BTreeMap::new();
    let mut written = Vec::new();
    fs::create_dir_all(dir).fs("create the mirror directory", dir)?;
    let tmp = dir.join(".hookstrap-tmp");
    for entry in cache.entries() {
        if entry.owner.is_empty() {
            // A `url:` tool: it has no place in github.com's layout.
            continue;
        }
        if !export_blob(cache, dir, &tmp, &entry, warn)? {
            continue;
        }
        written.push(Exported {
            path: download_dir(dir, &entry.owner, &entry.repo, &entry.tag).join(&entry.asset),
            entry: entry.clone(),
        });
        let published = feeds
            .entry((entry.owner.clone(), entry.repo.clone()))
            .or_default()
            .entry(entry.tag.clone())
            .or_default();
        *published = published.or(entry.published.as_deref().and_then(feed::parse_time));
        releases
            .entry((entry.owner.clone(), entry.repo.clone(), entry.tag.clone()))
            .or_default()
            .insert(entry.asset.clone(), (entry.sha256.clone(), entry.size));
        if let Some(v) = Version::parse_loose(&entry.version)
            && !v.is_prerelease()
        {
            let slot = newest.entry((entry.owner.clone(), entry.repo.clone()));
            let slot = slot.or_insert_with(|| (v.clone(), entry.tag.clone()));
            if v > slot.0 {
                *slot = (v, entry.tag.clone());
            }
        }
    }
    for ((owner, repo, tag), assets) in &releases {
        write_checksums(&download_dir(dir, owner, repo, tag), &tmp, assets)?;
        write_release_json(dir, &tmp, owner, repo, tag, assets)?;
    }
    for ((owner, repo), (version, tag)) in &newest {
        write_latest(dir, &tmp, owner, repo, version, tag)?;
    }
    for ((owner, repo), tags) in &feeds {
        write_feed(dir, &tmp, owner, repo, tags)?;
    }
    let _ = fs::remove_dir_all(&tmp);
    Ok(written)
}

/// `{owner}/{repo}/releases.atom`: the releases held, newest version first, merged with what
/// an earlier export listed (a time known before is kept).
fn write_feed(
    dir: &Path,
    tmp: &Path,
    owner: &str,
    repo: &str,
    tags: &BTreeMap<String, Option<std::time::SystemTime>>,
) -> Result<(), FsError> {
    let path = dir.join(owner).join(repo).join("releases.atom");
    let mut all: BTreeMap<String, Option<std::time::SystemTime>> = fs::read_to_string(&path)
        .map(|text| feed::parse(&text))
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.tag, p.at))
        .collect();
    for (tag, at) in tags {
        let slot = all.entry(tag.clone()).or_default();
        *slot = at.or(*slot);
    }
    let mut releases: Vec<feed::Published> = all
        .into_iter()
        .map(|(tag, at)| feed::Published { tag, at })
        .collect();
    releases.sort_by_key(|p| std::cmp::Reverse(Version::parse_loose(&p.tag)));
    write_atomic(tmp, &path, feed::write(owner, repo, &releases).as_bytes())
}

/// `{dir}/{owner}/{repo}/releases/download/{tag}`.
fn download_dir(dir: &Path, owner: &str, repo: &str, tag: &str) -> PathBuf {
    dir.join(owner)
        .join(repo)
        .join("releases")
        .join("download")
        .join(tag)
}

/// Copies one cached artifact to its place in the tree, unless an intact copy is there
/// already; `false` when it is skipped (damaged, unsafe name, changed while copied).
fn export_blob(
    cache: &Cache,
    dir: &Path,
    tmp: &Path,
    entry: &IndexEntry,
    warn: &dyn Fn(&str),
) -> Result<bool, FsError> {
    // Shared: a concurrent `prune` cannot remove the blob while it is copied.
    let _held = cache.lock_shared(&entry.sha256)?;
    let Some(blob) = cache.verified_blob(&entry.sha256, warn)? else {
        return Ok(false);
    };
    let names = [&entry.owner, &entry.repo, &entry.tag, &entry.asset];
    if !names.iter().all(|n| safe_component(n)) {
        warn(&format!(
            "skipping cache entry with an unsafe name: {}",
            entry.url
        ));
        return Ok(false);
    }
    let release = download_dir(dir, &entry.owner, &entry.repo, &entry.tag);
    let dest = release.join(&entry.asset);
    fs::create_dir_all(&release).fs("create the directory", &release)?;
    if verify::hash_file(&dest).is_ok_and(|(h, _)| h == entry.sha256) {
        return Ok(true);
    }
    fs::create_dir_all(tmp).fs("create the directory", tmp)?;
    let staged = tmp.join(&entry.sha256);
    let _ = fs::remove_file(&staged);
    // A copy, not a hard link: the mirror is handed to web servers, uploaders and
    // people, and a write through a shared inode would damage the cache too.
    fs::copy(&blob, &staged).fs("copy to", &staged)?;
    readable(&staged)?;
    let (copied, _) = verify::hash_file(&staged).fs("read", &staged)?;
    if copied != entry.sha256 {
        let _ = fs::remove_file(&staged);
        warn(&format!(
            "`{}` changed while it was copied; skipping it",
            blob.display()
        ));
        return Ok(false);
    }
    fs::rename(&staged, &dest).fs("write", &dest)?;
    Ok(true)
}

/// The release's `checksums.txt`: the assets held, plus lines for assets another export
/// wrote, unless we now hold the same name.
fn write_checksums(release: &Path, tmp: &Path, assets: &ReleaseAssets) -> Result<(), FsError> {
    let path = release.join("checksums.txt");
    let mut lines: BTreeMap<String, String> = fs::read_to_string(&path)
        .ok()
        .and_then(|t| Checksums::parse(&t, "").ok())
        .map(|c| c.into_map())
        .unwrap_or_default();
    lines.extend(assets.iter().map(|(a, (h, _))| (a.clone(), h.clone())));
    let body: String = lines.iter().map(|(a, h)| format!("{h}  {a}\n")).collect();
    write_atomic(tmp, &path, body.as_bytes())
}

/// `{owner}/{repo}/releases/latest` naming `tag`, unless a tree exported before from a fuller
/// cache already names a newer release.
fn write_latest(
    dir: &Path,
    tmp: &Path,
    owner: &str,
    repo: &str,
    version: &Version,
    tag: &str,
) -> Result<(), FsError> {
    let path = dir.join(owner).join(repo).join("releases").join("latest");
    let existing = fs::read_to_string(&path)
        .ok()
        .and_then(|t| Version::parse_loose(t.trim()));
    if existing.is_some_and(|e| e > *version) {
        return Ok(());
    }
    write_atomic(tmp, &path, format!("{tag}\n").as_bytes())
}

/// A release's assets held: name → (sha256, size).
type ReleaseAssets = std::collections::BTreeMap<String, (String, u64)>;

/// The release API's answer for a mirror (`api/v3/repos/{owner}/{repo}/releases/tags/{tag}`,
/// GitHub Enterprise's layout, as SPEC.md says): the assets held, each with its `digest`, so
/// a machine using the mirror finds every hash without any checksums file. Assets listed by an
/// earlier export are kept.
fn write_release_json(
    dir: &Path,
    tmp: &Path,
    owner: &str,
    repo: &str,
    tag: &str,
    assets: &ReleaseAssets,
) -> Result<(), FsError> {
    let path = dir
        .join("api/v3/repos")
        .join(owner)
        .join(repo)
        .join("releases/tags")
        .join(tag);
    let mut listed: BTreeMap<String, serde_json::Value> = fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("assets").and_then(|a| a.as_array()).cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| Some((a.get("name")?.as_str()?.to_string(), a)))
        .collect();
    for (name, (sha, size)) in assets {
        listed.insert(
            name.clone(),
            serde_json::json!({
                "name": name,
                "browser_download_url": release_url(owner, repo, tag, name),
                "size": size,
                "digest": format!("sha256:{sha}"),
            }),
        );
    }
    let body = serde_json::json!({
        "tag_name": tag,
        "prerelease": Version::parse(tag).is_some_and(|v| v.is_prerelease()),
        "assets": listed.into_values().collect::<Vec<_>>(),
    });
    write_atomic(tmp, &path, body.to_string().as_bytes())
}

fn safe_component(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}
