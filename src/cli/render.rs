//! Human and Markdown renderings of reports.

use rlcm::diag::{Code, Severity};
use std::fmt::Write;

use super::shell::style::{self, paint};
use super::table::{Cell, Table};
use rlcm::report::*;

/// Above this many assets, human `inspect` lists folders only (unless `--all`).
const LIST_LIMIT: usize = 200;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn folder_label(f: &str) -> &str {
    if f.is_empty() { "(root)" } else { f }
}

/// Renders `inspect` for people.
pub fn inspect(r: &InspectReport, all: bool) -> String {
    let mut o = String::new();
    if let Some(i) = r.integrity.as_ref().filter(|i| !i.ok) {
        let _ = writeln!(
            o,
            "WARNING: this package does not match its rlcm-package.json ({}); `rlcm verify`, `plan` and `import` refuse it:",
            plural(i.mismatches.len(), "entry", "entries")
        );
        for m in &i.mismatches {
            let _ = writeln!(o, "  {}: {}", m.entry, m.message);
        }
        o.push('\n');
    }
    let _ = writeln!(
        o,
        "{}: {} in {}",
        r.source,
        plural(r.assets.len(), "asset", "assets"),
        plural(r.folders.len(), "folder", "folders")
    );
    let _ = writeln!(o, "\nAssets by type");
    let mut t = Table::new(2).right(1);
    for (ty, n) in &r.counts {
        t.row(vec![ty.as_str().into(), n.to_string().into()]);
    }
    o.push_str(&t.render());
    if r.assets.len() <= LIST_LIMIT || all {
        let _ = writeln!(o, "\nAssets by folder (needs / used by)");
        let mut by_folder: std::collections::BTreeMap<&str, Vec<&InspectAsset>> = Default::default();
        for a in &r.assets {
            by_folder
                .entry(rlcm::asset::folder_of(&a.path))
                .or_default()
                .push(a);
        }
        for (folder, assets) in by_folder {
            let _ = writeln!(o, "  {}/", folder_label(folder));
            for a in assets {
                let _ = writeln!(
                    o,
                    "    {:<18} {}  ({} / {})",
                    a.asset_type,
                    rlcm::asset::file_name(&a.path),
                    a.depends_on,
                    a.used_by
                );
            }
        }
    } else {
        let _ = writeln!(o, "\nFolders (assets directly inside; `--all` lists every asset)");
        let mut t = Table::new(2).right(1);
        for (f, n) in &r.folders {
            t.row(vec![folder_label(f).into(), n.to_string().into()]);
        }
        o.push_str(&t.render());
    }
    let _ = writeln!(o, "\nConnectors");
    if r.connectors.is_empty() {
        let _ = writeln!(o, "  (none)");
    }
    for c in &r.connectors {
        let version = c
            .version
            .map_or("no version".to_string(), |v| format!("version {v}"));
        let note = c
            .note
            .as_deref()
            .map_or("(no note)".to_string(), |n| format!("\"{n}\""));
        let _ = writeln!(o, "  {}  {version}  {note}", c.title);
        let _ = writeln!(o, "    path:     {}", c.path);
        let _ = writeln!(o, "    actions:  {}", list_or_none(&c.actions));
        let _ = writeln!(o, "    triggers: {}", list_or_none(&c.triggers));
        if !c.providers.is_empty() {
            let _ = writeln!(o, "    used as:  {}", c.providers.join(", "));
        }
        if let Some(e) = &c.parse_error {
            let _ = writeln!(o, "    warning:  code does not parse: {e}");
        }
    }
    let dangling = r.dangling.len();
    let _ = writeln!(
        o,
        "\nReferences: {} ({} resolved, {} dangling)",
        r.references.len(),
        r.references.len() - dangling,
        dangling
    );
    for d in &r.dangling {
        let _ = writeln!(o, "  dangling: {} -> {} ({})", d.from, d.to, d.kind);
    }
    for c in &r.cycles {
        let _ = writeln!(o, "  cycle: {}", c.join(" -> "));
    }
    for f in r
        .findings
        .iter()
        .filter(|f| !matches!(f.kind, Code::DanglingReference | Code::CallCycle))
    {
        let _ = writeln!(o, "  {}: {}", f.kind, f.message);
    }
    if !r.other_files.is_empty() {
        let _ = writeln!(
            o,
            "\nOther files (not assets, never packaged): {}",
            r.other_files.join(", ")
        );
    }
    o
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

/// Renders `impact` for people.
pub fn impact(r: &ImpactReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} ({}): {} on it",
        r.asset,
        r.asset_type,
        plural(r.dependents.len(), "recipe depends", "recipes depend")
    );
    for d in &r.dependents {
        let state = if d.running { "running" } else { "stopped" };
        let _ = writeln!(o, "  {}  [{state}]", d.recipe);
        if d.via.len() > 2 {
            let _ = writeln!(o, "      via {}", d.via[1..d.via.len() - 1].join(" -> "));
        }
        if !d.uses.is_empty() {
            let _ = writeln!(o, "      uses {}", d.uses.join(", "));
        }
    }
    if !r.other_dependents.is_empty() {
        let _ = writeln!(o, "Other assets that depend on it:");
        for d in &r.other_dependents {
            let _ = writeln!(o, "  {}", d.recipe);
        }
    }
    o
}

/// Renders `impact` as Markdown.
pub fn impact_markdown(r: &ImpactReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "### Impact of `{}` ({})\n", r.asset, r.asset_type);
    if r.dependents.is_empty() {
        let _ = writeln!(o, "No recipe depends on it.");
        return o;
    }
    let _ = writeln!(o, "| recipe | running | via | uses |\n|---|---|---|---|");
    for d in &r.dependents {
        let via = d
            .via
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(" → ");
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} |",
            d.recipe,
            if d.running { "yes" } else { "no" },
            via,
            d.uses.join(", ")
        );
    }
    o
}

fn opt(v: Option<u64>) -> String {
    v.map_or("-".to_string(), |v| v.to_string())
}

/// Renders `init`.
pub fn init(r: &InitReport) -> String {
    let mut o = format!(
        "Initialised environment `{}` (id {}) at {}: {}.\n",
        r.name,
        r.id,
        r.root,
        plural(r.assets, "asset", "assets")
    );
    for c in &r.connectors {
        let _ = writeln!(
            o,
            "  connector `{}`: history starts at version {} (released), provider {}{}",
            c.title,
            c.version,
            c.provider,
            if c.minted { " (minted)" } else { "" }
        );
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {}", w.message);
    }
    o
}

/// Renders `connector list`.
pub fn connector_list(r: &ConnectorListReport) -> String {
    if r.connectors.is_empty() {
        return "No custom connectors.\n".into();
    }
    let mut t = Table::new(0).right(1).right(2).right(3);
    t.row(vec![
        "connector".into(),
        "latest".into(),
        "released".into(),
        "shared".into(),
        "".into(),
    ]);
    for c in &r.connectors {
        t.row(vec![
            c.title.as_str().into(),
            opt(c.latest).into(),
            opt(c.released).into(),
            opt(c.shared).into(),
            Cell::styled(
                if c.uncommitted {
                    "(uncommitted edits in the tree)"
                } else {
                    ""
                },
                style::WARN,
            ),
        ]);
    }
    t.render()
}

/// Renders `connector versions`.
pub fn connector_versions(r: &ConnectorVersionsReport) -> String {
    let mut o = format!(
        "{}: latest {}, released {}, shared {}\n",
        r.title,
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
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", flags.join(", "))
        };
        let _ = writeln!(o, "\nversion {}{flags}", v.version);
        let _ = writeln!(o, "  note:     {}", v.note.as_deref().unwrap_or("(none)"));
        let _ = writeln!(
            o,
            "  created:  {} by {} ({})",
            v.created_at, v.created_by, v.origin
        );
        if let (Some(at), Some(by)) = (&v.released_at, &v.released_by) {
            let _ = writeln!(o, "  released: {at} by {by}");
        }
        let _ = writeln!(o, "  actions:  {}", list_or_none(&v.actions));
        let _ = writeln!(o, "  triggers: {}", list_or_none(&v.triggers));
    }
    o
}

/// Renders a connector change.
pub fn connector_change(r: &ConnectorChangeReport) -> String {
    let mut o = String::new();
    if let Some(v) = r.autosaved {
        let _ = writeln!(o, "Saved the tree's unsaved edits as version {v} first.");
    }
    let _ = writeln!(o, "{}", r.message);
    if !r.breaking.is_empty() {
        let _ = writeln!(
            o,
            "Warning: forced past recipes that use what this version lacks:"
        );
        for b in &r.breaking {
            let _ = writeln!(
                o,
                "  {} uses {} `{}` (steps {:?})",
                b.recipe, b.kind, b.name, b.steps
            );
        }
    }
    unattributed(&mut o, &r.unattributed, "this release");
    let _ = writeln!(
        o,
        "Now: latest {}, released {}, shared {}.",
        opt(r.latest),
        opt(r.released),
        opt(r.shared)
    );
    o
}

/// The uses rlcm cannot attribute to any connector, said plainly (a release check cannot
/// vouch for them).
fn unattributed(o: &mut String, uses: &[rlcm::report::UnattributedUse], what: &str) {
    if uses.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "Warning: {} use(s) of provider names that look like a custom connector's but match none here; rlcm cannot tell whether {what} breaks them:",
        uses.len()
    );
    for u in uses {
        let _ = writeln!(o, "  {} uses provider `{}`", u.recipe, u.provider);
    }
    let _ = writeln!(
        o,
        "  (bind each such step's connection with `custom: true` to its connector, or check those recipes by hand)"
    );
}

/// Renders `connector diff`.
pub fn connector_diff(r: &ConnectorDiffReport) -> String {
    let mut o = String::new();
    let line = |o: &mut String, what: &str, items: &[String]| {
        if !items.is_empty() {
            let _ = writeln!(o, "{what}: {}", items.join(", "));
        }
    };
    line(&mut o, "actions added", &r.actions_added);
    line(&mut o, "actions removed", &r.actions_removed);
    line(&mut o, "triggers added", &r.triggers_added);
    line(&mut o, "triggers removed", &r.triggers_removed);
    if o.is_empty() {
        o.push_str("actions and triggers: unchanged\n");
    }
    o.push('\n');
    o.push_str(if r.diff.is_empty() {
        "code: identical\n"
    } else {
        &r.diff
    });
    o
}

/// Renders `connector check`.
pub fn connector_check(r: &ConnectorCheckReport) -> String {
    let mut o = String::new();
    let version = if r.version == "tree" {
        "The tree's code".to_string()
    } else {
        format!("Version {}", r.version)
    };
    if let Some(e) = &r.parse_error {
        let _ = writeln!(o, "{version} of `{}` does not parse: {e}", r.title);
    }
    if r.breaking.is_empty() {
        if r.parse_error.is_none() && r.unattributed.is_empty() {
            let _ = writeln!(o, "{version} of `{}` breaks no recipe here.", r.title);
        } else if r.parse_error.is_none() {
            let _ = writeln!(
                o,
                "{version} of `{}` breaks no recipe that rlcm can attribute to it.",
                r.title
            );
        }
        unattributed(&mut o, &r.unattributed, "it");
    } else {
        let _ = writeln!(
            o,
            "Releasing {} of `{}` would break:",
            version.to_lowercase(),
            r.title
        );
        for b in &r.breaking {
            let running = if b.running { " (running)" } else { "" };
            let _ = writeln!(
                o,
                "  {}{running}: {} `{}` at steps {:?}",
                b.recipe, b.kind, b.name, b.steps
            );
        }
        unattributed(&mut o, &r.unattributed, "it");
    }
    o
}

/// Renders a recipe list.
pub fn recipes(r: &RecipeListReport) -> String {
    let mut o = String::new();
    for x in &r.recipes {
        let state = if x.running { "running" } else { "stopped" };
        let _ = writeln!(o, "{state:<8} {}", x.path);
    }
    if r.recipes.is_empty() {
        o.push_str("No recipes.\n");
    }
    o
}

/// Renders `watch start`, `stop` and `status`.
pub fn watch(r: &WatchReport) -> String {
    let what = match r.action.as_str() {
        "status" => String::new(),
        a => format!("{a}: "),
    };
    if !r.running {
        return format!(
            "{what}no watcher runs for {} (read-only commands walk the tree)\n",
            r.environment
        );
    }
    let index = if r.index_vouched {
        "the production index is in its live epoch: `impact` and `connector check` answer without walking the tree"
    } else {
        "the next `impact` or `connector check` walks the tree once and records the watcher's epoch in the production index"
    };
    format!(
        "{what}a watcher runs for {} ({})\n{index}\n",
        r.environment, r.socket
    )
}

/// Renders `check`.
pub fn check(r: &CheckReport) -> String {
    let mut o = String::new();
    if let Some(l) = &r.recovered {
        let _ = writeln!(o, "Finished an interrupted write ({l}).");
    }
    for f in &r.findings {
        let _ = writeln!(o, "{}[{}] {}: {}", f.severity, f.kind, f.path, f.message);
    }
    let errors = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = r.findings.len() - errors;
    let _ = writeln!(
        o,
        "{}: {}, {}",
        if r.ok { "ok" } else { "problems found" },
        plural(errors, "error", "errors"),
        plural(warnings, "warning", "warnings")
    );
    o
}

/// Actions and triggers together, comma-separated.
fn both(actions: &[String], triggers: &[String]) -> String {
    actions
        .iter()
        .chain(triggers)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders `export`.
pub fn export(r: &rlcm::ops::export::ExportReport) -> String {
    let mut o = format!(
        "Wrote {} ({} assets, {} bytes){}.\n",
        r.package,
        r.assets.len(),
        r.bytes,
        r.digest
            .as_deref()
            .map(|d| format!(", digest {}", &d[..16.min(d.len())]))
            .unwrap_or_default()
    );
    for a in &r.assets {
        let why = if a.included_because == "selected" {
            "selected".to_string()
        } else {
            format!("needed by {}", a.included_because)
        };
        let _ = writeln!(o, "  {:<18} {}  ({why})", a.asset_type, a.path);
    }
    for c in &r.connectors {
        let _ = writeln!(
            o,
            "Connector `{}`: carries released version {}{}",
            c.title,
            c.version,
            c.note.as_deref().map(|n| format!(" \"{n}\"")).unwrap_or_default()
        );
    }
    for s in &r.secrets_stripped {
        let _ = writeln!(o, "Removed secret-looking field `{}` from {}", s.field, s.path);
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}

/// Renders `history`.
pub fn history(r: &HistoryReport) -> String {
    if r.imports.is_empty() {
        return "No imports yet.\n".into();
    }
    let mut t = Table::new(0);
    for i in &r.imports {
        let counts = i
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rolled = i
            .rolled_back_at
            .as_deref()
            .map(|t| format!("  [rolled back {t}]"))
            .unwrap_or_default();
        t.row(vec![
            format!("#{}", i.id).into(),
            i.at.as_str().into(),
            i.user.as_str().into(),
            rlcm::report::short_digest(&i.package_digest).into(),
            format!("{counts}{rolled}").into(),
        ]);
    }
    t.render()
}

fn severity_label(s: &str) -> &str {
    match s {
        "breaking" => "BREAKING",
        "restart" => "restart",
        _ => "affected",
    }
}

/// The plan's connector section.
fn plan_connectors(o: &mut String, r: &PlanReport) {
    if !r.connectors.is_empty() {
        let _ = writeln!(o, "Connectors");
        for c in &r.connectors {
            let note = c.note.as_deref().map(|n| format!(" \"{n}\"")).unwrap_or_default();
            let line = match c.action.as_str() {
                "create" => format!("new connector, version {} released{note}", opt(c.to_version)),
                "new_version" => format!(
                    "new version {} released at once (was released {}){note}; shared version untouched",
                    opt(c.to_version),
                    opt(c.from_version)
                ),
                _ => format!("no change (code equals released version {})", opt(c.from_version)),
            };
            let _ = writeln!(o, "  {}: {line}", c.title);
            if let Some(p) = &c.package_provider
                && p != &c.target_provider
            {
                let _ = writeln!(o, "    provider {p} -> {}", c.target_provider);
            }
            if !c.actions_removed.is_empty() || !c.triggers_removed.is_empty() {
                let _ = writeln!(
                    o,
                    "    removes: {}",
                    paint(style::BAD, &both(&c.actions_removed, &c.triggers_removed))
                );
            }
            if !c.actions_added.is_empty() || !c.triggers_added.is_empty() {
                let _ = writeln!(
                    o,
                    "    adds:    {}",
                    paint(style::GOOD, &both(&c.actions_added, &c.triggers_added))
                );
            }
        }
        o.push('\n');
    }
}

/// The plan's impact lines, one per affected production recipe.
fn plan_impact(o: &mut String, r: &PlanReport) {
    for e in &r.impact {
        let mut tags = Vec::new();
        if e.running {
            tags.push("running");
        }
        if e.in_package {
            tags.push("in package");
        } else {
            tags.push("not in package");
        }
        let _ = writeln!(
            o,
            "  {} {}  [{}]",
            paint(
                style::severity(e.severity.as_str()),
                &format!("{:<9}", severity_label(e.severity.as_str()))
            ),
            e.recipe,
            tags.join(", ")
        );
        if !e.missing.is_empty() {
            let _ = writeln!(
                o,
                "            uses what the incoming version lacks: {}",
                e.missing.join(", ")
            );
        }
        if e.via.len() > 1 {
            let _ = writeln!(o, "            via {}", e.via[1..].join(" -> "));
        }
    }
}

/// Renders a plan (or an import's result) for a reviewer.
pub fn plan(r: &PlanReport) -> String {
    let mut o = String::new();
    let head = if r.applied {
        format!(
            "Imported {} into {} (import #{})",
            r.package,
            r.target,
            r.import_id.unwrap_or(0)
        )
    } else {
        format!("Plan: import {} into {}", r.package, r.target)
    };
    let _ = writeln!(o, "{head}\n");
    plan_connectors(&mut o, r);
    let _ = writeln!(o, "Assets");
    let mut sorted: Vec<&PlanAction> = r.actions.iter().collect();
    sorted.sort_by_key(|a| (a.action, a.path.clone()));
    let quiet_limit = 40;
    let mut no_change = 0;
    let mut t = Table::new(2);
    for a in &sorted {
        if a.action == "no_change" && r.actions.len() > quiet_limit {
            no_change += 1;
            continue;
        }
        let mut notes: Vec<&str> = a.detail.iter().map(String::as_str).collect();
        notes.extend(
            a.reasons
                .iter()
                .map(String::as_str)
                .filter(|r| Some(*r) != a.detail.as_deref()),
        );
        let detail = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join("; "))
        };
        let st = match a.action.as_str() {
            "conflict" => style::BAD,
            "update_running" => style::WARN,
            _ => anstyle::Style::new(),
        };
        t.row(vec![
            Cell::styled(a.action.as_str(), st),
            a.asset_type.as_str().into(),
            format!("{}{detail}", a.path).into(),
        ]);
    }
    o.push_str(&t.render());
    if no_change > 0 {
        let _ = writeln!(o, "  ... and {no_change} unchanged (see --format json)");
    }
    let _ = writeln!(
        o,
        "\nImpact on production: {}",
        plural(r.impact.len(), "recipe", "recipes")
    );
    plan_impact(&mut o, r);
    for w in &r.warnings {
        let _ = writeln!(o, "\nwarning: {w}");
    }
    let counts = r
        .counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(o, "\nSummary: {counts}");
    if r.blocked {
        let _ = writeln!(
            o,
            "\n{}: the import would be refused:",
            paint(style::BAD, "BLOCKED")
        );
        for b in &r.blockers {
            let _ = writeln!(o, "  {}: {}", b.kind, b.message);
        }
    } else if r.applied {
        let _ = writeln!(o, "{}", paint(style::GOOD, "Applied."));
    } else if r
        .actions
        .iter()
        .all(|a| a.action == "no_change" || a.action == "keep")
    {
        let _ = writeln!(o, "Nothing to change.");
    } else {
        let _ = writeln!(
            o,
            "{}: `rlcm import` with these flags would apply it.",
            paint(style::GOOD, "Not blocked")
        );
    }
    o
}

/// Renders a plan as Markdown (CI summaries, pull-request comments).
pub fn plan_markdown(r: &PlanReport) -> String {
    let mut o = String::new();
    let status = if r.blocked {
        "⛔ blocked"
    } else if r.applied {
        "✅ applied"
    } else {
        "✅ ready"
    };
    let _ = writeln!(o, "## rlcm plan: {status}\n");
    let _ = writeln!(o, "Package `{}` → `{}`\n", r.package, r.target);
    let counts = r
        .counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(o, "**Actions:** {counts}\n");
    if r.blocked {
        let _ = writeln!(o, "### Blockers\n");
        for b in &r.blockers {
            let _ = writeln!(
                o,
                "- **{}** `{}`: {}",
                b.kind,
                b.path,
                b.message.replace('\n', " ")
            );
        }
        o.push('\n');
    }
    if !r.connectors.is_empty() {
        let _ = writeln!(
            o,
            "### Connectors\n\n| connector | action | from | to | note | removes | adds |\n|---|---|---|---|---|---|---|"
        );
        for c in &r.connectors {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                c.title,
                c.action,
                opt(c.from_version),
                opt(c.to_version),
                c.note.as_deref().unwrap_or(""),
                both(&c.actions_removed, &c.triggers_removed),
                both(&c.actions_added, &c.triggers_added)
            );
        }
        o.push('\n');
    }
    let _ = writeln!(o, "### Impact on production ({})\n", r.impact.len());
    if !r.impact.is_empty() {
        let _ = writeln!(
            o,
            "| severity | recipe | running | in package | via | missing |\n|---|---|---|---|---|---|"
        );
        for e in &r.impact {
            let _ = writeln!(
                o,
                "| {} | `{}` | {} | {} | {} | {} |",
                severity_label(e.severity.as_str()),
                e.recipe,
                if e.running { "yes" } else { "no" },
                if e.in_package { "yes" } else { "no" },
                e.via
                    .iter()
                    .skip(1)
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(" → "),
                e.missing.join(", ")
            );
        }
        o.push('\n');
    }
    let _ = writeln!(
        o,
        "<details><summary>Assets ({})</summary>\n\n| action | type | path | why |\n|---|---|---|---|",
        r.actions.len()
    );
    for a in &r.actions {
        let _ = writeln!(
            o,
            "| {} | {} | `{}` | {} |",
            a.action,
            a.asset_type,
            a.path,
            a.reasons.join("; ").replace('|', "\\|")
        );
    }
    let _ = writeln!(o, "\n</details>");
    o
}

/// Renders a verify report for people: one line per mismatch, then a summary.
pub fn verify(report: &rlcm::package::VerifyReport) -> String {
    let mut o = String::new();
    for m in &report.mismatches {
        let _ = writeln!(o, "{}: {} {}", m.problem, m.entry, m.message);
    }
    let verdict = match (report.ok, report.verified) {
        (true, true) => "verified",
        (true, false) => "readable, not verifiable",
        (false, _) => "FAILED",
    };
    let _ = writeln!(o, "{}: {verdict}: {}.", report.package, report.note);
    if let Some(d) = &report.digest {
        let _ = writeln!(o, "digest {d}");
    }
    o
}
