//! A loaded tree or package: every asset with its summary, and every reference resolved.
//!
//! Loading reads each file once, in parallel, keeping only summaries (names, references,
//! hashes, connector actions and triggers), so memory grows with the number of assets, not
//! with their size.

use crate::error::Subject;
use std::collections::BTreeMap;

// foldhash, not SipHash, for the maps `resolve` builds and probes per reference (never iterated).
use hashbrown::HashMap;

use rayon::prelude::*;

use crate::asset::{self, AssetSummary, AssetType, FileRole, StepKind};
use crate::error::{Error, Result};
use crate::istr::IStr;
use crate::ruby::{self, ConnectorDefinition};
use crate::slug;
use crate::source::{Entry, Source};

/// One asset of a workspace.
#[derive(Debug, Clone)]
pub struct Asset {
    /// Path of its JSON file relative to the root, `/`-separated.
    pub path: String,
    /// Its type.
    pub asset_type: AssetType,
    /// Its name (`name`, or `title` for a connector; the file stem when it has none).
    pub name: String,
    /// Size of its JSON file in bytes.
    pub size: u64,
    /// Modification time of its JSON file (ns since the epoch; 0 in zips).
    pub mtime: u64,
    /// blake3 of its JSON file, hex.
    pub hash: String,
    /// blake3 of its JSON file with its own custom connector provider names cut to their
    /// title prefix: equal for a recipe in two environments that differs only by provider ids.
    pub canonical: String,
    /// What it says.
    pub summary: AssetSummary,
    /// For a custom connector: its sibling files and definition.
    pub connector: Option<Box<ConnectorFiles>>,
}

/// What one file of an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The asset's JSON file.
    Json,
    /// A connector's `.custom_adapter.rb`.
    Code,
    /// A connector's logo.
    Logo,
}

/// One file of an asset, as read: path, size, modification time (ns) and blake3 hex.
#[derive(Debug, Clone, Copy)]
pub struct AssetFile<'a> {
    /// Which file.
    pub kind: FileKind,
    /// Its path.
    pub path: &'a str,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time (ns).
    pub mtime: u64,
    /// blake3 of its bytes, hex.
    pub hash: &'a str,
}

impl Asset {
    /// Every file of the asset: its JSON file, then (a connector) its code and logo when present.
    /// The one enumeration that verification and the summary cache both use.
    pub fn files(&self) -> impl Iterator<Item = AssetFile<'_>> {
        let json = AssetFile {
            kind: FileKind::Json,
            path: &self.path,
            size: self.size,
            mtime: self.mtime,
            hash: &self.hash,
        };
        let c = self.connector.as_deref();
        let code = c.and_then(|c| {
            Some(AssetFile {
                kind: FileKind::Code,
                path: c.code_path.as_deref()?,
                size: c.code_size,
                mtime: c.code_mtime,
                hash: c.code_hash.as_deref()?,
            })
        });
        let logo = c.and_then(|c| {
            Some(AssetFile {
                kind: FileKind::Logo,
                path: c.logo_path.as_deref()?,
                size: c.logo_size,
                mtime: c.logo_mtime,
                hash: c.logo_hash.as_deref()?,
            })
        });
        std::iter::once(json).chain(code).chain(logo)
    }
}

/// The files and definition of a custom connector.
#[derive(Debug, Clone, Default)]
pub struct ConnectorFiles {
    /// Path of the `.custom_adapter.rb`, if present.
    pub code_path: Option<String>,
    /// blake3 of the code, hex.
    pub code_hash: Option<String>,
    /// Size of the code in bytes.
    pub code_size: u64,
    /// Modification time of the code (ns).
    pub code_mtime: u64,
    /// Path of the logo, if present.
    pub logo_path: Option<String>,
    /// Size of the logo in bytes.
    pub logo_size: u64,
    /// Modification time of the logo (ns).
    pub logo_mtime: u64,
    /// blake3 of the logo, hex.
    pub logo_hash: Option<String>,
    /// Actions and triggers the code defines.
    pub definition: ConnectorDefinition,
}

/// Where a reference points.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// An asset of the workspace (index into [`Workspace::assets`]).
    Asset(usize),
    /// Nothing here: the path it names.
    Dangling(String),
}

/// A resolved reference between assets.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The referring asset (index).
    pub from: usize,
    /// What it points at.
    pub to: Target,
    /// How: the JSON key (`flow_id`, `account_id`, `provider`, `lookup_table_id`, ...),
    /// `provider_name` (recipe to custom connector), `account_property`, `project_property`
    /// or `tag`.
    pub kind: IStr,
    /// The property or tag named, for `account_property`, `project_property` and `tag`
    /// references.
    pub property: Option<IStr>,
    /// The provider name, for `provider_name` references.
    pub provider: Option<IStr>,
}

/// Asset indexes by path, hashing the paths held by the assets themselves.
#[derive(Default)]
struct PathIndex {
    table: hashbrown::HashTable<usize>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl std::fmt::Debug for PathIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PathIndex({} paths)", self.table.len())
    }
}

impl PathIndex {
    fn new(assets: &[Asset]) -> PathIndex {
        use std::hash::BuildHasher;
        let mut index = PathIndex::default();
        index.table.reserve(assets.len(), |_| 0);
        for (i, a) in assets.iter().enumerate() {
            let hash = index.hasher.hash_one(a.path.as_str());
            // Paths are unique (a source refuses duplicates); keep the first if not.
            if index.table.find(hash, |&j| assets[j].path == a.path).is_none() {
                index
                    .table
                    .insert_unique(hash, i, |&j| index.hasher.hash_one(assets[j].path.as_str()));
            }
        }
        index
    }

    fn get(&self, assets: &[Asset], path: &str) -> Option<usize> {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(path);
        self.table.find(hash, |&j| assets[j].path == path).copied()
    }
}

/// What attributes a provider name to a custom connector when no connection says so, and the
/// connector each asset runs on (see [`Workspace::connector_of_connection`]), found once.
struct Attribution<'a> {
    prefixes: &'a HashMap<String, Option<usize>>,
    ids: &'a HashMap<(u64, u64), Option<usize>>,
    connectors: &'a [Option<usize>],
}

/// Root-relative path lookups made by one resolving job, keyed by the interned name's address
/// ([`IStr::addr`]): a workspace's references name a few thousand paths hundreds of thousands
/// of times, and each lookup hashed the path and compared it with a cold asset's.
#[derive(Default)]
struct Lookups(hashbrown::HashMap<usize, Option<usize>>);

/// The reference kinds rlcm adds itself, interned once per resolve.
struct Kinds {
    provider_name: IStr,
    account_property: IStr,
    project_property: IStr,
    tag: IStr,
}

/// One asset's references, and the provider names it resolved to connectors.
type Resolved = (Vec<Reference>, Vec<(IStr, usize)>);

/// A file's `(path, size, blake3 hex)`.
pub(crate) type FileHash = (String, u64, String);

/// Everything read from one tree or package.
#[derive(Debug)]
pub struct Workspace {
    /// Assets sorted by path.
    pub assets: Vec<Asset>,
    /// Files that are not assets nor connector siblings.
    pub other_files: Vec<String>,
    /// Connector code or logos with no `.custom_adapter.json` beside them.
    pub orphan_files: Vec<String>,
    /// Resolved references, in asset order.
    pub references: Vec<Reference>,
    /// Provider name → connector asset index, for every provider name seen in recipes.
    pub providers: BTreeMap<IStr, usize>,
    /// Asset indexes by path: hashes of `assets[i].path`, so no path is stored twice.
    by_path: PathIndex,
    /// The paths looked up and not found since [`Workspace::record_misses`] (a part of a tree
    /// loaded for a plan from the production index: what it lacks, the plan asked for).
    misses: Option<std::sync::Mutex<Vec<String>>>,
    /// The asset files the load read and parsed (not found in the summary cache).
    parsed: usize,
}

enum Loaded {
    Asset(Box<Asset>),
    Code {
        json: String,
        path: String,
        size: u64,
        mtime: u64,
        hash: String,
        definition: ConnectorDefinition,
    },
    Logo {
        json: String,
        path: String,
        size: u64,
        mtime: u64,
        hash: String,
    },
    Other(String, Option<(u64, String)>),
}

impl Workspace {
    /// Writes the summary cache of this tree at `root` (best effort: a cache that cannot be
    /// written is simply not used next time).
    pub(crate) fn write_cache(&self, root: &std::path::Path) {
        let mut entries = Vec::with_capacity(self.assets.len() * 11 / 10);
        for a in &self.assets {
            for f in a.files() {
                let data = match f.kind {
                    FileKind::Json => crate::cache::CachedDataRef::Asset(&a.summary),
                    FileKind::Code => match a.connector.as_deref() {
                        Some(c) => crate::cache::CachedDataRef::Code((&c.definition).into()),
                        None => continue,
                    },
                    FileKind::Logo => crate::cache::CachedDataRef::Logo,
                };
                entries.push(crate::cache::CachedEntryRef {
                    path: f.path,
                    size: f.size,
                    mtime: f.mtime,
                    hash: f.hash,
                    // A connector's code and logo have no canonical form of their own.
                    canonical: if f.kind == FileKind::Json {
                        &a.canonical
                    } else {
                        f.hash
                    },
                    data,
                });
            }
        }
        crate::cache::write_entries(root, entries);
    }
}

impl Workspace {
    /// Reads every file of `source` and resolves references.
    pub fn load(source: &Source) -> Result<Workspace> {
        Self::load_with(source, crate::cache::SummaryCache::default())
    }

    /// Like [`Workspace::load`], taking what `cache` still knows instead of reading the file.
    pub(crate) fn load_with(source: &Source, cache: crate::cache::SummaryCache) -> Result<Workspace> {
        Self::load_inner(source, cache, false).map(|(ws, _)| ws)
    }

    /// Loads the tree at `root` through its summary cache (`.rlcm/cache`, read-only; none
    /// is fine): the tree walk and the cache decode overlap.
    pub fn load_tree_cached(root: &std::path::Path) -> Result<(Source, Workspace)> {
        let (source, cache) = rayon::join(|| Source::open(root), || crate::cache::SummaryCache::read(root));
        let source = source?;
        let ws = Self::load_with(&source, cache)?;
        Ok((source, ws))
    }

    /// Like [`Workspace::load`], also returning every file's `(path, size, blake3 hex)`, in
    /// path order: what `rlcm verify` computes, as a by-product of the one read of each file
    /// (planning a package inflates each entry once, not once to verify and once to load).
    pub fn load_hashed(source: &Source) -> Result<(Workspace, Vec<FileHash>)> {
        let (ws, others) = Self::load_inner(source, crate::cache::SummaryCache::default(), true)?;
        let mut files = others;
        for a in &ws.assets {
            files.extend(
                a.files()
                    .map(|f| (f.path.to_string(), f.size, f.hash.to_string())),
            );
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok((ws, files))
    }

    fn load_inner(
        source: &Source,
        cache: crate::cache::SummaryCache,
        hash_other: bool,
    ) -> Result<(Workspace, Vec<FileHash>)> {
        let mut cache = cache;
        let entries = source.entries();
        let threads = rayon::current_num_threads().max(1);
        let chunk = entries.len().div_ceil(threads).max(1);
        let progress = crate::progress::Progress::new(entries.len() as u64, "reading");
        // Entries and cache are both in path order: each chunk of entries walks its own part
        // of the cache forward.
        let cursors = cache.cursors(entries.chunks(chunk).map(|c| c[0].path.as_str()));
        let parsed = std::sync::atomic::AtomicUsize::new(0);
        let loaded: Vec<Result<Vec<Loaded>>> = entries
            .par_chunks(chunk)
            .zip(cursors)
            .map(|(part, mut cursor)| {
                let mut reader = source.reader()?;
                part.iter()
                    .map(|e| {
                        let r = load_entry(e, &mut reader, source, &mut cursor, hash_other, &parsed);
                        progress.inc(1);
                        r
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect();
        drop(progress);
        drop(cache);
        let mut assets = Vec::with_capacity(loaded.iter().map(|p| p.as_ref().map_or(0, Vec::len)).sum());
        let mut other_files = Vec::new();
        let mut hashed_others = Vec::new();
        let mut codes = Vec::new();
        let mut logos = Vec::new();
        for part in loaded {
            for item in part? {
                match item {
                    Loaded::Asset(a) => assets.push(*a),
                    Loaded::Other(p, hashed) => {
                        if let Some((size, hash)) = hashed {
                            hashed_others.push((p.clone(), size, hash));
                        }
                        other_files.push(p)
                    }
                    Loaded::Code { .. } => codes.push(item),
                    Loaded::Logo { .. } => logos.push(item),
                }
            }
        }
        assets.sort_by(|a, b| a.path.cmp(&b.path));
        let by_path = PathIndex::new(&assets);
        let mut orphan_files = Vec::new();
        for item in codes.into_iter().chain(logos) {
            match item {
                Loaded::Code {
                    json,
                    path,
                    size,
                    mtime,
                    hash,
                    definition,
                } => match by_path.get(&assets, &json) {
                    Some(i) => {
                        let c = assets[i].connector.get_or_insert_with(Default::default);
                        c.code_path = Some(path);
                        c.code_size = size;
                        c.code_mtime = mtime;
                        c.code_hash = Some(hash);
                        c.definition = definition;
                    }
                    None => orphan_files.push(path),
                },
                Loaded::Logo {
                    json,
                    path,
                    size,
                    mtime,
                    hash,
                } => match by_path.get(&assets, &json) {
                    Some(i) => {
                        let c = assets[i].connector.get_or_insert_with(Default::default);
                        c.logo_path = Some(path);
                        c.logo_size = size;
                        c.logo_mtime = mtime;
                        c.logo_hash = Some(hash);
                    }
                    None => orphan_files.push(path),
                },
                _ => {}
            }
        }
        for a in &mut assets {
            if a.asset_type == AssetType::CustomAdapter && a.connector.is_none() {
                a.connector = Some(Box::new(ConnectorFiles {
                    definition: ConnectorDefinition {
                        parse_error: Some("the connector has no `.custom_adapter.rb` beside it".into()),
                        ..Default::default()
                    },
                    ..Default::default()
                }));
            }
        }
        orphan_files.sort();
        other_files.sort();
        let mut ws = Workspace {
            assets,
            other_files,
            orphan_files,
            references: Vec::new(),
            providers: BTreeMap::new(),
            by_path,
            misses: None,
            parsed: parsed.into_inner(),
        };
        ws.resolve();
        Ok((ws, hashed_others))
    }

    /// The asset files the load read and parsed, not found in the summary cache.
    pub(crate) fn parsed_files(&self) -> usize {
        self.parsed
    }

    /// Finds an asset by path.
    pub fn get(&self, path: &str) -> Option<&Asset> {
        self.index_of(path).map(|i| &self.assets[i])
    }

    /// Finds an asset's index by path.
    pub fn index_of(&self, path: &str) -> Option<usize> {
        let hit = self.by_path.get(&self.assets, path);
        if hit.is_none()
            && let Some(log) = &self.misses
            && let Ok(mut log) = log.lock()
        {
            log.push(path.to_string());
        }
        hit
    }

    /// From now on, records every path looked up with [`Workspace::index_of`] (directly or to
    /// resolve a reference) and not found.
    pub(crate) fn record_misses(&mut self) {
        self.misses = Some(Default::default());
    }

    /// The paths recorded since [`Workspace::record_misses`], sorted, without repeats.
    pub(crate) fn take_misses(&self) -> Vec<String> {
        let mut v = self
            .misses
            .as_ref()
            .and_then(|m| m.lock().ok().map(|mut l| std::mem::take(&mut *l)))
            .unwrap_or_default();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Replaces the provider map (a part of a tree: the whole tree's, from the production
    /// index, with the connectors' indexes in this part).
    pub(crate) fn set_providers(&mut self, providers: BTreeMap<IStr, usize>) {
        self.providers = providers;
    }

    /// Resolves a user's asset argument: a path, or a connector title or slug, or an asset name
    /// when it is unique.
    pub fn find_asset(&self, query: &str) -> Result<usize> {
        let found = find_asset_by(
            query,
            |p| Ok::<_, std::convert::Infallible>(self.index_of(p)),
            |q| {
                Ok(self
                    .assets
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| {
                        a.asset_type == AssetType::CustomAdapter && (a.name == q || slug::slug(&a.name) == q)
                    })
                    .map(|(i, _)| i)
                    .collect())
            },
            |q| {
                Ok(self
                    .assets
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.name == q)
                    .map(|(i, _)| i)
                    .collect())
            },
            |i| Ok(self.assets[i].path.clone()),
        );
        match found {
            Ok(r) => r,
            Err(e) => match e {},
        }
    }

    /// Resolves a `zip_name` written in the asset at `from`: relative to the root first, then
    /// relative to each folder above the referring asset (project-by-project exports such as
    /// `workato pull` trees write references relative to their project folder).
    pub fn resolve_path(&self, from: &str, zip_name: &str) -> Option<usize> {
        resolve_with(from, zip_name, |p| self.index_of(p))
    }

    /// [`Workspace::resolve_path`] of an interned name, its root-relative lookup memoised.
    fn resolve_interned(&self, from: &str, zip_name: &IStr, memo: &mut Lookups) -> Option<usize> {
        let root = *memo
            .0
            .entry(zip_name.addr())
            .or_insert_with(|| self.index_of(zip_name));
        root.or_else(|| resolve_below(from, zip_name, |p| self.index_of(p)))
    }

    /// The connectors a provider name belongs to, by its `<prefix>_connector_...` form.
    fn connector_by_prefix(
        &self,
        prefixes: &HashMap<String, Option<usize>>,
        provider: &str,
    ) -> Option<usize> {
        let (prefix, _, _) = slug::parse_provider_name(provider)?;
        prefixes.get(prefix.trim_end_matches('_')).copied().flatten()
    }

    /// Connector provider prefixes (trailing `_` trimmed) → the connector, `None` when two
    /// connectors share a prefix.
    fn prefix_index(&self) -> HashMap<String, Option<usize>> {
        let mut index: HashMap<String, Option<usize>> = HashMap::new();
        for (i, a) in self
            .assets
            .iter()
            .enumerate()
            .filter(|(_, a)| a.asset_type == AssetType::CustomAdapter)
        {
            let key = slug::provider_prefix(&a.name).trim_end_matches('_').to_string();
            index.entry(key).and_modify(|e| *e = None).or_insert(Some(i));
        }
        index
    }

    /// The id part (`<env>_<created>` of `<prefix>_connector_<env>_<created>`) of every
    /// provider name a recipe binds to a connection that names its custom connector → that
    /// connector (`None` when the evidence names two). The id part stays when a connector is
    /// renamed, so another recipe's provider with the same id part but another prefix is the
    /// same connector.
    fn id_index(&self, connectors: &[Option<usize>]) -> HashMap<(u64, u64), Option<usize>> {
        let found: Vec<((u64, u64), usize)> = self
            .assets
            .par_iter()
            .with_min_len(256)
            .map_init(Lookups::default, |memo, a| {
                a.summary
                    .bindings
                    .iter()
                    .filter_map(|b| {
                        let (_, env, ts) = slug::parse_provider_name(&b.provider)?;
                        let c = self.resolve_interned(&a.path, b.connection.as_ref()?, memo)?;
                        Some(((env, ts), connectors[c]?))
                    })
                    .collect::<Vec<_>>()
            })
            .flat_map_iter(|found| found)
            .collect();
        let mut ids: HashMap<(u64, u64), Option<usize>> = HashMap::new();
        for (id, c) in found {
            ids.entry(id)
                .and_modify(|e| {
                    if *e != Some(c) {
                        *e = None;
                    }
                })
                .or_insert(Some(c));
        }
        ids
    }

    /// The account properties file that serves the asset at `from`.
    fn properties_for(&self, from: &str) -> Option<usize> {
        self.resolve_path(from, ACCOUNT_PROPERTIES_FILE)
    }

    /// The project properties file that serves the asset at `from`: the nearest enclosing
    /// folder's (a project's properties belong to the project the asset is in).
    fn project_properties_for(&self, from: &str) -> Option<usize> {
        nearest_with(from, PROJECT_PROPERTIES_FILE, |p| self.index_of(p))
    }

    /// The tags file that serves the asset at `from` (the nearest enclosing one).
    fn tags_for(&self, from: &str) -> Option<usize> {
        nearest_with(from, TAGS_FILE, |p| self.index_of(p))
    }

    /// Resolves every asset's references, on every core (each asset's are independent); the
    /// provider map keeps, for each name, the connector the first asset in path order found.
    fn resolve(&mut self) {
        let prefixes = self.prefix_index();
        let connectors: Vec<Option<usize>> = (0..self.assets.len())
            .into_par_iter()
            .with_min_len(1024)
            .map(|i| self.connector_of_connection(i))
            .collect();
        let ids = self.id_index(&connectors);
        let kinds = Kinds {
            provider_name: IStr::new("provider_name"),
            account_property: IStr::new("account_property"),
            project_property: IStr::new("project_property"),
            tag: IStr::new("tag"),
        };
        // Each properties file's keys and each tags file's titles, as matched (account
        // properties: spaces and underscores alike; the others exactly).
        let property_keys: HashMap<usize, hashbrown::HashSet<String>> = self
            .assets
            .iter()
            .enumerate()
            .filter_map(|(i, a)| match a.asset_type {
                AssetType::Properties => {
                    Some((i, a.summary.keys.iter().map(|k| asset::property_key(k)).collect()))
                }
                AssetType::ProjectProperties | AssetType::Tags => {
                    Some((i, a.summary.keys.iter().cloned().collect()))
                }
                _ => None,
            })
            .collect();
        let per_asset: Vec<Resolved> = (0..self.assets.len())
            .into_par_iter()
            .with_min_len(256)
            .map_init(Lookups::default, |memo, i| {
                self.resolve_one(
                    i,
                    memo,
                    &Attribution {
                        prefixes: &prefixes,
                        ids: &ids,
                        connectors: &connectors,
                    },
                    &kinds,
                    &property_keys,
                )
            })
            .collect();
        let mut references = Vec::with_capacity(per_asset.iter().map(|(r, _)| r.len()).sum());
        let mut providers = BTreeMap::new();
        for (refs, found) in per_asset {
            references.extend(refs);
            for (provider, target) in found {
                providers.entry(provider).or_insert(target);
            }
        }
        self.references = references;
        self.providers = providers;
    }

    /// The references of asset `i`, and the provider names it resolved to connectors.
    fn resolve_one(
        &self,
        i: usize,
        memo: &mut Lookups,
        by: &Attribution<'_>,
        kinds: &Kinds,
        property_keys: &HashMap<usize, hashbrown::HashSet<String>>,
    ) -> Resolved {
        let a = &self.assets[i];
        let mut references = Vec::new();
        let mut found = Vec::new();
        for r in &a.summary.refs {
            let to = match self.resolve_interned(&a.path, &r.zip_name, memo) {
                Some(t) => Target::Asset(t),
                None => Target::Dangling(r.zip_name.to_string()),
            };
            references.push(Reference {
                from: i,
                to,
                kind: r.key.clone(),
                property: None,
                provider: None,
            });
        }
        // recipe → custom connector, through the connection bound to its provider name
        // An asset names a few providers: a list is cheaper than a set.
        let mut seen: Vec<&IStr> = Vec::new();
        let custom_providers = a
            .summary
            .bindings
            .iter()
            .filter(|b| b.custom || slug::parse_provider_name(&b.provider).is_some())
            .map(|b| (&b.provider, b.connection.as_ref()))
            .chain(a.summary.uses.iter().map(|u| (&u.provider, None)));
        for (provider, connection) in custom_providers {
            if seen.contains(&provider) {
                continue;
            }
            seen.push(provider);
            let via_connection = connection
                .and_then(|c| self.resolve_interned(&a.path, c, memo))
                .and_then(|c| by.connectors[c]);
            let by_id = || {
                slug::parse_provider_name(provider)
                    .and_then(|(_, env, ts)| by.ids.get(&(env, ts)).copied().flatten())
            };
            let Some(target) = via_connection
                .or_else(by_id)
                .or_else(|| self.connector_by_prefix(by.prefixes, provider))
            else {
                continue;
            };
            found.push((provider.clone(), target));
            references.push(Reference {
                from: i,
                to: Target::Asset(target),
                kind: kinds.provider_name.clone(),
                property: None,
                provider: Some(provider.clone()),
            });
        }
        // The files that serve the asset, looked for only when it names something in them.
        let s = &a.summary;
        let named = [
            (
                &s.properties,
                &kinds.account_property,
                ACCOUNT_PROPERTIES_FILE,
                (!s.properties.is_empty())
                    .then(|| self.properties_for(&a.path))
                    .flatten(),
                true,
            ),
            (
                &s.project_properties,
                &kinds.project_property,
                PROJECT_PROPERTIES_FILE,
                (!s.project_properties.is_empty())
                    .then(|| self.project_properties_for(&a.path))
                    .flatten(),
                false,
            ),
            (
                &s.tags,
                &kinds.tag,
                TAGS_FILE,
                (!s.tags.is_empty()).then(|| self.tags_for(&a.path)).flatten(),
                false,
            ),
        ];
        for (names, kind, file_name, file, loose) in named {
            for name in names {
                let key = if loose {
                    asset::property_key(name)
                } else {
                    name.to_string()
                };
                let to = match file {
                    Some(f) if property_keys.get(&f).is_some_and(|keys| keys.contains(&key)) => {
                        Target::Asset(f)
                    }
                    // A tag no tags file defines is a plain label (real exports carry many):
                    // it travels on the asset as written, and nothing depends on it.
                    _ if *kind == kinds.tag => continue,
                    Some(f) => Target::Dangling(format!("{}#{name}", self.assets[f].path)),
                    None => Target::Dangling(format!("{file_name}#{name}")),
                };
                references.push(Reference {
                    from: i,
                    to,
                    kind: kind.clone(),
                    property: Some(name.clone()),
                    provider: None,
                });
            }
        }
        dedup_block(&mut references, 0);
        (references, found)
    }

    /// The connector a connection runs on, when it is a custom connector.
    pub(crate) fn connector_of_connection(&self, connection: usize) -> Option<usize> {
        let c = &self.assets[connection];
        let r = c.summary.refs.iter().find(|r| r.key == "provider")?;
        let t = self.resolve_path(&c.path, &r.zip_name)?;
        (self.assets[t].asset_type == AssetType::CustomAdapter).then_some(t)
    }

    /// The references of the asset at `from` (references are kept in asset order).
    pub fn references_from(&self, from: usize) -> &[Reference] {
        let start = self.references.partition_point(|r| r.from < from);
        let end = self.references.partition_point(|r| r.from <= from);
        &self.references[start..end]
    }

    /// Dangling references.
    pub fn dangling(&self) -> impl Iterator<Item = &Reference> {
        self.references
            .iter()
            .filter(|r| matches!(r.to, Target::Dangling(_)))
    }

    /// The recipes that use an action or trigger of the connector at `connector`, with what
    /// they use: `(recipe index, kind, name, step numbers)`.
    pub fn connector_uses(&self, connector: usize) -> Vec<(usize, StepKind, &str, &[u64])> {
        let mut out = Vec::new();
        for (i, a) in self.assets.iter().enumerate() {
            for u in &a.summary.uses {
                if self.providers.get(&u.provider) == Some(&connector) {
                    out.push((i, u.kind, u.name.as_str(), u.steps.as_slice()));
                }
            }
        }
        out
    }
}

/// [`Workspace::find_asset`] over any store: `index_of` finds a path, `connectors` the custom
/// connectors titled (or with a title whose slug is) the query, `named` the assets of that
/// name, each in path order; `path_of` names an asset for the message. The outer error is the
/// store's, the inner one the user's.
pub(crate) fn find_asset_by<E>(
    query: &str,
    index_of: impl Fn(&str) -> std::result::Result<Option<usize>, E>,
    connectors: impl Fn(&str) -> std::result::Result<Vec<usize>, E>,
    named: impl Fn(&str) -> std::result::Result<Vec<usize>, E>,
    path_of: impl Fn(usize) -> std::result::Result<String, E>,
) -> std::result::Result<Result<usize>, E> {
    let query_path = query.trim_start_matches("./");
    if let Some(i) = index_of(query_path)? {
        return Ok(Ok(i));
    }
    let mut hits = connectors(query)?;
    if hits.is_empty() {
        hits = named(query)?;
    }
    Ok(match hits.len() {
        1 => Ok(hits[0]),
        0 => Err(Error::NotFound {
            what: "asset",
            name: query.to_string(),
            within: None,
            hint: Some(
                "give its path relative to the root (see `rlcm inspect`), or a connector title".into(),
            ),
        }),
        _ => {
            let mut paths = Vec::with_capacity(hits.len());
            for &i in &hits {
                paths.push(path_of(i)?);
            }
            Err(Error::invalid(
                Subject::Asset(query.to_string()),
                format!("`{query}` names {} assets ({})", hits.len(), paths.join(", ")),
            )
            .hint("give the path instead"))
        }
    })
}

fn load_entry(
    entry: &Entry,
    reader: &mut crate::source::SourceReader,
    source: &Source,
    cache: &mut crate::cache::CacheCursor<'_>,
    hash_other: bool,
    parsed: &std::sync::atomic::AtomicUsize,
) -> Result<Loaded> {
    use crate::cache::CachedData;
    let in_package = |e: Error| {
        if source.is_zip() {
            e.in_package(source.display())
        } else {
            e
        }
    };
    let (cached_path, cached) = cache.take(&entry.path, entry.size, entry.mtime).unzip();
    // The cache's copy of the path, when it had one (saves a copy of every path).
    let path = || cached_path.unwrap_or_else(|| entry.path.clone());
    match asset::classify(&entry.path) {
        FileRole::Asset(asset_type) => {
            let (hash, canonical, summary) = match cached {
                Some(crate::cache::CachedEntry {
                    hash,
                    canonical,
                    data: CachedData::Asset(s),
                }) => (hash, canonical, s),
                _ => {
                    parsed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let bytes = reader.read(entry)?;
                    let hash = blake3::hash(&bytes).to_hex().to_string();
                    let summary = crate::extract::summarize_bytes(&entry.path, &asset_type, &bytes)
                        .map_err(in_package)?;
                    let canonical = canonical_hash(&bytes, &summary).unwrap_or_else(|| hash.clone());
                    (hash, canonical, summary)
                }
            };
            let name = summary.name.clone().unwrap_or_else(|| default_name(&entry.path));
            Ok(Loaded::Asset(Box::new(Asset {
                path: path(),
                asset_type,
                name,
                size: entry.size,
                mtime: entry.mtime,
                hash,
                canonical,
                summary,
                connector: None,
            })))
        }
        FileRole::ConnectorCode(json) => {
            let (hash, definition) = match cached {
                Some(crate::cache::CachedEntry {
                    hash,
                    data: CachedData::Code(d),
                    ..
                }) => (hash, d.into()),
                _ => {
                    let bytes = reader.read(entry)?;
                    (
                        blake3::hash(&bytes).to_hex().to_string(),
                        ruby::parse_connector(&bytes),
                    )
                }
            };
            Ok(Loaded::Code {
                json,
                path: path(),
                size: entry.size,
                mtime: entry.mtime,
                hash,
                definition,
            })
        }
        FileRole::ConnectorLogo(json) => {
            let hash = match cached {
                Some(crate::cache::CachedEntry {
                    hash,
                    data: CachedData::Logo,
                    ..
                }) => hash,
                _ => blake3::hash(&reader.read(entry)?).to_hex().to_string(),
            };
            Ok(Loaded::Logo {
                json,
                path: path(),
                size: entry.size,
                mtime: entry.mtime,
                hash,
            })
        }
        FileRole::Other => {
            let hashed = if hash_other {
                let bytes = reader.read(entry)?;
                Some((bytes.len() as u64, blake3::hash(&bytes).to_hex().to_string()))
            } else {
                None
            };
            Ok(Loaded::Other(path(), hashed))
        }
    }
}

/// Keeps one reference per (to, kind, property) among `references[start..]` (one asset's), the
/// first of each: a recipe calling the same function from three steps depends on it once.
/// A small block (most are) is checked pair by pair; a large one sorts indices, so this stays
/// O(k log k) however many references one asset has. Kept in place (no copy of the block).
fn dedup_block(references: &mut Vec<Reference>, start: usize) {
    let block = &references[start..];
    if block.len() < 2 {
        return;
    }
    fn key(r: &Reference) -> (&Target, &IStr, &Option<IStr>) {
        (&r.to, &r.kind, &r.property)
    }
    let keep: Vec<bool> = if block.len() <= 32 {
        (0..block.len())
            .map(|j| !block[..j].iter().any(|r| key(r) == key(&block[j])))
            .collect()
    } else {
        let mut order: Vec<usize> = (0..block.len()).collect();
        order.sort_by(|&x, &y| key(&block[x]).cmp(&key(&block[y])).then(x.cmp(&y)));
        let mut keep = vec![true; block.len()];
        for w in order.windows(2) {
            if key(&block[w[0]]) == key(&block[w[1]]) {
                keep[w[1]] = false;
            }
        }
        keep
    };
    let mut at = 0;
    references.retain(|_| {
        let k = at < start || keep.get(at - start).copied().unwrap_or(true);
        at += 1;
        k
    });
}

/// The custom connector provider names an asset uses itself (config bindings and steps).
pub(crate) fn own_providers(summary: &AssetSummary) -> Vec<&str> {
    let mut out: Vec<&str> = summary
        .bindings
        .iter()
        .filter(|b| b.custom || slug::parse_provider_name(&b.provider).is_some())
        .map(|b| b.provider.as_str())
        .chain(summary.uses.iter().map(|u| u.provider.as_str()))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The hash of `bytes` with each of the asset's own provider names cut to
/// `<prefix>_connector_`; `None` when it has none (the canonical hash is then the hash).
///
/// Occurrences are found first (leftmost, non-overlapping, longest name first at one spot)
/// and replaced in one pass.
fn canonical_hash(bytes: &[u8], summary: &AssetSummary) -> Option<String> {
    let providers = own_providers(summary);
    if providers.is_empty() {
        return None;
    }
    let mut cuts: Vec<(usize, usize, String)> = Vec::new();
    for p in providers {
        let Some((prefix, _, _)) = slug::parse_provider_name(p) else {
            continue;
        };
        let replacement = format!("{prefix}_connector_");
        for at in memchr::memmem::find_iter(bytes, p.as_bytes()) {
            cuts.push((at, p.len(), replacement.clone()));
        }
    }
    cuts.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    // One copy with every cut made, hashed in one call (blake3 hashes a whole buffer several
    // chunks at a time; many small updates are much slower).
    let mut text = Vec::with_capacity(bytes.len());
    let mut done = 0;
    for (at, len, replacement) in &cuts {
        if *at < done {
            continue;
        }
        text.extend_from_slice(&bytes[done..*at]);
        text.extend_from_slice(replacement.as_bytes());
        done = at + len;
    }
    text.extend_from_slice(&bytes[done..]);
    Some(blake3::hash(&text).to_hex().to_string())
}

/// The name of an asset that has none: its slug (file name without `.<type>.json`).
fn default_name(path: &str) -> String {
    let file = asset::file_name(path);
    let stem = file.strip_suffix(".json").unwrap_or(file);
    stem.rsplit_once('.').map_or(stem, |(s, _)| s).to_string()
}

/// The account properties file (one per workspace, at the root).
pub(crate) const ACCOUNT_PROPERTIES_FILE: &str = "account_properties.properties.json";
/// A project's properties file (in the project's folder).
pub(crate) const PROJECT_PROPERTIES_FILE: &str = "properties.project_properties.json";
/// The workspace's tag definitions (at the root).
pub(crate) const TAGS_FILE: &str = "tags.json";

/// Finds the file named `file_name` nearest to the asset at `from`: in its own folder, then
/// in each folder above, the root last.
pub(crate) fn nearest_with<T>(from: &str, file_name: &str, lookup: impl Fn(&str) -> Option<T>) -> Option<T> {
    let mut folder = asset::folder_of(from);
    loop {
        let hit = if folder.is_empty() {
            lookup(file_name)
        } else {
            lookup(&format!("{folder}/{file_name}"))
        };
        if hit.is_some() || folder.is_empty() {
            return hit;
        }
        folder = asset::folder_of(folder);
    }
}

/// Resolves a `zip_name` written in the asset at `from` with `lookup`: the path as written
/// first, then relative to each folder above `from`, nearest first.
pub(crate) fn resolve_with<T>(from: &str, zip_name: &str, lookup: impl Fn(&str) -> Option<T>) -> Option<T> {
    lookup(zip_name).or_else(|| resolve_below(from, zip_name, lookup))
}

/// [`resolve_with`] past the root: relative to each folder above `from`, nearest first.
fn resolve_below<T>(from: &str, zip_name: &str, lookup: impl Fn(&str) -> Option<T>) -> Option<T> {
    let mut folder = asset::folder_of(from);
    while !folder.is_empty() {
        if let Some(hit) = lookup(&format!("{folder}/{zip_name}")) {
            return Some(hit);
        }
        folder = asset::folder_of(folder);
    }
    None
}

/// A warning about a tree as a whole: something that reads fine but will surprise a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TreeWarning {
    /// [`crate::diag::Code::CaseTwins`], `ProviderAliases` or `UnattributedProvider`.
    pub code: crate::diag::Code,
    /// The file, folder or asset concerned.
    pub path: String,
    /// What it is and what to do.
    pub message: String,
}

impl Workspace {
    /// Every `(asset path, provider name)` where an asset uses a provider name that looks like
    /// a custom connector's (`<prefix>_connector_<env>_<created>`) but is attributed to none
    /// (no connection names its connector, no other provider with its id part does, no
    /// connector title has its prefix): rlcm cannot tell which connector such a step runs on.
    pub(crate) fn unattributed_providers(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        for a in &self.assets {
            let mut mine: Vec<&str> = a
                .summary
                .bindings
                .iter()
                .map(|b| b.provider.as_str())
                .chain(a.summary.uses.iter().map(|u| u.provider.as_str()))
                .filter(|p| slug::parse_provider_name(p).is_some() && !self.providers.contains_key(*p))
                .collect();
            mine.sort_unstable();
            mine.dedup();
            out.extend(mine.into_iter().map(|p| (a.path.as_str(), p)));
        }
        out
    }

    /// Warnings about the tree as a whole (shared by `init`, `check` and `inspect`):
    /// - files or folders whose names differ only in case (Workato keeps them apart; a
    ///   case-insensitive file system cannot hold both);
    /// - one custom connector used under two or more provider names;
    /// - provider names that look like a custom connector's but match none.
    pub(crate) fn tree_warnings(&self) -> Vec<TreeWarning> {
        let mut out = Vec::new();
        for group in crate::fsutil::case_twins(self.assets.iter().map(|a| a.path.as_str())) {
            out.push(TreeWarning {
                code: crate::diag::Code::CaseTwins,
                path: group[0].clone(),
                message: format!(
                    "{} differ only in case: Workato keeps them apart and so does rlcm, but a case-insensitive file system (macOS, Windows) cannot hold both; work with this tree on a case-sensitive one",
                    group.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" and ")
                ),
            });
        }
        let mut by_connector: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for (p, &c) in &self.providers {
            by_connector.entry(c).or_default().push(p.as_str());
        }
        for (c, names) in by_connector.into_iter().filter(|(_, n)| n.len() > 1) {
            out.push(TreeWarning {
                code: crate::diag::Code::ProviderAliases,
                path: self.assets[c].path.clone(),
                message: format!(
                    "connector `{}` is used under {} provider names ({}); rlcm keeps each recipe's as it is, and gives new recipes the one `.rlcm` records",
                    self.assets[c].name,
                    names.len(),
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let mut unattributed: BTreeMap<&str, &str> = BTreeMap::new();
        for (path, p) in self.unattributed_providers() {
            unattributed.entry(p).or_insert(path);
        }
        for (p, first) in unattributed {
            out.push(TreeWarning {
                code: crate::diag::Code::UnattributedProvider,
                path: first.to_string(),
                message: format!(
                    "`{first}` uses provider `{p}`, which looks like a custom connector's but matches none here (no connection with `custom: true` names its connector, no attributed provider shares its id part, and no connector title has its prefix); rlcm cannot tell whether a connector release breaks it"
                ),
            });
        }
        out
    }
}

impl Workspace {
    /// A dangling reference in words: a missing key of a properties file that exists is named as
    /// such (not as a missing file).
    pub(crate) fn describe_dangling(&self, from: &str, to: &str, kind: &str) -> String {
        if let Some((file, key)) = to.rsplit_once('#')
            && matches!(kind, "account_property" | "project_property" | "tag")
        {
            let defined = self.index_of(file).is_some();
            return match (kind, defined) {
                ("tag", true) => format!(
                    "`{from}` carries tag `{key}`, which `{file}` does not define; add the tag to `{file}` or remove it from the asset"
                ),
                ("tag", false) => format!(
                    "`{from}` carries tag `{key}`, but there is no `{file}` defining tags; add it or remove the tag from the asset"
                ),
                ("project_property", true) => format!(
                    "`{from}` uses project property `{key}`, which `{file}` does not define; add the key to the project's `{file}` or fix the recipe"
                ),
                ("project_property", false) => format!(
                    "`{from}` uses project property `{key}`, but its project has no `{file}`; add one that defines `{key}` or fix the recipe"
                ),
                (_, true) => format!(
                    "`{from}` uses property `{key}`, which `{file}` does not define; add the key to `{file}` or fix the recipe"
                ),
                (_, false) => format!(
                    "`{from}` uses property `{key}`, but there is no `{file}`; add one that defines `{key}` or fix the recipe"
                ),
            };
        }
        format!("`{from}` references `{to}` ({kind}), which is not in this tree; add it or fix the reference")
    }
}

#[cfg(test)]
mod tree_tests {
    use crate::fsutil::case_twins;

    #[test]
    fn case_twins_are_found_for_files_and_folders() {
        let paths = [
            "recipes/a.recipe.json",
            "Recipes/b.recipe.json",
            "x.recipe.json",
            "X.recipe.json",
            "y/z.json",
        ];
        let groups = case_twins(paths.into_iter());
        assert_eq!(
            groups,
            vec![
                vec!["Recipes".to_string(), "recipes".to_string()],
                vec!["X.recipe.json".to_string(), "x.recipe.json".to_string()],
            ]
        );
    }
}

#[cfg(test)]
mod dedup_tests {
    use super::{IStr, Reference, Target, dedup_block};

    #[test]
    fn the_first_of_each_reference_is_kept_in_small_and_large_blocks() {
        let kinds = [IStr::new("flow_id"), IStr::new("account_id")];
        for n in [0usize, 1, 5, 32, 33, 200] {
            let make = |i: usize| Reference {
                from: 0,
                to: if i % 7 == 3 {
                    Target::Dangling(format!("d{}", i % 2))
                } else {
                    Target::Asset(i % 5)
                },
                kind: kinds[i % 2].clone(),
                property: i.is_multiple_of(3).then(|| IStr::new("p")),
                provider: None,
            };
            let mut refs: Vec<Reference> = (0..n).map(make).collect();
            // What is kept: each reference whose key no earlier one has, in order.
            let mut want: Vec<usize> = Vec::new();
            for i in 0..n {
                let (a, b) = (make(i), &refs);
                if !want
                    .iter()
                    .any(|&j| (&b[j].to, &b[j].kind, &b[j].property) == (&a.to, &a.kind, &a.property))
                {
                    want.push(i);
                }
            }
            let want: Vec<(Target, IStr)> = want
                .iter()
                .map(|&i| (refs[i].to.clone(), refs[i].kind.clone()))
                .collect();
            // A prefix before `start` is left alone.
            refs.insert(0, make(0));
            dedup_block(&mut refs, 1);
            let got: Vec<(Target, IStr)> = refs[1..].iter().map(|r| (r.to.clone(), r.kind.clone())).collect();
            assert_eq!(got, want, "n = {n}");
            assert_eq!(refs[0].to, make(0).to);
        }
    }
}
