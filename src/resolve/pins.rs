//! The lock file beside the manifest: which pins a manifest allows, and what `lock --check`
//! finds out of date. Pure functions over parsed files: no network, no file system.

use super::catalog::Target;
use super::lockfile::{LockFile, LockedTool};
use super::manifest::{Manifest, Source, ToolDecl};
use super::version_of_tag;

/// Whether the manifest's declared version allows the pinned one: no version, or `latest`,
/// allows any release; an exact version or tag allows that release (with or without its `v`).
pub fn allows(decl: &ToolDecl, pinned: &str) -> bool {
    match decl.version.as_deref() {
        None | Some("latest") => true,
        Some(wanted) => version_of_tag(wanted) == version_of_tag(pinned),
    }
}

/// The source a pin records (`None` for the catalog's tools) against the manifest's.
fn same_source(decl: &ToolDecl, tool: &LockedTool) -> bool {
    let recorded = tool.source.as_deref();
    match &decl.source {
        Source::Cli(_) => recorded.is_none(),
        Source::GitHub { owner, repo } => recorded == Some(&format!("github:{owner}/{repo}")),
        Source::Url { url } => recorded == Some(&format!("url:{url}")),
    }
}

/// Why `lock` does not match `manifest` for `targets`, one line per problem; empty when the
/// lock pins exactly the manifest's tools, from the sources it names, for every target, at
/// versions it allows.
pub fn check(manifest: &Manifest, lock: &LockFile, targets: &[Target]) -> Vec<String> {
    let mut problems = Vec::new();
    for decl in &manifest.tools {
        let Some(tool) = lock.tool(&decl.name) else {
            problems.push(format!("`{}` is declared but not pinned", decl.name));
            continue;
        };
        if !same_source(decl, tool) {
            problems.push(format!(
                "`{}` is pinned from another source than `{}`",
                decl.name,
                decl.spec_text()
            ));
        }
        if !allows(decl, &tool.version) {
            problems.push(format!(
                "`{}` is pinned at {}, but hookstrap.toml asks for {}",
                decl.name,
                tool.version,
                decl.version.as_deref().unwrap_or("latest")
            ));
        }
        for target in targets {
            if tool.artifact(target.name()).is_none() {
                problems.push(format!("`{}` has no pin for target {target}", decl.name));
            }
        }
    }
    for tool in &lock.tools {
        if manifest.tool(&tool.name).is_none() {
            problems.push(format!(
                "`{}` is pinned but hookstrap.toml no longer declares it",
                tool.name
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn manifest(text: &str) -> Manifest {
        Manifest::parse(text, Path::new("hookstrap.toml")).unwrap()
    }

    fn lock(tools: &[(&str, &str, Option<&str>, &[&str])]) -> LockFile {
        let mut lock = LockFile::new();
        for (name, version, source, targets) in tools {
            lock.tools.push(LockedTool {
                name: name.to_string(),
                version: version.to_string(),
                source: source.map(str::to_string),
                bin: None,
                artifacts: targets
                    .iter()
                    .map(|t| super::super::lockfile::LockedArtifact {
                        target: t.to_string(),
                        url: format!(
                            "https://github.com/o/r/releases/download/v{version}/{t}.tar.gz"
                        ),
                        sha256: SHA.into(),
                        size: 1,
                        bin_blake3: None,
                    })
                    .collect(),
            });
        }
        lock
    }

    #[test]
    fn a_matching_lock_has_no_problem_and_latest_allows_any_pin() {
        let m = manifest("[tools]\nplatform = \"latest\"\ngh = { github = \"cli/cli\" }\n");
        let l = lock(&[
            ("gh", "2.63.0", Some("github:cli/cli"), &["linux_amd64"]),
            ("platform", "5.10.8", None, &["linux_amd64"]),
        ]);
        assert_eq!(check(&m, &l, &[Target::LinuxAmd64]), Vec::<String>::new());
    }

    #[test]
    fn every_kind_of_drift_is_named() {
        let m = manifest(
            "[tools]\nplatform = \"5.10.9\"\ngh = { github = \"cli/cli\", version = \"v2.63.0\" }\njq = { github = \"jqlang/jq\" }\n",
        );
        let l = lock(&[
            ("gh", "2.63.0", Some("github:other/cli"), &["linux_amd64"]),
            ("platform", "5.10.8", None, &["linux_amd64"]),
            (
                "rg",
                "14.1.1",
                Some("github:BurntSushi/ripgrep"),
                &["linux_amd64"],
            ),
        ]);
        let problems = check(&m, &l, &[Target::LinuxAmd64, Target::LinuxArm64]);
        let text = problems.join("\n");
        for expected in [
            "`jq` is declared but not pinned",
            "`gh` is pinned from another source",
            "`platform` is pinned at 5.10.8, but hookstrap.toml asks for 5.10.9",
            "`gh` has no pin for target linux_arm64",
            "`rg` is pinned but hookstrap.toml no longer declares it",
        ] {
            assert!(text.contains(expected), "{expected}\n{text}");
        }
        // `v2.63.0` allows the pin `2.63.0`.
        assert!(!text.contains("`gh` is pinned at"), "{text}");
    }
}
