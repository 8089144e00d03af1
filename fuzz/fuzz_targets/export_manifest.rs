//! Fuzzes export manifests, YAML and JSON (`ExportManifest::read`); see `src/targets.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rlcm_fuzz::targets::export_manifest(data));
