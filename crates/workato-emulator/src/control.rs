//! What stands before every API endpoint: the request log (method, path, status, time; never
//! a header, so never the token), Bearer auth, Workato's documented rate limits, and the
//! injected faults.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::{App, message};
use crate::config::{FaultKind, RateLimits};

/// The endpoint classes Workato limits separately (WORKATO-API.md §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// `POST /api/packages/import/:folder_id`: 500 an hour.
    Import,
    /// Other packaging calls (manifests, export, status, download, folder_assets): 60 a minute.
    Packaging,
    /// Custom connector endpoints: 1 a second.
    CustomConnectors,
    /// Folders and projects: 60 a minute.
    Folders,
    /// Recipes: 60 a minute.
    Recipes,
    /// `GET /api/connections`: 60 a minute.
    Connections,
    /// Not limited (users/me).
    Unlimited,
}

impl Class {
    /// The class of a request.
    pub fn of(method: &Method, path: &str) -> Class {
        let p = path.trim_end_matches('/');
        if *method == Method::POST && p.starts_with("/api/packages/import/") {
            Class::Import
        } else if p.starts_with("/api/packages") || p.starts_with("/api/export_manifests") {
            Class::Packaging
        } else if p.starts_with("/api/custom_connectors") {
            Class::CustomConnectors
        } else if p.starts_with("/api/folders") || p.starts_with("/api/projects") {
            Class::Folders
        } else if p.starts_with("/api/recipes") {
            Class::Recipes
        } else if p.starts_with("/api/connections") {
            Class::Connections
        } else {
            Class::Unlimited
        }
    }

    /// The documented limit: requests per window.
    pub fn limit(self) -> Option<(u32, Duration)> {
        match self {
            Class::Import => Some((500, Duration::from_secs(3600))),
            Class::Packaging | Class::Folders | Class::Recipes | Class::Connections => {
                Some((60, Duration::from_secs(60)))
            }
            Class::CustomConnectors => Some((1, Duration::from_secs(1))),
            Class::Unlimited => None,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Class::Import => "500 package imports per hour",
            Class::Packaging => "60 packaging requests per minute",
            Class::CustomConnectors => "1 custom connector request per second",
            Class::Folders => "60 folder and project requests per minute",
            Class::Recipes => "60 recipe requests per minute",
            Class::Connections => "60 connection list requests per minute",
            Class::Unlimited => "no limit",
        }
    }
}

/// Fixed windows per class: the window's start and the requests counted in it.
#[derive(Debug, Default)]
pub struct Limiter {
    windows: HashMap<Class, (Instant, u32)>,
}

impl Limiter {
    /// Counts a request; `Err(wait)` when it is over the limit (not counted).
    pub fn admit(&mut self, class: Class, now: Instant) -> Result<(), Duration> {
        let Some((max, window)) = class.limit() else {
            return Ok(());
        };
        let (start, count) = self.windows.entry(class).or_insert((now, 0));
        if now.duration_since(*start) >= window {
            *start = now;
            *count = 0;
        }
        if *count >= max {
            return Err(window.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

fn authorized(app: &App, req: &Request) -> bool {
    let Some(v) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = v.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && app.token_matches(token.trim())
}

/// The middleware of the API origin.
pub async fn api_gate(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = gate(&app, req, next).await;
    app.log(&format!(
        "{method} {path} {} {}ms",
        response.status().as_u16(),
        started.elapsed().as_millis()
    ));
    response
}

async fn gate(app: &Arc<App>, req: Request, next: Next) -> Response {
    if !authorized(app, &req) {
        return message(StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let class = Class::of(req.method(), req.uri().path());
    if app.config.rate_limits == RateLimits::Documented {
        let admitted = app.inner().limiter.admit(class, Instant::now());
        if let Err(wait) = admitted {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            let mut r = message(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many requests: the limit is {}; retry in {secs} s",
                    class.describe()
                ),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
    }
    let targeted = app.config.fault_on.is_empty()
        || app
            .config
            .fault_on
            .iter()
            .any(|p| req.uri().path().starts_with(p.as_str()));
    if targeted && app.draw(FaultKind::TooManyRequests) {
        return message(StatusCode::TOO_MANY_REQUESTS, "Too many requests").into_response();
    }
    if targeted && app.draw(FaultKind::ServerError) {
        let id = app.next_error_id();
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"message": "Server error", "id": id})),
        )
            .into_response();
    }
    let slow = targeted && app.draw(FaultKind::Slow);
    let response = next.run(req).await;
    if slow {
        tokio::time::sleep(app.config.slow).await;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_windows() {
        assert_eq!(Class::of(&Method::POST, "/api/packages/import/12"), Class::Import);
        assert_eq!(Class::of(&Method::GET, "/api/packages/12"), Class::Packaging);
        assert_eq!(
            Class::of(&Method::GET, "/api/export_manifests/folder_assets"),
            Class::Packaging
        );
        assert_eq!(
            Class::of(&Method::GET, "/api/custom_connectors"),
            Class::CustomConnectors
        );
        assert_eq!(Class::of(&Method::GET, "/api/projects"), Class::Folders);
        assert_eq!(Class::of(&Method::PUT, "/api/recipes/1/start"), Class::Recipes);
        assert_eq!(Class::of(&Method::GET, "/api/users/me"), Class::Unlimited);
        let mut l = Limiter::default();
        let t = Instant::now();
        assert!(l.admit(Class::CustomConnectors, t).is_ok());
        let wait = l.admit(Class::CustomConnectors, t).unwrap_err();
        assert!(wait <= Duration::from_secs(1));
        assert!(
            l.admit(Class::CustomConnectors, t + Duration::from_secs(1))
                .is_ok()
        );
        for _ in 0..60 {
            assert!(l.admit(Class::Folders, t).is_ok());
        }
        assert!(l.admit(Class::Folders, t).is_err());
        assert!(l.admit(Class::Unlimited, t).is_ok());
    }
}
