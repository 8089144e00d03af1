//! `rlcm impact`: who depends on an asset, transitively.

use crate::asset::{AssetType, StepKind};
use crate::env::Environment;
use crate::error::Result;
use crate::graph::{DepGraph, Dependent};
use crate::index::{Index, Unusable};
use crate::report::*;
use crate::workspace::Workspace;

/// `rlcm impact` on an environment: answered from the production index when it is valid for
/// the tree as it is (reading only the rows of the asset and of what depends on it), else from
/// a load of the whole tree (which then writes a fresh index). Both give the same report.
pub fn impact_env(env: &Environment, query: &str) -> Result<ImpactReport> {
    let running = |p: &str| env.is_running(p);
    let full = |ws: &Workspace| -> Result<ImpactReport> {
        let target = ws.find_asset(query)?;
        Ok(impact(ws, target, &running))
    };
    if env.state.is_some() {
        return crate::index::answer(&env.root, |idx| indexed(env, idx, query), full);
    }
    full(&env.load_workspace()?)
}

/// The report from the index; `None` when the query names no single asset (the full load then
/// gives the error, worded as always).
fn indexed(
    env: &Environment,
    idx: &Index,
    query: &str,
) -> std::result::Result<Option<ImpactReport>, Unusable> {
    let found = crate::workspace::find_asset_by(
        query,
        |p| idx.index_of(p),
        |q| idx.connectors_matching(q),
        |q| idx.named(q),
        |i| idx.row(i).map(|r| r.path),
    )?;
    let Ok(target) = found else { return Ok(None) };
    let asset = idx.row(target)?;
    let (dependents, rows) = idx.dependents(&[target])?;
    let row = |i: usize| rows.get(&i).ok_or_else(|| Unusable(format!("row {i} not read")));
    let mut nodes = Vec::with_capacity(dependents.len());
    for d in &dependents {
        let r = row(d.asset)?;
        let mut via = Vec::with_capacity(d.via.len());
        for &i in &d.via {
            via.push(if i == target {
                asset.path.clone()
            } else {
                row(i)?.path.clone()
            });
        }
        let uses = if asset.is_connector() {
            r.uses
                .iter()
                .filter(|u| u.asset as usize == target)
                .map(|u| (u.kind, u.name.as_str()))
                .collect()
        } else {
            Vec::new()
        };
        nodes.push(Node {
            path: r.path.clone(),
            recipe: r.is_recipe(),
            via,
            uses,
        });
    }
    Ok(Some(report(&asset.path, &asset.asset_type, nodes, |p| {
        env.is_running(p)
    })))
}

/// One dependent, as the report needs it.
struct Node<'a> {
    path: String,
    recipe: bool,
    via: Vec<String>,
    uses: Vec<(StepKind, &'a str)>,
}

/// The report from the dependents found (in search order), from either store.
fn report(
    asset: &str,
    asset_type: &str,
    nodes: Vec<Node<'_>>,
    running: impl Fn(&str) -> bool,
) -> ImpactReport {
    let mut dependents = Vec::new();
    let mut other_dependents = Vec::new();
    for n in nodes {
        let mut uses: Vec<String> = n
            .uses
            .iter()
            .map(|(kind, name)| format!("{}:{}", serde_plain_kind(*kind), name))
            .collect();
        uses.sort();
        uses.dedup();
        let entry = ImpactDependent {
            running: n.recipe && running(&n.path),
            recipe: n.path,
            via: n.via,
            uses,
        };
        if n.recipe {
            dependents.push(entry);
        } else {
            other_dependents.push(entry);
        }
    }
    let by_path = |a: &ImpactDependent, b: &ImpactDependent| a.recipe.cmp(&b.recipe);
    dependents.sort_by(by_path);
    other_dependents.sort_by(by_path);
    ImpactReport {
        format_version: FORMAT_VERSION,
        asset: asset.to_string(),
        asset_type: asset_type.to_string(),
        dependents,
        other_dependents,
    }
}

/// Lists the dependents of the asset at index `target`; `running` says whether a recipe runs.
pub fn impact(ws: &Workspace, target: usize, running: &dyn Fn(&str) -> bool) -> ImpactReport {
    let g = DepGraph::build(ws);
    let asset = &ws.assets[target];
    let connector = asset.asset_type == AssetType::CustomAdapter;
    let nodes = g
        .dependents(&[target])
        .into_iter()
        .map(|Dependent { asset: d, via }| {
            let a = &ws.assets[d];
            Node {
                path: a.path.clone(),
                recipe: a.asset_type == AssetType::Recipe,
                via: via.iter().map(|&i| ws.assets[i].path.clone()).collect(),
                uses: if connector {
                    a.summary
                        .uses
                        .iter()
                        .filter(|u| ws.providers.get(&u.provider) == Some(&target))
                        .map(|u| (u.kind, u.name.as_str()))
                        .collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    report(&asset.path, asset.asset_type.as_str(), nodes, running)
}

fn serde_plain_kind(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Trigger => "trigger",
        StepKind::Action => "action",
    }
}
