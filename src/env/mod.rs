//! Environments: a directory of assets plus rlcm's state in `.rlcm/`.
//!
//! `.rlcm/` holds (all pretty JSON, stable key order, safe to keep in git):
//! - `env.json`: name, numeric id, created at/by;
//! - `connectors/<slug>.json`: a connector's version history, released and shared version,
//!   provider name; `connectors/<slug>/v<N>.rb`: the code of each version;
//! - `recipes.json`: running recipes;
//! - `baseline.json`: the asset hashes as the last import left them;
//! - `history/`: import records (with what is needed to roll back);
//! - `lock`, `journal.json`, `tmp/`: the writer lock and an interrupted write, if any.
//!
//! A directory without `.rlcm/` reads as if each connector's files were its one released
//! version.

pub(crate) use crate::guard;
pub mod lock;
pub mod state;
pub mod txn;

use crate::error::Subject;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::asset::AssetType;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::ruby;
use crate::slug;
use crate::source::Source;
use crate::workspace::Workspace;

pub use lock::{EnvLock, ReadLock};
pub use state::{
    Baseline, ConnectorState, EnvInfo, InstalledFrom, Origin, RecipeStates, RunInfo, SharedTo, VersionRecord,
};
pub use txn::Transaction;

/// Who and how a command acts.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user.
    pub user: String,
    /// Wait for the lock instead of failing.
    pub wait: bool,
}

/// The current time as RFC 3339 UTC (seconds); see [`now`].
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(now()).to_string()
}

/// The clock a process fixed with [`fix_clock`], if it did.
static FIXED_CLOCK: std::sync::OnceLock<std::time::SystemTime> = std::sync::OnceLock::new();

/// Fixes the clock for the rest of the process: every timestamp rlcm writes is `at`. The
/// binaries call it with the `RLCM_NOW` variable they read at start (reproducible runs for
/// tests and scripts, like `SOURCE_DATE_EPOCH`); the library itself reads no variable for it.
/// The first call wins.
pub fn fix_clock(at: std::time::SystemTime) {
    let _ = FIXED_CLOCK.set(at);
}

/// Reads a clock setting: RFC 3339 or Unix seconds (`RLCM_NOW`'s forms).
pub fn parse_clock(text: &str) -> Option<std::time::SystemTime> {
    if let Ok(secs) = text.parse::<u64>() {
        return Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs));
    }
    humantime::parse_rfc3339(text).ok()
}

/// Fixes the clock from a setting in [`parse_clock`]'s forms (a binary passes `RLCM_NOW`);
/// no setting, or one that reads as no time, leaves the real clock.
pub fn fix_clock_from(setting: Option<&str>) {
    if let Some(at) = setting.and_then(parse_clock) {
        fix_clock(at);
    }
}

/// The current time, or the clock fixed with [`fix_clock`].
pub fn now() -> std::time::SystemTime {
    FIXED_CLOCK
        .get()
        .copied()
        .unwrap_or_else(std::time::SystemTime::now)
}

/// Unix seconds of [`now`].
pub(crate) fn now_unix() -> u64 {
    now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Who is acting: `--user`, else `RLCM_USER`, else the OS user (`USER`/`USERNAME`, else the
/// account database, so a job with a bare environment is still attributed).
pub fn resolve_user(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("RLCM_USER").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("USER").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("USERNAME").ok().filter(|s| !s.is_empty()))
        .or_else(|| whoami::username().ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// rlcm's state of an initialised environment.
#[derive(Debug, Clone)]
pub struct State {
    /// `env.json`.
    pub info: EnvInfo,
    /// Connector histories by title.
    pub connectors: BTreeMap<String, ConnectorState>,
    /// `recipes.json`.
    pub recipes: RecipeStates,
    /// `baseline.json` (a hash per asset: read when first asked for, see [`State::baseline`]).
    baseline: LazyBaseline,
}

/// `baseline.json`, read on first use: only `plan`, `import`, `rollback` and `check` need it, and
/// in a large environment it is the largest state file (one hash per asset).
#[derive(Debug, Clone, Default)]
struct LazyBaseline {
    /// The file it is read from (`None`: a state made in memory, never read).
    file: Option<PathBuf>,
    value: std::sync::OnceLock<Baseline>,
    /// The blake3 of the file, once hashed (see [`State::baseline_file_hash`]).
    file_hash: std::sync::OnceLock<blake3::Hash>,
    /// Changed or replaced in memory since it was read.
    replaced: bool,
}

impl State {
    /// The baseline, read from `baseline.json` the first time (the default one when the file
    /// is absent); an error names the file when it cannot be read.
    pub fn baseline(&self) -> Result<&Baseline> {
        if let Some(b) = self.baseline.value.get() {
            return Ok(b);
        }
        let b = match &self.baseline.file {
            Some(f) => read_baseline(f)?,
            None => Baseline {
                format_version: 1,
                ..Default::default()
            },
        };
        Ok(self.baseline.value.get_or_init(|| b))
    }

    /// The baseline, to change it (read first as [`State::baseline`] says).
    pub fn baseline_mut(&mut self) -> Result<&mut Baseline> {
        self.baseline()?;
        self.baseline.replaced = true;
        self.baseline
            .value
            .get_mut()
            .ok_or_else(|| Error::internal("the baseline could not be read").hint("run the command again"))
    }

    /// Replaces the baseline.
    pub fn set_baseline(&mut self, baseline: Baseline) {
        self.baseline.value = std::sync::OnceLock::from(baseline);
        self.baseline.replaced = true;
    }

    /// The blake3 of `baseline.json` as it is on disk (empty when there is none): what a plan's
    /// target digest covers of the baseline (hashing the file, not the parsed baseline written
    /// out again, which at 100k assets costs as much as reading it).
    /// Hashed once: the file changes only by a commit, after which the state is read again.
    pub(crate) fn baseline_file_hash(&self) -> Result<blake3::Hash> {
        if let Some(h) = self.baseline.file_hash.get() {
            return Ok(*h);
        }
        let h = match &self.baseline.file {
            Some(f) => blake3::hash(&fsutil::read_optional(f)?.unwrap_or_default()),
            None => blake3::hash(b""),
        };
        Ok(*self.baseline.file_hash.get_or_init(|| h))
    }

    /// The bytes of the baseline as it was read (the file as it is on disk, when it is there
    /// and has not been replaced in memory): what an import keeps to roll back to, without
    /// writing 100k hashes out again.
    pub(crate) fn baseline_bytes(&self) -> Result<Vec<u8>> {
        if !self.baseline.replaced
            && let Some(f) = &self.baseline.file
            && let Some(bytes) = fsutil::read_optional(f)?
        {
            return Ok(bytes);
        }
        Ok(crate::json::to_pretty_vec(self.baseline()?))
    }

    /// The baseline when it was read or set, `None` while `baseline.json` is as it was read.
    fn baseline_if_read(&self) -> Option<&Baseline> {
        self.baseline.value.get()
    }
}

fn read_baseline(file: &Path) -> Result<Baseline> {
    match fsutil::read_optional(file)? {
        Some(bytes) => parse_baseline(file, &bytes),
        None => Ok(Baseline {
            format_version: 1,
            ..Default::default()
        }),
    }
}

/// `baseline.json`'s bytes `bytes`, read from `file`, parsed.
pub(crate) fn parse_baseline(file: &Path, bytes: &[u8]) -> Result<Baseline> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::json(file.display().to_string(), &e)
            .hint("this rlcm state file is damaged: restore it from git or a backup")
    })
}

/// An environment directory and its state.
#[derive(Debug)]
pub struct Environment {
    /// The root directory.
    pub root: PathBuf,
    /// The state, when `rlcm init` has run.
    pub state: Option<State>,
    /// The label of an interrupted write that opening this environment finished.
    pub recovered: Option<String>,
    /// Held while this environment is read (see [`ReadLock`]); given up by [`Environment::lock`].
    read_lock: Option<ReadLock>,
}

/// Relative path of a file inside `.rlcm/`.
pub(crate) fn state_path(rel: &str) -> String {
    format!(".rlcm/{rel}")
}

/// The state file of a connector.
pub(crate) fn connector_state_path(title: &str) -> String {
    state_path(&format!("connectors/{}.json", connector_key(title)))
}

/// The code file of a connector version, relative to `.rlcm/connectors/`.
pub(crate) fn version_code_file(title: &str, version: u64) -> String {
    format!("{}/v{version}.rb", connector_key(title))
}

/// The file-name key of a connector: the slug of its title (or a hash for titles without
/// word characters).
pub(crate) fn connector_key(title: &str) -> String {
    let s = slug::slug(title);
    if s.is_empty() {
        format!("connector_{}", &blake3::hash(title.as_bytes()).to_hex()[..12])
    } else {
        s
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fsutil::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::json(path.display().to_string(), &e)
            .hint("this rlcm state file is damaged: restore it from git or a backup")
    })
}

impl Environment {
    /// Opens the environment at `root`, finishing any interrupted write first.
    pub fn open(root: &Path) -> Result<Environment> {
        let meta = std::fs::metadata(root).map_err(|e| Error::io("open environment", root, e))?;
        if !meta.is_dir() {
            return Err(Error::invalid(
                Subject::environment(root),
                format!("`{}` is not a directory", root.display()),
            )
            .hint("an environment is a directory (use a package zip with `inspect` or `plan`)"));
        }
        guard::check_state_dir(root)?;
        let dot = root.join(".rlcm");
        if !dot.join("env.json").exists() {
            // What a killed `init` left goes, as an interrupted write of an environment does
            // (one running now keeps its folder: then it is read as it is).
            if root.join(lock::INIT_STAGING).exists() {
                let _ = lock::discard_stale_init(root);
            }
            return Ok(Environment {
                root: root.to_path_buf(),
                state: None,
                recovered: None,
                read_lock: None,
            });
        }
        let mut recovered = None;
        // What a crash left is cleaned up when no writer is running (a running writer's
        // staging is its own: a reader does not wait for a whole import to finish).
        if txn::pending(root) {
            match EnvLock::acquire(root, false, "recovering an interrupted write") {
                Ok(_lock) => recovered = txn::recover(root)?,
                Err(Error::Locked { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        // From here until this value is dropped (or becomes a writer), no commit runs. A
        // journal seen under the read lock is no running commit's (a commit holds the lock
        // exclusively while its journal exists): its writer died, so it is finished first.
        let read_lock = loop {
            let read_lock = ReadLock::acquire(root)?;
            if !txn::committed(root) {
                break read_lock;
            }
            drop(read_lock);
            let _lock = EnvLock::acquire(root, true, "recovering an interrupted write")?;
            if let Some(label) = txn::recover(root)? {
                recovered = Some(label);
            }
        };
        let state = Self::read_state(root)?;
        Ok(Environment {
            root: root.to_path_buf(),
            state: Some(state),
            recovered,
            read_lock,
        })
    }

    fn read_state(root: &Path) -> Result<State> {
        let dot = root.join(".rlcm");
        let info: EnvInfo = read_json(&dot.join("env.json"))?;
        let mut connectors = BTreeMap::new();
        let cdir = dot.join("connectors");
        if cdir.is_dir() {
            let mut files: Vec<PathBuf> = Vec::new();
            for e in std::fs::read_dir(&cdir).map_err(|e| Error::io("read", &cdir, e))? {
                let e = e.map_err(|e| Error::io("read", &cdir, e))?;
                let p = e.path();
                if p.extension().is_some_and(|x| x == "json") {
                    if !e.file_type().is_ok_and(|t| t.is_file()) {
                        return Err(Error::invalid(Subject::path(&p), format!("`{}` is not a regular file (a symbolic link?)", p.display())).hint("rlcm refuses to read connector state through it (restore `.rlcm/` from git or a backup)"));
                    }
                    files.push(p);
                }
            }
            files.sort();
            for f in files {
                let c: ConnectorState = read_json(&f)?;
                guard::check_inside(root, &c.path, &f)?;
                for v in &c.versions {
                    guard::check_inside(root, &format!(".rlcm/connectors/{}", v.code), &f)?;
                }
                connectors.insert(c.title.clone(), c);
            }
        }
        let recipes = match fsutil::read_optional(&dot.join("recipes.json"))? {
            Some(_) => read_json(&dot.join("recipes.json"))?,
            None => RecipeStates {
                format_version: 1,
                ..Default::default()
            },
        };
        Ok(State {
            info,
            connectors,
            recipes,
            baseline: LazyBaseline {
                file: Some(dot.join("baseline.json")),
                value: std::sync::OnceLock::new(),
                file_hash: std::sync::OnceLock::new(),
                replaced: false,
            },
        })
    }

    /// The state, or an error telling the user to run `rlcm init`.
    pub fn state(&self) -> Result<&State> {
        self.state.as_ref().ok_or_else(|| {
            Error::invalid(
                Subject::environment(&self.root),
                format!("`{}` is not an rlcm environment yet", self.root.display()),
            )
            .hint(format!("run `rlcm init {}` first", self.root.display()))
        })
    }

    /// Gives up the shared read lock taken by [`Environment::open`], for a process that lives
    /// on without reading the environment as one (the watcher, which would otherwise keep
    /// every commit waiting).
    pub fn release_read_lock(&mut self) {
        self.read_lock = None;
    }

    /// Takes the writer lock, finishes any interrupted write, and re-reads the state.
    pub fn lock(&mut self, wait: bool, what: &str) -> Result<EnvLock> {
        self.state()?;
        // A writer reads under its own lock; holding the shared read lock while waiting for
        // the writer lock would deadlock with a writer that waits for the readers to commit.
        self.read_lock = None;
        let lock = EnvLock::acquire(&self.root, wait, what)?;
        if let Some(label) = txn::recover(&self.root)? {
            self.recovered = Some(label);
        }
        self.state = Some(Self::read_state(&self.root)?);
        Ok(lock)
    }

    /// Loads the tree's assets (with the summary cache of an initialised environment).
    pub fn load_workspace(&self) -> Result<Workspace> {
        match &self.state {
            Some(_) => Workspace::load_tree_cached(&self.root).map(|(_, ws)| ws),
            None => Workspace::load(&Source::open(&self.root)?),
        }
    }

    /// Refreshes the summary cache from a workspace loaded by a command that then wrote the
    /// environment (read-only commands never write it).
    pub(crate) fn refresh_cache(&self, ws: &Workspace) {
        if self.state.is_some() {
            ws.write_cache(&self.root);
        }
    }

    /// True when the recipe at `path` is running.
    pub fn is_running(&self, path: &str) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| s.recipes.running.contains_key(path))
    }

    /// Finds a connector's state by title or slug.
    pub fn connector(&self, name: &str) -> Result<&ConnectorState> {
        let state = self.state()?;
        if let Some(c) = state.connectors.get(name) {
            return Ok(c);
        }
        slug::find_by_title(state.connectors.values(), |c| &c.title, name).ok_or_else(|| Error::NotFound {
                what: "connector",
                name: name.to_string(),
                within: None,
 hint: Some(format!("connectors with a history here: {} (a connector added to the tree starts its history with `rlcm connector commit`)",
                    if state.connectors.is_empty() {
                        "none".to_string()
                    } else {
                        state.connectors.keys().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
                    }
                )),
            })
    }

    /// Reads the code of a connector version.
    pub fn version_code(&self, c: &ConnectorState, version: u64) -> Result<Vec<u8>> {
        let v = c.version(version).ok_or_else(|| Error::NotFound {
            what: "version",
            name: format!("{} of connector `{}`", version, c.title),
            within: None,
            hint: Some(format!(
                "versions: {}",
                c.versions
                    .iter()
                    .map(|v| v.version.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        })?;
        let rel = format!(".rlcm/connectors/{}", v.code);
        let path = self.root.join(&rel);
        guard::check_inside(&self.root, &rel, &self.root.join(connector_state_path(&c.title)))?;
        let code = fsutil::read(&path)?;
        let hash = blake3::hash(&code).to_hex().to_string();
        if hash != v.code_blake3 {
            return Err(Error::BadAsset {
                path: path.display().to_string(),
                reason: format!(
                    "the code of version {version} of `{}` has changed on disk (blake3 {hash}, recorded {}); restore it from git",
                    c.title, v.code_blake3
                ),
            });
        }
        Ok(code)
    }
}

/// A content hash for an asset: its JSON file, plus code and logo for a connector.
/// The digest of every asset's path and content hash, in path order: the part of a plan's
/// target digest that the tree makes (the production index records it, so that a plan from the
/// index gives the digest a load of the whole tree gives).
pub(crate) fn assets_digest(ws: &crate::workspace::Workspace) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for a in &ws.assets {
        h.update(a.path.as_bytes());
        h.update(b"\0");
        h.update(asset_content_hash(a).as_bytes());
        h.update(b"\n");
    }
    *h.finalize().as_bytes()
}

pub(crate) fn asset_content_hash(a: &crate::workspace::Asset) -> String {
    match &a.connector {
        Some(c) if a.asset_type == AssetType::CustomAdapter => {
            let mut h = blake3::Hasher::new();
            h.update(a.hash.as_bytes());
            h.update(c.code_hash.as_deref().unwrap_or("").as_bytes());
            h.update(c.logo_hash.as_deref().unwrap_or("").as_bytes());
            h.finalize().to_hex().to_string()
        }
        _ => a.hash.clone(),
    }
}

/// Builds the state an environment would have if `init` adopted `ws` now: each connector's
/// history starts at the `version_no` its files carry, released, with its note. Returns the
/// state and the code of each first version (title → code path in the tree).
pub(crate) fn adopt(ws: &Workspace, name: &str, id: u64, user: &str) -> Result<State> {
    let now = now_rfc3339();
    let mut connectors = BTreeMap::new();
    for (i, a) in ws.assets.iter().enumerate() {
        if a.asset_type != AssetType::CustomAdapter {
            continue;
        }
        if let Some(other) = connectors.get(&a.name).map(|c: &ConnectorState| c.path.clone()) {
            return Err(Error::BadAsset {
                path: a.path.clone(),
                reason: format!(
                    "has the same title `{}` as `{other}`; connectors are matched by title, so titles must be unique",
                    a.name
                ),
            });
        }
        let files = a.connector.clone().unwrap_or_default();
        let version = a.summary.version_no.unwrap_or(1).max(1);
        let provider = ws
            .providers
            .iter()
            .find(|(_, t)| **t == i)
            .map(|(p, _)| p.to_string())
            .unwrap_or_else(|| mint_provider(&a.name, id));
        let code_blake3 = files
            .code_hash
            .clone()
            .unwrap_or_else(|| blake3::hash(b"").to_hex().to_string());
        let record = VersionRecord::new(
            &a.name,
            version,
            code_blake3,
            &files.definition,
            a.summary.note.clone(),
            Origin::Init,
            user,
            &now,
        )
        .released(user, &now);
        connectors.insert(
            a.name.clone(),
            ConnectorState {
                released: Some(version),
                versions: vec![record],
                ..ConnectorState::new(&a.name, &a.path, &provider)
            },
        );
    }
    let baseline = Baseline {
        format_version: 1,
        import: None,
        at: Some(now.clone()),
        assets: ws
            .assets
            .iter()
            .map(|a| (a.path.clone(), asset_content_hash(a)))
            .collect(),
    };
    Ok(State {
        info: EnvInfo {
            format_version: 1,
            name: name.to_string(),
            id,
            created_at: now,
            created_by: user.to_string(),
        },
        connectors,
        recipes: RecipeStates {
            format_version: 1,
            running: BTreeMap::new(),
        },
        baseline: LazyBaseline {
            file: None,
            value: std::sync::OnceLock::from(baseline),
            file_hash: std::sync::OnceLock::new(),
            replaced: true,
        },
    })
}

/// Mints a provider name for a connector new to this environment:
/// `<title prefix>_connector_<env id>_<unix time>`.
pub(crate) fn mint_provider(title: &str, env_id: u64) -> String {
    format!(
        "{}_connector_{env_id}_{}",
        slug::provider_prefix(title),
        now_unix()
    )
}

/// Derives a 10-digit environment id from its name and the time of `init`.
pub(crate) fn new_env_id(name: &str) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(name.as_bytes());
    h.update(&now_unix().to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    let bytes = h.finalize();
    let n = u64::from_le_bytes(bytes.as_bytes()[..8].try_into().unwrap_or([0; 8]));
    1_000_000_000 + n % 9_000_000_000
}

/// Stages the whole state into a transaction (only files whose bytes change).
pub(crate) fn stage_state(root: &Path, state: &State, txn: &mut Transaction) -> Result<()> {
    let mut stage = |rel: String, bytes: Vec<u8>| -> Result<()> {
        if fsutil::read_optional(&root.join(&rel))?.as_deref() != Some(bytes.as_slice()) {
            txn.write(&rel, &bytes)?;
        }
        Ok(())
    };
    stage(state_path("env.json"), crate::json::to_pretty_vec(&state.info))?;
    for c in state.connectors.values() {
        stage(connector_state_path(&c.title), crate::json::to_pretty_vec(c))?;
    }
    stage(
        state_path("recipes.json"),
        crate::json::to_pretty_vec(&state.recipes),
    )?;
    // A baseline never read is the file as it is (written only when absent, as the default).
    match state.baseline_if_read() {
        Some(b) => stage(state_path("baseline.json"), crate::json::to_pretty_vec(b))?,
        None if !root.join(state_path("baseline.json")).exists() => stage(
            state_path("baseline.json"),
            crate::json::to_pretty_vec(state.baseline()?),
        )?,
        None => {}
    }
    Ok(())
}

/// Parses connector code and returns its definition (for new versions).
pub fn define(code: &[u8]) -> ruby::ConnectorDefinition {
    ruby::parse_connector(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_setting_reads_as_rfc3339_or_unix_seconds() {
        let t = parse_clock("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(parse_clock("1767225600"), Some(t));
        assert_eq!(
            humantime::format_rfc3339_seconds(t).to_string(),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(parse_clock("yesterday"), None);
        assert_eq!(parse_clock(""), None);
    }
}
