//! The live screen in the UI, in a real browser, as a person uses it to pass the demo
//! bank's human check (`/human`: a green square, then a phrase typed into a yellow field
//! the page does not focus, tiny in the site's wide layout): on a desktop, and on a
//! 360×740 touch phone. What the person sees is found in screenshots of their tab, as
//! they would find it by eye.

use chromiumoxide::cdp::browser_protocol::emulation::{
    SetDeviceMetricsOverrideParams, SetTouchEmulationEnabledParams,
};
use chromiumoxide::cdp::browser_protocol::input::{
    DispatchTouchEventParams, DispatchTouchEventType, TouchPoint,
};
use serde_json::json;

use crate::common::browser_slot;
use crate::pixels;
use crate::ui::{Host, Person, service_for, session};

/// Where the live screen (the canvas) shows in the person's tab, in CSS pixels: only there
/// is the site (the UI has green and yellow of its own).
async fn screen_rect(person: &Person) -> (f64, f64, f64, f64) {
    let r = person
        .eval("(() => { const r = document.getElementById('screen').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()")
        .await;
    let mut rect = (
        r[0].as_f64().unwrap(),
        r[1].as_f64().unwrap(),
        r[2].as_f64().unwrap(),
        r[3].as_f64().unwrap(),
    );
    if person.frame.is_some() {
        let o = person
            .eval_main(
                "(() => { const f = document.querySelector('iframe'); const r = f.getBoundingClientRect(); \
                 return [r.left + (r.width - f.clientWidth) / 2, r.top + (r.height - f.clientHeight) / 2]; })()",
            )
            .await;
        rect.0 += o[0].as_f64().unwrap();
        rect.1 += o[1].as_f64().unwrap();
    }
    rect
}

/// The part of a screenshot (at `scale` device pixels per CSS pixel) that shows the screen.
fn region(
    (x, y, w, h): (f64, f64, f64, f64),
    scale: f64,
    img: &image::RgbImage,
) -> (u32, u32, u32, u32) {
    let clamp = |v: f64, max: u32| (v.max(0.0) as u32).min(max);
    let (x0, y0) = (
        clamp(x * scale, img.width()),
        clamp(y * scale, img.height()),
    );
    let (x1, y1) = (
        clamp((x + w) * scale, img.width()),
        clamp((y + h) * scale, img.height()),
    );
    (x0, y0, x1 - x0, y1 - y0)
}

/// The green square on the screen: its centre, in the screenshot's pixels.
fn green_square(png: &[u8], rect: (f64, f64, f64, f64), scale: f64) -> Option<(f64, f64)> {
    let img = pixels::png(png)?;
    pixels::within(&img, region(rect, scale, &img), pixels::green_square)
        .filter(|b| b.count > 60)
        .map(|b| (b.x, b.y))
}

/// The yellow field on the screen: its centre and height, in the screenshot's pixels.
fn yellow_field(png: &[u8], rect: (f64, f64, f64, f64), scale: f64) -> Option<(f64, f64, f64)> {
    let img = pixels::png(png)?;
    pixels::within(&img, region(rect, scale, &img), pixels::yellow_field)
        .filter(|b| b.count > 100)
        .map(|b| (b.x, b.y, b.height))
}

/// Looks at the person's screen until `find` sees what it looks for (on each paint, with
/// a deadline).
async fn look_for<T>(person: &mut Person, what: &str, find: impl Fn(&[u8]) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let png = person.tab.screenshot_png().await.unwrap();
        if let Some(found) = find(&png) {
            return found;
        }
        if tokio::time::Instant::now() >= deadline {
            person.shot(&format!("no-{what}")).await;
            panic!("{what} never showed on the live screen");
        }
        person
            .wait(
                "new Promise(r => requestAnimationFrame(() => r(true)))",
                "a paint",
            )
            .await;
    }
}

/// Waits until the live screen shows the site laid out for the room it has (not the
/// connector's 1280×720 shrunk into it).
async fn wait_screen_fits(person: &Person) {
    person
        .wait(
            "(() => { const c = document.getElementById('screen'); \
               const r = document.getElementById('screen-frame').getBoundingClientRect(); \
               const room = (Math.max(320, Math.floor(r.width - 3))) / Math.floor(r.height - 3); \
               return c.width < 1280 && Math.abs(c.width / c.height - room) < 0.02; })()",
            "a frame laid out for the viewer's screen",
        )
        .await;
}

/// `Input.dispatchTouchEvent` `touchEnd`: chromiumoxide's type leaves out an empty
/// `touchPoints`, which Chromium requires.
#[derive(Debug, serde::Serialize)]
struct TouchEnd {
    r#type: &'static str,
    #[serde(rename = "touchPoints")]
    touch_points: [(); 0],
}

impl chromiumoxide::Method for TouchEnd {
    fn identifier(&self) -> chromiumoxide::types::MethodId {
        "Input.dispatchTouchEvent".into()
    }
}

impl chromiumoxide::Command for TouchEnd {
    type Response = serde_json::Value;
}

/// A finger's tap at a point of the tab: touch start, touch end.
async fn tap(person: &Person, x: f64, y: f64) {
    let page = person.tab.page();
    page.execute(DispatchTouchEventParams::new(
        DispatchTouchEventType::TouchStart,
        vec![TouchPoint::new(x, y)],
    ))
    .await
    .unwrap();
    page.execute(TouchEnd {
        r#type: "touchEnd",
        touch_points: [],
    })
    .await
    .unwrap();
}

async fn text_of(person: &Person, selector: &str) -> String {
    person
        .eval(&format!(
            "document.querySelector({}).textContent",
            json!(selector)
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn on_a_desktop_the_human_check_is_passed_with_two_clicks_and_the_keyboard() {
    let _slot = browser_slot().await;
    let host = Host::start().await;
    let svc = service_for(&host).await;
    let cred = svc.human_credential().await;
    let url = session(&svc, json!({ "userId": "u", "credentialId": cred })).await;
    let mut person = Person::new("live-desktop", (1280, 720)).await;
    let page = format!(
        "{}&size=1000x680",
        host.page_for(&format!("{url}&collect={cred}"))
    );
    person.goto(&page).await;
    person.frame = Some(format!("{}/ui", svc.base));
    person.wait_visible("canvas#screen").await;
    assert!(person.visible("#done").await);
    assert!(person.visible("#live-text").await, "a text box to type in");
    assert!(person.visible("#zoom-in").await && person.visible("#fullscreen").await);
    let status = text_of(&person, "#status").await;
    assert!(status.contains("waiting for you"), "{status}");
    // The connector's instructions in the UI's language (English here), marked with it.
    let instructions = person
        .eval("[document.querySelector('#instructions').textContent, document.querySelector('#instructions').lang]")
        .await;
    assert!(
        instructions[0].as_str().unwrap().contains("green square"),
        "{instructions}"
    );
    assert_eq!(instructions[1], "en");
    wait_screen_fits(&person).await;
    person.shot("fitted").await;

    let rect = screen_rect(&person).await;
    let (x, y) = look_for(&mut person, "square", |png| green_square(png, rect, 1.0)).await;
    person.tab.click_at(x, y).await.unwrap();
    let (fx, fy, height) = look_for(&mut person, "field", |png| yellow_field(png, rect, 1.0)).await;
    // The site's own narrower layout, at its own size: at 1280 wide it is 8 pixels tall.
    assert!(
        height >= 24.0,
        "the field is {height} pixels tall on the screen"
    );
    person.tab.click_at(fx, fy).await.unwrap();
    person
        .wait(
            "document.getElementById('live-focus').textContent.includes('Votre phrase') \
             && !document.getElementById('focus-ring').hidden",
            "the screen says where typing goes, and outlines it",
        )
        .await;
    person
        .wait(
            "document.activeElement && document.activeElement.id === 'screen'",
            "the screen keeps the keyboard",
        )
        .await;
    person.shot("field-focused").await;
    let phrase = svc.site.human_phrase().expect("a phrase was issued");
    for ch in phrase.chars() {
        person.press(&ch.to_string()).await;
    }
    person.press("Enter").await;
    person.wait_screen("success").await;
    person.shot("success").await;
    assert!(svc.site.hits("/accounts") >= 1);

    // The host heard each state once (the live step is state 2 again, not a new one).
    let events = person.host_events().await;
    let states: Vec<i64> = events
        .iter()
        .filter(|e| e["type"] == "state")
        .map(|e| e["state"].as_i64().unwrap())
        .collect();
    let mut unique = states.clone();
    unique.dedup();
    assert_eq!(states, unique, "each state posted once: {states:?}");
    assert_eq!(states.last(), Some(&7));
    person.close().await;
    svc.stop().await;
}

#[tokio::test]
async fn on_a_touch_phone_the_human_check_is_passed_with_two_taps_and_the_on_screen_keyboard() {
    let _slot = browser_slot().await;
    let host = Host::start().await;
    let svc = service_for(&host).await;
    let cred = svc.human_credential().await;
    let url = session(&svc, json!({ "userId": "u", "credentialId": cred })).await;
    let mut person = Person::new("live-phone", (360, 740)).await;
    let page = person.tab.page();
    page.execute(SetDeviceMetricsOverrideParams::new(360, 740, 2.0, true))
        .await
        .unwrap();
    page.execute(SetTouchEmulationEnabledParams {
        enabled: true,
        max_touch_points: Some(5),
    })
    .await
    .unwrap();

    person.goto(&format!("{url}&collect={cred}")).await;
    person.wait_visible("canvas#screen").await;
    wait_screen_fits(&person).await;
    person.shot("fitted").await;
    // The tab's screenshots are in device pixels (2 per CSS pixel).
    let css = |v: f64| v / 2.0;

    let rect = screen_rect(&person).await;
    let (x, y) = look_for(&mut person, "square", |png| green_square(png, rect, 2.0)).await;
    tap(&person, css(x), css(y)).await;
    let (fx, fy, height) = look_for(&mut person, "field", |png| yellow_field(png, rect, 2.0)).await;
    assert!(
        css(height) >= 24.0,
        "the field is {} CSS pixels tall on the phone",
        css(height)
    );
    tap(&person, css(fx), css(fy)).await;
    // The tap gave the text box the focus: a phone shows its keyboard for it.
    person
        .wait(
            "document.activeElement && document.activeElement.id === 'live-text' \
             && document.getElementById('live-focus').textContent.includes('Votre phrase')",
            "the text box has the focus and says where typing goes",
        )
        .await;
    person.shot("keyboard").await;
    let phrase = svc.site.human_phrase().expect("a phrase was issued");
    // What an on-screen keyboard does: text inserted into the focused box, then Enter.
    person.tab.insert_text(&phrase).await.unwrap();
    person.press("Enter").await;
    person.wait_screen("success").await;
    person.shot("success").await;
    assert!(svc.site.hits("/accounts") >= 1);
    person.close().await;
    svc.stop().await;
}
