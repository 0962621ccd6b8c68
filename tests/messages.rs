//! What hookstrap says (issue "messages"): `-v` answering the trust questions, errors that name
//! the thing, one JSON vocabulary, help that fits each subcommand, and flags that keep their
//! word. Every message of the issue is asserted here, by text or by JSON, against the local
//! test servers only (DNS failures use names under `.invalid`, which fail without a network).

mod common;

use std::process::{Command, Output};

use clap::CommandFactory;
use common::fixtures::{Release, cli_release, mount_latest_redirect, mount_release, this_target};
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
                "max-unpacked",
                "max-entries",
                "max-path-len",
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
                "max-unpacked",
                "max-entries",
                "max-path-len",
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
