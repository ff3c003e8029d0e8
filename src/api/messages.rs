//! The WebSocket protocol of a live collect (JSON text frames tagged by `type`), shared by
//! the server and by clients written in Rust (tests, `examples/watch.rs`).

use serde::{Deserialize, Serialize};

use crate::advice::FailureReason;
use crate::browser::{Area, FocusKind};
use crate::connector::CodeKind;
use crate::connector::plan::LocalizedText;

/// Largest client message accepted; longer ones get an `error` back.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    State {
        /// -2..7
        state: i8,
        name: String,
        message: Option<String>,
        /// With -1 and -2: why, `{code, message, advice}`.
        error: Option<FailureReason>,
        /// The person drives the screen now.
        interactive: bool,
        /// The connector's instructions, in English when it gives them (else its first
        /// language).
        instructions: Option<String>,
        /// The same in every language the connector gives, to show the person's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        localized_instructions: Option<LocalizedText>,
        /// With a final state: what the person can do, in English and French.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        advice: Option<crate::advice::Advice>,
    },
    Screenshot {
        format: String,
        /// The JPEG, base64.
        data: String,
        width: u32,
        height: u32,
        seq: u64,
    },
    Twofa {
        kind: CodeKind,
        /// The connector's label in English (else its first language), or an English
        /// sentence by kind when it gives none.
        label: String,
        /// The connector's label in every language it gives; absent when it gives none
        /// (say what `kind` of code to give, then).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        localized_label: Option<LocalizedText>,
        /// Unix seconds.
        expires_at: u64,
        /// The same request again after a code was given: the site did not take that code
        /// and takes another one.
        #[serde(default)]
        again: bool,
    },
    /// While the person drives the page: what has its keyboard, after their latest input
    /// (and when the step starts). Never a value.
    Focus {
        kind: FocusKind,
        /// Whether typed text lands somewhere; `null` for a cross-site frame.
        takes_text: Option<bool>,
        /// What the page shows for it: its label, placeholder or text.
        label: Option<String>,
        /// Where it shows, in fractions (0..1) of the image; `null` when out of view.
        area: Option<Area>,
    },
    Error {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    Twofa {
        code: String,
    },
    /// Fractions (0..1) of the image.
    Click {
        x: f64,
        y: f64,
    },
    /// A DOM key name: `a`, `Enter`, `Backspace`, `ArrowLeft`...
    Keydown {
        key: String,
    },
    Text {
        text: String,
    },
    /// The wheel, or a finger dragged, at fractions (0..1) of the image: scrolls the page
    /// under that point by `dx`, `dy` CSS pixels (at most 10000 each).
    Scroll {
        x: f64,
        y: f64,
        dx: f64,
        dy: f64,
    },
    /// The person has finished the interactive login.
    Close,
    /// The viewer's display: the room the live screen has (CSS pixels, 1..=2560 each) and
    /// its pixel ratio (0.5..=4). While the person drives, the page is laid out for it.
    Display {
        width: u32,
        height: u32,
        scale: f64,
        #[serde(default)]
        touch: bool,
    },
}

/// Why a client's text frame is not a [`ClientMessage`], said so that a person can act on
/// it.
#[derive(Debug, thiserror::Error)]
pub enum BadClientMessage {
    #[error("message of {len} bytes refused: the limit is {MAX_CLIENT_MESSAGE}")]
    TooLong { len: usize },
    #[error(
        "bad message ({0}); expected JSON with \"type\": twofa, click, keydown, text, scroll, close or display"
    )]
    Malformed(serde_json::Error),
}

impl ClientMessage {
    /// Parses a text frame, with a reason a person can act on when it is wrong.
    pub fn parse(text: &str) -> Result<ClientMessage, BadClientMessage> {
        if text.len() > MAX_CLIENT_MESSAGE {
            return Err(BadClientMessage::TooLong { len: text.len() });
        }
        serde_json::from_str(text).map_err(BadClientMessage::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_client_messages() {
        assert_eq!(
            ClientMessage::parse(r#"{"type":"click","x":0.5,"y":0.25}"#).unwrap(),
            ClientMessage::Click { x: 0.5, y: 0.25 }
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"close"}"#).unwrap(),
            ClientMessage::Close
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"display","width":360,"height":740,"scale":3}"#)
                .unwrap(),
            ClientMessage::Display {
                width: 360,
                height: 740,
                scale: 3.0,
                touch: false
            }
        );
        assert!(
            ClientMessage::parse(r#"{"type":"display","width":-1,"height":1,"scale":1}"#).is_err()
        );
        assert!(ClientMessage::parse(r#"{"type":"dance"}"#).is_err());
        assert!(ClientMessage::parse("not json").is_err());
        assert!(ClientMessage::parse(r#"{"type":"click","x":"a","y":1}"#).is_err());
        let big = format!(r#"{{"type":"text","text":"{}"}}"#, "a".repeat(70_000));
        assert!(
            ClientMessage::parse(&big)
                .unwrap_err()
                .to_string()
                .contains("limit")
        );
    }

    #[test]
    fn server_messages_are_tagged() {
        let m = ServerMessage::Error {
            message: "x".into(),
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"error","message":"x"}"#
        );
    }
}
