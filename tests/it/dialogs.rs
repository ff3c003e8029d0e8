//! JavaScript dialogs (issue 13): `alert`, `confirm`, `prompt` and `beforeunload` never hang
//! a collect. They are dismissed by default; `dialogs: accept` answers OK.

use std::time::Duration;

use gleaner::codes::State;

use crate::common::{self, Codes};

fn connector(top: &str, steps: &str) -> gleaner::connector::Plan {
    common::connector("dialogs", top, steps)
}

/// Runs `plan` and checks that it ended in `done` (7).
async fn collect_done(plan: &gleaner::connector::Plan) {
    let site = common::demo_site().await;
    let started = std::time::Instant::now();
    let run = common::collect(&site, plan, "alice", "demo", Codes::Nobody).await;
    if let Err(e) = &run.result {
        panic!("collect failed after {:?}: {e}", started.elapsed());
    }
    assert_eq!(run.final_state(), State::Done);
    eprintln!("collect ended in {:?}", started.elapsed());
}

/// The alert blocks the page's parsing: `#after` only exists once it was answered.
#[tokio::test]
async fn an_alert_while_loading_does_not_hang_the_collect() {
    let plan = connector(
        "",
        "  - goto: /dialogs/alert\n  - wait: { selector: '#after', timeout: 5s }\n",
    );
    collect_done(&plan).await;
}

#[tokio::test]
async fn a_confirm_is_dismissed_by_default() {
    let plan = connector(
        "",
        "  - goto: /dialogs/confirm\n  - click: '#ask'\n  - wait: { selector: '#answer[data-v=no]', timeout: 5s }\n",
    );
    collect_done(&plan).await;
}

#[tokio::test]
async fn a_confirm_is_accepted_when_the_connector_says_so() {
    let plan = connector(
        "dialogs: accept",
        "  - goto: /dialogs/confirm\n  - click: '#ask'\n  - wait: { selector: '#answer[data-v=yes]', timeout: 5s }\n",
    );
    collect_done(&plan).await;
}

/// Dismissed, `prompt` returns null; accepted, an empty string (never the site's default).
#[tokio::test]
async fn a_prompt_is_dismissed_or_answered_empty() {
    let dismissed = connector(
        "",
        "  - goto: /dialogs/prompt\n  - click: '#ask'\n  - wait: { selector: '#answer[data-v=null]', timeout: 5s }\n",
    );
    collect_done(&dismissed).await;
    let accepted = connector(
        "dialogs: accept",
        "  - goto: /dialogs/prompt\n  - click: '#ask'\n  - wait: { selector: '#answer[data-v=empty]', timeout: 5s }\n",
    );
    collect_done(&accepted).await;
}

/// A page that asks before it is left (after a click, so that Chromium lets it ask): the
/// connector's `goto` and a click on a link both leave it, with the default `dismiss`.
#[tokio::test]
async fn a_beforeunload_does_not_hold_the_connectors_navigation() {
    let by_goto = connector(
        "",
        "  - goto: /dialogs/leave\n  - click: '#title'\n  - goto: /dialogs/left\n  - wait: { selector: '#left', timeout: 5s }\n",
    );
    collect_done(&by_goto).await;
    let by_link = connector(
        "",
        "  - goto: /dialogs/leave\n  - click: '#away'\n  - wait: { selector: '#left', timeout: 5s }\n",
    );
    collect_done(&by_link).await;
}

/// The tab counts the dialogs it answered: one for the alert page, none for a page without
/// dialogs (the control: the count is the handler's, not any page's), and a second for the
/// `beforeunload` of a page left after a click (so the `beforeunload` tests do ask).
#[tokio::test]
async fn the_tab_counts_the_dialogs_it_answered() {
    let site = common::demo_site().await;
    let browser = common::launch_browser(|_| {}).await;
    let tab = browser.browser.new_tab().await.unwrap();
    let base = site.base_url();
    let limit = Duration::from_secs(10);
    tab.goto(&format!("{base}dialogs/left"), limit)
        .await
        .unwrap();
    assert_eq!(tab.dialogs_answered(), 0);
    tab.goto(&format!("{base}dialogs/alert"), limit)
        .await
        .unwrap();
    assert_eq!(tab.dialogs_answered(), 1);
    // Chromium asks before leaving only a page the person interacted with.
    tab.goto(&format!("{base}dialogs/leave"), limit)
        .await
        .unwrap();
    tab.click_at(20.0, 30.0).await.unwrap();
    tab.goto(&format!("{base}dialogs/left"), limit)
        .await
        .unwrap();
    assert_eq!(
        tab.dialogs_answered(),
        2,
        "the beforeunload was asked and answered"
    );
    drop(tab);
    browser.close().await;
}

/// `dialogs` takes `dismiss` or `accept`; anything else is reported at its position.
#[test]
fn an_unknown_dialogs_value_is_reported_with_its_position() {
    let yaml = "id: d\nname: D\nbase_url: https://demo-bank.example/\ndialogs: maybe\n";
    let err = gleaner::connector::parse(yaml, "d.yaml")
        .expect_err("maybe is not an answer")
        .to_string();
    assert!(err.starts_with("d.yaml:4:"), "{err}");
    assert!(err.contains("dismiss") && err.contains("accept"), "{err}");
}
