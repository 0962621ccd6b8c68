//! `hookstrap hook build` against the sample apps in `fixtures/apps/`, with real git and real
//! dash, no network. Each test copies an app into a sandbox under `CARGO_TARGET_TMPDIR`
//! (outside `/tmp`, which a hook may write to), commits it, leaves an uncommitted file beside
//! it, runs the real binary, and reads what the hook recorded.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::fixtures::{cli_release, this_target, write_latest_file, write_release_tree};
use common::{Sandbox, assert_exit, assert_success, run, stderr, stdout};

/// One sample app, committed in a sandbox.
struct Project {
    sb: Sandbox,
    /// The git checkout.
    dir: PathBuf,
}

impl Project {
    /// `fixtures/apps/{name}` copied to `sandbox/project`, committed, plus an uncommitted file;
    /// the sandbox under `CARGO_TARGET_TMPDIR`.
    fn new(name: &str) -> Project {
        Project::new_in(name, Path::new(env!("CARGO_TARGET_TMPDIR")))
    }

    fn new_in(name: &str, parent: &Path) -> Project {
        let sb = Sandbox::new_in(parent);
        let dir = sb.path().join("project");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/apps")
            .join(name);
        copy_dir(&fixture, &dir);
        let project = Project { sb, dir };
        project.git(&["init", "-q"]);
        project.commit("the app");
        std::fs::write(project.dir.join("uncommitted.txt"), "not committed\n").unwrap();
        project
    }

    fn git(&self, args: &[&str]) -> String {
        let out = run(Command::new("git")
            .args([
                "-c",
                "user.email=test@example.com",
                "-c",
                "user.name=Test",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(&self.dir)
            .env("HOME", &self.sb.home));
        assert_success(&out);
        stdout(&out).trim().to_string()
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    /// `hookstrap hook build --source DIR ARGS…`.
    fn build(&self, args: &[&str]) -> Output {
        let mut cmd = self.sb.cmd();
        cmd.args(["hook", "build", "--source"])
            .arg(&self.dir)
            .args(args);
        run(&mut cmd)
    }

    /// `hook build --keep --build-dir sandbox/build ARGS…`: the build dir stays for the test to
    /// read, inside the sandbox (removed with it).
    fn build_kept(&self, args: &[&str]) -> (Output, PathBuf) {
        let build = self.sb.path().join("build");
        let _ = std::fs::remove_dir_all(&build);
        let mut all = vec!["--keep", "--build-dir", build.to_str().unwrap()];
        all.extend_from_slice(args);
        (self.build(&all), build)
    }

    /// A variables file in the sandbox (outside the checkout).
    fn var_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.sb.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The app's persistent `PLATFORM_CACHE_DIR`: the one dir under `cache/hook-cache/*/{app}`.
    fn cache_dir(&self, app: &str) -> PathBuf {
        let projects = self.sb.cache.join("hook-cache");
        let mut found: Vec<PathBuf> = std::fs::read_dir(&projects)
            .unwrap()
            .map(|e| e.unwrap().path().join(app))
            .filter(|p| p.is_dir())
            .collect();
        assert_eq!(found.len(), 1, "one cache dir for {app}: {found:?}");
        found.remove(0)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `env` output as a map (multi-line values keep their first line).
fn env_file(path: &Path) -> BTreeMap<String, String> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn canonical(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[track_caller]
fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected {needle:?} in:\n{haystack}"
    );
}

// ---------------------------------------------------------------------------------------------

#[test]
fn upsun_config_builds_what_is_committed_under_dash_with_the_platform_variables() {
    let p = Project::new("upsun");
    std::fs::write(p.dir.join("committed.txt"), "edited, not committed\n").unwrap();
    let vars = p.var_file(
        "vars.json",
        r#"{"env:GREETING": "hello", "project_var": {"a": 1}}"#,
    );
    let (out, build) = {
        let build = p.sb.path().join("build");
        let mut cmd = p.sb.cmd();
        cmd.args(["hook", "build", "--keep", "--build-dir"])
            .arg(&build)
            .arg("--source")
            .arg(&p.dir)
            .arg("--var-file")
            .arg(&vars)
            // The developer's shell: none of it reaches the hook.
            .env("DEVELOPER_SECRET", "from the shell")
            .env("PLATFORM_PROJECT", "abcdef")
            .env("PLATFORM_BRANCH", "main");
        (run(&mut cmd), build)
    };
    assert_success(&out);
    let build_path = canonical(&build);
    assert_eq!(
        stdout(&out),
        format!("{build_path}\n"),
        "stdout: the kept dir"
    );
    let err = stderr(&out);

    // dash, in the build dir.
    assert!(
        read(&build.join("hook-shell.txt"))
            .trim()
            .ends_with("/dash")
    );
    assert_eq!(read(&build.join("hook-pwd.txt")).trim(), build_path);

    // The platform's variables, and nothing from the developer's shell.
    let env = env_file(&build.join("hook-env.txt"));
    assert_eq!(env["PLATFORM_APP_DIR"], build_path);
    assert_eq!(env["HOME"], build_path);
    assert_eq!(env["PLATFORM_APPLICATION_NAME"], "app");
    assert_eq!(env["PLATFORM_TREE_ID"], p.git(&["rev-parse", "HEAD:"]));
    assert_eq!(env["LANG"], "C.UTF-8");
    assert_eq!(env["GREETING"], "hello");
    let cache = p.cache_dir("app");
    assert_eq!(env["PLATFORM_CACHE_DIR"], cache.to_string_lossy());
    assert!(Path::new(&env["TMPDIR"]).is_absolute() && env["TMPDIR"] != "/tmp");
    let exe_dir = Path::new(env!("CARGO_BIN_EXE_hookstrap")).parent().unwrap();
    assert!(
        env["PATH"].starts_with(&format!("{}:", exe_dir.display())),
        "PATH: {}",
        env["PATH"]
    );
    for absent in [
        "PLATFORM_PROJECT",
        "PLATFORM_BRANCH",
        "DEVELOPER_SECRET",
        "HOOKSTRAP_CACHE_DIR",
        "CI",
    ] {
        assert!(!env.contains_key(absent), "{absent} leaked into the hook");
    }
    let seen_vars: serde_json::Value =
        serde_json::from_str(&read(&build.join("hook-vars.json"))).unwrap();
    assert_eq!(
        seen_vars,
        serde_json::json!({"env:GREETING": "hello", "project_var": {"a": 1}})
    );
    let seen_app: serde_json::Value =
        serde_json::from_str(&read(&build.join("hook-app.json"))).unwrap();
    assert_eq!(seen_app["name"], "app");
    assert_eq!(seen_app["type"], "nodejs:20");

    // What is committed, not what is in the working tree.
    assert_eq!(read(&build.join("committed.txt")), "as committed\n");
    assert!(!build.join("uncommitted.txt").exists());
    assert_contains(
        &err,
        "warning: built as committed, not as in the working tree: committed.txt",
    );
    assert_contains(&err, "left out, not committed: uncommitted.txt");

    // The result, checked.
    assert_contains(
        &err,
        &format!(".environment adds to PATH: {build_path}/.platformsh/bin\n"),
    );
    assert_contains(&err, ".environment prints nothing when sourced\n");
    assert!(!err.contains("again each time"), "{err}");
    assert_contains(&err, ".platformsh/bin: nothing\n");
    assert_contains(&err, "the build hook succeeded in ");
    assert_contains(&err, "total time ");
    assert!(!err.contains("no `set -e`"), "{err}");
}

#[test]
fn platform_app_yaml_is_found_from_the_current_directory() {
    let p = Project::new("platform-app");
    let vars = p.var_file(
        "vars.env",
        "# a project variable\nenv:GREETING=\"hi there\"\nsecret=x\n",
    );
    let mut cmd = p.sb.cmd();
    cmd.current_dir(&p.dir)
        .args(["hook", "build", "--var-file"])
        .arg(&vars);
    let out = run(&mut cmd);
    assert_success(&out);
    assert_eq!(stdout(&out), "", "nothing on stdout without --keep");
    assert_contains(&stderr(&out), "removed the build dir (`--keep` keeps it)");

    // The hook wrote into PLATFORM_CACHE_DIR, which persists.
    let cache = p.cache_dir("app");
    assert!(
        read(&cache.join("hook-shell.txt"))
            .trim()
            .ends_with("/dash")
    );
    let env = env_file(&cache.join("hook-env.txt"));
    assert_eq!(env["GREETING"], "hi there");
    assert!(
        !env.contains_key("secret"),
        "only env: variables are exported"
    );
    assert_eq!(env["PLATFORM_TREE_ID"], p.git(&["rev-parse", "HEAD:"]));
    let listed = read(&cache.join("hook-ls.txt"));
    assert_contains(&listed, "committed.txt");
    assert!(!listed.contains("uncommitted.txt"), "{listed}");
    // The build dir is gone.
    assert!(!Path::new(&env["PLATFORM_APP_DIR"]).exists());
}

#[test]
fn applications_yaml_builds_only_the_apps_source_root() {
    let p = Project::new("applications");
    std::fs::write(p.dir.join("backend/untracked.py"), "x").unwrap();
    let (out, build) = p.build_kept(&[]);
    assert_success(&out);
    let env = env_file(&build.join("hook-env.txt"));
    assert_eq!(env["PLATFORM_APPLICATION_NAME"], "api");
    assert_eq!(
        env["PLATFORM_TREE_ID"],
        p.git(&["rev-parse", "HEAD:backend"])
    );
    assert!(
        read(&build.join("hook-shell.txt"))
            .trim()
            .ends_with("/dash")
    );
    assert_eq!(read(&build.join("app.py")), "print('api')\n");
    let listed = read(&build.join("hook-ls.txt"));
    assert!(
        !listed.contains("docs") && !listed.contains(".platform"),
        "{listed}"
    );
    assert!(!build.join("untracked.py").exists());
    assert_contains(&stderr(&out), "left out, not committed: untracked.py");
}

#[test]
fn several_apps_need_app_and_an_unknown_app_lists_them() {
    let p = Project::new("multi");
    let out = p.build(&[]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert_contains(&err, "defines several apps: back, front");
    assert_contains(&err, "hint: choose one with `--app NAME`");

    let out = p.build(&["--app", "admin"]);
    assert_exit(&out, 2);
    assert_contains(&stderr(&out), "no app `admin` in ");
    assert_contains(&stderr(&out), "its apps: back, front");

    let (out, build) = p.build_kept(&["--app", "front"]);
    assert_success(&out);
    let env = env_file(&build.join("hook-env.txt"));
    assert_eq!(env["PLATFORM_APPLICATION_NAME"], "front");
    assert_eq!(env["PLATFORM_TREE_ID"], p.git(&["rev-parse", "HEAD:front"]));
    let listed = read(&build.join("hook-ls.txt"));
    assert_contains(&listed, "index.js");
    assert!(!listed.contains("index.php"), "{listed}");
    // Each app has its own persistent cache dir.
    assert!(p.cache_dir("front").is_dir());
}

#[test]
fn a_hook_installs_the_cli_from_a_file_mirror_then_again_offline_from_its_cache() {
    let p = Project::new("install");
    let mirror = p.sb.path().join("mirror");
    write_release_tree(
        &mirror,
        &cli_release("5.10.8", &["platform"], &[this_target()]),
    );
    write_latest_file(&mirror, "upsun", "cli", "v5.10.8");
    let vars = p.var_file(
        "vars.env",
        &format!("env:HOOKSTRAP_MIRROR=file://{}\n", mirror.display()),
    );

    let (out, build) = p.build_kept(&["--var-file", vars.to_str().unwrap()]);
    assert_success(&out);
    let build_path = canonical(&build);
    let err = stderr(&out);
    assert_eq!(read(&build.join("version.txt")), "platform CLI 5.10.8\n");
    assert_contains(&err, ".platformsh/bin: platform\n");
    assert_contains(
        &err,
        &format!(".environment adds to PATH: {build_path}/.platformsh/bin\n"),
    );
    assert_contains(&err, ".environment prints nothing when sourced\n");
    let cache = p.cache_dir("app");
    assert!(
        cache.join("hookstrap").is_dir(),
        "hookstrap's cache under PLATFORM_CACHE_DIR"
    );

    // No mirror now: --offline proves the warm cache in PLATFORM_CACHE_DIR suffices.
    let (out, build) = p.build_kept(&["--offline"]);
    assert_success(&out);
    let err = stderr(&out);
    assert_eq!(read(&build.join("version.txt")), "platform CLI 5.10.8\n");
    let env = env_file(&build.join("hook-env.txt"));
    assert_eq!(env["HOOKSTRAP_OFFLINE"], "1");
    assert!(!env.contains_key("HOOKSTRAP_MIRROR"));
    if err.contains("network: cut") {
        assert_eq!(read(&build.join("hook-netdev.txt")), "lo\n");
    } else {
        assert_contains(&err, "network: NOT cut (");
    }
}

#[test]
fn without_set_e_only_the_last_status_counts_and_it_is_said() {
    let p = Project::new("no-set-e");
    let (out, build) = p.build_kept(&[]);
    assert_success(&out);
    let err = stderr(&out);
    assert_contains(
        &err,
        "warning: the hook has no `set -e`: only its last command's status counts",
    );
    assert!(
        build.join("went-on.txt").exists(),
        "dash went on after `false`"
    );
    // The committed .environment prints: the report says it must not.
    assert_contains(
        &err,
        "warning: .environment prints when sourced, and must not",
    );
    assert_contains(&err, "hello from .environment");
    assert_contains(
        &err,
        &format!(
            ".environment adds to PATH: {}/node_modules/.bin\n",
            canonical(&build)
        ),
    );
    assert_contains(&err, "warning: .environment adds to PATH again each time");
}

#[test]
fn a_failing_hook_exits_with_its_own_status() {
    let p = Project::new("no-set-e");
    let vars = p.var_file("vars.env", "env:FAIL=7\n");
    let out = p.build(&["--var-file", vars.to_str().unwrap()]);
    assert_exit(&out, 7);
    let err = stderr(&out);
    assert_contains(&err, "error: the build hook failed with exit status 7\n");
    assert_contains(&err, "hint: the hook's output is above");
    // A failed build's result is not checked.
    assert!(!err.contains(".environment"), "{err}");
}

#[test]
fn writes_outside_the_allowed_places_are_refused_or_reported() {
    let p = Project::new("outside");
    let vars = p.var_file("vars.env", &format!("env:OUTSIDE={}\n", p.dir.display()));
    let (out, build) = p.build_kept(&["--var-file", vars.to_str().unwrap()]);
    let err = stderr(&out);
    // The build dir ($HOME), $TMPDIR, the cache dir and /dev/null were writable either way.
    assert!(build.join("home-ok.txt").exists(), "{err}");
    assert!(p.cache_dir("app").join("cache-ok.txt").exists(), "{err}");
    let written = p.dir.join("written-by-hook.txt");
    // A checkout that itself lies under /tmp (a clone there) is writable under Landlock too,
    // as /tmp is on the platform: then the write is only reported (see the next test).
    let under_tmp = std::path::Path::new(&canonical(&p.dir)).starts_with("/tmp");
    if under_tmp {
        assert_success(&out);
        assert!(written.exists());
        assert_contains(&err, &format!("{} (new)", canonical(&written)));
    } else if err.contains("refused (Landlock)") {
        // As on the platform: the write fails, and with it the hook (dash's status 2).
        assert_exit(&out, 2);
        assert!(!written.exists());
        assert_contains(&err, "Permission denied");
        assert_contains(&err, "error: the build hook failed with exit status 2");
        assert_contains(&err, "if the hook's errors above say `Permission denied`");
    } else {
        // No Landlock here: the write happens, and the watch reports it.
        assert_success(&out);
        assert!(written.exists());
        assert_contains(&err, "NOT prevented");
        assert_contains(&err, &format!("{} (new)", canonical(&written)));
    }
}

#[test]
fn a_checkout_under_tmp_is_still_watched() {
    // The platform lets a build write anywhere in /tmp, and so does the confinement; the
    // project's own checkout is watched all the same.
    let p = Project::new_in("outside", &std::env::temp_dir());
    let vars = p.var_file("vars.env", &format!("env:OUTSIDE={}\n", p.dir.display()));
    let out = p.build(&["--var-file", vars.to_str().unwrap()]);
    assert_success(&out);
    let written = p.dir.join("written-by-hook.txt");
    assert!(written.exists());
    assert_contains(
        &stderr(&out),
        &format!(
            "warning: changed outside the build dir, the cache dir and /tmp while the hook ran: {} (new)",
            canonical(&written)
        ),
    );
}

#[test]
fn the_time_limit_stops_the_hook_and_what_it_started() {
    let p = Project::new("slow");
    let started = Instant::now();
    let out = p.build(&["--timeout", "2s"]);
    let took = started.elapsed();
    assert_exit(&out, 124);
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let err = stderr(&out);
    assert_contains(&err, "waiting");
    assert_contains(
        &err,
        "error: the build hook did not finish within 2s: stopped it and every process it started",
    );
    // The background `sleep 60` is gone too (or a zombie, where nothing reaps orphans).
    let pid = read(&p.cache_dir("app").join("background.pid"));
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim()));
    if let Ok(status) = status {
        assert_contains(&status, "State:\tZ");
    }
}

#[test]
fn a_bad_timeout_or_config_is_a_usage_error() {
    let p = Project::new("platform-app");
    let out = p.build(&["--timeout", "soon"]);
    assert_exit(&out, 2);
    assert_contains(&stderr(&out), "invalid value `soon` for `--timeout`");

    std::fs::write(
        p.dir.join(".platform.app.yaml"),
        "name: app\nhooks:\n  build: |\n    make\n  deploy: [unclosed\n",
    )
    .unwrap();
    p.commit("broken");
    let out = p.build(&[]);
    assert_exit(&out, 2);
    assert_contains(&stderr(&out), ".platform.app.yaml` at line 6, column 1: ");

    std::fs::write(p.dir.join(".platform.app.yaml"), "name: app\n").unwrap();
    let out = p.build(&[]);
    assert_exit(&out, 2);
    assert_contains(&stderr(&out), "app `app` in ");
    assert_contains(&stderr(&out), "has no build hook (`hooks.build`)");
}

#[test]
fn links_are_copied_only_when_they_stay_inside_the_app() {
    let p = Project::new("platform-app");
    std::os::unix::fs::symlink("committed.txt", p.dir.join("inside")).unwrap();
    std::os::unix::fs::symlink("../../../../etc/passwd", p.dir.join("climbs-out")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", p.dir.join("absolute")).unwrap();
    p.commit("links");
    let (out, build) = p.build_kept(&[]);
    assert_success(&out);
    assert_eq!(
        std::fs::read_link(build.join("inside")).unwrap(),
        Path::new("committed.txt")
    );
    assert!(std::fs::symlink_metadata(build.join("climbs-out")).is_err());
    assert!(std::fs::symlink_metadata(build.join("absolute")).is_err());
    assert_contains(
        &stderr(&out),
        "left out, links that leave the app's root: absolute -> /etc/passwd, climbs-out -> ../../../../etc/passwd",
    );
}

#[test]
fn a_build_dir_that_is_not_empty_is_refused_and_kept() {
    let p = Project::new("platform-app");
    let build = p.sb.path().join("busy");
    std::fs::create_dir(&build).unwrap();
    std::fs::write(build.join("precious"), "keep me").unwrap();
    let out = p.build(&["--build-dir", build.to_str().unwrap()]);
    assert_exit(&out, 2);
    assert_contains(&stderr(&out), "it is not empty");
    assert_eq!(read(&build.join("precious")), "keep me");
}

#[test]
fn a_missing_dash_is_a_usage_error_with_an_apt_hint() {
    let p = Project::new("platform-app");
    // A PATH with git but without dash.
    let bin = p.sb.path().join("bin-without-dash");
    std::fs::create_dir(&bin).unwrap();
    let git = ["/usr/local/bin/git", "/usr/bin/git", "/bin/git"]
        .into_iter()
        .find(|g| Path::new(g).exists())
        .expect("git is installed");
    std::os::unix::fs::symlink(git, bin.join("git")).unwrap();
    let mut cmd = p.sb.cmd();
    cmd.env("PATH", &bin)
        .args(["hook", "build", "--source"])
        .arg(&p.dir);
    let out = run(&mut cmd);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert_contains(
        &err,
        "error: `dash` is not installed; `hook build` needs it",
    );
    assert_contains(&err, "hint: install it, e.g. `apt-get install dash`");
}
