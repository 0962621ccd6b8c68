//! A small fault-injecting HTTP/1.1 server for integration tests.
//!
//! Std threads only: one accept thread, one thread per connection, keep-alive honoured. Each
//! route answers with a [`Behavior`]: plain bodies, files with `Range` support, redirects,
//! sequences ("500 twice, then the file") and faults (a body cut short, headers then silence).
//! Every request is recorded before it is answered, so a test can assert what the binary asked
//! for, how often, and with which headers. Dropping the server stops everything: stalled
//! responses poll the stop flag, blocked reads are unblocked by shutting their sockets down.
//!
//! For parallelism tests, responses can be held back ([`Behavior::delayed`] per route,
//! [`TestServer::delay_responses`] for all), and the server counts how many requests it is
//! answering at once ([`TestServer::max_in_flight`]): overlap is asserted by counting, never
//! by timing.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How often a stalled response checks whether the server is being dropped.
const STALL_POLL: Duration = Duration::from_millis(20);
/// Requests with a head larger than this are answered with 431 and the connection is closed.
const MAX_HEAD: usize = 64 * 1024;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The path of the request target, without the query; for an absolute-form target
    /// (`GET http://host/path`, as sent to a proxy) the path part only.
    pub path: String,
    /// The request target exactly as sent (origin-form or absolute-form, query included).
    pub target: String,
    /// Header names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the target was in absolute form, i.e. the request came through as to a proxy.
    pub fn is_absolute_form(&self) -> bool {
        self.target.contains("://")
    }
}

/// What a route answers. Build with the constructors, add headers with [`Behavior::header`],
/// chain with [`Behavior::times`] + [`Times::then`].
#[derive(Clone, Debug)]
pub enum Behavior {
    /// A complete response; `Range` is ignored.
    Body {
        status: u16,
        headers: Vec<(String, String)>,
        body: Arc<Vec<u8>>,
    },
    /// A file: `200` with the whole body, or, when `ranges` is set and the request carries
    /// `Range: bytes=N-` (or `N-M`), `206` with `Content-Range`; an unsatisfiable range gets `416`.
    File {
        headers: Vec<(String, String)>,
        body: Arc<Vec<u8>>,
        ranges: bool,
    },
    /// A redirect (`Content-Length: 0`).
    Redirect {
        status: u16,
        location: String,
        headers: Vec<(String, String)>,
    },
    /// A bare status with an empty body, e.g. `404`, `500`, or `429` with `Retry-After`.
    Status {
        code: u16,
        headers: Vec<(String, String)>,
    },
    /// `200` with the full `Content-Length`, then only the first `bytes` bytes of the body, then
    /// the socket is closed. `Range` is ignored.
    CloseAfter {
        headers: Vec<(String, String)>,
        body: Arc<Vec<u8>>,
        bytes: usize,
    },
    /// `200` with `Content-Length: len`, then nothing until the server is dropped.
    StallAfterHeaders {
        headers: Vec<(String, String)>,
        len: u64,
    },
    /// Nothing at all, not even a status line, until the server is dropped.
    StallBeforeHeaders,
    /// The first `first` requests get `this`, every later one gets `then` (counted per route,
    /// nested sequences count relative to their own start).
    Sequence {
        first: usize,
        this: Box<Behavior>,
        then: Box<Behavior>,
    },
    /// `then`, after holding the response back for `delay` (the request counts as in flight
    /// meanwhile).
    Delayed {
        delay: Duration,
        then: Box<Behavior>,
    },
}

/// Half of a sequence: see [`Behavior::times`].
#[derive(Debug)]
pub struct Times {
    first: usize,
    this: Behavior,
}

impl Times {
    /// After the counted requests, answer every later one with `next`.
    pub fn then(self, next: Behavior) -> Behavior {
        Behavior::Sequence {
            first: self.first,
            this: Box::new(self.this),
            then: Box::new(next),
        }
    }
}

impl Behavior {
    /// `200` with `body` (`application/octet-stream`), Range ignored.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self::body(200, body)
    }

    /// `status` with `body`, Range ignored.
    pub fn body(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::Body {
            status,
            headers: Vec::new(),
            body: Arc::new(body.into()),
        }
    }

    /// A file with Range support.
    pub fn file(body: impl Into<Vec<u8>>) -> Self {
        Self::File {
            headers: Vec::new(),
            body: Arc::new(body.into()),
            ranges: true,
        }
    }

    /// A file that ignores `Range` and always sends `200` with everything.
    pub fn file_no_range(body: impl Into<Vec<u8>>) -> Self {
        Self::File {
            headers: Vec::new(),
            body: Arc::new(body.into()),
            ranges: false,
        }
    }

    /// An empty response with this status.
    pub fn status(code: u16) -> Self {
        Self::Status {
            code,
            headers: Vec::new(),
        }
    }

    /// `status` (301, 302, 307, ...) to `location`.
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        Self::Redirect {
            status,
            location: location.into(),
            headers: Vec::new(),
        }
    }

    /// Headers announcing all of `body`, then only `bytes` of it, then a closed socket.
    pub fn close_after(body: impl Into<Vec<u8>>, bytes: usize) -> Self {
        Self::CloseAfter {
            headers: Vec::new(),
            body: Arc::new(body.into()),
            bytes,
        }
    }

    /// The connection is accepted and the request read, then silence: no status line.
    pub fn stall_before_headers() -> Self {
        Self::StallBeforeHeaders
    }

    /// Headers announcing `len` bytes, then silence until the server is dropped.
    pub fn stall_after_headers(len: u64) -> Self {
        Self::StallAfterHeaders {
            headers: Vec::new(),
            len,
        }
    }

    /// The common flaky download: the first `times` requests are cut after `bytes` bytes, later
    /// ones get the whole file, with `Range` honoured (`206`) or ignored (`200`) per `ranges`.
    pub fn truncated_then_file(
        body: impl Into<Vec<u8>>,
        bytes: usize,
        times: usize,
        ranges: bool,
    ) -> Self {
        let body = Arc::new(body.into());
        Self::CloseAfter {
            headers: Vec::new(),
            body: body.clone(),
            bytes,
        }
        .times(times)
        .then(Self::File {
            headers: Vec::new(),
            body,
            ranges,
        })
    }

    /// The same answer, held back for `delay` first.
    pub fn delayed(self, delay: Duration) -> Self {
        Self::Delayed {
            delay,
            then: Box::new(self),
        }
    }

    /// Answer the first `n` requests like this; finish with [`Times::then`].
    pub fn times(self, n: usize) -> Times {
        Times {
            first: n,
            this: self,
        }
    }

    /// Add a response header (for a sequence: to both branches).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        match &mut self {
            Self::Body { headers, .. }
            | Self::File { headers, .. }
            | Self::Redirect { headers, .. }
            | Self::Status { headers, .. }
            | Self::CloseAfter { headers, .. }
            | Self::StallAfterHeaders { headers, .. } => {
                headers.push((name.to_owned(), value));
            }
            Self::Sequence { this, then, .. } => {
                let a = std::mem::replace(&mut **this, Self::status(0));
                **this = a.header(name, value.clone());
                let b = std::mem::replace(&mut **then, Self::status(0));
                **then = b.header(name, value);
            }
            Self::Delayed { then, .. } => {
                let b = std::mem::replace(&mut **then, Self::status(0));
                **then = b.header(name, value);
            }
            // Sends no headers at all.
            Self::StallBeforeHeaders => {}
        }
        self
    }
}

/// A running server; dropping it stops it.
pub struct TestServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    host: &'static str,
    scheme: &'static str,
    accept: Option<JoinHandle<()>>,
}

struct Route {
    behavior: Behavior,
    hits: usize,
}

struct Shared {
    stop: AtomicBool,
    routes: Mutex<HashMap<String, Route>>,
    root: Mutex<Option<PathBuf>>,
    requests: Mutex<Vec<RecordedRequest>>,
    conns: Mutex<Vec<(TcpStream, JoinHandle<()>)>>,
    tls: Option<Arc<rustls::ServerConfig>>,
    tunnel: AtomicBool,
    /// Every response is held back this many milliseconds (0: none).
    delay_ms: AtomicU64,
    /// Requests being answered right now, and the most there were at once.
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A poisoned mutex only means another connection thread panicked; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl TestServer {
    /// A plain HTTP server on 127.0.0.1, on a free port.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// The server behind `start` and `start_tls`; with a config, every connection is TLS.
    pub(crate) fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let is_tls = tls.is_some();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            routes: Mutex::new(HashMap::new()),
            root: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
            conns: Mutex::new(Vec::new()),
            tls,
            tunnel: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let accept = {
            let shared = shared.clone();
            thread::Builder::new()
                .name(format!("test-server-{}", addr.port()))
                .spawn(move || accept_loop(&listener, &shared))
                .expect("spawn accept thread")
        };
        Self {
            shared,
            addr,
            host: if is_tls { "localhost" } else { "127.0.0.1" },
            scheme: if is_tls { "https" } else { "http" },
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT` (`https://localhost:PORT` for a TLS server); no trailing slash.
    pub fn url(&self) -> String {
        format!("{}://{}:{}", self.scheme, self.host, self.addr.port())
    }

    /// Like `url()` but always with the IP address: `http(s)://127.0.0.1:PORT`.
    pub fn url_ip(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.addr.port())
    }

    /// `127.0.0.1:PORT`, e.g. for `HTTP_PROXY`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Answer requests for exactly `path` (query stripped) with `behavior`; replaces an existing
    /// route and restarts its sequence count.
    pub fn route(&self, path: &str, behavior: Behavior) {
        lock(&self.shared.routes).insert(path.to_owned(), Route { behavior, hits: 0 });
    }

    /// Forget a route.
    pub fn unroute(&self, path: &str) {
        lock(&self.shared.routes).remove(path);
    }

    /// Serve files under `root` for paths without a route (`..` refused, directories 404,
    /// Range supported). The files are read at request time.
    pub fn serve_dir(&self, root: &Path) {
        *lock(&self.shared.root) = Some(root.to_owned());
    }

    /// Act as an HTTPS proxy too: answer `CONNECT host:port` with `200` and relay bytes both
    /// ways (plain-HTTP servers only). Without this, `CONNECT` gets `405`. The `CONNECT` itself
    /// is recorded with `path` = `host:port`; what flows through the tunnel is not.
    pub fn enable_connect_tunnel(&self) {
        self.shared.tunnel.store(true, Ordering::SeqCst);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests had this path.
    pub fn count(&self, path: &str) -> usize {
        lock(&self.shared.requests)
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// How many requests arrived in total.
    pub fn total(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// Forget the recorded requests (routes and their sequence counts are kept).
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Hold every response back for `delay` before its status line, like a far-away server:
    /// a client that waits for each answer before the next request pays it once per request.
    pub fn delay_responses(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// The most requests the server was answering at the same time (from the request's head
    /// read to its response written) since it started or [`TestServer::reset_in_flight`].
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Start counting [`TestServer::max_in_flight`] afresh.
    pub fn reset_in_flight(&self) {
        self.shared.max_in_flight.store(0, Ordering::SeqCst);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        // The accept thread is gone, so no connection can register any more.
        let conns = std::mem::take(&mut *lock(&self.shared.conns));
        for (sock, _) in &conns {
            let _ = sock.shutdown(Shutdown::Both);
        }
        for (_, handle) in conns {
            let _ = handle.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for sock in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(sock) = sock else { continue };
        let Ok(handle_sock) = sock.try_clone() else {
            continue;
        };
        let _ = sock.set_nodelay(true);
        let conn_shared = shared.clone();
        let Ok(handle) = thread::Builder::new()
            .name("test-server-conn".into())
            .spawn(move || {
                let conn = match &conn_shared.tls {
                    None => Conn::Plain(sock),
                    Some(cfg) => match rustls::ServerConnection::new(cfg.clone()) {
                        Ok(c) => Conn::Tls(Box::new(rustls::StreamOwned::new(c, sock))),
                        Err(_) => return,
                    },
                };
                serve_connection(conn, &conn_shared);
            })
        else {
            continue;
        };
        let mut conns = lock(&shared.conns);
        conns.retain(|(_, h)| !h.is_finished());
        conns.push((handle_sock, handle));
    }
}

/// A plain or TLS connection.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Conn {
    /// Close after a complete response: TLS says goodbye properly.
    fn close(&mut self) {
        if let Self::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let _ = self.sock().shutdown(Shutdown::Both);
    }

    /// Close abruptly, mid-body: no `close_notify`, so a TLS client sees a truncation too.
    fn abort(&mut self) {
        let _ = self.flush();
        let _ = self.sock().shutdown(Shutdown::Both);
    }

    fn sock(&self) -> &TcpStream {
        match self {
            Self::Plain(s) => s,
            Self::Tls(s) => &s.sock,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            Self::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
        }
    }
}

/// What the connection loop does after a response.
enum After {
    KeepAlive,
    Close,
    /// Already closed (or must be closed without ceremony).
    Abort,
}

fn serve_connection(conn: Conn, shared: &Shared) {
    let mut reader = BufReader::new(conn);
    loop {
        let req = match read_request(&mut reader) {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(_) => {
                let _ = write_head(reader.get_mut(), 400, &[], Some(0), true);
                reader.get_mut().close();
                return;
            }
        };
        lock(&shared.requests).push(req.recorded.clone());
        if req.recorded.method == "CONNECT" {
            connect_tunnel(reader, &req.recorded.target, shared);
            return;
        }
        let close = req.wants_close;
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let delay = Duration::from_millis(shared.delay_ms.load(Ordering::SeqCst));
        hold(delay, &shared.stop);
        let result = dispatch(&req, shared, reader.get_mut(), close);
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        match result {
            Ok(After::KeepAlive) if !close => {}
            Ok(After::KeepAlive | After::Close) => {
                reader.get_mut().close();
                return;
            }
            Ok(After::Abort) | Err(_) => {
                reader.get_mut().abort();
                return;
            }
        }
    }
}

/// Sleeps for `delay`, waking early when the server is being dropped.
fn hold(delay: Duration, stop: &AtomicBool) {
    let until = std::time::Instant::now() + delay;
    while !stop.load(Ordering::SeqCst) {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return;
        }
        thread::sleep(left.min(STALL_POLL));
    }
}

/// Relay bytes between the client and `authority` until either side closes.
fn connect_tunnel(mut reader: BufReader<Conn>, authority: &str, shared: &Shared) {
    if !shared.tunnel.load(Ordering::SeqCst) || matches!(reader.get_ref(), Conn::Tls(_)) {
        let _ = write_head(reader.get_mut(), 405, &[], Some(0), true);
        reader.get_mut().close();
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(authority) else {
        let _ = write_head(reader.get_mut(), 502, &[], Some(0), true);
        reader.get_mut().close();
        return;
    };
    // Bytes the client sent after the CONNECT head (normally none: it waits for the 200).
    let early = reader.buffer().to_vec();
    let Conn::Plain(mut client) = reader.into_inner() else {
        return;
    };
    let established = client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .and_then(|()| upstream.write_all(&early));
    let (Ok(()), Ok(mut client_rx), Ok(mut upstream_tx)) =
        (established, client.try_clone(), upstream.try_clone())
    else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let down = thread::spawn(move || {
        let _ = io::copy(&mut upstream, &mut client);
        let _ = client.shutdown(Shutdown::Both);
    });
    // Ends when the client closes, or when `Drop` shuts the client socket down.
    let _ = io::copy(&mut client_rx, &mut upstream_tx);
    let _ = upstream_tx.shutdown(Shutdown::Both);
    let _ = down.join();
}

struct Request {
    recorded: RecordedRequest,
    head_only: bool,
    wants_close: bool,
}

impl Request {
    /// The start offset of `Range: bytes=N-` / `bytes=N-M` (end ignored: clients here resume).
    fn range(&self) -> Option<Result<(u64, Option<u64>), ()>> {
        let value = self.recorded.header("range")?;
        let spec = value.trim().strip_prefix("bytes=")?;
        let (start, end) = spec.split_once('-')?;
        let start = start.trim().parse::<u64>().map_err(|_| ());
        let end = match end.trim() {
            "" => Ok(None),
            e => e.parse::<u64>().map(Some).map_err(|_| ()),
        };
        Some(start.and_then(|s| end.map(|e| (s, e))))
    }
}

/// Read one request head (and skip its body); `None` when the peer closed between requests.
fn read_request(reader: &mut BufReader<Conn>) -> io::Result<Option<Request>> {
    let mut line = String::new();
    let mut head_len = 0;
    // Tolerate stray empty lines before a request line (RFC 9112 §2.2).
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            return Ok(None);
        }
        head_len += n;
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad request line",
        ));
    };
    let (method, target, version) = (method.to_owned(), target.to_owned(), version.to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        head_len += n;
        if n == 0 || head_len > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "bad head"));
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        let Some((name, value)) = l.split_once(':') else {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "bad header"));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let recorded = RecordedRequest {
        path: target_path(&target),
        method,
        target,
        headers,
    };
    if let Some(len) = recorded.header("content-length") {
        let len: u64 = len
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))?;
        io::copy(&mut reader.by_ref().take(len), &mut io::sink())?;
    }
    let connection = recorded
        .header("connection")
        .unwrap_or("")
        .to_ascii_lowercase();
    let wants_close = if version == "HTTP/1.0" {
        !connection.contains("keep-alive")
    } else {
        connection.contains("close")
    };
    Ok(Some(Request {
        head_only: recorded.method == "HEAD",
        recorded,
        wants_close,
    }))
}

/// The path of an origin-form (`/a?b`) or absolute-form (`http://h:1/a?b`) target.
fn target_path(target: &str) -> String {
    let rest = match target.split_once("://") {
        Some((_, after_scheme)) => match after_scheme.find('/') {
            Some(i) => &after_scheme[i..],
            None => "/",
        },
        None => target,
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    rest[..end].to_owned()
}

fn dispatch(req: &Request, shared: &Shared, out: &mut Conn, close: bool) -> io::Result<After> {
    let path = &req.recorded.path;
    // Pick the behaviour and bump the route's count under the lock, answer outside it.
    let routed = lock(&shared.routes).get_mut(path).map(|route| {
        let n = route.hits;
        route.hits += 1;
        (route.behavior.clone(), n)
    });
    if let Some((behavior, n)) = routed {
        return respond(&behavior, n, req, out, close, &shared.stop);
    }
    let root = lock(&shared.root).clone();
    let behavior = match root.and_then(|root| resolve_under(&root, path)) {
        Some(file) => match std::fs::read(&file) {
            Ok(bytes) => Behavior::file(bytes),
            Err(_) => Behavior::status(404),
        },
        None => Behavior::status(404),
    };
    respond(&behavior, 0, req, out, close, &shared.stop)
}

/// A regular file under `root` for a URL path, or `None` (missing, directory, or escaping).
fn resolve_under(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let rel = decoded.trim_start_matches('/');
    if rel.is_empty() || rel.contains('\\') || rel.contains('\0') {
        return None;
    }
    let rel = Path::new(rel);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let full = root.join(rel);
    full.is_file().then_some(full)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn respond(
    behavior: &Behavior,
    n: usize,
    req: &Request,
    out: &mut Conn,
    close: bool,
    stop: &AtomicBool,
) -> io::Result<After> {
    let keep = if close {
        After::Close
    } else {
        After::KeepAlive
    };
    match behavior {
        Behavior::Sequence { first, this, then } => {
            if n < *first {
                respond(this, n, req, out, close, stop)
            } else {
                respond(then, n - first, req, out, close, stop)
            }
        }
        Behavior::Delayed { delay, then } => {
            hold(*delay, stop);
            respond(then, n, req, out, close, stop)
        }
        Behavior::Body {
            status,
            headers,
            body,
        } => {
            write_head(out, *status, headers, Some(body.len() as u64), close)?;
            write_body(out, req, body)?;
            Ok(keep)
        }
        Behavior::Status { code, headers } => {
            write_head(out, *code, headers, Some(0), close)?;
            out.flush()?;
            Ok(keep)
        }
        Behavior::Redirect {
            status,
            location,
            headers,
        } => {
            let mut h = headers.clone();
            h.push(("Location".into(), location.clone()));
            write_head(out, *status, &h, Some(0), close)?;
            out.flush()?;
            Ok(keep)
        }
        Behavior::File {
            headers,
            body,
            ranges,
        } => {
            let len = body.len() as u64;
            let mut h = headers.clone();
            h.push(("Accept-Ranges".into(), "bytes".into()));
            match req.range().filter(|_| *ranges) {
                None => {
                    write_head(out, 200, &h, Some(len), close)?;
                    write_body(out, req, body)?;
                }
                Some(Ok((start, end))) if start < len => {
                    let end = end.map_or(len - 1, |e| e.min(len - 1));
                    if end < start {
                        return unsatisfiable(out, &h, len, close).map(|()| keep);
                    }
                    h.push(("Content-Range".into(), format!("bytes {start}-{end}/{len}")));
                    // Bounds checked above: start <= end < len.
                    let part = &body[start as usize..=end as usize];
                    write_head(out, 206, &h, Some(part.len() as u64), close)?;
                    write_body(out, req, part)?;
                }
                Some(_) => unsatisfiable(out, &h, len, close)?,
            }
            Ok(keep)
        }
        Behavior::CloseAfter {
            headers,
            body,
            bytes,
        } => {
            write_head(out, 200, headers, Some(body.len() as u64), close)?;
            if !req.head_only {
                out.write_all(&body[..(*bytes).min(body.len())])?;
            }
            out.flush()?;
            Ok(After::Abort)
        }
        Behavior::StallAfterHeaders { headers, len } => {
            write_head(out, 200, headers, Some(*len), close)?;
            out.flush()?;
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(STALL_POLL);
            }
            Ok(After::Abort)
        }
        Behavior::StallBeforeHeaders => {
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(STALL_POLL);
            }
            Ok(After::Abort)
        }
    }
}

fn unsatisfiable(
    out: &mut Conn,
    headers: &[(String, String)],
    len: u64,
    close: bool,
) -> io::Result<()> {
    let mut h = headers.to_vec();
    h.push(("Content-Range".into(), format!("bytes */{len}")));
    write_head(out, 416, &h, Some(0), close)?;
    out.flush()
}

fn write_body(out: &mut Conn, req: &Request, body: &[u8]) -> io::Result<()> {
    if !req.head_only {
        out.write_all(body)?;
    }
    out.flush()
}

fn write_head(
    out: &mut Conn,
    status: u16,
    headers: &[(String, String)],
    content_length: Option<u64>,
    close: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if let Some(len) = content_length.filter(|_| !has("content-length")) {
        head.push_str(&format!("Content-Length: {len}\r\n"));
    }
    if !has("content-type") {
        head.push_str("Content-Type: application/octet-stream\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
