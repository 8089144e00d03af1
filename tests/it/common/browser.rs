//! Headless Chromium for the tests of pages a person looks at (`browser`, `community`): finding
//! it, running it hermetically, and one visit (DOM, console lines, requested URLs, a screenshot
//! in `target/test-artifacts/`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Chromium on `PATH`; `None` when `RLCM_SKIP_BROWSER` is set; panics when it is not installed.
pub fn chromium() -> Option<PathBuf> {
    if std::env::var_os("RLCM_SKIP_BROWSER").is_some() {
        return None;
    }
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    panic!("chromium is not installed (apt-get install -y chromium), or set RLCM_SKIP_BROWSER=1");
}

/// Runs chromium with `args` (plus the hermetic flags and a fresh profile in `work`) on `url`,
/// at most 120 s: its stdout and stderr.
pub fn chromium_run(bin: &Path, work: &Path, url: &str, args: &[String]) -> (String, String) {
    let profile = tempfile::tempdir_in(work).unwrap();
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            // Chromium's own background fetches (network time), which are not the page's.
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
            "--disable-default-apps",
            "--metrics-recording-only",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (out.join().unwrap(), err.join().unwrap())
}

/// What the browser did with one page.
pub struct Visit {
    /// The DOM after load (`--dump-dom`).
    pub dom: String,
    /// The size of the net log (a log that was not written is a failed check, not a pass).
    pub net_log_bytes: usize,
    /// Console messages, CSP refusals and uncaught errors.
    pub console: Vec<String>,
    /// Every URL the browser requested.
    pub requested: Vec<String>,
}

/// Opens `url` in chromium: its DOM, console lines and requested URLs; then a screenshot of
/// `width`x`height` at `target/test-artifacts/NAME.png`, which must be written.
pub fn visit(bin: &Path, work: &Path, name: &str, url: &str, (width, height): (u32, u32)) -> Visit {
    let netlog = work.join(format!("{name}.netlog.json"));
    let (dom, log) = chromium_run(
        bin,
        work,
        url,
        &[
            format!("--log-net-log={}", netlog.display()),
            "--net-log-capture-mode=Everything".into(),
            "--dump-dom".into(),
        ],
    );
    let console: Vec<String> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Content Security Policy") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect();
    let net = std::fs::read_to_string(&netlog).unwrap_or_default();
    let re = regex::Regex::new(r#""(?:url|original_url)":"([^"]+)""#).unwrap();
    let requested: Vec<String> = re.captures_iter(&net).map(|c| c[1].to_string()).collect();
    // The screenshot, for a person to look at.
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    chromium_run(
        bin,
        work,
        url,
        &[
            format!("--screenshot={}", shot.display()),
            format!("--window-size={width},{height}"),
            "--hide-scrollbars".into(),
        ],
    );
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 10_000)
            .unwrap_or(false),
        "no screenshot written at {}",
        shot.display()
    );
    Visit {
        net_log_bytes: net.len(),
        dom,
        console,
        requested,
    }
}

/// Chromium's own services (component updates, network time) still call home despite the
/// flags; they are the browser's requests, not the page's, and are recognised by host.
pub fn browser_own(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|r| r.split(['/', '?', ':']).next())
        .unwrap_or("");
    host.ends_with(".googleapis.com") || host.ends_with(".google.com") || host.ends_with(".gvt1.com")
}
