//! Asset types, file roles, and what one asset file says: its name and its references.
//!
//! Extraction works on one parsed JSON document at a time and keeps only a small summary, so
//! a workspace of any size is read file by file.

use std::sync::LazyLock;

use regex::Regex;

pub use crate::istr::IStr;
use serde_json::Value;

/// The type of an asset: the `<type>` in `<slug>.<type>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssetType {
    /// `recipe`
    Recipe,
    /// `connection`
    Connection,
    /// `custom_adapter`: a custom connector (with its `.rb` and logo siblings)
    CustomAdapter,
    /// `lookup_table`
    LookupTable,
    /// `workato_template`: a message template
    Template,
    /// `workato_schema`: a shared schema
    Schema,
    /// `properties`: account properties (`account_properties.properties.json`)
    Properties,
    /// `project_properties`
    ProjectProperties,
    /// `api_group`: an API collection
    ApiGroup,
    /// `api_endpoint`
    ApiEndpoint,
    /// `agentic_skill`
    AgenticSkill,
    /// `workato_db_table`: a data table
    DataTable,
    /// `project` (`project.json`)
    Project,
    /// `tags`: the workspace's tag definitions (`tags.json`, an array of `{title, description,
    /// color}`); assets name the tags they carry in a top-level `"tags": [titles]`
    Tags,
    /// any other type, carried as an opaque asset
    Other(String),
}

impl AssetType {
    /// Parses the type part of a file name.
    pub fn from_type(t: &str) -> AssetType {
        match t {
            "recipe" => AssetType::Recipe,
            "connection" => AssetType::Connection,
            "custom_adapter" => AssetType::CustomAdapter,
            "lookup_table" => AssetType::LookupTable,
            "workato_template" => AssetType::Template,
            "workato_schema" => AssetType::Schema,
            "properties" => AssetType::Properties,
            "project_properties" => AssetType::ProjectProperties,
            "api_group" => AssetType::ApiGroup,
            "api_endpoint" => AssetType::ApiEndpoint,
            "agentic_skill" => AssetType::AgenticSkill,
            "workato_db_table" => AssetType::DataTable,
            "project" => AssetType::Project,
            other => AssetType::Other(other.to_string()),
        }
    }

    /// The type as written in file names and reports.
    pub fn as_str(&self) -> &str {
        match self {
            AssetType::Recipe => "recipe",
            AssetType::Connection => "connection",
            AssetType::CustomAdapter => "custom_adapter",
            AssetType::LookupTable => "lookup_table",
            AssetType::Template => "workato_template",
            AssetType::Schema => "workato_schema",
            AssetType::Properties => "properties",
            AssetType::ProjectProperties => "project_properties",
            AssetType::ApiGroup => "api_group",
            AssetType::ApiEndpoint => "api_endpoint",
            AssetType::AgenticSkill => "agentic_skill",
            AssetType::DataTable => "workato_db_table",
            AssetType::Project => "project",
            AssetType::Tags => "tags",
            AssetType::Other(t) => t,
        }
    }

    /// The type named by a path's file name (`x.recipe.json` → recipe); `None` when the file is
    /// not an asset JSON file.
    pub fn of_path(path: &str) -> Option<AssetType> {
        match classify(path) {
            FileRole::Asset(t) => Some(t),
            _ => None,
        }
    }
}

impl std::fmt::Display for AssetType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a file in a tree or package is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRole {
    /// An asset JSON file of this type.
    Asset(AssetType),
    /// The Ruby source of the connector whose JSON file is the given path.
    ConnectorCode(String),
    /// The logo of the connector whose JSON file is the given path.
    ConnectorLogo(String),
    /// Anything else (kept out of packages, listed by `inspect`).
    Other,
}

/// Returns the file name part of a `/` path.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Returns the folder part of a `/` path (`""` at the root).
pub fn folder_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// Says what a file is from its path.
pub fn classify(path: &str) -> FileRole {
    let name = file_name(path);
    if name == "project.json" {
        return FileRole::Asset(AssetType::Project);
    }
    if name == "tags.json" {
        return FileRole::Asset(AssetType::Tags);
    }
    if let Some(at) = name.find(".custom_adapter.") {
        let ext = &name[at + ".custom_adapter.".len()..];
        if at > 0 && !ext.is_empty() && !ext.contains('.') {
            let json = format!(
                "{}{}.custom_adapter.json",
                &path[..path.len() - name.len()],
                &name[..at]
            );
            return match ext {
                "json" => FileRole::Asset(AssetType::CustomAdapter),
                "rb" => FileRole::ConnectorCode(json),
                _ => FileRole::ConnectorLogo(json),
            };
        }
    }
    let Some(stem) = name.strip_suffix(".json") else {
        return FileRole::Other;
    };
    match stem.rsplit_once('.') {
        Some((slug, t))
            if !slug.is_empty()
                && !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
        {
            FileRole::Asset(AssetType::from_type(t))
        }
        _ => FileRole::Other,
    }
}

/// A `{zip_name, name, folder}` reference found in an asset.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ZipRef {
    /// The JSON key the reference object sits under (`flow_id`, `account_id`, `provider`, ...).
    pub key: IStr,
    /// The referenced path, relative to the package root.
    pub zip_name: IStr,
    /// The referenced asset's name, when given.
    pub name: Option<IStr>,
}

/// A recipe's binding of a provider name to a connection (`config[]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Binding {
    /// The provider name (`salesforce`, `line_connector_1100000020_1666345834`, ...).
    pub provider: IStr,
    /// The connection's `zip_name`, when the config names one.
    pub connection: Option<IStr>,
    /// True when `account_id.custom` is set: the provider is a custom connector.
    pub custom: bool,
}

/// Whether a step is a trigger or an action.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StepKind {
    /// The recipe's trigger.
    Trigger,
    /// An action step.
    Action,
}

impl StepKind {
    /// The name on the wire: `trigger` or `action`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A recipe's use of a custom connector's action or trigger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepUse {
    /// The provider name of the step.
    pub provider: IStr,
    /// Trigger or action.
    pub kind: StepKind,
    /// The action or trigger name.
    pub name: IStr,
    /// The step numbers that use it.
    pub steps: Vec<u64>,
}

/// What one asset JSON file says, kept small.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AssetSummary {
    /// The asset's name (`name`, or `title` for a connector); `None` when it has none.
    pub name: Option<String>,
    /// Every `{zip_name, ...}` reference.
    pub refs: Vec<ZipRef>,
    /// Recipe config bindings.
    pub bindings: Vec<Binding>,
    /// Uses of custom connector actions and triggers (recipes only).
    pub uses: Vec<StepUse>,
    /// Account property names used through datapills or formulas.
    pub properties: Vec<IStr>,
    /// Project property names used through datapills.
    pub project_properties: Vec<IStr>,
    /// The tags the asset carries (its top-level `"tags": [titles]`).
    pub tags: Vec<IStr>,
    /// A connection's built-in provider (`"salesforce"`), when not a custom connector.
    pub provider: Option<IStr>,
    /// A connector's `version_no`.
    pub version_no: Option<u64>,
    /// A connector's `note`.
    pub note: Option<String>,
    /// The keys of an account properties file, of a project properties file's `data`, or the
    /// titles of a tags file.
    pub keys: Vec<String>,
    /// Top-level fields that are not what the asset's type needs (see [`shape_problems`]).
    pub invalid: Vec<InvalidField>,
}

/// The kind of a JSON value, as asset validation reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum JsonKind {
    /// `{...}`
    Object,
    /// `[...]`
    Array,
    /// a string
    String,
    /// a non-negative integer
    Integer,
    /// any other number (negative, fractional)
    Number,
    /// `true` / `false`
    Bool,
    /// `null`
    Null,
}

impl JsonKind {
    /// The kind of a parsed value.
    pub fn of(v: &Value) -> JsonKind {
        match v {
            Value::Object(_) => JsonKind::Object,
            Value::Array(_) => JsonKind::Array,
            Value::String(_) => JsonKind::String,
            Value::Number(n) if n.as_u64().is_some() => JsonKind::Integer,
            Value::Number(_) => JsonKind::Number,
            Value::Bool(_) => JsonKind::Bool,
            Value::Null => JsonKind::Null,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            JsonKind::Object => "an object",
            JsonKind::Array => "an array",
            JsonKind::String => "a string",
            JsonKind::Integer => "a non-negative integer",
            JsonKind::Number => "a number that is not a non-negative integer",
            JsonKind::Bool => "a boolean",
            JsonKind::Null => "null",
        }
    }
}

/// A top-level field of an asset that is not what its type needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InvalidField {
    /// The field (`name`, `code`, ...); empty for the document itself.
    pub field: String,
    /// What the type needs there.
    pub expected: JsonKind,
    /// What is there; `None` when the field is missing.
    pub found: Option<JsonKind>,
}

impl InvalidField {
    /// What is wrong, for messages.
    pub fn describe(&self, asset_type: &AssetType) -> String {
        let ty = asset_type.as_str();
        match (self.field.as_str(), self.found) {
            ("", found) => format!(
                "the file is {}, but a {ty} asset is a JSON {}",
                found.map_or("empty", JsonKind::noun),
                if self.expected == JsonKind::Array {
                    "array"
                } else {
                    "object"
                }
            ),
            (f, None) => format!("has no `{f}`; a {ty} needs `{f}` ({})", self.expected.noun()),
            (f, Some(k)) => format!(
                "its `{f}` is {}, but a {ty} needs {}",
                k.noun(),
                self.expected.noun()
            ),
        }
    }
}

/// Top-level fields watched by validation (the streaming summary records their kinds).
pub(crate) const WATCHED_FIELDS: &[&str] = &["name", "code", "provider", "version_no"];

/// What an asset of `asset_type` whose document is of kind `top` (fields looked up by
/// `field`) lacks: typed validation per asset type. A recipe needs a string `name` and an
/// object `code`; a connection a `provider` (a string, or a reference object for a custom
/// connector); a custom connector's `version_no`, when
/// present, is a non-negative integer; every asset file is a JSON object.
pub(crate) fn shape_problems(
    asset_type: &AssetType,
    top: JsonKind,
    field: impl Fn(&str) -> Option<JsonKind>,
) -> Vec<InvalidField> {
    let document = match asset_type {
        AssetType::Tags => JsonKind::Array,
        _ => JsonKind::Object,
    };
    if top != document {
        return vec![InvalidField {
            field: String::new(),
            expected: document,
            found: Some(top),
        }];
    }
    type Fields = &'static [(&'static str, JsonKind)];
    let (required, optional): (Fields, Fields) = match asset_type {
        AssetType::Recipe => (&[("name", JsonKind::String), ("code", JsonKind::Object)], &[]),
        AssetType::Connection => (&[("provider", JsonKind::String)], &[]),
        AssetType::CustomAdapter => (&[], &[("version_no", JsonKind::Integer)]),
        _ => (&[], &[]),
    };
    let mut out = Vec::new();
    for (f, expected) in required {
        let found = field(f);
        // A custom connector's connection names it by a reference object.
        let also_object = *asset_type == AssetType::Connection && found == Some(JsonKind::Object);
        if found != Some(*expected) && !also_object {
            out.push(InvalidField {
                field: (*f).to_string(),
                expected: *expected,
                found,
            });
        }
    }
    for (f, expected) in optional {
        if let Some(found) = field(f)
            && found != *expected
        {
            out.push(InvalidField {
                field: (*f).to_string(),
                expected: *expected,
                found: Some(found),
            });
        }
    }
    out
}

static DP_PROPERTY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""pill_type"\s*:\s*"account_property"\s*,\s*"property_name"\s*:\s*"((?:[^"\\]|\\.)*)""#)
        .expect("valid regex")
});
static DP_PROJECT_PROPERTY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""pill_type"\s*:\s*"project_property"\s*,\s*"property_name"\s*:\s*"((?:[^"\\]|\\.)*)""#)
        .expect("valid regex")
});
static FORMULA_PROPERTY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"'account_property'\s*,\s*'((?:[^'\\]|\\.)*)'"#).expect("valid regex"));
/// `account_properties.NAME` as a datapill path segment: not inside a longer word
/// (`..._upsert_account_properties.recipe.json` is a file name, not a property use).
static PATH_PROPERTY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\p{L}\p{N}_])account_properties\.([\p{L}\p{N}_]+)(\.json)?").expect("valid regex")
});

/// Workato's identifier form of a property name in a datapill path: `.` and spaces as `_`.
fn property_identifier(name: &str) -> String {
    name.replace(['.', ' '], "_")
}

/// The key properties are matched under: spaces and underscores are the same.
pub(crate) fn property_key(name: &str) -> String {
    name.replace(' ', "_")
}

/// Reads what an asset says about itself and others, from a parsed value. Loading uses the
/// streaming [`crate::extract::summarize_bytes`]; this is its reference (tested equal).
pub fn summarize(asset_type: &AssetType, value: &Value) -> AssetSummary {
    let mut s = AssetSummary::default();
    let obj = value.as_object();
    let field = |k: &str| obj.and_then(|o| o.get(k));
    s.invalid = shape_problems(asset_type, JsonKind::of(value), |k| field(k).map(JsonKind::of));
    s.name = match asset_type {
        AssetType::CustomAdapter => field("title"),
        _ => field("name"),
    }
    .and_then(Value::as_str)
    .map(str::to_string);
    match asset_type {
        AssetType::CustomAdapter => {
            s.version_no = field("version_no").and_then(Value::as_u64);
            s.note = field("note").and_then(Value::as_str).map(str::to_string);
        }
        AssetType::Connection => {
            s.provider = field("provider").and_then(Value::as_str).map(IStr::new);
        }
        AssetType::Properties => {
            s.keys = obj.map(|o| o.keys().cloned().collect()).unwrap_or_default();
        }
        AssetType::ProjectProperties => {
            s.keys = field("data")
                .and_then(Value::as_object)
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
        }
        AssetType::Tags => {
            s.keys = tag_titles(value.as_array().map(Vec::as_slice).unwrap_or_default());
        }
        _ => {}
    }
    if let Some(tags) = field("tags").and_then(Value::as_array) {
        for t in tags.iter().filter_map(Value::as_str) {
            push_tag(&mut s.tags, t);
        }
    }
    collect_refs(value, None, &mut s.refs);
    collect_properties(value, &mut s.properties, &mut s.project_properties);
    if *asset_type == AssetType::Recipe {
        if let Some(config) = field("config").and_then(Value::as_array) {
            for entry in config {
                let Some(provider) = entry.get("provider").and_then(Value::as_str) else {
                    continue;
                };
                let account = entry.get("account_id");
                s.bindings.push(Binding {
                    provider: provider.into(),
                    connection: account
                        .and_then(|a| a.get("zip_name"))
                        .and_then(Value::as_str)
                        .map(IStr::new),
                    custom: account.and_then(|a| a.get("custom")).and_then(Value::as_bool) == Some(true),
                });
            }
        }
        if let Some(code) = field("code") {
            let custom: Vec<&str> = s
                .bindings
                .iter()
                .filter(|b| b.custom)
                .map(|b| b.provider.as_str())
                .collect();
            collect_uses(code, &custom, &mut s.uses);
            order_uses(&mut s.uses);
        }
    }
    s
}

fn collect_refs(value: &Value, key: Option<&str>, out: &mut Vec<ZipRef>) {
    match value {
        Value::Object(map) => {
            if let Some(zip_name) = map.get("zip_name").and_then(Value::as_str) {
                out.push(ZipRef {
                    key: key.unwrap_or("reference").into(),
                    zip_name: zip_name.into(),
                    name: map.get("name").and_then(Value::as_str).map(IStr::new),
                });
            }
            for (k, v) in map {
                if v.is_object() || v.is_array() {
                    collect_refs(v, Some(k), out);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                collect_refs(v, key, out);
            }
        }
        _ => {}
    }
}

/// Adds the account property names a string uses (datapills, formulas, paths) to `out`, once
/// each (a space and an underscore are the same).
pub(crate) fn scan_properties(text: &str, out: &mut Vec<IStr>) {
    if !text.contains("account_propert") {
        return;
    }
    let mut push = |name: &str| {
        let name = name.replace("\\\"", "\"").replace("\\'", "'");
        if !out.iter().any(|n| property_key(n) == property_key(&name)) {
            out.push(name.into());
        }
    };
    for c in DP_PROPERTY.captures_iter(text) {
        push(&c[1]);
    }
    let mut formula_names = Vec::new();
    for c in FORMULA_PROPERTY.captures_iter(text) {
        push(&c[1]);
        formula_names.push(property_identifier(&c[1]));
    }
    for c in PATH_PROPERTY.captures_iter(text) {
        // `account_properties.x.json`: a file name. A path segment that is a formula's
        // property in identifier form (`_('...account_properties.A_B', 'account_property',
        // 'A.B')`) is that same property.
        if c.get(2).is_some() || formula_names.iter().any(|f| *f == c[1]) {
            continue;
        }
        push(&c[1]);
    }
}

fn collect_properties(value: &Value, out: &mut Vec<IStr>, project: &mut Vec<IStr>) {
    match value {
        Value::String(text) => {
            scan_properties(text, out);
            scan_project_properties(text, project);
        }
        Value::Object(map) => map.values().for_each(|v| collect_properties(v, out, project)),
        Value::Array(items) => items.iter().for_each(|v| collect_properties(v, out, project)),
        _ => {}
    }
}

/// Adds the project property names a string uses (`{"pill_type":"project_property",
/// "property_name":"X"}` datapills) to `out`, once each. Project property names are matched
/// exactly (Workato shows them as written: `abc.def`).
pub(crate) fn scan_project_properties(text: &str, out: &mut Vec<IStr>) {
    if !text.contains("project_property") {
        return;
    }
    for c in DP_PROJECT_PROPERTY.captures_iter(text) {
        let name = c[1].replace("\\\"", "\"").replace("\\'", "'");
        if !out.iter().any(|n| n.as_str() == name) {
            out.push(name.into());
        }
    }
}

/// The titles of a tags file's entries (`[{title, description, color}, ...]`), once each.
pub(crate) fn tag_titles(entries: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for title in entries
        .iter()
        .filter_map(|e| e.get("title"))
        .filter_map(Value::as_str)
    {
        if !out.iter().any(|t| t == title) {
            out.push(title.to_string());
        }
    }
    out
}

/// Adds a tag an asset carries, once.
pub(crate) fn push_tag(out: &mut Vec<IStr>, title: &str) {
    if !out.iter().any(|t| t.as_str() == title) {
        out.push(title.into());
    }
}

/// Puts uses in step order (steps themselves sorted), so both extractors agree.
pub(crate) fn order_uses(uses: &mut [StepUse]) {
    for u in uses.iter_mut() {
        u.steps.sort_unstable();
    }
    uses.sort_by(|a, b| {
        (a.steps.first(), a.kind, &a.name, &a.provider).cmp(&(b.steps.first(), b.kind, &b.name, &b.provider))
    });
}

/// Collects steps whose provider is a custom connector (bound with `custom: true`, or of the
/// `<slug>_connector_<id>_<ts>` form).
fn collect_uses(value: &Value, custom: &[&str], out: &mut Vec<StepUse>) {
    match value {
        Value::Object(map) => {
            let provider = map.get("provider").and_then(Value::as_str);
            let name = map.get("name").and_then(Value::as_str);
            let kind = match map.get("keyword").and_then(Value::as_str) {
                Some("trigger") => Some(StepKind::Trigger),
                Some("action") => Some(StepKind::Action),
                _ => None,
            };
            if let (Some(provider), Some(name), Some(kind)) = (provider, name, kind)
                && (custom.contains(&provider) || crate::slug::parse_provider_name(provider).is_some())
            {
                let number = map.get("number").and_then(Value::as_u64).unwrap_or(0);
                match out
                    .iter_mut()
                    .find(|u| u.provider == provider && u.kind == kind && u.name == name)
                {
                    Some(u) => u.steps.push(number),
                    None => out.push(StepUse {
                        provider: provider.into(),
                        kind,
                        name: name.into(),
                        steps: vec![number],
                    }),
                }
            }
            for v in map.values() {
                if v.is_object() || v.is_array() {
                    collect_uses(v, custom, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_uses(v, custom, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classifies_files() {
        assert_eq!(classify("a/b.recipe.json"), FileRole::Asset(AssetType::Recipe));
        assert_eq!(
            classify("x.custom_adapter.json"),
            FileRole::Asset(AssetType::CustomAdapter)
        );
        assert_eq!(
            classify("d/x.custom_adapter.rb"),
            FileRole::ConnectorCode("d/x.custom_adapter.json".into())
        );
        assert_eq!(
            classify("x.custom_adapter.jpeg"),
            FileRole::ConnectorLogo("x.custom_adapter.json".into())
        );
        assert_eq!(
            classify("account_properties.properties.json"),
            FileRole::Asset(AssetType::Properties)
        );
        assert_eq!(
            classify("x.future_thing.json"),
            FileRole::Asset(AssetType::Other("future_thing".into()))
        );
        assert_eq!(classify("project.json"), FileRole::Asset(AssetType::Project));
        assert_eq!(classify("README.md"), FileRole::Other);
        assert_eq!(classify("plain.json"), FileRole::Other);
        assert_eq!(classify(".recipe.json"), FileRole::Other);
    }

    #[test]
    fn extracts_properties_in_every_form() {
        let v = json!({"a": "#{_dp('{\"pill_type\":\"account_property\",\"property_name\":\"salesforce_base_url\"}')}",
            "b": "x #{_('data.workato.job_context.account_properties.Spreadsheet_ID', 'account_property', 'Spreadsheet ID')}",
            "c": ["=account_properties.Other_key + 1"]});
        let s = summarize(&AssetType::Recipe, &v);
        assert_eq!(
            s.properties,
            ["salesforce_base_url", "Spreadsheet ID", "Other_key"]
        );
    }

    #[test]
    fn extracts_bindings_and_custom_steps() {
        let v = json!({"name": "R", "code": {"provider": "p_connector_1_2", "keyword": "trigger", "name": "t", "number": 0,
            "block": [{"provider": "p_connector_1_2", "keyword": "action", "name": "a", "number": 1},
                      {"provider": "p_connector_1_2", "keyword": "action", "name": "a", "number": 2},
                      {"provider": "salesforce", "keyword": "action", "name": "s", "number": 3}]},
            "config": [{"provider": "p_connector_1_2", "account_id": {"zip_name": "c.connection.json", "custom": true}},
                       {"provider": "logger", "account_id": null}]});
        let s = summarize(&AssetType::Recipe, &v);
        assert_eq!(s.name.as_deref(), Some("R"));
        assert_eq!(s.bindings.len(), 2);
        assert!(s.bindings[0].custom);
        assert_eq!(s.uses.len(), 2);
        assert_eq!(s.uses[1].steps, [1, 2]);
        assert_eq!(s.refs.len(), 1);
        assert_eq!(s.refs[0].key, "account_id");
    }
}

#[cfg(test)]
mod property_scan_tests {
    use super::*;

    fn scan(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        scan_properties(text, &mut out);
        out.into_iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn file_names_are_not_property_uses() {
        assert!(scan("utilities/rf_upsert_account_properties.recipe.json").is_empty());
        assert!(scan("account_properties.properties.json").is_empty());
    }

    #[test]
    fn a_formula_and_its_identifier_path_are_one_property() {
        let text = "_('data.account_properties.A_B', 'account_property', 'A.B')";
        assert_eq!(scan(text), vec!["A.B".to_string()]);
    }

    #[test]
    fn datapill_paths_still_count() {
        assert_eq!(
            scan("#{account_properties.api_host}/v1"),
            vec!["api_host".to_string()]
        );
    }
}
