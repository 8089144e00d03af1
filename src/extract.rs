//! Streaming extraction of an asset's summary straight from its JSON bytes.
//!
//! Loading a workspace only needs a small summary of each asset (name, references, config
//! bindings, custom connector steps, account properties), so the bytes are walked once with a
//! serde visitor instead of being built into a `serde_json::Value` tree: no allocation per
//! node, only for the strings that are kept. The result is the same as
//! [`crate::asset::summarize`] on a parsed value (tested against it).

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::asset::{self, AssetSummary, AssetType, Binding, IStr, JsonKind, StepKind, StepUse, ZipRef};
use crate::error::{Error, Result};

/// serde_json's key for an arbitrary-precision number presented as a map.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// A step seen anywhere under `code`, before the custom providers are known.
struct RawStep {
    provider: String,
    kind: StepKind,
    name: String,
    number: u64,
}

#[derive(Default)]
struct Raw {
    refs: Vec<ZipRef>,
    steps: Vec<RawStep>,
    bindings: Vec<Binding>,
    properties: Vec<IStr>,
    project_properties: Vec<IStr>,
    tags: Vec<IStr>,
    /// The keys of a top-level `data` object (a project properties file's).
    data_keys: Vec<String>,
    /// The `title`s of objects that are elements of a top-level array (a tags file's).
    tag_titles: Vec<String>,
    name: Option<String>,
    title: Option<String>,
    note: Option<String>,
    version_no: Option<u64>,
    provider: Option<String>,
    keys: Vec<String>,
    /// The document is an object (else its kind comes from what the visit returns).
    top_object: bool,
    /// Kinds of the top-level fields validation watches ([`asset::WATCHED_FIELDS`]).
    fields: Vec<(&'static str, JsonKind)>,
}

/// What a visited value was, as far as its parent needs to know.
enum Got {
    Str(Option<String>),
    Num(Option<u64>),
    Bool(bool),
    Map { zip_name: Option<String>, custom: bool },
    Seq,
    Null,
    Other,
}

impl Got {
    /// The JSON kind of what was visited (a map below the top is an object).
    fn kind(&self) -> JsonKind {
        match self {
            Got::Str(_) => JsonKind::String,
            Got::Num(Some(_)) => JsonKind::Integer,
            Got::Num(None) => JsonKind::Number,
            Got::Bool(_) => JsonKind::Bool,
            Got::Map { .. } | Got::Other => JsonKind::Object,
            Got::Seq => JsonKind::Array,
            Got::Null => JsonKind::Null,
        }
    }
}

#[derive(Clone, Copy)]
struct Where<'k> {
    /// The key this value sits under (arrays pass their key on to their elements).
    key: Option<&'k str>,
    /// Depth: 0 for the document, 1 for its fields, ...
    depth: usize,
    /// Inside the recipe's `code`.
    in_code: bool,
    /// A direct element of the top-level `config` array.
    config_entry: bool,
    /// A direct element of the top-level `tags` array.
    tag_entry: bool,
}

struct ValueSeed<'r, 'k> {
    raw: &'r mut Raw,
    at: Where<'k>,
}

fn keep_string(key: Option<&str>) -> bool {
    matches!(
        key,
        Some("zip_name" | "name" | "provider" | "keyword" | "title" | "note")
    )
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = Got;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Got, D::Error> {
        d.deserialize_any(self)
    }
}

impl ValueSeed<'_, '_> {
    fn string(self, v: &str) -> Got {
        if memchr::memmem::find(v.as_bytes(), b"account_propert").is_some() {
            asset::scan_properties(v, &mut self.raw.properties);
        }
        if memchr::memmem::find(v.as_bytes(), b"project_property").is_some() {
            asset::scan_project_properties(v, &mut self.raw.project_properties);
        }
        if self.at.tag_entry {
            asset::push_tag(&mut self.raw.tags, v);
        }
        Got::Str(keep_string(self.at.key).then(|| v.to_string()))
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = Got;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Got, E> {
        Ok(self.string(v))
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Got, E> {
        Ok(Got::Bool(v))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Got, E> {
        Ok(Got::Num(Some(v)))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Got, E> {
        Ok(Got::Num(u64::try_from(v).ok()))
    }

    fn visit_f64<E>(self, _: f64) -> std::result::Result<Got, E> {
        Ok(Got::Num(None))
    }

    fn visit_unit<E>(self) -> std::result::Result<Got, E> {
        Ok(Got::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Got, A::Error> {
        let at = Where {
            depth: self.at.depth + 1,
            config_entry: self.at.depth == 1 && self.at.key == Some("config"),
            tag_entry: self.at.depth == 1 && self.at.key == Some("tags"),
            ..self.at
        };
        while seq.next_element_seed(ValueSeed { raw: self.raw, at })?.is_some() {}
        Ok(Got::Seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Got, A::Error> {
        let raw = self.raw;
        let (mut zip_name, mut name, mut provider, mut keyword, mut title, mut note) =
            (None, None, None, None, None, None);
        let (mut number, mut version_no, mut custom) = (None, None, false);
        let mut account: Option<(Option<String>, bool)> = None;
        let mut first = true;
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        let mut seen_set: std::collections::HashSet<Cow<'de, str>> = Default::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if first && key == NUMBER_TOKEN {
                // An arbitrary-precision number: its digits come as a string.
                let digits: String = map.next_value()?;
                return Ok(Got::Num(digits.parse().ok()));
            }
            first = false;
            // A key given twice in one object is ambiguous (readers disagree on which wins):
            // refuse it rather than guess.
            // Small objects (nearly all) are checked by a scan; large ones through a set, so a
            // hostile object with a million keys stays linear.
            let repeated = if seen_set.is_empty() && seen.len() < 32 {
                let r = seen.contains(&key);
                seen.push(key.clone());
                r
            } else {
                if seen_set.is_empty() {
                    seen_set.extend(seen.drain(..));
                }
                !seen_set.insert(key.clone())
            };
            if repeated {
                return Err(serde::de::Error::custom(format!(
                    "the key `{key}` appears twice in one object"
                )));
            }
            let at = Where {
                key: Some(&key),
                depth: self.at.depth + 1,
                in_code: self.at.in_code || (self.at.depth == 0 && key == "code"),
                config_entry: false,
                tag_entry: false,
            };
            if self.at.depth == 0 && raw.keys.len() < 100_000 {
                raw.keys.push(key.to_string());
            }
            if self.at.depth == 1 && self.at.key == Some("data") && raw.data_keys.len() < 100_000 {
                raw.data_keys.push(key.to_string());
            }
            let got = map.next_value_seed(ValueSeed { raw: &mut *raw, at })?;
            if self.at.depth == 0
                && let Some(f) = asset::WATCHED_FIELDS.iter().find(|f| **f == key)
            {
                raw.fields.push((f, got.kind()));
            }
            match got {
                Got::Str(Some(s)) => match key.as_ref() {
                    "zip_name" => zip_name = Some(s),
                    "name" => name = Some(s),
                    "provider" => provider = Some(s),
                    "keyword" => keyword = Some(s),
                    "title" => title = Some(s),
                    "note" => note = Some(s),
                    _ => {}
                },
                Got::Num(n) => match key.as_ref() {
                    "number" => number = n,
                    "version_no" => version_no = n,
                    _ => {}
                },
                Got::Bool(b) if key == "custom" => custom = b,
                Got::Map { zip_name, custom } if key == "account_id" => account = Some((zip_name, custom)),
                _ => {}
            }
        }
        if let Some(z) = &zip_name {
            raw.refs.push(ZipRef {
                key: self.at.key.unwrap_or("reference").into(),
                zip_name: z.into(),
                name: name.as_deref().map(IStr::new),
            });
        }
        if self.at.in_code
            && let (Some(p), Some(n), Some(kind)) = (&provider, &name, keyword.as_deref().and_then(step_kind))
        {
            raw.steps.push(RawStep {
                provider: p.clone(),
                kind,
                name: n.clone(),
                number: number.unwrap_or(0),
            });
        }
        if self.at.config_entry
            && let Some(p) = &provider
        {
            let (connection, custom) = account.clone().unwrap_or((None, false));
            raw.bindings.push(Binding {
                provider: p.into(),
                connection: connection.map(IStr::from),
                custom,
            });
        }
        if self.at.depth == 1
            && self.at.key.is_none()
            && let Some(t) = &title
            && !raw.tag_titles.contains(t)
        {
            raw.tag_titles.push(t.clone());
        }
        if self.at.depth == 0 {
            raw.top_object = true;
            raw.name = name;
            raw.title = title;
            raw.note = note;
            raw.version_no = version_no;
            raw.provider = provider;
            return Ok(Got::Other);
        }
        Ok(Got::Map { zip_name, custom })
    }
}

fn step_kind(keyword: &str) -> Option<StepKind> {
    match keyword {
        "trigger" => Some(StepKind::Trigger),
        "action" => Some(StepKind::Action),
        _ => None,
    }
}

/// A map key, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Summarises an asset from its JSON bytes; `origin` names it in errors.
pub fn summarize_bytes(origin: &str, asset_type: &AssetType, bytes: &[u8]) -> Result<AssetSummary> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut raw = Raw::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let at = Where {
        key: None,
        depth: 0,
        in_code: false,
        config_entry: false,
        tag_entry: false,
    };
    let top = ValueSeed { raw: &mut raw, at }
        .deserialize(&mut de)
        .and_then(|got| de.end().map(|()| got))
        .map_err(|e| Error::json(origin, &e))?;
    let top = if raw.top_object {
        JsonKind::Object
    } else {
        top.kind()
    };
    let fields = std::mem::take(&mut raw.fields);
    let invalid = asset::shape_problems(asset_type, top, |k| {
        fields.iter().find(|(f, _)| *f == k).map(|(_, kind)| *kind)
    });
    let mut s = AssetSummary {
        name: match asset_type {
            AssetType::CustomAdapter => raw.title,
            _ => raw.name,
        },
        refs: raw.refs,
        properties: raw.properties,
        project_properties: raw.project_properties,
        tags: raw.tags,
        invalid,
        ..Default::default()
    };
    match asset_type {
        AssetType::CustomAdapter => {
            s.version_no = raw.version_no;
            s.note = raw.note;
        }
        AssetType::Connection => s.provider = raw.provider.map(IStr::from),
        AssetType::Properties => s.keys = raw.keys,
        AssetType::ProjectProperties => s.keys = raw.data_keys,
        AssetType::Tags => s.keys = raw.tag_titles,
        _ => {}
    }
    if *asset_type == AssetType::Recipe {
        s.bindings = raw.bindings;
        let custom: Vec<&str> = s
            .bindings
            .iter()
            .filter(|b| b.custom)
            .map(|b| b.provider.as_str())
            .collect();
        // Steps using the same action are merged; a map keeps that linear however many steps.
        let mut index: std::collections::HashMap<(IStr, StepKind, IStr), usize> = Default::default();
        for step in raw.steps {
            if !(custom.contains(&step.provider.as_str())
                || crate::slug::parse_provider_name(&step.provider).is_some())
            {
                continue;
            }
            let key = (IStr::from(step.provider), step.kind, IStr::from(step.name));
            match index.get(&key) {
                Some(&i) => s.uses[i].steps.push(step.number),
                None => {
                    index.insert(key.clone(), s.uses.len());
                    s.uses.push(StepUse {
                        provider: key.0,
                        kind: key.1,
                        name: key.2,
                        steps: vec![step.number],
                    });
                }
            }
        }
        asset::order_uses(&mut s.uses);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(keys: &[String]) -> Vec<u8> {
        let fields: Vec<String> = keys.iter().map(|k| format!("\"{k}\": 1")).collect();
        format!("{{\"name\": \"x\", \"input\": {{{}}}}}", fields.join(", ")).into_bytes()
    }

    #[test]
    fn a_repeated_key_is_refused_in_small_and_large_objects() {
        for n in [3, 31, 32, 33, 40, 5000] {
            let mut keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
            let ok = summarize_bytes("a.recipe.json", &AssetType::Recipe, &object(&keys));
            assert!(ok.is_ok(), "{n} distinct keys: {ok:?}");
            keys.push("k0".into());
            let err = summarize_bytes("a.recipe.json", &AssetType::Recipe, &object(&keys)).unwrap_err();
            assert!(err.to_string().contains("`k0` appears twice"), "{n}: {err}");
        }
    }

    /// The streaming extractor and the value-based oracle agree on project properties, the
    /// tags an asset carries, a project properties file's `data` keys and a tags file's titles,
    /// including shapes that only look alike.
    #[test]
    fn project_properties_and_tags_agree_with_the_oracle() {
        let cases: &[(AssetType, &str)] = &[
            (
                AssetType::Recipe,
                r##"{"name": "r", "code": {"input": {"a": "#{_dp('{\"pill_type\":\"project_property\",\"property_name\":\"abc.def\"}')} #{_dp('{\"pill_type\":\"project_property\",\"property_name\":\"abc.def\"}')}"}}, "tags": ["QA", "PROD", "QA"]}"##,
            ),
            (
                AssetType::Recipe,
                r##"{"name": "r", "code": {}, "tags": {"tags": "not a tag"}, "x": {"tags": ["nor this"]}}"##,
            ),
            (
                AssetType::Recipe,
                r##"{"name": "r", "code": {}, "tags": [["nested"], {"title": "obj"}, 3]}"##,
            ),
            (
                AssetType::ProjectProperties,
                r##"{"data": {"abc.def": null, "abc.defg": "v"}, "other": {"k": 1}}"##,
            ),
            (
                AssetType::ProjectProperties,
                r##"{"data": [{"k": 1}], "x": {"data": {"no": 1}}}"##,
            ),
            (
                AssetType::Tags,
                r##"[{"title": "target", "color": "blue"}, {"title": "target"}, {"title": 3}, "x", [{"title": "deep"}]]"##,
            ),
        ];
        for (t, text) in cases {
            let streamed = summarize_bytes("a.json", t, text.as_bytes()).unwrap();
            let oracle = asset::summarize(t, &serde_json::from_str(text).unwrap());
            assert_eq!(streamed, oracle, "{text}");
        }
        let s = summarize_bytes("a.json", &AssetType::Recipe, cases[0].1.as_bytes()).unwrap();
        assert_eq!(s.project_properties, vec![IStr::new("abc.def")]);
        assert_eq!(s.tags, vec![IStr::new("QA"), IStr::new("PROD")]);
        let tags = summarize_bytes("tags.json", &AssetType::Tags, cases[5].1.as_bytes()).unwrap();
        assert_eq!(tags.keys, vec!["target".to_string()]);
        assert!(tags.invalid.is_empty(), "a tags file is an array");
        let props = summarize_bytes("p.json", &AssetType::ProjectProperties, cases[3].1.as_bytes()).unwrap();
        assert_eq!(props.keys, vec!["abc.def".to_string(), "abc.defg".to_string()]);
    }
}
