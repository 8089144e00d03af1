//! rlcm: recipe lifecycle management for Workato-style workspaces.
//!
//! - [`source`]: reading a directory tree or a package zip, defensively
//! - [`json`]: Workato's JSON style (byte-identical round trip)
//! - [`slug`]: asset slugs and connector provider names
//! - [`asset`]: asset types and what one asset file says (names, references)
//! - [`extract`]: streaming summary of an asset's JSON bytes (no value tree)
//! - [`ruby`]: actions and triggers of a connector's Ruby source (tree-sitter)
//! - [`guard`]: hostile-environment checks (`.rlcm/` folders and the paths state files name)
//! - [`cache`]: per-environment cache of asset summaries (size + mtime)
//! - [`workspace`]: a loaded tree or package with every reference resolved
//! - [`graph`]: the dependency graph (closure, dependents, cycles)
//! - [`layout`]: a layered layout of a graph (for the SVG of the HTML reports)
//! - [`report`]: the JSON report documents
//! - [`schemas`]: the JSON Schemas of every report and state file (`schemas/`)
//! - [`hooks`]: test hooks read from environment variables (`RLCM_PAUSE_AT_READ`)
//! - [`secrets`]: what looks like a credential, stripped on export and import, never shown
//! - [`semdiff`]: what changes inside an asset (recipe steps, JSON paths)
//! - [`package`]: writing and verifying packages (deterministic zip, `rlcm-package.json`)
//! - [`ops`]: one entry point per command
//! - [`apply`]: applying a plan (stage, commit, history, rollback)
//! - [`progress`]: progress bars on stderr for long work
//! - [`remote`]: live Workato workspaces (Developer API client, remotes)
//! - [`config`]: the user's config and cache directories (`remotes.toml`, `registries.toml`)
//! - [`connector`]: the custom connector domain (versions, lookups, breaking changes, `connector check`)
//! - [`registry`]: connector sharing through a self-hosted registry (client, API bodies)
#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod apply;
pub mod asset;
pub(crate) mod cache;

pub mod config;
pub mod connector;
pub mod diag;
pub mod env;
pub mod error;
pub mod extract;
pub mod fsutil;
pub mod graph;
pub(crate) mod guard;
pub(crate) mod hooks;
pub(crate) mod index;
pub(crate) mod istr;
pub mod json;
pub mod layout;
pub mod ops;
pub mod package;
pub mod plan;
pub mod progress;
pub mod registry;
pub mod remote;
pub mod report;
pub mod ruby;
pub mod schemas;
pub(crate) mod secrets;
pub mod semdiff;
pub mod slug;
pub mod source;
pub mod watch;
pub mod workspace;

pub use error::{Error, Result};
