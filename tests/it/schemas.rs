//! The committed JSON Schemas in `schemas/` are exactly what the report types generate.
//! Run with `RLCM_UPDATE_SCHEMAS=1` to rewrite them after changing a report type.

use std::path::Path;

#[test]
fn committed_schemas_match_the_report_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let update = std::env::var_os("RLCM_UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (name, schema) in rlcm::schemas::schemas() {
        let path = dir.join(format!("{name}.schema.json"));
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale schemas (rerun with RLCM_UPDATE_SCHEMAS=1): {stale:?}"
    );
}

#[test]
fn every_schema_is_a_valid_json_schema() {
    for (name, schema) in rlcm::schemas::schemas() {
        assert!(jsonschema::validator_for(&schema).is_ok(), "{name}");
    }
}
