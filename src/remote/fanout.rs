//! Fan-out: one package to many workspaces. Every target is planned first; nothing is pushed
//! when any plan is blocked or fails (unless `keep_going`); then the pushes run with bounded
//! concurrency, each workspace paced by its own client.

use std::path::Path;
use std::sync::Mutex;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::http::Client;
use super::push::{self, PushOptions};
use crate::apply::open_package;
use crate::error::Error;
use crate::report::FORMAT_VERSION;

/// How one target ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// Imported and verified (or already pushed, from `--resume`).
    Pushed,
    /// Its plan was blocked.
    Blocked,
    /// Planning, importing or verifying failed.
    Failed,
    /// Not pushed because another target was blocked or failed.
    Skipped,
}

/// One target's result.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct TargetResult {
    /// The remote.
    pub remote: String,
    /// How it ended.
    pub status: TargetStatus,
    /// The import's package id.
    pub package_id: Option<u64>,
    /// What went wrong.
    pub error: Option<String>,
    /// True when the import's outcome is unknown (its answer never came).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outcome_unknown: bool,
}

/// `rlcm push --remote A --remote B ... --format json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct FanoutReport {
    /// Always 1.
    pub format_version: u32,
    /// One result per target, in the order given.
    pub results: Vec<TargetResult>,
}

impl FanoutReport {
    /// Exit code: 4 when an import's outcome is unknown, 1 when a target failed, 3 when a plan
    /// was blocked, else 0.
    pub fn exit_code(&self) -> i32 {
        let any = |s: TargetStatus| self.results.iter().any(|r| r.status == s);
        if self.results.iter().any(|r| r.outcome_unknown) {
            4
        } else if any(TargetStatus::Failed) {
            1
        } else if any(TargetStatus::Blocked) {
            3
        } else {
            0
        }
    }
}

/// One target: its name, client and push options.
pub struct Target {
    /// The remote.
    pub name: String,
    /// Its client (own pacing).
    pub client: Client,
    /// How to push.
    pub opts: PushOptions,
}

/// Options of a fan-out.
#[derive(Debug, Clone, Default)]
pub struct FanoutOptions {
    /// Pushes at once (at least 1).
    pub parallel: usize,
    /// Push the good targets even when others are blocked or fail.
    pub keep_going: bool,
    /// Results of an earlier run: its `pushed` targets are not pushed again.
    pub resume: Option<FanoutReport>,
}

fn failed(name: &str, e: &Error) -> TargetResult {
    TargetResult {
        remote: name.to_string(),
        status: if e.is_blocked() {
            TargetStatus::Blocked
        } else {
            TargetStatus::Failed
        },
        package_id: None,
        error: Some(e.to_string()),
        outcome_unknown: e.is_outcome_unknown(),
    }
}

/// Runs the fan-out. `progress` gets (remote, message).
pub fn run(
    targets: Vec<std::result::Result<Target, (String, Error)>>,
    package: &Path,
    opts: &FanoutOptions,
    progress: &(dyn Fn(&str, &str) + Sync),
) -> FanoutReport {
    let n = targets.len();
    let mut results: Vec<Option<TargetResult>> = vec![None; n];
    let mut todo: Vec<(usize, Target)> = Vec::new();
    // 1. Resume, connect, plan.
    for (i, t) in targets.into_iter().enumerate() {
        let name = match &t {
            Ok(t) => t.name.clone(),
            Err((n, _)) => n.clone(),
        };
        if let Some(prev) = opts.resume.as_ref().and_then(|r| {
            r.results
                .iter()
                .find(|x| x.remote == name && x.status == TargetStatus::Pushed)
        }) {
            results[i] = Some(prev.clone());
            continue;
        }
        let mut t = match t {
            Ok(t) => t,
            Err((n, e)) => {
                results[i] = Some(failed(&n, &e));
                continue;
            }
        };
        let planned = open_package(package).and_then(|pkg| {
            push::plan_remote(&t.client, &pkg, package, &t.opts.plan, &mut |m| {
                progress(&t.name, m)
            })
        });
        match planned {
            Ok((plan, _)) if plan.blocked && !t.opts.force => {
                results[i] = Some(TargetResult {
                    remote: t.name.clone(),
                    status: TargetStatus::Blocked,
                    package_id: None,
                    error: Some(format!(
                        "plan blocked: {}",
                        plan.blockers
                            .iter()
                            .map(|b| format!("{b:?}"))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )),
                    outcome_unknown: false,
                });
            }
            Ok((plan, _)) => {
                // The push holds to this plan: a workspace that changes meanwhile is refused.
                t.opts.saved = Some(plan);
                todo.push((i, t));
            }
            Err(e) => results[i] = Some(failed(&t.name, &e)),
        }
    }
    let bad = results
        .iter()
        .flatten()
        .any(|r| matches!(r.status, TargetStatus::Blocked | TargetStatus::Failed));
    if bad && !opts.keep_going {
        for (i, t) in todo {
            results[i] = Some(TargetResult {
                remote: t.name,
                status: TargetStatus::Skipped,
                package_id: None,
                error: Some(
                    "not pushed: another target's plan was blocked or failed (see --keep-going)".into(),
                ),
                outcome_unknown: false,
            });
        }
    } else {
        // 2. Push with bounded concurrency.
        let queue = Mutex::new(todo);
        let done = Mutex::new(Vec::new());
        let workers = opts.parallel.max(1);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop();
                        let Some((i, t)) = next else { break };
                        let r = push::push(&t.client, package, &t.opts, &mut |m| progress(&t.name, m));
                        let res = match r {
                            Ok(rep) if rep.differences.is_empty() => TargetResult {
                                remote: t.name.clone(),
                                status: TargetStatus::Pushed,
                                package_id: rep.package_id,
                                error: None,
                                outcome_unknown: false,
                            },
                            Ok(rep) => TargetResult {
                                remote: t.name.clone(),
                                status: TargetStatus::Failed,
                                package_id: rep.package_id,
                                error: Some(format!("did not verify: {}", rep.differences.join("; "))),
                                outcome_unknown: false,
                            },
                            Err(e) => failed(&t.name, &e),
                        };
                        done.lock().unwrap_or_else(|e| e.into_inner()).push((i, res));
                    }
                });
            }
        });
        for (i, r) in done.into_inner().unwrap_or_else(|e| e.into_inner()) {
            results[i] = Some(r);
        }
    }
    FanoutReport {
        format_version: FORMAT_VERSION,
        results: results.into_iter().flatten().collect(),
    }
}
