//! HTML reports: `plan --format html` and `impact --format html`.
//!
//! One self-contained page: inline CSS and SVG, no script, no font or image from elsewhere
//! (a Content-Security-Policy of `default-src 'none'` says so to the browser). The impact
//! table is filtered and sorted with CSS alone (`:has()` on checkboxes and radio buttons), so
//! the page works wherever it is opened. Every string from the report is escaped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use unicode_width::UnicodeWidthChar;

use rlcm::layout;
use rlcm::report::{Action, ImpactReport, ImpactSeverity, PlanAction, PlanReport};
use rlcm::semdiff::{ChangeKind, short_value};

/// Above this many nodes, the graph groups ordinary recipes and chain assets by folder.
pub const GRAPH_NODE_LIMIT: usize = 500;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = r#"
:root{--bad:#b3261e;--bad-bg:#fde7e4;--warn:#8a5a00;--warn-bg:#fff3d6;--ok:#146c2e;--ok-bg:#e3f5e8;--muted:#5f6368;--line:#d0d4d9}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK JP",sans-serif;margin:0 auto;max-width:1280px;padding:16px 24px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f4f6;padding:1px 4px;border-radius:4px;word-break:break-all}
.sub{color:var(--muted);margin:0 0 12px}
.verdict{border-radius:8px;padding:12px 16px;margin:12px 0;border:2px solid}
.verdict h2{border:0;margin:0 0 6px;padding:0}
.verdict.blocked{background:var(--bad-bg);border-color:var(--bad)}.verdict.blocked h2{color:var(--bad)}
.verdict.ready,.verdict.applied{background:var(--ok-bg);border-color:var(--ok)}.verdict.ready h2,.verdict.applied h2{color:var(--ok)}
.verdict.nothing-to-change{background:#f3f4f6;border-color:var(--line)}
.verdict ul{margin:6px 0 0;padding-left:20px}
.counts{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:8px 0}
.counts li{border:1px solid var(--line);border-radius:16px;padding:2px 10px;background:#fafbfc}
.counts li b{font-size:15px}
.counts li.breaking{border-color:var(--bad);color:var(--bad)}.counts li.restart{border-color:var(--warn);color:var(--warn)}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}
.sev{font-weight:600;white-space:nowrap}.sev.breaking{color:var(--bad)}.sev.restart{color:var(--warn)}.sev.affected{color:var(--muted)}
tr.breaking td{background:var(--bad-bg)}
.removed{color:var(--bad)}.added{color:var(--ok)}.moved{color:var(--warn)}.changed{color:#0b57d0}
.tag{display:inline-block;border-radius:4px;padding:0 6px;margin:1px 2px;font-size:12px;border:1px solid}
.tag.removed{background:var(--bad-bg)}.tag.added{background:var(--ok-bg)}
.controls{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center;margin:6px 0;padding:6px 10px;background:#f6f8fa;border-radius:6px}
.controls label{cursor:pointer}
.impact-table{display:none}
body:has(#sort-severity:checked) #impact-by-severity,body:has(#sort-recipe:checked) #impact-by-recipe,body:has(#sort-chain:checked) #impact-by-chain{display:table}
body:has(#show-breaking:not(:checked)) .impact-table tr.breaking,body:has(#show-restart:not(:checked)) .impact-table tr.restart,body:has(#show-affected:not(:checked)) .impact-table tr.affected{display:none}
body:has(#only-running:checked) .impact-table tr.stopped,body:has(#only-outside:checked) .impact-table tr.in-package{display:none}
details{border:1px solid var(--line);border-radius:6px;margin:6px 0;padding:4px 10px}
details>summary{cursor:pointer;font-weight:600}
.changes td:first-child{width:1.5em;font-weight:700}
pre{background:#f6f8fa;padding:8px;overflow:auto}
.graph{overflow:auto;border:1px solid var(--line);border-radius:6px;max-height:80vh}
.graph svg{display:block}
.node rect{fill:#fff;stroke:#8c959f;stroke-width:1}
.node.changed rect{fill:#ddeaff;stroke:#0b57d0;stroke-width:2}
.node.breaking rect{fill:var(--bad-bg);stroke:var(--bad);stroke-width:2.5}
.node.restart rect{fill:var(--warn-bg);stroke:var(--warn);stroke-width:1.5}
.node.running rect{stroke-dasharray:none;stroke-width:2.5}
.node.cluster rect{fill:#f3f4f6;stroke-dasharray:4 2}
.node text{font:12px system-ui,sans-serif;fill:#1f2328;dominant-baseline:middle}
.node.breaking text{fill:var(--bad);font-weight:700}
.edge{fill:none;stroke:#8c959f;stroke-width:1.2}
.edge.hot{stroke:var(--bad);stroke-width:1.8}
.legend{display:flex;gap:12px;flex-wrap:wrap;font-size:12px;color:var(--muted)}
.legend span::before{content:"";display:inline-block;width:12px;height:10px;margin-right:4px;border:2px solid #8c959f;vertical-align:middle}
.legend .l-changed::before{background:#ddeaff;border-color:#0b57d0}.legend .l-breaking::before{background:var(--bad-bg);border-color:var(--bad)}
.legend .l-restart::before{background:var(--warn-bg);border-color:var(--warn)}.legend .l-cluster::before{border-style:dashed}
footer{margin:32px 0 8px;color:var(--muted);font-size:12px}
"#;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"generator\" content=\"rlcm {}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\
<footer>Generated by rlcm {}. This page is self-contained: it loads nothing from anywhere.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        esc(title),
        env!("CARGO_PKG_VERSION"),
    )
}

fn code(s: &str) -> String {
    format!("<code>{}</code>", esc(s))
}

/// The verdict of a plan: (css class, headline).
fn verdict(r: &PlanReport) -> (&'static str, &'static str) {
    if r.blocked {
        ("blocked", "Blocked: the import would be refused")
    } else if r.applied {
        ("applied", "Applied")
    } else if r
        .actions
        .iter()
        .all(|a| a.action == "no_change" || a.action == "keep")
    {
        ("nothing-to-change", "Nothing to change")
    } else {
        ("ready", "Ready: `rlcm import` with these flags would apply it")
    }
}

/// The plan page's connector table.
fn connectors_table(b: &mut String, r: &PlanReport) {
    if !r.connectors.is_empty() {
        let _ = writeln!(
            b,
            "<h2 id=\"connectors\">Connectors</h2>\n<table id=\"connectors-table\">\n<thead><tr><th>connector</th><th>action</th><th>version</th><th>note</th><th>actions and triggers removed</th><th>added</th></tr></thead><tbody>"
        );
        for c in &r.connectors {
            let version = match (c.from_version, c.to_version) {
                (Some(f), Some(t)) if f != t => format!("{f} → {t}"),
                (None, Some(t)) => format!("new: {t}"),
                (Some(f), _) => f.to_string(),
                _ => String::new(),
            };
            let tags = |a: &[String], t: &[String], class: &str| -> String {
                a.iter()
                    .map(|x| format!("action:{x}"))
                    .chain(t.iter().map(|x| format!("trigger:{x}")))
                    .map(|x| format!("<span class=\"tag {class}\">{}</span>", esc(&x)))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let _ = writeln!(
                b,
                "<tr data-connector=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.title),
                esc(&c.title),
                esc(c.action.as_str()),
                esc(&version),
                esc(c.note.as_deref().unwrap_or("")),
                tags(&c.actions_removed, &c.triggers_removed, "removed"),
                tags(&c.actions_added, &c.triggers_added, "added"),
            );
        }
        let _ = writeln!(b, "</tbody></table>");
    }
}

/// The changed assets and the affected recipes, with the chains between them.
fn affected_graph(r: &PlanReport) -> GraphBuilder {
    let mut g = GraphBuilder::default();
    for a in r.actions.iter().filter(|a| {
        matches!(
            a.action,
            Action::Update | Action::UpdateRunning | Action::Conflict | Action::NewVersion
        )
    }) {
        g.mark(&a.path, NodeKind::Changed);
    }
    for e in &r.impact {
        let kind = match e.severity {
            ImpactSeverity::Breaking => NodeKind::Breaking,
            ImpactSeverity::Restart => NodeKind::Restart,
            ImpactSeverity::Affected => NodeKind::Recipe,
        };
        g.chain(&e.via);
        g.mark(&e.recipe, kind);
        if e.running {
            g.running.insert(e.recipe.clone());
        }
    }
    g
}

/// Renders a plan as one self-contained HTML page.
pub fn plan(r: &PlanReport) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<header><h1>rlcm plan</h1>");
    let _ = writeln!(
        b,
        "<p class=\"sub\">Import {} into {}</p></header>",
        code(&r.package),
        code(&r.target)
    );
    let (class, headline) = verdict(r);
    let _ = writeln!(
        b,
        "<section id=\"verdict\" class=\"verdict {class}\" data-verdict=\"{class}\">\n<h2>{}</h2>",
        esc(headline)
    );
    if r.blocked {
        let _ = writeln!(b, "<p>Each reason, with the way out:</p>\n<ul id=\"blockers\">");
        for x in &r.blockers {
            let _ = writeln!(
                b,
                "<li class=\"blocker\" data-kind=\"{}\"><b>{}</b> {}: {}</li>",
                esc(x.kind.as_str()),
                esc(x.kind.as_str()),
                code(&x.path),
                esc(&x.message)
            );
        }
        let _ = writeln!(b, "</ul>");
    }
    for w in &r.warnings {
        let _ = writeln!(b, "<p class=\"warning\">warning: {}</p>", esc(w));
    }
    let _ = writeln!(b, "</section>");
    // Counts.
    let _ = writeln!(b, "<ul class=\"counts\" id=\"counts\">");
    for (k, v) in &r.counts {
        let _ = writeln!(b, "<li data-action=\"{}\"><b>{v}</b> {}</li>", esc(k), esc(k));
    }
    let mut by_severity: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &r.impact {
        *by_severity.entry(e.severity.as_str()).or_default() += 1;
    }
    for sev in ["breaking", "restart", "affected"] {
        let n = by_severity.get(sev).copied().unwrap_or(0);
        let _ = writeln!(
            b,
            "<li class=\"{sev}\" data-severity=\"{sev}\"><b>{n}</b> {sev}</li>"
        );
    }
    let _ = writeln!(b, "</ul>");
    connectors_table(&mut b, r);
    // Impact.
    let _ = writeln!(
        b,
        "<h2 id=\"impact\">Impact on production ({} recipes)</h2>",
        r.impact.len()
    );
    if !r.impact.is_empty() {
        let rows: Vec<ImpactRow<'_>> = r
            .impact
            .iter()
            .map(|e| ImpactRow {
                recipe: &e.recipe,
                severity: e.severity.as_str(),
                running: Some(e.running),
                in_package: Some(e.in_package),
                via: &e.via,
                detail: e.missing.join(", "),
            })
            .collect();
        impact_tables(&mut b, &rows, "missing in the incoming connector");
    }
    // Diffs.
    let updated: Vec<&PlanAction> = r.actions.iter().filter(|a| a.changes.is_some()).collect();
    let _ = writeln!(
        b,
        "<h2 id=\"changes\">Changes inside updated assets ({})</h2>",
        updated.len()
    );
    for a in &updated {
        asset_diff(&mut b, a);
    }
    let g = affected_graph(r);
    let _ = writeln!(b, "<h2 id=\"graph\">Dependency graph of the affected part</h2>");
    b.push_str(&g.svg());
    // Assets.
    let _ = writeln!(
        b,
        "<h2 id=\"assets\">Assets</h2>\n<details><summary>Every asset of the package ({})</summary>\n<table><thead><tr><th>action</th><th>type</th><th>path</th><th>detail</th></tr></thead><tbody>",
        r.actions.len()
    );
    for a in &r.actions {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(a.action.as_str()),
            esc(&a.asset_type),
            code(&a.path),
            esc(a.detail.as_deref().unwrap_or(""))
        );
    }
    let _ = writeln!(b, "</tbody></table></details>");
    page(&format!("rlcm plan: {headline}"), &b)
}

/// Renders `rlcm impact` as one self-contained HTML page.
pub fn impact(r: &ImpactReport) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<header><h1>rlcm impact</h1>");
    let _ = writeln!(
        b,
        "<p class=\"sub\">Who depends on {} ({})</p></header>",
        code(&r.asset),
        esc(&r.asset_type)
    );
    let running = r.dependents.iter().filter(|d| d.running).count();
    let class = if r.dependents.is_empty() {
        "nothing-to-change"
    } else {
        "ready"
    };
    let _ = writeln!(
        b,
        "<section id=\"verdict\" class=\"verdict {class}\" data-verdict=\"{class}\">\n<h2>{} recipes depend on it, {running} running</h2>\n</section>",
        r.dependents.len()
    );
    let _ = writeln!(
        b,
        "<ul class=\"counts\" id=\"counts\"><li data-count=\"dependents\"><b>{}</b> recipes</li><li data-count=\"running\"><b>{running}</b> running</li><li data-count=\"other\"><b>{}</b> other assets</li></ul>",
        r.dependents.len(),
        r.other_dependents.len()
    );
    let _ = writeln!(
        b,
        "<h2 id=\"impact\">Dependent recipes ({})</h2>",
        r.dependents.len()
    );
    if !r.dependents.is_empty() {
        let rows: Vec<ImpactRow<'_>> = r
            .dependents
            .iter()
            .map(|d| ImpactRow {
                recipe: &d.recipe,
                severity: "affected",
                running: Some(d.running),
                in_package: None,
                via: &d.via,
                detail: d.uses.join(", "),
            })
            .collect();
        impact_tables(&mut b, &rows, "uses");
    }
    if !r.other_dependents.is_empty() {
        let _ = writeln!(
            b,
            "<h2>Other dependent assets ({})</h2>\n<table><thead><tr><th>asset</th><th>chain</th></tr></thead><tbody>",
            r.other_dependents.len()
        );
        for d in &r.other_dependents {
            let _ = writeln!(
                b,
                "<tr><td>{}</td><td>{}</td></tr>",
                code(&d.recipe),
                chain(&d.via)
            );
        }
        let _ = writeln!(b, "</tbody></table>");
    }
    let mut g = GraphBuilder::default();
    g.mark(&r.asset, NodeKind::Changed);
    for d in r.dependents.iter().chain(&r.other_dependents) {
        g.chain(&d.via);
        if d.running {
            g.running.insert(d.recipe.clone());
        }
    }
    for d in &r.dependents {
        g.mark(&d.recipe, NodeKind::Recipe);
    }
    let _ = writeln!(b, "<h2 id=\"graph\">Dependency graph</h2>");
    b.push_str(&g.svg());
    page(&format!("rlcm impact: {}", r.asset), &b)
}

struct ImpactRow<'a> {
    recipe: &'a str,
    severity: &'a str,
    running: Option<bool>,
    in_package: Option<bool>,
    via: &'a [String],
    detail: String,
}

fn chain(via: &[String]) -> String {
    via.iter()
        .skip(1)
        .map(|p| code(p))
        .collect::<Vec<_>>()
        .join(" → ")
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "breaking" => 0,
        "restart" => 1,
        _ => 2,
    }
}

/// The impact table three times (by severity, recipe, chain length), one shown at a time by
/// the radio buttons; the checkboxes hide rows. CSS only.
fn impact_tables(b: &mut String, rows: &[ImpactRow<'_>], detail_title: &str) {
    let has_package = rows.iter().any(|r| r.in_package.is_some());
    let _ = writeln!(b, "<form class=\"controls\" id=\"impact-controls\">");
    let _ = writeln!(b, "<span>Show:</span>");
    for sev in ["breaking", "restart", "affected"] {
        if rows.iter().any(|r| r.severity == sev) {
            let _ = writeln!(
                b,
                "<label><input type=\"checkbox\" id=\"show-{sev}\" checked> {sev}</label>"
            );
        }
    }
    let _ = writeln!(
        b,
        "<label><input type=\"checkbox\" id=\"only-running\"> only running</label>"
    );
    if has_package {
        let _ = writeln!(
            b,
            "<label><input type=\"checkbox\" id=\"only-outside\"> only recipes not in the package</label>"
        );
    }
    let _ = writeln!(b, "<span>Sort by:</span>");
    for (id, label, checked) in [
        ("sort-severity", "severity", true),
        ("sort-recipe", "recipe", false),
        ("sort-chain", "chain length", false),
    ] {
        let _ = writeln!(
            b,
            "<label><input type=\"radio\" name=\"sort\" id=\"{id}\"{}> {label}</label>",
            if checked { " checked" } else { "" }
        );
    }
    let _ = writeln!(b, "</form>");
    let mut orders: Vec<(&str, Vec<&ImpactRow<'_>>)> = Vec::new();
    let mut sev: Vec<&ImpactRow<'_>> = rows.iter().collect();
    sev.sort_by(|a, b| (severity_rank(a.severity), a.recipe).cmp(&(severity_rank(b.severity), b.recipe)));
    let mut name: Vec<&ImpactRow<'_>> = rows.iter().collect();
    name.sort_by_key(|r| r.recipe);
    let mut len: Vec<&ImpactRow<'_>> = rows.iter().collect();
    len.sort_by(|a, b| (b.via.len(), a.recipe).cmp(&(a.via.len(), b.recipe)));
    orders.push(("impact-by-severity", sev));
    orders.push(("impact-by-recipe", name));
    orders.push(("impact-by-chain", len));
    for (id, rows) in orders {
        let _ = writeln!(
            b,
            "<table class=\"impact-table\" id=\"{id}\"><thead><tr><th>severity</th><th>recipe</th><th>running</th>{}<th>chain</th><th>{}</th></tr></thead><tbody>",
            if has_package { "<th>in package</th>" } else { "" },
            esc(detail_title)
        );
        for r in rows {
            let mut classes = vec![r.severity.to_string()];
            classes.push(
                if r.running == Some(true) {
                    "running"
                } else {
                    "stopped"
                }
                .into(),
            );
            if r.in_package == Some(true) {
                classes.push("in-package".into());
            }
            let yes_no = |v: Option<bool>| if v == Some(true) { "yes" } else { "no" };
            let _ = writeln!(
                b,
                "<tr class=\"{}\" data-recipe=\"{}\" data-severity=\"{}\"><td class=\"sev {}\">{}</td><td>{}</td><td>{}</td>{}<td>{}</td><td>{}</td></tr>",
                esc(&classes.join(" ")),
                esc(r.recipe),
                esc(r.severity),
                esc(r.severity),
                esc(r.severity),
                code(r.recipe),
                yes_no(r.running),
                if has_package {
                    format!("<td>{}</td>", yes_no(r.in_package))
                } else {
                    String::new()
                },
                chain(r.via),
                esc(&r.detail)
            );
        }
        let _ = writeln!(b, "</tbody></table>");
    }
}

fn asset_diff(b: &mut String, a: &PlanAction) {
    let changes = a.changes.as_deref().unwrap_or_default();
    let _ = writeln!(
        b,
        "<details class=\"asset-diff\" data-path=\"{}\"><summary>{} {} ({} change{})</summary>\n<table class=\"changes\"><tbody>",
        esc(&a.path),
        esc(a.action.as_str()),
        code(&a.path),
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    );
    for c in changes {
        let (mark, class) = match c.kind {
            ChangeKind::Added => ("+", "added"),
            ChangeKind::Removed => ("−", "removed"),
            ChangeKind::Changed => ("~", "changed"),
            ChangeKind::Moved => ("↕", "moved"),
        };
        let value =
            |v: &Option<serde_json::Value>| v.as_ref().map(|v| code(&short_value(v))).unwrap_or_default();
        let (before, after) = if c.kind == ChangeKind::Moved {
            (String::new(), String::new())
        } else {
            (value(&c.before), value(&c.after))
        };
        let _ = writeln!(
            b,
            "<tr class=\"{class}\"><td class=\"{class}\">{mark}</td><td>{}</td><td>{before}</td><td>{after}</td></tr>",
            esc(&c.describe())
        );
    }
    let _ = writeln!(b, "</tbody></table></details>");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum NodeKind {
    /// An asset in a chain.
    Chain,
    /// A recipe reached.
    Recipe,
    /// A running recipe the import restarts.
    Restart,
    /// An asset the import changes.
    Changed,
    /// A recipe that breaks.
    Breaking,
}

impl NodeKind {
    fn class(self) -> &'static str {
        match self {
            NodeKind::Chain => "chain",
            NodeKind::Recipe => "recipe",
            NodeKind::Restart => "restart",
            NodeKind::Changed => "changed",
            NodeKind::Breaking => "breaking",
        }
    }
}

/// A node as drawn: one asset, or a folder's group of them.
struct DrawnNode {
    label: String,
    title: String,
    kind: NodeKind,
    running: bool,
    members: usize,
    group: bool,
}

/// Nodes and edges of the affected part, collected from the chains.
#[derive(Default)]
struct GraphBuilder {
    kinds: BTreeMap<String, NodeKind>,
    edges: BTreeSet<(String, String)>,
    running: BTreeSet<String>,
}

impl GraphBuilder {
    fn mark(&mut self, path: &str, kind: NodeKind) {
        let k = self.kinds.entry(path.to_string()).or_insert(kind);
        // A changed asset stays marked as changed unless it breaks.
        if kind > *k {
            *k = kind;
        }
    }

    fn chain(&mut self, via: &[String]) {
        for p in via {
            self.kinds.entry(p.clone()).or_insert(NodeKind::Chain);
        }
        for w in via.windows(2) {
            self.edges.insert((w[0].clone(), w[1].clone()));
        }
    }

    /// Groups ordinary nodes by folder when there are too many.
    fn clustered(&self) -> (Vec<DrawnNode>, Vec<(usize, usize)>, usize) {
        let keep = |k: NodeKind| matches!(k, NodeKind::Changed | NodeKind::Breaking);
        let cluster = self.kinds.len() > GRAPH_NODE_LIMIT;
        let mut nodes: Vec<DrawnNode> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut of: BTreeMap<&str, usize> = BTreeMap::new();
        let mut clustered = 0;
        for (path, &kind) in &self.kinds {
            let id = if cluster && !keep(kind) {
                clustered += 1;
                format!("folder:{}", rlcm::asset::folder_of(path))
            } else {
                format!("asset:{path}")
            };
            let i = *index.entry(id.clone()).or_insert_with(|| {
                nodes.push(DrawnNode {
                    label: String::new(),
                    title: String::new(),
                    kind,
                    running: false,
                    members: 0,
                    group: false,
                });
                nodes.len() - 1
            });
            let n = &mut nodes[i];
            n.members += 1;
            if kind > n.kind {
                n.kind = kind;
            }
            if self.running.contains(path) {
                n.running = true;
            }
            if id.starts_with("folder:") {
                let folder = rlcm::asset::folder_of(path);
                let folder = if folder.is_empty() { "(root)" } else { folder };
                n.group = true;
                n.label = format!("{folder}/ ({} assets)", n.members);
                n.title = format!(
                    "{} assets in {folder}/ (grouped: the graph has more than {GRAPH_NODE_LIMIT} nodes)",
                    n.members
                );
            } else {
                n.label = rlcm::asset::file_name(path).to_string();
                n.title = path.clone();
            }
            of.insert(path.as_str(), i);
        }
        let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new();
        for (a, b) in &self.edges {
            if let (Some(&x), Some(&y)) = (of.get(a.as_str()), of.get(b.as_str()))
                && x != y
            {
                edges.insert((x, y));
            }
        }
        (
            nodes,
            edges.into_iter().collect(),
            if cluster { clustered } else { 0 },
        )
    }

    fn svg(&self) -> String {
        let (nodes, edges, clustered) = self.clustered();
        let mut o = String::new();
        if nodes.is_empty() {
            o.push_str("<p>Nothing in production is affected.</p>\n");
            return o;
        }
        let l = layout::layered(nodes.len(), &edges);
        let _ = writeln!(
            o,
            "<div class=\"legend\"><span class=\"l-changed\">changed by the import</span><span class=\"l-breaking\">breaking</span><span class=\"l-restart\">restarted</span><span>recipe or asset in a chain (thick border: running)</span>{}</div>",
            if clustered > 0 {
                format!("<span class=\"l-cluster\">{clustered} assets grouped by folder</span>")
            } else {
                String::new()
            }
        );
        let (w, h) = l.size;
        let _ = writeln!(
            o,
            "<div class=\"graph\"><svg id=\"dependency-graph\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\" aria-label=\"dependency graph: {} nodes, {} edges\" data-nodes=\"{}\" data-edges=\"{}\">",
            nodes.len(),
            edges.len(),
            nodes.len(),
            edges.len()
        );
        let _ = writeln!(
            o,
            "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"#8c959f\"/></marker></defs>"
        );
        let half = (layout::COLUMN_WIDTH - 40.0) / 2.0;
        for (e, &(a, bn)) in edges.iter().enumerate() {
            let pts = &l.routes[e];
            if pts.len() < 2 {
                continue;
            }
            // From the dependent's left side to the dependency's right side.
            let mut d = String::new();
            let mut prev = (pts[0].0 - half, pts[0].1);
            let _ = write!(d, "M{:.1},{:.1}", prev.0, prev.1);
            for (i, p) in pts.iter().enumerate().skip(1) {
                let to = if i == pts.len() - 1 { (p.0 + half, p.1) } else { *p };
                let mx = (prev.0 + to.0) / 2.0;
                let _ = write!(
                    d,
                    " C{mx:.1},{:.1} {mx:.1},{:.1} {:.1},{:.1}",
                    prev.1, to.1, to.0, to.1
                );
                prev = to;
            }
            let hot = nodes[a].kind == NodeKind::Breaking || nodes[bn].kind == NodeKind::Breaking;
            let _ = writeln!(
                o,
                "<path class=\"edge{}\" d=\"{d}\" marker-end=\"url(#arrow)\"/>",
                if hot { " hot" } else { "" }
            );
        }
        for (i, n) in nodes.iter().enumerate() {
            let (x, y) = l.position[i];
            let (label, title) = (&n.label, &n.title);
            let mut class = vec!["node", n.kind.class()];
            if n.running {
                class.push("running");
            }
            if n.group {
                class.push("cluster");
            }
            let _ = writeln!(
                o,
                "<g class=\"{}\" data-path=\"{}\"><title>{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.0}\" height=\"22\" rx=\"4\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
                class.join(" "),
                esc(title),
                esc(title),
                x - half,
                y - 11.0,
                half * 2.0,
                x - half + 6.0,
                y + 1.0,
                esc(&fit(label, 36))
            );
        }
        let _ = writeln!(o, "</svg></div>");
        o
    }
}

/// `s` cut to `columns` display columns (CJK counts two), with an ellipsis.
fn fit(s: &str, columns: usize) -> String {
    let mut w = 0;
    let mut out = String::new();
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= columns {
        return s.to_string();
    }
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw > columns - 1 {
            break;
        }
        w += cw;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_open_markup() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn fit_counts_display_width() {
        assert_eq!(fit("注文を同期する長い名前のレシピ", 10), "注文を同…");
        assert_eq!(fit("short", 10), "short");
    }

    #[test]
    fn graphs_beyond_the_limit_group_by_folder_but_keep_breaking_ones() {
        let mut g = GraphBuilder::default();
        g.mark("c/conn.json", NodeKind::Changed);
        for i in 0..(GRAPH_NODE_LIMIT + 10) {
            let p = format!("f{}/r{i}.recipe.json", i % 7);
            g.chain(&[p.clone(), "c/conn.json".into()]);
            g.mark(
                &p,
                if i == 3 {
                    NodeKind::Breaking
                } else {
                    NodeKind::Recipe
                },
            );
        }
        let (nodes, edges, clustered) = g.clustered();
        assert!(nodes.len() <= 10, "{}", nodes.len());
        assert_eq!(clustered, GRAPH_NODE_LIMIT + 9);
        assert!(
            nodes
                .iter()
                .any(|n| n.title == "f3/r3.recipe.json" && n.kind == NodeKind::Breaking)
        );
        assert!(!edges.is_empty());
        let svg = g.svg();
        assert!(svg.contains("f3/r3.recipe.json") && svg.contains("grouped"));
    }
}
