//! `rlcm verify`: does a package hold exactly what its `rlcm-package.json` says?

use std::fmt::Write;
use std::path::Path;

use crate::error::Result;
use crate::package::VerifyReport;

/// Verifies the package at `path` and reports every mismatch (see
/// [`crate::package::verify_package`]).
pub fn verify(path: &Path) -> Result<VerifyReport> {
    crate::package::verify_package(path)
}

/// Renders a verify report for people: one line per mismatch, then a summary.
pub fn render_human(report: &VerifyReport) -> String {
    let mut o = String::new();
    for m in &report.mismatches {
        let _ = writeln!(o, "{}: {} {}", m.problem, m.entry, m.message);
    }
    let verdict = match (report.ok, report.verified) {
        (true, true) => "verified",
        (true, false) => "readable, not verifiable",
        (false, _) => "FAILED",
    };
    let _ = writeln!(o, "{}: {verdict}: {}.", report.package, report.note);
    if let Some(d) = &report.digest {
        let _ = writeln!(o, "digest {d}");
    }
    o
}
