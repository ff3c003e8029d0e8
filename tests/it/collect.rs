//! Whole collects in real Chromium against the demo bank.

use gleaner::codes::{ErrorKind, State};
use gleaner::engine::Event;
use serde_json::{Value, json};

use crate::common::{self, Codes, FIXED_CODE};

fn iso(date_fr: &str) -> String {
    let p: Vec<&str> = date_fr.split('/').collect();
    format!("{}-{}-{}", p[2], p[1], p[0])
}

fn cents(v: &Value) -> f64 {
    v.as_i64().unwrap() as f64 / 100.0
}

/// Every record, exactly: amounts as numbers, dates in ISO 8601, against the site's data.
fn assert_collected_everything(run: &common::Run, base_url: &str) {
    let data = common::data();
    let out = run.outcome();

    let accounts = &out.lists["accounts"];
    let expected: Vec<Value> = data["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            json!({
                "id": a["id"], "label": a["label"], "balance": cents(&a["balance_cents"]),
                "url": format!("{base_url}accounts/{}/operations", a["id"].as_str().unwrap()),
            })
        })
        .collect();
    assert_eq!(accounts, &expected);

    let ops = &out.lists["operations"];
    let expected: Vec<Value> = data["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| {
            a["operations"].as_array().unwrap().iter().map(move |o| {
                json!({
                    "account": a["id"], "date": iso(o["date"].as_str().unwrap()),
                    "label": o["label"], "amount": cents(&o["amount_cents"]),
                })
            })
        })
        .collect();
    assert_eq!(
        ops.len(),
        15,
        "10 operations over 3 pages for CHK-001, 2 and 3 for the others"
    );
    assert_eq!(ops, &expected);

    let messages = &out.lists["messages"];
    let expected: Vec<Value> = data["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({ "id": m["id"], "date": iso(m["date"].as_str().unwrap()), "subject": m["subject"] }))
        .collect();
    assert_eq!(messages.len(), 15, "three 'load more' batches of 5");
    assert_eq!(messages, &expected);

    // Documents: the bytes are those of the site's PDFs, fetched with the session cookie.
    let invoices = data["invoices"].as_array().unwrap();
    assert_eq!(out.documents.len(), invoices.len());
    for (doc, inv) in out.documents.iter().zip(invoices) {
        let id = inv["id"].as_str().unwrap();
        let original =
            std::fs::read(common::root().join(format!("fixtures/demo-bank/invoices/{id}.pdf")))
                .unwrap();
        assert_eq!(doc.id.as_deref(), Some(id));
        assert_eq!(doc.sha256, gleaner::engine::document::sha256_hex(&original));
        assert_eq!(doc.bytes, original.len() as u64);
        assert_eq!(
            doc.date.as_deref(),
            Some(iso(inv["date"].as_str().unwrap()).as_str())
        );
        assert_eq!(doc.amount, Some(cents(&inv["amount_cents"])));
        assert_eq!(doc.currency.as_deref(), Some("EUR"));
        assert_eq!(doc.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(
            doc.file,
            run.out_dir.path().join(format!("{}.pdf", doc.sha256))
        );
        assert_eq!(std::fs::read(&doc.file).unwrap(), original);
    }
}

#[tokio::test]
async fn full_collect_with_2fa_by_url() {
    let site = common::demo_site().await;
    let run = common::collect(
        &site,
        &common::demo_connector(),
        "alice",
        "demo",
        Codes::FromSite("alice".into()),
    )
    .await;
    assert_collected_everything(&run, &site.base_url());
    assert_eq!(run.states(), vec![1, 2, 3, 4, 5, 6, 7]);
    let asked = run.events.iter().find_map(|e| match e {
        Event::CodeRequested { kind, label, .. } => {
            Some((kind.as_str(), serde_json::to_value(label).unwrap()))
        }
        _ => None,
    });
    let label = serde_json::json!({"en": "Code received by SMS", "fr": "Code reçu par SMS"});
    assert_eq!(asked, Some(("sms", label)));
    assert!(site.hits("/otp") >= 1, "alice's 2FA is the /otp page");
}

#[tokio::test]
async fn full_collect_with_2fa_by_dom_modal() {
    let site = common::demo_site().await;
    let run = common::collect(
        &site,
        &common::demo_connector(),
        "bob",
        "demo",
        Codes::FromSite("bob".into()),
    )
    .await;
    assert_collected_everything(&run, &site.base_url());
    assert_eq!(run.states(), vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(
        site.hits("/otp"),
        0,
        "bob's 2FA is a modal on /login, never the /otp page"
    );
}

#[tokio::test]
async fn wrong_password_is_login_failed() {
    let site = common::demo_site().await;
    let run = common::collect(
        &site,
        &common::demo_connector(),
        "alice",
        "not-the-password",
        Codes::Nobody,
    )
    .await;
    let e = run.error();
    assert_eq!(e.code.to_string(), "LOGIN_FAILED");
    assert_eq!(e.message, "Identifiant ou mot de passe incorrect.");
    assert_eq!(run.final_state(), State::Error);
    assert_eq!(run.final_state().index(), -1);
    let step = e.step.as_ref().unwrap();
    assert_eq!(
        (step.section.as_str(), step.number.as_str()),
        ("login", "6")
    );
    assert!(
        !e.to_string().contains("not-the-password"),
        "no secret in the error: {e}"
    );
}

#[tokio::test]
async fn wrong_2fa_code_is_an_error() {
    let site = common::demo_site().await;
    assert_ne!(FIXED_CODE, "111111");
    let run = common::collect(
        &site,
        &common::demo_connector(),
        "alice",
        "demo",
        Codes::Fixed("111111".into()),
    )
    .await;
    let e = run.error();
    assert_eq!(e.code.to_string(), "LOGIN_FAILED.WRONG_TWOFA_CODE");
    assert_eq!(e.message, "Code incorrect.");
    assert_eq!(run.final_state(), State::Error);
    assert!(
        !e.to_string().contains("111111"),
        "the code typed is a secret: {e}"
    );
}

#[tokio::test]
async fn missing_selector_names_the_step_and_the_selector() {
    let site = common::demo_site().await;
    let connector = common::demo_connector_with("click: '#submit'", "click: '#submit-button'");
    let run = common::collect(&site, &connector, "carol", "demo", Codes::Nobody).await;
    let e = run.error();
    assert_eq!(e.kind(), ErrorKind::ConnectorError);
    let text = e.to_string();
    assert!(
        text.starts_with(
            "CONNECTOR_ERROR at login step 4 (click '#submit-button', line 26) on http://127.0.0.1:"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("/login: no element matches \"#submit-button\" after 5s"),
        "{text}"
    );
}

#[tokio::test]
async fn background_collect_meeting_2fa_ends_at_once_in_disconnected() {
    let site = common::demo_site().await;
    let started = std::time::Instant::now();
    let run = common::collect(
        &site,
        &common::demo_connector(),
        "alice",
        "demo",
        Codes::Nobody,
    )
    .await;
    assert_eq!(
        run.error().code.to_string(),
        "USER_ACTION_NEEDED.TWOFA_EXPIRED"
    );
    assert_eq!(run.final_state().index(), -2);
    assert!(
        !run.events
            .iter()
            .any(|e| matches!(e, Event::CodeRequested { .. })),
        "nobody is asked"
    );
    // Not a timing assertion on the work itself: only that it did not wait for a code (30s here).
    assert!(started.elapsed() < std::time::Duration::from_secs(25));
}

#[tokio::test]
async fn server_error_is_vendor_down() {
    let site = common::demo_site().await;
    let connector = common::demo_connector_with("- goto: /login", "- goto: /down");
    let run = common::collect(&site, &connector, "carol", "demo", Codes::Nobody).await;
    let e = run.error();
    assert_eq!(e.code.to_string(), "VENDOR_DOWN");
    assert!(e.message.contains("HTTP 503"), "{e}");
    assert!(e.url.as_deref().unwrap().ends_with("/down"));
}

#[tokio::test]
async fn a_cookie_banner_covering_the_form_is_reported() {
    let site = common::demo_connector_with(
        "  - click: { selector: '#accept-cookies', optional: true }\n",
        "",
    );
    let demo = common::demo_site().await;
    let run = common::collect(&demo, &site, "carol", "demo", Codes::Nobody).await;
    let text = run.error().to_string();
    assert!(
        text.contains("\"#submit\" is covered by p.muted (in div#cookie-banner), which would receive the click after 5s"),
        "{text}"
    );
}

/// The steps the demo connector does not use: press, wait (url, selector, gone), when
/// present/absent, a plain `when` action, and the `eval` escape hatch.
#[tokio::test]
async fn keyboard_submit_waits_and_conditions() {
    let site = common::demo_site().await;
    let yaml = r#"
id: keyboard
name: Keyboard login
base_url: https://demo-bank.example/
fields:
  login:    { label: Login }
  password: { label: Password, type: password }
pages:
  accounts: { url: '/accounts$' }
login:
  - goto: /login
  - wait: { selector: '#accept-cookies' }
  - click: '#accept-cookies'
  - wait: { gone: '#cookie-banner' }
  - fill: { '#login': '{{fields.login}}', '#password': '{{fields.password}}' }
  - press: { key: Enter, selector: '#password' }
  - wait: { url: '/accounts$', timeout: 10s }
steps:
  - when: { present: 'table.accounts' }
    eval: { js: 'document.querySelectorAll("table.accounts tbody tr").length', as: rows }
  - when: { absent: 'table.accounts' }
    fail: { code: CONNECTOR_ERROR, message: the accounts table should be there }
  - extract:
      as: summary
      fields:
        title: { css: h1 }
        rows:  { value: '{{rows}}', filters: [decimal] }
"#;
    let connector = gleaner::connector::parse(yaml, "keyboard.yaml").expect("valid");
    let run = common::collect(&site, &connector, "carol", "demo", Codes::Nobody).await;
    let summary = &run.outcome().lists["summary"];
    assert_eq!(
        summary,
        &vec![json!({ "title": "Mes comptes", "rows": 3.0 })]
    );
    assert_eq!(run.states(), vec![1, 2, 5, 7]);
}

#[tokio::test]
async fn without_a_success_page_a_quiet_login_counts_as_done_after_the_auto_success_delay() {
    let site = common::demo_site().await;
    // The login no longer waits for the accounts page: only for 2FA or a failure.
    let wait = "one_of: [accounts, otp, bad_login], timeout: 20s";
    let quiet = common::demo_connector_edited(&[
        ("success: accounts\n", "auto_success: 1s\n"),
        (wait, "one_of: [otp, bad_login], timeout: 20s"),
    ]);
    let run = common::collect(&site, &quiet, "carol", "demo", Codes::Nobody).await;
    assert_eq!(
        run.final_state(),
        State::Done,
        "{:?}",
        run.result.as_ref().err()
    );
    assert_eq!(run.outcome().lists["accounts"].len(), 3);

    // Turned off, the same login waits for a page that never comes.
    let strict = common::demo_connector_edited(&[
        ("success: accounts\n", "auto_success: false\n"),
        (wait, "one_of: [otp, bad_login], timeout: 2s"),
    ]);
    let run = common::collect(&site, &strict, "carol", "demo", Codes::Nobody).await;
    assert_eq!(run.error().kind(), ErrorKind::Timeout);

    // A failure page still wins over auto-success.
    let run = common::collect(&site, &quiet, "carol", "wrong", Codes::Nobody).await;
    assert_eq!(run.error().kind(), ErrorKind::LoginFailed);
}
