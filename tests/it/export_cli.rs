//! `rlcm export` and `rlcm verify`, end to end: the closure, released connector versions,
//! no secrets, byte-identical packages, tamper detection, realworld round trips.

use crate::common;

use std::io::Read;
use std::path::Path;

use common::*;

const SECRETS: [&str; 2] = ["s3cr3t-sandbox-value", "AKIA-EXAMPLE-DO-NOT-SHIP"];

/// Every entry of a zip, decompressed.
fn entries(zip: &Path) -> Vec<(String, Vec<u8>)> {
    let mut a = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    (0..a.len())
        .map(|i| {
            let mut f = a.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().to_string(), b)
        })
        .collect()
}

fn export_json(env: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "export",
        "--env",
        env.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    json("export", &args)
}

#[test]
fn manifest_selects_closure_with_reasons_and_strips_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = env_copy(dir.path(), "sandbox", "1100000001");
    let pkg = dir.path().join("orders.zip");
    let manifest = testdata("orders-release.yaml");
    let out = run(&[
        "export",
        "--env",
        sandbox.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "-o",
        pkg.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let text = ok(&out);
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    validate("export", &r);
    let assets = r["assets"].as_array().unwrap();
    let why = |p: &str| {
        assets
            .iter()
            .find(|a| a["path"] == p)
            .map(|a| a["included_because"].as_str().unwrap().to_string())
    };
    assert_eq!(why("orders/sync_orders.recipe.json").as_deref(), Some("selected"));
    // Excluded by glob, and nothing needs it.
    assert_eq!(why("orders/experimental/backfill_orders.recipe.json"), None);
    // The 3-deep call chain is pulled in, each saying who needed it.
    for dep in [
        "shared/enrich_order.recipe.json",
        "shared/lookup_customer.recipe.json",
        "shared/normalize_address.recipe.json",
    ] {
        let w = why(dep).unwrap_or_else(|| panic!("{dep} missing"));
        assert_ne!(w, "selected");
        assert!(w.ends_with(".recipe.json"), "{dep}: {w}");
    }
    for dep in [
        "acme_crm.custom_adapter.json",
        "shared/order.workato_schema.json",
        "country_codes.lookup_table.json",
        "account_properties.properties.json",
    ] {
        assert!(why(dep).is_some(), "{dep} missing");
    }
    assert!(r["warnings"].as_array().unwrap().is_empty(), "{r:#}");
    // Secrets: reported by field name, gone from the package and from every output.
    let stripped: Vec<&str> = r["secrets_stripped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["field"].as_str().unwrap())
        .collect();
    assert!(
        stripped.contains(&"password") && stripped.contains(&"api_key"),
        "{stripped:?}"
    );
    for s in SECRETS {
        assert!(!text.contains(s) && !stderr(&out).contains(s));
        for (name, bytes) in entries(&pkg) {
            assert!(!String::from_utf8_lossy(&bytes).contains(s), "{s} in {name}");
        }
    }
    // Property values are null; lookup rows are not carried by default.
    let all = entries(&pkg);
    let props = &all
        .iter()
        .find(|(n, _)| n == "account_properties.properties.json")
        .unwrap()
        .1;
    let v: serde_json::Value = serde_json::from_slice(props).unwrap();
    assert!(
        v.as_object().unwrap().values().all(serde_json::Value::is_null),
        "{v}"
    );
    let lookup = &all
        .iter()
        .find(|(n, _)| n == "country_codes.lookup_table.json")
        .unwrap()
        .1;
    assert!(!String::from_utf8_lossy(lookup).contains("\"data\""));
    // Workato style: no trailing newline, 2-space indent.
    assert!(!props.ends_with(b"\n") && props.starts_with(b"{\n  \""));
    // Directory entries as Workato writes them: only folders that directly hold files.
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"orders/") && names.contains(&"shared/") && names.contains(&"rlcm-package.json"));
    // rlcm verify accepts it.
    let v = json("verify", &["verify", pkg.to_str().unwrap(), "--format", "json"]);
    assert_eq!(v["ok"], true);
}

#[test]
fn carries_the_latest_released_version_not_the_latest() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = env_copy(dir.path(), "sandbox", "1100000001");
    let e = sandbox.to_str().unwrap();
    let rb = sandbox.join("acme_crm.custom_adapter.rb");
    let released = std::fs::read(&rb).unwrap();
    std::fs::write(
        &rb,
        String::from_utf8(released.clone()).unwrap().replacen(
            "  actions: {",
            "  actions: {\n    unreleased_action: {},",
            1,
        ),
    )
    .unwrap();
    ok(&run(&[
        "connector",
        "commit",
        "Acme CRM",
        "--note",
        "work in progress",
        "--env",
        e,
    ]));
    let pkg = dir.path().join("p.zip");
    let r = export_json(&sandbox, &pkg, &["--folder", "contacts"]);
    assert_eq!(r["connectors"][0]["version"], 5);
    assert_eq!(
        r["connectors"][0]["note"],
        "Drop legacy_export; add merge_contacts"
    );
    let all = entries(&pkg);
    let code = &all
        .iter()
        .find(|(n, _)| n == "acme_crm.custom_adapter.rb")
        .unwrap()
        .1;
    assert_eq!(code, &released);
    let json_entry = String::from_utf8(
        all.iter()
            .find(|(n, _)| n == "acme_crm.custom_adapter.json")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert!(
        json_entry.contains("\"version_no\": 5") && json_entry.contains("Drop legacy_export"),
        "{json_entry}"
    );
    // A connector that was never released cannot be exported: the error names it and its recipes.
    let fresh = dir.path().join("fresh");
    copy_tree(&testdata("sandbox"), &fresh);
    ok(&run(&["init", fresh.to_str().unwrap(), "--id", "5"]));
    let state = fresh.join(".rlcm/connectors/acme_crm.json");
    let mut c: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    c["released"] = serde_json::Value::Null;
    std::fs::write(&state, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    let out = run(&[
        "export",
        "--env",
        fresh.to_str().unwrap(),
        "--folder",
        "contacts",
        "-o",
        dir.path().join("x.zip").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("Acme CRM")
            && err.contains("no released version")
            && err.contains("contacts/create_contact_from_form.recipe.json"),
        "{err}"
    );
    assert!(!dir.path().join("x.zip").exists());
}

#[test]
fn packages_are_byte_identical_and_honour_source_date_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = env_copy(dir.path(), "sandbox", "1100000001");
    let (a, b, c) = (
        dir.path().join("a.zip"),
        dir.path().join("b.zip"),
        dir.path().join("c.zip"),
    );
    export_json(&sandbox, &a, &["--folder", ""]);
    export_json(&sandbox, &b, &["--folder", ""]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let out = rlcm_in(
        None,
        &[
            "export",
            "--env",
            sandbox.to_str().unwrap(),
            "--folder",
            "",
            "-o",
            c.to_str().unwrap(),
        ],
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    );
    ok(&out);
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
    // --workato-strict leaves rlcm-package.json out.
    let strict = dir.path().join("strict.zip");
    export_json(&sandbox, &strict, &["--folder", "", "--workato-strict"]);
    assert!(entries(&strict).iter().all(|(n, _)| n != "rlcm-package.json"));
}

#[test]
fn verify_names_a_tampered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = env_copy(dir.path(), "sandbox", "1100000001");
    let pkg = dir.path().join("p.zip");
    export_json(&sandbox, &pkg, &["--folder", "shared"]);
    // Rewrite the zip with one entry's content changed but rlcm-package.json kept.
    let tampered = dir.path().join("t.zip");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&tampered).unwrap());
        for (name, mut bytes) in entries(&pkg) {
            if name.ends_with('/') {
                continue;
            }
            if name == "shared/enrich_order.recipe.json" {
                bytes[10] ^= 1;
            }
            w.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut w, &bytes).unwrap();
        }
        w.finish().unwrap();
    }
    let out = run(&["verify", tampered.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate("verify", &v);
    assert_eq!(v["mismatches"][0]["entry"], "shared/enrich_order.recipe.json");
    // plan and inspect-by-import refuse it too, naming the entry.
    let prod = env_copy(dir.path(), "production", "2200000002");
    let before = snapshot(&prod);
    for cmd in [
        vec![
            "plan",
            tampered.to_str().unwrap(),
            "--env",
            prod.to_str().unwrap(),
        ],
        vec![
            "import",
            tampered.to_str().unwrap(),
            "--env",
            prod.to_str().unwrap(),
        ],
    ] {
        let out = run(&cmd);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}");
        assert!(
            stderr(&out).contains("shared/enrich_order.recipe.json"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(before, snapshot(&prod));
}

#[test]
fn dangling_references_warn_and_strict_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken");
    copy_tree(&testdata("broken"), &broken);
    let r = export_json(&broken, &dir.path().join("b.zip"), &["--folder", "orders"]);
    assert!(
        r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("missing_helper")),
        "{r:#}"
    );
    let out = run(&[
        "export",
        "--env",
        broken.to_str().unwrap(),
        "--folder",
        "orders",
        "--strict",
        "-o",
        dir.path().join("s.zip").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing_helper"), "{}", stderr(&out));
    assert!(!dir.path().join("s.zip").exists());
    // Selection errors name what is missing.
    let out = run(&[
        "export",
        "--env",
        broken.to_str().unwrap(),
        "--folder",
        "nope",
        "-o",
        dir.path().join("n.zip").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("`nope`"));
    let bad = dir.path().join("m.yaml");
    std::fs::write(&bad, "folders: [orders]\nrecipies: [x]\n").unwrap();
    let out = run(&[
        "export",
        "--env",
        broken.to_str().unwrap(),
        "--manifest",
        bad.to_str().unwrap(),
        "-o",
        dir.path().join("m.zip").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("m.yaml") && stderr(&out).contains("recipies"),
        "{}",
        stderr(&out)
    );
}

/// Each realworld zip, initialised as an environment and exported whole, reads back with the
/// same assets and references (lookup rows travel with `--include-lookup-data`).
#[test]
fn realworld_zips_reexport_with_the_same_assets_and_references() {
    let dir = tempfile::tempdir().unwrap();
    let zips = std::fs::read_dir(realworld("AtsuyaYamakawa__workato-recipes-public"))
        .unwrap()
        .map(|e| e.unwrap().path());
    for (i, zip) in zips.enumerate() {
        let env = dir.path().join(format!("e{i}"));
        ok(&run(&[
            "init",
            env.to_str().unwrap(),
            "--from",
            zip.to_str().unwrap(),
        ]));
        let pkg = dir.path().join(format!("p{i}.zip"));
        export_json(
            &env,
            &pkg,
            &[
                "--folder",
                "",
                "--include-lookup-data",
                "--include-property-values",
            ],
        );
        let a = json("inspect", &["inspect", zip.to_str().unwrap(), "--format", "json"]);
        let b = json("inspect", &["inspect", pkg.to_str().unwrap(), "--format", "json"]);
        let strip = |v: &serde_json::Value| -> Vec<(String, String, String)> {
            v["assets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    (
                        x["path"].to_string(),
                        x["type"].to_string(),
                        x["name"].to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(strip(&a), strip(&b), "{}", zip.display());
        assert_eq!(a["references"], b["references"], "{}", zip.display());
        assert_eq!(a["connectors"], b["connectors"], "{}", zip.display());
        // Byte-identical asset JSON (nothing secret in these exports).
        let original: std::collections::BTreeMap<String, Vec<u8>> = entries(&zip).into_iter().collect();
        for (name, bytes) in entries(&pkg) {
            if let Some(orig) = original.get(&name).filter(|_| name.ends_with(".json")) {
                assert_eq!(orig, &bytes, "{name} differs after init + export");
            }
        }
    }
}
