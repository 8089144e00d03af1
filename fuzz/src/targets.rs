//! The bodies of the fuzz targets for rlcm's own file formats, shared with the brief in-test
//! fuzzing (`tests/fuzz_brief.rs` includes this file as a module, so it is compiled and run by
//! every `cargo test`): export manifests (YAML and JSON), saved plans, and the state files of
//! `.rlcm/`. Each takes raw bytes and panics only on a broken promise.

use std::path::{Path, PathBuf};

/// An export manifest: the first byte picks the extension (`.yaml` or `.json`), the rest is the
/// file. Reading it never panics, and an error names the file.
pub fn export_manifest(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let name = if pick % 2 == 0 { "m.yaml" } else { "m.json" };
    let path = dir.path().join(name);
    std::fs::write(&path, body).unwrap();
    if let Err(e) = rlcm::ops::export::ExportManifest::read(&path) {
        assert!(
            e.to_string().contains(name),
            "the error does not name {name}: {e}"
        );
    }
}

/// A saved plan (`plan -o`), read as `import --plan` reads it: never a panic; one that parses
/// serialises again and parses back.
pub fn saved_plan(data: &[u8]) {
    let Ok(report) = serde_json::from_slice::<rlcm::report::PlanReport>(data) else {
        return;
    };
    let _ = rlcm::apply::options_of(&report);
    let again = serde_json::to_vec(&report).expect("a parsed plan serialises");
    let back: rlcm::report::PlanReport =
        serde_json::from_slice(&again).expect("a serialised plan parses back");
    assert!(back == report, "a saved plan does not round-trip");
}

/// The state files [`state_file`] writes over, relative to the environment root.
pub const STATE_FILES: &[&str] = &[
    ".rlcm/env.json",
    ".rlcm/recipes.json",
    ".rlcm/baseline.json",
    ".rlcm/journal.json",
    ".rlcm/history/000001.json",
];

/// An initialised copy of `template` (a tree), with an `outside` folder beside it holding one
/// file, in `dir`; returns the environment root.
pub fn prepare(template: &Path, dir: &Path) -> PathBuf {
    let env = dir.join("env");
    copy(template, &env);
    rlcm::ops::init::init(
        &env,
        &rlcm::ops::init::InitOptions {
            name: Some("fuzz".into()),
            id: Some(2200000002),
            from: None,
            user: "fuzz".into(),
        },
    )
    .expect("init the fuzz environment");
    std::fs::create_dir_all(dir.join("outside")).unwrap();
    std::fs::write(dir.join("outside/victim.txt"), b"stays").unwrap();
    env
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A state file of the environment `env` (made by [`prepare`]) replaced by `data` (the first
/// byte picks which of [`STATE_FILES`]): opening the environment (which may replay a journal),
/// `check` and reading the history never panic, and nothing outside the environment is
/// created, changed or removed. The file is removed again afterwards (the environment is
/// otherwise left as the run left it, as a user's would be).
pub fn state_file(env: &Path, data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let rel = STATE_FILES[pick as usize % STATE_FILES.len()];
    let path = env.join(rel);
    let original = std::fs::read(&path).ok();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, body).unwrap();
    if let Ok(e) = rlcm::env::Environment::open(env) {
        let _ = rlcm::ops::check::check(&e);
    }
    let _ = rlcm::apply::read_history(env);
    match original {
        Some(b) => std::fs::write(&path, b).unwrap(),
        None => {
            let _ = std::fs::remove_file(&path);
        }
    }
    let outside = env.parent().unwrap().join("outside");
    let names: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "something was created outside: {names:?}");
    assert_eq!(std::fs::read(outside.join("victim.txt")).unwrap(), b"stays");
}

/// The registry answer types the client decodes, by the index [`registry_answer`] picks.
pub const REGISTRY_ANSWERS: &[&str] = &[
    "ShareResponse",
    "ConnectorView",
    "SharedVersion",
    "InstallResponse",
    "LinkCreated",
    "LinkList",
    "RevokeResponse",
    "AuditLog",
    "AppList",
    "CategoryList",
    "ListingView",
    "ListingList",
    "NoDirectInstall",
    "ApiError",
];

/// A registry answer as the client decodes it (`registry::client::decode_answer`): the first
/// byte picks the answer type ([`REGISTRY_ANSWERS`]), the second the status (200, 201, 400,
/// 401, 404, 409, 422, 429, 500) and whether the request was to a share link, the rest is the
/// body. Never a panic; every error names the registry, and never the link's token.
pub fn registry_answer(data: &[u8]) {
    use rlcm::registry::api::*;
    use rlcm::registry::client::decode_answer;
    let [pick, how, body @ ..] = data else {
        return;
    };
    let base = "http://registry.test:8080";
    let token = "lnk_SECRETTOKEN0123456789";
    let url = if how & 0x80 != 0 {
        format!("{base}/l/{token}/install")
    } else {
        format!("{base}/v1/connectors/acme-crm/versions")
    };
    let statuses = [200u16, 201, 400, 401, 404, 409, 422, 429, 500];
    let status = statuses[(how & 0x7f) as usize % statuses.len()];
    fn check<T>(r: rlcm::error::Result<T>, base: &str, token: &str) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                let m = e.to_string();
                assert!(m.contains(base), "the error does not name the registry: {m}");
                assert!(!m.contains(token), "the error names the link's token: {m}");
                None
            }
        }
    }
    let (b, u) = (base, url.as_str());
    match *pick as usize % REGISTRY_ANSWERS.len() {
        0 => drop(check(
            decode_answer::<ShareResponse>(b, u, status, body),
            b,
            token,
        )),
        1 => drop(check(
            decode_answer::<ConnectorView>(b, u, status, body),
            b,
            token,
        )),
        2 => {
            if let Some(v) = check(decode_answer::<SharedVersion>(b, u, status, body), b, token) {
                // What an install or update does next with the version: never a panic.
                let _ = valid_slug(&v.connector_id);
                let _ = slug_of_title(&v.title);
            }
        }
        3 => drop(check(
            decode_answer::<InstallResponse>(b, u, status, body),
            b,
            token,
        )),
        4 => drop(check(decode_answer::<LinkCreated>(b, u, status, body), b, token)),
        5 => drop(check(decode_answer::<LinkList>(b, u, status, body), b, token)),
        6 => drop(check(
            decode_answer::<RevokeResponse>(b, u, status, body),
            b,
            token,
        )),
        7 => drop(check(decode_answer::<AuditLog>(b, u, status, body), b, token)),
        8 => drop(check(decode_answer::<AppList>(b, u, status, body), b, token)),
        9 => {
            if let Some(l) = check(decode_answer::<CategoryList>(b, u, status, body), b, token) {
                for c in &l.categories {
                    let _ = category(c);
                }
            }
        }
        10 => {
            if let Some(l) = check(decode_answer::<ListingView>(b, u, status, body), b, token) {
                let _ = ListingStatus::parse(l.status.as_str());
            }
        }
        11 => drop(check(decode_answer::<ListingList>(b, u, status, body), b, token)),
        12 => drop(check(
            decode_answer::<NoDirectInstall>(b, u, status, body),
            b,
            token,
        )),
        _ => drop(check(decode_answer::<ApiError>(b, u, status, body), b, token)),
    }
}

/// A request body as the registry server parses it: the first byte picks a share request
/// (`POST /v1/connectors/{slug}/versions`) or a listing request (`.../listing`), the rest is
/// the body. Parsed with the server's types (`deny_unknown_fields`), then the server's own
/// checks on a parsed share: the title's slug, the base64 of code and logo, the logo's kind
/// (sniffed), the categories of a listing. Never a panic; a parsed request serialises and
/// parses back to the same JSON.
pub fn registry_request(data: &[u8]) {
    use rlcm::registry::api::*;
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    if pick % 2 == 0 {
        let Ok(req) = serde_json::from_slice::<ShareRequest>(body) else {
            return;
        };
        let _ = valid_slug(&slug_of_title(&req.title));
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let _ = b64.decode(req.code_base64.as_bytes());
        if let Some(l) = &req.logo_base64
            && let Ok(bytes) = b64.decode(l.as_bytes())
            && let Some(kind) = LogoKind::sniff(&bytes)
        {
            let _ = kind.content_type();
        }
        let again = serde_json::to_vec(&req).expect("a parsed share request serialises");
        let back: ShareRequest = serde_json::from_slice(&again).expect("and parses back");
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&req).unwrap(),
            "a share request does not round-trip"
        );
    } else {
        let Ok(req) = serde_json::from_slice::<ListingRequest>(body) else {
            return;
        };
        for c in &req.categories {
            let _ = category(c);
        }
        let again = serde_json::to_vec(&req).expect("a parsed listing request serialises");
        let back: ListingRequest = serde_json::from_slice(&again).expect("and parses back");
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&req).unwrap(),
            "a listing request does not round-trip"
        );
    }
}

/// A Workato API answer (`remote::api::decode`): the first byte picks the envelope and the
/// answer type, the rest is the body. Never a panic; every refusal names the URL.
pub fn workato_answer(data: &[u8]) {
    use rlcm::remote::api::{self, Envelope};
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let url = "https://emulator.test/api/fuzzed";
    let envelopes = [Envelope::Bare, Envelope::Items, Envelope::Data, Envelope::Result];
    let env = envelopes[(pick & 3) as usize];
    let check = |r: rlcm::error::Result<()>| {
        if let Err(e) = r {
            assert!(
                e.to_string().contains(url),
                "the refusal does not name the URL: {e}"
            );
        }
    };
    match (pick >> 2) % 7 {
        0 => check(api::decode::<api::User>(url, body, env).map(drop)),
        1 => check(api::decode::<Vec<api::Folder>>(url, body, env).map(drop)),
        2 => check(api::decode::<api::ExportManifest>(url, body, env).map(drop)),
        3 => check(api::decode::<api::Package>(url, body, env).map(drop)),
        4 => check(api::decode::<Vec<api::CustomConnector>>(url, body, env).map(drop)),
        5 => check(api::decode::<Vec<api::Recipe>>(url, body, env).map(drop)),
        _ => check(api::decode::<serde_json::Value>(url, body, env).map(drop)),
    }
}
