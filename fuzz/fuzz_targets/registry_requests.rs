//! Fuzzes registry request bodies as the server parses them; see `src/targets.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rlcm_fuzz::targets::registry_request(data));
