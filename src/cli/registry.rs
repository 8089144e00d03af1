//! `rlcm registry ...` and the sharing commands of `rlcm connector` (share, link, install,
//! outdated, update): arguments, dispatch and rendering.

use clap::Subcommand;

use super::formats::PlainFormat;
use super::{EXIT_OK, EnvArg, output};
use rlcm::env::Actor;
use rlcm::env::Environment;
use rlcm::registry::{self, RegistryListReport, sharing};

/// Exit code of `outdated --detailed-exitcode` when updates exist.
const EXIT_PENDING: i32 = 10;

/// `rlcm registry ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum RegistryCommand {
    /// Add (or change) a named registry in `registries.toml` (stores the token's variable name).
    Add {
        /// The registry's name.
        name: String,
        /// Its URL (`http://HOST:PORT`, `https://HOST`).
        #[arg(long)]
        url: String,
        /// The variable holding the publisher token (default `RLCM_REGISTRY_TOKEN_<NAME>`).
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: PlainFormat,
    },
    /// List the named registries.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: PlainFormat,
    },
    /// Search the registry's catalog of apps (for `connector community submit --app`).
    Apps {
        /// Text in the app's name or slug (empty: every app).
        #[arg(default_value = "")]
        search: String,
        /// The registry.
        #[arg(long, value_name = "REG")]
        registry: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: PlainFormat,
    },
    /// Remove a named registry.
    Remove {
        /// The registry's name.
        name: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: PlainFormat,
    },
}

/// The sharing commands of `rlcm connector`.
#[derive(Debug, Subcommand)]
pub(crate) enum SharingCommand {
    /// Set the shared version (default: the released one; only a released version can be
    /// shared); with `--registry`, publish it there.
    Share {
        /// The connector's title (or slug).
        name: String,
        /// The version to share.
        version: Option<u64>,
        /// Publish to this registry (see `rlcm registry add`).
        #[arg(long, value_name = "REG")]
        registry: Option<String>,
        /// The registry slug to share under (when another publisher owns the title's slug).
        #[arg(long, requires = "registry")]
        slug: Option<String>,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Private share links: create, revoke, regenerate, list.
    #[command(subcommand)]
    Link(LinkCommand),
    /// The community library: submit a listing, see its review status.
    #[command(subcommand)]
    Community(CommunityCommand),
    /// Install a connector from a share link or the community library as a new connector here
    /// (version 1, released).
    Install {
        /// The share link, a community page URL, or `REG:community/<slug>`.
        url: String,
        /// Install under this title (only the title changes; the code stays as shared).
        #[arg(long = "as", value_name = "TITLE")]
        as_title: Option<String>,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Installed connectors whose parent shared a newer version, with its notes.
    Outdated {
        /// Exit 10 when updates exist.
        #[arg(long)]
        detailed_exitcode: bool,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Put the parent's latest shared version on top of an installed connector (not released).
    Update {
        /// The connector's title (or slug).
        name: String,
        #[command(flatten)]
        env: EnvArg,
    },
}

/// `rlcm connector community ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum CommunityCommand {
    /// List a shared connector in the community library (pending until a reviewer approves).
    Submit {
        /// The connector's title (or slug).
        name: String,
        /// The registry.
        #[arg(long, value_name = "REG")]
        registry: String,
        /// The app it connects to, from the registry's catalog (slug or exact name; search with
        /// `rlcm registry apps`).
        #[arg(long, required_unless_present = "app_name", conflicts_with = "app_name")]
        app: Option<String>,
        /// The app in plain text, when it is not in the catalog (flagged for the reviewer).
        #[arg(long, value_name = "TEXT")]
        app_name: Option<String>,
        /// A category (repeatable; from the registry's list, e.g. CRM, Finance, Productivity).
        #[arg(long = "category", value_name = "C", required = true)]
        categories: Vec<String>,
        /// The listing's description (Markdown).
        #[arg(long)]
        description: Option<String>,
        /// Prevent direct installation: people are sent to the landing page instead.
        #[arg(long, requires = "landing_page")]
        no_direct_install: bool,
        /// The landing page (with `--no-direct-install`).
        #[arg(long, value_name = "URL")]
        landing_page: Option<String>,
        #[command(flatten)]
        env: EnvArg,
    },
    /// The listing's review status (pending, live, rejected or disabled, with the reason).
    Status {
        /// The connector's title (or slug).
        name: String,
        /// The registry.
        #[arg(long, value_name = "REG")]
        registry: String,
        #[command(flatten)]
        env: EnvArg,
    },
}

/// `rlcm connector link ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum LinkCommand {
    /// A new private share link (printed once).
    Create(LinkArgs),
    /// Revoke the connector's links.
    Revoke {
        #[command(flatten)]
        link: LinkArgs,
        /// Also revoke every install's credential (they can no longer update).
        #[arg(long)]
        installs: bool,
    },
    /// Revoke the links, then make a new one (printed once).
    Regenerate(LinkArgs),
    /// The links: created, last used, installs through each (never a token).
    List(LinkArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct LinkArgs {
    /// The connector's title (or slug).
    name: String,
    /// The registry.
    #[arg(long, value_name = "REG")]
    registry: String,
    #[command(flatten)]
    env: EnvArg,
}

fn registry_list(r: &RegistryListReport) -> String {
    if r.registries.is_empty() {
        return format!(
            "No registries (in {}); add one with `rlcm registry add NAME --url URL`.\n",
            r.file
        );
    }
    let mut s = String::new();
    for e in &r.registries {
        s.push_str(&format!(
            "{}  {}  token in ${} ({})\n",
            e.name,
            e.url,
            e.token_env,
            if e.token_set { "set" } else { "not set" }
        ));
    }
    s
}

pub(crate) fn run_registry(cmd: RegistryCommand) -> anyhow::Result<i32> {
    match cmd {
        RegistryCommand::Add {
            name,
            url,
            token_env,
            format,
        } => {
            let r = registry::add(&name, &url, token_env.as_deref())?;
            output(format, &r, |r| {
                let e = r.registries.iter().find(|e| e.name == name);
                format!(
                    "Registry `{name}` is {} (token read from ${}).\n",
                    e.map_or("", |e| e.url.as_str()),
                    e.map_or("", |e| e.token_env.as_str())
                )
            })?;
        }
        RegistryCommand::List { format } => output(format, &registry::list()?, registry_list)?,
        RegistryCommand::Apps {
            search,
            registry,
            format,
        } => output(format, &registry::community::apps(&registry, &search)?, |r| {
            if r.apps.is_empty() {
                return "No app of the catalog matches; submit with `--app-name \"...\"` in plain text.\n"
                    .into();
            }
            let mut s = String::new();
            for a in &r.apps {
                s.push_str(&format!(
                    "{}  {}{}\n",
                    a.slug,
                    a.name,
                    a.website.as_ref().map(|w| format!("  {w}")).unwrap_or_default()
                ));
            }
            s
        })?,
        RegistryCommand::Remove { name, format } => output(format, &registry::remove(&name)?, |_| {
            format!("Registry `{name}` removed.\n")
        })?,
    }
    Ok(EXIT_OK)
}

fn line(s: &str) -> String {
    format!("{s}\n")
}

pub(crate) fn run_sharing(cmd: SharingCommand, actor: &Actor) -> anyhow::Result<i32> {
    match cmd {
        SharingCommand::Share {
            name,
            version,
            registry: None,
            env: e,
            ..
        } => {
            let env = Environment::open(&e.env)?;
            output(
                e.format,
                &rlcm::ops::connector::share(env, &name, version, actor)?,
                super::render::connector_change,
            )?;
        }
        SharingCommand::Share {
            name,
            version,
            registry: Some(registry),
            slug,
            env: e,
        } => {
            let env = Environment::open(&e.env)?;
            let opts = sharing::ShareOptions {
                name,
                version,
                registry,
                slug,
            };
            output(e.format, &sharing::share(env, &opts, actor)?, |r| {
                line(&r.message)
            })?;
        }
        SharingCommand::Link(cmd) => {
            let (args, action, installs) = match cmd {
                LinkCommand::Create(a) => (a, sharing::LinkAction::Create, false),
                LinkCommand::Regenerate(a) => (a, sharing::LinkAction::Regenerate, false),
                LinkCommand::List(a) => (a, sharing::LinkAction::List, false),
                LinkCommand::Revoke { link, installs } => (link, sharing::LinkAction::Revoke, installs),
            };
            let env = Environment::open(&args.env.env)?;
            let r = sharing::link(&env, &args.name, &args.registry, action, installs)?;
            output(args.env.format, &r, render_links)?;
        }
        SharingCommand::Install {
            url,
            as_title,
            env: e,
        } => {
            let env = Environment::open(&e.env)?;
            let url = registry::community::install_source(&url)?;
            let opts = sharing::InstallOptions { url, as_title };
            output(e.format, &sharing::install(env, &opts, actor)?, |r| {
                line(&r.message)
            })?;
        }
        SharingCommand::Community(cmd) => run_community(cmd)?,
        SharingCommand::Outdated {
            detailed_exitcode,
            env: e,
        } => {
            let env = Environment::open(&e.env)?;
            let r = sharing::outdated(&env)?;
            output(e.format, &r, render_outdated)?;
            if detailed_exitcode && !r.outdated.is_empty() {
                return Ok(EXIT_PENDING);
            }
        }
        SharingCommand::Update { name, env: e } => {
            let env = Environment::open(&e.env)?;
            let r = sharing::update(env, &name, actor)?;
            output(e.format, &r, render_update)?;
        }
    }
    Ok(EXIT_OK)
}

/// `connector community submit|status`.
fn run_community(cmd: CommunityCommand) -> anyhow::Result<()> {
    match cmd {
        CommunityCommand::Submit {
            name,
            registry,
            app,
            app_name,
            categories,
            description,
            no_direct_install,
            landing_page,
            env: e,
        } => {
            let env = Environment::open(&e.env)?;
            let o = registry::community::SubmitOptions {
                name,
                registry,
                app,
                app_name,
                categories,
                description,
                no_direct_install,
                landing_page,
            };
            output(e.format, &registry::community::submit(&env, &o)?, |r| {
                line(&r.message)
            })?;
        }
        CommunityCommand::Status {
            name,
            registry,
            env: e,
        } => {
            let env = Environment::open(&e.env)?;
            output(
                e.format,
                &registry::community::status(&env, &name, &registry)?,
                |r| line(&r.message),
            )?;
        }
    }
    Ok(())
}

/// A share link report for people: the message, each link, and the new URL alone on the last
/// line (for scripts).
fn render_links(r: &sharing::LinkReport) -> String {
    let mut s = line(&r.message);
    for l in &r.links {
        s.push_str(&format!(
            "  {}  created {}  last used {}  {} install(s){}\n",
            l.id,
            l.created_at,
            l.last_used_at.as_deref().unwrap_or("never"),
            l.installs,
            l.revoked_at
                .as_ref()
                .map(|r| format!("  revoked {r}"))
                .unwrap_or_default()
        ));
    }
    if let Some(u) = &r.url {
        s.push_str(&line(u));
    }
    s
}

/// After `connector list` (human output): a line per installed connector with an update.
pub(crate) fn list_notices(notices: &[(String, String)], format: PlainFormat) -> anyhow::Result<()> {
    if format == PlainFormat::Json {
        return Ok(());
    }
    let mut s = String::new();
    for (title, message) in notices {
        s.push_str(&format!("{title}: {message}\n"));
    }
    if !s.is_empty() {
        super::emit(&s)?;
    }
    Ok(())
}

fn render_outdated(r: &sharing::OutdatedReport) -> String {
    if r.outdated.is_empty() {
        return format!("{} installed connector(s), all up to date.\n", r.installed);
    }
    let mut s = String::new();
    for o in &r.outdated {
        s.push_str(&format!(
            "{}: shared version {} available (you have {}) from {} `{}`\n",
            o.title, o.latest, o.installed, o.registry, o.connector_id
        ));
        for n in &o.notes {
            s.push_str(&format!(
                "  v{}: {}\n",
                n.version,
                n.note.as_deref().unwrap_or("(no note)")
            ));
        }
    }
    s.push_str("Update with `rlcm connector update NAME --env E`.\n");
    s
}

fn render_update(r: &sharing::UpdateReport) -> String {
    let mut s = line(&r.message);
    let list = |label: &str, l: &[String]| {
        if l.is_empty() {
            String::new()
        } else {
            format!("  {label}: {}\n", l.join(", "))
        }
    };
    s.push_str(&list("actions added", &r.actions_added));
    s.push_str(&list("actions removed", &r.actions_removed));
    s.push_str(&list("triggers added", &r.triggers_added));
    s.push_str(&list("triggers removed", &r.triggers_removed));
    if let Some(c) = &r.check {
        s.push_str(&super::render::connector_check(c));
    }
    s
}
