//! The browser module on its own: launch, tabs, cleanup on every path, the live screen.

use std::time::Duration;

use base64::Engine as _;
use chromiumoxide::cdp::browser_protocol::page::{
    EventLoadEventFired, EventScreencastFrame, ScreencastFrameAckParams,
};
use futures::StreamExt;
use gleaner::browser::{Browser, Frame, LaunchOptions, Tab, find_chromium};
use gleaner::codes::State;
use gleaner::engine::Event;
use image::ImageFormat;
use serde_json::Value;
use tokio::time::{Instant, timeout, timeout_at};

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
    assert_eq!(run.error().code.to_string(), "BROWSER_CRASHED.BROWSER");
    assert_eq!(run.final_state(), State::Error);
    assert!(
        run.events
            .iter()
            .any(|e| matches!(e, Event::CodeRequested { .. }))
    );
}

/// The renderer killed while the collect waits for the 2FA code: the collect ends at once
/// in `BROWSER_CRASHED.RENDERER`, not at the code's timeout in `TWOFA_EXPIRED` (which would
/// send the person to act) nor later in `TIMEOUT`.
#[tokio::test]
async fn a_renderer_killed_during_the_2fa_wait_ends_in_browser_crashed_renderer() {
    let site = common::demo_site().await;
    let run = common::collect(
        &site,
        &common::demo_connector(),
        "alice",
        "demo",
        Codes::KillRenderer,
    )
    .await;
    assert_eq!(run.error().code.to_string(), "BROWSER_CRASHED.RENDERER");
    assert_eq!(run.final_state(), State::Error);
    let asked = run
        .events
        .iter()
        .any(|e| matches!(e, Event::CodeRequested { .. }));
    assert!(asked);
}

/// The deadline of each wait in the screen tests.
const T: Duration = Duration::from_secs(10);

/// A page that changes on every animation frame: a screencast of it never runs dry.
const ANIMATED: &str = "<!DOCTYPE html><html><body style='margin:0'>\
    <div id='box' style='width:200px;height:200px;background:#c0392b'></div><p id='n'>0</p>\
    <script>let n = 0; function tick() { n += 1; document.getElementById('n').textContent = n;\
    document.getElementById('box').style.transform = 'translateX(' + (n % 900) + 'px)';\
    requestAnimationFrame(tick); } requestAnimationFrame(tick);</script></body></html>";

fn data_url(html: &str) -> String {
    format!(
        "data:text/html;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(html)
    )
}

/// The frame's image, decoded as a JPEG: its size.
fn jpeg_size(frame: &Frame) -> (u32, u32) {
    let bytes = frame.jpeg_bytes().expect("base64");
    let img = image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg).expect("a JPEG");
    (img.width(), img.height())
}

#[tokio::test]
async fn screencast_of_an_animated_page_yields_jpeg_frames_until_stopped() {
    let (_slot, profiles, browser) = launch().await;
    let tab = browser.new_tab().await.unwrap();
    tab.goto(&data_url(ANIMATED), T).await.unwrap();
    let screen = tab.screen();
    assert_eq!(screen.viewport(), (1280, 720));

    let mut cast = screen.start_screencast(60).await.unwrap();
    // Chromium sends the next frames only once the earlier ones are acknowledged: ten
    // frames show that the screencast acknowledges them.
    for i in 0..10 {
        let frame = timeout(T, cast.next_frame())
            .await
            .expect("a frame in time")
            .expect("the screencast runs");
        assert_eq!((frame.width, frame.height), (1280, 720));
        if i < 3 {
            assert_eq!(jpeg_size(&frame), (1280, 720));
        }
    }
    cast.stop().await;
    // Stopped: even frames acknowledged at once no longer come (a few may be in flight).
    let mut raw = tab
        .page()
        .event_listener::<EventScreencastFrame>()
        .await
        .unwrap();
    let quiet_until = Instant::now() + Duration::from_millis(500);
    let mut after_stop = 0;
    while let Ok(Some(ev)) = timeout_at(quiet_until, raw.next()).await {
        after_stop += 1;
        let _ = tab
            .page()
            .execute(ScreencastFrameAckParams::new(ev.session_id))
            .await;
    }
    assert!(after_stop <= 3, "{after_stop} frames after stop");

    // It starts again, and its stream ends when the browser goes away.
    let mut cast = screen.start_screencast(40).await.unwrap();
    let frame = timeout(T, cast.next_frame())
        .await
        .expect("a frame in time");
    assert!(frame.is_some());
    drop(browser);
    let ended = timeout(T, async { while cast.next_frame().await.is_some() {} }).await;
    assert!(ended.is_ok(), "the stream ends with the browser");
    assert!(screen.capture_jpeg(60).await.is_err());
    drop(tab);
    common::assert_nothing_left(profiles.path());
}

#[tokio::test]
async fn capture_jpeg_of_a_static_page() {
    let site = common::demo_site().await;
    let (_slot, profiles, browser) = launch().await;
    let tab = browser.new_tab().await.unwrap();
    tab.goto(&format!("{}login", site.base_url()), T)
        .await
        .unwrap();
    let frame = tab.screen().capture_jpeg(70).await.unwrap();
    assert_eq!((frame.width, frame.height), (1280, 720));
    assert_eq!(jpeg_size(&frame), (1280, 720));
    drop(tab);
    browser.close().await;
    common::assert_nothing_left(profiles.path());
    site.shutdown().await;
}

/// Evaluates `expression` within the deadline.
async fn eval(tab: &Tab, expression: &str) -> Value {
    timeout(T, tab.eval(expression))
        .await
        .expect("the page answers in time")
        .expect("the script runs")
}

/// Whether `#human-form` is still hidden once the page has rendered twice more.
const FORM_HIDDEN: &str = "new Promise((resolve) => requestAnimationFrame(() => \
    requestAnimationFrame(() => resolve(document.getElementById('human-form').hidden))))";

/// Waits (up to 5 s, on animation frames) for `#phrase` to be shown; its centre then.
const PHRASE_SHOWN: &str = "new Promise((resolve) => { const end = performance.now() + 5000;\
    (function check() { const el = document.getElementById('phrase');\
    if (el && el.offsetParent !== null) { const r = el.getBoundingClientRect();\
    resolve({ x: r.left + r.width / 2, y: r.top + r.height / 2, h: r.height }); }\
    else if (performance.now() > end) resolve(null); else requestAnimationFrame(check); })(); })";

#[tokio::test]
async fn the_human_page_is_passed_through_the_screen_only() {
    let site = common::demo_site().await;
    let (_slot, profiles, browser) = launch().await;
    let tab = browser.new_tab().await.unwrap();
    tab.goto(&format!("{}human", site.base_url()), T)
        .await
        .unwrap();
    let screen = tab.screen();
    let (w, h) = screen.viewport();
    let (w, h) = (f64::from(w), f64::from(h));

    for (fx, fy) in [
        (1.5, 0.2),
        (-0.1, 0.5),
        (f64::NAN, 0.5),
        (0.5, f64::INFINITY),
    ] {
        assert!(screen.click(fx, fy).await.is_err(), "click at ({fx}, {fy})");
    }

    let square = eval(
        &tab,
        "(() => { const r = document.getElementById('square').getBoundingClientRect();\
         return { x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height,\
         phrase: document.getElementById('phrase-to-type').textContent }; })()",
    )
    .await;
    let (cx, cy) = (square["x"].as_f64().unwrap(), square["y"].as_f64().unwrap());
    assert_eq!(
        (square["w"].as_f64(), square["h"].as_f64()),
        (Some(60.0), Some(60.0))
    );
    let phrase = square["phrase"].as_str().unwrap().to_string();
    assert_eq!(phrase.split(' ').count(), 3, "{phrase}");

    // A script's click is not trusted, and a real click beside the square hits the veil:
    // neither reveals the form.
    eval(&tab, "document.getElementById('square').click()").await;
    let beside = if cx < w / 2.0 { cx + 400.0 } else { cx - 400.0 };
    screen.click(beside / w, cy / h).await.unwrap();
    assert_eq!(eval(&tab, FORM_HIDDEN).await, true);

    screen.click(cx / w, cy / h).await.unwrap();
    let field = eval(&tab, PHRASE_SHOWN).await;
    assert!(field.is_object(), "the phrase input shows");
    assert_eq!(eval(&tab, FORM_HIDDEN).await, false);
    // The page does not focus it: the person clicks it, tiny as it is at 1280 wide.
    assert!(field["h"].as_f64().unwrap() <= 10.0, "{field}");
    let focused = screen.focused().await.unwrap();
    assert_ne!(
        focused.kind,
        gleaner::browser::FocusKind::Text,
        "{focused:?}"
    );
    let (fx, fy) = (field["x"].as_f64().unwrap(), field["y"].as_f64().unwrap());
    screen.click(fx / w, fy / h).await.unwrap();
    let focused = screen.focused().await.unwrap();
    assert_eq!(focused.kind, gleaner::browser::FocusKind::Text);
    assert_eq!(focused.label.as_deref(), Some("Votre phrase"));
    let area = focused.area.expect("the field is in view");
    assert!(
        (area.x * w..(area.x + area.width) * w).contains(&fx),
        "{area:?}"
    );

    let value = "document.getElementById('phrase').value";
    screen.text(&phrase).await.unwrap();
    screen.key("x").await.unwrap();
    assert_eq!(eval(&tab, value).await, format!("{phrase}x"));
    screen.key("Backspace").await.unwrap();
    assert_eq!(eval(&tab, value).await, phrase.as_str());

    let mut loads = tab
        .page()
        .event_listener::<EventLoadEventFired>()
        .await
        .unwrap();
    screen.key("Enter").await.unwrap();
    let deadline = Instant::now() + T;
    loop {
        let url = tab.url().await.unwrap();
        if url.ends_with("/accounts") {
            break;
        }
        timeout_at(deadline, loads.next())
            .await
            .unwrap_or_else(|_| panic!("still on {url}: /accounts never loaded"))
            .expect("the page is open");
    }
    assert_eq!(
        tab.text_of(&gleaner::connector::plan::Selector::css("h1"))
            .await
            .unwrap()
            .as_deref(),
        Some("Mes comptes")
    );
    drop(tab);
    browser.close().await;
    common::assert_nothing_left(profiles.path());
    site.shutdown().await;
}

#[tokio::test]
async fn a_viewers_display_is_followed_only_while_the_person_drives_and_undone_after() {
    let site = common::demo_site().await;
    let (_slot, profiles, browser) = launch().await;
    let tab = browser.new_tab().await.unwrap();
    tab.goto(&format!("{}human", site.base_url()), T)
        .await
        .unwrap();
    let screen = tab.screen();
    let layout = "[innerWidth, innerHeight, devicePixelRatio, navigator.maxTouchPoints]";
    let phone = gleaner::browser::ViewerDisplay::new(360, 740, 2.0, true).unwrap();
    assert!(gleaner::browser::ViewerDisplay::new(0, 740, 2.0, true).is_err());
    assert!(gleaner::browser::ViewerDisplay::new(360, 740, f64::NAN, true).is_err());
    assert!(
        gleaner::browser::ViewerDisplay::new(200, 740, 9.0, false).is_err(),
        "a ratio above 4 is refused"
    );
    assert_eq!(
        gleaner::browser::ViewerDisplay::new(200, 740, 3.0, false)
            .map(|d| (d.size(), d.scale()))
            .unwrap(),
        ((320, 740), 2.0),
        "raised to the narrowest layout, frames at 2× at most"
    );

    // The engine has not lent the page: a viewer's display changes nothing.
    assert!(!screen.fit(Some(phone)).await.unwrap());
    assert_eq!(
        eval(&tab, layout).await,
        serde_json::json!([1280, 720, 1, 0])
    );

    tab.lend_to_person(true).await.unwrap();
    assert!(screen.fit(Some(phone)).await.unwrap());
    assert_eq!(
        eval(&tab, layout).await,
        serde_json::json!([360, 740, 2, 5])
    );
    assert_eq!(screen.viewport(), (360, 740));
    let frame = screen.capture_jpeg(60).await.unwrap();
    assert_eq!(
        frame.width * 740,
        frame.height * 360,
        "{}x{}",
        frame.width,
        frame.height
    );

    // Taken back: the connector's viewport is in force again before the engine goes on.
    tab.lend_to_person(false).await.unwrap();
    assert_eq!(
        eval(&tab, layout).await,
        serde_json::json!([1280, 720, 1, 0])
    );
    assert_eq!(screen.viewport(), (1280, 720));
    assert!(!screen.fit(Some(phone)).await.unwrap(), "no longer lent");
    assert_eq!(
        eval(&tab, layout).await,
        serde_json::json!([1280, 720, 1, 0])
    );
    drop(tab);
    browser.close().await;
    common::assert_nothing_left(profiles.path());
    site.shutdown().await;
}
