//! Secrets: what looks like a credential and never leaves an environment. Export strips
//! secret-looking connection fields and property values ([`strip_connection`],
//! [`is_secret_key`]); import strips them from what it writes; the semantic diff shows
//! [`SECRET_PLACEHOLDER`] instead of their values; install credentials live in
//! [`SECRETS_DIR`] (files of mode 0600, ignored by git, never packaged).

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The folder of secrets inside `.rlcm/` (mode 0600 files, ignored by git, never packaged).
pub const SECRETS_DIR: &str = ".rlcm/secrets";

/// What the semantic diff shows instead of a secret's value.
pub const SECRET_PLACEHOLDER: &str = "(secret, not shown)";

/// A secret-looking field removed from a connection or property.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct StrippedSecret {
    /// The asset.
    pub path: String,
    /// The field (dotted path inside the asset).
    pub field: String,
}

static SECRET_KEY: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    Regex::new(
        r"(?i)(passw(or)?d|passphrase|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|signing[_-]?key|credential|auth[_-]?code|client[_-]?id|cert(ificate)?|session|cookie|bearer|pin$)",
    )
    .expect("valid regex")
});

/// True for a field name that looks like it holds a credential.
pub(crate) fn is_secret_key(key: &str) -> bool {
    SECRET_KEY.is_match(key)
}

/// Keys of a connection that are never credentials.
const CONNECTION_KEEP: &[&str] = &[
    "name",
    "provider",
    "root_folder",
    "secure_gateway_tunnel_name",
    "folder",
    "description",
];

/// Removes everything credential-like from a connection: any field outside the known
/// non-secret ones whose name looks secret, recursively.
pub(crate) fn strip_connection(value: &mut Value, path: &str, out: &mut Vec<StrippedSecret>) {
    fn walk(v: &mut Value, prefix: &str, top: bool, path: &str, out: &mut Vec<StrippedSecret>) {
        if let Value::Object(map) = v {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let field = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if top && CONNECTION_KEEP.contains(&k.as_str()) {
                    continue;
                }
                if is_secret_key(&k) {
                    map.shift_remove(&k);
                    out.push(StrippedSecret {
                        path: path.to_string(),
                        field,
                    });
                } else if let Some(child) = map.get_mut(&k) {
                    walk(child, &field, false, path, out);
                }
            }
        }
    }
    walk(value, "", true, path, out);
}
