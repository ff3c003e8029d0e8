//! The browser module on its own: launch, tabs, cleanup on every path.

use std::time::Duration;

use gleaner::browser::{Browser, LaunchOptions, find_chromium};
use gleaner::codes::State;
use gleaner::engine::Event;

use crate::common::{self, Codes};

/// A browser slot, a profile root of the test's own, and a browser launched in it.
async fn launch() -> (
    tokio::sync::SemaphorePermit<'static>,
    tempfile::TempDir,
    Browser,
) {
    let slot = common::browser_slot().await;
    let profiles = tempfile::tempdir().unwrap();
    let options = LaunchOptions {
        profile_root: Some(profiles.path().to_path_buf()),
        ..Default::default()
    };
    let browser = Browser::launch(options).await.expect("launch");
    (slot, profiles, browser)
}

#[test]
fn finds_chromium_on_path() {
    let path = find_chromium().expect("Chromium is installed (scripts/test installs it)");
    assert!(path.is_file());
}

#[tokio::test]
async fn close_removes_processes_and_profile() {
    let site = common::demo_site().await;
    let (_slot, profiles, browser) = launch().await;
    let tab = browser.new_tab().await.unwrap();
    assert_eq!(
        tab.goto(
            &format!("{}login", site.base_url()),
            Duration::from_secs(10)
        )
        .await
        .unwrap(),
        200
    );
    let procs = gleaner::browser::process::processes_using(profiles.path());
    assert!(
        procs.len() >= 2,
        "a browser has several processes: {procs:?}"
    );
    assert!(browser.profile_dir().starts_with(profiles.path()));
    drop(tab);
    browser.close().await;
    common::assert_nothing_left(profiles.path());
}

#[tokio::test]
async fn dropping_without_close_still_cleans_up() {
    let (_slot, profiles, browser) = launch().await;
    let _tab = browser.new_tab().await.unwrap();
    drop(browser);
    common::assert_nothing_left(profiles.path());
}

#[tokio::test]
async fn isolated_tabs_do_not_share_cookies() {
    let site = common::demo_site().await;
    let (_slot, profiles, browser) = launch().await;
    let a = browser.new_isolated_tab().await.unwrap();
    let b = browser.new_isolated_tab().await.unwrap();
    a.goto(
        &format!("{}login", site.base_url()),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    a.eval("document.cookie = 'consent=1; path=/'")
        .await
        .unwrap();
    b.goto(
        &format!("{}login", site.base_url()),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(a.eval("document.cookie").await.unwrap(), "consent=1");
    assert_eq!(b.eval("document.cookie").await.unwrap(), "");
    drop((a, b));
    browser.close().await;
    common::assert_nothing_left(profiles.path());
}

#[tokio::test]
async fn a_browser_killed_mid_collect_ends_in_browser_crashed() {
    let site = common::demo_site().await;
    let run = common::collect(
        &site,
        &common::demo_connector(),
        "alice",
        "demo",
        Codes::KillBrowser,
    )
    .await;
    assert_eq!(run.error().code.to_string(), "BROWSER_CRASHED");
    assert_eq!(run.final_state(), State::Error);
    assert!(
        run.events
            .iter()
            .any(|e| matches!(e, Event::CodeRequested { .. }))
    );
}
