//! Schedules through the API against the real service: validation and 404s, a scheduled
//! background collect of the demo bank in real Chromium, and more due collects than slots
//! waiting in the queue. Collects are followed through `Collector::subscribe_started` and
//! their status, never by sleeping.

use std::sync::Arc;
use std::time::Duration;

use gleaner::collect::{Live, Status};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::server::{TestService, timeline};

/// Unix milliseconds of an RFC 3339 time in a response.
fn ms(value: &Value) -> i64 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"));
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .timestamp_millis()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The next collect of `credential` to start.
async fn started_for(started: &mut broadcast::Receiver<Arc<Live>>, credential: &str) -> Arc<Live> {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match started.recv().await {
                Ok(live) if live.credential_id == credential => return live,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => panic!("the collector is gone"),
            }
        }
    })
    .await
    .expect("the scheduler starts the collect within 30 s")
}

/// The collect's final status.
async fn final_status(live: &Arc<Live>) -> Status {
    let mut viewer = live.attach();
    tokio::time::timeout(
        Duration::from_secs(60),
        viewer.status.wait_for(|s| !s.state.in_progress()),
    )
    .await
    .expect("the collect ends within 60 s")
    .expect("status")
    .clone()
}

#[tokio::test]
async fn schedules_are_validated_set_replaced_and_deleted() {
    let _slot = crate::common::browser_slot().await;
    let svc = TestService::start().await;
    let cred = svc.create_credential("demo-bank", "carol", "demo").await;
    let path = format!("/credential/{cred}/schedule");
    let put = |body: Value| svc.call(Method::PUT, &path, Some(body));

    for method in [Method::PUT, Method::GET, Method::DELETE] {
        let body = (method == Method::PUT).then(|| json!({ "every": "24h" }));
        let (status, answer) = svc
            .call(method.clone(), "/credential/nope/schedule", body)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}: {answer}");
        assert_eq!(answer["error"]["code"], "not_found");
    }
    let (status, answer) = svc.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no schedule yet: {answer}");
    let (status, _) = svc.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let refused = [
        (json!({ "every": 59 }), "at least 60s"),
        (json!({ "every": "30s" }), "at least 60s"),
        (json!({ "every": "1h", "jitter": "2h" }), "jitter"),
        (json!({ "every": "soon" }), "every"),
        (json!({ "every": "90.5s" }), "whole number of seconds"),
        (json!({ "every": "400d" }), "every"),
        (json!({ "every": "1h", "firstAt": "tomorrow" }), "firstAt"),
        (json!({ "every": "1h", "at": "06:00" }), "unknown field"),
        (json!({ "jitter": "1h" }), "every"),
    ];
    for (body, needle) in refused {
        let (status, answer) = put(body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} → {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "{body}: {message:?} lacks {needle:?}"
        );
    }

    // Defaults: no jitter, the first collect one interval from now.
    let before = now_ms();
    let (status, daily) = put(json!({ "every": "24h", "jitter": "1h" })).await;
    assert_eq!(status, StatusCode::OK, "{daily}");
    assert_eq!(daily["credentialId"], cred.as_str());
    assert_eq!(
        (daily["every"].as_u64(), daily["jitter"].as_u64()),
        (Some(86_400), Some(3_600))
    );
    let next = ms(&daily["nextCollectAt"]);
    assert!(
        (before + 86_400_000..=now_ms() + 86_400_000).contains(&next),
        "now + every: {}",
        daily["nextCollectAt"]
    );
    assert_eq!(daily["lastStartedAt"], Value::Null);
    let (status, got) = svc.call(Method::GET, &path, None).await;
    assert_eq!((status, &got), (StatusCode::OK, &daily));

    // Replaced: seconds, a week in days, a first time of our choosing.
    let first = now_ms() + 3 * 86_400_000;
    let (_, weekly) = put(json!({ "every": "7d", "firstAt": rfc3339(first) })).await;
    assert_eq!(
        (weekly["every"].as_u64(), weekly["jitter"].as_u64()),
        (Some(604_800), Some(0))
    );
    assert_eq!(ms(&weekly["nextCollectAt"]), first);
    // The credential shows it too.
    let (_, credential) = svc
        .call(Method::GET, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(credential["nextCollectAt"], weekly["nextCollectAt"]);
    let (_, hourly) = put(json!({ "every": 3600, "jitter": 600, "firstAt": rfc3339(first) })).await;
    assert_eq!(
        (hourly["every"].as_u64(), hourly["jitter"].as_u64()),
        (Some(3_600), Some(600))
    );

    let (status, _) = svc.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = svc.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, credential) = svc
        .call(Method::GET, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(credential["nextCollectAt"], Value::Null);

    // A schedule goes with its credential.
    put(json!({ "every": "24h" })).await;
    svc.call(Method::DELETE, &format!("/credential/{cred}"), None)
        .await;
    let (status, _) = svc.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    svc.stop().await;

    // The shortest interval is the server's to set (tests run faster ones).
    let svc = TestService::start_tuned(|c| c.min_schedule_interval = Duration::from_secs(1)).await;
    let cred = svc.create_credential("demo-bank", "carol", "demo").await;
    let later = rfc3339(now_ms() + 86_400_000);
    let (status, fast) = svc
        .call(
            Method::PUT,
            &format!("/credential/{cred}/schedule"),
            Some(json!({ "every": 1, "firstAt": later })),
        )
        .await;
    assert_eq!(
        (status, fast["every"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{fast}"
    );
    let (status, _) = svc
        .call(
            Method::PUT,
            &format!("/credential/{cred}/schedule"),
            Some(json!({ "every": 0 })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    svc.stop().await;
}

#[tokio::test]
async fn a_scheduled_credential_collects_in_the_background_and_moves_its_next_time() {
    let _slot = crate::common::browser_slot().await;
    let svc = TestService::start().await;
    let cred = svc.create_credential("demo-bank", "carol", "demo").await;
    let mut started = svc.collector.subscribe_started();

    let first = now_ms();
    let (status, schedule) = svc
        .call(
            Method::PUT,
            &format!("/credential/{cred}/schedule"),
            Some(json!({ "every": "1h", "firstAt": rfc3339(first) })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{schedule}");
    assert_eq!(ms(&schedule["nextCollectAt"]), first);

    let live = started_for(&mut started, &cred).await;
    assert!(
        live.background,
        "the scheduler's collects are background ones"
    );
    let end = final_status(&live).await;
    assert_eq!(end.state.index(), 7, "{end:?}");

    let (_, collect) = svc
        .call(Method::GET, &format!("/collect/{}", live.id), None)
        .await;
    assert_eq!(collect["background"], true);
    assert_eq!(timeline(&collect).first(), Some(&1));
    assert_eq!(timeline(&collect).last(), Some(&7));
    let (_, credential) = svc
        .call(Method::GET, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(credential["state"], 7);

    let (_, schedule) = svc
        .call(Method::GET, &format!("/credential/{cred}/schedule"), None)
        .await;
    let last = ms(&schedule["lastStartedAt"]);
    let next = ms(&schedule["nextCollectAt"]);
    assert!(last >= first, "{schedule}");
    assert_eq!(next - last, 3_600_000, "now + every, no jitter: {schedule}");
    assert!(
        (first + 3_600_000..first + 3_660_000).contains(&next),
        "moved forward by about an hour: {schedule}"
    );
    svc.stop().await;
}

#[tokio::test]
async fn more_due_collects_than_slots_wait_in_the_queue() {
    let _slot = crate::common::browser_slot().await;
    let svc = TestService::start_tuned(|c| c.max_concurrent_collects = 1).await;
    let mut started = svc.collector.subscribe_started();
    let mut creds = Vec::new();
    for _ in 0..3 {
        creds.push(svc.create_credential("demo-bank", "carol", "demo").await);
    }
    // All due now; each change wakes the scheduler.
    let now = rfc3339(now_ms());
    for cred in &creds {
        let (status, body) = svc
            .call(
                Method::PUT,
                &format!("/credential/{cred}/schedule"),
                Some(json!({ "every": "1h", "firstAt": now })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // They start in whatever order the scheduler reads them.
    let mut lives: Vec<Arc<Live>> = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while lives.len() < creds.len() {
            match started.recv().await {
                Ok(live) if creds.contains(&live.credential_id) => lives.push(live),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => panic!("the collector is gone"),
            }
        }
    })
    .await
    .expect("the scheduler starts the three collects within 30 s");
    // One slot: whichever runs, the others wait in state 1 (preparing), not refused.
    let queued = lives
        .iter()
        .filter(|l| l.status().state.index() == 1)
        .count();
    assert!(
        queued >= 2,
        "{:?}",
        lives.iter().map(|l| l.status().state).collect::<Vec<_>>()
    );

    for live in &lives {
        let end = final_status(live).await;
        assert_eq!(end.state.index(), 7, "{end:?}");
        let (_, collect) = svc
            .call(Method::GET, &format!("/collect/{}", live.id), None)
            .await;
        assert_eq!(timeline(&collect).last(), Some(&7), "{collect}");
    }
    svc.stop().await;
}
