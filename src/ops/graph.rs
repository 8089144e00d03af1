//! `rlcm graph`: the dependency graph as JSON, Graphviz dot or Mermaid.

use std::collections::{BTreeSet, HashSet};

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
