//! Fuzzes the package reader: the input becomes a file `x.zip`, which is opened with
//! `Source::open_with` (small limits), loaded with `Workspace::load`, inspected (graph, cycles,
//! closure, dependents, `inspect`) and checked with `verify_package`.
//!
//! The first byte picks how the rest becomes a zip:
//! - even: the rest is written as it is (raw zip bytes: headers, central directory, zip64);
//! - odd: the rest is a list of entries that a tiny zip writer (`fuzz/src/zipgen.rs`) turns into a well-formed
//!   zip with correct CRCs, so the fuzzer reaches JSON, Ruby and reference resolution instead
//!   of stopping at a bad checksum. Names are raw bytes (NUL, `..`, invalid UTF-8 all pass
//!   through) and flags can make headers lie.
//!
//! Nothing may panic or hang, every read is bounded by the limits, and an error about an entry
//! must name it.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use rlcm::Error;
use rlcm::source::{Limits, Source};
use rlcm::workspace::Workspace;

const LIMITS: Limits = Limits {
    max_entries: 64,
    max_entry_size: 2 << 20,
    max_total_size: 8 << 20,
    max_ratio: 1_000,
};

static DIR: LazyLock<tempfile::TempDir> = LazyLock::new(|| tempfile::tempdir().expect("temporary directory"));
static ZIP: LazyLock<PathBuf> = LazyLock::new(|| DIR.path().join("x.zip"));

/// An error about the package must say which package, and an error about an entry which entry
/// (one the source lists, when the source opened).
fn check_error(err: &Error, package: &str, source: Option<&Source>) {
    let text = err.to_string();
    match err {
        Error::BadEntry {
            package: p, entry, ..
        } => {
            assert_eq!(p, package, "{text}");
            if let Some(source) = source {
                assert!(
                    source.find(entry).is_some(),
                    "names no entry of the package: {text}"
                );
            }
        }
        Error::BadPackage { package: p, .. } => assert_eq!(p, package, "{text}"),
        Error::Json { path, .. } => {
            let entry = path.strip_prefix(&format!("{package}: "));
            assert!(entry.is_some(), "{text}");
            if let (Some(source), Some(entry)) = (source, entry) {
                assert!(
                    source.find(entry).is_some(),
                    "names no entry of the package: {text}"
                );
            }
        }
        Error::Io { path, .. } => assert_eq!(path.display().to_string(), package, "{text}"),
        other => panic!("unexpected error kind from the package reader: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let bytes = rlcm_fuzz::zipgen::package_bytes(data);
    let path: &PathBuf = &ZIP;
    std::fs::write(path, &bytes).expect("write x.zip");
    let package = path.display().to_string();

    let source = match Source::open_with(path, LIMITS) {
        Ok(s) => s,
        Err(e) => return check_error(&e, &package, None),
    };
    let mut total = 0u64;
    for e in source.entries() {
        assert!(
            rlcm::source::validate_entry_name(&e.path).is_ok(),
            "accepted unsafe entry name {:?}",
            e.path
        );
        assert!(e.size <= LIMITS.max_entry_size, "{} is over the limit", e.path);
        total += e.size;
        assert!(source.find(&e.path).is_some(), "{} cannot be found", e.path);
    }
    assert!(total <= LIMITS.max_total_size);
    for pair in source.entries().windows(2) {
        assert!(
            pair[0].path < pair[1].path,
            "entries not sorted or duplicated: {pair:?}"
        );
    }

    match Workspace::load(&source) {
        Err(e) => check_error(&e, &package, Some(&source)),
        Ok(ws) => {
            let graph = rlcm::graph::DepGraph::build(&ws);
            let all: Vec<usize> = (0..ws.assets.len()).collect();
            let _ = graph.cycles();
            let _ = graph.closure(&all);
            let _ = graph.dependents(&all);
            for (i, a) in ws.assets.iter().enumerate() {
                assert_eq!(ws.index_of(&a.path), Some(i));
                if a.connector.is_some() {
                    let _ = ws.connector_uses(i);
                }
                let _ = ws.find_asset(&a.name);
            }
            let _ = ws.dangling().count();
            let report = rlcm::ops::inspect::inspect(&ws, &package);
            let _ = serde_json::to_vec(&report).expect("report serialises");
        }
    }

    // verify_package opens with the default limits; the small limits above already held, so
    // every declared size is small and every read bounded.
    match rlcm::package::verify_package(path) {
        Err(e) => check_error(&e, &package, None),
        Ok(report) => {
            assert_eq!(report.ok, report.mismatches.is_empty());
        }
    }
});
