//! The CI examples in `examples/ci/` work: every `rlcm` command line they contain runs against
//! the shipped examples (`testdata/sandbox` as `sandbox/`, `testdata/production` as
//! `production/`, `testdata/orders-release.yaml` as `release.yaml`), exits with a code their
//! gate knows, and writes the files they post and upload.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::*;

/// Every line of a `run:`, `script:` or `before_script:` string that starts with `rlcm `.
fn rlcm_lines(v: &serde_json::Value, in_commands: bool, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if in_commands => {
            for line in s.lines() {
                let line = line.trim();
                if line.starts_with("rlcm ") {
                    out.push(line.to_string());
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|x| rlcm_lines(x, in_commands, out)),
        serde_json::Value::Object(m) => m.iter().for_each(|(k, x)| {
            let commands = matches!(k.as_str(), "run" | "script" | "before_script");
            rlcm_lines(x, commands, out)
        }),
        _ => {}
    }
}

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&testdata("sandbox"), &dir.path().join("sandbox"));
    copy_tree(&testdata("production"), &dir.path().join("production"));
    std::fs::copy(testdata("orders-release.yaml"), dir.path().join("release.yaml")).unwrap();
    dir
}

/// Runs each line with bash in `dir`, the rlcm under test first on PATH; returns exit codes.
fn run_lines(dir: &Path, lines: &[String]) -> Vec<i32> {
    let bin = Path::new(env!("CARGO_BIN_EXE_rlcm")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    lines
        .iter()
        .map(|line| {
            let out = Command::new("bash")
                .args(["-c", line])
                .current_dir(dir)
                .env("PATH", &path)
                .env("NO_COLOR", "1")
                .env("RLCM_USER", "ci")
                .output()
                .expect("bash");
            let code = out.status.code().unwrap_or(-1);
            assert!(
                matches!(code, 0 | 3 | 10),
                "`{line}` exited {code}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            code
        })
        .collect()
}

fn example(name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ci")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let v: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let mut lines = Vec::new();
    rlcm_lines(&v, false, &mut lines);
    assert!(lines.len() >= 2, "{name}: {lines:?}");
    lines
}

fn check_outputs(dir: &Path) {
    let md = std::fs::read_to_string(dir.join("plan.md")).unwrap();
    assert!(md.starts_with("## rlcm plan: ⛔ blocked"), "{md}");
    assert!(md.contains("### Changes inside updated assets"), "{md}");
    let html = std::fs::read_to_string(dir.join("plan.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("data-verdict=\"blocked\""));
}

#[test]
fn github_actions_example_runs_against_the_examples() {
    let lines = example("github-actions.yml");
    let dir = workspace();
    let codes = run_lines(dir.path(), &lines);
    // The examples are blocked (a breaking connector change): the gate fails the job.
    assert_eq!(codes[0], 3, "{lines:?}");
    check_outputs(dir.path());
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("plan.json")).unwrap()).unwrap();
    validate("plan", &plan);
}

#[test]
fn gitlab_ci_example_runs_against_the_examples() {
    let lines = example("gitlab-ci.yml");
    let dir = workspace();
    run_lines(dir.path(), &lines);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("plan.exit"))
            .unwrap()
            .trim(),
        "3"
    );
    check_outputs(dir.path());
    let diff = std::fs::read_to_string(dir.path().join("diff.md")).unwrap();
    assert!(diff.starts_with("## rlcm diff: differs"), "{diff}");
}
