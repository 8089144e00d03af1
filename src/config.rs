//! The user's own configuration and cache directories, and the named-entry TOML files kept in
//! them (`remotes.toml` for Workato workspaces, `registries.toml` for connector registries).
//!
//! These files store the **name** of the environment variable that holds a token, never a token:
//! a token is read from its variable at run time only ([`token_from_env`]).
//!
//! Locations: `$RLCM_CONFIG_DIR` (else the platform's config dir + `rlcm`, e.g.
//! `~/.config/rlcm/`) and `$RLCM_CACHE_DIR` (else the platform's cache dir + `rlcm`, e.g.
//! `~/.cache/rlcm/`).

use crate::error::Subject;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::fsutil;

/// The directory holding `remotes.toml` and `registries.toml`.
pub(crate) fn config_dir() -> Result<PathBuf> {
    dir_from("RLCM_CONFIG_DIR", dirs::config_dir(), "configuration")
}

/// The directory holding mirrors and other re-creatable data.
pub(crate) fn cache_dir() -> Result<PathBuf> {
    dir_from("RLCM_CACHE_DIR", dirs::cache_dir(), "cache")
}

fn dir_from(var: &str, platform: Option<PathBuf>, what: &str) -> Result<PathBuf> {
    if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(v));
    }
    platform.map(|p| p.join("rlcm")).ok_or_else(|| {
        Error::invalid(
            Subject::Variable(var.to_string()),
            format!("cannot tell where the {what} directory is on this system (no home directory?)"),
        )
        .hint(format!(
            "\
             set {var} to a directory"
        ))
    })
}

/// Checks a remote or registry name: 1 to 64 characters of ASCII letters, digits, `-` and `_`,
/// starting with a letter or digit (so it is safe as a file name and in a variable name).
pub fn validate_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            Subject::Arguments,
            format!(
                "{what} name `{name}` is not valid: use 1 to 64 letters, digits, `-` or `_`, \
             starting with a letter or digit"
            ),
        ))
    }
}

/// The default token variable for `name`: `PREFIX` + the name upper-cased with `-` as `_`
/// (`token_var_for("RLCM_TOKEN_", "prod-eu")` is `RLCM_TOKEN_PROD_EU`).
pub(crate) fn token_var_for(prefix: &str, name: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + name.len());
    s.push_str(prefix);
    s.extend(
        name.chars()
            .map(|c| if c == '-' { '_' } else { c.to_ascii_uppercase() }),
    );
    s
}

/// Reads a token from the variable `var` at run time. The error names the variable, never a
/// value.
pub(crate) fn token_from_env(var: &str, for_what: &str) -> Result<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(Error::invalid(
            Subject::Variable(var.to_string()),
            format!("no token for {for_what}: set the environment variable {var}"),
        )),
    }
}

/// A TOML file of named entries: `[<table>.<name>]` sections, one per entry, in name order.
///
/// Reading a missing file gives no entries; writing is atomic (temporary file, fsync, rename).
#[derive(Debug)]
pub struct NamedEntries<T> {
    path: PathBuf,
    table: &'static str,
    /// The entries by name.
    pub entries: BTreeMap<String, T>,
}

impl<T: Serialize + DeserializeOwned> NamedEntries<T> {
    /// Loads `file` (e.g. `remotes.toml`) from [`config_dir`], entries under `[table.NAME]`.
    pub fn load(file: &str, table: &'static str) -> Result<Self> {
        Self::load_from(&config_dir()?.join(file), table)
    }

    /// Loads the file at `path`.
    pub(crate) fn load_from(path: &Path, table: &'static str) -> Result<Self> {
        let entries = match fsutil::read_optional(path)? {
            None => BTreeMap::new(),
            Some(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    Error::invalid(
                        Subject::path(path),
                        format!("`{}` is not UTF-8 text", path.display()),
                    )
                })?;
                let mut doc: BTreeMap<String, BTreeMap<String, T>> = toml::from_str(&text).map_err(|e| {
                    Error::invalid(
                        Subject::path(path),
                        format!(
                            "`{}` is not a valid rlcm configuration file: {}",
                            path.display(),
                            e.message()
                        ),
                    )
                    .hint("fix or remove it")
                })?;
                doc.remove(table).unwrap_or_default()
            }
        };
        Ok(NamedEntries {
            path: path.to_path_buf(),
            table,
            entries,
        })
    }

    /// The file these entries live in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the entries back atomically.
    pub(crate) fn save(&self) -> Result<()> {
        let mut doc = BTreeMap::new();
        doc.insert(self.table, &self.entries);
        let text = toml::to_string(&doc).map_err(|e| {
            Error::invalid(
                Subject::path(&self.path),
                format!("cannot write `{}`: {e}", self.path.display()),
            )
        })?;
        fsutil::write_atomic(&self.path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Remote {
        url: String,
        token_env: String,
    }

    #[test]
    fn names_are_checked() {
        for ok in ["prod", "prod-eu", "a_1", "9x"] {
            validate_name("remote", ok).unwrap();
        }
        for bad in ["", "-x", "a/b", "..", "a b", "é", &"x".repeat(65)] {
            assert!(validate_name("remote", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn token_variable_names() {
        assert_eq!(token_var_for("RLCM_TOKEN_", "prod-eu"), "RLCM_TOKEN_PROD_EU");
        assert_eq!(
            token_var_for("RLCM_REGISTRY_TOKEN_", "Hub_1"),
            "RLCM_REGISTRY_TOKEN_HUB_1"
        );
    }

    #[test]
    fn entries_round_trip_and_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/remotes.toml");
        let mut e: NamedEntries<Remote> = NamedEntries::load_from(&path, "remote").unwrap();
        assert!(e.entries.is_empty());
        e.entries.insert(
            "prod".into(),
            Remote {
                url: "https://www.workato.com".into(),
                token_env: "RLCM_TOKEN_PROD".into(),
            },
        );
        e.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[remote.prod]"), "{text}");
        let back: NamedEntries<Remote> = NamedEntries::load_from(&path, "remote").unwrap();
        assert_eq!(back.entries, e.entries);
    }

    #[test]
    fn a_broken_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("remotes.toml");
        std::fs::write(&path, "[remote.prod\nurl=").unwrap();
        let err = NamedEntries::<Remote>::load_from(&path, "remote").unwrap_err();
        assert!(err.to_string().contains("remotes.toml"), "{err}");
    }
}
