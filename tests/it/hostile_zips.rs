//! Bad packages are refused with a message naming the entry, never a panic. The zips are made
//! here by test code: a clean zip is written, then bytes of a name are patched where the zip
//! writer would refuse to write them (duplicates, invalid UTF-8).

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};

use rlcm::source::{Limits, Source};
use zip::write::SimpleFileOptions;

fn write_zip(dir: &Path, name: &str, entries: &[(&str, &[u8])]) -> PathBuf {
    let path = dir.join(name);
    let mut w = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (n, data) in entries {
        if n.ends_with('/') {
            w.add_directory(n.trim_end_matches('/'), opts).unwrap();
        } else {
            w.start_file(*n, opts).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap();
    path
}

/// Replaces every occurrence of `from` with `to` (same length) in the file.
fn patch(path: &Path, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(path).unwrap();
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
        }
        i += 1;
    }
    assert!(n > 0);
    std::fs::write(path, bytes).unwrap();
}

const RECIPE: &[u8] = b"{\n  \"name\": \"R\"\n}";

fn open_err(path: &Path) -> String {
    match Source::open(path) {
        Ok(s) => match rlcm::workspace::Workspace::load(&s) {
            Ok(_) => panic!("{} was accepted", path.display()),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

#[test]
fn refuses_names_that_escape() {
    let dir = tempfile::tempdir().unwrap();
    for (i, name) in [
        "../evil.recipe.json",
        "/abs.recipe.json",
        "a/../../x.recipe.json",
        "a\\b.recipe.json",
    ]
    .into_iter()
    .enumerate()
    {
        let zip = write_zip(
            dir.path(),
            &format!("z{i}.zip"),
            &[("ok.recipe.json", RECIPE), (name, RECIPE)],
        );
        let err = open_err(&zip);
        assert!(err.contains(name), "{name}: {err}");
    }
}

#[test]
fn refuses_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("link.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    w.add_symlink("evil.recipe.json", "/etc/passwd", SimpleFileOptions::default())
        .unwrap();
    w.finish().unwrap();
    let err = open_err(&path);
    assert!(
        err.contains("evil.recipe.json") && err.contains("symbolic link"),
        "{err}"
    );
}

#[test]
fn refuses_duplicates_and_reads_case_twins() {
    let dir = tempfile::tempdir().unwrap();
    let zip = write_zip(
        dir.path(),
        "dup.zip",
        &[("a.recipe.json", RECIPE), ("b.recipe.json", RECIPE)],
    );
    patch(&zip, b"b.recipe.json", b"a.recipe.json");
    let err = open_err(&zip);
    assert!(err.contains("a.recipe.json") && err.contains("twice"), "{err}");

    // Names that differ only in case are distinct names (Workato's are case-sensitive; a real
    // export has `recipes/` and `Recipes/`): read, never refused.
    let zip = write_zip(
        dir.path(),
        "case.zip",
        &[("a.recipe.json", RECIPE), ("A.recipe.json", RECIPE)],
    );
    let out = common::rlcm(&["inspect", zip.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"A.recipe.json\"") && text.contains("\"a.recipe.json\""),
        "{text}"
    );
}

#[test]
fn refuses_invalid_utf8_names() {
    let dir = tempfile::tempdir().unwrap();
    let zip = write_zip(dir.path(), "utf8.zip", &[("x1.recipe.json", RECIPE)]);
    patch(&zip, b"x1.recipe.json", b"\xff1.recipe.json");
    let err = open_err(&zip);
    assert!(err.contains("1.recipe.json") && err.contains("UTF-8"), "{err}");
}

#[test]
fn refuses_oversized_entries_and_bombs() {
    let dir = tempfile::tempdir().unwrap();
    let big = vec![b' '; 4 << 20];
    let zip = write_zip(dir.path(), "bomb.zip", &[("big.recipe.json", &big)]);
    let err = Source::open(&zip).unwrap_err().to_string();
    assert!(err.contains("big.recipe.json") && err.contains("ratio"), "{err}");
    let limits = Limits {
        max_entry_size: 1000,
        ..Limits::default()
    };
    let zip = write_zip(
        dir.path(),
        "large.zip",
        &[("large.recipe.json", &vec![b'1'; 2000])],
    );
    let err = Source::open_with(&zip, limits).unwrap_err().to_string();
    assert!(
        err.contains("large.recipe.json") && err.contains("limit"),
        "{err}"
    );
    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let many: Vec<(String, &[u8])> = (0..5).map(|i| (format!("r{i}.recipe.json"), RECIPE)).collect();
    let refs: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let zip = write_zip(dir.path(), "many.zip", &refs);
    let err = Source::open_with(&zip, limits).unwrap_err().to_string();
    assert!(err.contains("5 entries"), "{err}");
}

#[test]
fn refuses_truncated_and_non_zip_files() {
    let dir = tempfile::tempdir().unwrap();
    let zip = write_zip(dir.path(), "t.zip", &[("a.recipe.json", RECIPE)]);
    let bytes = std::fs::read(&zip).unwrap();
    std::fs::write(&zip, &bytes[..bytes.len() / 2]).unwrap();
    assert!(open_err(&zip).contains("t.zip"));
    let not = dir.path().join("not.zip");
    std::fs::write(&not, b"hello").unwrap();
    assert!(open_err(&not).contains("not a zip"));
    let empty = dir.path().join("empty.zip");
    std::fs::write(&empty, b"").unwrap();
    assert!(open_err(&empty).contains("empty.zip"));
}

#[test]
fn malformed_and_deep_json_name_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let zip = write_zip(dir.path(), "bad.zip", &[("broken.recipe.json", b"{\"name\": ")]);
    let err = open_err(&zip);
    assert!(
        err.contains("broken.recipe.json") && err.contains("not valid JSON"),
        "{err}"
    );
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    let zip = write_zip(dir.path(), "deep.zip", &[("deep.recipe.json", deep.as_bytes())]);
    let err = open_err(&zip);
    assert!(err.contains("deep.recipe.json"), "{err}");
}

#[test]
fn cli_exits_1_with_the_entry_named() {
    let dir = tempfile::tempdir().unwrap();
    let zip = write_zip(dir.path(), "slip.zip", &[("../../evil.recipe.json", RECIPE)]);
    for cmd in ["inspect", "graph"] {
        let out = common::rlcm(&[cmd, zip.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        let err = common::stderr(&out);
        assert!(
            err.contains("../../evil.recipe.json") && !err.contains("panicked"),
            "{err}"
        );
    }
}

/// Every hostile package: `inspect`, `verify`, `plan` and `import` exit 1 naming the entry,
/// never panic, and leave the target byte for byte as it was.
#[test]
fn hostile_packages_never_touch_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let prod = common::env_copy(dir.path(), "production", "2200000002");
    let before = common::snapshot(&prod);
    let mut cases: Vec<(PathBuf, &str)> = Vec::new();
    let mut add = |name: &str, entries: &[(&str, &[u8])], needle: &'static str| {
        cases.push((write_zip(dir.path(), name, entries), needle));
    };
    add(
        "slip.zip",
        &[("../evil.recipe.json", RECIPE)],
        "../evil.recipe.json",
    );
    add(
        "abs.zip",
        &[("/etc/evil.recipe.json", RECIPE)],
        "/etc/evil.recipe.json",
    );
    add(
        "backslash.zip",
        &[("a\\evil.recipe.json", RECIPE)],
        "a\\evil.recipe.json",
    );
    add(
        "nfc.zip",
        &[
            ("\u{30DC}.recipe.json", RECIPE),
            ("\u{30DB}\u{3099}.recipe.json", RECIPE),
        ],
        ".recipe.json",
    );
    add(
        "badjson.zip",
        &[("x.recipe.json", b"{\"name\": [1,")],
        "x.recipe.json",
    );
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    add(
        "deep.zip",
        &[("deep.recipe.json", deep.as_bytes())],
        "deep.recipe.json",
    );
    let big = vec![b' '; 4 << 20];
    add("bomb.zip", &[("bomb.recipe.json", &big)], "bomb.recipe.json");
    let dup = write_zip(
        dir.path(),
        "dup.zip",
        &[("a.recipe.json", RECIPE), ("b.recipe.json", RECIPE)],
    );
    patch(&dup, b"b.recipe.json", b"a.recipe.json");
    cases.push((dup, "a.recipe.json"));
    let utf = write_zip(dir.path(), "utf.zip", &[("x1.recipe.json", RECIPE)]);
    patch(&utf, b"x1.recipe.json", b"\xff1.recipe.json");
    cases.push((utf, "1.recipe.json"));
    let trunc = write_zip(dir.path(), "trunc.zip", &[("a.recipe.json", RECIPE)]);
    let bytes = std::fs::read(&trunc).unwrap();
    std::fs::write(&trunc, &bytes[..bytes.len() - 30]).unwrap();
    cases.push((trunc, "trunc.zip"));
    let not = dir.path().join("not.zip");
    std::fs::write(&not, b"PK\x03\x04 this is not really a zip").unwrap();
    cases.push((not, "not.zip"));
    let link = dir.path().join("link.zip");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&link).unwrap());
        w.add_symlink("evil.recipe.json", "/etc/passwd", SimpleFileOptions::default())
            .unwrap();
        w.finish().unwrap();
    }
    cases.push((link, "evil.recipe.json"));
    for (zip, needle) in &cases {
        let z = zip.to_str().unwrap();
        for args in [
            vec!["inspect", z],
            vec!["verify", z],
            vec!["plan", z, "--env", prod.to_str().unwrap()],
            vec![
                "import",
                z,
                "--env",
                prod.to_str().unwrap(),
                "--force",
                "--restart-recipes",
            ],
        ] {
            let out = common::run(&args);
            // verify reports on stdout; the others fail with an error on stderr.
            let err = common::stdout(&out) + &common::stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert!(err.contains(needle), "{args:?}: `{needle}` not named in: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    assert_eq!(
        before,
        common::snapshot(&prod),
        "a hostile package changed the target"
    );
}

/// A package's file entries.
type Files = Vec<(String, Vec<u8>)>;

/// rlcm-package.json that lists an entry the zip lacks, or lacks one it has, or a wrong hash:
/// named by verify, refused by plan and import.
#[test]
fn manifest_and_entries_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = common::env_copy(dir.path(), "sandbox", "1100000001");
    let prod = common::env_copy(dir.path(), "production", "2200000002");
    let pkg = dir.path().join("p.zip");
    common::ok(&common::run(&[
        "export",
        "--env",
        sandbox.to_str().unwrap(),
        "--folder",
        "shared",
        "-o",
        pkg.to_str().unwrap(),
    ]));
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&pkg).unwrap()).unwrap();
    let mut files: Files = Vec::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        if f.is_dir() {
            continue;
        }
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut b).unwrap();
        files.push((f.name().to_string(), b));
    }
    let rebuild = |name: &str, change: &dyn Fn(&mut Files)| -> PathBuf {
        let mut copy = files.clone();
        change(&mut copy);
        let refs: Vec<(&str, &[u8])> = copy.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
        write_zip(dir.path(), name, &refs)
    };
    let missing = rebuild("missing.zip", &|f| {
        f.retain(|(n, _)| n != "shared/normalize_address.recipe.json")
    });
    let extra = rebuild("extra.zip", &|f| {
        f.push(("shared/smuggled.recipe.json".into(), RECIPE.to_vec()))
    });
    let wrong = rebuild("wrong.zip", &|f| {
        let m = f.iter_mut().find(|(n, _)| n == "rlcm-package.json").unwrap();
        let text = String::from_utf8(m.1.clone()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let h = v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == "shared/enrich_order.recipe.json")
            .unwrap()["blake3"]
            .as_str()
            .unwrap()
            .to_string();
        m.1 = text.replace(&h, &"0".repeat(64)).into_bytes();
    });
    let before = common::snapshot(&prod);
    for (zip, needle) in [
        (&missing, "shared/normalize_address.recipe.json"),
        (&extra, "shared/smuggled.recipe.json"),
        (&wrong, "shared/enrich_order.recipe.json"),
    ] {
        for args in [
            vec!["verify", zip.to_str().unwrap()],
            vec!["plan", zip.to_str().unwrap(), "--env", prod.to_str().unwrap()],
            vec![
                "import",
                zip.to_str().unwrap(),
                "--env",
                prod.to_str().unwrap(),
                "--force",
            ],
        ] {
            let out = common::run(&args);
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            let all = common::stdout(&out) + &common::stderr(&out);
            assert!(all.contains(needle), "{args:?}: {all}");
        }
    }
    assert_eq!(before, common::snapshot(&prod));
}

/// A package whose connector code does not parse is refused by plan/import unless forced
/// (the import would release it); a reference outside the package blocks, naming it.
#[test]
fn unparseable_ruby_and_outside_references_block() {
    let dir = tempfile::tempdir().unwrap();
    let prod = common::env_copy(dir.path(), "production", "2200000002");
    let conn = br#"{
  "title": "Acme CRM",
  "description": null,
  "logo_file_name": null,
  "logo_content_type": null,
  "version_no": 9,
  "note": "broken"
}"#;
    let recipe = br#"{
  "name": "Escape",
  "code": {"number": 0, "keyword": "trigger", "provider": "workato_recipe_function", "name": "execute",
    "block": [{"number": 1, "keyword": "action", "provider": "workato_recipe_function", "name": "call_recipe",
      "input": {"flow_id": {"zip_name": "../../etc/passwd.recipe.json", "name": "x", "folder": ".."}}}]},
  "config": []
}"#;
    let zip = write_zip(
        dir.path(),
        "p.zip",
        &[
            ("acme_crm.custom_adapter.json", conn),
            (
                "acme_crm.custom_adapter.rb",
                b"{\n  actions: {\n    a: { title: 'x' \n",
            ),
            ("escape.recipe.json", recipe),
        ],
    );
    let before = common::snapshot(&prod);
    let out = common::run(&[
        "plan",
        zip.to_str().unwrap(),
        "--env",
        prod.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = v["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"connector-parse-error") && kinds.contains(&"unresolved-reference"),
        "{kinds:?}"
    );
    let msgs = v["blockers"].to_string();
    assert!(msgs.contains("../../etc/passwd.recipe.json"), "{msgs}");
    let out = common::run(&[
        "import",
        zip.to_str().unwrap(),
        "--env",
        prod.to_str().unwrap(),
        "--force",
    ]);
    // `--force` overrides both (issue 11): the reference is imported as a dangling string and
    // nothing outside the environment is written.
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert_ne!(before, common::snapshot(&prod));
    assert!(!prod.join("../../etc/passwd.recipe.json").exists());
}
