//! The HTTP client for the Workato Developer API: Bearer auth, pacing per endpoint class,
//! retries that are safe, redirects followed by hand so the token never leaves the API's
//! origin, and error bodies turned into errors that name the URL (never the token).
//!
//! The client never prints: every request is recorded as a [`RequestEvent`] and handed to the
//! optional observer of [`ClientOptions`] (the CLI prints them with `-v`).

use crate::error::Subject;
use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::http::Uri;

use crate::error::{Error, Result};

/// The request timeout the Developer API documents (40 s).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(40);

/// The largest package Workato imports (100 MB); downloads and uploads above it are refused.
pub(crate) const MAX_PACKAGE_BYTES: u64 = 100 * 1024 * 1024;

/// Largest JSON answer read into memory (custom connector code can be 10 MB).
const MAX_JSON_BYTES: u64 = 32 * 1024 * 1024;

/// How many times a throttled (429) or, for idempotent calls, failed (5xx, connection) request
/// is tried again before giving up.
const MAX_RETRIES: u32 = 5;

/// Longest wait between two tries (also the cap on a server's `Retry-After`).
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Most redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

/// Whether the client paces its requests to the documented rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RateLimits {
    /// Pace every endpoint class to its documented limit (the default).
    #[default]
    Documented,
    /// No client-side pacing (the emulator, raised enterprise quotas); 429s are still handled.
    Off,
}

/// The rate-limit class of an endpoint (Workato documents one limit per class).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointClass {
    /// `POST /api/packages/import/:folder_id`: 500 per hour.
    Import,
    /// Other recipe lifecycle calls (manifests, export, package status, download): 60 per minute.
    Packaging,
    /// Custom connector calls: 1 per second.
    CustomConnectors,
    /// Folders and projects: 60 per minute.
    Folders,
    /// Recipes (list, start, stop): 60 per minute.
    Recipes,
    /// `GET /api/connections`: 60 per minute.
    Connections,
    /// Calls without a documented limit (`/api/users/me`).
    Unlimited,
}

impl EndpointClass {
    /// The documented limit: at most `count` requests in any `window`.
    pub fn limit(self) -> Option<(usize, Duration)> {
        match self {
            EndpointClass::Import => Some((500, Duration::from_secs(3600))),
            EndpointClass::Packaging
            | EndpointClass::Folders
            | EndpointClass::Recipes
            | EndpointClass::Connections => Some((60, Duration::from_secs(60))),
            EndpointClass::CustomConnectors => Some((1, Duration::from_secs(1))),
            EndpointClass::Unlimited => None,
        }
    }
}

/// An HTTP method the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET (idempotent: retried after 5xx and lost connections).
    Get,
    /// POST (never retried after 5xx or a lost connection).
    Post,
    /// PUT (idempotent in the API's semantics: retried).
    Put,
    /// DELETE (idempotent: retried; a second delete of the same id answers 404).
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    fn idempotent(self) -> bool {
        matches!(self, Method::Get | Method::Put | Method::Delete)
    }
}

/// One request as it happened (for `-v` logging); never holds a token.
#[derive(Debug, Clone)]
pub struct RequestEvent {
    /// The method.
    pub method: &'static str,
    /// The URL (a foreign origin's query string, e.g. a signed download URL, is hidden).
    pub url: String,
    /// The status, or `None` when no answer came.
    pub status: Option<u16>,
    /// How long the request took.
    pub elapsed: Duration,
    /// What the client does next when it is not done ("retrying in 2.1s", ...).
    pub note: Option<String>,
}

/// Receives each [`RequestEvent`] (the CLI prints them with `-v`).
pub type Observer = Arc<dyn Fn(&RequestEvent) + Send + Sync>;

/// A secret token: its `Debug` never shows it.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps a token read from its variable.
    pub fn new(token: String) -> Self {
        Token(token)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

/// How to build a [`Client`].
#[derive(Clone)]
pub struct ClientOptions {
    /// The workspace's base URL, without `/api` (e.g. `https://app.eu.workato.com`).
    pub base_url: String,
    /// The API token.
    pub token: Token,
    /// Allow plain `http://` to hosts other than loopback.
    pub allow_insecure_http: bool,
    /// Client-side pacing.
    pub rate_limits: RateLimits,
    /// Per-request timeout (default [`REQUEST_TIMEOUT`]).
    pub timeout: Duration,
    /// Receives every request made.
    pub observer: Option<Observer>,
}

impl ClientOptions {
    /// Options with the defaults: documented pacing, 40 s timeout, no insecure HTTP.
    pub fn new(base_url: impl Into<String>, token: Token) -> Self {
        ClientOptions {
            base_url: base_url.into(),
            token,
            allow_insecure_http: false,
            rate_limits: RateLimits::Documented,
            timeout: REQUEST_TIMEOUT,
            observer: None,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("base_url", &self.base_url)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("rate_limits", &self.rate_limits)
            .finish_non_exhaustive()
    }
}

/// Scheme, host and port: the token goes only to the API's own origin.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn of(uri: &Uri, shown: &str) -> Result<Origin> {
        let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => {
                return Err(Error::invalid(
                    Subject::Remote(shown.to_string()),
                    format!("URL `{shown}` is not http:// or https://"),
                ));
            }
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                Error::invalid(
                    Subject::Remote(shown.to_string()),
                    format!("URL `{shown}` has no host"),
                )
            })?
            .to_ascii_lowercase();
        Ok(Origin {
            scheme,
            host,
            port: uri.port_u16().unwrap_or(default_port),
        })
    }

    fn is_loopback(&self) -> bool {
        let h = self.host.trim_start_matches('[').trim_end_matches(']');
        h == "localhost"
            || h.parse::<std::net::IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false)
    }

    fn check_transport(&self, allow_insecure_http: bool, shown: &str) -> Result<()> {
        if self.scheme == "http" && !allow_insecure_http && !self.is_loopback() {
            return Err(Error::invalid(
                Subject::Remote(shown.to_string()),
                format!(
                    "refusing plain http:// to `{shown}`: the token and packages would travel \
                 unencrypted"
                ),
            )
            .hint("use https://, or pass `--allow-insecure-http` if you must"));
        }
        Ok(())
    }
}

/// A URL as shown in messages: a foreign origin's query (signatures) is hidden.
fn shown_url(url: &str, foreign: bool) -> String {
    match (foreign, url.split_once('?')) {
        (true, Some((base, _))) => format!("{base}?…"),
        _ => url.to_string(),
    }
}

/// Sliding-window pacing per endpoint class.
#[derive(Debug, Default)]
struct Pacer {
    sent: HashMap<EndpointClass, VecDeque<Instant>>,
}

impl Pacer {
    /// How long to wait before one more request of `class` may go out.
    fn wait_for(&mut self, class: EndpointClass, now: Instant) -> Duration {
        let Some((count, window)) = class.limit() else {
            return Duration::ZERO;
        };
        let q = self.sent.entry(class).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        if q.len() < count {
            return Duration::ZERO;
        }
        q.front()
            .map(|t| (*t + window).saturating_duration_since(now))
            .unwrap_or_default()
    }

    fn record(&mut self, class: EndpointClass, at: Instant) {
        self.sent.entry(class).or_default().push_back(at);
    }
}

/// A body to send.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// No body.
    Empty,
    /// A JSON document (`Content-Type: application/json`).
    Json(&'a [u8]),
    /// A package zip (`Content-Type: application/zip`, as the connector SDK sends).
    Zip(&'a [u8]),
}

/// A request: method, path under the base URL (`/api/...`), class, body.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// Path and query under the base URL, starting with `/api/`.
    pub path: &'a str,
    /// The rate-limit class.
    pub class: EndpointClass,
    /// The body.
    pub body: Body<'a>,
    /// Whether a lost answer leaves the outcome unknown (the import POST): such a request is
    /// never retried after a timeout, 5xx or dropped connection.
    pub outcome_matters: bool,
}

/// An answer: status and the body read to the end.
#[derive(Debug)]
pub struct Response {
    /// The final URL (after redirects), as shown in messages.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// What went wrong below HTTP.
enum Transport {
    /// The request surely never reached the server (DNS, refused connection).
    NotSent(String),
    /// It may have reached the server (timeout, connection dropped mid-way).
    Lost(String),
}

/// The Developer API client of one workspace.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    origin: Origin,
    opts: ClientOptions,
    pacer: Mutex<Pacer>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Loads the system's root certificates (respecting `SSL_CERT_FILE` and `SSL_CERT_DIR`).
fn system_roots() -> Result<ureq::tls::RootCerts> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        let why = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(Error::invalid(
            Subject::Variable("SSL_CERT_FILE".to_string()),
            format!("no trusted root certificates found on this system{why}"),
        )
        .hint(
            "install the CA \
             certificates package or point SSL_CERT_FILE at a PEM bundle",
        ));
    }
    let certs: Vec<ureq::tls::Certificate<'static>> = found
        .certs
        .iter()
        .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

impl Client {
    /// Builds a client; checks the base URL (scheme, host, plain HTTP only to loopback).
    pub fn new(opts: ClientOptions) -> Result<Client> {
        let base = opts.base_url.trim_end_matches('/').to_string();
        let base = base.strip_suffix("/api").unwrap_or(&base).to_string();
        let uri: Uri = base.parse().map_err(|_| {
            Error::invalid(
                Subject::Remote(base.to_string()),
                format!("`{base}` is not a valid URL"),
            )
        })?;
        let origin = Origin::of(&uri, &base)?;
        origin.check_transport(opts.allow_insecure_http, &base)?;
        let mut builder = ureq::Agent::config_builder()
            .timeout_global(Some(opts.timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(format!("rlcm/{}", env!("CARGO_PKG_VERSION")))
            .accept("application/json");
        // Roots are loaded only when TLS is used (plain loopback needs none).
        if origin.scheme == "https" || opts.allow_insecure_http {
            let roots = system_roots()?;
            builder = builder.tls_config(
                ureq::tls::TlsConfig::builder()
                    .provider(ureq::tls::TlsProvider::Rustls)
                    .root_certs(roots)
                    .build(),
            );
        }
        let agent: ureq::Agent = builder.build().into();
        Ok(Client {
            agent,
            base,
            origin,
            opts,
            pacer: Mutex::new(Pacer::default()),
        })
    }

    /// The base URL (without `/api`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Replaces every occurrence of the token in `text` (server messages could echo it).
    pub(crate) fn redact(&self, text: &str) -> String {
        let t = &self.opts.token.0;
        if t.len() >= 4 {
            text.replace(t.as_str(), "***")
        } else {
            text.to_string()
        }
    }

    fn observe(&self, ev: RequestEvent) {
        if let Some(o) = &self.opts.observer {
            o(&ev);
        }
    }

    fn pace(&self, class: EndpointClass) {
        if self.opts.rate_limits == RateLimits::Off {
            return;
        }
        loop {
            let wait = {
                let mut p = self.pacer.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let w = p.wait_for(class, now);
                if w.is_zero() {
                    p.record(class, now);
                }
                w
            };
            if wait.is_zero() {
                return;
            }
            std::thread::sleep(wait);
        }
    }

    /// Sends one request (pacing, retries) and returns a 2xx answer, following redirects for
    /// GETs by hand: the token goes only to the API's origin.
    pub fn send(&self, req: Request<'_>) -> Result<Response> {
        let url = format!("{}{}", self.base, req.path);
        let mut attempt = 0u32;
        loop {
            self.pace(req.class);
            let started = Instant::now();
            let outcome = self.exchange(req.method, &url, req.body, true);
            let elapsed = started.elapsed();
            match outcome {
                Ok((status, headers, body)) => {
                    let retry = match status {
                        429 => true,
                        500..=599 => req.method.idempotent() && !req.outcome_matters,
                        _ => false,
                    };
                    if retry && attempt < MAX_RETRIES {
                        let wait = backoff(attempt, retry_after(&headers));
                        self.observe(RequestEvent {
                            method: req.method.as_str(),
                            url: url.clone(),
                            status: Some(status),
                            elapsed,
                            note: Some(format!("retrying in {:.1}s", wait.as_secs_f64())),
                        });
                        std::thread::sleep(wait);
                        attempt += 1;
                        continue;
                    }
                    self.observe(RequestEvent {
                        method: req.method.as_str(),
                        url: url.clone(),
                        status: Some(status),
                        elapsed,
                        note: None,
                    });
                    if (300..400).contains(&status) && req.method == Method::Get {
                        return self.follow(&url, &headers);
                    }
                    if (500..600).contains(&status) && req.outcome_matters {
                        // A 5xx from Workato or a proxy in front of it does not say whether the
                        // import started: never retried, never taken as a failure.
                        let detail = error_message(&body)
                            .map(|m| format!(": {}", self.redact(&m)))
                            .unwrap_or_default();
                        return Err(Error::OutcomeUnknown(format!(
                            "{} {url}: HTTP {status}{detail}; Workato may or may not have started \
                             it. Run `rlcm pull` (or `push --resume`) to find out before trying \
                             again",
                            req.method.as_str()
                        )));
                    }
                    if !(200..300).contains(&status) {
                        return Err(self.status_error(req.method, &url, status, &body, false));
                    }
                    return Ok(Response { url, status, body });
                }
                Err(t) => {
                    let (msg, sent) = match t {
                        Transport::NotSent(m) => (m, false),
                        Transport::Lost(m) => (m, true),
                    };
                    self.observe(RequestEvent {
                        method: req.method.as_str(),
                        url: url.clone(),
                        status: None,
                        elapsed,
                        note: Some(self.redact(&msg)),
                    });
                    if sent && req.outcome_matters {
                        return Err(Error::OutcomeUnknown(format!(
                            "{} {url}: no answer came ({}); Workato may or may not have started \
                             it. Run `rlcm pull` (or `push --resume`) to find out before trying \
                             again",
                            req.method.as_str(),
                            self.redact(&msg)
                        )));
                    }
                    let retry = !sent || req.method.idempotent();
                    if retry && attempt < MAX_RETRIES {
                        std::thread::sleep(backoff(attempt, None));
                        attempt += 1;
                        continue;
                    }
                    return Err(Error::invalid(
                        Subject::Remote(url.to_string()),
                        format!("{} {url}: {}", req.method.as_str(), self.redact(&msg)),
                    )
                    .hint("check the remote's URL and your network"));
                }
            }
        }
    }

    /// One exchange; `auth` says whether the token is attached.
    fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Body<'_>,
        auth: bool,
    ) -> std::result::Result<(u16, ureq::http::HeaderMap, Vec<u8>), Transport> {
        let bearer = format!("Bearer {}", self.opts.token.0);
        let result = match (method, body) {
            (Method::Get, _) => {
                let mut r = self.agent.get(url);
                if auth {
                    r = r.header("Authorization", &bearer);
                }
                r.call()
            }
            (Method::Delete, _) => {
                let mut r = self.agent.delete(url);
                if auth {
                    r = r.header("Authorization", &bearer);
                }
                r.call()
            }
            (m, b) => {
                let mut r = match m {
                    Method::Put => self.agent.put(url),
                    _ => self.agent.post(url),
                };
                if auth {
                    r = r.header("Authorization", &bearer);
                }
                match b {
                    Body::Empty => r.send_empty(),
                    Body::Json(bytes) => r.header("Content-Type", "application/json").send(bytes),
                    Body::Zip(bytes) => r.header("Content-Type", "application/zip").send(bytes),
                }
            }
        };
        let mut resp = result.map_err(classify)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let limit = if (300..400).contains(&status) {
            1 << 20
        } else {
            MAX_JSON_BYTES.max(MAX_PACKAGE_BYTES + 1)
        };
        let mut bytes = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| Transport::Lost(format!("the answer broke off: {e}")))?;
        if bytes.len() as u64 >= limit {
            return Err(Transport::Lost(format!(
                "the answer is larger than {limit} bytes"
            )));
        }
        Ok((status, headers, bytes))
    }

    /// Follows a redirect chain from `from`; the token is sent only to the API's own origin.
    fn follow(&self, from: &str, headers: &ureq::http::HeaderMap) -> Result<Response> {
        let mut current = from.to_string();
        let mut headers = headers.clone();
        for _ in 0..MAX_REDIRECTS {
            let location = headers
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    Error::invalid(
                        Subject::Remote(current.to_string()),
                        format!("GET {current}: redirect without a Location"),
                    )
                    .hint("retry later")
                })?;
            let next = resolve_location(&current, location)?;
            let uri: Uri = next.parse().map_err(|_| {
                Error::invalid(
                    Subject::Remote(current.to_string()),
                    format!("GET {current}: redirect to a bad URL"),
                )
            })?;
            let origin = Origin::of(&uri, &shown_url(&next, true))?;
            let foreign = origin != self.origin;
            let shown = shown_url(&next, foreign);
            origin.check_transport(self.opts.allow_insecure_http, &shown)?;
            let mut attempt = 0u32;
            let (status, h, body) = loop {
                let started = Instant::now();
                match self.exchange(Method::Get, &next, Body::Empty, !foreign) {
                    Ok(x) => {
                        self.observe(RequestEvent {
                            method: "GET",
                            url: shown.clone(),
                            status: Some(x.0),
                            elapsed: started.elapsed(),
                            note: None,
                        });
                        break x;
                    }
                    Err(Transport::NotSent(m) | Transport::Lost(m)) => {
                        self.observe(RequestEvent {
                            method: "GET",
                            url: shown.clone(),
                            status: None,
                            elapsed: started.elapsed(),
                            note: Some(self.redact(&m)),
                        });
                        if attempt >= 2 {
                            return Err(Error::invalid(
                                Subject::Remote(shown.to_string()),
                                format!("GET {shown}: {}", self.redact(&m)),
                            )
                            .hint(
                                "the download did not complete, retry the \
                                 command",
                            ));
                        }
                        attempt += 1;
                        std::thread::sleep(backoff(attempt, None));
                    }
                }
            };
            if (300..400).contains(&status) {
                current = next;
                headers = h;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(self.status_error(Method::Get, &shown, status, &body, foreign));
            }
            return Ok(Response {
                url: shown,
                status,
                body,
            });
        }
        Err(Error::invalid(
            Subject::Remote(from.to_string()),
            format!("GET {from}: more than {MAX_REDIRECTS} redirects"),
        )
        .hint("retry later"))
    }

    fn status_error(&self, method: Method, url: &str, status: u16, body: &[u8], foreign: bool) -> Error {
        let detail = error_message(body)
            .map(|m| format!(": {}", self.redact(&m)))
            .unwrap_or_default();
        let hint = match status {
            401 => "; check the token in the remote's variable (is it current, for this workspace?)",
            403 => "; the API client's role lacks a privilege for this call",
            404 => "; check the folder or id",
            429 => "; the workspace's rate limit stayed exceeded, retry later",
            400 | 422 => "",
            _ if foreign => "; the signed download URL may have expired, retry the command",
            _ => "; Workato had a problem, retry later",
        };
        if status == 401 || status == 403 {
            let what = format!("{} {url}: HTTP {status}{detail}", method.as_str());
            Error::invalid(Subject::Remote(url.to_string()), what).hint(hint.trim_start_matches("; "))
        } else {
            let what = format!("{} {url}: HTTP {status}{detail}{hint}", method.as_str());
            Error::Remote {
                status,
                message: what,
            }
        }
    }
}

/// Reads a Workato error body: `message`, else `error`, else `errors` (string, list or map).
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    let mut parts = Vec::new();
    for key in ["message", "error"] {
        if let Some(s) = obj.get(key).and_then(|s| s.as_str()) {
            parts.push(s.to_string());
            break;
        }
    }
    if let Some(errs) = obj.get("errors") {
        match errs {
            serde_json::Value::String(s) => parts.push(s.clone()),
            serde_json::Value::Array(a) => parts.extend(
                a.iter()
                    .map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string())),
            ),
            serde_json::Value::Object(m) => {
                for (field, msgs) in m {
                    let text = match msgs {
                        serde_json::Value::Array(a) => a
                            .iter()
                            .map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string()))
                            .collect::<Vec<_>>()
                            .join(", "),
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    parts.push(format!("{field} {text}"));
                }
            }
            _ => {}
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn classify(e: ureq::Error) -> Transport {
    use ureq::Timeout as T;
    match e {
        ureq::Error::HostNotFound => Transport::NotSent("host not found".into()),
        ureq::Error::ConnectionFailed => Transport::NotSent("connection failed".into()),
        ureq::Error::Timeout(T::Resolve | T::Connect) => Transport::NotSent("timed out connecting".into()),
        ureq::Error::Timeout(_) => Transport::Lost("timed out waiting for the answer".into()),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            Transport::NotSent(format!("connection refused ({io})"))
        }
        ureq::Error::Io(io) => Transport::Lost(format!("connection error ({io})")),
        ureq::Error::Tls(t) => Transport::NotSent(format!("TLS error ({t})")),
        ureq::Error::Rustls(t) => Transport::NotSent(format!("TLS error ({t})")),
        other => Transport::Lost(other.to_string()),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: the backoff applies).
fn retry_after(h: &ureq::http::HeaderMap) -> Option<Duration> {
    let v = h.get("retry-after")?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(v))
}

/// Exponential backoff with jitter (0.5 s, 1 s, 2 s, ... up to [`MAX_BACKOFF`]), or the
/// server's `Retry-After` (capped) plus a little jitter.
fn backoff(attempt: u32, server: Option<Duration>) -> Duration {
    let jitter = Duration::from_millis(fastrand::u64(0..250));
    match server {
        Some(d) => d.min(MAX_BACKOFF) + jitter,
        None => {
            let base = Duration::from_millis(500u64.saturating_mul(1 << attempt.min(7)));
            base.min(MAX_BACKOFF) + jitter
        }
    }
}

/// Resolves a `Location` against the URL it came from (absolute, or an absolute path).
fn resolve_location(from: &str, location: &str) -> Result<String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return Ok(location.to_string());
    }
    let uri: Uri = from.parse().map_err(|_| {
        Error::invalid(
            Subject::Remote(from.to_string()),
            format!("`{from}` is not a valid URL"),
        )
    })?;
    let origin = format!(
        "{}://{}",
        uri.scheme_str().unwrap_or("https"),
        uri.authority().map(|a| a.as_str()).unwrap_or("")
    );
    if location.starts_with('/') {
        Ok(format!("{origin}{location}"))
    } else {
        Err(Error::invalid(
            Subject::Remote(from.to_string()),
            format!("GET {from}: redirect to `{location}`, which rlcm does not follow"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_waits_for_the_window() {
        let mut p = Pacer::default();
        let t0 = Instant::now();
        assert!(p.wait_for(EndpointClass::CustomConnectors, t0).is_zero());
        p.record(EndpointClass::CustomConnectors, t0);
        let w = p.wait_for(EndpointClass::CustomConnectors, t0 + Duration::from_millis(200));
        assert_eq!(w, Duration::from_millis(800));
        assert!(
            p.wait_for(EndpointClass::CustomConnectors, t0 + Duration::from_secs(1))
                .is_zero()
        );
        for i in 0..60 {
            p.record(EndpointClass::Folders, t0 + Duration::from_millis(i));
        }
        assert_eq!(
            p.wait_for(EndpointClass::Folders, t0 + Duration::from_secs(30)),
            Duration::from_secs(30)
        );
        assert!(p.wait_for(EndpointClass::Unlimited, t0).is_zero());
        assert_eq!(
            EndpointClass::Import.limit(),
            Some((500, Duration::from_secs(3600)))
        );
    }

    #[test]
    fn error_bodies_are_read() {
        assert_eq!(
            error_message(br#"{"message":"Unauthorized"}"#).unwrap(),
            "Unauthorized"
        );
        assert_eq!(error_message(br#"{"error":"bad zip"}"#).unwrap(), "bad zip");
        assert_eq!(
            error_message(br#"{"message":"Invalid","errors":{"name":["can't be blank"]}}"#).unwrap(),
            "Invalid; name can't be blank"
        );
        assert!(error_message(b"<html>").is_none());
    }

    #[test]
    fn plain_http_only_to_loopback() {
        let tok = || Token::new("secret-token".into());
        assert!(Client::new(ClientOptions::new("http://127.0.0.1:9", tok())).is_ok());
        assert!(Client::new(ClientOptions::new("http://localhost:9/api", tok())).is_ok());
        let err = Client::new(ClientOptions::new("http://example.com", tok())).unwrap_err();
        assert!(err.to_string().contains("--allow-insecure-http"), "{err}");
        assert!(Client::new(ClientOptions::new("ftp://example.com", tok())).is_err());
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        assert!(backoff(0, None) < Duration::from_secs(1));
        assert!(backoff(3, None) >= Duration::from_secs(4));
        assert!(backoff(30, None) <= MAX_BACKOFF + Duration::from_millis(250));
        assert!(backoff(0, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
        assert!(backoff(0, Some(Duration::from_secs(7000))) <= MAX_BACKOFF + Duration::from_secs(1));
    }

    #[test]
    fn redirect_targets_resolve_and_hide_signatures() {
        assert_eq!(
            resolve_location("http://127.0.0.1:5/api/packages/1/download", "/dl/1").unwrap(),
            "http://127.0.0.1:5/dl/1"
        );
        assert_eq!(shown_url("https://s3/x?sig=abc", true), "https://s3/x?…");
        assert_eq!(shown_url("https://a/x?y=1", false), "https://a/x?y=1");
    }
}
