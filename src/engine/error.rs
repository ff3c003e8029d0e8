use std::fmt;

use serde::Serialize;

use crate::codes::{ErrorCode, ErrorKind};
pub use crate::connector::plan::{Section, StepRef};

/// Why a collect ended without success. Its text never holds a secret: the engine builds
/// every message through the collect's redactor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectError {
    pub code: ErrorCode,
    pub message: String,
    pub step: Option<StepRef>,
    pub url: Option<String>,
}

impl CollectError {
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        CollectError {
            code: code.into(),
            message: message.into(),
            step: None,
            url: None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.code.kind
    }
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(step) = &self.step {
            write!(f, " at {step}")?;
        }
        if let Some(url) = &self.url {
            write!(f, " on {url}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for CollectError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_the_issue_example() {
        let e = CollectError {
            code: ErrorKind::ConnectorError.into(),
            message: "no element matches after 10s".into(),
            step: Some(StepRef {
                section: Section::Steps,
                number: "4".into(),
                summary: "click '#submit'".into(),
                line: 0,
            }),
            url: Some("https://bank.example/login".into()),
        };
        assert_eq!(
            e.to_string(),
            "CONNECTOR_ERROR at step 4 (click '#submit') on https://bank.example/login: no element matches after 10s"
        );
    }
}
