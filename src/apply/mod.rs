//! Applying a plan: `rlcm import`, `rlcm history`, `rlcm rollback`.
//!
//! The second half of the import, after [`crate::plan`] has decided: the phases are
//! - [`open_package`] and [`make_plan`]: read and decide (nothing written);
//! - [`stage`](stage::stage): every new byte computed from the plan and staged in a
//!   [`Transaction`], with a backup of each byte it replaces;
//! - the commit ([`apply`]): the journal's rename is the commit point;
//! - [`history`]: the record of each import (`.rlcm/history/<id>.json`);
//! - [`rollback`](rollback::rollback): undoing an import from that record.
//!
//! An import is one [`Transaction`]: the tree files, the connector histories, the running
//! state, the baseline, and the history record with the bytes of every file it overwrote (in
//! `.rlcm/history/<id>/before/`) all change together, or none of them does.

mod history;
mod rollback;
mod stage;

pub use history::{ConnectorChange, FileChange, ImportRecord, history, read_history};
pub use rollback::rollback;

use std::path::Path;

use crate::env::Actor;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::package;
use crate::plan::{self, Inputs, Plan, PlanOptions};
use crate::report::*;
use crate::source::Source;
use crate::workspace::Workspace;

/// A package opened for planning: verified, loaded.
pub struct OpenedPackage {
    /// Its files.
    pub source: Source,
    /// Its assets.
    pub ws: Workspace,
    /// Its digest.
    pub digest: String,
}

/// Opens and verifies a package (zip or directory).
///
/// Each entry is read once: the load hashes what it reads, and those hashes are checked
/// against `rlcm-package.json` exactly as `rlcm verify` checks them. When the load itself
/// fails (an entry that does not decompress or parse), the package is verified the slow way
/// first, so a damaged or tampered package is reported as such rather than as bad JSON.
pub fn open_package(path: &Path) -> Result<OpenedPackage> {
    let source = Source::open(path)?;
    let (ws, files) = match Workspace::load_hashed(&source) {
        Ok(loaded) => loaded,
        Err(e) => {
            package::ensure_verified(path)?;
            return Err(e);
        }
    };
    let actual: Vec<package::verify::ActualEntry> = files
        .into_iter()
        .map(|(path, size, hash)| package::verify::ActualEntry {
            path,
            content: Ok((size, hash)),
        })
        .collect();
    // Without rlcm-package.json (a Workato export) the package's digest is that of its entries.
    let entries_digest = source.find(package::MANIFEST_NAME).is_none().then(|| {
        let mut h = blake3::Hasher::new();
        for e in &actual {
            h.update(e.path.as_bytes());
            h.update(b"\0");
            if let Ok((size, hash)) = &e.content {
                h.update(&size.to_le_bytes());
                h.update(hash.as_bytes());
            }
        }
        h.finalize().to_hex().to_string()
    });
    let report = package::verify::report_ok(package::verify::verify_source(path, &source, actual))?;
    let digest = report.digest.or(entries_digest).unwrap_or_default();
    Ok(OpenedPackage { source, ws, digest })
}

/// Plans importing an opened package into an environment.
pub fn make_plan(
    pkg: &OpenedPackage,
    env: &Environment,
    target: &Workspace,
    opts: &PlanOptions,
) -> Result<Plan> {
    plan::plan(
        &Inputs {
            source: &pkg.source,
            pkg: &pkg.ws,
            package_digest: pkg.digest.clone(),
            env,
            target,
            index: None,
        },
        opts,
    )
}

/// `plan` of `pkg` into `env`: from the production index where one is valid (vouched for by
/// `rlcm watch`, or checked against a walk), reading only the part of the target that the
/// package touches ([`plan::plan_from_index`]); else from a load of the whole tree, which
/// then writes a fresh index (when the index is on, see [`crate::index::mode_at`]). Returns the
/// plan and the target assets read.
pub fn plan_env(pkg: &OpenedPackage, env: &Environment, opts: &PlanOptions) -> Result<(Plan, Workspace)> {
    let planned = plan_in(pkg, env, opts, true)?;
    Ok((planned.plan, planned.target))
}

/// A plan and what it was made from.
pub(crate) struct Planned {
    pub plan: Plan,
    /// The target assets read: the whole tree, or (with `index`) the part the package touches.
    pub target: Workspace,
    /// The valid production index the plan was made from, if it was.
    pub index: Option<crate::index::Index>,
}

/// [`plan_env`], saying whether the plan was made from the index; `write_index`: whether a
/// load of the whole tree writes a fresh index (not for an import, which is about to change
/// the tree).
pub(crate) fn plan_in(
    pkg: &OpenedPackage,
    env: &Environment,
    opts: &PlanOptions,
    write_index: bool,
) -> Result<Planned> {
    use crate::index::{Mode, Unusable};
    let whole = |plan, target| Planned {
        plan,
        target,
        index: None,
    };
    if env.state.is_none() {
        let target = env.load_workspace()?;
        let plan = make_plan(pkg, env, &target, opts)?;
        return Ok(whole(plan, target));
    }
    let root = &env.root;
    let v = crate::index::open_valid(root)?;
    if let Some(idx) = v.index {
        match plan::plan_from_index(&pkg.source, &pkg.ws, &pkg.digest, env, &idx, opts) {
            Ok(Some((plan, target))) => {
                return Ok(Planned {
                    plan,
                    target,
                    index: Some(idx),
                });
            }
            Ok(None) if v.mode == Mode::Require => {
                return Err(crate::index::required(
                    root,
                    &Unusable(
                        "it does not know the tree's digest since a connector command wrote, or the part of the tree the package touches did not settle".into(),
                    ),
                ));
            }
            Err(e) if v.mode == Mode::Require => return Err(e),
            // Planned from the whole tree below (an error there is the one to report).
            _ => {}
        }
    }
    let (source, target) = match v.source {
        Some(source) => {
            let ws = Workspace::load_with(&source, crate::cache::SummaryCache::read(root))?;
            (source, ws)
        }
        None => Workspace::load_tree_cached(root)?,
    };
    if v.mode == Mode::Off || !write_index {
        let plan = make_plan(pkg, env, &target, opts)?;
        return Ok(whole(plan, target));
    }
    let plan = std::thread::scope(|scope| {
        let writer = scope.spawn(|| crate::index::write(root, source.entries(), &target, v.epoch));
        let plan = make_plan(pkg, env, &target, opts);
        let _ = writer.join();
        plan
    })?;
    Ok(whole(plan, target))
}

/// The options a saved plan was made with, and the provider names it minted.
pub fn options_of(report: &PlanReport) -> PlanOptions {
    PlanOptions {
        folder: report.options.folder.clone(),
        restart_recipes: report.options.restart_recipes,
        force: report.options.force,
        overwrite_lookup_data: report.options.overwrite_lookup_data,
        minted_providers: report
            .connectors
            .iter()
            .filter(|c| c.action == "create")
            .map(|c| (c.title.clone(), c.target_provider.clone()))
            .collect(),
        text_diff: false,
    }
}

/// `import`: applies the plan when it is not blocked. Returns the report with `applied` and
/// `import_id` set; a plan that changes nothing is reported but not recorded.
pub fn apply(
    mut env: Environment,
    pkg: &OpenedPackage,
    opts: &PlanOptions,
    actor: &Actor,
    expect_digest: Option<&str>,
) -> Result<PlanReport> {
    let _lock = env.lock(actor.wait, "import")?;
    // From the production index when it is valid: the plan, and the stage after it, read only
    // the part of the tree the package touches.
    let Planned { plan, target, index } = plan_in(pkg, &env, opts, false)?;
    if let Some(expected) = expect_digest
        && expected != plan.report.target_digest
    {
        return Err(Error::Blocked(format!(
            "the saved plan is stale: `{}` changed since it was planned (target digest {} then, {} now); plan again",
            env.root.display(),
            crate::report::short_digest(expected),
            crate::report::short_digest(&plan.report.target_digest)
        )));
    }
    if plan.report.blocked || !plan.items.iter().any(|i| i.action.writes()) {
        return Ok(plan.report);
    }
    match &index {
        None => crate::fsutil::check_case_collisions(
            &env.root,
            plan.target_paths
                .iter()
                .map(String::as_str)
                .chain(target.assets.iter().map(|a| a.path.as_str())),
        )?,
        // Every path of the tree is only needed where case does not tell paths apart.
        Some(idx) if crate::fsutil::is_case_insensitive(&env.root) => {
            let all = idx.all_paths().map_err(plan::index_error)?;
            crate::fsutil::check_case_collisions(
                &env.root,
                plan.target_paths
                    .iter()
                    .map(String::as_str)
                    .chain(all.iter().map(String::as_str)),
            )?
        }
        Some(_) => {}
    }
    let (txn, id) = stage::stage(&env, pkg, opts, actor, &target, &plan)?;
    // Only the report is kept: the rest of the plan goes before the summary cache is written.
    let Plan { mut report, .. } = plan;
    txn.commit()?;
    // After a plan from the whole tree, the summary cache is written again from it (the files
    // the import wrote are not in it: they are parsed by the next load). After a plan from the
    // index it is left as it is: the files the import wrote no longer match their entries,
    // and every other entry is still true.
    if index.is_none() {
        env.refresh_cache(&target);
    }
    report.applied = true;
    report.import_id = Some(id);
    Ok(report)
}
