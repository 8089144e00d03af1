//! The storage interface. [`crate::sqlite::SqliteStore`] implements it; a PostgreSQL backend
//! implements the same trait (every method is one transaction, nothing here is SQLite's).

pub use rlcm::registry::api::AuditAction;
use rlcm::registry::api::{
    CatalogApp, LinkInfo, ListingStatus, ListingView, LogoKind, ShareOutcome, SharedVersionSummary,
};

/// A storage failure or refusal.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request conflicts with what is stored (another publisher's slug, a version number
    /// already shared with other code, a name taken).
    #[error("{0}")]
    Conflict(String),
    /// Nothing by that name (or not visible to the caller).
    #[error("{0}")]
    NotFound(String),
    /// The database or the blob directory failed.
    #[error("storage failed: {0}")]
    Backend(String),
}

/// Result alias of the store.
pub type StoreResult<T> = Result<T, StoreError>;

/// A publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    /// Its row id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// When it was added.
    pub created_at: String,
    /// When its token was revoked.
    pub revoked_at: Option<String>,
}

/// A registry connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connector {
    /// Its row id.
    pub id: i64,
    /// Its global slug (the connector id in the API).
    pub slug: String,
    /// Its title at the first share.
    pub title: String,
    /// The owning publisher's id.
    pub publisher_id: i64,
    /// The owning publisher's name.
    pub publisher: String,
}

/// A stored shared version.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    /// The summary the API shows.
    pub summary: SharedVersionSummary,
    /// The title as shared in this version.
    pub title: String,
    /// The `.custom_adapter.json`, as text.
    pub metadata: String,
    /// The code blob's hash.
    pub code_blob: String,
    /// The logo blob's hash and kind.
    pub logo: Option<(String, LogoKind)>,
}

/// A version to store: its blobs are already written.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// The slug (new connector, or the publisher's own).
    pub slug: String,
    /// The title.
    pub title: String,
    /// The publisher's version number.
    pub version: u64,
    /// The note.
    pub note: Option<String>,
    /// The metadata, as text.
    pub metadata: String,
    /// The code blob (its hash is the code's blake3).
    pub code_blob: String,
    /// The logo blob and kind.
    pub logo: Option<(String, LogoKind)>,
    /// Actions.
    pub actions: Vec<String>,
    /// Triggers.
    pub triggers: Vec<String>,
}

/// Who did something and from where, for the audit log.
#[derive(Debug, Clone)]
pub struct Audit {
    /// `publisher:NAME`, `install:ID`, `link:ID`, `cli`.
    pub actor: String,
    /// The client's address.
    pub client: String,
}

/// One audit log row.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// From where.
    pub client: String,
    /// What.
    pub action: AuditAction,
    /// Which connector.
    pub connector: Option<String>,
    /// Details (never a token).
    pub detail: Option<String>,
}

/// A listing to store (the app already resolved against the catalog).
#[derive(Debug, Clone)]
pub struct ListingSubmit {
    /// The catalog app's slug, when it is in the catalog.
    pub app_slug: Option<String>,
    /// The app's name (the catalog's, or the plain text given).
    pub app_name: String,
    /// Categories (already checked against the shipped list).
    pub categories: Vec<String>,
    /// Description (Markdown).
    pub description: Option<String>,
    /// False when direct installation is prevented.
    pub direct_install: bool,
    /// The landing page.
    pub landing_page: Option<String>,
}

/// A search of the live listings (`/?q=&app=&category=&page=`).
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Text in the title, the description or the app's name.
    pub q: Option<String>,
    /// A catalog app's slug.
    pub app: Option<String>,
    /// A category.
    pub category: Option<String>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
}

/// A card of the library: one live listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// The connector's slug.
    pub slug: String,
    /// The latest shared version's title.
    pub title: String,
    /// The publisher's name.
    pub publisher: String,
    /// The app's name.
    pub app: String,
    /// Categories.
    pub categories: Vec<String>,
    /// The latest shared version (the publisher's number).
    pub latest_version: u64,
    /// Installs from the community.
    pub installs: u64,
    /// True when the latest version has a logo.
    pub has_logo: bool,
    /// The description (Markdown).
    pub description: Option<String>,
}

/// The registry's storage. Each method is atomic.
pub trait Store: Send + Sync {
    /// Adds a publisher with its token's hash.
    fn add_publisher(&self, name: &str, token_hash: &str, audit: &Audit) -> StoreResult<()>;
    /// Every publisher, by name.
    fn publishers(&self) -> StoreResult<Vec<Publisher>>;
    /// Revokes a publisher's token.
    fn revoke_publisher(&self, name: &str, audit: &Audit) -> StoreResult<()>;
    /// The active publisher whose token hashes to `token_hash`.
    fn publisher_by_token(&self, token_hash: &str) -> StoreResult<Option<Publisher>>;
    /// Sets the admin token's hash (replacing any).
    fn set_admin_token(&self, token_hash: &str, audit: &Audit) -> StoreResult<()>;

    /// A connector by slug.
    fn connector(&self, slug: &str) -> StoreResult<Option<Connector>>;
    /// Stores a shared version (creating the connector for its first share): refuses another
    /// publisher's slug, and a version number already shared with other code.
    fn share(&self, publisher: &Publisher, v: &NewVersion, audit: &Audit)
    -> StoreResult<(ShareOutcome, u64)>;
    /// The shared versions of a connector, oldest share first.
    fn versions(&self, connector: i64) -> StoreResult<Vec<StoredVersion>>;

    /// Makes a link (revoking the others first when `regenerate`); returns the link's public id
    /// and how many links were revoked.
    fn create_link(
        &self,
        connector: &Connector,
        id: &str,
        token_hash: &str,
        regenerate: bool,
        audit: &Audit,
    ) -> StoreResult<u64>;
    /// Revokes the connector's links (and its installs when `installs`); returns the counts.
    fn revoke_links(&self, connector: &Connector, installs: bool, audit: &Audit) -> StoreResult<(u64, u64)>;
    /// The connector's links.
    fn links(&self, connector: i64) -> StoreResult<Vec<LinkInfo>>;
    /// The connector of an active link, marking the link used.
    fn link_by_token(&self, token_hash: &str) -> StoreResult<Option<(i64, Connector)>>;
    /// The connector of an active link, without marking it used: for an install, which marks
    /// the link in its own transaction ([`Store::create_install`]).
    fn find_link(&self, token_hash: &str) -> StoreResult<Option<(i64, Connector)>> {
        self.link_by_token(token_hash)
    }
    /// Records an install through a link (`None`: from the community library), with its
    /// credential's hash, and marks the link used, in one transaction.
    fn create_install(
        &self,
        link: Option<i64>,
        connector: &Connector,
        id: &str,
        token_hash: &str,
        audit: &Audit,
    ) -> StoreResult<()>;
    /// The connector of an active install credential.
    fn install_by_token(&self, token_hash: &str) -> StoreResult<Option<Connector>>;

    /// The catalog's apps whose slug or name contains `q` (every app without), by name.
    fn apps(&self, q: Option<&str>) -> StoreResult<Vec<CatalogApp>>;
    /// The catalog app whose slug is `key` or whose name is `key` (case-insensitive).
    fn app(&self, key: &str) -> StoreResult<Option<CatalogApp>>;
    /// Adds apps to the catalog (an existing slug is updated); returns (added, updated).
    fn add_apps(&self, apps: &[CatalogApp], audit: &Audit) -> StoreResult<(u64, u64)>;
    /// Submits (or resubmits: back to pending) the listing of `connector`.
    fn submit_listing(
        &self,
        connector: &Connector,
        s: &ListingSubmit,
        audit: &Audit,
    ) -> StoreResult<ListingView>;
    /// The listing of the connector `slug`.
    fn listing(&self, slug: &str) -> StoreResult<Option<ListingView>>;
    /// The listing `id`.
    fn listing_by_id(&self, id: i64) -> StoreResult<Option<ListingView>>;
    /// Every listing (of one status), oldest submission first.
    fn listings(&self, status: Option<ListingStatus>) -> StoreResult<Vec<ListingView>>;
    /// A reviewer's decision: `Live`, or `Rejected`/`Disabled` with a reason.
    fn review(
        &self,
        id: i64,
        status: ListingStatus,
        reason: Option<&str>,
        audit: &Audit,
    ) -> StoreResult<ListingView>;
    /// A page of live listings and how many match in all.
    fn search(&self, q: &Search) -> StoreResult<(Vec<Card>, u64)>;

    /// The admin token's hash, if one was made.
    fn admin_token_hash(&self) -> StoreResult<Option<String>>;
    /// Stores an admin session (its id's hash, its CSRF token, its expiry in Unix seconds).
    fn create_session(&self, id_hash: &str, csrf: &str, expires: i64, audit: &Audit) -> StoreResult<()>;
    /// The CSRF token of a session that has not expired.
    fn session(&self, id_hash: &str, now: i64) -> StoreResult<Option<String>>;
    /// Ends a session.
    fn delete_session(&self, id_hash: &str) -> StoreResult<()>;

    /// The audit log, oldest first.
    fn audit_log(&self) -> StoreResult<Vec<AuditRow>>;
    /// Copies the database to `dest` (online).
    fn backup(&self, dest: &std::path::Path) -> StoreResult<()>;
}
