//! Collects, their timelines, interruption at start-up, documents.

use std::path::PathBuf;

use serde_json::json;
use tempfile::TempDir;

use super::{new_credential, open, state_of};
use crate::codes::{ErrorInfo, State};
use crate::engine::DocumentRecord;
use crate::store::{NewDocument, StoreError};

fn record(sha: &str, file: &str) -> DocumentRecord {
    DocumentRecord {
        id: Some("INV-1".to_string()),
        date: Some("2025-01-31".to_string()),
        amount: Some(42.5),
        currency: Some("EUR".to_string()),
        url: "https://bank.example/inv/1.pdf".to_string(),
        sha256: sha.to_string(),
        bytes: 1234,
        content_type: Some("application/pdf".to_string()),
        file: PathBuf::from(file),
        metadata: json!({"label": "January"}).as_object().unwrap().clone(),
    }
}

fn new_document(credential: &str, collect: &str, list: &str, r: DocumentRecord) -> NewDocument {
    NewDocument {
        credential_id: credential.to_string(),
        collect_id: collect.to_string(),
        list: list.to_string(),
        record: r,
    }
}

#[tokio::test]
async fn collect_timeline_and_credential_state() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, 1).await;
    let cred = store.create_credential(new_credential("u1")).await.unwrap();
    assert!(store.collect_in_progress(&cred.id).await.unwrap().is_none());
    assert!(matches!(
        store.start_collect("missing", false, false).await,
        Err(StoreError::NotFound(_))
    ));

    let started = store.start_collect(&cred.id, true, false).await.unwrap();
    assert_eq!(
        (started.state, started.state_name.as_str()),
        (1, "preparing")
    );
    assert!(started.background);
    let c = store.credential(&cred.id).await.unwrap().unwrap();
    assert_eq!(c.state, 1);
    assert_eq!(c.last_collect_id.as_deref(), Some(started.id.as_str()));
    let running = store.collect_in_progress(&cred.id).await.unwrap().unwrap();
    assert_eq!(running.id, started.id);

    store
        .record_state(&started.id, State::LoggingIn, Some("login page"))
        .await
        .unwrap();
    store
        .record_state(&started.id, State::TwofaWaiting, None)
        .await
        .unwrap();
    assert_eq!(state_of(&store, &cred.id).await, 3);
    assert!(matches!(
        store.record_state("missing", State::Collecting, None).await,
        Err(StoreError::NotFound(_))
    ));

    let records = json!({"invoices": [{"id": "INV-1"}]});
    store
        .finish_collect(
            &started.id,
            State::Error,
            Some(&ErrorInfo {
                code: "LOGIN_FAILED.WRONG_TWOFA_CODE".to_string(),
                message: "the code was refused".to_string(),
            }),
            &records,
        )
        .await
        .unwrap();
    // A finished collect no longer changes.
    store
        .record_state(&started.id, State::Collecting, None)
        .await
        .unwrap();
    store
        .finish_collect(&started.id, State::Done, None, &json!(null))
        .await
        .unwrap();

    let done = store.collect(&started.id).await.unwrap().unwrap();
    assert_eq!((done.state, done.state_name.as_str()), (-1, "error"));
    let states: Vec<i8> = done.timeline.iter().map(|t| t.state).collect();
    assert_eq!(states, vec![1, 2, 3, -1]);
    assert_eq!(done.timeline[1].message.as_deref(), Some("login page"));
    assert_eq!(done.timeline[1].name, "logging_in");
    assert_eq!(
        done.timeline[3].message.as_deref(),
        Some("the code was refused")
    );
    let error = done.error.as_ref().unwrap();
    assert_eq!(error.code, "LOGIN_FAILED.WRONG_TWOFA_CODE");
    assert_eq!(done.records, Some(records));
    assert!(done.finished_at.is_some());
    assert!(done.created_at.ends_with('Z'));
    let json = serde_json::to_value(&done).unwrap();
    assert!(json.get("credentialId").is_some() && json.get("finishedAt").is_some());
    assert!(store.collect_in_progress(&cred.id).await.unwrap().is_none());
    assert_eq!(state_of(&store, &cred.id).await, -1);

    // A second collect succeeds; the credential follows the newest one only.
    let second = store.start_collect(&cred.id, false, false).await.unwrap();
    store
        .finish_collect(&second.id, State::Done, None, &json!({}))
        .await
        .unwrap();
    let c = store.credential(&cred.id).await.unwrap().unwrap();
    assert_eq!((c.state, c.state_name.as_str()), (7, "done"));
    let second = store.collect(&second.id).await.unwrap().unwrap();
    assert!(second.error.is_none());
    assert!(store.collect("missing").await.unwrap().is_none());
    store.close().await;
}

#[tokio::test]
async fn interrupt_unfinished_collects() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, 1).await;
    let a = store.create_credential(new_credential("u1")).await.unwrap();
    let b = store.create_credential(new_credential("u1")).await.unwrap();
    let finished = store.start_collect(&a.id, false, false).await.unwrap();
    store
        .finish_collect(&finished.id, State::Done, None, &json!({}))
        .await
        .unwrap();
    let running = store.start_collect(&b.id, false, false).await.unwrap();
    store
        .record_state(&running.id, State::Downloading, None)
        .await
        .unwrap();
    store.close().await;

    let store = open(&dir, 1).await;
    assert_eq!(store.interrupt_unfinished().await.unwrap(), 1);
    assert_eq!(store.interrupt_unfinished().await.unwrap(), 0);

    let c = store.collect(&running.id).await.unwrap().unwrap();
    assert_eq!(c.state, -1);
    let error = c.error.unwrap();
    assert_eq!(error.code, "INTERRUPTED");
    assert_eq!(error.message, "the service stopped during the collect");
    assert!(c.finished_at.is_some());
    let states: Vec<i8> = c.timeline.iter().map(|t| t.state).collect();
    assert_eq!(states, vec![1, 6, -1]);
    assert_eq!(state_of(&store, &b.id).await, -1);
    assert!(store.collect_in_progress(&b.id).await.unwrap().is_none());

    let f = store.collect(&finished.id).await.unwrap().unwrap();
    assert_eq!(f.state, 7);
    assert!(f.error.is_none());
    assert_eq!(f.timeline.len(), 2);
    assert_eq!(state_of(&store, &a.id).await, 7);
    store.close().await;
}

#[tokio::test]
async fn documents_and_cascading_delete() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, 1).await;
    let cred = store.create_credential(new_credential("u1")).await.unwrap();
    let other = store.create_credential(new_credential("u1")).await.unwrap();
    let collect = store.start_collect(&cred.id, false, false).await.unwrap();
    let sha = "ab".repeat(32);
    let doc = store
        .add_document(new_document(
            &cred.id,
            &collect.id,
            "invoices",
            record(&sha, &format!("/docs/{sha}.pdf")),
        ))
        .await
        .unwrap();
    assert_eq!(doc.file_name(), format!("{sha}.pdf"));
    let second = store
        .add_document(new_document(
            &cred.id,
            &collect.id,
            "statements",
            record("cd", "/docs/cd"),
        ))
        .await
        .unwrap();
    assert_eq!(second.file_name(), "cd.bin");
    // A collect of another credential is refused.
    assert!(matches!(
        store
            .add_document(new_document(
                &other.id,
                &collect.id,
                "invoices",
                record("ef", "/docs/ef.pdf"),
            ))
            .await,
        Err(StoreError::NotFound(_))
    ));

    let got = store.document(&doc.id).await.unwrap().unwrap();
    assert_eq!(got.doc_id.as_deref(), Some("INV-1"));
    assert_eq!(got.amount, Some(42.5));
    assert_eq!(got.bytes, 1234);
    assert_eq!(got.metadata["label"], "January");
    assert_eq!(got.file_name(), doc.file_name());
    let json = serde_json::to_value(&got).unwrap();
    assert!(json.get("ext").is_none() && json.get("docId").is_some());
    let listed: Vec<String> = store
        .documents_of_collect(&collect.id)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(listed, vec![doc.id.clone(), second.id.clone()]);

    assert!(store.delete_credential(&cred.id).await.unwrap());
    assert!(store.document(&doc.id).await.unwrap().is_none());
    assert!(
        store
            .documents_of_collect(&collect.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.collect(&collect.id).await.unwrap().is_none());
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM collect_events")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(events, 0);
    assert!(store.credential(&other.id).await.unwrap().is_some());
    store.close().await;
}
