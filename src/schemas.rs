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
        ("watch", schema::<WatchReport>()),
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

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use strum::VariantArray;

    /// Every closed vocabulary has one spelling: the name a report prints (`as_str` and
    /// `Display`, from strum) is the one its JSON carries (serde), for every variant.
    fn one_spelling<T>(as_str: fn(T) -> &'static str)
    where
        T: VariantArray + Serialize + Copy + std::fmt::Debug + std::fmt::Display,
    {
        for &v in T::VARIANTS {
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::Value::from(as_str(v)),
                "{v:?}"
            );
            assert_eq!(v.to_string(), as_str(v), "{v:?}");
        }
    }

    #[test]
    fn every_vocabulary_is_spelled_the_same_in_text_and_json() {
        one_spelling(crate::diag::Code::as_str);
        one_spelling(crate::diag::Severity::as_str);
        one_spelling(crate::ops::diff::DiffStatus::as_str);
        one_spelling(crate::asset::StepKind::as_str);
        one_spelling(crate::semdiff::ChangeKind::as_str);
        one_spelling(crate::registry::api::ListingStatus::as_str);
        one_spelling(crate::registry::api::AuditAction::as_str);
        one_spelling(crate::report::ConnectorAction::as_str);
        one_spelling(crate::report::Action::as_str);
        one_spelling(crate::report::ImpactSeverity::as_str);
        one_spelling(crate::package::Problem::code);
    }
}
