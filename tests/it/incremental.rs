//! Incremental collects through the service: a document is downloaded once per credential,
//! a document published later shows up alone, and `since` keeps old ones out.

use demo_sites::{ExtraInvoices, Invoice};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{browser_slot, demo_site_with};
use crate::server::{TestService, config};

const PDFS: [&str; 3] = ["INV-2026-09", "INV-2026-10", "INV-2026-11"];

async fn service(extra: &ExtraInvoices) -> TestService {
    let site = demo_site_with(extra.clone()).await;
    let data = tempfile::tempdir().unwrap();
    let profiles = tempfile::tempdir().unwrap();
    let config = config(data.path(), profiles.path(), &site);
    TestService::start_with(site, data, profiles, config).await
}

/// Runs a collect of the credential to its end; returns `GET /collect/{id}`.
async fn collect(svc: &TestService, cred: &str) -> Value {
    let (_, collect_id, ws) = svc.collect(cred, false).await;
    let (end, error) = svc.viewer(&ws).await.final_state().await;
    assert_eq!(end, 7, "{error:?}");
    let (_, collect) = svc
        .call(Method::GET, &format!("/collect/{collect_id}"), None)
        .await;
    collect
}

async fn documents(svc: &TestService, collect: &Value) -> Vec<String> {
    let (_, docs) = svc
        .call(
            Method::GET,
            &format!("/collect/{}/documents", collect["id"].as_str().unwrap()),
            None,
        )
        .await;
    docs.as_array()
        .unwrap()
        .iter()
        .map(|d| d["docId"].as_str().unwrap().to_string())
        .collect()
}

fn pdf_hits(svc: &TestService) -> Vec<u64> {
    PDFS.iter()
        .map(|id| svc.site.hits(&format!("/invoices/{id}.pdf")))
        .collect()
}

#[tokio::test]
async fn a_document_is_downloaded_once_and_a_new_one_shows_up_alone() {
    let _slot = browser_slot().await;
    let extra = ExtraInvoices::default();
    let svc = service(&extra).await;
    let cred = svc.create_credential("demo-bank", "carol", "demo").await;

    let first = collect(&svc, &cred).await;
    assert_eq!(first["newDocuments"], 3);
    assert_eq!(documents(&svc, &first).await, PDFS);
    assert_eq!(pdf_hits(&svc), [1, 1, 1]);

    let second = collect(&svc, &cred).await;
    assert_eq!(second["newDocuments"], 0);
    assert!(documents(&svc, &second).await.is_empty());
    assert_eq!(pdf_hits(&svc), [1, 1, 1], "nothing downloaded again");
    // The records are still all there: only the files are not fetched again.
    assert_eq!(second["records"]["accounts"].as_array().unwrap().len(), 3);

    extra.add(
        Invoice {
            id: "INV-2026-12".into(),
            date: "15/12/2026".into(),
            label: "Cotisation décembre".into(),
            amount_cents: 3120,
            amount: "31,20\u{a0}€".into(),
        },
        b"%PDF-1.4\n% a December invoice\n%%EOF\n".to_vec(),
    );
    let third = collect(&svc, &cred).await;
    assert_eq!(third["newDocuments"], 1);
    assert_eq!(documents(&svc, &third).await, ["INV-2026-12"]);
    assert_eq!(svc.site.hits("/invoices/INV-2026-12.pdf"), 1);
    assert_eq!(pdf_hits(&svc), [1, 1, 1]);
    svc.stop().await;
}

#[tokio::test]
async fn documents_older_than_since_are_not_collected() {
    let _slot = browser_slot().await;
    let svc = service(&ExtraInvoices::default()).await;
    let (status, body) = svc
        .call(
            Method::POST,
            "/credential",
            Some(json!({
                "userId": "u", "connector": "demo-bank",
                "fields": { "login": "carol", "password": "demo" },
                "since": "2026-10-01",
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["since"], "2026-10-01");
    let cred = body["id"].as_str().unwrap().to_string();
    let first = collect(&svc, &cred).await;
    assert_eq!(
        documents(&svc, &first).await,
        ["INV-2026-10", "INV-2026-11"]
    );
    assert_eq!(
        pdf_hits(&svc),
        [0, 1, 1],
        "the September invoice is never fetched"
    );

    let (status, body) = svc
        .call(
            Method::POST,
            "/credential",
            Some(json!({
                "userId": "u", "connector": "demo-bank",
                "fields": { "login": "carol", "password": "demo" }, "since": "1st of May",
            })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    svc.stop().await;
}
