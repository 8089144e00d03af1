//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use unicode_normalization::UnicodeNormalization;

/// The realworld corpus (`../shared/realworld`, or `$RLCM_REALWORLD`).
pub fn realworld_root() -> PathBuf {
    let root = std::env::var_os("RLCM_REALWORLD")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realworld"));
    assert!(
        root.is_dir(),
        "the realworld corpus is missing at {}; set RLCM_REALWORLD to its location",
        root.display()
    );
    root
}

/// A realworld file or folder by its path, comparing names after Unicode NFC normalisation
/// (some zip names are stored decomposed).
pub fn realworld(rel: &str) -> PathBuf {
    let mut path = realworld_root();
    for part in rel.split('/') {
        let want: String = part.nfc().collect();
        let found = std::fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().nfc().collect::<String>() == want)
            .unwrap_or_else(|| panic!("{part} not found in {}", path.display()));
        path = found.path();
    }
    path
}

/// The shipped example environments.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(rel)
}

/// Runs the rlcm binary.
pub fn rlcm(args: &[&str]) -> Output {
    rlcm_in(None, args, &[])
}

/// Runs the rlcm binary with a working directory and environment variables.
pub fn rlcm_in(dir: Option<&Path>, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rlcm"));
    cmd.args(args).env("NO_COLOR", "1").env("RLCM_USER", "tester");
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run rlcm")
}

/// Runs rlcm with `--format json`, checks exit code 0 and validates against `schemas/<schema>`.
pub fn rlcm_json(schema: &str, args: &[&str]) -> serde_json::Value {
    let out = rlcm(args);
    assert!(
        out.status.success(),
        "rlcm {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    validate(schema, &value);
    value
}

/// Validates a document against `schemas/<name>.schema.json`.
pub fn validate(name: &str, value: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("schemas/{name}.schema.json"));
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "output does not match schemas/{name}.schema.json:\n{}",
        errors.join("\n")
    );
    assert_eq!(value["format_version"], 1);
}

/// Stdout as a string.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr as a string.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
