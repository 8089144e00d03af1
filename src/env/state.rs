//! The documents of `.rlcm/`: environment identity, connector histories, recipe running state
//! and the import baseline. Pretty JSON with a fixed key order, so git diffs stay small and a
//! command that changes nothing rewrites nothing.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `.rlcm/env.json`: who this environment is.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct EnvInfo {
    /// Always 1.
    pub format_version: u32,
    /// The environment's name.
    pub name: String,
    /// Its numeric id (used in minted provider names).
    pub id: u64,
    /// When `rlcm init` ran.
    pub created_at: String,
    /// Who ran it.
    pub created_by: String,
}

/// `.rlcm/connectors/<slug>.json`: one custom connector's version history.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ConnectorState {
    /// Always 1.
    pub format_version: u32,
    /// The connector's title (its identity across environments).
    pub title: String,
    /// Path of its `.custom_adapter.json` in the tree.
    pub path: String,
    /// The provider name recipes here use for it.
    pub provider: String,
    /// The released version (what recipes run), if any.
    pub released: Option<u64>,
    /// The shared version (what others install), if any.
    pub shared: Option<u64>,
    /// Every version, oldest first.
    pub versions: Vec<VersionRecord>,
    /// The registries it was shared to, by registry name (`rlcm connector share --registry`).
    /// Absent in files written before sharing existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shared_to: BTreeMap<String, SharedTo>,
    /// Where it was installed from (`rlcm connector install`), for `outdated` and `update`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_from: Option<InstalledFrom>,
}

/// A connector's place in one registry, as its publisher's environment records it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct SharedTo {
    /// The registry's connector id (its slug).
    pub connector_id: String,
    /// The version last shared there (this environment's number).
    pub version: u64,
}

/// Where an installed connector came from. Its install credential is not here: it lives in
/// `.rlcm/secrets/` (mode 0600, ignored by git, never packaged).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct InstalledFrom {
    /// The registry's URL.
    pub registry: String,
    /// The registry's connector id.
    pub connector_id: String,
    /// The parent's title at install time.
    pub title: String,
    /// The shared version this copy has (the publisher's number).
    pub shared_version: u64,
    /// The registry's sequence number of that share.
    pub seq: u64,
    /// The install's id at the registry (not secret).
    pub install_id: String,
    /// The credential's file, relative to `.rlcm/secrets/`.
    pub credential_file: String,
}

/// One version of a connector.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct VersionRecord {
    /// Version number (never reused).
    pub version: u64,
    /// The version's note.
    pub note: Option<String>,
    /// When it was created.
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
    /// When it was last released.
    pub released_at: Option<String>,
    /// Who last released it.
    pub released_by: Option<String>,
    /// Its code file, relative to `.rlcm/connectors/`.
    pub code: String,
    /// blake3 of the code, hex.
    pub code_blake3: String,
    /// Actions the code defines.
    pub actions: Vec<String>,
    /// Triggers the code defines.
    pub triggers: Vec<String>,
    /// The code sets `custom_action: true` (recipes may use its ad-hoc HTTP action).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub custom_action: bool,
    /// How it came to be: `init`, `commit`, `autosave`, `restore of N`, `import N`, `install`,
    /// `update from shared version N`.
    pub origin: Origin,
    /// True when the import that appended it was rolled back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rolled_back: bool,
}

/// How a connector version came to be. On disk and in reports it is the sentence it has always
/// been (`restore of 3`, `import 12`), so histories written before stay readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Origin {
    /// Adopted by `rlcm init` (the tree's version).
    Init,
    /// `connector commit` (or `create`, or `update_code` through the API).
    Commit,
    /// Uncommitted tree edits kept before a release, restore, update or import.
    Autosave,
    /// `connector restore N`.
    RestoreOf(u64),
    /// Appended by import N.
    Import(u64),
    /// `connector install` (the first version of an installed copy).
    Install,
    /// `connector update`, from the registry's shared version N.
    UpdateFromShared(u64),
}

const UPDATE_FROM_SHARED: &str = "update from shared version ";

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Init => f.write_str("init"),
            Origin::Commit => f.write_str("commit"),
            Origin::Autosave => f.write_str("autosave"),
            Origin::RestoreOf(n) => write!(f, "restore of {n}"),
            Origin::Import(n) => write!(f, "import {n}"),
            Origin::Install => f.write_str("install"),
            Origin::UpdateFromShared(n) => write!(f, "{UPDATE_FROM_SHARED}{n}"),
        }
    }
}

impl std::str::FromStr for Origin {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let number = |rest: &str| rest.parse::<u64>().ok();
        let parsed = match s {
            "init" => Some(Origin::Init),
            "commit" => Some(Origin::Commit),
            "autosave" => Some(Origin::Autosave),
            "install" => Some(Origin::Install),
            _ => s
                .strip_prefix("restore of ")
                .and_then(number)
                .map(Origin::RestoreOf)
                .or_else(|| s.strip_prefix("import ").and_then(number).map(Origin::Import))
                .or_else(|| {
                    s.strip_prefix(UPDATE_FROM_SHARED)
                        .and_then(number)
                        .map(Origin::UpdateFromShared)
                }),
        };
        parsed.ok_or_else(|| {
            format!(
                "unknown version origin `{s}` (expected init, commit, autosave, install, `restore of N`, `import N` or `{UPDATE_FROM_SHARED}N`)"
            )
        })
    }
}

impl TryFrom<String> for Origin {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Origin> for String {
    fn from(o: Origin) -> String {
        o.to_string()
    }
}

impl JsonSchema for Origin {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Origin".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "How the version came to be.",
            "type": "string",
            "pattern": "^(init|commit|autosave|install|restore of [0-9]+|import [0-9]+|update from shared version [0-9]+)$"
        })
    }
}

impl VersionRecord {
    /// A new, unreleased version `version` of connector `title`: its code file is named by
    /// [`version_code_file`](crate::env::version_code_file), what it defines is `def`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        title: &str,
        version: u64,
        code_blake3: String,
        def: &crate::ruby::ConnectorDefinition,
        note: Option<String>,
        origin: Origin,
        by: &str,
        at: &str,
    ) -> VersionRecord {
        VersionRecord {
            version,
            note,
            created_at: at.to_string(),
            created_by: by.to_string(),
            released_at: None,
            released_by: None,
            code: crate::env::version_code_file(title, version),
            code_blake3,
            actions: def.actions.clone(),
            triggers: def.triggers.clone(),
            custom_action: def.custom_action,
            origin,
            rolled_back: false,
        }
    }

    /// The same version, released by `by` at `at`.
    pub fn released(mut self, by: &str, at: &str) -> VersionRecord {
        self.released_at = Some(at.to_string());
        self.released_by = Some(by.to_string());
        self
    }

    /// What this version defines, as recorded.
    pub fn definition(&self) -> crate::ruby::ConnectorDefinition {
        crate::ruby::ConnectorDefinition {
            actions: self.actions.clone(),
            triggers: self.triggers.clone(),
            parse_error: None,
            custom_action: self.custom_action,
        }
    }
}

impl ConnectorState {
    /// A connector without versions yet (unreleased, unshared, not installed).
    pub fn new(title: &str, path: &str, provider: &str) -> ConnectorState {
        ConnectorState {
            format_version: 1,
            title: title.to_string(),
            path: path.to_string(),
            provider: provider.to_string(),
            released: None,
            shared: None,
            versions: Vec::new(),
            shared_to: BTreeMap::new(),
            installed_from: None,
        }
    }

    /// The newest version that is not rolled back (what the tree shows).
    pub fn latest(&self) -> Option<&VersionRecord> {
        self.versions.iter().rev().find(|v| !v.rolled_back)
    }

    /// The record of a new, unreleased version of this connector with `code`, numbered after
    /// every version so far (numbers are never reused, not even those of rolled-back versions).
    pub(crate) fn next_version(
        &self,
        code: &[u8],
        note: Option<String>,
        origin: Origin,
        by: &str,
        at: &str,
    ) -> VersionRecord {
        let def = crate::ruby::parse_connector(code);
        VersionRecord::new(
            &self.title,
            self.max_version() + 1,
            blake3::hash(code).to_hex().to_string(),
            &def,
            note,
            origin,
            by,
            at,
        )
    }

    /// The highest version number ever used (rolled back or not).
    pub(crate) fn max_version(&self) -> u64 {
        self.versions.iter().map(|v| v.version).max().unwrap_or(0)
    }

    /// A version by number.
    pub fn version(&self, n: u64) -> Option<&VersionRecord> {
        self.versions.iter().find(|v| v.version == n)
    }

    /// A version by number, mutable.
    pub(crate) fn version_mut(&mut self, n: u64) -> Option<&mut VersionRecord> {
        self.versions.iter_mut().find(|v| v.version == n)
    }

    /// The released version's record.
    pub fn released_record(&self) -> Option<&VersionRecord> {
        self.released.and_then(|n| self.version(n))
    }
}

/// `.rlcm/recipes.json`: which recipes are running.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct RecipeStates {
    /// Always 1.
    pub format_version: u32,
    /// Running recipes by path.
    pub running: BTreeMap<String, RunInfo>,
}

/// Since when and by whom a recipe runs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct RunInfo {
    /// When it was started.
    pub since: String,
    /// Who started it.
    pub by: String,
}

/// `.rlcm/baseline.json`: the asset hashes as the last import (or `init`) left them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Baseline {
    /// Always 1.
    pub format_version: u32,
    /// The import that set it (`None`: set by `init`).
    pub import: Option<u64>,
    /// When it was set.
    pub at: Option<String>,
    /// Asset path → content hash (a connector's hash covers its JSON, code and logo).
    pub assets: BTreeMap<String, String>,
}
