//! Human and Markdown renderings of reports.

use std::fmt::Write;

use crate::report::*;

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
    let _ = writeln!(
        o,
        "{}: {} in {}",
        r.source,
        plural(r.assets.len(), "asset", "assets"),
        plural(r.folders.len(), "folder", "folders")
    );
    let _ = writeln!(o, "\nAssets by type");
    for (t, n) in &r.counts {
        let _ = writeln!(o, "  {t:<20} {n:>7}");
    }
    if r.assets.len() <= LIST_LIMIT || all {
        let _ = writeln!(o, "\nAssets by folder (needs / used by)");
        let mut by_folder: std::collections::BTreeMap<&str, Vec<&InspectAsset>> = Default::default();
        for a in &r.assets {
            by_folder
                .entry(crate::asset::folder_of(&a.path))
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
                    crate::asset::file_name(&a.path),
                    a.depends_on,
                    a.used_by
                );
            }
        }
    } else {
        let _ = writeln!(o, "\nFolders (assets directly inside; `--all` lists every asset)");
        for (f, n) in &r.folders {
            let _ = writeln!(o, "  {:<40} {n:>7}", folder_label(f));
        }
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
        .filter(|f| f.kind != "dangling-reference" && f.kind != "call-cycle")
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
        "{} ({}): {} depend on it",
        r.asset,
        r.asset_type,
        plural(r.dependents.len(), "recipe", "recipes")
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
