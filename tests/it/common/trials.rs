//! What the fault trials share (`tests/it/fault_trials.rs`: faults from outside with strace;
//! `tests/it/fault_layer.rs`: faults from rlcm's own fault layer): the scenarios (a writing
//! command on a fresh copy of a fixture), the before/after states, and the judgement of one
//! trial against the promises of issue #14 part 1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::*;

/// What a scenario's command writes, and so what is compared before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writes {
    /// The environment `ENV`.
    Env,
    /// The folder `OUT` (`export -o OUT/all.zip`).
    Out,
    /// A mirror at `ENV/mirror` (`pull REMOTE -o ENV/mirror`): compared without its
    /// rebuildable cache and its `remote.json` (whose package ids count up with every export);
    /// a mirror moved aside to `mirror.rlcm-previous` counts as the mirror (the next pull puts
    /// it back).
    Mirror,
}

/// A command to fault, on a fresh copy of `base` (its `ENV`), with `OUT` a folder beside it.
pub struct Scenario {
    pub name: &'static str,
    pub base: PathBuf,
    pub args: Vec<String>,
    pub writes: Writes,
    /// Extra environment variables of the command (`ENV` and `OUT` replaced as in `args`).
    pub envs: Vec<(String, String)>,
}

pub struct Trial {
    pub _dir: tempfile::TempDir,
    pub env: PathBuf,
    pub out: PathBuf,
}

impl Trial {
    /// A file in the trial's folder (beside `ENV` and `OUT`), for logs.
    pub fn side(&self, name: &str) -> PathBuf {
        self._dir.path().join(name)
    }
}

impl Scenario {
    /// A scenario on the environment with no extra variables.
    pub fn new(name: &'static str, base: PathBuf, args: Vec<String>, writes: Writes) -> Scenario {
        Scenario {
            name,
            base,
            args,
            writes,
            envs: Vec::new(),
        }
    }

    pub fn fresh(&self) -> Trial {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("env");
        let out = dir.path().join("out");
        copy_tree(&self.base, &env);
        std::fs::create_dir(&out).unwrap();
        Trial { _dir: dir, env, out }
    }

    fn subst(a: &str, t: &Trial) -> String {
        a.replace("ENV", t.env.to_str().unwrap())
            .replace("OUT", t.out.to_str().unwrap())
    }

    pub fn args(&self, t: &Trial) -> Vec<String> {
        self.args.iter().map(|a| Self::subst(a, t)).collect()
    }

    /// The command's environment variables: the fixed clock and the scenario's own.
    pub fn envs(&self, t: &Trial) -> Vec<(String, String)> {
        let mut v = vec![("RLCM_NOW".to_string(), NOW.to_string())];
        v.extend(self.envs.iter().map(|(k, val)| (k.clone(), Self::subst(val, t))));
        v
    }

    /// What the trial's command writes to, as compared (with the `install_id` and `credential`
    /// a registry hands out anew to every install masked).
    pub fn state(&self, t: &Trial) -> BTreeMap<String, Vec<u8>> {
        let snap = match self.writes {
            Writes::Env => snapshot(&t.env),
            Writes::Out => snapshot(&t.out),
            Writes::Mirror => snapshot(&t.env)
                .into_iter()
                .filter_map(|(k, v)| {
                    let k = match k.strip_prefix("mirror.rlcm-previous/") {
                        Some(rest) => format!("mirror/{rest}"),
                        None => k,
                    };
                    // What a killed pull leaves beside it (its work folder) is checked
                    // apart: the next pull removes it ([`judge`]).
                    let skip = !k.starts_with("mirror/")
                        || k.starts_with("mirror/.rlcm/cache/")
                        || k == "mirror/.rlcm/remote.json"
                        || k == "mirror/.rlcm/lock"
                        || k == "mirror/.rlcm/read.lock";
                    (!skip).then_some((k, v))
                })
                .collect(),
        };
        snap.into_iter().map(|(k, bytes)| masked(k, bytes)).collect()
    }

    /// Runs the command (no fault), with `extra` variables.
    pub fn rlcm_with(&self, t: &Trial, extra: &[(&str, &str)]) -> Output {
        let a = self.args(t);
        let envs = self.envs(t);
        let mut all: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.extend_from_slice(extra);
        rlcm_in(None, &a.iter().map(String::as_str).collect::<Vec<_>>(), &all)
    }

    /// Runs the command without a fault.
    pub fn rlcm(&self, t: &Trial) -> Output {
        self.rlcm_with(t, &[])
    }

    /// A command line running the scenario's command through `wrapper` (strace) first.
    pub fn wrapped(&self, t: &Trial, wrapper: &Path, wrapper_args: &[String]) -> Command {
        let mut cmd = Command::new(wrapper);
        cmd.args(wrapper_args)
            .arg(env!("CARGO_BIN_EXE_rlcm"))
            .args(self.args(t))
            .env("NO_COLOR", "1")
            .env("RLCM_USER", "tester");
        for (k, v) in self.envs(t) {
            cmd.env(k, v);
        }
        cmd
    }

    /// The environment `check` recovers after a trial (the source for `export -o`, the mirror
    /// for a pull); `None` when there is nothing to check (a mirror moved aside, which only
    /// the next pull puts back).
    pub fn recovery_env(&self, t: &Trial) -> Option<PathBuf> {
        match self.writes {
            Writes::Env | Writes::Out => Some(t.env.clone()),
            Writes::Mirror => {
                let m = t.env.join("mirror");
                m.is_dir().then_some(m)
            }
        }
    }
}

/// A JSON file's `install_id` and `credential` values replaced by `MASKED`.
pub fn masked(path: String, bytes: Vec<u8>) -> (String, Vec<u8>) {
    fn mask(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "install_id" || k == "credential" {
                        *x = serde_json::Value::from("MASKED");
                    } else {
                        mask(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(mask),
            _ => {}
        }
    }
    if path.ends_with(".json")
        && bytes
            .windows(10)
            .any(|w| w == b"install_id" || w == b"credential")
        && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&bytes)
    {
        mask(&mut v);
        return (path, serde_json::to_vec(&v).unwrap());
    }
    (path, bytes)
}

#[derive(Default, Debug)]
pub struct Tally {
    /// Trials whose fault was injected, by outcome.
    pub clean_error_before: usize,
    pub error_after_commit: usize,
    pub success_after: usize,
    pub killed_before: usize,
    pub killed_after: usize,
    /// Trials whose N-th call never came (strace: threads count their calls apart).
    pub missed: usize,
    /// Trials whose fault hit the dynamic loader, before rlcm ran.
    pub loader: usize,
    /// Killed exports that left their temporary file (which the next export removed).
    pub temp_left: usize,
}

impl Tally {
    pub fn injected(&self) -> usize {
        self.clean_error_before
            + self.error_after_commit
            + self.success_after
            + self.killed_before
            + self.killed_after
    }

    pub fn summary(&self) -> String {
        format!(
            "{} trials with the fault injected ({} errors leaving it before, {} errors after the commit point leaving it after, {} successes, {} kills before, {} kills after, {} temporaries swept by the next export), {} whose fault never came, {} in the dynamic loader",
            self.injected(),
            self.clean_error_before,
            self.error_after_commit,
            self.success_after,
            self.killed_before,
            self.killed_after,
            self.temp_left,
            self.missed,
            self.loader
        )
    }
}

/// How a trial's fault was injected, for [`judge`].
pub struct Injected<'a> {
    /// The fault fired (strace said INJECTED, or the fault layer logged it).
    pub hit: bool,
    /// A SIGKILL rather than an error.
    pub killed: bool,
    /// The cause the message must give ("No space left on device", ...).
    pub cause: &'a str,
    /// The file the failed operation was on, when known (the fault layer knows it): the
    /// message must name it.
    pub file: Option<&'a Path>,
}

/// Judges one trial: `out` is the faulted run on `t`; `before` and `after` the states without
/// a fault. Panics (naming `what`) on a broken promise; counts the outcome in `tally`.
#[allow(clippy::too_many_arguments)]
pub fn judge(
    s: &Scenario,
    t: &Trial,
    out: &Output,
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
    fault: &Injected<'_>,
    what: &str,
    tally: &mut Tally,
) {
    let err = stderr(out);
    assert!(
        !err.contains("panicked") && out.status.code() != Some(101),
        "{what}: panic\n{err}"
    );
    // The next command recovers (and must find nothing wrong).
    if let Some(env) = s.recovery_env(t) {
        let c = run(&["check", "--env", env.to_str().unwrap(), "--format", "json"]);
        let report: serde_json::Value = serde_json::from_slice(&c.stdout)
            .unwrap_or_else(|e| panic!("{what}: check: {e}: {}", stderr(&c)));
        let errors: Vec<_> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .collect();
        assert!(errors.is_empty(), "{what}: check after it: {errors:#?}");
    }
    let mut now = s.state(t);
    if fault.killed && s.writes == Writes::Out {
        // A killed export can leave its locked temporary file (no process is left to
        // remove it), and nothing else: the next export to that folder removes it.
        let mut without = now.clone();
        without.retain(|p, _| !(p.starts_with(".rlcm-package-") && p.ends_with(".tmp")));
        assert!(
            now.len() - without.len() <= 1 && (&without == before || &without == after),
            "{what}: the destination holds more than the zip or one temporary: {:?}",
            now.keys().collect::<Vec<_>>()
        );
        if without.len() != now.len() {
            tally.temp_left += 1;
            // Another export to the same folder sweeps it.
            let other: Vec<String> = s
                .args(t)
                .into_iter()
                .map(|a| a.replace("all.zip", "other.zip"))
                .collect();
            let o = rlcm_in(
                None,
                &other.iter().map(String::as_str).collect::<Vec<_>>(),
                &[("RLCM_NOW", NOW)],
            );
            ok(&o);
            std::fs::remove_file(t.out.join("other.zip")).unwrap();
            now = s.state(t);
            assert!(
                now == without,
                "{what}: the next export left the killed one's temporary: {:?}",
                now.keys().collect::<Vec<_>>()
            );
        }
    }
    let is_before = &now == before;
    let is_after = &now == after;
    let differ = |other: &BTreeMap<String, Vec<u8>>| -> Vec<String> {
        now.keys()
            .chain(other.keys())
            .filter(|p| now.get(*p) != other.get(*p))
            .take(5)
            .cloned()
            .collect()
    };
    assert!(
        is_before || is_after,
        "{what}: neither before nor after (exit {:?}; differs from before in {:?}, from after in {:?})\n{err}",
        out.status,
        differ(before),
        differ(after)
    );
    if s.writes == Writes::Mirror && t.env.join("mirror/.rlcm/remote.json").is_file() {
        let info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(t.env.join("mirror/.rlcm/remote.json")).unwrap())
                .unwrap_or_else(|e| panic!("{what}: the mirror's remote.json: {e}"));
        validate("remote-info", &info);
    }
    if !fault.hit {
        assert!(
            out.status.success(),
            "{what}: not injected, yet it failed ({:?}): {err}",
            out.status
        );
        tally.missed += 1;
        return;
    }
    if fault.killed {
        if is_before {
            tally.killed_before += 1;
        } else {
            tally.killed_after += 1;
        }
    } else if out.status.success() {
        assert!(is_after, "{what}: exit 0 but the change is not there");
        tally.success_after += 1;
    } else {
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        // A fault on stderr itself leaves nothing to read: then it must be quiet.
        assert!(
            err.trim().is_empty() || err.contains(fault.cause),
            "{what}: the message does not give the cause:\n{err}"
        );
        if let Some(file) = fault.file {
            // A rename or link is logged `FROM -> TO`: naming either is naming the file.
            let name = file.display().to_string();
            let named = name.split(" -> ").any(|p| err.contains(&format!("`{p}`")));
            assert!(
                named,
                "{what}: the message does not name the file `{name}`:\n{err}"
            );
        }
        if is_after {
            // A transaction says that what failed is committed (init, export and pull have
            // none: their last step, flushing the folder after the rename, failed).
            assert!(
                err.trim().is_empty()
                    || err.contains("is committed")
                    || err.contains("the report to standard output")
                    || s.name.starts_with("init")
                    || s.name.starts_with("export -o")
                    || s.name.starts_with("pull"),
                "{what}: after the commit point, the message does not say the change is made (differs from before in {:?}):\n{err}",
                differ(before)
            );
            tally.error_after_commit += 1;
        } else {
            tally.clean_error_before += 1;
        }
    }
    let leftovers = || -> Vec<String> {
        std::fs::read_dir(&t.env)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "mirror")
            .collect()
    };
    if is_before || (s.writes == Writes::Mirror && !leftovers().is_empty()) {
        // Once the fault is gone, the same command succeeds (and a pull removes what a
        // killed one left beside the mirror).
        let again = s.rlcm(t);
        assert!(
            again.status.success(),
            "{what}: then without the fault: {}",
            stderr(&again)
        );
        assert!(
            &s.state(t) == after,
            "{what}: then without the fault: not as after"
        );
    }
    if s.writes == Writes::Mirror {
        assert!(
            leftovers().is_empty(),
            "{what}: left beside the mirror: {:?}",
            leftovers()
        );
    }
}

/// A generated sandbox and production (small), initialised, and the sandbox's whole export.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub sb: PathBuf,
    pub prod: PathBuf,
    pub pkg: PathBuf,
}

pub fn generate(out: &Path, extra: &[&str]) {
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/gen_env.py");
    let st = Command::new("python3")
        .arg(&generator)
        .args(["--out", out.to_str().unwrap(), "--recipes", "12"])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (sb, prod) = (dir.path().join("sb"), dir.path().join("prod"));
    generate(&sb, &[]);
    generate(
        &prod,
        &["--env-id", "2200000002", "--drift", "0.3", "--extra", "3"],
    );
    ok(&run(&["init", sb.to_str().unwrap(), "--id", "1100000001"]));
    ok(&run(&["init", prod.to_str().unwrap(), "--id", "2200000002"]));
    let pkg = dir.path().join("all.zip");
    ok(&run(&[
        "export",
        "--env",
        sb.to_str().unwrap(),
        "--folder",
        "",
        "-o",
        pkg.to_str().unwrap(),
    ]));
    Fixture { dir, sb, prod, pkg }
}

impl Fixture {
    /// A copy of production named `name`, changed by `f`.
    pub fn variant(&self, name: &str, f: impl FnOnce(&Path)) -> PathBuf {
        let p = self.dir.path().join(name);
        copy_tree(&self.prod, &p);
        f(&p);
        p
    }
}

pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Runs rlcm as the publisher `alice` (her registry `hub` configured in `config`).
pub fn as_alice(config: &Path, token: &str, args: &[&str]) -> String {
    ok(&rlcm_in(
        None,
        args,
        &[
            ("RLCM_CONFIG_DIR", config.to_str().unwrap()),
            ("RLCM_REGISTRY_TOKEN_HUB", token),
            ("RLCM_NOW", NOW),
        ],
    ))
}

/// A registry on loopback with alice's connector shared and a share link to it; a sandbox
/// to install it into (`install`), and the same sandbox with it installed while a newer
/// version is shared (`update`). The scenarios `connector install` and `connector update`.
pub struct RegistryWorld {
    pub _dir: tempfile::TempDir,
    pub _server: RegistryServer,
    pub install: Scenario,
    pub update: Scenario,
}

pub fn registry_world() -> RegistryWorld {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("registry");
    let token = add_publisher(&data, "alice");
    let server = RegistryServer::start(&data, &[]);
    let config = dir.path().join("config-alice");
    ok(&rlcm_in(
        None,
        &["registry", "add", "hub", "--url", &server.url],
        &[("RLCM_CONFIG_DIR", config.to_str().unwrap())],
    ));
    let a = env_copy(dir.path(), "production", "2200000002");
    let ae = a.to_str().unwrap();
    as_alice(
        &config,
        &token,
        &["connector", "share", "Acme CRM", "--env", ae, "--registry", "hub"],
    );
    let out = as_alice(
        &config,
        &token,
        &[
            "connector",
            "link",
            "create",
            "Acme CRM",
            "--env",
            ae,
            "--registry",
            "hub",
        ],
    );
    let link = out.lines().last().unwrap().trim().to_string();
    std::fs::create_dir_all(dir.path().join("b")).unwrap();
    let b = env_copy(&dir.path().join("b"), "sandbox", "1100000002");
    let fresh = dir.path().join("b-fresh");
    copy_tree(&b, &fresh);
    let install = Scenario::new(
        "connector install",
        fresh,
        strs(&[
            "connector",
            "install",
            &link,
            "--env",
            "ENV",
            "--as",
            "Acme Partner",
        ]),
        Writes::Env,
    );
    // Installed, then the parent shares a newer version.
    let be = b.to_str().unwrap();
    ok(&run(&[
        "connector",
        "install",
        &link,
        "--env",
        be,
        "--as",
        "Acme Partner",
    ]));
    let rb = a.join("acme_crm.custom_adapter.rb");
    let code = std::fs::read_to_string(&rb).unwrap();
    std::fs::write(&rb, format!("# a newer version\n{code}")).unwrap();
    as_alice(
        &config,
        &token,
        &["connector", "commit", "Acme CRM", "--note", "n", "--env", ae],
    );
    as_alice(
        &config,
        &token,
        &["connector", "release", "Acme CRM", "--env", ae],
    );
    as_alice(
        &config,
        &token,
        &["connector", "share", "Acme CRM", "--env", ae, "--registry", "hub"],
    );
    let update = Scenario::new(
        "connector update",
        b,
        strs(&["connector", "update", "Acme Partner", "--env", "ENV"]),
        Writes::Env,
    );
    RegistryWorld {
        _dir: dir,
        _server: server,
        install,
        update,
    }
}

/// The token of the emulator the pull scenario starts.
pub const PULL_TOKEN: &str = "emu-trials-token-SECRET-2468013579";

/// An emulator on loopback serving a production workspace, a remote `prod` configured for
/// it, and a mirror pulled from it before the workspace changed "in the UI": the scenario
/// `pull` (`pull prod -o ENV/mirror` into a copy of that mirror's folder).
pub struct PullWorld {
    pub _dir: tempfile::TempDir,
    pub _emulator: Emulator,
    pub pull: Scenario,
}

pub fn pull_world() -> PullWorld {
    let dir = tempfile::tempdir().unwrap();
    let prod = env_copy(dir.path(), "production", "2200000002");
    let emulator = Emulator::start(&prod, PULL_TOKEN, "0", None, &[]);
    let cfg = dir.path().join("cfg");
    let envs: Vec<(String, String)> = [
        ("RLCM_CONFIG_DIR", cfg.to_str().unwrap()),
        ("RLCM_CACHE_DIR", cfg.join("cache").to_str().unwrap()),
        ("RLCM_RATE_LIMITS", "off"),
        ("RLCM_TOKEN_PROD", PULL_TOKEN),
        ("RLCM_NO_PROGRESS", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let with = |args: &[&str]| {
        let e: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut all = vec![("RLCM_NOW", NOW)];
        all.extend(e);
        ok(&rlcm_in(None, args, &all))
    };
    with(&["remote", "add", "prod", "--url", &emulator.url]);
    let base = dir.path().join("base");
    std::fs::create_dir(&base).unwrap();
    with(&["pull", "prod", "-o", base.join("mirror").to_str().unwrap()]);
    // A change "in the UI", so that the next pull changes the mirror.
    let edited = prod.join("country_codes.lookup_table.json");
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(
        &edited,
        text.replacen('{', "{\n  \"description\": \"edited in the UI\",", 1),
    )
    .unwrap();
    let pull = Scenario {
        name: "pull (mirror)",
        base,
        args: strs(&["pull", "prod", "-o", "ENV/mirror"]),
        writes: Writes::Mirror,
        envs,
    };
    PullWorld {
        _dir: dir,
        _emulator: emulator,
        pull,
    }
}
