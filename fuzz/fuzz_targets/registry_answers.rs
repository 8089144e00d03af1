//! Fuzzes registry answers as the client decodes them; see `src/targets.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rlcm_fuzz::targets::registry_answer(data));
