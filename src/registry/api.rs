//! The registry's JSON HTTP API: the request and response bodies, shared by the server
//! (`crates/rlcm-registry`) and the client ([`super::client`]). Each body has a JSON Schema in
//! `schemas/registry-*.schema.json`.
//!
//! Authentication: `Authorization: Bearer TOKEN` with a publisher token (share, links), an
//! install credential (updates), or the link token in the URL (`/l/TOKEN`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Largest connector code the registry takes (as Workato's API: 10 MiB).
pub const MAX_CODE_BYTES: usize = 10 * 1024 * 1024;
/// Largest logo the registry takes (1 MiB).
pub const MAX_LOGO_BYTES: usize = 1024 * 1024;
/// Largest note, title or description (characters, each).
pub const MAX_TEXT_CHARS: usize = 10_000;

/// The kind of a logo image, told by its first bytes (never by a name or a header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LogoKind {
    /// `image/png`.
    Png,
    /// `image/jpeg`.
    Jpeg,
}

impl LogoKind {
    /// The kind of `bytes` by its magic bytes, or `None` when it is neither PNG nor JPEG.
    pub fn sniff(bytes: &[u8]) -> Option<LogoKind> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(LogoKind::Png)
        } else if bytes.len() > 3 && bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(LogoKind::Jpeg)
        } else {
            None
        }
    }

    /// The MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            LogoKind::Png => "image/png",
            LogoKind::Jpeg => "image/jpeg",
        }
    }
}

/// Checks a registry slug: 1 to 100 characters of lowercase ASCII letters, digits, `_` and `-`,
/// starting with a letter or digit (safe in a URL path and never a file path outside DIR).
pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 100
        && slug.as_bytes()[0].is_ascii_alphanumeric()
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The registry slug of a connector title: [`crate::slug::slug`], cut to 100 characters.
pub fn slug_of_title(title: &str) -> String {
    let mut s = crate::slug::slug(title);
    s.truncate(100);
    s
}

/// `POST /v1/connectors/{slug}/versions` (publisher token): share one version.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    /// The connector's title.
    pub title: String,
    /// The publisher's own version number ("shared version N").
    pub version: u64,
    /// The version's note.
    pub note: Option<String>,
    /// The `.rb` code, base64 (at most [`MAX_CODE_BYTES`] decoded).
    pub code_base64: String,
    /// The connector's `.custom_adapter.json` (metadata: title, description, logo name, ...).
    pub metadata: serde_json::Value,
    /// The logo (PNG or JPEG, at most [`MAX_LOGO_BYTES`] decoded), base64.
    pub logo_base64: Option<String>,
    /// Actions the code defines.
    pub actions: Vec<String>,
    /// Triggers the code defines.
    pub triggers: Vec<String>,
}

/// What a share did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ShareOutcome {
    /// A new shared version was stored.
    Shared,
    /// This version was already shared, with the same code: nothing changed.
    AlreadyShared,
}

/// The answer to a share.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ShareResponse {
    /// Always 1.
    pub format_version: u32,
    /// What happened.
    pub outcome: ShareOutcome,
    /// The registry's connector id (its slug).
    pub connector_id: String,
    /// The shared version (the publisher's number).
    pub version: u64,
    /// The registry's sequence number of this share (strictly increasing per connector).
    pub seq: u64,
}

/// One shared version, without its code.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct SharedVersionSummary {
    /// The publisher's version number.
    pub version: u64,
    /// The registry's sequence number of the share.
    pub seq: u64,
    /// The version's note.
    pub note: Option<String>,
    /// When it was shared (RFC 3339).
    pub shared_at: String,
    /// Actions it defines.
    pub actions: Vec<String>,
    /// Triggers it defines.
    pub triggers: Vec<String>,
    /// blake3 of its code, hex.
    pub code_blake3: String,
}

/// A connector as the registry shows it (to its publisher, a link holder or an installer).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConnectorView {
    /// Always 1.
    pub format_version: u32,
    /// The connector id (its slug).
    pub id: String,
    /// The title.
    pub title: String,
    /// The publisher's name.
    pub publisher: String,
    /// The registry's name for itself (its public URL).
    pub registry: String,
    /// The latest shared version (highest `seq`).
    pub latest: SharedVersionSummary,
    /// Every shared version, oldest share first.
    pub versions: Vec<SharedVersionSummary>,
}

/// One shared version with its code, metadata and logo.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SharedVersion {
    /// Always 1.
    pub format_version: u32,
    /// The connector id.
    pub connector_id: String,
    /// The title.
    pub title: String,
    /// The version without its code.
    pub summary: SharedVersionSummary,
    /// The `.custom_adapter.json` as shared.
    pub metadata: serde_json::Value,
    /// The code, base64.
    pub code_base64: String,
    /// The logo, base64.
    pub logo_base64: Option<String>,
    /// The logo's kind.
    pub logo_kind: Option<LogoKind>,
}

/// `POST /l/{token}/install`: the answer, with the install credential (shown once).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InstallResponse {
    /// Always 1.
    pub format_version: u32,
    /// The install's id.
    pub install_id: String,
    /// The credential for later updates (`Authorization: Bearer`); the registry keeps a hash.
    pub credential: String,
    /// The connector.
    pub connector: ConnectorView,
    /// Its latest shared version, complete.
    pub version: SharedVersion,
}

/// `POST /v1/connectors/{slug}/links`: a new private share link (its URL shown once).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LinkCreated {
    /// Always 1.
    pub format_version: u32,
    /// The link's id (not secret).
    pub id: String,
    /// The share URL, carrying the token.
    pub url: String,
    /// Links revoked by this call (a regenerate).
    pub revoked: u64,
}

/// One link, as `link list` shows it (never its token).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LinkInfo {
    /// The link's id.
    pub id: String,
    /// When it was created.
    pub created_at: String,
    /// When it was last used.
    pub last_used_at: Option<String>,
    /// Installs made through it.
    pub installs: u64,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

/// `GET /v1/connectors/{slug}/links`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LinkList {
    /// Always 1.
    pub format_version: u32,
    /// The connector id.
    pub connector_id: String,
    /// Its links, oldest first.
    pub links: Vec<LinkInfo>,
}

/// `DELETE /v1/connectors/{slug}/links` (`?installs=true` also revokes every install).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RevokeResponse {
    /// Always 1.
    pub format_version: u32,
    /// Links revoked.
    pub links: u64,
    /// Install credentials revoked.
    pub installs: u64,
}

/// `rlcm-registry publisher add --format json` and `admin-token --format json`: the new token,
/// shown once.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct NewToken {
    /// Always 1.
    pub format_version: u32,
    /// The publisher's name (`admin` for the admin token).
    pub name: String,
    /// The token.
    pub token: String,
}

/// Every error body: a status's reason in words.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ApiError {
    /// Always 1.
    pub format_version: u32,
    /// What went wrong and what to do.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logos_by_magic_bytes() {
        assert_eq!(LogoKind::sniff(b"\x89PNG\r\n\x1a\nrest"), Some(LogoKind::Png));
        assert_eq!(
            LogoKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0]),
            Some(LogoKind::Jpeg)
        );
        assert_eq!(LogoKind::sniff(b"GIF89a"), None);
        assert_eq!(LogoKind::sniff(b"<svg"), None);
    }

    #[test]
    fn slugs() {
        assert!(valid_slug("acme_crm"));
        assert!(valid_slug("a-1"));
        for bad in ["", "../x", "A", "a/b", "_x", "a b", "é"] {
            assert!(!valid_slug(bad), "{bad}");
        }
        assert_eq!(slug_of_title("Acme CRM"), "acme_crm");
    }
}

/// What the audit log records.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    JsonSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum AuditAction {
    /// A share.
    Share,
    /// A link created.
    LinkCreate,
    /// Links revoked.
    LinkRevoke,
    /// An install.
    Install,
    /// Installs revoked.
    InstallRevoke,
    /// A publisher added.
    PublisherAdd,
    /// A publisher revoked.
    PublisherRevoke,
    /// The admin token (re)made.
    AdminToken,
    /// A listing submitted (or resubmitted) to the community library.
    ListingSubmit,
    /// A listing approved (live).
    ListingApprove,
    /// A listing rejected.
    ListingReject,
    /// A listing disabled.
    ListingDisable,
    /// Apps added to (or changed in) the catalog.
    AppAdd,
    /// A reviewer signed in to the web admin.
    AdminLogin,
}

impl AuditAction {
    /// The stored name (the same as on the wire).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl std::str::FromStr for AuditAction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        <AuditAction as strum::VariantArray>::VARIANTS
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = <AuditAction as strum::VariantArray>::VARIANTS
                    .iter()
                    .map(|a| a.as_str())
                    .collect();
                format!(
                    "`{s}` is not an audit action; the actions are {}",
                    names.join(", ")
                )
            })
    }
}

/// One row of the registry's audit log (`rlcm-registry audit`); never holds a token.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct AuditEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Who: `publisher:NAME`, `link:ID`, `admin`, `cli`.
    pub actor: String,
    /// From where (the client's address, `local` for the command line).
    pub client: String,
    /// What was done.
    pub action: AuditAction,
    /// The registry connector concerned, if any.
    pub connector: Option<String>,
    /// Details (a version, a link id, a count, a reason).
    pub detail: Option<String>,
}

/// `rlcm-registry audit --format json`: the audit log, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AuditLog {
    /// Always 1.
    pub format_version: u32,
    /// The rows that matched the filters.
    pub entries: Vec<AuditEntry>,
}

// ---- The community library (listings, apps catalog, categories) ----

/// The categories a listing may carry (the registry's shipped list).
pub const CATEGORIES: &[&str] = &[
    "Analytics",
    "Collaboration",
    "Commerce",
    "Communication",
    "CRM",
    "Data",
    "Developer tools",
    "Finance",
    "HR",
    "IT service management",
    "Marketing",
    "Productivity",
    "Sales",
    "Security",
    "Support",
];

/// The shipped category spelled as `name` (case-insensitive), if there is one.
pub fn category(name: &str) -> Option<&'static str> {
    CATEGORIES
        .iter()
        .copied()
        .find(|c| c.eq_ignore_ascii_case(name.trim()))
}

/// One application of the catalog: what a listed connector connects to.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct CatalogApp {
    /// Its slug (`salesforce`).
    pub slug: String,
    /// Its name (`Salesforce`).
    pub name: String,
    /// Its website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

/// `GET /v1/apps?q=TEXT` and `rlcm registry apps SEARCH --format json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AppList {
    /// Always 1.
    pub format_version: u32,
    /// The matching apps, by name.
    pub apps: Vec<CatalogApp>,
}

/// `GET /v1/categories`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CategoryList {
    /// Always 1.
    pub format_version: u32,
    /// Every category a listing may carry.
    pub categories: Vec<String>,
}

/// Where a listing is in its review.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    JsonSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ListingStatus {
    /// Submitted, waiting for a reviewer ("give us a day to approve").
    Pending,
    /// Approved: in the library.
    Live,
    /// Refused by a reviewer (with a reason); resubmit after fixing.
    Rejected,
    /// Taken out of the library by a reviewer (with a reason) until it is rectified.
    Disabled,
}

impl ListingStatus {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The status named `s`.
    pub fn parse(s: &str) -> Option<ListingStatus> {
        [
            ListingStatus::Pending,
            ListingStatus::Live,
            ListingStatus::Rejected,
            ListingStatus::Disabled,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// `POST /v1/connectors/{slug}/listing` (publisher token): submit (or resubmit) the listing.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingRequest {
    /// The catalog app, by slug or exact name.
    #[serde(default)]
    pub app: Option<String>,
    /// The app in plain text, when it is not in the catalog (flagged for the reviewer).
    #[serde(default)]
    pub app_name: Option<String>,
    /// Category names from [`CATEGORIES`] (at least one).
    pub categories: Vec<String>,
    /// The listing's description (Markdown); default: the connector's metadata description.
    #[serde(default)]
    pub description: Option<String>,
    /// False: "prevent direct installation"; people are sent to `landing_page` instead.
    pub direct_install: bool,
    /// The publisher's landing page (http or https), required when `direct_install` is false.
    #[serde(default)]
    pub landing_page: Option<String>,
}

/// A listing, as its publisher, a reviewer and `review list --format json` see it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ListingView {
    /// Always 1.
    pub format_version: u32,
    /// The listing's id (what `rlcm-registry review approve ID` takes).
    pub id: i64,
    /// The registry connector (its slug).
    pub connector_id: String,
    /// The connector's title.
    pub title: String,
    /// The publisher's name.
    pub publisher: String,
    /// The app's name (the catalog's, or the plain text given).
    pub app: String,
    /// The catalog app's slug, when it is in the catalog.
    pub app_slug: Option<String>,
    /// True when the app was typed in plain text (not in the catalog): for the reviewer.
    pub not_in_catalog: bool,
    /// Its categories.
    pub categories: Vec<String>,
    /// Its description (Markdown).
    pub description: Option<String>,
    /// False when direct installation is prevented.
    pub direct_install: bool,
    /// The landing page people are sent to when direct installation is prevented.
    pub landing_page: Option<String>,
    /// Where it is in its review.
    pub status: ListingStatus,
    /// The reviewer's reason for a rejection or a disabling.
    pub reason: Option<String>,
    /// When it was (last) submitted.
    pub submitted_at: String,
    /// When a reviewer last acted on it.
    pub reviewed_at: Option<String>,
    /// Installs made from the community page.
    pub installs: u64,
    /// True when its latest shared version has a logo.
    pub has_logo: bool,
    /// Its public page (`/connectors/<slug>`; it answers 404 unless the listing is live).
    pub url: String,
}

/// `rlcm-registry review list --format json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ListingList {
    /// Always 1.
    pub format_version: u32,
    /// The listings, oldest submission first.
    pub listings: Vec<ListingView>,
}

/// The 403 of an install from a listing that prevents direct installation.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct NoDirectInstall {
    /// Always 1.
    pub format_version: u32,
    /// What to do instead.
    pub error: String,
    /// The publisher's landing page.
    pub landing_page: String,
}
