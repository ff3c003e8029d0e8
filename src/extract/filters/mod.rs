//! Value filters: small, declarative cleaning steps applied to values scraped from web pages
//! (woob-style "filters as data").
//!
//! Filters are declared in connector files and applied in order:
//!
//! ```yaml
//! balance: { css: td.balance, filters: [clean_text, { decimal: { sep: ',' } }] }
//! date:    { col: Date, filters: [{ date: '%d/%m/%Y' }] }
//! ref:     { css: td.ref, filters: [{ regex: 'Réf\. (\d+)' }] }
//! label:   { css: td.label, filters: [{ replace: { pattern: '\s+CB\s*$', with: '' } }, clean_text, { default: 'n/a' }] }
//! amount:  { css: td.amount, filters: [decimal] }
//! when:    { css: .date, filters: [{ date: { formats: ['%d %B %Y', '%b %d, %Y'], locale: fr } }] }
//! ```
//!
//! A filter is written either as a bare name (`clean_text`, `decimal`, `lower`, `upper`) or as a
//! single-key map (`{ regex: ... }`, `{ replace: ... }`, `{ decimal: ... }`, `{ date: ... }`,
//! `{ default: ... }`).
//!
//! Layout: this module holds the filter types, [`apply`] and the shared text helpers;
//! `serde_impl` the hand-written `Deserialize` / `JsonSchema` impls; `decimal` amount parsing;
//! `date` date parsing and the French/English month and weekday names.

mod date;
mod decimal;
mod serde_impl;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use date::{apply_date, check_date};
use decimal::{apply_decimal, check_decimal};

/// Every filter name, in declaration order (used in error messages and the JSON schema).
pub const FILTER_NAMES: &[&str] = &[
    "clean_text",
    "regex",
    "replace",
    "decimal",
    "date",
    "default",
    "lower",
    "upper",
];

/// Filters that may be written as a bare name.
const BARE_NAMES: &[&str] = &["clean_text", "decimal", "lower", "upper"];

/// Maximum number of input characters quoted in an error message.
const MAX_INPUT_IN_ERROR: usize = 80;

/// `JsonSchema::schema_id` of [`Filter`] (built here so that it names this module).
const FILTER_SCHEMA_ID: &str = concat!(module_path!(), "::Filter");

/// One cleaning step.
///
/// Deserialized by hand (see the `Deserialize` impl): a bare string for `clean_text`, `decimal`,
/// `lower`, `upper`, or a single-key map for every filter (`{ decimal: { sep: ',' } }`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// Collapse all Unicode whitespace (incl. U+00A0, U+202F, U+2009, tabs, newlines) to single
    /// spaces and trim. Zero-width characters (U+200B, U+2060, U+FEFF) are removed.
    CleanText,
    /// Keep the first capture group of the first match (the first group that took part in the
    /// match, or the whole match if the regex has no group or none took part). No match -> error.
    Regex(String),
    /// Regex replace-all; `with` may use `$1`, `${name}` etc.
    Replace(ReplaceFilter),
    /// Parse an amount into a JSON number.
    Decimal(DecimalFilter),
    /// Parse a date (or date-time) into ISO 8601: "2026-11-23" (or "2026-11-23T14:05:00" if the
    /// format has a time).
    Date(DateFilter),
    /// Replace null or empty string by this value.
    Default(Value),
    /// Lowercase the text.
    Lower,
    /// Uppercase the text.
    Upper,
}

/// Options of the `decimal` filter.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecimalFilter {
    /// Decimal separator, '.' or ','. When absent, detect: if both ',' and '.' appear, the last
    /// one is the decimal separator; if only one kind appears once and is followed by exactly 1-2
    /// digits at the end, it is decimal; if it is followed by exactly 3 digits and appears more
    /// than once or is ambiguous, treat as thousands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = [",", ".", null]))]
    pub sep: Option<char>,
    /// Thousands separators to drop. Default: all kinds of spaces (U+0020, U+00A0, U+202F,
    /// U+2009), the other of ','/'.', and '\''.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thousands: Option<String>,
}

/// Options of the `replace` filter.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceFilter {
    /// Regular expression (Rust `regex` syntax).
    pub pattern: String,
    /// Replacement; may use `$1`, `${1}`, `${name}` (write `$$` for a literal `$`).
    pub with: String,
}

/// Options of the `date` filter: `{ date: '%d/%m/%Y' }` (one format) or
/// `{ date: { formats: [...], locale: fr } }`. Formats are chrono strftime strings.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DateFilter {
    /// One chrono strftime format, English month and weekday names.
    Format(String),
    /// Several formats, tried in order, and a locale for month and weekday names.
    Options(DateOptions),
}

/// Long form of the `date` filter.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DateOptions {
    /// chrono strftime formats, tried in order (e.g. '%d/%m/%Y', '%d %B %Y').
    pub formats: Vec<String>,
    /// Language of month and weekday names in the input.
    #[serde(default)]
    pub locale: DateLocale,
}

/// Language of month and weekday names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DateLocale {
    /// English (chrono's own names; also accepts "Sept", "Tues", "Thurs").
    #[default]
    En,
    /// French: "5 novembre 2026", "23 nov. 2026", "lundi 1er mars 2027".
    Fr,
}

impl DateFilter {
    /// The formats to try, in order.
    pub fn formats(&self) -> &[String] {
        match self {
            DateFilter::Format(f) => std::slice::from_ref(f),
            DateFilter::Options(o) => &o.formats,
        }
    }

    /// The locale of month and weekday names.
    pub fn locale(&self) -> DateLocale {
        match self {
            DateFilter::Format(_) => DateLocale::En,
            DateFilter::Options(o) => o.locale,
        }
    }
}

/// Why a filter could not be applied.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum FilterError {
    /// The `decimal` filter could not read an amount.
    #[error("cannot read {input:?} as an amount")]
    Decimal {
        /// The input (at most 80 characters of it).
        input: String,
    },
    /// The `date` filter could not read a date with any of its formats.
    #[error("cannot read {input:?} as a date with format {}", .formats.join(" or "))]
    Date {
        /// The input (at most 80 characters of it).
        input: String,
        /// The formats that were tried.
        formats: Vec<String>,
    },
    /// The `regex` filter found no match.
    #[error("regex {pattern:?} does not match {input:?}")]
    NoMatch {
        /// The regex.
        pattern: String,
        /// The input (at most 80 characters of it).
        input: String,
    },
    /// The filter itself is wrong (bad regex, bad date format, bad separator...).
    #[error("invalid `{filter}` filter: {message}")]
    Invalid {
        /// Filter name.
        filter: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The filter got a value it cannot work on (an array or an object, a boolean for `decimal`).
    #[error("the `{filter}` filter cannot take {found}")]
    Type {
        /// Filter name.
        filter: &'static str,
        /// What it got ("an array", "an object", "a boolean").
        found: &'static str,
    },
}

/// A filter that cannot work on any input (a regex that does not compile, a bad date
/// format...), with a human message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidFilter(pub String);

impl Filter {
    /// Short name for messages: "decimal", "date", ...
    pub fn name(&self) -> &'static str {
        match self {
            Filter::CleanText => "clean_text",
            Filter::Regex(_) => "regex",
            Filter::Replace(_) => "replace",
            Filter::Decimal(_) => "decimal",
            Filter::Date(_) => "date",
            Filter::Default(_) => "default",
            Filter::Lower => "lower",
            Filter::Upper => "upper",
        }
    }

    /// Check what can be checked without input: regexes compile, date formats are valid strftime,
    /// decimal separators make sense.
    pub fn validate(&self) -> Result<(), InvalidFilter> {
        self.problem().map_err(InvalidFilter)
    }

    /// What [`Filter::validate`] finds wrong, as a human message.
    fn problem(&self) -> Result<(), String> {
        match self {
            Filter::Regex(pattern) => compiled(pattern, self.name())
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Filter::Replace(r) => compiled(&r.pattern, self.name())
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Filter::Decimal(d) => check_decimal(d),
            Filter::Date(d) => check_date(d),
            Filter::CleanText | Filter::Default(_) | Filter::Lower | Filter::Upper => Ok(()),
        }
    }

    /// Apply this one filter. See [`apply`].
    pub fn apply(&self, input: Value) -> Result<Value, FilterError> {
        if let Filter::Default(value) = self {
            return Ok(match input {
                Value::Null => value.clone(),
                Value::String(s) if s.is_empty() => value.clone(),
                other => other,
            });
        }
        if input.is_null() {
            return Ok(Value::Null);
        }
        match self {
            Filter::Default(_) => unreachable!("handled above"),
            Filter::Decimal(opts) => match input {
                Value::Number(_) => Ok(input),
                Value::String(s) => apply_decimal(opts, &s),
                other => Err(self.type_error(&other)),
            },
            Filter::CleanText => Ok(Value::String(clean_text(&self.text(&input)?))),
            Filter::Lower => Ok(Value::String(self.text(&input)?.to_lowercase())),
            Filter::Upper => Ok(Value::String(self.text(&input)?.to_uppercase())),
            Filter::Regex(pattern) => {
                let text = self.text(&input)?;
                let re = compiled(pattern, self.name())?;
                let caps = re.captures(&text).ok_or_else(|| FilterError::NoMatch {
                    pattern: pattern.clone(),
                    input: excerpt(&text),
                })?;
                let kept = caps
                    .iter()
                    .skip(1)
                    .flatten()
                    .next()
                    .or_else(|| caps.get(0))
                    .map_or("", |m| m.as_str());
                Ok(Value::String(kept.to_owned()))
            }
            Filter::Replace(r) => {
                let text = self.text(&input)?;
                let re = compiled(&r.pattern, self.name())?;
                Ok(Value::String(
                    re.replace_all(&text, r.with.as_str()).into_owned(),
                ))
            }
            Filter::Date(d) => {
                let text = self.text(&input)?;
                apply_date(d, &text)
            }
        }
    }

    /// The text a text filter works on: strings as is, numbers and booleans as their JSON text.
    fn text<'a>(&self, input: &'a Value) -> Result<Cow<'a, str>, FilterError> {
        match input {
            Value::String(s) => Ok(Cow::Borrowed(s)),
            Value::Number(n) => Ok(Cow::Owned(n.to_string())),
            Value::Bool(b) => Ok(Cow::Owned(b.to_string())),
            other => Err(self.type_error(other)),
        }
    }

    fn type_error(&self, input: &Value) -> FilterError {
        FilterError::Type {
            filter: self.name(),
            found: match input {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                Value::Array(_) => "an array",
                Value::Object(_) => "an object",
            },
        }
    }
}

/// Applies filters in order. Input: a JSON value (usually a string, or null when the element is
/// missing). Strings pass through text filters (numbers and booleans are read as their JSON text);
/// a null passes through every filter untouched except `default`. Numbers given to `decimal` are
/// returned as is. Error messages include at most 80 characters of input.
pub fn apply(filters: &[Filter], input: Value) -> Result<Value, FilterError> {
    filters
        .iter()
        .try_fold(input, |value, filter| filter.apply(value))
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// At most [`MAX_INPUT_IN_ERROR`] characters of `input`, with "…" when cut.
fn excerpt(input: &str) -> String {
    match input.char_indices().nth(MAX_INPUT_IN_ERROR) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_owned(),
    }
}

fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

/// Collapse whitespace runs to one space, drop zero-width characters, trim.
fn clean_text(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.chars() {
        if is_zero_width(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Compile a regex once and keep it in a process-wide cache.
fn compiled(pattern: &str, filter: &'static str) -> Result<Regex, FilterError> {
    static CACHE: LazyLock<Mutex<HashMap<String, Regex>>> = LazyLock::new(Default::default);
    const MAX_CACHED: usize = 1024;
    if let Some(re) = CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(pattern)
    {
        return Ok(re.clone());
    }
    let re = Regex::new(pattern).map_err(|e| FilterError::Invalid {
        filter,
        message: format!("bad regular expression: {e}"),
    })?;
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= MAX_CACHED {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), re.clone());
    Ok(re)
}
