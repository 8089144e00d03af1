//! `rlcm init`: make a directory an environment, adopting what is there.

use crate::error::Subject;
use std::path::{Path, PathBuf};

use crate::env::{self, State};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::report::{FORMAT_VERSION, Finding, InitConnector, InitReport};
use crate::source::Source;
use crate::workspace::Workspace;

/// Options of `init`.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// The environment's name (default: the directory name).
    pub name: Option<String>,
    /// Its numeric id (default: derived from the name and time).
    pub id: Option<u64>,
    /// A package to unpack into the directory first.
    pub from: Option<PathBuf>,
    /// Who runs it.
    pub user: String,
}

/// Makes `dir` an environment.
///
/// Atomic: the state is built in a staging folder and renamed into place as `.rlcm/` (with
/// `--from`, the whole directory is built beside its destination and renamed), so a crash
/// leaves either no environment or a complete one.
pub fn init(dir: &Path, opts: &InitOptions) -> Result<InitReport> {
    if dir.join(".rlcm").join("env.json").exists() {
        return Err(Error::exists(
            Subject::environment(dir),
            format!(
                "`{}` is already an rlcm environment (it has `.rlcm/env.json`)",
                dir.display()
            ),
        ));
    }
    let name = opts.name.clone().unwrap_or_else(|| {
        std::fs::canonicalize(dir)
            .ok()
            .or_else(|| Some(dir.to_path_buf()))
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "environment".into())
    });
    let id = opts.id.unwrap_or_else(|| env::new_env_id(&name));
    match &opts.from {
        None => {
            let meta = match std::fs::metadata(dir) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::invalid(Subject::path(dir), format!("`{}` does not exist", dir.display())).hint("`rlcm init DIR` adopts an existing tree (create it first), and `rlcm init --from PKG.zip DIR` unpacks a package into a new directory"));
                }
                other => other.with_path("open", dir)?,
            };
            if !meta.is_dir() {
                return Err(Error::invalid(
                    Subject::path(dir),
                    format!("`{}` is not a directory", dir.display()),
                ));
            }
            let ws = Workspace::load(&Source::open(dir)?)?;
            let state = env::adopt(&ws, &name, id, &opts.user)?;
            let staging = dir.join(env::lock::INIT_STAGING);
            // Held until `.rlcm/` is in place: a second `init` fails, and whoever finds the
            // folder unlocked knows it is a killed init's.
            let _init = env::lock::InitLock::create(dir)?;
            let built = write_state_dir(dir, &staging, &state).and_then(|()| {
                fsutil::rename(&staging, &dir.join(".rlcm")).with_path("create", dir.join(".rlcm"))
            });
            if let Err(e) = built {
                // A failed write (a full disk, say) leaves the tree as it was.
                let _ = fsutil::remove_dir_all(&staging);
                return Err(e);
            }
            fsutil::sync_dir(dir)?;
            ws.write_cache(dir);
            Ok(report(dir, &state, &ws))
        }
        Some(pkg) => {
            if dir.exists() {
                let empty = std::fs::read_dir(dir).with_path("read", dir)?.next().is_none();
                if !empty {
                    return Err(Error::invalid(
                        Subject::path(dir),
                        format!("`{}` is not empty", dir.display()),
                    )
                    .hint("`init --from` unpacks a package into a new or empty directory"));
                }
            }
            let source = Source::open(pkg)?;
            crate::package::ensure_verified(pkg)?;
            let parent = dir
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            fsutil::create_dir_all(parent)?;
            fsutil::check_case_collisions(parent, source.entries().iter().map(|e| e.path.as_str()))?;
            let build = fsutil::temp_dir_in(tempfile::Builder::new().prefix(".rlcm-init-"), parent)
                .with_path("create a temporary directory in", parent)?;
            let mut reader = source.reader()?;
            for entry in source.entries() {
                if entry.path == crate::package::MANIFEST_NAME {
                    continue;
                }
                let bytes = reader.read(entry)?;
                let target = build.path().join(&entry.path);
                fsutil::write_synced(&target, &bytes)?;
            }
            let ws = Workspace::load(&Source::open(build.path())?)?;
            let state = env::adopt(&ws, &name, id, &opts.user)?;
            let staging = build.path().join(env::lock::INIT_STAGING);
            write_state_dir(build.path(), &staging, &state)?;
            let state_dir = build.path().join(".rlcm");
            fsutil::rename(&staging, &state_dir).with_path("create", state_dir)?;
            // On Unix a directory renamed onto an empty one replaces it in one step, so a
            // failed rename leaves the empty folder as it was; elsewhere it is removed first.
            #[cfg(not(unix))]
            if dir.exists() {
                fsutil::remove_dir(dir).with_path("replace", dir)?;
            }
            fsutil::rename(build.path(), dir).with_path("create", dir)?;
            // In place: nothing left for the temporary directory's drop to remove.
            let _ = build.keep();
            fsutil::sync_dir(parent)?;
            // Paths and sizes are the same; mtimes were taken in the build folder, still valid.
            ws.write_cache(dir);
            Ok(report(dir, &state, &ws))
        }
    }
}

fn report(dir: &Path, state: &State, ws: &Workspace) -> InitReport {
    InitReport {
        format_version: FORMAT_VERSION,
        root: dir.display().to_string(),
        name: state.info.name.clone(),
        id: state.info.id,
        assets: ws.assets.len(),
        warnings: ws
            .tree_warnings()
            .into_iter()
            .map(|w| Finding {
                kind: w.code,
                path: w.path,
                message: w.message,
            })
            .collect(),
        connectors: state
            .connectors
            .values()
            .map(|c| InitConnector {
                title: c.title.clone(),
                version: c.released.unwrap_or(1),
                provider: c.provider.clone(),
                minted: !ws.providers.contains_key(c.provider.as_str()),
            })
            .collect(),
    }
}

/// Writes a complete `.rlcm/` into `staging` (code of each first version copied from the tree).
fn write_state_dir(root: &Path, staging: &Path, state: &State) -> Result<()> {
    let write = |rel: &str, bytes: &[u8]| fsutil::write_synced(&staging.join(rel), bytes);
    write("env.json", &crate::json::to_pretty_vec(&state.info))?;
    for c in state.connectors.values() {
        let key = env::connector_key(&c.title);
        write(&format!("connectors/{key}.json"), &crate::json::to_pretty_vec(c))?;
        let code_path = root.join(crate::connector::code_path_of(&c.path));
        let code = fsutil::read_optional(&code_path)?.unwrap_or_default();
        for v in &c.versions {
            write(&format!("connectors/{}", v.code), &code)?;
        }
    }
    write("recipes.json", &crate::json::to_pretty_vec(&state.recipes))?;
    write("baseline.json", &crate::json::to_pretty_vec(state.baseline()?))?;
    // The readers' lock (see `env::lock::ReadLock`), so that readers never need to create it.
    write("read.lock", b"")?;
    write(".gitignore", b"lock\nread.lock\ntmp/\njournal.json\ncache/\n")?;
    fsutil::sync_dir(staging)
}
