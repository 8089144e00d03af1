//! `rlcm export`: the manifest builder. Selects assets, pulls in everything they need, bundles
//! each custom connector's **latest released** version with its note, strips secrets, and
//! writes a deterministic, verified package.

use crate::error::Subject;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::asset::AssetType;
use crate::connector::code_path_of;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::graph::DepGraph;
use crate::package::{
    self, FileSource, PackageAsset, PackageConnector, PackageFile, PackageMeta, PackageSource, WriteOptions,
};
use crate::report::FORMAT_VERSION;
use crate::secrets::{StrippedSecret, is_secret_key, strip_connection};
use crate::workspace::{Target, Workspace};

/// An export manifest (YAML or JSON; `schemas/export-manifest.schema.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportManifest {
    /// A name for the release (recorded in the package).
    #[serde(default)]
    pub name: Option<String>,
    /// Folders whose assets are selected, recursively (`""` selects everything).
    #[serde(default)]
    pub folders: Vec<String>,
    /// Asset paths selected one by one (recipes, or any other asset).
    #[serde(default)]
    pub recipes: Vec<String>,
    /// Globs of asset paths taken out of the selection (`orders/experimental/**`).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Pull in everything the selection needs (default true).
    #[serde(default = "yes")]
    pub dependencies: bool,
    /// Carry lookup tables' rows (default false: tables travel without their `data`).
    #[serde(default)]
    pub include_lookup_table_data: bool,
}

fn yes() -> bool {
    true
}

impl ExportManifest {
    /// Reads a manifest file: JSON when it looks like JSON, else YAML.
    pub fn read(path: &Path) -> Result<(ExportManifest, Value)> {
        let bytes = fsutil::read(path)?;
        let origin = path.display().to_string();
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::Manifest {
            path: origin.clone(),
            message: "is not UTF-8 text".into(),
        })?;
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        let value: Value = if trimmed.starts_with('{') {
            serde_json::from_str(trimmed).map_err(|e| Error::Manifest {
                path: origin.clone(),
                message: e.to_string(),
            })?
        } else {
            serde_norway::from_str(trimmed).map_err(|e| Error::Manifest {
                path: origin.clone(),
                message: e.to_string(),
            })?
        };
        let value = if value.is_null() {
            Value::Object(Default::default())
        } else {
            value
        };
        let manifest: ExportManifest =
            serde_json::from_value(value.clone()).map_err(|e| Error::Manifest {
                path: origin,
                message: format!(
                    "{e} (fields: name, folders, recipes, exclude, dependencies, include_lookup_table_data)"
                ),
            })?;
        Ok((manifest, value))
    }
}

/// How to export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// What to select.
    pub manifest: ExportManifest,
    /// The manifest as given (recorded in `rlcm-package.json`).
    pub manifest_value: Value,
    /// Export account property values (secret-looking ones are still removed).
    pub include_property_values: bool,
    /// Dangling references are errors.
    pub strict: bool,
    /// Leave `rlcm-package.json` out.
    pub workato_strict: bool,
    /// Zip timestamp (`SOURCE_DATE_EPOCH`).
    pub source_date_epoch: Option<i64>,
}

/// `rlcm export` report.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExportReport {
    /// Always 1.
    pub format_version: u32,
    /// The package written.
    pub package: String,
    /// Its root digest (`null` with `--workato-strict`).
    pub digest: Option<String>,
    /// Every asset included, with why.
    pub assets: Vec<ExportAsset>,
    /// Connectors and the version carried.
    pub connectors: Vec<ExportConnector>,
    /// Dangling references, excluded dependencies, ...
    pub warnings: Vec<String>,
    /// Secret-looking fields removed (paths and field names only, never values).
    pub secrets_stripped: Vec<StrippedSecret>,
    /// Size of the zip in bytes.
    pub bytes: u64,
}

/// An exported asset.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExportAsset {
    /// Path in the package.
    pub path: String,
    /// Asset type.
    #[serde(rename = "type")]
    pub asset_type: String,
    /// `selected`, or the path of the selected asset that pulled it in.
    pub included_because: String,
}

/// A connector in a package.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExportConnector {
    /// Title.
    pub title: String,
    /// The version carried: the latest released one.
    pub version: u64,
    /// Its note.
    pub note: Option<String>,
}

/// The selected assets (indices) and why, in selection order.
fn select(ws: &Workspace, m: &ExportManifest) -> Result<Vec<usize>> {
    let mut builder = globset::GlobSetBuilder::new();
    for g in &m.exclude {
        builder.add(
            globset::Glob::new(g)
                .map_err(|e| Error::invalid(Subject::Arguments, format!("exclude pattern `{g}`: {e}")))?,
        );
    }
    let exclude = builder
        .build()
        .map_err(|e| Error::invalid(Subject::Arguments, format!("exclude patterns: {e}")))?;
    let mut selected = BTreeSet::new();
    for f in &m.folders {
        let folder = f.trim_matches('/');
        let prefix = format!("{folder}/");
        let hits: Vec<usize> = ws
            .assets
            .iter()
            .enumerate()
            .filter(|(_, a)| folder.is_empty() || a.path.starts_with(&prefix))
            .map(|(i, _)| i)
            .collect();
        // `""` is the whole environment, even an empty one.
        if hits.is_empty() && !folder.is_empty() {
            return Err(Error::NotFound {
                what: "folder",
                name: f.clone(),
                within: None,
                hint: Some("folders are paths relative to the environment root (see `rlcm inspect`)".into()),
            });
        }
        selected.extend(hits);
    }
    for r in &m.recipes {
        let i = ws
            .index_of(r.trim_start_matches("./"))
            .ok_or_else(|| Error::NotFound {
                what: "asset",
                name: r.clone(),
                within: None,
                hint: Some("give its path relative to the environment root (see `rlcm inspect`)".into()),
            })?;
        selected.insert(i);
    }
    selected.retain(|&i| !exclude.is_match(&ws.assets[i].path));
    let whole = m.folders.iter().any(|f| f.trim_matches('/').is_empty());
    if selected.is_empty() && !whole {
        return Err(Error::invalid(
            Subject::Arguments,
            "the selection is empty: name folders or recipes (`--folder`, `--recipe`, or a manifest)",
        ));
    }
    Ok(selected.into_iter().collect())
}

/// What goes into a package, before it is written.
#[derive(Debug)]
pub struct Built {
    /// The files.
    pub files: Vec<PackageFile>,
    /// `rlcm-package.json` content.
    pub meta: PackageMeta,
    /// The report, without package path, digest and size.
    pub report: ExportReport,
}

/// Builds the package content from an environment.
pub fn build(env: &Environment, ws: &Workspace, opts: &ExportOptions) -> Result<Built> {
    let m = &opts.manifest;
    let selected = select(ws, m)?;
    let graph = DepGraph::build(ws);
    let mut because: BTreeMap<usize, String> =
        selected.iter().map(|&i| (i, "selected".to_string())).collect();
    if m.dependencies {
        for (dep, root) in graph.closure(&selected) {
            because.entry(dep).or_insert_with(|| ws.assets[root].path.clone());
        }
    }
    let mut warnings = Vec::new();
    let property_keys = check_references(ws, &because, opts.strict, &mut warnings)?;
    let mut packer = Packer {
        env,
        ws,
        opts,
        graph: &graph,
        because: &because,
        selected: selected.iter().copied().collect(),
        property_keys,
        files: Vec::new(),
        assets: Vec::new(),
        connectors: Vec::new(),
        report_connectors: Vec::new(),
        secrets: Vec::new(),
        report_assets: Vec::new(),
    };
    for (&i, why) in &because {
        packer.add(i, why)?;
    }
    let Packer {
        mut files,
        assets,
        connectors,
        report_connectors,
        secrets,
        report_assets,
        ..
    } = packer;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Built {
        files,
        meta: PackageMeta {
            source: Some(package_source(env)),
            manifest: package::sort_keys(opts.manifest_value.clone()),
            assets,
            connectors,
        },
        report: ExportReport {
            format_version: FORMAT_VERSION,
            package: String::new(),
            digest: None,
            assets: report_assets,
            connectors: report_connectors,
            warnings,
            secrets_stripped: secrets,
            bytes: 0,
        },
    })
}

/// The package's `source`: the environment's name and id, or the folder's name.
fn package_source(env: &Environment) -> PackageSource {
    match env.state.as_ref() {
        Some(s) => PackageSource {
            name: s.info.name.clone(),
            id: Some(s.info.id),
        },
        None => PackageSource {
            name: env
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            id: None,
        },
    }
}

/// The references of the included assets: a dangling one is a warning (an error with
/// `strict`), one to an asset left out (dependencies off) a warning. Returns the property keys
/// (and tags) the included assets use, by the file that defines them.
fn check_references(
    ws: &Workspace,
    because: &BTreeMap<usize, String>,
    strict: bool,
    warnings: &mut Vec<String>,
) -> Result<HashMap<usize, BTreeSet<String>>> {
    let mut property_keys: HashMap<usize, BTreeSet<String>> = HashMap::new();
    for r in &ws.references {
        if !because.contains_key(&r.from) {
            continue;
        }
        let from = &ws.assets[r.from].path;
        match &r.to {
            Target::Dangling(to) => {
                let msg = ws.describe_dangling(from, to, &r.kind);
                if strict {
                    return Err(Error::invalid(
                        Subject::Asset(from.to_string()),
                        format!("{msg} (`--strict` makes dangling references errors)"),
                    ));
                }
                warnings.push(msg);
            }
            Target::Asset(t) => {
                if let Some(p) = &r.property {
                    property_keys.entry(*t).or_default().insert(p.to_string());
                }
                if !because.contains_key(t) {
                    warnings.push(format!(
                        "`{from}` references `{}` ({}), which is not in the package (dependencies are off)",
                        ws.assets[*t].path, r.kind
                    ));
                }
            }
        }
    }
    Ok(property_keys)
}

/// What a package is made of, asset by asset.
struct Packer<'a> {
    env: &'a Environment,
    ws: &'a Workspace,
    opts: &'a ExportOptions,
    graph: &'a DepGraph,
    because: &'a BTreeMap<usize, String>,
    selected: BTreeSet<usize>,
    property_keys: HashMap<usize, BTreeSet<String>>,
    files: Vec<PackageFile>,
    assets: Vec<PackageAsset>,
    connectors: Vec<PackageConnector>,
    report_connectors: Vec<ExportConnector>,
    secrets: Vec<StrippedSecret>,
    report_assets: Vec<ExportAsset>,
}

impl Packer<'_> {
    /// Adds asset `i` (included because of `why`): its entry, as it is or transformed.
    fn add(&mut self, i: usize, why: &str) -> Result<()> {
        let (env, ws, opts, because) = (self.env, self.ws, self.opts, self.because);
        let a = &ws.assets[i];
        self.report_assets.push(ExportAsset {
            path: a.path.clone(),
            asset_type: a.asset_type.as_str().to_string(),
            included_because: why.to_string(),
        });
        let disk = env.root.join(&a.path);
        let transformed = self.transformed(i, &disk)?;
        // A Workato package names every entry by its path from the package root.
        let transformed = if opts.workato_strict && has_relative_references(ws, i, because) {
            let bytes = match transformed {
                Some(b) => b,
                None => fsutil::read(&disk)?,
            };
            let mut v = crate::json::parse(&a.path, &bytes)?;
            root_relative_references(ws, i, because, &mut v);
            Some(styled(&v, &bytes))
        } else {
            transformed
        };
        let (size, hash) = match &transformed {
            Some(b) => (b.len() as u64, blake3::hash(b).to_hex().to_string()),
            None => (a.size, a.hash.clone()),
        };
        let mut references: Vec<String> = ws
            .references_from(i)
            .iter()
            .map(|r| match &r.to {
                Target::Asset(t) => ws.assets[*t].path.clone(),
                Target::Dangling(p) => p.clone(),
            })
            .collect();
        references.sort();
        references.dedup();
        self.assets.push(PackageAsset {
            path: a.path.clone(),
            asset_type: a.asset_type.as_str().to_string(),
            name: a.name.clone(),
            size,
            blake3: hash,
            references,
        });
        self.files.push(match transformed {
            Some(b) => PackageFile::bytes(a.path.clone(), b),
            None => PackageFile {
                path: a.path.clone(),
                source: FileSource::Path(disk),
            },
        });
        Ok(())
    }

    /// The bytes asset `i` is packaged with when they are not its file's (secrets stripped,
    /// only the property keys and tags used, lookup data left out, a connector's released
    /// version); `None`: the file as it is. A connector's code and logo are added here.
    fn transformed(&mut self, i: usize, disk: &Path) -> Result<Option<Vec<u8>>> {
        let (env, ws, opts, graph) = (self.env, self.ws, self.opts, self.graph);
        let m = &opts.manifest;
        let a = &ws.assets[i];
        let secrets = &mut self.secrets;
        let selected_set = &self.selected;
        let property_keys = &self.property_keys;
        let files = &mut self.files;
        let connectors = &mut self.connectors;
        let report_connectors = &mut self.report_connectors;
        Ok(match a.asset_type {
            AssetType::Connection => {
                let bytes = fsutil::read(disk)?;
                let mut v = crate::json::parse(&a.path, &bytes)?;
                let before = secrets.len();
                strip_connection(&mut v, &a.path, secrets);
                (secrets.len() > before).then(|| styled(&v, &bytes))
            }
            AssetType::Properties | AssetType::ProjectProperties => {
                let bytes = fsutil::read(disk)?;
                let v = crate::json::parse(&a.path, &bytes)?;
                let whole = selected_set.contains(&i);
                let used = property_keys.get(&i);
                let out = exported_properties(&v, a, whole, used, opts.include_property_values, secrets);
                (out != v).then(|| styled(&out, &bytes))
            }
            AssetType::Tags if !selected_set.contains(&i) => {
                // Only the tags the packaged assets carry.
                let bytes = fsutil::read(disk)?;
                let v = crate::json::parse(&a.path, &bytes)?;
                let mut out = v.clone();
                let used = property_keys.get(&i);
                if let Value::Array(entries) = &mut out {
                    entries.retain(|e| {
                        e.get("title")
                            .and_then(Value::as_str)
                            .is_some_and(|t| used.is_some_and(|u| u.contains(t)))
                    });
                }
                (out != v).then(|| styled(&out, &bytes))
            }
            AssetType::LookupTable if !m.include_lookup_table_data => {
                let bytes = fsutil::read(disk)?;
                let mut v = crate::json::parse(&a.path, &bytes)?;
                let removed = v.as_object_mut().and_then(|o| o.shift_remove("data"));
                removed.map(|_| styled(&v, &bytes))
            }
            AssetType::CustomAdapter => {
                let (json, code, version, note) = released_files(env, ws, i, graph)?;
                let def = crate::ruby::parse_connector(&code);
                let files_of = a.connector.clone().unwrap_or_default();
                let code_path = code_path_of(&a.path);
                connectors.push(PackageConnector {
                    title: a.name.clone(),
                    path: a.path.clone(),
                    code: Some(code_path.clone()),
                    version: Some(version),
                    note: note.clone(),
                    code_blake3: Some(blake3::hash(&code).to_hex().to_string()),
                    actions: def.actions,
                    triggers: def.triggers,
                });
                report_connectors.push(ExportConnector {
                    title: a.name.clone(),
                    version,
                    note,
                });
                files.push(PackageFile::bytes(code_path, code));
                if let Some(logo) = &files_of.logo_path {
                    files.push(PackageFile::from_path(logo.clone(), env.root.join(logo)));
                }
                json
            }
            _ => None,
        })
    }
}

/// A connector's released version: `.custom_adapter.json` bytes (`None`: the file as it is),
/// code, number, note.
type ReleasedFiles = (Option<Vec<u8>>, Vec<u8>, u64, Option<String>);

/// The released version of a connector: its `.custom_adapter.json` (describing that version),
/// code, number and note. A directory without `.rlcm/` has its files as the released version.
fn released_files(env: &Environment, ws: &Workspace, i: usize, graph: &DepGraph) -> Result<ReleasedFiles> {
    let a = &ws.assets[i];
    let json_bytes = fsutil::read(&env.root.join(&a.path))?;
    let mut json = crate::json::parse(&a.path, &json_bytes)?;
    let history = env.state.as_ref().and_then(|s| s.connectors.get(&a.name));
    let (code, version, note) = match (&env.state, history) {
        (None, _) => {
            let code = fsutil::read_optional(&env.root.join(code_path_of(&a.path)))?.unwrap_or_default();
            return Ok((
                None,
                code,
                a.summary.version_no.unwrap_or(1),
                a.summary.note.clone(),
            ));
        }
        (Some(_), Some(c)) if c.released_record().is_some() => {
            let r = c.released_record().expect("checked");
            (env.version_code(c, r.version)?, r.version, r.note.clone())
        }
        (Some(_), _) => {
            let mut needing: Vec<String> = graph
                .dependents(&[i])
                .into_iter()
                .map(|d| ws.assets[d.asset].path.clone())
                .collect();
            needing.sort();
            return Err(Error::invalid(
                Subject::Connector(a.name.to_string()),
                format!(
                    "connector `{}` has no released version, so it cannot be exported",
                    a.name
                ),
            )
            .hint(format!(
                "recipes that need it: {}; release one with `rlcm connector release \"{}\"`",
                if needing.is_empty() {
                    "none".to_string()
                } else {
                    needing.join(", ")
                },
                a.name
            )));
        }
    };
    let note_value = note.clone().map_or(Value::Null, Value::from);
    let unchanged = json.get("version_no").and_then(Value::as_u64) == Some(version)
        && json.get("note").unwrap_or(&Value::Null) == &note_value;
    if unchanged {
        // The file describes the released version already: it travels byte for byte.
        return Ok((None, code, version, note));
    }
    if let Some(o) = json.as_object_mut() {
        o.insert("version_no".into(), Value::from(version));
        o.insert("note".into(), note_value);
    }
    Ok((Some(styled(&json, &json_bytes)), code, version, note))
}

/// `value` written in the JSON style of `original` (the file it replaces).
/// What a properties file (account properties: a flat object; project properties: the same
/// under `data`) exports as: every key when the file itself is selected, else the keys the
/// packaged assets use; values `null` unless `include_values` (and never a secret's).
fn exported_properties(
    v: &Value,
    a: &crate::workspace::Asset,
    whole: bool,
    used: Option<&BTreeSet<String>>,
    include_values: bool,
    secrets: &mut Vec<StrippedSecret>,
) -> Value {
    let project = a.asset_type == AssetType::ProjectProperties;
    let matches = |p: &str, k: &str| {
        if project {
            p == k
        } else {
            crate::asset::property_key(p) == crate::asset::property_key(k)
        }
    };
    let keys = if project { v.get("data") } else { Some(v) };
    let mut out = serde_json::Map::new();
    if let Some(Value::Object(map)) = keys {
        for (k, val) in map {
            if !(whole || used.is_some_and(|u| u.iter().any(|p| matches(p, k)))) {
                continue;
            }
            let secret = is_secret_key(k);
            if include_values && secret && !val.is_null() {
                secrets.push(StrippedSecret {
                    path: a.path.clone(),
                    field: if project { format!("data.{k}") } else { k.clone() },
                });
            }
            let keep = include_values && !secret;
            out.insert(k.clone(), if keep { val.clone() } else { Value::Null });
        }
    }
    if !project {
        return Value::Object(out);
    }
    // A project properties file keeps its other fields as they are.
    let mut whole_file = v.as_object().cloned().unwrap_or_default();
    whole_file.insert("data".into(), Value::Object(out));
    Value::Object(whole_file)
}

fn styled(value: &Value, original: &[u8]) -> Vec<u8> {
    crate::json::to_styled_vec(value, &crate::json::Style::detect(original))
}

/// True when asset `i` has a reference to a packaged asset that is not written as that
/// asset's root-relative path.
fn has_relative_references(ws: &Workspace, i: usize, included: &BTreeMap<usize, String>) -> bool {
    let a = &ws.assets[i];
    a.summary.refs.iter().any(|r| {
        ws.resolve_path(&a.path, &r.zip_name)
            .is_some_and(|t| included.contains_key(&t) && ws.assets[t].path != r.zip_name.as_str())
    })
}

/// Rewrites every reference of asset `i` to a packaged asset as that asset's root-relative
/// path (the form Workato's own import expects).
fn root_relative_references(ws: &Workspace, i: usize, included: &BTreeMap<usize, String>, v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(zip_name) = map.get("zip_name").and_then(Value::as_str)
                && let Some(t) = ws.resolve_path(&ws.assets[i].path, zip_name)
                && included.contains_key(&t)
                && ws.assets[t].path != zip_name
            {
                let path = ws.assets[t].path.clone();
                crate::plan::rewrite_reference(map, &path, None);
            }
            for (_, child) in map.iter_mut() {
                root_relative_references(ws, i, included, child);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|x| root_relative_references(ws, i, included, x)),
        _ => {}
    }
}

/// Exports to `out`.
pub fn export(env: &Environment, ws: &Workspace, opts: &ExportOptions, out: &Path) -> Result<ExportReport> {
    let built = build(env, ws, opts)?;
    let written = package::write_package(
        out,
        built.files,
        built.meta,
        &WriteOptions {
            source_date_epoch: opts.source_date_epoch,
            workato_strict: opts.workato_strict,
            ..WriteOptions::default()
        },
    )?;
    let mut report = built.report;
    report.package = out.display().to_string();
    report.digest = (!opts.workato_strict).then(|| written.digest.clone());
    report.bytes = written.bytes;
    Ok(report)
}
