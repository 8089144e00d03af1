//! Semantic diff of two versions of one asset: what changes inside it.
//!
//! Both sides are the JSON as it is (or would be) in the target, so provider names and
//! references are already rewritten and a rename alone is never a change. A recipe is
//! compared step by step: the trigger and each step are matched by their `uuid` (then their
//! `as`, then keyword + provider + action), and reported as added, removed, moved (its place
//! among the other steps, or its parent block, changed) or changed (by the JSON path inside
//! the step); the connections and called recipes it starts or stops using and its `config`
//! are reported too. Any other asset is compared by JSON path. Values are cut to a readable
//! size, and any value under a secret-looking key (the rule of export) is never shown.

use std::collections::{BTreeSet, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::secrets::SECRET_PLACEHOLDER;
use crate::secrets::is_secret_key;

/// What happened to one part of an asset.
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
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ChangeKind {
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
    /// In both, with another value.
    Changed,
    /// A recipe step that moved (another place among the steps, or another parent block).
    Moved,
}

impl ChangeKind {
    /// The word for reports (`added`, `removed`, `changed`, `moved`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What part of the asset a change concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeSubject {
    /// A recipe's trigger (step 0).
    Trigger,
    /// A recipe step.
    Step,
    /// A connection the recipe uses (`before`/`after`: its path).
    Connection,
    /// A recipe it calls (`before`/`after`: its path).
    CalledRecipe,
    /// The recipe's `config` (its connections per provider).
    Config,
    /// Any other JSON value.
    Field,
}

/// One change inside an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// Added, removed, changed or moved.
    pub kind: ChangeKind,
    /// What part of the asset.
    pub subject: ChangeSubject,
    /// JSON path in the asset (`$.code.block[3].input.email`); on the new side, except for
    /// what was removed.
    pub path: String,
    /// The recipe step number (0: the trigger), on the new side except for a removed step.
    pub step: Option<u64>,
    /// The step as `keyword provider.action` (`action salesforce.update_record`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_label: Option<String>,
    /// The path inside the step (`input.email`), for a change inside a step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The old value (cut to a readable size; secrets replaced), null when added. For a moved
    /// step: its old number.
    pub before: Option<Value>,
    /// The new value, null when removed. For a moved step: its new number.
    pub after: Option<Value>,
}

impl Change {
    /// One line for people: `step 4 (action salesforce.update_record): input.email changed`.
    pub fn describe(&self) -> String {
        let what = self.kind.as_str();
        match self.subject {
            ChangeSubject::Trigger | ChangeSubject::Step => {
                let at = match (self.subject, self.step) {
                    (ChangeSubject::Trigger, _) => "trigger".to_string(),
                    (_, Some(n)) => format!("step {n}"),
                    _ => "step".to_string(),
                };
                let label = self
                    .step_label
                    .as_deref()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default();
                match (&self.field, self.kind) {
                    (Some(f), _) => format!("{at}{label}: {f} {what}"),
                    (None, ChangeKind::Moved) => format!(
                        "{at}{label} moved (was step {})",
                        self.before.as_ref().map(short_value).unwrap_or_default()
                    ),
                    (None, _) => format!("{at}{label} {what}"),
                }
            }
            ChangeSubject::Connection | ChangeSubject::CalledRecipe => {
                let noun = if self.subject == ChangeSubject::Connection {
                    "connection"
                } else {
                    "called recipe"
                };
                let (verb, v) = match self.kind {
                    ChangeKind::Removed => ("no longer uses", &self.before),
                    _ => ("now uses", &self.after),
                };
                format!(
                    "{verb} {noun} {}",
                    v.as_ref().map(short_value).unwrap_or_default()
                )
            }
            ChangeSubject::Config | ChangeSubject::Field => {
                format!("{} {what}", display_path(&self.path))
            }
        }
    }

    /// `before -> after` in one short line, when there is a value to show.
    pub fn values(&self) -> Option<String> {
        if self.kind == ChangeKind::Moved
            || matches!(
                self.subject,
                ChangeSubject::Connection | ChangeSubject::CalledRecipe
            )
        {
            return None;
        }
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => Some(format!("{} -> {}", short_value(b), short_value(a))),
            (Some(b), None) => Some(format!("was {}", short_value(b))),
            (None, Some(a)) => Some(short_value(a)),
            (None, None) => None,
        }
    }
}

/// A JSON path without its leading `$.` (`$` itself stays).
fn display_path(path: &str) -> &str {
    path.strip_prefix("$.").unwrap_or(path)
}

/// A value in at most about 80 characters, for one line.
pub fn short_value(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("\"{s}\""),
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    cut_str(&s, 80)
}

/// Longest string value kept whole in a change.
const MAX_STRING: usize = 200;
/// Most array items kept in a change's value.
const MAX_ITEMS: usize = 20;
/// Deepest nesting kept in a change's value.
const MAX_DEPTH: usize = 6;

fn cut_str(s: &str, max: usize) -> String {
    let count = s.chars().count();
    if count <= max {
        return s.to_string();
    }
    let keep = max.saturating_sub(20).max(1);
    let head: String = s.chars().take(keep).collect();
    format!("{head}… ({} more characters)", count - keep)
}

/// The value for a report: secrets replaced, long strings and arrays cut, deep nesting folded.
pub(crate) fn presentable(v: &Value) -> Value {
    fn walk(v: &Value, depth: usize) -> Value {
        match v {
            Value::String(s) => Value::String(cut_str(s, MAX_STRING)),
            Value::Array(items) => {
                if depth >= MAX_DEPTH {
                    return Value::String(format!("[… {} items]", items.len()));
                }
                let mut out: Vec<Value> = items.iter().take(MAX_ITEMS).map(|x| walk(x, depth + 1)).collect();
                if items.len() > MAX_ITEMS {
                    out.push(Value::String(format!("… {} more items", items.len() - MAX_ITEMS)));
                }
                Value::Array(out)
            }
            Value::Object(map) => {
                if depth >= MAX_DEPTH {
                    return Value::String(format!("{{… {} keys}}", map.len()));
                }
                let mut out = Map::new();
                for (k, x) in map {
                    let x = if is_secret_key(k) && !x.is_null() {
                        Value::String(SECRET_PLACEHOLDER.into())
                    } else {
                        walk(x, depth + 1)
                    };
                    out.insert(k.clone(), x);
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }
    walk(v, 0)
}

/// `value` with every value under a secret-looking key replaced (nothing cut).
pub fn redacted(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(redacted).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, x)| {
                    let x = if is_secret_key(k) && !x.is_null() {
                        Value::String(SECRET_PLACEHOLDER.into())
                    } else {
                        redacted(x)
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The value of a change at `path`: `presentable`, or the placeholder under a secret key.
fn shown(v: &Value, secret: bool) -> Value {
    if secret && !v.is_null() {
        Value::String(SECRET_PLACEHOLDER.into())
    } else {
        presentable(v)
    }
}

fn key_segment(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        format!("{path}.{key}")
    } else {
        format!(
            "{path}[{}]",
            serde_json::to_string(key).unwrap_or_else(|_| format!("\"{key}\""))
        )
    }
}

/// A raw change found by the JSON walk: path, kind, values, whether under a secret key.
struct RawChange {
    path: String,
    kind: ChangeKind,
    before: Option<Value>,
    after: Option<Value>,
}

/// Compares two JSON values by path, appending one entry per added, removed or changed leaf
/// (or whole subtree when one side lacks it).
fn walk_diff(before: &Value, after: &Value, path: &str, secret: bool, out: &mut Vec<RawChange>) {
    if before == after {
        return;
    }
    let push = |out: &mut Vec<RawChange>, path: String, kind, b: Option<&Value>, a: Option<&Value>, s| {
        out.push(RawChange {
            path,
            kind,
            before: b.map(|v| shown(v, s)),
            after: a.map(|v| shown(v, s)),
        })
    };
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, bv) in b {
                let s = secret || is_secret_key(k);
                let p = key_segment(path, k);
                match a.get(k) {
                    Some(av) => walk_diff(bv, av, &p, s, out),
                    None => push(out, p, ChangeKind::Removed, Some(bv), None, s),
                }
            }
            for (k, av) in a {
                if !b.contains_key(k) {
                    let s = secret || is_secret_key(k);
                    push(out, key_segment(path, k), ChangeKind::Added, None, Some(av), s);
                }
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            if b.len() == a.len() {
                for (i, (bv, av)) in b.iter().zip(a).enumerate() {
                    walk_diff(bv, av, &format!("{path}[{i}]"), secret, out);
                }
                return;
            }
            let key = |v: &Value| serde_json::to_string(v).unwrap_or_default();
            let bk: Vec<String> = b.iter().map(key).collect();
            let ak: Vec<String> = a.iter().map(key).collect();
            for op in similar::capture_diff_slices(similar::Algorithm::Myers, &bk, &ak) {
                let (tag, old, new) = op.as_tag_tuple();
                if tag == similar::DiffTag::Equal {
                    continue;
                }
                let pairs = old.len().min(new.len());
                for k in 0..pairs {
                    let (i, j) = (old.start + k, new.start + k);
                    walk_diff(&b[i], &a[j], &format!("{path}[{j}]"), secret, out);
                }
                for i in old.clone().skip(pairs) {
                    push(
                        out,
                        format!("{path}[{i}]"),
                        ChangeKind::Removed,
                        Some(&b[i]),
                        None,
                        secret,
                    );
                }
                for j in new.clone().skip(pairs) {
                    push(
                        out,
                        format!("{path}[{j}]"),
                        ChangeKind::Added,
                        None,
                        Some(&a[j]),
                        secret,
                    );
                }
            }
        }
        _ => push(
            out,
            path.to_string(),
            ChangeKind::Changed,
            Some(before),
            Some(after),
            secret,
        ),
    }
}

/// Compares any two asset documents by JSON path.
pub(crate) fn diff_json(before: &Value, after: &Value) -> Vec<Change> {
    let mut raw = Vec::new();
    walk_diff(before, after, "$", false, &mut raw);
    raw.into_iter()
        .map(|r| Change {
            kind: r.kind,
            subject: ChangeSubject::Field,
            path: r.path,
            step: None,
            step_label: None,
            field: None,
            before: r.before,
            after: r.after,
        })
        .collect()
}

/// Compares two versions of an asset of the given type.
pub(crate) fn diff_asset(asset_type: &crate::asset::AssetType, before: &Value, after: &Value) -> Vec<Change> {
    if *asset_type == crate::asset::AssetType::Recipe
        && before.get("code").is_some()
        && after.get("code").is_some()
    {
        diff_recipe(before, after)
    } else {
        diff_json(before, after)
    }
}

/// A recipe step found by [`steps`].
struct Step<'a> {
    /// Identity across versions.
    key: String,
    number: Option<u64>,
    label: String,
    path: String,
    parent: Option<String>,
    value: &'a Value,
}

/// The step's content compared between versions: everything but its children, number and ids.
fn own(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "block" | "number" | "uuid"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn step_label(v: &Value) -> String {
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let keyword = s("keyword").unwrap_or("step");
    match (s("provider"), s("name")) {
        (Some(p), Some(n)) => format!("{keyword} {p}.{n}"),
        (Some(p), None) => format!("{keyword} {p}"),
        _ => keyword.to_string(),
    }
}

/// Every step of a recipe's `code`, in order (the trigger first).
fn steps(code: &Value) -> Vec<Step<'_>> {
    fn walk<'a>(
        v: &'a Value,
        path: String,
        parent: Option<String>,
        seen: &mut HashMap<String, usize>,
        out: &mut Vec<Step<'a>>,
    ) {
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        let base = match (s("uuid"), s("as")) {
            (Some(u), _) => format!("uuid:{u}"),
            (None, Some(a)) => format!("as:{a}"),
            _ => format!(
                "op:{}:{}:{}",
                s("keyword").unwrap_or(""),
                s("provider").unwrap_or(""),
                s("name").unwrap_or("")
            ),
        };
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let key = if *n == 1 { base } else { format!("{base}#{n}") };
        out.push(Step {
            key: key.clone(),
            number: v.get("number").and_then(Value::as_u64),
            label: step_label(v),
            path: path.clone(),
            parent,
            value: v,
        });
        if let Some(Value::Array(children)) = v.get("block") {
            for (i, c) in children.iter().enumerate() {
                if c.is_object() {
                    walk(c, format!("{path}.block[{i}]"), Some(key.clone()), seen, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(code, "$.code".into(), None, &mut HashMap::new(), &mut out);
    out
}

/// Paths of the assets a recipe references under `key` (`account_id`, `flow_id`), with the JSON
/// path of each first use.
fn references(v: &Value, key: &str) -> Vec<(String, String)> {
    fn walk(v: &Value, key: &str, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = key_segment(path, k);
                    if k == key
                        && let Some(z) = x.get("zip_name").and_then(Value::as_str)
                    {
                        if !out.iter().any(|(n, _)| n == z) {
                            out.push((z.to_string(), p.clone()));
                        }
                        continue;
                    }
                    walk(x, key, &p, out);
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    walk(x, key, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, key, "$", &mut out);
    out
}

/// Compares two versions of a recipe: steps, references, config, other keys.
pub(crate) fn diff_recipe(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    let empty = Value::Null;
    let old = steps(before.get("code").unwrap_or(&empty));
    let new = steps(after.get("code").unwrap_or(&empty));
    let old_by_key: HashMap<&str, usize> = old.iter().enumerate().map(|(i, s)| (s.key.as_str(), i)).collect();
    let new_keys: BTreeSet<&str> = new.iter().map(|s| s.key.as_str()).collect();
    // Steps in both, in each version's order: those off the longest common order moved.
    let common_old: Vec<&str> = old
        .iter()
        .map(|s| s.key.as_str())
        .filter(|k| new_keys.contains(k))
        .collect();
    let common_new: Vec<&str> = new
        .iter()
        .map(|s| s.key.as_str())
        .filter(|k| old_by_key.contains_key(k))
        .collect();
    let mut in_order: BTreeSet<&str> = BTreeSet::new();
    for op in similar::capture_diff_slices(similar::Algorithm::Lcs, &common_old, &common_new) {
        if let similar::DiffOp::Equal { new_index, len, .. } = op {
            in_order.extend(&common_new[new_index..new_index + len]);
        }
    }
    let subject = |s: &Step<'_>| {
        if s.parent.is_none() {
            ChangeSubject::Trigger
        } else {
            ChangeSubject::Step
        }
    };
    for s in &new {
        let Some(&oi) = old_by_key.get(s.key.as_str()) else {
            out.push(Change {
                kind: ChangeKind::Added,
                subject: subject(s),
                path: s.path.clone(),
                step: s.number,
                step_label: Some(s.label.clone()),
                field: None,
                before: None,
                after: Some(presentable(&own(s.value))),
            });
            continue;
        };
        let o = &old[oi];
        if o.parent != s.parent || !in_order.contains(s.key.as_str()) {
            out.push(Change {
                kind: ChangeKind::Moved,
                subject: subject(s),
                path: s.path.clone(),
                step: s.number,
                step_label: Some(s.label.clone()),
                field: None,
                before: o.number.map(Value::from),
                after: s.number.map(Value::from),
            });
        }
        let mut raw = Vec::new();
        walk_diff(&own(o.value), &own(s.value), "", false, &mut raw);
        for r in raw {
            let field = r.path.trim_start_matches('.').to_string();
            out.push(Change {
                kind: r.kind,
                subject: subject(s),
                path: format!("{}{}", s.path, r.path),
                step: s.number,
                step_label: Some(s.label.clone()),
                field: Some(field),
                before: r.before,
                after: r.after,
            });
        }
    }
    for o in old.iter().filter(|o| !new_keys.contains(o.key.as_str())) {
        out.push(Change {
            kind: ChangeKind::Removed,
            subject: subject(o),
            path: o.path.clone(),
            step: o.number,
            step_label: Some(o.label.clone()),
            field: None,
            before: Some(presentable(&own(o.value))),
            after: None,
        });
    }
    reference_changes(before, after, &mut out);
    config_changes(before, after, &mut out);
    // Every other top-level key.
    let rest = |v: &Value| -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "code" | "config"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            other => other.clone(),
        }
    };
    out.extend(diff_json(&rest(before), &rest(after)));
    out
}

/// Connections and called recipes a recipe now uses, or no longer uses.
fn reference_changes(before: &Value, after: &Value, out: &mut Vec<Change>) {
    for (key, subject) in [
        ("account_id", ChangeSubject::Connection),
        ("flow_id", ChangeSubject::CalledRecipe),
    ] {
        let b = references(before, key);
        let a = references(after, key);
        for (name, path) in &a {
            if !b.iter().any(|(n, _)| n == name) {
                out.push(reference_change(
                    ChangeKind::Added,
                    subject,
                    path,
                    None,
                    Some(name),
                ));
            }
        }
        for (name, path) in &b {
            if !a.iter().any(|(n, _)| n == name) {
                out.push(reference_change(
                    ChangeKind::Removed,
                    subject,
                    path,
                    Some(name),
                    None,
                ));
            }
        }
    }
}

/// A recipe's `config`, compared one entry per provider.
fn config_changes(before: &Value, after: &Value, out: &mut Vec<Change>) {
    let config = |v: &Value| -> Vec<(String, Value)> {
        v.get("config")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|c| {
                        let p = c
                            .get("provider")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        (p, c.clone())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (bc, ac) = (config(before), config(after));
    let index_of = |list: &[(String, Value)], p: &str| list.iter().position(|(q, _)| q == p);
    for (j, (p, av)) in ac.iter().enumerate() {
        let path = format!("$.config[{j}]");
        match index_of(&bc, p) {
            Some(i) => {
                let mut raw = Vec::new();
                walk_diff(&bc[i].1, av, &path, false, &mut raw);
                out.extend(
                    raw.into_iter()
                        .map(|r| config_change(r.kind, r.path, r.before, r.after)),
                );
            }
            None => out.push(config_change(
                ChangeKind::Added,
                path,
                None,
                Some(presentable(av)),
            )),
        }
    }
    for (i, (p, bv)) in bc.iter().enumerate() {
        if index_of(&ac, p).is_none() {
            out.push(config_change(
                ChangeKind::Removed,
                format!("$.config[{i}]"),
                Some(presentable(bv)),
                None,
            ));
        }
    }
}

fn reference_change(
    kind: ChangeKind,
    subject: ChangeSubject,
    path: &str,
    before: Option<&String>,
    after: Option<&String>,
) -> Change {
    Change {
        kind,
        subject,
        path: path.to_string(),
        step: None,
        step_label: None,
        field: None,
        before: before.map(|s| Value::from(s.as_str())),
        after: after.map(|s| Value::from(s.as_str())),
    }
}

fn config_change(kind: ChangeKind, path: String, before: Option<Value>, after: Option<Value>) -> Change {
    Change {
        kind,
        subject: ChangeSubject::Config,
        path,
        step: None,
        step_label: None,
        field: None,
        before,
        after,
    }
}

/// A unified diff of the pretty JSON of both versions (secrets replaced), with the asset path
/// as header; empty when they are equal.
pub fn text_diff(path: &str, before: &Value, after: &Value) -> String {
    let pretty = |v: &Value| String::from_utf8_lossy(&crate::json::to_pretty_vec(&redacted(v))).into_owned();
    let (b, a) = (pretty(before), pretty(after));
    if b == a {
        return String::new();
    }
    similar::TextDiff::from_lines(&b, &a)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn recipe(steps: Value) -> Value {
        json!({
            "name": "Sync",
            "version": 1,
            "code": {
                "number": 0, "keyword": "trigger", "provider": "salesforce", "name": "new_sobject",
                "as": "t", "uuid": "u0", "input": {"sobject_name": "Order"},
                "block": steps
            },
            "config": [
                {"keyword": "application", "provider": "salesforce",
                 "account_id": {"zip_name": "c/sf.connection.json", "name": "SF", "folder": "c"}}
            ]
        })
    }

    fn step(n: u64, uuid: &str, name: &str, input: Value) -> Value {
        json!({"number": n, "keyword": "action", "provider": "salesforce", "name": name,
               "as": uuid, "uuid": uuid, "input": input})
    }

    #[test]
    fn a_changed_step_input_is_named_by_step_and_field() {
        let a = recipe(json!([step(1, "a", "update_record", json!({"Email": "x"}))]));
        let b = recipe(json!([step(1, "a", "update_record", json!({"Email": "y"}))]));
        let changes = diff_recipe(&a, &b);
        assert_eq!(changes.len(), 1, "{changes:?}");
        let c = &changes[0];
        assert_eq!(c.kind, ChangeKind::Changed);
        assert_eq!(c.step, Some(1));
        assert_eq!(c.path, "$.code.block[0].input.Email");
        assert_eq!(
            c.describe(),
            "step 1 (action salesforce.update_record): input.Email changed"
        );
        assert_eq!(c.before, Some(json!("x")));
        assert_eq!(c.after, Some(json!("y")));
    }

    #[test]
    fn an_inserted_step_is_added_and_renumbering_is_not_a_change() {
        let a = recipe(json!([
            step(1, "a", "get", json!({})),
            step(2, "b", "update", json!({}))
        ]));
        let b = recipe(json!([
            step(1, "n", "create", json!({})),
            step(2, "a", "get", json!({})),
            step(3, "b", "update", json!({}))
        ]));
        let changes = diff_recipe(&a, &b);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].kind, ChangeKind::Added);
        assert_eq!(changes[0].step, Some(1));
        assert_eq!(changes[0].describe(), "step 1 (action salesforce.create) added");
    }

    #[test]
    fn swapped_steps_move_and_removed_steps_are_removed() {
        let a = recipe(json!([
            step(1, "a", "get", json!({})),
            step(2, "b", "update", json!({})),
            step(3, "c", "delete", json!({}))
        ]));
        let b = recipe(json!([
            step(1, "b", "update", json!({})),
            step(2, "a", "get", json!({}))
        ]));
        let changes = diff_recipe(&a, &b);
        let kinds: Vec<(ChangeKind, Option<u64>)> = changes.iter().map(|c| (c.kind, c.step)).collect();
        assert!(kinds.contains(&(ChangeKind::Removed, Some(3))), "{changes:?}");
        assert_eq!(
            kinds.iter().filter(|(k, _)| *k == ChangeKind::Moved).count(),
            1,
            "{changes:?}"
        );
    }

    #[test]
    fn connections_and_called_recipes_now_used_and_no_longer_used() {
        let mut a = recipe(json!([]));
        let mut b = recipe(json!([{
            "number": 1, "keyword": "action", "provider": "workato_recipe_function", "name": "call_recipe",
            "as": "c", "uuid": "c", "input": {"flow_id": {"zip_name": "shared/x.recipe.json", "name": "X", "folder": "shared"}}
        }]));
        b["config"][0]["account_id"]["zip_name"] = json!("c/sf2.connection.json");
        a["description"] = json!("old");
        let changes = diff_recipe(&a, &b);
        let lines: Vec<String> = changes.iter().map(Change::describe).collect();
        assert!(
            lines.contains(&"now uses called recipe \"shared/x.recipe.json\"".to_string()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"now uses connection \"c/sf2.connection.json\"".to_string()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"no longer uses connection \"c/sf.connection.json\"".to_string()),
            "{lines:?}"
        );
        assert!(lines.contains(&"description removed".to_string()), "{lines:?}");
        assert!(
            changes
                .iter()
                .any(|c| c.subject == ChangeSubject::Config && c.kind == ChangeKind::Changed)
        );
    }

    #[test]
    fn secrets_never_appear_and_long_values_are_cut() {
        let long = "x".repeat(5000);
        let a = json!({"settings": {"api_key": "sk-old-123", "note": "a"}, "text": "short"});
        let b =
            json!({"settings": {"api_key": "sk-new-456", "note": "b", "password": "hunter2"}, "text": long});
        let changes = diff_json(&a, &b);
        let all = serde_json::to_string(&changes).unwrap_or_default();
        assert!(
            !all.contains("sk-old-123") && !all.contains("sk-new-456") && !all.contains("hunter2"),
            "{all}"
        );
        assert!(all.contains(SECRET_PLACEHOLDER));
        let text = changes
            .iter()
            .find(|c| c.path == "$.text")
            .and_then(|c| c.after.clone());
        let text = text
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        assert!(text.len() < 400 && text.contains("more characters"), "{text}");
        let unified = text_diff("x.json", &a, &b);
        assert!(
            !unified.contains("sk-new-456") && !unified.contains("hunter2"),
            "{unified}"
        );
        assert!(unified.contains("+++ b/x.json"), "{unified}");
    }

    #[test]
    fn arrays_report_inserted_items_not_every_shifted_one() {
        let a = json!({"rows": [1, 2, 3, 4]});
        let b = json!({"rows": [0, 1, 2, 3, 4]});
        let changes = diff_json(&a, &b);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].path, "$.rows[0]");
        assert_eq!(changes[0].kind, ChangeKind::Added);
    }

    #[test]
    fn odd_keys_are_quoted_in_paths() {
        let changes = diff_json(&json!({"a b": 1}), &json!({"a b": 2}));
        assert_eq!(changes[0].path, "$[\"a b\"]");
    }
}
