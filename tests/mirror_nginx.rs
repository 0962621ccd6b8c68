//! `hookstrap mirror DIR` for real: export a warmed cache in github.com's layout, serve the tree
//! with nginx (a plain static file server, `releases/latest` included), and install from it
//! into independent app dirs with empty caches. nginx must be at /usr/sbin/nginx: this test
//! fails loudly rather than skip.

mod common;

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fixtures::{self, Release};
use common::server::TestServer;
use common::{Sandbox, assert_success, stderr, stdout};

const NGINX: &str = "/usr/sbin/nginx";

/// nginx serving `root` on 127.0.0.1, confined to a temp dir; killed and reaped on drop.
struct Nginx {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Nginx {
    fn serve(root: &Path) -> Nginx {
        assert!(
            Path::new(NGINX).is_file(),
            "{NGINX} is missing: install nginx (scripts/test.sh does); this test never skips"
        );
        let mut last_error = String::new();
        // A port picked by binding :0 can be taken again before nginx binds it: try a few.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("pick a free port")
                .port();
            let dir = tempfile::tempdir().expect("nginx dir");
            let d = dir.path().display();
            let conf = dir.path().join("nginx.conf");
            std::fs::write(
                &conf,
                format!(
                    "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    default_type text/plain;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ try_files $uri =404; }}
    }}
}}
",
                    root = root.display()
                ),
            )
            .expect("write nginx.conf");
            let mut child = Command::new(NGINX)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf)
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {NGINX}: {e}"));
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Some(status) = child.try_wait().expect("poll nginx") {
                    last_error = format!(
                        "nginx exited with {status}:\n{}",
                        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
                    );
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Nginx { child, port, dir };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("nginx did not answer on port {port} within 20 s");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("nginx would not start: {last_error}");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn releases(targets: &[&str]) -> (TestServer, Vec<Release>) {
    let server = TestServer::start();
    let rels: Vec<Release> = ["5.10.7", "5.10.8"]
        .iter()
        .map(|v| fixtures::cli_release(v, &["platform", "upsun"], targets))
        .collect();
    for rel in &rels {
        fixtures::mount_release(&server, rel);
    }
    fixtures::mount_latest_redirect(&server, "upsun", "cli", "v5.10.8");
    (server, rels)
}

/// A sandbox whose cache holds platform 5.10.7 and 5.10.8 and upsun 5.10.8 for this machine
/// and Windows, exported to `<sandbox>/mirror`.
fn warm_and_export(server: &TestServer) -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    let out = sb.run(&[
        "fetch",
        "platform@5.10.7",
        "--target",
        fixtures::this_target(),
        "--mirror",
        &server.url(),
    ]);
    assert_success(&out);
    let out = sb.run(&[
        "fetch",
        "platform@5.10.8",
        "upsun@5.10.8",
        "--target",
        fixtures::this_target(),
        "--target",
        "windows_amd64",
        "--mirror",
        &server.url(),
    ]);
    assert_success(&out);
    // Web roots are read by other users: the sandbox's private temp dir must be traversable.
    std::fs::set_permissions(sb.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mirror = sb.path().join("mirror");
    let out = sb.run(&["mirror", mirror.to_str().unwrap()]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("wrote 5 artifact(s)"),
        "{}",
        stderr(&out)
    );
    (sb, mirror)
}

#[test]
fn mirror_writes_github_layout_with_checksums_and_latest() {
    let target = fixtures::this_target();
    let (server, rels) = releases(&["linux_amd64", "linux_arm64", "darwin_all", "windows_amd64"]);
    let (sb, mirror) = warm_and_export(&server);

    let latest = mirror.join("upsun/cli/releases/latest");
    assert_eq!(std::fs::read_to_string(&latest).unwrap(), "v5.10.8\n");
    for (rel, assets) in [
        (&rels[0], vec![rels[0].asset_name("platform", target)]),
        (
            &rels[1],
            vec![
                rels[1].asset_name("platform", target),
                rels[1].asset_name("platform", "windows_amd64"),
                rels[1].asset_name("upsun", target),
                rels[1].asset_name("upsun", "windows_amd64"),
            ],
        ),
    ] {
        let dir = mirror.join(rel.path("").trim_start_matches('/'));
        let mut expected: Vec<String> = assets
            .iter()
            .map(|a| format!("{}  {a}", rel.sha256(a)))
            .collect();
        expected.sort_by(|a, b| a[66..].cmp(&b[66..]));
        let sums = std::fs::read_to_string(dir.join("checksums.txt")).unwrap();
        assert_eq!(sums, expected.join("\n") + "\n");
        for a in &assets {
            let file = dir.join(a);
            assert_eq!(std::fs::read(&file).unwrap(), rel.bytes(a), "{a}");
            // Served by web servers running as another user.
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644, "{a}");
        }
        let mode = std::fs::metadata(dir.join("checksums.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    assert!(!mirror.join(".hookstrap-tmp").exists());

    // Exporting a cache that only holds the older release into the same tree keeps the newer
    // `latest` and every checksum line already there.
    let older = Sandbox::new();
    assert_success(&older.run(&[
        "fetch",
        "platform@5.10.7",
        "--target",
        "darwin_all",
        "--mirror",
        &server.url(),
    ]));
    assert_success(&older.run(&["mirror", mirror.to_str().unwrap()]));
    assert_eq!(std::fs::read_to_string(&latest).unwrap(), "v5.10.8\n");
    let sums =
        std::fs::read_to_string(mirror.join("upsun/cli/releases/download/v5.10.7/checksums.txt"))
            .unwrap();
    assert_eq!(sums.lines().count(), 2, "{sums}");

    // The tree is a `file://` mirror too: offline, empty cache, `latest` from the file.
    let app = Sandbox::new();
    let out = app.run(&[
        "install",
        "--offline",
        "--mirror",
        &format!("file://{}", mirror.display()),
    ]);
    assert_success(&out);
    assert!(
        std::fs::read_to_string(app.bin_dir().join("platform"))
            .unwrap()
            .contains("platform CLI 5.10.8")
    );
    drop(sb);
}

#[test]
fn nginx_serves_the_exported_mirror_to_independent_installs() {
    let target = fixtures::this_target();
    let (server, rels) = releases(&[target, "windows_amd64"]);
    let (_sb, mirror) = warm_and_export(&server);
    drop(server); // From here on, the mirror is all there is.
    let nginx = Nginx::serve(&mirror);

    // Several app dirs, each with its own empty cache, installing `latest` from nginx.
    let apps: Vec<Sandbox> = (0..3).map(|_| Sandbox::new()).collect();
    for app in &apps {
        let out = app.run(&["install", "platform", "upsun", "--mirror", &nginx.url()]);
        assert_success(&out);
    }
    let expected = rels[1].asset_name("platform", target);
    let want = fixtures::cli_script("platform", "5.10.8");
    for app in &apps {
        assert_eq!(std::fs::read(app.bin_dir().join("platform")).unwrap(), want);
        assert_eq!(
            std::fs::read(app.bin_dir().join("upsun")).unwrap(),
            fixtures::cli_script("upsun", "5.10.8")
        );
        let blobs: Vec<_> = std::fs::read_dir(app.cache.join("blobs/sha256"))
            .unwrap()
            .collect();
        assert_eq!(blobs.len(), 2);
    }
    let log = nginx.access_log();
    assert!(
        log.contains("GET /upsun/cli/releases/latest HTTP/1.1\" 200"),
        "{log}"
    );
    assert!(log.contains(&format!("{expected} HTTP/1.1\" 200")), "{log}");
    assert!(log.contains("checksums.txt HTTP/1.1\" 200"), "{log}");

    // A pinned older version, a lock and a Windows fetch work from the mirror too.
    let app = Sandbox::new();
    let out = app.run(&[
        "lock",
        "platform@5.10.7",
        "--target",
        target,
        "--mirror",
        &nginx.url(),
    ]);
    assert_success(&out);
    let lock = std::fs::read_to_string(app.lock_file()).unwrap();
    assert!(
        lock.contains("url = \"https://github.com/upsun/cli/releases/download/v5.10.7/"),
        "{lock}"
    );
    let out = app.run(&["install", "--mirror", &nginx.url()]);
    assert_success(&out);
    assert_eq!(
        std::fs::read(app.bin_dir().join("platform")).unwrap(),
        fixtures::cli_script("platform", "5.10.7")
    );
    let out = app.run(&[
        "fetch",
        "upsun@5.10.8",
        "--target",
        "windows_amd64",
        "--mirror",
        &nginx.url(),
    ]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("upsun\t5.10.8\twindows_amd64\t"),
        "{}",
        stdout(&out)
    );
}
