//! The endpoints of the API origin, with Workato's envelopes and error shapes
//! (WORKATO-API.md §1.3, §1.5, §2).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use rlcm::asset::AssetType;
use rlcm::env::Actor;
use rlcm::env::Environment;
use rlcm::workspace::Workspace;
use serde_json::{Value, json};

use crate::config::{Config, FaultKind};
use crate::control::{Limiter, api_gate};
use crate::model::{self, Identity, folder_of};
use crate::storage::signed_url;

/// The largest package an import takes (Workato: 100 MB).
pub const MAX_PACKAGE: usize = 100 * 1024 * 1024;

/// How long an import whose status nobody polls keeps the workspace busy.
const IMPORT_HOLD: Duration = Duration::from_secs(300);

/// Who the emulator's writes are recorded as.
const ACTOR: &str = "workato-api";

/// An error answer: status and JSON body.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub Value);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

/// `{"message": ...}`, the shape of most errors.
pub fn message(status: StatusCode, text: &str) -> ApiError {
    ApiError(status, json!({ "message": text }))
}

/// `{"error": ...}`, the shape of package import errors.
fn import_error(status: StatusCode, text: &str) -> ApiError {
    ApiError(status, json!({ "error": text }))
}

/// A validation error: 400 `{"message": ..., "errors": {field: [...]}}`.
fn validation(field: &str, text: &str) -> ApiError {
    ApiError(
        StatusCode::BAD_REQUEST,
        json!({ "message": "Validation failed", "errors": { field: [text] } }),
    )
}

fn not_found(what: &str) -> ApiError {
    message(StatusCode::NOT_FOUND, &format!("{what} not found"))
}

/// An rlcm error as an answer: not found is 404, bad input 400, anything else 500.
fn from_rlcm(e: rlcm::Error) -> ApiError {
    let status = match &e {
        rlcm::Error::NotFound { .. } => StatusCode::NOT_FOUND,
        rlcm::Error::Invalid { .. } | rlcm::Error::Exists { .. } | rlcm::Error::Blocked(_) => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    message(status, &e.to_string())
}

type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(axum::Json(v).into_response())
}

/// Package operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Export,
    Import,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Export => "export",
            Operation::Import => "import",
        }
    }
}

/// Where a package job is.
#[derive(Debug, Clone)]
enum Outcome {
    Pending,
    Completed { recipe_status: Vec<Value> },
    Failed(String),
}

#[derive(Debug)]
struct Package {
    operation: Operation,
    manifest_id: Option<u64>,
    /// Status polls still to answer `in_progress`.
    polls_left: u32,
    outcome: Outcome,
    /// The zip (exported, or uploaded for an import), once there is one.
    file: Option<PathBuf>,
    created: Instant,
}

#[derive(Debug, Clone)]
struct Manifest {
    name: String,
    /// The folder of `folder_id` (`""`: the root), when given.
    folder: Option<String>,
    /// Asset paths listed one by one.
    assets: Vec<String>,
    auto_generate: bool,
    include_data: bool,
    created_at: String,
    last_exported_at: Option<String>,
}

/// Mutable server state.
pub struct Inner {
    /// Rate limit windows.
    pub limiter: Limiter,
    rng: fastrand::Rng,
    next_manifest: u64,
    manifests: HashMap<u64, Manifest>,
    next_package: u64,
    packages: HashMap<u64, Package>,
}

/// The emulator: configuration, identity, state.
pub struct App {
    /// The options.
    pub config: Config,
    /// `http://HOST:PORT` of the download origin.
    pub storage_origin: String,
    /// The key signing download URLs (random per run).
    pub sign_key: [u8; 32],
    identity: Identity,
    packages_dir: tempfile::TempDir,
    /// Orders access to the environment: writes one at a time and alone, reads side by side
    /// (each read opens the environment as an rlcm reader does).
    env_gate: std::sync::RwLock<()>,
    /// The workspace last loaded by a read, with what vouches that the tree is still the one it
    /// was loaded from ([`App::workspace`]).
    ws_cache: Mutex<Option<(crate::watch::Watch, Arc<Workspace>)>>,
    inner: Mutex<Inner>,
    errors: AtomicU64,
    leaks: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl App {
    /// Opens the environment (it must be an initialised rlcm environment) and sets up.
    pub fn new(config: Config, storage: SocketAddr) -> anyhow::Result<App> {
        let env = Environment::open(&config.env)?;
        let state = env.state().map_err(|e| anyhow::anyhow!("{e}"))?;
        let identity = Identity {
            id: config.id.unwrap_or(state.info.id),
            name: config.name.clone().unwrap_or_else(|| state.info.name.clone()),
            created_at: state.info.created_at.clone(),
        };
        let mut sign_key = [0u8; 32];
        let mut rng = fastrand::Rng::new();
        for b in &mut sign_key {
            *b = rng.u8(..);
        }
        let packages_dir = tempfile::Builder::new()
            .prefix("workato-emulator-")
            .tempdir()
            .map_err(|e| anyhow::anyhow!("cannot make a temporary directory for packages: {e}"))?;
        Ok(App {
            storage_origin: format!("http://{storage}"),
            sign_key,
            identity,
            packages_dir,
            env_gate: std::sync::RwLock::new(()),
            ws_cache: Mutex::new(None),
            inner: Mutex::new(Inner {
                limiter: Limiter::default(),
                rng: fastrand::Rng::with_seed(config.seed),
                next_manifest: 1,
                manifests: HashMap::new(),
                next_package: 1_000_001,
                packages: HashMap::new(),
            }),
            errors: AtomicU64::new(0),
            leaks: AtomicU64::new(0),
            config,
        })
    }

    /// The state, locked.
    pub fn inner(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// True when `token` is the configured one (compared in constant time).
    pub fn token_matches(&self, token: &str) -> bool {
        let a = blake3::hash(token.as_bytes());
        let b = blake3::hash(self.config.token.as_bytes());
        a == b
    }

    /// Draws whether a fault of `kind` hits this request (deterministic for a seed).
    pub fn draw(&self, kind: FaultKind) -> bool {
        let rates: Vec<f64> = self
            .config
            .faults
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| f.rate)
            .collect();
        if rates.is_empty() {
            return false;
        }
        let mut inner = self.inner();
        rates.into_iter().any(|r| inner.rng.f64() < r)
    }

    /// An id for a 500 answer.
    pub fn next_error_id(&self) -> String {
        let n = self.errors.fetch_add(1, Ordering::SeqCst) + 1;
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    /// Counts a request that carried credentials to the download origin.
    pub fn note_leak(&self) {
        self.leaks.fetch_add(1, Ordering::SeqCst);
    }

    /// One line on stderr (never a header or a body).
    pub fn log(&self, line: &str) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "workato-emulator: {line}");
    }

    /// The zip of a package, when it has one.
    pub fn package_file(&self, id: u64) -> Option<PathBuf> {
        let inner = self.inner();
        let p = inner.packages.get(&id)?;
        match (&p.operation, &p.outcome) {
            (Operation::Export, Outcome::Completed { .. }) | (Operation::Import, _) => p.file.clone(),
            _ => None,
        }
    }

    /// A copy of a package's record (taken under the lock, used after it).
    fn package_snapshot(&self, id: u64) -> Option<Package> {
        let inner = self.inner();
        let p = inner.packages.get(&id)?;
        Some(Package {
            operation: p.operation,
            manifest_id: p.manifest_id,
            polls_left: p.polls_left,
            outcome: p.outcome.clone(),
            file: p.file.clone(),
            created: p.created,
        })
    }

    fn actor(&self) -> Actor {
        Actor {
            user: ACTOR.to_string(),
            wait: true,
        }
    }

    /// Runs `f`, which may write the environment, on a blocking thread, alone.
    async fn with_env<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App, Environment) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.on_env(true, f).await
    }

    /// Runs `f`, which only reads the environment, on a blocking thread, beside other reads
    /// (a listing's pages and an export are served at once, as the platform serves them).
    async fn with_env_read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App, Environment) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.on_env(false, f).await
    }

    /// Opens the environment under the gate (alone to `write`, else shared) and runs `f` on it,
    /// on a blocking thread.
    async fn on_env<T: Send + 'static>(
        self: &Arc<Self>,
        write: bool,
        f: impl FnOnce(&App, Environment) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let gate = &app.env_gate;
            let _held = if write {
                (Some(gate.write().unwrap_or_else(|p| p.into_inner())), None)
            } else {
                (None, Some(gate.read().unwrap_or_else(|p| p.into_inner())))
            };
            let env = Environment::open(&app.config.env).map_err(from_rlcm)?;
            f(&app, env)
        })
        .await
        .map_err(|e| message(StatusCode::INTERNAL_SERVER_ERROR, &format!("internal error: {e}")))?
    }

    /// The environment's workspace for a read, kept between requests while the tree is
    /// unchanged: a listing of 10k recipes in pages of 100 would otherwise load the workspace
    /// for every page. Whether it is unchanged is the question of [`crate::watch`]: on Linux an
    /// inotify watch of every folder set up before the load (one `read` per request), else the
    /// tree's fingerprint (one `stat` per entry per request; a tree modified in the last two
    /// seconds is not kept). Any write, by the emulator or "in the UI", is seen. Runs under the
    /// environment gate, shared or alone ([`App::with_env_read`], [`App::with_env`]).
    fn workspace(&self, env: &Environment) -> Result<Arc<Workspace>, ApiError> {
        let unreadable = |e: std::io::Error| {
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot read the environment: {e}"),
            )
        };
        let mut cache = lock(&self.ws_cache);
        if let Some((watch, ws)) = cache.as_mut()
            && watch.unchanged(&env.root).map_err(unreadable)?
        {
            return Ok(ws.clone());
        }
        *cache = None;
        let watch = crate::watch::Watch::start(&env.root).map_err(unreadable)?;
        let ws = Arc::new(env.load_workspace().map_err(from_rlcm)?);
        *cache = watch.map(|w| (w, ws.clone()));
        Ok(ws)
    }

    /// The folder path of a folder id (`""`: the root).
    fn folder_path(&self, root: &FsPath, ws: &Workspace, id: u64) -> Option<String> {
        if id == self.identity.root_folder_id() {
            return Some(String::new());
        }
        model::folders(root, ws)
            .into_iter()
            .find(|f| self.identity.folder_id(f) == id)
    }
}

/// The API origin's routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api/users/me", get(users_me))
        .route("/api/folders", get(folders_list).post(folders_create))
        .route("/api/projects", get(projects_list))
        .route("/api/export_manifests", post(manifest_create))
        .route("/api/export_manifests/folder_assets", get(folder_assets))
        .route("/api/export_manifests/{id}", get(manifest_show))
        .route("/api/packages/export/{id}", post(package_export))
        .route(
            "/api/packages/import/{folder_id}",
            post(package_import).layer(DefaultBodyLimit::max(MAX_PACKAGE + 1)),
        )
        .route("/api/packages/{id}", get(package_show))
        .route("/api/packages/{id}/download", get(package_download))
        .route("/api/recipes", get(recipes_list))
        .route("/api/recipes/{id}", delete(recipe_delete))
        .route("/api/recipes/{id}/start", put(recipe_start))
        .route("/api/recipes/{id}/stop", put(recipe_stop))
        .route("/api/connections", get(connections_list))
        .route("/api/connections/{id}", delete(connection_delete))
        .route(
            "/api/custom_connectors",
            get(connectors_list).post(connector_create),
        )
        .route("/api/custom_connectors/search", get(connectors_search))
        .route(
            "/api/custom_connectors/{id}",
            get(connector_show).put(connector_update),
        )
        .route("/api/custom_connectors/{id}/code", get(connector_code))
        .route("/api/custom_connectors/{id}/release", post(connector_release))
        .route("/api/custom_connectors/{id}/share", post(connector_share))
        .fallback(|| async { message(StatusCode::NOT_FOUND, "Not found") })
        // Connector code may be 10 MB, JSON-escaped in a body.
        .layer(DefaultBodyLimit::max(3 * MAX_CODE))
        .layer(axum::middleware::from_fn_with_state(app.clone(), api_gate))
        .with_state(app)
}

type Q = Query<HashMap<String, String>>;

fn parse_id(s: &str, what: &str) -> Result<u64, ApiError> {
    s.parse::<u64>().map_err(|_| not_found(what))
}

fn query_u64(q: &HashMap<String, String>, key: &str) -> Result<Option<u64>, ApiError> {
    match q.get(key).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
            message(
                StatusCode::BAD_REQUEST,
                &format!("`{key}` must be a number, not `{v}`"),
            )
        }),
    }
}

fn query_bool(q: &HashMap<String, String>, key: &str) -> Result<bool, String> {
    match q.get(key).map(String::as_str) {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(v) => Err(format!("`{key}` must be true or false, not `{v}`")),
    }
}

/// `page` and `per_page` (default 100, at most 100) as a range of indexes.
fn page_range(q: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    let page = query_u64(q, "page")?.unwrap_or(1).max(1) as usize;
    let per = query_u64(q, "per_page")?.unwrap_or(100).clamp(1, 100) as usize;
    Ok(((page - 1) * per, per))
}

fn paginate(items: Vec<Value>, q: &HashMap<String, String>) -> Result<Vec<Value>, ApiError> {
    let (skip, take) = page_range(q)?;
    Ok(items.into_iter().skip(skip).take(take).collect())
}

fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| {
        message(
            StatusCode::BAD_REQUEST,
            &format!("the request body is not valid JSON: {e}"),
        )
    })
}

// ------------------------------------------------------------------------------------------
// users/me, folders, projects

async fn users_me(State(app): State<Arc<App>>) -> ApiResult {
    let v = app
        .with_env_read(|app, env| {
            let ws = app.workspace(&env)?;
            let recipes: Vec<_> = ws
                .assets
                .iter()
                .filter(|a| a.asset_type == AssetType::Recipe)
                .collect();
            let active = recipes.iter().filter(|a| env.is_running(&a.path)).count();
            let id = &app.identity;
            Ok(json!({
                "id": id.id,
                "name": id.name,
                "created_at": id.created_at,
                "expert": false,
                "avatar_url": null,
                "recipes_count": recipes.len(),
                "interested_applications": [],
                "company_name": null,
                "location": null,
                "last_seen": rlcm::env::now_rfc3339(),
                "contact_phone": null,
                "contact_email": null,
                "email": format!("api-client+{}@workato-emulator.invalid", id.id),
                "phone": null,
                "active_recipes_count": active,
                "root_folder_id": id.root_folder_id(),
                "plan_id": "workato_emulator",
                "current_billing_period_start": id.created_at,
                "current_billing_period_end": null,
            }))
        })
        .await?;
    ok(v)
}

async fn folders_list(State(app): State<Arc<App>>, Query(q): Q) -> ApiResult {
    let parent = query_u64(&q, "parent_id")?;
    let items = app
        .with_env_read(move |app, env| {
            let ws = app.workspace(&env)?;
            let parent = match parent {
                None => String::new(),
                Some(p) => app
                    .folder_path(&env.root, &ws, p)
                    .ok_or_else(|| not_found("Folder"))?,
            };
            Ok(model::folders(&env.root, &ws)
                .iter()
                .filter(|f| folder_of(f) == parent)
                .map(|f| model::folder_json(&app.identity, f))
                .collect::<Vec<_>>())
        })
        .await?;
    ok(Value::Array(paginate(items, &q)?))
}

async fn folders_create(State(app): State<Arc<App>>, body: Bytes) -> ApiResult {
    let b = json_body(&body)?;
    let name = b
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    if name.is_empty() {
        return Err(validation("name", "can't be blank"));
    }
    if name.contains('/')
        || name.contains('\\')
        || name.starts_with('.')
        || name.chars().any(char::is_control)
    {
        return Err(validation("name", "is invalid"));
    }
    // Workato's spec types parent_id as a string, wk sends a number: both are taken.
    let parent = match b.get("parent_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(
            s.parse::<u64>()
                .map_err(|_| validation("parent_id", "is invalid"))?,
        ),
        Some(v) => Some(v.as_u64().ok_or_else(|| validation("parent_id", "is invalid"))?),
    };
    let v = app
        .with_env(move |app, env| {
            let ws = env.load_workspace().map_err(from_rlcm)?;
            let parent = match parent {
                None => String::new(),
                Some(p) => app
                    .folder_path(&env.root, &ws, p)
                    .ok_or_else(|| not_found("Parent folder"))?,
            };
            let path = if parent.is_empty() {
                name
            } else {
                format!("{parent}/{name}")
            };
            if model::folders(&env.root, &ws).contains(&path) {
                return Err(validation("name", "has already been taken"));
            }
            rlcm::fsutil::create_dir_all(&env.root.join(&path)).map_err(from_rlcm)?;
            Ok(model::folder_json(&app.identity, &path))
        })
        .await?;
    ok(v)
}

async fn projects_list(State(app): State<Arc<App>>, Query(q): Q) -> ApiResult {
    let items = app
        .with_env_read(|app, env| {
            let ws = app.workspace(&env)?;
            Ok(model::folders(&env.root, &ws)
                .iter()
                .filter(|f| !f.contains('/'))
                .map(|f| model::project_json(&app.identity, f))
                .collect::<Vec<_>>())
        })
        .await?;
    ok(Value::Array(paginate(items, &q)?))
}

// ------------------------------------------------------------------------------------------
// export manifests

fn asset_json(app: &App, a: &rlcm::workspace::Asset, base: &str) -> Value {
    let folder = folder_of(&a.path);
    let rel = if base.is_empty() {
        folder
    } else {
        folder
            .strip_prefix(base)
            .map_or(folder, |r| r.trim_start_matches('/'))
    };
    let version = match a.asset_type {
        AssetType::CustomAdapter => a.summary.version_no.unwrap_or(1),
        _ => 1,
    };
    json!({
        "id": app.identity.asset_id(a),
        "name": a.name,
        "type": a.asset_type.to_string(),
        "version": version,
        "folder": rel,
        "absolute_path": if folder.is_empty() { "All projects".to_string() } else { format!("All projects/{folder}") },
        "root_folder": folder.is_empty(),
        "unreachable": false,
        "zip_name": a.path.rsplit_once('/').map_or(a.path.as_str(), |(_, n)| n),
        "checked": true,
        "status": "added",
    })
}

fn under(path: &str, folder: &str) -> bool {
    folder.is_empty() || path.starts_with(&format!("{folder}/"))
}

async fn folder_assets(State(app): State<Arc<App>>, Query(q): Q) -> ApiResult {
    let folder = query_u64(&q, "folder_id")?;
    let assets = app
        .with_env_read(move |app, env| {
            let ws = app.workspace(&env)?;
            let base = match folder {
                None => String::new(),
                Some(f) => app
                    .folder_path(&env.root, &ws, f)
                    .ok_or_else(|| not_found("Folder"))?,
            };
            Ok(ws
                .assets
                .iter()
                .filter(|a| under(&a.path, &base))
                .map(|a| asset_json(app, a, &base))
                .collect::<Vec<_>>())
        })
        .await?;
    ok(json!({ "result": { "assets": assets } }))
}

fn manifest_json(id: u64, m: &Manifest) -> Value {
    json!({
        "id": id,
        "name": m.name,
        "last_exported_at": m.last_exported_at,
        "created_at": m.created_at,
        "updated_at": m.last_exported_at.clone().unwrap_or_else(|| m.created_at.clone()),
        "deleted_at": null,
        "project_path": m.folder.clone().unwrap_or_default(),
        "status": "working",
    })
}

async fn manifest_create(State(app): State<Arc<App>>, body: Bytes) -> ApiResult {
    let b = json_body(&body)?;
    let Some(m) = b.get("export_manifest").filter(|m| m.is_object()) else {
        return Err(validation("export_manifest", "can't be blank"));
    };
    let name = m.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    if name.trim().is_empty() {
        return Err(validation("name", "can't be blank"));
    }
    let flag = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
    let auto_generate = flag("auto_generate_assets");
    let include_data = flag("include_data");
    let folder_id = match m.get("folder_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| validation("folder_id", "is not a number"))?,
        ),
    };
    if auto_generate && folder_id.is_none() {
        return Err(validation(
            "folder_id",
            "can't be blank when auto_generate_assets is true",
        ));
    }
    let mut asset_ids = Vec::new();
    if let Some(list) = m.get("assets") {
        let Some(list) = list.as_array() else {
            return Err(validation("assets", "must be an array"));
        };
        for a in list {
            let Some(id) = a.get("id").and_then(Value::as_u64) else {
                return Err(validation("assets", "each asset needs a numeric id"));
            };
            if a.get("checked").and_then(Value::as_bool) != Some(false) {
                asset_ids.push(id);
            }
        }
    }
    if !auto_generate && asset_ids.is_empty() {
        return Err(validation(
            "assets",
            "can't be blank (list assets, or set auto_generate_assets with folder_id)",
        ));
    }
    let manifest = app
        .with_env_read(move |app, env| {
            let ws = app.workspace(&env)?;
            let folder = match folder_id {
                None => None,
                Some(f) => Some(
                    app.folder_path(&env.root, &ws, f)
                        .ok_or_else(|| not_found("Folder"))?,
                ),
            };
            let mut assets = Vec::new();
            for id in asset_ids {
                let a = ws
                    .assets
                    .iter()
                    .find(|a| app.identity.asset_id(a) == id)
                    .ok_or_else(|| validation("assets", &format!("asset {id} does not exist")))?;
                assets.push(a.path.clone());
            }
            Ok(Manifest {
                name,
                folder,
                assets,
                auto_generate,
                include_data,
                created_at: rlcm::env::now_rfc3339(),
                last_exported_at: None,
            })
        })
        .await?;
    let mut inner = app.inner();
    let id = inner.next_manifest;
    inner.next_manifest += 1;
    let v = manifest_json(id, &manifest);
    inner.manifests.insert(id, manifest);
    Ok((StatusCode::CREATED, axum::Json(json!({ "result": v }))).into_response())
}

async fn manifest_show(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id, "Export manifest")?;
    let inner = app.inner();
    let m = inner
        .manifests
        .get(&id)
        .ok_or_else(|| not_found("Export manifest"))?;
    ok(json!({ "result": manifest_json(id, m) }))
}

// ------------------------------------------------------------------------------------------
// packages

fn package_json(app: &App, id: u64, p: &Package, status: &str) -> Value {
    let mut v = json!({
        "id": id,
        "operation_type": p.operation.as_str(),
        "status": status,
    });
    let Some(o) = v.as_object_mut() else { return v };
    if let Some(m) = p.manifest_id {
        o.insert("export_manifest_id".into(), Value::from(m));
    }
    let url = match (p.operation, &p.outcome) {
        (Operation::Export, Outcome::Completed { .. }) if status == "completed" => Some(signed_url(app, id)),
        (Operation::Import, _) if p.file.is_some() => Some(signed_url(app, id)),
        _ => None,
    };
    o.insert("download_url".into(), url.map_or(Value::Null, Value::from));
    if status == "failed"
        && let Outcome::Failed(e) = &p.outcome
    {
        o.insert("error".into(), Value::from(e.clone()));
    }
    if p.operation == Operation::Import {
        let rs = match &p.outcome {
            Outcome::Completed { recipe_status } if status == "completed" => recipe_status.clone(),
            _ => Vec::new(),
        };
        o.insert("recipe_status".into(), Value::Array(rs));
    }
    v
}

fn new_package(
    app: &App,
    operation: Operation,
    manifest_id: Option<u64>,
    file: Option<PathBuf>,
) -> (u64, Value) {
    let mut inner = app.inner();
    let id = inner.next_package;
    inner.next_package += 1;
    let p = Package {
        operation,
        manifest_id,
        polls_left: app.config.poll_delay,
        outcome: Outcome::Pending,
        file,
        created: Instant::now(),
    };
    inner.packages.insert(id, p);
    drop(inner);
    let v = app
        .package_snapshot(id)
        .map(|p| package_json(app, id, &p, "in_progress"))
        .unwrap_or(Value::Null);
    (id, v)
}

fn finish_package(app: &App, id: u64, outcome: Outcome) {
    if let Some(p) = app.inner().packages.get_mut(&id) {
        p.outcome = outcome;
    }
}

async fn package_export(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let manifest_id = parse_id(&id, "Export manifest")?;
    let manifest = app
        .inner()
        .manifests
        .get(&manifest_id)
        .cloned()
        .ok_or_else(|| not_found("Export manifest"))?;
    let (pkg_id, v) = new_package(&app, Operation::Export, Some(manifest_id), None);
    let job = app.clone();
    tokio::spawn(async move {
        let out = job.packages_dir.path().join(format!("export-{pkg_id}.zip"));
        let path = out.clone();
        let m = manifest.clone();
        let result = job
            .with_env_read(move |app, env| {
                let ws = app.workspace(&env)?;
                let mut em = rlcm::ops::export::ExportManifest {
                    name: Some(m.name.clone()),
                    dependencies: true,
                    include_lookup_table_data: m.include_data,
                    ..Default::default()
                };
                if m.auto_generate
                    && let Some(f) = &m.folder
                {
                    em.folders.push(f.clone());
                }
                em.recipes.extend(m.assets.iter().cloned());
                let opts = rlcm::ops::export::ExportOptions {
                    manifest_value: serde_json::to_value(&em).unwrap_or(Value::Null),
                    manifest: em,
                    workato_strict: true,
                    ..Default::default()
                };
                rlcm::ops::export::export(&env, &ws, &opts, &path).map_err(from_rlcm)
            })
            .await;
        let mut inner = job.inner();
        if let Some(m) = inner.manifests.get_mut(&manifest_id) {
            m.last_exported_at = Some(rlcm::env::now_rfc3339());
        }
        if let Some(p) = inner.packages.get_mut(&pkg_id) {
            match result {
                Ok(_) => {
                    p.file = Some(out);
                    p.outcome = Outcome::Completed {
                        recipe_status: Vec::new(),
                    };
                }
                Err(ApiError(_, body)) => {
                    let msg = body
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("export failed");
                    p.outcome = Outcome::Failed(msg.to_string());
                }
            }
        }
    });
    ok(v)
}

async fn package_show(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id, "Package")?;
    let mut inner = app.inner();
    let p = inner.packages.get_mut(&id).ok_or_else(|| not_found("Package"))?;
    let status = if p.polls_left > 0 {
        p.polls_left -= 1;
        "in_progress"
    } else {
        match p.outcome {
            Outcome::Pending => "in_progress",
            Outcome::Completed { .. } => "completed",
            Outcome::Failed(_) => "failed",
        }
    };
    // package_json draws the expire fault, which takes the state lock: release it first.
    drop(inner);
    let snapshot = app.package_snapshot(id).ok_or_else(|| not_found("Package"))?;
    ok(package_json(&app, id, &snapshot, status))
}

async fn package_download(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id, "Package")?;
    if app.package_file(id).is_none() {
        return Err(message(
            StatusCode::NOT_FOUND,
            "Package not found or has no content yet",
        ));
    }
    let url = signed_url(&app, id);
    Ok((StatusCode::FOUND, [(header::LOCATION, url)], "").into_response())
}

/// True while an import occupies the workspace: its job runs, or its status has not yet been
/// polled to the end (for at most [`IMPORT_HOLD`]).
fn import_busy(inner: &Inner) -> Option<u64> {
    inner
        .packages
        .iter()
        .filter(|(_, p)| p.operation == Operation::Import)
        .find(|(_, p)| {
            matches!(p.outcome, Outcome::Pending) || (p.polls_left > 0 && p.created.elapsed() < IMPORT_HOLD)
        })
        .map(|(id, _)| *id)
}

async fn package_import(
    State(app): State<Arc<App>>,
    Path(folder_id): Path<String>,
    Query(q): Q,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(import_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Package is too large: the limit is 100 MB",
            ));
        }
        Err(e) => {
            return Err(import_error(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the package: {e}"),
            ));
        }
    };
    let folder_id = folder_id.parse::<u64>().map_err(|_| not_found("Folder"))?;
    let restart = query_bool(&q, "restart_recipes").map_err(|e| import_error(StatusCode::BAD_REQUEST, &e))?;
    if body.is_empty() {
        return Err(import_error(
            StatusCode::BAD_REQUEST,
            "The request body must be the package zip",
        ));
    }
    if body.len() > MAX_PACKAGE {
        return Err(import_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Package is too large: the limit is 100 MB",
        ));
    }
    let folder = app
        .with_env(move |app, env| {
            let ws = env.load_workspace().map_err(from_rlcm)?;
            app.folder_path(&env.root, &ws, folder_id)
                .ok_or_else(|| not_found("Folder"))
        })
        .await?;
    let store = app.clone();
    let file = tokio::task::spawn_blocking(move || -> std::io::Result<PathBuf> {
        let mut f = tempfile::Builder::new()
            .prefix("import-")
            .suffix(".zip")
            .tempfile_in(store.packages_dir.path())?;
        std::io::Write::write_all(&mut f, &body)?;
        f.keep().map(|(_, path)| path).map_err(|e| e.error)
    })
    .await
    .map_err(|e| {
        import_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot store the package: {e}"),
        )
    })?
    .map_err(|e| {
        import_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot store the package: {e}"),
        )
    })?;
    // The check and the new package under one lock: two imports never both pass.
    let id = {
        let mut inner = app.inner();
        if let Some(busy) = import_busy(&inner) {
            drop(inner);
            let _ = std::fs::remove_file(&file);
            return Err(import_error(
                StatusCode::CONFLICT,
                &format!(
                    "Another package import (package {busy}) is in progress in this workspace; one import runs at a time: wait for it to complete"
                ),
            ));
        }
        let id = inner.next_package;
        inner.next_package += 1;
        let p = Package {
            operation: Operation::Import,
            manifest_id: None,
            polls_left: app.config.poll_delay,
            outcome: Outcome::Pending,
            file: Some(file.clone()),
            created: Instant::now(),
        };
        inner.packages.insert(id, p);
        id
    };
    let v = app
        .package_snapshot(id)
        .map(|p| package_json(&app, id, &p, "in_progress"))
        .unwrap_or(Value::Null);
    let job = app.clone();
    tokio::spawn(async move {
        let result = job
            .with_env(move |app, env| Ok(run_import(app, env, &file, folder, restart)))
            .await;
        let outcome = match result {
            Ok(o) => o,
            Err(ApiError(_, body)) => Outcome::Failed(
                body.get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("import failed")
                    .to_string(),
            ),
        };
        finish_package(&job, id, outcome);
    });
    ok(v)
}

/// The import: rlcm's plan and journaled import into the served environment. Workato
/// overwrites what it imports, so conflicts and breaking changes do not stop it (`force`);
/// running recipes it would update stop it unless `restart_recipes`.
fn run_import(app: &App, env: Environment, file: &FsPath, folder: String, restart: bool) -> Outcome {
    let pkg = match rlcm::apply::open_package(file) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(format!("The package is not valid: {e}")),
    };
    let opts = rlcm::plan::PlanOptions {
        folder: (!folder.is_empty()).then_some(folder),
        restart_recipes: restart,
        force: true,
        ..Default::default()
    };
    let report = match rlcm::apply::apply(env, &pkg, &opts, &app.actor(), None) {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    if report.blocked {
        let running: Vec<&str> = report
            .blockers
            .iter()
            .filter(|b| b.kind == rlcm::diag::Code::RunningRecipe)
            .map(|b| b.path.as_str())
            .collect();
        let msg = if !running.is_empty() {
            format!(
                "The import would update running recipes ({}); import with restart_recipes=true to stop, update and restart them",
                running.join(", ")
            )
        } else {
            report
                .blockers
                .iter()
                .map(|b| b.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        };
        return Outcome::Failed(msg);
    }
    let recipe_status = report
        .actions
        .iter()
        .filter(|a| a.asset_type == AssetType::Recipe.to_string())
        .map(|a| {
            let result = if a.action == "update_running" {
                "restarted"
            } else {
                "no_update_or_updated_without_restart"
            };
            json!({
                "id": crate::ids::stable_id(app.identity.id, crate::ids::Kind::Recipe, &a.path),
                "import_result": result,
            })
        })
        .collect();
    Outcome::Completed { recipe_status }
}

// ------------------------------------------------------------------------------------------
// recipes, connections

async fn recipes_list(State(app): State<Arc<App>>, Query(q): Q) -> ApiResult {
    let folder = query_u64(&q, "folder_id")?;
    let since = query_u64(&q, "since_id")?;
    let running = match q.get("running").map(String::as_str) {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(v) => {
            return Err(message(
                StatusCode::BAD_REQUEST,
                &format!("`running` must be true or false, not `{v}`"),
            ));
        }
    };
    let exclude_code = query_bool(&q, "exclude_code").map_err(|e| message(StatusCode::BAD_REQUEST, &e))?;
    let (skip, take) = page_range(&q)?;
    let items = app
        .with_env_read(move |app, env| {
            let ws = app.workspace(&env)?;
            let folder = match folder {
                None => None,
                Some(f) => Some(
                    app.folder_path(&env.root, &ws, f)
                        .ok_or_else(|| not_found("Folder"))?,
                ),
            };
            let mut list: Vec<(u64, &rlcm::workspace::Asset)> = ws
                .assets
                .iter()
                .filter(|a| a.asset_type == AssetType::Recipe)
                .filter(|a| folder.as_deref().is_none_or(|f| folder_of(&a.path) == f))
                .filter(|a| running.is_none_or(|r| env.is_running(&a.path) == r))
                .map(|a| (app.identity.asset_id(a), a))
                .filter(|(id, _)| since.is_none_or(|s| *id < s))
                .collect();
            list.sort_by_key(|r| std::cmp::Reverse(r.0));
            // Only the page asked for is read and built (a listing of 10k recipes in pages of
            // 100 would otherwise read every recipe 100 times).
            Ok(list
                .into_iter()
                .skip(skip)
                .take(take)
                .map(|(_, a)| model::recipe_json(&app.identity, &env, a, exclude_code))
                .collect::<Vec<_>>())
        })
        .await?;
    ok(json!({ "items": items }))
}

async fn recipe_start(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    set_running(app, id, true).await
}

async fn recipe_stop(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    set_running(app, id, false).await
}

async fn set_running(app: Arc<App>, id: String, run: bool) -> ApiResult {
    let id = parse_id(&id, "Recipe")?;
    let v = app
        .with_env(move |app, env| {
            let ws = env.load_workspace().map_err(from_rlcm)?;
            let i = ws
                .assets
                .iter()
                .position(|a| a.asset_type == AssetType::Recipe && app.identity.asset_id(a) == id)
                .ok_or_else(|| not_found("Recipe"))?;
            let path = ws.assets[i].path.clone();
            if run {
                let (code_errors, config_errors) = model::start_errors(&env, &ws, i);
                if !code_errors.is_empty() || !config_errors.is_empty() {
                    return Ok(json!({
                        "success": false,
                        "code_errors": code_errors,
                        "config_errors": config_errors,
                    }));
                }
            }
            if env.is_running(&path) != run {
                rlcm::ops::recipe::set_running(env, &[path], false, run, &app.actor()).map_err(from_rlcm)?;
            }
            Ok(json!({ "success": true }))
        })
        .await?;
    ok(v)
}

/// `DELETE /api/recipes/:id`: `{"success":true}`; a running recipe is refused with HTTP 200
/// and `success:false`, as recorded live.
async fn recipe_delete(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id, "Recipe")?;
    let v = app
        .with_env(move |app, env| {
            let ws = env.load_workspace().map_err(from_rlcm)?;
            let a = ws
                .assets
                .iter()
                .find(|a| a.asset_type == AssetType::Recipe && app.identity.asset_id(a) == id)
                .ok_or_else(|| not_found("Recipe"))?;
            if env.is_running(&a.path) {
                return Ok(json!({
                    "success": false,
                    "errors": {"running": ["Can't change the recipe state: invalid state running"]},
                }));
            }
            remove_asset_file(&env.root, &a.path)?;
            Ok(json!({ "success": true }))
        })
        .await?;
    ok(v)
}

/// `DELETE /api/connections/:id`: `{"success":true}`.
async fn connection_delete(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id, "Connection")?;
    let v = app
        .with_env(move |app, env| {
            let ws = env.load_workspace().map_err(from_rlcm)?;
            let a = ws
                .assets
                .iter()
                .find(|a| a.asset_type == AssetType::Connection && app.identity.asset_id(a) == id)
                .ok_or_else(|| not_found("Connection"))?;
            remove_asset_file(&env.root, &a.path)?;
            Ok(json!({ "success": true }))
        })
        .await?;
    ok(v)
}

/// Removes an asset's file from the served tree (what a deletion in Workato does to it).
fn remove_asset_file(root: &FsPath, rel: &str) -> Result<(), ApiError> {
    let path = root.join(rel);
    std::fs::remove_file(&path).map_err(|e| {
        message(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot delete {rel}: {e}"),
        )
    })?;
    if let Some(dir) = path.parent() {
        let _ = rlcm::fsutil::sync_dir(dir);
    }
    Ok(())
}

async fn connections_list(State(app): State<Arc<App>>, Query(q): Q) -> ApiResult {
    let folder = query_u64(&q, "folder_id")?;
    let items = app
        .with_env_read(move |app, env| {
            let ws = app.workspace(&env)?;
            let folder = match folder {
                None => None,
                Some(f) => Some(
                    app.folder_path(&env.root, &ws, f)
                        .ok_or_else(|| not_found("Folder"))?,
                ),
            };
            Ok(ws
                .assets
                .iter()
                .filter(|a| a.asset_type == AssetType::Connection)
                .filter(|a| folder.as_deref().is_none_or(|f| folder_of(&a.path) == f))
                .map(|a| model::connection_json(&app.identity, &env.root, a))
                .collect::<Vec<_>>())
        })
        .await?;
    ok(Value::Array(items))
}

// ------------------------------------------------------------------------------------------
// custom connectors

/// Every connector (histories, and tree connectors without one) with its description.
fn connectors(env: &Environment) -> Result<Vec<(rlcm::env::ConnectorState, Option<String>)>, ApiError> {
    let ws = env.load_workspace().map_err(from_rlcm)?;
    let list = rlcm::connector::histories(env, &ws).map_err(from_rlcm)?;
    Ok(list
        .into_iter()
        .map(|c| {
            let description = ws
                .get(&c.path)
                .map(|a| model::read_json(&env.root, a))
                .and_then(|v| v.get("description").and_then(Value::as_str).map(str::to_string));
            (c, description)
        })
        .collect())
}

fn connector_by_id(
    app: &App,
    env: &Environment,
    id: u64,
) -> Result<(rlcm::env::ConnectorState, Option<String>), ApiError> {
    connectors(env)?
        .into_iter()
        .find(|(c, _)| app.identity.connector_id(&c.title) == id)
        .ok_or_else(|| not_found("Custom connector"))
}

async fn connectors_list(State(app): State<Arc<App>>, Query(q): Q) -> ApiResult {
    let title = q.get("title").cloned().filter(|t| !t.is_empty());
    let items = app
        .with_env_read(move |app, env| {
            Ok(connectors(&env)?
                .iter()
                .filter(|(c, _)| title.as_deref().is_none_or(|t| c.title.contains(t)))
                .map(|(c, d)| model::connector_json(&app.identity, c, d.as_deref()))
                .collect::<Vec<_>>())
        })
        .await?;
    ok(json!({ "result": items }))
}

async fn connectors_search(State(app): State<Arc<App>>, Query(q): Q, body: Bytes) -> ApiResult {
    // The doc's curl sends `title` as a JSON body on GET; clients send `?title=`: both work.
    let from_body = json_body(&body)
        .ok()
        .and_then(|b| b.get("title").and_then(Value::as_str).map(str::to_string));
    let Some(title) = q.get("title").cloned().or(from_body).filter(|t| !t.is_empty()) else {
        return Err(validation("title", "can't be blank"));
    };
    let items = app
        .with_env_read(move |app, env| {
            Ok(connectors(&env)?
                .iter()
                .filter(|(c, _)| c.title.contains(&title))
                .map(|(c, d)| model::connector_json(&app.identity, c, d.as_deref()))
                .collect::<Vec<_>>())
        })
        .await?;
    ok(json!({ "data": items }))
}

async fn connector_show(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id, "Custom connector")?;
    let v = app
        .with_env_read(move |app, env| {
            let (c, d) = connector_by_id(app, &env, id)?;
            Ok(model::connector_json(&app.identity, &c, d.as_deref()))
        })
        .await?;
    ok(v)
}

async fn connector_code(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id, "Custom connector")?;
    let code = app
        .with_env_read(move |app, env| {
            let (c, _) = connector_by_id(app, &env, id)?;
            let bytes = match c.latest() {
                Some(v)
                    if env
                        .state
                        .as_ref()
                        .is_some_and(|s| s.connectors.contains_key(&c.title)) =>
                {
                    env.version_code(&c, v.version).map_err(from_rlcm)?
                }
                _ => rlcm::fsutil::read(&env.root.join(rlcm::connector::code_path_of(&c.path)))
                    .map_err(from_rlcm)?,
            };
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        })
        .await?;
    ok(json!({ "data": { "code": code } }))
}

/// The 10 MB cap on connector code.
const MAX_CODE: usize = 10 * 1024 * 1024;

fn code_field(b: &Value, required: bool) -> Result<Option<String>, ApiError> {
    match b.get("code") {
        None | Some(Value::Null) if !required => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => {
            if s.len() > MAX_CODE {
                return Err(validation("code", "is too long (the limit is 10 MB)"));
            }
            Ok(Some(s.clone()))
        }
        Some(Value::String(_)) | None | Some(Value::Null) => Err(validation("code", "can't be blank")),
        Some(_) => Err(validation("code", "must be a string")),
    }
}

fn text_field(b: &Value, key: &str) -> Option<String> {
    b.get(key).and_then(Value::as_str).map(str::to_string)
}

async fn connector_create(State(app): State<Arc<App>>, body: Bytes) -> ApiResult {
    let b = json_body(&body)?;
    let title = text_field(&b, "title").unwrap_or_default();
    if title.trim().is_empty() {
        return Err(validation("title", "can't be blank"));
    }
    let code = code_field(&b, true)?.unwrap_or_default();
    let new = rlcm::ops::connector::NewConnector {
        title: title.trim().to_string(),
        description: text_field(&b, "description"),
        note: text_field(&b, "note"),
        code: code.into_bytes(),
    };
    let v = app
        .with_env(move |app, env| {
            let report = rlcm::ops::connector::create(env, &new, &app.actor()).map_err(|e| match e {
                e @ rlcm::Error::Exists { .. } => validation("title", &e.to_string()),
                e => from_rlcm(e),
            })?;
            let env = Environment::open(&app.config.env).map_err(from_rlcm)?;
            let (c, d) = connector_by_id(app, &env, app.identity.connector_id(&report.title))?;
            Ok(model::connector_json(&app.identity, &c, d.as_deref()))
        })
        .await?;
    ok(v)
}

async fn connector_update(State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id = parse_id(&id, "Custom connector")?;
    let b = json_body(&body)?;
    let code = code_field(&b, false)?;
    let note = text_field(&b, "note");
    let v = app
        .with_env(move |app, env| {
            let (c, _) = connector_by_id(app, &env, id)?;
            if let Some(code) = code {
                rlcm::ops::connector::update_code(
                    env,
                    &c.title,
                    code.as_bytes(),
                    note.as_deref(),
                    &app.actor(),
                )
                .map_err(from_rlcm)?;
            }
            let env = Environment::open(&app.config.env).map_err(from_rlcm)?;
            let (c, d) = connector_by_id(app, &env, id)?;
            Ok(model::connector_json(&app.identity, &c, d.as_deref()))
        })
        .await?;
    ok(v)
}

async fn connector_release(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id, "Custom connector")?;
    let v = app
        .with_env(move |app, env| {
            let (c, _) = connector_by_id(app, &env, id)?;
            let Some(latest) = c.latest().map(|v| v.version) else {
                return Err(message(
                    StatusCode::BAD_REQUEST,
                    &format!("Connector `{}` has no version to release", c.title),
                ));
            };
            if c.released == Some(latest) {
                return Err(message(
                    StatusCode::BAD_REQUEST,
                    "Connector\u{2019}s released version is already the latest version",
                ));
            }
            let code = env.version_code(&c, latest).map_err(from_rlcm)?;
            if rlcm::env::define(&code).parse_error.is_some() {
                return Err(message(
                    StatusCode::BAD_REQUEST,
                    "Fix code errors before releasing the connector",
                ));
            }
            // Workato does not check the workspace's recipes before a release: forced.
            rlcm::ops::connector::release(env, &c.title, Some(latest), true, &app.actor())
                .map_err(from_rlcm)?;
            Ok(json!({ "message": "Connector released successfully" }))
        })
        .await?;
    ok(v)
}

async fn connector_share(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id, "Custom connector")?;
    let v = app
        .with_env(move |app, env| {
            let (c, _) = connector_by_id(app, &env, id)?;
            let Some(released) = c.released else {
                return Err(message(
                    StatusCode::BAD_REQUEST,
                    "There is no released version to share",
                ));
            };
            if c.shared == Some(released) {
                return Err(message(
                    StatusCode::BAD_REQUEST,
                    "Connector\u{2019}s shared version is already the latest released version",
                ));
            }
            rlcm::ops::connector::share(env, &c.title, Some(released), &app.actor()).map_err(from_rlcm)?;
            Ok(json!({ "message": "Connector shared successfully" }))
        })
        .await?;
    ok(v)
}
