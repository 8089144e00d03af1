//! `rlcm inspect`: what a package or tree holds.

use crate::istr::IStr;
use std::collections::BTreeMap;

use crate::asset::AssetType;
use crate::graph::DepGraph;
use crate::report::*;
use crate::workspace::{Target, Workspace};

/// Builds the inspect report of a loaded workspace; `source` names it.
pub fn inspect(ws: &Workspace, source: &str) -> InspectReport {
    let graph = DepGraph::build(ws);
    let mut depends_on = vec![0usize; ws.assets.len()];
    let mut used_by = vec![0usize; ws.assets.len()];
    for (from, to, _) in graph.edges() {
        depends_on[from] += 1;
        used_by[to] += 1;
    }
    let mut counts = BTreeMap::new();
    let mut folders = BTreeMap::new();
    for a in &ws.assets {
        *counts.entry(a.asset_type.as_str().to_string()).or_insert(0) += 1;
        *folders
            .entry(crate::asset::folder_of(&a.path).to_string())
            .or_insert(0) += 1;
    }
    let assets = ws
        .assets
        .iter()
        .enumerate()
        .map(|(i, a)| InspectAsset {
            path: a.path.clone(),
            asset_type: a.asset_type.as_str().to_string(),
            name: a.name.clone(),
            size: a.size,
            depends_on: depends_on[i],
            used_by: used_by[i],
        })
        .collect();
    let mut findings: Vec<Finding> = ws
        .tree_warnings()
        .into_iter()
        .map(|w| Finding {
            kind: w.code,
            path: w.path,
            message: w.message,
        })
        .collect();
    // Assets that are not what their type says: read tolerantly, reported.
    for a in &ws.assets {
        for f in &a.summary.invalid {
            findings.push(Finding {
                kind: crate::diag::Code::InvalidAsset,
                path: a.path.clone(),
                message: format!("`{}`: {}", a.path, f.describe(&a.asset_type)),
            });
        }
    }
    let connectors = connectors(ws, &mut findings);
    let references: Vec<ReferenceEntry> = ws.references.iter().map(|r| reference_entry(ws, r)).collect();
    let dangling: Vec<DanglingEntry> = references
        .iter()
        .filter(|r| r.dangling)
        .map(|r| DanglingEntry {
            from: r.from.to_string(),
            to: r.to.to_string(),
            kind: r.kind.to_string(),
        })
        .collect();
    for d in &dangling {
        findings.push(Finding {
            kind: crate::diag::Code::DanglingReference,
            path: d.from.clone(),
            message: ws.describe_dangling(&d.from, &d.to, &d.kind),
        });
    }
    for p in &ws.orphan_files {
        findings.push(Finding {
            kind: crate::diag::Code::OrphanConnectorFile,
            path: p.clone(),
            message: format!("`{p}` has no `.custom_adapter.json` beside it and is ignored"),
        });
    }
    let cycles: Vec<Vec<String>> = graph
        .cycles()
        .into_iter()
        .map(|c| c.into_iter().map(|i| ws.assets[i].path.clone()).collect())
        .collect();
    for c in &cycles {
        findings.push(Finding {
            kind: crate::diag::Code::CallCycle,
            path: c[0].clone(),
            message: format!("dependency cycle: {}", c.join(" → ")),
        });
    }
    InspectReport {
        format_version: FORMAT_VERSION,
        source: source.to_string(),
        assets,
        counts,
        folders,
        connectors,
        references,
        dangling,
        cycles,
        other_files: ws.other_files.clone(),
        findings,
        integrity: None,
    }
}

/// The connectors of the tree, with a finding for each whose Ruby does not parse.
fn connectors(ws: &Workspace, findings: &mut Vec<Finding>) -> Vec<InspectConnector> {
    ws.assets
        .iter()
        .enumerate()
        .filter(|(_, a)| a.asset_type == AssetType::CustomAdapter)
        .map(|(i, a)| {
            let c = a.connector.clone().unwrap_or_default();
            if let Some(err) = &c.definition.parse_error {
                findings.push(Finding {
                    kind: crate::diag::Code::ConnectorParseError,
                    path: c.code_path.clone().unwrap_or_else(|| a.path.clone()),
                    message: format!("connector `{}`: the Ruby source does not parse: {err}", a.name),
                });
            }
            InspectConnector {
                title: a.name.clone(),
                path: a.path.clone(),
                version: a.summary.version_no,
                note: a.summary.note.clone(),
                actions: c.definition.actions.clone(),
                triggers: c.definition.triggers.clone(),
                code: c.code_path.clone(),
                logo: c.logo_path.clone(),
                providers: ws
                    .providers
                    .iter()
                    .filter(|(_, t)| **t == i)
                    .map(|(p, _)| p.to_string())
                    .collect(),
                parse_error: c.definition.parse_error.clone(),
            }
        })
        .collect()
}

/// The report form of a reference.
pub(crate) fn reference_entry(ws: &Workspace, r: &crate::workspace::Reference) -> ReferenceEntry {
    // Paths are interned: an asset named by a thousand references is one string in the report.
    let (to, dangling) = match &r.to {
        Target::Asset(t) => (IStr::new(&ws.assets[*t].path), false),
        Target::Dangling(p) => (IStr::new(p), true),
    };
    ReferenceEntry {
        from: IStr::new(&ws.assets[r.from].path),
        to,
        kind: r.kind.clone(),
        dangling,
        property: r.property.clone(),
        provider: r.provider.clone(),
    }
}
