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
use rlcm_registry::store::{Audit, Store};
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
        action: Option<String>,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
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

fn open(data: &Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(data).map_err(|e| anyhow::anyhow!("registry data `{}`: {e}", data.display()))
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
                .filter(|r| action.as_deref().is_none_or(|a| r.action == a))
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
        Command::Backup { data, output } => {
            let store = open(&data.data)?;
            store.backup(&output)?;
            println!("Backed up the registry database to `{}`.", output.display());
            Ok(())
        }
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
