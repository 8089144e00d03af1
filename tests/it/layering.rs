//! The library's modules depend downward only (ARCHITECTURE.md, *Layering*): a module may use
//! only those before it in [`ORDER`]. A new module must be placed in the order; an upward
//! `crate::` path (outside `#[cfg(test)]` modules and comments) fails this test, naming the
//! file.

use std::collections::BTreeSet;
use std::path::Path;

/// Bottom first: no module cycle.
const ORDER: &[&str] = &[
    "error",
    "progress",
    "istr",
    "json",
    "slug",
    "hooks",
    "fsutil",
    "asset",
    "extract",
    "ruby",
    "source",
    "guard",
    "diag",
    "cache",
    "watch",
    "workspace",
    "env",
    "graph",
    "index",
    "layout",
    "package",
    "secrets",
    "semdiff",
    "report",
    "connector",
    "plan",
    "apply",
    "config",
    "registry",
    "ops",
    "remote",
    "schemas",
];

/// The top-level modules a source file names through `crate::`.
fn crate_paths(text: &str) -> BTreeSet<String> {
    // Unit tests may reach anywhere.
    let code = match regex::Regex::new(r"#\[cfg\(test\)\]\s*mod ").unwrap().find(text) {
        Some(m) => &text[..m.start()],
        None => text,
    };
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let list_item = regex::Regex::new(r"(?:^|[,{\s])([a-z_]+)(?:::|\s*[,}]|$)").unwrap();
    for c in regex::Regex::new(r"crate::([a-z_]+)")
        .unwrap()
        .captures_iter(&code)
    {
        out.insert(c[1].to_string());
    }
    for c in regex::Regex::new(r"(?s)use crate::\{([^;]*)\};")
        .unwrap()
        .captures_iter(&code)
    {
        for name in list_item.captures_iter(&c[1]) {
            if &name[1] != "self" {
                out.insert(name[1].to_string());
            }
        }
    }
    out
}

#[test]
fn library_modules_depend_downward_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rank = |m: &str| ORDER.iter().position(|o| *o == m);
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(&src).sort_by_file_name() {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !rel.ends_with(".rs") || rel == "lib.rs" || rel == "main.rs" || rel.starts_with("cli/") {
            continue;
        }
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        let Some(mine) = rank(&top) else {
            problems.push(format!(
                "src/{rel}: module `{top}` is not placed in ORDER (tests/it/layering.rs)"
            ));
            continue;
        };
        let text = std::fs::read_to_string(entry.path()).unwrap();
        for dep in crate_paths(&text) {
            if dep == top || dep == "Error" || dep == "Result" {
                continue;
            }
            match rank(&dep) {
                Some(r) if r < mine => {}
                Some(_) => problems.push(format!(
                    "src/{rel}: `{top}` uses `crate::{dep}`, which is above it"
                )),
                None => problems.push(format!("src/{rel}: `crate::{dep}` is not placed in ORDER")),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "upward module dependencies:\n{}",
        problems.join("\n")
    );
}

/// The check sees what it must: a `use crate::{..}` list, a path in code, and not a comment.
#[test]
fn crate_paths_are_found_in_code_and_lists_but_not_comments() {
    let found = crate_paths("use crate::{asset::X, env};\n// crate::remote\nfn f() { crate::ops::go() }\n");
    assert_eq!(
        found,
        ["asset", "env", "ops"].iter().map(|s| s.to_string()).collect()
    );
}
