//! The vocabulary every layer shares: collect states (wire values -2..7) and error codes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Collect states, with the wire values of DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Disconnected,
    Error,
    Unknown,
    Preparing,
    LoggingIn,
    TwofaWaiting,
    TwofaProceeding,
    Collecting,
    Downloading,
    Done,
}

impl State {
    pub const ALL: [State; 10] = [
        State::Disconnected,
        State::Error,
        State::Unknown,
        State::Preparing,
        State::LoggingIn,
        State::TwofaWaiting,
        State::TwofaProceeding,
        State::Collecting,
        State::Downloading,
        State::Done,
    ];

    pub fn index(self) -> i8 {
        match self {
            State::Disconnected => -2,
            State::Error => -1,
            State::Unknown => 0,
            State::Preparing => 1,
            State::LoggingIn => 2,
            State::TwofaWaiting => 3,
            State::TwofaProceeding => 4,
            State::Collecting => 5,
            State::Downloading => 6,
            State::Done => 7,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            State::Disconnected => "disconnected",
            State::Error => "error",
            State::Unknown => "unknown",
            State::Preparing => "preparing",
            State::LoggingIn => "logging_in",
            State::TwofaWaiting => "twofa_waiting",
            State::TwofaProceeding => "twofa_proceeding",
            State::Collecting => "collecting",
            State::Downloading => "downloading",
            State::Done => "done",
        }
    }

    /// States 1–6: a new request to collect attaches to this one.
    pub fn in_progress(self) -> bool {
        (1..=6).contains(&self.index())
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The families of failure. A connector may refine one with a detail:
/// `LOGIN_FAILED.WRONG_TWOFA_CODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    LoginFailed,
    UserActionNeeded,
    VendorDown,
    ConnectorError,
    Timeout,
    BrowserCrashed,
    Interrupted,
    Cancelled,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::LoginFailed,
        ErrorKind::UserActionNeeded,
        ErrorKind::VendorDown,
        ErrorKind::ConnectorError,
        ErrorKind::Timeout,
        ErrorKind::BrowserCrashed,
        ErrorKind::Interrupted,
        ErrorKind::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::LoginFailed => "LOGIN_FAILED",
            ErrorKind::UserActionNeeded => "USER_ACTION_NEEDED",
            ErrorKind::VendorDown => "VENDOR_DOWN",
            ErrorKind::ConnectorError => "CONNECTOR_ERROR",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::BrowserCrashed => "BROWSER_CRASHED",
            ErrorKind::Interrupted => "INTERRUPTED",
            ErrorKind::Cancelled => "CANCELLED",
        }
    }

    /// The final state a failure of this kind puts a collect in.
    pub fn final_state(self) -> State {
        match self {
            ErrorKind::UserActionNeeded => State::Disconnected,
            _ => State::Error,
        }
    }
}

/// An error code as written on the wire and in connector files.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorCode {
    pub kind: ErrorKind,
    pub detail: Option<String>,
}

impl ErrorCode {
    pub const fn new(kind: ErrorKind) -> Self {
        ErrorCode { kind, detail: None }
    }
    pub fn with_detail(kind: ErrorKind, detail: &str) -> Self {
        ErrorCode {
            kind,
            detail: Some(detail.to_string()),
        }
    }
}

impl From<ErrorKind> for ErrorCode {
    fn from(kind: ErrorKind) -> Self {
        ErrorCode::new(kind)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        if let Some(d) = &self.detail {
            write!(f, ".{d}")?;
        }
        Ok(())
    }
}

/// Why a text is not an error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorCodeError {
    #[error("unknown error code {code:?}: it must start with one of {known}")]
    UnknownKind { code: String, known: String },
    #[error("error code detail {0:?} must be UPPER_SNAKE_CASE")]
    Detail(String),
}

impl FromStr for ErrorCode {
    type Err = ErrorCodeError;
    fn from_str(s: &str) -> Result<Self, ErrorCodeError> {
        let (head, detail) = match s.split_once('.') {
            Some((h, d)) => (h, Some(d)),
            None => (s, None),
        };
        let kind = ErrorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == head)
            .ok_or_else(|| {
                let known: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
                ErrorCodeError::UnknownKind {
                    code: s.to_string(),
                    known: known.join(", "),
                }
            })?;
        if let Some(d) = detail
            && (d.is_empty()
                || !d
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        {
            return Err(ErrorCodeError::Detail(d.to_string()));
        }
        Ok(ErrorCode {
            kind,
            detail: detail.map(str::to_string),
        })
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A collect's failure as every layer reports it: the live status, the WebSocket's `state`
/// message, the store's collect and the webhooks. One type, so that the wire shape
/// `{"code", "message"}` is the same everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    /// An error code such as `LOGIN_FAILED.WRONG_TWOFA_CODE`.
    pub code: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        let c: ErrorCode = "LOGIN_FAILED.WRONG_TWOFA_CODE".parse().unwrap();
        assert_eq!(c.kind, ErrorKind::LoginFailed);
        assert_eq!(c.to_string(), "LOGIN_FAILED.WRONG_TWOFA_CODE");
        assert_eq!(c.kind.final_state().index(), -1);
        let u: ErrorCode = "USER_ACTION_NEEDED.TWOFA_EXPIRED".parse().unwrap();
        assert_eq!(u.kind.final_state(), State::Disconnected);
        assert!("LOGIN_FAIL".parse::<ErrorCode>().is_err());
        assert!("LOGIN_FAILED.lower".parse::<ErrorCode>().is_err());
    }

    #[test]
    fn state_indexes_match_the_design() {
        let idx: Vec<i8> = State::ALL.iter().map(|s| s.index()).collect();
        assert_eq!(idx, (-2..=7).collect::<Vec<i8>>());
        assert!(State::TwofaWaiting.in_progress() && !State::Done.in_progress());
    }
}
