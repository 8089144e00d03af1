//! The HTTP API (documented in the README's "Sharing connectors"; bodies in
//! `rlcm::registry::api`, schemas in `schemas/registry-*.schema.json`).
//!
//! Handlers return `Result<Response, Response>`: the error side is the finished HTTP answer
//! (status and JSON body), so it is as large as a response is.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rlcm::registry::api::*;
use serde::Deserialize;

use crate::blobs::Blobs;
use crate::pages;
use crate::store::*;
use crate::tokens::{self, TokenKind};

/// Largest request body: the code and the logo in base64, and the rest.
pub const MAX_BODY_BYTES: usize = (MAX_CODE_BYTES + MAX_LOGO_BYTES) / 3 * 4 + 256 * 1024;

/// The one body of every 404 about a connector or a link: a revoked or unknown token and a
/// connector that does not exist (or is not the caller's) are told apart by nothing.
pub const NOT_FOUND_MESSAGE: &str = "not found: no such connector, or the link is not valid";

/// Settings of a running server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The URL links are built on (no trailing `/`).
    pub public_url: String,
    /// Failed token attempts a client may make per window before it gets 429.
    pub max_failed_attempts: u32,
    /// The window of the failed-attempt limit.
    pub failure_window: Duration,
}

/// Counts failed token attempts per client address.
#[derive(Debug, Default)]
struct Limiter {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Limiter {
    fn blocked(&self, ip: IpAddr, opts: &ServeOptions) -> bool {
        let Ok(mut m) = self.failures.lock() else {
            return true;
        };
        match m.get(&ip) {
            Some((start, _)) if start.elapsed() > opts.failure_window => {
                m.remove(&ip);
                false
            }
            Some((_, n)) => *n >= opts.max_failed_attempts,
            None => false,
        }
    }

    fn fail(&self, ip: IpAddr) {
        if let Ok(mut m) = self.failures.lock() {
            if m.len() > 100_000 {
                m.retain(|_, (start, _)| start.elapsed() < Duration::from_secs(3600));
            }
            m.entry(ip).or_insert((Instant::now(), 0)).1 += 1;
        }
    }
}

pub(crate) struct App {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) blobs: Blobs,
    pub(crate) opts: ServeOptions,
    limiter: Limiter,
}

pub(crate) type Shared = Arc<App>;

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ApiError {
            format_version: 1,
            error: message.into(),
        }),
    )
        .into_response()
}

pub(crate) fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, NOT_FOUND_MESSAGE)
}

pub(crate) fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::Conflict(m) => error(StatusCode::CONFLICT, m),
        StoreError::NotFound(_) => not_found(),
        StoreError::Backend(m) => error(StatusCode::INTERNAL_SERVER_ERROR, m),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

pub(crate) fn too_many() -> Response {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        "too many failed token attempts from this address; wait a minute and check the token",
    )
}

impl App {
    /// True when this client is blocked by the failed-attempt limit.
    pub(crate) fn blocked(&self, addr: SocketAddr) -> bool {
        self.limiter.blocked(addr.ip(), &self.opts)
    }

    /// Counts a failed attempt of this client.
    pub(crate) fn failed(&self, addr: SocketAddr) {
        self.limiter.fail(addr.ip());
    }

    pub(crate) fn audit(&self, actor: String, addr: SocketAddr) -> Audit {
        Audit {
            actor,
            client: addr.ip().to_string(),
        }
    }

    /// The publisher of the request's bearer token.
    pub(crate) fn publisher(&self, addr: SocketAddr, headers: &HeaderMap) -> Result<Publisher, Response> {
        if self.limiter.blocked(addr.ip(), &self.opts) {
            return Err(too_many());
        }
        let found = match bearer(headers) {
            Some(t) => self
                .store
                .publisher_by_token(&tokens::hash(t))
                .map_err(store_error)?,
            None => None,
        };
        found.ok_or_else(|| {
            self.limiter.fail(addr.ip());
            error(
                StatusCode::UNAUTHORIZED,
                "a valid publisher token is needed (`Authorization: Bearer TOKEN`); ask the registry's operator for one",
            )
        })
    }

    /// The publisher's own connector `slug` (another's is a 404, as a missing one).
    pub(crate) fn own_connector(&self, p: &Publisher, slug: &str) -> Result<Connector, Response> {
        if !valid_slug(slug) {
            return Err(not_found());
        }
        match self.store.connector(slug).map_err(store_error)? {
            Some(c) if c.publisher_id == p.id => Ok(c),
            _ => Err(not_found()),
        }
    }

    /// A token from a link or an install: `None` counts as a failed attempt.
    pub(crate) fn token_lookup<T>(
        &self,
        addr: SocketAddr,
        token: Option<&str>,
        find: impl FnOnce(&str) -> StoreResult<Option<T>>,
    ) -> Result<T, Response> {
        if self.limiter.blocked(addr.ip(), &self.opts) {
            return Err(too_many());
        }
        let found = match token {
            Some(t) if t.len() <= 200 => find(&tokens::hash(t)).map_err(store_error)?,
            _ => None,
        };
        found.ok_or_else(|| {
            self.limiter.fail(addr.ip());
            not_found()
        })
    }

    pub(crate) fn view(&self, c: &Connector) -> Result<ConnectorView, Response> {
        let versions = self.store.versions(c.id).map_err(store_error)?;
        let latest = versions.last().ok_or_else(not_found)?.summary.clone();
        Ok(ConnectorView {
            format_version: 1,
            id: c.slug.clone(),
            title: versions
                .last()
                .map_or_else(|| c.title.clone(), |v| v.title.clone()),
            publisher: c.publisher.clone(),
            registry: self.opts.public_url.clone(),
            latest,
            versions: versions.into_iter().map(|v| v.summary).collect(),
        })
    }

    pub(crate) fn full_version(
        &self,
        c: &Connector,
        version: Option<u64>,
    ) -> Result<SharedVersion, Response> {
        let versions = self.store.versions(c.id).map_err(store_error)?;
        let v = match version {
            Some(n) => versions.into_iter().find(|v| v.summary.version == n),
            None => versions.into_iter().last(),
        }
        .ok_or_else(not_found)?;
        let code = self
            .blobs
            .get(&v.code_blob)
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let logo = match &v.logo {
            Some((h, k)) => Some((
                self.blobs
                    .get(h)
                    .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?,
                *k,
            )),
            None => None,
        };
        Ok(SharedVersion {
            format_version: 1,
            connector_id: c.slug.clone(),
            title: v.title.clone(),
            summary: v.summary.clone(),
            metadata: serde_json::from_str(&v.metadata).unwrap_or(serde_json::Value::Null),
            code_base64: B64.encode(code),
            logo_base64: logo.as_ref().map(|(b, _)| B64.encode(b)),
            logo_kind: logo.map(|(_, k)| k),
        })
    }
}

/// The router, on `store` and `blobs`.
pub fn router(store: Arc<dyn Store>, blobs: Blobs, opts: ServeOptions) -> Router {
    let app = Arc::new(App {
        store,
        blobs,
        opts,
        limiter: Limiter::default(),
    });
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/connectors/{slug}", get(connector_get))
        .route("/v1/connectors/{slug}/versions", post(share))
        .route(
            "/v1/connectors/{slug}/links",
            post(link_create).get(link_list).delete(link_revoke),
        )
        .route("/l/{token}", get(link_get))
        .route("/l/{token}/install", post(install))
        .route("/v1/install", get(install_get))
        .route("/v1/install/versions/{version}", get(install_version))
        .merge(crate::community::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(crate::community::security_headers))
        .with_state(app)
}

/// Serves `router` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

async fn connector_get(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let p = app.publisher(addr, &headers)?;
        let c = app.own_connector(&p, &slug)?;
        Ok(Json(app.view(&c)?).into_response())
    };
    run().unwrap_or_else(|e| e)
}

fn decode(what: &str, b64: &str) -> Result<Vec<u8>, Response> {
    B64.decode(b64.as_bytes()).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("`{what}` is not valid base64: {e}"),
        )
    })
}

fn check_text(what: &str, s: &str) -> Result<(), Response> {
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("`{what}` is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

async fn share(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, Response> {
        let p = app.publisher(addr, &headers)?;
        if !valid_slug(&slug) {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("`{slug}` is not a valid slug: use 1 to 100 lowercase letters, digits, `_` or `-`"),
            ));
        }
        let req: ShareRequest = serde_json::from_slice(&body).map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("the share request is not valid: {e}"),
            )
        })?;
        check_text("title", &req.title)?;
        if req.title.trim().is_empty() {
            return Err(error(StatusCode::UNPROCESSABLE_ENTITY, "the title is empty"));
        }
        if let Some(n) = &req.note {
            check_text("note", n)?;
        }
        if req.actions.len() + req.triggers.len() > 10_000 {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too many actions and triggers",
            ));
        }
        if req.code_base64.len() > MAX_CODE_BYTES / 3 * 4 + 8 {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the code is larger than 10 MiB",
            ));
        }
        let code = decode("code_base64", &req.code_base64)?;
        if code.len() > MAX_CODE_BYTES {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the code is larger than 10 MiB",
            ));
        }
        let logo = match &req.logo_base64 {
            Some(l) => {
                let bytes = decode("logo_base64", l)?;
                if bytes.len() > MAX_LOGO_BYTES {
                    return Err(error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "the logo is larger than 1 MiB",
                    ));
                }
                let kind = LogoKind::sniff(&bytes).ok_or_else(|| {
                    error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "the logo is neither a PNG nor a JPEG image",
                    )
                })?;
                Some((bytes, kind))
            }
            None => None,
        };
        if !req.metadata.is_object() {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "`metadata` must be a JSON object",
            ));
        }
        let metadata = serde_json::to_string(&req.metadata)
            .map_err(|e| error(StatusCode::BAD_REQUEST, e.to_string()))?;
        if metadata.len() > 256 * 1024 {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "`metadata` is larger than 256 KiB",
            ));
        }
        // Blobs first: a row is committed only after what it names is on disk.
        let code_blob = app
            .blobs
            .put(&code)
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let logo = match logo {
            Some((bytes, kind)) => Some((
                app.blobs
                    .put(&bytes)
                    .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?,
                kind,
            )),
            None => None,
        };
        let v = NewVersion {
            slug: slug.clone(),
            title: req.title,
            version: req.version,
            note: req.note,
            metadata,
            code_blob,
            logo,
            actions: req.actions,
            triggers: req.triggers,
        };
        let audit = app.audit(format!("publisher:{}", p.name), addr);
        let (outcome, seq) = app.store.share(&p, &v, &audit).map_err(store_error)?;
        let status = match outcome {
            ShareOutcome::Shared => StatusCode::CREATED,
            ShareOutcome::AlreadyShared => StatusCode::OK,
        };
        Ok((
            status,
            Json(ShareResponse {
                format_version: 1,
                outcome,
                connector_id: slug.clone(),
                version: v.version,
                seq,
            }),
        )
            .into_response())
    };
    run().unwrap_or_else(|e| e)
}

#[derive(Debug, Deserialize)]
struct LinkQuery {
    #[serde(default)]
    regenerate: bool,
    #[serde(default)]
    installs: bool,
}

async fn link_create(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Query(q): Query<LinkQuery>,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let p = app.publisher(addr, &headers)?;
        let c = app.own_connector(&p, &slug)?;
        let token =
            tokens::new_token(TokenKind::Link).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let id = tokens::new_id().map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let audit = app.audit(format!("publisher:{}", p.name), addr);
        let revoked = app
            .store
            .create_link(&c, &id, &tokens::hash(&token), q.regenerate, &audit)
            .map_err(store_error)?;
        Ok((
            StatusCode::CREATED,
            Json(LinkCreated {
                format_version: 1,
                id,
                url: format!("{}/l/{token}", app.opts.public_url),
                revoked,
            }),
        )
            .into_response())
    };
    run().unwrap_or_else(|e| e)
}

async fn link_list(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let p = app.publisher(addr, &headers)?;
        let c = app.own_connector(&p, &slug)?;
        Ok(Json(LinkList {
            format_version: 1,
            connector_id: c.slug.clone(),
            links: app.store.links(c.id).map_err(store_error)?,
        })
        .into_response())
    };
    run().unwrap_or_else(|e| e)
}

async fn link_revoke(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Query(q): Query<LinkQuery>,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let p = app.publisher(addr, &headers)?;
        let c = app.own_connector(&p, &slug)?;
        let audit = app.audit(format!("publisher:{}", p.name), addr);
        let (links, installs) = app
            .store
            .revoke_links(&c, q.installs, &audit)
            .map_err(store_error)?;
        Ok(Json(RevokeResponse {
            format_version: 1,
            links,
            installs,
        })
        .into_response())
    };
    run().unwrap_or_else(|e| e)
}

pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

async fn link_get(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let (_, c) = app.token_lookup(addr, Some(token.as_str()), |h| app.store.link_by_token(h))?;
        let view = app.view(&c)?;
        if wants_json(&headers) {
            return Ok(Json(view).into_response());
        }
        let logo = app
            .store
            .versions(c.id)
            .map_err(store_error)?
            .last()
            .and_then(|v| v.logo.as_ref())
            .map(|_| format!("/l/{token}/logo"));
        let url = format!("{}/l/{token}", app.opts.public_url);
        let page = pages::connector(&view, None, logo, pages::InstallOffer::Command(&url), true);
        Ok(crate::community::html(StatusCode::OK, page))
    };
    run().unwrap_or_else(|e| e)
}

async fn install(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Response {
    let run = || -> Result<Response, Response> {
        let (link, c) = app.token_lookup(addr, Some(token.as_str()), |h| app.store.find_link(h))?;
        let view = app.view(&c)?;
        let version = app.full_version(&c, None)?;
        let credential =
            tokens::new_token(TokenKind::Install).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let id = tokens::new_id().map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let audit = app.audit(format!("link:{link}"), addr);
        app.store
            .create_install(Some(link), &c, &id, &tokens::hash(&credential), &audit)
            .map_err(store_error)?;
        Ok((
            StatusCode::CREATED,
            Json(InstallResponse {
                format_version: 1,
                install_id: id,
                credential,
                connector: view,
                version,
            }),
        )
            .into_response())
    };
    run().unwrap_or_else(|e| e)
}

async fn install_get(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let c = app.token_lookup(addr, bearer(&headers), |h| app.store.install_by_token(h))?;
        Ok(Json(app.view(&c)?).into_response())
    };
    run().unwrap_or_else(|e| e)
}

async fn install_version(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(version): Path<u64>,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let c = app.token_lookup(addr, bearer(&headers), |h| app.store.install_by_token(h))?;
        Ok(Json(app.full_version(&c, Some(version))?).into_response())
    };
    run().unwrap_or_else(|e| e)
}
