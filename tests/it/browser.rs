//! The HTML reports in a real browser: headless Chromium opens the plan and impact pages of the
//! shipped examples and of a generated 1k-recipe environment, and the tests check the DOM it
//! built (verdict, counts, every breaking recipe), that it requested nothing but the file
//! itself (its net log), and that it logged no console message (the page has no script, so any
//! console line is a CSP refusal or an error). Screenshots go to `target/test-artifacts/`.
//!
//! Chromium must be installed (`.ci/run` installs Debian's `chromium`); without it these tests
//! fail, unless `RLCM_SKIP_BROWSER=1` says to skip them.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn chromium() -> Option<PathBuf> {
    if std::env::var_os("RLCM_SKIP_BROWSER").is_some() {
        return None;
    }
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    panic!("chromium is not installed (apt-get install -y chromium), or set RLCM_SKIP_BROWSER=1");
}

/// What the browser did with one page.
struct Visit {
    dom: String,
    net_log_bytes: usize,
    console: Vec<String>,
    requested: Vec<String>,
}

/// Runs chromium with `args` (plus the hermetic flags) on `page`, at most 120 s.
fn chromium_run(bin: &Path, work: &Path, page: &Path, args: &[String]) -> (String, String) {
    let profile = tempfile::tempdir_in(work).unwrap();
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        // Chromium's own background fetches (network time), which are not the page's.
        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
        "--disable-default-apps",
        "--metrics-recording-only",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .arg(format!("file://{}", page.display()))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (out.join().unwrap(), err.join().unwrap())
}

/// Opens `html` (written to `work/name.html`) in chromium: DOM, console lines, requested
/// URLs; also writes `target/test-artifacts/name.png`.
fn visit(bin: &Path, work: &Path, name: &str, html: &str) -> Visit {
    let page = work.join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let page = page.canonicalize().unwrap();
    let netlog = work.join(format!("{name}.netlog.json"));
    let (dom, log) = chromium_run(
        bin,
        work,
        &page,
        &[
            format!("--log-net-log={}", netlog.display()),
            "--net-log-capture-mode=Everything".into(),
            "--dump-dom".into(),
        ],
    );
    let console: Vec<String> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Content Security Policy") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect();
    let net = std::fs::read_to_string(&netlog).unwrap_or_default();
    let mut requested: Vec<String> = Vec::new();
    let re = regex::Regex::new(r#""(?:url|original_url)":"([^"]+)""#).unwrap();
    for c in re.captures_iter(&net) {
        requested.push(c[1].to_string());
    }
    // The screenshot, for a person to look at.
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    chromium_run(
        bin,
        work,
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400".into(),
            "--hide-scrollbars".into(),
        ],
    );
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 10_000)
            .unwrap_or(false),
        "no screenshot written at {}",
        shot.display()
    );
    Visit {
        net_log_bytes: net.len(),
        dom,
        console,
        requested,
    }
}

/// Nothing but the page itself was requested, and nothing was logged to the console.
fn assert_hermetic(v: &Visit, page: &str) {
    assert!(v.console.is_empty(), "{page}: console messages: {:#?}", v.console);
    // Chromium's own services (component updates, network time) still call home despite the
    // flags; they are the browser's requests, not the page's, and are recognised by host.
    let browser_own = |u: &str| {
        let host = u
            .split("://")
            .nth(1)
            .and_then(|r| r.split(['/', '?', ':']).next())
            .unwrap_or("");
        host.ends_with(".googleapis.com") || host.ends_with(".google.com") || host.ends_with(".gvt1.com")
    };
    let outside: Vec<&String> = v
        .requested
        .iter()
        .filter(|u| !u.starts_with("file://") && !u.starts_with("data:") && !u.starts_with("about:"))
        .filter(|u| !browser_own(u))
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
