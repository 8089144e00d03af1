//! The command-line interface: clap definitions, dispatch, and exit codes.
//!
//! Reports go to stdout, status and errors to stderr. Exit codes (SPEC §8): 0 success,
//! 1 error, 2 usage, 3 blocked, 10 changes pending (`plan --detailed-exitcode`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod render;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::Error;
use crate::ops;
use crate::source::Source;
use crate::workspace::Workspace;

/// Exit code: success, or nothing to change.
pub const EXIT_OK: i32 = 0;
/// Exit code: error (bad input, I/O).
pub const EXIT_ERROR: i32 = 1;
/// Exit code: usage error.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the import is blocked.
pub const EXIT_BLOCKED: i32 = 3;

/// Recipe lifecycle management: move Workato recipes and everything they depend on from
/// sandbox to production, and know what an import will do before it does it.
#[derive(Debug, Parser)]
#[command(name = "rlcm", version, max_term_width = 100)]
pub struct Cli {
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
    /// Output format (human or json).
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
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: ReportFormat,
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
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
    match err.downcast_ref::<Error>() {
        Some(e) if e.is_blocked() => EXIT_BLOCKED,
        Some(Error::Invalid(_)) => EXIT_USAGE,
        _ => EXIT_ERROR,
    }
}

/// Writes a report to stdout; a closed pipe ends quietly.
fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn emit_json<T: serde::Serialize>(report: &T) -> anyhow::Result<()> {
    emit(&String::from_utf8(crate::json::to_pretty_vec(report))?)
}

fn load(path: &std::path::Path) -> anyhow::Result<(Source, Workspace)> {
    let source = Source::open(path)?;
    let ws = Workspace::load(&source)?;
    Ok((source, ws))
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Inspect(args) => {
            let (source, ws) = load(&args.path)?;
            let report = ops::inspect::inspect(&ws, &source.display());
            match args.format {
                ReportFormat::Json => emit_json(&report)?,
                _ => emit(&render::inspect(&report, args.all))?,
            }
            Ok(EXIT_OK)
        }
        Command::Graph(args) => {
            let (_, ws) = load(&args.path)?;
            let focus = args.focus.as_deref().map(|f| ws.find_asset(f)).transpose()?;
            let report = ops::graph::graph(&ws, focus);
            match args.format {
                GraphFormat::Json => emit_json(&report)?,
                GraphFormat::Dot => emit(&ops::graph::to_dot(&report))?,
                GraphFormat::Mermaid => emit(&ops::graph::to_mermaid(&report))?,
            }
            Ok(EXIT_OK)
        }
        Command::Impact(args) => {
            let (_, ws) = load(&args.env)?;
            let target = ws.find_asset(&args.asset)?;
            let report = ops::impact::impact(&ws, target, &|_| false);
            match args.format {
                ReportFormat::Json => emit_json(&report)?,
                ReportFormat::Human => emit(&render::impact(&report))?,
                ReportFormat::Markdown => emit(&render::impact_markdown(&report))?,
            }
            Ok(EXIT_OK)
        }
    }
}
