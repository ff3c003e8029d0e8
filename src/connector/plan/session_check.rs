//! How to test a browser state kept from the last collect (the connector's `session:`).

use std::time::Duration;

use super::page::PageId;
use super::step::StepRef;

/// `session: { check: { goto, expect }, timeout }`.
#[derive(Debug, Clone)]
pub struct SessionCheck {
    pub goto: crate::template::Template,
    pub expect: PageId,
    pub timeout: Option<Duration>,
    pub at: StepRef,
}
