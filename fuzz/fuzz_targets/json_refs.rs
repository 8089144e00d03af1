//! Fuzzes the JSON reference extractor: `rlcm::json::parse`, then `rlcm::asset::summarize` for
//! every asset type, the Workato-style writer on what parsed, and `rlcm::asset::classify` on the
//! input read as a path (lossy UTF-8).
//!
//! None of them may panic or hang; the writer must round-trip (what it writes parses back to
//! the same value).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rlcm::asset::{self, AssetType, FileRole};

fn types() -> [AssetType; 15] {
    [
        AssetType::Recipe,
        AssetType::Connection,
        AssetType::CustomAdapter,
        AssetType::LookupTable,
        AssetType::Template,
        AssetType::Schema,
        AssetType::Properties,
        AssetType::ProjectProperties,
        AssetType::ApiGroup,
        AssetType::ApiEndpoint,
        AssetType::AgenticSkill,
        AssetType::DataTable,
        AssetType::Project,
        AssetType::Other("future_thing".into()),
        AssetType::from_type("recipe"),
    ]
}

fuzz_target!(|data: &[u8]| {
    // The input as a path.
    let path = String::from_utf8_lossy(data);
    match asset::classify(&path) {
        FileRole::Asset(t) => {
            assert_eq!(AssetType::from_type(t.as_str()), t, "type does not round-trip");
        }
        FileRole::ConnectorCode(json) | FileRole::ConnectorLogo(json) => {
            assert_eq!(
                asset::classify(&json),
                FileRole::Asset(AssetType::CustomAdapter),
                "sibling of {path:?} is {json:?}"
            );
        }
        FileRole::Other => {}
    }
    let _ = asset::file_name(&path);
    let _ = asset::folder_of(&path);
    let _ = rlcm::slug::slug(&path);
    let _ = rlcm::slug::parse_provider_name(&path);

    // The input as an asset file.
    let Ok(value) = rlcm::json::parse("fuzz.json", data) else {
        return;
    };
    let has_zip_name = value.to_string().contains("\"zip_name\"");
    for t in types() {
        let s = asset::summarize(&t, &value);
        assert!(
            has_zip_name || s.refs.is_empty(),
            "reference without zip_name: {:?}",
            s.refs
        );
    }
    let written = rlcm::json::to_workato_vec(&value);
    let back = rlcm::json::parse("written.json", &written).expect("written JSON parses back");
    assert_eq!(back, value, "Workato-style JSON does not round-trip");
});
