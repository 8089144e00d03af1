//! A plan from the production index: only the part of the target that the package touches is
//! read (parsed and summarised from its files), the rest is answered by the index: which
//! assets exist (path lookups), which share a package asset's name, the connectors, the
//! provider names, what depends on the changed assets, and the digest of the whole tree.
//!
//! The part is found by a fixpoint: the first round loads the assets the package's own paths
//! and names point at (where each asset lands, every target asset of the same name — so every
//! connector of a package connector's title —, where the references the package cannot resolve
//! itself resolve in the target, the properties and tags files); the plan is made on it while
//! every path looked up and not found is recorded ([`Workspace::record_misses`]); the misses
//! that the index has are added and the plan made again, until a round misses nothing the
//! tree has. Every
//! lookup of the plan goes through a path or a name, so the last round's plan is the plan of
//! the whole tree (`tests/it/plan_index.rs` compares the two on every shipped package).

use super::*;
use crate::index::Index;
use crate::istr::IStr;

/// At most this many rounds (a plan needs one, sometimes two); then the caller loads the tree.
const MAX_ROUNDS: usize = 6;

/// The target paths the first round loads.
fn seeds(pkg: &Workspace, opts: &PlanOptions, idx: &Index) -> Result<BTreeSet<String>> {
    let e = index_error;
    let mut want = BTreeSet::new();
    let have = |p: &str, want: &mut BTreeSet<String>| -> Result<()> {
        if idx.index_of(p).map_err(e)?.is_some() {
            want.insert(p.to_string());
        }
        Ok(())
    };
    for a in &pkg.assets {
        let placed = place(&opts.folder, &a.path);
        have(&placed, &mut want)?;
        // The target assets its references resolve to when the package lacks them (as the
        // rewriter looks for them from where the asset lands): found here, the plan is made
        // once instead of twice.
        for r in &a.summary.refs {
            if pkg.resolve_path(&a.path, &r.zip_name).is_some() {
                continue;
            }
            for name in [place(&opts.folder, &r.zip_name), r.zip_name.to_string()] {
                let hit = crate::workspace::resolve_with(&placed, &name, |p| {
                    idx.index_of(p).ok().flatten().map(|_| p.to_string())
                });
                if let Some(p) = hit {
                    want.insert(p);
                }
            }
        }
        for id in idx.named(&a.name).map_err(e)? {
            want.insert(idx.row(id).map_err(e)?.path);
        }
    }
    have(PROPERTIES_PATH, &mut want)?;
    have(TAGS_PATH, &mut want)?;
    Ok(want)
}

/// Loads the target assets at `paths` and gives them the whole tree's provider map.
fn load_part(root: &std::path::Path, paths: &BTreeSet<String>, idx: &Index) -> Result<Option<Workspace>> {
    let paths: Vec<String> = paths.iter().cloned().collect();
    let source = Source::dir_files(root, &paths)?;
    let mut ws = Workspace::load(&source)?;
    let mut providers = BTreeMap::new();
    let connectors: BTreeMap<&str, usize> = ws
        .assets
        .iter()
        .enumerate()
        .filter(|(_, a)| a.asset_type == AssetType::CustomAdapter)
        .map(|(i, a)| (a.path.as_str(), i))
        .collect();
    let mut rows: HashMap<usize, Option<usize>> = HashMap::new();
    for (p, c) in idx.providers().map_err(index_error)? {
        // Only the part's connectors: the plan asks the provider map about the connectors the
        // package's match (its own uses of the others' providers are never renamed nor
        // compared with an incoming version).
        let i = match rows.get(&c) {
            Some(i) => *i,
            None => {
                let path = idx.row(c).map_err(index_error)?.path;
                let i = connectors.get(path.as_str()).copied();
                rows.insert(c, i);
                i
            }
        };
        if let Some(i) = i {
            providers.insert(IStr::new(&p), i);
        }
    }
    ws.set_providers(providers);
    ws.record_misses();
    Ok(Some(ws))
}

/// Plans `pkg` into `env` from its valid production index `idx`; `None` when the part did not
/// settle (the caller then plans from the whole tree). Returns the plan and the part read.
pub(crate) fn plan_from_index(
    source: &Source,
    pkg: &Workspace,
    package_digest: &str,
    env: &Environment,
    idx: &Index,
    opts: &PlanOptions,
) -> Result<Option<(Plan, Workspace)>> {
    // The target digest must be the whole tree's.
    if idx.assets_digest().is_err() {
        return Ok(None);
    }
    let mut want = seeds(pkg, opts, idx)?;
    for _ in 0..MAX_ROUNDS {
        let Some(part) = load_part(&env.root, &want, idx)? else {
            return Ok(None);
        };
        let made = plan(
            &Inputs {
                source,
                pkg,
                package_digest: package_digest.to_string(),
                env,
                target: &part,
                index: Some(idx),
            },
            opts,
        )?;
        let mut grew = false;
        for p in part.take_misses() {
            if !want.contains(&p) && idx.index_of(&p).map_err(index_error)?.is_some() {
                want.insert(p);
                grew = true;
            }
        }
        if !grew {
            return Ok(Some((made, part)));
        }
    }
    Ok(None)
}
