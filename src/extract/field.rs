//! A record's field, compiled from a connector's field spec: where its value comes from,
//! then the filters that clean it.

use serde_json::Value;

use super::filters::Filter;
use crate::template::Template;

/// One field of the records a step extracts.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub source: FieldSource,
    pub filters: Vec<Filter>,
    /// When the element (or its attribute) is missing, give null instead of failing.
    pub optional: bool,
}

/// Where a field's value comes from.
#[derive(Debug, Clone)]
pub enum FieldSource {
    /// `const`: a fixed value.
    Const(Value),
    /// `value`: a template rendered from the collect's variables.
    Value(Template),
    /// `css` (a sub-element of the row), `col` (a table cell) or the row itself (`text`,
    /// `attr`, `link`), read as `read` says.
    Element { at: Element, read: Read },
}

/// The element a field reads, relative to its row.
#[derive(Debug, Clone)]
pub enum Element {
    /// The first match of a CSS selector inside the row.
    Css(String),
    /// The cell under the column whose header text is this (compared without case).
    Col(String),
    /// The row element itself.
    Row,
}

/// What a field takes from its element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// The text, whitespace collapsed.
    Text,
    /// An attribute's value, as written.
    Attr(String),
    /// An attribute holding a URL (default `href`), made absolute against the page's URL.
    Link(String),
}
