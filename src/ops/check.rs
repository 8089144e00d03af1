//! `rlcm check`: is an environment whole? References resolve, the tree matches the state,
//! no write is left unfinished.

use crate::diag::{Code, Severity};
use std::collections::{HashMap, HashSet};

use crate::asset::{AssetType, StepKind};
use crate::connector::{breaking_among, code_path_of};
use crate::env::Environment;
use crate::error::Result;
use crate::graph::DepGraph;
use crate::report::*;
use crate::workspace::{Target, Workspace};

/// One step use of a connector: (recipe index, kind, action or trigger name, step numbers).
type Use<'a> = (usize, StepKind, &'a str, &'a [u64]);

/// Every connector's step uses, by connector index, in one pass over the assets (in asset
/// order, as [`Workspace::connector_uses`] lists them for one connector).
fn uses_by_connector(ws: &Workspace) -> HashMap<usize, Vec<Use<'_>>> {
    let mut out: HashMap<usize, Vec<Use<'_>>> = HashMap::new();
    for (i, a) in ws.assets.iter().enumerate() {
        for u in &a.summary.uses {
            if let Some(&c) = ws.providers.get(&*u.provider) {
                out.entry(c)
                    .or_default()
                    .push((i, u.kind, &*u.name, u.steps.as_slice()));
            }
        }
    }
    out
}

fn finding(kind: Code, severity: Severity, path: &str, message: String) -> CheckFinding {
    CheckFinding {
        kind,
        severity,
        path: path.into(),
        message,
    }
}

/// Checks the environment (opening it has already finished any interrupted write).
pub fn check(env: &Environment) -> Result<CheckReport> {
    // `baseline.json` is read when first needed: `check` reads it so that a damaged one fails
    // here, naming the file, as it does for every command that uses it.
    if let Some(state) = &env.state {
        state.baseline()?;
    }
    let ws = env.load_workspace()?;
    let mut findings = Vec::new();
    for r in &ws.references {
        if let Target::Dangling(to) = &r.to {
            let from = &ws.assets[r.from].path;
            findings.push(finding(
                Code::DanglingReference,
                Severity::Error,
                from,
                ws.describe_dangling(from, to, &r.kind),
            ));
        }
    }
    for w in ws.tree_warnings() {
        findings.push(finding(w.code, Severity::Warning, &w.path, w.message));
    }
    for c in DepGraph::build(&ws).cycles() {
        let path: Vec<&str> = c.iter().map(|&i| ws.assets[i].path.as_str()).collect();
        findings.push(finding(
            Code::CallCycle,
            Severity::Warning,
            path[0],
            format!("dependency cycle: {}", path.join(" → ")),
        ));
    }
    for p in &ws.orphan_files {
        findings.push(finding(
            Code::OrphanConnectorFile,
            Severity::Warning,
            p,
            format!("`{p}` has no `.custom_adapter.json` beside it"),
        ));
    }
    let Some(state) = &env.state else {
        findings.push(finding(
            Code::NotInitialised,
            Severity::Warning,
            ".",
            "this directory has no `.rlcm/` state; run `rlcm init` to manage connector versions and running state".into(),
        ));
        return Ok(finish(env, findings));
    };
    // Connectors: tree vs history. Step uses are indexed once: one scan of the assets, not one
    // per connector.
    let uses = uses_by_connector(&ws);
    let tree_titles: HashSet<&str> = ws
        .assets
        .iter()
        .filter(|a| a.asset_type == AssetType::CustomAdapter)
        .map(|a| a.name.as_str())
        .collect();
    for (i, a) in ws
        .assets
        .iter()
        .enumerate()
        .filter(|(_, a)| a.asset_type == AssetType::CustomAdapter)
    {
        check_connector(env, &ws, state, &uses, i, a, &mut findings);
    }
    for (title, c) in &state.connectors {
        // A connector whose every version was rolled back has left the tree on purpose.
        if c.latest().is_some() && ws.get(&c.path).is_none() && !tree_titles.contains(title.as_str()) {
            findings.push(finding(
                Code::ConnectorMissingFromTree,
                Severity::Error,
                &c.path,
                format!("connector `{title}` has a history but its files are gone from the tree; restore them (`rlcm connector restore`) or from git"),
            ));
        }
    }
    for path in state.recipes.running.keys() {
        if ws.get(path).is_none() {
            findings.push(finding(
                Code::RunningRecipeMissing,
                Severity::Error,
                path,
                format!("`{path}` is marked running but is not in the tree; stop it with `rlcm recipe stop`"),
            ));
        }
    }
    // Installed connectors whose parent shared a newer version (asks their registries).
    for (title, path, message) in crate::registry::sharing::update_notices(env) {
        let kind = if message.starts_with("cannot") {
            Code::RegistryUnreachable
        } else {
            Code::ConnectorUpdateAvailable
        };
        findings.push(finding(
            kind,
            Severity::Warning,
            &path,
            format!("`{title}`: {message}"),
        ));
    }
    Ok(finish(env, findings))
}

/// Findings about the tree's connector `a` (asset `i`) against its history in `.rlcm/`.
fn check_connector(
    env: &Environment,
    ws: &Workspace,
    state: &crate::env::State,
    uses: &HashMap<usize, Vec<Use<'_>>>,
    i: usize,
    a: &crate::workspace::Asset,
    findings: &mut Vec<CheckFinding>,
) {
    let Some(c) = state.connectors.get(&a.name) else {
        findings.push(finding(
            Code::ConnectorWithoutHistory,
            Severity::Warning,
            &a.path,
            format!("connector `{}` has no version history; start it with `rlcm connector commit \"{}\" --note ...`", a.name, a.name),
        ));
        return;
    };
    let code = a.connector.as_ref().and_then(|f| f.code_hash.clone());
    if let Some(latest) = c.latest() {
        if code.as_deref() != Some(latest.code_blake3.as_str()) {
            findings.push(finding(
                Code::UncommittedConnectorChange,
                Severity::Warning,
                &code_path_of(&a.path),
                format!(
                    "`{}` differs from version {} of `{}`: commit it (`rlcm connector commit`) or restore it",
                    code_path_of(&a.path),
                    latest.version,
                    c.title
                ),
            ));
        }
        if a.summary.version_no != Some(latest.version) || a.summary.note != latest.note {
            findings.push(finding(
                Code::ConnectorMetadataMismatch,
                Severity::Error,
                &a.path,
                format!(
                    "`{}` says version {:?} but the latest version of `{}` is {}; it was edited by hand: set `version_no` and `note` back",
                    a.path, a.summary.version_no, c.title, latest.version
                ),
            ));
        }
    }
    for v in &c.versions {
        if let Err(e) = env.version_code(c, v.version) {
            findings.push(finding(
                Code::StateDamaged,
                Severity::Error,
                &format!(".rlcm/connectors/{}", v.code),
                e.to_string(),
            ));
        }
    }
    if let Some(rel) = c.released_record() {
        let def = rel.definition();
        let mine = uses.get(&i).map_or(&[][..], Vec::as_slice);
        for b in breaking_among(env, ws, mine, &def) {
            findings.push(finding(
                Code::BrokenRecipe,
                Severity::Error,
                &b.recipe,
                format!(
                    "`{}` uses {} `{}` (steps {:?}) which released version {} of `{}` does not define",
                    b.recipe, b.kind, b.name, b.steps, rel.version, c.title
                ),
            ));
        }
    }
}

fn finish(env: &Environment, findings: Vec<CheckFinding>) -> CheckReport {
    CheckReport {
        format_version: FORMAT_VERSION,
        ok: !findings.iter().any(|f| f.severity == Severity::Error),
        recovered: env.recovered.clone(),
        findings,
    }
}
