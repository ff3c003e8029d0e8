//! Crashes and abusive pages (issue 12): each case ends the collect in -1 with the code that
//! says why, and leaves no process and no directory behind (`common::collect` checks that).

use crate::common::{self, Codes, Kill, Victim};

fn connector(steps: &str) -> gleaner::connector::Plan {
    common::connector("chaos", "", steps)
}

/// A page whose script never yields: the probe of its renderer gets no answer, and the
/// collect ends as `BROWSER_CRASHED.UNRESPONSIVE` — not `TIMEOUT` at the wait's deadline,
/// and not a `CONNECTOR_ERROR` blaming the selector.
#[tokio::test]
async fn a_script_that_never_yields_ends_in_unresponsive() {
    let site = common::demo_site().await;
    let plan =
        connector("  - goto: /hostile/spin\n  - wait: { selector: '#never', timeout: 2m }\n");
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
    assert_eq!(
        run.error().code.to_string(),
        "BROWSER_CRASHED.UNRESPONSIVE",
        "{:?}",
        run.error()
    );
    assert_eq!(run.final_state(), gleaner::codes::State::Error);
}

/// A connector whose login waits on its page, so that a kill lands while the login runs.
fn waiting_in_login() -> gleaner::connector::Plan {
    common::connector(
        "chaos-login",
        "login:\n  - goto: /hostile/blank\n  - wait: { selector: '#never', timeout: 2m }",
        "  - goto: /hostile/blank",
    )
}

fn waiting_in_steps() -> gleaner::connector::Plan {
    connector("  - goto: /hostile/blank\n  - wait: { selector: '#never', timeout: 2m }\n")
}

/// A 5 GiB document, streamed for seconds: long enough for a kill to land mid-download.
fn downloading() -> gleaner::connector::Plan {
    connector(
        "  - goto: '/big-documents?bytes=5368709120'\n  - download: { links: 'tr.doc a', as: documents }\n",
    )
}

async fn killed(
    plan: &gleaner::connector::Plan,
    victim: Victim,
    step: &'static str,
) -> common::Run {
    let site = common::demo_site().await;
    common::collect_with(
        &site,
        plan,
        "alice",
        "demo",
        Codes::Nobody,
        |options| options.engine.max_document_size = 6 << 30,
        Some(Kill { victim, step }),
    )
    .await
}

fn assert_crashed(run: &common::Run, code: &str) {
    assert_eq!(run.error().code.to_string(), code, "{:?}", run.error());
    assert_eq!(run.final_state(), gleaner::codes::State::Error);
    // A figure for the notes (`--nocapture`), not an assertion: speed is for benchmarks.
    if let Some(after) = run.ended_after_kill {
        eprintln!("{code}: the collect ended {after:.2?} after the kill");
    }
}

#[tokio::test]
async fn the_renderer_killed_during_the_login_ends_in_renderer() {
    let run = killed(&waiting_in_login(), Victim::Renderer, "wait").await;
    assert_crashed(&run, "BROWSER_CRASHED.RENDERER");
}

#[tokio::test]
async fn the_browser_killed_during_the_login_ends_in_browser() {
    let run = killed(&waiting_in_login(), Victim::Browser, "wait").await;
    assert_crashed(&run, "BROWSER_CRASHED.BROWSER");
}

#[tokio::test]
async fn the_renderer_killed_during_extraction_ends_in_renderer() {
    let run = killed(&waiting_in_steps(), Victim::Renderer, "wait").await;
    assert_crashed(&run, "BROWSER_CRASHED.RENDERER");
}

#[tokio::test]
async fn the_browser_killed_during_extraction_ends_in_browser() {
    let run = killed(&waiting_in_steps(), Victim::Browser, "wait").await;
    assert_crashed(&run, "BROWSER_CRASHED.BROWSER");
}

/// The download itself is gleaner's, but the collect it serves is over: it stops, and its
/// partial file goes.
#[tokio::test]
async fn the_renderer_killed_during_a_download_ends_in_renderer_and_keeps_nothing() {
    let run = killed(&downloading(), Victim::Renderer, "download").await;
    assert_crashed(&run, "BROWSER_CRASHED.RENDERER");
    assert_no_file(&run);
}

#[tokio::test]
async fn the_browser_killed_during_a_download_ends_in_browser_and_keeps_nothing() {
    let run = killed(&downloading(), Victim::Browser, "download").await;
    assert_crashed(&run, "BROWSER_CRASHED.BROWSER");
    assert_no_file(&run);
}

fn assert_no_file(run: &common::Run) {
    let left: Vec<_> = std::fs::read_dir(run.out_dir.path())
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.iter().all(|p| p.is_dir()), "files left: {left:?}");
}

/// A popup that opens three more of itself as it loads, and so on: the popup blocker lets
/// the click open one, and the popup's own opens (no user gesture) open none. The collect
/// goes on and ends `done`, instead of ending `VENDOR_DOWN` after 30 s and 1.2 GB.
#[tokio::test]
async fn a_popup_storm_opens_one_popup_and_the_collect_goes_on() {
    let site = common::demo_site().await;
    let plan = connector(
        "  - goto: /hostile/storm\n  - click: '#storm'\n  - wait: { selector: '#title' }\n",
    );
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
    assert_eq!(
        run.final_state(),
        gleaner::codes::State::Done,
        "{:?}",
        run.result.as_ref().err()
    );
    assert!(
        site.hits("/hostile/storm-child") <= 1,
        "{} popups loaded",
        site.hits("/hostile/storm-child")
    );
}
