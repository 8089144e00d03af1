//! The community library: listings (submit, status), the apps catalog and the categories
//! (JSON API), the public pages (`/`, `/connectors/<slug>`), installs from a listing, and the
//! web admin (`/admin`: sign-in with the admin token, session cookie, CSRF token on every
//! form). Reviews from the command line are `rlcm-registry review ...` (see `main.rs`).
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rlcm::registry::api::*;
use serde::Deserialize;

use crate::pages;
use crate::server::{Shared, error, not_found, store_error, too_many, wants_json};
use crate::store::*;
use crate::tokens::{self, TokenKind};

/// The admin session cookie.
pub const SESSION_COOKIE: &str = "rlcm_admin";
/// The sign-in form's CSRF cookie (double submit: the form's hidden field must equal it).
pub const LOGIN_COOKIE: &str = "rlcm_login";
/// How long an admin session lasts.
pub const SESSION_SECONDS: i64 = 8 * 3600;

/// The routes of the community library (merged into [`crate::server::router`]).
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(library))
        .route("/static/style.css", get(style))
        .route("/static/icon.svg", get(icon))
        .route("/connectors/{slug}", get(connector_page))
        .route("/connectors/{slug}/logo", get(connector_logo))
        .route("/connectors/{slug}/install", post(community_install))
        .route("/l/{token}/logo", get(link_logo))
        .route("/v1/apps", get(apps))
        .route("/v1/categories", get(categories))
        .route("/v1/connectors/{slug}/listing", post(submit).get(status))
        .route("/admin", get(admin))
        .route("/admin/login", post(admin_login))
        .route("/admin/logout", post(admin_logout))
        .route("/admin/listings/{id}/logo", get(admin_logo))
        .route("/admin/listings/{id}/{action}", post(admin_review))
}

/// Adds the security headers to every answer: the strict CSP, no sniffing, no framing, no
/// referrer.
pub async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(pages::CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

/// An HTML answer.
pub fn html(status: StatusCode, page: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

fn html_not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        pages::message("Not found", "No such connector in the library."),
    )
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::STYLE,
    )
        .into_response()
}

async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        pages::ICON,
    )
        .into_response()
}

#[derive(Debug, Default)]
struct LibraryQuery {
    q: Option<String>,
    app: Option<String>,
    category: Option<String>,
    page: Option<String>,
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The first value of each key of a query string (a malformed one is ignored, never a 400).
fn query_map(raw: Option<&str>) -> std::collections::HashMap<String, String> {
    let mut m = std::collections::HashMap::new();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        m.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    m
}

async fn library(State(app): State<Shared>, RawQuery(raw): RawQuery) -> Response {
    let mut m = query_map(raw.as_deref());
    let q = LibraryQuery {
        q: m.remove("q"),
        app: m.remove("app"),
        category: m.remove("category"),
        page: m.remove("page"),
    };
    let page = q
        .page
        .as_deref()
        .and_then(|p| p.parse::<u64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let search = Search {
        q: nonempty(q.q).map(|s| s.chars().take(200).collect()),
        app: nonempty(q.app).filter(|a| valid_slug(a)),
        category: nonempty(q.category).and_then(|c| category(&c).map(str::to_string)),
        offset: (page - 1) * pages::PER_PAGE,
        limit: pages::PER_PAGE,
    };
    let run = || -> Result<Response, Response> {
        let (cards, total) = app.store.search(&search).map_err(store_error)?;
        let apps = app.store.apps(None).map_err(store_error)?;
        Ok(html(
            StatusCode::OK,
            pages::library(&search, page, &cards, total, &apps),
        ))
    };
    run().unwrap_or_else(|e| e)
}

/// The connector of a live listing (a 404 for every other).
fn live(app: &Shared, slug: &str) -> Result<(Connector, ListingView), Response> {
    if !valid_slug(slug) {
        return Err(not_found());
    }
    let listing = app.store.listing(slug).map_err(store_error)?;
    match (listing, app.store.connector(slug).map_err(store_error)?) {
        (Some(l), Some(c)) if l.status == ListingStatus::Live => Ok((c, l)),
        _ => Err(not_found()),
    }
}

fn with_url(app: &Shared, mut l: ListingView) -> ListingView {
    l.url = format!("{}{}", app.opts.public_url, l.url);
    l
}

async fn connector_page(State(app): State<Shared>, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let json = wants_json(&headers);
    let run = || -> Result<Response, Response> {
        let (c, l) = live(&app, &slug)?;
        let view = app.view(&c)?;
        if json {
            return Ok(Json(view).into_response());
        }
        let has_logo = app
            .store
            .versions(c.id)
            .map_err(store_error)?
            .last()
            .is_some_and(|v| v.logo.is_some());
        let url = format!("{}/connectors/{slug}", app.opts.public_url);
        let offer = match (&l.direct_install, &l.landing_page) {
            (false, Some(lp)) => pages::InstallOffer::LandingPage(lp),
            _ => pages::InstallOffer::Command(&url),
        };
        let logo = has_logo.then(|| format!("/connectors/{slug}/logo"));
        Ok(html(
            StatusCode::OK,
            pages::connector(&view, Some(&l), logo, offer, false),
        ))
    };
    match run() {
        Ok(r) => r,
        Err(e) if !json && e.status() == StatusCode::NOT_FOUND => html_not_found(),
        Err(e) => e,
    }
}

fn logo_of(app: &Shared, c: &Connector) -> Result<Response, Response> {
    let versions = app.store.versions(c.id).map_err(store_error)?;
    let (hash, kind) = versions
        .last()
        .and_then(|v| v.logo.clone())
        .ok_or_else(not_found)?;
    let bytes = app
        .blobs
        .get(&hash)
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok((
        [
            (header::CONTENT_TYPE, kind.content_type()),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response())
}

async fn connector_logo(State(app): State<Shared>, Path(slug): Path<String>) -> Response {
    let run = || -> Result<Response, Response> {
        let (c, _) = live(&app, &slug)?;
        logo_of(&app, &c)
    };
    run().unwrap_or_else(|e| e)
}

async fn link_logo(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Response {
    let run = || -> Result<Response, Response> {
        let (_, c) = app.token_lookup(addr, Some(token.as_str()), |h| app.store.link_by_token(h))?;
        logo_of(&app, &c)
    };
    run().unwrap_or_else(|e| e)
}

async fn community_install(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
) -> Response {
    let run = || -> Result<Response, Response> {
        let (c, l) = live(&app, &slug)?;
        if !l.direct_install {
            let landing = l.landing_page.clone().unwrap_or_default();
            return Err((
                StatusCode::FORBIDDEN,
                Json(NoDirectInstall {
                    format_version: 1,
                    error: format!(
                        "the publisher prevents direct installation of `{}`: see {landing}",
                        l.title
                    ),
                    landing_page: landing,
                }),
            )
                .into_response());
        }
        let view = app.view(&c)?;
        let version = app.full_version(&c, None)?;
        let credential =
            tokens::new_token(TokenKind::Install).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let id = tokens::new_id().map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let audit = app.audit("community".into(), addr);
        app.store
            .create_install(None, &c, &id, &tokens::hash(&credential), &audit)
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

#[derive(Debug, Deserialize)]
struct AppsQuery {
    q: Option<String>,
}

async fn apps(State(app): State<Shared>, Query(q): Query<AppsQuery>) -> Response {
    let q: Option<String> = q.q.map(|s| s.chars().take(200).collect());
    match app.store.apps(q.as_deref()) {
        Ok(apps) => Json(AppList {
            format_version: 1,
            apps,
        })
        .into_response(),
        Err(e) => store_error(e),
    }
}

async fn categories() -> Response {
    Json(CategoryList {
        format_version: 1,
        categories: CATEGORIES.iter().map(|c| c.to_string()).collect(),
    })
    .into_response()
}

/// Checks a listing request and resolves its app against the catalog.
pub fn check_listing(store: &dyn Store, req: &ListingRequest) -> Result<ListingSubmit, String> {
    let (app_slug, app_name) = match (&req.app, &req.app_name) {
        (Some(_), Some(_)) => {
            return Err("give either `app` (from the catalog) or `app_name` (plain text), not both".into());
        }
        (None, None) => {
            return Err("the listing names the app the connector connects to: `app` (a catalog slug or name; search with `rlcm registry apps`) or `app_name` in plain text".into());
        }
        (Some(a), None) => match store.app(a).map_err(|e| e.to_string())? {
            Some(found) => (Some(found.slug), found.name),
            None => {
                return Err(format!(
                    "`{a}` is not in the registry's apps catalog; search it with `rlcm registry apps TEXT`, or type the app in plain text with `--app-name`"
                ));
            }
        },
        (None, Some(n)) => {
            let n = n.trim();
            if n.is_empty() || n.chars().count() > 200 {
                return Err("the app's name is empty or longer than 200 characters".into());
            }
            match store.app(n).map_err(|e| e.to_string())? {
                Some(found) => (Some(found.slug), found.name),
                None => (None, n.to_string()),
            }
        }
    };
    if req.categories.is_empty() {
        return Err(format!(
            "a listing needs at least one category, from: {}",
            CATEGORIES.join(", ")
        ));
    }
    let mut categories = Vec::new();
    for c in &req.categories {
        let found = category(c).ok_or_else(|| {
            format!(
                "`{c}` is not a category of this registry; choose from: {}",
                CATEGORIES.join(", ")
            )
        })?;
        if !categories.iter().any(|x| x == found) {
            categories.push(found.to_string());
        }
    }
    if let Some(d) = &req.description
        && d.chars().count() > MAX_TEXT_CHARS
    {
        return Err(format!(
            "the description is longer than {MAX_TEXT_CHARS} characters"
        ));
    }
    let landing_page = match (&req.landing_page, req.direct_install) {
        (Some(u), _) => {
            let u = u.trim();
            let ok = (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 2000
                && !u.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(format!(
                    "the landing page `{u}` is not an http(s) URL without spaces"
                ));
            }
            Some(u.to_string())
        }
        (None, false) => {
            return Err(
                "preventing direct installation sends people to a landing page: give `--landing-page URL`"
                    .into(),
            );
        }
        (None, true) => None,
    };
    Ok(ListingSubmit {
        app_slug,
        app_name,
        categories,
        description: req.description.clone().filter(|d| !d.trim().is_empty()),
        direct_install: req.direct_install,
        landing_page,
    })
}

async fn submit(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, Response> {
        let p = app.publisher(addr, &headers)?;
        let c = app.own_connector(&p, &slug)?;
        let req: ListingRequest = serde_json::from_slice(&body).map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("the listing request is not valid: {e}"),
            )
        })?;
        let s = check_listing(app.store.as_ref(), &req)
            .map_err(|m| error(StatusCode::UNPROCESSABLE_ENTITY, m))?;
        let audit = app.audit(format!("publisher:{}", p.name), addr);
        let l = app.store.submit_listing(&c, &s, &audit).map_err(store_error)?;
        Ok((StatusCode::CREATED, Json(with_url(&app, l))).into_response())
    };
    run().unwrap_or_else(|e| e)
}

async fn status(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let p = app.publisher(addr, &headers)?;
        let c = app.own_connector(&p, &slug)?;
        let l = app
            .store
            .listing(&c.slug)
            .map_err(store_error)?
            .ok_or_else(not_found)?;
        Ok(Json(with_url(&app, l)).into_response())
    };
    run().unwrap_or_else(|e| e)
}

// ---- The web admin ----

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 200)
}

fn set_cookie(app: &Shared, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let c = cookie::Cookie::build((name.to_string(), value.to_string()))
        .path("/admin")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(app.opts.public_url.starts_with("https://"))
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The signed-in session's (id hash, CSRF token).
fn session(app: &Shared, headers: &HeaderMap) -> Result<Option<(String, String)>, Response> {
    let Some(id) = cookie_value(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let h = tokens::hash(&id);
    Ok(app
        .store
        .session(&h, unix_now())
        .map_err(store_error)?
        .map(|csrf| (h, csrf)))
}

fn form(body: &[u8]) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn forbidden(text: &str) -> Response {
    html(StatusCode::FORBIDDEN, pages::message("Refused", text))
}

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

fn login_page(app: &Shared, status: StatusCode, err: Option<&str>) -> Response {
    let Ok(csrf) = tokens::new_token(TokenKind::Link) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "the OS random source failed");
    };
    let mut r = html(status, pages::admin_login(&csrf, err));
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(app, LOGIN_COOKIE, &csrf, 3600));
    r
}

async fn admin(State(app): State<Shared>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let run = || -> Result<Response, Response> {
        let Some((_, csrf)) = session(&app, &headers)? else {
            return Ok(login_page(&app, StatusCode::OK, None));
        };
        let listings = app.store.listings(None).map_err(store_error)?;
        let notice = query_map(raw.as_deref()).remove("done").map(|d| {
            let d: String = d.chars().take(100).collect();
            format!("Done: {d}.")
        });
        Ok(html(
            StatusCode::OK,
            pages::admin_queue(&csrf, &listings, notice.as_deref()),
        ))
    };
    run().unwrap_or_else(|e| e)
}

async fn admin_login(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, Response> {
        let f = form(&body);
        let cookie_csrf = cookie_value(&headers, LOGIN_COOKIE);
        let form_csrf = f.get("csrf");
        let csrf_ok = match (cookie_csrf, form_csrf) {
            (Some(a), Some(b)) => tokens::same_hash(&a, b),
            _ => false,
        };
        if !csrf_ok {
            return Err(forbidden(
                "The sign-in form's CSRF token is missing or wrong; open /admin again and sign in from there.",
            ));
        }
        if app.blocked(addr) {
            return Err(too_many());
        }
        let given = f.get("token").map(|t| tokens::hash(t.trim()));
        let stored = app.store.admin_token_hash().map_err(store_error)?;
        let ok = matches!((&given, &stored), (Some(g), Some(s)) if tokens::same_hash(g, s));
        if !ok {
            app.failed(addr);
            return Ok(login_page(
                &app,
                StatusCode::UNAUTHORIZED,
                Some("That is not the admin token."),
            ));
        }
        let id =
            tokens::new_token(TokenKind::Link).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let csrf =
            tokens::new_token(TokenKind::Link).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let audit = app.audit("admin".into(), addr);
        app.store
            .create_session(&tokens::hash(&id), &csrf, unix_now() + SESSION_SECONDS, &audit)
            .map_err(store_error)?;
        let mut r = redirect("/admin");
        r.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(&app, SESSION_COOKIE, &id, SESSION_SECONDS),
        );
        r.headers_mut()
            .append(header::SET_COOKIE, set_cookie(&app, LOGIN_COOKIE, "", 0));
        Ok(r)
    };
    run().unwrap_or_else(|e| e)
}

/// The session whose CSRF token the form carries, or the 403 (nothing changes).
fn checked_session(
    app: &Shared,
    headers: &HeaderMap,
    f: &std::collections::HashMap<String, String>,
) -> Result<String, Response> {
    let Some((h, csrf)) = session(app, headers)? else {
        return Err(forbidden("Sign in first: open /admin."));
    };
    match f.get("csrf") {
        Some(given) if tokens::same_hash(given, &csrf) => Ok(h),
        _ => Err(forbidden(
            "The form's CSRF token is missing or wrong; nothing was changed. Reload /admin and try again.",
        )),
    }
}

async fn admin_logout(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let run = || -> Result<Response, Response> {
        let h = checked_session(&app, &headers, &form(&body))?;
        app.store.delete_session(&h).map_err(store_error)?;
        let mut r = redirect("/admin");
        r.headers_mut()
            .append(header::SET_COOKIE, set_cookie(&app, SESSION_COOKIE, "", 0));
        Ok(r)
    };
    run().unwrap_or_else(|e| e)
}

async fn admin_review(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((id, action)): Path<(i64, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, Response> {
        let f = form(&body);
        checked_session(&app, &headers, &f)?;
        let reason = f
            .get("reason")
            .map(|r| r.trim().chars().take(2000).collect::<String>())
            .filter(|r| !r.is_empty());
        let status = match action.as_str() {
            "approve" => ListingStatus::Live,
            "reject" => ListingStatus::Rejected,
            "disable" => ListingStatus::Disabled,
            _ => return Err(html_not_found()),
        };
        if status != ListingStatus::Live && reason.is_none() {
            return Err(html(
                StatusCode::UNPROCESSABLE_ENTITY,
                pages::message(
                    "Reason needed",
                    "Rejecting or disabling a listing needs a reason for its publisher.",
                ),
            ));
        }
        let audit = app.audit("admin".into(), addr);
        let l = app
            .store
            .review(
                id,
                status,
                reason.as_deref().filter(|_| status != ListingStatus::Live),
                &audit,
            )
            .map_err(|e| match e {
                StoreError::NotFound(_) => html_not_found(),
                e => store_error(e),
            })?;
        let done = format!("{} {}", l.title, status.as_str());
        Ok(redirect(&format!(
            "/admin?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("done", &done)
                .finish()
        )))
    };
    run().unwrap_or_else(|e| e)
}

async fn admin_logo(State(app): State<Shared>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    let run = || -> Result<Response, Response> {
        if session(&app, &headers)?.is_none() {
            return Err(forbidden("Sign in first: open /admin."));
        }
        let l = app
            .store
            .listing_by_id(id)
            .map_err(store_error)?
            .ok_or_else(not_found)?;
        let c = app
            .store
            .connector(&l.connector_id)
            .map_err(store_error)?
            .ok_or_else(not_found)?;
        logo_of(&app, &c)
    };
    run().unwrap_or_else(|e| e)
}
