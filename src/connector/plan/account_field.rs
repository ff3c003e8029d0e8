//! A value the person gives for their account (a login, a password), as the plan holds it.

use super::text::LocalizedText;
use crate::connector::model::FieldKind;

#[derive(Debug, Clone)]
pub struct AccountField {
    pub label: LocalizedText,
    pub kind: FieldKind,
    /// Encrypted at rest, never logged, only used in `fill`.
    pub secret: bool,
    /// May be left empty.
    pub optional: bool,
    /// Example shown in an empty input.
    pub placeholder: Option<LocalizedText>,
    /// Marked `identity` in the connector (see [`Plan::identity_field`](super::Plan::identity_field)).
    pub identity: bool,
}

impl AccountField {
    pub fn is_secret(&self) -> bool {
        self.secret
    }
}
