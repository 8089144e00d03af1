//! Packages: deterministic bytes, Workato's layout, read-back, and verification that names
//! every tampered entry. Inputs come from the realworld corpus (read with `Source`), from the
//! shipped directory samples (read lazily from disk), and from generated trees.

use crate::common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::{realworld, realworld_root};
use rlcm::package::{
    self, FileSource, MANIFEST_NAME, PackageFile, PackageManifest, PackageMeta, PackageSource, Problem,
    VerifyReport, WriteOptions, WrittenPackage, write_package,
};
use rlcm::source::Source;
use rlcm::workspace::Workspace;

const KAKEIBO: &str = "AtsuyaYamakawa__workato-recipes-public/家計簿.zip";
const HOUJIN: &str = "AtsuyaYamakawa__workato-recipes-public/法人番号.zip";
const DEWY: &str = "workato-devs__dewy-resort/workato/recipes";

/// Every file of a source: in memory for zips, lazily from disk for directories.
fn files_of(source: &Source) -> Vec<PackageFile> {
    let mut reader = source.reader().unwrap();
    source
        .entries()
        .iter()
        .map(|e| match source {
            Source::Dir { root, .. } => PackageFile::from_path(&e.path, root.join(&e.path)),
            Source::Zip { .. } => PackageFile::bytes(&e.path, reader.read(e).unwrap()),
        })
        .collect()
}

/// The package description of a source, as an export would give it.
fn meta_of(source: &Source) -> PackageMeta {
    let ws = Workspace::load(source).unwrap();
    let (assets, connectors) = package::describe_workspace(&ws);
    PackageMeta {
        source: Some(PackageSource {
            name: "sandbox".into(),
            id: Some(42),
        }),
        manifest: serde_json::json!({"name": "test", "folders": [""], "dependencies": true}),
        assets,
        connectors,
    }
}

fn write(source: &Source, out: &Path, opts: &WriteOptions) -> WrittenPackage {
    write_package(out, files_of(source), meta_of(source), opts)
        .unwrap_or_else(|e| panic!("{}: {e}", source.display()))
}

fn open(rel: &str) -> Source {
    Source::open(&realworld(rel)).unwrap()
}

/// Every zip of the realworld corpus.
fn realworld_zips() -> Vec<PathBuf> {
    let mut zips: Vec<PathBuf> = walk(&realworld_root())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .collect();
    zips.sort();
    assert!(zips.len() >= 5, "{zips:?}");
    zips
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The raw archive entries in order: (name, is_dir, unix mode, stored?, size).
fn raw_entries(zip: &Path) -> Vec<(String, bool, Option<u32>, bool, u64)> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let f = archive.by_index_raw(i).unwrap();
            (
                String::from_utf8(f.name_raw().to_vec()).unwrap(),
                f.is_dir(),
                f.unix_mode(),
                f.compression() == zip::CompressionMethod::Stored,
                f.size(),
            )
        })
        .collect()
}

/// Validates a document against one of `package::package_schemas()`.
fn validate(name: &str, value: &serde_json::Value) {
    let schemas = package::package_schemas();
    let (_, schema) = schemas.iter().find(|(n, _)| *n == name).unwrap();
    let validator = jsonschema::validator_for(schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
    assert_eq!(value["format_version"], 1);
}

fn problems(report: &VerifyReport) -> Vec<(String, Problem)> {
    report
        .mismatches
        .iter()
        .map(|m| (m.entry.clone(), m.problem))
        .collect()
}

#[test]
fn same_inputs_give_identical_bytes_and_source_date_epoch_changes_them() {
    let dir = tempfile::tempdir().unwrap();
    for (i, source) in [open(HOUJIN), Source::open(&realworld(DEWY)).unwrap()]
        .iter()
        .enumerate()
    {
        let a = dir.path().join(format!("a{i}.zip"));
        let b = dir.path().join(format!("b{i}.zip"));
        let wa = write(source, &a, &WriteOptions::default());
        let wb = write(source, &b, &WriteOptions::default());
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{}",
            source.display()
        );
        assert_eq!(wa.digest, wb.digest);
        assert_eq!(wa.entries, wb.entries);

        let dated = WriteOptions {
            source_date_epoch: Some(1_700_000_000),
            ..WriteOptions::default()
        };
        let c = dir.path().join(format!("c{i}.zip"));
        let d = dir.path().join(format!("d{i}.zip"));
        let wc = write(source, &c, &dated);
        write(source, &d, &dated);
        assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
        assert_eq!(std::fs::read(&c).unwrap(), std::fs::read(&d).unwrap());
        // The time is not part of the content: the digest stays.
        assert_eq!(wa.digest, wc.digest);
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&c).unwrap()).unwrap();
        for i in 0..archive.len() {
            let t = archive.by_index_raw(i).unwrap().last_modified().unwrap();
            assert_eq!(
                (t.year(), t.month(), t.day(), t.hour(), t.minute()),
                (2023, 11, 14, 22, 13)
            );
        }
    }
    // The bytes do not depend on how many threads compress.
    let source = Source::open(&realworld(DEWY)).unwrap();
    let one = dir.path().join("one-thread.zip");
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| write(&source, &one, &WriteOptions::default()));
    assert_eq!(
        std::fs::read(&one).unwrap(),
        std::fs::read(dir.path().join("a1.zip")).unwrap()
    );
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

#[test]
fn written_package_reads_back_with_the_same_assets() {
    let dir = tempfile::tempdir().unwrap();
    for rel in [HOUJIN, KAKEIBO, DEWY] {
        let source = Source::open(&realworld(rel)).unwrap();
        let before = Workspace::load(&source).unwrap();
        let out = dir.path().join("out.zip");
        let written = write(&source, &out, &WriteOptions::default());
        let back = Source::open(&out).unwrap();
        let after = Workspace::load(&back).unwrap();
        let summary = |ws: &Workspace| -> Vec<(String, String, String, u64, String)> {
            ws.assets
                .iter()
                .map(|a| {
                    (
                        a.path.clone(),
                        a.asset_type.as_str().to_string(),
                        a.name.clone(),
                        a.size,
                        a.hash.clone(),
                    )
                })
                .collect()
        };
        assert_eq!(summary(&before), summary(&after), "{rel}");
        assert_eq!(before.references.len(), after.references.len(), "{rel}");
        assert_eq!(after.other_files, [MANIFEST_NAME], "{rel}");

        // rlcm-package.json is last, describes every asset, and verifies.
        let raw = raw_entries(&out);
        assert_eq!(raw.last().unwrap().0, MANIFEST_NAME);
        let manifest: PackageManifest =
            serde_json::from_slice(&back.read(back.find(MANIFEST_NAME).unwrap()).unwrap()).unwrap();
        assert_eq!(manifest, written.manifest);
        assert_eq!(manifest.assets.len(), before.assets.len());
        assert_eq!(manifest.entries.len(), source.entries().len());
        assert_eq!(package::compute_digest(&manifest), manifest.digest);
        let report = rlcm::ops::verify::verify(&out).unwrap();
        assert!(
            report.ok && report.verified && !report.workato_strict,
            "{report:#?}"
        );
        assert_eq!(report.entries_checked, source.entries().len() as u64);
        assert_eq!(report.digest.as_deref(), Some(written.digest.as_str()));
        validate("verify", &serde_json::to_value(&report).unwrap());
        validate("package-manifest", &serde_json::to_value(&manifest).unwrap());
    }
}

#[test]
fn connectors_carry_version_note_code_hash_and_definition() {
    let dir = tempfile::tempdir().unwrap();
    let source = open(HOUJIN);
    let out = dir.path().join("p.zip");
    let written = write(&source, &out, &WriteOptions::default());
    let c = &written.manifest.connectors[0];
    assert_eq!(c.title, "法人番号システム");
    assert_eq!(c.code.as_deref(), Some("法人番号システム.custom_adapter.rb"));
    let code = written
        .entries
        .iter()
        .find(|e| Some(&e.path) == c.code.as_ref())
        .unwrap();
    assert_eq!(c.code_blake3.as_deref(), Some(code.blake3.as_str()));
    assert!(!c.actions.is_empty());
    let recipe = written
        .manifest
        .assets
        .iter()
        .find(|a| {
            a.path
                .ends_with("slackから法人番号付きで取引先登録_配布用.recipe.json")
        })
        .unwrap();
    assert!(
        recipe
            .references
            .contains(&"法人番号システム.custom_adapter.json".to_string()),
        "{recipe:?}"
    );
}

#[test]
fn directory_entries_are_placed_as_workato_places_them() {
    let dir = tempfile::tempdir().unwrap();
    let source = open(KAKEIBO);
    let out = dir.path().join("家計簿.zip");
    let written = write(&source, &out, &WriteOptions::default());
    let raw = raw_entries(&out);
    let names: Vec<&str> = raw.iter().map(|r| r.0.as_str()).collect();
    assert!(!names.contains(&"Personal use/"), "{names:?}");
    assert!(names.contains(&"Personal use/コネクション/"), "{names:?}");

    // The same directory entries as the Workato zip.
    let Source::Zip { directories, .. } = &source else {
        panic!()
    };
    let mut workato = directories.clone();
    workato.sort();
    let mut ours: Vec<String> = raw.iter().filter(|r| r.1).map(|r| r.0.clone()).collect();
    assert_eq!(ours, written.directories);
    ours.sort();
    assert_eq!(ours, workato);

    // Each just before the first file of its folder; files sorted; one per folder with files.
    let files: Vec<&str> = raw.iter().filter(|r| !r.1).map(|r| r.0.as_str()).collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted);
    for (i, (name, is_dir, mode, stored, size)) in raw.iter().enumerate() {
        if *is_dir {
            assert_eq!((*mode, *stored, *size), (Some(0o40755), true, 0), "{name}");
            let next = &raw[i + 1].0;
            let folder = name.trim_end_matches('/');
            assert_eq!(
                rlcm::asset::folder_of(next),
                folder,
                "{name} is followed by {next}"
            );
            assert!(
                !raw[..i]
                    .iter()
                    .any(|r| rlcm::asset::folder_of(&r.0) == folder && !r.1),
                "{name} comes after a file of its folder"
            );
        } else {
            assert_eq!((*mode, *stored), (Some(0o100644), false), "{name}");
            let folder = rlcm::asset::folder_of(name);
            if !folder.is_empty() {
                assert!(
                    names.contains(&format!("{folder}/").as_str()),
                    "{name} has no folder entry"
                );
            }
        }
    }
}

#[test]
fn workato_strict_packages_have_no_manifest_and_verify_as_unverifiable() {
    let dir = tempfile::tempdir().unwrap();
    let source = open(HOUJIN);
    let out = dir.path().join("strict.zip");
    let opts = WriteOptions {
        workato_strict: true,
        ..WriteOptions::default()
    };
    let written = write(&source, &out, &opts);
    assert!(!written.digest.is_empty());
    let raw = raw_entries(&out);
    assert!(raw.iter().all(|r| r.0 != MANIFEST_NAME));
    assert_eq!(raw.iter().filter(|r| !r.1).count(), source.entries().len());
    let report = package::verify_package(&out).unwrap();
    assert!(
        report.ok && !report.verified && report.workato_strict,
        "{report:#?}"
    );
    assert!(report.mismatches.is_empty() && report.digest.is_none());
    assert!(report.note.contains("nothing to verify"), "{}", report.note);
    assert!(package::ensure_verified(&out).is_ok());

    // A real Workato export reads the same way.
    let report = package::verify_package(&realworld(KAKEIBO)).unwrap();
    assert!(
        report.ok && !report.verified && report.workato_strict,
        "{report:#?}"
    );
    assert_eq!(report.entries_checked, 8);
}

/// Rebuilds `src` into `dst` with the zip crate, copying entries raw: `skip` is left out,
/// `manifest` replaces rlcm-package.json, `extra` is appended.
fn rebuild(
    src: &Path,
    dst: &Path,
    skip: Option<&str>,
    manifest: Option<&[u8]>,
    extra: Option<(&str, &[u8])>,
) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for i in 0..archive.len() {
        let f = archive.by_index_raw(i).unwrap();
        let name = String::from_utf8(f.name_raw().to_vec()).unwrap();
        if Some(name.as_str()) == skip {
            continue;
        }
        match (name == MANIFEST_NAME, manifest) {
            (true, Some(bytes)) => {
                drop(f);
                w.start_file(MANIFEST_NAME, opts).unwrap();
                w.write_all(bytes).unwrap();
            }
            _ => w.raw_copy_file(f).unwrap(),
        }
    }
    if let Some((name, bytes)) = extra {
        w.start_file(name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
}

fn read_manifest(zip: &Path) -> serde_json::Value {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut text = String::new();
    archive
        .by_name(MANIFEST_NAME)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_flipped_byte_is_reported_by_entry() {
    let dir = tempfile::tempdir().unwrap();
    let source = open(HOUJIN);
    let good = dir.path().join("good.zip");
    write(&source, &good, &WriteOptions::default());
    let bytes = std::fs::read(&good).unwrap();
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&good).unwrap()).unwrap();
    let mut checked = 0;
    for i in 0..archive.len() {
        let f = archive.by_index_raw(i).unwrap();
        if f.is_dir() {
            continue;
        }
        let name = String::from_utf8(f.name_raw().to_vec()).unwrap();
        let at = (f.data_start() + f.compressed_size() / 2) as usize;
        let mut bad = bytes.clone();
        bad[at] ^= 0x55;
        let path = dir.path().join(format!("bad{i}.zip"));
        std::fs::write(&path, &bad).unwrap();
        let report = package::verify_package(&path).unwrap();
        assert!(!report.ok && !report.verified, "{name}: {report:#?}");
        if name == MANIFEST_NAME {
            assert_eq!(
                problems(&report),
                [(name.clone(), Problem::BadManifest)],
                "{report:#?}"
            );
        } else {
            let p = problems(&report);
            assert!(
                p == [(name.clone(), Problem::Unreadable)] || p == [(name.clone(), Problem::Blake3Mismatch)],
                "{name}: {p:?}"
            );
        }
        let err = package::ensure_verified(&path).unwrap_err().to_string();
        assert!(err.contains(&format!("entry `{name}`")), "{err}");
        checked += 1;
    }
    assert_eq!(checked, source.entries().len() + 1);
}

#[test]
fn edited_missing_and_unlisted_entries_are_all_reported() {
    let dir = tempfile::tempdir().unwrap();
    let source = open(HOUJIN);
    let good = dir.path().join("good.zip");
    write(&source, &good, &WriteOptions::default());
    let manifest = read_manifest(&good);
    let target = "都道府県コード.lookup_table.json";
    let index = manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["path"] == target)
        .unwrap();

    // blake3 edited, digest left alone: the entry and the digest are both reported.
    let mut edited = manifest.clone();
    edited["entries"][index]["blake3"] = serde_json::json!("0".repeat(64));
    let path = dir.path().join("blake3.zip");
    rebuild(
        &good,
        &path,
        None,
        Some(&serde_json::to_vec(&edited).unwrap()),
        None,
    );
    let report = package::verify_package(&path).unwrap();
    let p = problems(&report);
    assert!(
        p.contains(&(target.to_string(), Problem::Blake3Mismatch)),
        "{p:?}"
    );
    assert!(
        p.contains(&(MANIFEST_NAME.to_string(), Problem::DigestMismatch)),
        "{p:?}"
    );
    let m = report
        .mismatches
        .iter()
        .find(|m| m.problem == Problem::Blake3Mismatch)
        .unwrap();
    assert_eq!(m.expected.as_deref(), Some("0".repeat(64).as_str()));

    // size edited and the digest recomputed (a careful forger): the entry is still reported.
    let mut edited = manifest.clone();
    edited["entries"][index]["size"] = serde_json::json!(1);
    let mut doc: PackageManifest = serde_json::from_value(edited).unwrap();
    doc.digest = package::compute_digest(&doc);
    let path = dir.path().join("size.zip");
    rebuild(&good, &path, None, Some(&serde_json::to_vec(&doc).unwrap()), None);
    let report = package::verify_package(&path).unwrap();
    let p = problems(&report);
    assert!(p.contains(&(target.to_string(), Problem::SizeMismatch)), "{p:?}");
    assert!(!p.iter().any(|(_, k)| *k == Problem::DigestMismatch), "{p:?}");

    // Listed but missing, and present but unlisted, in one package: both reported.
    let path = dir.path().join("missing.zip");
    rebuild(
        &good,
        &path,
        Some(target),
        None,
        Some(("extra.recipe.json", b"{\n  \"name\": \"x\"\n}")),
    );
    let report = package::verify_package(&path).unwrap();
    assert_eq!(
        problems(&report),
        [
            ("extra.recipe.json".to_string(), Problem::Unlisted),
            (target.to_string(), Problem::Missing),
        ]
    );
    let err = package::ensure_verified(&path).unwrap_err().to_string();
    assert!(
        err.contains("extra.recipe.json") && err.contains(&format!("also: `{target}`")),
        "{err}"
    );
}

#[test]
fn every_realworld_zip_repackages_to_the_same_entries_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for zip in realworld_zips() {
        let source = Source::open(&zip).unwrap();
        let out = dir.path().join("re.zip");
        write(&source, &out, &WriteOptions::default());
        let back = Source::open(&out).unwrap();
        let mut want: Vec<String> = source.entries().iter().map(|e| e.path.clone()).collect();
        want.push(MANIFEST_NAME.to_string());
        want.sort();
        let got: Vec<String> = back.entries().iter().map(|e| e.path.clone()).collect();
        assert_eq!(got, want, "{}", zip.display());
        let mut a = source.reader().unwrap();
        let mut b = back.reader().unwrap();
        for e in source.entries() {
            let other = back.find(&e.path).unwrap();
            assert!(
                a.read(e).unwrap() == b.read(other).unwrap(),
                "{}: {}",
                zip.display(),
                e.path
            );
        }
        let report = package::verify_package(&out).unwrap();
        assert!(report.ok && report.verified, "{}: {report:#?}", zip.display());
    }
}

/// A small deterministic generator of incompressible bytes.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

#[test]
fn big_files_stream_and_many_files_batch_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("logos")).unwrap();
    let big = noise(9 << 20, 7);
    std::fs::write(tree.join("logos/big.custom_adapter.png"), &big).unwrap();
    let mut files = vec![PackageFile::from_path(
        "logos/big.custom_adapter.png",
        tree.join("logos/big.custom_adapter.png"),
    )];
    for i in 0..1500 {
        let text = format!(
            "{{\n  \"name\": \"recipe {i}\",\n  \"code\": \"{}\"\n}}",
            "x".repeat(i % 700)
        );
        files.push(PackageFile::bytes(
            format!("f{:02}/r{i:04}.recipe.json", i % 37),
            text.into_bytes(),
        ));
    }
    files.push(PackageFile::bytes("empty.json", Vec::new()));
    let write_to = |name: &str| {
        let out = dir.path().join(name);
        let files = files.clone();
        let written = write_package(&out, files, PackageMeta::default(), &WriteOptions::default()).unwrap();
        (out, written)
    };
    let (a, wa) = write_to("a.zip");
    let (b, _) = write_to("b.zip");
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(wa.entries.len(), 1502);
    assert_eq!(wa.directories.len(), 38);
    let big_entry = wa
        .entries
        .iter()
        .find(|e| e.path.ends_with("big.custom_adapter.png"))
        .unwrap();
    assert_eq!(big_entry.size, big.len() as u64);
    assert_eq!(big_entry.blake3, blake3::hash(&big).to_hex().to_string());
    let report = package::verify_package(&a).unwrap();
    assert!(report.ok && report.verified, "{report:#?}");
    assert_eq!(report.entries_checked, 1502);
    let back = Source::open(&a).unwrap();
    assert_eq!(
        back.read(back.find("logos/big.custom_adapter.png").unwrap())
            .unwrap(),
        big
    );
    assert_eq!(back.read(back.find("empty.json").unwrap()).unwrap(), b"");
    let FileSource::Bytes(first) = &files[1].source else {
        panic!()
    };
    assert_eq!(&back.read(back.find(&files[1].path).unwrap()).unwrap(), first);
}

#[test]
fn refuses_descriptions_that_disagree_with_the_files_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = open(HOUJIN);
    let mut meta = meta_of(&source);
    meta.assets[0].blake3 = "0".repeat(64);
    let asset = meta.assets[0].path.clone();
    let out = dir.path().join("p.zip");
    let err = write_package(&out, files_of(&source), meta, &WriteOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("asset `{asset}`")) && err.contains("blake3"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "left files behind"
    );

    let err = write_package(
        &out,
        vec![PackageFile::bytes("a.recipe.json", b"{}".to_vec())],
        PackageMeta::default(),
        &WriteOptions {
            compression_level: 12,
            ..WriteOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("compression level"), "{err}");
}

/// SPEC §9 workspaces exceed the 65,535 entries of a plain zip: the writer switches to zip64
/// and the reader (and the check before the rename) follow.
#[test]
fn more_than_65535_entries_use_zip64_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PackageFile> = (0..70_000)
        .map(|i| {
            PackageFile::bytes(
                format!("f{:03}/r{i:05}.recipe.json", i % 300),
                format!("{i}").into_bytes(),
            )
        })
        .collect();
    let out = dir.path().join("many.zip");
    let written = write_package(&out, files, PackageMeta::default(), &WriteOptions::default()).unwrap();
    assert_eq!(written.entries.len(), 70_000);
    assert_eq!(written.directories.len(), 300);
    let back = Source::open(&out).unwrap();
    assert_eq!(back.entries().len(), 70_001);
    let entry = back.find("f007/r00007.recipe.json").unwrap();
    assert_eq!(back.read(entry).unwrap(), b"7");
}
