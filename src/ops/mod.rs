//! One entry point per command: each takes loaded inputs and options and returns a report.

pub mod graph;
pub mod impact;
pub mod inspect;
