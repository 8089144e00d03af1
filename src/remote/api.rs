//! The Developer API endpoints rlcm calls, with each endpoint's envelope and tolerant types
//! (unknown fields are ignored; unknown statuses and import results are kept, not fatal).

use crate::error::Subject;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::http::{Body, Client, EndpointClass, Method, Request};
use crate::error::{Error, Result};

/// How an endpoint wraps its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// The value itself (`/api/packages/*`, `/api/users/me`, `/api/folders`).
    Bare,
    /// `{"items": ...}` (`/api/recipes`).
    Items,
    /// `{"data": ...}` (custom connector code).
    Data,
    /// `{"result": ...}` (export manifests, `/api/custom_connectors`).
    Result,
}

impl Envelope {
    fn key(self) -> Option<&'static str> {
        match self {
            Envelope::Bare => None,
            Envelope::Items => Some("items"),
            Envelope::Data => Some("data"),
            Envelope::Result => Some("result"),
        }
    }
}

/// Decodes `body` from `url` through `envelope`. Tolerant: when the expected wrapper is absent
/// but another known one (`items`, `data`, `result`) is the only key, that one is used; when
/// none is, the body is taken as bare (several envelopes are documented only by samples).
pub fn decode<T: DeserializeOwned>(url: &str, body: &[u8], envelope: Envelope) -> Result<T> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        Error::invalid(
            Subject::Remote(url.to_string()),
            format!("{url}: the answer is not JSON ({e})"),
        )
        .hint("is the remote's URL a Workato workspace?")
    })?;
    let inner = match (&value, envelope.key()) {
        (serde_json::Value::Object(m), Some(key)) if m.contains_key(key) => m[key].clone(),
        (serde_json::Value::Object(m), _)
            if m.len() == 1 && ["items", "data", "result"].iter().any(|k| m.contains_key(*k)) =>
        {
            m.values().next().cloned().unwrap_or_default()
        }
        _ => value,
    };
    serde_json::from_value(inner).map_err(|e| {
        Error::invalid(
            Subject::Remote(url.to_string()),
            format!("{url}: unexpected answer ({e})"),
        )
        .hint("rlcm may not know this Workato API version")
    })
}

/// `GET /api/users/me`: the workspace identity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    /// Workspace (user) id.
    pub id: u64,
    /// Workspace name.
    #[serde(default)]
    pub name: String,
    /// The root folder (default import target).
    #[serde(default)]
    pub root_folder_id: Option<u64>,
    /// How many recipes the workspace has (lets the recipes list stop at its last page).
    #[serde(default)]
    pub recipes_count: Option<u64>,
}

/// A package operation's kind.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OperationType {
    /// An export.
    Export,
    /// An import.
    Import,
}

/// A package operation's status (`succeeded`/`error` are what `wk` also accepts).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PackageStatus {
    /// Still running.
    InProgress,
    /// Still running (listed in the OpenAPI description).
    Processing,
    /// Done.
    Completed,
    /// Done (seen in `wk`).
    Succeeded,
    /// Failed.
    Failed,
    /// Failed (seen in `wk`).
    Error,
    /// A status rlcm does not know: polled on, like `in_progress`, until the time limit.
    #[serde(other)]
    Unknown,
}

impl PackageStatus {
    /// Whether the operation has finished (either way).
    pub(crate) fn is_final(self) -> bool {
        matches!(
            self,
            PackageStatus::Completed
                | PackageStatus::Succeeded
                | PackageStatus::Failed
                | PackageStatus::Error
        )
    }

    /// Whether it finished well.
    pub fn is_success(self) -> bool {
        matches!(self, PackageStatus::Completed | PackageStatus::Succeeded)
    }
}

/// What an import did to one recipe.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ImportResult {
    /// Not changed, or updated without a restart (success).
    #[serde(alias = "no_update_or_update_without_restart")]
    NoUpdateOrUpdatedWithoutRestart,
    /// Updated and restarted (success).
    Restarted,
    /// Not found (failed; untouched).
    NotFound,
    /// Could not be stopped (failed; untouched).
    StopFailed,
    /// Updated, but left stopped because of errors.
    Stopped,
    /// Updated, but the restart failed.
    RestartFailed,
    /// A value rlcm does not know.
    #[serde(other)]
    Unknown,
}

impl ImportResult {
    /// The result in words.
    pub fn words(self) -> &'static str {
        match self {
            ImportResult::NoUpdateOrUpdatedWithoutRestart => "unchanged or updated (no restart needed)",
            ImportResult::Restarted => "updated and restarted",
            ImportResult::NotFound => "FAILED: recipe not found, left untouched",
            ImportResult::StopFailed => "FAILED: could not be stopped, left untouched",
            ImportResult::Stopped => "updated but left STOPPED because of errors",
            ImportResult::RestartFailed => "updated but the restart FAILED",
            ImportResult::Unknown => "unknown result (see the workspace)",
        }
    }

    /// Whether the recipe ended as intended.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            ImportResult::NoUpdateOrUpdatedWithoutRestart | ImportResult::Restarted
        )
    }
}

/// One entry of `recipe_status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecipeStatus {
    /// The recipe id.
    pub id: u64,
    /// What happened to it.
    pub import_result: ImportResult,
}

/// A package operation (`/api/packages/*`, bare).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Package {
    /// The package id.
    pub id: u64,
    /// Export or import.
    #[serde(default)]
    pub operation_type: Option<OperationType>,
    /// The status.
    pub status: PackageStatus,
    /// The export manifest (exports).
    #[serde(default)]
    pub export_manifest_id: Option<u64>,
    /// A short-lived download URL (may be absent, null or the string "null").
    #[serde(default)]
    pub download_url: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Per-recipe results (imports; empty is normal).
    #[serde(default)]
    pub recipe_status: Vec<RecipeStatus>,
}

/// A folder (`GET /api/folders`, bare array).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Folder {
    /// Folder id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Parent folder (none: a child of the root).
    #[serde(default)]
    pub parent_id: Option<u64>,
}

/// An export manifest (`{"result": ...}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportManifest {
    /// Manifest id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: String,
}

/// A custom connector (`GET /api/custom_connectors`, `{"result": [...]}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomConnector {
    /// Connector id.
    pub id: u64,
    /// The workspace-specific provider key.
    #[serde(default)]
    pub name: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Latest version (not always sent).
    #[serde(default)]
    pub latest_version: Option<u64>,
    /// Latest released version.
    #[serde(default)]
    pub latest_released_version: Option<u64>,
    /// Latest shared version.
    #[serde(default)]
    pub latest_shared_version: Option<u64>,
    /// The OEM shared version (the list endpoint's name for the shared version).
    #[serde(default)]
    pub oem_shared_version: Option<u64>,
}

impl CustomConnector {
    /// The shared version, whichever field carries it.
    pub fn shared_version(&self) -> Option<u64> {
        self.latest_shared_version.or(self.oem_shared_version)
    }
}

/// A recipe as the recipes list gives it (`{"items": [...]}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recipe {
    /// Recipe id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Folder.
    #[serde(default)]
    pub folder_id: Option<u64>,
    /// Whether it runs.
    #[serde(default)]
    pub running: bool,
}

/// `{"success": ...}` answers of recipe start/stop.
#[derive(Debug, Clone, Deserialize)]
struct Success {
    #[serde(default)]
    success: Option<bool>,
}

/// How to poll a package operation.
#[derive(Debug, Clone, Copy)]
pub struct PollOptions {
    /// First wait.
    pub initial: Duration,
    /// Longest wait between polls.
    pub max_interval: Duration,
    /// Give up after this long.
    pub timeout: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            initial: Duration::from_millis(500),
            max_interval: Duration::from_secs(15),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

const PAGE: usize = 100;
/// At most this many pages of a list are asked for at once (the pacer keeps to the limits).
const CONCURRENT_PAGES: usize = 4;
/// No list is read past this many pages.
const MAX_PAGES: usize = 10_000;

impl Client {
    fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        class: EndpointClass,
        body: Body<'_>,
        envelope: Envelope,
    ) -> Result<T> {
        let r = self.send(Request {
            method,
            path,
            class,
            body,
            outcome_matters: false,
        })?;
        decode(&r.url, &r.body, envelope)
    }

    /// `GET /api/users/me`.
    pub fn users_me(&self) -> Result<User> {
        self.json(
            Method::Get,
            "/api/users/me",
            EndpointClass::Unlimited,
            Body::Empty,
            Envelope::Bare,
        )
    }

    /// `GET /api/folders?parent_id=` (all pages).
    pub fn folders(&self, parent: Option<u64>) -> Result<Vec<Folder>> {
        let mut all = Vec::new();
        for page in 1..=1000 {
            let path = match parent {
                Some(p) => format!("/api/folders?parent_id={p}&page={page}&per_page={PAGE}"),
                None => format!("/api/folders?page={page}&per_page={PAGE}"),
            };
            let batch: Vec<Folder> = self.json(
                Method::Get,
                &path,
                EndpointClass::Folders,
                Body::Empty,
                Envelope::Bare,
            )?;
            let n = batch.len();
            all.extend(batch);
            if n < PAGE {
                break;
            }
        }
        Ok(all)
    }

    /// `POST /api/export_manifests` for a whole folder (`auto_generate_assets`).
    pub(crate) fn create_folder_manifest(&self, name: &str, folder_id: u64) -> Result<ExportManifest> {
        let body = serde_json::json!({
            "export_manifest": {
                "name": name,
                "folder_id": folder_id,
                "auto_generate_assets": true,
                "include_data": true,
                "include_tags": true,
            }
        });
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| Error::internal(format!("an export manifest cannot be serialised: {e}")))?;
        self.json(
            Method::Post,
            "/api/export_manifests",
            EndpointClass::Packaging,
            Body::Json(&bytes),
            Envelope::Result,
        )
    }

    /// `POST /api/packages/export/:manifest_id`.
    pub(crate) fn export_package(&self, manifest_id: u64) -> Result<Package> {
        self.json(
            Method::Post,
            &format!("/api/packages/export/{manifest_id}"),
            EndpointClass::Packaging,
            Body::Empty,
            Envelope::Bare,
        )
    }

    /// `POST /api/packages/import/:folder_id` with the zip as body. Never retried after a lost
    /// answer: that is [`Error::OutcomeUnknown`].
    pub fn import_package(&self, folder_id: u64, zip: &[u8], restart_recipes: bool) -> Result<Package> {
        let path = if restart_recipes {
            format!("/api/packages/import/{folder_id}?restart_recipes=true")
        } else {
            format!("/api/packages/import/{folder_id}")
        };
        let r = self.send(Request {
            method: Method::Post,
            path: &path,
            class: EndpointClass::Import,
            body: Body::Zip(zip),
            outcome_matters: true,
        })?;
        decode(&r.url, &r.body, Envelope::Bare)
    }

    /// `GET /api/packages/:id`.
    pub fn package(&self, id: u64) -> Result<Package> {
        self.json(
            Method::Get,
            &format!("/api/packages/{id}"),
            EndpointClass::Packaging,
            Body::Empty,
            Envelope::Bare,
        )
    }

    /// Polls `GET /api/packages/:id` with backoff until it is final; `progress` is told each
    /// status seen.
    pub fn wait_package(
        &self,
        first: Package,
        opts: PollOptions,
        progress: &mut dyn FnMut(&Package),
    ) -> Result<Package> {
        let started = Instant::now();
        let mut pkg = first;
        let mut wait = opts.initial;
        while !pkg.status.is_final() {
            if started.elapsed() > opts.timeout {
                return Err(Error::invalid(
                    Subject::Remote(self.base_url().to_string()),
                    format!(
                        "package {} is still {:?} after {}s",
                        pkg.id,
                        pkg.status,
                        opts.timeout.as_secs()
                    ),
                )
                .hint("look at it in Workato, or pull later"));
            }
            std::thread::sleep(wait);
            wait = (wait.mul_f64(1.5)).min(opts.max_interval);
            pkg = self.package(pkg.id)?;
            progress(&pkg);
        }
        Ok(pkg)
    }

    /// `GET /api/packages/:id/download`: the zip bytes (the 302 is followed without the token
    /// when it leads to another origin).
    pub fn download_package(&self, id: u64) -> Result<Vec<u8>> {
        let r = self.send(Request {
            method: Method::Get,
            path: &format!("/api/packages/{id}/download"),
            class: EndpointClass::Packaging,
            body: Body::Empty,
            outcome_matters: false,
        })?;
        Ok(r.body)
    }

    /// `GET /api/custom_connectors`.
    pub fn custom_connectors(&self) -> Result<Vec<CustomConnector>> {
        self.json(
            Method::Get,
            "/api/custom_connectors",
            EndpointClass::CustomConnectors,
            Body::Empty,
            Envelope::Result,
        )
    }

    /// `GET /api/recipes` (all pages).
    pub fn recipes(&self) -> Result<Vec<Recipe>> {
        self.recipes_of(None)
    }

    /// `GET /api/recipes`, all pages; with `expected` (users/me's `recipes_count`) it stops as
    /// soon as that many came, so a workspace of 100·k recipes costs k requests, not k + 1 (at
    /// 60 requests a minute the pages are what a large pull waits for).
    pub fn recipes_of(&self, expected: Option<u64>) -> Result<Vec<Recipe>> {
        // The pages the workspace's recipe count says there are are asked for a few at a time
        // (the pacer still keeps to the limits); then, in page order, the same rule as one by
        // one: stop at a short page or once the count is reached, and go on page by page only
        // if the list turned out longer than the count.
        let known = expected.map_or(0, |e| usize::try_from(e).unwrap_or(usize::MAX).div_ceil(PAGE));
        let known = known.min(MAX_PAGES);
        let mut all = Vec::new();
        for batch in self.recipe_pages(known)? {
            let n = batch.len();
            all.extend(batch);
            if n < PAGE || expected.is_some_and(|e| all.len() as u64 >= e) {
                return Ok(all);
            }
        }
        for page in known + 1..=MAX_PAGES {
            let batch = self.recipe_page(page)?;
            let n = batch.len();
            all.extend(batch);
            if n < PAGE || expected.is_some_and(|e| all.len() as u64 >= e) {
                break;
            }
        }
        Ok(all)
    }

    /// One page of the recipes list.
    fn recipe_page(&self, page: usize) -> Result<Vec<Recipe>> {
        self.json(
            Method::Get,
            &format!("/api/recipes?page={page}&per_page={PAGE}&exclude_code=true"),
            EndpointClass::Recipes,
            Body::Empty,
            Envelope::Items,
        )
    }

    /// Pages 1 to `count` of the recipes list, in order, fetched by up to
    /// [`CONCURRENT_PAGES`] requests at once; the first error wins.
    fn recipe_pages(&self, count: usize) -> Result<Vec<Vec<Recipe>>> {
        let next = std::sync::atomic::AtomicUsize::new(1);
        let slots: Vec<std::sync::Mutex<Option<Result<Vec<Recipe>>>>> =
            (0..count).map(|_| std::sync::Mutex::new(None)).collect();
        let failed = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            for _ in 0..CONCURRENT_PAGES.min(count) {
                scope.spawn(|| {
                    loop {
                        let page = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if page > count || failed.load(std::sync::atomic::Ordering::Relaxed) {
                            break;
                        }
                        let got = self.recipe_page(page);
                        if got.is_err() {
                            failed.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                        if let Ok(mut slot) = slots[page - 1].lock() {
                            *slot = Some(got);
                        }
                    }
                });
            }
        });
        let mut pages = Vec::with_capacity(count);
        for (i, slot) in slots.into_iter().enumerate() {
            match slot.into_inner().ok().flatten() {
                Some(Ok(page)) => pages.push(page),
                Some(Err(e)) => return Err(e),
                // Not asked for: an earlier page failed (its error comes first) or a worker died.
                None => {
                    return Err(Error::invalid(
                        Subject::Remote(self.base_url().to_string()),
                        format!(
                            "{}: page {} of the recipes list was not fetched",
                            self.base_url(),
                            i + 1
                        ),
                    )
                    .hint("pull again"));
                }
            }
        }
        Ok(pages)
    }
}

/// A connection as `GET /api/connections` gives it (a bare array).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Connection {
    /// Connection id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Folder.
    #[serde(default)]
    pub folder_id: Option<u64>,
}

impl Client {
    /// `GET /api/connections`.
    pub fn connections(&self) -> Result<Vec<Connection>> {
        self.json(
            Method::Get,
            "/api/connections",
            EndpointClass::Connections,
            Body::Empty,
            Envelope::Bare,
        )
    }

    /// `DELETE /api/recipes/:id` or `/api/connections/:id`; a 200 with `success:false` (a
    /// running recipe) is an error. A 404 after a retry means the first attempt deleted it.
    pub(crate) fn delete_asset(&self, kind: DeletableKind, id: u64) -> Result<()> {
        let (path, class) = match kind {
            DeletableKind::Recipe => (format!("/api/recipes/{id}"), EndpointClass::Recipes),
            DeletableKind::Connection => (format!("/api/connections/{id}"), EndpointClass::Connections),
        };
        let r = self.send(Request {
            method: Method::Delete,
            path: &path,
            class,
            body: Body::Empty,
            outcome_matters: false,
        })?;
        let s: Success = decode(&r.url, &r.body, Envelope::Bare)?;
        if s.success == Some(false) {
            let why = super::http::error_message(&r.body)
                .unwrap_or_else(|| String::from_utf8_lossy(&r.body).chars().take(300).collect());
            return Err(Error::invalid(
                Subject::Remote(r.url.to_string()),
                format!(
                    "DELETE {}: Workato refused to delete {} {id}: {}",
                    r.url,
                    kind.noun(),
                    self.redact(&why)
                ),
            ));
        }
        Ok(())
    }
}

/// What the Developer API can delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeletableKind {
    /// `DELETE /api/recipes/:id`.
    Recipe,
    /// `DELETE /api/connections/:id`.
    Connection,
}

impl DeletableKind {
    fn noun(self) -> &'static str {
        match self {
            DeletableKind::Recipe => "recipe",
            DeletableKind::Connection => "connection",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_are_unwrapped() {
        let v: Vec<u64> = decode("u", b"[1,2]", Envelope::Bare).unwrap();
        assert_eq!(v, [1, 2]);
        let v: Vec<u64> = decode("u", br#"{"items":[3]}"#, Envelope::Items).unwrap();
        assert_eq!(v, [3]);
        let v: Vec<u64> = decode("u", br#"{"result":[4]}"#, Envelope::Result).unwrap();
        assert_eq!(v, [4]);
        // Tolerance: another known wrapper, or none at all.
        let v: Vec<u64> = decode("u", br#"{"data":[5]}"#, Envelope::Result).unwrap();
        assert_eq!(v, [5]);
        let v: Vec<u64> = decode("u", b"[6]", Envelope::Data).unwrap();
        assert_eq!(v, [6]);
        let e = decode::<Vec<u64>>("https://x/api/y", b"<html>", Envelope::Bare).unwrap_err();
        assert!(e.to_string().contains("https://x/api/y"), "{e}");
    }

    #[test]
    fn package_statuses_and_results_are_tolerant() {
        let p: Package = decode(
            "u",
            br#"{"id":1,"status":"weird","download_url":null,"recipe_status":[
                {"id":5,"import_result":"no_update_or_update_without_restart"},
                {"id":6,"import_result":"something_new"},
                {"id":7,"import_result":"restarted"}]}"#,
            Envelope::Bare,
        )
        .unwrap();
        assert_eq!(p.status, PackageStatus::Unknown);
        assert!(!p.status.is_final());
        assert_eq!(
            p.recipe_status[0].import_result,
            ImportResult::NoUpdateOrUpdatedWithoutRestart
        );
        assert_eq!(p.recipe_status[1].import_result, ImportResult::Unknown);
        assert!(p.recipe_status[2].import_result.is_success());
        let p: Package = decode("u", br#"{"id":2,"status":"completed"}"#, Envelope::Bare).unwrap();
        assert!(p.status.is_success() && p.recipe_status.is_empty());
    }
}
