//! What a connector version would break: the production recipes whose steps use an action or
//! trigger it does not define, and `connector check`.

use super::*;
use crate::asset::StepKind;
use crate::env::Environment;
use crate::error::Result;
use crate::report::*;
use crate::ruby::{self, ConnectorDefinition};
use crate::workspace::Workspace;

/// The recipes here whose steps use an action or trigger that `def` does not define.
pub fn breaking_uses(
    env: &Environment,
    ws: &Workspace,
    connector: usize,
    def: &ConnectorDefinition,
) -> Vec<BreakingUse> {
    breaking_among(env, ws, &ws.connector_uses(connector), def)
}

/// The uses among `uses` (`(recipe, kind, name, steps)`, as [`Workspace::connector_uses`]
/// lists them) that `def` does not define, sorted by recipe and name.
pub fn breaking_among(
    env: &Environment,
    ws: &Workspace,
    uses: &[(usize, StepKind, &str, &[u64])],
    def: &ConnectorDefinition,
) -> Vec<BreakingUse> {
    breaking_of(
        env,
        uses.iter()
            .map(|&(recipe, kind, name, steps)| (ws.assets[recipe].path.as_str(), kind, name, steps)),
        def,
    )
}

/// [`breaking_among`] with each use's recipe given by path (from the workspace or the
/// production index).
fn breaking_of<'a>(
    env: &Environment,
    uses: impl Iterator<Item = (&'a str, StepKind, &'a str, &'a [u64])>,
    def: &ConnectorDefinition,
) -> Vec<BreakingUse> {
    let mut out: Vec<BreakingUse> = uses
        .filter(|(_, kind, name, _)| !def.defines(*kind, name))
        .map(|(recipe, kind, name, steps)| BreakingUse {
            recipe: recipe.to_string(),
            kind,
            name: name.to_string(),
            steps: steps.to_vec(),
            running: env.is_running(recipe),
        })
        .collect();
    out.sort_by(|a, b| (&a.recipe, &a.name).cmp(&(&b.recipe, &b.name)));
    out
}

/// Formats breaking uses for an error message.
pub fn describe_breaking(list: &[BreakingUse]) -> String {
    list.iter()
        .map(|b| {
            let steps = b.steps.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
            format!(
                "\n  `{}` uses {} `{}` (step {steps}){}",
                b.recipe,
                b.kind,
                b.name,
                if b.running { ", running" } else { "" }
            )
        })
        .collect()
}

/// The workspace's uses of provider names that look like a custom connector's but match none.
pub fn unattributed_uses(ws: &Workspace) -> Vec<crate::report::UnattributedUse> {
    ws.unattributed_providers()
        .into_iter()
        .map(|(recipe, provider)| crate::report::UnattributedUse {
            recipe: recipe.to_string(),
            provider: provider.to_string(),
        })
        .collect()
}

/// `connector check`: would releasing `version` break anything here?
///
/// Answered from the production index when it is valid for the tree as it is (reading the
/// connector list, the connector's uses and the tree's unattributed provider names), else from
/// a load of the whole tree (which then writes a fresh index); both give the same report.
pub fn check(env: &Environment, name: &str, version: &str) -> Result<ConnectorCheckReport> {
    if env.state.is_some() {
        return crate::index::answer(
            &env.root,
            |idx| check_indexed(env, idx, name, version),
            |ws| check_loaded(env, ws, name, version),
        );
    }
    check_loaded(env, &env.load_workspace()?, name, version)
}

/// `connector check` from the index; `None` when the connector is not found or its code cannot
/// be read (the full load then gives the error, worded as always).
fn check_indexed(
    env: &Environment,
    idx: &crate::index::Index,
    name: &str,
    version: &str,
) -> std::result::Result<Option<ConnectorCheckReport>, crate::index::Unusable> {
    let Some(s) = env.state.as_ref() else {
        return Ok(None);
    };
    let tree = idx.connectors()?;
    let list = histories_with(s, tree.iter().map(|(n, p)| (n.as_str(), p.as_str())));
    let Ok(c) = find_in(list, name) else {
        return Ok(None);
    };
    let Ok((label, code)) = side_code(env, &c, version) else {
        return Ok(None);
    };
    let def = ruby::parse_connector(&code);
    let breaking = breaking_indexed(env, idx, &c, &def)?;
    let unattributed = unattributed_indexed(idx)?;
    Ok(Some(ConnectorCheckReport {
        format_version: FORMAT_VERSION,
        title: c.title.clone(),
        version: label,
        ok: def.parses() && breaking.is_empty(),
        parse_error: def.parse_error,
        actions: def.actions,
        triggers: def.triggers,
        breaking,
        unattributed,
    }))
}

/// The recipes here whose steps use an action or trigger of connector `c` that `def` does not
/// define, from the production index (as [`breaking_uses`] finds them in the loaded tree, with
/// the connector located as [`tree_index`] does: by path, else the first titled so).
pub fn breaking_indexed(
    env: &Environment,
    idx: &crate::index::Index,
    c: &ConnectorState,
    def: &ConnectorDefinition,
) -> std::result::Result<Vec<BreakingUse>, crate::index::Unusable> {
    let at = match idx.index_of(&c.path)? {
        Some(i) => Some(i),
        None => idx.connector_titled(&c.title)?,
    };
    let Some(i) = at else { return Ok(Vec::new()) };
    let uses = idx.connector_uses(i)?;
    let mut paths = std::collections::HashMap::new();
    for u in &uses {
        if let std::collections::hash_map::Entry::Vacant(e) = paths.entry(u.asset) {
            e.insert(idx.row(u.asset as usize)?.path);
        }
    }
    Ok(breaking_of(
        env,
        uses.iter().map(|u| {
            (
                paths[&u.asset].as_str(),
                u.kind,
                u.name.as_str(),
                u.steps.as_slice(),
            )
        }),
        def,
    ))
}

/// [`unattributed_uses`] from the production index.
pub fn unattributed_indexed(
    idx: &crate::index::Index,
) -> std::result::Result<Vec<crate::report::UnattributedUse>, crate::index::Unusable> {
    Ok(idx
        .unattributed()?
        .into_iter()
        .map(|(recipe, provider)| crate::report::UnattributedUse { recipe, provider })
        .collect())
}

fn check_loaded(
    env: &Environment,
    ws: &Workspace,
    name: &str,
    version: &str,
) -> Result<ConnectorCheckReport> {
    let c = find_history(env, ws, name)?;
    let (label, code) = side_code(env, &c, version)?;
    let def = ruby::parse_connector(&code);
    let breaking = match tree_index(ws, &c) {
        Some(i) => breaking_uses(env, ws, i, &def),
        None => Vec::new(),
    };
    Ok(ConnectorCheckReport {
        format_version: FORMAT_VERSION,
        title: c.title.clone(),
        version: label,
        ok: def.parses() && breaking.is_empty(),
        parse_error: def.parse_error,
        actions: def.actions,
        triggers: def.triggers,
        breaking,
        unattributed: unattributed_uses(ws),
    })
}
