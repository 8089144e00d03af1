//! `rlcm remote add|list|remove|check` through the binary, against a loopback replay of the
//! real users/me answer.

use crate::common;

use common::{Canned, ReplayServer, cassette, realworld, rlcm_in, stderr, stdout, validate};

const CASSETTE: &str = "workato__workato-connector-sdk/spec/fixtures/vcr_cassettes/Workato_CLI_PushCommand/uploads_connector.yml";

fn run(cfg: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut all = vec![
        ("RLCM_CONFIG_DIR", cfg.to_str().unwrap()),
        ("RLCM_CACHE_DIR", cfg.to_str().unwrap()),
        ("RLCM_RATE_LIMITS", "off"),
    ];
    all.extend_from_slice(envs);
    rlcm_in(None, args, &all)
}

#[test]
fn add_list_check_remove() {
    let cfg = tempfile::tempdir().unwrap();
    let me = cassette(&realworld(CASSETTE)).remove(0).4;
    let server = ReplayServer::start(vec![me]);
    let token = "wrkprod-0123456789abcdef-SECRET";

    let out = run(
        cfg.path(),
        &["remote", "add", "prod-eu", "--url", &server.url],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("RLCM_TOKEN_PROD_EU"), "{}", stdout(&out));
    let out = run(cfg.path(), &["remote", "add", "prod-eu", "--region", "eu"], &[]);
    assert_eq!(out.status.code(), Some(1), "a duplicate name is refused");
    let out = run(
        cfg.path(),
        &[
            "remote",
            "add",
            "sandbox",
            "--region",
            "trial",
            "--token-env",
            "MY_SANDBOX_TOKEN",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        cfg.path(),
        &[
            "remote",
            "add",
            "bad",
            "--region",
            "us",
            "--token-env",
            "wrk-abc=xyz",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "a token is not a variable name");

    let out = run(
        cfg.path(),
        &["remote", "list", "--format", "json"],
        &[("RLCM_TOKEN_PROD_EU", token)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate("remote-list", &v);
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["remotes"][0]["name"], "prod-eu");
    assert_eq!(v["remotes"][0]["token_set"], true);
    assert_eq!(v["remotes"][1]["url"], "https://app.trial.workato.com");
    assert_eq!(v["remotes"][1]["token_set"], false);

    let file = std::fs::read_to_string(cfg.path().join("remotes.toml")).unwrap();
    assert!(
        file.contains("[remote.prod-eu]") && file.contains("RLCM_TOKEN_PROD_EU"),
        "{file}"
    );

    let out = run(cfg.path(), &["remote", "check", "prod-eu"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("RLCM_TOKEN_PROD_EU"), "{}", stderr(&out));

    let out = run(
        cfg.path(),
        &["remote", "check", "prod-eu", "--format", "json", "-v"],
        &[("RLCM_TOKEN_PROD_EU", token)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate("remote-check", &v);
    assert_eq!(v["workspace_id"], 211706);
    assert_eq!(v["workspace_name"], "Pavel Abolmasov");
    assert_eq!(v["root_folder_id"], 316968);
    let err = stderr(&out);
    assert!(
        err.contains("GET") && err.contains("/api/users/me") && err.contains("200"),
        "{err}"
    );
    // The token is sent, and never shown or stored.
    assert_eq!(
        server.received()[0].headers["authorization"],
        format!("Bearer {token}")
    );
    assert!(!err.contains(token) && !stdout(&out).contains(token));
    assert!(!file.contains(token));

    let out = run(cfg.path(), &["remote", "remove", "prod-eu"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        cfg.path(),
        &["remote", "check", "prod-eu"],
        &[("RLCM_TOKEN_PROD_EU", token)],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("remote `prod-eu` not found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_reports_a_401_with_the_url_and_without_the_token() {
    let cfg = tempfile::tempdir().unwrap();
    let server = ReplayServer::start(vec![Canned {
        status: 401,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: br#"{"message":"Unauthorized"}"#.to_vec(),
    }]);
    let token = "tok-401-SECRET-xyz";
    let out = run(cfg.path(), &["remote", "add", "w", "--url", &server.url], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(cfg.path(), &["remote", "check", "w"], &[("RLCM_TOKEN_W", token)]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}/api/users/me", server.url)) && err.contains("401"),
        "{err}"
    );
    assert!(!err.contains(token), "{err}");
}

#[test]
fn plain_http_to_another_host_is_refused() {
    let cfg = tempfile::tempdir().unwrap();
    let out = run(
        cfg.path(),
        &["remote", "add", "w", "--url", "http://workato.example.com"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        cfg.path(),
        &["remote", "check", "w"],
        &[("RLCM_TOKEN_W", "abcdefgh")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--allow-insecure-http"), "{}", stderr(&out));
}
