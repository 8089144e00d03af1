//! Bad packages are refused with a message naming the entry, never a panic. The zips are made
//! here by test code: a clean zip is written, then bytes of a name are patched where the zip
//! writer would refuse to write them (duplicates, invalid UTF-8).

mod common;

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
fn refuses_duplicates_and_case_collisions() {
    let dir = tempfile::tempdir().unwrap();
    let zip = write_zip(
        dir.path(),
        "dup.zip",
        &[("a.recipe.json", RECIPE), ("b.recipe.json", RECIPE)],
    );
    patch(&zip, b"b.recipe.json", b"a.recipe.json");
    let err = open_err(&zip);
    assert!(err.contains("a.recipe.json") && err.contains("twice"), "{err}");

    let zip = write_zip(
        dir.path(),
        "case.zip",
        &[("a.recipe.json", RECIPE), ("A.recipe.json", RECIPE)],
    );
    let err = open_err(&zip);
    assert!(err.contains("collides"), "{err}");
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
