//! The community library's web pages, rendered on the server with maud (every interpolated
//! string is HTML-escaped by the template engine) and Markdown through pulldown-cmark with raw
//! HTML turned into text. No page has a script; the one stylesheet is `/static/style.css`.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use rlcm::registry::api::{CATEGORIES, CatalogApp, ConnectorView, ListingStatus, ListingView};

use crate::store::{Card, Search};

/// The stylesheet every page links (served at `/static/style.css`).
pub const STYLE: &str = include_str!("../data/style.css");
/// The site icon (`/static/icon.svg`): without one, browsers ask for `/favicon.ico` and log its 404.
pub const ICON: &str = include_str!("../data/icon.svg");

/// Cards per page of the library.
pub const PER_PAGE: u64 = 24;

/// The Content-Security-Policy of every page: nothing but this server, no script at all.
pub const CSP: &str = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; \
                       frame-ancestors 'none'; form-action 'self'; img-src 'self'; style-src 'self'";

/// Markdown to HTML, safely: raw HTML (blocks and inline) becomes text, images become their
/// alt text (no request leaves the page), and a link keeps its target only when it is
/// `http(s):`, `mailto:` or relative.
pub fn markdown(src: &str) -> Markup {
    fn safe_url(u: &str) -> bool {
        let lower = u.trim().to_ascii_lowercase();
        match lower.split_once(':') {
            Some((scheme, _)) if !scheme.contains('/') && !scheme.contains('?') && !scheme.contains('#') => {
                matches!(scheme, "http" | "https" | "mailto")
            }
            _ => true,
        }
    }
    let parser =
        Parser::new_ext(src, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).filter_map(|e| {
            Some(match e {
                Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
                Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => return None,
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }) => {
                    let dest_url = if safe_url(&dest_url) { dest_url } else { "#".into() };
                    Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    })
                }
                e => e,
            })
        });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, parser);
    PreEscaped(out)
}

fn layout(title: &str, noindex: bool, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if noindex { meta name="robots" content="noindex, nofollow"; }
                title { (title) " · rlcm community library" }
                link rel="stylesheet" href="/static/style.css";
                link rel="icon" type="image/svg+xml" href="/static/icon.svg";
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="site" {
                    nav aria-label="Site" {
                        a href="/" { "Community library" }
                        " "
                        a href="/admin" { "Reviewers" }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
    .into_string()
}

fn query_string(s: &Search, page: u64) -> String {
    let mut parts = form_urlencoded::Serializer::new(String::new());
    if let Some(q) = &s.q {
        parts.append_pair("q", q);
    }
    if let Some(a) = &s.app {
        parts.append_pair("app", a);
    }
    if let Some(c) = &s.category {
        parts.append_pair("category", c);
    }
    if page > 1 {
        parts.append_pair("page", &page.to_string());
    }
    let q = parts.finish();
    if q.is_empty() {
        "/".into()
    } else {
        format!("/?{q}")
    }
}

fn logo(src: Option<String>, title: &str, class: &str) -> Markup {
    html! {
        @if let Some(src) = src {
            img class=(class) src=(src) alt={ "Logo of " (title) } width="64" height="64";
        } @else {
            span class={ (class) " none" } role="img" aria-label={ "No logo for " (title) } { (title.chars().next().unwrap_or('?')) }
        }
    }
}

/// `/`: the library (search form, cards, pagination).
pub fn library(search: &Search, page: u64, cards: &[Card], total: u64, apps: &[CatalogApp]) -> String {
    let pages = total.div_ceil(PER_PAGE).max(1);
    let body = html! {
        h1 { "Community library" }
        p { "Custom connectors shared by their publishers and approved by the registry's reviewers." }
        form class="search" method="get" action="/" role="search" {
            div {
                label for="q" { "Search" }
                input id="q" type="search" name="q" value=(search.q.clone().unwrap_or_default())
                    placeholder="Title, description or app";
            }
            div {
                label for="app" { "App" }
                select id="app" name="app" {
                    option value="" { "Any app" }
                    @for a in apps {
                        option value=(a.slug) selected[search.app.as_deref() == Some(a.slug.as_str())] { (a.name) }
                    }
                }
            }
            div {
                label for="category" { "Category" }
                select id="category" name="category" {
                    option value="" { "Any category" }
                    @for c in CATEGORIES {
                        option value=(c) selected[search.category.as_deref() == Some(*c)] { (c) }
                    }
                }
            }
            button type="submit" { "Search" }
        }
        p class="count" role="status" { (total) " connector" @if total != 1 { "s" } }
        @if cards.is_empty() {
            p class="empty" { "No connector matches." }
        } @else {
            ul class="cards" {
                @for c in cards {
                    li class="card" {
                        article {
                            (logo(c.has_logo.then(|| format!("/connectors/{}/logo", c.slug)), &c.title, "logo"))
                            h2 { a href={ "/connectors/" (c.slug) } { (c.title) } }
                            p class="by" { "by " (c.publisher) }
                            p class="app" { "Connects to " strong { (c.app) } }
                            ul class="tags" aria-label="Categories" {
                                @for t in &c.categories { li { (t) } }
                            }
                            p class="meta" {
                                "Version " span class="version" { (c.latest_version) }
                                " · " span class="installs" { (c.installs) } " install" @if c.installs != 1 { "s" }
                            }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav class="pages" aria-label="Pages" {
                @if page > 1 { a rel="prev" href=(query_string(search, page - 1)) { "Previous" } " " }
                span { "Page " (page) " of " (pages) }
                @if page < pages { " " a rel="next" href=(query_string(search, page + 1)) { "Next" } }
            }
        }
    };
    layout("Community library", false, body)
}

/// What the connector page offers for installing.
pub enum InstallOffer<'a> {
    /// The command, with the URL to install from.
    Command(&'a str),
    /// Direct installation is prevented: only the publisher's landing page.
    LandingPage(&'a str),
}

fn added_removed(prev: Option<&[String]>, now: &[String]) -> (Vec<String>, Vec<String>) {
    let Some(prev) = prev else {
        return (Vec::new(), Vec::new());
    };
    let added = now.iter().filter(|a| !prev.contains(a)).cloned().collect();
    let removed = prev.iter().filter(|a| !now.contains(a)).cloned().collect();
    (added, removed)
}

fn name_list(l: &[String]) -> Markup {
    html! {
        @if l.is_empty() { "—" } @else {
            @for (i, a) in l.iter().enumerate() { @if i > 0 { ", " } code { (a) } }
        }
    }
}

/// `/connectors/<slug>` (and the private link's page, `noindex`, without a listing).
pub fn connector(
    view: &ConnectorView,
    listing: Option<&ListingView>,
    logo_src: Option<String>,
    offer: InstallOffer<'_>,
    noindex: bool,
) -> String {
    let latest = &view.latest;
    let body = html! {
        div class="head" {
            (logo(logo_src, &view.title, "logo big"))
            div {
                h1 { (view.title) }
                p class="by" { "Shared by " strong { (view.publisher) } }
                @if let Some(l) = listing {
                    p class="app" { "Connects to " strong { (l.app) } }
                    ul class="tags" aria-label="Categories" { @for t in &l.categories { li { (t) } } }
                }
            }
        }
        @if let Some(d) = listing.and_then(|l| l.description.as_deref()) {
            section aria-labelledby="about" {
                h2 id="about" { "About" }
                div class="markdown description" { (markdown(d)) }
            }
        }
        section aria-labelledby="install" class="install" {
            h2 id="install" { "Install" }
            @match offer {
                InstallOffer::Command(url) => {
                    p { "Install the latest shared version (" (latest.version) ") into an environment:" }
                    pre { code class="install-command" { "rlcm connector install " (url) " --env <ENV>" } }
                }
                InstallOffer::LandingPage(url) => {
                    p class="landing" {
                        "The publisher installs this connector for you: see "
                        a class="landing-page" href=(url) rel="noopener noreferrer" { (url) }
                        "."
                    }
                }
            }
        }
        section aria-labelledby="latest" {
            h2 id="latest" { "Latest shared version: " (latest.version) }
            @if let Some(n) = &latest.note { div class="markdown note" { (markdown(n)) } }
        }
        section aria-labelledby="history" {
            h2 id="history" { "Version history" }
            table class="history" {
                caption { "Every shared version, newest first" }
                thead { tr {
                    th scope="col" { "Version" } th scope="col" { "Shared" } th scope="col" { "Note" }
                    th scope="col" { "Actions" } th scope="col" { "Triggers" } th scope="col" { "Changes" }
                } }
                tbody {
                    @for (i, v) in view.versions.iter().enumerate().rev() {
                        @let prev = i.checked_sub(1).map(|p| &view.versions[p]);
                        @let (aa, ar) = added_removed(prev.map(|p| p.actions.as_slice()), &v.actions);
                        @let (ta, tr_) = added_removed(prev.map(|p| p.triggers.as_slice()), &v.triggers);
                        tr {
                            th scope="row" class="v" { (v.version) }
                            td { time datetime=(v.shared_at) { (v.shared_at.get(..10).unwrap_or(&v.shared_at)) } }
                            td class="markdown" { @if let Some(n) = &v.note { (markdown(n)) } }
                            td { (v.actions.len()) }
                            td { (v.triggers.len()) }
                            td class="changes" {
                                @if prev.is_none() { "First shared version" } @else {
                                    @if aa.is_empty() && ar.is_empty() && ta.is_empty() && tr_.is_empty() { "No action or trigger changed" }
                                    @if !aa.is_empty() { div { "Added actions: " (name_list(&aa)) } }
                                    @if !ar.is_empty() { div { "Removed actions: " (name_list(&ar)) } }
                                    @if !ta.is_empty() { div { "Added triggers: " (name_list(&ta)) } }
                                    @if !tr_.is_empty() { div { "Removed triggers: " (name_list(&tr_)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(&view.title, noindex, body)
}

/// A page with one message (404 and other refusals).
pub fn message(title: &str, text: &str) -> String {
    layout(
        title,
        true,
        html! { h1 { (title) } p { (text) } p { a href="/" { "Back to the library" } } },
    )
}

/// `/admin` before signing in.
pub fn admin_login(csrf: &str, error: Option<&str>) -> String {
    let body = html! {
        h1 { "Reviewers" }
        @if let Some(e) = error { p class="error" role="alert" { (e) } }
        form method="post" action="/admin/login" class="login" {
            input type="hidden" name="csrf" value=(csrf);
            // The account name that browsers and password managers expect beside a password.
            div {
                label for="account" { "Account" }
                input id="account" type="text" name="username" value="admin" autocomplete="username";
            }
            div {
                label for="token" { "Admin token" }
                input id="token" type="password" name="token" autocomplete="current-password" required;
            }
            button type="submit" { "Sign in" }
        }
        p { "The admin token is made on the server: " code { "rlcm-registry admin-token --data DIR" } "." }
    };
    layout("Reviewers: sign in", true, body)
}

fn status_name(s: ListingStatus) -> &'static str {
    s.as_str()
}

/// `/admin` signed in: the review queue and every other listing.
pub fn admin_queue(csrf: &str, listings: &[ListingView], notice: Option<&str>) -> String {
    let pending: Vec<&ListingView> = listings
        .iter()
        .filter(|l| l.status == ListingStatus::Pending)
        .collect();
    let others: Vec<&ListingView> = listings
        .iter()
        .filter(|l| l.status != ListingStatus::Pending)
        .collect();
    let row = |l: &ListingView| {
        html! {
            tr id={ "listing-" (l.id) } {
                td {
                    @if l.has_logo {
                        img class="logo" src={ "/admin/listings/" (l.id) "/logo" } alt={ "Logo of " (l.title) } width="48" height="48";
                    } @else { "no logo" }
                }
                th scope="row" { (l.title) div class="by" { "by " (l.publisher) " · #" (l.id) } }
                td { (l.app) @if l.not_in_catalog { " " strong class="flag" { "app not in catalog" } } }
                td { (l.categories.join(", ")) }
                td { @if l.direct_install { "direct" } @else { "landing page" } }
                td class="status" { (status_name(l.status)) @if let Some(r) = &l.reason { div class="reason" { (r) } } }
                td class="actions" {
                    @if l.status != ListingStatus::Live {
                        form method="post" action={ "/admin/listings/" (l.id) "/approve" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Approve" span class="sr" { " " (l.title) } }
                        }
                    }
                    @if l.status == ListingStatus::Pending {
                        form method="post" action={ "/admin/listings/" (l.id) "/reject" } {
                            input type="hidden" name="csrf" value=(csrf);
                            label for={ "reject-" (l.id) } { "Reason" }
                            input id={ "reject-" (l.id) } type="text" name="reason" required;
                            button type="submit" { "Reject" }
                        }
                    }
                    @if l.status == ListingStatus::Live {
                        form method="post" action={ "/admin/listings/" (l.id) "/disable" } {
                            input type="hidden" name="csrf" value=(csrf);
                            label for={ "disable-" (l.id) } { "Reason" }
                            input id={ "disable-" (l.id) } type="text" name="reason" required;
                            button type="submit" { "Disable" }
                        }
                    }
                }
            }
        }
    };
    let table = |title: &str, id: &str, ls: &[&ListingView]| {
        html! {
            section aria-labelledby=(id) {
                h2 id=(id) { (title) " (" (ls.len()) ")" }
                @if ls.is_empty() { p { "None." } } @else {
                    table class="queue" {
                        thead { tr {
                            th scope="col" { "Logo" } th scope="col" { "Connector" } th scope="col" { "App" }
                            th scope="col" { "Categories" } th scope="col" { "Install" } th scope="col" { "Status" }
                            th scope="col" { "Decision" }
                        } }
                        tbody { @for l in ls { (row(l)) } }
                    }
                }
            }
        }
    };
    let body = html! {
        h1 { "Reviewers" }
        @if let Some(n) = notice { p class="notice" role="status" { (n) } }
        (table("Waiting for review", "pending", &pending))
        (table("Reviewed", "reviewed", &others))
        form method="post" action="/admin/logout" {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { "Sign out" }
        }
    };
    layout("Reviewers", true, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escapes_raw_html_and_drops_unsafe_targets() {
        let m = markdown("Hi <script>alert(1)</script> **b**\n\n<img src=x onerror=alert(2)>\n\n[x](javascript:alert(3)) ![i](http://evil/x.png)").into_string();
        assert!(m.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{m}");
        assert!(m.contains("&lt;img src=x onerror=alert(2)&gt;"), "{m}");
        assert!(!m.contains("<script") && !m.contains("<img"), "{m}");
        assert!(m.contains("<strong>b</strong>"), "{m}");
        assert!(m.contains("href=\"#\"") && !m.contains("javascript:"), "{m}");
        assert!(!m.contains("http://evil"), "{m}");
        assert!(
            markdown("[ok](https://example.com/a)")
                .into_string()
                .contains("https://example.com/a")
        );
    }

    #[test]
    fn pages_escape_user_strings() {
        let html = message("<b>t</b>", "\"x\" & <y>");
        assert!(
            html.contains("&lt;b&gt;t&lt;/b&gt;") && html.contains("&quot;x&quot; &amp; &lt;y&gt;"),
            "{html}"
        );
    }

    fn card(n: u64) -> Card {
        Card {
            slug: format!("c{n}"),
            title: format!("Conn <{n}>"),
            publisher: "p".into(),
            app: "Slack".into(),
            categories: vec!["CRM".into()],
            latest_version: n,
            installs: 1,
            has_logo: n.is_multiple_of(2),
            description: None,
        }
    }

    #[test]
    fn the_library_paginates_and_keeps_the_query() {
        let search = Search {
            q: Some("a&b".into()),
            category: Some("CRM".into()),
            ..Default::default()
        };
        let cards: Vec<Card> = (1..=3).map(card).collect();
        let html = library(&search, 2, &cards, 60, &[]);
        assert!(html.contains("Page 2 of 3"), "{html}");
        assert!(
            html.contains("href=\"/?q=a%26b&amp;category=CRM\""),
            "previous keeps the query: {html}"
        );
        assert!(
            html.contains("href=\"/?q=a%26b&amp;category=CRM&amp;page=3\""),
            "{html}"
        );
        assert!(
            html.contains("Conn &lt;1&gt;") && html.contains("60 connectors"),
            "{html}"
        );
        assert!(html.contains("src=\"/connectors/c2/logo\"") && !html.contains("/connectors/c1/logo"));
        let one = library(&Search::default(), 1, &cards[..1], 1, &[]);
        assert!(one.contains("1 connector<") && !one.contains("Page "), "{one}");
    }
}
