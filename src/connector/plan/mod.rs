//! The plan: a connector compiled by [`check`](super::check), what the engine runs.
//!
//! Everything `check` validates is already resolved here: templates parsed, regular
//! expressions compiled, error codes parsed, page names turned into [`PageId`]s, durations
//! read. A shape `check` refuses cannot be written, so the engine needs no fallback.
//!
//! To add an action: a variant of [`Action`] (in `step.rs`), its compile arm in
//! `check/steps.rs`, its run arm in `engine/runner.rs` (and the raw field of
//! [`model::Step`](super::model::Step) with its schema).

mod account_field;
mod compiled;
mod document_keys;
mod json;
mod login;
mod page;
mod selector;
mod session_check;
mod step;
mod text;

pub use super::model::{CodeKind, FieldKind};
pub use account_field::AccountField;
pub use compiled::Plan;
pub use document_keys::DOCUMENT_KEYS;
pub use json::*;
pub use login::{InteractiveLogin, Login};
pub use page::{FramePath, Page, PageId, PageMatch, Pattern};
pub use selector::{
    Alternative, Part, Selector, SelectorError, SelectorTemplate, check_css, check_html_css,
    describe_css_error as selector_css_error,
};
pub use session_check::SessionCheck;
pub use step::*;
pub use text::{LANGUAGE_TAG_PATTERN, LanguageTag, LanguageTagError, LocalizedText, Picked};
