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
    let mut out: Vec<BreakingUse> = uses
        .iter()
        .filter(|(_, kind, name, _)| !def.defines(*kind, name))
        .map(|&(recipe, kind, name, steps)| BreakingUse {
            recipe: ws.assets[recipe].path.clone(),
            kind,
            name: name.to_string(),
            steps: steps.to_vec(),
            running: env.is_running(&ws.assets[recipe].path),
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
pub fn check(env: &Environment, name: &str, version: &str) -> Result<ConnectorCheckReport> {
    let ws = env.load_workspace()?;
    let c = find_history(env, &ws, name)?;
    let (label, code) = side_code(env, &c, version)?;
    let def = ruby::parse_connector(&code);
    let breaking = match tree_index(&ws, &c) {
        Some(i) => breaking_uses(env, &ws, i, &def),
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
        unattributed: unattributed_uses(&ws),
    })
}
