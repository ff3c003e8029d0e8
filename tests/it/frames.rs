//! Frames (issue 13, item 1): steps, pages, `extract` and `download` inside a frame,
//! cross-site frames (out of process) included, against `demo_sites::frames`.

use std::time::Duration;

use gleaner::browser::{FramePath, Target};
use gleaner::codes::State;

use crate::common::{self, Codes};

/// The login inside `iframe#auth` (or `frame`), its 2FA recognised by what the frame
/// shows, and the records and documents of the frame. `#go` and `#verify` are clicked.
fn login_in_frame(port: u16, outer: &str, frame: &str) -> gleaner::connector::Plan {
    common::connector(
        "frames",
        &format!(
            "domains: ['localhost:{port}']\npages:\n  code:    {{ frame: {frame}, has: '#code' }}\n  bad:     {{ frame: {frame}, has: '#error' }}\n  welcome: {{ frame: {frame}, has: '#welcome' }}\n"
        ),
        &format!(
            "  - goto: {outer}
  - frame: {frame}
    fill: {{ '#user': '{{{{fields.login}}}}', '#pass': '{{{{fields.password}}}}' }}
  - frame: {frame}
    click: '#go'
  - await_page: {{ one_of: [code, bad], timeout: 10s }}
  - when: {{ page: bad }}
    fail: {{ code: LOGIN_FAILED }}
  - frame: {frame}
    steps:
      - ask_code: {{ kind: sms, label: Code, as: code }}
      - fill: {{ '#code': '{{{{code}}}}' }}
      - click: '#verify'
  - await_page: {{ one_of: [welcome], timeout: 10s }}
  - frame: {frame}
    steps:
      - extract: {{ as: lines, rows: '#items li', fields: {{ id: {{ attr: data-id }}, label: {{ css: .label }} }} }}
      - download: {{ as: bills, links: '#items a' }}
"
        ),
    )
}

async fn collect_in_frame(outer: &str, frame: &str, password: &str) -> common::Run {
    let site = common::demo_site().await;
    let plan = login_in_frame(site.addr().port(), outer, frame);
    common::collect(
        &site,
        &plan,
        "alice",
        password,
        Codes::Fixed("424242".into()),
    )
    .await
}

fn assert_collected(run: &common::Run, frame_origin: &str) {
    if let Err(e) = &run.result {
        panic!("collect failed: {e}");
    }
    assert_eq!(run.final_state(), State::Done);
    let lines = &run.outcome().lists["lines"];
    let ids: Vec<&str> = lines.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, ["L1", "L2"], "{lines:?}");
    let docs = &run.outcome().documents;
    assert_eq!(docs.len(), 2, "{docs:?}");
    // Links are relative to the frame's document, not to the page.
    assert!(
        docs.iter()
            .all(|d| d.url.starts_with(frame_origin) && d.url.contains("/frames/idp/doc/")),
        "{docs:?}"
    );
}

/// The frame is served from `localhost`, the page from 127.0.0.1: another site, which
/// Chromium runs in another renderer process. The code prompt is recognised inside it.
#[tokio::test]
async fn a_login_and_its_2fa_inside_a_cross_site_frame() {
    let run = collect_in_frame("/frames/outer", "'iframe#auth'", "demo").await;
    assert_collected(&run, "http://localhost:");
}

#[tokio::test]
async fn a_login_inside_a_same_site_frame() {
    let run = collect_in_frame("/frames/outer?same=1", "'iframe#auth'", "demo").await;
    assert_collected(&run, "http://127.0.0.1:");
}

/// `iframe#auth` (cross-site) inside `iframe#wrap` (same-site).
#[tokio::test]
async fn nested_frames_are_a_list_outermost_first() {
    let run = collect_in_frame("/frames/nested", "['iframe#wrap', 'iframe#auth']", "demo").await;
    assert_collected(&run, "http://localhost:");
}

/// A page recognised by what the frame shows: the wrong password's message is there.
#[tokio::test]
async fn a_wrong_password_shown_in_the_frame_is_recognised() {
    let run = collect_in_frame("/frames/outer", "'iframe#auth'", "wrong").await;
    assert_eq!(run.error().code.to_string(), "LOGIN_FAILED");
}

#[tokio::test]
async fn a_frame_that_is_not_there_fails_the_step_naming_the_frame() {
    let site = common::demo_site().await;
    let plan = common::connector(
        "frames",
        "",
        "  - goto: /frames/outer?same=1\n  - frame: 'iframe#login'\n    click: { selector: '#go', timeout: 3s }\n",
    );
    let started = std::time::Instant::now();
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
    let err = run.error();
    assert_eq!(err.code.to_string(), "CONNECTOR_ERROR");
    assert!(
        err.message.contains("no frame matches 'iframe#login'"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

/// Without `frame`, the field is not found, and the error says where it is.
#[tokio::test]
async fn a_selector_that_only_matches_inside_a_frame_says_so() {
    let site = common::demo_site().await;
    let port = site.addr().port();
    let plan = common::connector(
        "frames",
        &format!("domains: ['localhost:{port}']"),
        "  - goto: /frames/outer\n  - click: { selector: '#go', timeout: 2s }\n",
    );
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
    let err = run.error();
    assert!(
        err.message.contains(
            "it matches inside the frame 'iframe#auth': add frame: 'iframe#auth' to the step"
        ),
        "{err}"
    );
}

/// A frame whose host is not in `domains` never loads (the proxy refuses it), and the step
/// that needs it says which host to add.
#[tokio::test]
async fn a_frame_outside_the_domains_is_blocked_and_the_error_names_its_host() {
    let site = common::demo_site().await;
    let plan = common::connector(
        "frames",
        "",
        "  - goto: /frames/outer\n  - frame: 'iframe#auth'\n    click: { selector: '#go', timeout: 5s }\n",
    );
    let before = site.hits("/frames/idp/login");
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
    let err = run.error();
    assert_eq!(err.code.to_string(), "CONNECTOR_ERROR");
    assert!(err.message.contains("localhost"), "{err}");
    assert!(err.message.contains("domains"), "{err}");
    assert_eq!(
        site.hits("/frames/idp/login"),
        before,
        "the frame reached the site"
    );
}

/// The control for the test above and for the cross-site tests: the frame really is out of
/// process (a target of its own, attached to the page's session), and the page's own
/// script cannot reach into it.
#[tokio::test]
async fn the_cross_site_frame_is_out_of_process_and_the_same_site_one_is_not() {
    let site = common::demo_site().await;
    let port = site.addr().port();
    let browser = common::launch_browser(|_| {}).await;
    let tab = browser.browser.new_tab().await.unwrap();
    let allow = gleaner::browser::HostAllowList::for_collect(
        &url::Url::parse(&site.base_url()).unwrap(),
        [format!("localhost:{port}")],
    );
    tab.allow_only(allow).await.unwrap();
    let limit = Duration::from_secs(10);
    let frame = FramePath::new(vec!["iframe#auth".into()]);
    for (outer, cross_site) in [("frames/outer", true), ("frames/outer?same=1", false)] {
        tab.enter_frame(FramePath::default());
        tab.goto(&format!("{}{outer}", site.base_url()), limit)
            .await
            .unwrap();
        let reachable = tab
            .eval("document.querySelector('iframe#auth').contentDocument !== null")
            .await
            .unwrap();
        assert_eq!(reachable, serde_json::json!(!cross_site), "{outer}");
        tab.enter_frame(frame.clone());
        let probe = tab.probe(&["#user"], None, limit, None).await.unwrap();
        assert!(probe.selectors[0].visible, "{outer}: {probe:?}");
        assert_eq!(tab.cross_site_frames() > 0, cross_site, "{outer}");
    }
    drop(tab);
    browser.close().await;
}

/// A real click on a button of a cross-site frame right after the frame's content moved it
/// lands, every time: 40 rounds of a click in the field then one on `#verify`, each
/// round's click moving the form, and the frame counts 40 clicks. Bringing the field, then
/// the button, into view from inside the frame scrolls the page asynchronously (another
/// process); a click point read before that scroll landed put the click beside the button
/// about one time in twenty here (the reading of before this fix lost 1 or 2 of 40 in
/// each of 3 runs).
#[tokio::test]
async fn every_click_on_a_cross_site_frame_button_after_its_content_changed_lands() {
    let site = common::demo_site().await;
    let port = site.addr().port();
    let browser = common::launch_browser(|_| {}).await;
    let tab = browser.browser.new_tab().await.unwrap();
    let allow = gleaner::browser::HostAllowList::for_collect(
        &url::Url::parse(&site.base_url()).unwrap(),
        [format!("localhost:{port}")],
    );
    tab.allow_only(allow).await.unwrap();
    let limit = Duration::from_secs(10);
    tab.goto(
        &format!("{}frames/outer?page=counter", site.base_url()),
        limit,
    )
    .await
    .unwrap();
    tab.enter_frame(FramePath::new(vec!["iframe#auth".into()]));
    assert!(
        tab.probe(&["#verify"], None, limit, None)
            .await
            .unwrap()
            .selectors[0]
            .visible
    );
    assert!(
        tab.cross_site_frames() > 0,
        "the frame is not out of process"
    );
    const ROUNDS: u32 = 40;
    let mut lost = Vec::new();
    let mut reads = Vec::new();
    for round in 1..=ROUNDS {
        tab.focus_for_typing("#code").await.unwrap().unwrap();
        tab.insert_text(&round.to_string()).await.unwrap();
        let read = std::time::Instant::now();
        let target = tab.target("#verify").await.unwrap();
        reads.push(read.elapsed());
        let Target::Ready { x, y, .. } = target else {
            panic!("round {round}: {target:?}");
        };
        tab.click_at(x, y).await.unwrap();
        // The frame counted it: `#count` says how many clicks it received so far.
        let counted = [format!("#count[data-n='{}']", round - lost.len() as u32)];
        let now = tab
            .probe(&counted, None, Duration::ZERO, None)
            .await
            .unwrap();
        let landed = now.selectors[0].visible
            || tab
                .probe(&counted, Some(&now), Duration::from_secs(2), None)
                .await
                .unwrap()
                .selectors[0]
                .visible;
        if !landed {
            lost.push(round);
        }
    }
    let received = tab.text_of("#count").await.unwrap().unwrap_or_default();
    reads.sort();
    eprintln!(
        "clicks received: {received} of {ROUNDS}, lost in rounds {lost:?}; reading the point: median {:?}, max {:?}",
        reads[reads.len() / 2],
        reads[reads.len() - 1]
    );
    assert!(lost.is_empty(), "clicks lost in rounds {lost:?}");
    assert_eq!(received, ROUNDS.to_string());
    drop(tab);
    browser.close().await;
}
