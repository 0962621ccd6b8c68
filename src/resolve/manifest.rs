//! `hookstrap.toml` in the app dir: the tools an app declares, so that `hookstrap install` with
//! no SPEC installs them all and `hookstrap lock` pins them all for every listed target.
//!
//! ```toml
//! targets = ["linux_amd64", "linux_arm64"]   # for `lock`; optional
//!
//! [tools]
//! platform = "5.10.8"                         # a tool hookstrap knows: a version or "latest"
//! upsun = "latest"
//! gh = { github = "cli/cli", version = "v2.63.0", bin = "gh", asset = "gh_*_linux_amd64.tar.gz" }
//! rg = { github = "BurntSushi/ripgrep", version = "14.1.1" }
//! foo = { url = "https://example.com/foo-linux-amd64", sha256 = "…", bin = "foo" }
//! ```
//!
//! Every field is checked while parsing; a bad one is reported with its line and column
//! (exit 2), like the lock file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use crate::diag::{Code, Diagnostic, FileError, line_column};
use crate::fsutil::{Links, SMALL_FILE_MAX, read_capped};
use crate::resolve::catalog::{Target, Tool, Version};
use crate::resolve::spec::{check_tag, check_url, is_tool_name, parse_repo};
use crate::verify::parse_sha256;

/// The manifest's file name, in the app dir.
pub const FILE_NAME: &str = "hookstrap.toml";

/// A parsed, checked manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// Targets `lock` pins (in the order given, without duplicates); empty when not set.
    pub targets: Vec<Target>,
    /// `min_release_age = "3d"`: `latest` and `lock --upgrade` skip releases published more
    /// recently than this.
    pub min_release_age: Option<std::time::Duration>,
    /// Tools, sorted by name.
    pub tools: Vec<ToolDecl>,
}

/// One declared tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolDecl {
    /// The key in `[tools]`: `[a-z0-9][a-z0-9._-]*`.
    pub name: String,
    pub source: Source,
    /// A version (`5.10.8`) or a tag (`v2.63.0`), or `latest`; `None` when not given.
    pub version: Option<String>,
    /// The command's name, when not the tool's name.
    pub bin: Option<String>,
    /// A pattern (`*` wildcards) that picks the GitHub release asset.
    pub asset: Option<String>,
    /// The pinned SHA-256 (lower-case hex).
    pub sha256: Option<String>,
}

/// Where a tool comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A tool hookstrap knows by name.
    Cli(Tool),
    GitHub {
        owner: String,
        repo: String,
    },
    Url {
        url: String,
    },
}

impl ToolDecl {
    /// The command installed into the bin dir: `bin`, else the tool's name.
    pub fn command(&self) -> &str {
        self.bin.as_deref().unwrap_or(&self.name)
    }

    /// The same tool as a SPEC (`platform@5.10.8`, `github:cli/cli@v2.63.0`, `url:…`), for
    /// messages and for [`crate::resolve::spec::parse_any_spec`].
    pub fn spec_text(&self) -> String {
        let version = self
            .version
            .as_deref()
            .map(|v| format!("@{v}"))
            .unwrap_or_default();
        match &self.source {
            Source::Cli(tool) => format!("{tool}{version}"),
            Source::GitHub { owner, repo } => format!("github:{owner}/{repo}{version}"),
            Source::Url { url } => format!("url:{url}"),
        }
    }
}

/// A malformed manifest (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed manifest `{}` at line {line}, column {column}: {message}", path.display())]
pub struct ManifestError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Diagnostic for ManifestError {
    fn code(&self) -> Code {
        Code::Usage
    }

    fn hint(&self) -> Option<String> {
        Some(
            "a tool is `name = \"VERSION\"` (platform, upsun), \
             `name = { github = \"OWNER/REPO\", version = \"TAG\" }` or \
             `name = { url = \"https://…\", sha256 = \"HEX\" }`"
                .to_owned(),
        )
    }
}

// ---- raw shape, as TOML has it ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    targets: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    min_release_age: Option<Spanned<String>>,
    #[serde(default)]
    tools: BTreeMap<Spanned<String>, Spanned<RawTool>>,
}

enum RawTool {
    Version(Spanned<String>),
    Table(RawTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    github: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    bin: Option<Spanned<String>>,
    asset: Option<Spanned<String>>,
    sha256: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for RawTool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RawToolVisitor;
        impl<'de> Visitor<'de> for RawToolVisitor {
            type Value = RawTool;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a version string or a table such as { github = \"OWNER/REPO\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawTool, E> {
                // The span is filled in by the caller, which knows the value's.
                Ok(RawTool::Version(Spanned::new(0..0, v.to_owned())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTool, A::Error> {
                RawTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawTool::Table)
            }
        }
        d.deserialize_any(RawToolVisitor)
    }
}

// ---- parsing and checking ----

impl Manifest {
    /// Reads `<app_dir>/hookstrap.toml`; `None` when there is none.
    pub fn load(app_dir: &Path) -> Result<Option<Manifest>, FileError<ManifestError>> {
        let path = app_dir.join(FILE_NAME);
        let Some(bytes) = read_capped(&path, SMALL_FILE_MAX, Links::Follow)? else {
            return Ok(None);
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            FileError::Bad(ManifestError {
                path: path.clone(),
                line: 1,
                column: 1,
                message: format!("not UTF-8 ({e})"),
            })
        })?;
        Manifest::parse(&text, &path)
            .map(Some)
            .map_err(FileError::Bad)
    }

    /// Parses and checks a manifest's text; `path` is for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, ManifestError> {
        let at = Located { text, path };
        let raw: RawManifest = toml::from_str(text)
            .map_err(|e| at.bad(e.span().unwrap_or(0..0), e.message().trim_end().to_owned()))?;
        let targets = match raw.targets {
            Some(list) => parse_targets(list).map_err(|(span, m)| at.bad(span, m))?,
            None => Vec::new(),
        };
        let min_release_age = match raw.min_release_age {
            Some(age) => Some(parse_age(age.get_ref()).map_err(|m| at.bad(age.span(), m))?),
            None => None,
        };
        let mut tools: Vec<ToolDecl> = Vec::new();
        let mut commands: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in raw.tools {
            let value_span = value.span();
            let decl = parse_tool(key, value).map_err(|(span, m)| at.bad(span, m))?;
            if let Some(other) = commands.insert(decl.command().to_owned(), decl.name.clone()) {
                let message = format!(
                    "`{}` and `{other}` would both install the command `{}`",
                    decl.name,
                    decl.command()
                );
                return Err(at.bad(value_span, message));
            }
            tools.push(decl);
        }
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Manifest {
            targets,
            min_release_age,
            tools,
        })
    }

    pub fn tool(&self, name: &str) -> Option<&ToolDecl> {
        self.tools.iter().find(|t| t.name == name)
    }
}

/// The manifest's text and path, to turn a span into a [`ManifestError`] with line and column.
struct Located<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Located<'_> {
    fn bad(&self, span: std::ops::Range<usize>, message: String) -> ManifestError {
        let (line, column) = line_column(self.text, span.start);
        ManifestError {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
        }
    }
}

/// A span in the manifest and what is wrong there.
type Bad = (std::ops::Range<usize>, String);

/// A release age: `3d`, `12h`, `1w 2d` (humantime's syntax).
pub fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration like `3d` or `12h` ({e})"))
}

/// `targets = [...]`: known targets, in the order given, without duplicates; not empty.
fn parse_targets(list: Spanned<Vec<Spanned<String>>>) -> Result<Vec<Target>, Bad> {
    if list.get_ref().is_empty() {
        return Err((list.span(), "`targets` lists no target".to_owned()));
    }
    let mut targets = Vec::new();
    for name in list.into_inner() {
        let target = Target::parse(name.get_ref()).map_err(|_| {
            let known = Target::ALL.map(Target::name).join(", ");
            let message = format!("unknown target `{}` (known: {known})", name.get_ref());
            (name.span(), message)
        })?;
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    Ok(targets)
}

/// One `[tools]` entry: `name = "VERSION"` for a tool hookstrap knows, or a table.
fn parse_tool(key: Spanned<String>, value: Spanned<RawTool>) -> Result<ToolDecl, Bad> {
    let name = key.get_ref().clone();
    if !is_tool_name(&name) {
        let message =
            format!("`{name}` is not a tool name (lower-case letters, digits, `.`, `_`, `-`)");
        return Err((key.span(), message));
    }
    let value_span = value.span();
    match value.into_inner() {
        RawTool::Version(version) => {
            let tool = Tool::parse(&name).map_err(|_| {
                let message = format!(
                    "`{name}` is not a tool hookstrap knows; declare where it comes \
                     from: `{name} = {{ github = \"OWNER/REPO\", version = \"TAG\" }}` \
                     or `{name} = {{ url = \"https://…\" }}`"
                );
                (key.span(), message)
            })?;
            let version = version.into_inner();
            check_cli_version(&version).map_err(|m| (value_span, m))?;
            Ok(ToolDecl {
                name,
                source: Source::Cli(tool),
                version: Some(version),
                bin: None,
                asset: None,
                sha256: None,
            })
        }
        RawTool::Table(table) => check_table(&name, table, value_span),
    }
}

fn check_cli_version(version: &str) -> Result<(), String> {
    if version == "latest" || Version::parse(version).is_some() {
        Ok(())
    } else {
        Err(format!(
            "`{version}` is not a version (like 5.10.8, v5.10.8 or latest)"
        ))
    }
}

/// A tool declared as a table: where it comes from, then each field checked against that.
fn check_table(name: &str, table: RawTable, span: std::ops::Range<usize>) -> Result<ToolDecl, Bad> {
    let source = table_source(name, &table, span.clone())?;
    if let Some(version) = &table.version {
        check_table_version(&source, version)?;
    }
    if let Some(bin) = &table.bin {
        if matches!(source, Source::Cli(_)) {
            let message = format!("`{name}` is a tool hookstrap knows: its command name is fixed");
            return Err((bin.span(), message));
        }
        check_bin(bin.get_ref()).map_err(|m| (bin.span(), m))?;
    }
    if let Some(asset) = &table.asset {
        if !matches!(source, Source::GitHub { .. }) {
            let message = "`asset` picks a GitHub release asset; it needs `github`".to_owned();
            return Err((asset.span(), message));
        }
        check_asset_pattern(asset.get_ref()).map_err(|m| (asset.span(), m))?;
    }
    let sha256 = table_sha256(name, &source, table.sha256.as_ref(), span)?;
    Ok(ToolDecl {
        name: name.to_owned(),
        source,
        version: table.version.map(Spanned::into_inner),
        bin: table.bin.map(Spanned::into_inner),
        asset: table.asset.map(Spanned::into_inner),
        sha256,
    })
}

/// `github = "OWNER/REPO"`, `url = "…"`, or neither for a tool hookstrap knows.
fn table_source(name: &str, table: &RawTable, span: std::ops::Range<usize>) -> Result<Source, Bad> {
    match (&table.github, &table.url) {
        (Some(_), Some(url)) => Err((
            url.span(),
            "a tool comes from `github` or from `url`, not both".to_owned(),
        )),
        (Some(github), None) => {
            let (owner, repo) = parse_repo(github.get_ref()).map_err(|m| (github.span(), m))?;
            Ok(Source::GitHub { owner, repo })
        }
        (None, Some(url)) => {
            check_url(url.get_ref()).map_err(|m| (url.span(), m))?;
            Ok(Source::Url {
                url: url.get_ref().clone(),
            })
        }
        (None, None) => Tool::parse(name).map(Source::Cli).map_err(|_| {
            let message =
                format!("`{name}` needs `github = \"OWNER/REPO\"` or `url = \"https://…\"`");
            (span, message)
        }),
    }
}

/// A version for a known tool, a tag (or `latest`) for a GitHub release, a label for a URL.
fn check_table_version(source: &Source, version: &Spanned<String>) -> Result<(), Bad> {
    let checked = match source {
        Source::Cli(_) => check_cli_version(version.get_ref()),
        _ if version.get_ref() == "latest" => Ok(()),
        _ => check_tag(version.get_ref()),
    };
    checked.map_err(|m| (version.span(), m))?;
    if matches!(source, Source::Url { .. }) && version.get_ref() == "latest" {
        let message = "a `url` tool has no `latest`; its version is a label".to_owned();
        return Err((version.span(), message));
    }
    Ok(())
}

/// A pinned hash: 64 hex digits, and not for a tool `hookstrap lock` pins.
fn table_sha256(
    name: &str,
    source: &Source,
    sha256: Option<&Spanned<String>>,
    span: std::ops::Range<usize>,
) -> Result<Option<String>, Bad> {
    let Some(hex) = sha256 else {
        return Ok(None);
    };
    if matches!(source, Source::Cli(_)) {
        let message = format!("`{name}` is pinned by `hookstrap lock`, not by `sha256`");
        return Err((span, message));
    }
    let sha = parse_sha256(hex.get_ref()).ok_or_else(|| {
        (
            hex.span(),
            "sha256 must be 64 hexadecimal digits".to_owned(),
        )
    })?;
    Ok(Some(sha))
}

/// A command name: one plain file name of `A-Z a-z 0-9 . _ + -`, not starting with `.` or `-`.
fn check_bin(bin: &str) -> Result<(), String> {
    let ok = !bin.is_empty()
        && bin.len() <= 64
        && !bin.starts_with(['.', '-'])
        && bin
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!("`{bin}` is not a command name"))
    }
}

/// An asset pattern: a file name with `*` wildcards.
fn check_asset_pattern(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() || pattern.len() > 255 {
        return Err(
            "`asset` must be a file name pattern, like `gh_*_linux_amd64.tar.gz`".to_owned(),
        );
    }
    if pattern.contains('/') || pattern.chars().any(char::is_control) {
        return Err(format!("`{pattern}` is not a file name pattern"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, Path::new("/app/hookstrap.toml"))
    }

    fn err(text: &str) -> ManifestError {
        parse(text).expect_err(text)
    }

    #[test]
    fn parses_every_kind_of_tool() {
        let m = parse(include_str!(
            "../../fixtures/manifests/valid/every-kind.toml"
        ))
        .unwrap();
        assert_eq!(m.targets, [Target::LinuxAmd64, Target::LinuxArm64]);
        let names: Vec<&str> = m.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["foo", "gh", "jq", "platform", "ripgrep", "upsun"]);
        assert_eq!(
            m.tool("gh").unwrap(),
            &ToolDecl {
                name: "gh".into(),
                source: Source::GitHub {
                    owner: "cli".into(),
                    repo: "cli".into()
                },
                version: Some("v2.63.0".into()),
                bin: Some("gh".into()),
                asset: Some("gh_*_linux_amd64.tar.gz".into()),
                sha256: None,
            }
        );
        let foo = m.tool("foo").unwrap();
        assert_eq!(
            foo.source,
            Source::Url {
                url: "https://example.com/foo-linux-amd64".into()
            }
        );
        assert_eq!(foo.sha256.as_deref(), Some(SHA));
        let platform = m.tool("platform").unwrap();
        assert_eq!(platform.source, Source::Cli(Tool::Platform));
        assert_eq!(platform.version.as_deref(), Some("5.10.8"));
        assert_eq!(platform.spec_text(), "platform@5.10.8");
        assert_eq!(m.tool("upsun").unwrap().spec_text(), "upsun@latest");
        let jq = m.tool("jq").unwrap();
        assert_eq!(jq.version, None);
        assert_eq!(jq.spec_text(), "github:jqlang/jq");
        assert_eq!(jq.command(), "jq");
        assert_eq!(m.tool("ripgrep").unwrap().command(), "rg");
        assert_eq!(
            m.tool("ripgrep").unwrap().spec_text(),
            "github:BurntSushi/ripgrep@14.1.1"
        );
        assert_eq!(foo.spec_text(), "url:https://example.com/foo-linux-amd64");
        // Every spec text parses back.
        for tool in &m.tools {
            crate::resolve::spec::parse_any_spec(&tool.spec_text()).unwrap();
        }
    }

    #[test]
    fn an_empty_manifest_is_fine() {
        assert_eq!(parse("").unwrap(), Manifest::default());
        assert_eq!(
            parse(include_str!("../../fixtures/manifests/valid/no-tools.toml")).unwrap(),
            Manifest::default()
        );
    }

    #[test]
    fn cli_tools_take_a_table_too() {
        let m = parse(include_str!(
            "../../fixtures/manifests/valid/platform-table.toml"
        ))
        .unwrap();
        assert_eq!(m.tools[0].source, Source::Cli(Tool::Platform));
        assert_eq!(m.tools[0].version.as_deref(), Some("v5.10.8"));
    }

    /// Each malformed manifest in `fixtures/manifests/malformed/` (its last line says what to
    /// expect) fails at that line and column with that message.
    #[test]
    fn errors_point_at_the_line_and_column() {
        let e = err(include_str!(
            "../../fixtures/manifests/malformed/unknown-field.toml"
        ));
        assert_eq!((e.line, e.column), (2, 28), "{e}");
        assert!(e.message.contains("unknown field `bni`"), "{e}");
        assert_eq!(e.exit_code(), 2);
        assert!(e.hint().is_some());
        assert!(
            e.to_string()
                .starts_with("malformed manifest `/app/hookstrap.toml` at line 2, column 28: "),
            "{e}"
        );

        let e = err(include_str!(
            "../../fixtures/manifests/malformed/not-owner-repo.toml"
        ));
        assert_eq!((e.line, e.column), (2, 17), "{e}");
        assert!(e.message.contains("not OWNER/REPO"), "{e}");

        let e = err(include_str!(
            "../../fixtures/manifests/malformed/unknown-target.toml"
        ));
        assert_eq!((e.line, e.column), (1, 27), "{e}");
        assert!(e.message.contains("unknown target `linux_386`"), "{e}");

        let e = err(include_str!(
            "../../fixtures/manifests/malformed/bad-cli-version.toml"
        ));
        assert_eq!((e.line, e.column), (2, 12), "{e}");
        assert!(e.message.contains("not a version"), "{e}");

        let e = err(include_str!(
            "../../fixtures/manifests/malformed/unknown-tool-with-version.toml"
        ));
        assert_eq!((e.line, e.column), (2, 1), "{e}");
        assert!(
            e.message.contains("github = \\\"OWNER/REPO\\\"")
                || e.message.contains("github = \"OWNER/REPO\""),
            "{e}"
        );

        let e = err(include_str!(
            "../../fixtures/manifests/malformed/tool-not-tools.toml"
        ));
        assert_eq!(e.line, 1, "{e}");
        assert!(e.message.contains("unknown field `tool`"), "{e}");

        let e = err(include_str!(
            "../../fixtures/manifests/malformed/tool-is-a-number.toml"
        ));
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("a version string or a table"), "{e}");

        let e = err(include_str!(
            "../../fixtures/manifests/malformed/unclosed-table.toml"
        ));
        assert_eq!(e.line, 1, "{e}");

        let e = err(include_str!(
            "../../fixtures/manifests/malformed/same-command-twice.toml"
        ));
        assert_eq!((e.line, e.column), (3, 5), "{e}");
        assert!(e.message.contains("both install the command `x`"), "{e}");
    }

    /// The `# expect:` comment closing each malformed fixture is what the parser says.
    #[test]
    fn malformed_fixtures_say_where_they_fail() {
        for text in [
            include_str!("../../fixtures/manifests/malformed/unknown-field.toml"),
            include_str!("../../fixtures/manifests/malformed/not-owner-repo.toml"),
            include_str!("../../fixtures/manifests/malformed/unknown-target.toml"),
            include_str!("../../fixtures/manifests/malformed/bad-cli-version.toml"),
            include_str!("../../fixtures/manifests/malformed/unknown-tool-with-version.toml"),
            include_str!("../../fixtures/manifests/malformed/tool-not-tools.toml"),
            include_str!("../../fixtures/manifests/malformed/tool-is-a-number.toml"),
            include_str!("../../fixtures/manifests/malformed/unclosed-table.toml"),
            include_str!("../../fixtures/manifests/malformed/same-command-twice.toml"),
        ] {
            let e = err(text);
            let expect = text
                .lines()
                .find_map(|l| l.strip_prefix("# expect: "))
                .expect("an `# expect:` line");
            let (at, message) = expect
                .split_once(": ")
                .expect("`line L, column C: message`");
            assert_eq!(at, format!("line {}, column {}", e.line, e.column), "{e}");
            assert!(e.message.contains(message), "{e}\n{text}");
        }
    }

    #[test]
    fn values_are_checked() {
        for (text, needle) in [
            ("Gh = { github = \"cli/cli\" }", "not a tool name"),
            ("\"-gh\" = { github = \"cli/cli\" }", "not a tool name"),
            (
                "gh = { github = \"cli/cli\", url = \"https://x/y\" }",
                "not both",
            ),
            ("gh = { }", "needs `github"),
            ("gh = { github = \"cli/cli/x\" }", "repository name"),
            (
                "gh = { github = \"cli/cli\", version = \"v1 2\" }",
                "not a release tag",
            ),
            (
                "gh = { github = \"cli/cli\", version = \"\" }",
                "tag after `@` is empty",
            ),
            (
                "gh = { github = \"cli/cli\", bin = \"../gh\" }",
                "not a command name",
            ),
            (
                "gh = { github = \"cli/cli\", bin = \"a/b\" }",
                "not a command name",
            ),
            (
                "gh = { github = \"cli/cli\", asset = \"dir/gh*\" }",
                "not a file name pattern",
            ),
            (
                "gh = { github = \"cli/cli\", asset = \"\" }",
                "file name pattern",
            ),
            (
                "gh = { github = \"cli/cli\", sha256 = \"abc\" }",
                "64 hexadecimal",
            ),
            ("foo = { url = \"http://example.com/foo\" }", "plain http"),
            ("foo = { url = \"ftp://example.com/foo\" }", "https://"),
            (
                "foo = { url = \"https://x/foo\", asset = \"*\" }",
                "needs `github`",
            ),
            (
                "foo = { url = \"https://x/foo\", version = \"latest\" }",
                "no `latest`",
            ),
            (
                "platform = { version = \"5.10.8\", bin = \"p\" }",
                "command name is fixed",
            ),
            (
                "platform = { version = \"5.10.8\", asset = \"*\" }",
                "needs `github`",
            ),
            (
                "platform = { sha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\" }",
                "hookstrap lock",
            ),
            ("platform = { version = \"latest-ish\" }", "not a version"),
            (
                "a = { github = \"o/a\", bin = \"x\" }\nb = { github = \"o/b\", bin = \"x\" }",
                "both install the command `x`",
            ),
            (
                "platform = \"5.10.8\"\np = { github = \"o/p\", bin = \"platform\" }",
                "both install the command `platform`",
            ),
        ] {
            let e = err(&format!("[tools]\n{text}\n"));
            assert!(e.message.contains(needle), "{text}: {e}");
            assert!(e.line >= 2, "{text}: {e}");
        }
        let e = err("targets = []\n");
        assert!(e.message.contains("lists no target"), "{e}");
        // Loopback http is allowed, for local mirrors.
        parse("[tools]\nfoo = { url = \"http://127.0.0.1:8080/foo\", version = \"1.0\" }\n")
            .unwrap();
    }

    #[test]
    fn load_reads_the_app_dir() {
        let dir = tempfile::TempDir::new().unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join(FILE_NAME),
            "[tools]\nplatform = \"latest\"\n",
        )
        .unwrap();
        let m = Manifest::load(dir.path()).unwrap().unwrap();
        assert_eq!(m.tools.len(), 1);
        std::fs::write(
            dir.path().join(FILE_NAME),
            b"[tools]\nplatform = \"\xff\"\n",
        )
        .unwrap();
        let e = Manifest::load(dir.path()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("not UTF-8"), "{e}");
        std::fs::write(dir.path().join(FILE_NAME), "[tools]\nx = 1\n").unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap_err().exit_code(), 2);
    }
}
