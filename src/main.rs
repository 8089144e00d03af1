//! The `rlcm` binary: parses arguments, runs one command, maps errors to exit codes.

// mimalloc: loading a 100k-recipe workspace makes millions of small allocations from two
// threads; glibc malloc spent ~30 % of `impact` in malloc/free/consolidate (BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(rlcm::cli::main());
}
