//! The JSON Schemas of every document rlcm writes or reads, generated from the types (schemars):
//! the reports of every command, the state files of `.rlcm/`, the package manifest, the remotes
//! and registries files. `tests/it/schemas.rs` compares them with `schemas/` and fails on drift.

use crate::report::*;

/// The JSON Schemas of every report, as `(file stem, schema)`: `schemas/<stem>.schema.json`.
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    fn schema<T: schemars::JsonSchema>() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
    }
    [
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
        ("plan", schema::<PlanReport>()),
        ("diff", schema::<crate::ops::diff::DiffReport>()),
        ("history", schema::<HistoryReport>()),
        ("rollback", schema::<RollbackReport>()),
        ("export", schema::<crate::ops::export::ExportReport>()),
        ("export-manifest", schema::<crate::ops::export::ExportManifest>()),
        ("state-connector", schema::<crate::env::ConnectorState>()),
    ]
    .into_iter()
    .chain(crate::package::package_schemas())
    .chain(crate::remote::remotes::schemas())
    .chain(crate::registry::schemas())
    .collect()
}
