//! `--var-file`: the project variables the hook sees in `PLATFORM_VARIABLES`, as a JSON object
//! (`{"name": value, …}`, values of any JSON type) or as `.env`-style `KEY=VALUE` lines (`#`
//! comments, blank lines, an optional `export `, values optionally in single or double quotes).
//!
//! As on the platform, a variable named `env:NAME` is also exported to the hook as `NAME` (a
//! string value as is, any other JSON value as its JSON text). Names hookstrap sets itself
//! (`PATH`, `HOME`, `LANG`, `TMPDIR`, `HOOKSTRAP_OFFLINE`, `PLATFORM_*`) cannot be exported: the
//! build would no longer be the platform's.

use std::path::Path;

use serde_json::{Map, Value};

use super::HookError;
use crate::fsutil::{Links, SMALL_FILE_MAX, read_capped};

/// The parsed variables.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Variables {
    /// Every variable, for `PLATFORM_VARIABLES`.
    pub all: Map<String, Value>,
    /// The `env:` variables, exported to the hook under their name without the prefix.
    pub exported: Vec<(String, String)>,
}

/// Variables the hook's environment sets and an `env:` variable may not replace.
const RESERVED: &[&str] = &["PATH", "HOME", "LANG", "TMPDIR", "HOOKSTRAP_OFFLINE"];

/// A parse error: 1-based line and column, and what is wrong.
#[derive(Debug, PartialEq)]
pub struct VarError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Reads and parses `path`.
pub fn load(path: &Path) -> Result<Variables, HookError> {
    let bytes = read_capped(path, SMALL_FILE_MAX, Links::Follow)?.ok_or_else(|| {
        HookError::Fs(crate::diag::FsError::io(
            "read",
            path,
            std::io::ErrorKind::NotFound.into(),
        ))
    })?;
    let bad = |e: VarError| HookError::BadVarFile {
        path: path.to_path_buf(),
        line: e.line,
        column: e.column,
        message: e.message,
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        bad(VarError {
            line: 1,
            column: 1,
            message: "not UTF-8".into(),
        })
    })?;
    parse(&text).map_err(bad)
}

/// Parses JSON (the text starts with `{` or `[`; only an object is accepted) or `KEY=VALUE`
/// lines.
pub fn parse(text: &str) -> Result<Variables, VarError> {
    let all = if text.trim_start().starts_with(['{', '[']) {
        parse_json(text)?
    } else {
        parse_lines(text)?
    };
    let mut exported: Vec<(String, String)> = all
        .iter()
        .filter_map(|(key, value)| Some((key.strip_prefix("env:")?, value)))
        .map(|(name, value)| {
            check_export(name, text)?;
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Ok((name.to_string(), value))
        })
        .collect::<Result<_, VarError>>()?;
    exported.sort();
    Ok(Variables { all, exported })
}

fn parse_json(text: &str) -> Result<Map<String, Value>, VarError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(VarError {
            line: 1,
            column: 1,
            message: "expected a JSON object".into(),
        }),
        Err(e) => Err(VarError {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        }),
    }
}

/// serde_json ends its messages with ` at line L column C`, which the caller says itself.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn parse_lines(text: &str) -> Result<Map<String, Value>, VarError> {
    let mut map = Map::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        let body = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let offset = indent + (trimmed.len() - body.len());
        let err = |column: usize, message: &str| VarError {
            line,
            column,
            message: message.to_string(),
        };
        let Some((key, value)) = body.split_once('=') else {
            return Err(err(offset + 1, "expected KEY=VALUE"));
        };
        let key = key.trim_end();
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err(err(offset + 1, "expected a name before `=`"));
        }
        let value_column = offset + key.len() + 2;
        let value = unquote(value.trim()).ok_or_else(|| err(value_column, "unclosed quote"))?;
        map.insert(key.to_string(), Value::String(value));
    }
    Ok(map)
}

/// `"…"` (with `\"`, `\\`, `\n`), `'…'` (as is), or a bare value. `None`: a quote left open.
fn unquote(value: &str) -> Option<String> {
    let Some(quote) = value.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        return Some(value.to_string());
    };
    let inner = value.strip_prefix(quote)?.strip_suffix(quote)?;
    if quote == '\'' {
        return Some(inner.to_string());
    }
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(next @ ('"' | '\\'))) => {
                out.push(next);
                chars.next();
            }
            ('\\', Some('n')) => {
                out.push('\n');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// An exported name must be a shell variable name hookstrap does not set itself.
fn check_export(name: &str, text: &str) -> Result<(), VarError> {
    let (line, column) = locate(text, &format!("env:{name}"));
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(VarError {
            line,
            column,
            message: format!("`env:{name}`: `{name}` is not a variable name"),
        });
    }
    if RESERVED.contains(&name) || name.starts_with("PLATFORM_") {
        return Err(VarError {
            line,
            column,
            message: format!("`env:{name}`: hookstrap sets `{name}` itself, as the platform does"),
        });
    }
    Ok(())
}

/// Where `needle` first occurs, for an error about it (1, 1 if nowhere).
fn locate(text: &str, needle: &str) -> (usize, usize) {
    text.find(needle)
        .map_or((1, 1), |offset| crate::diag::line_column(text, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_keep_their_values() {
        let vars =
            parse(r#"{"env:MIRROR": "file:///srv/m", "limits": {"max": 3}, "env:N": 5}"#).unwrap();
        assert_eq!(vars.all["limits"]["max"], 3);
        assert_eq!(
            vars.exported,
            vec![
                ("MIRROR".to_string(), "file:///srv/m".to_string()),
                ("N".to_string(), "5".to_string())
            ]
        );
    }

    #[test]
    fn env_lines_take_comments_export_and_quotes() {
        let text = "# project variables\n\nexport env:GREETING=\"hello \\\"you\\\"\"\nplain = 'a b'\nenv:EMPTY=\nURL=https://x/?a=b\n";
        let vars = parse(text).unwrap();
        assert_eq!(vars.all["env:GREETING"], "hello \"you\"");
        assert_eq!(vars.all["plain"], "a b");
        assert_eq!(vars.all["env:EMPTY"], "");
        assert_eq!(vars.all["URL"], "https://x/?a=b");
        assert_eq!(
            vars.exported,
            vec![
                ("EMPTY".to_string(), String::new()),
                ("GREETING".to_string(), "hello \"you\"".to_string())
            ]
        );
    }

    #[test]
    fn bad_lines_are_located() {
        assert_eq!(
            parse("A=1\n  no equals sign\n").unwrap_err(),
            VarError {
                line: 2,
                column: 3,
                message: "expected KEY=VALUE".into()
            }
        );
        let err = parse("A=1\nB=\"open\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 3));
        assert_eq!(err.message, "unclosed quote");
        let err = parse("=value\n").unwrap_err();
        assert_eq!((err.line, err.column), (1, 1));
    }

    #[test]
    fn bad_json_is_located() {
        let err = parse("{\n  \"a\": 1,\n  \"b\" 2\n}\n").unwrap_err();
        assert_eq!((err.line, err.column), (3, 7));
        assert!(!err.message.contains("at line"), "{}", err.message);
        let err = parse(" [1, 2]").unwrap_err();
        assert_eq!(err.message, "expected a JSON object");
    }

    #[test]
    fn exports_must_be_names_hookstrap_does_not_set() {
        let err = parse("A=1\nenv:PLATFORM_PROJECT=abc\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 1));
        assert!(err.message.contains("sets `PLATFORM_PROJECT` itself"));
        assert!(parse("env:PATH=/x\n").is_err());
        assert!(parse("env:1X=y\n").is_err());
        assert!(parse(r#"{"env:A-B": "x"}"#).is_err());
    }
}
