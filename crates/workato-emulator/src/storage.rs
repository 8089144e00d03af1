//! The download origin: another port, standing in for the pre-signed S3 URLs Workato hands out
//! (`.../packages/zip_files/<id>/original/data?X-Amz-Date=..&X-Amz-Expires=10&X-Amz-Signature=..`).
//!
//! A URL is valid for `url_ttl` (10 s, as recorded) and signed with a key made at start-up.
//! Like S3, this origin refuses a request that also carries an `Authorization` header (400,
//! "Only one auth mechanism allowed"): a client that forwards the API token across the
//! redirect is caught, and the emulator logs that it happened (never the header's value).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::api::App;
use crate::config::FaultKind;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The signature of a URL for package `id` dated `date` valid `ttl` seconds.
fn signature(key: &[u8; 32], id: u64, date: u64, ttl: u64) -> String {
    blake3::keyed_hash(key, format!("{id}:{date}:{ttl}").as_bytes())
        .to_hex()
        .to_string()
}

/// A fresh signed URL for package `id` (already expired under the `expire-download` fault).
pub fn signed_url(app: &App, id: u64) -> String {
    let ttl = app.config.url_ttl.as_secs().max(1);
    let mut date = unix_now();
    if app.draw(FaultKind::ExpireDownload) {
        date = date.saturating_sub(ttl + 1);
    }
    format!(
        "{}/packages/zip_files/{id}/original/data?X-Amz-Algorithm=EMULATOR-BLAKE3&X-Amz-Date={date}&X-Amz-Expires={ttl}&X-Amz-SignedHeaders=host&X-Amz-Signature={}",
        app.storage_origin,
        signature(&app.sign_key, id, date, ttl)
    )
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// The download origin's routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/packages/zip_files/{id}/original/data", get(download))
        .fallback(|| async {
            s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
            )
        })
        .layer(axum::middleware::from_fn_with_state(app.clone(), log))
        .with_state(app)
}

async fn log(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let r = next.run(req).await;
    app.log(&format!(
        "download origin: {method} {path} {} {}ms",
        r.status().as_u16(),
        started.elapsed().as_millis()
    ));
    r
}

async fn download(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        app.note_leak();
        app.log("download origin: refused a request carrying an Authorization header (a client forwarded its credentials to another origin)");
        return s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok());
    let (Ok(id), Some(date), Some(ttl), Some(sig)) = (
        id.parse::<u64>(),
        num("X-Amz-Date"),
        num("X-Amz-Expires"),
        q.get("X-Amz-Signature"),
    ) else {
        return s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and Date parameters",
        );
    };
    if *sig != signature(&app.sign_key, id, date, ttl) {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    if unix_now() > date.saturating_add(ttl) {
        return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
    }
    let Some(file) = app.package_file(id) else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    let bytes = match tokio::fs::read(&file).await {
        Ok(b) => Bytes::from(b),
        Err(_) => {
            return s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
            );
        }
    };
    let len = bytes.len();
    if app.draw(FaultKind::DropDownload) {
        // Headers promise every byte; half of them come, then the connection is closed.
        let half = bytes.slice(..len / 2);
        let stream = futures_util::stream::iter(vec![
            Ok::<Bytes, std::io::Error>(half),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "dropped by fault injection",
            )),
        ]);
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/zip")
            .header(header::CONTENT_LENGTH, len)
            .body(Body::from_stream(futures_util::StreamExt::then(
                stream,
                |item| async move {
                    if item.is_err() {
                        // Let the first half reach the client before the connection goes.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    item
                },
            )))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    let body = if app.draw(FaultKind::TruncateDownload) {
        bytes.slice(..len * 2 / 3)
    } else {
        bytes
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/zip"),
            (header::CACHE_CONTROL, "no-cache, no-store"),
        ],
        body,
    )
        .into_response()
}
