//! The one HTTP client: every byte hookstrap fetches goes through here.
//!
//! It owns the network policies SPEC.md promises, so no other module has to think about them:
//!
//! - **Retries.** Up to `HOOKSTRAP_RETRIES` (default 4) more tries after the first, with
//!   exponential backoff and jitter, or as long as the server asked with `Retry-After` or
//!   `x-ratelimit-reset` (capped at [`MAX_SERVER_DELAY`]). Connect errors, timeouts, resets,
//!   408, 429, 5xx and rate-limited 401/403 are retried; a 404, a plain 401/403, a certificate
//!   error, a refused downgrade or a local write error never are. The retried unit is the whole
//!   request *and* the streaming and hashing of its body, so a stream that fails halfway is
//!   fetched again; each retry says why through [`Reporter::warn`]. The server-requested delay
//!   travels inside the error ([`HttpError::Status`]), not in global state.
//! - **Resume.** After a dropped connection a download continues with `Range: bytes=N-` (and
//!   `If-Range` when the first answer had a strong `ETag` or a `Last-Modified`); only a 206
//!   whose `Content-Range` starts at N (and agrees on the total) is appended, anything else
//!   (a 200, another range) starts over from byte 0. The returned hash covers every byte of the
//!   file; a resumed download whose hash does not match the expected one is fetched once more
//!   from scratch, since splicing two different files is the one failure resuming adds.
//! - **Timeouts.** A connect timeout, and an idle timeout (`HOOKSTRAP_TIMEOUT`, seconds without
//!   a byte, default 30): reqwest's blocking client applies its timeout to the wait for the
//!   response head and to every single `read`, so a server that stalls ends in
//!   [`HttpError::Stalled`] (exit 4) in bounded time however large the file is.
//! - **Proxies.** `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (either case, read by
//!   [`crate::settings`]). Only `NO_PROXY` exempts a host: loopback is proxied like anything
//!   else, as SPEC.md says (curl exempts nothing by default either).
//! - **TLS** with rustls and ring: Mozilla's roots are bundled and always trusted, so an image
//!   without a CA bundle (or a `SSL_CERT_FILE` holding only a corporate CA) still reaches
//!   github.com; the system store and `SSL_CERT_FILE` / `SSL_CERT_DIR` (colon-separated, every
//!   PEM file in each) are added to them.
//! - **Plain http** only to loopback or with `--allow-http`; a redirect from https to http is
//!   refused, and at most [`MAX_REDIRECTS`] hops are followed. Redirects are followed by hand so
//!   that every hop is checked.
//! - **Tokens.** `GITHUB_TOKEN` / `GH_TOKEN` are sent only to `github.com` and `api.github.com`
//!   over https ([`token_for`]) — never to a mirror, a proxy in clear, or a redirect target on
//!   another host — and never printed. Every URL in a message goes through [`redact`], which
//!   hides `user:password@`.
//! - **Name resolution.** reqwest's `hickory-dns` feature is on: names are resolved in Rust
//!   from `/etc/hosts` (so `localhost` and container aliases work) and `/etc/resolv.conf`,
//!   instead of glibc's `getaddrinfo`, which in a static binary needs the NSS modules of the
//!   exact glibc it was linked against at run time and fails or misbehaves without them. What
//!   is lost: NSS sources other than files and DNS (mDNS, LDAP, nss-myhostname); and when
//!   `/etc/resolv.conf` cannot be read at all, hickory falls back to public resolvers.
//!
//! `file://` URLs are read from disk, and `--offline` turns every other URL into an error before
//! a socket is opened.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{
    AUTHORIZATION, CONTENT_RANGE, ETAG, HeaderMap, HeaderValue, IF_RANGE, LAST_MODIFIED, LOCATION,
    RANGE, RETRY_AFTER,
};
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};

use crate::diag::{Code, Diagnostic, Summary};
use crate::report::Reporter;

pub const MAX_REDIRECTS: usize = 10;
/// The longest wait a server may ask for with `Retry-After` or a rate-limit reset.
pub const MAX_SERVER_DELAY: Duration = Duration::from_secs(60);
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
    /// An answer that is neither a success, a redirect nor a 404. `rate_limited` when the
    /// headers say a limit was hit (then even a 401/403 is worth waiting for); `retry_after`
    /// is what the server asked us to wait, already capped.
    #[error("`{url}` answered HTTP {status}{}", if *.rate_limited { " (rate limit exceeded)" } else { "" })]
    Status {
        url: String,
        status: u16,
        rate_limited: bool,
        retry_after: Option<Duration>,
    },
    #[error("refusing plain http to `{url}`")]
    PlainHttp { url: String },
    #[error("refusing the redirect from `{from}` to plain http `{to}`")]
    Downgrade { from: String, to: String },
    #[error("more than {MAX_REDIRECTS} redirects from `{url}`")]
    TooManyRedirects { url: String },
    #[error("`{url}` sent no byte for {secs}s")]
    Stalled { url: String, secs: u64 },
    /// The download cannot go on from where it stopped and starts over from byte 0.
    #[error("the download of `{url}` starts over: {reason}")]
    Restart { url: String, reason: String },
    #[error("`{url}` answered more than {max} bytes")]
    TooLarge { url: String, max: u64 },
    /// A download ran past the size the lock file, the release listing or the answer's
    /// `Content-Length` gave: stopped at once, nothing kept (exit 5).
    #[error("`{url}` is larger than the {max} bytes expected; stopped downloading it")]
    Oversized { url: String, max: u64 },
    #[error("`{url}` answered something that is not a release tag: {reason}")]
    BadAnswer { url: String, reason: String },
    #[error("`{url}` is not a valid URL")]
    BadUrl { url: String },
    #[error("invalid proxy `{url}`")]
    BadProxy {
        url: String,
        #[source]
        source: reqwest::Error,
    },
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

impl Diagnostic for HttpError {
    fn code(&self) -> Code {
        match self {
            HttpError::NotFound { .. } | HttpError::FileNotFound(_) => Code::NotFound,
            HttpError::BadUrl { .. } | HttpError::BadProxy { .. } => Code::Usage,
            HttpError::Offline { .. } => Code::Offline,
            HttpError::Oversized { .. } => Code::Verify,
            HttpError::ReadFile { .. } | HttpError::Write { .. } => Code::LocalFs,
            _ => Code::Network,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            HttpError::Tls { .. } => Some(
                "if a proxy or a private CA signs this certificate, point `SSL_CERT_FILE` (or `SSL_CERT_DIR`) at its PEM".into(),
            ),
            HttpError::PlainHttp { .. } => {
                Some("use https://, or pass `--allow-http` if you trust this network".into())
            }
            HttpError::Downgrade { .. } => Some(
                "the server sent hookstrap from https to plain http; use a mirror that stays on https".into(),
            ),
            HttpError::Stalled { .. } => {
                Some("raise `HOOKSTRAP_TIMEOUT` (seconds without a byte) on a slow link".into())
            }
            HttpError::Transport { .. } => Some(
                "check the network and the proxy variables (`HTTPS_PROXY`, `NO_PROXY`); `HOOKSTRAP_RETRIES` sets how often to try again".into(),
            ),
            HttpError::Status {
                status: 401 | 403 | 429,
                rate_limited: true,
                ..
            } => Some(
                "a rate limit was hit: set `GITHUB_TOKEN` for GitHub, or use a mirror with `--mirror`".into(),
            ),
            HttpError::Status {
                status: 401 | 403, ..
            } => Some(
                "the server refused the request: set `GITHUB_TOKEN` for GitHub, or check the mirror's credentials (`https://user:password@host/…`)".into(),
            ),
            HttpError::Status { .. } if self.retryable() => Some(
                "the server kept failing; try again later, or raise `HOOKSTRAP_RETRIES`".into(),
            ),
            HttpError::BadProxy { .. } => Some(
                "`HTTPS_PROXY`, `HTTP_PROXY` and `ALL_PROXY` take `http://[user:password@]host:port`".into(),
            ),
            HttpError::Offline { .. } => Some(
                "warm the cache first with `hookstrap fetch`, or point `--mirror` at a `file://` mirror".into(),
            ),
            _ => None,
        }
    }
}

impl HttpError {
    /// A failed request, its cause told in one line ([`Summary`]); `proxy` is the proxy the
    /// request may have gone through, to name it when the connection failed.
    fn transport(url: &Url, err: reqwest::Error, idle: Duration, proxy: Option<&str>) -> HttpError {
        let url_text = redact(url.as_str());
        if err.is_timeout() && !err.is_connect() {
            return HttpError::Stalled {
                url: url_text,
                secs: idle.as_secs(),
            };
        }
        let certificate = is_certificate_error(&err);
        let text = readable_cause(&err, url, proxy);
        let source = Box::new(Summary::new(text, Box::new(err.without_url())));
        if certificate {
            HttpError::Tls {
                url: url_text,
                source,
            }
        } else {
            HttpError::Transport {
                url: url_text,
                source,
            }
        }
    }

    /// Whether trying again may help.
    fn retryable(&self) -> bool {
        match self {
            HttpError::Transport { .. } | HttpError::Stalled { .. } | HttpError::Restart { .. } => {
                true
            }
            HttpError::Status {
                status,
                rate_limited,
                ..
            } => *rate_limited || matches!(*status, 408 | 429) || (500..600).contains(status),
            _ => false,
        }
    }

    /// How long the server asked us to wait before the next try.
    fn server_delay(&self) -> Option<Duration> {
        match self {
            HttpError::Status { retry_after, .. } => *retry_after,
            _ => None,
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

/// One readable line for what went wrong under a request, from the error chain: a DNS
/// failure, a refused or reset connection, a TLS rejection. Falls back to the innermost cause.
fn readable_cause(
    err: &(dyn std::error::Error + 'static),
    url: &Url,
    proxy: Option<&str>,
) -> String {
    let host = url.host_str().unwrap_or("?").trim_matches(['[', ']']);
    let port = url.port_or_known_default().unwrap_or(0);
    let peer = match proxy {
        Some(p) => format!("{host}:{port} or by the proxy `{}`", redact(p)),
        None => format!("{host}:{port}"),
    };
    let mut dns = false;
    let mut innermost = err.to_string();
    let mut texts = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        // hyper-util's name for a failed lookup; hickory's error is below it.
        dns |= text == "dns error";
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return format!("TLS: {}", describe_tls(tls, host));
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            let said = match io.kind() {
                io::ErrorKind::ConnectionRefused => Some(format!("connection refused by {peer}")),
                io::ErrorKind::ConnectionReset => Some(format!("connection reset by {peer}")),
                io::ErrorKind::ConnectionAborted | io::ErrorKind::UnexpectedEof => {
                    Some(format!("connection closed by {peer}"))
                }
                io::ErrorKind::TimedOut => Some(format!("connecting to {peer} timed out")),
                io::ErrorKind::NetworkUnreachable => Some("the network is unreachable".into()),
                io::ErrorKind::HostUnreachable => Some(format!("no route to {host}")),
                io::ErrorKind::AddrNotAvailable => Some(format!("no usable address for {host}")),
                _ => None,
            };
            if let Some(said) = said {
                return said;
            }
        }
        texts.push(text.clone());
        innermost = text;
        // An io::Error's `source` skips the error it wraps: step into it instead.
        current = match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner),
            None => e.source(),
        };
    }
    if dns {
        let all = texts.join(" ").to_ascii_lowercase();
        let why = if all.contains("no records found") || all.contains("nxdomain") {
            ": no such host"
        } else if all.contains("timed out") || all.contains("no connections available") {
            ": no name server answered"
        } else {
            ""
        };
        return format!("cannot resolve {host}{why}");
    }
    if let Some(r) = err.downcast_ref::<reqwest::Error>()
        && r.is_connect()
        && r.is_timeout()
    {
        return format!("connecting to {peer} timed out");
    }
    innermost
}

/// What rustls refused, in words: the certificate problem names the host.
fn describe_tls(err: &rustls::Error, host: &str) -> String {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::UnknownIssuer => "certificate not trusted: issued by an authority that is not among the trusted roots".into(),
            C::Expired | C::ExpiredContext { .. } => "certificate not trusted: it has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "certificate not trusted: it is not valid yet".into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("certificate not trusted: it is not valid for `{host}`")
            }
            C::Revoked => "certificate not trusted: it was revoked".into(),
            C::BadSignature => "certificate not trusted: bad signature".into(),
            other => format!("certificate not trusted: {other}"),
        },
        rustls::Error::NoCertificatesPresented => "the server sent no certificate".into(),
        other => format!("handshake failed: {other}"),
    }
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

/// The token to send to `url`, if any: only to `github.com` and `api.github.com`, only over
/// https. Checked for every hop, so a redirect to another host (release assets live on
/// `objects.githubusercontent.com`) or to a mirror never carries it.
pub fn token_for<'t>(token: Option<&'t str>, url: &Url) -> Option<&'t str> {
    let token = token?;
    let github = matches!(url.host(), Some(url::Host::Domain(host))
        if host.eq_ignore_ascii_case("github.com") || host.eq_ignore_ascii_case("api.github.com"));
    (github && url.scheme() == "https" && url.port().is_none_or(|p| p == 443)).then_some(token)
}

/// Where a download's bytes go, in order. `restart` means the bytes so far are void (the
/// server started over): forget them. `finish` is called once after the last byte.
pub trait Sink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;
    fn restart(&mut self) -> io::Result<()>;
    fn finish(&mut self) -> io::Result<()>;
}

impl Sink for File {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)
    }

    fn restart(&mut self) -> io::Result<()> {
        self.set_len(0)?;
        self.rewind()?;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.flush()
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
    /// Tries after the first one.
    pub retries: u32,
    /// The longest wait for the next byte (response head or body).
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
    pub allow_http: bool,
    pub offline: bool,
    pub token: Option<String>,
    pub proxy: ProxyConfig,
    pub cert_file: Option<PathBuf>,
    /// `SSL_CERT_DIR`: one directory, or several separated by `:`.
    pub cert_dir: Option<PathBuf>,
    /// The longest wait between two tries (`HOOKSTRAP_RETRY_MAX_DELAY`): a server's
    /// `Retry-After` is honoured up to [`MAX_SERVER_DELAY`], and this cuts any wait shorter
    /// (`0`: retry at once, for CI and the test suite).
    pub max_retry_delay: Duration,
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
            max_retry_delay: MAX_SERVER_DELAY,
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
        url: redact(url),
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

/// Where a download stands between tries.
struct Progress {
    hasher: Sha256,
    have: u64,
    /// The total size the first answer announced, to check a resumed answer against.
    total: Option<u64>,
    /// `ETag` (strong only) or `Last-Modified` of the answer the bytes so far came from.
    validator: Option<HeaderValue>,
    /// Whether the bytes so far came from more than one answer.
    spliced: bool,
}

impl Progress {
    fn new() -> Self {
        Progress {
            hasher: Sha256::new(),
            have: 0,
            total: None,
            validator: None,
            spliced: false,
        }
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

    /// The proxy a request to `url` goes through, unless `NO_PROXY` exempts it (which only
    /// reqwest decides: this is for naming it in a message).
    fn proxy_for(&self, url: &Url) -> Option<&str> {
        let p = &self.config.proxy;
        match url.scheme() {
            "https" => p.https.as_deref().or(p.all.as_deref()),
            _ => p.http.as_deref().or(p.all.as_deref()),
        }
    }

    fn client(&self) -> Result<&Client, HttpError> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let client = build_client(&self.config, self.reporter)?;
        Ok(self.client.get_or_init(|| client))
    }

    /// Whether `--offline` forbids fetching `url`: every URL but `file://` needs the network.
    /// The one place the offline policy is decided.
    pub fn refuses_offline(&self, url: &str) -> bool {
        self.config.offline && !url.starts_with("file:")
    }

    /// Parses `url`, refusing what policy forbids before anything is sent.
    pub fn check_url(&self, url: &str) -> Result<Url, HttpError> {
        let parsed = Url::parse(url).map_err(|_| HttpError::BadUrl { url: redact(url) })?;
        match parsed.scheme() {
            _ if self.refuses_offline(url) => Err(HttpError::Offline { url: redact(url) }),
            "file" => Ok(parsed),
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
        self.with_retries(|| {
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
            let body = self.read_limited(resp, url, 4096)?;
            tag_from_latest(url, None, Some(&body))
        })
    }

    /// A small document (checksums, API JSON), at most `max` bytes.
    pub fn get_small(&self, url: &str, max: u64) -> Result<Vec<u8>, HttpError> {
        let parsed = self.check_url(url)?;
        if parsed.scheme() == "file" {
            return read_file(&parsed, max);
        }
        self.with_retries(|| {
            let resp = self.send(&parsed, None, true)?;
            self.read_limited(resp, url, max)
        })
    }

    /// [`Http::download_verified`] without an expected hash.
    /// Streams `url` into `sink` (empty at first), hashing as it goes, and returns
    /// `(sha256, length)`. A dropped connection resumes with `Range` when the server allows;
    /// each retry starts where the bytes stopped, and the hash covers every byte. When
    /// `expected` is given and a download pieced together from several answers does not hash
    /// to it, the file is fetched again from byte 0 (as one more retry). The caller still
    /// compares the returned hash: a single answer with the wrong bytes is not retried.
    pub fn download(
        &self,
        url: &str,
        sink: &mut dyn Sink,
        path: &Path,
        expected: Option<&str>,
        max_size: Option<u64>,
    ) -> Result<(String, u64), HttpError> {
        let parsed = self.check_url(url)?;
        let oversized = || HttpError::Oversized {
            url: redact(url),
            max: max_size.unwrap_or_default(),
        };
        let write_err = |source: io::Error| HttpError::Write {
            url: redact(url),
            path: path.to_path_buf(),
            source,
        };
        if parsed.scheme() == "file" {
            return copy_file(&parsed, url, sink, max_size, write_err);
        }

        let mut state = Progress::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut started: Option<usize> = None;
        let restart = |state: &mut Progress, sink: &mut dyn Sink| -> Result<(), HttpError> {
            *state = Progress::new();
            sink.restart().map_err(write_err)
        };
        let result = self.with_retries(|| {
            let resume = (state.have > 0).then(|| (state.have, state.validator.clone()));
            let mut resp = match self.send(&parsed, resume.as_ref(), true) {
                Err(HttpError::Status { status: 416, .. }) if resume.is_some() => {
                    restart(&mut state, sink)?;
                    return Err(HttpError::Restart {
                        url: redact(url),
                        reason: "the server refused the range (HTTP 416)".into(),
                    });
                }
                other => other?,
            };
            if resume.is_some() {
                if resume_accepted(&resp, state.have, state.total) {
                    state.spliced = true;
                } else if resp.status() == StatusCode::PARTIAL_CONTENT {
                    // Other bytes than asked for, or of another total size: useless.
                    restart(&mut state, sink)?;
                    return Err(HttpError::Restart {
                        url: redact(url),
                        reason: "the server answered another range than asked for".into(),
                    });
                } else {
                    // A 200: the whole file again; start over with this answer.
                    restart(&mut state, sink)?;
                }
            }
            if state.have == 0 {
                state.total = resp.content_length();
                state.validator = validator(resp.headers());
            }
            // A body announced larger than expected is not even started.
            if let (Some(max), Some(total)) = (max_size, state.total)
                && total > max
            {
                return Err(oversized());
            }
            let bar = *started
                .get_or_insert_with(|| self.reporter.download_start(&redact(url), state.total));
            loop {
                let n = match resp.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(self.body_error(url, e)),
                };
                if max_size.is_some_and(|max| state.have + n as u64 > max) {
                    return Err(oversized());
                }
                state.hasher.update(&buf[..n]);
                sink.write(&buf[..n]).map_err(write_err)?;
                state.have += n as u64;
                self.reporter.download_progress(bar, state.have);
            }
            if let Some(expected) = expected
                && state.spliced
            {
                let computed = crate::verify::hex(state.hasher.clone());
                if !computed.eq_ignore_ascii_case(expected) {
                    restart(&mut state, sink)?;
                    return Err(HttpError::Restart {
                        url: redact(url),
                        reason: format!(
                            "the resumed bytes hash to {computed}, not {expected}; the file may have changed between requests"
                        ),
                    });
                }
            }
            Ok(())
        });
        if let Some(bar) = started {
            self.reporter.download_end(bar);
        }
        result?;
        sink.finish().map_err(write_err)?;
        Ok((crate::verify::hex(state.hasher), state.have))
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
            let text = match Url::parse(url) {
                Ok(parsed) => readable_cause(&e, &parsed, None),
                Err(_) => e.to_string(),
            };
            HttpError::Transport {
                url: redact(url),
                source: Box::new(Summary::new(text, Box::new(e))),
            }
        }
    }

    fn read_limited(&self, resp: Response, url: &str, max: u64) -> Result<Vec<u8>, HttpError> {
        let mut body = Vec::new();
        resp.take(max + 1)
            .read_to_end(&mut body)
            .map_err(|e| self.body_error(url, e))?;
        if body.len() as u64 > max {
            return Err(HttpError::TooLarge {
                url: redact(url),
                max,
            });
        }
        Ok(body)
    }

    /// Sends one GET, following redirects by hand so that each hop is checked: no downgrade
    /// to http, plain http only where allowed, the token only where it belongs. Answers other
    /// than 2xx (and 3xx when `follow` is off) become errors.
    fn send(
        &self,
        url: &Url,
        resume: Option<&(u64, Option<HeaderValue>)>,
        follow: bool,
    ) -> Result<Response, HttpError> {
        let client = self.client()?;
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut req = client.get(current.clone());
            if let Some((from, validator)) = resume {
                req = req.header(RANGE, format!("bytes={from}-"));
                if let Some(v) = validator {
                    req = req.header(IF_RANGE, v.clone());
                }
            }
            if let Some(token) = token_for(self.config.token.as_deref(), &current)
                && let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {token}"))
            {
                value.set_sensitive(true);
                req = req.header(AUTHORIZATION, value);
            }
            let resp = req.send().map_err(|e| {
                HttpError::transport(
                    &current,
                    e,
                    self.config.idle_timeout,
                    self.proxy_for(&current),
                )
            })?;
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
                    .ok_or_else(|| status_error(&current, status, resp.headers()))?;
                if current.scheme() == "https" && next.scheme() != "https" {
                    return Err(HttpError::Downgrade {
                        from: redact(current.as_str()),
                        to: redact(next.as_str()),
                    });
                }
                self.check_url(next.as_str())?;
                self.reporter.verbose(&format!(
                    "`{}` redirects to `{}`",
                    redact(current.as_str()),
                    redact(next.as_str())
                ));
                current = next;
                continue;
            }
            if status.is_success() {
                return Ok(resp);
            }
            return Err(match status.as_u16() {
                404 | 410 => HttpError::NotFound {
                    url: redact(current.as_str()),
                    status: status.as_u16(),
                },
                _ => status_error(&current, status, resp.headers()),
            });
        }
        Err(HttpError::TooManyRedirects {
            url: redact(url.as_str()),
        })
    }

    /// Runs `attempt` up to 1 + retries times while its error is retryable, sleeping with
    /// exponential backoff and jitter, or as long as the server asked (capped).
    fn with_retries<T>(
        &self,
        mut attempt: impl FnMut() -> Result<T, HttpError>,
    ) -> Result<T, HttpError> {
        let mut tries = 0u32;
        loop {
            match attempt() {
                Ok(v) => return Ok(v),
                Err(e) if e.retryable() && tries < self.config.retries => {
                    tries += 1;
                    let delay = e.server_delay().unwrap_or_else(|| backoff(tries));
                    let waited = delay.min(self.config.max_retry_delay);
                    let cut = if waited < delay {
                        format!(
                            ", cut to {:.1}s by HOOKSTRAP_RETRY_MAX_DELAY",
                            waited.as_secs_f64()
                        )
                    } else {
                        String::new()
                    };
                    // The error names the URL (redacted) and says why.
                    self.reporter.warn(&format!(
                        "retry {tries}/{} in {:.1}s{cut}: {}",
                        self.config.retries,
                        delay.as_secs_f64(),
                        crate::report::chain(&e)
                    ));
                    std::thread::sleep(waited);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The error for an answer that is neither a success, a redirect nor a 404.
fn status_error(url: &Url, status: StatusCode, headers: &HeaderMap) -> HttpError {
    let code = status.as_u16();
    HttpError::Status {
        url: redact(url.as_str()),
        status: code,
        rate_limited: matches!(code, 401 | 403 | 429) && is_rate_limited(headers),
        retry_after: server_delay(headers),
    }
}

/// The answer's validator for `If-Range`: a strong `ETag`, else `Last-Modified`.
fn validator(headers: &HeaderMap) -> Option<HeaderValue> {
    headers
        .get(ETAG)
        .filter(|v| !v.as_bytes().starts_with(b"W/"))
        .or_else(|| headers.get(LAST_MODIFIED))
        .cloned()
}

/// 0.5s, 1s, 2s, … capped at 30s, with ±50% jitter.
fn backoff(attempt: u32) -> Duration {
    let base = 0.5 * 2f64.powi(attempt.saturating_sub(1).min(6) as i32);
    let base = base.min(30.0);
    Duration::from_secs_f64(base * (0.5 + fastrand::f64()))
}

/// Whether the headers say a rate limit was hit (GitHub: `x-ratelimit-remaining: 0`; anyone:
/// `Retry-After`).
fn is_rate_limited(headers: &HeaderMap) -> bool {
    headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0")
        || headers.contains_key(RETRY_AFTER)
}

/// How long the server asked us to wait (`Retry-After` in seconds or as a date, else GitHub's
/// `x-ratelimit-reset` epoch seconds), capped at [`MAX_SERVER_DELAY`].
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
            let at = std::time::UNIX_EPOCH.checked_add(Duration::from_secs(reset))?;
            Some(at.duration_since(now).unwrap_or_default())
        })?;
    Some(asked.min(MAX_SERVER_DELAY))
}

/// `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`).
fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let (range, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let end = end.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    (start <= end).then_some((start, end, total))
}

/// A 206 whose `Content-Range` starts exactly where our bytes stop, runs to the end, and
/// agrees with the total the first answer announced.
fn resume_accepted(resp: &Response, have: u64, total: Option<u64>) -> bool {
    if resp.status() != StatusCode::PARTIAL_CONTENT {
        return false;
    }
    let Some((start, end, range_total)) = resp
        .headers()
        .get(CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_content_range)
    else {
        return false;
    };
    let same_total = match (total, range_total) {
        (Some(a), Some(b)) => a == b && end + 1 == b,
        _ => true,
    };
    start == have && same_total
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

fn file_error(path: &Path, url: &str, e: io::Error) -> HttpError {
    if e.kind() == io::ErrorKind::NotFound {
        HttpError::FileNotFound(redact(url))
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
        return Err(HttpError::FileNotFound(redact(url.as_str())));
    }
    let mut body = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut body)
        .map_err(|e| file_error(&path, url.as_str(), e))?;
    if body.len() as u64 > max {
        return Err(HttpError::TooLarge {
            url: redact(url.as_str()),
            max,
        });
    }
    Ok(body)
}

/// A `file://` download: copy and hash.
fn copy_file(
    parsed: &Url,
    url: &str,
    sink: &mut dyn Sink,
    max_size: Option<u64>,
    write_err: impl Fn(io::Error) -> HttpError,
) -> Result<(String, u64), HttpError> {
    let src = file_path(parsed)?;
    let mut input = File::open(&src).map_err(|e| file_error(&src, url, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut len = 0u64;
    loop {
        let n = input.read(&mut buf).map_err(|e| file_error(&src, url, e))?;
        if n == 0 {
            break;
        }
        if max_size.is_some_and(|max| len + n as u64 > max) {
            return Err(HttpError::Oversized {
                url: redact(url),
                max: max_size.unwrap_or_default(),
            });
        }
        hasher.update(&buf[..n]);
        sink.write(&buf[..n]).map_err(&write_err)?;
        len += n as u64;
    }
    sink.finish().map_err(&write_err)?;
    Ok((crate::verify::hex(hasher), len))
}

fn build_client(config: &HttpConfig, reporter: &dyn Reporter) -> Result<Client, HttpError> {
    let tls = tls_config(config, reporter);
    // `timeout` on the blocking client bounds the wait for the response head and each single
    // `read` of the body (a fresh deadline per call): an idle timeout, not a total one.
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
    let bad = |url: &str, source: reqwest::Error| HttpError::BadProxy {
        url: redact(url),
        source: source.without_url(),
    };
    if let Some(p) = config
        .proxy
        .https
        .as_deref()
        .or(config.proxy.all.as_deref())
    {
        let proxy = reqwest::Proxy::https(p).map_err(|e| bad(p, e))?;
        builder = builder.proxy(proxy.no_proxy(no_proxy.clone()));
    }
    if let Some(p) = config.proxy.http.as_deref().or(config.proxy.all.as_deref()) {
        let proxy = reqwest::Proxy::http(p).map_err(|e| bad(p, e))?;
        builder = builder.proxy(proxy.no_proxy(no_proxy));
    }
    builder.build().map_err(|e| HttpError::Transport {
        url: "(client setup)".into(),
        source: Box::new(e.without_url()),
    })
}

/// The trusted roots as they are gathered, each counted once: hash links in `SSL_CERT_DIR`
/// (`3bde41ac.0` → `Some_CA.pem`), the system store and `SSL_CERT_FILE` often hold the same
/// certificate several times.
struct Roots {
    store: rustls::RootCertStore,
    seen: std::collections::HashSet<Vec<u8>>,
}

impl Roots {
    fn key(anchor: &rustls_pki_types::TrustAnchor<'_>) -> Vec<u8> {
        [
            anchor.subject.as_ref(),
            anchor.subject_public_key_info.as_ref(),
        ]
        .concat()
    }

    fn bundled() -> Roots {
        let mut roots = Roots {
            store: rustls::RootCertStore::empty(),
            seen: std::collections::HashSet::new(),
        };
        for anchor in webpki_roots::TLS_SERVER_ROOTS {
            if roots.seen.insert(Roots::key(anchor)) {
                roots.store.roots.push(anchor.clone());
            }
        }
        roots
    }

    /// Adds what parses; returns (certificates read, of which new).
    fn add(
        &mut self,
        certs: impl IntoIterator<Item = rustls_pki_types::CertificateDer<'static>>,
    ) -> (usize, usize) {
        let (mut read, mut new) = (0, 0);
        for cert in certs {
            let mut one = rustls::RootCertStore::empty();
            if one.add(cert).is_err() {
                continue;
            }
            read += 1;
            for anchor in one.roots {
                if self.seen.insert(Roots::key(&anchor)) {
                    self.store.roots.push(anchor);
                    new += 1;
                }
            }
        }
        (read, new)
    }
}

/// The files `SSL_CERT_DIR` names: every regular file (or link to one) in each directory.
fn cert_dir_files(dirs: &Path, reporter: &dyn Reporter) -> Vec<PathBuf> {
    let dirs = dirs.to_string_lossy();
    let mut files = Vec::new();
    for dir in dirs.split(':').filter(|d| !d.is_empty()).map(Path::new) {
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                let mut found: Vec<PathBuf> = entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect();
                found.sort();
                files.extend(found);
            }
            Err(e) => reporter.warn(&format!(
                "cannot read `SSL_CERT_DIR` entry `{}`: {e}",
                dir.display()
            )),
        }
    }
    files
}

/// Reads the certificates of `files` into `roots`: (files read, certificates, new ones).
/// Each file is named at `-vv`; one that cannot be read is a warning.
fn add_cert_files(
    roots: &mut Roots,
    what: &str,
    files: &[PathBuf],
    reporter: &dyn Reporter,
) -> (usize, usize, usize) {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let (mut read_files, mut read, mut new) = (0, 0, 0);
    for file in files {
        match CertificateDer::pem_file_iter(file) {
            Ok(certs) => {
                let (r, n) = roots.add(certs.flatten());
                read_files += 1;
                read += r;
                new += n;
                reporter.debug(&format!(
                    "{what} `{}`: {r} certificate(s), {n} not already trusted",
                    file.display()
                ));
            }
            Err(e) => reporter.warn(&format!(
                "cannot read certificates from `{}`: {e}",
                file.display()
            )),
        }
    }
    (read_files, read, new)
}

/// rustls with ring: Mozilla's roots (bundled, so an image without a CA bundle works), the
/// system store, and whatever `SSL_CERT_FILE` / `SSL_CERT_DIR` add. A named file or directory
/// that cannot be read is reported, not fatal: the other roots may still do. `-v` says in one
/// line where the roots came from and how many there are, each counted once; `-vv` names
/// every file.
fn tls_config(config: &HttpConfig, reporter: &dyn Reporter) -> rustls::ClientConfig {
    let mut roots = Roots::bundled();
    let mut sources = vec![format!("{} bundled (Mozilla)", roots.store.roots.len())];
    // Also reads SSL_CERT_FILE / SSL_CERT_DIR itself; adding them again below costs nothing,
    // as every root is counted once.
    let native = rustls_native_certs::load_native_certs();
    let (read, _) = roots.add(native.certs);
    sources.push(format!("{read} in the system store"));
    if let Some(file) = &config.cert_file {
        let (_, read, _) = add_cert_files(
            &mut roots,
            "SSL_CERT_FILE",
            std::slice::from_ref(file),
            reporter,
        );
        sources.push(format!("{read} in SSL_CERT_FILE `{}`", file.display()));
    }
    if let Some(dirs) = &config.cert_dir {
        let files = cert_dir_files(dirs, reporter);
        let (count, read, _) = add_cert_files(&mut roots, "SSL_CERT_DIR", &files, reporter);
        sources.push(format!(
            "{read} in {count} file(s) of SSL_CERT_DIR `{}`",
            dirs.display()
        ));
    }
    reporter.verbose(&format!(
        "TLS: {} distinct root certificates trusted, from {}",
        roots.store.roots.len(),
        sources.join(", ")
    ));
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b.with_root_certificates(roots.store).with_no_client_auth(),
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
        assert_eq!(
            redact("https://:secret@example.com/x"),
            "https://***@example.com/x"
        );
        assert_eq!(redact("https://example.com/x"), "https://example.com/x");
        let err = tag_from_latest("https://u:secret@example.com/latest", None, Some(b"<x>"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn token_goes_to_github_over_https_only() {
        let t = Some("tok");
        let url = |u: &str| Url::parse(u).unwrap();
        assert_eq!(token_for(t, &url("https://github.com/upsun/cli")), t);
        assert_eq!(token_for(t, &url("https://api.github.com/repos/a/b")), t);
        assert_eq!(token_for(t, &url("https://GitHub.com/x")), t);
        assert_eq!(token_for(None, &url("https://github.com/x")), None);
        for other in [
            "http://github.com/x",
            "http://api.github.com/x",
            "https://github.com:8443/x",
            "https://objects.githubusercontent.com/x",
            "https://github.com.evil.example/x",
            "https://evilgithub.com/x",
            "https://mirror.example/github.com/x",
            "https://127.0.0.1/x",
        ] {
            assert_eq!(token_for(t, &url(other)), None, "{other}");
        }
    }

    #[test]
    fn server_delays_are_capped() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(server_delay(&h), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, "100000".parse().unwrap());
        assert_eq!(server_delay(&h), Some(MAX_SERVER_DELAY));
        assert_eq!(server_delay(&HeaderMap::new()), None);
        let mut reset = HeaderMap::new();
        reset.insert("x-ratelimit-reset", "0".parse().unwrap());
        assert_eq!(server_delay(&reset), Some(Duration::ZERO));
        reset.insert("x-ratelimit-reset", u64::MAX.to_string().parse().unwrap());
        assert!(server_delay(&reset).is_none_or(|d| d <= MAX_SERVER_DELAY));
    }

    #[test]
    fn what_is_retried() {
        let status = |status: u16, rate_limited: bool| HttpError::Status {
            url: "u".into(),
            status,
            rate_limited,
            retry_after: None,
        };
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(status(code, false).retryable(), "{code}");
        }
        for code in [400, 401, 403, 405, 416] {
            assert!(!status(code, false).retryable(), "{code}");
        }
        assert!(status(403, true).retryable());
        assert!(status(401, true).retryable());
        assert!(
            !HttpError::NotFound {
                url: "u".into(),
                status: 404
            }
            .retryable()
        );
        assert!(
            !HttpError::Downgrade {
                from: "a".into(),
                to: "b".into()
            }
            .retryable()
        );
        assert!(
            !HttpError::Tls {
                url: "u".into(),
                source: "bad cert".into()
            }
            .retryable()
        );
        assert!(
            HttpError::Stalled {
                url: "u".into(),
                secs: 1
            }
            .retryable()
        );
    }

    #[test]
    fn rate_limit_headers() {
        let mut h = HeaderMap::new();
        assert!(!is_rate_limited(&h));
        h.insert("x-ratelimit-remaining", "12".parse().unwrap());
        assert!(!is_rate_limited(&h));
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        assert!(is_rate_limited(&h));
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "3".parse().unwrap());
        assert!(is_rate_limited(&h));
    }

    #[test]
    fn content_range_parsing() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, 199, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 0-9/*"), Some((0, 9, None)));
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("bytes 9-0/200"), None);
        assert_eq!(parse_content_range("items 0-9/10"), None);
    }

    #[test]
    fn weak_etags_are_not_validators() {
        let mut h = HeaderMap::new();
        h.insert(ETAG, "W/\"abc\"".parse().unwrap());
        assert_eq!(validator(&h), None);
        h.insert(
            LAST_MODIFIED,
            "Tue, 14 Nov 2023 22:13:20 GMT".parse().unwrap(),
        );
        assert_eq!(validator(&h).unwrap(), "Tue, 14 Nov 2023 22:13:20 GMT");
        h.insert(ETAG, "\"abc\"".parse().unwrap());
        assert_eq!(validator(&h).unwrap(), "\"abc\"");
    }

    #[test]
    fn loopback_hosts() {
        for u in [
            "http://localhost:1/",
            "http://127.0.0.1/",
            "http://127.1.2.3/",
            "http://[::1]/",
        ] {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        for u in [
            "http://example.com/",
            "http://10.0.0.1/",
            "http://localhost.example/",
        ] {
            assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(750));
        assert!(backoff(20) <= Duration::from_secs(45));
    }
}
