//! Verifying a package against its `rlcm-package.json`.
//!
//! The package is opened with [`Source::open`], which refuses unsafe names, symbolic links,
//! duplicates and bombs before anything is read. Every file entry is then streamed through
//! blake3 (in parallel, never held whole) and compared with the manifest; every difference is
//! reported, not just the first. A zip without `rlcm-package.json` (a Workato export) is read
//! the same way, so damage still shows as unreadable entries, but it cannot be verified.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;

use super::{
    FORMAT_VERSION, MANIFEST_NAME, Mismatch, PackageEntry, PackageManifest, Problem, VerifyReport,
    compute_digest,
};
use crate::error::{Error, Result};
use crate::source::Source;
use crate::source::{SharedFile, open_archive};

/// What one file entry of a package actually holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualEntry {
    /// Path relative to the package root.
    pub path: String,
    /// Its size and blake3 (hex), or why it cannot be read.
    pub content: std::result::Result<(u64, String), String>,
}

/// Checks a package (zip or directory) against its `rlcm-package.json` and reports every
/// mismatch.
///
/// Errors only when the package cannot be opened at all or is unsafe to read (the error names
/// the entry); a package that opens always gets a report.
pub fn verify_package(path: &Path) -> Result<VerifyReport> {
    let source = Source::open(path)?;
    let actual = hash_entries(&source)?;
    Ok(verify_source(path, &source, actual))
}

/// The verification report of the package at `path`, opened as `source`, given what every
/// entry actually holds (`actual`, sorted by path: from [`hash_entries`], or from a load that
/// read each entry anyway, see [`crate::workspace::Workspace::load_hashed`]).
pub fn verify_source(path: &Path, source: &Source, actual: Vec<ActualEntry>) -> VerifyReport {
    let package = path.display().to_string();
    let mut mismatches = Vec::new();
    let has_manifest = source.find(MANIFEST_NAME).is_some();
    let manifest = match source.find(MANIFEST_NAME) {
        None => None,
        Some(entry) => {
            let parsed = match source.read(entry) {
                Ok(bytes) => parse_manifest(&bytes),
                Err(Error::BadEntry { reason, .. }) => Err(reason),
                Err(other) => Err(other.to_string()),
            };
            match parsed {
                Ok(m) => Some(m),
                Err(message) => {
                    mismatches.push(Mismatch {
                        entry: MANIFEST_NAME.to_string(),
                        problem: Problem::BadManifest,
                        expected: None,
                        actual: None,
                        message,
                    });
                    None
                }
            }
        }
    };
    let content: Vec<ActualEntry> = actual.into_iter().filter(|a| a.path != MANIFEST_NAME).collect();
    match &manifest {
        Some(m) => {
            let computed = compute_digest(m);
            if computed != m.digest {
                mismatches.push(Mismatch {
                    entry: MANIFEST_NAME.to_string(),
                    problem: Problem::DigestMismatch,
                    expected: Some(m.digest.clone()),
                    actual: Some(computed.clone()),
                    message: format!(
                        "declares root digest {} but its content digests to {computed}: the document was edited",
                        m.digest
                    ),
                });
            }
            mismatches.extend(manifest_consistency(m));
            mismatches.extend(compare_entries(&m.entries, &content));
        }
        None => mismatches.extend(content.iter().filter_map(unreadable)),
    }
    mismatches.sort_by(|a, b| (&a.entry, a.problem).cmp(&(&b.entry, b.problem)));
    let ok = mismatches.is_empty();
    let checked = content.len() as u64;
    let note = match (has_manifest, ok) {
        (false, true) => format!(
            "no {MANIFEST_NAME}: a Workato export or a --workato-strict package; all {checked} entries \
             read back intact (zip checksums), but there is nothing to verify their content against"
        ),
        (false, false) => format!(
            "no {MANIFEST_NAME}, and {} of {checked} entries cannot be read: the package is damaged",
            mismatches.len()
        ),
        (true, true) => format!("all {checked} entries match {MANIFEST_NAME} and its digest"),
        (true, false) => format!(
            "{} mismatches: the package was changed or damaged after it was written; do not import it, \
             export it again",
            mismatches.len()
        ),
    };
    VerifyReport {
        format_version: FORMAT_VERSION,
        package,
        verified: has_manifest && ok,
        workato_strict: !has_manifest,
        digest: manifest.map(|m| m.digest),
        entries_checked: checked,
        ok,
        mismatches,
        note,
    }
}

/// Verifies a package before it is used (plan, import): returns the report when nothing
/// mismatches, else [`Error::BadEntry`] naming the first bad entry and counting the others.
///
/// A package without `rlcm-package.json` passes when every entry reads back intact; the
/// report's `verified` is then false.
pub fn ensure_verified(path: &Path) -> Result<VerifyReport> {
    report_ok(verify_package(path)?)
}

/// The report when nothing mismatches, else the error [`ensure_verified`] returns.
pub(crate) fn report_ok(report: VerifyReport) -> Result<VerifyReport> {
    match first_mismatch_error(&report.package, &report.mismatches) {
        Some(mut err) => {
            if let Error::BadEntry { reason, .. } = &mut err {
                reason.push_str(&format!(
                    "; the package was changed or damaged after it was written: run `rlcm verify {}` \
                     to list every mismatch, and export it again",
                    report.package
                ));
            }
            Err(err)
        }
        None => Ok(report),
    }
}

/// Turns a list of mismatches into an error naming the first one (and how many others there
/// are), or `None` when the list is empty.
pub(crate) fn first_mismatch_error(package: &str, mismatches: &[Mismatch]) -> Option<Error> {
    // Name the entries themselves, not rlcm-package.json, when both are wrong.
    let first = mismatches
        .iter()
        .find(|m| m.entry != super::MANIFEST_NAME)
        .or_else(|| mismatches.first())?;
    let mut named: Vec<&str> = mismatches
        .iter()
        .map(|m| m.entry.as_str())
        .filter(|e| *e != first.entry)
        .collect();
    named.dedup();
    let others = match named.len() {
        0 => String::new(),
        n if n <= 10 => format!(
            " (also: {})",
            named
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        n => format!(" (and {n} other mismatches)"),
    };
    Some(Error::BadEntry {
        package: package.to_string(),
        entry: first.entry.clone(),
        reason: format!("{}{others}", first.message),
    })
}

/// Compares what a manifest lists with what a package holds: missing, unlisted, unreadable
/// entries and size or blake3 differences, sorted by entry.
pub(crate) fn compare_entries(expected: &[PackageEntry], actual: &[ActualEntry]) -> Vec<Mismatch> {
    let mut mismatches = Vec::new();
    let mut listed: BTreeMap<&str, &PackageEntry> = BTreeMap::new();
    for e in expected {
        if listed.insert(e.path.as_str(), e).is_some() {
            mismatches.push(Mismatch {
                entry: e.path.clone(),
                problem: Problem::InconsistentManifest,
                expected: None,
                actual: None,
                message: format!("is listed twice in {MANIFEST_NAME}"),
            });
        }
    }
    let held: HashMap<&str, &ActualEntry> = actual.iter().map(|a| (a.path.as_str(), a)).collect();
    for (path, e) in &listed {
        if !held.contains_key(path) {
            mismatches.push(Mismatch {
                entry: path.to_string(),
                problem: Problem::Missing,
                expected: Some(e.blake3.clone()),
                actual: None,
                message: format!("is listed in {MANIFEST_NAME} but missing from the package"),
            });
        }
    }
    for a in actual {
        let Some(e) = listed.get(a.path.as_str()) else {
            mismatches.push(Mismatch {
                entry: a.path.clone(),
                problem: Problem::Unlisted,
                expected: None,
                actual: a.content.as_ref().ok().map(|(_, h)| h.clone()),
                message: format!("is in the package but not listed in {MANIFEST_NAME}"),
            });
            continue;
        };
        let (size, hash) = match &a.content {
            Ok(c) => c,
            Err(_) => {
                mismatches.extend(unreadable(a));
                continue;
            }
        };
        if *size != e.size {
            mismatches.push(Mismatch {
                entry: a.path.clone(),
                problem: Problem::SizeMismatch,
                expected: Some(e.size.to_string()),
                actual: Some(size.to_string()),
                message: format!("is {size} bytes, but {MANIFEST_NAME} says {}", e.size),
            });
        }
        if *hash != e.blake3 {
            mismatches.push(Mismatch {
                entry: a.path.clone(),
                problem: Problem::Blake3Mismatch,
                expected: Some(e.blake3.clone()),
                actual: Some(hash.clone()),
                message: format!("has blake3 {hash}, but {MANIFEST_NAME} says {}", e.blake3),
            });
        }
    }
    mismatches.sort_by(|a, b| (&a.entry, a.problem).cmp(&(&b.entry, b.problem)));
    mismatches
}

/// Reads every file entry of `source` once, streaming it through blake3; sorted by path.
/// A zip entry that cannot be decompressed, fails its CRC, or is not as long as its header
/// says gets an `Err` with the reason; the whole call fails only when the package cannot be
/// opened again.
pub(crate) fn hash_entries(source: &Source) -> Result<Vec<ActualEntry>> {
    let mut out: Vec<ActualEntry> = match source {
        Source::Dir { root, entries, .. } => entries
            .par_iter()
            .map_init(
                || vec![0u8; BUFFER],
                |buffer, e| {
                    let path = root.join(&e.path);
                    let content = File::open(&path)
                        .map_err(|err| err.to_string())
                        .and_then(|f| hash_stream(f, buffer, None));
                    ActualEntry {
                        path: e.path.clone(),
                        content,
                    }
                },
            )
            .collect(),
        Source::Zip { path, wrapper, .. } => {
            // The central directory is parsed once; each worker reads through its own clone
            // of the archive (shared directory, own position and buffer).
            let archive = open_archive(path)?;
            (0..archive.len())
                .into_par_iter()
                .with_min_len(16)
                .map_init(
                    || (archive.clone(), vec![0u8; BUFFER]),
                    |(archive, buffer), index| hash_zip_entry(archive, index, wrapper, buffer),
                )
                .flatten()
                .collect()
        }
    };
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Read buffer per worker.
const BUFFER: usize = 64 << 10;

type Archive = zip::ZipArchive<SharedFile>;

fn hash_zip_entry(
    archive: &mut Archive,
    index: usize,
    wrapper: &str,
    buffer: &mut [u8],
) -> Option<ActualEntry> {
    let strip = |name: &[u8]| {
        let name = String::from_utf8_lossy(name);
        name.strip_prefix(wrapper).unwrap_or(&name).to_string()
    };
    let read = archive
        .by_index(index)
        .map(|zf| {
            if zf.is_dir() {
                return None;
            }
            let path = strip(zf.name_raw());
            let declared = zf.size();
            Some(ActualEntry {
                path,
                content: hash_stream(zf, buffer, Some(declared)),
            })
        })
        .map_err(|e| e.to_string());
    match read {
        Ok(found) => found,
        // Not readable at all (unsupported method, bad local header): name it from the
        // central directory.
        Err(reason) => {
            let named = archive
                .by_index_raw(index)
                .map(|zf| (strip(zf.name_raw()), zf.is_dir()))
                .ok();
            match named {
                Some((_, true)) => None,
                Some((path, false)) => Some(ActualEntry {
                    path,
                    content: Err(reason),
                }),
                None => Some(ActualEntry {
                    path: archive
                        .name_for_index(index)
                        .map_or_else(|| format!("#{index}"), str::to_string),
                    content: Err(reason),
                }),
            }
        }
    }
}

/// Streams `reader` through blake3; with `declared`, reads at most one byte past it and fails
/// when the length differs.
fn hash_stream(
    reader: impl Read,
    buffer: &mut [u8],
    declared: Option<u64>,
) -> std::result::Result<(u64, String), String> {
    let mut reader = reader.take(declared.map_or(u64::MAX, |d| d.saturating_add(1)));
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    loop {
        match reader.read(buffer) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("is corrupt: {e}")),
        }
    }
    if let Some(d) = declared
        && size != d
    {
        return Err(format!("holds {size} bytes but its header says {d}"));
    }
    Ok((size, hasher.finalize().to_hex().to_string()))
}

fn unreadable(a: &ActualEntry) -> Option<Mismatch> {
    let reason = a.content.as_ref().err()?;
    Some(Mismatch {
        entry: a.path.clone(),
        problem: Problem::Unreadable,
        expected: None,
        actual: None,
        message: format!("cannot be read back: {reason}"),
    })
}

/// Parses `rlcm-package.json`, refusing formats this rlcm does not know; the error is what is
/// wrong with it (the report names the entry apart).
fn parse_manifest(bytes: &[u8]) -> std::result::Result<PackageManifest, String> {
    let value = match crate::json::parse(MANIFEST_NAME, bytes) {
        Ok(v) => v,
        Err(Error::Json { message, .. }) => return Err(format!("is not valid JSON: {message}")),
        Err(other) => return Err(other.to_string()),
    };
    let version = value.get("format_version").and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(FORMAT_VERSION)) {
        return Err(format!(
            "has format_version {}, but this rlcm reads only {FORMAT_VERSION}; use a matching rlcm",
            version.map_or_else(|| "(none)".to_string(), |v| v.to_string())
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("is not a valid package manifest: {e}"))
}

/// Checks the manifest against itself: every asset and connector code agrees with `entries`.
fn manifest_consistency(m: &PackageManifest) -> Vec<Mismatch> {
    let entries: HashMap<&str, &PackageEntry> = m.entries.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut out = Vec::new();
    let mut inconsistent = |entry: &str, message: String| {
        out.push(Mismatch {
            entry: entry.to_string(),
            problem: Problem::InconsistentManifest,
            expected: None,
            actual: None,
            message,
        })
    };
    for a in &m.assets {
        match entries.get(a.path.as_str()) {
            None => inconsistent(
                &a.path,
                format!("is an asset in {MANIFEST_NAME} but not one of its entries"),
            ),
            Some(e) if e.size != a.size || e.blake3 != a.blake3 => inconsistent(
                &a.path,
                format!(
                    "is listed as an asset of {} bytes with blake3 {} but as an entry of {} bytes with blake3 {}",
                    a.size, a.blake3, e.size, e.blake3
                ),
            ),
            Some(_) => {}
        }
    }
    for c in &m.connectors {
        if !entries.contains_key(c.path.as_str()) {
            inconsistent(
                &c.path,
                format!("is a connector in {MANIFEST_NAME} but not one of its entries"),
            );
        }
        match (&c.code, &c.code_blake3) {
            (Some(code), Some(hash)) => match entries.get(code.as_str()) {
                None => inconsistent(
                    code,
                    format!("is connector code in {MANIFEST_NAME} but not one of its entries"),
                ),
                Some(e) if e.blake3 != *hash => inconsistent(
                    code,
                    format!(
                        "is listed as connector code with blake3 {hash} but as an entry with blake3 {}",
                        e.blake3
                    ),
                ),
                Some(_) => {}
            },
            (None, Some(_)) => inconsistent(&c.path, "has a code blake3 but no code path".into()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64, hash: &str) -> PackageEntry {
        PackageEntry {
            path: path.into(),
            size,
            blake3: hash.into(),
        }
    }

    fn actual(path: &str, content: std::result::Result<(u64, &str), &str>) -> ActualEntry {
        ActualEntry {
            path: path.into(),
            content: content.map(|(s, h)| (s, h.to_string())).map_err(str::to_string),
        }
    }

    #[test]
    fn reports_every_kind_of_difference() {
        let expected = [
            entry("a", 1, "h1"),
            entry("b", 2, "h2"),
            entry("c", 3, "h3"),
            entry("d", 4, "h4"),
            entry("e", 5, "h5"),
        ];
        let held = [
            actual("a", Ok((1, "h1"))),
            actual("b", Ok((9, "h2"))),
            actual("c", Ok((3, "hx"))),
            actual("e", Err("is corrupt")),
            actual("f", Ok((6, "h6"))),
        ];
        let found: Vec<(String, Problem)> = compare_entries(&expected, &held)
            .into_iter()
            .map(|m| (m.entry, m.problem))
            .collect();
        assert_eq!(
            found,
            [
                ("b".to_string(), Problem::SizeMismatch),
                ("c".to_string(), Problem::Blake3Mismatch),
                ("d".to_string(), Problem::Missing),
                ("e".to_string(), Problem::Unreadable),
                ("f".to_string(), Problem::Unlisted),
            ]
        );
    }

    #[test]
    fn first_mismatch_error_names_the_entry_and_the_others() {
        let held = [actual("x", Ok((1, "h"))), actual("y", Ok((1, "h")))];
        let mismatches = compare_entries(&[], &held);
        let err = first_mismatch_error("p.zip", &mismatches).unwrap().to_string();
        assert!(err.contains("`x`") && err.contains("also: `y`"), "{err}");
        assert!(first_mismatch_error("p.zip", &[]).is_none());
    }
}
