//! Phase 4: production recipes the import affects, with their severity.

#[allow(unused_imports)]
use super::*;

/// Production recipes affected by the import, with severity.
pub(super) fn impact(
    inputs: &Inputs<'_>,
    items: &[Item],
    connectors: &[ConnectorPlan],
    incoming_uses: &HashMap<String, Vec<(StepKind, String)>>,
) -> Vec<ImpactEntry> {
    let target = inputs.target;
    let env = inputs.env;
    let graph = DepGraph::build(target);
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
    let current_uses = |r: usize| -> Vec<(StepKind, String)> {
        target.assets[r]
            .summary
            .uses
            .iter()
            .filter_map(|u| {
                let c = target.providers.get(&u.provider)?;
                let provider = provider_by_path.get(target.assets[*c].path.as_str())?;
                Some((u.kind, format!("{provider}\u{0}{}", u.name)))
            })
            .collect()
    };
    // By asset index: assets are sorted by path, so index order is path order.
    let mut entries: BTreeMap<usize, ImpactEntry> = BTreeMap::new();
    let mut add = |recipe: usize, via: Vec<String>| {
        if entries.contains_key(&recipe) {
            return;
        }
        let path = target.assets[recipe].path.clone();
        let running = env.is_running(&path);
        let action = overwritten.get(path.as_str()).copied();
        let uses = match (action, incoming_uses.get(&path)) {
            (Some(a), Some(u)) if a.writes() => u.clone(),
            _ => current_uses(recipe),
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
            recipe,
            ImpactEntry {
                in_package: in_package.contains(path.as_str()),
                recipe: path,
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
            add(t, vec![target.assets[t].path.clone()]);
        }
    }
    for d in graph.dependents(&changed) {
        if target.assets[d.asset].asset_type == AssetType::Recipe {
            add(
                d.asset,
                d.via.iter().map(|&i| target.assets[i].path.clone()).collect(),
            );
        }
    }
    let mut out: Vec<ImpactEntry> = entries.into_values().collect();
    out.extend(new_recipes_that_break(inputs, items, incoming_uses, &incoming));
    out.sort_by(|a, b| (a.severity, &a.recipe).cmp(&(b.severity, &b.recipe)));
    out
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
