//! The JSON steps: `capture` (a response of the page's own requests), `fetch` (a request
//! made by the page), and `extract` with `from` (records read from a JSON value).

use std::time::Duration;

use serde_json::Value;
use serde_json_path::JsonPath;

use super::page::Pattern;
use crate::connector::model::HttpMethod;
use crate::extract::filters::Filter;
use crate::template::Template;

/// Keep the JSON of the newest matching response (see [`crate::connector::model::Capture`]).
#[derive(Debug, Clone)]
pub struct Capture {
    /// Searched in the response's full URL.
    pub url: Pattern,
    /// The pattern as written, for messages.
    pub shown: String,
    pub var: String,
    pub timeout: Option<Duration>,
}

/// A request made by the page, whose JSON answer is kept in `var`.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub url: Template,
    pub method: HttpMethod,
    pub json: Option<JsonTemplate>,
    pub headers: Vec<(String, Template)>,
    pub var: String,
    pub timeout: Option<Duration>,
}

/// A JSON value whose strings are templates.
#[derive(Debug, Clone)]
pub enum JsonTemplate {
    /// null, a boolean or a number.
    Scalar(Value),
    /// A string made of text and variables.
    Text(Template),
    /// A string that is one variable: its value, as it is (a number stays a number).
    Var(Vec<String>),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

/// Records read from a JSON variable, appended to the list `var`.
#[derive(Debug, Clone)]
pub struct ExtractJson {
    pub var: String,
    /// The variable holding the JSON.
    pub from: String,
    /// Each value it selects is a row; `None`: the whole value is one record.
    pub rows: Option<JsonRows>,
    pub fields: Vec<JsonField>,
    /// `rows` selecting nothing is not an error.
    pub allow_empty: bool,
    /// As `Extract::in_output`.
    pub in_output: bool,
}

#[derive(Debug, Clone)]
pub struct JsonRows {
    pub path: JsonPath,
    /// As written, for messages.
    pub shown: String,
}

/// A field of a JSON record.
#[derive(Debug, Clone)]
pub struct JsonField {
    pub name: String,
    pub source: JsonSource,
    pub filters: Vec<Filter>,
    /// A path that selects nothing gives null instead of failing.
    pub optional: bool,
}

#[derive(Debug, Clone)]
pub enum JsonSource {
    /// A JSONPath relative to the row, as written too.
    Path(JsonPath, String),
    Const(Value),
    Value(Template),
}
