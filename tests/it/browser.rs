//! The HTML reports in a real browser: headless Chromium opens the plan and impact pages of the
//! shipped examples and of a generated 1k-recipe environment, and the tests check the DOM it
//! built (verdict, counts, every breaking recipe), that it requested nothing but the file
//! itself (its net log), and that it logged no console message (the page has no script, so any
//! console line is a CSP refusal or an error). Screenshots go to `target/test-artifacts/`.
//!
//! Chromium must be installed (`.ci/run` installs Debian's `chromium`); without it these tests
//! fail, unless `RLCM_SKIP_BROWSER=1` says to skip them.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::browser::{self, Visit, chromium};
use common::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Opens `html` (written to `work/name.html`) in chromium; also writes
/// `target/test-artifacts/name.png`.
fn visit(bin: &Path, work: &Path, name: &str, html: &str) -> Visit {
    let page = work.join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let page = page.canonicalize().unwrap();
    browser::visit(
        bin,
        work,
        name,
        &format!("file://{}", page.display()),
        (1280, 2400),
    )
}

/// Nothing but the page itself was requested, and nothing was logged to the console.
fn assert_hermetic(v: &Visit, page: &str) {
    assert!(v.console.is_empty(), "{page}: console messages: {:#?}", v.console);
    let outside: Vec<&String> = v
        .requested
        .iter()
        .filter(|u| !u.starts_with("file://") && !u.starts_with("data:") && !u.starts_with("about:"))
        .filter(|u| !browser::browser_own(u))
        .collect();
    assert!(outside.is_empty(), "{page}: requested {outside:#?}");
    // The only file it opened is the page itself.
    let files: std::collections::BTreeSet<&String> =
        v.requested.iter().filter(|u| u.starts_with("file://")).collect();
    assert!(files.len() <= 1, "{page}: opened other files: {files:#?}");
    assert!(v.net_log_bytes > 1000, "{page}: no net log was written");
}

/// The DOM has the verdict, the counts of the plan and every breaking recipe of it.
fn assert_plan_dom(dom: &str, plan: &serde_json::Value) {
    let verdict = if plan["blocked"] == true {
        "blocked"
    } else {
        "ready"
    };
    assert!(
        dom.contains(&format!("data-verdict=\"{verdict}\"")),
        "verdict {verdict} missing"
    );
    for (action, n) in plan["counts"].as_object().unwrap() {
        let want = format!("<li data-action=\"{action}\"><b>{n}</b>");
        assert!(dom.contains(&want), "count {want} missing");
    }
    let impact = plan["impact"].as_array().unwrap();
    let breaking: Vec<&str> = impact
        .iter()
        .filter(|e| e["severity"] == "breaking")
        .map(|e| e["recipe"].as_str().unwrap())
        .collect();
    let want = format!(
        "<li class=\"breaking\" data-severity=\"breaking\"><b>{}</b>",
        breaking.len()
    );
    assert!(dom.contains(&want), "{want} missing");
    let table = dom
        .split("id=\"impact-by-severity\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("the impact table");
    for r in &breaking {
        let esc = rlcm_escape(r);
        assert!(
            table.contains(&format!("data-recipe=\"{esc}\" data-severity=\"breaking\"")),
            "breaking recipe {r} missing from the impact table"
        );
    }
    assert_eq!(table.matches("<tr class=").count(), impact.len(), "impact rows");
    assert!(dom.contains("<svg id=\"dependency-graph\""), "graph missing");
}

fn rlcm_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn plan_pages(args: &[&str]) -> (serde_json::Value, String) {
    let mut j = args.to_vec();
    j.extend(["--format", "json"]);
    let out = run(&j);
    let plan: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    validate("plan", &plan);
    let mut h = args.to_vec();
    h.extend(["--format", "html"]);
    let html = stdout(&run(&h));
    (plan, html)
}

#[test]
fn shipped_examples_plan_and_impact_in_chromium() {
    let Some(bin) = chromium() else { return };
    let work = tempfile::tempdir().unwrap();
    let sandbox = testdata("sandbox");
    let prod = testdata("production");
    let manifest = testdata("orders-release.yaml");
    let (plan, html) = plan_pages(&[
        "plan",
        "--from",
        s(&sandbox),
        "--manifest",
        s(&manifest),
        "--env",
        s(&prod),
    ]);
    assert_eq!(plan["blocked"], true);
    let v = visit(&bin, work.path(), "plan-examples", &html);
    assert_hermetic(&v, "plan");
    assert_plan_dom(&v.dom, &plan);
    assert!(v.dom.contains("legacy_export"));
    // The diff of the updated recipe is in a <details> the browser kept.
    assert!(v.dom.contains("data-path=\"orders/sync_orders.recipe.json\""));

    let out = run(&["impact", "Acme CRM", "--env", s(&prod), "--format", "html"]);
    let v = visit(&bin, work.path(), "impact-examples", &stdout(&out));
    assert_hermetic(&v, "impact");
    let report = json(
        "impact",
        &["impact", "Acme CRM", "--env", s(&prod), "--format", "json"],
    );
    for d in report["dependents"].as_array().unwrap() {
        let r = d["recipe"].as_str().unwrap();
        assert!(
            v.dom.contains(&format!("data-recipe=\"{}\"", rlcm_escape(r))),
            "{r} missing"
        );
    }
}

#[test]
fn generated_1k_environment_plan_in_chromium() {
    let Some(bin) = chromium() else { return };
    let work = tempfile::tempdir().unwrap();
    let gen_env = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/gen_env.py");
    assert!(gen_env.is_file(), "{} is missing", gen_env.display());
    let sandbox = work.path().join("sandbox");
    let prod = work.path().join("prod");
    for (dir, extra) in [
        (&sandbox, vec!["--env-id", "1100000001"]),
        (
            &prod,
            vec!["--env-id", "2200000001", "--drift", "0.1", "--extra", "100"],
        ),
    ] {
        let status = Command::new("python3")
            .arg(&gen_env)
            .args(["--out", s(dir), "--recipes", "1000", "--seed", "7"])
            .args(&extra)
            .stdout(Stdio::null())
            .status()
            .expect("python3");
        assert!(status.success());
    }
    let (plan, html) = plan_pages(&[
        "plan",
        "--from",
        s(&sandbox),
        "--export-folder",
        "",
        "--env",
        s(&prod),
    ]);
    assert!(
        !plan["impact"].as_array().unwrap().is_empty(),
        "the 1k plan has no impact"
    );
    let v = visit(&bin, work.path(), "plan-1k", &html);
    assert_hermetic(&v, "plan-1k");
    assert_plan_dom(&v.dom, &plan);
}
