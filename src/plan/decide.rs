//! Phase 3b: what the import does with each package asset (create, update, keep, merge ...),
//! and the blockers and warnings that come with it.

#[allow(unused_imports)]
use super::*;

/// One `invalid-asset` blocker per field of a package asset that is not what its type needs.
pub(super) fn invalid_asset_blockers(pkg: &Workspace) -> Vec<Blocker> {
    pkg.assets
        .iter()
        .flat_map(|a| {
            a.summary.invalid.iter().map(|f| Blocker {
                kind: crate::diag::Code::InvalidAsset,
                path: a.path.clone(),
                message: format!(
                    "package entry `{}`: {}; fix it in the source environment and export again (`--force` does not import malformed assets)",
                    a.path,
                    f.describe(&a.asset_type)
                ),
            })
        })
        .collect()
}

/// What a merged file of the package adds to the target's copy (`target` is `None` when the
/// target has none): account properties' keys (spaces and underscores alike), project
/// properties' `data` keys, tags by title. What the target has is never replaced.
pub(crate) fn merge_additions(
    asset_type: &AssetType,
    pkg: &Value,
    target: Option<&Value>,
) -> Vec<(String, Value)> {
    let entries = |v: &Value| -> Vec<(String, Value)> {
        match asset_type {
            AssetType::Tags => v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| Some((e.get("title")?.as_str()?.to_string(), e.clone())))
                .collect(),
            AssetType::ProjectProperties => v
                .get("data")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            _ => v
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    };
    let key = |k: &str| match asset_type {
        AssetType::Properties => asset::property_key(k),
        _ => k.to_string(),
    };
    let mut have: BTreeSet<String> = target
        .map(|t| entries(t).into_iter().map(|(k, _)| key(&k)).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (k, v) in entries(pkg) {
        if have.insert(key(&k)) {
            out.push((k, v));
        }
    }
    out
}

/// Applies what [`merge_additions`] found to the target's copy of a merged file (or to an
/// empty one).
pub(crate) fn apply_additions(
    asset_type: &AssetType,
    base: Option<Value>,
    additions: &[(String, Value)],
) -> Value {
    match asset_type {
        AssetType::Tags => {
            let mut base = base.filter(Value::is_array).unwrap_or(Value::Array(Vec::new()));
            if let Value::Array(entries) = &mut base {
                entries.extend(additions.iter().map(|(_, e)| e.clone()));
            }
            base
        }
        AssetType::ProjectProperties => {
            let mut base = base
                .filter(Value::is_object)
                .unwrap_or(serde_json::json!({"data": {}}));
            if let Some(o) = base.as_object_mut() {
                let data = o
                    .entry("data")
                    .or_insert_with(|| Value::Object(Default::default()));
                if !data.is_object() {
                    *data = Value::Object(Default::default());
                }
                if let Some(d) = data.as_object_mut() {
                    for (k, v) in additions {
                        d.insert(k.clone(), v.clone());
                    }
                }
            }
            base
        }
        _ => {
            let mut base = base
                .filter(Value::is_object)
                .unwrap_or(Value::Object(Default::default()));
            if let Some(o) = base.as_object_mut() {
                for (k, v) in additions {
                    o.insert(k.clone(), v.clone());
                }
            }
            base
        }
    }
}

/// Before and after views of what a merge adds, for the semantic diff.
pub(super) fn added_views(asset_type: &AssetType, additions: &[(String, Value)]) -> (Value, Value) {
    let empty = match asset_type {
        AssetType::Tags => Value::Array(Vec::new()),
        _ => Value::Object(Default::default()),
    };
    let after = apply_additions(asset_type, Some(empty.clone()), additions);
    (empty, after)
}

/// Properties that package assets the import writes use, and that neither the package nor
/// the target will define after the import: warnings (Workato reads such a property as empty
/// until someone adds it), each naming the asset, the key and the file to add it to.
pub(super) fn missing_properties(inputs: &Inputs<'_>, items: &[Item]) -> Vec<String> {
    let (pkg, target) = (inputs.pkg, inputs.target);
    let mut out = Vec::new();
    for item in items.iter().filter(|i| i.action.writes()) {
        for r in pkg.references_from(item.pkg) {
            let (crate::workspace::Target::Dangling(_), Some(name)) = (&r.to, &r.property) else {
                continue;
            };
            let (file, project) = match r.kind.as_str() {
                "account_property" => (target.index_of(PROPERTIES_PATH), false),
                "project_property" => (
                    crate::workspace::nearest_with(
                        &item.target,
                        crate::workspace::PROJECT_PROPERTIES_FILE,
                        |p| target.index_of(p),
                    ),
                    true,
                ),
                _ => continue,
            };
            let defined = file.is_some_and(|f| {
                target.assets[f].summary.keys.iter().any(|k| {
                    if project {
                        k == name.as_str()
                    } else {
                        asset::property_key(k) == asset::property_key(name)
                    }
                })
            });
            if defined {
                continue;
            }
            let noun = if project {
                "project property"
            } else {
                "account property"
            };
            let where_ = match file {
                Some(f) => format!("`{}`", target.assets[f].path),
                None if project => format!(
                    "a `{}` in its project folder",
                    crate::workspace::PROJECT_PROPERTIES_FILE
                ),
                None => format!("`{PROPERTIES_PATH}`"),
            };
            out.push(format!(
                "`{}` uses {noun} `{name}`, which neither the package nor the target defines; Workato reads it as empty until `{name}` is added to {where_}",
                item.target
            ));
        }
    }
    out
}

/// What the plan decides for one package asset.
pub(super) struct Decision {
    pub(super) action: Action,
    pub(super) detail: Option<String>,
    pub(super) reasons: Vec<String>,
    pub(super) warnings: Vec<String>,
    pub(super) blockers: Vec<Blocker>,
    pub(super) new_properties: Vec<(String, Value)>,
    pub(super) uses: Option<Vec<(StepKind, String)>>,
    /// What changes inside the asset, for an update.
    pub(super) changes: Option<Vec<crate::semdiff::Change>>,
    pub(super) text_diff: Option<String>,
}

/// The provider renames that concern asset `i`.
pub(super) fn provider_renames<'p>(
    a: &crate::workspace::Asset,
    providers: &'p BTreeMap<String, String>,
) -> Vec<(&'p str, &'p str)> {
    let mut own: Vec<&str> = a
        .summary
        .bindings
        .iter()
        .map(|b| b.provider.as_str())
        .chain(a.summary.uses.iter().map(|u| u.provider.as_str()))
        .collect();
    own.sort_unstable();
    own.dedup();
    own.into_iter()
        .filter_map(|p| providers.get_key_value(p))
        .filter(|(p, t)| p != t)
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect()
}

pub(super) fn decide(
    inputs: &Inputs<'_>,
    rw: &Rewriter<'_>,
    opts: &PlanOptions,
    connector_actions: &HashMap<usize, Action>,
    target_paths: &[String],
    hit: Option<usize>,
    i: usize,
) -> Result<Decision> {
    let pkg = inputs.pkg;
    let a = &pkg.assets[i];
    let tpath = &target_paths[i];
    let mut d = Decision {
        action: Action::NoChange,
        detail: None,
        reasons: Vec::new(),
        warnings: Vec::new(),
        blockers: Vec::new(),
        new_properties: Vec::new(),
        uses: None,
        changes: None,
        text_diff: None,
    };
    d.action = match a.asset_type {
        AssetType::CustomAdapter => connector_actions.get(&i).copied().unwrap_or(Action::NoChange),
        AssetType::Connection => match hit {
            Some(_) => Action::Keep,
            None => Action::Create,
        },
        AssetType::Properties | AssetType::ProjectProperties | AssetType::Tags => {
            decide_merged(inputs, hit, i, tpath, &mut d)?
        }
        _ => decide_content(inputs, rw, opts, hit, i, tpath, &mut d)?,
    };
    match d.action {
        Action::Conflict if !opts.force => d.blockers.push(Blocker {
            kind: crate::diag::Code::Conflict,
            path: tpath.clone(),
            message: format!(
                "`{tpath}` was changed in the target since the last import, and the package changes it too; merge by hand, or pass `--force` to overwrite (rollback keeps the old bytes)"
            ),
        }),
        Action::UpdateRunning if !opts.restart_recipes => d.blockers.push(Blocker {
            kind: crate::diag::Code::RunningRecipe,
            path: tpath.clone(),
            message: format!("`{tpath}` is running; pass `--restart-recipes` to stop it, update it and start it again"),
        }),
        _ => {}
    }
    Ok(d)
}

/// Turns the references of package asset `i` that resolve nowhere into blockers, or into
/// warnings where the import does not make them worse: the asset is left unchanged, or the
/// target's copy already dangles the same way. `--force` imports the rest too, with a warning.
#[allow(clippy::too_many_arguments)]
pub(super) fn unresolved_references(
    inputs: &Inputs<'_>,
    opts: &PlanOptions,
    d: &mut Decision,
    hit: Option<usize>,
    action: Action,
    unresolved: &[String],
    i: usize,
    tpath: &str,
) {
    let a = &inputs.pkg.assets[i];
    let dangles_in_target = |u: &str| {
        hit.is_some_and(|t| {
            inputs
                .target
                .references_from(t)
                .iter()
                .any(|r| matches!(&r.to, crate::workspace::Target::Dangling(z) if z == u))
        })
    };
    for u in unresolved {
        if action == Action::NoChange || dangles_in_target(u) {
            d.warnings.push(format!(
                "`{}` references `{u}`, which is in neither the package nor the target (it dangles there already; the import does not change that)",
                a.path
            ));
        } else if opts.force {
            d.warnings.push(format!(
                "`{}` references `{u}`, which is in neither the package nor the target; imported anyway (`--force`): the reference dangles",
                a.path
            ));
        } else {
            d.blockers.push(Blocker {
                kind: crate::diag::Code::UnresolvedReference,
                path: tpath.to_string(),
                message: format!(
                    "`{}` references `{u}`, which is neither in the package nor in the target; add it to the export (dependencies), create it in the target first, or pass `--force` to import with the reference dangling",
                    a.path
                ),
            });
        }
    }
}

/// A merged file (account or project properties, tags): what it adds to the target's copy.
fn decide_merged(
    inputs: &Inputs<'_>,
    hit: Option<usize>,
    i: usize,
    tpath: &str,
    d: &mut Decision,
) -> Result<Action> {
    let (pkg, target, env) = (inputs.pkg, inputs.target, inputs.env);
    let a = &pkg.assets[i];
    let pv = read_pkg_value(inputs.source, pkg, i)?;
    let tv = match hit {
        Some(t) => Some(crate::json::parse(
            tpath,
            &fsutil::read(&env.root.join(&target.assets[t].path))?,
        )?),
        None => None,
    };
    d.new_properties = merge_additions(&a.asset_type, &pv, tv.as_ref());
    let action = match (hit, d.new_properties.is_empty()) {
        (None, _) => Action::Create,
        (Some(_), true) => Action::NoChange,
        (Some(_), false) => {
            let (before, after) = added_views(&a.asset_type, &d.new_properties);
            d.changes = Some(crate::semdiff::diff_json(&before, &after));
            let noun = if a.asset_type == AssetType::Tags {
                "tag"
            } else {
                "key"
            };
            let added = format!(
                "adds {noun}{} {}",
                if d.new_properties.len() == 1 { "" } else { "s" },
                d.new_properties
                    .iter()
                    .map(|(k, _)| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            d.reasons = vec![added.clone()];
            d.detail = Some(added);
            Action::Update
        }
    };
    Ok(action)
}

/// Any other asset: its final value in the target, compared with what the target has.
fn decide_content(
    inputs: &Inputs<'_>,
    rw: &Rewriter<'_>,
    opts: &PlanOptions,
    hit: Option<usize>,
    i: usize,
    tpath: &str,
    d: &mut Decision,
) -> Result<Action> {
    let (pkg, target, env) = (inputs.pkg, inputs.target, inputs.env);
    let a = &pkg.assets[i];
    if a.asset_type == AssetType::Recipe {
        d.uses = Some(
            a.summary
                .uses
                .iter()
                .filter(|u| pkg.providers.contains_key(&u.provider))
                .map(|u| {
                    (
                        u.kind,
                        format!("{}\u{0}{}", rw.providers[u.provider.as_str()], u.name),
                    )
                })
                .collect(),
        );
    }
    // Fast path: the package's bytes equal the target's up to provider ids, every
    // provider of the package asset is renamed by this import, and the target asset
    // uses exactly the names they are renamed to.
    let same = match hit {
        Some(t) if a.asset_type != AssetType::LookupTable && rw.references_stay(i) => {
            let ta = &target.assets[t];
            if a.hash == ta.hash && provider_renames(a, rw.providers).is_empty() {
                true
            } else {
                let mine = crate::workspace::own_providers(&a.summary);
                let theirs = crate::workspace::own_providers(&ta.summary);
                a.canonical == ta.canonical
                    && mine.iter().all(|p| rw.providers.contains_key(*p))
                    && theirs.iter().all(|p| rw.target_providers.contains(p))
                    && mine.len() == theirs.len()
            }
        }
        _ => false,
    };
    Ok(if same {
        Action::NoChange
    } else {
        let f = final_value(inputs, rw, opts, i, hit)?;
        let action = match (hit, &f.current) {
            (Some(t), Some(current)) => {
                let tp = &target.assets[t].path;
                if *current == f.value {
                    Action::NoChange
                } else {
                    d.reasons = update_reasons(&f);
                    d.changes = Some(crate::semdiff::diff_asset(&a.asset_type, current, &f.value));
                    if opts.text_diff {
                        d.text_diff = Some(crate::semdiff::text_diff(tpath, current, &f.value));
                    }
                    if inputs.changed_in_target(tp, &env::asset_content_hash(&target.assets[t]))? {
                        d.detail = Some("changed in the target since the last import".into());
                        Action::Conflict
                    } else if a.asset_type == AssetType::Recipe && env.is_running(tp) {
                        Action::UpdateRunning
                    } else {
                        Action::Update
                    }
                }
            }
            _ => Action::Create,
        };
        unresolved_references(inputs, opts, d, hit, action, &f.log.unresolved, i, tpath);
        action
    })
}
