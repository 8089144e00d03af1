//! Fuzzes Workato API answers through `remote::api::decode`; see `src/targets.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rlcm_fuzz::targets::workato_answer(data));
