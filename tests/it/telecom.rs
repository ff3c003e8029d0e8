//! Demo Telecom (issue 13, item 9): `connectors/demo-telecom.yaml` collects a portal built
//! like real ones — its login and 2FA in a cross-site frame, a consent banner in a shadow
//! root, bills behind POST buttons after a `confirm()`, a statement made by script (`blob:`),
//! a contract opening in a new tab, data that exists only as JSON — without `eval`.

use demo_sites::telecom::{data, pdf};
use demo_sites::{DemoTelecom, DemoTelecomOptions};
use gleaner::codes::State;
use sha2::{Digest, Sha256};

use crate::common::{self, Codes};

fn connector(edit: impl FnOnce(String) -> String) -> gleaner::connector::Plan {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/connectors/demo-telecom.yaml");
    let yaml = edit(std::fs::read_to_string(path).expect("the connector"));
    gleaner::connector::parse(&yaml, "demo-telecom.yaml").expect("valid connector")
}

async fn site() -> DemoTelecom {
    DemoTelecom::start(DemoTelecomOptions::default())
        .await
        .expect("Demo Telecom starts")
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn the_demo_telecom_connector_collects_everything_without_eval() {
    let site = site().await;
    let plan = connector(|y| y);
    let started = std::time::Instant::now();
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Fixed("424242".into())).await;
    if let Err(e) = &run.result {
        panic!("collect failed: {e}");
    }
    eprintln!("Demo Telecom collect: {:?}", started.elapsed());
    assert_eq!(run.final_state(), State::Done);
    let out = run.outcome();
    let count = |list: &str| out.lists.get(list).map_or(0, |l| l.len());
    assert_eq!(out.lists["customer"][0]["id"], "CL-0042-7781");
    assert_eq!(count("usage"), 3, "{:?}", out.lists.get("usage"));
    assert_eq!(out.lists["usage"][2]["data_gb"], 15.1);
    let lines: Vec<(&str, f64)> = out.lists["lines"]
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap(),
                l["monthly_price"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(lines, [("L-001", 19.99), ("L-002", 34.99)]);
    // Values that only drive the connector stay out of the output.
    assert!(!out.lists.contains_key("_usage") && !out.lists.contains_key("_lines"));
    assert_eq!(count("bills"), 3, "every page of bills");

    // Each document is the site's own bytes: bills by POST, the statement made in the
    // page (blob:), the contract from its new tab.
    let mut expected: Vec<(String, String)> = data::BILLS
        .iter()
        .map(|b| (b.id.to_string(), sha256(&pdf::bill(b))))
        .collect();
    expected.push(("releve-2026-T1".into(), sha256(&pdf::statement())));
    expected.push(("CL-0042-7781".into(), sha256(&pdf::contract())));
    let mut got: Vec<(String, String)> = out
        .documents
        .iter()
        .map(|d| (d.id.clone().unwrap_or_default(), d.sha256.clone()))
        .collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    let bill = out
        .documents
        .iter()
        .find(|d| d.id.as_deref() == Some("FAC-2026-03"))
        .unwrap();
    assert_eq!(bill.metadata["filename"], "facture-2026-03.pdf");
    assert_eq!(bill.amount, Some(54.98));
    // The bills were asked for by POST, once each (the confirm() was accepted).
    assert_eq!(site.hits_of("POST", "/bills/download"), 3);
}

/// A wrong password shows in the identity provider's frame, and the page recognised by
/// that frame ends the collect with its message.
#[tokio::test]
async fn a_wrong_password_in_the_frame_is_login_failed_with_the_sites_words() {
    let site = site().await;
    let plan = connector(|y| y);
    let run = common::collect(&site, &plan, "alice", "nope", Codes::Nobody).await;
    let err = run.error();
    assert_eq!(err.code.to_string(), "LOGIN_FAILED");
    assert!(
        err.message
            .contains("Identifiant ou mot de passe incorrect"),
        "{err}"
    );
}

#[tokio::test]
async fn a_wrong_code_in_the_frame_is_wrong_twofa_code() {
    let site = site().await;
    let plan = connector(|y| y);
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Fixed("000000".into())).await;
    let err = run.error();
    assert_eq!(err.code.to_string(), "LOGIN_FAILED.WRONG_TWOFA_CODE");
    assert!(err.message.contains("Code incorrect"), "{err}");
}

/// The bills' `Content-Disposition` says `../../evil.pdf`: the name is kept only as
/// cleaned metadata, and nothing is written outside the collect's directory.
#[tokio::test]
async fn a_content_disposition_name_with_dot_dot_is_only_metadata() {
    let site = site().await;
    let plan = connector(|y| y.replacen("  - goto: /bills\n", "  - goto: '/bills?evil=1'\n", 1));
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Fixed("424242".into())).await;
    if let Err(e) = &run.result {
        panic!("collect failed: {e}");
    }
    let out = run.outcome();
    let bills: Vec<_> = out
        .documents
        .iter()
        .filter(|d| d.id.as_deref().is_some_and(|id| id.starts_with("FAC-")))
        .collect();
    assert_eq!(bills.len(), 3);
    for d in &bills {
        let name = d.metadata["filename"].as_str().unwrap_or_default();
        assert!(
            !name.contains('/') && !name.contains('\\') && name != "..",
            "{name}"
        );
        assert!(d.file.starts_with(run.out_dir.path()), "{:?}", d.file);
    }
    let parent = run.out_dir.path().parent().unwrap();
    assert!(!parent.join("evil.pdf").exists());
    assert!(!run.out_dir.path().join("evil.pdf").exists());
}

/// Without the banner's click, the banner covers the frame: the step in the frame waits,
/// then says what covers it, instead of typing into nothing. (The control is the whole
/// collect above, which accepts the banner first.)
#[tokio::test]
async fn a_banner_over_the_frame_is_named_not_clicked_through() {
    let site = site().await;
    let plan = connector(|y| {
        y.replace(
            "  - click: { selector: 'consent-banner >> button.accept', optional: true, timeout: 5s }\n",
            "",
        )
    });
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Fixed("424242".into())).await;
    let err = run.error();
    assert_eq!(err.code.to_string(), "CONNECTOR_ERROR");
    assert!(err.message.contains("is covered by"), "{err}");
    assert!(err.message.contains("consent-banner"), "{err}");
}
