//! The registry's HTTP client (ureq, rustls). Every error names the registry's URL; a token
//! is sent only in the `Authorization` header and never appears in an error.

use crate::error::Subject;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::api::*;
use crate::error::{Error, Result};

/// Largest answer read (an install carries code and logo in base64).
const MAX_ANSWER_BYTES: u64 = 32 * 1024 * 1024;

/// A client for one registry, with one bearer token (publisher token or install credential).
#[derive(Debug)]
pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(120)))
        .timeout_connect(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

impl Client {
    /// A client for the registry at `base` (no trailing `/`).
    pub fn new(base: &str, token: Option<String>) -> Client {
        Client {
            base: base.trim_end_matches('/').to_string(),
            token,
            agent: agent(),
        }
    }

    /// The registry's URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn finish<T: DeserializeOwned>(
        &self,
        url: &str,
        r: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T> {
        let mut resp = r.map_err(|e| unreachable(&self.base, url, &e))?;
        let status = resp.status();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .map_err(|e| unreachable(&self.base, url, &e))?;
        decode_answer(&self.base, url, status.as_u16(), &body)
    }

    fn auth<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(t) => req.header("Authorization", format!("Bearer {t}")),
            None => req,
        }
    }

    /// GET `path` (relative to the base, or a full URL).
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = self.url(path);
        let r = self
            .auth(self.agent.get(&url))
            .header("Accept", "application/json")
            .call();
        self.finish(&url, r)
    }

    /// POST a JSON body.
    pub fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: Option<&B>) -> Result<T> {
        let url = self.url(path);
        let req = self
            .auth(self.agent.post(&url))
            .header("Accept", "application/json");
        let r = match body {
            Some(b) => req.send_json(b),
            None => req.send_empty(),
        };
        self.finish(&url, r)
    }

    /// DELETE.
    pub fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = self.url(path);
        let r = self
            .auth(self.agent.delete(&url))
            .header("Accept", "application/json")
            .call();
        self.finish(&url, r)
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }
}

/// Decodes the answer of the registry at `base` to `url`: a success status's body as `T`, any
/// other status as a refusal with the registry's reason ([`ApiError`], or the start of the
/// body). Every error names the registry; a share link (`/l/TOKEN`) is never named, for it
/// carries its token. Pure (no I/O): the client's decoding, for tests and fuzzing.
pub fn decode_answer<T: DeserializeOwned>(base: &str, url: &str, status: u16, body: &[u8]) -> Result<T> {
    // A link carries its token: never name it.
    let what = match url.strip_prefix(base).unwrap_or(url) {
        p if p.starts_with("/l/") => "the share link".to_string(),
        p => format!("`{p}`"),
    };
    if (200..300).contains(&status) {
        return serde_json::from_slice(body).map_err(|e| {
            Error::invalid(
                Subject::Registry(base.to_string()),
                format!("the registry at {base} answered {what} with a body rlcm does not understand ({e})"),
            )
            .hint("is it an rlcm registry of a matching version?")
        });
    }
    let reason = serde_json::from_slice::<ApiError>(body)
        .map(|e| e.error)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).chars().take(300).collect());
    Err(Error::invalid(
        Subject::Registry(base.to_string()),
        format!("the registry at {base} refused {what} ({status}): {reason}"),
    ))
}

fn unreachable(base: &str, url: &str, e: &ureq::Error) -> Error {
    let _ = url;
    Error::invalid(
        Subject::Registry(base.to_string()),
        format!("the registry at {base} cannot be reached ({e})"),
    )
    .hint("check that it runs and that the URL is right")
}

/// Splits a share link `BASE/l/TOKEN`, or a community page `BASE/connectors/SLUG`, into the
/// registry's base URL and the URL to ask (its `/install` installs).
pub(crate) fn split_link(url: &str) -> Result<(String, String)> {
    let url = url.trim();
    let bad = || {
        Error::invalid(
            Subject::Arguments,
            "that is not a share link nor a community page: a link looks like `http(s)://HOST/l/TOKEN` (ask the publisher for one), a page like `http(s)://HOST/connectors/SLUG` (or give `REG:community/SLUG`)",
        )
    };
    let (base, key, slug) = if let Some((b, t)) = url.rsplit_once("/l/") {
        (b, t, false)
    } else if let Some((b, s)) = url.rsplit_once("/connectors/") {
        (b, s, true)
    } else {
        return Err(bad());
    };
    let key_ok = if slug {
        valid_slug(key)
    } else {
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    if !(base.starts_with("http://") || base.starts_with("https://")) || !key_ok {
        return Err(bad());
    }
    Ok((base.to_string(), url.to_string()))
}

/// The path of a connector's versions.
pub(crate) fn versions_path(slug: &str) -> String {
    format!("/v1/connectors/{slug}/versions")
}

/// The path of a connector's links.
pub(crate) fn links_path(slug: &str) -> String {
    format!("/v1/connectors/{slug}/links")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_split() {
        let (b, _) = split_link("http://127.0.0.1:5/l/abc123").unwrap();
        assert_eq!(b, "http://127.0.0.1:5");
        let (b, _) = split_link("https://h.example/connectors/acme_crm").unwrap();
        assert_eq!(b, "https://h.example");
        for bad in [
            "ftp://x/l/a",
            "http://x/y",
            "http://x/l/",
            "http://x/l/a?b",
            "http://x/connectors/../x",
            "http://x/connectors/",
        ] {
            assert!(split_link(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_down_registry_is_named() {
        // A port nothing listens on (bound, then closed).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Client::new(&format!("http://127.0.0.1:{port}"), Some("rlcmp_secret".into()));
        let err = c.get::<ConnectorView>("/v1/install").unwrap_err().to_string();
        assert!(err.contains(&format!("http://127.0.0.1:{port}")), "{err}");
        assert!(!err.contains("rlcmp_secret"), "{err}");
    }
}
