//! Report documents: what `--format json` prints, kept apart from internal types.
//!
//! Every report carries `format_version` (currently 1); paths are relative to the
//! environment or package root, with `/`. The JSON Schemas in `schemas/` are generated from
//! these types (see `tests/it/schemas.rs`).

use crate::istr::IStr;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The first 12 characters of a digest, for messages (safe on any string).
pub fn short_digest(digest: &str) -> String {
    digest.chars().take(12).collect()
}

/// The version of every JSON document rlcm writes.
pub const FORMAT_VERSION: u32 = 1;

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
    /// For a package that carries `rlcm-package.json`: whether every entry matches it (what
    /// `rlcm verify` checks). Absent for trees and for packages without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<Integrity>,
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
    pub from: IStr,
    /// The referenced path (for a dangling account property: `<file>#<property>`).
    pub to: IStr,
    /// How it refers: the JSON key (`flow_id`, `account_id`, `provider`, ...),
    /// `provider_name` or `account_property`.
    pub kind: IStr,
    /// True when the target is absent.
    pub dangling: bool,
    /// The account property, for `account_property` references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<IStr>,
    /// The provider name, for `provider_name` references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<IStr>,
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
    pub kind: crate::diag::Code,
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
    /// Warnings about the tree (names differing only in case, a connector under several
    /// provider names, provider names that match no connector).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Finding>,
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
    /// For a connector installed from a registry: what its registry says about updates
    /// (absent for the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outdated: Option<ListUpdateStatus>,
}

/// An installed connector's update status in `connector list`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ListUpdateStatus {
    /// The shared version this copy has (the publisher's number).
    pub installed: u64,
    /// The registry's latest shared version (absent when the registry could not be asked).
    pub latest: Option<u64>,
    /// True when a newer shared version exists (`rlcm connector update` puts it on top).
    pub available: bool,
    /// The registry's URL.
    pub registry: String,
    /// Why the registry could not be asked, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
    pub origin: crate::env::Origin,
    /// True when the import that appended it was rolled back.
    pub rolled_back: bool,
}

/// What a connector command did.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    JsonSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum ConnectorAction {
    /// A new connector (`connector create`, through the API).
    Create,
    /// A new version of the code (`commit`, or new code through the API).
    Commit,
    /// A version became the released one.
    Release,
    /// An older version's code became a new, released version.
    Restore,
    /// A version became the shared one.
    Share,
    /// A new version from the registry's shared version (`connector update`).
    Update,
    /// Nothing changed.
    None,
}

impl ConnectorAction {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl PartialEq<&str> for ConnectorAction {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What a connector command changed (`commit`, `release`, `restore`, `share`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConnectorChangeReport {
    /// Always 1.
    pub format_version: u32,
    /// The connector's title.
    pub title: String,
    /// What was done.
    pub action: ConnectorAction,
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
    /// For a release or restore: recipes whose provider name looks like a custom connector's
    /// but matches none here (rlcm cannot tell whether the release breaks them).
    pub unattributed: Vec<UnattributedUse>,
    /// A sentence for people.
    pub message: String,
}

/// A recipe step that uses an action or trigger a connector version does not define.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct BreakingUse {
    /// The recipe.
    pub recipe: String,
    /// `action` or `trigger`.
    pub kind: crate::asset::StepKind,
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
    /// Recipes whose provider name looks like a custom connector's but matches none here:
    /// rlcm cannot tell whether this version breaks them.
    pub unattributed: Vec<UnattributedUse>,
}

/// A recipe that uses a provider name that looks like a custom connector's but matches none.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct UnattributedUse {
    /// The recipe (or other asset).
    pub recipe: String,
    /// The provider name (`<prefix>_connector_<env>_<created>`).
    pub provider: String,
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

/// `rlcm watch start`, `stop` and `status`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct WatchReport {
    /// Always 1.
    pub format_version: u32,
    /// The environment's root.
    pub environment: String,
    /// What the command did: `started`, `already running`, `stopped`, `not running`, `status`.
    pub action: String,
    /// True when a watcher answers for the environment after the command.
    pub running: bool,
    /// The watcher's socket.
    pub socket: String,
    /// True when the production index was written in the watcher's live epoch (the next
    /// read-only command is answered from the index without walking the tree).
    pub index_vouched: bool,
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
    pub kind: crate::diag::Code,
    /// `error` or `warning`.
    pub severity: crate::diag::Severity,
    /// The file or asset concerned.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// `rlcm plan` / `rlcm import`: what an import does, and whom it affects.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct PlanReport {
    /// Always 1.
    pub format_version: u32,
    /// The package (path).
    pub package: String,
    /// The package's root digest (from `rlcm-package.json`, else blake3 of its entries).
    pub package_digest: String,
    /// The target environment (path).
    pub target: String,
    /// Digest of the target's assets and state when planned; `import --plan` refuses a plan
    /// whose target has changed since.
    pub target_digest: String,
    /// The options planned with.
    pub options: PlanOptionsReport,
    /// One action per asset.
    pub actions: Vec<PlanAction>,
    /// Custom connectors.
    pub connectors: Vec<PlanConnector>,
    /// Production recipes affected by what changes.
    pub impact: Vec<ImpactEntry>,
    /// True when `import` with these options would be refused.
    pub blocked: bool,
    /// Why.
    pub blockers: Vec<Blocker>,
    /// Number of actions of each kind.
    pub counts: std::collections::BTreeMap<String, usize>,
    /// Things worth knowing that block nothing.
    pub warnings: Vec<String>,
    /// Set by `import`: the import's id in the history (`null` when nothing changed or not applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<u64>,
    /// True when `import` applied it (always false for `plan`).
    #[serde(default)]
    pub applied: bool,
}

/// Options a plan was made with (the flags of `import`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct PlanOptionsReport {
    /// `--folder`: where the package's root lands.
    pub folder: Option<String>,
    /// `--restart-recipes`.
    pub restart_recipes: bool,
    /// `--force`.
    pub force: bool,
    /// `--overwrite-lookup-data`.
    pub overwrite_lookup_data: bool,
}

/// One asset's action.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct PlanAction {
    /// Path in the target after the import.
    pub path: String,
    /// Asset type.
    #[serde(rename = "type")]
    pub asset_type: String,
    /// Asset name.
    pub name: String,
    /// What the import does with it.
    pub action: Action,
    /// Path in the package, when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// A short explanation (what differs, why it conflicts, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Why an `update`, `update_running` or `conflict` writes the asset: `content changed`,
    /// `provider renamed from A to B`, `reference X rewritten to Y`, keys added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// For `update`, `update_running` and `conflict`: what changes inside the asset, compared on
    /// what would be written (provider names and references already rewritten for the target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<crate::semdiff::Change>>,
}

/// A connector's fate.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct PlanConnector {
    /// Title.
    pub title: String,
    /// `create`, `new_version` or `no_change`.
    pub action: Action,
    /// The target's released version before (none for `create`).
    pub from_version: Option<u64>,
    /// The version after (new versions are appended as latest + 1).
    pub to_version: Option<u64>,
    /// True when `to_version` is released by the import (always, for new versions).
    pub released: bool,
    /// The incoming version's note.
    pub note: Option<String>,
    /// Provider name in the package.
    pub package_provider: Option<String>,
    /// Provider name in the target (imported recipes are rewritten to it).
    pub target_provider: String,
    /// Actions the incoming version adds.
    pub actions_added: Vec<String>,
    /// Actions the incoming version drops.
    pub actions_removed: Vec<String>,
    /// Triggers the incoming version adds.
    pub triggers_added: Vec<String>,
    /// Triggers the incoming version drops.
    pub triggers_removed: Vec<String>,
}

/// What the importer does with one package asset.
/// Its `Ord` is the order reports list actions in (what needs attention first).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    /// Changed in the target since the last import, and changed by the package.
    Conflict,
    /// Replaces a running recipe (needs `--restart-recipes`).
    UpdateRunning,
    /// Replaces the target's.
    Update,
    /// New in the target.
    Create,
    /// A connector version appended and released.
    NewVersion,
    /// A connection that exists: never overwritten.
    Keep,
    /// Identical already.
    NoChange,
}

impl Action {
    /// The action's name in reports.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// True when the import writes the asset.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Action::Create | Action::Update | Action::UpdateRunning | Action::NewVersion | Action::Conflict
        )
    }
}

/// Compares with the wire spelling (`action == "no_change"`).
impl PartialEq<&str> for Action {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// How an import affects a production recipe; its `Ord` is the order reports list them in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ImpactSeverity {
    /// It uses an action or trigger the incoming connector version lacks.
    Breaking,
    /// It is running and the import replaces it (it is stopped, updated and started again).
    Restart,
    /// It depends on something the import changes.
    Affected,
}

impl ImpactSeverity {
    /// The severity as written in reports.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Compares with the wire spelling (`severity == "breaking"`).
impl PartialEq<&str> for ImpactSeverity {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A production recipe an import affects.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ImpactEntry {
    /// The recipe (target path).
    pub recipe: String,
    /// True when it is running.
    pub running: bool,
    /// True when the package overwrites it.
    pub in_package: bool,
    /// How it is affected.
    pub severity: ImpactSeverity,
    /// The chain from the recipe to the changed asset, both included.
    pub via: Vec<String>,
    /// For `breaking`: the actions and triggers it uses that the incoming connector lacks.
    pub missing: Vec<String>,
}

/// Why an import is refused.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Blocker {
    /// What blocks (`conflict`, `unresolved-reference`, `breaking-change`, ...).
    pub kind: crate::diag::Code,
    /// The asset concerned.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// `rlcm history`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HistoryReport {
    /// Always 1.
    pub format_version: u32,
    /// Imports, oldest first.
    pub imports: Vec<HistoryEntry>,
}

/// One import.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Import id.
    pub id: u64,
    /// When.
    pub at: String,
    /// Who.
    pub user: String,
    /// The package's digest.
    pub package_digest: String,
    /// The package path as given.
    pub package: String,
    /// Number of actions of each kind.
    pub counts: std::collections::BTreeMap<String, usize>,
    /// When it was rolled back, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_at: Option<String>,
}

/// `rlcm rollback`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RollbackReport {
    /// Always 1.
    pub format_version: u32,
    /// The import rolled back.
    pub import_id: u64,
    /// Files restored to their bytes before the import.
    pub restored: Vec<String>,
    /// Files the import created, removed.
    pub removed: Vec<String>,
    /// Connector versions marked rolled back (`title vN`).
    pub versions_rolled_back: Vec<String>,
    /// A sentence for people.
    pub message: String,
}

/// Whether a package matches its `rlcm-package.json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Integrity {
    /// True when every entry matches.
    pub ok: bool,
    /// The entries that do not match (added, missing, changed), each with what is wrong.
    pub mismatches: Vec<IntegrityMismatch>,
}

/// One entry that does not match `rlcm-package.json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct IntegrityMismatch {
    /// The entry.
    pub entry: String,
    /// What is wrong, in words.
    pub message: String,
}
