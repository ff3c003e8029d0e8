//! The embedded UI in a real browser, driven through gleaner's own browser module against
//! the real service: a host page on another origin embeds the iframe and records every
//! postMessage. Each test saves a PNG of every screen it passes under `target/ui-shots/`.

use std::path::PathBuf;
use std::time::Duration;

use gleaner::browser::{Browser, LaunchOptions, Tab};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{FIXED_CODE, browser_slot};
use crate::server::TestService;

const WAIT: Duration = Duration::from_secs(30);

/// The host page: another origin that embeds the UI and logs the events it receives.
const HOST_HTML: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>Acme host</title>
<style>body{font:16px sans-serif;margin:0;background:#eef}iframe{border:0;width:480px;height:640px;margin:20px;background:#fff}</style>
</head><body><pre id="events"></pre><script>
const q = new URLSearchParams(location.search);
const src = q.get('src');
const gleaner = new URL(src).origin;
addEventListener('message', e => {
  if (e.origin !== gleaner) return;
  document.getElementById('events').textContent += JSON.stringify(e.data) + '\n';
});
const f = document.createElement('iframe'); f.src = src; f.title = 'Connect your account';
if (q.get('size')) { const [w, h] = q.get('size').split('x'); f.style.width = w + 'px'; f.style.height = h + 'px'; }
document.body.prepend(f);
</script></body></html>"#;

pub(crate) struct Host {
    pub(crate) origin: String,
    task: tokio::task::JoinHandle<()>,
}

impl Host {
    pub(crate) async fn start() -> Host {
        let app = axum::Router::new()
            .route(
                "/",
                axum::routing::get(|| async { axum::response::Html(HOST_HTML) }),
            )
            .route(
                "/back",
                axum::routing::get(|| async { axum::response::Html("<h1>Back at Acme</h1>") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Host { origin, task }
    }

    pub(crate) fn page_for(&self, ui_url: &str) -> String {
        let mut u = url::Url::parse(&format!("{}/", self.origin)).unwrap();
        u.query_pairs_mut().append_pair("src", ui_url);
        u.to_string()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) async fn service_for(host: &Host) -> TestService {
    let origin = host.origin.clone();
    TestService::start_tuned(move |c| {
        c.ui = c.ui.clone().with_origins(&[origin]).unwrap();
    })
    .await
}

/// A person's browser: one tab, optionally looking into the UI's iframe.
pub(crate) struct Person {
    browser: Option<Browser>,
    pub(crate) tab: Tab,
    /// Part of the iframe's URL when the UI is embedded.
    pub(crate) frame: Option<String>,
    test: &'static str,
    shots: u32,
    _profiles: tempfile::TempDir,
}

impl Person {
    pub(crate) async fn new(test: &'static str, viewport: (u32, u32)) -> Person {
        let profiles = tempfile::tempdir().unwrap();
        let options = LaunchOptions {
            profile_root: Some(profiles.path().to_path_buf()),
            viewport,
            ..LaunchOptions::default()
        };
        let browser = Browser::launch(options).await.expect("browser launches");
        let tab = browser.new_tab().await.unwrap();
        Person {
            browser: Some(browser),
            tab,
            frame: None,
            test,
            shots: 0,
            _profiles: profiles,
        }
    }

    pub(crate) async fn goto(&self, url: &str) -> u16 {
        self.tab.goto(url, WAIT).await.expect("page loads")
    }

    /// Evaluates in the main frame.
    pub(crate) async fn eval_main(&self, js: &str) -> Value {
        self.tab.eval(js).await.expect("script runs")
    }

    /// Evaluates in the UI (the iframe when embedded), awaiting promises.
    pub(crate) async fn eval(&self, js: &str) -> Value {
        let Some(part) = &self.frame else {
            return self.eval_main(js).await;
        };
        use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
        let page = self.tab.page();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            for id in page.frames().await.unwrap() {
                let url = page
                    .frame_url(id.clone())
                    .await
                    .unwrap()
                    .unwrap_or_default();
                if !url.contains(part.as_str()) {
                    continue;
                }
                let Some(ctx) = page.frame_execution_context(id).await.unwrap() else {
                    continue;
                };
                let params = EvaluateParams::builder()
                    .expression(js)
                    .context_id(ctx)
                    .await_promise(true)
                    .return_by_value(true)
                    .build()
                    .unwrap();
                if let Ok(r) = page.execute(params).await {
                    if let Some(ex) = &r.result.exception_details {
                        panic!("script failed in the UI frame: {ex:?}");
                    }
                    return r.result.result.value.clone().unwrap_or(Value::Null);
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no UI frame matching {part:?}"
            );
            // The frame is being (re)created: wait for its next context.
            let _ = tokio::time::timeout(Duration::from_millis(200), async {
                let mut created = page
                    .event_listener::<chromiumoxide::cdp::js_protocol::runtime::EventExecutionContextCreated>()
                    .await
                    .unwrap();
                futures::StreamExt::next(&mut created).await
            })
            .await;
        }
    }

    /// Waits (in the page, with a deadline) until the JS condition holds.
    pub(crate) async fn wait(&self, condition: &str, what: &str) {
        let js = format!(
            "new Promise(resolve => {{ const t0 = Date.now(); (function poll() {{ \
               let ok = false; try {{ ok = !!({condition}); }} catch (e) {{}} \
               if (ok) resolve(true); else if (Date.now() - t0 > {}) resolve(false); \
               else requestAnimationFrame(poll); }})(); }})",
            WAIT.as_millis()
        );
        let ok = self.eval(&js).await;
        if ok != Value::Bool(true) {
            let screen = self
                .eval("document.body && document.body.dataset.screen")
                .await;
            panic!("{what}: not reached in {WAIT:?} (screen {screen})");
        }
    }

    pub(crate) async fn wait_screen(&self, screen: &str) {
        self.wait(
            &format!("document.body.dataset.screen === '{screen}'"),
            &format!("screen {screen}"),
        )
        .await;
    }

    pub(crate) async fn visible(&self, selector: &str) -> bool {
        let js = format!(
            "(() => {{ const e = document.querySelector({s}); if (!e) return false; \
               const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 \
               && getComputedStyle(e).visibility !== 'hidden'; }})()",
            s = json!(selector)
        );
        self.eval(&js).await == Value::Bool(true)
    }

    pub(crate) async fn wait_visible(&self, selector: &str) {
        let cond = format!(
            "(() => {{ const e = document.querySelector({s}); if (!e) return false; \
               const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; }})()",
            s = json!(selector)
        );
        self.wait(&cond, &format!("{selector} visible")).await;
    }

    /// The centre of an element in the tab's viewport (adding the iframe's offset).
    async fn centre(&self, selector: &str) -> (f64, f64) {
        self.wait_visible(selector).await;
        let js = format!(
            "(() => {{ const e = document.querySelector({s}); e.scrollIntoView({{block: 'center'}}); \
               const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }})()",
            s = json!(selector)
        );
        let v = self.eval(&js).await;
        let (mut x, mut y) = (v[0].as_f64().unwrap(), v[1].as_f64().unwrap());
        if self.frame.is_some() {
            // The iframe's content box: its rectangle inside its (even) borders.
            let o = self
                .eval_main(
                    "(() => { const f = document.querySelector('iframe'); const r = f.getBoundingClientRect(); \
                     return [r.left + (r.width - f.clientWidth) / 2, r.top + (r.height - f.clientHeight) / 2]; })()",
                )
                .await;
            x += o[0].as_f64().unwrap();
            y += o[1].as_f64().unwrap();
        }
        (x, y)
    }

    /// A real mouse click on the element.
    pub(crate) async fn click(&self, selector: &str) {
        let (x, y) = self.centre(selector).await;
        self.tab.click_at(x, y).await.unwrap();
    }

    /// Clicks into the input and types, as a keyboard would (`Input.insertText`).
    pub(crate) async fn type_into(&self, selector: &str, text: &str) {
        self.click(selector).await;
        self.eval(&format!(
            "document.querySelector({}).select && document.querySelector({0}).select()",
            json!(selector)
        ))
        .await;
        self.tab.insert_text(text).await.unwrap();
    }

    pub(crate) async fn press(&self, key: &str) {
        self.tab.press_key(key).await.unwrap();
    }

    /// Saves the tab as `target/ui-shots/<test>-<n>-<name>.png`.
    pub(crate) async fn shot(&mut self, name: &str) {
        self.shots += 1;
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ui-shots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.tab.screenshot_png().await.unwrap();
        let path = dir.join(format!("{}-{:02}-{name}.png", self.test, self.shots));
        std::fs::write(path, png).unwrap();
    }

    /// The events the host page received, one JSON value each.
    pub(crate) async fn host_events(&self) -> Vec<Value> {
        let text = self
            .eval_main("document.getElementById('events').textContent")
            .await;
        text.as_str()
            .unwrap_or("")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    async fn wait_host_event(&self, kind: &str) -> Value {
        self.wait_host_event_where(kind, "").await
    }

    /// The first event of this type whose JSON contains `text`, once the host has it.
    async fn wait_host_event_where(&self, kind: &str, text: &str) -> Value {
        let cond = format!(
            "document.getElementById('events').textContent.split('\\n').some(l => \
             l.includes('\"{kind}\"') && l.includes({}))",
            json!(text)
        );
        let js = format!(
            "new Promise(r => {{ const t0 = Date.now(); (function p() {{ if ({cond}) r(true); \
               else if (Date.now() - t0 > {}) r(false); else requestAnimationFrame(p); }})(); }})",
            WAIT.as_millis()
        );
        assert_eq!(
            self.eval_main(&js).await,
            Value::Bool(true),
            "host never got {kind}"
        );
        self.host_events()
            .await
            .into_iter()
            .find(|e| e["type"] == kind && e.to_string().contains(text))
            .unwrap()
    }

    pub(crate) async fn close(mut self) {
        if let Some(b) = self.browser.take() {
            b.close().await;
        }
    }
}

pub(crate) async fn session(svc: &TestService, body: Value) -> String {
    let (status, s) = svc.call(Method::POST, "/session", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    s["url"].as_str().unwrap().to_string()
}

/// Types the code the demo bank "sent" into the UI's 2FA form.
pub(crate) async fn give_code(person: &Person, svc: &TestService, user: &str) {
    person.wait_visible("#twofa-code").await;
    let code = svc.site.wait_code(user, WAIT).await.unwrap();
    assert_eq!(code, FIXED_CODE);
    person.type_into("#twofa-code", &code).await;
    person.click("#twofa-submit").await;
}

#[tokio::test]
async fn a_person_adds_the_demo_bank_in_the_iframe_and_the_host_never_sees_the_password() {
    let _slot = browser_slot().await;
    let host = Host::start().await;
    let svc = service_for(&host).await;
    let url = session(&svc, json!({ "userId": "user-1" })).await;
    let mut person = Person::new("add-account", (1280, 720)).await;
    person.goto(&host.page_for(&url)).await;
    person.frame = Some(format!("{}/ui", svc.base));

    person.wait_screen("connectors").await;
    person.shot("connectors").await;
    // The list is named by its heading, which needs a role that takes a name.
    assert_eq!(
        person
            .eval(
                "[document.querySelector('#connector-list').getAttribute('role'), \
                   !!document.getElementById(document.querySelector('#connector-list') \
                   .getAttribute('aria-labelledby'))]"
            )
            .await,
        json!(["group", true])
    );
    assert!(person.visible("#close").await, "embedded: a close button");
    // The token left the UI's address once the page had it (no history, no Referer).
    let href = person.eval("location.href").await;
    let href = href.as_str().unwrap();
    assert!(href.starts_with(&format!("{}/ui", svc.base)), "{href}");
    assert!(!href.contains("token="), "{href}");
    person.type_into("#search", "demo").await;
    person
        .wait_visible("button.connector[data-id='demo-bank']")
        .await;
    person.click("button.connector[data-id='demo-bank']").await;
    person.wait_screen("form").await;
    person.type_into("#field-login", "alice").await;
    person.type_into("#field-password", "demo").await;
    person
        .click("button.toggle-secret[data-for='field-password']")
        .await;
    person
        .wait(
            "document.querySelector('#field-password').type === 'text'",
            "show the password",
        )
        .await;
    person.shot("form-password-shown").await;
    person
        .click("button.toggle-secret[data-for='field-password']")
        .await;
    person.click("#submit").await;
    person.wait_screen("progress").await;
    person.wait_visible("#twofa-code").await;
    person.shot("progress-2fa").await;
    give_code(&person, &svc, "alice").await;
    person.wait_screen("success").await;
    person.shot("success").await;

    let added = person.wait_host_event("did-add-authorization").await;
    assert_eq!(added["identity"], "alice");
    assert_eq!(added["alreadyExists"], false);
    let cred = added["authorizationId"].as_str().unwrap().to_string();
    let (_, credential) = svc
        .call(Method::GET, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(credential["userId"], "user-1");
    assert_eq!(credential["state"], 7, "the verification logged in");
    let (_, collect) = svc
        .call(
            Method::GET,
            &format!("/collect/{}", credential["lastCollectId"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        collect["records"],
        json!({}),
        "a verification collects nothing"
    );

    let events = person.host_events().await;
    let states: Vec<i64> = events
        .iter()
        .filter(|e| e["type"] == "state")
        .map(|e| e["state"].as_i64().unwrap())
        .collect();
    assert!(
        states.contains(&3) && states.last() == Some(&7),
        "{states:?}"
    );
    // No event carries the password, and the host cannot read the frame.
    for e in &events {
        for (key, value) in e.as_object().unwrap() {
            assert!(!key.to_lowercase().contains("password"), "{e}");
            assert_ne!(value, "demo", "a secret reached the host: {e}");
        }
    }
    assert_eq!(
        person
            .eval_main("(() => { try { return document.querySelector('iframe').contentDocument === null; } catch (e) { return true; } })()")
            .await,
        Value::Bool(true)
    );
    let host_dom = person.eval_main("document.documentElement.outerHTML").await;
    assert!(!host_dom.as_str().unwrap().contains("\"password\""));

    // Adding the same account again updates it: the password is typed again, and the
    // site, which remembers this browser (`keep_on_verify`), asks no code.
    let (forms, codes) = (svc.site.logins().form, svc.site.hits_of("POST", "/otp"));
    let url = session(
        &svc,
        json!({ "userId": "user-1", "connector": "demo-bank" }),
    )
    .await;
    person.frame = None;
    person.goto(&host.page_for(&url)).await;
    person.frame = Some(format!("{}/ui", svc.base));
    person.wait_screen("form").await;
    person.type_into("#field-login", "alice").await;
    person.type_into("#field-password", "demo").await;
    person.click("#submit").await;
    let again = person.wait_host_event("did-add-authorization").await;
    assert_eq!(svc.site.logins().form, forms + 1, "the password was proven");
    assert_eq!(svc.site.hits_of("POST", "/otp"), codes, "no code was asked");
    assert_eq!(
        (
            again["alreadyExists"].as_bool(),
            again["authorizationId"].as_str()
        ),
        (Some(true), Some(cred.as_str()))
    );
    let (_, list) = svc
        .call(Method::GET, "/user/user-1/credentials", None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "not duplicated");
    person.close().await;
    svc.stop().await;
}

#[tokio::test]
async fn a_wrong_password_fails_verification_then_the_corrected_one_succeeds() {
    let _slot = browser_slot().await;
    let host = Host::start().await;
    let svc = service_for(&host).await;
    let url = session(
        &svc,
        json!({ "userId": "user-2", "connector": "demo-bank" }),
    )
    .await;
    let mut person = Person::new("wrong-password", (1280, 720)).await;
    person.goto(&host.page_for(&url)).await;
    person.frame = Some(format!("{}/ui", svc.base));
    person.wait_screen("form").await;
    person.shot("form").await;
    const WRONG: &str = "Wr0ng-Secret-7f2c";
    person.type_into("#field-login", "carol").await;
    person.type_into("#field-password", WRONG).await;
    person.click("#submit").await;
    person.wait_screen("failure").await;
    person.shot("failure").await;
    let failed = person
        .wait_host_event("did-fail-authorization-verification")
        .await;
    assert_eq!(failed["identity"], "carol");
    // The event alone says why, and so does the -1 state.
    assert_eq!(failed["error"]["code"], "LOGIN_FAILED", "{failed}");
    assert!(!failed["error"]["message"].as_str().unwrap().is_empty());
    assert!(
        failed["error"]["advice"]["en"]
            .as_str()
            .unwrap()
            .contains("password")
    );
    let end = final_state_event(&person).await;
    assert_eq!(end["error"]["code"], "LOGIN_FAILED", "{end}");
    assert_eq!(main_buttons(&person).await, ["Correct my details"]);
    let host_dom = person.eval_main("document.documentElement.outerHTML").await;
    assert!(
        !host_dom.as_str().unwrap().contains(WRONG),
        "the host saw the password"
    );

    person.click("#retry").await;
    person.wait_screen("form").await;
    assert_eq!(
        person
            .eval("document.querySelector('#field-login').value")
            .await,
        "carol"
    );
    assert_eq!(
        person
            .eval("document.querySelector('#field-password').value")
            .await,
        ""
    );
    person.shot("retry-form").await;
    person.type_into("#field-password", "demo").await;
    person.click("#submit").await;
    person.wait_screen("success").await;
    person.shot("success").await;
    let added = person.wait_host_event("did-add-authorization").await;
    assert_eq!(added["authorizationId"], failed["authorizationId"]);
    let events = person
        .host_events()
        .await
        .iter()
        .map(Value::to_string)
        .collect::<String>();
    assert!(!events.contains(WRONG));
    person.close().await;
    svc.stop().await;
}

/// The texts of the end screen's main (primary) buttons that show.
async fn main_buttons(person: &Person) -> Vec<String> {
    let v = person
        .eval(
            "[...document.querySelectorAll('[data-section=end] .actions button.primary')] \
             .filter(b => !b.hidden && b.getBoundingClientRect().height > 0) \
             .map(b => b.textContent.trim())",
        )
        .await;
    serde_json::from_value(v).unwrap()
}

/// The `state` event of the final state (-2, -1 or 7) the host received.
async fn final_state_event(person: &Person) -> Value {
    person
        .host_events()
        .await
        .into_iter()
        .find(|e| e["type"] == "state" && [-2, -1, 7].contains(&e["state"].as_i64().unwrap()))
        .expect("the host got the final state")
}

#[tokio::test]
async fn a_wrong_code_says_why_makes_try_again_the_main_button_and_escape_asks_to_close() {
    let _slot = browser_slot().await;
    let host = Host::start().await;
    let svc = service_for(&host).await;
    let url = session(
        &svc,
        json!({ "userId": "user-3", "connector": "demo-bank" }),
    )
    .await;
    let mut person = Person::new("wrong-code", (1280, 720)).await;
    person.goto(&host.page_for(&url)).await;
    person.frame = Some(format!("{}/ui", svc.base));
    person.wait_screen("form").await;
    const PASSWORD: &str = "demo";
    person.type_into("#field-login", "alice").await;
    person.type_into("#field-password", PASSWORD).await;
    person.click("#submit").await;
    person.wait_visible("#twofa-code").await;
    svc.site.wait_code("alice", WAIT).await.unwrap();
    const WRONG_CODE: &str = "731904";
    assert_ne!(WRONG_CODE, FIXED_CODE);
    person.type_into("#twofa-code", WRONG_CODE).await;
    person.click("#twofa-submit").await;
    person.wait_screen("failure").await;
    person.shot("failure").await;

    let failed = person
        .wait_host_event("did-fail-authorization-verification")
        .await;
    assert_eq!(
        failed["error"]["code"], "LOGIN_FAILED.WRONG_TWOFA_CODE",
        "{failed}"
    );
    assert!(
        failed["error"]["advice"]["fr"]
            .as_str()
            .unwrap()
            .contains("code")
    );
    let end = final_state_event(&person).await;
    assert_eq!(end["state"], -1);
    assert_eq!(end["error"]["code"], "LOGIN_FAILED.WRONG_TWOFA_CODE");
    // The details were right: trying again (a new code) is the way, and the screen says so.
    assert_eq!(main_buttons(&person).await, ["Try again"]);
    assert!(!person.visible("#retry").await, "no 'Correct my details'");
    let text = person
        .eval("document.querySelector('#end-message').textContent")
        .await;
    assert!(text.as_str().unwrap().contains("new code"), "{text}");

    // Escape inside the iframe asks the host to close it.
    person.press("Escape").await;
    let close = person.wait_host_event("close-requested").await;
    assert_eq!(close["via"], "escape");
    assert_eq!(close["authorizationId"], failed["authorizationId"]);
    // So does the UI's own close button.
    person.click("#close").await;
    person
        .wait_host_event_where("close-requested", "\"via\":\"button\"")
        .await;

    let events = person
        .host_events()
        .await
        .iter()
        .map(Value::to_string)
        .collect::<String>();
    assert!(
        !events.contains(WRONG_CODE),
        "the code reached the host: {events}"
    );
    assert!(
        !events.contains(&format!("\"{PASSWORD}\"")),
        "the password reached the host: {events}"
    );
    person.close().await;
    svc.stop().await;
}

/// Demo Bank, with a connector that asks for the code again (once) when the site says it
/// was wrong: the site still takes one.
const RETRYING_BANK: &str = r#"
id: demo-bank-retry
name: Demo Bank
base_url: https://demo-bank.example/
domains: [demo-bank.example]
fields:
  login:    { label: Login }
  password: { label: Password, type: password }
success: accounts
pages:
  login:     { url: '/login$', has: '#login-form' }
  otp:       { any: [{ url: '/otp$' }, { has: '#otp-modal #otp' }] }
  otp_error: { has: '.otp-error' }
  accounts:  { url: '/accounts$', has: 'table.accounts' }
  bad_login: { has: '.alert-error' }
login:
  - goto: /login
  - click: { selector: '#accept-cookies', optional: true }
  - fill: { '#login': '{{fields.login}}', '#password': '{{fields.password}}' }
  - click: '#submit'
  - await_page: { one_of: [accounts, otp, bad_login], timeout: 20s }
  - when: { page: bad_login }
    fail: { code: LOGIN_FAILED, message_from: '.alert-error' }
  - when: { page: otp }
    steps:
      - ask_code: { kind: sms, label: Code, as: code }
      - fill: { '#otp': '{{code}}' }
      - click: '#otp-submit'
      - await_page: { one_of: [accounts, otp_error, bad_login], timeout: 20s, else: LOGIN_FAILED.WRONG_TWOFA_CODE }
      - when: { page: otp_error }
        steps:
          - ask_code: { kind: sms, label: Code, as: code_again }
          - fill: { '#otp': '{{code_again}}' }
          - click: '#otp-submit'
          - await_page: { one_of: [accounts, otp_error, bad_login], timeout: 20s, else: LOGIN_FAILED.WRONG_TWOFA_CODE }
          - when: { page: otp_error }
            fail: { code: LOGIN_FAILED.WRONG_TWOFA_CODE, message_from: '.otp-error' }
steps:
  - extract:
      as: accounts
      rows: 'table.accounts tbody tr'
      fields:
        id: { attr: data-id }
"#;

#[tokio::test]
async fn a_wrong_code_is_typed_again_while_the_site_still_takes_one() {
    let _slot = browser_slot().await;
    let host = Host::start().await;
    let connectors = tempfile::tempdir().unwrap();
    std::fs::write(
        connectors.path().join("demo-bank-retry.yaml"),
        RETRYING_BANK,
    )
    .unwrap();
    let origin = host.origin.clone();
    let dir = connectors.path().to_path_buf();
    let svc = TestService::start_tuned(move |c| {
        c.ui = c.ui.clone().with_origins(&[origin]).unwrap();
        let site = c.base_urls["demo-bank"].clone();
        c.base_urls.insert("demo-bank-retry".into(), site);
        c.connectors_dir = dir;
    })
    .await;
    let url = session(
        &svc,
        json!({ "userId": "user-4", "connector": "demo-bank-retry" }),
    )
    .await;
    let mut person = Person::new("code-again", (1280, 720)).await;
    person.goto(&host.page_for(&url)).await;
    person.frame = Some(format!("{}/ui", svc.base));
    person.wait_screen("form").await;
    person.type_into("#field-login", "alice").await;
    person.type_into("#field-password", "demo").await;
    person.click("#submit").await;
    person.wait_visible("#twofa-code").await;
    assert!(
        !person.visible("#twofa-error").await,
        "no error before a code"
    );
    person.type_into("#twofa-code", "731904").await;
    person.click("#twofa-submit").await;
    // The collect goes on: the code box is back, saying why, with the focus in it.
    person.wait_visible("#twofa-error").await;
    person.wait_visible("#twofa-code").await;
    person.shot("code-again").await;
    assert_eq!(
        person.eval("document.body.dataset.screen").await,
        "progress"
    );
    let said = person
        .eval("document.querySelector('#twofa-error').textContent")
        .await;
    assert!(said.as_str().unwrap().contains("type it again"), "{said}");
    assert_eq!(
        person
            .eval("document.activeElement && document.activeElement.id")
            .await,
        "twofa-code"
    );
    assert!(
        person
            .host_events()
            .await
            .iter()
            .all(|e| e["type"] != "did-fail-authorization-verification"),
        "the verification has not failed"
    );
    give_code(&person, &svc, "alice").await;
    person.wait_screen("success").await;
    person.wait_host_event("did-add-authorization").await;
    person.close().await;
    svc.stop().await;
}

#[tokio::test]
async fn a_reload_mid_collect_lands_back_in_the_same_collect_on_a_phone() {
    let _slot = browser_slot().await;
    let host = Host::start().await;
    let svc = service_for(&host).await;
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    let url = session(&svc, json!({ "userId": "user-1", "credentialId": cred })).await;
    let view = format!("{url}&collect={cred}");
    let mut person = Person::new("view-collect", (360, 740)).await;
    person.goto(&view).await;
    person.wait_screen("progress").await;
    person.wait_visible("#twofa-code").await;
    person.shot("progress-2fa-phone").await;
    let first = person.eval("document.body.dataset.collectId").await;
    assert!(first.as_str().is_some_and(|s| !s.is_empty()));

    person.goto(&view).await;
    person.wait_screen("progress").await;
    person.wait_visible("#twofa-code").await;
    assert_eq!(
        person.eval("document.body.dataset.collectId").await,
        first,
        "the same collect"
    );
    person.shot("after-reload").await;
    give_code(&person, &svc, "alice").await;
    person.wait_screen("success").await;
    person.shot("success").await;
    let (_, credential) = svc
        .call(Method::GET, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(credential["lastCollectId"], first);
    let (_, collect) = svc
        .call(
            Method::GET,
            &format!("/collect/{}", first.as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(collect["state"], 7);
    assert_eq!(
        collect["records"]["accounts"].as_array().unwrap().len(),
        3,
        "a full collect"
    );
    person.close().await;
    svc.stop().await;
}

#[tokio::test]
async fn the_collect_view_names_the_site_and_account_of_a_session_without_its_credential() {
    let _slot = browser_slot().await;
    let host = Host::start().await;
    let svc = service_for(&host).await;
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    // The session names its user only; the credential is one of theirs.
    let url = session(&svc, json!({ "userId": "user-1" })).await;
    let mut person = Person::new("view-without-credential", (1280, 720)).await;
    person
        .goto(&host.page_for(&format!("{url}&collect={cred}&verify=1")))
        .await;
    person.frame = Some(format!("{}/ui", svc.base));
    person.wait_screen("progress").await;
    person.wait_visible("#twofa-code").await;
    person.shot("view-without-credential").await;
    assert_eq!(
        person
            .eval("document.querySelector('#progress-title').textContent")
            .await,
        json!("Connecting to Demo Bank"),
        "the site is named"
    );
    assert_eq!(
        person
            .eval("document.querySelector('#progress-avatar').textContent")
            .await,
        json!("DB"),
        "the site's initials, not ?"
    );
    give_code(&person, &svc, "alice").await;
    person.wait_screen("success").await;
    let added = person.wait_host_event("did-add-authorization").await;
    assert_eq!(added["identity"], "alice", "never null");
    assert_eq!(added["authorizationId"], json!(cred));
    person.close().await;
    svc.stop().await;
}

#[tokio::test]
async fn foreign_and_expired_tokens_are_refused() {
    let _slot = browser_slot().await;
    let host = Host::start().await;
    let svc = service_for(&host).await;
    let theirs = svc.create_credential("demo-bank", "alice", "demo").await; // user-1
    let (status, _) = svc
        .call(
            Method::POST,
            "/session",
            Some(json!({ "userId": "intruder", "credentialId": theirs })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a session cannot name another user's credential"
    );
    let url = session(&svc, json!({ "userId": "intruder" })).await;
    let token = url.split("token=").nth(1).unwrap().to_string();
    let as_intruder = |method: Method, path: String, body: Value| {
        let req = reqwest::Client::new()
            .request(method, format!("{}{path}", svc.base))
            .header("Authorization", format!("Session {token}"))
            .json(&body);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(
        as_intruder(
            Method::POST,
            format!("/ui/api/credentials/{theirs}/collect"),
            json!({})
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        as_intruder(
            Method::PUT,
            format!("/ui/api/credentials/{theirs}"),
            json!({ "fields": { "login": "x" } })
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        as_intruder(Method::GET, "/ui/api/context".into(), json!(null)).await,
        StatusCode::OK
    );
    let (_, credential) = svc
        .call(Method::GET, &format!("/credential/{theirs}"), None)
        .await;
    assert_eq!(
        credential["state"], 0,
        "nothing was started on their credential"
    );
    assert!(credential["lastCollectId"].is_null());
    // The API key routes do not take a session token.
    let res = reqwest::Client::new()
        .get(format!("{}/credential/{theirs}", svc.base))
        .header("Authorization", format!("Session {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let mut person = Person::new("tokens", (480, 640)).await;
    // The UI itself, pointed at their credential, starts nothing and says so.
    person.goto(&format!("{url}&collect={theirs}")).await;
    person
        .wait(
            "['error', 'failure', 'expired'].includes(document.body.dataset.screen)",
            "an error screen",
        )
        .await;
    person.shot("foreign-credential").await;
    let (_, credential) = svc
        .call(Method::GET, &format!("/credential/{theirs}"), None)
        .await;
    assert!(credential["lastCollectId"].is_null());

    let invalid = format!("{}/ui?token=not-a-token", svc.base);
    assert_eq!(
        reqwest::get(&invalid).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    person.goto(&invalid).await;
    person.wait_screen("error").await;
    let title = person
        .eval("document.querySelector('#error-title').textContent")
        .await;
    assert!(title.as_str().unwrap().contains("not valid"), "{title}");
    person.shot("invalid-token").await;

    let (expired, _) = svc
        .collector
        .store()
        .create_ui_token(gleaner::store::NewUiToken {
            user_id: "user-1".into(),
            connector: None,
            credential_id: None,
            redirect_url: None,
            hide_end_screen: false,
            ttl: Duration::ZERO,
        })
        .await
        .unwrap();
    let expired_page = format!("{}/ui?token={expired}&lang=fr", svc.base);
    assert_eq!(
        reqwest::get(&expired_page).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    person.goto(&expired_page).await;
    let title = person
        .eval("document.querySelector('#error-title').textContent")
        .await;
    assert!(title.as_str().unwrap().contains("expiré"), "{title}");
    person.shot("expired-token-fr").await;
    let res = reqwest::Client::new()
        .get(format!("{}/ui/api/context", svc.base))
        .header("Authorization", format!("Session {expired}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Only the allowed host may frame the UI.
    let res = reqwest::Client::new().get(&url).send().await.unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains(&format!("frame-ancestors {}", host.origin)),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self'"));
    let html = res.text().await.unwrap();
    for external in ["https://", "//cdn", "<script>"] {
        assert!(
            !html.contains(external),
            "the page loads nothing from elsewhere ({external})"
        );
    }
    person.close().await;
    svc.stop().await;
}

/// Presses Tab until the element with this id has the focus (keyboard-only use).
async fn tab_to(person: &Person, id: &str) {
    for _ in 0..15 {
        let focused = person
            .eval("document.activeElement && document.activeElement.id")
            .await;
        if focused == id {
            return;
        }
        person.press("Tab").await;
    }
    panic!("#{id} cannot be reached with the Tab key");
}

#[tokio::test]
async fn the_whole_flow_works_with_the_keyboard_alone_in_french() {
    let _slot = browser_slot().await;
    let host = Host::start().await;
    let svc = service_for(&host).await;
    let url = session(&svc, json!({ "userId": "user-k" })).await;
    let mut person = Person::new("keyboard-fr", (480, 640)).await;
    person.goto(&format!("{url}&lang=fr")).await;
    person.wait_screen("connectors").await;
    assert_eq!(person.eval("document.documentElement.lang").await, "fr");
    person.shot("connectors").await;
    tab_to(&person, "search").await;
    person.tab.insert_text("demo bank").await.unwrap();
    person.press("Enter").await;
    person.wait_screen("form").await;
    let label = person
        .eval("document.querySelector('label[for=field-password]').textContent")
        .await;
    assert!(label.as_str().unwrap().contains("Mot de passe"), "{label}");
    tab_to(&person, "field-login").await;
    person.tab.insert_text("bob").await.unwrap();
    tab_to(&person, "field-password").await;
    person.tab.insert_text("demo").await.unwrap();
    person.shot("form").await;
    person.press("Enter").await;
    person.wait_screen("progress").await;
    person
        .wait(
            "document.activeElement && document.activeElement.id === 'twofa-code'",
            "the code input has the focus",
        )
        .await;
    let status = person
        .eval("document.querySelector('#status').textContent")
        .await;
    assert!(status.as_str().unwrap().contains("code"), "{status}");
    person.shot("code").await;
    let code = svc.site.wait_code("bob", WAIT).await.unwrap();
    person.tab.insert_text(&code).await.unwrap();
    person.press("Enter").await;
    person.wait_screen("success").await;
    let title = person
        .eval("document.querySelector('#end-title').textContent")
        .await;
    assert!(title.as_str().unwrap().contains("connecté"), "{title}");
    person.shot("success").await;
    person.close().await;
    svc.stop().await;
}

#[tokio::test]
async fn full_page_mode_sends_the_person_back_with_the_outcome() {
    let _slot = browser_slot().await;
    let host = Host::start().await;
    let svc = service_for(&host).await;
    let back = format!("{}/back?from=gleaner", host.origin);
    let (status, refused) = svc
        .call(
            Method::POST,
            "/session",
            Some(json!({ "userId": "u", "redirectUrl": "https://evil.example/steal" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let url = session(
        &svc,
        json!({ "userId": "user-r", "connector": "demo-bank", "redirectUrl": back }),
    )
    .await;
    let mut person = Person::new("redirect", (1280, 720)).await;
    person.goto(&url).await;
    person.wait_screen("form").await;
    person.type_into("#field-login", "carol").await;
    person.type_into("#field-password", "demo").await;
    person.click("#submit").await;
    person.wait_screen("success").await;
    person.shot("success-continue").await;
    person.click("#continue").await;
    // Waits on the page's URL changing (the probe resolves on a change or after 2 s).
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last = None;
    let landed = loop {
        let now = person.tab.url().await.unwrap_or_default();
        if now.starts_with(&format!("{}/back", host.origin)) {
            break url::Url::parse(&now).unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not sent back: {now}"
        );
        last = person
            .tab
            .probe(&[] as &[&str], last.as_ref(), Duration::from_secs(2), None)
            .await
            .ok();
    };
    let q: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
    assert_eq!(q["from"], "gleaner");
    assert_eq!(q["status"], "success");
    assert_eq!(q["alreadyExists"], "false");
    let (_, credential) = svc
        .call(
            Method::GET,
            &format!("/credential/{}", q["authorizationId"]),
            None,
        )
        .await;
    assert_eq!(credential["userId"], "user-r");
    assert!(
        !landed.as_str().contains("demo"),
        "no secret in the URL: {landed}"
    );
    person.close().await;
    svc.stop().await;
}
