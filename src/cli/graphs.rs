//! Graph reports as text: Graphviz dot and Mermaid.

use std::fmt::Write;

use rlcm::report::GraphReport;

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
