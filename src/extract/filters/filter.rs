//! The [`Filter`] type: one cleaning step, and [`apply`], which runs them in order.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::date::{DateFilter, apply_date, check_date};
use super::decimal::{DecimalFilter, apply_decimal, check_decimal};
use super::error::{FilterError, InvalidFilter};
use super::text::{clean_text, excerpt};

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
pub(super) const BARE_NAMES: &[&str] = &["clean_text", "decimal", "lower", "upper"];

/// `JsonSchema::schema_id` of [`Filter`] (built here so that it names this type's module).
pub(super) const FILTER_SCHEMA_ID: &str = concat!(module_path!(), "::Filter");

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

/// Options of the `replace` filter.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceFilter {
    /// Regular expression (Rust `regex` syntax).
    pub pattern: String,
    /// Replacement; may use `$1`, `${1}`, `${name}` (write `$$` for a literal `$`).
    pub with: String,
}

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
        match self {
            Filter::Default(value) => Ok(match input {
                Value::Null => value.clone(),
                Value::String(s) if s.is_empty() => value.clone(),
                other => other,
            }),
            // Every other filter lets a missing value through as it is.
            _ if input.is_null() => Ok(Value::Null),
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
