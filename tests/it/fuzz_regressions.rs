//! Fuzz regressions: every input the fuzzers in `fuzz/` found (files under
//! `tests/fuzz_regressions/<target>/`, and the byte strings below) replayed through the same
//! three entry points, plus hand-made hostile inputs for each, so the test means something even
//! where fuzzing found nothing.
//!
//! - package reader: `Source::open_with` + `Workspace::load` + `verify_package` on a file
//!   `x.zip`; never a panic, and an error about an entry names it;
//! - JSON reference extractor: `json::parse` + `asset::summarize` for every asset type +
//!   `asset::classify` on the input read as a path;
//! - Ruby action/trigger extractor: `ruby::parse_connector`.
//!
//! How the fuzzers run, and how to add a crash here: `fuzz/README.md`.

#[allow(dead_code)]
#[path = "../../fuzz/src/zipgen.rs"]
mod zipgen;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rlcm::Error;
use rlcm::asset::{self, AssetType, FileRole};
use rlcm::source::{Limits, Source};
use rlcm::workspace::Workspace;
use zipgen::{
    BAD_CRC, CLAIM_LESS, CLAIM_MORE, DEFLATE, ENCRYPTED, SYMLINK, TWICE, UTF8, ZipEntry, build, package_bytes,
};

/// The limits the `package_reader` fuzz target opens with.
const LIMITS: Limits = Limits {
    max_entries: 64,
    max_entry_size: 2 << 20,
    max_total_size: 8 << 20,
    max_ratio: 1_000,
};

// ---------------------------------------------------------------------------------------------
// The three entry points, checked as the fuzz targets check them.

/// Runs `f`, turning a panic into a test failure that names the input.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{what}: panicked: {msg}");
        }
    }
}

/// An error from the package reader names the package, and an entry the source lists when it
/// is about one.
fn check_error(what: &str, err: &Error, package: &str, source: Option<&Source>) {
    let text = err.to_string();
    match err {
        Error::BadEntry {
            package: p, entry, ..
        } => {
            assert_eq!(p, package, "{what}: {text}");
            if let Some(source) = source {
                assert!(source.find(entry).is_some(), "{what}: names no entry: {text}");
            }
        }
        Error::BadPackage { package: p, .. } => assert_eq!(p, package, "{what}: {text}"),
        Error::Json { package: p, path, .. } => {
            assert_eq!(p.as_deref(), Some(package), "{what}: {text}");
            if let Some(source) = source {
                assert!(source.find(path).is_some(), "{what}: names no entry: {text}");
            }
        }
        Error::Io { path, .. } => assert_eq!(path.display().to_string(), package, "{what}: {text}"),
        other => panic!("{what}: unexpected error kind: {other:?}"),
    }
}

/// What reading a package gave: the first error, if any, as text.
#[derive(Debug)]
struct Read {
    open: Result<usize, String>,
    load: Option<Result<usize, String>>,
    verify: Option<Result<bool, String>>,
}

impl Read {
    /// The first error, or `None` when the package opened and loaded.
    fn error(&self) -> Option<&str> {
        match (&self.open, &self.load) {
            (Err(e), _) | (_, Some(Err(e))) => Some(e),
            _ => None,
        }
    }
}

/// Writes `zip` as `dir/x.zip` and reads it as the `package_reader` fuzz target does.
fn read_package(what: &str, dir: &Path, zip: &[u8], limits: Limits) -> Read {
    let path: PathBuf = dir.join("x.zip");
    std::fs::write(&path, zip).unwrap();
    let package = path.display().to_string();
    no_panic(what, || {
        let source = match Source::open_with(&path, limits) {
            Ok(s) => s,
            Err(e) => {
                check_error(what, &e, &package, None);
                return Read {
                    open: Err(e.to_string()),
                    load: None,
                    verify: None,
                };
            }
        };
        for e in source.entries() {
            assert!(
                rlcm::source::validate_entry_name(&e.path).is_ok(),
                "{what}: accepted {:?}",
                e.path
            );
            assert!(e.size <= limits.max_entry_size, "{what}: {} too large", e.path);
        }
        let load = match Workspace::load(&source) {
            Ok(ws) => {
                let graph = rlcm::graph::DepGraph::build(&ws);
                let all: Vec<usize> = (0..ws.assets.len()).collect();
                let _ = graph.cycles();
                let _ = graph.closure(&all);
                let _ = graph.dependents(&all);
                for (i, a) in ws.assets.iter().enumerate() {
                    if a.connector.is_some() {
                        let _ = ws.connector_uses(i);
                    }
                    let _ = ws.find_asset(&a.name);
                }
                let _ = rlcm::ops::inspect::inspect(&ws, &package);
                Ok(ws.assets.len())
            }
            Err(e) => {
                check_error(what, &e, &package, Some(&source));
                Err(e.to_string())
            }
        };
        let verify = match rlcm::package::verify_package(&path) {
            Ok(report) => {
                assert_eq!(report.ok, report.mismatches.is_empty(), "{what}");
                Ok(report.ok)
            }
            Err(e) => {
                check_error(what, &e, &package, None);
                Err(e.to_string())
            }
        };
        Read {
            open: Ok(source.entries().len()),
            load: Some(load),
            verify: Some(verify),
        }
    })
}

fn all_types() -> Vec<AssetType> {
    [
        "recipe",
        "connection",
        "custom_adapter",
        "lookup_table",
        "workato_template",
        "workato_schema",
        "properties",
        "project_properties",
        "api_group",
        "api_endpoint",
        "agentic_skill",
        "workato_db_table",
        "project",
        "future_thing",
    ]
    .into_iter()
    .map(AssetType::from_type)
    .collect()
}

/// The `json_refs` fuzz target's checks; returns the references found (as a recipe) when the
/// input parses.
fn json_refs(what: &str, data: &[u8]) -> Option<Vec<String>> {
    no_panic(what, || {
        let path = String::from_utf8_lossy(data);
        match asset::classify(&path) {
            FileRole::Asset(t) => assert_eq!(AssetType::from_type(t.as_str()), t, "{what}"),
            FileRole::ConnectorCode(json) | FileRole::ConnectorLogo(json) => {
                assert_eq!(
                    asset::classify(&json),
                    FileRole::Asset(AssetType::CustomAdapter),
                    "{what}"
                );
            }
            FileRole::Other => {}
        }
        let _ = rlcm::slug::slug(&path);
        let _ = rlcm::slug::parse_provider_name(&path);
        let value = match rlcm::json::parse("fuzz.json", data) {
            Ok(v) => v,
            Err(e) => {
                assert!(e.to_string().contains("fuzz.json"), "{what}: {e}");
                return None;
            }
        };
        let mut refs = None;
        for t in all_types() {
            let s = asset::summarize(&t, &value);
            if t == AssetType::Recipe {
                refs = Some(s.refs.iter().map(|r| r.zip_name.to_string()).collect());
            }
        }
        let written = rlcm::json::to_workato_vec(&value);
        let back = rlcm::json::parse("written.json", &written).expect("written JSON parses back");
        assert_eq!(back, value, "{what}: Workato-style JSON does not round-trip");
        refs
    })
}

/// The `ruby_actions` fuzz target's checks.
fn ruby(what: &str, data: &[u8]) -> rlcm::ruby::ConnectorDefinition {
    no_panic(what, || {
        let def = rlcm::ruby::parse_connector(data);
        for names in [&def.actions, &def.triggers] {
            for (i, name) in names.iter().enumerate() {
                assert!(!names[..i].contains(name), "{what}: `{name}` listed twice");
            }
        }
        def
    })
}

// ---------------------------------------------------------------------------------------------
// Inputs the fuzzers found (byte strings here; larger ones as files under fuzz_regressions/).

/// Fuzz inputs for `package_reader`, in the fuzz target's input format (first byte: mode).
const PACKAGE_FOUND: &[(&str, &[u8])] = &[];

/// Fuzz inputs for `json_refs`.
const JSON_FOUND: &[(&str, &[u8])] = &[];

/// Fuzz inputs for `ruby_actions`.
const RUBY_FOUND: &[(&str, &[u8])] = &[];

/// The files under `tests/fuzz_regressions/<target>/`, sorted.
fn found_files(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let Ok(read) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = read
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| {
            (
                format!("{target}/{}", e.file_name().to_string_lossy()),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn replays_package_reader_findings() {
    let dir = tempfile::tempdir().unwrap();
    let found = PACKAGE_FOUND
        .iter()
        .map(|(n, b)| (n.to_string(), b.to_vec()))
        .chain(found_files("package_reader"));
    for (name, input) in found {
        read_package(&name, dir.path(), &package_bytes(&input), LIMITS);
    }
}

/// The `package_reader` input format: an odd first byte builds a zip from records, an even one
/// is the zip itself.
#[test]
fn package_reader_inputs_decode_as_the_fuzzer_ran_them() {
    let dir = tempfile::tempdir().unwrap();
    let structured = b"\x01\x20\x0dr.recipe.json\x0c{\"name\":\"R\"}\x01\xff\x05\x00d/x.y\x00";
    let read = read_package("structured", dir.path(), &package_bytes(structured), LIMITS);
    assert_eq!(read.open, Ok(2), "{read:?}");
    let raw = [&b"\x00"[..], &good_zip()].concat();
    let read = read_package("raw", dir.path(), &package_bytes(&raw), LIMITS);
    assert_eq!(read.load, Some(Ok(3)), "{read:?}");
    // a length past the end takes what is left; nothing at all is an empty file
    read_package(
        "short",
        dir.path(),
        &package_bytes(b"\x01\x00\xff\xff\xffab"),
        LIMITS,
    );
    assert!(
        read_package("empty", dir.path(), &package_bytes(b""), LIMITS)
            .error()
            .is_some()
    );
}

#[test]
fn replays_json_refs_findings() {
    let found = JSON_FOUND
        .iter()
        .map(|(n, b)| (n.to_string(), b.to_vec()))
        .chain(found_files("json_refs"));
    for (name, input) in found {
        json_refs(&name, &input);
    }
}

#[test]
fn replays_ruby_actions_findings() {
    let found = RUBY_FOUND
        .iter()
        .map(|(n, b)| (n.to_string(), b.to_vec()))
        .chain(found_files("ruby_actions"));
    for (name, input) in found {
        ruby(&name, &input);
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-made hostile packages.

fn entry<'a>(flags: u8, name: &'a [u8], content: &'a [u8]) -> ZipEntry<'a> {
    ZipEntry { flags, name, content }
}

const RECIPE: &[u8] =
    br#"{"name": "R", "config": [{"provider": "p_connector_1_2", "account_id": {"zip_name": "c.connection.json", "custom": true}}], "code": {"provider": "p_connector_1_2", "keyword": "trigger", "name": "t"}}"#;
const CONNECTION: &[u8] = br#"{"name": "C", "provider": {"zip_name": "p.custom_adapter.json"}}"#;
const CONNECTOR_JSON: &[u8] = br#"{"title": "P", "version_no": 3}"#;
const CONNECTOR_RB: &[u8] = b"{ title: 'P', triggers: { t: {} }, actions: { a: {} } }";

/// A small valid package.
fn good_zip() -> Vec<u8> {
    build(&[
        entry(UTF8, b"r.recipe.json", RECIPE),
        entry(DEFLATE, b"c.connection.json", CONNECTION),
        entry(DEFLATE, b"p.custom_adapter.json", CONNECTOR_JSON),
        entry(0, b"p.custom_adapter.rb", CONNECTOR_RB),
    ])
}

#[test]
fn a_good_package_reads() {
    let dir = tempfile::tempdir().unwrap();
    let read = read_package("good", dir.path(), &good_zip(), LIMITS);
    assert_eq!(read.error(), None, "{read:?}");
    assert_eq!(read.load, Some(Ok(3)));
    assert_eq!(
        read.verify,
        Some(Ok(true)),
        "a package without a manifest that reads back is ok"
    );
    let read = read_package("good, default limits", dir.path(), &good_zip(), Limits::default());
    assert_eq!(read.error(), None, "{read:?}");
}

#[test]
fn every_truncation_of_a_package_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let zip = good_zip();
    let eocd = eocd_at(&zip);
    // every cut in the last local entry, the central directory and the end record (where the
    // reader's own parsing works), every 7th elsewhere
    let cuts = (0..zip.len()).filter(|&c| c % 7 == 0 || c + 150 >= eocd);
    for cut in cuts {
        let read = read_package(&format!("cut at {cut}"), dir.path(), &zip[..cut], LIMITS);
        assert!(
            read.error().is_some(),
            "cut at {cut} of {} was accepted",
            zip.len()
        );
    }
    // single-byte corruptions of the headers (the content is CRC-checked)
    for at in (0..zip.len()).filter(|&a| a % 5 == 0 || a >= eocd) {
        let mut bad = zip.clone();
        bad[at] ^= 0xA5;
        read_package(&format!("byte {at} flipped"), dir.path(), &bad, LIMITS);
    }
}

/// The package is refused with an error naming `name` (lossy) and saying `why`.
fn assert_refused(dir: &Path, entries: &[ZipEntry<'_>], name: &str, why: &str) {
    let zip = build(entries);
    let read = read_package(name, dir, &zip, LIMITS);
    let err = read
        .error()
        .unwrap_or_else(|| panic!("{name:?} accepted: {read:?}"));
    assert!(err.contains(&format!("entry `{name}`")), "{name:?}: {err}");
    assert!(err.contains(why), "{name:?}: expected {why:?} in {err}");
}

#[test]
fn hostile_names_are_refused_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let ok = entry(0, b"ok.recipe.json", b"{}");
    for (raw, shown, why) in [
        (&b"a\0b.recipe.json"[..], "a\0b.recipe.json", "NUL"),
        (b"\0", "\0", "NUL"),
        (b"../evil.recipe.json", "../evil.recipe.json", "escape"),
        (b"a/../../evil.recipe.json", "a/../../evil.recipe.json", "escape"),
        (b"/abs.recipe.json", "/abs.recipe.json", "absolute"),
        (b"C:/win.recipe.json", "C:/win.recipe.json", "drive letter"),
        (b"a\\b.recipe.json", "a\\b.recipe.json", "backslash"),
        (b"a//b.recipe.json", "a//b.recipe.json", "empty path component"),
        (
            b"a\x1b[2J.recipe.json",
            "a\x1b[2J.recipe.json",
            "control character",
        ),
        (
            b"\xff\xfe.recipe.json",
            "\u{fffd}\u{fffd}.recipe.json",
            "not valid UTF-8",
        ),
        (b"", "", "empty name"),
    ] {
        assert_refused(dir.path(), &[ok.clone(), entry(UTF8, raw, b"{}")], shown, why);
    }
    assert_refused(
        dir.path(),
        &[ok.clone(), entry(SYMLINK, b"link.recipe.json", b"/etc/passwd")],
        "link.recipe.json",
        "symbolic link",
    );
    assert_refused(
        dir.path(),
        &[ok.clone(), entry(ENCRYPTED, b"secret.recipe.json", b"{}")],
        "secret.recipe.json",
        "encrypted",
    );
    assert_refused(
        dir.path(),
        &[ok.clone(), entry(TWICE, b"twice.recipe.json", b"{}")],
        "twice.recipe.json",
        "twice",
    );
    // names equal after NFC (names that differ only in case are distinct: Workato's are
    // case-sensitive)
    assert_refused(
        dir.path(),
        &[
            entry(0, "\u{c5}.recipe.json".as_bytes(), b"{}"),
            entry(0, "A\u{30a}.recipe.json".as_bytes(), b"{}"),
        ],
        "A\u{30a}.recipe.json",
        "collides",
    );
}

#[test]
fn lying_headers_are_refused_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let body = br#"{"name": "a recipe with some body to it", "x": [1, 2, 3]}"#;
    for flags in [CLAIM_LESS, CLAIM_LESS | DEFLATE] {
        let name = format!("less{flags}.recipe.json");
        assert_refused(
            dir.path(),
            &[entry(flags, name.as_bytes(), body)],
            &name,
            "header says",
        );
    }
    for flags in [0, DEFLATE] {
        let name = format!("more{flags}.recipe.json");
        let mut zip = build(&[entry(flags, name.as_bytes(), body)]);
        claim_size(&mut zip, body.len() as u32 + 10);
        let read = read_package(&name, dir.path(), &zip, LIMITS);
        let err = read.error().expect("accepted");
        assert!(
            err.contains(&format!("entry `{name}`")) && err.contains("header says"),
            "{err}"
        );
    }
    // claiming 1 MiB more than a tiny entry holds is also a ratio no real package has
    for flags in [CLAIM_MORE, CLAIM_MORE | DEFLATE] {
        let name = format!("bomb{flags}.recipe.json");
        assert_refused(dir.path(), &[entry(flags, name.as_bytes(), body)], &name, "ratio");
    }
    for flags in [BAD_CRC, BAD_CRC | DEFLATE] {
        let name = format!("crc{flags}.recipe.json");
        assert_refused(
            dir.path(),
            &[entry(flags, name.as_bytes(), body)],
            &name,
            "corrupt",
        );
    }
    // a deflate stream that is not deflate
    let mut zip = build(&[entry(DEFLATE, b"bad.recipe.json", b"{\"a\": 1}")]);
    let at = 30 + b"bad.recipe.json".len();
    zip[at] = 0x07; // reserved block type
    let read = read_package("bad deflate", dir.path(), &zip, LIMITS);
    let err = read.error().expect("bad deflate accepted");
    assert!(err.contains("entry `bad.recipe.json`"), "{err}");
}

/// Sets the uncompressed size of every central directory record and local header to `size`.
fn claim_size(zip: &mut [u8], size: u32) {
    for at in 0..zip.len().saturating_sub(4) {
        match zip[at..at + 4] {
            [0x50, 0x4b, 0x03, 0x04] => zip[at + 22..at + 26].copy_from_slice(&size.to_le_bytes()),
            [0x50, 0x4b, 0x01, 0x02] => zip[at + 24..at + 28].copy_from_slice(&size.to_le_bytes()),
            _ => {}
        }
    }
}

#[test]
fn huge_declared_sizes_are_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut zip = build(&[entry(DEFLATE, b"big.recipe.json", b"{}")]);
    claim_size(&mut zip, u32::MAX);
    for limits in [LIMITS, Limits::default()] {
        let read = read_package("4 GiB claimed", dir.path(), &zip, limits);
        let err = read.error().expect("accepted");
        assert!(err.contains("entry `big.recipe.json`"), "{err}");
        assert!(err.contains("expands to 4294967295 bytes"), "{err}");
    }
    // over 1 MiB at more than 1000:1 is a bomb even under the size limit
    let mut zip = build(&[entry(DEFLATE, b"bomb.recipe.json", b"{}")]);
    claim_size(&mut zip, 1_500_000);
    let read = read_package("ratio", dir.path(), &zip, LIMITS);
    let err = read.error().expect("accepted");
    assert!(
        err.contains("entry `bomb.recipe.json`") && err.contains("ratio"),
        "{err}"
    );
    // many entries that together pass the total
    let names: Vec<String> = (0..10).map(|i| format!("e{i}.recipe.json")).collect();
    let body = vec![b' '; 1000];
    let entries: Vec<ZipEntry<'_>> = names.iter().map(|n| entry(0, n.as_bytes(), &body)).collect();
    let small = Limits {
        max_total_size: 9_999,
        ..LIMITS
    };
    let read = read_package("total", dir.path(), &build(&entries), small);
    let err = read.error().expect("accepted");
    assert!(err.contains("expands past the limit"), "{err}");
}

/// The end of central directory record of `zip` (offset).
fn eocd_at(zip: &[u8]) -> usize {
    (0..zip.len() - 3)
        .rev()
        .find(|&i| zip[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .unwrap()
}

#[test]
fn lying_central_directories_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let zip = good_zip();
    let eocd = eocd_at(&zip);
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for (field, width) in [(8usize, 2usize), (10, 2), (12, 4), (16, 4), (20, 2)] {
        for value in [0u32, 1, 0x7fff, 0xffff, 0xffff_ffff] {
            let mut z = zip.clone();
            let bytes = value.to_le_bytes();
            z[eocd + field..eocd + field + width].copy_from_slice(&bytes[..width]);
            cases.push((format!("eocd+{field} = {value:#x}"), z));
        }
    }
    // zip64: a locator and a zip64 record that claim 2^64-1 entries, and ones that point nowhere
    for (offset, entries) in [(0u64, u64::MAX), (u64::MAX - 10, 1), (1 << 40, 5)] {
        let mut z = zip[..eocd].to_vec();
        let rec_at = z.len() as u64;
        z.extend_from_slice(&[0x50, 0x4b, 0x06, 0x06]);
        z.extend_from_slice(&44u64.to_le_bytes());
        z.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        z.extend_from_slice(&entries.to_le_bytes());
        z.extend_from_slice(&entries.to_le_bytes());
        z.extend_from_slice(&u64::MAX.to_le_bytes()); // cd size
        z.extend_from_slice(&offset.to_le_bytes()); // cd offset
        z.extend_from_slice(&[0x50, 0x4b, 0x06, 0x07, 0, 0, 0, 0]);
        z.extend_from_slice(&rec_at.to_le_bytes());
        z.extend_from_slice(&1u32.to_le_bytes());
        z.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        z.extend_from_slice(&[0xff; 8]);
        z.extend_from_slice(&[0, 0]);
        cases.push((format!("zip64 offset {offset:#x} entries {entries:#x}"), z));
    }
    // only an end record: an empty package
    cases.push((
        "empty zip".into(),
        [&[0x50, 0x4b, 0x05, 0x06][..], &[0; 18]].concat(),
    ));
    cases.push(("nothing".into(), Vec::new()));
    cases.push(("not a zip".into(), b"{\"name\": \"R\"}".to_vec()));
    // a comment that holds another end record
    let mut z = zip.clone();
    let fake = [&[0x50, 0x4b, 0x05, 0x06][..], &[0xff; 18]].concat();
    z[eocd + 20..eocd + 22].copy_from_slice(&(fake.len() as u16).to_le_bytes());
    z.extend_from_slice(&fake);
    cases.push(("end record in the comment".into(), z));
    for (name, z) in cases {
        read_package(&name, dir.path(), &z, LIMITS);
    }
    let read = read_package(
        "empty",
        dir.path(),
        &[&[0x50, 0x4b, 0x05, 0x06][..], &[0; 18]].concat(),
        LIMITS,
    );
    assert_eq!(read.error(), None, "{read:?}");
    let read = read_package("2^64-1 entries", dir.path(), &zip64_claiming(u64::MAX), LIMITS);
    assert!(
        read.error()
            .is_some_and(|e| e.contains("entries, more than the limit")),
        "{read:?}"
    );
}

fn zip64_claiming(entries: u64) -> Vec<u8> {
    let zip = good_zip();
    let eocd = eocd_at(&zip);
    let cd_offset = u32::from_le_bytes(zip[eocd + 16..eocd + 20].try_into().unwrap()) as u64;
    let cd_size = u32::from_le_bytes(zip[eocd + 12..eocd + 16].try_into().unwrap()) as u64;
    let mut z = zip[..eocd].to_vec();
    let rec_at = z.len() as u64;
    z.extend_from_slice(&[0x50, 0x4b, 0x06, 0x06]);
    z.extend_from_slice(&44u64.to_le_bytes());
    z.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    z.extend_from_slice(&entries.to_le_bytes());
    z.extend_from_slice(&entries.to_le_bytes());
    z.extend_from_slice(&cd_size.to_le_bytes());
    z.extend_from_slice(&cd_offset.to_le_bytes());
    z.extend_from_slice(&[0x50, 0x4b, 0x06, 0x07, 0, 0, 0, 0]);
    z.extend_from_slice(&rec_at.to_le_bytes());
    z.extend_from_slice(&1u32.to_le_bytes());
    z.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    z.extend_from_slice(&[0xff; 8]);
    z.extend_from_slice(&[0, 0]);
    z
}

#[test]
fn hostile_content_inside_a_sound_package_names_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let deep = "[".repeat(100_000);
    let read = read_package(
        "deep JSON",
        dir.path(),
        &build(&[entry(DEFLATE, b"d/deep.recipe.json", deep.as_bytes())]),
        LIMITS,
    );
    let err = read.error().expect("accepted");
    assert!(
        err.contains("d/deep.recipe.json") && err.contains("recursion limit"),
        "{err}"
    );
    let read = read_package(
        "NUL JSON",
        dir.path(),
        &build(&[entry(0, b"n.connection.json", b"{\"name\": \"a\0b\"}")]),
        LIMITS,
    );
    assert!(
        read.error().is_some_and(|e| e.contains("n.connection.json")),
        "{read:?}"
    );
    // Ruby that is not Ruby is a finding on the connector, not an error
    for rb in [
        &b"\xff\xfe{ actions: {"[..],
        b"{ actions: { a: <<~X\n",
        &[b'{'; 100_000],
    ] {
        let read = read_package(
            "bad Ruby",
            dir.path(),
            &build(&[
                entry(0, b"p.custom_adapter.json", CONNECTOR_JSON),
                entry(DEFLATE, b"p.custom_adapter.rb", rb),
            ]),
            LIMITS,
        );
        assert_eq!(read.error(), None, "{read:?}");
    }
    // an empty file, a wrapper folder named like the zip, every asset type
    let mut entries = vec![entry(0, b"x/empty.recipe.json", b"")];
    let names: Vec<String> = all_types()
        .iter()
        .map(|t| format!("x/a.{}.json", t.as_str()))
        .collect();
    entries.extend(names.iter().map(|n| entry(0, n.as_bytes(), b"{\"zip_name\": 1}")));
    let read = read_package("wrapper", dir.path(), &build(&entries), LIMITS);
    let err = read.error().expect("empty JSON accepted");
    assert!(err.contains("x.zip: empty.recipe.json"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Hand-made hostile JSON.

#[test]
fn hostile_json_is_an_error_or_a_summary_never_a_panic() {
    let n = 100_000;
    for (what, text) in [
        ("100k [", "[".repeat(n)),
        ("100k [ ]", "[".repeat(n) + &"]".repeat(n)),
        ("100k {", "{\"a\":".repeat(n)),
        ("100k { }", "{\"a\":".repeat(n) + "1" + &"}".repeat(n)),
        ("lone surrogate", r#"{"name": "\ud800"}"#.to_string()),
        ("raw NUL", "{\"name\": \"a\0b\"}".to_string()),
        ("BOM only", "\u{feff}".to_string()),
        ("two BOMs", "\u{feff}\u{feff}{}".to_string()),
        ("empty", String::new()),
        ("trailing garbage", "{} {}".to_string()),
        (
            "huge exponent",
            r#"{"version_no": 1e999999999, "n": -0}"#.to_string(),
        ),
        (
            "long number",
            format!("{{\"version_no\": {}}}", "9".repeat(10_000)),
        ),
    ] {
        json_refs(what, text.as_bytes());
    }
    assert!(json_refs("100k [", "[".repeat(n).as_bytes()).is_none());
    assert!(json_refs("invalid UTF-8", b"{\"name\": \"\xff\"}").is_none());

    // the deepest nesting serde_json takes, with a reference at the bottom
    let depth = 127;
    let text =
        "[".repeat(depth - 1) + r#"{"flow_id": {"zip_name": "deep.recipe.json"}}"# + &"]".repeat(depth - 1);
    match rlcm::json::parse("x", text.as_bytes()) {
        Ok(_) => assert_eq!(
            json_refs("deepest", text.as_bytes()),
            Some(vec!["deep.recipe.json".to_string()])
        ),
        Err(e) => assert!(e.to_string().contains("recursion limit"), "{e}"),
    }

    // account property patterns that could make a naive matcher backtrack
    let quotes = "\"pill_type\":\"account_property\",\"property_name\":\"".repeat(5_000);
    let formula = "'account_property', '\\".repeat(20_000);
    let path = format!("account_properties.{}", "a".repeat(100_000));
    for (what, s) in [("pills", quotes), ("formula", formula), ("path", path)] {
        let v = serde_json::json!({ "name": s, "code": { "x": [s.clone()] } });
        json_refs(what, &serde_json::to_vec(&v).unwrap());
    }

    // references of every odd shape
    let odd =
        br#"{"zip_name": "self", "config": [1, null, {"provider": 5}, {"provider": "p", "account_id": "x"},
        {"provider": "q_connector_1_2", "account_id": {"zip_name": ["no"], "custom": "yes"}}],
        "code": {"provider": "q_connector_1_2", "keyword": "action", "name": {"n": 1}, "number": -1,
        "block": [{"provider": "q_connector_99999999999999999999_1", "keyword": "trigger", "name": "t"}]},
        "provider": {"zip_name": "../../../etc/passwd"}, "version_no": -3, "title": ["t"], "note": 1}"#;
    let refs = json_refs("odd", odd).expect("parses");
    assert!(refs.contains(&"self".to_string()) && refs.contains(&"../../../etc/passwd".to_string()));
}

#[test]
fn hostile_paths_classify_without_panicking() {
    for path in [
        "",
        "/",
        ".json",
        "..json",
        ".custom_adapter.",
        ".custom_adapter.rb",
        "a.custom_adapter.",
        "a.custom_adapter..rb",
        "/.custom_adapter.rb",
        "é/ü.custom_adapter.rb",
        "日本/語.custom_adapter.ロゴ",
        "x/.recipe.json",
        "x/a..json",
        "a.RECIPE.json",
        "a.custom_adapter.json.rb",
        "\u{fffd}.recipe.json",
        "a.re\0cipe.json",
        "project.json/",
        "////",
    ] {
        json_refs(path, path.as_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-made hostile Ruby.

#[test]
fn hostile_ruby_is_a_parse_error_never_a_panic() {
    let n = 100_000;
    let deep_hash = "{ a: ".repeat(n) + &"}".repeat(n);
    let interpolation = "\"#{".repeat(2_000) + &"}\"".repeat(2_000);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("100k {", "{".repeat(n).into_bytes()),
        ("100k [", "[".repeat(n).into_bytes()),
        ("100k (", "(".repeat(n).into_bytes()),
        ("100k } ", "}".repeat(n).into_bytes()),
        ("100k nested hashes", deep_hash.into_bytes()),
        ("nested interpolation", interpolation.into_bytes()),
        ("100k lambdas", "lambda do ".repeat(n / 10).into_bytes()),
        (
            "invalid UTF-8 key",
            b"{ actions: { \"\xff\xfe\": {}, :\xc3 => {}, \xe2\x82: {} } }".to_vec(),
        ),
        (
            "invalid UTF-8 everywhere",
            (0u8..=255).cycle().take(20_000).collect(),
        ),
        (
            "NUL bytes",
            b"{ actions: { a\0: {}, \0 }, \0triggers: {} }".to_vec(),
        ),
        ("unterminated heredoc", b"{ actions: { a: <<~X\n  body\n".to_vec()),
        (
            "unterminated quoted heredoc",
            b"{ actions: { a: <<-'X Y'\n".to_vec(),
        ),
        (
            "a 255-byte heredoc delimiter",
            format!("{{ actions: {{ a: <<~{d}\n x\n{d}\n }} }}\n", d = "A".repeat(255)).into_bytes(),
        ),
        (
            "unterminated =begin",
            b"=begin\n{ actions: { a: {} } }\n".to_vec(),
        ),
        ("unterminated %w", b"{ actions: { a: %w[ b c".to_vec()),
        ("unterminated regex", b"{ actions: { a: /[/ } }".to_vec()),
        (
            "__END__",
            b"{ actions: { a: {} } }\n__END__\n{ actions: { b: {} } }\x00\xff".to_vec(),
        ),
        ("BOM", b"\xef\xbb\xbf{ actions: { a: {} } }".to_vec()),
        ("only a comment", b"# { actions: { a: {} } }".to_vec()),
        (
            "long line",
            [
                b"{ actions: { ".to_vec(),
                vec![b'a'; 1 << 20],
                b": {} } }".to_vec(),
            ]
            .concat(),
        ),
    ];
    for (what, src) in &cases {
        ruby(what, src);
    }
    // many heredocs opened on one line (short delimiters: see the ignored test below for long ones)
    let heredocs = (0..50).map(|i| format!("<<~H{i}")).collect::<Vec<_>>().join(", ");
    ruby(
        "50 heredocs",
        format!("{{ actions: {{ a: [{heredocs}] }} }}\n").as_bytes(),
    );
    // a source over the size limit is refused up front
    let big = vec![b' '; rlcm::ruby::MAX_SOURCE + 1];
    assert!(
        ruby("over the limit", &big)
            .parse_error
            .is_some_and(|e| e.contains("more than"))
    );

    for (what, src) in [
        ("100k {", "{".repeat(n)),
        ("unterminated heredoc", "{ actions: { a: <<~X\n".to_string()),
        (
            "unterminated =begin",
            "=begin\n{ actions: { a: {} } }".to_string(),
        ),
    ] {
        assert!(
            ruby(what, src.as_bytes()).parse_error.is_some(),
            "{what}: no parse error"
        );
    }
    // names are listed once, in source order, whatever the key style; invalid UTF-8 names are
    // skipped, not mangled
    let def = ruby(
        "styles",
        b"{ actions: { a: {}, 'a' => {}, :b => {}, \"c\": {}, \"\xff\" => {} }, triggers: { t: {} } }",
    );
    assert_eq!(def.actions, ["a", "b", "c"]);
    assert_eq!(def.triggers, ["t"]);
}

// ---------------------------------------------------------------------------------------------
// Ruby that aborts the process: tree-sitter-ruby 0.23.1's external scanner (C) fails an
// `assert` when its heredoc state does not fit its 1024-byte serialisation buffer, or when a
// heredoc delimiter is 256 bytes or more (its length is stored in one byte). An abort cannot be
// caught, so each case runs in a child process (this test binary, filtered to the helper test
// below) and the test checks how the child ended.

/// Env var that tells [`child_parses_the_file_named_in_env`] which file to read, and how.
const CHILD_ENV: &str = "RLCM_FUZZ_CHILD";

/// Helper for [`long_heredoc_delimiters_do_not_abort`]: reads the file named by `CHILD_ENV`
/// as Ruby (`ruby:PATH`) or as a package zip (`package:PATH`); does nothing in a normal run.
#[test]
fn child_parses_the_file_named_in_env() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    match spec.split_once(':') {
        Some(("ruby", path)) => {
            ruby("child", &std::fs::read(path).unwrap());
        }
        Some(("package", path)) => {
            let path = Path::new(path);
            let read = read_package(
                "child",
                path.parent().unwrap(),
                &std::fs::read(path).unwrap(),
                LIMITS,
            );
            assert_eq!(read.error(), None, "{read:?}");
        }
        _ => panic!("bad {CHILD_ENV}: {spec}"),
    }
}

/// Reads `bytes` (Ruby source, or a zip when `package`) in a child process; returns how it
/// ended.
fn parse_in_child(dir: &Path, bytes: &[u8], package: bool) -> std::process::Output {
    let (file, kind) = if package {
        ("input.zip", "package")
    } else {
        ("connector.rb", "ruby")
    };
    let path = dir.join(file);
    std::fs::write(&path, bytes).unwrap();
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            // The test's full name in this binary: its module path without the crate.
            &match module_path!().split_once("::") {
                Some((_, module)) => format!("{module}::child_parses_the_file_named_in_env"),
                None => "child_parses_the_file_named_in_env".to_string(),
            },
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{kind}:{}", path.display()))
        .output()
        .unwrap()
}

/// Sources that made tree-sitter-ruby 0.23.1 abort (`SIGABRT`), each with why.
fn aborting_ruby() -> Vec<(&'static str, String)> {
    let d = "A".repeat(256);
    vec![
        (
            "256-byte heredoc delimiter (length stored in one byte; deserialize assert)",
            format!("{{ actions: {{ a: <<~{d}\n x\n{d}\n }} }}\n"),
        ),
        (
            "quoted heredoc delimiter left open (it runs to the end of the file)",
            format!(
                "{{ actions: {{ a: <<~\"BASH\n{}BASH\n }} }}\n",
                "  some text in the heredoc\n".repeat(12)
            ),
        ),
        (
            "five heredocs on a line, 1025 bytes of state (serialize assert, one byte past the buffer)",
            format!(
                "{{ actions: {{ a: [{}, <<~EEE] }} }}\n",
                ["A", "B", "C", "D"]
                    .map(|c| format!("<<~{}", c.repeat(250)))
                    .join(", ")
            ),
        ),
        (
            "a 19-byte heredoc delimiter inside 200 nested string interpolations",
            format!("{}<<~{}\n", "\"#{".repeat(200), "H".repeat(19)),
        ),
    ]
}

#[test]
fn the_child_process_helper_works() {
    let dir = tempfile::tempdir().unwrap();
    let out = parse_in_child(dir.path(), b"{ actions: { a: <<~X\n x\nX\n } }", false);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "{out:?}"
    );
    let out = parse_in_child(dir.path(), &good_zip(), true);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn long_heredoc_delimiters_do_not_abort() {
    let dir = tempfile::tempdir().unwrap();
    let mut failed = Vec::new();
    for (what, src) in aborting_ruby() {
        // the source alone, and as the code of a connector in a package (`rlcm inspect`,
        // `plan`, `import` and `verify` all load it)
        let zip = build(&[
            entry(0, b"p.custom_adapter.json", CONNECTOR_JSON),
            entry(DEFLATE, b"p.custom_adapter.rb", src.as_bytes()),
        ]);
        for (how, out) in [
            ("Ruby", parse_in_child(dir.path(), src.as_bytes(), false)),
            ("package", parse_in_child(dir.path(), &zip, true)),
        ] {
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let why = stderr.lines().find(|l| l.contains("Assertion")).unwrap_or("");
                failed.push(format!("{what} ({how}): {} {why}", out.status));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "the Ruby parser aborted:\n{}",
        failed.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Entries that share their data: every central directory record points at the same local
// entry, so the package expands to N times its size while each entry, alone, passes the size
// and ratio checks (the "overlapping files" zip bomb; with a deflated entry near the 1000:1
// ratio limit it expands to about 1000 × N times the file size, up to the 32 GiB total).

/// A package of `n` entries `eNN.recipe.json` that all point at the data of the first.
fn overlapping_zip(n: usize, content: &[u8]) -> Vec<u8> {
    let zip = build(&[entry(0, b"e00.recipe.json", content)]);
    let eocd = eocd_at(&zip);
    let cd_offset = u32::from_le_bytes(zip[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let record = zip[cd_offset..eocd].to_vec();
    let mut out = zip[..cd_offset].to_vec();
    for i in 0..n {
        let mut r = record.clone();
        let name_at = r.len() - b"e00.recipe.json".len();
        r[name_at + 1..name_at + 3].copy_from_slice(format!("{i:02}").as_bytes());
        out.extend_from_slice(&r);
    }
    let cd_size = (out.len() - cd_offset) as u32;
    out.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0]);
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&(cd_offset as u32).to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

#[test]
fn entries_sharing_their_data_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let content = [b"{\"name\": \"", &[b'x'; 60_000][..], b"\"}"].concat();
    let zip = overlapping_zip(60, &content);
    // 60 entries of 60 kB each from a 65 kB file
    let read = read_package("overlapping", dir.path(), &zip, Limits::default());
    let err = read.error().unwrap_or_else(|| panic!("accepted: {read:?}"));
    assert!(err.contains("entry `e"), "{err}");
}
