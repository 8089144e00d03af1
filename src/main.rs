//! The `rlcm` binary: parses arguments, runs one command, maps errors to exit codes.

// mimalloc: loading a 100k-recipe workspace makes millions of small allocations from two
// threads; glibc malloc spent ~30 % of `impact` in malloc/free/consolidate (BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;

fn main() {
    // No transparent huge pages: a 2 MiB page is zeroed whole on first touch, which was 17-39 %
    // of `plan`/`impact` CPU at 10k-100k recipes, and rounds memory up (peak RSS 10-20 % lower
    // without; BENCHMARKS.md). A no-op where THP is off or unknown.
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and changes no memory.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    std::process::exit(cli::main());
}
