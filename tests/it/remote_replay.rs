//! The Developer API client against a replay of real recorded traffic (the connector SDK's
//! `uploads_connector.yml` cassette: users/me, a package import, two status polls), served from
//! a loopback server exactly as recorded (gzip bodies included).

use crate::common;

use std::time::Duration;

use common::{Canned, ReplayServer, cassette, realworld};
use rlcm::remote::api::{PackageStatus, PollOptions};
use rlcm::remote::http::{Client, ClientOptions, RateLimits, Token};

const CASSETTE: &str = "workato__workato-connector-sdk/spec/fixtures/vcr_cassettes/Workato_CLI_PushCommand/uploads_connector.yml";

fn path_of(uri: &str) -> String {
    let rest = uri.split_once("://").map(|x| x.1).unwrap_or(uri);
    rest.find('/').map(|i| rest[i..].to_string()).unwrap_or_default()
}

#[test]
fn the_client_replays_the_recorded_import_flow() {
    let recorded = cassette(&realworld(CASSETTE));
    assert_eq!(recorded.len(), 4, "users/me, import, two polls");
    let server = ReplayServer::start(recorded.iter().map(|r| r.4.clone()).collect());
    // The recording's token (a placeholder the SDK's tests use).
    let token = recorded[0].2["Authorization"]
        .trim_start_matches("Bearer ")
        .to_string();
    let mut opts = ClientOptions::new(server.url.clone(), Token::new(token.clone()));
    opts.rate_limits = RateLimits::Off;
    let client = Client::new(opts).unwrap();

    let me = client.users_me().unwrap();
    assert_eq!(me.id, 211706);
    assert_eq!(me.name, "Pavel Abolmasov");
    let root = me.root_folder_id.unwrap();
    assert_eq!(root, 316968);

    let zip = &recorded[1].3;
    let started = client.import_package(root, zip, false).unwrap();
    assert_eq!(started.id, 1234626);
    assert_eq!(started.status, PackageStatus::InProgress);
    assert!(started.recipe_status.is_empty());
    assert!(
        started
            .download_url
            .as_deref()
            .unwrap()
            .contains("X-Amz-Expires=10")
    );

    let mut seen = Vec::new();
    let poll = PollOptions {
        initial: Duration::from_millis(5),
        max_interval: Duration::from_millis(20),
        timeout: Duration::from_secs(20),
    };
    let done = client
        .wait_package(started, poll, &mut |p| seen.push(p.status))
        .unwrap();
    assert_eq!(seen, [PackageStatus::InProgress, PackageStatus::Completed]);
    // `completed` with an empty recipe_status is a success.
    assert!(done.status.is_success());
    assert!(done.recipe_status.is_empty());

    // The same request sequence, headers and body type as the recording.
    let got = server.received();
    assert_eq!(got.len(), recorded.len());
    for (g, r) in got.iter().zip(&recorded) {
        assert_eq!(g.method, r.0, "{}", g.path);
        assert_eq!(g.path, path_of(&r.1));
        assert_eq!(g.headers["authorization"], r.2["Authorization"]);
        assert!(g.headers["user-agent"].starts_with("rlcm/"), "{:?}", g.headers);
        assert_eq!(g.headers["accept"], "application/json");
        assert!(g.headers["accept-encoding"].contains("gzip"));
        assert_eq!(g.body, r.3, "{} body", g.path);
        if let Some(ct) = r.2.get("Content-Type") {
            assert_eq!(&g.headers["content-type"], ct);
        }
    }
    assert!(
        got[1].body.starts_with(b"PK\x03\x04"),
        "the import body is the zip itself"
    );
}

#[test]
fn error_bodies_name_the_url_and_never_the_token() {
    let token = "tok-SECRET-1234567890";
    let server = ReplayServer::start(vec![
        Canned {
            status: 401,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: format!(r#"{{"message":"Unauthorized {token}"}}"#).into_bytes(),
        },
        Canned {
            status: 400,
            headers: vec![],
            body: br#"{"error":"connector.custom_adapter.json: bad"}"#.to_vec(),
        },
    ]);
    let mut opts = ClientOptions::new(server.url.clone(), Token::new(token.into()));
    opts.rate_limits = RateLimits::Off;
    let client = Client::new(opts).unwrap();
    let e = client.users_me().unwrap_err().to_string();
    assert!(e.contains(&format!("{}/api/users/me", server.url)), "{e}");
    assert!(e.contains("401") && e.contains("Unauthorized"), "{e}");
    assert!(!e.contains(token), "{e}");
    let e = client.import_package(7, b"PK", false).unwrap_err().to_string();
    assert!(
        e.contains("/api/packages/import/7") && e.contains("connector.custom_adapter.json: bad"),
        "{e}"
    );
}

#[test]
fn throttling_is_retried_with_retry_after_and_5xx_only_when_idempotent() {
    let json = || vec![("Content-Type".to_string(), "application/json".to_string())];
    let server = ReplayServer::start(vec![
        Canned {
            status: 429,
            headers: vec![("Retry-After".into(), "1".into())],
            body: b"{}".to_vec(),
        },
        Canned {
            status: 503,
            headers: vec![],
            body: b"{}".to_vec(),
        },
        Canned {
            status: 200,
            headers: json(),
            body: br#"{"id":1,"name":"W","root_folder_id":3}"#.to_vec(),
        },
        Canned {
            status: 500,
            headers: vec![],
            body: br#"{"message":"Server error","id":"x"}"#.to_vec(),
        },
    ]);
    let mut opts = ClientOptions::new(server.url.clone(), Token::new("t0k3n-abc".into()));
    opts.rate_limits = RateLimits::Off;
    let client = Client::new(opts).unwrap();
    let t = std::time::Instant::now();
    assert_eq!(client.users_me().unwrap().id, 1);
    assert!(t.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    // A 500 on the import POST is not retried.
    let err = client.import_package(3, b"PK", false).unwrap_err();
    assert!(
        err.is_outcome_unknown(),
        "a 5xx does not say whether the import started: {err}"
    );
    let e = err.to_string();
    assert!(e.contains("HTTP 500") && e.contains("Server error"), "{e}");
    assert_eq!(server.received().len(), 4);
}

#[test]
fn a_lost_import_answer_is_outcome_unknown() {
    // A server that reads the request and closes without answering.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::Read;
        for s in listener.incoming().take(3) {
            let Ok(mut s) = s else { break };
            let mut buf = [0u8; 4096];
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = s.read(&mut buf);
            drop(s);
        }
    });
    let mut opts = ClientOptions::new(url, Token::new("t0k3n-abc".into()));
    opts.rate_limits = RateLimits::Off;
    let client = Client::new(opts).unwrap();
    let e = client.import_package(3, b"PK", false).unwrap_err();
    assert!(e.is_outcome_unknown(), "{e}");
    assert!(e.to_string().contains("rlcm pull"), "{e}");
}

#[test]
fn a_redirect_to_another_origin_carries_no_token() {
    let target = ReplayServer::start(vec![Canned {
        status: 200,
        headers: vec![("Content-Type".into(), "application/zip".into())],
        body: b"PK\x05\x06zipbytes".to_vec(),
    }]);
    let api = ReplayServer::start(vec![Canned {
        status: 302,
        headers: vec![(
            "Location".into(),
            format!("{}/signed/9?X-Amz-Signature=s3cr3t", target.url),
        )],
        body: vec![],
    }]);
    let token = "tok-NEVER-ELSEWHERE";
    let mut opts = ClientOptions::new(api.url.clone(), Token::new(token.into()));
    opts.rate_limits = RateLimits::Off;
    let client = Client::new(opts).unwrap();
    let bytes = client.download_package(9).unwrap();
    assert_eq!(bytes, b"PK\x05\x06zipbytes");
    assert_eq!(
        api.received()[0].headers["authorization"],
        format!("Bearer {token}")
    );
    let got = target.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/signed/9?X-Amz-Signature=s3cr3t");
    assert!(
        !got[0].headers.contains_key("authorization"),
        "{:?}",
        got[0].headers
    );
    assert!(!format!("{:?}", got[0]).contains(token));
}

#[test]
fn the_recipes_list_asks_for_no_more_pages_than_users_me_counts() {
    let json = || vec![("Content-Type".to_string(), "application/json".to_string())];
    let page = |from: u64, n: u64| {
        let items: Vec<serde_json::Value> = (0..n)
            .map(|i| serde_json::json!({"id": from - i, "name": format!("r{}", from - i), "running": false}))
            .collect();
        Canned {
            status: 200,
            headers: json(),
            body: serde_json::to_vec(&serde_json::json!({ "items": items })).unwrap(),
        }
    };
    let empty = Canned {
        status: 200,
        headers: json(),
        body: br#"{"items":[]}"#.to_vec(),
    };
    // 200 recipes, counted: two pages. Not counted: a third, empty page tells the end.
    let server = ReplayServer::start(vec![
        page(1000, 100),
        page(900, 100),
        page(1000, 100),
        page(900, 100),
        empty,
    ]);
    let mut opts = ClientOptions::new(server.url.clone(), Token::new("t0k3n-abc".into()));
    opts.rate_limits = RateLimits::Off;
    let client = Client::new(opts).unwrap();
    assert_eq!(client.recipes_of(Some(200)).unwrap().len(), 200);
    assert_eq!(server.received().len(), 2);
    assert_eq!(client.recipes_of(None).unwrap().len(), 200);
    let got: Vec<String> = server.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(got.len(), 5, "{got:?}");
    // The counted pages are asked for at once (in either order), the uncounted one by one.
    let mut counted: Vec<&str> = got[..2].iter().map(String::as_str).collect();
    counted.sort_unstable();
    assert!(
        counted[0].contains("page=1") && counted[1].contains("page=2"),
        "{got:?}"
    );
    assert!(
        got[2].contains("page=1") && got[3].contains("page=2") && got[4].contains("page=3"),
        "{got:?}"
    );
}
