//! Every sample of the realworld corpus is read, and its counts match values verified by
//! hand (with `zipinfo`, `grep` and a reading of each file; see the comments).

use crate::common;

use std::collections::BTreeMap;

use common::realworld;
use rlcm::ops::inspect::inspect;
use rlcm::report::InspectReport;
use rlcm::source::Source;
use rlcm::workspace::Workspace;

fn inspect_path(rel: &str) -> InspectReport {
    let path = realworld(rel);
    let source = Source::open(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let ws = Workspace::load(&source).unwrap_or_else(|e| panic!("{rel}: {e}"));
    inspect(&ws, rel)
}

/// A connector's title, version, actions and triggers.
type ConnectorExpect<'a> = (&'a str, Option<u64>, &'a [&'a str], &'a [&'a str]);

struct Expect<'a> {
    counts: &'a [(&'a str, usize)],
    references: usize,
    dangling: &'a [(&'a str, &'a str)],
    connectors: &'a [ConnectorExpect<'a>],
}

fn check(rel: &str, e: Expect<'_>) -> InspectReport {
    let r = inspect_path(rel);
    let want: BTreeMap<String, usize> = e.counts.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(r.counts, want, "{rel}: assets by type");
    assert_eq!(
        r.references.len(),
        e.references,
        "{rel}: references {:#?}",
        r.references
    );
    let dangling: Vec<(String, String)> = r
        .dangling
        .iter()
        .map(|d| (d.from.clone(), d.to.clone()))
        .collect();
    let want: Vec<(String, String)> = e
        .dangling
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(dangling, want, "{rel}: dangling");
    assert_eq!(r.connectors.len(), e.connectors.len(), "{rel}: connectors");
    for (c, (title, version, actions, triggers)) in r.connectors.iter().zip(e.connectors) {
        assert_eq!(&c.title, title);
        assert_eq!(c.version, *version, "{title}");
        assert_eq!(c.actions, *actions, "{title}: actions");
        assert_eq!(c.triggers, *triggers, "{title}: triggers");
        assert_eq!(c.parse_error, None, "{title}");
    }
    assert!(r.cycles.is_empty(), "{rel}: cycles");
    r
}

const ATSUYA: &str = "AtsuyaYamakawa__workato-recipes-public";

#[test]
fn houjin_bangou_zip() {
    // zipinfo: 1 dir entry + 7 files = connection, connector (.json/.rb/.jpeg), lookup table,
    // 2 recipes, properties. References: connection→connector (provider); the Slack recipe →
    // lookup table, → function (flow_id), → 3 connections (2 absent), → connector through its
    // provider name, → account property `salesforce_base_url`.
    let r = check(
        &format!("{ATSUYA}/法人番号.zip"),
        Expect {
            counts: &[
                ("connection", 1),
                ("custom_adapter", 1),
                ("lookup_table", 1),
                ("properties", 1),
                ("recipe", 2),
            ],
            references: 8,
            dangling: &[
                (
                    "取引先登録/slackから法人番号付きで取引先登録_配布用.recipe.json",
                    "Slack - アシスタントボット/アシスタントボット_demo_workato_japan_demo.connection.json",
                ),
                (
                    "取引先登録/slackから法人番号付きで取引先登録_配布用.recipe.json",
                    "Salesforce/salesforce_demo_account_workato_japan_demo_gmail_com.connection.json",
                ),
            ],
            connectors: &[(
                "法人番号システム",
                Some(2),
                &[
                    "search_records_by_corporation_name",
                    "search_records_by_corporation_number",
                ],
                &[],
            )],
        },
    );
    let c = &r.connectors[0];
    assert_eq!(c.logo.as_deref(), Some("法人番号システム.custom_adapter.jpeg"));
    assert_eq!(c.providers, ["法人番号システム_connector_58624_1639216290"]);
    assert!(r.references.iter().any(|x| x.kind == "account_property"
        && x.property.as_deref() == Some("salesforce_base_url")
        && !x.dangling));
}

#[test]
fn wedding_line_bot_zip() {
    // LINE connector v12 with note; connection on it; recipe → template, 2 connections,
    // connector through provider name `line_connector_1100000020_1666345834`.
    check(
        &format!("{ATSUYA}/結婚式LINEボットレシピ.zip"),
        Expect {
            counts: &[
                ("connection", 2),
                ("custom_adapter", 1),
                ("recipe", 1),
                ("workato_template", 1),
            ],
            references: 5,
            dangling: &[],
            connectors: &[(
                "LINE",
                Some(12),
                &["send_message", "send_flex_message", "get_content"],
                &["new_message"],
            )],
        },
    );
}

#[test]
fn household_budget_zip() {
    // Nested folders under `Personal use/`; 3 recipes, 4 connections, properties. 9 distinct
    // zip_name references (the error-handler function is called from 3 steps in 2 recipes but
    // is absent) and 3 account properties used through `_('...account_properties.X',
    // 'account_property', 'X')` formulas.
    let r = check(
        &format!("{ATSUYA}/家計簿.zip"),
        Expect {
            counts: &[("connection", 4), ("properties", 1), ("recipe", 3)],
            references: 12,
            dangling: &[
                (
                    "Personal use/iPhoneショートカット/rf_レシートアップロード_家計簿登録.recipe.json",
                    "Personal use/エラーハンドラー.recipe.json",
                ),
                (
                    "Personal use/家計簿/家計簿スプレッドシート_シートの自動作成.recipe.json",
                    "Personal use/エラーハンドラー.recipe.json",
                ),
            ],
            connectors: &[],
        },
    );
    let props: Vec<&str> = r
        .references
        .iter()
        .filter_map(|x| x.property.as_deref())
        .collect();
    assert_eq!(
        props,
        ["My S3 receipt bucket", "Spreadsheet ID", "Template Sheet ID"]
    );
    assert_eq!(r.folders.len(), 4);
}

#[test]
fn chatgpt_workbot_zip() {
    // Flat layout: 3 connections, 2 recipes; the bot recipe calls get_busy.
    check(
        &format!("{ATSUYA}/Recipe Functionを呼び出してくれるChatGPT×Workbot.zip"),
        Expect {
            counts: &[("connection", 3), ("recipe", 2)],
            references: 4,
            dangling: &[],
            connectors: &[],
        },
    );
}

const TIBCO: &str =
    "Pratik-Kumar-621__tibco-to-workato/shailesh-tibco-workato-migration_shailesh-tibco-workato-migration";

#[test]
fn tibco_tree_and_rezipped_wrapper() {
    // 9 recipes, 2 schemas, project properties; a040 → a999, a050 → a999 + 2 schemas; a020
    // uses project property `language` twice (one reference).
    let expect = || Expect {
        counts: &[("project_properties", 1), ("recipe", 9), ("workato_schema", 2)],
        references: 5,
        dangling: &[],
        connectors: &[],
    };
    let tree = check(TIBCO, expect());
    // The zip wraps everything in one top-level folder named like the zip: it is stripped.
    let zip = check(&format!("{TIBCO}.zip"), expect());
    let paths = |r: &InspectReport| r.assets.iter().map(|a| a.path.clone()).collect::<Vec<_>>();
    assert_eq!(paths(&tree), paths(&zip));
    assert_eq!(tree.references, zip.references);
}

const DEWY: &str = "workato-devs__dewy-resort/workato/recipes";

#[test]
fn dewy_resort_workato_pull_tree() {
    // 13 recipes, 4 connections, 1 connector, an API collection and endpoint. References:
    // 6 HA recipes → connection + connector (12), connection → connector (1), orchestrator
    // → 5 atomic functions across projects, 5 atomic → SF connection, API recipe → SF
    // connection, endpoint → recipe + collection (3).
    let r = check(
        DEWY,
        Expect {
            counts: &[
                ("api_endpoint", 1),
                ("api_group", 1),
                ("connection", 4),
                ("custom_adapter", 1),
                ("recipe", 13),
            ],
            references: 26,
            dangling: &[],
            connectors: &[(
                "Nabu Casa (Home Assistant Cloud)",
                Some(2),
                &[
                    "get_states",
                    "get_entity_state",
                    "call_service",
                    "turn_on",
                    "turn_off",
                    "get_config",
                    "get_services",
                    "get_history",
                    "send_notification",
                ],
                &["new_state_change"],
            )],
        },
    );
    assert_eq!(
        r.connectors[0].providers,
        ["nabu_casa_home_assistant_cloud__connector_2100002083_1768260720"]
    );
    // The whole repository folder reads the same way (references resolve per project folder).
    let outer = inspect_path("workato-devs__dewy-resort");
    assert_eq!(outer.references.len(), 26);
    assert!(outer.dangling.is_empty());
    // One project on its own.
    let ha = inspect_path(&format!("{DEWY}/home-assistant"));
    assert_eq!(ha.references.len(), 13);
}

/// Workato-native JSON files (per SOURCES.md): written back by rlcm's writer byte for byte.
#[test]
fn workato_native_json_round_trips_byte_for_byte() {
    let mut checked = 0;
    let mut check_bytes = |origin: &str, bytes: &[u8]| {
        let value = rlcm::json::parse(origin, bytes).unwrap();
        let out = rlcm::json::to_workato_vec(&value);
        assert!(out == bytes, "{origin}: round trip differs");
        checked += 1;
    };
    for entry in std::fs::read_dir(realworld(ATSUYA)).unwrap() {
        let path = entry.unwrap().path();
        let source = Source::open(&path).unwrap();
        for e in source.entries() {
            if e.path.ends_with(".json") {
                check_bytes(
                    &format!("{}: {}", path.display(), e.path),
                    &source.read(e).unwrap(),
                );
            }
        }
    }
    let native_dirs = [
        TIBCO.to_string(),
        format!("{DEWY}/home-assistant"),
        format!("{DEWY}/Workspace Connections"),
        format!("{DEWY}/orchestrator-recipes"),
        format!("{DEWY}/atomic-salesforce-recipes"),
    ];
    for dir in native_dirs {
        for entry in std::fs::read_dir(realworld(&dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "json") {
                check_bytes(&path.display().to_string(), &std::fs::read(&path).unwrap());
            }
        }
    }
    // 4 zips: 5 + 8 + 6 + 5 JSON entries; tibco 12; dewy 8 + 3 + 1 + 5.
    assert_eq!(checked, 24 + 12 + 17);
}

/// The hand-edited sf-api-collection files (sorted keys, trailing newline) still read.
#[test]
fn reads_non_workato_formatting() {
    let r = inspect_path(&format!("{DEWY}/sf-api-collection"));
    assert_eq!(r.counts.values().sum::<usize>(), 3);
    assert_eq!(r.references.len(), 3, "{:#?}", r.references);
}

/// The streaming extractor used for loading gives exactly what the value-based reference gives,
/// on every asset of the corpus and of the shipped examples.
#[test]
fn streaming_extraction_equals_the_reference() {
    let mut roots = vec![common::realworld_root()];
    roots.push(common::testdata(""));
    let mut checked = 0;
    for root in roots {
        for e in walkdir::WalkDir::new(&root) {
            let path = e.unwrap().path().to_path_buf();
            if path.is_dir() {
                continue;
            }
            let sources: Vec<(String, Vec<u8>)> = if path.extension().is_some_and(|x| x == "zip") {
                let s = Source::open(&path).unwrap();
                s.entries()
                    .iter()
                    .map(|e| (e.path.clone(), s.read(e).unwrap()))
                    .collect()
            } else {
                vec![(path.display().to_string(), std::fs::read(&path).unwrap())]
            };
            for (name, bytes) in sources {
                let Some(t) = rlcm::asset::AssetType::of_path(&name) else {
                    continue;
                };
                let value = rlcm::json::parse(&name, &bytes).unwrap();
                let reference = rlcm::asset::summarize(&t, &value);
                let streamed = rlcm::extract::summarize_bytes(&name, &t, &bytes).unwrap();
                assert_eq!(reference, streamed, "{name}");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked}");
}
