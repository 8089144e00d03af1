//! The record of each import, `.rlcm/history/<id>.json`, and `rlcm history`.

use crate::error::Subject;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::env::{self, Environment, RunInfo};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::report::*;

/// `.rlcm/history/<id>.json`: one import, with what is needed to roll it back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImportRecord {
    /// Always 1.
    pub format_version: u32,
    /// Import id (1, 2, ...).
    pub id: u64,
    /// When.
    pub at: String,
    /// Who.
    pub user: String,
    /// The package path as given.
    pub package: String,
    /// The package digest.
    pub package_digest: String,
    /// Actions by kind.
    pub counts: BTreeMap<String, usize>,
    /// Every tree file written or created: `before` names its backup (under
    /// `history/<id>/before/`), `null` when the import created it.
    pub files: Vec<FileChange>,
    /// Connector changes.
    pub connectors: Vec<ConnectorChange>,
    /// Running state of the recipes the import touched, before it.
    pub running_before: BTreeMap<String, Option<RunInfo>>,
    /// When it was rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_at: Option<String>,
    /// Who rolled it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_by: Option<String>,
}

/// A file an import wrote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileChange {
    /// Path in the environment.
    pub path: String,
    /// True when the file existed before (its bytes are in `history/<id>/before/<path>`).
    pub existed: bool,
}

/// A connector an import changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConnectorChange {
    /// Title.
    pub title: String,
    /// True when the import created the connector.
    pub created: bool,
    /// Versions the import appended (an autosave of uncommitted edits, then the package's).
    pub appended: Vec<u64>,
    /// Released version before.
    pub released_before: Option<u64>,
    /// Shared version before.
    pub shared_before: Option<u64>,
}

pub(super) fn history_dir(root: &Path) -> PathBuf {
    root.join(".rlcm/history")
}

/// Reads every import record, oldest first.
pub fn read_history(root: &Path) -> Result<Vec<ImportRecord>> {
    let dir = history_dir(root);
    let mut out = Vec::new();
    // No folder: no import yet. Any other error is one: taking it for "no history" would let
    // the next import reuse id 1 and overwrite the record of import 1.
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io("read", &dir, e)),
    };
    for e in entries {
        let e = e.map_err(|err| Error::io("read", &dir, err))?;
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            if !e.file_type().is_ok_and(|t| t.is_file()) {
                return Err(Error::invalid(
                    Subject::path(&p),
                    format!("`{}` is not a regular file (a symbolic link?)", p.display()),
                )
                .hint(
                    "rlcm refuses to read import records through it (restore `.rlcm/` from git or a backup)",
                ));
            }
            let bytes = fsutil::read(&p)?;
            let r: ImportRecord = serde_json::from_slice(&bytes).map_err(|e| {
                Error::json(p.display().to_string(), &e)
                    .hint("this import record is damaged: restore it from git or a backup")
            })?;
            // Every path the record names is checked before any of them is opened.
            for f in &r.files {
                env::guard::check_inside(root, &f.path, &p)?;
                if f.existed {
                    env::guard::check_inside(root, &backup_path(r.id, &f.path), &p)?;
                }
            }
            env::guard::check_inside(root, &baseline_backup_path(r.id), &p)?;
            out.push(r);
        }
    }
    out.sort_by_key(|r| r.id);
    Ok(out)
}

pub(super) fn record_path(id: u64) -> String {
    env::state_path(&format!("history/{id:06}.json"))
}

pub(super) fn backup_path(id: u64, path: &str) -> String {
    env::state_path(&format!("history/{id:06}/before/{path}"))
}

pub(super) fn baseline_backup_path(id: u64) -> String {
    env::state_path(&format!("history/{id:06}/baseline.json"))
}

/// `history`.
pub fn history(env: &Environment) -> Result<HistoryReport> {
    env.state()?;
    Ok(HistoryReport {
        format_version: FORMAT_VERSION,
        imports: read_history(&env.root)?
            .into_iter()
            .map(|r| HistoryEntry {
                id: r.id,
                at: r.at,
                user: r.user,
                package_digest: r.package_digest,
                package: r.package,
                counts: r.counts,
                rolled_back_at: r.rolled_back_at,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A history folder that cannot be read is an error, not "no import yet" (which would let
    /// the next import reuse id 1).
    #[test]
    fn an_unreadable_history_is_an_error_and_a_missing_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_history(dir.path()).unwrap(), Vec::new());
        std::fs::create_dir_all(dir.path().join(".rlcm")).unwrap();
        std::fs::write(dir.path().join(".rlcm/history"), b"not a folder").unwrap();
        let e = read_history(dir.path()).unwrap_err().to_string();
        assert!(e.contains(".rlcm/history"), "{e}");
    }
}
