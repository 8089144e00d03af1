//! The community library's signed-in admin page, pagination and keyboard use, driven in a real
//! headless Chromium through WebDriver (the W3C JSON protocol, spoken over `ureq` to Debian's
//! `chromedriver`, which the test starts on an ephemeral loopback port).
//!
//! What `tests/it/community.rs` checks over HTTP and with `chromium --dump-dom` (which cannot carry
//! a session cookie), this checks as a person would use it: signing in through the form,
//! the review queue's "app not in catalog" flag and logo preview, approving by a click and
//! seeing the card in the library, a form whose CSRF token was removed in the page (403, nothing
//! changes), rejecting with a reason, approving with the keyboard only (Tab, Enter), the next
//! page link, and labels on the search form. Every page: no console message, no request outside
//! the server (Chromium's performance log); screenshots into `target/test-artifacts/`.
//!
//! Chromium and chromedriver must be installed (`.ci/run` installs `chromium` and
//! `chromium-driver`); without them the test fails, unless `RLCM_SKIP_BROWSER=1` says to skip it.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A chromedriver on loopback with one headless Chromium session.
struct Driver {
    child: Child,
    base: String,
    session: String,
    server: String,
    agent: ureq::Agent,
    /// Performance log entries read while waiting for a document.
    pending: std::cell::RefCell<Vec<Value>>,
    _profile: tempfile::TempDir,
}

impl Driver {
    fn start(server: &str, work: &Path) -> Option<Driver> {
        if std::env::var_os("RLCM_SKIP_BROWSER").is_some() {
            return None;
        }
        let chromium = on_path("chromium")
            .or_else(|| on_path("chromium-browser"))
            .expect("chromium is not installed (apt-get install -y chromium), or set RLCM_SKIP_BROWSER=1");
        let driver = on_path("chromedriver").expect(
            "chromedriver is not installed (apt-get install -y chromium-driver), or set RLCM_SKIP_BROWSER=1",
        );
        let mut child = Command::new(driver)
            .args(["--port=0", "--allowed-ips=127.0.0.1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        // "ChromeDriver was started successfully on port N."
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("successfully on port ").nth(1) {
                    let _ = tx.send(rest.trim_end_matches('.').trim().to_string());
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromedriver did not say its port within 30 s");
            }
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let profile = tempfile::tempdir_in(work).unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-extensions", "--disable-default-apps", "--window-size=1280,1600",
                    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}});
        let mut d = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            server: server.to_string(),
            agent,
            pending: Default::default(),
            _profile: profile,
        };
        let v = d.call("POST", "/session", Some(caps));
        d.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        Some(d)
    }

    /// One WebDriver command: its `value`, or a panic naming the command and the error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{}", self.base, path);
        let mut r = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, b) => self.agent.post(&url).send_json(b.unwrap_or_else(|| json!({}))),
        }
        .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = r.status().as_u16();
        let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
        assert!(status < 300, "WebDriver {method} {path}: {status} {v}");
        v["value"].clone()
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn goto(&self, url: &str) {
        self.call("POST", &self.s("/url"), Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.call("GET", &self.s("/url"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.s("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no {css}: {v}"))
            .to_string()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &self.s(&format!("/element/{e}/click")), None);
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &self.s(&format!("/element/{e}/value")),
            Some(json!({ "text": text })),
        );
    }

    /// Runs ACTION (a click or a key press that submits a form or follows a link) and waits
    /// (at most 10 s) until the browser shows the new, fully loaded document.
    fn navigating(&self, action: impl FnOnce()) {
        self.exec("window.__rlcmOld = true; return null;");
        action();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.exec("return window.__rlcmOld === undefined && document.readyState === 'complete';")
            != json!(true)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "no new page within 10 s at {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn exec(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
    }

    fn text(&self) -> String {
        self.exec("return document.body.innerText;")
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Presses a key on whatever has the focus (real key events, through the Actions API).
    fn press(&self, key: &str) {
        self.call(
            "POST",
            &self.s("/actions"),
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}
            ]}]})),
        );
        self.call("DELETE", &self.s("/actions"), None);
    }

    /// Presses Tab until `matches` (a JS expression on `e`, the focused element) holds; the
    /// number of presses. At most 80.
    fn tab_to(&self, matches: &str) -> usize {
        for n in 1..=80 {
            self.press(TAB);
            let hit = self.exec(&format!(
                "const e = document.activeElement; return !!(e && ({matches}));"
            ));
            if hit == json!(true) {
                return n;
            }
        }
        panic!("Tab never reached an element where {matches}");
    }

    fn log(&self, kind: &str) -> Vec<Value> {
        self.call("POST", &self.s("/se/log"), Some(json!({ "type": kind })))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// After a step: no console message, nothing requested outside the server; the HTTP
    /// statuses of the documents loaded (in order); a screenshot `NAME.png`.
    fn check(&self, name: &str) -> Vec<(String, u64)> {
        self.check_refused(name, None)
    }

    /// As `check`, where the document loaded is an expected refusal: the one console message
    /// allowed is Chromium's network error for `refused` (a URL path and status).
    fn check_refused(&self, name: &str, refused: Option<(&str, u16)>) -> Vec<(String, u64)> {
        let mut requested = Vec::new();
        let mut documents = Vec::new();
        // Every step loads a document: wait for it, and for its events to reach the log.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let entries = loop {
            let ready = self.exec("return document.readyState;") == json!("complete");
            let here = self.url();
            if ready {
                self.pending.borrow_mut().extend(self.log("performance"));
            }
            // The document now shown has had its response logged.
            let has_document = self.pending.borrow().iter().any(|e| {
                let m: Value = serde_json::from_str(e["message"].as_str().unwrap_or("")).unwrap_or_default();
                let p = &m["message"]["params"];
                m["message"]["method"] == "Network.responseReceived"
                    && p["type"] == "Document"
                    && p["response"]["url"] == here.as_str()
            });
            if has_document {
                break std::mem::take(&mut *self.pending.borrow_mut());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name}: no document was loaded within 10 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        for entry in entries {
            let Ok(m) = serde_json::from_str::<Value>(entry["message"].as_str().unwrap_or("")) else {
                continue;
            };
            let p = &m["message"]["params"];
            match m["message"]["method"].as_str() {
                Some("Network.requestWillBeSent") => {
                    // A redirect's response arrives with the request it leads to.
                    if p["type"] == "Document" && p["redirectResponse"].is_object() {
                        documents.push((
                            p["redirectResponse"]["url"].as_str().unwrap_or("").to_string(),
                            p["redirectResponse"]["status"].as_u64().unwrap_or(0),
                        ));
                    }
                    requested.push(p["request"]["url"].as_str().unwrap_or("").to_string())
                }
                Some("Network.responseReceived") if p["type"] == "Document" => documents.push((
                    p["response"]["url"].as_str().unwrap_or("").to_string(),
                    p["response"]["status"].as_u64().unwrap_or(0),
                )),
                _ => {}
            }
        }
        let console: Vec<Value> = self
            .log("browser")
            .into_iter()
            .filter(|m| {
                let Some((path, status)) = refused else {
                    return true;
                };
                let text = m["message"].as_str().unwrap_or("");
                !(m["source"] == "network"
                    && text.starts_with(&format!("{}{path} ", self.server))
                    && text.contains(&format!("status of {status} ")))
            })
            .collect();
        assert!(console.is_empty(), "{name}: console messages: {console:#?}");
        let outside: Vec<&String> = requested
            .iter()
            .filter(|u| !u.starts_with(&self.server) && !u.starts_with("data:") && !u.starts_with("about:"))
            // The browser's own pages (its new-tab page before the first navigation).
            .filter(|u| !u.starts_with("chrome://") && !u.starts_with("chrome-untrusted://"))
            .collect();
        assert!(
            outside.is_empty(),
            "{name}: requested outside the server: {outside:#?}"
        );
        assert!(
            requested.is_empty()
                || requested
                    .iter()
                    .any(|u| u.starts_with(&format!("{}/static/", self.server))),
            "{name}: the page's own stylesheet or icon was loaded: {requested:#?}"
        );
        let shot = self.call("GET", &self.s("/screenshot"), None);
        let png = B64.decode(shot.as_str().unwrap_or("")).unwrap();
        assert!(
            png.len() > 5_000 && png.starts_with(b"\x89PNG"),
            "{name}: screenshot"
        );
        let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
        std::fs::create_dir_all(&artifacts).unwrap();
        std::fs::write(artifacts.join(format!("{name}.png")), png).unwrap();
        documents
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .agent
                .delete(&format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn api(url: &str, token: &str, body: Value) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(url)
        .header("Authorization", format!("Bearer {token}"))
        .send_json(body)
        .unwrap();
    let status = r.status().as_u16();
    let v: Value = r.body_mut().read_json().unwrap();
    assert_eq!(status, 201, "{url}: {v}");
    v
}

/// Shares a small connector SLUG titled TITLE and submits its listing; the listing's id.
fn list(url: &str, token: &str, slug: &str, title: &str, app: Value, logo: Option<&[u8]>) -> i64 {
    let code = format!(
        "{{\n  title: '{title}',\n  actions: {{\n    go: {{ execute: lambda do |c, i| {{}} end }}\n  }}\n}}\n"
    );
    api(
        &format!("{url}/v1/connectors/{slug}/versions"),
        token,
        json!({
            "title": title, "version": 1, "note": format!("First version of {title}"),
            "code_base64": B64.encode(code), "metadata": {"title": title},
            "logo_base64": logo.map(|l| B64.encode(l)), "actions": ["go"], "triggers": [],
        }),
    );
    let mut req =
        json!({"categories": ["CRM"], "description": format!("About {title}."), "direct_install": true});
    req.as_object_mut()
        .unwrap()
        .extend(app.as_object().unwrap().clone());
    let l = api(&format!("{url}/v1/connectors/{slug}/listing"), token, req);
    l["id"].as_i64().unwrap_or_else(|| panic!("a listing id: {l}"))
}

fn status_of(data: &Path, slug: &str) -> String {
    let out = ok(&registry_cmd(&[
        "review",
        "list",
        "--format",
        "json",
        "--data",
        data.to_str().unwrap(),
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let l = v["listings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["connector_id"] == slug)
        .unwrap_or_else(|| panic!("no listing {slug}: {v:#}"))
        .clone();
    format!(
        "{}{}",
        l["status"].as_str().unwrap(),
        l["reason"].as_str().map(|r| format!(": {r}")).unwrap_or_default()
    )
}

fn card_slugs(d: &Driver) -> Vec<String> {
    let v = d.exec("return [...document.querySelectorAll('li.card h2 a')].map(a => a.getAttribute('href'));");
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().trim_start_matches("/connectors/").to_string())
        .collect()
}

#[test]
fn admin_page_pagination_and_keyboard_in_real_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("registry");
    let token = add_publisher(&data, "alice");
    let d = data.to_str().unwrap();
    let admin = ok(&registry_cmd(&["admin-token", "--data", d]))
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let server = RegistryServer::start(&data, &[]);
    let url = server.url.clone();
    // 24 live listings (one page) and three pending: one not in the catalog with a logo.
    let mut live = Vec::new();
    for n in 1..=24 {
        live.push(
            list(
                &url,
                &token,
                &format!("listing-{n:02}"),
                &format!("Listing {n:02}"),
                json!({"app": "slack"}),
                None,
            )
            .to_string(),
        );
    }
    let mut approve = vec!["review", "approve"];
    approve.extend(live.iter().map(String::as_str));
    approve.extend(["--data", d]);
    ok(&registry_cmd(&approve));
    let logo = std::fs::read(testdata("production").join("acme_crm.custom_adapter.png")).unwrap();
    let flagged = list(
        &url,
        &token,
        "aardvark",
        "Aardvark Bridge",
        json!({"app_name": "Legacy Mainframe ERP"}),
        Some(&logo),
    );
    let beaver = list(
        &url,
        &token,
        "beaver",
        "Beaver Sync",
        json!({"app": "jira"}),
        None,
    );
    let cobra = list(
        &url,
        &token,
        "cobra",
        "Cobra Feed",
        json!({"app": "zendesk"}),
        None,
    );

    let work = tmp.path().join("browser");
    std::fs::create_dir_all(&work).unwrap();
    let Some(b) = Driver::start(&url, &work) else {
        return;
    };

    // Sign in through the form.
    b.goto(&format!("{url}/admin"));
    assert!(b.text().contains("Admin token"));
    b.check("admin-webdriver-sign-in");
    b.type_into("#token", &admin);
    b.navigating(|| b.click("form.login button[type=submit]"));
    let docs = b.check("admin-webdriver-queue");
    assert_eq!(
        docs.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        [303, 200],
        "{docs:?}"
    );
    let text = b.text();
    assert!(text.contains("Waiting for review (3)"), "{text}");
    // The flag and the logo preview (decoded: it has a size).
    let row = b.exec(&format!(
        "const r = document.getElementById('listing-{flagged}'); const i = r.querySelector('img.logo');
         return [r.innerText, i ? i.alt : null, i ? (i.complete && i.naturalWidth > 0) : false];"
    ));
    assert!(
        row[0].as_str().unwrap().contains("app not in catalog")
            && row[0].as_str().unwrap().contains("Legacy Mainframe ERP"),
        "{row}"
    );
    assert_eq!(
        (row[1].clone(), row[2].clone()),
        (json!("Logo of Aardvark Bridge"), json!(true))
    );
    let flags = b.exec(
        "return document.querySelectorAll('#pending .flag, section[aria-labelledby=pending] .flag').length;",
    );
    assert_eq!(flags, json!(1), "only the plain-text app is flagged");

    // Approve by clicking: the card appears in the library.
    b.navigating(|| b.click(&format!("#listing-{flagged} form[action$='/approve'] button")));
    b.check("admin-webdriver-approved");
    assert_eq!(status_of(&data, "aardvark"), "live");
    assert!(b.text().contains("Waiting for review (2)"), "{}", b.text());
    b.goto(&format!("{url}/"));
    b.check("admin-webdriver-library-after-approval");
    assert!(b.text().contains("25 connectors"), "{}", b.text());
    assert_eq!(card_slugs(&b)[0], "aardvark", "sorted by title, first on page 1");

    // A form whose CSRF token was removed in the page: 403, nothing changes.
    b.goto(&format!("{url}/admin"));
    b.check("admin-webdriver-queue-again");
    b.exec(&format!(
        "document.querySelector('#listing-{beaver} form[action$=\"/approve\"] input[name=csrf]').remove(); return null;"
    ));
    b.navigating(|| b.click(&format!("#listing-{beaver} form[action$='/approve'] button")));
    let docs = b.check_refused(
        "admin-webdriver-no-csrf",
        Some((&format!("/admin/listings/{beaver}/approve"), 403)),
    );
    assert_eq!(docs.last().map(|(_, s)| *s), Some(403), "{docs:?}");
    assert_eq!(status_of(&data, "beaver"), "pending", "nothing changed");
    // A wrong token, set in the page, is refused the same way.
    b.goto(&format!("{url}/admin"));
    b.exec(&format!(
        "document.querySelector('#listing-{beaver} form[action$=\"/approve\"] input[name=csrf]').value = '0123abcd'; return null;"
    ));
    b.navigating(|| b.click(&format!("#listing-{beaver} form[action$='/approve'] button")));
    let docs = b.check_refused(
        "admin-webdriver-wrong-csrf",
        Some((&format!("/admin/listings/{beaver}/approve"), 403)),
    );
    assert_eq!(docs.last().map(|(_, s)| *s), Some(403), "{docs:?}");
    assert_eq!(status_of(&data, "beaver"), "pending", "nothing changed");

    // Reject with a reason, typed in its labelled field.
    b.goto(&format!("{url}/admin"));
    let label = b.exec(&format!(
        "const i = document.getElementById('reject-{beaver}'); return i.labels.length ? i.labels[0].innerText : null;"
    ));
    assert_eq!(label, json!("Reason"));
    b.type_into(
        &format!("#reject-{beaver}"),
        "Which tracker? Say it in the description.",
    );
    b.navigating(|| b.click(&format!("#listing-{beaver} form[action$='/reject'] button")));
    b.check("admin-webdriver-rejected");
    assert_eq!(
        status_of(&data, "beaver"),
        "rejected: Which tracker? Say it in the description."
    );
    assert!(
        b.text().contains("Which tracker? Say it in the description."),
        "the queue shows the reason: {}",
        b.text()
    );

    // The keyboard alone: Tab reaches cobra's Approve button, Enter activates it.
    b.goto(&format!("{url}/admin"));
    b.exec("document.activeElement && document.activeElement.blur(); return null;");
    let presses = b.tab_to(&format!(
        "e.tagName === 'BUTTON' && e.closest('form') && e.closest('form').getAttribute('action') === '/admin/listings/{cobra}/approve'"
    ));
    let focus = b.exec(
        "const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth;",
    );
    assert_ne!(focus, json!("none 0px"), "the focused button shows its focus");
    b.navigating(|| b.press(ENTER));
    b.check("admin-webdriver-keyboard-approved");
    assert_eq!(
        status_of(&data, "cobra"),
        "live",
        "approved after {presses} Tab presses"
    );
    assert!(b.text().contains("Waiting for review (0)"), "{}", b.text());

    // The library: labels on every search field; pagination by the keyboard and by a click.
    b.goto(&format!("{url}/"));
    let unlabelled = b.exec(
        "return [...document.querySelectorAll('form.search input, form.search select')]
           .filter(e => e.type !== 'hidden' && (!e.labels || e.labels.length === 0 || !e.labels[0].innerText.trim()))
           .map(e => e.name);",
    );
    assert_eq!(unlabelled, json!([]), "every search field has a label");
    let page = b.text();
    assert!(
        page.contains("26 connectors") && page.contains("Page 1 of 2"),
        "{page}"
    );
    assert_eq!(card_slugs(&b).len(), 24);
    b.check("community-webdriver-page-1");
    b.tab_to("e.tagName === 'A' && e.rel === 'next'");
    b.navigating(|| b.press(ENTER));
    b.check("community-webdriver-page-2");
    assert!(b.url().ends_with("page=2"), "{}", b.url());
    assert_eq!(card_slugs(&b), ["listing-23", "listing-24"]);
    assert!(b.text().contains("Page 2 of 2"));
    b.navigating(|| b.click("a[rel=prev]"));
    b.check("community-webdriver-page-1-again");
    assert_eq!(card_slugs(&b)[..2], ["aardvark", "cobra"]);
    // Typing a search with the keyboard and pressing Enter narrows the cards, on one page.
    b.click("#q");
    b.type_into("#q", "feed");
    b.navigating(|| b.press(ENTER));
    b.check("community-webdriver-search");
    assert!(b.url().contains("q=feed"), "{}", b.url());
    assert_eq!(card_slugs(&b), ["cobra"]);
    assert!(!b.text().contains("Page 1 of"), "one page: no pagination");
}
