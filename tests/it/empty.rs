//! No silent empty results (issue 13, item 7): a list step whose rows match nothing fails
//! the collect, naming the step and the selector, unless the step says the list may be
//! empty.

use crate::common::{self, Codes};

fn connector(steps: &str) -> gleaner::connector::Plan {
    common::connector("empty", "", &format!("  - goto: /hostile/blank\n{steps}"))
}

async fn run(steps: &str) -> common::Run {
    let site = common::demo_site().await;
    common::collect(&site, &connector(steps), "alice", "demo", Codes::Nobody).await
}

#[tokio::test]
async fn rows_that_match_nothing_fail_the_collect_naming_the_step_and_the_selector() {
    let run =
        run("  - extract: { as: accounts, rows: 'tr.acount', fields: { iban: { css: 'td' } } }\n")
            .await;
    let err = run.error();
    assert_eq!(err.code.to_string(), "CONNECTOR_ERROR");
    assert!(
        err.message.contains(r#"rows "tr.acount" matched nothing"#),
        "{err}"
    );
    assert!(err.message.contains("allow_empty: true"), "{err}");
    assert_eq!(
        err.step.as_ref().map(|s| s.number.as_str()),
        Some("2"),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_control_rows_that_match_are_records() {
    let run =
        run("  - extract: { as: accounts, rows: 'p#iban', fields: { iban: { text: true } } }\n")
            .await;
    let lists = &run.outcome().lists;
    assert_eq!(lists["accounts"].len(), 1, "{lists:?}");
}

#[tokio::test]
async fn a_list_that_may_be_empty_says_so_and_the_collect_ends_done() {
    let run = run(
        "  - extract: { as: messages, rows: 'li.message', allow_empty: true, fields: { text: { text: true } } }\n",
    )
    .await;
    assert_eq!(run.final_state(), gleaner::codes::State::Done);
    let lists = &run.outcome().lists;
    assert!(
        lists.get("messages").is_none_or(|l| l.is_empty()),
        "{lists:?}"
    );
}

#[tokio::test]
async fn document_links_that_match_nothing_fail_the_collect() {
    let run = run("  - download: { as: invoices, links: 'a.invoce' }\n").await;
    let err = run.error();
    assert_eq!(err.code.to_string(), "CONNECTOR_ERROR");
    assert!(
        err.message
            .contains(r#"document rows "a.invoce" matched nothing"#),
        "{err}"
    );
}

#[test]
fn allow_empty_without_rows_is_refused_by_check() {
    let yaml = r#"
id: empty
name: Empty
base_url: https://demo-bank.example/
steps:
  - extract: { as: page, allow_empty: true, fields: { title: { css: 'h1' } } }
"#;
    let err = gleaner::connector::parse(yaml, "empty.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("empty.yaml:6:"), "{err}");
    assert!(
        err.contains("`allow_empty` goes with `rows` or `table`"),
        "{err}"
    );
}

/// A list named `_…` drives the connector (templates and `for_each` see it) but stays out
/// of the output: no record event, no list in the outcome.
#[tokio::test]
async fn a_list_named_with_an_underscore_stays_out_of_the_output() {
    let run = run(
        "  - extract: { as: _grant, rows: 'p#iban', fields: { iban: { text: true } } }\n  - for_each: { in: _grant, as: grant }\n    steps:\n      - extract: { as: accounts, rows: 'h1#title', fields: { name: { text: true }, iban: { value: '{{grant.iban}}' } } }\n",
    )
    .await;
    let lists = &run.outcome().lists;
    assert!(!lists.contains_key("_grant"), "{lists:?}");
    assert_eq!(lists["accounts"].len(), 1, "{lists:?}");
    assert_eq!(
        lists["accounts"][0]["iban"], "FR76 3000 6000 0112 3456 7890 189",
        "the hidden list drove the for_each"
    );
    let records: Vec<&str> = run
        .events
        .iter()
        .filter_map(|e| match e {
            gleaner::engine::Event::Record { list, .. } => Some(list.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(records, vec!["accounts"]);
}

/// `gleaner run` on a collect that fails after a first list: stdout still has the JSON of
/// what was gathered, marked partial, with the error; the exit code says it failed.
#[tokio::test]
async fn a_failed_run_prints_what_it_gathered_marked_partial() {
    let site = common::demo_site().await;
    let _slot = common::browser_slot().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("partial.yaml");
    std::fs::write(
        &file,
        r#"id: partial
name: Partial
base_url: https://demo-bank.example/
fields:
  login:    { label: Login }
  password: { label: Password, secret: true }
steps:
  - goto: /hostile/blank
  - extract: { as: accounts, rows: 'p#iban', fields: { iban: { text: true } } }
  - extract: { as: operations, rows: 'tr.operaton', fields: { label: { text: true } } }
"#,
    )
    .unwrap();
    let out = tokio::process::Command::new(common::bin())
        .arg("run")
        .arg(&file)
        .args(["--background", "--base-url", &site.base_url()])
        .arg("--out")
        .arg(dir.path().join("out"))
        .args(["--field", "login=alice", "--field", "password=demo"])
        .env("TMPDIR", dir.path())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(printed["partial"], true);
    assert_eq!(printed["error"]["code"], "CONNECTOR_ERROR");
    assert_eq!(
        printed["lists"]["accounts"][0]["iban"],
        "FR76 3000 6000 0112 3456 7890 189"
    );
    assert!(printed["lists"].get("operations").is_none(), "{printed}");
}

/// The service keeps, with a failed collect, the records gathered before it failed.
#[tokio::test]
async fn the_service_keeps_the_records_of_a_failed_collect() {
    use crate::server::{TestService, config};
    let _slot = common::browser_slot().await;
    let site = common::demo_site().await;
    let connectors = tempfile::tempdir().unwrap();
    std::fs::write(
        connectors.path().join("partial.yaml"),
        r#"id: partial
name: Partial
base_url: https://demo-bank.example/
fields:
  login:    { label: Login }
  password: { label: Password, secret: true }
steps:
  - goto: /hostile/blank
  - extract: { as: accounts, rows: 'p#iban', fields: { iban: { text: true } } }
  - extract: { as: operations, rows: 'tr.operaton', fields: { label: { text: true } } }
"#,
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let profiles = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path(), profiles.path(), &site);
    cfg.connectors_dir = connectors.path().to_path_buf();
    cfg.base_urls
        .insert("partial".into(), site.base_url().parse().unwrap());
    let svc = TestService::start_with(site, data, profiles, cfg).await;
    let cred = svc.create_credential("partial", "alice", "demo").await;
    let (_, collect_id, ws) = svc.collect(&cred, true).await;
    let (end, error) = svc.viewer(&ws).await.final_state().await;
    assert_eq!(end, -1);
    assert_eq!(error.expect("an error").code, "CONNECTOR_ERROR");
    let (_, collect) = svc
        .call(
            reqwest::Method::GET,
            &format!("/collect/{collect_id}"),
            None,
        )
        .await;
    assert_eq!(
        collect["records"]["accounts"][0]["iban"], "FR76 3000 6000 0112 3456 7890 189",
        "{collect}"
    );
    svc.stop().await;
}
