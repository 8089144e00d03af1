//! Fuzzes the state files of `.rlcm/` (env, recipes, baseline, journal, a history record) in an
//! environment made once from `testdata/production`; see `src/targets.rs`.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

static ENV: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (_, env) = ENV.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/production");
        let env = rlcm_fuzz::targets::prepare(&template, dir.path());
        (dir, env)
    });
    rlcm_fuzz::targets::state_file(env, data);
});
