//! `inspect`, `graph` and `impact` through the CLI: every file, folder and zip of the realworld
//! corpus, every output format, JSON validated against `schemas/`.

use crate::common;

use common::*;

#[test]
fn inspect_and_graph_run_cleanly_on_every_realworld_path() {
    let mut paths: Vec<std::path::PathBuf> = walkdir::WalkDir::new(realworld_root())
        .into_iter()
        .map(|e| e.unwrap().path().to_path_buf())
        .collect();
    paths.sort();
    assert!(paths.len() > 40);
    for p in &paths {
        let s = p.to_str().unwrap();
        let v = rlcm_json("inspect", &["inspect", s, "--format", "json"]);
        let out = rlcm(&["inspect", s]);
        assert!(out.status.success(), "{s}: {}", stderr(&out));
        let g = rlcm_json("graph", &["graph", s, "--format", "json"]);
        // Every edge joins two nodes; every dangling reference of inspect is a missing node.
        let nodes: std::collections::BTreeSet<&str> = g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["path"].as_str().unwrap())
            .collect();
        for e in g["edges"].as_array().unwrap() {
            assert!(
                nodes.contains(e["from"].as_str().unwrap()) && nodes.contains(e["to"].as_str().unwrap()),
                "{s}: {e}"
            );
        }
        for d in v["dangling"].as_array().unwrap() {
            assert!(nodes.contains(d["to"].as_str().unwrap()), "{s}: {d}");
        }
        for fmt in ["dot", "mermaid"] {
            let out = rlcm(&["graph", s, "--format", fmt]);
            assert!(out.status.success(), "{s} {fmt}: {}", stderr(&out));
        }
    }
}

#[test]
fn graph_formats_and_focus() {
    let prod = testdata("production");
    let p = prod.to_str().unwrap();
    let full = rlcm_json("graph", &["graph", p, "--format", "json"]);
    let focus = rlcm_json(
        "graph",
        &[
            "graph",
            p,
            "--focus",
            "shared/lookup_customer.recipe.json",
            "--format",
            "json",
        ],
    );
    let n = |v: &serde_json::Value| v["nodes"].as_array().unwrap().len();
    assert!(n(&focus) < n(&full));
    let names: Vec<&str> = focus["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["path"].as_str().unwrap())
        .collect();
    // What it needs (the connector) and who needs it (the chain up to the weekly report).
    for want in [
        "acme_crm.custom_adapter.json",
        "shared/normalize_address.recipe.json",
        "prod-only/weekly_report.recipe.json",
        "shared/lookup_customer.recipe.json",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    let dot = stdout(&rlcm(&["graph", p, "--format", "dot"]));
    assert!(dot.starts_with("digraph rlcm {") && dot.contains("\"orders/sync_orders.recipe.json\" -> \"shared/enrich_order.recipe.json\" [label=\"flow_id\"]"), "{dot}");
    let mermaid = stdout(&rlcm(&["graph", p, "--format", "mermaid"]));
    assert!(mermaid.starts_with("flowchart LR") && mermaid.contains("-->|flow_id|"));
    let broken = testdata("broken");
    let g = rlcm_json("graph", &["graph", broken.to_str().unwrap(), "--format", "json"]);
    assert!(
        g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["missing"] == true)
    );
    let i = rlcm_json(
        "inspect",
        &["inspect", broken.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(
        i["cycles"],
        serde_json::json!([[
            "cycle/cycle_a.recipe.json",
            "cycle/cycle_b.recipe.json",
            "cycle/cycle_a.recipe.json"
        ]])
    );
}

#[test]
fn impact_follows_chains_and_names_uses() {
    let prod = testdata("production");
    let v = rlcm_json(
        "impact",
        &[
            "impact",
            "Acme CRM",
            "--env",
            prod.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(v["asset"], "acme_crm.custom_adapter.json");
    let deps = v["dependents"].as_array().unwrap();
    let legacy = deps
        .iter()
        .find(|d| d["recipe"] == "prod-only/legacy_nightly_export.recipe.json")
        .unwrap();
    assert_eq!(legacy["uses"], serde_json::json!(["action:legacy_export"]));
    let weekly = deps
        .iter()
        .find(|d| d["recipe"] == "prod-only/weekly_report.recipe.json")
        .unwrap();
    assert_eq!(
        weekly["via"].as_array().unwrap().first().unwrap(),
        "prod-only/weekly_report.recipe.json"
    );
    assert_eq!(
        weekly["via"].as_array().unwrap().last().unwrap(),
        "acme_crm.custom_adapter.json"
    );
    assert!(
        v["other_dependents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["recipe"] == "api/get_order_status.api_endpoint.json")
    );
    // Unknown assets are an error naming them.
    let out = rlcm(&["impact", "nope", "--env", prod.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("`nope`"));
    let md = stdout(&rlcm(&[
        "impact",
        "Acme CRM",
        "--env",
        prod.to_str().unwrap(),
        "--format",
        "markdown",
    ]));
    assert!(md.contains("| recipe | running | via | uses |"));
}
