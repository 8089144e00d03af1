//! The served environment seen as Workato API objects.
//!
//! Nothing is cached: every request reads the environment afresh, so a change made directly
//! in the directory ("in the Workato UI") shows at once.

use std::path::Path;

use rlcm::asset::AssetType;
use rlcm::env::{ConnectorState, Environment};
use rlcm::workspace::{Asset, Target, Workspace};
use serde_json::{Value, json};

use crate::ids::{Kind, stable_id};

/// The workspace identity (users/me) and the environment it serves.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Workspace id.
    pub id: u64,
    /// Workspace name.
    pub name: String,
    /// When the environment was created (every object's `created_at`).
    pub created_at: String,
}

impl Identity {
    /// The root ("Home") folder's id.
    pub fn root_folder_id(&self) -> u64 {
        stable_id(self.id, Kind::Folder, "")
    }

    /// A folder's id (`""`: the root).
    pub fn folder_id(&self, path: &str) -> u64 {
        if path.is_empty() {
            self.root_folder_id()
        } else {
            stable_id(self.id, Kind::Folder, path)
        }
    }

    /// An asset's id.
    pub fn asset_id(&self, a: &Asset) -> u64 {
        let kind = match a.asset_type {
            AssetType::Recipe => Kind::Recipe,
            AssetType::Connection => Kind::Connection,
            AssetType::CustomAdapter => Kind::CustomConnector,
            _ => Kind::Asset,
        };
        let key = if a.asset_type == AssetType::CustomAdapter {
            a.name.as_str()
        } else {
            a.path.as_str()
        };
        stable_id(self.id, kind, key)
    }

    /// A connector's id, by title.
    pub fn connector_id(&self, title: &str) -> u64 {
        stable_id(self.id, Kind::CustomConnector, title)
    }
}

/// The folder holding `path` (`""`: the root).
pub fn folder_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(f, _)| f)
}

/// Every folder of the environment (directories, and folders of asset paths), sorted; hidden
/// directories (`.rlcm`, `.git`) are not folders.
pub fn folders(root: &Path, ws: &Workspace) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    // Bounded: a directory tree deeper than this is not a workspace.
    let mut budget = 100_000usize;
    while let Some((dir, rel)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            budget = budget.saturating_sub(1);
            if budget == 0 {
                break;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            out.insert(path.clone());
            stack.push((e.path(), path));
        }
    }
    for a in &ws.assets {
        let mut f = folder_of(&a.path);
        while !f.is_empty() {
            out.insert(f.to_string());
            f = folder_of(f);
        }
    }
    out.into_iter().collect()
}

/// The top-level folder a folder belongs to (its project).
fn project_of(path: &str) -> &str {
    path.split_once('/').map_or(path, |(p, _)| p)
}

/// `GET /api/folders` item.
pub fn folder_json(id: &Identity, path: &str) -> Value {
    let name = path.rsplit_once('/').map_or(path, |(_, n)| n);
    let parent = folder_of(path);
    let top = !path.contains('/');
    json!({
        "id": id.folder_id(path),
        "name": name,
        "parent_id": id.folder_id(parent),
        "is_project": top,
        "project_id": stable_id(id.id, Kind::Project, project_of(path)),
        "created_at": id.created_at,
        "updated_at": id.created_at,
    })
}

/// `GET /api/projects` item.
pub fn project_json(id: &Identity, path: &str) -> Value {
    json!({
        "id": stable_id(id.id, Kind::Project, path),
        "description": "",
        "folder_id": id.folder_id(path),
        "name": path,
    })
}

/// The asset's JSON, read from the environment (`Null` when unreadable).
pub fn read_json(root: &Path, a: &Asset) -> Value {
    std::fs::read(root.join(&a.path))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

/// `GET /api/recipes` item.
pub fn recipe_json(id: &Identity, env: &Environment, a: &Asset, exclude_code: bool) -> Value {
    let v = read_json(&env.root, a);
    let running = env.is_running(&a.path);
    let since = env
        .state
        .as_ref()
        .and_then(|s| s.recipes.running.get(&a.path))
        .map(|r| r.since.clone());
    let trigger = v
        .pointer("/code/provider")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut apps: Vec<String> = v
        .get("config")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(|e| e.get("provider").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(t) = &trigger
        && !apps.contains(t)
    {
        apps.insert(0, t.clone());
    }
    let actions: Vec<&String> = apps.iter().filter(|a| Some(*a) != trigger.as_ref()).collect();
    let config: Vec<Value> = v
        .get("config")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .map(|e| {
                    json!({
                        "keyword": e.get("keyword").cloned().unwrap_or(Value::Null),
                        "name": e.get("provider").cloned().unwrap_or(Value::Null),
                        "provider": e.get("provider").cloned().unwrap_or(Value::Null),
                        "skip_validation": e.get("skip_validation").cloned().unwrap_or(Value::Bool(false)),
                        "account_id": account_id(id, e),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let code = v
        .get("code")
        .map(|c| serde_json::to_string(c).unwrap_or_default())
        .unwrap_or_default();
    let mut out = json!({
        "id": id.asset_id(a),
        "user_id": id.id,
        "name": a.name,
        "created_at": id.created_at,
        "updated_at": id.created_at,
        "copy_count": 0,
        "trigger_application": trigger,
        "action_applications": actions,
        "applications": apps,
        "description": v.get("description").and_then(Value::as_str).unwrap_or(""),
        "parameters_schema": [],
        "parameters": {},
        "webhook_url": null,
        "folder_id": id.folder_id(folder_of(&a.path)),
        "running": running,
        "job_succeeded_count": 0,
        "job_failed_count": 0,
        "lifetime_task_count": 0,
        "last_run_at": null,
        "stopped_at": if running { Value::Null } else { Value::from(id.created_at.clone()) },
        "version_no": v.get("version").and_then(Value::as_u64).unwrap_or(1),
        "stop_cause": null,
        "config": config,
        "trigger_closure": null,
        "code": code,
        "author_name": id.name,
        "version_author_name": id.name,
        "version_author_email": null,
        "version_comment": null,
        "tags": [],
    });
    if let Some(since) = since
        && let Some(o) = out.as_object_mut()
    {
        o.insert("updated_at".into(), Value::from(since));
    }
    if exclude_code && let Some(o) = out.as_object_mut() {
        o.remove("code");
    }
    out
}

/// The connection id a recipe config entry's `account_id` reference names (by its zip name and
/// folder, as the package format writes it).
fn account_id(id: &Identity, entry: &Value) -> Value {
    let Some(r) = entry.get("account_id").filter(|r| r.is_object()) else {
        return Value::Null;
    };
    let zip = r.get("zip_name").and_then(Value::as_str).unwrap_or("");
    let folder = r.get("folder").and_then(Value::as_str).unwrap_or("");
    let path = if folder.is_empty() {
        zip.to_string()
    } else {
        format!("{folder}/{zip}")
    };
    Value::from(stable_id(id.id, Kind::Connection, &path))
}

/// `GET /api/connections` item.
pub fn connection_json(id: &Identity, root: &Path, a: &Asset) -> Value {
    let v = read_json(root, a);
    let provider = v.get("provider").cloned().unwrap_or(Value::Null);
    json!({
        "id": id.asset_id(a),
        "application": provider,
        "name": a.name,
        "description": v.get("description").cloned().unwrap_or(Value::Null),
        "authorized_at": id.created_at,
        "authorization_status": "success",
        "authorization_error": null,
        "created_at": id.created_at,
        "updated_at": id.created_at,
        "external_id": null,
        "folder_id": id.folder_id(folder_of(&a.path)),
        "connection_lost_at": null,
        "connection_lost_reason": null,
        "parent_id": null,
        "provider": provider,
        "tags": [],
    })
}

/// A custom connector record (list, search, show, create, update).
pub fn connector_json(id: &Identity, c: &ConnectorState, description: Option<&str>) -> Value {
    let latest = c.latest();
    let released = c.released_record();
    let shared = c.shared.and_then(|n| c.version(n));
    let mut released_versions: Vec<Value> = c
        .versions
        .iter()
        .rev()
        .filter(|v| v.released_at.is_some() && !v.rolled_back)
        .take(10)
        .map(|v| {
            json!({
                "version": v.version,
                "version_note": v.note,
                "created_at": v.created_at,
                "released_at": v.released_at,
            })
        })
        .collect();
    released_versions.truncate(10);
    json!({
        "id": id.connector_id(&c.title),
        "name": c.provider,
        "title": c.title,
        "description": description,
        "latest_version": latest.map(|v| v.version),
        "latest_version_note": latest.and_then(|v| v.note.clone()),
        "latest_released_version": released.map(|v| v.version),
        "latest_released_version_note": released.and_then(|v| v.note.clone()),
        "latest_shared_version": shared.map(|v| v.version),
        "latest_shared_version_note": shared.and_then(|v| v.note.clone()),
        "oem_shared_version": null,
        "oem_shared_at": null,
        "released_versions": released_versions,
        "static_webhook_url": null,
    })
}

/// A recipe's problems that refuse its start, as Workato reports them: `code_errors` (steps
/// using an action or trigger the connector's released version does not define) and
/// `config_errors` (references to connections and other assets that are not there).
pub fn start_errors(env: &Environment, ws: &Workspace, recipe: usize) -> (Vec<Value>, Vec<Value>) {
    let mut code_errors = Vec::new();
    let mut config_errors = Vec::new();
    for r in ws.references_from(recipe) {
        if let Target::Dangling(to) = &r.to {
            config_errors.push(json!([
                r.kind.to_string(),
                to,
                format!("`{to}` is not in this workspace"),
            ]));
        }
    }
    let Some(state) = &env.state else {
        return (code_errors, config_errors);
    };
    for u in &ws.assets[recipe].summary.uses {
        let Some(&ci) = ws.providers.get(&*u.provider) else {
            continue;
        };
        let title = &ws.assets[ci].name;
        let Some(c) = state.connectors.get(title) else {
            continue;
        };
        let (defined, what) = match c.released_record() {
            Some(rec) => (
                rec.definition().defines(u.kind, &u.name),
                format!("version {} of connector `{title}`", rec.version),
            ),
            None => (false, format!("connector `{title}` (it has no released version)")),
        };
        if !defined {
            let kind = match u.kind {
                rlcm::asset::StepKind::Action => "Action",
                rlcm::asset::StepKind::Trigger => "Trigger",
            };
            let step = u.steps.first().copied().unwrap_or(0);
            code_errors.push(json!([
                step,
                [[
                    kind,
                    u.name.to_string(),
                    format!("`{}` is not defined by {what}", u.name)
                ]]
            ]));
        }
    }
    (code_errors, config_errors)
}
