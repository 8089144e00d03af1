//! Test hooks read by the binary from environment variables (no effect unless set), kept in one
//! place below every module that calls them. `RLCM_CRASH_POINT` is in `env::txn` (it is the
//! transaction's protocol), the fault layer in `fsutil`; `RLCM_NOW` is read by the binaries,
//! which fix the library's clock with `env::fix_clock`. All but `RLCM_NOW` exist only with the
//! `test-hooks` cargo feature (which `cargo test` turns on).

#[cfg(feature = "test-hooks")]
use std::path::PathBuf;
#[cfg(feature = "test-hooks")]
use std::sync::atomic::{AtomicU64, Ordering};

/// Test hook: `RLCM_PAUSE_AT_READ=K:FILE` makes the process, at its K-th read of a tree file,
/// create `FILE` and wait until it is removed (at most two minutes), so a test can hold a
/// reader in the middle of its read while a write runs. Nothing without the `test-hooks`
/// feature.
#[inline(always)]
pub(crate) fn read_point() {
    #[cfg(feature = "test-hooks")]
    read_point_hook();
}

#[cfg(feature = "test-hooks")]
fn read_point_hook() {
    static HOOK: std::sync::OnceLock<Option<(u64, PathBuf)>> = std::sync::OnceLock::new();
    static READS: AtomicU64 = AtomicU64::new(0);
    let hook = HOOK.get_or_init(|| {
        let v = std::env::var("RLCM_PAUSE_AT_READ").ok()?;
        let (k, file) = v.split_once(':')?;
        Some((k.parse().ok()?, PathBuf::from(file)))
    });
    let Some((k, file)) = hook else {
        return;
    };
    if READS.fetch_add(1, Ordering::SeqCst) + 1 == *k {
        let _ = std::fs::write(file, b"paused");
        let end = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while file.exists() && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
