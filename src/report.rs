//! Report documents: what `--format json` prints, kept apart from internal types.
//!
//! Every report carries `format_version` (currently 1); paths are relative to the
//! environment or package root, with `/`. The JSON Schemas in `schemas/` are generated from
//! these types (see `tests/schemas.rs`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of every JSON document rlcm writes.
pub const FORMAT_VERSION: u32 = 1;

/// An asset: path, type and name.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct AssetRef {
    /// Path relative to the root.
    pub path: String,
    /// Asset type (`recipe`, `connection`, `custom_adapter`, ...).
    #[serde(rename = "type")]
    pub asset_type: String,
    /// Asset name.
    pub name: String,
}

/// `rlcm inspect`: what a package or tree holds.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InspectReport {
    /// Always 1.
    pub format_version: u32,
    /// The package or directory inspected.
    pub source: String,
    /// Every asset, sorted by path.
    pub assets: Vec<InspectAsset>,
    /// Number of assets per type.
    pub counts: std::collections::BTreeMap<String, usize>,
    /// Folders with the number of assets directly in each (`""` is the root).
    pub folders: std::collections::BTreeMap<String, usize>,
    /// Custom connectors.
    pub connectors: Vec<InspectConnector>,
    /// Every reference between assets.
    pub references: Vec<ReferenceEntry>,
    /// References whose target is absent.
    pub dangling: Vec<DanglingEntry>,
    /// Dependency cycles (recipes calling each other), each a path ending where it starts.
    pub cycles: Vec<Vec<String>>,
    /// Files that are neither assets nor connector siblings (kept out of packages).
    pub other_files: Vec<String>,
    /// Problems found while reading (connector code that does not parse, orphan files, ...).
    pub findings: Vec<Finding>,
}

/// An asset in `inspect`, with its dependency counts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InspectAsset {
    /// Path relative to the root.
    pub path: String,
    /// Asset type.
    #[serde(rename = "type")]
    pub asset_type: String,
    /// Asset name.
    pub name: String,
    /// Size of its JSON file in bytes.
    pub size: u64,
    /// Number of assets it references directly (resolved).
    pub depends_on: usize,
    /// Number of assets that reference it directly.
    pub used_by: usize,
}

/// A custom connector in `inspect`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InspectConnector {
    /// Its title.
    pub title: String,
    /// Path of its `.custom_adapter.json`.
    pub path: String,
    /// The `version_no` the files carry.
    pub version: Option<u64>,
    /// The note of that version.
    pub note: Option<String>,
    /// Actions its code defines.
    pub actions: Vec<String>,
    /// Triggers its code defines.
    pub triggers: Vec<String>,
    /// Path of its Ruby code.
    pub code: Option<String>,
    /// Path of its logo.
    pub logo: Option<String>,
    /// Provider names recipes use for it.
    pub providers: Vec<String>,
    /// Why its code does not parse, if it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
}

/// A reference between assets.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ReferenceEntry {
    /// The referring asset.
    pub from: String,
    /// The referenced path (for a dangling account property: `<file>#<property>`).
    pub to: String,
    /// How it refers: the JSON key (`flow_id`, `account_id`, `provider`, ...),
    /// `provider_name` or `account_property`.
    pub kind: String,
    /// True when the target is absent.
    pub dangling: bool,
    /// The account property, for `account_property` references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// The provider name, for `provider_name` references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// A dangling reference.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct DanglingEntry {
    /// The referring asset.
    pub from: String,
    /// The absent target.
    pub to: String,
    /// How it refers.
    pub kind: String,
}

/// A problem found, with a stable kebab-case code.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Finding {
    /// Stable code (`dangling-reference`, `connector-parse-error`, ...).
    pub kind: String,
    /// The file or asset concerned.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// `rlcm graph --format json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GraphReport {
    /// Always 1.
    pub format_version: u32,
    /// Assets, plus absent targets of dangling references (`missing: true`).
    pub nodes: Vec<GraphNode>,
    /// Dependencies: `from` needs `to`.
    pub edges: Vec<GraphEdge>,
}

/// A graph node.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GraphNode {
    /// Path relative to the root.
    pub path: String,
    /// Asset type.
    #[serde(rename = "type")]
    pub asset_type: String,
    /// Asset name.
    pub name: String,
    /// True for the absent target of a dangling reference.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
}

/// A graph edge.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GraphEdge {
    /// The asset that needs.
    pub from: String,
    /// The asset needed.
    pub to: String,
    /// How (see `ReferenceEntry.kind`).
    pub kind: String,
}

/// `rlcm impact`: who depends on an asset.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ImpactReport {
    /// Always 1.
    pub format_version: u32,
    /// The asset asked about (path).
    pub asset: String,
    /// Its type.
    #[serde(rename = "type")]
    pub asset_type: String,
    /// Recipes that depend on it, directly or through a chain.
    pub dependents: Vec<ImpactDependent>,
    /// Other assets (connections, endpoints, ...) that depend on it.
    pub other_dependents: Vec<ImpactDependent>,
}

/// A dependent of an asset.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ImpactDependent {
    /// The dependent recipe (path) — or asset, in `other_dependents`.
    pub recipe: String,
    /// True when the recipe is running.
    pub running: bool,
    /// The chain from the dependent to the asset, both included.
    pub via: Vec<String>,
    /// For a connector: the actions and triggers the recipe uses directly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<String>,
}

/// The JSON Schemas of every report, as `(file stem, schema)`: `schemas/<stem>.schema.json`.
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    fn schema<T: JsonSchema>() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
    }
    vec![
        ("inspect", schema::<InspectReport>()),
        ("graph", schema::<GraphReport>()),
        ("impact", schema::<ImpactReport>()),
        ("init", schema::<InitReport>()),
        ("connector-list", schema::<ConnectorListReport>()),
        ("connector-versions", schema::<ConnectorVersionsReport>()),
        ("connector-change", schema::<ConnectorChangeReport>()),
        ("connector-check", schema::<ConnectorCheckReport>()),
        ("connector-diff", schema::<ConnectorDiffReport>()),
        ("recipe-list", schema::<RecipeListReport>()),
        ("check", schema::<CheckReport>()),
    ]
}

/// `rlcm init`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InitReport {
    /// Always 1.
    pub format_version: u32,
    /// The environment directory.
    pub root: String,
    /// Its name.
    pub name: String,
    /// Its numeric id.
    pub id: u64,
    /// Number of assets adopted.
    pub assets: usize,
    /// Connectors adopted.
    pub connectors: Vec<InitConnector>,
}

/// A connector adopted by `init`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InitConnector {
    /// Its title.
    pub title: String,
    /// The version its history starts at (released).
    pub version: u64,
    /// Its provider name here.
    pub provider: String,
    /// True when no recipe used it, so the provider name was minted.
    pub minted: bool,
}

/// `rlcm connector list`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConnectorListReport {
    /// Always 1.
    pub format_version: u32,
    /// The connectors.
    pub connectors: Vec<ConnectorListEntry>,
}

/// A connector in `connector list`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConnectorListEntry {
    /// Its title.
    pub title: String,
    /// Path of its `.custom_adapter.json`.
    pub path: String,
    /// Latest version (the tree shows it).
    pub latest: Option<u64>,
    /// Released version (recipes run it).
    pub released: Option<u64>,
    /// Shared version.
    pub shared: Option<u64>,
    /// Provider name here.
    pub provider: Option<String>,
    /// True when the tree's `.rb` differs from the latest version (edits not committed).
    pub uncommitted: bool,
}

/// `rlcm connector versions`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConnectorVersionsReport {
    /// Always 1.
    pub format_version: u32,
    /// The connector's title.
    pub title: String,
    /// Latest version.
    pub latest: Option<u64>,
    /// Released version.
    pub released: Option<u64>,
    /// Shared version.
    pub shared: Option<u64>,
    /// Every version, oldest first.
    pub versions: Vec<ConnectorVersionEntry>,
}

/// A version in `connector versions`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConnectorVersionEntry {
    /// Version number.
    pub version: u64,
    /// Its note.
    pub note: Option<String>,
    /// When it was created.
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
    /// When it was last released.
    pub released_at: Option<String>,
    /// Who last released it.
    pub released_by: Option<String>,
    /// True for the released version.
    pub released: bool,
    /// True for the shared version.
    pub shared: bool,
    /// Actions present.
    pub actions: Vec<String>,
    /// Triggers present.
    pub triggers: Vec<String>,
    /// How it came to be.
    pub origin: String,
    /// True when the import that appended it was rolled back.
    pub rolled_back: bool,
}

/// What a connector command changed (`commit`, `release`, `restore`, `share`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConnectorChangeReport {
    /// Always 1.
    pub format_version: u32,
    /// The connector's title.
    pub title: String,
    /// What was done: `commit`, `release`, `restore`, `share`, or `none`.
    pub action: String,
    /// The version created, released or shared.
    pub version: Option<u64>,
    /// Latest version after the command.
    pub latest: Option<u64>,
    /// Released version after the command.
    pub released: Option<u64>,
    /// Shared version after the command.
    pub shared: Option<u64>,
    /// Version autosaved from uncommitted tree edits first, if any.
    pub autosaved: Option<u64>,
    /// Recipes the released code breaks, when released with `--force`.
    pub breaking: Vec<BreakingUse>,
    /// A sentence for people.
    pub message: String,
}

/// A recipe step that uses an action or trigger a connector version does not define.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct BreakingUse {
    /// The recipe.
    pub recipe: String,
    /// `action` or `trigger`.
    pub kind: String,
    /// The missing action or trigger.
    pub name: String,
    /// Step numbers using it.
    pub steps: Vec<u64>,
    /// True when the recipe is running.
    pub running: bool,
}

/// `rlcm connector check`: would this version break anything here?
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConnectorCheckReport {
    /// Always 1.
    pub format_version: u32,
    /// The connector's title.
    pub title: String,
    /// The version checked (a number, or `tree`).
    pub version: String,
    /// True when releasing it would break nothing and it parses.
    pub ok: bool,
    /// Why the code does not parse, if it does not.
    pub parse_error: Option<String>,
    /// Actions it defines.
    pub actions: Vec<String>,
    /// Triggers it defines.
    pub triggers: Vec<String>,
    /// Uses that would break.
    pub breaking: Vec<BreakingUse>,
}

/// `rlcm connector diff`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConnectorDiffReport {
    /// Always 1.
    pub format_version: u32,
    /// The connector's title.
    pub title: String,
    /// The old side (`3`, or `tree`).
    pub from: String,
    /// The new side.
    pub to: String,
    /// Actions in `to` but not `from`.
    pub actions_added: Vec<String>,
    /// Actions in `from` but not `to`.
    pub actions_removed: Vec<String>,
    /// Triggers added.
    pub triggers_added: Vec<String>,
    /// Triggers removed.
    pub triggers_removed: Vec<String>,
    /// Unified diff of the code.
    pub diff: String,
}

/// `rlcm recipe list` (and the result of `start` / `stop`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RecipeListReport {
    /// Always 1.
    pub format_version: u32,
    /// Recipes with their running state.
    pub recipes: Vec<RecipeStateEntry>,
}

/// A recipe and its running state.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RecipeStateEntry {
    /// Path.
    pub path: String,
    /// Name.
    pub name: String,
    /// True when running.
    pub running: bool,
    /// Since when, if running.
    pub since: Option<String>,
    /// Started by, if running.
    pub by: Option<String>,
}

/// `rlcm check`: integrity of an environment.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckReport {
    /// Always 1.
    pub format_version: u32,
    /// True when no finding is an error.
    pub ok: bool,
    /// The label of an interrupted write this run finished, if any.
    pub recovered: Option<String>,
    /// What was found.
    pub findings: Vec<CheckFinding>,
}

/// A finding of `check`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct CheckFinding {
    /// Stable kebab-case code.
    pub kind: String,
    /// `error` or `warning`.
    pub severity: String,
    /// The file or asset concerned.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}
