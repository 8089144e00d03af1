//! One entry point per command: each takes loaded inputs and options and returns a report.

pub mod check;
pub mod connector;
pub mod diff;
pub mod export;
pub mod graph;
pub mod impact;
pub mod init;
pub mod inspect;
pub mod recipe;
pub mod verify;
pub mod watch;
