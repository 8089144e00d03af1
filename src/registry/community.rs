//! The community library from the client's side: `rlcm registry apps SEARCH`,
//! `rlcm connector community submit|status`, and the `REG:community/<slug>` install source.
//! Nothing here writes an environment.

use crate::error::Subject;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::api::*;
use super::client::Client;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::report::FORMAT_VERSION;

/// `rlcm registry apps SEARCH --registry REG`: the catalog's apps matching SEARCH.
pub fn apps(registry: &str, search: &str) -> Result<AppList> {
    let entry = super::get(registry)?;
    let client = Client::new(&entry.url, None);
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("q", search)
        .finish();
    client.get(&format!("/v1/apps?{q}"))
}

/// Options of `rlcm connector community submit`.
#[derive(Debug, Clone)]
pub struct SubmitOptions {
    /// The connector (title or slug).
    pub name: String,
    /// The registry's name.
    pub registry: String,
    /// The catalog app (slug or exact name).
    pub app: Option<String>,
    /// The app in plain text.
    pub app_name: Option<String>,
    /// Categories.
    pub categories: Vec<String>,
    /// The description (Markdown); default: the registry uses none.
    pub description: Option<String>,
    /// Prevent direct installation.
    pub no_direct_install: bool,
    /// The landing page.
    pub landing_page: Option<String>,
}

/// What `community submit` or `community status` found.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CommunityReport {
    /// Always 1.
    pub format_version: u32,
    /// The connector's title here.
    pub title: String,
    /// The registry's name.
    pub registry: String,
    /// The listing, as the registry has it.
    pub listing: ListingView,
    /// A sentence for people.
    pub message: String,
}

fn registry_slug(env: &Environment, name: &str, registry: &str) -> Result<(String, String)> {
    let c = env.connector(name)?;
    let Some(to) = c.shared_to.get(registry) else {
        return Err(Error::invalid(
            Subject::Connector(c.title.to_string()),
            format!(
                "`{}` has no shared version on registry `{registry}`: only a shared connector can be listed",
                c.title
            ),
        )
        .hint(format!(
            "share it first with `rlcm connector share \"{}\" --env {} --registry {registry}`",
            c.title,
            env.root.display()
        )));
    };
    Ok((c.title.clone(), to.connector_id.clone()))
}

fn describe(l: &ListingView) -> String {
    match l.status {
        ListingStatus::Pending => format!(
            "The listing of `{}` is pending review: give the reviewers a day to approve it before it goes live at {}.",
            l.title, l.url
        ),
        ListingStatus::Live => format!("The listing of `{}` is live at {}.", l.title, l.url),
        ListingStatus::Rejected => format!(
            "The listing of `{}` was rejected: {}. Fix it and submit it again.",
            l.title,
            l.reason.as_deref().unwrap_or("no reason given")
        ),
        ListingStatus::Disabled => format!(
            "The listing of `{}` is disabled until it is rectified: {}. Fix it and submit it again.",
            l.title,
            l.reason.as_deref().unwrap_or("no reason given")
        ),
    }
}

/// `rlcm connector community submit NAME --env E --registry REG ...`: a new listing (or a
/// resubmission) is pending until a reviewer approves it.
pub fn submit(env: &Environment, o: &SubmitOptions) -> Result<CommunityReport> {
    if o.categories.is_empty() {
        return Err(Error::invalid(
            Subject::Arguments,
            format!(
                "a listing needs at least one `--category`, from: {}",
                CATEGORIES.join(", ")
            ),
        ));
    }
    if o.no_direct_install && o.landing_page.is_none() {
        return Err(Error::invalid(
            Subject::Arguments,
            "`--no-direct-install` sends people to your landing page instead: give `--landing-page URL`",
        ));
    }
    let (title, slug) = registry_slug(env, &o.name, &o.registry)?;
    let client = super::sharing::publisher_client(&o.registry)?;
    let req = ListingRequest {
        app: o.app.clone(),
        app_name: o.app_name.clone(),
        categories: o.categories.clone(),
        description: o.description.clone(),
        direct_install: !o.no_direct_install,
        landing_page: o.landing_page.clone(),
    };
    let listing: ListingView = client.post(&format!("/v1/connectors/{slug}/listing"), Some(&req))?;
    let mut message = describe(&listing);
    if listing.not_in_catalog {
        message.push_str(&format!(
            " The app `{}` is not in the registry's catalog; the reviewers will see that.",
            listing.app
        ));
    }
    Ok(CommunityReport {
        format_version: FORMAT_VERSION,
        title,
        registry: o.registry.clone(),
        listing,
        message,
    })
}

/// `rlcm connector community status NAME --env E --registry REG`.
pub fn status(env: &Environment, name: &str, registry: &str) -> Result<CommunityReport> {
    let (title, slug) = registry_slug(env, name, registry)?;
    let client = super::sharing::publisher_client(registry)?;
    let listing: ListingView = client
        .get(&format!("/v1/connectors/{slug}/listing"))
        .map_err(|e| {
            Error::invalid(
                Subject::Connector(title.to_string()),
                format!("{e} (has `{title}` been submitted? `rlcm connector community submit` lists it)"),
            )
        })?;
    Ok(CommunityReport {
        format_version: FORMAT_VERSION,
        title,
        registry: registry.to_string(),
        message: describe(&listing),
        listing,
    })
}

/// The URL to install from: a share link or a page URL as given, or `REG:community/<slug>`
/// (a named registry's listing page).
pub fn install_source(source: &str) -> Result<String> {
    let s = source.trim();
    if s.starts_with("http://") || s.starts_with("https://") {
        return Ok(s.to_string());
    }
    let bad = || {
        Error::invalid(
            Subject::Arguments,
            format!(
                "`{s}` is neither a URL nor `REG:community/<slug>` (a registry named with `rlcm registry add` and a listing's slug)"
            ),
        )
    };
    let (reg, rest) = s.split_once(':').ok_or_else(bad)?;
    let slug = rest.strip_prefix("community/").ok_or_else(bad)?;
    if !valid_slug(slug) {
        return Err(bad());
    }
    let entry = super::get(reg)?;
    Ok(format!("{}/connectors/{slug}", entry.url.trim_end_matches('/')))
}
