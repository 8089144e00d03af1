//! Phase 4: production recipes the import affects, with their severity.

#[allow(unused_imports)]
use super::*;

/// Production recipes affected by the import, with severity.
pub(super) fn impact(
    inputs: &Inputs<'_>,
    items: &[Item],
    connectors: &[ConnectorPlan],
    incoming_uses: &HashMap<String, Vec<(StepKind, String)>>,
) -> Result<Vec<ImpactEntry>> {
    let target = inputs.target;
    let env = inputs.env;
    let overwritten: HashMap<&str, Action> = items
        .iter()
        .filter(|i| i.existing.is_some())
        .map(|i| (i.target.as_str(), i.action))
        .collect();
    let in_package: BTreeSet<&str> = items.iter().map(|i| i.target.as_str()).collect();
    let changed = changed_assets(inputs, items);
    // Incoming connector definitions, by target provider name.
    let incoming: HashMap<&str, &ConnectorPlan> = connectors
        .iter()
        .filter(|c| c.action != Action::NoChange)
        .map(|c| (c.provider.as_str(), c))
        .collect();
    let missing_for = |uses: &[(StepKind, String)]| missing_in(&incoming, uses);
    let provider_by_path: HashMap<&str, &str> = connectors
        .iter()
        .map(|cp| (cp.target_path.as_str(), cp.provider.as_str()))
        .collect();
    // A recipe's uses as `(kind, "<incoming provider>\0<name>")`, from `(kind, connector
    // path, name)`.
    let keyed = |uses: &mut dyn Iterator<Item = (StepKind, &str, &str)>| -> Vec<(StepKind, String)> {
        uses.filter_map(|(kind, connector, name)| {
            let provider = provider_by_path.get(connector)?;
            Some((kind, format!("{provider}\u{0}{name}")))
        })
        .collect()
    };
    let current_uses = |r: usize| -> Vec<(StepKind, String)> {
        keyed(&mut target.assets[r].summary.uses.iter().filter_map(|u| {
            let c = target.providers.get(&u.provider)?;
            Some((u.kind, target.assets[*c].path.as_str(), &*u.name))
        }))
    };
    // By path: the report is sorted at the end.
    let mut entries: BTreeMap<String, ImpactEntry> = BTreeMap::new();
    let mut add = |path: &str, via: Vec<String>, current: &dyn Fn() -> Vec<(StepKind, String)>| {
        if entries.contains_key(path) {
            return;
        }
        let running = env.is_running(path);
        let action = overwritten.get(path).copied();
        let uses = match (action, incoming_uses.get(path)) {
            (Some(a), Some(u)) if a.writes() => u.clone(),
            _ => current(),
        };
        let missing = missing_for(&uses);
        let updated = matches!(
            action,
            Some(Action::Update | Action::UpdateRunning | Action::Conflict)
        );
        // A running recipe the package updates is stopped, updated and started again.
        let severity = if !missing.is_empty() {
            ImpactSeverity::Breaking
        } else if running && updated {
            ImpactSeverity::Restart
        } else {
            ImpactSeverity::Affected
        };
        entries.insert(
            path.to_string(),
            ImpactEntry {
                in_package: in_package.contains(path),
                recipe: path.to_string(),
                running,
                severity,
                via,
                missing,
            },
        );
    };
    // Updated recipes themselves.
    for &t in &changed {
        if target.assets[t].asset_type == AssetType::Recipe {
            let path = &target.assets[t].path;
            add(path, vec![path.clone()], &|| current_uses(t));
        }
    }
    match inputs.index {
        None => {
            let graph = DepGraph::build(target);
            for d in graph.dependents(&changed) {
                if target.assets[d.asset].asset_type == AssetType::Recipe {
                    let via = d.via.iter().map(|&i| target.assets[i].path.clone()).collect();
                    add(&target.assets[d.asset].path, via, &|| current_uses(d.asset));
                }
            }
        }
        // The target is a part of the tree: what depends on the changed assets is found in
        // the index's reverse edges, with each recipe's connector uses from its row.
        Some(idx) => {
            let mut ids = Vec::with_capacity(changed.len());
            for &t in &changed {
                if let Some(id) = idx.index_of(&target.assets[t].path).map_err(index_error)? {
                    ids.push(id);
                }
            }
            let (found, rows) = idx.dependents(&ids).map_err(index_error)?;
            let mut connector_paths: HashMap<u32, String> = HashMap::new();
            for d in &found {
                for u in &rows[&d.asset].uses {
                    if let std::collections::hash_map::Entry::Vacant(e) = connector_paths.entry(u.asset) {
                        e.insert(idx.row(u.asset as usize).map_err(index_error)?.path);
                    }
                }
            }
            for d in found {
                let row = &rows[&d.asset];
                if row.is_recipe() {
                    let via = d.via.iter().map(|i| rows[i].path.clone()).collect();
                    let uses = || {
                        keyed(
                            &mut row
                                .uses
                                .iter()
                                .map(|u| (u.kind, connector_paths[&u.asset].as_str(), u.name.as_str())),
                        )
                    };
                    add(&row.path, via, &uses);
                }
            }
        }
    }
    let mut out: Vec<ImpactEntry> = entries.into_values().collect();
    out.extend(new_recipes_that_break(inputs, items, incoming_uses, &incoming));
    out.sort_by(|a, b| (a.severity, &a.recipe).cmp(&(b.severity, &b.recipe)));
    Ok(out)
}

/// The target assets the import changes (merged files aside: adding keys breaks nothing).
fn changed_assets(inputs: &Inputs<'_>, items: &[Item]) -> Vec<usize> {
    items
        .iter()
        .filter(|i| {
            matches!(
                i.action,
                Action::Update | Action::UpdateRunning | Action::Conflict | Action::NewVersion
            )
        })
        .filter(|i| {
            !matches!(
                inputs.pkg.assets[i.pkg].asset_type,
                AssetType::Properties | AssetType::ProjectProperties | AssetType::Tags
            )
        })
        .filter_map(|i| i.existing)
        .collect()
}

/// The actions and triggers among `uses` (`(kind, "<target provider>\0<name>")`) that the
/// incoming connector versions no longer define, as `action:name` / `trigger:name`.
fn missing_in(incoming: &HashMap<&str, &ConnectorPlan>, uses: &[(StepKind, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (kind, key) in uses {
        let Some((provider, name)) = key.split_once('\u{0}') else {
            continue;
        };
        let Some(c) = incoming.get(provider) else { continue };
        if c.definition.defines(*kind, name) {
            continue;
        }
        let label = format!(
            "{}:{name}",
            if *kind == StepKind::Action {
                "action"
            } else {
                "trigger"
            }
        );
        if !out.contains(&label) {
            out.push(label);
        }
    }
    out
}

/// New recipes from the package that would not run on the incoming connector.
fn new_recipes_that_break(
    inputs: &Inputs<'_>,
    items: &[Item],
    incoming_uses: &HashMap<String, Vec<(StepKind, String)>>,
    incoming: &HashMap<&str, &ConnectorPlan>,
) -> Vec<ImpactEntry> {
    let mut out = Vec::new();
    for item in items
        .iter()
        .filter(|i| i.existing.is_none() && inputs.pkg.assets[i.pkg].asset_type == AssetType::Recipe)
    {
        let missing = incoming_uses
            .get(&item.target)
            .map(|u| missing_in(incoming, u))
            .unwrap_or_default();
        if !missing.is_empty() {
            out.push(ImpactEntry {
                recipe: item.target.clone(),
                running: false,
                in_package: true,
                severity: ImpactSeverity::Breaking,
                via: vec![item.target.clone()],
                missing,
            });
        }
    }
    out
}
