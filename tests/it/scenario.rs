//! The unattended life of a credential, end to end (issue 5's "done means"): a daily
//! schedule collects in the background; documents come once; a session that expires into
//! 2FA ends in -2 with a webhook; the person reattaches through the UI and enters the code;
//! the next scheduled run is silent again.

use std::time::Duration;

use gleaner::collect::Live;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::browser_slot;
use crate::server::TestService;
use crate::ui::{Host, Person, give_code, session};
use crate::webhooks::{Receiver, hooks};

const WAIT: Duration = Duration::from_secs(60);

/// Makes the schedule due now and returns the background collect the scheduler starts.
async fn run_schedule_now(
    svc: &TestService,
    cred: &str,
    started: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<Live>>,
) -> std::sync::Arc<Live> {
    // Collects started by others (the person, the UI) before this run.
    while started.try_recv().is_ok() {}
    let now = chrono::Utc::now().to_rfc3339();
    let (status, body) = svc
        .call(
            Method::PUT,
            &format!("/credential/{cred}/schedule"),
            Some(json!({ "every": "24h", "jitter": "1h", "firstAt": now })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let live = tokio::time::timeout(WAIT, started.recv())
        .await
        .expect("the scheduler starts a collect")
        .unwrap();
    assert!(live.background, "scheduled collects run in the background");
    live
}

/// The final state of a collect and its error code, awaited on its status.
async fn end_of(live: &std::sync::Arc<Live>) -> (i8, Option<String>) {
    let viewer = live.attach();
    let mut status = viewer.status.clone();
    let s = tokio::time::timeout(WAIT, status.wait_for(|s| !s.state.in_progress()))
        .await
        .expect("the collect ends")
        .unwrap()
        .clone();
    (s.state.index(), s.error.map(|e| e.code))
}

async fn new_documents(svc: &TestService, collect_id: &str) -> i64 {
    let (_, c) = svc
        .call(Method::GET, &format!("/collect/{collect_id}"), None)
        .await;
    c["newDocuments"].as_i64().unwrap()
}

/// Reads webhook requests until one of this type is accepted.
async fn until_event(receiver: &mut Receiver, kind: &str) -> Value {
    loop {
        let r = receiver.next().await;
        if r.accepted() && r.payload()["type"] == kind {
            return r.payload();
        }
    }
}

#[tokio::test]
async fn a_daily_schedule_runs_quietly_and_asks_the_person_only_when_the_site_needs_them() {
    let _slot = browser_slot().await;
    let mut receiver = Receiver::start(&[], 204).await;
    let host = Host::start().await;
    let (hook_url, origin) = (receiver.url.clone(), host.origin.clone());
    let svc = TestService::start_tuned(move |c| {
        c.webhooks = hooks(&hook_url, 5);
        c.ui = c.ui.clone().with_origins(&[origin]).unwrap();
    })
    .await;
    let mut started = svc.collector.subscribe_started();
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;

    // 1. The person's first collect: 2FA over the WebSocket, the device remembered.
    let (_, first, ws) = svc.collect(&cred, false).await;
    let _ = started.recv().await;
    let mut viewer = svc.viewer(&ws).await;
    viewer.until_twofa().await;
    let code = svc.site.wait_code("alice", WAIT).await.unwrap();
    viewer
        .send(&gleaner::api::messages::ClientMessage::Twofa { code })
        .await;
    assert_eq!(viewer.final_state().await.0, 7);
    assert_eq!(new_documents(&svc, &first).await, 3);
    let done = until_event(&mut receiver, "collect.done").await;
    assert_eq!(done["data"]["newDocuments"], 3);

    // 2. The daily run: the kept session is still valid — no login, no code, no new file.
    let logins = svc.site.logins();
    let live = run_schedule_now(&svc, &cred, &mut started).await;
    assert_eq!(end_of(&live).await, (7, None));
    assert_eq!(new_documents(&svc, &live.id).await, 0);
    assert_eq!(svc.site.logins(), logins, "the session was reused");
    let done = until_event(&mut receiver, "collect.done").await;
    assert_eq!(done["data"]["newDocuments"], 0);

    // 3. The site ends the session and forgets the device: the background run meets 2FA
    //    and stops at once in -2, and the backend is told what the person must do.
    svc.site.expire_site_logins();
    svc.site.forget_devices();
    let live = run_schedule_now(&svc, &cred, &mut started).await;
    assert_eq!(
        end_of(&live).await,
        (-2, Some("USER_ACTION_NEEDED.TWOFA_EXPIRED".into()))
    );
    let failed = until_event(&mut receiver, "collect.failed").await;
    assert_eq!(failed["data"]["code"], "USER_ACTION_NEEDED.TWOFA_EXPIRED");
    assert!(
        failed["data"]["advice"]["en"]
            .as_str()
            .unwrap()
            .contains("open the collect to enter the code")
    );
    let (_, credential) = svc
        .call(Method::GET, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(credential["state"], -2);

    // 4. The person reattaches through the UI and enters the code.
    let url = session(&svc, json!({ "userId": "user-1", "credentialId": cred })).await;
    let mut person = Person::new("scenario", (480, 640)).await;
    person.goto(&format!("{url}&collect={cred}")).await;
    person.wait_screen("progress").await;
    give_code(&person, &svc, "alice").await;
    person.wait_screen("success").await;
    person.shot("reattached-success").await;
    person.close().await;

    // 5. The next scheduled run is silent again.
    let live = run_schedule_now(&svc, &cred, &mut started).await;
    let mut watcher = live.attach();
    let mut asked = false;
    let end = loop {
        tokio::select! {
            changed = watcher.code_request.changed() => {
                changed.unwrap();
                asked |= watcher.code_request.borrow().is_some();
            }
            s = watcher.status.wait_for(|s| !s.state.in_progress()) => break s.unwrap().state.index(),
        }
    };
    assert_eq!(end, 7);
    assert!(!asked, "no code was asked");
    assert_eq!(new_documents(&svc, &live.id).await, 0);
    let (_, schedule) = svc
        .call(Method::GET, &format!("/credential/{cred}/schedule"), None)
        .await;
    let next =
        chrono::DateTime::parse_from_rfc3339(schedule["nextCollectAt"].as_str().unwrap()).unwrap();
    let ahead = next.signed_duration_since(chrono::Utc::now());
    assert!(
        ahead > chrono::Duration::hours(23),
        "next run about a day later: {ahead}"
    );
    svc.stop().await;
}
