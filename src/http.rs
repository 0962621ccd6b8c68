//! The one HTTP client: every byte hookstrap fetches goes through here.
//!
//! It owns the policies SPEC.md promises: plain `http://` only to loopback (or with
//! `--allow-http`), never a redirect from https to http, at most [`MAX_REDIRECTS`] hops;
//! retries with backoff and jitter for what can pass (connect errors, timeouts, resets, 408,
//! 429, 5xx, rate limits), never for a 404 or a certificate error; downloads that resume with
//! `Range` after a dropped connection; an idle timeout; proxies and extra trusted roots from the
//! [`crate::context::Context`]; a GitHub token only ever sent to `github.com` and
//! `api.github.com` over https. `file://` URLs are read from disk, and `--offline` turns every
//! other URL into an error before a socket is opened.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{AUTHORIZATION, CONTENT_RANGE, HeaderMap, LOCATION, RANGE, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};

use crate::error::code;
use crate::report::Reporter;

pub const MAX_REDIRECTS: usize = 10;
/// The longest wait a server may ask for with `Retry-After` or a rate-limit reset.
const MAX_SERVER_DELAY: Duration = Duration::from_secs(60);
const USER_AGENT: &str = concat!("hookstrap/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("`{url}` was not found (HTTP {status})")]
    NotFound { url: String, status: u16 },
    #[error("`{0}` was not found")]
    FileNotFound(String),
    #[error("request to `{url}` failed")]
    Transport {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the TLS certificate of `{url}` is not trusted")]
    Tls {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("`{url}` answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("refusing plain http to `{url}`")]
    PlainHttp { url: String },
    #[error("refusing the redirect from `{from}` to plain http `{to}`")]
    Downgrade { from: String, to: String },
    #[error("more than {MAX_REDIRECTS} redirects from `{url}`")]
    TooManyRedirects { url: String },
    #[error("`{url}` sent no byte for {secs}s")]
    Stalled { url: String, secs: u64 },
    #[error("`{url}` answered more than {max} bytes")]
    TooLarge { url: String, max: u64 },
    #[error("`{url}` answered something that is not a release tag: {reason}")]
    BadAnswer { url: String, reason: String },
    #[error("`{url}` is not a valid URL")]
    BadUrl { url: String },
    #[error("`{url}` needs the network, and `--offline` is set")]
    Offline { url: String },
    #[error("cannot read `{path}`")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write the download of `{url}` to `{path}`")]
    Write {
        url: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl HttpError {
    pub fn exit_code(&self) -> u8 {
        match self {
            HttpError::NotFound { .. } | HttpError::FileNotFound(_) => code::NOT_FOUND,
            HttpError::BadUrl { .. } => code::USAGE,
            HttpError::Offline { .. } => code::OFFLINE,
            HttpError::ReadFile { .. } | HttpError::Write { .. } => code::LOCAL_FS,
            _ => code::NETWORK,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            HttpError::Tls { .. } => Some(
                "if a proxy or a private CA signs this certificate, point `SSL_CERT_FILE` (or `SSL_CERT_DIR`) at its PEM".into(),
            ),
            HttpError::PlainHttp { .. } => {
                Some("use https://, or pass `--allow-http` if you trust this network".into())
            }
            HttpError::Stalled { .. } => {
                Some("raise `HOOKSTRAP_TIMEOUT` (seconds without a byte) on a slow link".into())
            }
            HttpError::Status { status: 401 | 403, .. } => Some(
                "GitHub refused the request: set `GITHUB_TOKEN`, or use a mirror with `--mirror`".into(),
            ),
            HttpError::Offline { .. } => Some(
                "warm the cache first with `hookstrap fetch`, or point `--mirror` at a `file://` mirror".into(),
            ),
            _ => None,
        }
    }

    fn transport(url: &Url, err: reqwest::Error) -> HttpError {
        let url_text = redact(url.as_str());
        if err.is_timeout() {
            return HttpError::Transport {
                url: url_text,
                source: Box::new(err.without_url()),
            };
        }
        if is_certificate_error(&err) {
            return HttpError::Tls {
                url: url_text,
                source: Box::new(err.without_url()),
            };
        }
        HttpError::Transport {
            url: url_text,
            source: Box::new(err.without_url()),
        }
    }

    /// Whether trying again may help.
    fn retryable(&self) -> bool {
        match self {
            HttpError::Transport { .. } | HttpError::Stalled { .. } => true,
            HttpError::Status { status, .. } => {
                matches!(*status, 408 | 429) || (500..600).contains(status)
            }
            _ => false,
        }
    }
}

/// Whether anything in the chain is a certificate rejection by rustls.
fn is_certificate_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::UnsupportedNameType
            );
        }
        if let Some(io) = e.downcast_ref::<io::Error>()
            && let Some(inner) = io.get_ref()
            && is_certificate_error(inner)
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// Hides `user:password@` in a URL before it is printed anywhere.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("***");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Proxy settings as read from the environment.
#[derive(Debug, Clone, Default)]
pub struct ProxyConfig {
    pub https: Option<String>,
    pub http: Option<String>,
    pub all: Option<String>,
    pub no_proxy: Option<String>,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub retries: u32,
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
    pub allow_http: bool,
    pub offline: bool,
    pub token: Option<String>,
    pub proxy: ProxyConfig,
    pub cert_file: Option<PathBuf>,
    pub cert_dir: Option<PathBuf>,
    /// Test-only: no sleeping between retries.
    pub no_delay: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            retries: 4,
            idle_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            allow_http: false,
            offline: false,
            token: None,
            proxy: ProxyConfig::default(),
            cert_file: None,
            cert_dir: None,
            no_delay: false,
        }
    }
}

/// The client. Built lazily: an offline or cache-hit run never pays for TLS setup.
pub struct Http<'r> {
    config: HttpConfig,
    client: OnceLock<Client>,
    reporter: &'r dyn Reporter,
}

/// What a server said about the newest release.
fn tag_from_latest(
    url: &str,
    location: Option<&str>,
    body: Option<&[u8]>,
) -> Result<String, HttpError> {
    let bad = |reason: &str| HttpError::BadAnswer {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let tag = if let Some(loc) = location {
        let path = loc.split(['?', '#']).next().unwrap_or(loc);
        let (_, tag) = path
            .rsplit_once("/tag/")
            .ok_or_else(|| bad("the redirect does not end in /tag/TAG"))?;
        tag.to_string()
    } else {
        let body = body.unwrap_or_default();
        std::str::from_utf8(body)
            .map_err(|_| bad("the body is not text"))?
            .trim()
            .to_string()
    };
    let valid = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'));
    if valid {
        Ok(tag)
    } else {
        Err(bad("the tag is empty or has characters a tag cannot have"))
    }
}

impl<'r> Http<'r> {
    pub fn new(config: HttpConfig, reporter: &'r dyn Reporter) -> Self {
        Http {
            config,
            client: OnceLock::new(),
            reporter,
        }
    }

    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    fn client(&self) -> Result<&Client, HttpError> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let client = build_client(&self.config)?;
        Ok(self.client.get_or_init(|| client))
    }

    /// Parses `url`, refusing what policy forbids before anything is sent.
    pub fn check_url(&self, url: &str) -> Result<Url, HttpError> {
        let parsed = Url::parse(url).map_err(|_| HttpError::BadUrl { url: redact(url) })?;
        match parsed.scheme() {
            "file" => Ok(parsed),
            _ if self.config.offline => Err(HttpError::Offline { url: redact(url) }),
            "https" => Ok(parsed),
            "http" if self.config.allow_http || is_loopback(&parsed) => Ok(parsed),
            "http" => Err(HttpError::PlainHttp { url: redact(url) }),
            _ => Err(HttpError::BadUrl { url: redact(url) }),
        }
    }

    /// The newest release tag from `…/releases/latest`: a 3xx whose `Location` ends in
    /// `/tag/{tag}`, or a 200 whose body is the tag.
    pub fn latest_tag(&self, url: &str) -> Result<String, HttpError> {
        let parsed = self.check_url(url)?;
        if parsed.scheme() == "file" {
            let body = read_file(&parsed, 4096)?;
            return tag_from_latest(url, None, Some(&body));
        }
        self.with_retries(url, || {
            let resp = self.send(&parsed, None, false)?;
            let status = resp.status();
            if status.is_redirection() {
                let loc = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                return tag_from_latest(url, loc.as_deref(), None);
            }
            let body = read_limited(resp, url, 4096)?;
            tag_from_latest(url, None, Some(&body))
        })
    }

    /// A small document (checksums, API JSON), at most `max` bytes.
    pub fn get_small(&self, url: &str, max: u64) -> Result<Vec<u8>, HttpError> {
        let parsed = self.check_url(url)?;
        if parsed.scheme() == "file" {
            return read_file(&parsed, max);
        }
        self.with_retries(url, || {
            let resp = self.send(&parsed, None, true)?;
            read_limited(resp, url, max)
        })
    }

    /// Streams `url` into `file` (positioned at 0, empty), hashing as it goes, and returns
    /// `(sha256, length)`. A dropped connection resumes with `Range` when the server allows;
    /// each retry starts where the bytes stopped, and the hash covers every byte.
    pub fn download(
        &self,
        url: &str,
        file: &mut File,
        path: &std::path::Path,
    ) -> Result<(String, u64), HttpError> {
        let parsed = self.check_url(url)?;
        let write_err = |source: io::Error| HttpError::Write {
            url: redact(url),
            path: path.to_path_buf(),
            source,
        };
        if parsed.scheme() == "file" {
            let src = file_path(&parsed)?;
            let mut input = File::open(&src).map_err(|e| file_error(&src, url, e))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            let mut len = 0u64;
            loop {
                let n = input.read(&mut buf).map_err(|e| file_error(&src, url, e))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                file.write_all(&buf[..n]).map_err(write_err)?;
                len += n as u64;
            }
            return Ok((crate::verify::hex(hasher), len));
        }

        let mut hasher = Sha256::new();
        let mut have: u64 = 0;
        let mut buf = vec![0u8; 256 * 1024];
        let mut started = false;
        let result = self.with_retries(url, || {
            let range = (have > 0).then_some(have);
            let mut resp = self.send(&parsed, range, true)?;
            if range.is_some() && !resume_accepted(&resp, have) {
                // A 200 (or a 206 for other bytes) means start over.
                hasher = Sha256::new();
                have = 0;
                file.set_len(0).map_err(write_err)?;
                file.rewind().map_err(write_err)?;
            }
            let total = resp.content_length().map(|n| n + have);
            if !started {
                self.reporter.download_start(&redact(url), total);
                started = true;
            }
            loop {
                let n = match resp.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(self.body_error(url, e)),
                };
                hasher.update(&buf[..n]);
                file.write_all(&buf[..n]).map_err(write_err)?;
                have += n as u64;
                self.reporter.download_progress(have);
            }
            Ok(())
        });
        if started {
            self.reporter.download_end();
        }
        result?;
        file.flush().map_err(write_err)?;
        Ok((crate::verify::hex(hasher), have))
    }

    fn body_error(&self, url: &str, e: io::Error) -> HttpError {
        let timed_out = e.kind() == io::ErrorKind::TimedOut
            || e.get_ref()
                .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                .is_some_and(reqwest::Error::is_timeout);
        if timed_out {
            HttpError::Stalled {
                url: redact(url),
                secs: self.config.idle_timeout.as_secs(),
            }
        } else {
            HttpError::Transport {
                url: redact(url),
                source: Box::new(e),
            }
        }
    }

    /// Sends one GET, following redirects by hand so that each hop is checked: no downgrade
    /// to http, the token only where it belongs. Answers other than 2xx (and 3xx when
    /// `follow` is off) become errors.
    fn send(&self, url: &Url, range: Option<u64>, follow: bool) -> Result<Response, HttpError> {
        let client = self.client()?;
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut req = client.get(current.clone());
            if let Some(from) = range {
                req = req.header(RANGE, format!("bytes={from}-"));
            }
            if let Some(token) = self.token_for(&current) {
                req = req.header(AUTHORIZATION, format!("Bearer {token}"));
            }
            let resp = req.send().map_err(|e| HttpError::transport(&current, e))?;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                if !follow {
                    return Ok(resp);
                }
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| current.join(loc).ok())
                    .ok_or_else(|| HttpError::Status {
                        url: redact(current.as_str()),
                        status: status.as_u16(),
                    })?;
                if current.scheme() == "https" && next.scheme() != "https" {
                    return Err(HttpError::Downgrade {
                        from: redact(current.as_str()),
                        to: redact(next.as_str()),
                    });
                }
                self.check_url(next.as_str())?;
                current = next;
                continue;
            }
            if status.is_success() {
                return Ok(resp);
            }
            let url_text = redact(current.as_str());
            return Err(match status.as_u16() {
                404 | 410 => HttpError::NotFound {
                    url: url_text,
                    status: status.as_u16(),
                },
                code => {
                    if (code == 403 || code == 429) && is_rate_limited(resp.headers()) {
                        // Rate limits are worth waiting for: say so with a retryable status.
                        self.remember_delay(resp.headers());
                        HttpError::Status {
                            url: url_text,
                            status: 429,
                        }
                    } else {
                        self.remember_delay(resp.headers());
                        HttpError::Status {
                            url: url_text,
                            status: code,
                        }
                    }
                }
            });
        }
        Err(HttpError::TooManyRedirects {
            url: redact(url.as_str()),
        })
    }

    fn token_for(&self, url: &Url) -> Option<&str> {
        let token = self.config.token.as_deref()?;
        let github = matches!(url.host_str(), Some("github.com" | "api.github.com"));
        (github && url.scheme() == "https").then_some(token)
    }

    fn remember_delay(&self, headers: &HeaderMap) {
        SERVER_DELAY.with(|d| d.set(server_delay(headers)));
    }

    /// Runs `attempt` up to 1 + retries times while its error is retryable, sleeping with
    /// exponential backoff and jitter, or as long as the server asked (capped).
    fn with_retries<T>(
        &self,
        url: &str,
        mut attempt: impl FnMut() -> Result<T, HttpError>,
    ) -> Result<T, HttpError> {
        let mut tries = 0u32;
        loop {
            SERVER_DELAY.with(|d| d.set(None));
            match attempt() {
                Ok(v) => return Ok(v),
                Err(e) if e.retryable() && tries < self.config.retries => {
                    tries += 1;
                    let asked = SERVER_DELAY.with(|d| d.get());
                    let delay = if self.config.no_delay {
                        Duration::ZERO
                    } else {
                        asked.unwrap_or_else(|| backoff(tries))
                    };
                    self.reporter.warn(&format!(
                        "retry {tries}/{} for `{}` in {:.1}s: {}",
                        self.config.retries,
                        redact(url),
                        delay.as_secs_f64(),
                        crate::report::chain(&e)
                    ));
                    std::thread::sleep(delay);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

thread_local! {
    /// The delay the last failed answer asked for (`Retry-After`, rate-limit reset).
    static SERVER_DELAY: std::cell::Cell<Option<Duration>> = const { std::cell::Cell::new(None) };
}

/// 0.5s, 1s, 2s, … capped at 30s, with ±50% jitter.
fn backoff(attempt: u32) -> Duration {
    let base = 0.5 * 2f64.powi(attempt.saturating_sub(1).min(6) as i32);
    let base = base.min(30.0);
    Duration::from_secs_f64(base * (0.5 + fastrand::f64()))
}

fn is_rate_limited(headers: &HeaderMap) -> bool {
    headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0")
        || headers.contains_key(RETRY_AFTER)
}

/// How long the server asked us to wait, capped.
fn server_delay(headers: &HeaderMap) -> Option<Duration> {
    let now = std::time::SystemTime::now();
    let asked = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let v = v.trim();
            v.parse::<u64>().ok().map(Duration::from_secs).or_else(|| {
                httpdate::parse_http_date(v)
                    .ok()
                    .map(|at| at.duration_since(now).unwrap_or_default())
            })
        })
        .or_else(|| {
            let reset = headers
                .get("x-ratelimit-reset")?
                .to_str()
                .ok()?
                .trim()
                .parse::<u64>()
                .ok()?;
            let at = std::time::UNIX_EPOCH + Duration::from_secs(reset);
            Some(at.duration_since(now).unwrap_or_default())
        })?;
    Some(asked.min(MAX_SERVER_DELAY))
}

/// A 206 whose `Content-Range` starts exactly where our bytes stop.
fn resume_accepted(resp: &Response, have: u64) -> bool {
    resp.status() == StatusCode::PARTIAL_CONTENT
        && resp
            .headers()
            .get(CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("bytes "))
            .and_then(|v| v.split_once('-'))
            .and_then(|(start, _)| start.trim().parse::<u64>().ok())
            == Some(have)
}

fn read_limited(resp: Response, url: &str, max: u64) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    let mut limited = resp.take(max + 1);
    limited
        .read_to_end(&mut body)
        .map_err(|e| HttpError::Transport {
            url: redact(url),
            source: Box::new(e),
        })?;
    if body.len() as u64 > max {
        return Err(HttpError::TooLarge {
            url: redact(url),
            max,
        });
    }
    Ok(body)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn file_path(url: &Url) -> Result<PathBuf, HttpError> {
    url.to_file_path().map_err(|()| HttpError::BadUrl {
        url: redact(url.as_str()),
    })
}

fn file_error(path: &std::path::Path, url: &str, e: io::Error) -> HttpError {
    if e.kind() == io::ErrorKind::NotFound {
        HttpError::FileNotFound(url.to_string())
    } else {
        HttpError::ReadFile {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

fn read_file(url: &Url, max: u64) -> Result<Vec<u8>, HttpError> {
    let path = file_path(url)?;
    let file = File::open(&path).map_err(|e| file_error(&path, url.as_str(), e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(HttpError::FileNotFound(url.to_string()));
    }
    let mut body = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut body)
        .map_err(|e| file_error(&path, url.as_str(), e))?;
    if body.len() as u64 > max {
        return Err(HttpError::TooLarge {
            url: url.to_string(),
            max,
        });
    }
    Ok(body)
}

fn build_client(config: &HttpConfig) -> Result<Client, HttpError> {
    let tls = tls_config(config);
    let mut builder = Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(config.idle_timeout)
        .connect_timeout(config.connect_timeout)
        .tls_backend_preconfigured(tls);
    let no_proxy = config
        .proxy
        .no_proxy
        .as_deref()
        .and_then(reqwest::NoProxy::from_string);
    let proxy_err = |url: &str| HttpError::BadUrl { url: redact(url) };
    if let Some(p) = config
        .proxy
        .https
        .as_deref()
        .or(config.proxy.all.as_deref())
    {
        let proxy = reqwest::Proxy::https(p).map_err(|_| proxy_err(p))?;
        builder = builder.proxy(proxy.no_proxy(no_proxy.clone()));
    }
    if let Some(p) = config.proxy.http.as_deref().or(config.proxy.all.as_deref()) {
        let proxy = reqwest::Proxy::http(p).map_err(|_| proxy_err(p))?;
        builder = builder.proxy(proxy.no_proxy(no_proxy));
    }
    builder.build().map_err(|e| HttpError::Transport {
        url: "(client setup)".into(),
        source: Box::new(e),
    })
}

/// rustls with ring: Mozilla's roots (bundled, so an image without a CA bundle works), the
/// system store, and whatever `SSL_CERT_FILE` / `SSL_CERT_DIR` add.
fn tls_config(config: &HttpConfig) -> rustls::ClientConfig {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    let mut files: Vec<PathBuf> = config.cert_file.iter().cloned().collect();
    if let Some(dir) = &config.cert_dir
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
    }
    for file in files {
        if let Ok(certs) = CertificateDer::pem_file_iter(&file) {
            roots.add_parsable_certificates(certs.flatten());
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
        // ring supports the default versions; this arm only keeps the type honest.
        Err(_) => rustls::ClientConfig::builder()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    };
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    tls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_from_redirect_or_body() {
        assert_eq!(
            tag_from_latest(
                "u",
                Some("https://github.com/upsun/cli/releases/tag/v5.10.8"),
                None
            )
            .unwrap(),
            "v5.10.8"
        );
        assert_eq!(
            tag_from_latest("u", None, Some(b"  v5.10.8\r\n")).unwrap(),
            "v5.10.8"
        );
        assert!(tag_from_latest("u", Some("https://github.com/upsun/cli/releases"), None).is_err());
        assert!(tag_from_latest("u", None, Some(b"<html>")).is_err());
        assert!(tag_from_latest("u", None, Some(b"")).is_err());
    }

    #[test]
    fn redaction_hides_credentials() {
        assert_eq!(
            redact("https://user:secret@example.com/x"),
            "https://***@example.com/x"
        );
        assert_eq!(redact("https://example.com/x"), "https://example.com/x");
    }

    #[test]
    fn server_delays_are_capped() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(server_delay(&h), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, "100000".parse().unwrap());
        assert_eq!(server_delay(&h), Some(MAX_SERVER_DELAY));
        assert_eq!(server_delay(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(750));
        assert!(backoff(20) <= Duration::from_secs(45));
    }
}
