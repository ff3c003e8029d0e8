//! Browser sessions kept per credential: captured after a login, restored into the next
//! collect's fresh browser, and tested by the connector's `session.check`. Real Chromium,
//! the demo bank's two ways to stay logged in ("remember this device" cookies, and the
//! `/app` single-page app's localStorage token), the real service and its store.

use std::time::Duration;

use demo_sites::DemoSite;
use gleaner::api::messages::{ClientMessage, ServerMessage};
use gleaner::browser::BrowserState;
use gleaner::collect::{self, CollectMode, CollectOptions};
use gleaner::connector::{self, Plan};
use gleaner::engine::{CollectError, Event, Inputs, Links, Outcome};
use gleaner::secrets::Redactor;
use indexmap::IndexMap;
use reqwest::{Method, StatusCode};
use tokio::sync::mpsc;

use crate::common::{browser_slot, demo_connector, demo_site, root};
use crate::server::{TestService, open_store, timeline};

const STEP: Duration = Duration::from_secs(30);

/// What the site saw of logins: password logins by form and by app, and 2FA requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SiteLogins {
    form: u64,
    app: u64,
    otp: u64,
    app_otp: u64,
}

fn logins(site: &DemoSite) -> SiteLogins {
    let l = site.logins();
    SiteLogins {
        form: l.form,
        app: l.app,
        otp: site.hits("/otp"),
        app_otp: site.hits_of("POST", "/api/app/otp"),
    }
}

/// How a watched collect ended.
struct Watched {
    collect_id: String,
    state: i8,
    error_code: Option<String>,
    asked_code: bool,
}

/// Starts a collect of `cred` and watches it to its end over the WebSocket. A `twofa`
/// request is answered with the code the site issued to `answer_as`; without one, a
/// request fails the test.
async fn watch(
    svc: &TestService,
    cred: &str,
    background: bool,
    answer_as: Option<&str>,
) -> Watched {
    let (_, collect_id, ws) = svc.collect(cred, background).await;
    watch_ws(svc, collect_id, &ws, answer_as).await
}

async fn watch_ws(
    svc: &TestService,
    collect_id: String,
    ws: &str,
    answer_as: Option<&str>,
) -> Watched {
    let mut viewer = svc.viewer(ws).await;
    let mut asked_code = false;
    loop {
        let msg = viewer
            .next(STEP)
            .await
            .expect("the socket stays open until the final state");
        match msg {
            ServerMessage::Twofa { .. } => {
                asked_code = true;
                let Some(user) = answer_as else {
                    panic!("a code was asked; the kept session should have spared it");
                };
                let code = svc
                    .site
                    .wait_code(user, Duration::from_secs(10))
                    .await
                    .expect("the site issued a code");
                viewer.send(&ClientMessage::Twofa { code }).await;
            }
            ServerMessage::State { state, error, .. } if !(1..=6).contains(&state) => {
                return Watched {
                    collect_id,
                    state,
                    error_code: error.map(|e| e.code),
                    asked_code,
                };
            }
            _ => {}
        }
    }
}

async fn collect_json(svc: &TestService, collect_id: &str) -> serde_json::Value {
    let (status, collect) = svc
        .call(Method::GET, &format!("/collect/{collect_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    collect
}

#[tokio::test]
async fn the_second_collect_of_a_credential_reuses_its_cookies_and_asks_no_code() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;

    let first = watch(&svc, &cred, false, Some("alice")).await;
    assert_eq!((first.state, first.asked_code), (7, true));
    let kept = svc
        .collector
        .store()
        .load_browser_state(&cred)
        .await
        .expect("the login's session is kept");
    let names: Vec<&str> = kept.cookies.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.contains(&"sid") && names.contains(&"remember_device"),
        "{names:?}"
    );
    let before = logins(&svc.site);
    assert_eq!((before.form, before.otp), (1, 2), "GET and POST /otp");

    let second = watch(&svc, &cred, false, None).await;
    assert_eq!(second.state, 7, "{:?}", second.error_code);
    assert!(!second.asked_code);
    assert_eq!(
        logins(&svc.site),
        before,
        "no POST /login and no 2FA page the second time"
    );
    assert_eq!(svc.site.hits_of("POST", "/login"), 1);
    let collect = collect_json(&svc, &second.collect_id).await;
    let states = timeline(&collect);
    assert_eq!(
        states[..3],
        [1, 2, 5],
        "logging in, then straight to collecting"
    );
    assert!(
        !states.contains(&3) && states.last() == Some(&7),
        "{states:?}"
    );
    assert_eq!(collect["records"]["accounts"].as_array().unwrap().len(), 3);
    svc.stop().await;
}

#[tokio::test]
async fn the_app_token_kept_in_local_storage_skips_the_app_login_and_its_code() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let cred = svc
        .create_credential("demo-bank-spa", "alice", "demo")
        .await;

    let first = watch(&svc, &cred, false, Some("alice")).await;
    assert_eq!((first.state, first.asked_code), (7, true));
    let kept = svc
        .collector
        .store()
        .load_browser_state(&cred)
        .await
        .unwrap();
    let origin = svc.site.base_url().trim_end_matches('/').to_string();
    assert!(
        kept.local_storage
            .get(&origin)
            .is_some_and(|items| items.contains_key("token")),
        "{kept:?}"
    );
    let before = logins(&svc.site);
    assert_eq!((before.app, before.app_otp, before.form), (1, 1, 0));

    let second = watch(&svc, &cred, false, None).await;
    assert_eq!(second.state, 7, "{:?}", second.error_code);
    assert!(!second.asked_code);
    assert_eq!(
        logins(&svc.site),
        before,
        "no /api/app/login and no code the second time"
    );
    assert_eq!(svc.site.hits_of("POST", "/api/app/login"), 1);
    let collect = collect_json(&svc, &second.collect_id).await;
    assert_eq!(timeline(&collect), [1, 2, 5, 7]);
    let accounts = collect["records"]["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 3);
    let data = crate::common::data();
    assert_eq!(accounts[0]["id"], data["accounts"][0]["id"]);

    // The app's tokens end server-side: the check sees the login form, and the app's
    // login runs again (with its code: the app remembers no device).
    svc.site.expire_site_logins();
    let third = watch(&svc, &cred, false, Some("alice")).await;
    assert_eq!((third.state, third.asked_code), (7, true));
    assert_eq!(svc.site.logins().app, 2);
    svc.stop().await;
}

#[tokio::test]
async fn an_expired_session_logs_in_again_without_2fa_on_a_remembered_device_and_with_it_once_forgotten()
 {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    let first = watch(&svc, &cred, false, Some("alice")).await;
    assert_eq!(first.state, 7);

    // The session is gone server-side, the device is still remembered: the check fails,
    // the normal login runs, and the site asks no code. Nobody is watching.
    svc.site.expire_site_logins();
    let before = logins(&svc.site);
    let second = watch(&svc, &cred, true, None).await;
    assert_eq!(second.state, 7, "{:?}", second.error_code);
    let after = logins(&svc.site);
    assert_eq!(after.form, before.form + 1, "the login ran again");
    assert_eq!(after.otp, before.otp, "without 2FA");
    let states = timeline(&collect_json(&svc, &second.collect_id).await);
    assert!(
        !states.contains(&3) && states.last() == Some(&7),
        "{states:?}"
    );

    // The device is forgotten too: in the background, the 2FA ends the collect in -2.
    svc.site.expire_site_logins();
    svc.site.forget_devices();
    let third = watch(&svc, &cred, true, None).await;
    assert_eq!(
        (third.state, third.error_code.as_deref()),
        (-2, Some("USER_ACTION_NEEDED.TWOFA_EXPIRED"))
    );
    let (_, credential) = svc
        .call(Method::GET, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(credential["state"], -2);

    // The person opens the collect and gives the code; the next background run is silent.
    let fourth = watch(&svc, &cred, false, Some("alice")).await;
    assert_eq!((fourth.state, fourth.asked_code), (7, true));
    let before = logins(&svc.site);
    let fifth = watch(&svc, &cred, true, None).await;
    assert_eq!(fifth.state, 7, "{:?}", fifth.error_code);
    assert_eq!(logins(&svc.site), before);
    svc.stop().await;
}

#[tokio::test]
async fn a_verification_keeps_its_session_for_the_first_collect_and_starts_clean_itself() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let cred = svc.create_credential("demo-bank", "bob", "demo").await;
    let verify = CollectMode {
        background: false,
        verify: true,
    };
    let (live, started) = svc.collector.start_or_attach(&cred, verify).await.unwrap();
    assert!(started);
    let ws = format!("/ws/{}", live.ws_token);
    let verified = watch_ws(&svc, live.id.clone(), &ws, Some("bob")).await;
    assert_eq!((verified.state, verified.asked_code), (7, true));
    assert!(
        svc.collector
            .store()
            .load_browser_state(&cred)
            .await
            .is_some()
    );

    // The first real collect, in the background: no login, no code.
    let before = logins(&svc.site);
    let first = watch(&svc, &cred, true, None).await;
    assert_eq!(first.state, 7, "{:?}", first.error_code);
    assert_eq!(logins(&svc.site), before);

    // Verifying again (the person added the same account again) proves the credentials:
    // the password is typed, from a browser that keeps only the site's remember-device
    // cookie (`keep_on_verify`), so no code is asked.
    let (live, _) = svc.collector.start_or_attach(&cred, verify).await.unwrap();
    let ws = format!("/ws/{}", live.ws_token);
    let again = watch_ws(&svc, live.id.clone(), &ws, Some("bob")).await;
    assert_eq!((again.state, again.asked_code), (7, false));
    assert_eq!(
        logins(&svc.site).form,
        before.form + 1,
        "the password was typed"
    );

    // Control: once the site forgets the device, verifying asks the code again.
    svc.site.forget_devices();
    let (live, _) = svc.collector.start_or_attach(&cred, verify).await.unwrap();
    let ws = format!("/ws/{}", live.ws_token);
    let forgotten = watch_ws(&svc, live.id.clone(), &ws, Some("bob")).await;
    assert_eq!((forgotten.state, forgotten.asked_code), (7, true));
    assert_eq!(logins(&svc.site).form, before.form + 2);
    svc.stop().await;
}

#[tokio::test]
async fn deleting_a_credential_wipes_its_kept_session() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let cred = svc.create_credential("demo-bank", "carol", "demo").await;
    let kept_too = svc.create_credential("demo-bank", "carol", "demo").await;
    for c in [&cred, &kept_too] {
        assert_eq!(watch(&svc, c, true, None).await.state, 7);
    }
    let store = svc.collector.store().clone();
    let session = store
        .load_browser_state(&cred)
        .await
        .expect("a kept session");
    let sid = session
        .cookies
        .iter()
        .find(|c| c.name == "sid")
        .expect("the sid cookie")
        .value
        .clone();
    let (status, _) = svc
        .call(Method::DELETE, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(store.load_browser_state(&cred).await.is_none());
    assert!(
        store.load_browser_state(&kept_too).await.is_some(),
        "only its own"
    );

    let (_site, data, _profiles) = svc.stop().await;
    let store = open_store(data.path()).await;
    assert!(store.load_browser_state(&cred).await.is_none());
    assert!(store.load_browser_state(&kept_too).await.is_some());
    store.close().await;
    // Nothing on disk holds a session cookie's value in clear.
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(path).unwrap();
        assert!(
            !bytes.windows(sid.len()).any(|w| w == sid.as_bytes()),
            "a cookie value is stored in clear"
        );
    }
}

/// One collect run directly (no service), with a kept session to restore.
async fn run_with(
    site: &DemoSite,
    connector: &Plan,
    login: &str,
    session: Option<BrowserState>,
    answer: bool,
) -> (Result<Outcome, CollectError>, Vec<Event>) {
    let _permit = browser_slot().await;
    let profiles = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let mut options = CollectOptions::default();
    options.launch.profile_root = Some(profiles.path().to_path_buf());
    options.engine.out_dir = out_dir.path().to_path_buf();
    options.engine.element_timeout = Duration::from_secs(5);
    options.engine.code_timeout = Duration::from_secs(30);
    let fields = IndexMap::from([
        ("login".to_string(), login.to_string()),
        ("password".to_string(), "demo".to_string()),
    ]);
    let mut inputs = Inputs::new(fields, site.base_url().parse().unwrap());
    inputs.browser_state = session;
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let (codes_tx, codes_rx) = mpsc::channel(4);
    let io = Links {
        events: events_tx,
        codes: answer.then_some(codes_rx),
        closes: None,
        redactor: Redactor::new(),
    };
    let run = collect::run(connector, inputs, &options, io, &|_| {});
    let drive = async {
        let mut events = Vec::new();
        while let Some(ev) = events_rx.recv().await {
            if let Event::CodeRequested { .. } = &ev {
                let code = site
                    .wait_code(login, Duration::from_secs(10))
                    .await
                    .unwrap();
                codes_tx.send(code).await.unwrap();
            }
            events.push(ev);
        }
        events
    };
    let (result, events) =
        tokio::time::timeout(Duration::from_secs(120), async { tokio::join!(run, drive) })
            .await
            .expect("the collect ends within 2 minutes");
    crate::common::assert_nothing_left(profiles.path());
    (result, events)
}

fn session_of(events: &[Event]) -> BrowserState {
    let sessions: Vec<&BrowserState> = events
        .iter()
        .filter_map(|e| match e {
            Event::BrowserState { state } => Some(state),
            _ => None,
        })
        .collect();
    assert_eq!(sessions.len(), 1, "one session, after the login");
    sessions[0].clone()
}

#[tokio::test]
async fn session_cookies_are_kept_and_restored_before_the_first_page() {
    let site = demo_site().await;
    let connector = demo_connector();
    let (result, events) = run_with(&site, &connector, "alice", None, true).await;
    assert!(result.is_ok(), "{:?}", result.err());
    let session = session_of(&events);
    let sid = session.cookies.iter().find(|c| c.name == "sid").unwrap();
    assert_eq!(
        sid.expires, None,
        "sid is a session cookie, kept all the same"
    );
    assert!(sid.http_only);
    let remember = session
        .cookies
        .iter()
        .find(|c| c.name == "remember_device")
        .unwrap();
    assert!(remember.expires.is_some_and(|e| e > 1e9));
    // The event never serializes its cookies.
    let wire = serde_json::to_string(&Event::BrowserState {
        state: session.clone(),
    })
    .unwrap();
    assert!(!wire.contains(&sid.value), "{wire}");
    assert!(!format!("{session:?}").contains(&sid.value));

    // Restored into a new browser, in the background: the check passes at once.
    let (result, events) = run_with(&site, &connector, "alice", Some(session), false).await;
    let outcome = result.expect("the kept session is still logged in");
    assert_eq!(outcome.lists["accounts"].len(), 3);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::CodeRequested { .. }))
    );
    assert_eq!(site.logins().form, 1);
    assert_eq!(
        site.hits_of("GET", "/login"),
        1,
        "the restored session went straight to /accounts"
    );
    let steps: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Step { step } => Some(step.to_string()),
            _ => None,
        })
        .collect();
    assert!(
        steps[0].contains("session check: goto '/accounts', expect accounts"),
        "{steps:?}"
    );
    assert!(
        !steps.iter().any(|s| s.starts_with("login step")),
        "{steps:?}"
    );
    site.shutdown().await;
}

#[tokio::test]
async fn a_connector_without_a_check_restores_the_session_and_still_logs_in() {
    let site = demo_site().await;
    let connector = crate::common::demo_connector_with(
        "session:\n  check: { goto: /accounts, expect: accounts }\n  keep_on_verify: [remember_device]\n",
        "",
    );
    assert!(connector.session.is_none());
    let (result, events) = run_with(&site, &connector, "alice", None, true).await;
    assert!(result.is_ok());
    let session = session_of(&events);
    // The login runs, but the restored remember_device cookie spares the code.
    let (result, events) = run_with(&site, &connector, "alice", Some(session), false).await;
    assert!(result.is_ok(), "{:?}", result.err());
    assert_eq!(site.logins().form, 2);
    assert_eq!(site.hits_of("POST", "/otp"), 1);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::BrowserState { .. }))
    );
    site.shutdown().await;
}

#[test]
fn a_session_check_names_a_defined_page_and_a_valid_template() {
    let src = std::fs::read_to_string(root().join("connectors/demo-bank.yaml")).unwrap();
    let good = "check: { goto: /accounts, expect: accounts }";
    assert!(src.contains(good));
    let bad = src.replace(
        good,
        "check: { goto: '/{{fields.password}}/{{nope}}', expect: nowhere }",
    );
    let err = connector::parse(&bad, "demo-bank.yaml")
        .expect_err("the check is refused")
        .to_string();
    assert!(err.contains("undefined page \"nowhere\""), "{err}");
    assert!(
        err.contains("secret field `password` may only be used in `fill`"),
        "{err}"
    );
    assert!(err.contains("undefined variable `nope`"), "{err}");
    assert!(err.contains("demo-bank.yaml:46:"), "{err}");

    let unknown = src.replace(
        good,
        "check: { goto: /accounts, expect: accounts, wait: 1 }",
    );
    assert!(connector::parse(&unknown, "demo-bank.yaml").is_err());
    let timeout = src.replace(
        good,
        "check: { goto: /accounts, expect: accounts }\n  timeout: 3s",
    );
    let c = connector::parse(&timeout, "demo-bank.yaml").unwrap();
    let session = c.session.unwrap();
    assert_eq!(session.timeout, Some(Duration::from_secs(3)));
}
