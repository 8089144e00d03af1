//! `rlcm connector ...`: a custom connector's version lifecycle (SPEC §6).
//!
//! The tree's `.custom_adapter.rb` / `.json` always show the **latest** version; recipes run the
//! **released** one; others install the **shared** one. Every change goes through one
//! [`Transaction`], so the tree and `.rlcm/` change together or not at all.

use crate::error::Subject;
use serde_json::Value;

use crate::asset::AssetType;
use crate::connector::*;
use crate::env::{self, ConnectorState, Environment, Origin, Transaction, VersionRecord};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::report::*;
use crate::ruby::{self};
use crate::workspace::Workspace;

pub use crate::env::Actor;

/// Appends `record` with `code` to the connector, staging the code file.
fn stage_version(
    txn: &mut Transaction,
    c: &mut ConnectorState,
    record: VersionRecord,
    code: &[u8],
) -> Result<()> {
    txn.write(&env::state_path(&format!("connectors/{}", record.code)), code)?;
    c.versions.push(record);
    Ok(())
}

/// The state of a connector with a history, or a fresh one for a connector found in the tree
/// without history (its history starts at version 1, unreleased).
fn connector_for_change(env: &Environment, ws: &Workspace, name: &str) -> Result<ConnectorState> {
    if let Ok(c) = env.connector(name) {
        return Ok(c.clone());
    }
    let state = env.state()?;
    let connectors: Vec<usize> = (0..ws.assets.len())
        .filter(|&i| ws.assets[i].asset_type == AssetType::CustomAdapter)
        .collect();
    let i = *crate::slug::find_by_title(&connectors, |&i| &ws.assets[i].name, name).ok_or_else(|| {
        env.connector(name)
            .err()
            .unwrap_or_else(|| Error::not_found("connector", name))
    })?;
    let a = &ws.assets[i];
    let provider = ws
        .providers
        .iter()
        .find(|(_, t)| **t == i)
        .map(|(p, _)| p.to_string())
        .unwrap_or_else(|| env::mint_provider(&a.name, state.info.id));
    Ok(ConnectorState::new(&a.name, &a.path, &provider))
}

/// What a write knows of the tree: the whole of it loaded, or the production index, valid for
/// the tree as it is under the writer lock (see [`Change::begin`]).
enum Tree {
    Loaded(Workspace),
    /// The index, and the tree as walked when it was found valid.
    Indexed(Box<(crate::index::Index, crate::source::Source)>),
}

/// Context of a write: locked environment, the tree, connector state, transaction.
struct Change {
    env: Environment,
    tree: Tree,
    c: ConnectorState,
    txn: Transaction,
    /// Set by a release check: uses rlcm cannot attribute to any connector.
    unattributed: Vec<crate::report::UnattributedUse>,
    /// The tree files written (path, blake3 of the bytes), for the index (see [`Change::finish`]).
    written: Vec<(String, String)>,
    _lock: env::EnvLock,
}

impl Change {
    /// Takes the writer lock and reads the tree: from the production index when `RLCM_INDEX`
    /// allows it, the connector has a history and the index is valid for the tree as it is
    /// (what a connector change reads of the tree — the connector's uses, the unattributed
    /// provider names — is in it); else by loading the whole tree, as before the index.
    fn begin(mut env: Environment, name: &str, actor: &Actor, label: &str) -> Result<Change> {
        let lock = env.lock(actor.wait, label)?;
        let tree = Self::read_tree(&env, name)?;
        let c = match &tree {
            Tree::Indexed(..) => env.connector(name)?.clone(),
            Tree::Loaded(ws) => connector_for_change(&env, ws, name)?,
        };
        let txn = Transaction::begin(&env.root, &format!("{label} `{}`", c.title))?;
        Ok(Change {
            env,
            tree,
            c,
            txn,
            unattributed: Vec::new(),
            written: Vec::new(),
            _lock: lock,
        })
    }

    /// Stages `bytes` for the tree file `path`.
    fn write_tree(&mut self, path: &str, bytes: &[u8]) -> Result<()> {
        self.txn.write(path, bytes)?;
        self.written.retain(|(p, _)| p != path);
        self.written
            .push((path.to_string(), blake3::hash(bytes).to_hex().to_string()));
        Ok(())
    }

    fn read_tree(env: &Environment, name: &str) -> Result<Tree> {
        use crate::index::{Index, Mode, Unusable};
        let mode = crate::index::mode();
        // A connector without a history is looked up in the loaded tree (its provider name).
        if mode == Mode::Off || env.connector(name).is_err() {
            return env.load_workspace().map(Tree::Loaded);
        }
        if std::fs::symlink_metadata(crate::index::index_path(&env.root)).is_err() {
            if mode == Mode::Require {
                return Err(crate::index::required(
                    &env.root,
                    &Unusable("there is none".into()),
                ));
            }
            return env.load_workspace().map(Tree::Loaded);
        }
        let source = crate::source::Source::open(&env.root)?;
        match Index::open(&env.root, &source) {
            Ok(idx) => Ok(Tree::Indexed(Box::new((idx, source)))),
            Err(why) if mode == Mode::Require => Err(crate::index::required(&env.root, &why)),
            Err(_) => {
                Workspace::load_with(&source, crate::cache::SummaryCache::read(&env.root)).map(Tree::Loaded)
            }
        }
    }

    /// The uses of the connector that `def` breaks, and the uses no connector is known for:
    /// from the index (when it cannot be read to the end, from the tree, loaded then).
    fn scan(&mut self, def: &ruby::ConnectorDefinition) -> Result<(Vec<BreakingUse>, Vec<UnattributedUse>)> {
        if let Tree::Indexed(b) = &self.tree {
            let idx = &b.0;
            let found = breaking_indexed(&self.env, idx, &self.c, def)
                .and_then(|breaking| Ok((breaking, unattributed_indexed(idx)?)));
            match found {
                Ok(found) => return Ok(found),
                Err(why) if crate::index::mode() == crate::index::Mode::Require => {
                    return Err(crate::index::required(&self.env.root, &why));
                }
                Err(_) => self.tree = Tree::Loaded(self.env.load_workspace()?),
            }
        }
        let Tree::Loaded(ws) = &self.tree else {
            return Err(Error::internal("the tree could not be read").hint("run the command again"));
        };
        let breaking = match tree_index(ws, &self.c) {
            Some(i) => breaking_uses(&self.env, ws, i, def),
            None => Vec::new(),
        };
        Ok((breaking, unattributed_uses(ws)))
    }

    /// Commits the tree's code as a new version when it differs from the latest.
    fn autosave(&mut self, note: &str, actor: &Actor) -> Result<Option<u64>> {
        let Some(code) = tree_code(&self.env, &self.c.path)? else {
            return Ok(None);
        };
        let hash = blake3::hash(&code).to_hex().to_string();
        if self.c.latest().is_some_and(|l| l.code_blake3 == hash) {
            return Ok(None);
        }
        let origin = if self.c.versions.is_empty() {
            Origin::Commit
        } else {
            Origin::Autosave
        };
        let record = self.c.next_version(
            &code,
            Some(note.to_string()),
            origin,
            &actor.user,
            &env::now_rfc3339(),
        );
        let version = record.version;
        stage_version(&mut self.txn, &mut self.c, record, &code)?;
        let json = updated_json(&self.env, &self.c.path, version, Some(note))?;
        let path = self.c.path.clone();
        self.write_tree(&path, &json)?;
        Ok(Some(version))
    }

    /// Refuses code that does not parse or breaks recipes here, unless forced.
    fn check_release(&mut self, version: u64, code: &[u8], force: bool) -> Result<Vec<BreakingUse>> {
        let def = ruby::parse_connector(code);
        if let Some(err) = &def.parse_error
            && !force
        {
            return Err(Error::Blocked(format!(
                "version {version} of connector `{}` does not parse as Ruby ({err}); fix it, or pass `--force`",
                self.c.title
            )));
        }
        let (breaking, unattributed) = self.scan(&def)?;
        self.unattributed = unattributed;
        if !breaking.is_empty() && !force {
            return Err(Error::Blocked(format!(
                "releasing version {version} of connector `{}` would break {} recipe step(s) that use what it no longer defines:{}\nadd them back, change those recipes first, or pass `--force`",
                self.c.title,
                breaking.len(),
                describe_breaking(&breaking)
            )));
        }
        Ok(breaking)
    }

    fn code_of(&self, version: u64) -> Result<Vec<u8>> {
        // A version autosaved in this transaction is not in `.rlcm/` yet: it is the tree's code.
        let on_disk = self
            .env
            .state()?
            .connectors
            .get(&self.c.title)
            .and_then(|c| c.version(version));
        if on_disk.is_none() {
            return Ok(tree_code(&self.env, &self.c.path)?.unwrap_or_default());
        }
        self.env.version_code(&self.c, version)
    }

    fn finish(
        mut self,
        action: ConnectorAction,
        version: Option<u64>,
        autosaved: Option<u64>,
        breaking: Vec<BreakingUse>,
        message: String,
    ) -> Result<ConnectorChangeReport> {
        let state_rel = env::connector_state_path(&self.c.title);
        let before = fsutil::read_optional(&self.env.root.join(&state_rel))?;
        let after = crate::json::to_pretty_vec(&self.c);
        if before.as_deref() != Some(after.as_slice()) {
            self.txn.write(&state_rel, &after)?;
        }
        // Every tree file the transaction writes is one `write_tree` recorded (else the index
        // is not kept: the next reader rebuilds it).
        let all_recorded = self
            .txn
            .paths()
            .filter(|p| !p.starts_with(".rlcm/"))
            .all(|p| self.written.iter().any(|(w, _)| w == p));
        self.txn.commit()?;
        match &self.tree {
            Tree::Loaded(ws) => self.env.refresh_cache(ws),
            // A connector's version changes nothing the index holds (its title, path and
            // uses stay): the index stays valid with a header for the tree as written.
            Tree::Indexed(b) if all_recorded && !self.written.is_empty() => {
                let (idx, source) = &**b;
                let _ = idx.rewrite_header(&self.env.root, source.entries(), &self.written);
            }
            Tree::Indexed(..) => {}
        }
        Ok(ConnectorChangeReport {
            format_version: FORMAT_VERSION,
            title: self.c.title.clone(),
            action,
            version,
            latest: self.c.latest().map(|v| v.version),
            released: self.c.released,
            shared: self.c.shared,
            autosaved,
            breaking,
            unattributed: self.unattributed,
            message,
        })
    }
}

/// `connector commit`: the tree's `.rb` becomes a new latest version.
pub fn commit(env: Environment, name: &str, note: &str, actor: &Actor) -> Result<ConnectorChangeReport> {
    let mut ch = Change::begin(env, name, actor, "connector commit")?;
    let Some(code) = tree_code(&ch.env, &ch.c.path)? else {
        return Err(Error::BadAsset {
            path: code_path_of(&ch.c.path),
            reason: "is missing: a connector's code lives in its `.custom_adapter.rb`".into(),
        });
    };
    let hash = blake3::hash(&code).to_hex().to_string();
    if ch.c.latest().is_some_and(|l| l.code_blake3 == hash) {
        let latest = ch.c.latest().map(|v| v.version);
        ch.txn.abort();
        return Ok(ConnectorChangeReport {
            format_version: FORMAT_VERSION,
            title: ch.c.title.clone(),
            action: ConnectorAction::None,
            version: None,
            latest,
            released: ch.c.released,
            shared: ch.c.shared,
            autosaved: None,
            breaking: Vec::new(),
            unattributed: Vec::new(),
            message: format!(
                "Nothing to commit: `{}` equals version {}.",
                code_path_of(&ch.c.path),
                latest.unwrap_or(0)
            ),
        });
    }
    let record = ch.c.next_version(
        &code,
        Some(note.to_string()),
        Origin::Commit,
        &actor.user,
        &env::now_rfc3339(),
    );
    let version = record.version;
    let parse_warning = ruby::parse_connector(&code).parse_error;
    stage_version(&mut ch.txn, &mut ch.c, record, &code)?;
    let json = updated_json(&ch.env, &ch.c.path, version, Some(note))?;
    let path = ch.c.path.clone();
    ch.write_tree(&path, &json)?;
    let mut message = format!("Committed version {version} of `{}`.", ch.c.title);
    if let Some(e) = parse_warning {
        message.push_str(&format!(
            " Warning: it does not parse ({e}); it cannot be released until it does."
        ));
    }
    ch.finish(ConnectorAction::Commit, Some(version), None, Vec::new(), message)
}

/// A connector to create with [`create`] (what Workato's `POST /api/custom_connectors` takes).
#[derive(Debug, Clone, Default)]
pub struct NewConnector {
    /// Its title (its identity across environments).
    pub title: String,
    /// Its description (markdown), written to the tree's `.custom_adapter.json`.
    pub description: Option<String>,
    /// The first version's note.
    pub note: Option<String>,
    /// Its Ruby source.
    pub code: Vec<u8>,
}

/// Creates a custom connector at the root of the tree (`<slug>.custom_adapter.json` and
/// `.rb`) with a history of one unreleased version, in one transaction. Refused when a
/// connector with that title, or a file at either path, exists.
pub fn create(mut env: Environment, new: &NewConnector, actor: &Actor) -> Result<ConnectorChangeReport> {
    let lock = env.lock(actor.wait, "connector create")?;
    let ws = env.load_workspace()?;
    let title = new.title.trim();
    if title.is_empty() {
        return Err(Error::invalid(
            Subject::Arguments,
            "a connector needs a non-empty title",
        ));
    }
    let taken = env.state()?.connectors.contains_key(title)
        || ws
            .assets
            .iter()
            .any(|a| a.asset_type == AssetType::CustomAdapter && a.name == title);
    if taken {
        return Err(Error::exists(
            Subject::Connector(title.to_string()),
            format!("a connector titled `{title}` exists already"),
        )
        .hint("update it instead"));
    }
    let path = format!("{}.custom_adapter.json", env::connector_key(title));
    for p in [path.clone(), code_path_of(&path)] {
        if env.root.join(&p).exists() {
            return Err(Error::exists(
                Subject::path(env.root.join(&p)),
                format!("`{p}` exists already in `{}`", env.root.display()),
            )
            .hint("move it away or choose another title"));
        }
    }
    let c = ConnectorState::new(title, &path, &env::mint_provider(title, env.state()?.info.id));
    let txn = Transaction::begin(&env.root, &format!("connector create `{title}`"))?;
    let mut ch = Change {
        unattributed: Vec::new(),
        written: Vec::new(),
        env,
        tree: Tree::Loaded(ws),
        c,
        txn,
        _lock: lock,
    };
    let record = ch.c.next_version(
        &new.code,
        new.note.clone(),
        Origin::Commit,
        &actor.user,
        &env::now_rfc3339(),
    );
    let version = record.version;
    stage_version(&mut ch.txn, &mut ch.c, record, &new.code)?;
    let mut json = serde_json::Map::new();
    json.insert("title".into(), Value::from(title));
    json.insert(
        "description".into(),
        new.description.clone().map_or(Value::Null, Value::from),
    );
    json.insert("version_no".into(), Value::from(version));
    json.insert("note".into(), new.note.clone().map_or(Value::Null, Value::from));
    ch.txn
        .write(&path, &crate::json::to_workato_vec(&Value::Object(json)))?;
    ch.txn.write(&code_path_of(&path), &new.code)?;
    let message = format!("Created connector `{title}` with version {version}, unreleased.");
    ch.finish(ConnectorAction::Create, Some(version), None, Vec::new(), message)
}

/// Replaces a connector's code: `code` becomes version latest+1 (unreleased) and the tree's
/// `.rb`, in one transaction. Uncommitted edits of the tree's `.rb` are first kept as a version
/// of their own. Code equal to the latest version changes nothing.
pub fn update_code(
    env: Environment,
    name: &str,
    code: &[u8],
    note: Option<&str>,
    actor: &Actor,
) -> Result<ConnectorChangeReport> {
    let mut ch = Change::begin(env, name, actor, "connector update")?;
    let autosaved = ch.autosave(AUTOSAVE_UPDATE_NOTE, actor)?;
    let hash = blake3::hash(code).to_hex().to_string();
    if autosaved.is_none() && ch.c.latest().is_some_and(|l| l.code_blake3 == hash) {
        let latest = ch.c.latest().map(|v| v.version);
        ch.txn.abort();
        return Ok(ConnectorChangeReport {
            format_version: FORMAT_VERSION,
            title: ch.c.title.clone(),
            action: ConnectorAction::None,
            version: None,
            latest,
            released: ch.c.released,
            shared: ch.c.shared,
            autosaved: None,
            breaking: Vec::new(),
            unattributed: Vec::new(),
            message: format!(
                "Nothing to update: the code equals version {}.",
                latest.unwrap_or(0)
            ),
        });
    }
    let record = ch.c.next_version(
        code,
        note.map(str::to_string),
        Origin::Commit,
        &actor.user,
        &env::now_rfc3339(),
    );
    let version = record.version;
    stage_version(&mut ch.txn, &mut ch.c, record, code)?;
    ch.write_tree(&code_path_of(&ch.c.path), code)?;
    let json = updated_json(&ch.env, &ch.c.path, version, note)?;
    let path = ch.c.path.clone();
    ch.write_tree(&path, &json)?;
    let message = format!(
        "Version {version} of `{}` is the new latest, unreleased.",
        ch.c.title
    );
    ch.finish(
        ConnectorAction::Commit,
        Some(version),
        autosaved,
        Vec::new(),
        message,
    )
}

/// `connector release`: releases a version (default: the latest, after autosaving edits).
pub fn release(
    env: Environment,
    name: &str,
    version: Option<u64>,
    force: bool,
    actor: &Actor,
) -> Result<ConnectorChangeReport> {
    let mut ch = Change::begin(env, name, actor, "connector release")?;
    let autosaved = if version.is_none() {
        ch.autosave(AUTOSAVE_RELEASE_NOTE, actor)?
    } else {
        None
    };
    let version = match version {
        Some(v) => v,
        None => ch.c.latest().map(|v| v.version).ok_or_else(|| {
            Error::invalid(
                Subject::Connector(ch.c.title.to_string()),
                format!("connector `{}` has no version to release", ch.c.title),
            )
        })?,
    };
    let record = ch.c.version(version).ok_or_else(|| no_version(&ch.c, version))?;
    if record.rolled_back {
        return Err(Error::invalid(
            Subject::Connector(ch.c.title.to_string()),
            format!(
                "version {version} of `{}` was rolled back with its import",
                ch.c.title
            ),
        )
        .hint("use `rlcm connector restore` to bring its code back as a new version"));
    }
    let code = ch.code_of(version)?;
    let breaking = ch.check_release(version, &code, force)?;
    if ch.c.released == Some(version) && autosaved.is_none() {
        ch.txn.abort();
        return Ok(ConnectorChangeReport {
            format_version: FORMAT_VERSION,
            title: ch.c.title.clone(),
            action: ConnectorAction::None,
            version: Some(version),
            latest: ch.c.latest().map(|v| v.version),
            released: ch.c.released,
            shared: ch.c.shared,
            autosaved: None,
            breaking,
            unattributed: std::mem::take(&mut ch.unattributed),
            message: format!("Version {version} of `{}` is already released.", ch.c.title),
        });
    }
    let now = env::now_rfc3339();
    if let Some(r) = ch.c.version_mut(version) {
        r.released_at = Some(now);
        r.released_by = Some(actor.user.clone());
    }
    ch.c.released = Some(version);
    let message = format!("Released version {version} of `{}`.", ch.c.title);
    ch.finish(
        ConnectorAction::Release,
        Some(version),
        autosaved,
        breaking,
        message,
    )
}

/// `connector restore`: copies an old version as the new latest and releases it.
pub fn restore(
    env: Environment,
    name: &str,
    version: u64,
    note: Option<&str>,
    force: bool,
    actor: &Actor,
) -> Result<ConnectorChangeReport> {
    let mut ch = Change::begin(env, name, actor, "connector restore")?;
    if ch.c.version(version).is_none() {
        return Err(no_version(&ch.c, version));
    }
    let code = ch.code_of(version)?;
    let autosaved = ch.autosave(AUTOSAVE_RESTORE_NOTE, actor)?;
    let new_version = ch.c.max_version() + 1;
    let breaking = ch.check_release(new_version, &code, force)?;
    let note = note
        .map(str::to_string)
        .unwrap_or_else(|| format!("Restored from version {version}"));
    let now = env::now_rfc3339();
    let record =
        ch.c.next_version(
            &code,
            Some(note.clone()),
            Origin::RestoreOf(version),
            &actor.user,
            &now,
        )
        .released(&actor.user, &now);
    stage_version(&mut ch.txn, &mut ch.c, record, &code)?;
    ch.c.released = Some(new_version);
    ch.write_tree(&code_path_of(&ch.c.path), &code)?;
    let json = updated_json(&ch.env, &ch.c.path, new_version, Some(&note))?;
    let path = ch.c.path.clone();
    ch.write_tree(&path, &json)?;
    let message = format!(
        "Restored version {version} of `{}` as version {new_version}, released.",
        ch.c.title
    );
    ch.finish(
        ConnectorAction::Restore,
        Some(new_version),
        autosaved,
        breaking,
        message,
    )
}

/// `connector share`: sets the shared version (default: the released one; see
/// [`shareable_version`]).
pub fn share(
    env: Environment,
    name: &str,
    version: Option<u64>,
    actor: &Actor,
) -> Result<ConnectorChangeReport> {
    let mut ch = Change::begin(env, name, actor, "connector share")?;
    let version = match shareable_version(&ch.c, version) {
        Ok(v) => v,
        Err(e) => {
            ch.txn.abort();
            return Err(e);
        }
    };
    let action = if ch.c.shared == Some(version) {
        ConnectorAction::None
    } else {
        ConnectorAction::Share
    };
    ch.c.shared = Some(version);
    let message = if action == ConnectorAction::None {
        format!(
            "Version {version} of `{}` is already the shared version; nothing changed.",
            ch.c.title
        )
    } else {
        format!("Version {version} of `{}` is the shared version.", ch.c.title)
    };
    ch.finish(action, Some(version), None, Vec::new(), message)
}

/// `connector list`.
pub fn list(env: &Environment) -> Result<ConnectorListReport> {
    let ws = env.load_workspace()?;
    let mut connectors = Vec::new();
    for c in histories(env, &ws)? {
        let tree_hash = ws
            .get(&c.path)
            .and_then(|a| a.connector.as_ref())
            .and_then(|f| f.code_hash.clone());
        let uncommitted = match (c.latest(), tree_hash) {
            (Some(l), Some(h)) => l.code_blake3 != h,
            (None, Some(_)) => true,
            _ => false,
        };
        connectors.push(ConnectorListEntry {
            title: c.title.clone(),
            path: c.path.clone(),
            latest: c.latest().map(|v| v.version),
            released: c.released,
            shared: c.shared,
            provider: (!c.provider.is_empty()).then(|| c.provider.clone()),
            uncommitted,
            outdated: None,
        });
    }
    connectors.sort_by(|a, b| a.title.cmp(&b.title));
    Ok(ConnectorListReport {
        format_version: FORMAT_VERSION,
        connectors,
    })
}

/// `connector versions`.
pub fn versions(env: &Environment, name: &str) -> Result<ConnectorVersionsReport> {
    let ws = env.load_workspace()?;
    let c = find_history(env, &ws, name)?;
    Ok(ConnectorVersionsReport {
        format_version: FORMAT_VERSION,
        title: c.title.clone(),
        latest: c.latest().map(|v| v.version),
        released: c.released,
        shared: c.shared,
        versions: c
            .versions
            .iter()
            .map(|v| ConnectorVersionEntry {
                version: v.version,
                note: v.note.clone(),
                created_at: v.created_at.clone(),
                created_by: v.created_by.clone(),
                released_at: v.released_at.clone(),
                released_by: v.released_by.clone(),
                released: c.released == Some(v.version),
                shared: c.shared == Some(v.version),
                actions: v.actions.clone(),
                triggers: v.triggers.clone(),
                origin: v.origin,
                rolled_back: v.rolled_back,
            })
            .collect(),
    })
}

/// `connector diff`.
pub fn diff(env: &Environment, name: &str, from: &str, to: &str) -> Result<ConnectorDiffReport> {
    let ws = env.load_workspace()?;
    let c = find_history(env, &ws, name)?;
    let (from_label, a) = side_code(env, &c, from)?;
    let (to_label, b) = side_code(env, &c, to)?;
    let da = ruby::parse_connector(&a);
    let db = ruby::parse_connector(&b);
    let ta = String::from_utf8_lossy(&a);
    let tb = String::from_utf8_lossy(&b);
    let diff = similar::TextDiff::from_lines(ta.as_ref(), tb.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{} v{from_label}", c.title),
            &format!("{} v{to_label}", c.title),
        )
        .to_string();
    Ok(ConnectorDiffReport {
        format_version: FORMAT_VERSION,
        title: c.title.clone(),
        from: from_label,
        to: to_label,
        actions_added: set_diff(&da.actions, &db.actions),
        actions_removed: set_diff(&db.actions, &da.actions),
        triggers_added: set_diff(&da.triggers, &db.triggers),
        triggers_removed: set_diff(&db.triggers, &da.triggers),
        diff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }

    fn production(dir: &std::path::Path) -> std::path::PathBuf {
        let root = dir.join("prod");
        copy(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/production"),
            &root,
        );
        let opts = crate::ops::init::InitOptions {
            name: Some("prod".into()),
            id: Some(7),
            from: None,
            user: "t".into(),
        };
        crate::ops::init::init(&root, &opts).unwrap();
        root
    }

    fn actor() -> Actor {
        Actor {
            user: "api".into(),
            wait: false,
        }
    }

    const CODE: &str =
        "{\n  title: 'Beta',\n  actions: {\n    ping: { execute: lambda { |_c, _i| {} } }\n  }\n}\n";

    /// `create` writes the tree files and a one-version, unreleased history together; a second
    /// connector with the same title is refused and changes nothing.
    #[test]
    fn create_writes_tree_and_history() {
        let dir = tempfile::tempdir().unwrap();
        let root = production(dir.path());
        let new = NewConnector {
            title: "Beta".into(),
            description: Some("A beta".into()),
            note: Some("first".into()),
            code: CODE.as_bytes().to_vec(),
        };
        let r = create(Environment::open(&root).unwrap(), &new, &actor()).unwrap();
        assert_eq!(
            (r.action.as_str(), r.version, r.released),
            ("create", Some(1), None)
        );
        assert_eq!(
            std::fs::read_to_string(root.join("beta.custom_adapter.rb")).unwrap(),
            CODE
        );
        let json: Value =
            serde_json::from_slice(&std::fs::read(root.join("beta.custom_adapter.json")).unwrap()).unwrap();
        assert_eq!(json["title"], "Beta");
        assert_eq!(json["version_no"], 1);
        let env = Environment::open(&root).unwrap();
        let c = env.connector("Beta").unwrap();
        assert_eq!(c.versions.len(), 1);
        assert_eq!(c.versions[0].actions, ["ping"]);
        assert!(c.provider.starts_with("beta_connector_7_"), "{}", c.provider);
        assert_eq!(env.version_code(c, 1).unwrap(), CODE.as_bytes());
        let before = std::fs::read(root.join(".rlcm/connectors/beta.json")).unwrap();
        let again = create(env, &new, &actor()).unwrap_err();
        assert!(again.to_string().contains("exists already"), "{again}");
        assert_eq!(
            again.subject(),
            Some(&crate::error::Subject::Connector("Beta".into())),
            "{again:?}"
        );
        assert_eq!(again.hint_text(), Some("update it instead"), "{again:?}");
        assert_eq!(
            std::fs::read(root.join(".rlcm/connectors/beta.json")).unwrap(),
            before
        );
        let env = Environment::open(&root).unwrap();
        let blank = NewConnector {
            title: " ".into(),
            ..new
        };
        assert!(create(env, &blank, &actor()).is_err());
        // The environment is whole: no finding about the new connector.
        let checked = crate::ops::check::check(&Environment::open(&root).unwrap()).unwrap();
        assert!(
            !checked.findings.iter().any(|f| f.path.contains("beta")),
            "{:?}",
            checked.findings
        );
    }

    /// `update_code` appends an unreleased version and puts it in the tree; the same code again
    /// changes nothing; uncommitted tree edits become a version of their own first.
    #[test]
    fn update_code_appends_a_version() {
        let dir = tempfile::tempdir().unwrap();
        let root = production(dir.path());
        let rb = root.join("acme_crm.custom_adapter.rb");
        let code = std::fs::read_to_string(&rb).unwrap() + "\n# v4\n";
        let r = update_code(
            Environment::open(&root).unwrap(),
            "Acme CRM",
            code.as_bytes(),
            Some("v4"),
            &actor(),
        )
        .unwrap();
        assert_eq!(
            (r.version, r.latest, r.released, r.autosaved),
            (Some(4), Some(4), Some(3), None)
        );
        assert_eq!(std::fs::read_to_string(&rb).unwrap(), code);
        let r = update_code(
            Environment::open(&root).unwrap(),
            "Acme CRM",
            code.as_bytes(),
            None,
            &actor(),
        )
        .unwrap();
        assert_eq!(r.action, "none");
        std::fs::write(&rb, format!("{code}# edited in the tree\n")).unwrap();
        let v6 = format!("{code}# v6\n");
        let r = update_code(
            Environment::open(&root).unwrap(),
            "Acme CRM",
            v6.as_bytes(),
            Some("v6"),
            &actor(),
        )
        .unwrap();
        assert_eq!((r.autosaved, r.version), (Some(5), Some(6)));
        let env = Environment::open(&root).unwrap();
        let c = env.connector("Acme CRM").unwrap();
        assert_eq!(c.version(5).unwrap().note.as_deref(), Some(AUTOSAVE_UPDATE_NOTE));
        assert!(
            env.version_code(c, 5)
                .unwrap()
                .ends_with(b"# edited in the tree\n")
        );
        assert_eq!(std::fs::read_to_string(&rb).unwrap(), v6);
        assert!(update_code(env, "No such", b"x", None, &actor()).is_err());
    }
}
