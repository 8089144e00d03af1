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
    /// How it came to be: `init`, `commit`, `autosave`, `restore of N`, `import N`.
    pub origin: String,
    /// True when the import that appended it was rolled back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rolled_back: bool,
}

impl VersionRecord {
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
    /// The newest version that is not rolled back (what the tree shows).
    pub fn latest(&self) -> Option<&VersionRecord> {
        self.versions.iter().rev().find(|v| !v.rolled_back)
    }

    /// The highest version number ever used (rolled back or not).
    pub fn max_version(&self) -> u64 {
        self.versions.iter().map(|v| v.version).max().unwrap_or(0)
    }

    /// A version by number.
    pub fn version(&self, n: u64) -> Option<&VersionRecord> {
        self.versions.iter().find(|v| v.version == n)
    }

    /// A version by number, mutable.
    pub fn version_mut(&mut self, n: u64) -> Option<&mut VersionRecord> {
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
