//! What hookstrap says (issue "messages"): `-v` answering the trust questions, errors that name
//! the thing, one JSON vocabulary, help that fits each subcommand, and flags that keep their
//! word. Every message of the issue is asserted here, by text or by JSON, against the local
//! test servers only (DNS failures use names under `.invalid`, which fail without a network).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use clap::CommandFactory;
use common::fixtures::{
    self, Release, cli_release, mount_latest_redirect, mount_release, this_target,
};
use common::server::TestServer;
use common::{Sandbox, assert_exit, assert_success, run, stderr, stdout};

const V: &str = "5.10.8";

/// A server holding the CLI release `V` (`platform` and `upsun` for this machine), `latest`
/// redirecting to it.
fn serve() -> (TestServer, Release) {
    let server = TestServer::start();
    let rel = cli_release(V, &["platform", "upsun"], &[this_target()]);
    mount_release(&server, &rel);
    mount_latest_redirect(&server, "upsun", "cli", &format!("v{V}"));
    (server, rel)
}

fn platform_asset(rel: &Release) -> String {
    rel.asset_name("platform", this_target())
}

/// `hookstrap ARGS...` in `sb`.
fn hookstrap(sb: &Sandbox, args: &[&str]) -> Output {
    sb.run(args)
}

/// The help text of `hookstrap ARGS... --help`.
fn help(args: &[&str]) -> String {
    let sb = Sandbox::new();
    let mut all = args.to_vec();
    all.push("--help");
    let out = hookstrap(&sb, &all);
    assert_success(&out);
    stdout(&out)
}

/// The long option names (`--mirror`) a help text lists.
fn flags_in(help: &str) -> Vec<String> {
    help.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l
                .strip_prefix("-q, ")
                .or_else(|| l.strip_prefix("-v, "))
                .unwrap_or(l);
            l.strip_prefix("--").map(|rest| {
                rest.split([' ', '.', '<', ','])
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
        })
        .filter(|f| !f.is_empty())
        .collect()
}

// ---- help that fits ----------------------------------------------------------------------

#[test]
fn each_subcommand_lists_only_the_options_it_uses() {
    let expected: &[(&[&str], &[&str])] = &[
        (
            &["install"],
            &[
                "target",
                "sha256",
                "app-dir",
                "bin-dir",
                "env-file",
                "no-env-file",
                "cache-dir",
                "lock",
                "mirror",
                "offline",
                "allow-http",
                "min-release-age",
                "max-unpacked",
                "max-entries",
                "max-path-len",
                "bin",
                "asset",
                "jobs",
            ],
        ),
        (
            &["fetch"],
            &[
                "target",
                "sha256",
                "app-dir",
                "cache-dir",
                "lock",
                "mirror",
                "offline",
                "allow-http",
                "min-release-age",
                "bin",
                "asset",
                "jobs",
            ],
        ),
        (
            &["lock"],
            &[
                "target",
                "sha256",
                "app-dir",
                "cache-dir",
                "lock",
                "mirror",
                "offline",
                "allow-http",
                "min-release-age",
                "max-unpacked",
                "max-entries",
                "max-path-len",
                "bin",
                "asset",
                "jobs",
                "upgrade",
                "check",
            ],
        ),
        (
            &["outdated"],
            &[
                "exit-code",
                "app-dir",
                "bin-dir",
                "cache-dir",
                "lock",
                "mirror",
                "offline",
                "allow-http",
                "min-release-age",
            ],
        ),
        (&["cache", "dir"], &["cache-dir"]),
        (&["cache", "list"], &["cache-dir"]),
        (
            &["cache", "verify"],
            &["cache-dir", "max-unpacked", "max-entries", "max-path-len"],
        ),
        (&["cache", "prune"], &["older-than", "all", "cache-dir"]),
        (&["mirror"], &["cache-dir"]),
        (
            &["env"],
            &[
                "app-dir",
                "bin-dir",
                "env-file",
                "no-env-file",
                "cache-dir",
                "lock",
                "mirror",
                "offline",
                "allow-http",
                "min-release-age",
            ],
        ),
        (&["list"], &["app-dir", "bin-dir"]),
        (
            &["uninstall"],
            &["app-dir", "bin-dir", "env-file", "no-env-file"],
        ),
        (&["completions"], &[]),
    ];
    let global = ["quiet", "verbose", "json", "progress", "help"];
    for (command, own) in expected {
        let text = help(command);
        let mut listed = flags_in(&text);
        listed.retain(|f| !global.contains(&f.as_str()));
        let mut own: Vec<String> = own.iter().map(|s| s.to_string()).collect();
        listed.sort();
        own.sort();
        assert_eq!(listed, own, "`{}` --help:\n{text}", command.join(" "));
        for g in ["quiet", "verbose", "json", "progress"] {
            assert!(
                text.contains(&format!("--{g}")),
                "{command:?} lacks --{g}:\n{text}"
            );
        }
    }
}

#[test]
fn every_argument_has_a_description_and_main_commands_have_examples() {
    fn described(cmd: &clap::Command, path: &str) {
        for arg in cmd.get_arguments() {
            assert!(
                arg.get_help()
                    .is_some_and(|h| !h.to_string().trim().is_empty()),
                "`{path}` argument `{}` has no description",
                arg.get_id()
            );
        }
        for sub in cmd.get_subcommands() {
            described(sub, &format!("{path} {}", sub.get_name()));
        }
    }
    let cli = hookstrap::cli::Cli::command();
    described(&cli, "hookstrap");
    for cmd in cli.get_subcommands() {
        let examples = cmd
            .get_after_long_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        let count = examples
            .lines()
            .filter(|l| l.trim_start().starts_with("hookstrap "))
            .count();
        assert!(
            examples.starts_with("Examples:") && (2..=3).contains(&count),
            "`{}` needs two or three examples, has:\n{examples}",
            cmd.get_name()
        );
    }
}

#[test]
fn top_level_help_gives_the_build_hook_recipe() {
    for flag in ["--help", "-h"] {
        let out = hookstrap(&Sandbox::new(), &[flag]);
        assert_success(&out);
        assert!(
            stdout(&out).contains("sh ./hookstrap-install.sh install"),
            "{}",
            stdout(&out)
        );
    }
}

#[test]
fn output_flags_work_before_and_after_the_subcommand() {
    let (server, _rel) = serve();
    let mirror = server.url();
    let spec = format!("platform@{V}");
    for args in [
        vec!["-v", "install", &spec, "--mirror", &mirror],
        vec!["install", "-vv", &spec, "--mirror", &mirror],
        vec!["--json", "install", &spec, "--mirror", &mirror],
        vec!["install", &spec, "--mirror", &mirror, "--json", "-q"],
        vec!["--progress", "never", "install", &spec, "--mirror", &mirror],
    ] {
        let out = hookstrap(&Sandbox::new(), &args);
        assert_success(&out);
    }
}

#[test]
fn a_flag_a_subcommand_does_not_take_is_refused() {
    let sb = Sandbox::new();
    for args in [
        &["completions", "bash", "--max-unpacked", "1"][..],
        &["fetch", "--env-file", "x"][..],
        &["cache", "list", "--mirror", "https://example.com"][..],
    ] {
        let out = hookstrap(&sb, args);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("unexpected argument"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn completions_say_that_they_print_a_script_not_json() {
    let out = hookstrap(&Sandbox::new(), &["completions", "bash", "--json"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("prints a shell script, not JSON"),
        "{}",
        stderr(&out)
    );
    let out = hookstrap(&Sandbox::new(), &["completions", "bash"]);
    assert_success(&out);
    assert!(stdout(&out).contains("hookstrap"));
}

// ---- flags that keep their word ------------------------------------------------------------

#[test]
fn sizes_take_units_and_help_shows_the_default_in_that_syntax() {
    let text = help(&["install"]);
    assert!(text.contains("[default: 1GiB]"), "{text}");
    assert_eq!(
        hookstrap::size::parse("1GiB").unwrap(),
        hookstrap::unpack::Limits::default().max_unpacked_bytes
    );
    let (server, _rel) = serve();
    let spec = format!("platform@{V}");
    let install = |extra: &[&str], env: &[(&str, &str)]| {
        let sb = Sandbox::new();
        let mut cmd = sb.cmd();
        cmd.args(["install", &spec, "--mirror", &server.url()])
            .args(extra)
            .envs(env.iter().copied());
        run(&mut cmd)
    };
    assert_success(&install(&["--max-unpacked", "1MiB"], &[]));
    assert_success(&install(&["--max-unpacked", "1048576"], &[]));
    assert_success(&install(&[], &[("HOOKSTRAP_MAX_UNPACKED", "500MB")]));
    let small = install(&["--max-unpacked", "0.01KB"], &[]);
    assert_exit(&small, 6);
    assert!(
        stderr(&small).contains("more than 10 bytes"),
        "{}",
        stderr(&small)
    );
    assert_exit(&install(&[], &[("HOOKSTRAP_MAX_UNPACKED", "10B")]), 6);
    let bad = install(&["--max-unpacked", "1parsec"], &[]);
    assert_exit(&bad, 2);
    assert!(
        stderr(&bad).contains("unknown unit `parsec`"),
        "{}",
        stderr(&bad)
    );
    let bad = install(&[], &[("HOOKSTRAP_MAX_UNPACKED", "lots")]);
    assert_exit(&bad, 2);
    assert!(
        stderr(&bad).contains("HOOKSTRAP_MAX_UNPACKED"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn progress_always_prints_plain_lines_when_stderr_is_not_a_terminal() {
    let (server, rel) = serve();
    let sb = Sandbox::new();
    let out = hookstrap(
        &sb,
        &[
            "install",
            &format!("platform@{V}"),
            "--mirror",
            &server.url(),
            "--progress",
            "always",
        ],
    );
    assert_success(&out);
    let err = stderr(&out);
    let asset = platform_asset(&rel);
    assert!(
        err.lines()
            .any(|l| l.starts_with(&format!("{asset}: ")) && l.ends_with("(100%)")),
        "{err}"
    );
    assert!(
        !out.stderr.contains(&0x1b),
        "no escape codes without a terminal: {err}"
    );
    // auto (and CI=1, as every test runs) shows none.
    let out = hookstrap(
        &Sandbox::new(),
        &[
            "install",
            &format!("platform@{V}"),
            "--mirror",
            &server.url(),
        ],
    );
    assert!(!stderr(&out).contains("(100%)"), "{}", stderr(&out));
}

/// Runs hookstrap with stderr on a pseudo-terminal (`script`), returning what it drew.
fn run_on_tty(sb: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Vec<u8> {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_hookstrap"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let log = sb.path().join("tty.log");
    let mut cmd = sb.cmd();
    cmd.env_remove("CI")
        .env("TERM", "xterm")
        .envs(env.iter().copied());
    let mut script = Command::new("script");
    script
        .args(["-q", "-e", "-c", &quoted.join(" "), log.to_str().unwrap()])
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(&sb.app)
        .stdin(std::process::Stdio::null());
    assert_success(&run(&mut script));
    std::fs::read(&log).unwrap()
}

#[test]
fn ci_counts_only_when_it_is_true() {
    let (server, _rel) = serve();
    let spec = format!("platform@{V}");
    let args = ["install", spec.as_str(), "--mirror", &server.url()];
    for (ci, bar) in [
        ("false", true),
        ("0", true),
        ("no", true),
        ("true", false),
        ("1", false),
    ] {
        let tty = run_on_tty(&Sandbox::new(), &[("CI", ci)], &args);
        assert_eq!(
            tty.contains(&0x1b),
            bar,
            "CI={ci}: {:?}",
            String::from_utf8_lossy(&tty)
        );
    }
}

// ---- what an error says: the thing, once ---------------------------------------------------

/// The `error:`, `Caused by:` and `hint:` lines of a failure, after checking that no line
/// repeats another (a cause said twice, or restated by the next).
fn error_lines(out: &Output) -> Vec<String> {
    let err = stderr(out);
    let lines: Vec<String> = err
        .lines()
        .filter(|l| l.starts_with("error: ") || l.starts_with("  Caused by: "))
        .map(|l| {
            l.trim_start_matches("error: ")
                .trim_start_matches("  Caused by: ")
                .to_owned()
        })
        .collect();
    for (i, a) in lines.iter().enumerate() {
        for (j, b) in lines.iter().enumerate() {
            assert!(
                i == j || !a.contains(b.as_str()),
                "`{b}` is said twice:\n{err}"
            );
        }
    }
    err.lines().map(str::to_owned).collect()
}

fn has_line(lines: &[String], line: &str) -> bool {
    lines.iter().any(|l| l == line)
}

#[test]
fn a_version_that_does_not_exist_names_the_release_and_the_repository() {
    let (server, _rel) = serve();
    let mirror = server.url();
    let out = hookstrap(
        &Sandbox::new(),
        &["install", "platform@5.10.99", "--mirror", &mirror],
    );
    assert_exit(&out, 3);
    let lines = error_lines(&out);
    assert!(
        has_line(
            &lines,
            &format!("error: the mirror `{mirror}` has no release v5.10.99 of upsun/cli")
        ),
        "{lines:#?}"
    );
    assert!(
        has_line(
            &lines,
            &format!(
                "  Caused by: `{mirror}/upsun/cli/releases/download/v5.10.99/checksums.txt` was not found (HTTP 404)"
            )
        ),
        "{lines:#?}"
    );
    let target = this_target();
    assert!(
        has_line(
            &lines,
            &format!(
                "hint: if github.com has it, the mirror is partial or stale: where github.com is reachable, run `hookstrap fetch platform@5.10.99 --target {target}`, then `hookstrap mirror DIR` into the mirror's tree"
            )
        ),
        "{lines:#?}"
    );
    // Before 5.10.0 the CLI lives in platformsh/cli, with bare tags.
    let out = hookstrap(
        &Sandbox::new(),
        &["install", "platform@5.9.99", "--mirror", &mirror],
    );
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("has no release 5.9.99 of platformsh/cli"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn on_github_itself_the_message_names_the_repository_and_its_releases_page() {
    // github.com cannot be reached from the test suite: the error as built for it.
    use hookstrap::diag::Diagnostic;
    let missing = |asset: Option<&str>| hookstrap::diag::Missing {
        repo: "upsun/cli".into(),
        tag: "v5.10.99".into(),
        asset: asset.map(str::to_owned),
        mirror: None,
        fetch: "platform@5.10.99 --target linux_amd64".into(),
        source: "`https://github.com/…/checksums.txt` was not found (HTTP 404)".into(),
    };
    let release = missing(None);
    assert_eq!(release.to_string(), "upsun/cli has no release v5.10.99");
    assert_eq!(release.exit_code(), 3);
    assert_eq!(
        release.hint().unwrap(),
        "the releases there are: https://github.com/upsun/cli/releases"
    );
    let asset = missing(Some("platform_5.10.99_linux_amd64.tar.gz"));
    assert_eq!(
        asset.to_string(),
        "the release v5.10.99 of upsun/cli has no asset `platform_5.10.99_linux_amd64.tar.gz`"
    );
    assert_eq!(asset.exit_code(), 3);
}

#[test]
fn a_github_release_that_does_not_exist_names_it() {
    let server = TestServer::start();
    let out = hookstrap(
        &Sandbox::new(),
        &[
            "install",
            "github:cli/cli@v9.9.9",
            "--mirror",
            &server.url(),
        ],
    );
    assert_exit(&out, 3);
    let lines = error_lines(&out);
    assert!(
        has_line(
            &lines,
            &format!(
                "error: the mirror `{}` has no release v9.9.9 of cli/cli",
                server.url()
            )
        ),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("hookstrap fetch github:cli/cli@v9.9.9 --target")),
        "{lines:#?}"
    );
}

#[test]
fn a_partial_mirror_with_the_hash_pinned_is_not_found_with_a_fetch_then_mirror_hint() {
    let (server, rel) = serve();
    let sb = Sandbox::new();
    assert_success(&hookstrap(
        &sb,
        &["lock", &format!("platform@{V}"), "--mirror", &server.url()],
    ));
    // The mirror lost the archive; the lock file still pins its hash.
    let asset = platform_asset(&rel);
    server.unroute(&rel.path(&asset));
    let fresh_cache = sb.path().join("fresh-cache");
    let out = hookstrap(
        &sb,
        &[
            "install",
            "--mirror",
            &server.url(),
            "--cache-dir",
            fresh_cache.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 3);
    let lines = error_lines(&out);
    let target = this_target();
    assert!(
        has_line(
            &lines,
            &format!(
                "error: the mirror `{}` has no `{asset}` of upsun/cli v{V}",
                server.url()
            )
        ),
        "{lines:#?}"
    );
    assert!(
        has_line(
            &lines,
            &format!(
                "hint: if github.com has it, the mirror is partial or stale: where github.com is reachable, run `hookstrap fetch platform@{V} --target {target}`, then `hookstrap mirror DIR` into the mirror's tree"
            )
        ),
        "{lines:#?}"
    );
}

#[test]
fn a_mirror_written_without_the_asset_is_not_found_not_a_missing_hash() {
    // `hookstrap mirror` from a cache that holds upsun only: its checksums.txt lists upsun.
    let (server, rel) = serve();
    let sb = Sandbox::new();
    assert_success(&hookstrap(
        &sb,
        &["fetch", &format!("upsun@{V}"), "--mirror", &server.url()],
    ));
    let tree = sb.path().join("tree");
    assert_success(&hookstrap(&sb, &["mirror", tree.to_str().unwrap()]));
    let out = hookstrap(
        &Sandbox::new(),
        &[
            "install",
            &format!("platform@{V}"),
            "--mirror",
            tree.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 3);
    let lines = error_lines(&out);
    let asset = platform_asset(&rel);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("error: the mirror `file://")
                && l.ends_with(&format!("` has no `{asset}` of upsun/cli v{V}"))),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("hint:") && l.contains("hookstrap mirror")),
        "{lines:#?}"
    );
    assert!(
        !stderr(&out).contains("does not publish"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn archive_errors_name_the_tool_the_version_and_the_asset() {
    let server = TestServer::start();
    let mut rel = cli_release(V, &["platform"], &[this_target()]);
    let asset = platform_asset(&rel);
    let mut corrupt = fixtures::gzip(b"not a tar archive, and soon not a gzip stream either");
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[10..mid] {
        *b ^= 0x5a;
    }
    rel.replace_asset(&asset, corrupt);
    rel.refresh_checksums();
    mount_release(&server, &rel);
    let out = hookstrap(
        &Sandbox::new(),
        &[
            "install",
            &format!("platform@{V}"),
            "--mirror",
            &server.url(),
        ],
    );
    assert_exit(&out, 6);
    let lines = error_lines(&out);
    assert!(
        has_line(
            &lines,
            &format!("error: cannot install platform {V} from `{asset}`")
        ),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  Caused by: archive is")),
        "{lines:#?}"
    );

    // No binary in it: the same context, the finder's reason.
    let mut rel = cli_release(V, &["platform"], &[this_target()]);
    rel.replace_asset(&asset, fixtures::tar_gz(&[("README.md", 0o644, b"hi\n")]));
    rel.refresh_checksums();
    mount_release(&server, &rel);
    let out = hookstrap(
        &Sandbox::new(),
        &[
            "install",
            &format!("platform@{V}"),
            "--mirror",
            &server.url(),
        ],
    );
    assert_exit(&out, 6);
    let lines = error_lines(&out);
    assert!(
        has_line(
            &lines,
            &format!("error: cannot install platform {V} from `{asset}`")
        ),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  Caused by: the archive holds no usable `platform`")),
        "{lines:#?}"
    );
}

#[test]
fn an_unknown_tool_points_to_github_specs_and_the_manifest() {
    let out = hookstrap(&Sandbox::new(), &["install", "nope"]);
    assert_exit(&out, 2);
    let lines = error_lines(&out);
    assert!(has_line(&lines, "error: unknown tool `nope`"), "{lines:#?}");
    let hint = lines
        .iter()
        .find(|l| l.starts_with("hint: "))
        .expect("a hint");
    for needle in [
        "github:OWNER/REPO",
        "hookstrap.toml",
        "nope = { github = \"OWNER/REPO\" }",
    ] {
        assert!(hint.contains(needle), "{hint}");
    }
}

// ---- network errors: one readable cause, the chain at -v ----------------------------------

fn install_from(mirror: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let sb = Sandbox::new();
    let mut cmd = sb.cmd();
    cmd.args(["install", &format!("platform@{V}"), "--mirror", mirror])
        .args(extra)
        .env("HOOKSTRAP_RETRIES", "0")
        .envs(env.iter().copied());
    run(&mut cmd)
}

fn caused_by(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("  Caused by: "))
        .collect()
}

#[test]
fn a_name_that_does_not_resolve_is_one_line_and_fails_fast() {
    let started = std::time::Instant::now();
    let out = install_from(
        "https://nowhere.invalid",
        &[],
        &[("HOOKSTRAP_TIMEOUT", "5")],
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_exit(&out, 4);
    let lines = error_lines(&out);
    assert_eq!(
        caused_by(&lines),
        ["cannot resolve nowhere.invalid: no such host"],
        "{lines:#?}"
    );
    assert!(!stderr(&out).contains("Query {"), "{}", stderr(&out));
    // -v: the whole chain, the resolver's own words included.
    let out = install_from(
        "https://nowhere.invalid",
        &["-v"],
        &[("HOOKSTRAP_TIMEOUT", "5")],
    );
    assert_exit(&out, 4);
    let lines = error_lines(&out);
    let causes = caused_by(&lines);
    assert_eq!(causes[0], "cannot resolve nowhere.invalid: no such host");
    assert!(causes.len() > 2, "{lines:#?}");
    assert!(causes.iter().any(|c| c.contains("dns error")), "{lines:#?}");
}

#[test]
fn a_refused_connection_names_the_address() {
    let out = install_from("http://127.0.0.1:1", &[], &[]);
    assert_exit(&out, 4);
    let lines = error_lines(&out);
    assert_eq!(
        caused_by(&lines),
        ["connection refused by 127.0.0.1:1"],
        "{lines:#?}"
    );
    let out = install_from("http://127.0.0.1:1", &["-v"], &[]);
    let lines = error_lines(&out);
    assert!(
        caused_by(&lines).iter().any(|c| c.contains("os error")),
        "{lines:#?}"
    );
}

#[test]
fn an_untrusted_certificate_says_so_in_one_line() {
    let ca = common::tls::TestCa::new();
    let server = TestServer::start_tls(&ca);
    let out = install_from(&server.url(), &[], &[]);
    assert_exit(&out, 4);
    let lines = error_lines(&out);
    assert_eq!(
        caused_by(&lines),
        [
            "TLS: certificate not trusted: issued by an authority that is not among the trusted roots"
        ],
        "{lines:#?}"
    );
    // Trusted, but for another name.
    let other = TestServer::start_tls_for(&ca, &["example.test"]);
    let sb = Sandbox::new();
    let pem = ca.write_pem(sb.path());
    let out = install_from(
        &other.url(),
        &[],
        &[("SSL_CERT_FILE", pem.to_str().unwrap())],
    );
    assert_exit(&out, 4);
    let lines = error_lines(&out);
    assert_eq!(
        caused_by(&lines),
        ["TLS: certificate not trusted: it is not valid for `localhost`"],
        "{lines:#?}"
    );
}

#[test]
fn causes_are_said_once() {
    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }
    let chain = E(
        "request to `u` failed",
        Some(Box::new(E(
            "dns error",
            Some(Box::new(E(
                "dns error: no records",
                Some(Box::new(E(
                    "no records",
                    Some(Box::new(E("request to `u` failed", None))),
                ))),
            ))),
        ))),
    );
    assert_eq!(
        hookstrap::report::causes(&chain, true),
        ["dns error", "no records"]
    );
}

// ---- -v answers the trust questions ---------------------------------------------------------

#[test]
fn a_tool_the_manifest_declares_is_a_spec() {
    let server = TestServer::start();
    let arch = if this_target() == "linux_arm64" {
        "arm64"
    } else {
        "amd64"
    };
    let bytes = b"#!/bin/sh\necho acme 1.0.0\n".to_vec();
    let rel = fixtures::github_release(
        "acme",
        "tool",
        "v1.0.0",
        vec![(format!("tool-linux-{arch}"), bytes)],
    );
    fixtures::mount_github_release(&server, &rel, true);
    let sb = Sandbox::new();
    std::fs::write(
        sb.app.join("hookstrap.toml"),
        "[tools]\nacme = { github = \"acme/tool\", version = \"v1.0.0\" }\n",
    )
    .unwrap();
    for spec in ["acme", "acme@v1.0.0"] {
        let out = hookstrap(&sb, &["install", spec, "--mirror", &server.url(), "-v"]);
        assert_success(&out);
        assert!(sb.bin_dir().join("acme").is_file());
        assert!(
            stderr(&out).contains("resolved acme@v1.0.0 to acme 1.0.0 (acme/tool v1.0.0)"),
            "{}",
            stderr(&out)
        );
    }
}

fn verbose_install(sb: &Sandbox, args: &[&str]) -> Vec<String> {
    let mut all = vec!["-v", "install"];
    all.extend_from_slice(args);
    let out = hookstrap(sb, &all);
    assert_success(&out);
    stderr(&out).lines().map(str::to_owned).collect()
}

#[test]
fn verbose_says_what_was_resolved_where_the_hash_came_from_and_the_cache_use() {
    let (server, rel) = serve();
    let url = server.url();
    let asset = platform_asset(&rel);
    let sha = rel.sha256(&asset);
    let target = this_target();
    let sb = Sandbox::new();
    let lines = verbose_install(&sb, &["platform@latest", "--mirror", &url]);
    let expect = [
        format!(
            "resolved platform@latest to platform {V} (upsun/cli v{V}): `{url}/upsun/cli/releases/latest` names v{V}"
        ),
        format!(
            "platform {V} ({target}): `{asset}` must hash to sha256 {sha}, from `{url}/upsun/cli/releases/download/v{V}/checksums.txt`"
        ),
    ];
    for line in &expect {
        assert!(has_line(&lines, line), "no line `{line}` in:\n{lines:#?}");
    }
    let size = rel.bytes(&asset).len();
    let miss = format!(
        "platform {V} ({target}): cache miss: downloaded {size} B from `{url}/upsun/cli/releases/download/v{V}/{asset}` in "
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&miss) && l.ends_with('s')),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("installed platform {V} (downloaded) → "))),
        "{lines:#?}"
    );

    // Another app dir, the same cache: a hit, and the default line says so.
    let other = Sandbox::new();
    let mut cmd = other.cmd();
    cmd.args(["-v", "install", &format!("platform@{V}"), "--mirror", &url])
        .env("HOOKSTRAP_CACHE_DIR", &sb.cache);
    let out = run(&mut cmd);
    assert_success(&out);
    let lines: Vec<String> = stderr(&out).lines().map(str::to_owned).collect();
    assert!(
        has_line(
            &lines,
            &format!(
                "resolved platform@{V} to platform {V} (upsun/cli v{V}): {V} asked for on the command line"
            )
        ),
        "{lines:#?}"
    );
    let blob = sb.cache.join("blobs/sha256").join(&sha);
    assert!(
        has_line(
            &lines,
            &format!(
                "platform {V} ({target}): cache hit: {size} B, `{}`",
                blob.display()
            )
        ),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("installed platform {V} (cached) → "))),
        "{lines:#?}"
    );
    // Once more: already there.
    let lines = verbose_install(&sb, &["platform@latest", "--mirror", &url]);
    assert!(
        has_line(
            &lines,
            &format!(
                "platform {V} ({target}): the bin dir holds it already (its receipt and the binary match)"
            )
        ),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("already installed: platform {V} → "))),
        "{lines:#?}"
    );
}

#[test]
fn the_default_line_says_downloaded_or_cached() {
    let (server, _rel) = serve();
    let sb = Sandbox::new();
    let spec = format!("platform@{V}");
    let out = hookstrap(&sb, &["install", &spec, "--mirror", &server.url()]);
    assert_success(&out);
    let bin = std::fs::canonicalize(sb.bin_dir())
        .unwrap()
        .join("platform");
    assert!(
        stderr(&out).contains(&format!(
            "installed platform {V} (downloaded) → {}\n",
            bin.display()
        )),
        "{}",
        stderr(&out)
    );
    let other = Sandbox::new();
    let mut cmd = other.cmd();
    cmd.args(["install", &spec, "--mirror", &server.url()])
        .env("HOOKSTRAP_CACHE_DIR", &sb.cache);
    let out = run(&mut cmd);
    assert_success(&out);
    assert!(
        stderr(&out).contains(&format!("installed platform {V} (cached) → ")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn verbose_says_why_a_version_was_chosen() {
    let (server, _rel) = serve();
    let url = server.url();
    // The lock file.
    let sb = Sandbox::new();
    assert_success(&hookstrap(
        &sb,
        &["lock", &format!("platform@{V}"), "--mirror", &url],
    ));
    let lock = sb.lock_file();
    let lines = verbose_install(&sb, &["--mirror", &url]);
    let pinned = format!("pinned by the lock file `{}`", lock.display());
    assert!(
        has_line(
            &lines,
            &format!("resolved platform@{V} to platform {V} (upsun/cli v{V}): {pinned}")
        ),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(&format!(", from the lock file `{}`", lock.display()))),
        "{lines:#?}"
    );
    // The manifest.
    let sb = Sandbox::new();
    std::fs::write(
        sb.app.join("hookstrap.toml"),
        format!("[tools]\nplatform = \"{V}\"\n"),
    )
    .unwrap();
    let lines = verbose_install(&sb, &["--mirror", &url]);
    assert!(
        has_line(
            &lines,
            &format!(
                "resolved platform@{V} to platform {V} (upsun/cli v{V}): hookstrap.toml asks for {V}"
            )
        ),
        "{lines:#?}"
    );
    // Nothing at all.
    let sb = Sandbox::new();
    let lines = verbose_install(&sb, &["--mirror", &url]);
    assert!(
        has_line(
            &lines,
            &format!(
                "resolved platform@latest to platform {V} (upsun/cli v{V}): no SPEC, hookstrap.toml or lock file, so the latest; `{url}/upsun/cli/releases/latest` names v{V}"
            )
        ),
        "{lines:#?}"
    );
}

#[test]
fn certificates_are_one_line_at_v_and_one_per_file_at_vv() {
    let ca = common::tls::TestCa::new();
    let server = TestServer::start_tls(&ca);
    let rel = cli_release(V, &["platform"], &[this_target()]);
    mount_release(&server, &rel);
    let sb = Sandbox::new();
    let dir = sb.path().join("certs");
    std::fs::create_dir(&dir).unwrap();
    let pem = ca.write_pem(&dir);
    // A hash link, as c_rehash makes: the same certificate under a second name.
    std::os::unix::fs::symlink(&pem, dir.join("0badcafe.0")).unwrap();
    let env = [("SSL_CERT_DIR", dir.to_str().unwrap())];
    let out = install_from(&server.url(), &["-v"], &env);
    assert_success(&out);
    let err = stderr(&out);
    let tls: Vec<&str> = err.lines().filter(|l| l.contains("certificate")).collect();
    assert_eq!(tls.len(), 1, "one line about certificates:\n{err}");
    assert!(tls[0].starts_with("TLS: "), "{err}");
    assert!(
        tls[0].ends_with(&format!(
            "2 in 2 file(s) of SSL_CERT_DIR `{}`",
            dir.display()
        )),
        "{err}"
    );
    assert!(tls[0].contains("bundled (Mozilla)"), "{err}");
    assert!(!err.contains("trusting 1 certificate"), "{err}");
    // -vv: each file, and that the second copy adds nothing.
    let out = install_from(&server.url(), &["-vv"], &env);
    assert_success(&out);
    let err = stderr(&out);
    let per_file: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("SSL_CERT_DIR `"))
        .collect();
    assert_eq!(per_file.len(), 2, "{err}");
    assert!(
        per_file.iter().all(|l| l.contains(": 1 certificate(s), ")),
        "{err}"
    );
    assert!(
        per_file
            .iter()
            .any(|l| l.ends_with("0 not already trusted")),
        "{err}"
    );
}

// ---- one JSON vocabulary (docs/json.md) ----------------------------------------------------

/// A value's type in docs/json.md.
#[derive(Clone, Copy, Debug)]
enum Ty {
    Str,
    Int,
    Bool,
    /// `"hit"` or `"miss"`.
    Cache,
    /// An array of strings.
    Strs,
    /// An object of strings.
    StrMap,
    /// An array of objects with these keys.
    Arts(&'static [Key]),
}

/// Whether a key must be there.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Need {
    /// There, not null.
    Always,
    /// There, maybe null.
    Nullable,
    /// Maybe absent, never null.
    Optional,
}

#[derive(Clone, Copy, Debug)]
struct Key(&'static str, Ty, Need);

use Need::{Always, Nullable, Optional};
use Ty::{Arts, Bool, Cache, Int, Str, StrMap, Strs};

const INSTALLED: &[Key] = &[
    Key("tool", Str, Always),
    Key("version", Str, Always),
    Key("target", Str, Always),
    Key("url", Str, Always),
    Key("sha256", Str, Always),
    Key("size", Int, Optional),
    Key("cache", Cache, Always),
    Key("changed", Bool, Always),
    Key("bin", Str, Always),
    Key("env_file", Str, Nullable),
];
const FETCHED: &[Key] = &[
    Key("tool", Str, Always),
    Key("version", Str, Always),
    Key("target", Str, Always),
    Key("url", Str, Always),
    Key("sha256", Str, Always),
    Key("size", Int, Always),
    Key("cache", Cache, Always),
    Key("path", Str, Always),
    Key("bin", Str, Nullable),
    Key("env_file", Str, Nullable),
];
const LOCKED: &[Key] = &[
    Key("tool", Str, Always),
    Key("version", Str, Always),
    Key("target", Str, Always),
    Key("url", Str, Always),
    Key("sha256", Str, Always),
    Key("size", Int, Always),
    Key("cache", Cache, Always),
    Key("bin_blake3", Str, Always),
    Key("source", Str, Optional),
    Key("command", Str, Optional),
    Key("bin", Str, Nullable),
    Key("env_file", Str, Nullable),
];
const CACHED: &[Key] = &[
    Key("tool", Str, Always),
    Key("version", Str, Always),
    Key("target", Str, Always),
    Key("owner", Str, Always),
    Key("repo", Str, Always),
    Key("tag", Str, Always),
    Key("asset", Str, Always),
    Key("url", Str, Always),
    Key("sha256", Str, Always),
    Key("size", Int, Always),
    Key("path", Str, Always),
    Key("last_used", Int, Always),
];
const MIRRORED: &[Key] = &[
    Key("tool", Str, Always),
    Key("version", Str, Always),
    Key("target", Str, Always),
    Key("owner", Str, Always),
    Key("repo", Str, Always),
    Key("tag", Str, Always),
    Key("asset", Str, Always),
    Key("url", Str, Always),
    Key("sha256", Str, Always),
    Key("size", Int, Always),
    Key("path", Str, Always),
];
const MOVED: &[Key] = &[
    Key("tool", Str, Always),
    Key("from", Str, Nullable),
    Key("to", Str, Always),
];
const OUTDATED: &[Key] = &[
    Key("tool", Str, Always),
    Key("version", Str, Nullable),
    Key("latest", Str, Nullable),
    Key("behind", Bool, Always),
];
const LISTED: &[Key] = &[
    Key("tool", Str, Always),
    Key("version", Str, Always),
    Key("target", Str, Always),
    Key("sha256", Str, Always),
    Key("bin", Str, Always),
];

/// The top-level keys of each command's object.
fn schema(command: &str) -> Vec<Key> {
    let batch = |art: &'static [Key]| {
        let mut keys = art.to_vec();
        keys.push(Key("artifacts", Arts(art), Always));
        keys
    };
    match command {
        "install" => batch(INSTALLED),
        "fetch" => batch(FETCHED),
        "lock" => {
            let mut keys = batch(LOCKED);
            keys.push(Key("lock_file", Str, Always));
            keys.push(Key("moved", Arts(MOVED), Always));
            keys
        }
        "outdated" => vec![Key("artifacts", Arts(OUTDATED), Always)],
        "cache dir" => vec![Key("cache_dir", Str, Always)],
        "cache list" => vec![
            Key("cache_dir", Str, Always),
            Key("artifacts", Arts(CACHED), Always),
        ],
        "cache verify" => vec![Key("cache_dir", Str, Always), Key("intact", Bool, Always)],
        "cache prune" => vec![
            Key("cache_dir", Str, Always),
            Key("removed", Int, Always),
            Key("size", Int, Always),
        ],
        "mirror" => vec![
            Key("mirror", Str, Always),
            Key("cache_dir", Str, Always),
            Key("artifacts", Arts(MIRRORED), Always),
        ],
        "env" => vec![
            Key("app_dir", Str, Always),
            Key("bin_dir", Str, Always),
            Key("env_file", Str, Nullable),
            Key("cache_dir", Str, Always),
            Key("lock_file", Str, Nullable),
            Key("mirror", Str, Always),
            Key("target", Str, Nullable),
            Key("offline", Bool, Always),
            Key("token", Str, Always),
            Key("variables", StrMap, Always),
        ],
        "list" => vec![
            Key("bin_dir", Str, Always),
            Key("artifacts", Arts(LISTED), Always),
        ],
        "uninstall" => vec![
            Key("bin_dir", Str, Always),
            Key("env_file", Str, Nullable),
            Key("removed", Int, Always),
            Key("artifacts", Arts(LISTED), Always),
        ],
        "error" => vec![
            Key("error", Str, Always),
            Key("code", Int, Always),
            Key("hint", Str, Nullable),
            Key("causes", Strs, Always),
        ],
        other => panic!("no schema for {other}"),
    }
}

/// Checks `value` against `keys`: every key there with its type, and no other key.
fn check(value: &serde_json::Value, keys: &[Key], at: &str) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{at}: not an object: {value}"));
    for name in object.keys() {
        assert!(
            keys.iter().any(|k| k.0 == name),
            "{at}: `{name}` is not documented in docs/json.md: {value}"
        );
    }
    for Key(name, ty, need) in keys {
        let at = format!("{at}.{name}");
        match (object.get(*name), need) {
            (None, Optional) => continue,
            (None, _) => panic!("{at} is missing: {value}"),
            (Some(serde_json::Value::Null), Nullable) => continue,
            (Some(v), _) => check_type(v, *ty, &at),
        }
    }
}

fn check_type(v: &serde_json::Value, ty: Ty, at: &str) {
    let ok = match ty {
        Str => v.is_string(),
        Int => v.is_u64(),
        Bool => v.is_boolean(),
        Cache => v == "hit" || v == "miss",
        Strs => v
            .as_array()
            .is_some_and(|a| a.iter().all(|s| s.is_string())),
        StrMap => v
            .as_object()
            .is_some_and(|m| m.values().all(|s| s.is_string())),
        Arts(keys) => {
            let items = v
                .as_array()
                .unwrap_or_else(|| panic!("{at}: not an array: {v}"));
            for (i, item) in items.iter().enumerate() {
                check(item, keys, &format!("{at}[{i}]"));
            }
            true
        }
    };
    assert!(ok, "{at}: expected {ty:?}, got {v}");
}

/// One JSON object on one line of stdout.
fn json_of(out: &Output) -> serde_json::Value {
    let text = stdout(out);
    assert_eq!(
        text.lines().count(),
        1,
        "one line of JSON:\n{text}\n{}",
        stderr(out)
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[test]
fn every_command_prints_the_documented_json() {
    let (server, _rel) = serve();
    let mirror = server.url();
    let sb = Sandbox::new();
    let tree = sb.path().join("mirror-tree");
    let tree = tree.to_str().unwrap();
    let spec = format!("platform@{V}");
    let upsun = format!("upsun@{V}");
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("fetch", vec!["fetch", &spec, "--mirror", &mirror]),
        ("lock", vec!["lock", &spec, "--mirror", &mirror]),
        ("install", vec!["install", "--mirror", &mirror]),
        ("install", vec!["install", &upsun, "--mirror", &mirror]),
        ("list", vec!["list"]),
        ("outdated", vec!["outdated", "--mirror", &mirror]),
        ("env", vec!["env", "--mirror", &mirror]),
        ("cache dir", vec!["cache", "dir"]),
        ("cache list", vec!["cache", "list"]),
        ("cache verify", vec!["cache", "verify"]),
        ("mirror", vec!["mirror", tree]),
        ("uninstall", vec!["uninstall", "upsun"]),
        ("cache prune", vec!["cache", "prune", "--all"]),
    ];
    for (command, mut args) in runs {
        args.push("--json");
        let out = hookstrap(&sb, &args);
        assert_success(&out);
        let value = json_of(&out);
        check(&value, &schema(command), command);
        if let Some(arts) = value.get("artifacts").and_then(|a| a.as_array()) {
            assert!(!arts.is_empty(), "{command}: {value}");
        }
    }
    // Failures: the error object, whatever failed; the text stays on stderr.
    for (args, code) in [
        (vec!["install", "nope", "--json"], 2),
        (vec!["--json", "install", "--no-such-flag"], 2),
        (vec!["completions", "bash", "--json"], 2),
        (
            vec!["--json", "install", "platform@5.10.99", "--mirror", &mirror],
            3,
        ),
    ] {
        let out = hookstrap(&Sandbox::new(), &args);
        assert_exit(&out, code);
        let value = json_of(&out);
        check(&value, &schema("error"), &format!("{args:?}"));
        assert_eq!(value["code"], code);
        let first = stderr(&out).lines().next().unwrap_or_default().to_owned();
        assert_eq!(
            first,
            format!("error: {}", value["error"].as_str().unwrap()),
            "stderr keeps the text"
        );
    }
}

#[test]
fn docs_json_md_lists_every_key_and_no_other() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md"))
        .unwrap();
    let mut used: Vec<&str> = Vec::new();
    fn collect(keys: &[Key], used: &mut Vec<&'static str>) {
        for Key(name, ty, _) in keys {
            used.push(name);
            if let Arts(inner) = ty {
                collect(inner, used);
            }
        }
    }
    for command in [
        "install",
        "fetch",
        "lock",
        "outdated",
        "cache dir",
        "cache list",
        "cache verify",
        "cache prune",
        "mirror",
        "env",
        "list",
        "uninstall",
        "error",
    ] {
        collect(&schema(command), &mut used);
    }
    used.sort();
    used.dedup();
    // The first column of the two key tables (before "Per command"): `key` (or `a`, `b`, …).
    let tables = doc.split("## Per command").next().unwrap_or_default();
    let documented: Vec<String> = tables
        .lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| {
            let first = l.split('|').nth(1).unwrap_or_default();
            first
                .split('`')
                .enumerate()
                .filter(|(i, _)| i % 2 == 1)
                .map(|(_, k)| k.to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    for key in &used {
        assert!(
            documented.iter().any(|d| d == key),
            "`{key}` is not in docs/json.md"
        );
    }
    for key in &documented {
        assert!(
            used.contains(&key.as_str()),
            "docs/json.md lists `{key}`, which no command prints"
        );
    }
}
