//! Phase 3a: rewriting a package asset for the target (provider names, references that would
//! land elsewhere), and its final value with the reasons it differs.

#[allow(unused_imports)]
use super::*;

/// What rewriting one asset for the target did.
#[derive(Debug, Default)]
pub(crate) struct RewriteLog {
    /// `zip_name`s that resolve neither in the package nor in the target.
    pub unresolved: Vec<String>,
    /// `zip_name`s rewritten: (as written, as rewritten).
    pub references: Vec<(String, String)>,
    /// Provider names renamed: (package's, target's).
    pub providers: Vec<(String, String)>,
}

/// Rewrites a package asset's JSON for the target: references to where their targets land,
/// provider names to the target's.
///
/// A reference that already resolves to the right asset where the referring asset lands (in the
/// target as it will be after the import) is left exactly as written: a project-relative
/// `zip_name` of a `workato pull` tree stays relative. Only one that would resolve elsewhere, or
/// nowhere, is rewritten, to the root-relative path of its target.
pub(crate) struct Rewriter<'a> {
    pkg: &'a Workspace,
    target: &'a Workspace,
    target_paths: &'a [String],
    pub(super) providers: &'a BTreeMap<String, String>,
    pub(super) target_providers: std::collections::HashSet<&'a str>,
    landing: std::collections::HashSet<&'a str>,
    folder: &'a Option<String>,
}

impl<'a> Rewriter<'a> {
    /// A rewriter from the package's paths and provider names to the target's.
    pub fn new(
        pkg: &'a Workspace,
        target: &'a Workspace,
        target_paths: &'a [String],
        providers: &'a BTreeMap<String, String>,
        folder: &'a Option<String>,
    ) -> Self {
        Rewriter {
            pkg,
            target,
            target_paths,
            providers,
            target_providers: providers.values().map(String::as_str).collect(),
            landing: target_paths.iter().map(String::as_str).collect(),
            folder,
        }
    }

    /// True when `path` is an asset of the target after the import.
    fn exists_after(&self, path: &str) -> bool {
        self.landing.contains(path) || self.target.index_of(path).is_some()
    }

    /// Where `zip_name`, written in the asset that lands at `from`, resolves after the import
    /// (the same rule as [`Workspace::resolve_path`]).
    fn resolve_after(&self, from: &str, zip_name: &str) -> Option<String> {
        crate::workspace::resolve_with(from, zip_name, |p| self.exists_after(p).then(|| p.to_string()))
    }

    /// Where a reference of package asset `i` must point in the target, and the target asset's
    /// name when it is one of the target's own (a kept connection).
    fn wanted(&self, i: usize, zip_name: &str) -> Option<(String, Option<String>)> {
        let from = &self.pkg.assets[i].path;
        let target_from = &self.target_paths[i];
        match self.pkg.resolve_path(from, zip_name) {
            Some(j) => Some((self.target_paths[j].clone(), None)),
            None => {
                let placed = place(self.folder, zip_name);
                self.target
                    .resolve_path(target_from, &placed)
                    .or_else(|| self.target.resolve_path(target_from, zip_name))
                    .map(|t| {
                        (
                            self.target.assets[t].path.clone(),
                            Some(self.target.assets[t].name.clone()),
                        )
                    })
            }
        }
    }

    /// True when rewriting package asset `i` changes no reference: each resolves, as written,
    /// to where its target lands.
    pub(super) fn references_stay(&self, i: usize) -> bool {
        let a = &self.pkg.assets[i];
        a.summary.refs.iter().all(|r| {
            self.pkg.resolve_path(&a.path, &r.zip_name).is_some_and(|j| {
                self.resolve_after(&self.target_paths[i], &r.zip_name).as_deref()
                    == Some(self.target_paths[j].as_str())
            })
        })
    }

    /// Rewrites `value` (the package asset `pkg_index`) in place.
    pub fn rewrite(&self, pkg_index: usize, value: &mut Value) -> RewriteLog {
        let mut log = RewriteLog::default();
        let a = &self.pkg.assets[pkg_index];
        // Only the asset's own provider names can appear in it (its steps, config, datapills):
        // the rename list stays short however many connectors the workspace has.
        let renames = provider_renames(a, self.providers);
        self.walk(value, pkg_index, &renames, &mut log);
        log.unresolved.sort();
        log.unresolved.dedup();
        log.references.sort();
        log.references.dedup();
        log.providers.sort();
        log.providers.dedup();
        log
    }

    fn walk(&self, v: &mut Value, i: usize, renames: &[(&str, &str)], log: &mut RewriteLog) {
        match v {
            Value::Object(map) => {
                if let Some(zip_name) = map.get("zip_name").and_then(Value::as_str).map(str::to_string) {
                    match self.wanted(i, &zip_name) {
                        Some((p, name)) => {
                            let stays = self.resolve_after(&self.target_paths[i], &zip_name).as_deref()
                                == Some(p.as_str());
                            if !stays {
                                rewrite_reference(map, &p, name);
                                log.references.push((zip_name, p));
                            }
                        }
                        None => log.unresolved.push(zip_name),
                    }
                }
                for (_, child) in map.iter_mut() {
                    self.walk(child, i, renames, log);
                }
                // Keys that name a provider (datapill paths) are renamed too.
                if map.keys().any(|k| renames.iter().any(|(p, _)| k.contains(p))) {
                    let old = std::mem::take(map);
                    for (mut k, v) in old {
                        for (p, t) in renames {
                            if k.contains(p) {
                                k = k.replace(p, t);
                                log.providers.push((p.to_string(), t.to_string()));
                            }
                        }
                        map.insert(k, v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|x| self.walk(x, i, renames, log)),
            Value::String(s) => {
                for (p, t) in renames {
                    if s.contains(p) {
                        *s = s.replace(p, t);
                        log.providers.push((p.to_string(), t.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Points a `{zip_name, name, folder, folder_full_path}` object at `path`.
pub(crate) fn rewrite_reference(map: &mut serde_json::Map<String, Value>, path: &str, name: Option<String>) {
    let folder = asset::folder_of(path).to_string();
    map.insert("zip_name".into(), Value::from(path));
    if map.contains_key("folder") {
        map.insert("folder".into(), Value::from(folder.clone()));
    }
    if map.contains_key("folder_full_path") {
        let full = if folder.is_empty() {
            "Home".to_string()
        } else {
            format!("Home/{folder}")
        };
        map.insert("folder_full_path".into(), Value::from(full));
    }
    if let Some(n) = name
        && map.contains_key("name")
    {
        map.insert("name".into(), Value::from(n));
    }
}

/// A package asset as it would be written in the target.
#[derive(Debug)]
pub(crate) struct Final {
    /// The rewritten (and, for a lookup table, merged) content.
    pub value: Value,
    /// What the rewrite did.
    pub log: RewriteLog,
    /// The JSON style to write it in: the target file's when it replaces one, else the
    /// package entry's (a file rlcm rewrites keeps its style).
    pub style: crate::json::Style,
    /// The target's current content, when the asset replaces one.
    pub current: Option<Value>,
    /// True when the package's content, before any rewrite, differs from the target's.
    pub content_changed: bool,
}

/// The final content of a package asset in the target (rewritten, merged for lookup tables).
pub(crate) fn final_value(
    inputs: &Inputs<'_>,
    rw: &Rewriter<'_>,
    opts: &PlanOptions,
    i: usize,
    existing: Option<usize>,
) -> Result<Final> {
    let path = &inputs.pkg.assets[i].path;
    let pkg_bytes = read_pkg_bytes(inputs.source, path)?;
    let mut v = crate::json::parse(path, &pkg_bytes)?;
    let (current, style) = match existing {
        Some(t) => {
            let tp = &inputs.target.assets[t].path;
            let bytes = fsutil::read(&inputs.env.root.join(tp))?;
            (
                Some(crate::json::parse(tp, &bytes)?),
                crate::json::Style::detect(&bytes),
            )
        }
        None => (None, crate::json::Style::detect(&pkg_bytes)),
    };
    let content_changed = current.as_ref() != Some(&v);
    let log = rw.rewrite(i, &mut v);
    if inputs.pkg.assets[i].asset_type == AssetType::LookupTable {
        let carried = v.get("data").is_some();
        let keep_target_data = !(carried && opts.overwrite_lookup_data);
        if let Some(tv) = current.as_ref().filter(|_| keep_target_data) {
            if let (Some(obj), Some(data)) = (v.as_object_mut(), tv.get("data")) {
                obj.insert("data".into(), data.clone());
            }
        } else if !carried && let Some(obj) = v.as_object_mut() {
            obj.insert("data".into(), Value::from(""));
        }
    }
    Ok(Final {
        value: v,
        log,
        style,
        current,
        content_changed,
    })
}

/// Why an asset is updated, in words: its content changed, and what the rewrite for the
/// target changed (provider names, references).
pub(super) fn update_reasons(f: &Final) -> Vec<String> {
    let mut reasons = Vec::new();
    if f.content_changed {
        reasons.push("content changed".to_string());
    }
    for (from, to) in &f.log.providers {
        reasons.push(format!("provider renamed from `{from}` to `{to}`"));
    }
    for (from, to) in &f.log.references {
        reasons.push(format!("reference `{from}` rewritten to `{to}`"));
    }
    if reasons.is_empty() {
        reasons.push("content changed".to_string());
    }
    reasons
}
