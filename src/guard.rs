//! Hostile environments: an environment directory may have been prepared by someone else (a
//! tarball, a shared drive, a clone), so nothing rlcm reads from `.rlcm/` is trusted to stay
//! inside the environment.
//!
//! - `.rlcm/` and each of its folders and files must be what they claim (a real directory, a
//!   regular file), checked with `lstat` before anything in them is opened: a symbolic link
//!   there could point rlcm's staging, lock, cache or history outside the environment.
//! - Every path that a state file names (journal operations, staged files, history records,
//!   connector code files) is validated as strictly as a zip entry name, and every folder on
//!   the way to it must be a real directory inside the environment, before the file is opened.

use crate::error::Subject;
use std::path::Path;

use crate::error::{Error, Result};

/// The folders of `.rlcm/`.
const STATE_DIRS: &[&str] = &["tmp", "cache", "history", "connectors"];

/// The files of `.rlcm/`.
const STATE_FILES: &[&str] = &[
    "lock",
    "read.lock",
    "journal.json",
    "env.json",
    "recipes.json",
    "baseline.json",
    ".gitignore",
    "cache/summaries.bin",
];

/// What a path is, without following a final symbolic link; `None` when it does not exist.
fn kind(path: &Path) -> Result<Option<std::fs::FileType>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(m.file_type())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        // A component that is a file (ENOTDIR) is not a way in either.
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Ok(None),
        Err(e) => Err(Error::io("inspect", path, e)),
    }
}

fn refuse(path: &Path, what: &str) -> Error {
    Error::invalid(Subject::path(path), format!("`{}` {what}", path.display())).hint("rlcm keeps its state only in real files and folders inside the environment, so it refuses to use this one (was the environment prepared elsewhere? remove it, or restore `.rlcm/` from git or a backup)")
}

/// Checks that `.rlcm/` of `root` (when present) and its known folders and files are real
/// directories and regular files, not symbolic links or anything else.
pub(crate) fn check_state_dir(root: &Path) -> Result<()> {
    let dot = root.join(".rlcm");
    match kind(&dot)? {
        None => return Ok(()),
        Some(t) if t.is_dir() => {}
        Some(t) if t.is_symlink() => return Err(refuse(&dot, "is a symbolic link")),
        Some(_) => return Err(refuse(&dot, "is not a directory")),
    }
    for d in STATE_DIRS {
        let p = dot.join(d);
        match kind(&p)? {
            None => {}
            Some(t) if t.is_dir() => {}
            Some(t) if t.is_symlink() => return Err(refuse(&p, "is a symbolic link")),
            Some(_) => return Err(refuse(&p, "is not a directory")),
        }
    }
    for f in STATE_FILES {
        let p = dot.join(f);
        match kind(&p)? {
            None => {}
            Some(t) if t.is_file() => {}
            Some(t) if t.is_symlink() => return Err(refuse(&p, "is a symbolic link")),
            Some(_) => return Err(refuse(&p, "is not a regular file")),
        }
    }
    Ok(())
}

/// Checks that `rel` (a `/`-separated path read from the state file `named_in`) names a place
/// inside `root`: a valid relative name (as strict as a zip entry name), every existing folder
/// on the way a real directory, and the file itself, when it exists, not a symbolic link.
/// Nothing is opened.
pub(crate) fn check_inside(root: &Path, rel: &str, named_in: &Path) -> Result<()> {
    crate::source::validate_entry_name(rel).map_err(|reason| {
        Error::invalid(
            Subject::path(named_in),
            format!("`{}` names the path `{rel}`, which {reason}", named_in.display()),
        )
        .hint("rlcm refuses it (the file is damaged or was crafted: restore `.rlcm/` from git or a backup)")
    })?;
    let mut at = root.to_path_buf();
    let parts: Vec<&str> = rel.trim_end_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        match kind(&at)? {
            None => return Ok(()),
            Some(t) if t.is_symlink() => {
                return Err(Error::invalid(
                    Subject::path(named_in),
                    format!(
                        "`{}` names `{rel}`, but `{}` is a symbolic link",
                        named_in.display(),
                        at.display()
                    ),
                )
                .hint("rlcm refuses to follow it out of the environment"));
            }
            Some(t) if i + 1 < parts.len() && !t.is_dir() => return Ok(()),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Checks a name that must be one plain path component (a staging folder's id, say).
pub(crate) fn check_component(name: &str, named_in: &Path) -> Result<()> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            Subject::path(named_in),
            format!(
                "`{}` names `{name}` where a plain file name is expected",
                named_in.display()
            ),
        )
        .hint("rlcm refuses it (the file is damaged or was crafted: restore `.rlcm/` from git or a backup)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_and_through_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("env");
        std::fs::create_dir_all(root.join(".rlcm/history")).unwrap();
        let j = root.join(".rlcm/journal.json");
        for bad in ["../x", "/etc/passwd", "a/../../x", "a//b", "C:/x", "a\\b", ""] {
            assert!(check_inside(&root, bad, &j).is_err(), "{bad}");
        }
        check_inside(&root, "a/b/c.json", &j).unwrap();
        check_inside(&root, ".rlcm/history/1.json", &j).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("out")).unwrap();
        let e = check_inside(&root, "out/x.json", &j).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert!(check_inside(&root, "out", &j).is_err());
        check_state_dir(&root).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join(".rlcm/tmp")).unwrap();
        let e = check_state_dir(&root).unwrap_err().to_string();
        assert!(e.contains(".rlcm/tmp"), "{e}");
        for bad in ["..", ".", "a/b", "", "../../x"] {
            assert!(check_component(bad, &j).is_err(), "{bad}");
        }
        check_component("1234-56", &j).unwrap();
    }
}
