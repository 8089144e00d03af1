//! Live Workato workspaces over the Developer API: the HTTP client ([`http`]), the endpoints
//! rlcm calls ([`api`]) and the remotes configured in `remotes.toml` ([`remotes`]).
//!
//! Nothing here prints: requests are reported through [`http::ClientOptions::observer`].

pub mod api;
pub mod fanout;
pub mod http;
pub mod pull;
pub mod push;
pub mod remotes;
