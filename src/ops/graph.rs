//! `rlcm graph`: the dependency graph as JSON, Graphviz dot or Mermaid.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write;

use crate::asset::AssetType;
use crate::graph::DepGraph;
use crate::report::*;
use crate::workspace::{Target, Workspace};

/// Builds the graph report; with `focus`, only that asset, what it needs and what needs it.
pub fn graph(ws: &Workspace, focus: Option<usize>) -> GraphReport {
    let g = DepGraph::build(ws);
    let keep: Option<HashSet<usize>> = focus.map(|f| {
        let mut set: HashSet<usize> = HashSet::from([f]);
        set.extend(g.closure(&[f]).into_iter().map(|(i, _)| i));
        set.extend(g.dependents(&[f]).into_iter().map(|d| d.asset));
        set
    });
    let kept = |i: usize| keep.as_ref().is_none_or(|k| k.contains(&i));
    let mut nodes: Vec<GraphNode> = ws
        .assets
        .iter()
        .enumerate()
        .filter(|(i, _)| kept(*i))
        .map(|(_, a)| GraphNode {
            path: a.path.clone(),
            asset_type: a.asset_type.as_str().to_string(),
            name: a.name.clone(),
            missing: false,
        })
        .collect();
    let mut edges: Vec<GraphEdge> = g
        .edges()
        .filter(|(f, t, _)| kept(*f) && kept(*t))
        .map(|(f, t, kind)| GraphEdge {
            from: ws.assets[f].path.clone(),
            to: ws.assets[t].path.clone(),
            kind: kind.to_string(),
        })
        .collect();
    let mut missing = BTreeSet::new();
    for r in &ws.references {
        if let Target::Dangling(to) = &r.to
            && kept(r.from)
        {
            missing.insert(to.clone());
            edges.push(GraphEdge {
                from: ws.assets[r.from].path.clone(),
                to: to.clone(),
                kind: r.kind.to_string(),
            });
        }
    }
    for m in missing {
        let path_part = m.split('#').next().unwrap_or(&m);
        nodes.push(GraphNode {
            asset_type: AssetType::of_path(path_part)
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| "unknown".into()),
            name: m.rsplit(['/', '#']).next().unwrap_or(&m).to_string(),
            path: m,
            missing: true,
        });
    }
    edges.sort_by(|a, b| (&a.from, &a.to, &a.kind).cmp(&(&b.from, &b.to, &b.kind)));
    edges.dedup_by(|a, b| a.from == b.from && a.to == b.to && a.kind == b.kind);
    GraphReport {
        format_version: FORMAT_VERSION,
        nodes,
        edges,
    }
}

/// A DOT quoted string: backslashes and quotes escaped, newlines as `\n`.
fn quote_dot(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Mermaid label: every character Mermaid gives a meaning (`#`, quotes, `<`, `>`, `&`,
/// backslashes, and `|` in edge labels) as an entity code.
fn mermaid_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '\\' => out.push_str("#92;"),
            '|' => out.push_str("#124;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Renders the graph as Graphviz dot.
pub fn to_dot(report: &GraphReport) -> String {
    let mut out = String::from("digraph rlcm {\n  rankdir=LR;\n  node [shape=box, fontsize=10];\n");
    for n in &report.nodes {
        let shape = match n.asset_type.as_str() {
            "recipe" => "box",
            "connection" => "ellipse",
            "custom_adapter" => "component",
            _ => "note",
        };
        let style = if n.missing {
            ", style=dashed, color=red"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} [label={}, shape={shape}{style}];",
            quote_dot(&n.path),
            quote_dot(&format!("{}\n{}", n.name, n.asset_type))
        );
    }
    for e in &report.edges {
        let _ = writeln!(
            out,
            "  {} -> {} [label={}];",
            quote_dot(&e.from),
            quote_dot(&e.to),
            quote_dot(&e.kind)
        );
    }
    out.push_str("}\n");
    out
}

/// Renders the graph as a Mermaid flowchart.
pub fn to_mermaid(report: &GraphReport) -> String {
    let ids: std::collections::HashMap<&str, String> = report
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.path.as_str(), format!("n{i}")))
        .collect();
    let label = mermaid_label;
    let mut out = String::from("flowchart LR\n");
    for n in &report.nodes {
        let text = format!("{}<br/>{}", label(&n.name), label(&n.asset_type));
        let (open, close) = match n.asset_type.as_str() {
            "recipe" => ("[\"", "\"]"),
            "connection" => ("([\"", "\"])"),
            "custom_adapter" => ("[[\"", "\"]]"),
            _ => ("[/\"", "\"/]"),
        };
        let _ = writeln!(out, "  {}{open}{text}{close}", ids[n.path.as_str()]);
        if n.missing {
            let _ = writeln!(
                out,
                "  style {} stroke-dasharray: 5 5,stroke:#c00",
                ids[n.path.as_str()]
            );
        }
    }
    for e in &report.edges {
        if let (Some(f), Some(t)) = (ids.get(e.from.as_str()), ids.get(e.to.as_str())) {
            let _ = writeln!(out, "  {f} -->|{}| {t}", label(&e.kind));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_escape_what_dot_and_mermaid_give_a_meaning() {
        assert_eq!(quote_dot("a\"b\\c\nd <&>"), "\"a\\\"b\\\\c\\nd <&>\"");
        assert_eq!(
            mermaid_label("x #1 <\"y\"> & \\ |"),
            "x #35;1 #lt;#quot;y#quot;#gt; #amp; #92; #124;"
        );
    }
}
