//! The command-line interface: clap definitions, dispatch, and exit codes.
//!
//! Reports go to stdout, status and errors to stderr. Exit codes (SPEC §8): 0 success,
//! 1 error, 2 usage, 3 blocked, 10 changes pending (`plan --detailed-exitcode`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod formats;
mod graphs;
mod html;
mod registry;
mod remote;
mod render;
mod reports;
mod shell;
mod table;

use rlcm::error::Subject;
use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use rlcm::env::Actor;
use rlcm::env::{Environment, resolve_user};
use rlcm::error::Error;
use rlcm::source::Source;
use rlcm::workspace::Workspace;
use rlcm::{apply, ops};

/// Exit code: success, or nothing to change.
pub const EXIT_OK: i32 = 0;
/// Exit code: error (bad input, I/O).
pub const EXIT_ERROR: i32 = 1;
/// Exit code: usage error.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the import is blocked.
pub const EXIT_BLOCKED: i32 = 3;
/// Exit code: a request's answer never came (an import may or may not have started).
pub const EXIT_OUTCOME_UNKNOWN: i32 = 4;

/// Recipe lifecycle management: move Workato recipes and everything they depend on from
/// sandbox to production, and know what an import will do before it does it.
#[derive(Debug, Parser)]
#[command(name = "rlcm", version, max_term_width = 100)]
pub struct Cli {
    /// Who is acting (recorded in histories); default `RLCM_USER`, else the OS user.
    #[arg(long, global = true, value_name = "NAME", help_heading = "Global options")]
    user: Option<String>,
    /// Wait for another rlcm process writing the same environment instead of failing.
    #[arg(long, global = true, help_heading = "Global options")]
    wait: bool,
    /// Colour in human output: `auto` (a terminal, unless `NO_COLOR`), `always`, `never`.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        help_heading = "Global options"
    )]
    color: shell::ColorWhen,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what a package or tree holds: assets by type and folder, connectors, references.
    Inspect(InspectArgs),
    /// Print the dependency graph of a package or tree.
    Graph(GraphArgs),
    /// Show which recipes depend on an asset, directly or through any chain.
    Impact(ImpactArgs),
    /// Make a directory an environment, adopting what is there.
    Init(InitArgs),
    /// Custom connector versions: list, history, commit, release, restore, share, diff, check;
    /// sharing through a registry: share --registry, link, install, outdated, update.
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Recipe running state.
    #[command(subcommand)]
    Recipe(RecipeCommand),
    /// Connector registries (for sharing): add, list, remove.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Check an environment: references resolve, tree matches state, no unfinished write.
    Check(CheckArgs),
    /// Build a package from an environment (manifest or folder/recipe selection).
    Export(ExportArgs),
    /// Check every entry of a package against its rlcm-package.json.
    Verify(VerifyArgs),
    /// Say what an import would do and which production recipes it affects (writes nothing).
    Plan(PlanArgs),
    /// Import a package (or a saved plan) into an environment, atomically.
    Import(ImportArgs),
    /// Export from one environment and import into another in one step.
    Promote(PromoteArgs),
    /// List the imports of an environment, oldest first.
    History(HistoryArgs),
    /// Undo an import (default: the most recent).
    Rollback(RollbackArgs),
    /// What differs between two environments or packages (any mix), asset by asset.
    Diff(reports::DiffArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(shell::CompletionsArgs),
    /// Print the man page, or write every man page into a directory.
    Man(shell::ManArgs),
    /// Workato workspaces (remotes): add, list, remove, check.
    #[command(subcommand)]
    Remote(remote::RemoteCommand),
    /// Pull a Workato workspace (or folders of it) into a package zip or a mirror directory.
    Pull(remote::PullArgs),
    /// Plan, import, verify: push a package to one or many Workato workspaces.
    Push(remote::PushArgs),
    /// Keep a watch on an environment's tree, so that `impact` and `connector check` answer
    /// from the production index without walking it: start, stop, status, run.
    #[command(subcommand)]
    Watch(WatchCommand),
}

/// `rlcm watch`.
#[derive(Debug, clap::Subcommand)]
enum WatchCommand {
    /// Start the watcher in the background; it runs until `rlcm watch stop` (or until the
    /// environment's state folder is removed).
    Start {
        #[command(flatten)]
        env: EnvArg,
    },
    /// Stop the watcher.
    Stop {
        #[command(flatten)]
        env: EnvArg,
    },
    /// Say whether a watcher runs, and whether the production index is in its live epoch.
    Status {
        #[command(flatten)]
        env: EnvArg,
    },
    /// Run the watcher in the foreground (for a service manager); prints nothing.
    Run {
        /// The environment (directory).
        #[arg(long, value_name = "DIR")]
        env: PathBuf,
    },
    /// The watcher's own: write a fresh production index and summary cache in its epoch (run
    /// by the watcher in a process of its own, so that the memory of the load goes with it).
    #[command(hide = true)]
    Refresh {
        /// The environment (directory).
        #[arg(long, value_name = "DIR")]
        env: PathBuf,
        /// The watcher's epoch, asked before this walks (32 hex digits).
        #[arg(long, value_name = "HEX")]
        epoch: String,
    },
}

/// What to export: a manifest, or folders and assets named on the command line.
#[derive(Debug, Clone, Default, clap::Args)]
struct SelectionArgs {
    /// Export manifest (YAML or JSON).
    #[arg(long, value_name = "M.yaml")]
    manifest: Option<PathBuf>,
    /// Asset path to select (repeatable).
    #[arg(long = "recipe", value_name = "PATH")]
    recipes: Vec<String>,
    /// Glob of asset paths to leave out of the selection (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Do not pull in what the selection needs.
    #[arg(long)]
    no_dependencies: bool,
    /// Carry lookup tables' rows.
    #[arg(long)]
    include_lookup_data: bool,
    /// Export account property values (secret-looking ones are still removed).
    #[arg(long)]
    include_property_values: bool,
    /// Dangling references are errors.
    #[arg(long)]
    strict: bool,
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// The environment to export from.
    #[arg(long, value_name = "DIR")]
    env: PathBuf,
    #[command(flatten)]
    selection: SelectionArgs,
    /// Folder to select, recursively (repeatable).
    #[arg(long = "folder", value_name = "FOLDER")]
    folders: Vec<String>,
    /// Leave rlcm-package.json out (a plain Workato package).
    #[arg(long)]
    workato_strict: bool,
    /// The package to write.
    #[arg(short = 'o', long = "output", value_name = "PKG.zip")]
    output: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: formats::PlainFormat,
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// The package.
    package: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: ReportFormat,
}

/// Flags shared by plan, import and promote.
#[derive(Debug, Clone, clap::Args)]
struct ImportFlags {
    /// Folder of the target where the package's root lands.
    #[arg(long, value_name = "TARGET")]
    folder: Option<String>,
    /// Stop, update and start again running recipes the import updates.
    #[arg(long)]
    restart_recipes: bool,
    /// Import despite conflicts, breaking changes and uncommitted connector edits.
    #[arg(long)]
    force: bool,
    /// Replace lookup table rows with the package's.
    #[arg(long)]
    overwrite_lookup_data: bool,
}

impl ImportFlags {
    fn options(&self) -> rlcm::plan::PlanOptions {
        rlcm::plan::PlanOptions {
            folder: self.folder.clone(),
            restart_recipes: self.restart_recipes,
            force: self.force,
            overwrite_lookup_data: self.overwrite_lookup_data,
            minted_providers: Default::default(),
            text_diff: false,
        }
    }
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// The package (zip or directory).
    #[arg(required_unless_present = "from", conflicts_with = "from")]
    package: Option<PathBuf>,
    /// Export from this environment first (with the selection flags).
    #[arg(long, value_name = "SANDBOX")]
    from: Option<PathBuf>,
    #[command(flatten)]
    selection: SelectionArgs,
    /// With `--from`: folder to select, recursively (repeatable).
    #[arg(long = "export-folder", value_name = "FOLDER")]
    export_folders: Vec<String>,
    /// The target environment.
    #[arg(long, value_name = "DIR", required_unless_present = "remote")]
    env: Option<PathBuf>,
    #[command(flatten)]
    remote: remote::RemoteTargetArgs,
    #[command(flatten)]
    flags: ImportFlags,
    /// Save the plan (for `import --plan`).
    #[arg(short = 'o', long = "output", value_name = "PLAN.json")]
    output: Option<PathBuf>,
    /// Exit 10 when the import would change something (0: nothing to change, 3: blocked).
    #[arg(long)]
    detailed_exitcode: bool,
    /// Show what changes inside each updated asset (`--diff=text`: a unified diff of the JSON).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "semantic", require_equals = true)]
    diff: Option<reports::DiffMode>,
    /// Output format (`html`: one self-contained page; `-o` still saves the plan JSON).
    #[arg(long, value_enum, default_value = "human")]
    format: reports::PageFormat,
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// The package (zip or directory).
    #[arg(required_unless_present = "plan", conflicts_with = "plan")]
    package: Option<PathBuf>,
    /// A plan saved with `plan -o`: refused when the target changed since.
    #[arg(long, value_name = "PLAN.json")]
    plan: Option<PathBuf>,
    /// The target environment.
    #[arg(long, value_name = "DIR")]
    env: PathBuf,
    #[command(flatten)]
    flags: ImportFlags,
    /// Plan only; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: formats::PlainFormat,
}

#[derive(Debug, clap::Args)]
struct PromoteArgs {
    /// The environment to export from.
    #[arg(long, value_name = "SANDBOX")]
    from: PathBuf,
    /// The environment to import into.
    #[arg(long, value_name = "PROD")]
    to: PathBuf,
    #[command(flatten)]
    selection: SelectionArgs,
    /// Folder to select, recursively (repeatable).
    #[arg(long = "export-folder", value_name = "FOLDER")]
    export_folders: Vec<String>,
    #[command(flatten)]
    flags: ImportFlags,
    /// Plan only; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: formats::PlainFormat,
}

#[derive(Debug, clap::Args)]
struct HistoryArgs {
    #[command(flatten)]
    env: EnvArgMd,
}

#[derive(Debug, clap::Args)]
struct RollbackArgs {
    /// The import (or, with `--remote`, the push) to undo (default: the most recent).
    id: Option<u64>,
    /// Roll back even when a later import built on it (`--remote`: despite a blocked plan).
    #[arg(long)]
    force: bool,
    /// The environment (directory).
    #[arg(long, value_name = "DIR", required_unless_present = "remote")]
    env: Option<PathBuf>,
    #[command(flatten)]
    remote: remote::RemoteTargetArgs,
    /// With `--remote`: let Workato restart running recipes the re-import touches.
    #[arg(long, requires = "remote")]
    restart_recipes: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: formats::PlainFormat,
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    /// The directory (created with `--from`).
    dir: PathBuf,
    /// Unpack this package into DIR first (DIR must be new or empty).
    #[arg(long, value_name = "PKG.zip")]
    from: Option<PathBuf>,
    /// The environment's name (default: the directory name).
    #[arg(long)]
    name: Option<String>,
    /// The environment's numeric id (default: derived from name and time).
    #[arg(long)]
    id: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: formats::PlainFormat,
}

#[derive(Debug, clap::Args)]
struct EnvArg {
    /// The environment (directory).
    #[arg(long, value_name = "DIR")]
    env: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: formats::PlainFormat,
}

/// The environment, for a command whose report CI jobs post (Markdown offered).
#[derive(Debug, clap::Args)]
struct EnvArgMd {
    /// The environment (directory).
    #[arg(long, value_name = "DIR")]
    env: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: ReportFormat,
}

#[derive(Debug, Subcommand)]
enum ConnectorCommand {
    /// Connectors with their latest, released and shared version.
    List(EnvArg),
    /// A connector's history: versions, notes, who and when, actions and triggers.
    Versions {
        /// The connector's title (or slug).
        name: String,
        #[command(flatten)]
        env: EnvArgMd,
    },
    /// Make the tree's `.rb` a new latest version.
    Commit {
        /// The connector's title (or slug).
        name: String,
        /// The version's note.
        #[arg(long)]
        note: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Release a version (default: the latest, after committing unsaved edits).
    Release {
        /// The connector's title (or slug).
        name: String,
        /// The version to release.
        version: Option<u64>,
        /// Release even if the code does not parse or breaks recipes here.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Copy an old version as the new latest and release it.
    Restore {
        /// The connector's title (or slug).
        name: String,
        /// The version to restore.
        version: u64,
        /// The new version's note (default: "Restored from version N").
        #[arg(long)]
        note: Option<String>,
        /// Restore even if the code does not parse or breaks recipes here.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        env: EnvArg,
    },
    #[command(flatten)]
    Sharing(registry::SharingCommand),
    /// Code diff between two versions, with actions and triggers added and removed.
    Diff {
        /// The connector's title (or slug).
        name: String,
        /// Old side: a version number, `tree`, `latest`, `released` or `shared`.
        from: String,
        /// New side: a version number, `tree`, `latest`, `released` or `shared`.
        to: String,
        #[command(flatten)]
        env: EnvArgMd,
    },
    /// Would releasing this version break any recipe here? (exit 3 if it would)
    Check {
        /// The connector's title (or slug).
        name: String,
        /// A version number, or `tree` for the uncommitted code.
        version: String,
        #[command(flatten)]
        env: EnvArg,
    },
}

#[derive(Debug, Subcommand)]
enum RecipeCommand {
    /// Start recipes.
    Start(RecipeArgs),
    /// Stop recipes.
    Stop(RecipeArgs),
    /// List recipes with their running state.
    List {
        /// Only running recipes.
        #[arg(long)]
        running: bool,
        #[command(flatten)]
        env: EnvArg,
    },
}

#[derive(Debug, clap::Args)]
struct RecipeArgs {
    /// Recipe paths relative to the environment root (or unique names).
    recipes: Vec<String>,
    /// Every recipe.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    env: EnvArg,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    env: EnvArgMd,
}

/// Output format for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Text for people.
    Human,
    /// One JSON document (schema in `schemas/`).
    Json,
    /// Markdown, for CI summaries and pull-request comments.
    Markdown,
}

/// Output format for the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz dot.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
    /// JSON (schema `schemas/graph.schema.json`).
    Json,
}

#[derive(Debug, clap::Args)]
struct InspectArgs {
    /// Package zip or directory.
    path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: ReportFormat,
    /// List every asset even in large workspaces (human output).
    #[arg(long)]
    all: bool,
}

#[derive(Debug, clap::Args)]
struct GraphArgs {
    /// Package zip or directory.
    path: PathBuf,
    /// Show only this asset (path, connector title, or unique name), what it needs and what needs it.
    #[arg(long, value_name = "ASSET")]
    focus: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "dot")]
    format: GraphFormat,
}

#[derive(Debug, clap::Args)]
struct ImpactArgs {
    /// The asset: its path relative to the environment root, or a connector's title.
    asset: String,
    /// The environment (directory).
    #[arg(long, value_name = "DIR")]
    env: PathBuf,
    /// Output format (`html`: one self-contained page).
    #[arg(long, value_enum, default_value = "human")]
    format: reports::PageFormat,
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    // `RLCM_NOW` fixes the clock (README, "Guarantees"); the library reads no variable for it.
    rlcm::env::fix_clock_from(std::env::var("RLCM_NOW").ok().as_deref());
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => EXIT_OK,
                _ => EXIT_USAGE,
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => report_error(&err),
    }
}

fn report_error(err: &anyhow::Error) -> i32 {
    if let Some(io) = err.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        return EXIT_OK;
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {err}");
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
    // Usage errors (exit 2) come from clap; everything rlcm refuses after parsing is bad
    // input (1) or a blocked import (3).
    match err.downcast_ref::<Error>() {
        Some(e) if e.is_blocked() => EXIT_BLOCKED,
        Some(e) if e.is_outcome_unknown() => EXIT_OUTCOME_UNKNOWN,
        _ => EXIT_ERROR,
    }
}

/// Writes a report to stdout; a closed pipe ends quietly. Colour styles are kept only when
/// colour is on (see `shell`).
fn emit(text: &str) -> anyhow::Result<()> {
    emit_bytes(text.as_bytes())
}

/// Writes bytes to stdout through the colour-aware stream; a closed pipe ends quietly.
fn emit_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = anstream::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context("failed to write the report to standard output")),
        Ok(()) => Ok(()),
    }
}

/// Writes a report as pretty JSON to stdout as it is serialised (a 100k-recipe inspect report
/// is hundreds of MB: never built in memory); a closed pipe ends quietly.
fn emit_json<T: serde::Serialize>(report: &T) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, report)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context("failed to write the report to standard output")),
        Ok(()) => Ok(()),
    }
}

/// Lets go of what a command loaded without freeing it, once its output is written: the
/// process exits right after the command (`main` ends in `std::process::exit`) and the OS
/// takes the whole address space back at once, where dropping a 100,000-recipe workspace
/// freed its millions of allocations one by one, on one thread, after the output (~4 % of
/// `plan`'s CPU at 100k, issue 18). Only the binary does this, and only for values whose drop
/// does nothing but free memory (a [`Workspace`], a report); locks, temporary files and
/// writers are dropped as usual. The library frees everything it makes.
fn release_at_exit<T>(value: T) {
    std::mem::forget(value);
}

/// Loads a package or tree; a directory that is an initialised environment is read through
/// its summary cache (read-only: the cache is never written here).
fn load(path: &std::path::Path) -> anyhow::Result<(Source, Workspace)> {
    if path.is_dir() {
        // An initialised environment is read between two writes, never during one.
        let _reading = if path.join(".rlcm/env.json").exists() {
            rlcm::env::ReadLock::acquire(path)?
        } else {
            None
        };
        return Ok(Workspace::load_tree_cached(path)?);
    }
    let source = Source::open(path)?;
    let ws = Workspace::load(&source)?;
    Ok((source, ws))
}

/// Like [`load`], and for a package that carries `rlcm-package.json`, whether it matches it
/// (the one read of each entry serves both).
fn load_checked(
    path: &std::path::Path,
) -> anyhow::Result<(Source, Workspace, Option<rlcm::report::Integrity>)> {
    if path.is_dir() {
        let (source, ws) = load(path)?;
        return Ok((source, ws, None));
    }
    let source = Source::open(path)?;
    if source.find(rlcm::package::MANIFEST_NAME).is_none() {
        let ws = Workspace::load(&source)?;
        return Ok((source, ws, None));
    }
    let (ws, actual) = Workspace::load_hashed(&source)?;
    let actual = actual
        .into_iter()
        .map(|(path, size, hash)| rlcm::package::verify::ActualEntry {
            path,
            content: Ok((size, hash)),
        })
        .collect();
    let verified = rlcm::package::verify::verify_source(path, &source, actual);
    let integrity = rlcm::report::Integrity {
        ok: verified.ok,
        mismatches: verified
            .mismatches
            .iter()
            .map(|m| rlcm::report::IntegrityMismatch {
                entry: m.entry.clone(),
                message: m.message.clone(),
            })
            .collect(),
    };
    Ok((source, ws, Some(integrity)))
}

/// Prints a report as JSON or with the human renderer.
fn output<T: serde::Serialize>(
    format: formats::PlainFormat,
    report: &T,
    human: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    match format {
        formats::PlainFormat::Json => emit_json(report),
        formats::PlainFormat::Human => emit(&human(report)),
    }
}

/// Prints a report as JSON, with the human renderer or with the Markdown one.
fn output_md<T: serde::Serialize>(
    format: ReportFormat,
    report: &T,
    human: impl FnOnce(&T) -> String,
    markdown: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    match format {
        ReportFormat::Json => emit_json(report),
        ReportFormat::Human => emit(&human(report)),
        ReportFormat::Markdown => emit(&markdown(report)),
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    rlcm::progress::enable(std::io::stderr().is_terminal() && std::env::var_os("RLCM_NO_PROGRESS").is_none());
    shell::set_color(cli.color);
    let actor = Actor {
        user: resolve_user(cli.user.as_deref()),
        wait: cli.wait,
    };
    match cli.command {
        Command::Remote(cmd) => remote::run_remote(cmd),
        Command::Pull(args) => remote::run_pull(args, &actor.user),
        Command::Push(args) => remote::run_push(args, &actor.user),
        Command::Init(args) => run_init(args, &actor),
        Command::Connector(cmd) => run_connector(cmd, &actor),
        Command::Registry(cmd) => registry::run_registry(cmd),
        Command::Recipe(cmd) => run_recipe(cmd, &actor),
        Command::Export(args) => run_export(args),
        Command::Verify(args) => {
            let report = ops::verify::verify(&args.package)?;
            output_md(args.format, &report, render::verify, formats::verify)?;
            Ok(if report.ok { EXIT_OK } else { EXIT_ERROR })
        }
        Command::Plan(args) => run_plan(args),
        Command::Diff(args) => reports::run_diff(args),
        Command::Completions(args) => shell::completions(&args),
        Command::Man(args) => shell::man(&args),
        Command::Import(args) => run_import(args, &actor),
        Command::Promote(args) => run_promote(args, &actor),
        Command::History(args) => {
            let env = Environment::open(&args.env.env)?;
            output_md(
                args.env.format,
                &apply::history(&env)?,
                render::history,
                formats::history,
            )?;
            Ok(EXIT_OK)
        }
        Command::Rollback(args) => run_rollback(args, &actor),
        Command::Check(args) => {
            let env = Environment::open(&args.env.env)?;
            let report = ops::check::check(&env)?;
            output_md(args.env.format, &report, render::check, formats::check)?;
            Ok(if report.ok { EXIT_OK } else { EXIT_ERROR })
        }
        Command::Inspect(args) => run_inspect(args),
        Command::Graph(args) => run_graph(args),
        Command::Impact(args) => run_impact(args),
        Command::Watch(cmd) => run_watch(cmd),
    }
}

fn run_watch(cmd: WatchCommand) -> anyhow::Result<i32> {
    let (env_arg, report) = match cmd {
        WatchCommand::Run { env } => {
            ops::watch::run(Environment::open(&env)?, Some(std::env::current_exe()?))?;
            return Ok(EXIT_OK);
        }
        WatchCommand::Refresh { env, epoch } => {
            ops::watch::refresh(&env, &epoch)?;
            return Ok(EXIT_OK);
        }
        WatchCommand::Status { env } => {
            let e = Environment::open(&env.env)?;
            (env, ops::watch::report(&e, "status"))
        }
        WatchCommand::Stop { env } => {
            let e = Environment::open(&env.env)?;
            let r = ops::watch::stop(&e)?;
            (env, r)
        }
        WatchCommand::Start { env } => {
            let e = Environment::open(&env.env)?;
            let r = if rlcm::watch::epoch(&e.root).is_some() {
                ops::watch::report(&e, "already running")
            } else {
                use std::os::unix::process::CommandExt;
                use std::process::Stdio;
                // Its own process group: a Ctrl-C meant for this command does not reach it.
                let mut child = std::process::Command::new(std::env::current_exe()?)
                    .args(["watch", "run", "--env"])
                    .arg(&e.root)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .process_group(0)
                    .spawn()?;
                ops::watch::wait_started(&e, || match child.try_wait() {
                    Ok(Some(status)) => Some(format!("it exited: {status}")),
                    Ok(None) => None,
                    Err(err) => Some(err.to_string()),
                })?
            };
            (env, r)
        }
    };
    output(env_arg.format, &report, render::watch)?;
    Ok(EXIT_OK)
}

fn run_init(args: InitArgs, actor: &Actor) -> anyhow::Result<i32> {
    let opts = ops::init::InitOptions {
        name: args.name,
        id: args.id,
        from: args.from,
        user: actor.user.clone(),
    };
    let report = ops::init::init(&args.dir, &opts)?;
    output(args.format, &report, render::init)?;
    Ok(EXIT_OK)
}

fn run_recipe(cmd: RecipeCommand, actor: &Actor) -> anyhow::Result<i32> {
    let (env_arg, report) = match cmd {
        RecipeCommand::List { running, env } => {
            let e = Environment::open(&env.env)?;
            let r = ops::recipe::list(&e, running)?;
            (env, r)
        }
        RecipeCommand::Start(a) => {
            let e = Environment::open(&a.env.env)?;
            let r = ops::recipe::set_running(e, &a.recipes, a.all, true, actor)?;
            (a.env, r)
        }
        RecipeCommand::Stop(a) => {
            let e = Environment::open(&a.env.env)?;
            let r = ops::recipe::set_running(e, &a.recipes, a.all, false, actor)?;
            (a.env, r)
        }
    };
    output(env_arg.format, &report, render::recipes)?;
    Ok(EXIT_OK)
}

fn run_export(args: ExportArgs) -> anyhow::Result<i32> {
    let env = Environment::open(&args.env)?;
    let ws = env.load_workspace()?;
    let opts = export_options(&args.selection, &args.folders, args.workato_strict)?;
    let report = ops::export::export(&env, &ws, &opts, &args.output)?;
    output(args.format, &report, render::export)?;
    release_at_exit(ws);
    Ok(EXIT_OK)
}

fn run_rollback(args: RollbackArgs, actor: &Actor) -> anyhow::Result<i32> {
    if args.remote.remote.is_some() {
        return remote::run_rollback_remote(
            &args.remote,
            args.id,
            args.restart_recipes,
            args.force,
            args.format.into(),
            &actor.user,
        );
    }
    let env = Environment::open(&args.env.clone().unwrap_or_default())?;
    let report = apply::rollback(env, args.id, args.force, actor)?;
    output(args.format, &report, |r| format!("{}\n", r.message))?;
    Ok(EXIT_OK)
}

fn run_inspect(args: InspectArgs) -> anyhow::Result<i32> {
    let (source, ws, integrity) = load_checked(&args.path)?;
    let mut report = ops::inspect::inspect(&ws, &source.display());
    report.integrity = integrity;
    match args.format {
        ReportFormat::Json => emit_json(&report)?,
        ReportFormat::Human => emit(&render::inspect(&report, args.all))?,
        ReportFormat::Markdown => emit(&formats::inspect(&report))?,
    }
    release_at_exit((ws, report));
    Ok(EXIT_OK)
}

fn run_graph(args: GraphArgs) -> anyhow::Result<i32> {
    let (_, ws) = load(&args.path)?;
    let focus = args.focus.as_deref().map(|f| ws.find_asset(f)).transpose()?;
    let report = ops::graph::graph(&ws, focus);
    match args.format {
        GraphFormat::Json => emit_json(&report)?,
        GraphFormat::Dot => emit(&graphs::to_dot(&report))?,
        GraphFormat::Mermaid => emit(&graphs::to_mermaid(&report))?,
    }
    Ok(EXIT_OK)
}

fn run_impact(args: ImpactArgs) -> anyhow::Result<i32> {
    let env = Environment::open(&args.env)?;
    let report = ops::impact::impact_env(&env, &args.asset)?;
    match args.format {
        reports::PageFormat::Json => emit_json(&report)?,
        reports::PageFormat::Human => emit(&render::impact(&report))?,
        reports::PageFormat::Markdown => emit(&render::impact_markdown(&report))?,
        reports::PageFormat::Html => emit(&html::impact(&report))?,
    }
    Ok(EXIT_OK)
}

fn run_connector(cmd: ConnectorCommand, actor: &Actor) -> anyhow::Result<i32> {
    use ops::connector as c;
    match cmd {
        ConnectorCommand::List(e) => {
            let env = Environment::open(&e.env)?;
            let mut report = c::list(&env)?;
            let notices = rlcm::registry::sharing::annotate_list(&env, &mut report);
            output(e.format, &report, render::connector_list)?;
            registry::list_notices(&notices, e.format)?;
        }
        ConnectorCommand::Versions { name, env: e } => {
            let env = Environment::open(&e.env)?;
            output_md(
                e.format,
                &c::versions(&env, &name)?,
                render::connector_versions,
                formats::connector_versions,
            )?;
        }
        ConnectorCommand::Commit { name, note, env: e } => {
            let env = Environment::open(&e.env)?;
            output(
                e.format,
                &c::commit(env, &name, &note, actor)?,
                render::connector_change,
            )?;
        }
        ConnectorCommand::Release {
            name,
            version,
            force,
            env: e,
        } => {
            let env = Environment::open(&e.env)?;
            output(
                e.format,
                &c::release(env, &name, version, force, actor)?,
                render::connector_change,
            )?;
        }
        ConnectorCommand::Restore {
            name,
            version,
            note,
            force,
            env: e,
        } => {
            let env = Environment::open(&e.env)?;
            let report = c::restore(env, &name, version, note.as_deref(), force, actor)?;
            output(e.format, &report, render::connector_change)?;
        }
        ConnectorCommand::Sharing(cmd) => return registry::run_sharing(cmd, actor),
        ConnectorCommand::Diff {
            name,
            from,
            to,
            env: e,
        } => {
            let env = Environment::open(&e.env)?;
            output_md(
                e.format,
                &c::diff(&env, &name, &from, &to)?,
                render::connector_diff,
                formats::connector_diff,
            )?;
        }
        ConnectorCommand::Check {
            name,
            version,
            env: e,
        } => {
            let env = Environment::open(&e.env)?;
            let report = rlcm::connector::check(&env, &name, &version)?;
            output(e.format, &report, render::connector_check)?;
            return Ok(if report.ok { EXIT_OK } else { EXIT_BLOCKED });
        }
    }
    Ok(EXIT_OK)
}

fn export_options(
    sel: &SelectionArgs,
    folders: &[String],
    workato_strict: bool,
) -> anyhow::Result<ops::export::ExportOptions> {
    use ops::export::{ExportManifest, ExportOptions};
    let (mut manifest, value) = match &sel.manifest {
        Some(path) => ExportManifest::read(path)?,
        None => (
            ExportManifest {
                dependencies: true,
                ..Default::default()
            },
            serde_json::Value::Null,
        ),
    };
    manifest.folders.extend(folders.iter().cloned());
    manifest.recipes.extend(sel.recipes.iter().cloned());
    manifest.exclude.extend(sel.exclude.iter().cloned());
    if sel.no_dependencies {
        manifest.dependencies = false;
    }
    if sel.include_lookup_data {
        manifest.include_lookup_table_data = true;
    }
    let manifest_value = if value.is_null() {
        serde_json::to_value(&manifest)?
    } else {
        value
    };
    Ok(ExportOptions {
        manifest,
        manifest_value,
        include_property_values: sel.include_property_values,
        strict: sel.strict,
        workato_strict,
        source_date_epoch: rlcm::package::source_date_epoch_from_env()?,
    })
}

/// Exports from `from` into a temporary package (kept alive by the returned guard).
fn export_to_temp(
    from: &std::path::Path,
    sel: &SelectionArgs,
    folders: &[String],
) -> anyhow::Result<(tempfile::TempDir, PathBuf)> {
    let env = Environment::open(from)?;
    let ws = env.load_workspace()?;
    let opts = export_options(sel, folders, false)?;
    let dir = tempfile::Builder::new().prefix("rlcm-promote-").tempdir()?;
    let name = opts.manifest.name.clone().unwrap_or_else(|| "package".into());
    let path = dir
        .path()
        .join(format!("{}.zip", rlcm::slug::slug(&name).max("package".into())));
    ops::export::export(&env, &ws, &opts, &path)?;
    Ok((dir, path))
}

fn plan_exit(report: &rlcm::report::PlanReport, detailed: bool) -> i32 {
    if report.blocked {
        EXIT_BLOCKED
    } else if detailed
        && report
            .actions
            .iter()
            .any(|a| a.action != "no_change" && a.action != "keep")
    {
        10
    } else {
        EXIT_OK
    }
}

fn print_plan(format: ReportFormat, report: &rlcm::report::PlanReport) -> anyhow::Result<()> {
    match format {
        ReportFormat::Json => emit_json(report),
        ReportFormat::Human => emit(&render::plan(report)),
        ReportFormat::Markdown => emit(&render::plan_markdown(report)),
    }
}

fn run_plan(args: PlanArgs) -> anyhow::Result<i32> {
    let (_guard, package) = match (&args.package, &args.from) {
        (Some(p), _) => (None, p.clone()),
        (None, Some(from)) => {
            let (g, p) = export_to_temp(from, &args.selection, &args.export_folders)?;
            (Some(g), p)
        }
        (None, None) => anyhow::bail!(Error::invalid(
            Subject::Arguments,
            "give a package, or `--from SANDBOX`"
        )),
    };
    if args.remote.remote.is_some() {
        if args.from.is_some() {
            anyhow::bail!(Error::invalid(
                Subject::Arguments,
                "plan a package file against a remote: export it first (`rlcm export -o PKG.zip`)"
            ));
        }
        let user = resolve_user(None);
        let report = remote::run_plan_remote(
            &args.remote,
            &package,
            args.flags.options(),
            args.output.as_ref(),
            &user,
        )?;
        match args.format {
            reports::PageFormat::Html => emit(&html::plan(&report))?,
            other => print_plan(other.report(), &report)?,
        }
        return Ok(plan_exit(&report, args.detailed_exitcode));
    }
    let pkg = apply::open_package(&package)?;
    let env_dir = args.env.clone().unwrap_or_default();
    let env = Environment::open(&env_dir)?;
    let mut opts = args.flags.options();
    opts.text_diff = args.diff == Some(reports::DiffMode::Text);
    let (plan, target) = apply::plan_env(&pkg, &env, &opts)?;
    let mut report = plan.report;
    if args.from.is_some() {
        report.package = format!(
            "(exported from {})",
            args.from
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    if let Some(out) = &args.output {
        if args.from.is_some() {
            anyhow::bail!(Error::invalid(
                Subject::Arguments,
                "a saved plan needs a package file to import later: export it (`rlcm export -o PKG.zip`) and plan that"
            ));
        }
        rlcm::fsutil::write_atomic(out, &rlcm::json::to_pretty_vec(&report))?;
    }
    match (args.diff, args.format) {
        (_, reports::PageFormat::Html) => emit(&html::plan(&report))?,
        (Some(mode), reports::PageFormat::Human) => emit(&format!(
            "{}{}",
            render::plan(&report),
            reports::plan_changes_human(&report, mode, &plan.text_diffs)
        ))?,
        (Some(mode), reports::PageFormat::Markdown) => emit(&format!(
            "{}{}",
            render::plan_markdown(&report),
            reports::plan_changes_markdown(&report, mode, &plan.text_diffs)
        ))?,
        _ => print_plan(args.format.report(), &report)?,
    }
    let exit = plan_exit(&report, args.detailed_exitcode);
    release_at_exit((target, report));
    Ok(exit)
}

fn run_import(args: ImportArgs, actor: &Actor) -> anyhow::Result<i32> {
    let (package, opts, expect) = match (&args.package, &args.plan) {
        (Some(p), _) => (p.clone(), args.flags.options(), None),
        (None, Some(plan_path)) => {
            let bytes = rlcm::fsutil::read(plan_path)?;
            let saved: rlcm::report::PlanReport = serde_json::from_slice(&bytes)
                .map_err(|e| Error::json(plan_path.display().to_string(), &e))?;
            (
                PathBuf::from(&saved.package),
                apply::options_of(&saved),
                Some(saved),
            )
        }
        (None, None) => anyhow::bail!(Error::invalid(
            Subject::Arguments,
            "give a package, or `--plan PLAN.json`"
        )),
    };
    let pkg = apply::open_package(&package)?;
    if let Some(saved) = &expect
        && saved.package_digest != pkg.digest
    {
        anyhow::bail!(Error::Blocked(format!(
            "the package `{}` changed since the plan was saved (digest {} then, {} now); plan again",
            package.display(),
            rlcm::report::short_digest(&saved.package_digest),
            rlcm::report::short_digest(&pkg.digest)
        )));
    }
    let env = Environment::open(&args.env)?;
    let report = if args.dry_run {
        let report = apply::plan_env(&pkg, &env, &opts)?.0.report;
        if let Some(saved) = &expect
            && saved.target_digest != report.target_digest
        {
            anyhow::bail!(Error::Blocked(
                "the saved plan is stale: the target changed since it was planned; plan again".into()
            ));
        }
        report
    } else {
        apply::apply(
            env,
            &pkg,
            &opts,
            actor,
            expect.as_ref().map(|s| s.target_digest.as_str()),
        )?
    };
    print_plan(args.format.into(), &report)?;
    Ok(if report.blocked { EXIT_BLOCKED } else { EXIT_OK })
}

fn run_promote(args: PromoteArgs, actor: &Actor) -> anyhow::Result<i32> {
    let (_guard, package) = export_to_temp(&args.from, &args.selection, &args.export_folders)?;
    let pkg = apply::open_package(&package)?;
    let env = Environment::open(&args.to)?;
    let opts = args.flags.options();
    let mut report = if args.dry_run {
        apply::plan_env(&pkg, &env, &opts)?.0.report
    } else {
        apply::apply(env, &pkg, &opts, actor, None)?
    };
    report.package = format!("(exported from {})", args.from.display());
    print_plan(args.format.into(), &report)?;
    Ok(if report.blocked { EXIT_BLOCKED } else { EXIT_OK })
}
