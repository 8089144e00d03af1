//! Per-command output formats, and the Markdown renderings of the reports a CI job posts
//! (inspect, check, verify, history, connector versions, connector diff; plan, impact and
//! diff have theirs in `render` and `reports`). A command whose format enum lacks
//! `markdown` refuses it as a usage error (exit 2).

use rlcm::diag::{Code, Severity};
use std::fmt::Write;

use clap::ValueEnum;

use rlcm::package::VerifyReport;
use rlcm::report::*;

/// Output format of a command whose report is not posted by CI jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlainFormat {
    /// Text for people.
    Human,
    /// One JSON document (schema in `schemas/`).
    Json,
}

impl From<PlainFormat> for super::ReportFormat {
    fn from(f: PlainFormat) -> Self {
        match f {
            PlainFormat::Human => super::ReportFormat::Human,
            PlainFormat::Json => super::ReportFormat::Json,
        }
    }
}

/// Text for a Markdown table cell or list item: one line, pipes and markup escaped.
pub fn cell(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Inline code that a backtick inside cannot end early.
pub fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.iter().map(|x| code(x)).collect::<Vec<_>>().join(", ")
    }
}

/// `inspect` as Markdown.
pub fn inspect(r: &InspectReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "## rlcm inspect: {}\n\n{} assets in {} folders, {} references ({} dangling)\n",
        code(&r.source),
        r.assets.len(),
        r.folders.len(),
        r.references.len(),
        r.dangling.len()
    );
    let _ = writeln!(o, "| type | assets |\n|---|---:|");
    for (t, n) in &r.counts {
        let _ = writeln!(o, "| {} | {n} |", cell(t));
    }
    if !r.connectors.is_empty() {
        let _ = writeln!(
            o,
            "\n### Connectors\n\n| connector | version | note | actions | triggers |\n|---|---:|---|---|---|"
        );
        for c in &r.connectors {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                cell(&c.title),
                opt(c.version),
                cell(c.note.as_deref().unwrap_or("")),
                list(&c.actions),
                list(&c.triggers)
            );
        }
    }
    if !r.dangling.is_empty() || !r.cycles.is_empty() || !r.findings.is_empty() {
        let _ = writeln!(o, "\n### Findings\n");
        for d in &r.dangling {
            let _ = writeln!(
                o,
                "- dangling: {} → {} ({})",
                code(&d.from),
                code(&d.to),
                cell(&d.kind)
            );
        }
        for c in &r.cycles {
            let _ = writeln!(
                o,
                "- cycle: {}",
                c.iter().map(|p| code(p)).collect::<Vec<_>>().join(" → ")
            );
        }
        for f in r
            .findings
            .iter()
            .filter(|f| !matches!(f.kind, Code::DanglingReference | Code::CallCycle))
        {
            let _ = writeln!(
                o,
                "- **{}** {}: {}",
                cell(f.kind.as_str()),
                code(&f.path),
                cell(&f.message)
            );
        }
    }
    let _ = writeln!(
        o,
        "\n<details><summary>Assets ({})</summary>\n\n| type | path | needs | used by |\n|---|---|---:|---:|",
        r.assets.len()
    );
    for a in &r.assets {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            cell(&a.asset_type),
            code(&a.path),
            a.depends_on,
            a.used_by
        );
    }
    let _ = writeln!(o, "\n</details>");
    o
}

/// `check` as Markdown.
pub fn check(r: &CheckReport) -> String {
    let errors = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let mut o = format!(
        "## rlcm check: {}\n\n{errors} errors, {} warnings\n",
        if r.ok { "✅ ok" } else { "❌ problems found" },
        r.findings.len() - errors
    );
    if let Some(l) = &r.recovered {
        let _ = writeln!(o, "\nFinished an interrupted write ({}).", cell(l));
    }
    if !r.findings.is_empty() {
        let _ = writeln!(o, "\n| severity | kind | path | message |\n|---|---|---|---|");
        for f in &r.findings {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                cell(f.severity.as_str()),
                cell(f.kind.as_str()),
                code(&f.path),
                cell(&f.message)
            );
        }
    }
    o
}

/// `verify` as Markdown.
pub fn verify(r: &VerifyReport) -> String {
    let verdict = match (r.ok, r.verified) {
        (true, true) => "✅ verified",
        (true, false) => "⚠️ readable, not verifiable",
        (false, _) => "❌ failed",
    };
    let mut o = format!(
        "## rlcm verify: {verdict}\n\n{}: {} ({} entries checked)\n",
        code(&r.package),
        cell(&r.note),
        r.entries_checked
    );
    if let Some(d) = &r.digest {
        let _ = writeln!(o, "\nDigest {}", code(d));
    }
    if !r.mismatches.is_empty() {
        let _ = writeln!(o, "\n| problem | entry | message |\n|---|---|---|");
        for m in &r.mismatches {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                cell(&m.problem.to_string()),
                code(&m.entry),
                cell(&m.message)
            );
        }
    }
    o
}

/// `history` as Markdown.
pub fn history(r: &HistoryReport) -> String {
    let mut o = format!("## rlcm history ({} imports)\n\n", r.imports.len());
    if r.imports.is_empty() {
        o.push_str("No imports yet.\n");
        return o;
    }
    let _ = writeln!(
        o,
        "| # | at | user | package | digest | counts | rolled back |\n|---:|---|---|---|---|---|---|"
    );
    for i in &r.imports {
        let counts = i
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            i.id,
            cell(&i.at),
            cell(&i.user),
            code(&i.package),
            code(&short_digest(&i.package_digest)),
            cell(&counts),
            cell(i.rolled_back_at.as_deref().unwrap_or(""))
        );
    }
    o
}

/// `connector versions` as Markdown.
pub fn connector_versions(r: &ConnectorVersionsReport) -> String {
    let mut o = format!(
        "## {}: connector versions\n\nlatest {}, released {}, shared {}\n\n| version | state | note | created | released | actions | triggers |\n|---:|---|---|---|---|---|---|\n",
        cell(&r.title),
        opt(r.latest),
        opt(r.released),
        opt(r.shared)
    );
    for v in r.versions.iter().rev() {
        let mut flags = Vec::new();
        if v.released {
            flags.push("released");
        }
        if v.shared {
            flags.push("shared");
        }
        if v.rolled_back {
            flags.push("rolled back");
        }
        let released = match (&v.released_at, &v.released_by) {
            (Some(at), Some(by)) => format!("{at} by {by}"),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} by {} ({}) | {} | {} | {} |",
            v.version,
            flags.join(", "),
            cell(v.note.as_deref().unwrap_or("")),
            cell(&v.created_at),
            cell(&v.created_by),
            cell(&v.origin.to_string()),
            cell(&released),
            list(&v.actions),
            list(&v.triggers)
        );
    }
    o
}

/// `connector diff` as Markdown.
pub fn connector_diff(r: &ConnectorDiffReport) -> String {
    let mut o = format!(
        "## {}: version {} → {}\n\n| | actions | triggers |\n|---|---|---|\n| removed | {} | {} |\n| added | {} | {} |\n",
        cell(&r.title),
        cell(&r.from),
        cell(&r.to),
        list(&r.actions_removed),
        list(&r.triggers_removed),
        list(&r.actions_added),
        list(&r.triggers_added)
    );
    if r.diff.is_empty() {
        o.push_str("\nCode: identical.\n");
    } else {
        let mut fence = "```".to_string();
        while r.diff.contains(&fence) {
            fence.push('`');
        }
        let _ = writeln!(o, "\n{fence}diff\n{}{fence}", r.diff);
    }
    o
}
