//! Proxies, through a real one: each test starts its own tinyproxy (the Debian package, which
//! `scripts/test.sh` installs) on a free loopback port with a generated config, and reads its
//! log to see what it carried. SPEC.md: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`
//! in either case; only `NO_PROXY` exempts a host, loopback included.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::fixtures::{self, Release};
use common::server::TestServer;
use common::tls::TestCa;
use common::{Sandbox, assert_exit, assert_success, stderr};

const VERSION: &str = "5.10.8";

/// A tinyproxy in the foreground, killed when dropped.
struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn tinyproxy_binary() -> PathBuf {
    ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "tinyproxy is not installed: these tests need it (apt-get install tinyproxy; \
                 scripts/test.sh does that)"
            )
        })
}

impl Tinyproxy {
    fn start() -> Self {
        let binary = tinyproxy_binary();
        // The port is found free, released, then given to tinyproxy: another process may take
        // it in between, so a start that fails is tried again on a new port.
        let mut last_error = String::new();
        for _ in 0..5 {
            let dir = tempfile::Builder::new()
                .prefix("hookstrap-tinyproxy-")
                .tempdir()
                .expect("tempdir");
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let log = dir.path().join("tinyproxy.log");
            let conf = dir.path().join("tinyproxy.conf");
            // No `User`/`Group`: tinyproxy keeps the current user (root in CI, with a warning).
            // No `ConnectPort`: CONNECT to any port. No filter: loopback targets are allowed.
            std::fs::write(
                &conf,
                format!(
                    "Port {port}\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 30\nMaxClients 50\n\
                     LogFile \"{}\"\nLogLevel Info\nPidFile \"{}\"\nDisableViaHeader Yes\n",
                    log.display(),
                    dir.path().join("tinyproxy.pid").display()
                ),
            )
            .expect("write tinyproxy.conf");
            let mut child = Command::new(&binary)
                .args(["-d", "-c"])
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    last_error = format!("tinyproxy exited with {status}: {}", read(&log));
                    break;
                }
                // tinyproxy listens before it logs entering its main loop.
                if TcpListener::bind(("127.0.0.1", port)).is_err()
                    && read(&log).contains("Accepting connections")
                {
                    return Tinyproxy {
                        child,
                        port,
                        log,
                        _dir: dir,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_error = format!("tinyproxy did not start: {}", read(&log));
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("{last_error}");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The request lines tinyproxy logged (`GET http://… HTTP/1.1`, `CONNECT host:port …`).
    fn requests(&self) -> Vec<String> {
        read(&self.log)
            .lines()
            .filter_map(|l| l.split_once("): ").map(|(_, r)| r.to_owned()))
            .filter(|r| r.contains(" HTTP/1."))
            .collect()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn mounted(server: &TestServer) -> (Release, String) {
    let rel = fixtures::cli_release(VERSION, &["platform"], &[fixtures::this_target()]);
    fixtures::mount_release(server, &rel);
    let path = rel.path(&rel.asset_name("platform", fixtures::this_target()));
    (rel, path)
}

fn install(sb: &Sandbox, mirror: &str, env: &[(&str, &str)]) -> Output {
    let spec = format!("platform@{VERSION}");
    let mut cmd = sb.cmd();
    cmd.args(["install", spec.as_str(), "--mirror", mirror]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    common::run(&mut cmd)
}

/// A plain-http mirror on loopback, fetched with `var` pointing at tinyproxy: the install works
/// and tinyproxy's log names the archive's URL.
fn assert_http_goes_through(var: &str) {
    let origin = TestServer::start();
    let (_rel, path) = mounted(&origin);
    let proxy = Tinyproxy::start();
    let sb = Sandbox::new();
    let out = install(&sb, &origin.url(), &[(var, &proxy.url())]);
    assert_success(&out);
    assert!(sb.bin_dir().join("platform").is_file());
    let wanted = format!("GET {}{path} HTTP/1.1", origin.url());
    let lines = proxy.requests();
    assert!(
        lines.contains(&wanted),
        "{var}: tinyproxy did not carry `{wanted}`; it logged {lines:#?}"
    );
    // tinyproxy forwards in origin-form; the origin saw the request (through the proxy).
    assert_eq!(origin.count(&path), 1);
}

#[test]
fn http_proxy_carries_requests_to_a_loopback_mirror() {
    // Loopback is not exempt by default: the mirror is 127.0.0.1 and still goes via the proxy.
    assert_http_goes_through("HTTP_PROXY");
}

#[test]
fn lower_case_http_proxy_is_honoured() {
    assert_http_goes_through("http_proxy");
}

#[test]
fn all_proxy_is_honoured() {
    assert_http_goes_through("ALL_PROXY");
}

#[test]
fn lower_case_all_proxy_is_honoured() {
    assert_http_goes_through("all_proxy");
}

/// An https mirror fetched with `var` pointing at tinyproxy: a CONNECT tunnel, trust through
/// `SSL_CERT_FILE` as usual.
fn assert_https_is_tunnelled(var: &str) {
    let ca = TestCa::new();
    let origin = TestServer::start_tls(&ca);
    let (_rel, path) = mounted(&origin);
    let proxy = Tinyproxy::start();
    let sb = Sandbox::new();
    let pem = ca.write_pem(sb.path());
    let out = install(
        &sb,
        &origin.url_ip(),
        &[
            (var, &proxy.url()),
            ("SSL_CERT_FILE", pem.to_str().unwrap()),
        ],
    );
    assert_success(&out);
    let wanted = format!("CONNECT 127.0.0.1:{} HTTP/1.1", origin.port());
    let lines = proxy.requests();
    assert!(
        lines.contains(&wanted),
        "{var}: no `{wanted}` in {lines:#?}"
    );
    assert_eq!(origin.count(&path), 1);
}

#[test]
fn https_proxy_tunnels_https() {
    assert_https_is_tunnelled("HTTPS_PROXY");
}

#[test]
fn lower_case_https_proxy_is_honoured() {
    assert_https_is_tunnelled("https_proxy");
}

#[test]
fn an_https_proxy_is_not_used_for_plain_http() {
    let origin = TestServer::start();
    mounted(&origin);
    let proxy = Tinyproxy::start();
    let sb = Sandbox::new();
    let out = install(&sb, &origin.url(), &[("HTTPS_PROXY", &proxy.url())]);
    assert_success(&out);
    assert_eq!(proxy.requests(), Vec::<String>::new());
}

/// `HTTP_PROXY` and `no_var` = 127.0.0.1: the request goes straight to the origin.
fn assert_no_proxy_bypasses(no_var: &str, value: &str) {
    let origin = TestServer::start();
    let (_rel, path) = mounted(&origin);
    let proxy = Tinyproxy::start();
    let sb = Sandbox::new();
    let out = install(
        &sb,
        &origin.url(),
        &[("HTTP_PROXY", &proxy.url()), (no_var, value)],
    );
    assert_success(&out);
    assert_eq!(origin.count(&path), 1);
    assert_eq!(
        proxy.requests(),
        Vec::<String>::new(),
        "{no_var}={value} should bypass the proxy"
    );
}

#[test]
fn no_proxy_exempts_a_host() {
    assert_no_proxy_bypasses("NO_PROXY", "127.0.0.1");
}

#[test]
fn lower_case_no_proxy_is_honoured() {
    assert_no_proxy_bypasses("no_proxy", "example.com, 127.0.0.1");
}

#[test]
fn no_proxy_takes_networks() {
    assert_no_proxy_bypasses("NO_PROXY", "127.0.0.0/8");
}

#[test]
fn no_proxy_for_another_host_still_proxies() {
    let origin = TestServer::start();
    let (_rel, path) = mounted(&origin);
    let proxy = Tinyproxy::start();
    let sb = Sandbox::new();
    let out = install(
        &sb,
        &origin.url(),
        &[("HTTP_PROXY", &proxy.url()), ("NO_PROXY", "example.com")],
    );
    assert_success(&out);
    let wanted = format!("GET {}{path} HTTP/1.1", origin.url());
    assert!(
        proxy.requests().contains(&wanted),
        "{:#?}",
        proxy.requests()
    );
}

#[test]
fn a_token_never_reaches_a_proxy_or_a_mirror() {
    let token = "ghp_tokenThatMustStayHome0123456789abcdef";
    let origin = TestServer::start();
    mounted(&origin);
    let proxy = Tinyproxy::start();
    let sb = Sandbox::new();
    let mut cmd = sb.cmd();
    cmd.args([
        "install",
        &format!("platform@{VERSION}"),
        "--mirror",
        &origin.url(),
        "-v",
    ])
    .env("HTTP_PROXY", proxy.url())
    .env("GITHUB_TOKEN", token);
    let out = common::run(&mut cmd);
    assert_success(&out);
    assert!(!proxy.requests().is_empty());
    assert!(!read(&proxy.log).contains(token));
    assert!(
        origin
            .requests()
            .iter()
            .all(|r| r.header("authorization").is_none())
    );
    assert!(!stderr(&out).contains(token));
}

#[test]
fn a_proxy_that_is_down_is_a_network_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let origin = TestServer::start();
    mounted(&origin);
    let sb = Sandbox::new();
    let out = install(
        &sb,
        &origin.url(),
        &[
            ("HTTP_PROXY", &format!("http://127.0.0.1:{port}")),
            ("HOOKSTRAP_RETRIES", "1"),
        ],
    );
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("retry 1/1"), "{}", stderr(&out));
    assert_eq!(origin.total(), 0, "no way around the proxy");
}
