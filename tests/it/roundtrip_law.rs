//! The round-trip law, on every source of the realworld corpus (every top-level tree and every
//! zip under `../shared/realworld/`):
//!
//! 1. `init A` and `init B` on two identical copies, `export --env A --folder "" -o x.zip`,
//!    `plan x.zip --env B` exits 0, is not blocked, and every asset is `no_change` or `keep`;
//! 2. `import x.zip --env B` leaves every file of B's tree byte-identical (`.rlcm/` aside);
//! 3. with `--workato-strict`, every `zip_name` that resolved in the source environment names
//!    an entry of the package (its path from the package root), as Workato's import expects.
//!
//! One rlcm process per command per source (not per file), so the 625-file workspace stays
//! within CI's time.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{copy_tree, realworld_root, rlcm};
use rlcm::source::Source;
use rlcm::workspace::Workspace;

/// Every source: the top-level folders (as trees) and every zip below them.
fn sources() -> Vec<PathBuf> {
    let root = realworld_root();
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        out.push(d.clone());
        for e in walkdir::WalkDir::new(&d) {
            let e = e.unwrap();
            if e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "zip") {
                out.push(e.path().to_path_buf());
            }
        }
    }
    out
}

/// Every file of a tree outside `.rlcm/`.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    common::snapshot(root)
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".rlcm/") && !k.starts_with(".rlcm\\"))
        .collect()
}

/// Makes an environment of `source` at `dir`.
fn make_env(source: &Path, dir: &Path) -> Result<(), String> {
    let out = if source.is_dir() {
        copy_tree(source, dir);
        rlcm(&["init", dir.to_str().unwrap()])
    } else {
        rlcm(&["init", "--from", source.to_str().unwrap(), dir.to_str().unwrap()])
    };
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("init: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

fn law(source: &Path, work: &Path) -> Result<(), String> {
    let (a, b) = (work.join("A"), work.join("B"));
    make_env(source, &a)?;
    make_env(source, &b)?;
    let before = tree(&b);
    let pkg = work.join("x.zip");
    let out = export_all(&a, &pkg);
    if !out.status.success() {
        return Err(format!("export: {}", String::from_utf8_lossy(&out.stderr)));
    }
    // 1. The plan changes nothing.
    let out = rlcm(&[
        "plan",
        pkg.to_str().unwrap(),
        "--env",
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    if out.status.code() != Some(0) {
        return Err(format!(
            "plan exited {:?}: {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
                .chars()
                .take(2000)
                .collect::<String>()
        ));
    }
    let plan: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("plan JSON: {e}"))?;
    common::validate("plan", &plan);
    if plan["blocked"] != false {
        return Err(format!("plan is blocked: {}", plan["blockers"]));
    }
    for action in plan["actions"].as_array().unwrap() {
        let what = action["action"].as_str().unwrap();
        if what != "no_change" && what != "keep" {
            return Err(format!("plan says {what} for {}: {action}", action["path"]));
        }
    }
    // 2. The import leaves every file as it was.
    let out = rlcm(&["import", pkg.to_str().unwrap(), "--env", b.to_str().unwrap()]);
    if !out.status.success() {
        return Err(format!("import: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let after = tree(&b);
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    if !changed.is_empty() {
        return Err(format!("the import changed {changed:?}"));
    }
    // 3. A Workato-strict package names each resolved reference by its entry path.
    let strict = work.join("strict.zip");
    let out = rlcm(&[
        "export",
        "--env",
        a.to_str().unwrap(),
        "--folder",
        "",
        "--workato-strict",
        "-o",
        strict.to_str().unwrap(),
    ]);
    if !out.status.success() {
        return Err(format!(
            "export --workato-strict: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let env_ws = Workspace::load(&Source::open(&a).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let pkg_ws =
        Workspace::load(&Source::open(&strict).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    for asset in &pkg_ws.assets {
        for r in &asset.summary.refs {
            if env_ws.resolve_path(&asset.path, &r.zip_name).is_some()
                && pkg_ws.index_of(&r.zip_name).is_none()
            {
                return Err(format!(
                    "strict package: `{}` references `{}`, which is not an entry path",
                    asset.path, r.zip_name
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_real_export_imports_into_a_copy_of_itself_as_a_no_op() {
    let sources = sources();
    assert!(
        sources.len() >= 18,
        "expected the whole corpus, found {sources:?}"
    );
    let root = realworld_root();
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = sources
            .chunks(sources.len().div_ceil(2))
            .map(|part| {
                let root = &root;
                s.spawn(move || {
                    part.iter()
                        .filter_map(|src| {
                            let work = tempfile::tempdir().unwrap();
                            let name = src.strip_prefix(root).unwrap_or(src).display().to_string();
                            law(src, work.path()).err().map(|e| format!("{name}: {e}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(
        failures.is_empty(),
        "the round-trip law fails for:\n{}",
        failures.join("\n\n")
    );
}

/// The law on a reduced copy in `testdata/reduced/` (see its SOURCES.md).
fn reduced(name: &str) {
    let work = tempfile::tempdir().unwrap();
    let src = common::testdata(&format!("reduced/{name}"));
    if let Err(e) = law(&src, work.path()) {
        panic!("testdata/reduced/{name}: {e}");
    }
}

#[test]
fn same_folder_type_and_name_twice_matches_by_path() {
    reduced("same-name");
}

#[test]
fn project_relative_references_are_left_as_written() {
    reduced("project-relative");
}

#[test]
fn wk_style_files_stay_byte_identical() {
    reduced("wk-style");
}

#[test]
fn folders_differing_only_in_case_and_trailing_spaces_round_trip() {
    reduced("case-folders");
    // ... and `inspect` warns early.
    let out = rlcm(&[
        "inspect",
        common::testdata("reduced/case-folders").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["kind"] == "case-twins"
            && f["message"].as_str().unwrap().contains("`Recipes` and `recipes`")),
        "{findings:?}"
    );
}

#[test]
fn a_reference_dangling_already_is_a_warning_not_a_blocker() {
    reduced("dangling");
}

#[test]
fn one_connector_under_two_provider_names_is_left_alone_and_warned_about() {
    reduced("provider-aliases");
    let work = tempfile::tempdir().unwrap();
    let env = work.path().join("E");
    copy_tree(&common::testdata("reduced/provider-aliases"), &env);
    let out = rlcm(&["init", env.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 provider names"), "{text}");
    let out = rlcm(&["check", "--env", env.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("provider-aliases")
            || String::from_utf8_lossy(&out.stdout).contains("2 provider names"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn every_update_says_why() {
    // The sandbox edits a recipe that production knows under the connector's other provider
    // name: the update names both causes.
    let work = tempfile::tempdir().unwrap();
    let (a, b) = (work.path().join("A"), work.path().join("B"));
    copy_tree(&common::testdata("reduced/provider-aliases"), &a);
    copy_tree(&common::testdata("reduced/provider-aliases"), &b);
    let recipe = "SalvationArmy/sage_rec_001_list_dimension_s_restricted_data.recipe.json";
    let text = std::fs::read_to_string(b.join(recipe))
        .unwrap()
        .replace("1678385876", "1704571680");
    std::fs::write(b.join(recipe), text).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join(recipe)).unwrap()).unwrap();
    v["description"] = serde_json::Value::from("changed in the sandbox");
    std::fs::write(a.join(recipe), rlcm::json::to_workato_vec(&v)).unwrap();
    for e in [&a, &b] {
        assert!(rlcm(&["init", e.to_str().unwrap()]).status.success());
    }
    let pkg = work.path().join("x.zip");
    assert!(export_all(&a, &pkg).status.success());
    let out = rlcm(&[
        "plan",
        pkg.to_str().unwrap(),
        "--env",
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::validate("plan", &plan);
    let action = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["path"] == recipe)
        .unwrap();
    assert_eq!(action["action"], "update", "{plan}");
    let reasons: Vec<&str> = action["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"content changed"), "{reasons:?}");
    assert!(
        reasons.iter().any(
            |r| r.starts_with("provider renamed from `sage_intacct_custom__connector_908715_1678385876`")
        ),
        "{reasons:?}"
    );
    // Every other asset is unchanged, and the human plan says why too.
    for other in plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["path"] != recipe)
    {
        assert!(
            other["action"] == "no_change" || other["action"] == "keep",
            "{other}"
        );
    }
    let human = rlcm(&["plan", pkg.to_str().unwrap(), "--env", b.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("content changed; provider renamed from"), "{text}");
}

#[test]
fn other_tools_files_are_never_assets_nor_packaged() {
    let work = tempfile::tempdir().unwrap();
    let env = work.path().join("E");
    copy_tree(&common::testdata("reduced/same-name"), &env);
    // wk's sidecars, workato-platform-cli's files and what `.workato-ignore` lists.
    for (p, body) in [
        (".wk/wk.toml", "workspace = 1\n"),
        (
            ".wk/fixtures/ha_api_control_light.recipe.json.meta.json",
            "{\"zip_name\": \"x\"}\n",
        ),
        (".workatoenv", "{\"project_id\": 1}\n"),
        (".workato-ignore", "drafts/\n*.scratch.recipe.json\n"),
        ("drafts/a.recipe.json", "{\"name\": \"draft\", \"code\": {}}"),
        (
            "fixtures/b.scratch.recipe.json",
            "{\"name\": \"scratch\", \"code\": {}}",
        ),
    ] {
        let path = env.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let out = rlcm(&["inspect", env.to_str().unwrap(), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<&str> = report["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "fixtures/ha_api_control_light.corrected.recipe.json",
            "fixtures/ha_api_control_light.recipe.json"
        ],
        "{report}"
    );
    let others = report["other_files"].to_string();
    assert!(
        !others.contains(".wk") && !others.contains(".workato") && !others.contains("drafts"),
        "{others}"
    );
    assert!(rlcm(&["init", env.to_str().unwrap()]).status.success());
    let pkg = work.path().join("x.zip");
    let out = export_all(&env, &pkg);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let source = Source::open(&pkg).unwrap();
    let names: Vec<&str> = source.entries().iter().map(|e| e.path.as_str()).collect();
    assert!(
        names.iter().all(|n| !n.contains(".wk")
            && !n.contains(".workato")
            && !n.contains("drafts")
            && !n.contains("scratch")),
        "{names:?}"
    );
}

#[test]
fn inspect_says_when_a_package_does_not_match_its_manifest() {
    let work = tempfile::tempdir().unwrap();
    let env = work.path().join("E");
    copy_tree(&common::testdata("reduced/same-name"), &env);
    assert!(rlcm(&["init", env.to_str().unwrap()]).status.success());
    let pkg = work.path().join("x.zip");
    assert!(export_all(&env, &pkg).status.success());
    let report = common::rlcm_json("inspect", &["inspect", pkg.to_str().unwrap(), "--format", "json"]);
    assert_eq!(report["integrity"]["ok"], true, "{report}");
    // Rewrite one entry with different content (same length, so the zip stays readable).
    let bytes = std::fs::read(&pkg).unwrap();
    let tampered = work.path().join("tampered.zip");
    {
        let mut zin = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut zout = zip::ZipWriter::new(std::fs::File::create(&tampered).unwrap());
        for i in 0..zin.len() {
            let mut f = zin.by_index(i).unwrap();
            let name = f.name().to_string();
            if f.is_dir() {
                zout.add_directory(name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                continue;
            }
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut data).unwrap();
            if name.ends_with("ha_api_control_light.recipe.json") {
                data = String::from_utf8(data)
                    .unwrap()
                    .replacen("\"name\"", "\"NAME\"", 1)
                    .into_bytes();
            }
            zout.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut zout, &data).unwrap();
        }
        zout.finish().unwrap();
    }
    let out = rlcm(&["inspect", tampered.to_str().unwrap(), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::validate("inspect", &report);
    assert_eq!(report["integrity"]["ok"], false, "{report}");
    assert!(
        report["integrity"]["mismatches"]
            .to_string()
            .contains("fixtures/ha_api_control_light.recipe.json"),
        "{report}"
    );
    let human = String::from_utf8_lossy(&rlcm(&["inspect", tampered.to_str().unwrap()]).stdout).into_owned();
    assert!(
        human.starts_with("WARNING: this package does not match its rlcm-package.json"),
        "{human}"
    );
    assert!(
        human.contains("fixtures/ha_api_control_light.recipe.json"),
        "{human}"
    );
}

/// Reads a JSON file.
/// `rlcm export --env ENV --folder "" -o PKG`: everything in `env`.
fn export_all(env: &Path, pkg: &Path) -> std::process::Output {
    rlcm(&[
        "export",
        "--env",
        env.to_str().unwrap(),
        "--folder",
        "",
        "-o",
        pkg.to_str().unwrap(),
    ])
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// One JSON entry of a package.
fn zip_json(pkg: &Path, entry: &str) -> Option<serde_json::Value> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(pkg).unwrap()).unwrap();
    let mut f = zip.by_name(entry).ok()?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut bytes).unwrap();
    Some(serde_json::from_slice(&bytes).unwrap())
}

fn ok_json(args: &[&str]) -> serde_json::Value {
    let out = rlcm(args);
    assert!(
        out.status.success(),
        "rlcm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn project_properties_travel_with_the_recipes_that_use_them() {
    reduced("project-properties");
    let work = tempfile::tempdir().unwrap();
    let (a, b) = (work.path().join("A"), work.path().join("B"));
    copy_tree(&common::testdata("reduced/project-properties"), &a);
    let props = "Test-Hello-World/properties.project_properties.json";
    let recipe = "Test-Hello-World/test_rec_001.recipe.json";
    // The sandbox has values, and a key no recipe uses.
    std::fs::write(
        a.join(props),
        br#"{"data": {"abc.def": "sandbox value", "abc.defg": "other value", "unused.key": "x"}}"#,
    )
    .unwrap();
    // Production has the project with its own value for one key, and a key of its own.
    std::fs::create_dir_all(b.join("Test-Hello-World")).unwrap();
    std::fs::write(
        b.join(props),
        "{\n  \"data\": {\n    \"abc.def\": \"production value\",\n    \"prod.only\": 1\n  }\n}\n",
    )
    .unwrap();
    std::fs::copy(
        a.join("my_fifth_http_account.connection.json"),
        b.join("my_fifth_http_account.connection.json"),
    )
    .unwrap();
    for e in [&a, &b] {
        assert!(rlcm(&["init", e.to_str().unwrap()]).status.success());
    }
    // The recipe depends on the project's properties file: impact follows it.
    let impact = ok_json(&["impact", props, "--env", a.to_str().unwrap(), "--format", "json"]);
    assert!(impact.to_string().contains(recipe), "{impact:#}");

    // Export of the recipe alone carries the keys it uses, without values.
    let pkg = work.path().join("x.zip");
    ok_json(&[
        "export",
        "--env",
        a.to_str().unwrap(),
        "--recipe",
        recipe,
        "-o",
        pkg.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let packaged = zip_json(&pkg, props).expect("the project's properties file is packaged");
    assert_eq!(
        packaged,
        serde_json::json!({"data": {"abc.def": null, "abc.defg": null}})
    );

    // The plan adds the missing key and never overwrites production's value.
    let plan = ok_json(&[
        "plan",
        pkg.to_str().unwrap(),
        "--env",
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let action = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["path"] == props)
        .unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(action["action"], "update", "{action:#}");
    assert_eq!(action["reasons"], serde_json::json!(["adds key `abc.defg`"]));
    let out = rlcm(&["import", pkg.to_str().unwrap(), "--env", b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        read_json(&b.join(props)),
        serde_json::json!({"data": {"abc.def": "production value", "prod.only": 1, "abc.defg": null}})
    );
    // Production's file keeps its own style (two-space indent, trailing newline).
    assert!(std::fs::read_to_string(b.join(props)).unwrap().ends_with("}\n"));
    // A second import changes nothing.
    let again = ok_json(&[
        "plan",
        pkg.to_str().unwrap(),
        "--env",
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(
        again["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["action"] != "update"),
        "{again:#}"
    );

    // A key the project does not define is reported by inspect, check and plan.
    std::fs::write(a.join(props), br#"{"data": {"abc.def": null}}"#).unwrap();
    let inspect = rlcm(&["inspect", a.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        text.contains("properties.project_properties.json#abc.defg"),
        "{text}"
    );
    let check = rlcm(&["check", "--env", a.to_str().unwrap()]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(said.contains("project property `abc.defg`"), "{said}");
    let c = tempfile::tempdir().unwrap();
    let empty = c.path().join("C");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(rlcm(&["init", empty.to_str().unwrap()]).status.success());
    let pkg2 = work.path().join("y.zip");
    let out = rlcm(&[
        "export",
        "--env",
        a.to_str().unwrap(),
        "--recipe",
        recipe,
        "-o",
        pkg2.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("project property `abc.defg`"),
        "export warns about the missing key: {said}"
    );
    let plan = ok_json(&[
        "plan",
        pkg2.to_str().unwrap(),
        "--env",
        empty.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(
        plan["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("project property `abc.defg`")),
        "{plan:#}"
    );
}

#[test]
fn tags_travel_with_the_assets_that_carry_them_and_merge_without_overwriting() {
    reduced("tags");
    let work = tempfile::tempdir().unwrap();
    let (a, b) = (work.path().join("A"), work.path().join("B"));
    copy_tree(&common::testdata("reduced/tags"), &a);
    std::fs::create_dir_all(&b).unwrap();
    // Production defines `target` in its own colour, and a tag of its own.
    std::fs::write(
        b.join("tags.json"),
        br#"[{"title": "target", "description": "prod", "color": "green"}, {"title": "prod-only", "description": "", "color": "red"}]"#,
    )
    .unwrap();
    for e in [&a, &b] {
        assert!(rlcm(&["init", e.to_str().unwrap()]).status.success());
    }
    let table = "Lookups, helpers, etc/Cache/target_user_lookup_cache.workato_db_table.json";
    let pkg = work.path().join("x.zip");
    let out = rlcm(&[
        "export",
        "--env",
        a.to_str().unwrap(),
        "--recipe",
        table,
        "-o",
        pkg.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Only the tags the packaged asset carries, as the source defines them.
    let tags = zip_json(&pkg, "tags.json").expect("tags.json is packaged");
    let titles: Vec<&str> = tags
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["target", "lookup", "cache", "user"]);
    let plan = ok_json(&[
        "plan",
        pkg.to_str().unwrap(),
        "--env",
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let action = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["path"] == "tags.json")
        .unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(action["action"], "update");
    assert_eq!(
        action["reasons"],
        serde_json::json!(["adds tags `lookup`, `cache`, `user`"])
    );
    let out = rlcm(&["import", pkg.to_str().unwrap(), "--env", b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let merged = read_json(&b.join("tags.json"));
    let merged = merged.as_array().unwrap();
    assert_eq!(merged.len(), 5);
    assert_eq!(merged[0]["color"], "green", "production's definition is kept");
    assert_eq!(merged[1]["title"], "prod-only");
    // The asset carries its tags as written; the connection's undefined tags are labels only.
    let v = read_json(&b.join(table));
    assert_eq!(
        v["tags"],
        serde_json::json!(["cache", "lookup", "target", "user"])
    );
    let inspect = rlcm(&["inspect", a.to_str().unwrap()]);
    assert!(!String::from_utf8_lossy(&inspect.stdout).contains("(tag)"));
}

#[test]
fn a_renamed_connector_keeps_its_recipes_and_unmatched_providers_are_said() {
    // A connector renamed after creation keeps its provider (`acme_crm_connector_...` under
    // the title "Renamed CRM"); one recipe's binding names no connection, so only the id part
    // of its provider ties it to the connector. Another recipe uses a provider that looks
    // like a custom connector's but matches none.
    let work = tempfile::tempdir().unwrap();
    let a = work.path().join("A");
    copy_tree(&common::testdata("production"), &a);
    let adapter = a.join("acme_crm.custom_adapter.json");
    let mut v = read_json(&adapter);
    v["title"] = "Renamed CRM".into();
    std::fs::write(&adapter, rlcm::json::to_workato_vec(&v)).unwrap();
    let recipe = "contacts/create_contact_from_form.recipe.json";
    let mut r = read_json(&a.join(recipe));
    for entry in r["config"].as_array_mut().unwrap() {
        if entry["provider"]
            .as_str()
            .unwrap()
            .starts_with("acme_crm_connector_")
        {
            entry["account_id"] = serde_json::Value::Null;
        }
    }
    std::fs::write(a.join(recipe), rlcm::json::to_workato_vec(&r)).unwrap();
    let ghost = serde_json::to_string(&r)
        .unwrap()
        .replace(
            "acme_crm_connector_2200000002_1710000000",
            "ghost_connector_99_42",
        )
        .replace("Create contact from form", "Ghost");
    std::fs::create_dir_all(a.join("ghost")).unwrap();
    std::fs::write(a.join("ghost/ghost.recipe.json"), ghost).unwrap();
    let init = rlcm(&["init", a.to_str().unwrap()]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let env = a.to_str().unwrap();

    // The id part attributes the recipe: impact lists it.
    let impact = ok_json(&[
        "impact",
        "acme_crm.custom_adapter.json",
        "--env",
        env,
        "--format",
        "json",
    ]);
    assert!(impact.to_string().contains(recipe), "{impact:#}");

    // check: nothing it can attribute breaks, and it says what it cannot attribute.
    let check = rlcm(&["connector", "check", "Renamed CRM", "tree", "--env", env]);
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{text}");
    assert!(!text.contains("breaks no recipe here"), "{text}");
    assert!(
        text.contains("breaks no recipe that rlcm can attribute to it"),
        "{text}"
    );
    assert!(
        text.contains("ghost/ghost.recipe.json uses provider `ghost_connector_99_42`"),
        "{text}"
    );
    let json = ok_json(&[
        "connector",
        "check",
        "Renamed CRM",
        "tree",
        "--env",
        env,
        "--format",
        "json",
    ]);
    common::validate("connector-check", &json);
    assert_eq!(
        json["unattributed"],
        serde_json::json!([{"recipe": "ghost/ghost.recipe.json", "provider": "ghost_connector_99_42"}])
    );

    // A version without the action the recipe uses breaks it, found through the id part.
    let rb = a.join("acme_crm.custom_adapter.rb");
    let code = std::fs::read_to_string(&rb)
        .unwrap()
        .replace("create_contact:", "create_contact_v2:");
    std::fs::write(&rb, code).unwrap();
    let check = rlcm(&[
        "connector",
        "check",
        "Renamed CRM",
        "tree",
        "--env",
        env,
        "--format",
        "json",
    ]);
    assert_eq!(
        check.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert!(
        json["breaking"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["recipe"] == recipe && b["name"] == "create_contact"),
        "{json:#}"
    );

    // release says it too (forced past the breaking use).
    let out = rlcm(&["connector", "release", "Renamed CRM", "--env", env, "--force"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("ghost_connector_99_42"), "{text}");
}
