//! Reports about what changes: the semantic diff of `plan --diff`, and `rlcm diff A B`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use rlcm::ops::diff::{DiffAsset, DiffReport, DiffStatus};
use rlcm::report::PlanReport;
use rlcm::semdiff::{Change, ChangeKind};

/// How `--diff` shows what changes inside each updated asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffMode {
    /// Steps, connections, config and JSON paths that change (the default of `--diff`).
    Semantic,
    /// A unified diff of the pretty JSON.
    Text,
}

/// Output format of `rlcm diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Text for people.
    Human,
    /// One JSON document (schema `schemas/diff.schema.json`).
    Json,
    /// Markdown, for CI summaries and pull-request comments.
    Markdown,
}

/// Output format of `plan` and `impact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PageFormat {
    /// Text for people.
    Human,
    /// One JSON document (schema in `schemas/`).
    Json,
    /// Markdown, for CI summaries and pull-request comments.
    Markdown,
    /// One self-contained HTML page (inline CSS and SVG, nothing loaded from elsewhere).
    Html,
}

impl PageFormat {
    /// The report format for everything but HTML.
    pub fn report(self) -> super::ReportFormat {
        match self {
            PageFormat::Human | PageFormat::Html => super::ReportFormat::Human,
            PageFormat::Json => super::ReportFormat::Json,
            PageFormat::Markdown => super::ReportFormat::Markdown,
        }
    }
}

/// `rlcm diff A B`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The old side: an environment directory or a package (zip or directory).
    a: PathBuf,
    /// The new side: an environment directory or a package (zip or directory).
    b: PathBuf,
    /// Show a unified text diff of each changed asset instead of the semantic one (`text`).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "semantic", require_equals = true)]
    diff: Option<DiffMode>,
    /// Exit 10 when A and B differ (0 when they are the same).
    #[arg(long)]
    detailed_exitcode: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: DiffFormat,
}

/// Most changes listed per asset in human and Markdown output (all are in the JSON).
const CHANGES_SHOWN: usize = 50;

fn marker(kind: ChangeKind) -> char {
    match kind {
        ChangeKind::Added => '+',
        ChangeKind::Removed => '-',
        ChangeKind::Changed => '~',
        ChangeKind::Moved => '>',
    }
}

/// One change as a line, with its values when short.
fn change_line(c: &Change) -> String {
    match c.values() {
        Some(v) => format!("{} {}: {v}", marker(c.kind), c.describe()),
        None => format!("{} {}", marker(c.kind), c.describe()),
    }
}

/// The changes of one asset, indented, human (the marker coloured).
fn human_changes(o: &mut String, changes: &[Change], indent: &str) {
    use super::shell::style;
    for c in changes.iter().take(CHANGES_SHOWN) {
        let st = match c.kind {
            ChangeKind::Added => style::GOOD,
            ChangeKind::Removed => style::BAD,
            ChangeKind::Changed | ChangeKind::Moved => style::WARN,
        };
        let line = change_line(c);
        let (mark, rest) = line.split_at(1);
        let _ = writeln!(o, "{indent}{}{rest}", style::paint(st, mark));
    }
    if changes.len() > CHANGES_SHOWN {
        let _ = writeln!(
            o,
            "{indent}... and {} more (see --format json)",
            changes.len() - CHANGES_SHOWN
        );
    }
}

/// Markdown-safe inline code (backticks cannot close it early).
fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

/// Text for a Markdown list item or table cell (no line breaks, no table pipes, no HTML).
fn md_text(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn md_changes(o: &mut String, changes: &[Change]) {
    for c in changes.iter().take(CHANGES_SHOWN) {
        // The marker in code, so that `- -` never reads as a nested list.
        let line = change_line(c);
        let (mark, rest) = line.split_at(1);
        let _ = writeln!(o, "- `{mark}`{}", md_text(rest).replace(" -> ", " → "));
    }
    if changes.len() > CHANGES_SHOWN {
        let _ = writeln!(
            o,
            "- ... and {} more (see `--format json`)",
            changes.len() - CHANGES_SHOWN
        );
    }
}

/// A fenced block that no line of `text` can close.
fn fenced(o: &mut String, lang: &str, text: &str) {
    let mut fence = "```".to_string();
    while text.contains(&fence) {
        fence.push('`');
    }
    let _ = writeln!(o, "{fence}{lang}\n{}{fence}", text);
}

/// The `Changes` section of a human plan with `--diff`.
pub fn plan_changes_human(r: &PlanReport, mode: DiffMode, texts: &BTreeMap<String, String>) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "\nChanges inside updated assets");
    let mut any = false;
    for a in r.actions.iter().filter(|a| a.changes.is_some()) {
        any = true;
        let _ = writeln!(o, "  {} {}", a.action, a.path);
        match (mode, texts.get(&a.path)) {
            (DiffMode::Text, Some(t)) => {
                for line in t.lines() {
                    let _ = writeln!(o, "    {line}");
                }
            }
            _ => human_changes(&mut o, a.changes.as_deref().unwrap_or_default(), "    "),
        }
    }
    if !any {
        let _ = writeln!(o, "  (no asset is updated)");
    }
    o
}

/// The changes section of a Markdown plan with `--diff`.
pub fn plan_changes_markdown(r: &PlanReport, mode: DiffMode, texts: &BTreeMap<String, String>) -> String {
    let mut o = String::new();
    let updated: Vec<_> = r.actions.iter().filter(|a| a.changes.is_some()).collect();
    let _ = writeln!(o, "\n### Changes inside updated assets ({})\n", updated.len());
    for a in updated {
        let changes = a.changes.as_deref().unwrap_or_default();
        let _ = writeln!(
            o,
            "<details><summary>{} {} ({})</summary>\n",
            md_text(a.action.as_str()),
            code(&a.path),
            if changes.len() == 1 {
                "1 change".to_string()
            } else {
                format!("{} changes", changes.len())
            }
        );
        match (mode, texts.get(&a.path)) {
            (DiffMode::Text, Some(t)) => fenced(&mut o, "diff", t),
            _ => md_changes(&mut o, changes),
        }
        let _ = writeln!(o, "\n</details>\n");
    }
    o
}

/// Renders `rlcm diff` for people.
pub fn diff_human(r: &DiffReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Diff: {} -> {}\n", r.a, r.b);
    if r.identical {
        let _ = writeln!(o, "No difference.");
        return o;
    }
    if !r.connectors.is_empty() {
        let _ = writeln!(o, "Connectors");
        for c in &r.connectors {
            let _ = writeln!(
                o,
                "  {}: code differs (version {} in A){}",
                c.title,
                c.from_version.map_or("?".into(), |v| v.to_string()),
                c.note
                    .as_deref()
                    .map(|n| format!(", B's note \"{n}\""))
                    .unwrap_or_default()
            );
            let removed = labels(&c.actions_removed, &c.triggers_removed);
            let added = labels(&c.actions_added, &c.triggers_added);
            if !removed.is_empty() {
                let _ = writeln!(o, "    removes: {removed}");
            }
            if !added.is_empty() {
                let _ = writeln!(o, "    adds:    {added}");
            }
        }
        o.push('\n');
    }
    let _ = writeln!(o, "Assets");
    let width = r.assets.iter().map(|a| a.asset_type.len()).max().unwrap_or(0);
    for a in &r.assets {
        let st = match a.status {
            DiffStatus::Added => super::shell::style::GOOD,
            DiffStatus::Removed => super::shell::style::BAD,
            DiffStatus::Changed => super::shell::style::WARN,
        };
        let _ = writeln!(
            o,
            "  {} {:<width$}  {}",
            super::shell::style::paint(st, &format!("{:<8}", a.status.as_str())),
            a.asset_type,
            asset_label(a)
        );
        match &a.text {
            Some(t) => {
                for line in t.lines() {
                    let _ = writeln!(o, "      {line}");
                }
            }
            None => human_changes(&mut o, &a.changes, "      "),
        }
    }
    let _ = writeln!(o, "\nSummary: {}", summary(r));
    o
}

fn asset_label(a: &DiffAsset) -> String {
    match &a.b_path {
        Some(b) => format!("{} (B: {b})", a.path),
        None => a.path.clone(),
    }
}

fn labels(actions: &[String], triggers: &[String]) -> String {
    actions
        .iter()
        .map(|a| format!("action:{a}"))
        .chain(triggers.iter().map(|t| format!("trigger:{t}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary(r: &DiffReport) -> String {
    let mut parts: Vec<String> = [DiffStatus::Changed, DiffStatus::Added, DiffStatus::Removed]
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                r.counts.get(s.as_str()).copied().unwrap_or(0),
                s.as_str()
            )
        })
        .collect();
    if !r.connectors.is_empty() {
        parts.push(format!("{} connector code changed", r.connectors.len()));
    }
    parts.join(", ")
}

/// Renders `rlcm diff` as Markdown.
pub fn diff_markdown(r: &DiffReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "## rlcm diff: {}\n",
        if r.identical { "no difference" } else { "differs" }
    );
    let _ = writeln!(o, "{} → {}\n", code(&r.a), code(&r.b));
    if r.identical {
        return o;
    }
    let _ = writeln!(o, "**Summary:** {}\n", summary(r));
    if !r.connectors.is_empty() {
        let _ = writeln!(
            o,
            "### Connectors\n\n| connector | version in A | removes | adds |\n|---|---|---|---|"
        );
        for c in &r.connectors {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                md_text(&c.title),
                c.from_version.map_or("?".into(), |v| v.to_string()),
                md_text(&labels(&c.actions_removed, &c.triggers_removed)),
                md_text(&labels(&c.actions_added, &c.triggers_added))
            );
        }
        o.push('\n');
    }
    let _ = writeln!(
        o,
        "### Assets\n\n| status | type | path | changes |\n|---|---|---|---|"
    );
    for a in &r.assets {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            a.status.as_str(),
            md_text(&a.asset_type),
            code(&asset_label(a)),
            if a.status == DiffStatus::Changed {
                a.changes.len().to_string()
            } else {
                String::new()
            }
        );
    }
    for a in r.assets.iter().filter(|a| a.status == DiffStatus::Changed) {
        let _ = writeln!(o, "\n<details><summary>{}</summary>\n", code(&a.path));
        match &a.text {
            Some(t) => fenced(&mut o, "diff", t),
            None => md_changes(&mut o, &a.changes),
        }
        let _ = writeln!(o, "\n</details>");
    }
    o
}

/// Runs `rlcm diff`: exit 0, or 10 with `--detailed-exitcode` when A and B differ.
pub fn run_diff(args: DiffArgs) -> anyhow::Result<i32> {
    let opts = rlcm::ops::diff::DiffOptions {
        text: args.diff == Some(DiffMode::Text),
    };
    let report = rlcm::ops::diff::diff(&args.a, &args.b, &opts)?;
    match args.format {
        DiffFormat::Json => super::emit_json(&report)?,
        DiffFormat::Human => super::emit(&diff_human(&report))?,
        DiffFormat::Markdown => super::emit(&diff_markdown(&report))?,
    }
    Ok(if args.detailed_exitcode && !report.identical {
        10
    } else {
        super::EXIT_OK
    })
}
