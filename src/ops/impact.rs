//! `rlcm impact`: who depends on an asset, transitively.

use crate::asset::AssetType;
use crate::graph::DepGraph;
use crate::report::*;
use crate::workspace::Workspace;

/// Lists the dependents of the asset at index `target`; `running` says whether a recipe runs.
pub fn impact(ws: &Workspace, target: usize, running: &dyn Fn(&str) -> bool) -> ImpactReport {
    let g = DepGraph::build(ws);
    let asset = &ws.assets[target];
    let uses_of = |recipe: usize| -> Vec<String> {
        if asset.asset_type != AssetType::CustomAdapter {
            return Vec::new();
        }
        let mut names: Vec<String> = ws.assets[recipe]
            .summary
            .uses
            .iter()
            .filter(|u| ws.providers.get(&u.provider) == Some(&target))
            .map(|u| format!("{}:{}", u.kind, u.name))
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let mut dependents = Vec::new();
    let mut other_dependents = Vec::new();
    for d in g.dependents(&[target]) {
        let a = &ws.assets[d.asset];
        let entry = ImpactDependent {
            recipe: a.path.clone(),
            running: a.asset_type == AssetType::Recipe && running(&a.path),
            via: d.via.iter().map(|&i| ws.assets[i].path.clone()).collect(),
            uses: uses_of(d.asset),
        };
        if a.asset_type == AssetType::Recipe {
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
        asset: asset.path.clone(),
        asset_type: asset.asset_type.as_str().to_string(),
        dependents,
        other_dependents,
    }
}
