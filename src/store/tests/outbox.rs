//! The webhook outbox: events written with the changes they report, their payloads, the
//! per-credential order the worker reads, attempts, dead letters and replays.

use std::path::PathBuf;

use serde_json::{Value, json};
use tempfile::TempDir;

use super::{new_credential, open};
use crate::codes::{ErrorInfo, State};
use crate::engine::DocumentRecord;
use crate::store::{Attempt, DeliveryStatus, NewDocument, Replay, Store};

async fn open_with_webhooks(dir: &TempDir) -> Store {
    open(dir, 1).await.with_webhooks(crate::webhooks::report)
}

/// (type, payload) of every event, in write order.
async fn events(store: &Store) -> Vec<(String, Value)> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT type, payload FROM webhook_events ORDER BY seq")
            .fetch_all(&store.pool)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(t, p)| (t, serde_json::from_str(&p).unwrap()))
        .collect()
}

fn document(credential: &str, collect: &str) -> NewDocument {
    let sha = "cd".repeat(32);
    NewDocument {
        credential_id: credential.to_string(),
        collect_id: collect.to_string(),
        list: "invoices".to_string(),
        record: DocumentRecord {
            id: Some("INV-7".to_string()),
            date: Some("2025-02-28".to_string()),
            amount: Some(12.0),
            currency: Some("EUR".to_string()),
            url: "https://bank.example/inv/7.pdf".to_string(),
            sha256: sha.clone(),
            bytes: 99,
            content_type: Some("application/pdf".to_string()),
            file: PathBuf::from(format!("/docs/{sha}.pdf")),
            metadata: json!({"label": "February"}).as_object().unwrap().clone(),
        },
    }
}

fn error_info(code: &str, message: &str) -> ErrorInfo {
    ErrorInfo {
        code: code.to_string(),
        message: message.to_string(),
    }
}

fn in_an_hour() -> i64 {
    chrono::Utc::now().timestamp_millis() + 3_600_000
}

#[tokio::test]
async fn each_change_writes_its_events_in_its_transaction() {
    let dir = TempDir::new().unwrap();
    let store = open_with_webhooks(&dir).await;
    let cred = store.create_credential(new_credential("u1")).await.unwrap();
    let collect = store.start_collect(&cred.id, false, false).await.unwrap();
    store
        .record_state(&collect.id, State::LoggingIn, Some("login page"))
        .await
        .unwrap();
    let doc = store
        .add_document(document(&cred.id, &collect.id))
        .await
        .unwrap();
    store
        .finish_collect(&collect.id, State::Done, None, &json!({}))
        .await
        .unwrap();
    // Changes that do nothing write nothing.
    store
        .record_state(&collect.id, State::Collecting, None)
        .await
        .unwrap();
    assert!(
        store
            .add_document(document(&cred.id, "missing"))
            .await
            .is_err()
    );

    let events = events(&store).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "collect.state",
            "collect.state",
            "document.new",
            "collect.state",
            "collect.done"
        ]
    );
    for (t, payload) in &events {
        assert_eq!(payload["type"], t.as_str());
        assert!(payload["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(payload["data"]["credentialId"], cred.id.as_str());
        assert_eq!(payload["data"]["collectId"], collect.id.as_str());
    }
    assert_eq!(
        events[1].1["data"],
        json!({
            "collectId": collect.id, "credentialId": cred.id, "state": 2,
            "name": "logging_in", "message": "login page"
        })
    );
    let new = &events[2].1["data"];
    assert_eq!(new["id"], doc.id.as_str());
    assert_eq!(new["docId"], "INV-7");
    assert_eq!(new["downloadUrl"], format!("/document/{}", doc.id));
    assert_eq!(new["metadata"]["label"], "February");
    assert_eq!(events[3].1["data"]["state"], 7);
    let done = &events[4].1["data"];
    assert_eq!(done["newDocuments"], 1);
    assert!(
        done["advice"]["en"]
            .as_str()
            .unwrap()
            .contains("up to date")
    );
    assert!(!done["advice"]["fr"].as_str().unwrap().is_empty());

    // The events outlive the credential: they are the record of what was sent.
    assert!(store.delete_credential(&cred.id).await.unwrap());
    assert_eq!(self::events(&store).await.len(), 5);
    store.close().await;
}

#[tokio::test]
async fn failures_and_verifications_have_their_events() {
    let dir = TempDir::new().unwrap();
    let store = open_with_webhooks(&dir).await;
    let cred = store.create_credential(new_credential("u1")).await.unwrap();
    let failed = store.start_collect(&cred.id, false, true).await.unwrap();
    store
        .finish_collect(
            &failed.id,
            State::Error,
            Some(&error_info("LOGIN_FAILED", "Identifiants incorrects")),
            &Value::Null,
        )
        .await
        .unwrap();
    let verified = store.start_collect(&cred.id, false, true).await.unwrap();
    store
        .finish_collect(&verified.id, State::Done, None, &Value::Null)
        .await
        .unwrap();
    let plain = store.start_collect(&cred.id, true, false).await.unwrap();
    store
        .finish_collect(
            &plain.id,
            State::Disconnected,
            Some(&error_info(
                "USER_ACTION_NEEDED.TWOFA_EXPIRED",
                "a code is needed",
            )),
            &Value::Null,
        )
        .await
        .unwrap();
    // Left running, then interrupted at the next start.
    let left = store.start_collect(&cred.id, false, true).await.unwrap();
    assert_eq!(store.interrupt_unfinished().await.unwrap(), 1);

    let events = events(&store).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "collect.state",
            "collect.state",
            "collect.failed",
            "credential.verification_failed",
            "collect.state",
            "collect.state",
            "collect.done",
            "credential.verified",
            "collect.state",
            "collect.state",
            "collect.failed",
            "collect.state",
            "collect.state",
            "collect.failed",
            "credential.verification_failed",
        ]
    );
    let failed_data = &events[2].1["data"];
    assert_eq!(failed_data["collectId"], failed.id.as_str());
    assert_eq!(failed_data["state"], -1);
    assert_eq!(failed_data["code"], "LOGIN_FAILED");
    assert_eq!(failed_data["message"], "Identifiants incorrects");
    assert!(
        failed_data["advice"]["en"]
            .as_str()
            .unwrap()
            .contains("check your password")
    );
    assert!(
        failed_data["advice"]["fr"]
            .as_str()
            .unwrap()
            .contains("vérifiez votre mot de passe")
    );
    assert_eq!(&events[3].1["data"], failed_data);
    assert_eq!(
        events[7].1["data"],
        json!({ "credentialId": cred.id, "collectId": verified.id })
    );
    let disconnected = &events[10].1["data"];
    assert_eq!(disconnected["state"], -2);
    assert_eq!(disconnected["code"], "USER_ACTION_NEEDED.TWOFA_EXPIRED");
    assert!(
        disconnected["advice"]["en"]
            .as_str()
            .unwrap()
            .contains("open the collect to enter the code")
    );
    let interrupted = &events[13].1["data"];
    assert_eq!(interrupted["collectId"], left.id.as_str());
    assert_eq!(interrupted["code"], "INTERRUPTED");
    store.close().await;
}

#[tokio::test]
async fn no_events_are_kept_without_webhooks() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, 1).await;
    let cred = store.create_credential(new_credential("u1")).await.unwrap();
    let collect = store.start_collect(&cred.id, false, false).await.unwrap();
    store
        .add_document(document(&cred.id, &collect.id))
        .await
        .unwrap();
    store
        .finish_collect(&collect.id, State::Done, None, &json!({}))
        .await
        .unwrap();
    assert!(events(&store).await.is_empty());
    assert!(store.webhook_heads(10).await.unwrap().is_empty());
    store.close().await;
}

#[tokio::test]
async fn the_worker_sees_one_pending_event_per_credential_in_order() {
    let dir = TempDir::new().unwrap();
    let store = open_with_webhooks(&dir).await;
    let a = store.create_credential(new_credential("u1")).await.unwrap();
    let b = store.create_credential(new_credential("u2")).await.unwrap();
    // a: state 1, state 2, state 5; b: state 1.
    let ca = store.start_collect(&a.id, false, false).await.unwrap();
    store
        .record_state(&ca.id, State::LoggingIn, None)
        .await
        .unwrap();
    store.start_collect(&b.id, false, false).await.unwrap();
    store
        .record_state(&ca.id, State::Collecting, None)
        .await
        .unwrap();
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM webhook_events ORDER BY seq")
        .fetch_all(&store.pool)
        .await
        .unwrap();
    let (a1, a2, b1, a3) = (
        ids[0].as_str(),
        ids[1].as_str(),
        ids[2].as_str(),
        ids[3].as_str(),
    );
    assert!(
        ids.iter()
            .all(|id| id.starts_with("msg_") && id.len() == 36)
    );
    let heads = |store: Store| async move {
        store
            .webhook_heads(10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(heads(store.clone()).await, [a1, b1]);

    // A failed attempt keeps a1 at the head (due later): a2 waits behind it.
    let retry = Attempt::Failed {
        status: Some(500),
        error: "HTTP 500".into(),
        retry_at: Some(in_an_hour()),
    };
    store.record_webhook_attempt(a1, &retry).await.unwrap();
    assert_eq!(heads(store.clone()).await, [b1, a1], "soonest first");
    let head = store.webhook_heads(10).await.unwrap();
    assert_eq!((head[1].attempts, head[1].seq), (1, 1));
    assert!(head[1].next_attempt_at > head[0].next_attempt_at);

    // Dead: it blocks nothing.
    let dead = Attempt::Failed {
        status: None,
        error: "connection refused".into(),
        retry_at: None,
    };
    store.record_webhook_attempt(a1, &dead).await.unwrap();
    assert_eq!(heads(store.clone()).await, [a2, b1]);
    store
        .record_webhook_attempt(a2, &Attempt::Delivered { status: 204 })
        .await
        .unwrap();
    store
        .record_webhook_attempt(b1, &Attempt::Delivered { status: 200 })
        .await
        .unwrap();
    assert_eq!(heads(store.clone()).await, [a3]);
    // An attempt recorded for an event no longer pending changes nothing.
    store.record_webhook_attempt(a2, &dead).await.unwrap();

    let dead_ones = store
        .webhook_deliveries(Some(DeliveryStatus::Dead), 10)
        .await
        .unwrap();
    assert_eq!(dead_ones.len(), 1);
    let d = &dead_ones[0];
    assert_eq!((d.id.as_str(), d.attempts), (a1, 2));
    assert_eq!(d.last_error.as_deref(), Some("connection refused"));
    assert_eq!(d.last_status, None);
    assert!(d.next_attempt_at.is_none() && d.delivered_at.is_none());
    let delivered = store.webhook_delivery(a2).await.unwrap().unwrap();
    assert_eq!(delivered.status, DeliveryStatus::Delivered);
    assert_eq!((delivered.attempts, delivered.last_status), (1, Some(204)));
    assert!(delivered.delivered_at.is_some());
    let all = store.webhook_deliveries(None, 10).await.unwrap();
    let newest_first: Vec<&str> = all.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(newest_first, [a3, b1, a2, a1]);
    assert_eq!(store.webhook_deliveries(None, 1).await.unwrap().len(), 1);
    let json = serde_json::to_value(&all[0]).unwrap();
    assert_eq!(json["type"], "collect.state");
    assert_eq!(json["status"], "pending");
    assert!(json["nextAttemptAt"].is_string() && json["credentialId"].is_string());

    // Replayed, a1 is pending again and keeps its place: a3 waits behind it.
    assert!(matches!(
        store.replay_webhook(a3).await.unwrap(),
        Replay::Pending
    ));
    assert!(matches!(
        store.replay_webhook("msg_nope").await.unwrap(),
        Replay::NotFound
    ));
    let Replay::Replayed(replayed) = store.replay_webhook(a1).await.unwrap() else {
        panic!("a dead event is replayed");
    };
    assert_eq!(
        (replayed.status, replayed.attempts),
        (DeliveryStatus::Pending, 0)
    );
    assert_eq!(heads(store.clone()).await, [a1]);
    assert!(matches!(
        store.replay_webhook(a2).await.unwrap(),
        Replay::Replayed(_)
    ));
    store.close().await;
}
