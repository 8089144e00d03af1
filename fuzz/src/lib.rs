//! Helpers shared by the fuzz targets and `tests/fuzz_regressions.rs`.

pub mod zipgen;
pub mod targets;
