//! The `rlcm` binary: parses arguments, runs one command, maps errors to exit codes.

fn main() {
    std::process::exit(rlcm::cli::main());
}
