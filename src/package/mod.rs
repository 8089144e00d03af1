//! Packages: the deterministic zip rlcm writes, its `rlcm-package.json`, and verification.
//!
//! A package is a zip in Workato's layout (SPEC §2, §3) plus one entry of rlcm's own,
//! [`MANIFEST_NAME`], written last: a [`PackageManifest`] listing every asset, connector and
//! file entry with its size and blake3, and a root digest over the whole document.
//!
//! - [`write`]: [`write_package`] writes a package byte for byte reproducibly, re-reads it and
//!   checks every entry before renaming it into place.
//! - [`verify`]: [`verify_package`] checks a package against its manifest and lists every
//!   mismatch; [`ensure_verified`] is the gate plan and import pass a package through.
//!
//! # The root digest
//!
//! `digest` is the blake3 (hex) of the document's canonical bytes: compact JSON (serde_json,
//! no whitespace) of the document without its `digest` field, with the fields in the order
//! [`PackageManifest`] declares them, every list in the order the document holds it, and the
//! keys of the embedded export `manifest` sorted by byte order at every depth. The writer sorts
//! `assets`, `connectors` and `entries` by path, so equal inputs give equal digests.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::workspace::{Target, Workspace};

pub mod verify;
pub mod write;

pub use verify::{ensure_verified, verify_package};
pub use write::{
    DEFAULT_COMPRESSION_LEVEL, DEFAULT_TIMESTAMP, FileSource, PackageFile, PackageMeta, WriteOptions,
    WrittenPackage, source_date_epoch_from_env, write_package,
};

/// The name of rlcm's own entry in a package.
pub const MANIFEST_NAME: &str = "rlcm-package.json";

/// The version of the `rlcm-package.json` format (and of [`VerifyReport`]).
pub const FORMAT_VERSION: u32 = 1;

/// `rlcm-package.json`: what a package holds, with sizes and hashes, and its root digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PackageManifest {
    /// Always 1.
    pub format_version: u32,
    /// The environment the package was exported from, when known.
    #[serde(default)]
    pub source: Option<PackageSource>,
    /// The export manifest used (as given, object keys sorted); `null` when there was none.
    #[serde(default)]
    pub manifest: Value,
    /// Every asset, sorted by path.
    pub assets: Vec<PackageAsset>,
    /// Every custom connector, sorted by path.
    pub connectors: Vec<PackageConnector>,
    /// Every file entry of the zip except `rlcm-package.json` (no directory entries), sorted
    /// by path.
    pub entries: Vec<PackageEntry>,
    /// blake3 (hex) of the canonical bytes of this document without `digest` (module docs).
    pub digest: String,
}

/// The environment a package comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackageSource {
    /// The environment's name.
    pub name: String,
    /// The environment's numeric id, when it has one.
    #[serde(default)]
    pub id: Option<u64>,
}

/// An asset of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackageAsset {
    /// Path of its JSON file, relative to the package root, `/`-separated.
    pub path: String,
    /// Asset type (`recipe`, `connection`, `custom_adapter`, ...).
    #[serde(rename = "type")]
    pub asset_type: String,
    /// Asset name.
    pub name: String,
    /// Size of its JSON file in bytes.
    pub size: u64,
    /// blake3 (hex) of its JSON file.
    pub blake3: String,
    /// The paths it references, sorted (a dangling account property is `<file>#<property>`).
    pub references: Vec<String>,
}

/// A custom connector of a package: the version it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackageConnector {
    /// Its title.
    pub title: String,
    /// Path of its `.custom_adapter.json`.
    pub path: String,
    /// Path of its Ruby code (`.custom_adapter.rb`), when it has one.
    #[serde(default)]
    pub code: Option<String>,
    /// The version carried (`version_no`).
    pub version: Option<u64>,
    /// The note of that version.
    pub note: Option<String>,
    /// blake3 (hex) of its Ruby code.
    pub code_blake3: Option<String>,
    /// Actions the code defines.
    pub actions: Vec<String>,
    /// Triggers the code defines.
    pub triggers: Vec<String>,
}

/// A file entry of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackageEntry {
    /// Path relative to the package root, `/`-separated.
    pub path: String,
    /// Size in bytes (uncompressed).
    pub size: u64,
    /// blake3 (hex) of its bytes.
    pub blake3: String,
}

/// `rlcm verify`: does a package hold exactly what its `rlcm-package.json` says?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyReport {
    /// Always 1.
    pub format_version: u32,
    /// The package checked.
    pub package: String,
    /// True when the package has an `rlcm-package.json` and everything matches it.
    pub verified: bool,
    /// True when the package has no `rlcm-package.json` (a Workato export, or written with
    /// `--workato-strict`): readable, but there is nothing to verify it against.
    pub workato_strict: bool,
    /// The root digest `rlcm-package.json` declares.
    pub digest: Option<String>,
    /// Number of file entries read and checked (`rlcm-package.json` not counted).
    pub entries_checked: u64,
    /// True when no mismatch was found.
    pub ok: bool,
    /// Every mismatch, sorted by entry.
    pub mismatches: Vec<Mismatch>,
    /// What the result means, for people.
    pub note: String,
}

/// One way a package differs from its `rlcm-package.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Mismatch {
    /// The entry concerned (`rlcm-package.json` for the digest and the document itself).
    pub entry: String,
    /// What is wrong.
    pub problem: Problem,
    /// What `rlcm-package.json` says, when it says something.
    pub expected: Option<String>,
    /// What the package holds, when it holds something.
    pub actual: Option<String>,
    /// The mismatch in words.
    pub message: String,
}

/// The kinds of [`Mismatch`], as stable kebab-case codes.
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
pub enum Problem {
    /// `rlcm-package.json` lists the entry, the package does not hold it.
    Missing,
    /// The package holds the entry, `rlcm-package.json` does not list it.
    Unlisted,
    /// The entry's size differs from the listed size.
    SizeMismatch,
    /// The entry's blake3 differs from the listed blake3.
    Blake3Mismatch,
    /// The entry cannot be read back (corrupt data, bad checksum, size not as its header says).
    Unreadable,
    /// The root digest differs from the digest of the document.
    DigestMismatch,
    /// `rlcm-package.json` itself cannot be read, is not valid, or has an unknown format.
    BadManifest,
    /// `rlcm-package.json` contradicts itself (an asset or connector disagrees with `entries`,
    /// or an entry is listed twice).
    InconsistentManifest,
    /// The entry is an asset whose JSON cannot be read (malformed, nested too deep).
    InvalidAsset,
}

impl Problem {
    /// The stable code (`missing`, `size-mismatch`, ...).
    pub fn code(self) -> &'static str {
        self.into()
    }
}

/// The canonical form of the document without its digest: the fields hashed, in order.
#[derive(Serialize)]
struct DigestInput<'a> {
    format_version: u32,
    source: &'a Option<PackageSource>,
    manifest: &'a Value,
    assets: &'a [PackageAsset],
    connectors: &'a [PackageConnector],
    entries: &'a [PackageEntry],
}

/// Returns the root digest of `manifest` (blake3 hex over its canonical bytes; module docs).
pub fn compute_digest(manifest: &PackageManifest) -> String {
    let sorted = sort_keys(manifest.manifest.clone());
    let input = DigestInput {
        format_version: manifest.format_version,
        source: &manifest.source,
        manifest: &sorted,
        assets: &manifest.assets,
        connectors: &manifest.connectors,
        entries: &manifest.entries,
    };
    let mut hasher = blake3::Hasher::new();
    serde_json::to_writer(&mut hasher, &input).expect("serialising to a hasher cannot fail");
    hasher.finalize().to_hex().to_string()
}

/// Returns `value` with the keys of every object sorted by byte order.
pub(crate) fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> = map.into_iter().map(|(k, v)| (k, sort_keys(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// Describes every asset and custom connector of a loaded workspace for a [`PackageManifest`]:
/// sizes and hashes as read, references resolved to paths, connectors with their code hash,
/// actions and triggers. Callers that rewrite an asset's bytes clear its `blake3` (empty
/// string) so [`write_package`] fills in what it writes.
pub fn describe_workspace(ws: &Workspace) -> (Vec<PackageAsset>, Vec<PackageConnector>) {
    let mut references: Vec<Vec<String>> = vec![Vec::new(); ws.assets.len()];
    for r in &ws.references {
        let to = match &r.to {
            Target::Asset(i) => ws.assets[*i].path.clone(),
            Target::Dangling(path) => path.clone(),
        };
        references[r.from].push(to);
    }
    let mut assets = Vec::with_capacity(ws.assets.len());
    let mut connectors = Vec::new();
    for (a, mut refs) in ws.assets.iter().zip(references) {
        refs.sort();
        refs.dedup();
        assets.push(PackageAsset {
            path: a.path.clone(),
            asset_type: a.asset_type.as_str().to_string(),
            name: a.name.clone(),
            size: a.size,
            blake3: a.hash.clone(),
            references: refs,
        });
        if let Some(c) = &a.connector {
            connectors.push(PackageConnector {
                title: a.name.clone(),
                path: a.path.clone(),
                code: c.code_path.clone(),
                version: a.summary.version_no,
                note: a.summary.note.clone(),
                code_blake3: c.code_hash.clone(),
                actions: c.definition.actions.clone(),
                triggers: c.definition.triggers.clone(),
            });
        }
    }
    (assets, connectors)
}

/// The JSON Schemas of the package documents, as `(file stem, schema)`:
/// `schemas/<stem>.schema.json`.
pub fn package_schemas() -> Vec<(&'static str, Value)> {
    fn schema<T: JsonSchema>() -> Value {
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
    }
    vec![
        ("package-manifest", schema::<PackageManifest>()),
        ("verify", schema::<VerifyReport>()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PackageManifest {
        PackageManifest {
            format_version: FORMAT_VERSION,
            source: Some(PackageSource {
                name: "sandbox".into(),
                id: Some(7),
            }),
            manifest: serde_json::json!({"name": "x", "folders": ["a"], "dependencies": true}),
            assets: vec![],
            connectors: vec![],
            entries: vec![PackageEntry {
                path: "a/x.recipe.json".into(),
                size: 3,
                blake3: blake3::hash(b"abc").to_hex().to_string(),
            }],
            digest: String::new(),
        }
    }

    #[test]
    fn digest_ignores_manifest_key_order_and_the_digest_field() {
        let a = sample();
        let mut b = sample();
        b.manifest = serde_json::json!({"dependencies": true, "folders": ["a"], "name": "x"});
        b.digest = "anything".into();
        assert_eq!(compute_digest(&a), compute_digest(&b));
        let mut c = sample();
        c.entries[0].size = 4;
        assert_ne!(compute_digest(&a), compute_digest(&c));
    }

    #[test]
    fn digest_survives_a_round_trip_through_the_written_document() {
        let mut m = sample();
        m.manifest = sort_keys(m.manifest);
        m.digest = compute_digest(&m);
        let text = crate::json::to_workato_vec(&m);
        let back: PackageManifest = serde_json::from_slice(&text).unwrap();
        assert_eq!(back, m);
        assert_eq!(compute_digest(&back), m.digest);
    }

    #[test]
    fn schemas_are_objects() {
        for (name, schema) in package_schemas() {
            assert!(schema.is_object(), "{name}");
        }
    }
}
