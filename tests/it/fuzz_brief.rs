//! A brief mutation fuzzer that runs on every `cargo test` (the coverage-guided fuzzers in
//! `fuzz/` are the longer run): seeds from the realworld corpus and the examples are mutated
//! (byte flips, truncations, splices, repeated runs) with a fixed seed, and fed to the package
//! reader, the JSON extractor and the Ruby extractor. Nothing may panic; every package error
//! must name the package. `RLCM_FUZZ_SECONDS` sets the time per target (default 3).

use crate::common;

/// The bodies of the cargo-fuzz targets for manifests, saved plans and state files, run here
/// on mutated inputs too.
#[path = "../../fuzz/src/targets.rs"]
mod targets;

use std::time::{Duration, Instant};

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(5) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let n = rng.below(b.len());
                b.truncate(n);
            }
            2 if !b.is_empty() => {
                let i = rng.below(b.len());
                let j = (i + rng.below(64)).min(b.len());
                let chunk = b[i..j].to_vec();
                let at = rng.below(b.len());
                b.splice(
                    at..at,
                    chunk
                        .iter()
                        .copied()
                        .cycle()
                        .take(chunk.len() * (1 + rng.below(50))),
                );
            }
            3 => {
                let at = rng.below(b.len() + 1);
                let tokens: [&[u8]; 8] = [
                    b"{",
                    b"[",
                    b"\"zip_name\":",
                    b"<<~X\n",
                    b"\xff",
                    b"\0",
                    b"#{",
                    b"..//",
                ];
                b.splice(at..at, tokens[rng.below(tokens.len())].iter().copied());
            }
            _ if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            _ => {}
        }
    }
    b
}

fn seeds(pred: impl Fn(&str) -> bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for root in [common::realworld_root(), common::testdata("")] {
        for e in walkdir::WalkDir::new(root) {
            let p = e.unwrap().path().to_path_buf();
            if p.is_file() && pred(&p.to_string_lossy()) && std::fs::metadata(&p).unwrap().len() < (1 << 20) {
                out.push(std::fs::read(&p).unwrap());
            }
        }
    }
    assert!(!out.is_empty());
    out
}

fn budget() -> Duration {
    Duration::from_secs_f64(
        std::env::var("RLCM_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0),
    )
}

#[test]
fn mutated_packages_never_panic() {
    let seeds = seeds(|p| p.ends_with(".zip"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.zip");
    let limits = rlcm::source::Limits {
        max_entries: 256,
        max_entry_size: 4 << 20,
        max_total_size: 16 << 20,
        max_ratio: 1000,
    };
    let mut rng = Rng(0x5EED_0001);
    let (start, mut runs) = (Instant::now(), 0);
    while start.elapsed() < budget() {
        let pick = rng.below(seeds.len());
        let input = mutate(&mut rng, &seeds[pick]);
        std::fs::write(&path, &input).unwrap();
        match rlcm::source::Source::open_with(&path, limits) {
            Ok(s) => {
                if let Err(e) = rlcm::workspace::Workspace::load(&s) {
                    assert!(!e.to_string().is_empty());
                }
            }
            Err(e) => assert!(e.to_string().contains("m.zip"), "{e}"),
        }
        runs += 1;
    }
    eprintln!("package reader: {runs} mutated packages");
    assert!(runs > 10);
}

#[test]
fn mutated_json_never_panics() {
    let seeds = seeds(|p| p.ends_with(".json"));
    let mut rng = Rng(0x5EED_0002);
    let types = [
        "recipe",
        "connection",
        "custom_adapter",
        "properties",
        "lookup_table",
        "api_endpoint",
        "x",
    ];
    let (start, mut runs) = (Instant::now(), 0);
    while start.elapsed() < budget() {
        let pick = rng.below(seeds.len());
        let input = mutate(&mut rng, &seeds[pick]);
        let t = rlcm::asset::AssetType::from_type(types[rng.below(types.len())]);
        let streamed = rlcm::extract::summarize_bytes("m.json", &t, &input);
        match (streamed, rlcm::json::parse("m.json", &input)) {
            // Both extractors agree on whatever both accept.
            (Ok(s), Ok(v)) => assert_eq!(s, rlcm::asset::summarize(&t, &v)),
            // The streaming extractor is stricter only about keys given twice in one object.
            (Err(e), Ok(_)) => assert!(e.to_string().contains("appears twice"), "{e}"),
            (Ok(_), Err(e)) => panic!("the streaming extractor accepted what the parser refused: {e}"),
            (Err(_), Err(_)) => {}
        }
        runs += 1;
    }
    eprintln!("JSON extractor: {runs} mutated documents");
    assert!(runs > 100);
}

#[test]
fn mutated_ruby_never_panics() {
    let seeds = seeds(|p| p.ends_with(".rb"));
    let mut rng = Rng(0x5EED_0003);
    let (start, mut runs) = (Instant::now(), 0);
    while start.elapsed() < budget() {
        let pick = rng.below(seeds.len());
        let input = mutate(&mut rng, &seeds[pick]);
        let _ = rlcm::ruby::parse_connector(&input);
        runs += 1;
    }
    eprintln!("Ruby extractor: {runs} mutated sources");
    assert!(runs > 10);
}

/// Export manifests (YAML and JSON) and saved plans: mutated, read by their parsers; nothing
/// panics and every error names the file.
#[test]
fn mutated_manifests_and_saved_plans_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = std::fs::read(common::testdata("orders-release.yaml")).unwrap();
    let json_manifest = br#"{"name": "orders-release", "folders": ["orders"], "recipes": ["shared/enrich_order.recipe.json"], "exclude": ["orders/experimental/**"], "dependencies": true, "include_lookup_table_data": false}"#.to_vec();
    // A saved plan of the README's example.
    let sandbox = common::env_copy(dir.path(), "sandbox", "1100000001");
    let prod = common::env_copy(dir.path(), "production", "2200000002");
    let pkg = dir.path().join("orders.zip");
    let saved = dir.path().join("plan.json");
    common::ok(&common::run(&[
        "export",
        "--env",
        sandbox.to_str().unwrap(),
        "--manifest",
        common::testdata("orders-release.yaml").to_str().unwrap(),
        "-o",
        pkg.to_str().unwrap(),
    ]));
    let _ = common::run(&[
        "plan",
        pkg.to_str().unwrap(),
        "--env",
        prod.to_str().unwrap(),
        "-o",
        saved.to_str().unwrap(),
    ]);
    let plan = std::fs::read(&saved).unwrap();
    let path = dir.path().join("m.yaml");
    let mut rng = Rng(0x5EED_0004);
    let (start, mut runs) = (Instant::now(), 0);
    while start.elapsed() < budget() {
        let input = match rng.below(3) {
            0 => mutate(&mut rng, &yaml),
            1 => mutate(&mut rng, &json_manifest),
            _ => mutate(&mut rng, &plan),
        };
        std::fs::write(&path, &input).unwrap();
        if let Err(e) = rlcm::ops::export::ExportManifest::read(&path) {
            assert!(e.to_string().contains("m.yaml"), "{e}");
        }
        // Saved plans are read as the CLI reads them.
        let _ =
            serde_json::from_slice::<rlcm::report::PlanReport>(&input).map(|r| rlcm::apply::options_of(&r));
        runs += 1;
    }
    eprintln!("manifests and saved plans: {runs} mutated inputs");
    assert!(runs > 10);
}

/// The state files in `.rlcm/` (env, recipes, baseline, a connector, a history record, a
/// journal): mutated in place, then the environment is opened, checked and its history read,
/// in process. Nothing panics, and nothing outside the environment is created or changed.
#[test]
fn mutated_state_files_never_panic_or_escape() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = common::env_copy(dir.path(), "sandbox", "1100000001");
    let prod = common::env_copy(dir.path(), "production", "2200000002");
    let pkg = dir.path().join("orders.zip");
    common::ok(&common::run(&[
        "export",
        "--env",
        sandbox.to_str().unwrap(),
        "--manifest",
        common::testdata("orders-release.yaml").to_str().unwrap(),
        "-o",
        pkg.to_str().unwrap(),
    ]));
    common::ok(&common::run(&[
        "import",
        pkg.to_str().unwrap(),
        "--env",
        prod.to_str().unwrap(),
        "--force",
        "--restart-recipes",
    ]));
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("victim.txt"), b"stays").unwrap();
    // A journal whose staged files are gone: replaying it changes nothing in the tree.
    let journal = br#"{
  "format_version": 1,
  "id": "1-1",
  "label": "fuzz",
  "started_at": "2026-11-20T10:00:00Z",
  "ops": {
    "scratch/a.json": {"op": "write", "staged": "0/00000001"},
    "../outside/victim.txt": {"op": "write", "staged": "0/00000002"}
  }
}
"#
    .to_vec();
    let files = [
        ".rlcm/env.json",
        ".rlcm/recipes.json",
        ".rlcm/baseline.json",
        ".rlcm/connectors/acme_crm.json",
        ".rlcm/history/000001.json",
        ".rlcm/journal.json",
    ];
    let originals: Vec<Option<Vec<u8>>> = files.iter().map(|f| std::fs::read(prod.join(f)).ok()).collect();
    let mut rng = Rng(0x5EED_0005);
    let (start, mut runs) = (Instant::now(), 0);
    while start.elapsed() < budget() {
        let i = rng.below(files.len());
        let seed = originals[i].clone().unwrap_or_else(|| journal.clone());
        let input = mutate(&mut rng, &seed);
        std::fs::write(prod.join(files[i]), &input).unwrap();
        if let Ok(env) = rlcm::env::Environment::open(&prod) {
            let _ = rlcm::ops::check::check(&env);
        }
        let _ = rlcm::apply::read_history(&prod);
        // Put the file back (a replayed journal removes itself).
        match &originals[i] {
            Some(b) => std::fs::write(prod.join(files[i]), b).unwrap(),
            None => {
                let _ = std::fs::remove_file(prod.join(files[i]));
            }
        }
        let _ = std::fs::remove_dir_all(prod.join("scratch"));
        runs += 1;
    }
    let entries: Vec<_> = std::fs::read_dir(&outside).unwrap().collect();
    assert_eq!(entries.len(), 1, "something was created outside");
    assert_eq!(std::fs::read(outside.join("victim.txt")).unwrap(), b"stays");
    eprintln!("state files: {runs} mutated inputs");
    assert!(runs > 10);
}

/// The cargo-fuzz targets `export_manifest`, `saved_plan` and `state_files` (their shared
/// bodies, `fuzz/src/targets.rs`) on mutated seeds: a YAML and a JSON manifest, a saved plan of
/// the README's example, and every state file of an environment after an import.
#[test]
fn fuzz_target_bodies_on_mutated_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = common::env_copy(dir.path(), "sandbox", "1100000001");
    let prod = common::env_copy(dir.path(), "production", "2200000002");
    let pkg = dir.path().join("orders.zip");
    let saved = dir.path().join("plan.json");
    let manifest = common::testdata("orders-release.yaml");
    common::ok(&common::run(&[
        "export",
        "--env",
        sandbox.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "-o",
        pkg.to_str().unwrap(),
    ]));
    let _ = common::run(&[
        "plan",
        pkg.to_str().unwrap(),
        "--env",
        prod.to_str().unwrap(),
        "-o",
        saved.to_str().unwrap(),
    ]);
    let plan = std::fs::read(&saved).unwrap();
    // The unmutated plan must round-trip, or the target's check means nothing.
    targets::saved_plan(&plan);
    let mut yaml = vec![0u8];
    yaml.extend(std::fs::read(&manifest).unwrap());
    let mut json = vec![1u8];
    json.extend_from_slice(br#"{"name": "orders-release", "folders": ["orders"], "dependencies": true}"#);
    // The state files: an environment made as the fuzz target makes it, after an import.
    let fuzz_dir = dir.path().join("state");
    std::fs::create_dir_all(&fuzz_dir).unwrap();
    let env = targets::prepare(&common::testdata("production"), &fuzz_dir);
    common::ok(&common::run(&[
        "import",
        pkg.to_str().unwrap(),
        "--env",
        env.to_str().unwrap(),
        "--force",
        "--restart-recipes",
    ]));
    let states: Vec<Vec<u8>> = targets::STATE_FILES
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut v = vec![i as u8];
            v.extend(std::fs::read(env.join(f)).unwrap_or_else(|_| br#"{"format_version": 1, "id": "1-1", "label": "x", "started_at": "2026-11-20T10:00:00Z", "ops": {"../outside/victim.txt": {"op": "delete"}}}"#.to_vec()));
            v
        })
        .collect();
    let mut rng = Rng(0x5EED_0006);
    let (start, mut runs) = (Instant::now(), [0usize; 3]);
    while start.elapsed() < budget() {
        match rng.below(3) {
            0 => {
                let seed = if rng.below(2) == 0 { &yaml } else { &json };
                targets::export_manifest(&mutate(&mut rng, seed));
                runs[0] += 1;
            }
            1 => {
                targets::saved_plan(&mutate(&mut rng, &plan));
                runs[1] += 1;
            }
            _ => {
                let seed = &states[rng.below(states.len())];
                let mut input = mutate(&mut rng, seed);
                if let Some(first) = input.first_mut() {
                    // Keep the pick of the file most of the time.
                    *first = seed[0];
                }
                targets::state_file(&env, &input);
                runs[2] += 1;
            }
        }
    }
    eprintln!(
        "fuzz target bodies: {} manifests, {} saved plans, {} state files",
        runs[0], runs[1], runs[2]
    );
    assert!(runs.iter().all(|&r| r > 3), "{runs:?}");
}

/// Workato API answers (`src/remote/api.rs`), mutated, through `decode` into every answer type
/// and envelope: nothing panics, and every refusal names the URL.
#[test]
fn mutated_workato_api_answers_never_panic() {
    use rlcm::remote::api::{self, Envelope};
    let seeds: Vec<&[u8]> = vec![
        br#"{"id":17,"name":"Ops","root_folder_id":5,"recipes_count":12}"#,
        br#"{"items":[{"id":3,"name":"Orders","parent_id":5},{"id":4,"name":"Sub","parent_id":3}]}"#,
        br#"{"result":{"id":91,"name":"rlcm folder 3"}}"#,
        br#"{"id":7,"operation_type":"export","status":"completed","export_manifest_id":91,"download_url":"https://x/p.zip"}"#,
        br#"{"data":{"id":8,"operation_type":"import","status":"failed","error":"bad","recipe_status":[{"id":1,"import_result":"restarted"},{"id":2,"import_result":"stop_failed"}]}}"#,
        br#"{"result":[{"id":12,"name":"acme_crm","title":"Acme CRM","latest_version":3,"latest_released_version":2,"latest_shared_version":null}]}"#,
        br#"{"items":[{"id":5,"name":"Sync","folder_id":3,"running":true}]}"#,
    ];
    let url = "https://emulator.test/api/fuzzed";
    let envelopes = [Envelope::Bare, Envelope::Items, Envelope::Data, Envelope::Result];
    let mut rng = Rng(0x5EED_0A91);
    let (start, mut runs) = (Instant::now(), 0);
    let check = |r: Result<(), rlcm::error::Error>| {
        if let Err(e) = r {
            assert!(e.to_string().contains(url), "{e}");
        }
    };
    while start.elapsed() < budget() {
        let pick = rng.below(seeds.len());
        let input = mutate(&mut rng, seeds[pick]);
        let env = envelopes[rng.below(envelopes.len())];
        check(api::decode::<api::User>(url, &input, env).map(drop));
        check(api::decode::<Vec<api::Folder>>(url, &input, env).map(drop));
        check(api::decode::<api::ExportManifest>(url, &input, env).map(drop));
        check(api::decode::<api::Package>(url, &input, env).map(drop));
        check(api::decode::<Vec<api::CustomConnector>>(url, &input, env).map(drop));
        check(api::decode::<Vec<api::Recipe>>(url, &input, env).map(drop));
        check(api::decode::<serde_json::Value>(url, &input, env).map(drop));
        // The same through the `workato_answers` fuzz target's body.
        targets::workato_answer(&[&[rng.below(256) as u8][..], &input].concat());
        runs += 1;
    }
    eprintln!("Workato API answers: {runs} mutated answers, 7 types each");
    assert!(runs > 10);
}

/// Registry bodies, mutated: every answer type the client decodes (`registry::client::
/// decode_answer`, under success and refusal statuses, to an API path and to a share link),
/// and the request bodies the server parses (share and listing requests, then its checks).
/// Nothing panics; every client error names the registry and never a link's token; a parsed
/// request round-trips. The bodies are the `registry_answers` and `registry_requests` fuzz
/// targets'.
#[test]
fn mutated_registry_bodies_never_panic() {
    let summary = r#"{"version":2,"seq":5,"note":"n","shared_at":"2026-11-20T10:00:00Z","actions":["search"],"triggers":["new_order"],"code_blake3":"af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"}"#;
    let version = format!(
        r#"{{"format_version":1,"connector_id":"acme-crm","title":"Acme CRM","summary":{summary},"metadata":{{"title":"Acme CRM"}},"code_base64":"eyB0aXRsZTogJ0FjbWUnIH0=","logo_base64":"iVBORw0KGgo=","logo_kind":"png"}}"#
    );
    let view = format!(
        r#"{{"format_version":1,"id":"acme-crm","title":"Acme CRM","publisher":"alice","registry":"http://r","latest":{summary},"versions":[{summary}]}}"#
    );
    let listing = r#"{"format_version":1,"id":3,"connector_id":"acme-crm","title":"Acme CRM","publisher":"alice","app":"Acme","app_slug":"acme","not_in_catalog":false,"categories":["CRM"],"description":"d","direct_install":true,"landing_page":null,"status":"live","reason":null,"submitted_at":"2026-11-20T10:00:00Z","reviewed_at":null,"installs":4,"has_logo":true,"url":"http://r/c/acme-crm"}"#;
    let answers: Vec<String> = vec![
        r#"{"format_version":1,"outcome":"already-shared","connector_id":"acme-crm","version":2,"seq":5}"#.into(),
        view.clone(),
        version.clone(),
        format!(
            r#"{{"format_version":1,"install_id":"ins_1","credential":"cred_SECRET","connector":{view},"version":{version}}}"#
        ),
        r#"{"format_version":1,"id":"lk1","url":"http://r/l/lnk_abc","revoked":0}"#.into(),
        r#"{"format_version":1,"connector_id":"acme-crm","links":[{"id":"lk1","created_at":"2026-11-20T10:00:00Z","last_used_at":null,"installs":2,"revoked_at":null}]}"#.into(),
        r#"{"format_version":1,"links":2,"installs":1}"#.into(),
        r#"{"format_version":1,"entries":[{"at":"2026-11-20T10:00:00Z","actor":"publisher:alice","client":"127.0.0.1","action":"share","connector":"acme-crm","detail":null}]}"#.into(),
        r#"{"format_version":1,"apps":[{"slug":"acme","name":"Acme","website":"https://acme.test"}]}"#.into(),
        r#"{"format_version":1,"categories":["CRM","Sales"]}"#.into(),
        listing.into(),
        format!(r#"{{"format_version":1,"listings":[{listing}]}}"#),
        r#"{"format_version":1,"error":"installs go through the landing page","landing_page":"https://acme.test"}"#.into(),
        r#"{"format_version":1,"error":"the share link was revoked"}"#.into(),
    ];
    assert_eq!(answers.len(), targets::REGISTRY_ANSWERS.len());
    let requests: Vec<Vec<u8>> = vec![
        [&[0u8][..], br#"{"title":"Acme CRM","version":2,"note":null,"code_base64":"eyB9","metadata":{"title":"Acme CRM"},"logo_base64":"iVBORw0KGgoAAAANSUhEUg==","actions":["a"],"triggers":[]}"#].concat(),
        [&[1u8][..], br#"{"app":"acme","categories":["CRM","Sales"],"description":"d","direct_install":false,"landing_page":"https://acme.test"}"#].concat(),
    ];
    // The unmutated seeds decode, or the checks mean little.
    for (i, a) in answers.iter().enumerate() {
        let mut input = vec![i as u8, 0];
        input.extend_from_slice(a.as_bytes());
        targets::registry_answer(&input);
    }
    let mut rng = Rng(0x5EED_0B12);
    let (start, mut runs) = (Instant::now(), [0usize; 2]);
    while start.elapsed() < budget() {
        if rng.below(3) < 2 {
            let i = rng.below(answers.len());
            let mut input = vec![i as u8, rng.below(256) as u8];
            input.extend(mutate(&mut rng, answers[i].as_bytes()));
            targets::registry_answer(&input);
            runs[0] += 1;
        } else {
            let seed = &requests[rng.below(requests.len())];
            let mut input = mutate(&mut rng, seed);
            if let Some(first) = input.first_mut() {
                *first = seed[0];
            }
            targets::registry_request(&input);
            runs[1] += 1;
        }
    }
    eprintln!(
        "registry bodies: {} mutated answers ({} types), {} mutated requests",
        runs[0],
        answers.len(),
        runs[1]
    );
    assert!(runs.iter().all(|&r| r > 3), "{runs:?}");
}
