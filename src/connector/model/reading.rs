//! The steps that read data: `extract` and `download` (rows, fields, pagination) and the
//! JSON sources `capture` and `fetch`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::connector::duration::Timeout;
use crate::connector::located::Located;
use crate::connector::selector_spec::SelectorSpec;
use crate::extract::filters::Filter;

/// Records from the current page. Rows come from `rows` (a selector) or from `table`
/// (data rows of a table, whose columns `col` addresses by header text). With neither,
/// the whole page is one record.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Extract {
    /// The variable (a list of records) the rows are appended to.
    #[serde(rename = "as")]
    pub var: Located<String>,
    #[serde(default)]
    pub rows: Option<Located<String>>,
    #[serde(default)]
    pub table: Option<Located<String>>,
    pub fields: IndexMap<String, Located<FieldSpec>>,
    #[serde(default)]
    pub paginate: Option<Located<Paginate>>,
    /// The list may really be empty: `rows` or `table` matching nothing is not an error.
    #[serde(default)]
    pub allow_empty: bool,
    /// Read the records from this variable's JSON (set by `capture`, `fetch` or `eval`)
    /// instead of the page: `rows` is then a JSONPath (`$.months[*]`) and fields read
    /// `path`. Without `rows`, the whole value is one record.
    #[serde(default)]
    pub from: Option<Located<String>>,
}

/// Where a record's value comes from, then the filters that clean it.
/// Sources: `css` (text of a sub-element), `col` (a table cell by header), `text: true`
/// (the row's own text), `attr` (an attribute, of the `css` element or of the row),
/// `link: true` (an URL made absolute; `href` unless `attr` says otherwise),
/// `const` (a fixed value), `value` (a template such as `'{{account.id}}'`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    #[serde(default)]
    pub css: Option<Located<String>>,
    #[serde(default)]
    pub col: Option<Located<String>>,
    #[serde(default)]
    pub text: bool,
    #[serde(default)]
    pub attr: Option<String>,
    #[serde(default)]
    pub link: bool,
    #[serde(default, rename = "const")]
    pub constant: Option<serde_json::Value>,
    #[serde(default)]
    pub value: Option<Located<String>>,
    /// A JSONPath relative to the row (`$.kwh`), in an `extract` with `from`.
    #[serde(default)]
    pub path: Option<Located<String>>,
    #[serde(default)]
    pub filters: Vec<Located<Filter>>,
    /// When the element is missing, give null instead of failing.
    #[serde(default)]
    pub optional: bool,
}

/// Exactly one of `next` (a link or button to the next page) and `load_more` (a button
/// that appends rows to the same page).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Paginate {
    #[serde(default)]
    pub next: Option<Located<SelectorSpec>>,
    #[serde(default)]
    pub load_more: Option<Located<SelectorSpec>>,
    /// Pages read (or clicks on `load_more`) at most. Default 50.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    /// How long one page may take to come (default 10s).
    #[serde(default)]
    pub timeout: Option<Timeout>,
}

fn default_max_pages() -> u32 {
    50
}

/// Documents to fetch. `links` selects elements whose `href` is a document, one per
/// document; or `rows` selects rows and `url` says where the link is in each. `fields`
/// fill the document record: `id`, `date`, `amount`, `currency` are known to gleaner,
/// any other name is kept in `metadata`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Download {
    #[serde(rename = "as")]
    pub var: Located<String>,
    #[serde(default)]
    pub links: Option<Located<String>>,
    #[serde(default)]
    pub rows: Option<Located<String>>,
    /// Where the document's URL is in a row (default: the row's own `href`).
    #[serde(default)]
    pub url: Option<Located<FieldSpec>>,
    #[serde(default)]
    pub fields: IndexMap<String, Located<FieldSpec>>,
    /// A shortcut for `fields: { id: ... }`.
    #[serde(default)]
    pub id: Option<Located<FieldSpec>>,
    /// There may really be no document: `links` or `rows` matching nothing is not an error.
    #[serde(default)]
    pub allow_empty: bool,
    /// Instead of a URL, click this element of each row (`rows`) and take the file the
    /// browser downloads (a POST form, a link with `download`, a `blob:` URL).
    #[serde(default)]
    pub click: Option<Located<String>>,
    /// With `click`: the click opens the document in a new tab (a PDF shown in a popup);
    /// its URL is then downloaded with the browser's session, and the tab closed.
    #[serde(default)]
    pub popup: bool,
    /// More rows on the next pages, as for `extract`.
    #[serde(default)]
    pub paginate: Option<Located<Paginate>>,
}

/// `capture: { url: '/api/usage', as: usage, timeout: 10s }`: the JSON of the newest
/// response of the page's own requests (XHR, fetch, or a JSON document) whose URL matches
/// `url`, received since the page loaded and not taken by an earlier `capture`; or the next
/// one, waited for until `timeout`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    /// A regular expression searched in the response's full URL.
    pub url: Located<String>,
    /// The variable that keeps the JSON.
    #[serde(rename = "as")]
    pub var: Located<String>,
    /// How long to wait for the response (default 10s).
    #[serde(default)]
    pub timeout: Option<Timeout>,
}

/// `fetch: { url: '/api/invoices?year={{year}}', method: POST, json: {...}, as: invoices }`:
/// a request made by the page itself (`fetch` in the page, with its cookies), whose JSON
/// answer is kept.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fetch {
    /// A URL template, relative to the page.
    pub url: Located<String>,
    #[serde(default)]
    pub method: HttpMethod,
    /// A JSON body (sent as `application/json`). Strings in it are templates; a string
    /// that is only `'{{var}}'` is replaced by the variable's value as it is (a number
    /// stays a number).
    #[serde(default)]
    pub json: Option<Located<serde_json::Value>>,
    /// Request headers; values are templates.
    #[serde(default)]
    pub headers: IndexMap<String, Located<String>>,
    /// The variable that keeps the JSON answer.
    #[serde(rename = "as")]
    pub var: Located<String>,
    /// How long the answer may take (default 30s).
    #[serde(default)]
    pub timeout: Option<Timeout>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}
