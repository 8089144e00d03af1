//! rlcm-registry: a self-hosted registry of shared custom connectors.
//!
//! - [`store`]: the storage interface ([`store::Store`]) and its types; [`sqlite`] implements
//!   it on SQLite (WAL, versioned migrations), [`blobs`] keeps code and logos by blake3 hash.
//! - [`tokens`]: random tokens and their hashes (only hashes are stored).
//! - [`server`]: the HTTP API (axum), with the rate limit of failed token attempts.
//! - [`community`]: the community library: listings, apps, reviews, the web pages and the
//!   web admin; [`pages`] renders the pages (maud, pulldown-cmark).
//!
//! The API's bodies are `rlcm::registry::api`, shared with the client.
#![warn(missing_docs)]

pub mod blobs;
pub mod community;
pub mod pages;
pub mod server;
pub mod sqlite;
pub mod store;
pub mod tokens;
