//! Fuzzes saved plans as `import --plan` reads them; see `src/targets.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rlcm_fuzz::targets::saved_plan(data));
