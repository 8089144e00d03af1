//! Phase 2: each custom connector of the package: its action (create, new version, no change),
//! version numbers, provider name in the target, and the provider renames recipes need.

#[allow(unused_imports)]
use super::*;

/// Plans every connector of the package; returns the plans and the package provider name →
/// target provider name map. Uncommitted connector edits in the target become blockers.
pub(super) fn plan_connectors(
    inputs: &Inputs<'_>,
    opts: &PlanOptions,
    target_paths: &[String],
    existing: &[Option<usize>],
    blockers: &mut Vec<Blocker>,
) -> Result<(Vec<ConnectorPlan>, BTreeMap<String, String>)> {
    let pkg = inputs.pkg;
    let mut connector_plans = Vec::new();
    let mut providers: BTreeMap<String, String> = BTreeMap::new();
    for (i, _) in pkg
        .assets
        .iter()
        .enumerate()
        .filter(|(_, a)| a.asset_type == AssetType::CustomAdapter)
    {
        let plan = plan_connector(inputs, opts, target_paths, existing[i], i, blockers)?;
        let hit = existing[i];
        for (p, c) in &pkg.providers {
            if *c == i {
                // A provider name the target already knows as this connector's stays as it
                // is (one connector can be used under two provider names).
                let known = hit.is_some_and(|t| inputs.target.providers.get(p) == Some(&t));
                let to = if known {
                    p.to_string()
                } else {
                    plan.provider.clone()
                };
                providers.insert(p.to_string(), to);
            }
        }
        connector_plans.push(plan);
    }
    Ok((connector_plans, providers))
}

/// Plans package connector `i`, which matches target asset `hit`.
fn plan_connector(
    inputs: &Inputs<'_>,
    opts: &PlanOptions,
    target_paths: &[String],
    hit: Option<usize>,
    i: usize,
    blockers: &mut Vec<Blocker>,
) -> Result<ConnectorPlan> {
    let (pkg, target, env) = (inputs.pkg, inputs.target, inputs.env);
    let state = env.state.as_ref();
    let env_id = state.map_or(0, |s| s.info.id);
    let a = &pkg.assets[i];
    let files = a.connector.clone().unwrap_or_default();
    let pkg_code = files.code_path.clone().unwrap_or_else(|| code_path_of(&a.path));
    let code = match inputs.source.find(&pkg_code) {
        Some(e) => inputs.source.read(e)?,
        None => {
            return Err(Error::BadEntry {
                package: inputs.source.display(),
                entry: pkg_code,
                reason: format!("connector `{}` has no code in the package", a.name),
            });
        }
    };
    let def = ruby::parse_connector(&code);
    let code_blake3 = blake3::hash(&code).to_hex().to_string();
    let history = state.and_then(|s| s.connectors.get(&a.name)).cloned();
    let (action, from_version, to_version, provider, old_def) = match hit {
        None => {
            let provider = opts
                .minted_providers
                .get(&a.name)
                .cloned()
                .unwrap_or_else(|| env::mint_provider(&a.name, env_id));
            // A connector an earlier rolled-back import created keeps its numbers.
            let next = history.as_ref().map_or(1, |h| h.max_version() + 1);
            (
                Action::Create,
                None,
                next,
                provider,
                ConnectorDefinition::default(),
            )
        }
        Some(t) => {
            let tfiles = target.assets[t].connector.clone().unwrap_or_default();
            let Released {
                hash: released_hash,
                version: released,
                max,
                provider,
                definition: old_def,
            } = released_in_target(target, t, history.as_ref(), &a.name, env_id);
            if released_hash.as_deref() == Some(code_blake3.as_str()) {
                (
                    Action::NoChange,
                    released,
                    released.unwrap_or(max),
                    provider,
                    old_def,
                )
            } else {
                // Uncommitted edits in the tree would be overwritten by the new latest.
                if let (Some(h), Some(tree_hash)) = (&history, &tfiles.code_hash)
                    && h.latest().is_some_and(|l| &l.code_blake3 != tree_hash)
                    && !opts.force
                {
                    blockers.push(Blocker {
                        kind: crate::diag::Code::UncommittedConnector,
                        path: code_path_of(&target.assets[t].path),
                        message: format!(
                            "connector `{}` has uncommitted edits in `{}` that the new version would replace; commit them (`rlcm connector commit`) or pass `--force` (they are then saved as a version first)",
                            a.name,
                            code_path_of(&target.assets[t].path)
                        ),
                    });
                }
                (Action::NewVersion, released, max + 1, provider, old_def)
            }
        }
    };
    Ok(ConnectorPlan {
        pkg: i,
        title: a.name.clone(),
        target_path: target_paths[i].clone(),
        target_logo: files.logo_path.as_ref().map(|l| {
            let name = asset::file_name(l);
            let ext = name.rsplit('.').next().unwrap_or("png");
            format!(
                "{}.{ext}",
                target_paths[i].strip_suffix(".json").unwrap_or(&target_paths[i])
            )
        }),
        pkg_logo: files.logo_path.clone(),
        pkg_code,
        action,
        from_version,
        to_version,
        note: a.summary.note.clone(),
        definition: def,
        previous: old_def,
        code_blake3,
        provider,
        history,
    })
}

/// The report's view of each connector plan.
pub(super) fn reports(pkg: &Workspace, connector_plans: &[ConnectorPlan]) -> Vec<PlanConnector> {
    connector_plans
        .iter()
        .map(|c| {
            let old = &c.previous;
            PlanConnector {
                title: c.title.clone(),
                action: c.action,
                from_version: c.from_version,
                to_version: Some(c.to_version),
                released: c.action != Action::NoChange || c.from_version == Some(c.to_version),
                note: c.note.clone(),
                package_provider: pkg
                    .providers
                    .iter()
                    .find(|(_, x)| **x == c.pkg)
                    .map(|(p, _)| p.to_string()),
                target_provider: c.provider.clone(),
                actions_added: set_diff(&old.actions, &c.definition.actions),
                actions_removed: if c.action == Action::Create {
                    Vec::new()
                } else {
                    set_diff(&c.definition.actions, &old.actions)
                },
                triggers_added: set_diff(&old.triggers, &c.definition.triggers),
                triggers_removed: if c.action == Action::Create {
                    Vec::new()
                } else {
                    set_diff(&c.definition.triggers, &old.triggers)
                },
            }
        })
        .collect()
}

/// Incoming connector code that does not parse: the import would release it (the same rule as
/// `connector release`), so it blocks unless `--force` (then a warning).
pub(super) fn parse_error_blockers(
    connector_plans: &[ConnectorPlan],
    opts: &PlanOptions,
    blockers: &mut Vec<Blocker>,
    warnings: &mut Vec<String>,
) {
    for c in connector_plans.iter().filter(|c| c.action != Action::NoChange) {
        let Some(err) = &c.definition.parse_error else {
            continue;
        };
        // The import releases the incoming version: the same rule as `connector release`.
        if opts.force {
            warnings.push(format!(
                "connector `{}`: the incoming code does not parse ({err})",
                c.title
            ));
        } else {
            blockers.push(Blocker {
                kind: crate::diag::Code::ConnectorParseError,
                path: c.pkg_code.clone(),
                message: format!(
                    "connector `{}`: the incoming code `{}` does not parse as Ruby ({err}), and the import would release it; fix it in the sandbox, or pass `--force`",
                    c.title, c.pkg_code
                ),
            });
        }
    }
}

/// What the target has of a connector: its released version's hash, number and definition,
/// the highest version number, and its provider name.
struct Released {
    hash: Option<String>,
    version: Option<u64>,
    max: u64,
    provider: String,
    definition: ConnectorDefinition,
}

/// The target connector `t`'s released state, from its history when it has one, else from the
/// tree (an uninitialised target: its one version is the released one).
fn released_in_target(
    target: &Workspace,
    t: usize,
    history: Option<&ConnectorState>,
    title: &str,
    env_id: u64,
) -> Released {
    match history {
        Some(h) => {
            let rec = h.released_record();
            Released {
                hash: rec.map(|r| r.code_blake3.clone()),
                version: h.released,
                max: h.max_version(),
                provider: h.provider.clone(),
                definition: rec.map(|r| r.definition()).unwrap_or_default(),
            }
        }
        None => {
            let tfiles = target.assets[t].connector.clone().unwrap_or_default();
            let v = target.assets[t].summary.version_no.unwrap_or(1);
            let provider = target
                .providers
                .iter()
                .find(|(_, c)| **c == t)
                .map(|(p, _)| p.to_string())
                .unwrap_or_else(|| env::mint_provider(title, env_id));
            Released {
                hash: tfiles.code_hash.clone(),
                version: Some(v),
                max: v,
                provider,
                definition: tfiles.definition.clone(),
            }
        }
    }
}
