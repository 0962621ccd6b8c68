//! TLS trust: a CA made by the test signs a local HTTPS server; hookstrap trusts it only when
//! told to through `SSL_CERT_FILE` or `SSL_CERT_DIR`, and a certificate it does not trust is a
//! network error (exit 4) with a hint, never retried.

mod common;

use std::process::Output;

use common::fixtures::{self, Release};
use common::server::TestServer;
use common::tls::TestCa;
use common::{Sandbox, assert_exit, assert_success, stderr};

const VERSION: &str = "5.10.8";

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

#[track_caller]
fn assert_untrusted(out: &Output, server: &TestServer) {
    assert_exit(out, 4);
    let err = stderr(out);
    assert!(err.contains("is not trusted"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("hint:") && l.contains("SSL_CERT_FILE")),
        "the hint names SSL_CERT_FILE: {err}"
    );
    assert!(
        !err.contains("retry"),
        "a certificate error is not retried: {err}"
    );
    assert_eq!(server.total(), 0, "no request got past the handshake");
}

#[test]
fn a_ca_in_ssl_cert_file_is_trusted() {
    let ca = TestCa::new();
    let server = TestServer::start_tls(&ca);
    let (_rel, path) = mounted(&server);
    let sb = Sandbox::new();
    let pem = ca.write_pem(sb.path());
    let out = install(
        &sb,
        &server.url(),
        &[("SSL_CERT_FILE", pem.to_str().unwrap())],
    );
    assert_success(&out);
    assert!(sb.bin_dir().join("platform").is_file());
    assert_eq!(server.count(&path), 1);
}

#[test]
fn a_ca_in_ssl_cert_dir_is_trusted() {
    let ca = TestCa::new();
    let server = TestServer::start_tls(&ca);
    mounted(&server);
    let sb = Sandbox::new();
    let dir = sb.path().join("certs");
    std::fs::create_dir(&dir).unwrap();
    ca.write_pem(&dir);
    // Something that is not a certificate in the same directory does not spoil it.
    std::fs::write(dir.join("README"), "not a certificate\n").unwrap();
    let out = install(
        &sb,
        &server.url(),
        &[("SSL_CERT_DIR", dir.to_str().unwrap())],
    );
    assert_success(&out);
    assert!(sb.bin_dir().join("platform").is_file());
}

#[test]
fn ssl_cert_dir_takes_several_directories() {
    let ca = TestCa::new();
    let server = TestServer::start_tls(&ca);
    mounted(&server);
    let sb = Sandbox::new();
    let (empty, certs) = (sb.path().join("empty"), sb.path().join("certs"));
    std::fs::create_dir(&empty).unwrap();
    std::fs::create_dir(&certs).unwrap();
    ca.write_pem(&certs);
    let dirs = format!("{}:{}", empty.display(), certs.display());
    let out = install(&sb, &server.url(), &[("SSL_CERT_DIR", &dirs)]);
    assert_success(&out);
}

#[test]
fn an_ip_address_url_is_checked_against_the_certificate_too() {
    let ca = TestCa::new();
    let server = TestServer::start_tls(&ca);
    mounted(&server);
    let sb = Sandbox::new();
    let pem = ca.write_pem(sb.path());
    let out = install(
        &sb,
        &server.url_ip(),
        &[("SSL_CERT_FILE", pem.to_str().unwrap())],
    );
    assert_success(&out);
}

#[test]
fn an_untrusted_certificate_is_exit_4_with_a_hint_and_not_retried() {
    let ca = TestCa::new();
    let server = TestServer::start_tls(&ca);
    mounted(&server);
    let sb = Sandbox::new();
    let out = install(&sb, &server.url(), &[]);
    assert_untrusted(&out, &server);
    assert!(!sb.bin_dir().join("platform").exists());
}

#[test]
fn a_certificate_from_another_ca_is_not_trusted() {
    let ca = TestCa::new();
    let other = TestCa::new();
    let server = TestServer::start_tls(&ca);
    mounted(&server);
    let sb = Sandbox::new();
    let pem = other.write_pem(sb.path());
    let out = install(
        &sb,
        &server.url(),
        &[("SSL_CERT_FILE", pem.to_str().unwrap())],
    );
    assert_untrusted(&out, &server);
}

#[test]
fn a_certificate_for_another_name_is_not_trusted() {
    let ca = TestCa::new();
    let server = TestServer::start_tls_for(&ca, &["example.test"]);
    mounted(&server);
    let sb = Sandbox::new();
    let pem = ca.write_pem(sb.path());
    let out = install(
        &sb,
        &server.url(),
        &[("SSL_CERT_FILE", pem.to_str().unwrap())],
    );
    assert_untrusted(&out, &server);
}

#[test]
fn a_missing_ssl_cert_file_is_reported_and_not_trusted() {
    let ca = TestCa::new();
    let server = TestServer::start_tls(&ca);
    mounted(&server);
    let sb = Sandbox::new();
    let missing = sb.path().join("no-such-ca.pem");
    let out = install(
        &sb,
        &server.url(),
        &[("SSL_CERT_FILE", missing.to_str().unwrap())],
    );
    assert_untrusted(&out, &server);
    assert!(
        stderr(&out).contains("no-such-ca.pem"),
        "the unreadable file is named: {}",
        stderr(&out)
    );
}
