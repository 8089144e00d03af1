//! `rlcm recipe start | stop | list`: recipe running state.

use crate::asset::AssetType;
use crate::env::Actor;
use crate::env::{self, Environment, RunInfo, Transaction};
use crate::error::Subject;
use crate::error::{Error, Result};
use crate::report::*;
use crate::workspace::Workspace;

fn list_of(env: &Environment, ws: &Workspace, only: Option<&[String]>) -> RecipeListReport {
    let recipes = ws
        .assets
        .iter()
        .filter(|a| a.asset_type == AssetType::Recipe)
        .filter(|a| only.is_none_or(|o| o.contains(&a.path)))
        .map(|a| {
            let run = env.state.as_ref().and_then(|s| s.recipes.running.get(&a.path));
            RecipeStateEntry {
                path: a.path.clone(),
                name: a.name.clone(),
                running: run.is_some(),
                since: run.map(|r| r.since.clone()),
                by: run.map(|r| r.by.clone()),
            }
        })
        .collect();
    RecipeListReport {
        format_version: FORMAT_VERSION,
        recipes,
    }
}

/// `recipe list`.
pub fn list(env: &Environment, running_only: bool) -> Result<RecipeListReport> {
    let ws = env.load_workspace()?;
    let mut report = list_of(env, &ws, None);
    if running_only {
        report.recipes.retain(|r| r.running);
    }
    Ok(report)
}

/// `recipe start` (`run = true`) or `recipe stop`: sets the running state of recipes.
pub fn set_running(
    mut env: Environment,
    recipes: &[String],
    all: bool,
    run: bool,
    actor: &Actor,
) -> Result<RecipeListReport> {
    let _lock = env.lock(actor.wait, if run { "recipe start" } else { "recipe stop" })?;
    let ws = env.load_workspace()?;
    let mut paths = Vec::new();
    if all {
        paths.extend(
            ws.assets
                .iter()
                .filter(|a| a.asset_type == AssetType::Recipe)
                .map(|a| a.path.clone()),
        );
    }
    for r in recipes {
        let i = ws.find_asset(r)?;
        if ws.assets[i].asset_type != AssetType::Recipe {
            return Err(Error::invalid(
                Subject::Asset(ws.assets[i].path.to_string()),
                format!(
                    "`{}` is a {}, not a recipe",
                    ws.assets[i].path, ws.assets[i].asset_type
                ),
            ));
        }
        paths.push(ws.assets[i].path.clone());
    }
    if paths.is_empty() {
        return Err(Error::invalid(
            Subject::Arguments,
            "name the recipes (paths relative to the environment), or pass `--all`",
        ));
    }
    let mut state = env.state()?.clone();
    let now = env::now_rfc3339();
    for p in &paths {
        if run {
            state.recipes.running.entry(p.clone()).or_insert_with(|| RunInfo {
                since: now.clone(),
                by: actor.user.clone(),
            });
        } else {
            state.recipes.running.remove(p);
        }
    }
    let mut txn = Transaction::begin(&env.root, if run { "recipe start" } else { "recipe stop" })?;
    env::stage_state(&env.root, &state, &mut txn)?;
    txn.commit()?;
    env.state = Some(state);
    env.refresh_cache(&ws);
    Ok(list_of(&env, &ws, Some(&paths)))
}
