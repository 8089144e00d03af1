//! `rlcm verify`: does a package hold exactly what its `rlcm-package.json` says?

use std::fmt::Write;
use std::path::Path;

use crate::error::Result;
use crate::package::VerifyReport;

/// Verifies the package at `path` and reports every mismatch (see
/// [`crate::package::verify_package`]).
///
/// Beyond sizes and hashes, every asset must read as JSON: a package that verifies is one
/// `plan` and `import` can read.
pub fn verify(path: &Path) -> Result<VerifyReport> {
    let mut report = crate::package::verify_package(path)?;
    if report.ok {
        let source = crate::source::Source::open(path)?;
        if let Err(e) = crate::workspace::Workspace::load(&source) {
            let entry = match &e {
                crate::Error::Json { path: p, .. } => p.rsplit(": ").next().unwrap_or(p).to_string(),
                crate::Error::BadEntry { entry, .. } => entry.clone(),
                _ => String::new(),
            };
            report.mismatches.push(crate::package::Mismatch {
                entry,
                problem: crate::package::Problem::InvalidAsset,
                expected: None,
                actual: None,
                message: e.to_string(),
            });
            report.ok = false;
            report.verified = false;
            report.note = "an asset cannot be read: the package cannot be imported".into();
        }
    }
    Ok(report)
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
