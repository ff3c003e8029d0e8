//! The person's input, sent to a page as real events: a click at a point, text, a key.
//! Used by the tab (the engine's steps) and by the live screen (the person).

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::input::{
    DispatchKeyEventParams, DispatchKeyEventType, DispatchMouseEventParams, DispatchMouseEventType,
    InsertTextParams,
};
use chromiumoxide::layout::Point;
use tokio::sync::watch;

use super::cdp::cdp_error;
use super::error::BrowserError;

/// A real left click (moved, pressed, released, click count 1) at a viewport point.
pub(crate) async fn click_at(
    page: &Page,
    alive: &watch::Receiver<bool>,
    x: f64,
    y: f64,
) -> Result<(), BrowserError> {
    page.click(Point { x, y })
        .await
        .map_err(|e| cdp_error(e, alive))?;
    Ok(())
}

/// Types text into the focused element, as an IME would (`Input.insertText`).
pub(crate) async fn insert_text(
    page: &Page,
    alive: &watch::Receiver<bool>,
    text: &str,
) -> Result<(), BrowserError> {
    page.execute(InsertTextParams::new(text))
        .await
        .map_err(|e| cdp_error(e, alive))?;
    Ok(())
}

/// Presses and releases a key, by DOM key name: whatever
/// `chromiumoxide::keys::USKEYBOARD_LAYOUT` knows, or any single character.
pub(crate) async fn press_key(
    page: &Page,
    alive: &watch::Receiver<bool>,
    key: &str,
) -> Result<(), BrowserError> {
    let def = chromiumoxide::keys::USKEYBOARD_LAYOUT
        .iter()
        .find(|d| d.key == key);
    let single_char = key.chars().count() == 1;
    if def.is_none() && !single_char {
        return Err(BrowserError::Script(format!("unknown key {key:?}")));
    }
    let text = def
        .and_then(|d| d.text)
        .map(str::to_string)
        .or_else(|| single_char.then(|| key.to_string()));
    let mut down = DispatchKeyEventParams::builder()
        .r#type(if text.is_some() {
            DispatchKeyEventType::KeyDown
        } else {
            DispatchKeyEventType::RawKeyDown
        })
        .key(key);
    if let Some(d) = def {
        down = down
            .code(d.code)
            .windows_virtual_key_code(d.key_code)
            .native_virtual_key_code(d.key_code);
    }
    if let Some(t) = &text {
        down = down.text(t.clone()).unmodified_text(t.clone());
    }
    let mut up = DispatchKeyEventParams::builder()
        .r#type(DispatchKeyEventType::KeyUp)
        .key(key);
    if let Some(d) = def {
        up = up
            .code(d.code)
            .windows_virtual_key_code(d.key_code)
            .native_virtual_key_code(d.key_code);
    }
    page.execute(down.build().map_err(BrowserError::Cdp)?)
        .await
        .map_err(|e| cdp_error(e, alive))?;
    page.execute(up.build().map_err(BrowserError::Cdp)?)
        .await
        .map_err(|e| cdp_error(e, alive))?;
    Ok(())
}

/// Turns the mouse wheel at a viewport point: the page scrolls what is under it, as for a
/// person's wheel or swipe.
pub(crate) async fn wheel_at(
    page: &Page,
    alive: &watch::Receiver<bool>,
    (x, y): (f64, f64),
    (dx, dy): (f64, f64),
) -> Result<(), BrowserError> {
    let wheel = DispatchMouseEventParams::builder()
        .r#type(DispatchMouseEventType::MouseWheel)
        .x(x)
        .y(y)
        .delta_x(dx)
        .delta_y(dy)
        .build()
        .map_err(BrowserError::Cdp)?;
    page.execute(wheel).await.map_err(|e| cdp_error(e, alive))?;
    Ok(())
}
