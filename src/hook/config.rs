//! The app's configuration, read as the platform reads it, from the first of:
//!
//! - `.upsun/config.yaml`: an `applications:` map of name → app (Upsun);
//! - `.platform/applications.yaml` (a list of apps, each with `name`) and `.platform.app.yaml`
//!   files (one app each) in the project dir or one level below it (Platform.sh).
//!
//! From the app it takes `hooks.build` and `source.root` (default: the project dir, or the
//! directory of its `.platform.app.yaml`), and the whole app as JSON for
//! `PLATFORM_APPLICATION`. Malformed YAML names the file, line and column; an unknown app lists
//! the apps there are.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use super::HookError;
use crate::diag::FsError;
use crate::fsutil::{Links, SMALL_FILE_MAX, read_capped};

pub const UPSUN: &str = ".upsun/config.yaml";
pub const APPLICATIONS: &str = ".platform/applications.yaml";
pub const APP_YAML: &str = ".platform.app.yaml";

/// One application, ready to build.
#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    pub build_hook: String,
    /// The app's root, relative to the project dir (empty: the project dir itself).
    pub root: PathBuf,
    /// The file it came from, relative to the project dir.
    pub file: PathBuf,
    /// The app's configuration as JSON (with its `name`), for `PLATFORM_APPLICATION`.
    pub config: serde_json::Value,
}

#[derive(Deserialize)]
struct UpsunFile {
    #[serde(default)]
    applications: Option<BTreeMap<String, RawApp>>,
}

#[derive(Deserialize)]
struct RawApp {
    name: Option<String>,
    hooks: Option<RawHooks>,
    source: Option<RawSource>,
}

#[derive(Deserialize)]
struct RawHooks {
    build: Option<String>,
}

#[derive(Deserialize)]
struct RawSource {
    root: Option<String>,
}

/// An app as declared, before it is chosen.
struct Declared {
    name: String,
    raw: RawApp,
    json: serde_json::Value,
    file: PathBuf,
    /// Where `source.root` counts from when unset: the file's app dir.
    default_root: PathBuf,
}

/// Whether `dir` holds an app configuration hookstrap reads.
pub fn has_config(dir: &Path) -> bool {
    [UPSUN, APPLICATIONS, APP_YAML]
        .iter()
        .any(|f| dir.join(f).is_file())
}

/// The app named `wanted`, else the only one; see the module docs.
pub fn find_app(project: &Path, wanted: Option<&str>) -> Result<App, HookError> {
    let (declared, file) = declared_apps(project)?;
    let names: Vec<String> = declared.iter().map(|d| d.name.clone()).collect();
    let chosen = match wanted {
        Some(name) => declared
            .into_iter()
            .find(|d| d.name == name)
            .ok_or_else(|| HookError::UnknownApp {
                name: name.to_string(),
                path: project.join(&file),
                apps: names,
            })?,
        None if declared.len() == 1
            && let Some(only) = declared.into_iter().next() =>
        {
            only
        }
        None => {
            return Err(HookError::ChooseApp {
                path: project.join(&file),
                apps: names,
            });
        }
    };
    app(project, chosen)
}

fn app(project: &Path, d: Declared) -> Result<App, HookError> {
    let path = project.join(&d.file);
    let build_hook = d
        .raw
        .hooks
        .as_ref()
        .and_then(|h| h.build.clone())
        .filter(|h| !h.trim().is_empty())
        .ok_or_else(|| HookError::NoBuildHook {
            app: d.name.clone(),
            path,
        })?;
    let root = match d.raw.source.as_ref().and_then(|s| s.root.as_deref()) {
        Some(root) => relative_root(&d.name, root)?,
        None => d.default_root.clone(),
    };
    if !project.join(&root).is_dir() {
        return Err(HookError::BadRoot {
            app: d.name,
            root: root.display().to_string(),
            reason: "is not a directory of the project".into(),
        });
    }
    Ok(App {
        name: d.name,
        build_hook,
        root,
        file: d.file,
        config: d.json,
    })
}

/// `source.root` as a relative path inside the project: `/` and `` are the project itself; `..`
/// is refused.
fn relative_root(app: &str, root: &str) -> Result<PathBuf, HookError> {
    let mut out = PathBuf::new();
    for part in Path::new(root.trim_start_matches('/')).components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => {
                return Err(HookError::BadRoot {
                    app: app.to_string(),
                    root: root.to_string(),
                    reason: "leaves the project".into(),
                });
            }
        }
    }
    Ok(out)
}

/// Every app the project declares, and the file to name in messages about them.
fn declared_apps(project: &Path) -> Result<(Vec<Declared>, PathBuf), HookError> {
    if let Some(text) = read(project, UPSUN)? {
        return Ok((upsun_apps(&text, project, Path::new(UPSUN))?, UPSUN.into()));
    }
    let mut apps = Vec::new();
    let mut named = None;
    if let Some(text) = read(project, APPLICATIONS)? {
        apps.extend(applications_yaml(&text, project, Path::new(APPLICATIONS))?);
        named = Some(PathBuf::from(APPLICATIONS));
    }
    for file in app_yaml_files(project) {
        let rel = file.strip_prefix(project).unwrap_or(&file).to_path_buf();
        let text = read(project, &rel.to_string_lossy())?.unwrap_or_default();
        let dir = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        apps.push(app_yaml(&text, project, &rel, dir)?);
        named.get_or_insert(rel);
    }
    let Some(named) = named else {
        return Err(HookError::NoConfig {
            dir: project.to_path_buf(),
        });
    };
    let mut seen = std::collections::BTreeSet::new();
    if let Some(twice) = apps.iter().find(|a| !seen.insert(a.name.clone())) {
        return Err(HookError::BadConfig {
            path: project.join(&twice.file),
            at: String::new(),
            message: format!("app `{}` is defined more than once", twice.name),
        });
    }
    Ok((apps, named))
}

/// `.platform.app.yaml` in the project dir and its immediate subdirectories, sorted.
fn app_yaml_files(project: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if project.join(APP_YAML).is_file() {
        found.push(project.join(APP_YAML));
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(project)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path().join(APP_YAML))
        .filter(|p| p.is_file())
        .collect();
    subdirs.sort();
    found.extend(subdirs);
    found
}

fn read(project: &Path, rel: &str) -> Result<Option<String>, HookError> {
    let path = project.join(rel);
    let Some(bytes) = read_capped(&path, SMALL_FILE_MAX, Links::Follow)? else {
        return Ok(None);
    };
    String::from_utf8(bytes).map(Some).map_err(|_| {
        HookError::Fs(FsError::Refused {
            path,
            reason: "is not UTF-8".into(),
        })
    })
}

fn upsun_apps(text: &str, project: &Path, file: &Path) -> Result<Vec<Declared>, HookError> {
    let path = project.join(file);
    let parsed: UpsunFile = yaml(text, &path)?;
    let json: serde_json::Value = yaml(text, &path)?;
    let apps = parsed.applications.unwrap_or_default();
    if apps.is_empty() {
        return Err(HookError::BadConfig {
            path,
            at: String::new(),
            message: "no `applications:`".into(),
        });
    }
    apps.into_iter()
        .map(|(name, raw)| {
            check_name(&name, &path)?;
            let mut json = json["applications"][&name].clone();
            if let Some(map) = json.as_object_mut() {
                map.insert("name".into(), name.clone().into());
            }
            Ok(Declared {
                name,
                raw,
                json,
                file: file.to_path_buf(),
                default_root: PathBuf::new(),
            })
        })
        .collect()
}

fn applications_yaml(text: &str, project: &Path, file: &Path) -> Result<Vec<Declared>, HookError> {
    let path = project.join(file);
    let parsed: Vec<RawApp> = yaml(text, &path)?;
    let json: Vec<serde_json::Value> = yaml(text, &path)?;
    parsed
        .into_iter()
        .zip(json)
        .enumerate()
        .map(|(i, (raw, json))| {
            let name = raw.name.clone().ok_or_else(|| HookError::BadConfig {
                path: path.clone(),
                at: String::new(),
                message: format!("app number {} has no `name`", i + 1),
            })?;
            check_name(&name, &path)?;
            Ok(Declared {
                name,
                raw,
                json,
                file: file.to_path_buf(),
                default_root: PathBuf::new(),
            })
        })
        .collect()
}

fn app_yaml(text: &str, project: &Path, file: &Path, dir: PathBuf) -> Result<Declared, HookError> {
    let path = project.join(file);
    let raw: RawApp = yaml(text, &path)?;
    let json: serde_json::Value = yaml(text, &path)?;
    let name = raw.name.clone().ok_or_else(|| HookError::BadConfig {
        path: path.clone(),
        at: String::new(),
        message: "the app has no `name`".into(),
    })?;
    check_name(&name, &path)?;
    Ok(Declared {
        name,
        raw,
        json,
        file: file.to_path_buf(),
        default_root: dir,
    })
}

/// An app's name becomes a directory name (its cache dir): one plain component.
fn check_name(name: &str, file: &Path) -> Result<(), HookError> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if plain {
        Ok(())
    } else {
        Err(HookError::BadConfig {
            path: file.to_path_buf(),
            at: String::new(),
            message: format!("`{name}` is not a valid app name"),
        })
    }
}

/// Parses YAML, turning an error into [`HookError::BadConfig`] with its line and column.
fn yaml<T: serde::de::DeserializeOwned>(text: &str, file: &Path) -> Result<T, HookError> {
    serde_yaml_ng::from_str(text).map_err(|e| {
        let message = e.to_string();
        let (at, message) = match e.location() {
            Some(loc) => {
                // The crate puts the position in its message; it is said once, up front.
                let position = format!(" at line {} column {}", loc.line(), loc.column());
                let message = message.replacen(&position, "", 1);
                (
                    format!(" at line {}, column {}", loc.line(), loc.column()),
                    message,
                )
            }
            None => (String::new(), message),
        };
        HookError::BadConfig {
            path: file.to_path_buf(),
            at,
            message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostic;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    const UPSUN_TWO: &str = "applications:\n  front:\n    source:\n      root: front\n    hooks:\n      build: |\n        set -e\n        npm run build\n  back:\n    type: php:8.3\n    hooks:\n      build: composer install\n";

    #[test]
    fn upsun_config_lists_applications_by_name() {
        let dir = project(&[(UPSUN, UPSUN_TWO), ("front/x", "")]);
        let app = find_app(dir.path(), Some("front")).unwrap();
        assert_eq!(app.name, "front");
        assert_eq!(app.root, Path::new("front"));
        assert_eq!(app.build_hook, "set -e\nnpm run build\n");
        assert_eq!(app.config["name"], "front");
        let back = find_app(dir.path(), Some("back")).unwrap();
        assert_eq!(back.root, Path::new(""));
        assert_eq!(back.config["type"], "php:8.3");
    }

    #[test]
    fn several_apps_need_a_choice_and_unknown_apps_list_the_rest() {
        let dir = project(&[(UPSUN, UPSUN_TWO), ("front/x", "")]);
        let err = find_app(dir.path(), None).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("back, front"), "{err}");
        assert!(err.hint().unwrap().contains("--app"));
        let err = find_app(dir.path(), Some("api")).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(
            text.contains("no app `api`") && text.contains("back, front"),
            "{text}"
        );
    }

    #[test]
    fn the_only_app_is_the_default() {
        let dir = project(&[(
            APP_YAML,
            "name: app\ntype: nodejs:20\nhooks:\n  build: npm ci\n",
        )]);
        let app = find_app(dir.path(), None).unwrap();
        assert_eq!(
            (app.name.as_str(), app.build_hook.as_str()),
            ("app", "npm ci")
        );
        assert_eq!(app.root, Path::new(""));
        assert_eq!(app.file, Path::new(APP_YAML));
    }

    #[test]
    fn app_yaml_in_a_subdirectory_is_rooted_there() {
        let dir = project(&[
            (
                "api/.platform.app.yaml",
                "name: api\nhooks:\n  build: make\n",
            ),
            (
                "web/.platform.app.yaml",
                "name: web\nhooks:\n  build: make\n",
            ),
        ]);
        let app = find_app(dir.path(), Some("web")).unwrap();
        assert_eq!(app.root, Path::new("web"));
        assert!(find_app(dir.path(), None).is_err());
    }

    #[test]
    fn applications_yaml_is_a_list_with_roots() {
        let dir = project(&[
            (
                APPLICATIONS,
                "- name: api\n  source:\n    root: /backend\n  hooks:\n    build: make\n- name: web\n  source:\n    root: frontend\n  hooks:\n    build: npm ci\n",
            ),
            ("backend/x", ""),
            ("frontend/x", ""),
        ]);
        let app = find_app(dir.path(), Some("api")).unwrap();
        assert_eq!(app.root, Path::new("backend"));
        assert_eq!(app.config["source"]["root"], "/backend");
    }

    #[test]
    fn malformed_yaml_names_the_line_and_column() {
        let dir = project(&[(
            UPSUN,
            "applications:\n  app:\n    hooks:\n      build: [unclosed\n",
        )]);
        let err = find_app(dir.path(), None).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(text.contains(".upsun/config.yaml"), "{text}");
        assert!(text.contains(" at line "), "{text}");
        assert!(text.contains(", column "), "{text}");
        assert!(!text.contains(" column 1 at line"), "{text}");
    }

    #[test]
    fn a_hook_of_the_wrong_type_is_located() {
        let dir = project(&[(APP_YAML, "name: app\nhooks:\n  build:\n    - npm ci\n")]);
        let err = find_app(dir.path(), None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("at line 4, column 5"), "{text}");
        assert!(text.contains("expected a string"), "{text}");
    }

    #[test]
    fn a_missing_build_hook_is_a_usage_error() {
        let dir = project(&[(APP_YAML, "name: app\nhooks:\n  deploy: ./migrate\n")]);
        let err = find_app(dir.path(), None).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("has no build hook"), "{err}");
    }

    #[test]
    fn roots_stay_inside_and_must_exist() {
        let dir = project(&[(
            UPSUN,
            "applications:\n  app:\n    source:\n      root: ../elsewhere\n    hooks:\n      build: make\n",
        )]);
        let err = find_app(dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("leaves the project"), "{err}");
        let dir = project(&[(
            UPSUN,
            "applications:\n  app:\n    source:\n      root: missing\n    hooks:\n      build: make\n",
        )]);
        let err = find_app(dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("is not a directory"), "{err}");
    }

    #[test]
    fn no_configuration_is_a_usage_error_with_a_hint() {
        let dir = project(&[("README", "")]);
        let err = find_app(dir.path(), None).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.hint().unwrap().contains(".upsun/config.yaml"));
    }

    #[test]
    fn an_app_defined_twice_is_refused() {
        let dir = project(&[
            (APPLICATIONS, "- name: app\n  hooks:\n    build: make\n"),
            (APP_YAML, "name: app\nhooks:\n  build: make\n"),
        ]);
        let err = find_app(dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("more than once"), "{err}");
    }
}
