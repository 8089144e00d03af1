//! Stable numeric ids.
//!
//! Workato gives every folder, recipe, connection and connector a numeric id; an rlcm
//! environment has paths and titles instead. The emulator derives each id from the
//! workspace id, the kind and the asset's key (its path, or a connector's title):
//! `100000 + u64(first 8 bytes of blake3("<workspace id>\0<kind>\0<key>"), little-endian) mod 900000000`.
//! So ids are the same on every run and after a restart, differ between workspaces (as in
//! Workato), and stay below 2^53 (safe in every JSON reader).

/// What an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A folder, by path (`""`: the root).
    Folder,
    /// A project (a top-level folder), by path.
    Project,
    /// A recipe, by path.
    Recipe,
    /// A connection, by path.
    Connection,
    /// A custom connector, by title.
    CustomConnector,
    /// Any other asset, by path.
    Asset,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Folder => "folder",
            Kind::Project => "project",
            Kind::Recipe => "recipe",
            Kind::Connection => "connection",
            Kind::CustomConnector => "custom_connector",
            Kind::Asset => "asset",
        }
    }
}

/// The id of `key` of kind `kind` in workspace `workspace`.
pub fn stable_id(workspace: u64, kind: Kind, key: &str) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(workspace.to_string().as_bytes());
    h.update(b"\0");
    h.update(kind.as_str().as_bytes());
    h.update(b"\0");
    h.update(key.as_bytes());
    let bytes = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes.as_bytes()[..8]);
    100_000 + u64::from_le_bytes(first) % 900_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = stable_id(7, Kind::Recipe, "orders/sync.recipe.json");
        assert_eq!(a, stable_id(7, Kind::Recipe, "orders/sync.recipe.json"));
        assert_ne!(a, stable_id(8, Kind::Recipe, "orders/sync.recipe.json"));
        assert_ne!(a, stable_id(7, Kind::Connection, "orders/sync.recipe.json"));
        assert!((100_000..900_100_000).contains(&a));
    }
}
