//! `rlcm rollback`: undoing an import from its history record, in one transaction.

use super::history::*;
use crate::env::Actor;
use crate::env::{self, Baseline, Environment, Transaction};
use crate::error::Subject;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::report::*;

/// `rollback`: restores the environment to its state before import `id` (default: the most
/// recent import not rolled back).
pub fn rollback(mut env: Environment, id: Option<u64>, force: bool, actor: &Actor) -> Result<RollbackReport> {
    let _lock = env.lock(actor.wait, "rollback")?;
    let records = read_history(&env.root)?;
    let record = match id {
        Some(id) => records
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::NotFound {
                what: "import",
                name: id.to_string(),
                within: None,
                hint: Some("see `rlcm history`".into()),
            })?,
        None => records
            .iter()
            .rev()
            .find(|r| r.rolled_back_at.is_none())
            .ok_or_else(|| {
                Error::invalid(
                    Subject::environment(&env.root),
                    format!("`{}` has no import to roll back", env.root.display()),
                )
            })?,
    };
    if record.rolled_back_at.is_some() {
        return Err(Error::invalid(
            Subject::Import(record.id),
            format!("import {} was already rolled back", record.id),
        ));
    }
    let mine: std::collections::BTreeSet<&str> = record.files.iter().map(|f| f.path.as_str()).collect();
    let later: Vec<u64> = records
        .iter()
        .filter(|r| r.id > record.id && r.rolled_back_at.is_none())
        .filter(|r| {
            r.files.iter().any(|f| mine.contains(f.path.as_str()))
                || r.connectors
                    .iter()
                    .any(|c| record.connectors.iter().any(|m| m.title == c.title))
        })
        .map(|r| r.id)
        .collect();
    if !later.is_empty() && !force {
        return Err(Error::Blocked(format!(
            "import {} was built on by later import(s) {}; roll those back first, or pass `--force`",
            record.id,
            later.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        )));
    }
    let id = record.id;
    let mut state = env.state()?.clone();
    let mut txn = Transaction::begin(&env.root, &format!("rollback of import {id}"))?;
    let mut restored = Vec::new();
    let mut removed = Vec::new();
    for f in &record.files {
        if f.existed {
            let bytes = fsutil::read(&env.root.join(backup_path(id, &f.path)))?;
            txn.write(&f.path, &bytes)?;
            restored.push(f.path.clone());
        } else {
            txn.delete(&f.path)?;
            removed.push(f.path.clone());
        }
    }
    let mut versions_rolled_back = Vec::new();
    for c in &record.connectors {
        if let Some(h) = state.connectors.get_mut(&c.title) {
            for v in &c.appended {
                if let Some(r) = h.version_mut(*v) {
                    r.rolled_back = true;
                    versions_rolled_back.push(format!("{} v{v}", c.title));
                }
            }
            h.released = c.released_before;
            h.shared = match h.shared {
                Some(s) if c.appended.contains(&s) => c.shared_before,
                other => other,
            };
        }
    }
    for (path, before) in &record.running_before {
        match before {
            Some(r) => {
                state.recipes.running.insert(path.clone(), r.clone());
            }
            None => {
                state.recipes.running.remove(path);
            }
        }
    }
    let baseline: Baseline = serde_json::from_slice(&fsutil::read(&env.root.join(baseline_backup_path(id)))?)
        .map_err(|e| Error::json(baseline_backup_path(id), &e))?;
    state.set_baseline(baseline);
    let mut updated = record.clone();
    updated.rolled_back_at = Some(env::now_rfc3339());
    updated.rolled_back_by = Some(actor.user.clone());
    txn.write(&record_path(id), &crate::json::to_pretty_vec(&updated))?;
    env::stage_state(&env.root, &state, &mut txn)?;
    txn.commit()?;
    Ok(RollbackReport {
        format_version: FORMAT_VERSION,
        import_id: id,
        message: format!(
            "Rolled back import {id}: {} restored, {} removed{}.",
            restored.len(),
            removed.len(),
            if versions_rolled_back.is_empty() {
                String::new()
            } else {
                format!(
                    ", connector versions {} marked rolled back",
                    versions_rolled_back.join(", ")
                )
            }
        ),
        restored,
        removed,
        versions_rolled_back,
    })
}
