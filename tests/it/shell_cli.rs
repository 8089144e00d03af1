//! A CLI that fits the shell: colour (flags and environment), tables that keep their columns
//! with CJK and long names, completions, man pages, global options shown once, and
//! `--format markdown` only where CI jobs post the report.

use crate::common;

use std::process::Command;

use common::*;

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// Runs rlcm without the `NO_COLOR` the other helpers set.
fn raw(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rlcm"));
    cmd.args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .env("RLCM_USER", "tester");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn plan_args() -> Vec<String> {
    vec![
        "plan".into(),
        "--from".into(),
        testdata("sandbox").display().to_string(),
        "--manifest".into(),
        testdata("orders-release.yaml").display().to_string(),
        "--env".into(),
        testdata("production").display().to_string(),
    ]
}

fn has_escape(out: &std::process::Output) -> bool {
    out.stdout.contains(&0x1b)
}

#[test]
fn colour_follows_the_flag_no_color_and_clicolor_force() {
    let base = plan_args();
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a = base.clone();
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    };
    let run = |extra: &[&str], envs: &[(&str, &str)]| {
        let a = args(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        raw(&a, envs)
    };
    // Piped, auto: no colour.
    let out = run(&[], &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!has_escape(&out));
    // Forced by the flag, and by CLICOLOR_FORCE.
    let out = run(&["--color", "always"], &[]);
    assert!(has_escape(&out));
    assert!(
        stdout(&out).contains("\u{1b}[1m\u{1b}[31mBLOCKED"),
        "{}",
        stdout(&out)
    );
    assert!(has_escape(&run(&[], &[("CLICOLOR_FORCE", "1")])));
    // NO_COLOR and --color never win over a terminal-less auto; never is never.
    assert!(!has_escape(&run(&[], &[("NO_COLOR", "1")])));
    assert!(!has_escape(&run(
        &["--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    )));
    // Never in JSON, Markdown or HTML, even when forced.
    for format in ["json", "markdown", "html"] {
        let out = run(&["--format", format, "--color", "always"], &[]);
        assert!(!has_escape(&out), "{format}");
    }
    // Without colour the text is what it was.
    let plain = run(&["--color", "never"], &[]);
    let forced = run(&["--color", "always"], &[]);
    let strip = regex::Regex::new("\u{1b}\\[[0-9;]*m").unwrap();
    assert_eq!(
        stdout(&plain),
        strip.replace_all(&stdout(&forced), "").to_string()
    );
}

#[test]
fn markdown_is_offered_only_where_ci_posts_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_copy(dir.path(), "production", "2200000002");
    let e = s(&env);
    let pkg = dir.path().join("p.zip");
    let offered: Vec<Vec<&str>> = vec![
        vec!["impact", "Acme CRM", "--env", e],
        vec!["inspect", e],
        vec!["check", "--env", e],
        vec!["history", "--env", e],
        vec!["connector", "versions", "Acme CRM", "--env", e],
        vec!["connector", "diff", "Acme CRM", "released", "latest", "--env", e],
        vec!["diff", e, e],
    ];
    for args in &offered {
        let mut a = args.clone();
        a.extend(["--format", "markdown"]);
        let out = run(&a);
        assert!(
            out.status.code() == Some(0),
            "{a:?}: {:?} {}",
            out.status.code(),
            stderr(&out)
        );
        let text = stdout(&out);
        assert!(text.starts_with("#"), "{a:?} did not print Markdown: {text}");
    }
    ok(&run(&["export", "--env", e, "--folder", "orders", "-o", s(&pkg)]));
    let out = run(&["verify", s(&pkg), "--format", "markdown"]);
    assert!(
        stdout(&out).starts_with("## rlcm verify: ✅ verified"),
        "{}",
        stdout(&out)
    );
    let refused: Vec<Vec<&str>> = vec![
        vec!["init", "/nonexistent-rlcm-dir"],
        vec!["export", "--env", e, "--folder", "orders", "-o", "/tmp/x.zip"],
        vec!["import", s(&pkg), "--env", e],
        vec!["promote", "--from", e, "--to", e],
        vec!["rollback", "--env", e],
        vec!["recipe", "list", "--env", e],
        vec!["connector", "list", "--env", e],
        vec!["connector", "commit", "Acme CRM", "--note", "x", "--env", e],
        vec!["connector", "release", "Acme CRM", "--env", e],
        vec!["connector", "share", "Acme CRM", "--env", e],
        vec!["connector", "check", "Acme CRM", "tree", "--env", e],
        vec!["graph", e],
    ];
    let before = snapshot(&env);
    for args in &refused {
        let mut a = args.clone();
        a.extend(["--format", "markdown"]);
        let out = run(&a);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{a:?} printed {}", stdout(&out));
        assert!(stderr(&out).contains("markdown"), "{a:?}: {}", stderr(&out));
    }
    assert_eq!(
        before,
        snapshot(&env),
        "a refused command changed the environment"
    );
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell]);
        let text = ok(&out);
        assert!(text.contains("rlcm") && text.contains("connector"), "{shell}");
        assert!(text.len() > 1000, "{shell}");
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_pages_print_and_write_one_per_command() {
    let text = ok(&run(&["man"]));
    assert!(text.contains(".TH rlcm"), "{text}");
    assert!(
        text.contains("completions") && text.contains("\\-\\-color"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    ok(&run(&["man", "--dir", s(&out)]));
    for page in ["rlcm.1", "rlcm-plan.1", "rlcm-diff.1", "rlcm-connector-release.1"] {
        let text = std::fs::read_to_string(out.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    let plan = std::fs::read_to_string(out.join("rlcm-plan.1")).unwrap();
    assert!(plan.contains("detailed\\-exitcode"), "{plan}");
}

#[test]
fn global_options_are_shown_once_under_their_own_heading() {
    let help = ok(&run(&["plan", "--help"]));
    assert_eq!(help.matches("Global options:").count(), 1, "{help}");
    assert_eq!(help.matches("--user <NAME>").count(), 1, "{help}");
    let global = help.split("Global options:").nth(1).unwrap();
    assert!(global.contains("--color") && global.contains("--wait"), "{help}");
    let own = help.split("Global options:").next().unwrap();
    assert!(
        own.contains("--detailed-exitcode") && !own.contains("--user"),
        "{help}"
    );
}

#[test]
fn tables_keep_their_columns_with_cjk_and_long_names() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    copy_tree(&testdata("production"), &env);
    // A second connector with a long CJK title.
    let json = std::fs::read_to_string(env.join("acme_crm.custom_adapter.json")).unwrap();
    let title = "顧客管理コネクタ（本番）";
    std::fs::write(
        env.join("cjk.custom_adapter.json"),
        json.replacen("\"Acme CRM\"", &format!("\"{title}\""), 1),
    )
    .unwrap();
    std::fs::copy(
        env.join("acme_crm.custom_adapter.rb"),
        env.join("cjk.custom_adapter.rb"),
    )
    .unwrap();
    ok(&run(&["init", s(&env), "--name", "prod", "--id", "2200000002"]));
    let text = ok(&run(&["connector", "list", "--env", s(&env)]));
    insta::assert_snapshot!("connector_list_cjk", text);
    // The version columns end at the same display column on every line.
    use unicode_width::UnicodeWidthStr;
    let ends: Vec<usize> = text.lines().map(|l| l.trim_end().width()).collect();
    assert!(ends.windows(2).all(|w| w[0] == w[1]), "{text}");
}
