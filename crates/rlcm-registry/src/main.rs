//! `rlcm-registry`: serve the registry, manage publishers, make the admin token, back up.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use rlcm_registry::blobs::Blobs;
use rlcm_registry::server::{self, ServeOptions};
use rlcm_registry::sqlite::SqliteStore;
use rlcm_registry::store::{Audit, AuditAction, Store};
use rlcm_registry::tokens::{self, TokenKind};

/// A self-hosted registry of shared custom connectors for rlcm.
#[derive(Debug, Parser)]
#[command(name = "rlcm-registry", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
struct DataArg {
    /// The registry's data directory (database and blobs).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API; prints `listening on http://HOST:PORT` first.
    Serve {
        #[command(flatten)]
        data: DataArg,
        /// Address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:8470")]
        listen: String,
        /// The URL people reach the server at (links are built on it); default the listen address.
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        /// Failed token attempts one client address may make per minute before getting 429.
        #[arg(long, default_value_t = 20)]
        max_failed_attempts: u32,
    },
    /// Publishers: add (prints the token once), list, revoke.
    #[command(subcommand)]
    Publisher(PublisherCommand),
    /// Make (or replace) the admin token; prints it once.
    AdminToken {
        #[command(flatten)]
        data: DataArg,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Show the audit log (every share, link change, install, revocation; who, when, from where).
    Audit {
        #[command(flatten)]
        data: DataArg,
        /// Only the rows about this registry connector (slug).
        #[arg(long, value_name = "SLUG")]
        connector: Option<String>,
        /// Only the rows of this action (`share`, `install`, `link-create`, ...).
        #[arg(long)]
        action: Option<AuditAction>,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// The apps catalog of the community library: list, add, import.
    #[command(subcommand)]
    Apps(AppsCommand),
    /// Review community listings: list, approve, reject, disable.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Copy the database to FILE while the server runs (SQLite online backup).
    Backup {
        #[command(flatten)]
        data: DataArg,
        /// The backup file.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum PublisherCommand {
    /// Add a publisher; its token is printed once, alone on the last line.
    Add {
        /// The publisher's name.
        name: String,
        #[command(flatten)]
        data: DataArg,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// List publishers (never their tokens).
    List {
        #[command(flatten)]
        data: DataArg,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Revoke a publisher's token.
    Revoke {
        /// The publisher's name.
        name: String,
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Debug, Subcommand)]
enum AppsCommand {
    /// List the catalog (or the apps whose name or slug contains TEXT).
    List {
        /// Text to look for.
        text: Option<String>,
        #[command(flatten)]
        data: DataArg,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Add an app to the catalog (or change the one with that slug).
    Add {
        /// Its slug: lowercase letters, digits, `_` and `-`.
        slug: String,
        /// Its name, as people know it.
        #[arg(long)]
        name: String,
        /// Its website.
        #[arg(long)]
        website: Option<String>,
        #[command(flatten)]
        data: DataArg,
    },
    /// Add every app of a JSON file: an array of `{"name", "slug", "website"}` (the shape of the
    /// shipped `data/apps.json`); all or nothing.
    Import {
        /// The JSON file.
        file: PathBuf,
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Debug, Subcommand)]
enum ReviewCommand {
    /// The listings (default: every status), oldest submission first.
    List {
        /// Only this status: pending, live, rejected, disabled.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        data: DataArg,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Approve listings: they go live in the library.
    Approve {
        /// Listing ids (`review list` shows them).
        #[arg(required = true)]
        ids: Vec<i64>,
        #[command(flatten)]
        data: DataArg,
    },
    /// Reject a listing, with the reason its publisher will see.
    Reject {
        /// The listing's id.
        id: i64,
        /// Why (shown to the publisher by `rlcm connector community status`).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// Disable a live listing (its page answers 404) until it is rectified, with the reason.
    Disable {
        /// The listing's id.
        id: i64,
        /// Why (for example: the logo or the categories do not correspond to the app).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        data: DataArg,
    },
}

fn review(
    data: &Path,
    ids: &[i64],
    status: rlcm::registry::api::ListingStatus,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    let store = open(data)?;
    if let Some(r) = reason
        && r.trim().is_empty()
    {
        anyhow::bail!("the reason is empty: the publisher needs to know what to fix");
    }
    for id in ids {
        if store.listing_by_id(*id)?.is_none() {
            anyhow::bail!(
                "no listing with id {id} in `{}`; `rlcm-registry review list` shows them (nothing was changed)",
                data.display()
            );
        }
    }
    for id in ids {
        let l = store.review(*id, status, reason.map(str::trim), &cli_audit())?;
        println!("Listing {} (`{}`) is now {}.", l.id, l.title, l.status.as_str());
    }
    Ok(())
}

fn open(data: &Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(data).map_err(|e| anyhow::anyhow!("registry data `{}`: {e}", data.display()))
}

/// Checks an app of the catalog: a valid slug, a name, an http(s) website.
fn checked_app(
    a: rlcm::registry::api::CatalogApp,
    from: &str,
) -> anyhow::Result<rlcm::registry::api::CatalogApp> {
    if !rlcm::registry::api::valid_slug(&a.slug) {
        anyhow::bail!(
            "{from}: `{}` is not a valid app slug: use 1 to 100 lowercase letters, digits, `_` or `-`",
            a.slug
        );
    }
    let name = a.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        anyhow::bail!(
            "{from}: the name of app `{}` is empty or longer than 200 characters",
            a.slug
        );
    }
    if let Some(w) = &a.website
        && !(w.starts_with("https://") || w.starts_with("http://"))
    {
        anyhow::bail!(
            "{from}: the website `{w}` of app `{}` is not an http(s) URL",
            a.slug
        );
    }
    Ok(rlcm::registry::api::CatalogApp { name, ..a })
}

fn cli_audit() -> Audit {
    Audit {
        actor: "cli".into(),
        client: "local".into(),
    }
}

fn print_token(format: Format, name: &str, token: &str, human: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string(&rlcm::registry::api::NewToken {
                format_version: 1,
                name: name.to_string(),
                token: token.to_string(),
            })?
        )?,
        Format::Human => {
            writeln!(
                out,
                "{human} Its token (shown once; the registry keeps only a hash):"
            )?;
            writeln!(out, "{token}")?;
        }
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            data,
            listen,
            public_url,
            max_failed_attempts,
        } => {
            let store = open(&data.data)?;
            let blobs = Blobs::open(&data.data).map_err(|e| anyhow::anyhow!(e))?;
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on `{listen}`: {e}"))?;
                let addr = listener.local_addr()?;
                let public_url = public_url
                    .map(|u| u.trim_end_matches('/').to_string())
                    .unwrap_or_else(|| format!("http://{addr}"));
                println!("listening on http://{addr}");
                std::io::stdout().flush()?;
                let router = server::router(
                    Arc::new(store),
                    blobs,
                    ServeOptions {
                        public_url,
                        max_failed_attempts,
                        failure_window: Duration::from_secs(60),
                    },
                );
                server::serve(listener, router).await?;
                Ok::<(), anyhow::Error>(())
            })
        }
        Command::Publisher(PublisherCommand::Add { name, data, format }) => {
            rlcm::config::validate_name("publisher", &name)?;
            let store = open(&data.data)?;
            let token = tokens::new_token(TokenKind::Publisher).map_err(|e| anyhow::anyhow!(e))?;
            store.add_publisher(&name, &tokens::hash(&token), &cli_audit())?;
            print_token(format, &name, &token, &format!("Publisher `{name}` added."))
        }
        Command::Publisher(PublisherCommand::List { data, format }) => {
            let store = open(&data.data)?;
            let list = store.publishers()?;
            let mut out = std::io::stdout().lock();
            match format {
                Format::Json => {
                    let items: Vec<_> = list
                        .iter()
                        .map(|p| serde_json::json!({"name": p.name, "created_at": p.created_at, "revoked_at": p.revoked_at}))
                        .collect();
                    writeln!(
                        out,
                        "{}",
                        serde_json::json!({"format_version": 1, "publishers": items})
                    )?;
                }
                Format::Human => {
                    if list.is_empty() {
                        writeln!(out, "No publishers.")?;
                    }
                    for p in &list {
                        let state = p
                            .revoked_at
                            .as_ref()
                            .map_or_else(|| "active".to_string(), |r| format!("revoked {r}"));
                        writeln!(out, "{}  added {}  {state}", p.name, p.created_at)?;
                    }
                }
            }
            Ok(())
        }
        Command::Publisher(PublisherCommand::Revoke { name, data }) => {
            let store = open(&data.data)?;
            store.revoke_publisher(&name, &cli_audit())?;
            println!("Publisher `{name}` revoked: its token no longer works.");
            Ok(())
        }
        Command::AdminToken { data, format } => {
            let store = open(&data.data)?;
            let token = tokens::new_token(TokenKind::Admin).map_err(|e| anyhow::anyhow!(e))?;
            store.set_admin_token(&tokens::hash(&token), &cli_audit())?;
            print_token(
                format,
                "admin",
                &token,
                "Admin token made (any earlier one no longer works).",
            )
        }
        Command::Audit {
            data,
            connector,
            action,
            format,
        } => {
            let store = open(&data.data)?;
            let entries: Vec<rlcm::registry::api::AuditEntry> = store
                .audit_log()?
                .into_iter()
                .filter(|r| connector.is_none() || r.connector == connector)
                .filter(|r| action.is_none_or(|a| r.action == a))
                .map(|r| rlcm::registry::api::AuditEntry {
                    at: r.at,
                    actor: r.actor,
                    client: r.client,
                    action: r.action,
                    connector: r.connector,
                    detail: r.detail,
                })
                .collect();
            let mut out = std::io::stdout().lock();
            match format {
                Format::Json => writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&rlcm::registry::api::AuditLog {
                        format_version: 1,
                        entries,
                    })?
                )?,
                Format::Human => {
                    if entries.is_empty() {
                        writeln!(out, "No audit rows.")?;
                    }
                    for e in &entries {
                        writeln!(
                            out,
                            "{}  {}  {} from {}{}{}",
                            e.at,
                            e.action,
                            e.actor,
                            e.client,
                            e.connector.as_ref().map(|c| format!("  {c}")).unwrap_or_default(),
                            e.detail.as_ref().map(|d| format!("  ({d})")).unwrap_or_default(),
                        )?;
                    }
                }
            }
            Ok(())
        }
        Command::Apps(AppsCommand::List { text, data, format }) => {
            let store = open(&data.data)?;
            let apps = store.apps(text.as_deref())?;
            let mut out = std::io::stdout().lock();
            match format {
                Format::Json => writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&rlcm::registry::api::AppList {
                        format_version: 1,
                        apps,
                    })?
                )?,
                Format::Human => {
                    if apps.is_empty() {
                        writeln!(out, "No app matches.")?;
                    }
                    for a in &apps {
                        writeln!(
                            out,
                            "{}  {}  {}",
                            a.slug,
                            a.name,
                            a.website.as_deref().unwrap_or("")
                        )?;
                    }
                }
            }
            Ok(())
        }
        Command::Apps(AppsCommand::Add {
            slug,
            name,
            website,
            data,
        }) => {
            let app = checked_app(
                rlcm::registry::api::CatalogApp { slug, name, website },
                "the command line",
            )?;
            let store = open(&data.data)?;
            let (added, _) = store.add_apps(std::slice::from_ref(&app), &cli_audit())?;
            let verb = if added == 1 { "added to" } else { "changed in" };
            println!("App `{}` ({}) {verb} the catalog.", app.name, app.slug);
            Ok(())
        }
        Command::Apps(AppsCommand::Import { file, data }) => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", file.display()))?;
            let apps: Vec<rlcm::registry::api::CatalogApp> = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "`{}` is not a JSON array of {{\"name\", \"slug\", \"website\"}}: {e}",
                    file.display()
                )
            })?;
            let where_ = format!("`{}`", file.display());
            let apps = apps
                .into_iter()
                .map(|a| checked_app(a, &where_))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let store = open(&data.data)?;
            let (added, updated) = store.add_apps(&apps, &cli_audit())?;
            println!(
                "Imported `{}`: {added} app(s) added, {updated} changed.",
                file.display()
            );
            Ok(())
        }
        Command::Review(ReviewCommand::List { status, data, format }) => {
            let status = match status.as_deref() {
                Some(s) => Some(rlcm::registry::api::ListingStatus::parse(s).ok_or_else(|| {
                    anyhow::anyhow!("`{s}` is not a listing status: use pending, live, rejected or disabled")
                })?),
                None => None,
            };
            let store = open(&data.data)?;
            let listings = store.listings(status)?;
            let mut out = std::io::stdout().lock();
            match format {
                Format::Json => writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&rlcm::registry::api::ListingList {
                        format_version: 1,
                        listings,
                    })?
                )?,
                Format::Human => {
                    if listings.is_empty() {
                        writeln!(out, "No listings.")?;
                    }
                    for l in &listings {
                        writeln!(
                            out,
                            "{}  {}  {}  app `{}`{}  [{}]{}",
                            l.id,
                            l.status.as_str(),
                            l.title,
                            l.app,
                            if l.not_in_catalog { " (NOT IN CATALOG)" } else { "" },
                            l.categories.join(", "),
                            l.reason
                                .as_ref()
                                .map(|r| format!("  reason: {r}"))
                                .unwrap_or_default()
                        )?;
                    }
                }
            }
            Ok(())
        }
        Command::Review(ReviewCommand::Approve { ids, data }) => {
            review(&data.data, &ids, rlcm::registry::api::ListingStatus::Live, None)
        }
        Command::Review(ReviewCommand::Reject { id, reason, data }) => review(
            &data.data,
            &[id],
            rlcm::registry::api::ListingStatus::Rejected,
            Some(&reason),
        ),
        Command::Review(ReviewCommand::Disable { id, reason, data }) => review(
            &data.data,
            &[id],
            rlcm::registry::api::ListingStatus::Disabled,
            Some(&reason),
        ),
        Command::Backup { data, output } => {
            let store = open(&data.data)?;
            store.backup(&output)?;
            println!("Backed up the registry database to `{}`.", output.display());
            Ok(())
        }
    }
}

fn main() {
    // `RLCM_NOW` fixes the clock (README, "Guarantees"); the library reads no variable for it.
    rlcm::env::fix_clock_from(std::env::var("RLCM_NOW").ok().as_deref());
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
