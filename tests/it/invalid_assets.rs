//! Malformed assets are refused before import (issue 14, part 2): entries that parse as JSON
//! but are not what their type says. `inspect` reports each as a finding; `plan` lists each as
//! an `invalid-asset` blocker naming the entry and the field; `import` refuses and writes
//! nothing, with or without `--force`.

use crate::common;

use common::*;

/// (file, content, field the blocker names)
const BAD: &[(&str, &str, &str)] = &[
    (
        "bad/no_name.recipe.json",
        r#"{"code": {"keyword": "trigger"}}"#,
        "`name`",
    ),
    ("bad/no_code.recipe.json", r#"{"name": "No code"}"#, "`code`"),
    (
        "bad/string_code.recipe.json",
        r#"{"name": "String code", "code": "trigger"}"#,
        "`code`",
    ),
    (
        "bad/array.recipe.json",
        r#"[{"name": "In an array"}]"#,
        "an array",
    ),
    ("bad/number.recipe.json", "42", "a non-negative integer"),
    (
        "bad/no_provider.connection.json",
        r#"{"name": "No provider"}"#,
        "`provider`",
    ),
    (
        "bad/float.custom_adapter.json",
        r#"{"title": "Float version", "version_no": 1.5}"#,
        "`version_no`",
    ),
    (
        "bad/text.custom_adapter.json",
        r#"{"title": "Text version", "version_no": "2"}"#,
        "`version_no`",
    ),
    ("bad/array.lookup_table.json", "[]", "an array"),
];

#[test]
fn malformed_assets_are_reported_blocked_and_never_imported() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = dir.path().join("sandbox");
    copy_tree(&testdata("sandbox"), &sandbox);
    for (path, content, _) in BAD {
        let p = sandbox.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        if path.ends_with(".custom_adapter.json") {
            std::fs::write(p.with_extension("rb"), "{ title: 'x', actions: {} }\n").unwrap();
        }
    }
    // `inspect` reads tolerantly: one finding per malformed asset, naming it.
    let v = json(
        "inspect",
        &["inspect", sandbox.to_str().unwrap(), "--format", "json"],
    );
    let findings: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "invalid-asset")
        .collect();
    for (path, _, field) in BAD {
        assert!(
            findings
                .iter()
                .any(|f| f["path"] == *path && f["message"].as_str().unwrap().contains(field)),
            "inspect has no finding for {path} naming {field}: {findings:#?}"
        );
    }
    assert_eq!(findings.len(), BAD.len(), "{findings:#?}");
    // The shipped examples have none.
    let clean = json(
        "inspect",
        &[
            "inspect",
            testdata("sandbox").to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(
        !clean["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "invalid-asset"),
        "{clean:#}"
    );

    // A package holding them (`export` of the folder, plus a good recipe).
    ok(&run(&["init", sandbox.to_str().unwrap(), "--id", "1100000001"]));
    let pkg = dir.path().join("bad.zip");
    ok(&run(&[
        "export",
        "--env",
        sandbox.to_str().unwrap(),
        "--folder",
        "bad",
        "--recipe",
        "shared/normalize_address.recipe.json",
        "-o",
        pkg.to_str().unwrap(),
    ]));
    let prod = env_copy(dir.path(), "production", "2200000002");
    let p = prod.to_str().unwrap();
    // `export` writes each connector's `version_no` from its history (always an integer), so
    // the connector cases travel in a hand-made package (as a Workato export would be).
    let raw = dir.path().join("raw.zip");
    {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::fs::File::create(&raw).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for (path, content, _) in BAD {
            w.start_file(*path, opts).unwrap();
            w.write_all(content.as_bytes()).unwrap();
            if path.ends_with(".custom_adapter.json") {
                w.start_file(path.replace(".json", ".rb"), opts).unwrap();
                w.write_all(b"{ title: 'x', actions: {} }\n").unwrap();
            }
        }
        w.finish().unwrap();
    }
    for (package, connectors_too) in [(&pkg, false), (&raw, true)] {
        let k = package.to_str().unwrap();
        for extra in [&[][..], &["--force"][..], &["--force", "--restart-recipes"][..]] {
            let mut args = vec!["plan", k, "--env", p, "--format", "json"];
            args.extend_from_slice(extra);
            let plan = json_code("plan", 3, &args);
            assert_eq!(plan["blocked"], true);
            let blockers: Vec<&serde_json::Value> = plan["blockers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|b| b["kind"] == "invalid-asset")
                .collect();
            for (path, _, field) in BAD {
                if path.ends_with(".custom_adapter.json") && !connectors_too {
                    continue;
                }
                assert!(
                    blockers.iter().any(|b| b["path"] == *path
                        && b["message"].as_str().unwrap().contains(path)
                        && b["message"].as_str().unwrap().contains(field)),
                    "plan {extra:?}: no invalid-asset blocker for {path} naming {field}: {blockers:#?}"
                );
            }
            // `import` refuses and writes nothing.
            let before = snapshot(&prod);
            let mut args = vec!["import", k, "--env", p];
            args.extend_from_slice(extra);
            let out = run(&args);
            assert!(
                matches!(out.status.code(), Some(1 | 3)),
                "import {extra:?} was not refused: {}{}",
                stdout(&out),
                stderr(&out)
            );
            assert!(
                stdout(&out).contains("invalid-asset") || stderr(&out).contains("bad/no_code.recipe.json")
            );
            assert_eq!(before, snapshot(&prod), "import {extra:?} changed the target");
        }
    }
}

/// Many empty recipes: one blocker each, in bounded time (the issue's case is 300,000; CI
/// runs 20,000 in a debug build).
#[test]
fn many_empty_recipes_are_each_blocked() {
    let n: usize = std::env::var("RLCM_EMPTY_RECIPES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("empty.zip");
    {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::fs::File::create(&pkg).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for i in 0..n {
            w.start_file(format!("empty/r{i:06}.recipe.json"), opts).unwrap();
            w.write_all(b"{}").unwrap();
        }
        w.finish().unwrap();
    }
    let prod = env_copy(dir.path(), "production", "2200000002");
    let before = snapshot(&prod);
    let t = std::time::Instant::now();
    let plan = json_code(
        "plan",
        3,
        &[
            "plan",
            pkg.to_str().unwrap(),
            "--env",
            prod.to_str().unwrap(),
            "--force",
            "--format",
            "json",
        ],
    );
    let blocked = plan["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["kind"] == "invalid-asset")
        .count();
    // Each `{}` lacks both `name` and `code`.
    assert_eq!(blocked, 2 * n);
    let out = run(&[
        "import",
        pkg.to_str().unwrap(),
        "--env",
        prod.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(before, snapshot(&prod));
    eprintln!("{n} empty recipes: plan + import refused in {:?}", t.elapsed());
}
