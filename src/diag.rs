//! The closed vocabulary of diagnostics: one [`Code`] for every kind of finding, warning and
//! import blocker that `inspect`, `init`, `check` and `plan` report, spelled one way on the wire
//! (kebab-case), and the [`Severity`] of a `check` finding.
//!
//! Schemas list the real values by construction (the enums derive `JsonSchema`), so a code that
//! is never emitted cannot be documented, and one that is emitted cannot be missing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a finding, a warning or a blocker is about. Stable: scripts match on these.
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
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Code {
    /// A reference that resolves to no asset (or a property key no file defines).
    DanglingReference,
    /// A custom connector's Ruby code does not parse.
    ConnectorParseError,
    /// An asset file is not what its type needs (a recipe without `code`, ...).
    InvalidAsset,
    /// Recipes that call each other in a cycle.
    CallCycle,
    /// A connector `.rb` or logo without its `.custom_adapter.json`.
    OrphanConnectorFile,
    /// The directory is not an rlcm environment (`rlcm init` it).
    NotInitialised,
    /// A connector in the tree that `.rlcm/` has no history for.
    ConnectorWithoutHistory,
    /// A connector's `.rb` differs from its latest version (uncommitted edits).
    UncommittedConnectorChange,
    /// A connector's `version_no`/`note` disagree with its history.
    ConnectorMetadataMismatch,
    /// A file of `.rlcm/` is damaged.
    StateDamaged,
    /// A recipe uses an action or trigger its connector's released version lacks.
    BrokenRecipe,
    /// `.rlcm/` has history for a connector the tree lacks.
    ConnectorMissingFromTree,
    /// A recipe marked running is not in the tree.
    RunningRecipeMissing,
    /// Files or folders whose names differ only in case.
    CaseTwins,
    /// One custom connector used under two or more provider names.
    ProviderAliases,
    /// A provider name that looks like a custom connector's but matches none.
    UnattributedProvider,
    /// The registry a connector was installed from could not be asked for updates.
    RegistryUnreachable,
    /// The registry a connector was installed from has a newer shared version.
    ConnectorUpdateAvailable,
    /// Blocker: the target asset changed since the last import, and the package changes it.
    Conflict,
    /// Blocker: a reference resolves neither in the package nor in the target.
    UnresolvedReference,
    /// Blocker: the incoming connector version lacks what production recipes use.
    BreakingChange,
    /// Blocker: a running recipe would be updated without `--restart-recipes`.
    RunningRecipe,
    /// Blocker: a connector in the target has uncommitted edits the import would bury.
    UncommittedConnector,
}

impl Code {
    /// The code as written in reports.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Compares with the wire spelling (`code == "conflict"`).
impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// How bad a `check` finding is: an error makes `check` fail.
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
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Severity {
    /// Fails `check`.
    Error,
    /// Reported; `check` still passes.
    Warning,
}

impl Severity {
    /// The severity as written in reports.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Compares with the wire spelling (`code == "conflict"`).
impl PartialEq<&str> for Severity {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for Severity {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str` and the serde spelling are the same, for every code.
    #[test]
    fn one_spelling_per_code() {
        let all = [
            Code::DanglingReference,
            Code::ConnectorParseError,
            Code::InvalidAsset,
            Code::CallCycle,
            Code::OrphanConnectorFile,
            Code::NotInitialised,
            Code::ConnectorWithoutHistory,
            Code::UncommittedConnectorChange,
            Code::ConnectorMetadataMismatch,
            Code::StateDamaged,
            Code::BrokenRecipe,
            Code::ConnectorMissingFromTree,
            Code::RunningRecipeMissing,
            Code::CaseTwins,
            Code::ProviderAliases,
            Code::UnattributedProvider,
            Code::RegistryUnreachable,
            Code::ConnectorUpdateAvailable,
            Code::Conflict,
            Code::UnresolvedReference,
            Code::BreakingChange,
            Code::RunningRecipe,
            Code::UncommittedConnector,
        ];
        for c in all {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str(), "{c:?}");
            let back: Code = serde_json::from_value(c.as_str().into()).unwrap();
            assert_eq!(back, c);
        }
        for s in [Severity::Error, Severity::Warning] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
