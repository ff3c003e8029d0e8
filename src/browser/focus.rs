//! What has the keyboard in a page, as the person driving it through the live screen is
//! told: a field (and what kind, so their own text box can match it: a password box for a
//! password), a cross-site frame, something that takes no text, or nothing. And where it
//! shows, so the live screen can outline it.
//!
//! Read from the main frame through open shadow roots and same-site frames. A cross-site
//! frame's inside is another process: its element is named as the frame. Never a value:
//! only what the page shows next to the element (its label, placeholder or text).

use chromiumoxide::Page;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::cdp::cdp_error;
use super::error::BrowserError;

/// The longest label a viewer is told, in characters.
const MAX_LABEL: usize = 80;

/// What kind of element has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FocusKind {
    /// Nothing: the page itself (typed text goes nowhere).
    None,
    /// A field that takes text: inputs of text-like types, text areas, editable content.
    Text,
    Password,
    Email,
    Tel,
    Number,
    Url,
    Search,
    /// A cross-site frame: what inside it has the keyboard is not visible from here.
    Frame,
    /// An element that takes keys but no text (a button, a link, a checkbox…).
    Other,
}

impl FocusKind {
    /// Whether typed text lands somewhere (`None` when unknown: a frame).
    pub fn takes_text(self) -> Option<bool> {
        match self {
            FocusKind::None | FocusKind::Other => Some(false),
            FocusKind::Frame => None,
            _ => Some(true),
        }
    }
}

/// Where an element shows, in fractions (0..1) of the viewport image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Area {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// The element that has the keyboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Focused {
    pub kind: FocusKind,
    /// What the page shows for it: its label, placeholder, accessible name or text.
    pub label: Option<String>,
    /// Where it shows; `None` when nothing has the keyboard or it is out of view.
    pub area: Option<Area>,
}

impl Focused {
    pub fn nothing() -> Focused {
        Focused {
            kind: FocusKind::None,
            label: None,
            area: None,
        }
    }
}

/// Finds the focused element; returns `{kind, label, rect: [x, y, w, h]}` in CSS pixels of
/// the top viewport. Runs in the page's world: a hostile page can only mislead its own
/// description (parsed defensively below), never reach gleaner.
const FOCUSED_JS: &str = r#"(() => {
  let el = document.activeElement, dx = 0, dy = 0, frame = false;
  for (let depth = 0; el && depth < 32; depth++) {
    if (el.shadowRoot && el.shadowRoot.activeElement) { el = el.shadowRoot.activeElement; continue; }
    if (el.tagName === 'IFRAME' || el.tagName === 'FRAME') {
      let doc = null;
      try { doc = el.contentDocument; } catch (_) { doc = null; }
      if (doc && doc.activeElement && doc.activeElement !== doc.body) {
        const r = el.getBoundingClientRect();
        dx += r.left + el.clientLeft; dy += r.top + el.clientTop;
        el = doc.activeElement;
        continue;
      }
      frame = !doc;
    }
    break;
  }
  if (!el || el === el.ownerDocument.body || el === el.ownerDocument.documentElement) return { kind: 'none' };
  const text = (s) => (typeof s === 'string' ? s.replace(/\s+/g, ' ').trim() : '');
  const tag = el.tagName;
  let kind = 'other';
  if (frame) kind = 'frame';
  else if (tag === 'TEXTAREA' || el.isContentEditable) kind = 'text';
  else if (tag === 'INPUT') {
    const type = (el.getAttribute('type') || 'text').toLowerCase();
    const kinds = { text: 'text', password: 'password', email: 'email', tel: 'tel', number: 'number', url: 'url', search: 'search' };
    kind = kinds[type] || (['date', 'time', 'datetime-local', 'month', 'week'].includes(type) ? 'text' : 'other');
  }
  let label = text(el.getAttribute('aria-label'));
  const by = el.getAttribute('aria-labelledby');
  if (!label && by) label = text(by.split(/\s+/).map((id) => { const l = el.ownerDocument.getElementById(id); return l ? l.textContent : ''; }).join(' '));
  if (!label && el.labels && el.labels.length) label = text(el.labels[0].textContent);
  if (!label) label = text(el.getAttribute('placeholder')) || text(el.getAttribute('title'));
  if (!label && kind === 'other') label = text(el.textContent);
  const r = el.getBoundingClientRect();
  return { kind, label, rect: [r.left + dx, r.top + dy, r.width, r.height] };
})()"#;

#[derive(Deserialize)]
struct Raw {
    kind: FocusKind,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    rect: Option<[f64; 4]>,
}

/// The focused element of `page`, its area in fractions of `viewport` (CSS pixels).
pub(crate) async fn focused(
    page: &Page,
    alive: &watch::Receiver<bool>,
    viewport: (u32, u32),
) -> Result<Focused, BrowserError> {
    let params = EvaluateParams::builder()
        .expression(FOCUSED_JS)
        .return_by_value(true)
        .build()
        .map_err(BrowserError::Cdp)?;
    let result = page
        .evaluate_expression(params)
        .await
        .map_err(|e| cdp_error(e, alive))?;
    let raw: Raw = result
        .value()
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or(Raw {
            kind: FocusKind::None,
            label: None,
            rect: None,
        });
    Ok(describe(raw, viewport))
}

fn describe(raw: Raw, (vw, vh): (u32, u32)) -> Focused {
    let label = raw
        .label
        .map(|l| l.chars().take(MAX_LABEL).collect::<String>())
        .filter(|l| !l.is_empty());
    let area = raw
        .rect
        .and_then(|[x, y, w, h]| area_of(x, y, w, h, vw, vh));
    Focused {
        kind: raw.kind,
        label,
        area,
    }
}

/// The part of a rectangle inside the viewport, in fractions of it; `None` when none is.
fn area_of(x: f64, y: f64, w: f64, h: f64, vw: u32, vh: u32) -> Option<Area> {
    let (vw, vh) = (f64::from(vw), f64::from(vh));
    if ![x, y, w, h].iter().all(|v| v.is_finite()) || vw <= 0.0 || vh <= 0.0 {
        return None;
    }
    let (left, top) = (x.max(0.0), y.max(0.0));
    let (right, bottom) = ((x + w).min(vw), (y + h).min(vh));
    if right <= left || bottom <= top {
        return None;
    }
    Some(Area {
        x: left / vw,
        y: top / vh,
        width: (right - left) / vw,
        height: (bottom - top) / vh,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_area_is_clipped_to_the_viewport_in_fractions() {
        let a = area_of(-10.0, 100.0, 110.0, 20.0, 400, 200).unwrap();
        assert_eq!(
            a,
            Area {
                x: 0.0,
                y: 0.5,
                width: 0.25,
                height: 0.1
            }
        );
        assert_eq!(
            area_of(500.0, 0.0, 10.0, 10.0, 400, 200),
            None,
            "out of view"
        );
        assert_eq!(area_of(f64::NAN, 0.0, 10.0, 10.0, 400, 200), None);
    }

    #[test]
    fn a_description_is_capped_and_a_hostile_one_falls_back_to_nothing() {
        let raw: Raw = serde_json::from_value(serde_json::json!({
            "kind": "password", "label": "x".repeat(500), "rect": [0, 0, 10, 10]
        }))
        .unwrap();
        let f = describe(raw, (100, 100));
        assert_eq!(f.kind, FocusKind::Password);
        assert_eq!(f.label.unwrap().chars().count(), MAX_LABEL);
        assert!(serde_json::from_value::<Raw>(serde_json::json!({"kind": "evil"})).is_err());
        assert_eq!(FocusKind::Frame.takes_text(), None);
        assert_eq!(FocusKind::Other.takes_text(), Some(false));
        assert_eq!(FocusKind::Email.takes_text(), Some(true));
    }
}
