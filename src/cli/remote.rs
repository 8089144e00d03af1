//! `rlcm remote ...` and `rlcm pull`: arguments, dispatch and rendering.

use rlcm::error::Subject;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;

use super::{ReportFormat, emit, emit_json};
use rlcm::remote::http::{RateLimits, RequestEvent};
use rlcm::remote::pull::{self, PullKind, PullOptions, PullReport, PullTarget};
use rlcm::remote::remotes::{self, ConnectOptions, Region, RemoteListReport};

/// How to reach a remote (shared by every command that talks to one).
#[derive(Debug, Clone, clap::Args)]
pub(super) struct ConnectArgs {
    /// Allow plain http:// to hosts other than loopback (the token travels unencrypted).
    #[arg(long)]
    allow_insecure_http: bool,
    /// Client-side pacing to Workato's documented rate limits, or `off` (emulator, raised quotas).
    #[arg(long, value_enum, env = "RLCM_RATE_LIMITS", default_value = "documented")]
    rate_limits: RateLimitsArg,
    /// Print each request (method, URL, status, time) on stderr; also `RLCM_LOG=debug`.
    #[arg(short, long)]
    verbose: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RateLimitsArg {
    Documented,
    Off,
}

impl ConnectArgs {
    fn options(&self) -> ConnectOptions {
        let debug = self.verbose || std::env::var("RLCM_LOG").is_ok_and(|v| v.eq_ignore_ascii_case("debug"));
        ConnectOptions {
            allow_insecure_http: self.allow_insecure_http,
            rate_limits: match self.rate_limits {
                RateLimitsArg::Documented => RateLimits::Documented,
                RateLimitsArg::Off => RateLimits::Off,
            },
            observer: debug.then(|| {
                Arc::new(|ev: &RequestEvent| {
                    let status = ev.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
                    let note = ev.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
                    let _ = writeln!(
                        std::io::stderr().lock(),
                        "debug: {} {} -> {status} in {} ms{note}",
                        ev.method,
                        ev.url,
                        ev.elapsed.as_millis()
                    );
                }) as rlcm::remote::http::Observer
            }),
        }
    }
}

#[derive(Debug, Subcommand)]
pub(super) enum RemoteCommand {
    /// Add a Workato workspace (its URL and the NAME of the variable holding its token).
    Add {
        /// The remote's name (letters, digits, `-`, `_`).
        name: String,
        /// The data center's base URL (e.g. https://app.eu.workato.com).
        #[arg(long, required_unless_present = "region", conflicts_with = "region")]
        url: Option<String>,
        /// A Workato data center.
        #[arg(long, value_enum)]
        region: Option<Region>,
        /// The environment variable holding the API token (default RLCM_TOKEN_<NAME>).
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: ReportFormat,
    },
    /// List the remotes.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: ReportFormat,
    },
    /// Remove a remote (its mirrors in the cache stay).
    Remove {
        /// The remote's name.
        name: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: ReportFormat,
    },
    /// Check a remote: call GET /api/users/me, print the workspace's name and id.
    Check {
        /// The remote's name.
        name: String,
        #[command(flatten)]
        connect: ConnectArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: ReportFormat,
    },
}

#[derive(Debug, clap::Args)]
pub(super) struct PullArgs {
    /// The remote.
    name: String,
    /// Folder path to pull (repeatable; default: the whole workspace).
    #[arg(long = "folder", value_name = "PATH")]
    folders: Vec<String>,
    /// A package zip (`.zip`) or a mirror directory to create or update.
    #[arg(short = 'o', long = "output", value_name = "DIR|PKG.zip")]
    output: PathBuf,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: ReportFormat,
}

fn list_text(r: &RemoteListReport) -> String {
    if r.remotes.is_empty() {
        return format!("no remotes (in {}); add one with `rlcm remote add`\n", r.file);
    }
    let mut s = String::new();
    for e in &r.remotes {
        let set = if e.token_set { "set" } else { "NOT SET" };
        s.push_str(&format!(
            "{}  {}  token: ${} ({set})\n",
            e.name, e.url, e.token_env
        ));
    }
    s
}

pub(super) fn run_remote(cmd: RemoteCommand) -> anyhow::Result<i32> {
    match cmd {
        RemoteCommand::Add {
            name,
            url,
            region,
            token_env,
            format,
        } => {
            let url = match (url, region) {
                (Some(u), _) => u,
                (None, Some(r)) => r.url().to_string(),
                (None, None) => {
                    anyhow::bail!(rlcm::Error::invalid(Subject::Arguments, "give --url or --region"))
                }
            };
            let r = remotes::add(&name, &url, token_env.as_deref())?;
            let report = RemoteListReport {
                format_version: rlcm::report::FORMAT_VERSION,
                file: remotes::path()?.display().to_string(),
                remotes: vec![remotes::entry(&name, &r)],
            };
            match format {
                ReportFormat::Json => emit_json(&report)?,
                _ => emit(&format!(
                    "added remote {name}: {}; its token is read from ${} at run time\n",
                    r.url, r.token_env
                ))?,
            }
        }
        RemoteCommand::List { format } => {
            let report = remotes::list()?;
            match format {
                ReportFormat::Json => emit_json(&report)?,
                _ => emit(&list_text(&report))?,
            }
        }
        RemoteCommand::Remove { name, format } => {
            let r = remotes::remove(&name)?;
            let report = RemoteListReport {
                format_version: rlcm::report::FORMAT_VERSION,
                file: remotes::path()?.display().to_string(),
                remotes: vec![remotes::entry(&name, &r)],
            };
            match format {
                ReportFormat::Json => emit_json(&report)?,
                _ => emit(&format!("removed remote {name}\n"))?,
            }
        }
        RemoteCommand::Check {
            name,
            connect,
            format,
        } => {
            let report = remotes::check(&name, &connect.options())?;
            match format {
                ReportFormat::Json => emit_json(&report)?,
                _ => emit(&format!(
                    "{}: workspace \"{}\" (id {}) at {}\n",
                    report.remote, report.workspace_name, report.workspace_id, report.url
                ))?,
            }
        }
    }
    Ok(super::EXIT_OK)
}

fn progress_line(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "pull: {msg}");
}

fn pull_text(r: &PullReport) -> String {
    let mut s = format!(
        "pulled workspace \"{}\" (id {}) from {}: {} entries, package {} -> {}\n",
        r.workspace_name,
        r.workspace_id,
        r.remote,
        r.entries,
        r.package_ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        r.output
    );
    if let Some(ch) = &r.changes {
        if ch.first_pull {
            s.push_str("first pull into this mirror\n");
        } else if ch.is_empty() {
            s.push_str("no changes since the last pull\n");
        } else {
            s.push_str("changed in the workspace since the last pull:\n");
            for (label, list) in [
                ("added", &ch.added),
                ("removed", &ch.removed),
                ("changed", &ch.changed),
                ("started", &ch.started),
                ("stopped", &ch.stopped),
                ("connector", &ch.connectors),
            ] {
                for x in list {
                    s.push_str(&format!("  {label}: {x}\n"));
                }
            }
        }
    }
    s
}

fn pull_markdown(r: &PullReport) -> String {
    let mut s = format!(
        "### Pulled `{}` (workspace {}, id {})\n\n{} entries, package {}.\n",
        r.remote,
        r.workspace_name,
        r.workspace_id,
        r.entries,
        r.package_ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(ch) = &r.changes
        && !ch.first_pull
        && !ch.is_empty()
    {
        s.push_str("\n| change | what |\n|---|---|\n");
        for (label, list) in [
            ("added", &ch.added),
            ("removed", &ch.removed),
            ("changed", &ch.changed),
            ("started", &ch.started),
            ("stopped", &ch.stopped),
            ("connector", &ch.connectors),
        ] {
            for x in list {
                s.push_str(&format!("| {label} | `{x}` |\n"));
            }
        }
    }
    s
}

pub(super) fn run_pull(args: PullArgs, user: &str) -> anyhow::Result<i32> {
    let (remote, client) = remotes::connect(&args.name, &args.connect.options())?;
    let is_zip = args
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let opts = PullOptions {
        remote: args.name.clone(),
        folders: args.folders.clone(),
        target: if is_zip {
            PullTarget::Zip(args.output.clone())
        } else {
            PullTarget::Mirror(args.output.clone())
        },
        poll: Default::default(),
        user: user.to_string(),
    };
    let report = pull::pull(&client, &remote.url, &opts, &mut |m| progress_line(m))?;
    debug_assert!(matches!(report.kind, PullKind::Zip | PullKind::Mirror));
    match args.format {
        ReportFormat::Json => emit_json(&report)?,
        ReportFormat::Human => emit(&pull_text(&report))?,
        ReportFormat::Markdown => emit(&pull_markdown(&report))?,
    }
    Ok(super::EXIT_OK)
}

/// `--remote` for `plan` and `rollback`.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct RemoteTargetArgs {
    /// A live Workato workspace (a remote) instead of `--env DIR`.
    #[arg(long = "remote", value_name = "NAME")]
    pub(super) remote: Option<String>,
    /// The remote's mirror (default: $RLCM_CACHE_DIR/remotes/<name>/mirror).
    #[arg(long, value_name = "DIR", requires = "remote")]
    mirror: Option<PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, clap::Args)]
pub(super) struct PushArgs {
    /// The package zip (not needed with `--plan`).
    #[arg(required_unless_present = "plan")]
    package: Option<PathBuf>,
    /// The remote(s) to push to (repeat for a fan-out).
    #[arg(long = "remote", value_name = "NAME", required = true)]
    remotes: Vec<String>,
    /// Folder path of the workspace to import into (default: its root folder).
    #[arg(long, value_name = "PATH", conflicts_with = "folder_id")]
    folder: Option<String>,
    /// Folder id to import into.
    #[arg(long, value_name = "N")]
    folder_id: Option<u64>,
    /// Let Workato stop, update and restart running recipes the import touches.
    #[arg(long)]
    restart_recipes: bool,
    /// A plan saved with `plan --remote -o`: refused when the workspace changed since.
    #[arg(long, value_name = "PLAN.json")]
    plan: Option<PathBuf>,
    /// Push despite a blocked plan.
    #[arg(long)]
    force: bool,
    /// The mirror (one remote only; default: $RLCM_CACHE_DIR/remotes/<name>/mirror).
    #[arg(long, value_name = "DIR")]
    mirror: Option<PathBuf>,
    /// Fan-out: how many workspaces to push to at once.
    #[arg(long, value_name = "N", default_value_t = 1)]
    parallel: usize,
    /// Fan-out: push to the targets whose plan is fine even when others are blocked or fail.
    #[arg(long)]
    keep_going: bool,
    /// Fan-out: a result document of an earlier run; workspaces already pushed are skipped.
    #[arg(long, value_name = "RESULT.json")]
    resume: Option<PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: ReportFormat,
}

fn mirror_for(name: &str, given: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    Ok(match given {
        Some(d) => d.clone(),
        None => rlcm::remote::push::default_mirror(name)?,
    })
}

fn stderr_progress(prefix: &str) -> impl FnMut(&str) + '_ {
    move |m: &str| {
        let _ = writeln!(std::io::stderr().lock(), "{prefix}: {m}");
    }
}

/// `rlcm plan PKG --remote NAME`.
pub(super) fn run_plan_remote(
    target: &RemoteTargetArgs,
    package: &std::path::Path,
    plan_opts: rlcm::plan::PlanOptions,
    output: Option<&PathBuf>,
    user: &str,
) -> anyhow::Result<rlcm::report::PlanReport> {
    let name = target.remote.clone().unwrap_or_default();
    let (remote, client) = remotes::connect(&name, &target.connect.options())?;
    let pkg = rlcm::apply::open_package(package)?;
    let opts = rlcm::remote::push::RemotePlanOptions {
        remote: name.clone(),
        url: remote.url.clone(),
        mirror: mirror_for(&name, target.mirror.as_ref())?,
        plan: plan_opts,
        poll: Default::default(),
        user: user.to_string(),
    };
    let (report, _) =
        rlcm::remote::push::plan_remote(&client, &pkg, package, &opts, &mut stderr_progress("plan"))?;
    if let Some(out) = output {
        rlcm::fsutil::write_atomic(out, &rlcm::json::to_pretty_vec(&report))?;
    }
    Ok(report)
}

fn push_text(r: &rlcm::remote::push::PushReport) -> String {
    let mut s = super::render::plan(&r.plan);
    match r.package_id {
        None if r.deleted.is_empty() => s.push_str(&format!("{}: nothing to push\n", r.remote)),
        None => {}
        Some(id) => {
            s.push_str(&format!(
                "{}: imported as package {id} into folder {}\n",
                r.remote,
                r.folder_id.map(|f| f.to_string()).unwrap_or_default()
            ));
            if r.recipes.is_empty() {
                s.push_str("  (Workato reported no per-recipe results)\n");
            }
            for x in &r.recipes {
                s.push_str(&format!(
                    "  recipe {}: {}\n",
                    x.name.clone().unwrap_or_else(|| x.id.to_string()),
                    x.words
                ));
            }
        }
    }
    for d in &r.deleted {
        s.push_str(&format!("  deleted {d} (created by the push rolled back)\n"));
    }
    for l in &r.left_behind {
        s.push_str(&format!(
            "  NOT deleted {} ({}): {}\n",
            l.path, l.asset_type, l.reason
        ));
    }
    if (r.package_id.is_some() || !r.deleted.is_empty()) && r.differences.is_empty() {
        s.push_str("verified: the workspace now holds what the plan said\n");
    }
    s
}

fn push_one(
    name: &str,
    args: &PushArgs,
    user: &str,
    saved: Option<rlcm::report::PlanReport>,
    package: &std::path::Path,
    progress: &mut dyn FnMut(&str),
) -> rlcm::Result<rlcm::remote::push::PushReport> {
    let (remote, client) = remotes::connect(name, &args.connect.options())?;
    let mut plan = rlcm::plan::PlanOptions {
        folder: args.folder.clone(),
        restart_recipes: args.restart_recipes,
        force: args.force,
        ..Default::default()
    };
    if let Some(s) = &saved {
        plan = rlcm::apply::options_of(s);
    }
    let mirror = match &args.mirror {
        Some(d) => d.clone(),
        None => rlcm::remote::push::default_mirror(name)?,
    };
    let opts = rlcm::remote::push::PushOptions {
        plan: rlcm::remote::push::RemotePlanOptions {
            remote: name.to_string(),
            url: remote.url.clone(),
            mirror,
            plan,
            poll: Default::default(),
            user: user.to_string(),
        },
        folder_id: args.folder_id,
        saved,
        force: args.force,
        kind: rlcm::remote::push::PushKind::Pushed,
    };
    rlcm::remote::push::push(&client, package, &opts, progress)
}

fn push_markdown(r: &rlcm::remote::push::PushReport) -> String {
    let mut s = super::render::plan_markdown(&r.plan);
    s.push_str(&format!(
        "\n### {} `{}`\n\n",
        match r.kind {
            rlcm::remote::push::PushKind::Pushed => "push".to_string(),
            k => k.to_string(),
        },
        r.remote
    ));
    match r.package_id {
        Some(id) => s.push_str(&format!(
            "Imported as package {id} into folder {}.\n",
            r.folder_id.map(|f| f.to_string()).unwrap_or_default()
        )),
        None if r.deleted.is_empty() => s.push_str("Nothing to push.\n"),
        None => {}
    }
    if !r.recipes.is_empty() {
        s.push_str("\n| recipe | result |\n|---|---|\n");
        for x in &r.recipes {
            s.push_str(&format!(
                "| {} | {} |\n",
                x.name.clone().unwrap_or_else(|| x.id.to_string()),
                x.words
            ));
        }
    }
    for d in &r.deleted {
        s.push_str(&format!("\n- deleted `{d}`"));
    }
    for l in &r.left_behind {
        s.push_str(&format!(
            "\n- **not deleted** `{}` ({}): {}",
            l.path, l.asset_type, l.reason
        ));
    }
    if !r.deleted.is_empty() || !r.left_behind.is_empty() {
        s.push('\n');
    }
    if r.differences.is_empty() {
        if r.package_id.is_some() || !r.deleted.is_empty() {
            s.push_str("\n**Verified**: the workspace now holds what the plan said.\n");
        }
    } else {
        s.push_str("\n**Did not verify**:\n\n");
        for d in &r.differences {
            s.push_str(&format!("- {d}\n"));
        }
    }
    s
}

fn load_saved(path: &std::path::Path) -> anyhow::Result<rlcm::report::PlanReport> {
    let bytes = rlcm::fsutil::read(path)?;
    Ok(serde_json::from_slice(&bytes).map_err(|e| rlcm::Error::json(path.display().to_string(), &e))?)
}

fn verification_exit(r: &rlcm::remote::push::PushReport) -> anyhow::Result<i32> {
    if r.differences.is_empty() {
        return Ok(super::EXIT_OK);
    }
    let mut msg = format!(
        "push to `{}` did not verify: the workspace differs from the plan:\n",
        r.remote
    );
    for d in &r.differences {
        msg.push_str(&format!("  {d}\n"));
    }
    let _ = write!(std::io::stderr().lock(), "error: {msg}");
    Ok(super::EXIT_ERROR)
}

/// `rlcm push`.
pub(super) fn run_push(args: PushArgs, user: &str) -> anyhow::Result<i32> {
    let saved = args.plan.as_deref().map(load_saved).transpose()?;
    let package = match (&args.package, &saved) {
        (Some(p), _) => p.clone(),
        (None, Some(s)) => PathBuf::from(&s.package),
        (None, None) => anyhow::bail!(rlcm::Error::invalid(
            Subject::Arguments,
            "give a package, or `--plan PLAN.json`"
        )),
    };
    if args.remotes.len() > 1 || args.resume.is_some() {
        if args.mirror.is_some() {
            anyhow::bail!(
                rlcm::Error::invalid(Subject::Arguments, "`--mirror` names one remote's mirror")
                    .hint("a fan-out uses each remote's cached mirror")
            );
        }
        return run_fanout(&args, user, &package, saved);
    }
    let name = &args.remotes[0];
    let report = push_one(name, &args, user, saved, &package, &mut stderr_progress("push"))?;
    match args.format {
        ReportFormat::Json => emit_json(&report)?,
        ReportFormat::Human => emit(&push_text(&report))?,
        ReportFormat::Markdown => emit(&push_markdown(&report))?,
    }
    verification_exit(&report)
}

/// `rlcm rollback --remote NAME [ID]`.
pub(super) fn run_rollback_remote(
    target: &RemoteTargetArgs,
    id: Option<u64>,
    restart_recipes: bool,
    force: bool,
    format: ReportFormat,
    user: &str,
) -> anyhow::Result<i32> {
    let name = target.remote.clone().unwrap_or_default();
    let (remote, client) = remotes::connect(&name, &target.connect.options())?;
    let opts = rlcm::remote::push::PushOptions {
        plan: rlcm::remote::push::RemotePlanOptions {
            remote: name.clone(),
            url: remote.url.clone(),
            mirror: mirror_for(&name, target.mirror.as_ref())?,
            plan: rlcm::plan::PlanOptions {
                restart_recipes,
                force,
                ..Default::default()
            },
            poll: Default::default(),
            user: user.to_string(),
        },
        folder_id: None,
        saved: None,
        force,
        kind: rlcm::remote::push::PushKind::Pushed,
    };
    let report = rlcm::remote::push::rollback(&client, id, &opts, &mut stderr_progress("rollback"))?;
    match format {
        ReportFormat::Json => emit_json(&report)?,
        ReportFormat::Human => emit(&push_text(&report))?,
        ReportFormat::Markdown => emit(&push_markdown(&report))?,
    }
    verification_exit(&report)
}

fn run_fanout(
    args: &PushArgs,
    user: &str,
    package: &std::path::Path,
    saved: Option<rlcm::report::PlanReport>,
) -> anyhow::Result<i32> {
    use rlcm::remote::fanout::{self, FanoutOptions, FanoutReport, Target};
    if saved.is_some() {
        anyhow::bail!(
            rlcm::Error::invalid(Subject::Arguments, "a saved plan is for one workspace")
                .hint("a fan-out plans every target itself")
        );
    }
    let resume = match &args.resume {
        Some(p) => {
            let bytes = rlcm::fsutil::read(p)?;
            Some(
                serde_json::from_slice::<FanoutReport>(&bytes)
                    .map_err(|e| rlcm::Error::json(p.display().to_string(), &e))?,
            )
        }
        None => None,
    };
    let targets = args
        .remotes
        .iter()
        .map(|name| {
            let made = (|| -> rlcm::Result<Target> {
                let (remote, client) = remotes::connect(name, &args.connect.options())?;
                Ok(Target {
                    name: name.clone(),
                    client,
                    opts: rlcm::remote::push::PushOptions {
                        plan: rlcm::remote::push::RemotePlanOptions {
                            remote: name.clone(),
                            url: remote.url.clone(),
                            mirror: rlcm::remote::push::default_mirror(name)?,
                            plan: rlcm::plan::PlanOptions {
                                folder: args.folder.clone(),
                                restart_recipes: args.restart_recipes,
                                force: args.force,
                                ..Default::default()
                            },
                            poll: Default::default(),
                            user: user.to_string(),
                        },
                        folder_id: args.folder_id,
                        saved: None,
                        force: args.force,
                        kind: rlcm::remote::push::PushKind::Pushed,
                    },
                })
            })();
            made.map_err(|e| (name.clone(), e))
        })
        .collect();
    let opts = FanoutOptions {
        parallel: args.parallel,
        keep_going: args.keep_going,
        resume,
    };
    let report = fanout::run(targets, package, &opts, &|remote, m| {
        let _ = writeln!(std::io::stderr().lock(), "push {remote}: {m}");
    });
    match args.format {
        ReportFormat::Json => emit_json(&report)?,
        _ => {
            let mut s = String::new();
            for r in &report.results {
                s.push_str(&format!(
                    "{:<20} {:<8} {:<10} {}\n",
                    r.remote,
                    serde_json::to_value(r.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    r.package_id.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                    r.error.as_deref().unwrap_or("")
                ));
            }
            emit(&s)?;
        }
    }
    Ok(report.exit_code())
}
