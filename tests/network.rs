//! Network robustness against the local fault-injecting server: retries (and what is never
//! retried), resume with `Range`, the idle timeout, plain-http and redirect policy, tokens and
//! credentials that never leak, and name resolution of `localhost`.
//!
//! Every test runs the real binary in its own Sandbox (which sets `HOOKSTRAP_RETRY_MAX_DELAY=0`,
//! so retries do not sleep; the retry messages still say how long a real run would wait).

mod common;

use std::net::TcpListener;
use std::process::Output;

use common::fixtures::{self, Release};
use common::server::{Behavior, TestServer};
use common::tls::TestCa;
use common::{Sandbox, assert_exit, assert_success, stderr, stdout};

const VERSION: &str = "5.10.8";
const TOKEN: &str = "ghp_s3cretT0kenThatMustNeverLeak0123456789";

/// A release of `platform` for this machine, mounted on `server`; returns it with the path of
/// its archive.
fn mounted(server: &TestServer) -> (Release, String) {
    let rel = fixtures::cli_release(VERSION, &["platform"], &[fixtures::this_target()]);
    fixtures::mount_release(server, &rel);
    let asset = rel.asset_name("platform", fixtures::this_target());
    let path = rel.path(&asset);
    (rel, path)
}

fn archive(rel: &Release) -> Vec<u8> {
    rel.bytes(&rel.asset_name("platform", fixtures::this_target()))
        .to_vec()
}

fn install(sb: &Sandbox, mirror: &str, extra: &[&str]) -> Output {
    let spec = format!("platform@{VERSION}");
    let mut args = vec!["install", spec.as_str(), "--mirror", mirror];
    args.extend_from_slice(extra);
    sb.run(&args)
}

fn install_env(sb: &Sandbox, mirror: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let spec = format!("platform@{VERSION}");
    let mut cmd = sb.cmd();
    cmd.args(["install", spec.as_str(), "--mirror", mirror])
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    common::run(&mut cmd)
}

#[track_caller]
fn assert_installed(sb: &Sandbox) {
    assert!(
        sb.bin_dir().join("platform").is_file(),
        "platform is not installed in {}",
        sb.bin_dir().display()
    );
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn range_headers(server: &TestServer, path: &str) -> Vec<Option<String>> {
    server
        .requests()
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.header("range").map(str::to_owned))
        .collect()
}

// ---- retries ----------------------------------------------------------------------------

#[test]
fn a_500_is_retried_and_the_install_succeeds() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    server.route(
        &path,
        Behavior::status(500)
            .times(1)
            .then(Behavior::file(archive(&rel))),
    );
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_success(&out);
    assert_installed(&sb);
    assert_eq!(server.count(&path), 2);
    let err = stderr(&out);
    assert!(err.contains("retry 1/4"), "{err}");
    assert!(err.contains("HTTP 500"), "the retry says why: {err}");
}

#[test]
fn retry_messages_are_silent_with_quiet() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    server.route(
        &path,
        Behavior::status(503)
            .times(1)
            .then(Behavior::file(archive(&rel))),
    );
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &["-q"]);
    assert_success(&out);
    assert_eq!(server.count(&path), 2);
    assert!(!stderr(&out).contains("retry"), "{}", stderr(&out));
}

#[test]
fn a_persistent_5xx_gives_up_after_the_retries_with_exit_4() {
    let server = TestServer::start();
    let (_rel, path) = mounted(&server);
    server.route(&path, Behavior::status(503));
    let sb = Sandbox::new();
    let out = install_env(&sb, &server.url(), &[], &[("HOOKSTRAP_RETRIES", "2")]);
    assert_exit(&out, 4);
    assert_eq!(server.count(&path), 3, "one try and two retries");
    let err = stderr(&out);
    assert!(err.contains("retry 2/2"), "{err}");
    assert!(!err.contains("retry 3/"), "{err}");
    assert!(err.contains("error:") && err.contains("HTTP 503"), "{err}");
    assert!(!sb.bin_dir().join("platform").exists());
}

#[test]
fn zero_retries_means_one_try() {
    let server = TestServer::start();
    let (_rel, path) = mounted(&server);
    server.route(&path, Behavior::status(500));
    let sb = Sandbox::new();
    let out = install_env(&sb, &server.url(), &[], &[("HOOKSTRAP_RETRIES", "0")]);
    assert_exit(&out, 4);
    assert_eq!(server.count(&path), 1);
    assert!(!stderr(&out).contains("retry"), "{}", stderr(&out));
}

#[test]
fn a_408_is_retried() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    server.route(
        &path,
        Behavior::status(408)
            .times(1)
            .then(Behavior::file(archive(&rel))),
    );
    let sb = Sandbox::new();
    assert_success(&install(&sb, &server.url(), &[]));
    assert_eq!(server.count(&path), 2);
}

#[test]
fn a_429_with_retry_after_waits_as_asked() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    server.route(
        &path,
        Behavior::status(429)
            .header("Retry-After", "7")
            .times(1)
            .then(Behavior::file(archive(&rel))),
    );
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_success(&out);
    assert_eq!(server.count(&path), 2);
    let err = stderr(&out);
    assert!(err.contains("in 7.0s"), "the server's delay is used: {err}");
    assert!(err.contains("HTTP 429"), "{err}");
}

#[test]
fn a_huge_retry_after_is_capped() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    server.route(
        &path,
        Behavior::status(503)
            .header("Retry-After", "86400")
            .times(1)
            .then(Behavior::file(archive(&rel))),
    );
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_success(&out);
    assert!(stderr(&out).contains("in 60.0s"), "{}", stderr(&out));
}

#[test]
fn a_rate_limited_403_is_retried_until_the_reset() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    server.route(
        &path,
        Behavior::status(403)
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", (now + 30).to_string())
            .times(1)
            .then(Behavior::file(archive(&rel))),
    );
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_success(&out);
    assert_eq!(server.count(&path), 2);
    let err = stderr(&out);
    assert!(err.contains("rate limit"), "{err}");
    // The wait comes from the reset time (about 30s, never the 0.5s backoff), and is capped.
    assert!(!err.contains(" in 0."), "{err}");
}

#[test]
fn a_plain_403_is_not_retried() {
    let server = TestServer::start();
    let (_rel, path) = mounted(&server);
    server.route(&path, Behavior::status(403));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_exit(&out, 4);
    assert_eq!(server.count(&path), 1);
    let err = stderr(&out);
    assert!(!err.contains("retry"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn a_401_is_not_retried() {
    let server = TestServer::start();
    let (_rel, path) = mounted(&server);
    server.route(&path, Behavior::status(401));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_exit(&out, 4);
    assert_eq!(server.count(&path), 1);
    assert!(!stderr(&out).contains("retry"), "{}", stderr(&out));
}

#[test]
fn a_404_is_exit_3_and_not_retried() {
    let server = TestServer::start();
    let (_rel, path) = mounted(&server);
    server.route(&path, Behavior::status(404));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_exit(&out, 3);
    assert_eq!(server.count(&path), 1);
    assert!(!stderr(&out).contains("retry"), "{}", stderr(&out));
}

#[test]
fn a_refused_connection_is_retried_then_exit_4() {
    let port = closed_port();
    let sb = Sandbox::new();
    let out = install_env(
        &sb,
        &format!("http://127.0.0.1:{port}"),
        &[],
        &[("HOOKSTRAP_RETRIES", "1")],
    );
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(err.contains("retry 1/1"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn a_failing_latest_lookup_is_retried() {
    let server = TestServer::start();
    let (rel, _path) = mounted(&server);
    let latest = format!("/{}/{}/releases/latest", rel.owner, rel.repo);
    server.route(
        &latest,
        Behavior::status(502)
            .times(1)
            .then(Behavior::ok(format!("{}\n", rel.tag))),
    );
    let sb = Sandbox::new();
    let out = sb.run(&["install", "platform", "--mirror", &server.url()]);
    assert_success(&out);
    assert_eq!(server.count(&latest), 2);
    assert!(stderr(&out).contains("retry 1/4"), "{}", stderr(&out));
}

// ---- resume -----------------------------------------------------------------------------

#[test]
fn a_cut_stream_resumes_with_range_and_the_hash_covers_every_byte() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    let body = archive(&rel);
    let third = body.len() / 3;
    server.route(
        &path,
        Behavior::truncated_then_file(body.clone(), third, 1, true).header("ETag", "\"v1\""),
    );
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_success(&out);
    assert_installed(&sb);
    assert_eq!(
        range_headers(&server, &path),
        vec![None, Some(format!("bytes={third}-"))]
    );
    let resumed = server
        .requests()
        .into_iter()
        .rfind(|r| r.path == path)
        .unwrap();
    assert_eq!(
        resumed.header("if-range"),
        Some("\"v1\""),
        "the resume is conditional on the same file"
    );
    // The blob in the cache is the whole file (the cache re-verifies it by its hash on reuse).
    let again = sb.run(&[
        "install",
        &format!("platform@{VERSION}"),
        "--mirror",
        &server.url(),
        "--offline",
    ]);
    assert_success(&again);
}

#[test]
fn a_cut_stream_starts_over_when_the_server_ignores_range() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    let body = archive(&rel);
    let third = body.len() / 3;
    server.route(
        &path,
        Behavior::truncated_then_file(body.clone(), third, 1, false),
    );
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_success(&out);
    assert_installed(&sb);
    // It asked to resume, got a 200 with everything, and took that from byte 0.
    assert_eq!(
        range_headers(&server, &path),
        vec![None, Some(format!("bytes={third}-"))]
    );
}

#[test]
fn a_stream_cut_twice_is_fetched_until_complete() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    let body = archive(&rel);
    let third = body.len() / 3;
    server.route(&path, Behavior::truncated_then_file(body, third, 2, true));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_success(&out);
    // The second answer ignored the range (a 200, cut again): the third resumes from the
    // bytes of the second.
    assert_eq!(
        range_headers(&server, &path),
        vec![
            None,
            Some(format!("bytes={third}-")),
            Some(format!("bytes={third}-"))
        ]
    );
    let err = stderr(&out);
    assert!(
        err.contains("retry 1/4") && err.contains("retry 2/4"),
        "{err}"
    );
}

#[test]
fn resumed_bytes_from_a_changed_file_are_fetched_again_from_scratch() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    let body = archive(&rel);
    let third = body.len() / 3;
    // The first answer is an older file of the same size, cut after a third; the server then
    // resumes from the new one. The spliced bytes cannot match: hookstrap starts over.
    let mut old = body.clone();
    for b in &mut old[..third] {
        *b ^= 0x5a;
    }
    server.route(
        &path,
        Behavior::close_after(old, third)
            .times(1)
            .then(Behavior::file(body)),
    );
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_success(&out);
    assert_installed(&sb);
    assert_eq!(
        range_headers(&server, &path),
        vec![None, Some(format!("bytes={third}-")), None]
    );
    assert!(stderr(&out).contains("starts over"), "{}", stderr(&out));
}

#[test]
fn a_resume_that_answers_for_a_file_of_another_size_starts_over() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    let body = archive(&rel);
    let third = body.len() / 3;
    // The first answer announces a longer file; the 206 that follows names the real total.
    let mut longer = body.clone();
    longer.extend_from_slice(&[0u8; 100]);
    server.route(
        &path,
        Behavior::close_after(longer, third)
            .times(1)
            .then(Behavior::file(body)),
    );
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_success(&out);
    assert_eq!(
        range_headers(&server, &path),
        vec![None, Some(format!("bytes={third}-")), None]
    );
    assert!(stderr(&out).contains("another range"), "{}", stderr(&out));
}

#[test]
fn a_416_to_a_resume_starts_over() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    let body = archive(&rel);
    // The first answer is a longer file cut past the real one's end: resuming there is a 416.
    let mut longer = body.clone();
    longer.extend_from_slice(&vec![0u8; body.len()]);
    let cut = body.len() + 10;
    server.route(
        &path,
        Behavior::close_after(longer, cut)
            .times(1)
            .then(Behavior::file(body)),
    );
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_success(&out);
    assert_eq!(
        range_headers(&server, &path),
        vec![None, Some(format!("bytes={cut}-")), None]
    );
    assert!(stderr(&out).contains("HTTP 416"), "{}", stderr(&out));
}

// ---- timeouts ---------------------------------------------------------------------------

#[test]
fn a_server_that_stalls_after_the_headers_ends_in_exit_4() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    server.route(
        &path,
        Behavior::stall_after_headers(archive(&rel).len() as u64),
    );
    let sb = Sandbox::new();
    let out = install_env(
        &sb,
        &server.url(),
        &[],
        &[("HOOKSTRAP_TIMEOUT", "1"), ("HOOKSTRAP_RETRIES", "1")],
    );
    assert_exit(&out, 4);
    assert_eq!(server.count(&path), 2, "a stall is retried");
    let err = stderr(&out);
    assert!(err.contains("sent no byte for 1s"), "{err}");
    assert!(
        err.contains("HOOKSTRAP_TIMEOUT"),
        "the hint names the knob: {err}"
    );
}

#[test]
fn a_server_that_never_answers_ends_in_exit_4() {
    let server = TestServer::start();
    let (_, path) = mounted(&server);
    server.route(&path, Behavior::stall_before_headers());
    let sb = Sandbox::new();
    let out = install_env(
        &sb,
        &server.url(),
        &[],
        &[("HOOKSTRAP_TIMEOUT", "1"), ("HOOKSTRAP_RETRIES", "1")],
    );
    assert_exit(&out, 4);
    assert_eq!(server.count(&path), 2, "a silent server is retried");
    assert!(!sb.bin_dir().join("platform").exists());
}

// ---- plain http and redirects -------------------------------------------------------------

#[test]
fn plain_http_to_another_host_is_refused_before_any_request() {
    let proxy = TestServer::start();
    mounted(&proxy);
    let sb = Sandbox::new();
    // The "proxy" would answer, but the policy stops the request first.
    let out = install_env(
        &sb,
        "http://releases.example",
        &[],
        &[("HTTP_PROXY", &proxy.url())],
    );
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(err.contains("refusing plain http"), "{err}");
    assert!(err.contains("--allow-http"), "the hint says how: {err}");
    assert_eq!(proxy.total(), 0);
}

#[test]
fn allow_http_permits_plain_http_to_another_host() {
    // No name resolution for `releases.example` is needed: the proxy gets the request.
    let proxy = TestServer::start();
    let (_rel, path) = mounted(&proxy);
    let sb = Sandbox::new();
    let out = install_env(
        &sb,
        "http://releases.example",
        &["--allow-http"],
        &[("HTTP_PROXY", &proxy.url())],
    );
    assert_success(&out);
    assert_installed(&sb);
    let asset = proxy
        .requests()
        .into_iter()
        .find(|r| r.path == path)
        .unwrap();
    assert!(asset.is_absolute_form(), "{}", asset.target);
    assert!(asset.target.starts_with("http://releases.example/"));
}

#[test]
fn a_redirect_from_https_to_http_is_refused() {
    let ca = TestCa::new();
    let plain = TestServer::start();
    let (_rel, path) = mounted(&plain);
    let tls = TestServer::start_tls(&ca);
    mounted(&tls);
    tls.route(
        &path,
        Behavior::redirect(302, format!("{}{path}", plain.url())),
    );
    let sb = Sandbox::new();
    let pem = ca.write_pem(sb.path());
    let out = install_env(
        &sb,
        &tls.url(),
        &[],
        &[("SSL_CERT_FILE", pem.to_str().unwrap())],
    );
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(err.contains("refusing the redirect"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert_eq!(plain.count(&path), 0, "the http target was never asked");
    assert_eq!(tls.count(&path), 1, "a downgrade is not retried");
}

#[test]
fn redirects_are_followed() {
    let server = TestServer::start();
    let (rel, path) = mounted(&server);
    let moved = "/elsewhere/archive.tar.gz";
    server.route(moved, Behavior::file(archive(&rel)));
    server.route(&path, Behavior::redirect(302, moved));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_success(&out);
    assert_eq!(server.count(moved), 1);
}

#[test]
fn redirects_are_capped() {
    let server = TestServer::start();
    let (_rel, path) = mounted(&server);
    server.route(&path, Behavior::redirect(302, path.clone()));
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_exit(&out, 4);
    assert!(
        stderr(&out).contains("more than 10 redirects"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.count(&path), 11, "the first request and ten hops");
}

// ---- tokens and credentials ---------------------------------------------------------------

#[test]
fn a_token_is_never_sent_to_a_mirror_nor_printed() {
    for var in ["GITHUB_TOKEN", "GH_TOKEN"] {
        let server = TestServer::start();
        let (rel, path) = mounted(&server);
        fixtures::mount_latest_redirect(&server, &rel.owner, &rel.repo, &rel.tag);
        server.route(
            &path,
            Behavior::status(500)
                .times(1)
                .then(Behavior::file(archive(&rel))),
        );
        let sb = Sandbox::new();
        let mut cmd = sb.cmd();
        cmd.args(["install", "platform", "--mirror", &server.url(), "-v"])
            .env(var, TOKEN);
        let out = common::run(&mut cmd);
        assert_success(&out);
        assert!(server.total() >= 4);
        for req in server.requests() {
            assert_eq!(
                req.header("authorization"),
                None,
                "{var} sent to the mirror: {req:?}"
            );
        }
        assert!(!stdout(&out).contains(TOKEN), "{var} on stdout");
        assert!(!stderr(&out).contains(TOKEN), "{var} on stderr");
        // `env` shows that a token is set, never its value.
        let mut env = sb.cmd();
        env.args(["env", "-v"]).env(var, TOKEN);
        let out = common::run(&mut env);
        assert_success(&out);
        assert!(!stdout(&out).contains(TOKEN) && !stderr(&out).contains(TOKEN));
    }
}

#[test]
fn a_token_is_not_printed_when_the_download_fails() {
    let server = TestServer::start();
    let (_rel, path) = mounted(&server);
    server.route(&path, Behavior::status(500));
    let sb = Sandbox::new();
    let out = install_env(
        &sb,
        &server.url(),
        &["-v"],
        &[("GITHUB_TOKEN", TOKEN), ("HOOKSTRAP_RETRIES", "1")],
    );
    assert_exit(&out, 4);
    assert!(!stderr(&out).contains(TOKEN) && !stdout(&out).contains(TOKEN));
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("authorization").is_none())
    );
}

#[test]
fn a_mirror_password_is_never_shown() {
    let server = TestServer::start();
    let (_rel, path) = mounted(&server);
    server.route(&path, Behavior::status(503));
    let sb = Sandbox::new();
    let mirror = format!("http://alice:hunter2pw@127.0.0.1:{}", server.port());
    let out = install_env(&sb, &mirror, &["-v"], &[("HOOKSTRAP_RETRIES", "1")]);
    assert_exit(&out, 4);
    let (out_text, err) = (stdout(&out), stderr(&out));
    assert!(
        !err.contains("hunter2pw") && !out_text.contains("hunter2pw"),
        "{err}"
    );
    assert!(
        err.contains("***@127.0.0.1"),
        "the URL is still named: {err}"
    );
    // The credentials themselves reach the mirror, as Basic auth.
    let asset = server
        .requests()
        .into_iter()
        .find(|r| r.path == path)
        .unwrap();
    assert!(
        asset
            .header("authorization")
            .is_some_and(|v| v.starts_with("Basic ")),
        "{asset:?}"
    );
}

#[test]
fn a_proxy_password_is_never_shown() {
    let port = closed_port();
    let server = TestServer::start();
    mounted(&server);
    let sb = Sandbox::new();
    let proxy = format!("http://bob:pr0xyPassw0rd@127.0.0.1:{port}");
    let out = install_env(
        &sb,
        &server.url(),
        &["-v"],
        &[("HTTP_PROXY", &proxy), ("HOOKSTRAP_RETRIES", "1")],
    );
    assert_exit(&out, 4);
    assert!(!stderr(&out).contains("pr0xyPassw0rd"), "{}", stderr(&out));
    let mut env = sb.cmd();
    env.arg("env").env("HTTP_PROXY", &proxy);
    let out = common::run(&mut env);
    assert_success(&out);
    assert!(!stdout(&out).contains("pr0xyPassw0rd"), "{}", stdout(&out));
}

// ---- name resolution ----------------------------------------------------------------------

#[test]
fn a_localhost_mirror_resolves() {
    let server = TestServer::start();
    let (rel, _path) = mounted(&server);
    fixtures::mount_latest_body(&server, &rel.owner, &rel.repo, &rel.tag);
    let sb = Sandbox::new();
    let mirror = format!("http://localhost:{}", server.port());
    let out = sb.run(&["install", "platform", "--mirror", &mirror]);
    assert_success(&out);
    assert_installed(&sb);
    assert!(server.total() >= 3);
}
