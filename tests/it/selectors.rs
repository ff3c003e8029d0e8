//! Selectors (issue 13): CSS that reaches into open shadow roots, `>>` chains, `text=` and
//! `role=`, lists of alternatives (the run says which one matched), and the error of a
//! selector that matches nothing but would inside a frame or across a shadow boundary.
//! The fixture pages are `demo_sites::selector_pages` (`/selectors/…`); every action there
//! writes what happened into `#result[data-v]`, which the connector waits for.

use gleaner::codes::State;
use gleaner::engine::Event;

use crate::common::{self, Codes, Run};

async fn run(steps: &str) -> Run {
    let plan = common::connector("selectors", "", steps);
    let site = common::demo_site().await;
    common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await
}

/// Runs `steps` and checks that the collect ended in `done` (7).
async fn done(steps: &str) -> Run {
    let run = run(steps).await;
    if let Err(e) = &run.result {
        panic!("collect failed: {e}");
    }
    assert_eq!(run.final_state(), State::Done);
    run
}

/// Runs `steps` and returns the message of the error it ended with.
async fn failure(steps: &str) -> String {
    let run = run(steps).await;
    let e = run.error();
    assert_eq!(e.code.to_string(), "CONNECTOR_ERROR", "{e}");
    e.message.clone()
}

/// `button.accept` exists only in `<consent-banner>`'s open shadow root:
/// `document.querySelectorAll` alone does not see it.
#[tokio::test]
async fn plain_css_clicks_a_button_inside_an_open_shadow_root() {
    done("  - goto: /selectors/shadow\n  - click: { selector: 'button.accept', timeout: 3s }\n  - wait: { selector: '#result[data-v=accepted]', timeout: 3s }\n").await;
}

/// `#banner button` cannot match (the button is in `#banner`'s shadow root, which a CSS
/// combinator does not cross); `#banner >> button` does, and the error of the first says so.
#[tokio::test]
async fn a_chain_crosses_a_shadow_boundary_and_the_combinator_error_suggests_it() {
    done("  - goto: /selectors/shadow\n  - click: { selector: '#banner >> button', timeout: 3s }\n  - wait: { selector: '#result[data-v=ok]', timeout: 3s }\n").await;
    let msg = failure(
        "  - goto: /selectors/shadow\n  - click: { selector: '#banner button', timeout: 1s }\n",
    )
    .await;
    assert!(
        msg.starts_with("no element matches \"#banner button\" after 1s"),
        "{msg}"
    );
    assert!(msg.contains("write '#banner >> button'"), "{msg}");
}

/// The fields are found by their labels, the button by its exact text (the paragraph
/// before it mentions « Se connecter » too: a substring `text=` would click the paragraph).
#[tokio::test]
async fn role_and_text_selectors_fill_and_click() {
    done(
        "  - goto: /selectors/form\n  - fill:\n      'role=textbox[name=\"identifiant\"]': alice\n      'role=textbox[name=\"Mot de passe\" s]': secret\n  - click: { selector: 'text=\"Se connecter\"', timeout: 3s }\n  - wait: { selector: '#result[data-v=\"alice:secret\"]', timeout: 3s }\n  - click: { selector: 'text=télécharger la', timeout: 3s }\n  - wait: { selector: '#result[data-v=downloaded]', timeout: 3s }\n",
    )
    .await;
}

/// The control of the test above: the substring finds the paragraph first, whose click
/// submits nothing.
#[tokio::test]
async fn a_substring_text_selector_takes_the_first_smallest_match() {
    let msg = failure("  - goto: /selectors/form\n  - click: { selector: 'text=Se connecter', timeout: 3s }\n  - wait: { selector: '#result[data-v]', timeout: 1s }\n").await;
    assert!(msg.contains("\"#result[data-v]\""), "{msg}");
}

/// The first alternative matches nothing; the second does, and the run says so.
#[tokio::test]
async fn the_run_reports_which_alternative_matched() {
    let run = done("  - goto: /selectors/shadow\n  - click: ['#nope', 'role=button[name=\"tout accepter\"]', 'button.accept']\n  - wait: { selector: '#result[data-v=accepted]', timeout: 3s }\n").await;
    let matched: Vec<(u32, String, String)> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::SelectorMatched {
                step,
                alternative,
                selector,
            } => Some((
                *alternative,
                selector.clone(),
                step.as_ref().map(|s| s.number.clone()).unwrap_or_default(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        matched,
        [(
            2,
            "role=button[name=\"tout accepter\"]".to_string(),
            "2".to_string()
        )]
    );
}

/// `#accept` is in a same-origin frame: the step does not see it, and the error names
/// the frame.
#[tokio::test]
async fn a_selector_that_only_matches_inside_a_frame_names_the_frame() {
    let msg = failure("  - goto: /selectors/frame\n  - wait: { selector: 'iframe#auth', timeout: 3s }\n  - click: { selector: '#accept', timeout: 2s }\n").await;
    assert!(
        msg.ends_with("no element matches \"#accept\" after 2s; it matches 1 element inside the iframe 'iframe#auth': add frame: 'iframe#auth' to the step"),
        "{msg}"
    );
}

/// A closed shadow root is out of reach of the page's JavaScript, hence of gleaner's
/// selectors: its button is not found, and no hint is made up.
#[tokio::test]
async fn a_button_inside_a_closed_shadow_root_is_not_found() {
    let msg = failure(
        "  - goto: /selectors/shadow\n  - click: { selector: '#closed-btn', timeout: 1s }\n",
    )
    .await;
    assert_eq!(msg, "no element matches \"#closed-btn\" after 1s");
}

/// The invoices are rows of a table inside `<invoice-list>`'s open shadow root: the HTML
/// `extract` reads keeps open shadow roots (as declarative shadow roots), so plain CSS
/// finds them.
#[tokio::test]
async fn extract_reads_rows_inside_an_open_shadow_root() {
    let run = done("  - goto: /selectors/shadow\n  - wait: { selector: 'tr.inv', timeout: 3s }\n  - extract:\n      as: invoices\n      rows: 'tr.inv'\n      fields:\n        id: { css: 'td:first-child' }\n        amount: { css: 'td:nth-child(2)' }\n").await;
    let invoices = &run.outcome().lists["invoices"];
    let ids: Vec<&str> = invoices
        .iter()
        .map(|r| r["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["F-1", "F-2"]);
    assert_eq!(invoices[1]["amount"], "30,50 €");
}
