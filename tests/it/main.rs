//! The integration tests, one binary (issue #12): each module was a test binary of its own.
//! They run the `rlcm` binary that `cargo test` builds (`CARGO_BIN_EXE_rlcm`), the servers of
//! `crates/` on loopback, and Chromium; `cargo test --workspace --test it MODULE::` runs one
//! module.

mod common;

mod browser;
mod ci_examples;
mod community;
mod community_browser;
mod env_cli;
mod export_cli;
mod fault_layer;
mod fault_trials;
mod fuzz_brief;
mod fuzz_regressions;
mod hostile_env;
mod hostile_zips;
mod import_cli;
mod index_cli;
mod inspect_cli;
mod invalid_assets;
mod layering;
mod model_histories;
mod package;
mod plan_index;
mod readers_during_writes;
mod realworld;
mod registry_cli;
mod remote_cli;
mod remote_e2e;
mod remote_faults;
mod remote_push;
mod remote_replay;
mod reports_cli;
mod roundtrip_law;
mod schemas;
mod secrets;
mod shell_cli;
mod watch_cli;
