//! `rlcm verify`: does a package hold exactly what its `rlcm-package.json` says?

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
                crate::Error::Json { path: p, .. } => p.clone(),
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
