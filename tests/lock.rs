//! `hookstrap lock` and `hookstrap.lock`: the SPEC.md format in a stable order, installs and
//! fetches that follow the pins without asking for `latest` or `checksums.txt`, mismatches
//! (exit 5) and malformed files (exit 2, with line and column).

mod common;

use common::fixtures::{self, Release};
use common::server::TestServer;
use common::{Sandbox, assert_exit, assert_success, stderr, stdout};

const TARGETS: [&str; 4] = ["linux_amd64", "linux_arm64", "darwin_all", "windows_amd64"];

fn release_server(versions: &[&str], latest: &str) -> (TestServer, Vec<Release>) {
    let server = TestServer::start();
    let releases: Vec<Release> = versions
        .iter()
        .map(|v| fixtures::cli_release(v, &["platform", "upsun"], &TARGETS))
        .collect();
    for rel in &releases {
        fixtures::mount_release(&server, rel);
    }
    fixtures::mount_latest_redirect(&server, "upsun", "cli", &format!("v{latest}"));
    (server, releases)
}

/// No request for `…/releases/latest` or any `checksums.txt`.
#[track_caller]
fn assert_no_resolution_requests(server: &TestServer) {
    for r in server.requests() {
        assert!(
            !r.path.ends_with("/releases/latest") && !r.path.ends_with("/checksums.txt"),
            "unexpected request {}: {:?}",
            r.path,
            server.requests()
        );
    }
}

#[test]
fn lock_writes_the_spec_format_in_a_stable_order() {
    let (server, rels) = release_server(&["5.10.8"], "5.10.8");
    let rel = &rels[0];
    let sb = Sandbox::new();
    let out = sb.run(&[
        "lock",
        "upsun",
        "platform",
        "--target",
        "windows_amd64",
        "--target",
        "linux_amd64",
        "--target",
        "darwin_all",
        "--mirror",
        &server.url(),
    ]);
    assert_success(&out);
    assert_eq!(stdout(&out).trim(), sb.lock_file().to_str().unwrap());
    // `latest` is asked once per tool, not once per target: every target gets one version.
    assert_eq!(server.count("/upsun/cli/releases/latest"), 2);
    let text = std::fs::read_to_string(sb.lock_file()).unwrap();

    let mut expected = String::new();
    expected.push_str("version = 1\n");
    for bin in ["platform", "upsun"] {
        expected.push_str(&format!(
            "\n[[tool]]\nname = \"{bin}\"\nversion = \"5.10.8\"\n"
        ));
        for target in ["darwin_all", "linux_amd64", "windows_amd64"] {
            let asset = rel.asset_name(bin, target);
            // The installed binary's BLAKE3 is pinned too: what a warm install checks a
            // copy kept in the shared cache against.
            let binary = fixtures::cli_script(bin, "5.10.8");
            expected.push_str(&format!(
                "\n[[tool.artifact]]\ntarget = \"{target}\"\nurl = \"{}\"\nsha256 = \"{}\"\nsize = {}\nbin_blake3 = \"{}\"\n",
                rel.github_url(&asset),
                rel.sha256(&asset),
                rel.bytes(&asset).len(),
                blake3::hash(&binary).to_hex()
            ));
        }
    }
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(body.trim_start(), expected, "lock file:\n{text}");

    // Locking again, with the SPECs and targets in another order, writes the same bytes.
    let out = sb.run(&[
        "lock",
        "platform",
        "upsun",
        "--target",
        "darwin_all",
        "--target",
        "windows_amd64",
        "--target",
        "linux_amd64",
        "--mirror",
        &server.url(),
    ]);
    assert_success(&out);
    assert_eq!(std::fs::read_to_string(sb.lock_file()).unwrap(), text);
    // And `--lock FILE` writes elsewhere.
    let other = sb.path().join("other.lock");
    assert_success(&sb.run(&[
        "lock",
        "platform",
        "--lock",
        other.to_str().unwrap(),
        "--mirror",
        &server.url(),
    ]));
    assert!(
        std::fs::read_to_string(&other)
            .unwrap()
            .contains("name = \"platform\"")
    );
}

#[test]
fn install_and_fetch_with_a_lock_never_ask_for_latest_or_checksums() {
    let (server, rels) = release_server(&["5.10.7", "5.10.8"], "5.10.7");
    let sb = Sandbox::new();
    assert_success(&sb.run(&[
        "lock",
        "platform",
        "--target",
        fixtures::this_target(),
        "--target",
        "windows_amd64",
        "--mirror",
        &server.url(),
    ]));
    // The release moves on; the lock does not.
    fixtures::mount_latest_redirect(&server, "upsun", "cli", "v5.10.8");
    server.clear_requests();

    // A fresh app dir with the lock file and an empty cache: no SPEC means the locked tools.
    let app = Sandbox::new();
    std::fs::copy(sb.lock_file(), app.lock_file()).unwrap();
    let out = app.run(&["install", "--mirror", &server.url()]);
    assert_success(&out);
    let script = std::fs::read_to_string(app.bin_dir().join("platform")).unwrap();
    assert!(script.contains("platform CLI 5.10.7"), "{script}");
    let asset = rels[0].asset_name("platform", fixtures::this_target());
    assert_eq!(server.count(&rels[0].path(&asset)), 1);
    // `platform@latest` under a lock asks to move the pin: refused, with the command that
    // does it, and the pinned binary stays.
    let out = app.run(&["install", "platform@latest", "--mirror", &server.url()]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("hookstrap lock --upgrade platform"),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::read_to_string(app.bin_dir().join("platform"))
            .unwrap()
            .contains("platform CLI 5.10.7")
    );

    // fetch with a lock (pointed at with --lock) pins every target it names.
    let warm = Sandbox::new();
    let out = warm.run(&[
        "fetch",
        "--target",
        "windows_amd64",
        "--lock",
        sb.lock_file().to_str().unwrap(),
        "--mirror",
        &server.url(),
    ]);
    assert_success(&out);
    assert!(
        stdout(&out).starts_with("platform\t5.10.7\twindows_amd64\t"),
        "{}",
        stdout(&out)
    );
    assert_no_resolution_requests(&server);
    assert!(server.total() >= 2, "{:?}", server.requests());
}

#[test]
fn a_lock_for_a_target_it_does_not_pin_is_a_usage_error() {
    let (server, _) = release_server(&["5.10.8"], "5.10.8");
    let sb = Sandbox::new();
    assert_success(&sb.run(&[
        "lock",
        "platform",
        "--target",
        "darwin_all",
        "--mirror",
        &server.url(),
    ]));
    server.clear_requests();
    let out = sb.run(&[
        "fetch",
        "--target",
        "linux_arm64",
        "--mirror",
        &server.url(),
    ]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("hookstrap lock platform --target linux_arm64"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.total(), 0);
}

#[test]
fn a_hash_that_does_not_match_the_lock_is_exit_5_and_installs_nothing() {
    let (server, rels) = release_server(&["5.10.8"], "5.10.8");
    let sb = Sandbox::new();
    assert_success(&sb.run(&["lock", "platform", "--mirror", &server.url()]));
    // The mirror now serves other bytes under the same name (with a matching checksums.txt,
    // which a lock must not consult).
    let mut tampered = rels[0].clone();
    let asset = tampered.asset_name("platform", fixtures::this_target());
    let good = tampered.sha256(&asset);
    let mut bytes = tampered.bytes(&asset).to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    tampered.replace_asset(&asset, bytes);
    tampered.refresh_checksums();
    fixtures::mount_release(&server, &tampered);

    let app = Sandbox::new();
    std::fs::copy(sb.lock_file(), app.lock_file()).unwrap();
    let out = app.run(&["install", "--mirror", &server.url()]);
    assert_exit(&out, 5);
    let err = stderr(&out);
    assert!(
        err.contains("checksum mismatch") && err.contains(&good),
        "{err}"
    );
    assert!(!app.bin_dir().join("platform").exists());
    assert!(!app.env_file().exists());
    assert!(
        std::fs::read_dir(app.cache.join("blobs/sha256"))
            .unwrap()
            .next()
            .is_none()
    );
    // fetch says the same.
    let out = app.run(&["fetch", "--mirror", &server.url()]);
    assert_exit(&out, 5);
}

#[test]
fn a_malformed_lock_is_exit_2_with_line_and_column() {
    let (server, _) = release_server(&["5.10.8"], "5.10.8");
    let sb = Sandbox::new();
    assert_success(&sb.run(&["lock", "platform", "--mirror", &server.url()]));
    let good = std::fs::read_to_string(sb.lock_file()).unwrap();
    let line_of =
        |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;

    let sha_line = good.lines().find(|l| l.starts_with("sha256")).unwrap();
    let cases: Vec<(String, usize, usize)> = {
        let bad_sha = good.replace(sha_line, "sha256 = \"not-a-hash\"");
        let l = line_of(&bad_sha, "not-a-hash");
        let syntax = good.replace("[[tool.artifact]]", "[[tool.artifact]");
        let s = line_of(&syntax, "[[tool.artifact]");
        let unknown = good.replace("size = ", "sighs = ");
        let u = line_of(&unknown, "sighs");
        // The syntax error is where `]` was expected: right after `[[tool.artifact]`.
        vec![(bad_sha, l, 10), (syntax, s, 17), (unknown, u, 1)]
    };
    for (text, line, column) in cases {
        std::fs::write(sb.lock_file(), &text).unwrap();
        for cmd in ["install", "fetch"] {
            let out = sb.run(&[cmd, "--mirror", &server.url()]);
            assert_exit(&out, 2);
            let err = stderr(&out);
            assert!(
                err.contains(&format!("line {line}, column {column}")),
                "expected line {line}, column {column}:\n{err}\n{text}"
            );
            assert!(err.contains("hookstrap.lock"), "{err}");
        }
    }
    assert!(!sb.bin_dir().join("platform").exists());
}
