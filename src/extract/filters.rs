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

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, Mutex, PoisonError};

use chrono::format::{Item, Parsed, StrftimeItems};
use regex::Regex;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// decimal separators make sense. Returns a human message.
    pub fn validate(&self) -> Result<(), String> {
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
// Deserialization and schema
// ---------------------------------------------------------------------------------------------

fn unknown_filter_message(name: &str) -> String {
    format!(
        "unknown filter `{name}`; valid filters are: {} (write `clean_text`, `decimal`, `lower`, \
         `upper` as bare names, the others as a single-key map such as `{{ regex: '...' }}`)",
        FILTER_NAMES.join(", ")
    )
}

fn needs_argument_message(name: &str) -> String {
    let example = match name {
        "regex" => "{ regex: 'Réf\\. (\\d+)' }",
        "replace" => "{ replace: { pattern: '\\s+CB$', with: '' } }",
        "date" => "{ date: '%d/%m/%Y' }",
        _ => "{ default: 'n/a' }",
    };
    format!("the `{name}` filter needs an argument, e.g. `{example}`")
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FilterVisitor)
    }
}

struct FilterVisitor;

impl<'de> Visitor<'de> for FilterVisitor {
    type Value = Filter;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "a filter: one of {} as a bare name, or a single-key map such as {{ regex: '...' }}",
            BARE_NAMES.join(", ")
        )
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Filter, E> {
        match name {
            "clean_text" => Ok(Filter::CleanText),
            "decimal" => Ok(Filter::Decimal(DecimalFilter::default())),
            "lower" => Ok(Filter::Lower),
            "upper" => Ok(Filter::Upper),
            "regex" | "replace" | "date" | "default" => {
                Err(E::custom(needs_argument_message(name)))
            }
            _ => Err(E::custom(unknown_filter_message(name))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Filter, A::Error> {
        use de::Error as _;
        let Some(name) = map.next_key::<String>()? else {
            return Err(A::Error::custom(format!(
                "empty map; expected a filter: one of {}",
                FILTER_NAMES.join(", ")
            )));
        };
        let filter = match name.as_str() {
            // `{ clean_text: ~ }` is accepted as a synonym of the bare name.
            "clean_text" => map.next_value::<()>().map(|()| Filter::CleanText)?,
            "lower" => map.next_value::<()>().map(|()| Filter::Lower)?,
            "upper" => map.next_value::<()>().map(|()| Filter::Upper)?,
            "decimal" => Filter::Decimal(
                map.next_value::<Option<DecimalFilter>>()?
                    .unwrap_or_default(),
            ),
            "regex" => Filter::Regex(map.next_value()?),
            "replace" => Filter::Replace(map.next_value()?),
            "date" => Filter::Date(map.next_value()?),
            "default" => Filter::Default(map.next_value()?),
            other => return Err(A::Error::custom(unknown_filter_message(other))),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(A::Error::custom(format!(
                "a filter is a map with exactly one key, found `{name}` and `{extra}`; \
                 write each filter as its own list item"
            )));
        }
        Ok(filter)
    }
}

impl<'de> Deserialize<'de> for DateFilter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateVisitor;
        impl<'de> Visitor<'de> for DateVisitor {
            type Value = DateFilter;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a strftime format such as '%d/%m/%Y', or a map { formats: [...], locale: fr }",
                )
            }
            fn visit_str<E: de::Error>(self, format: &str) -> Result<DateFilter, E> {
                Ok(DateFilter::Format(format.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DateFilter, A::Error> {
                DateOptions::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(DateFilter::Options)
            }
        }
        deserializer.deserialize_any(DateVisitor)
    }
}

impl JsonSchema for Filter {
    fn schema_name() -> Cow<'static, str> {
        "Filter".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Filter").into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let replace = generator.subschema_for::<ReplaceFilter>();
        let decimal = generator.subschema_for::<DecimalFilter>();
        let date = generator.subschema_for::<DateFilter>();
        let keyed = |name: &str, description: &str, value: Value| {
            serde_json::json!({
                "type": "object",
                "description": description,
                "properties": { name: value },
                "required": [name],
                "additionalProperties": false,
            })
        };
        json_schema!({
            "description": "A cleaning step: a bare name (clean_text, decimal, lower, upper) or a \
                            single-key map (regex, replace, decimal, date, default).",
            "oneOf": [
                {
                    "const": "clean_text",
                    "description": "Collapse all Unicode whitespace to single spaces and trim.",
                },
                {
                    "const": "decimal",
                    "description": "Parse an amount into a number, detecting the decimal separator.",
                },
                { "const": "lower", "description": "Lowercase the text." },
                { "const": "upper", "description": "Uppercase the text." },
                keyed(
                    "regex",
                    "Keep the first capture group of the first match (or the whole match). No match is an error.",
                    serde_json::json!({ "type": "string", "description": "Regular expression (Rust regex syntax)." }),
                ),
                keyed("replace", "Regex replace-all; `with` may use $1 etc.", replace.to_value()),
                keyed(
                    "decimal",
                    "Parse an amount into a number.",
                    serde_json::json!({ "anyOf": [decimal, { "type": "null" }] }),
                ),
                keyed(
                    "date",
                    "Parse a date (or date-time) into ISO 8601 (\"2026-11-23\" or \"2026-11-23T14:05:00\").",
                    date.to_value(),
                ),
                keyed(
                    "default",
                    "Replace null or the empty string by this value.",
                    serde_json::json!(true),
                ),
            ],
        })
    }
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

// ---------------------------------------------------------------------------------------------
// decimal
// ---------------------------------------------------------------------------------------------

fn check_decimal(d: &DecimalFilter) -> Result<(), String> {
    if let Some(sep) = d.sep
        && sep != ','
        && sep != '.'
    {
        return Err(format!("decimal separator must be ',' or '.', not {sep:?}"));
    }
    if let Some(thousands) = &d.thousands {
        if let Some(sep) = d.sep
            && thousands.contains(sep)
        {
            return Err(format!(
                "{sep:?} cannot be both the decimal and a thousands separator"
            ));
        }
        if thousands.contains(',') && thousands.contains('.') && d.sep.is_none() {
            return Err(
                "thousands separators include both ',' and '.': no decimal separator left".into(),
            );
        }
        if let Some(c) = thousands
            .chars()
            .find(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '(' | ')'))
        {
            return Err(format!("{c:?} cannot be a thousands separator"));
        }
    }
    Ok(())
}

fn apply_decimal(opts: &DecimalFilter, raw: &str) -> Result<Value, FilterError> {
    check_decimal(opts).map_err(|message| FilterError::Invalid {
        filter: "decimal",
        message,
    })?;
    let error = || FilterError::Decimal {
        input: excerpt(raw),
    };
    match parse_amount(raw, opts).ok_or_else(error)? {
        None => Ok(Value::Null),
        Some(x) => serde_json::Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(error),
    }
}

fn is_currency_symbol(c: char) -> bool {
    matches!(
        c,
        '$' | '¢'
            | '£'
            | '¤'
            | '¥'
            | '\u{058F}'
            | '\u{060B}'
            | '\u{09F2}'
            | '\u{09F3}'
            | '\u{0E3F}'
            | '\u{17DB}'
            | '\u{20A0}'
            ..='\u{20CF}'
                | '\u{FDFC}'
                | '\u{FE69}'
                | '\u{FF04}'
                | '\u{FFE0}'
                | '\u{FFE1}'
                | '\u{FFE5}'
                | '\u{FFE6}'
    )
}

/// Currency codes and words, lowercase (matched case-insensitively, as whole letter runs).
const CURRENCY_WORDS: &[&str] = &[
    "eur", "euro", "euros", "usd", "gbp", "chf", "cad", "aud", "nzd", "jpy", "cny", "rmb", "hkd",
    "sgd", "sek", "nok", "dkk", "isk", "pln", "czk", "huf", "ron", "bgn", "try", "rub", "uah",
    "inr", "krw", "brl", "mxn", "zar", "mad", "tnd", "dzd", "xof", "xaf", "xpf", "ils", "aed",
    "sar", "qar", "thb", "idr", "myr", "php", "vnd", "twd", "ars", "clp", "cop", "pen", "egp",
    "dollar", "dollars", "us$", "ca$", "c$", "a$", "au$", "nz$", "hk$", "s$", "r$", "mx$", "fr",
    "fr.", "frs", "frs.", "sfr", "sfr.", "kr", "kr.", "zł", "kč", "ft", "lei",
];

/// Length in bytes of a currency code/word at the start of `s`, if any.
fn currency_word_prefix(s: &str) -> Option<usize> {
    let letters = s.find(|c: char| !c.is_alphabetic()).unwrap_or(s.len());
    if letters == 0 {
        return None;
    }
    let with_punct = match s[letters..].chars().next() {
        Some(c @ ('.' | '$')) => letters + c.len_utf8(),
        _ => letters,
    };
    [with_punct, letters]
        .into_iter()
        .find(|&len| CURRENCY_WORDS.contains(&s[..len].to_lowercase().as_str()))
}

/// Length in bytes of a currency code/word at the end of `s` ("EUR", "Fr.", "US$"), if any.
fn currency_word_suffix(s: &str) -> Option<usize> {
    let body = s.strip_suffix(['.', '$']).unwrap_or(s);
    let start = body
        .char_indices()
        .rev()
        .find(|(_, c)| !c.is_alphabetic())
        .map_or(0, |(i, c)| i + c.len_utf8());
    if start == body.len() {
        return None;
    }
    [&s[start..], &body[start..]]
        .into_iter()
        .find(|word| CURRENCY_WORDS.contains(&word.to_lowercase().as_str()))
        .map(str::len)
}

const APOSTROPHES: &[char] = &['\'', '\u{2019}', '\u{02BC}'];

/// Parse an amount. `Some(None)`: nothing there (empty). `None`: unreadable.
fn parse_amount(raw: &str, opts: &DecimalFilter) -> Option<Option<f64>> {
    // Were spaces used to group thousands ("12 000,00")? Then a lone ',' or '.' is decimal.
    let chars: Vec<char> = raw.chars().collect();
    let space_grouped = chars.iter().enumerate().any(|(i, c)| {
        c.is_whitespace()
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars[i + 1..]
                .iter()
                .find(|c| !c.is_whitespace())
                .is_some_and(char::is_ascii_digit)
    });
    let compact: String = raw
        .chars()
        .filter(|&c| !c.is_whitespace() && !is_zero_width(c))
        .collect();
    if compact.is_empty() {
        return Some(None);
    }

    // Peel signs, parentheses and currency markers off both ends.
    let mut s = compact.as_str();
    let mut negative = false;
    let mut signed = false;
    let mut set_sign = |neg: bool| -> Option<()> {
        if signed {
            return None;
        }
        signed = true;
        negative = neg;
        Some(())
    };
    loop {
        let before = s.len();
        if let Some(c) = s.chars().next().filter(|&c| is_currency_symbol(c)) {
            s = &s[c.len_utf8()..];
        }
        if let Some(c) = s.chars().next_back().filter(|&c| is_currency_symbol(c)) {
            s = &s[..s.len() - c.len_utf8()];
        }
        if let Some(n) = currency_word_prefix(s) {
            s = &s[n..];
        }
        if let Some(n) = currency_word_suffix(s) {
            s = &s[..s.len() - n];
        }
        if s.len() >= 2 && s.starts_with('(') && s.ends_with(')') {
            set_sign(true)?;
            s = &s[1..s.len() - 1];
        }
        if let Some(c) = s
            .chars()
            .next()
            .filter(|c| matches!(c, '-' | '+' | '\u{2212}' | '\u{2013}'))
        {
            set_sign(c != '+')?;
            s = &s[c.len_utf8()..];
        }
        if let Some(c) = s
            .chars()
            .next_back()
            .filter(|c| matches!(c, '-' | '+' | '\u{2212}' | '\u{2013}'))
        {
            set_sign(c != '+')?;
            s = &s[..s.len() - c.len_utf8()];
        }
        if s.len() == before {
            break;
        }
    }

    // What is left must be digits and separators.
    let explicit_thousands: Option<Vec<char>> =
        opts.thousands.as_ref().map(|t| t.chars().collect());
    let is_thousands_candidate = |c: char| {
        matches!(c, ',' | '.')
            || APOSTROPHES.contains(&c)
            || explicit_thousands.as_ref().is_some_and(|t| t.contains(&c))
    };
    if !s.chars().any(|c| c.is_ascii_digit())
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || is_thousands_candidate(c))
    {
        return None;
    }

    // Decide the decimal separator.
    let auto = opts.sep.is_none() && opts.thousands.is_none();
    let sep = match (opts.sep, &explicit_thousands) {
        (Some(sep), _) => sep,
        (None, Some(t)) if t.contains(&'.') && !t.contains(&',') => ',',
        (None, Some(t)) if t.contains(&',') && !t.contains(&'.') => '.',
        (None, _) => detect_separator(s, space_grouped),
    };
    let thousands: Vec<char> = match explicit_thousands {
        Some(t) => t,
        None => {
            let mut t = vec![if sep == ',' { '.' } else { ',' }];
            t.extend_from_slice(APOSTROPHES);
            t
        }
    };

    // Validate the layout and build a plain "1234.56".
    let bytes: Vec<char> = s.chars().collect();
    let mut number = String::with_capacity(bytes.len());
    let mut groups: Vec<usize> = vec![0];
    let mut seen_sep = false;
    for (i, &c) in bytes.iter().enumerate() {
        if c.is_ascii_digit() {
            number.push(c);
            if !seen_sep {
                *groups.last_mut()? += 1;
            }
        } else if c == sep {
            if seen_sep {
                return None;
            }
            seen_sep = true;
            number.push('.');
        } else if thousands.contains(&c) {
            let between_digits = i > 0
                && bytes[i - 1].is_ascii_digit()
                && bytes.get(i + 1).is_some_and(char::is_ascii_digit);
            if seen_sep || !between_digits {
                return None;
            }
            groups.push(0);
        } else {
            return None;
        }
    }
    // When guessing, thousands groups must look like thousands groups: 1-3 digits, then 3s.
    if auto && groups.len() > 1 && (groups[0] > 3 || groups[1..].iter().any(|&g| g != 3)) {
        return None;
    }
    if number.starts_with('.') {
        number.insert(0, '0');
    }
    let value: f64 = number.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    let value = if negative { -value } else { value };
    Some(Some(if value == 0.0 { 0.0 } else { value }))
}

/// Guess the decimal separator of `s` (digits, ',', '.', apostrophes).
fn detect_separator(s: &str, space_grouped: bool) -> char {
    let (last_comma, last_dot) = (s.rfind(','), s.rfind('.'));
    match (last_comma, last_dot) {
        (Some(c), Some(d)) => {
            if c > d {
                ','
            } else {
                '.'
            }
        }
        (None, None) => '.',
        (Some(pos), None) | (None, Some(pos)) => {
            let c = if last_comma.is_some() { ',' } else { '.' };
            let other = if c == ',' { '.' } else { ',' };
            if s.matches(c).count() > 1 {
                return other;
            }
            let before: String = s[..pos].chars().filter(char::is_ascii_digit).collect();
            let after = &s[pos + 1..];
            let grouped_otherwise = space_grouped || s.contains(APOSTROPHES);
            let looks_like_thousands = after.len() == 3
                && after.chars().all(|c| c.is_ascii_digit())
                && (1..=3).contains(&before.len())
                && !before.starts_with('0');
            if looks_like_thousands && !grouped_otherwise {
                other
            } else {
                c
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// date
// ---------------------------------------------------------------------------------------------

fn check_format(format: &str) -> Result<(), String> {
    if format.trim().is_empty() {
        return Err("empty date format".into());
    }
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(format!(
            "invalid date format {format:?} (see chrono strftime: %d, %m, %Y, %B, %b, %H, %M, ...)"
        ));
    }
    Ok(())
}

fn check_date(d: &DateFilter) -> Result<(), String> {
    if d.formats().is_empty() {
        return Err("`formats` is empty: give at least one date format".into());
    }
    d.formats().iter().try_for_each(|f| check_format(f))
}

fn apply_date(d: &DateFilter, raw: &str) -> Result<Value, FilterError> {
    check_date(d).map_err(|message| FilterError::Invalid {
        filter: "date",
        message,
    })?;
    let text = clean_text(raw);
    if text.is_empty() {
        return Ok(Value::Null);
    }
    let candidates = localize(&text, d.locale());
    for format in d.formats() {
        for candidate in &candidates {
            if let Some(iso) = parse_date(candidate, format) {
                return Ok(Value::String(iso));
            }
        }
    }
    Err(FilterError::Date {
        input: excerpt(&text),
        formats: d.formats().to_vec(),
    })
}

/// Parse with one strftime format into ISO 8601. A format with a month but no day gives the 1st.
fn parse_date(input: &str, format: &str) -> Option<String> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, input, StrftimeItems::new(format)).ok()?;
    let has_time = parsed.hour_mod_12().is_some() || parsed.timestamp().is_some();
    if has_time {
        if parsed.offset().is_some() {
            let dt = parsed.to_datetime().ok()?;
            return Some(dt.format("%Y-%m-%dT%H:%M:%S%.f%:z").to_string());
        }
        let dt = parsed.to_naive_datetime_with_offset(0).ok()?;
        return Some(dt.format("%Y-%m-%dT%H:%M:%S%.f").to_string());
    }
    let no_day = parsed.day().is_none()
        && parsed.ordinal().is_none()
        && parsed.week_from_sun().is_none()
        && parsed.week_from_mon().is_none()
        && parsed.isoweek().is_none();
    if no_day && parsed.month().is_some() {
        parsed.set_day(1).ok()?;
    }
    Some(parsed.to_naive_date().ok()?.format("%Y-%m-%d").to_string())
}

/// Fold case and the accents found in French month and weekday names.
fn fold(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'û' | 'ù' | 'ü' => 'u',
            'â' | 'à' => 'a',
            'î' | 'ï' => 'i',
            'ô' => 'o',
            'ç' => 'c',
            c => c,
        })
        .collect()
}

/// English abbreviations (what chrono's %b / %a read; %B / %A read them too) for a word.
fn translate(word: &str, locale: DateLocale) -> &'static [&'static str] {
    let w = fold(word);
    match locale {
        DateLocale::Fr => match w.as_str() {
            "janvier" | "janv" | "jan" => &["Jan"],
            "fevrier" | "fevr" | "fev" | "feb" => &["Feb"],
            "mars" => &["Mar"],
            "avril" | "avr" => &["Apr"],
            "mai" => &["May"],
            "juin" => &["Jun"],
            "juillet" | "juil" => &["Jul"],
            "aout" | "aou" => &["Aug"],
            "septembre" | "sept" | "sep" => &["Sep"],
            "octobre" | "oct" => &["Oct"],
            "novembre" | "nov" => &["Nov"],
            "decembre" | "dec" => &["Dec"],
            "lundi" | "lun" => &["Mon"],
            // "mar." is mardi (Tuesday) as often as mars (March): try both.
            "mar" => &["Tue", "Mar"],
            "mardi" => &["Tue"],
            "mercredi" | "mer" => &["Wed"],
            "jeudi" | "jeu" => &["Thu"],
            "vendredi" | "ven" => &["Fri"],
            "samedi" | "sam" => &["Sat"],
            "dimanche" | "dim" => &["Sun"],
            _ => &[],
        },
        DateLocale::En => match w.as_str() {
            "january" | "jan" => &["Jan"],
            "february" | "feb" => &["Feb"],
            "march" | "mar" => &["Mar"],
            "april" | "apr" => &["Apr"],
            "may" => &["May"],
            "june" | "jun" => &["Jun"],
            "july" | "jul" => &["Jul"],
            "august" | "aug" => &["Aug"],
            "september" | "sept" | "sep" => &["Sep"],
            "october" | "oct" => &["Oct"],
            "november" | "nov" => &["Nov"],
            "december" | "dec" => &["Dec"],
            "monday" | "mon" => &["Mon"],
            "tuesday" | "tues" | "tue" => &["Tue"],
            "wednesday" | "weds" | "wed" => &["Wed"],
            "thursday" | "thurs" | "thur" | "thu" => &["Thu"],
            "friday" | "fri" => &["Fri"],
            "saturday" | "sat" => &["Sat"],
            "sunday" | "sun" => &["Sun"],
            _ => &[],
        },
    }
}

/// Candidate spellings of `input` for chrono: the input itself, then the input with month and
/// weekday names replaced by English abbreviations (a following '.' kept or dropped, so that
/// both '%d %b %Y' and '%d %b. %Y' read "23 nov. 2026"). French "1er" becomes "1".
fn localize(input: &str, locale: DateLocale) -> Vec<String> {
    const MAX_CANDIDATES: usize = 16;
    let mut candidates = vec![String::new()];
    let mut changed = false;
    let push_all =
        |candidates: &mut Vec<String>, s: &str| candidates.iter_mut().for_each(|c| c.push_str(s));
    let mut rest = input;
    while let Some(c) = rest.chars().next() {
        if !c.is_alphabetic() {
            let n = rest.find(char::is_alphabetic).unwrap_or(rest.len());
            push_all(&mut candidates, &rest[..n]);
            rest = &rest[n..];
            continue;
        }
        let n = rest
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(rest.len());
        let consumed = &input[..input.len() - rest.len()];
        let (word, after) = rest.split_at(n);
        rest = after;
        let after_digit_one = consumed
            .strip_suffix('1')
            .is_some_and(|before| !before.ends_with(|c: char| c.is_ascii_digit()));
        if locale == DateLocale::Fr && after_digit_one && fold(word) == "er" {
            changed = true;
            continue;
        }
        let english = translate(word, locale);
        if english.is_empty() {
            push_all(&mut candidates, word);
            continue;
        }
        changed = true;
        let dotted = rest.starts_with('.');
        if dotted {
            rest = &rest[1..];
        }
        let mut next = Vec::new();
        for candidate in &candidates {
            for name in english {
                next.push(format!("{candidate}{name}"));
                if dotted {
                    next.push(format!("{candidate}{name}."));
                }
            }
        }
        next.truncate(MAX_CANDIDATES);
        candidates = next;
    }
    if !changed {
        return vec![input.to_owned()];
    }
    candidates.retain(|c| c != input);
    candidates.insert(0, input.to_owned());
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dec(sep: Option<char>) -> Filter {
        Filter::Decimal(DecimalFilter {
            sep,
            thousands: None,
        })
    }

    fn amount(input: &str) -> Value {
        apply(&[dec(None)], json!(input)).unwrap_or_else(|e| panic!("{input:?}: {e}"))
    }

    fn date(format: &str, input: &str) -> Result<Value, FilterError> {
        apply(
            &[Filter::Date(DateFilter::Format(format.into()))],
            json!(input),
        )
    }

    fn date_fr(formats: &[&str], input: &str) -> Result<Value, FilterError> {
        let filter = Filter::Date(DateFilter::Options(DateOptions {
            formats: formats.iter().map(|f| f.to_string()).collect(),
            locale: DateLocale::Fr,
        }));
        apply(&[filter], json!(input))
    }

    #[test]
    fn decimal_with_narrow_nbsp_and_euro() {
        let input = json!("1\u{202F}234,56\u{00A0}€");
        assert_eq!(
            apply(&[dec(Some(','))], input.clone()).unwrap(),
            json!(1234.56)
        );
        assert_eq!(apply(&[dec(None)], input).unwrap(), json!(1234.56));
    }

    #[test]
    fn decimal_signs() {
        assert_eq!(amount("-45,90 €"), json!(-45.9));
        assert_eq!(amount("+1\u{202F}200,00\u{00A0}€"), json!(1200.0));
        assert_eq!(amount("45,90-"), json!(-45.9));
        assert_eq!(amount("(45.90)"), json!(-45.9));
        assert_eq!(amount("(45,90 €)"), json!(-45.9));
        assert_eq!(amount("\u{2212}12,00 €"), json!(-12.0));
        assert_eq!(amount("-€45.90"), json!(-45.9));
        assert_eq!(amount("€-45.90"), json!(-45.9));
        assert_eq!(amount("-0,00 €"), json!(0.0));
    }

    #[test]
    fn decimal_separators_and_currencies() {
        assert_eq!(amount("1,234.56"), json!(1234.56));
        assert_eq!(amount("$1,234.56"), json!(1234.56));
        assert_eq!(amount("12 000,00 €"), json!(12000.0));
        assert_eq!(amount("1.234,56"), json!(1234.56));
        assert_eq!(amount("EUR 42"), json!(42.0));
        assert_eq!(amount("42 eur"), json!(42.0));
        assert_eq!(amount("CHF 1'234.50"), json!(1234.5));
        assert_eq!(amount("US$ 5"), json!(5.0));
        assert_eq!(amount("£3.5"), json!(3.5));
        assert_eq!(amount("1,234,567.89"), json!(1234567.89));
        assert_eq!(amount("1.234.567"), json!(1234567.0));
        assert_eq!(amount("1,234"), json!(1234.0));
        assert_eq!(amount("0,123"), json!(0.123));
        assert_eq!(amount("1234,567"), json!(1234.567));
        assert_eq!(amount("1 234,567"), json!(1234.567));
        assert_eq!(amount("1.5"), json!(1.5));
        assert_eq!(amount(",5"), json!(0.5));
        // Explicit separators.
        assert_eq!(
            apply(&[dec(Some('.'))], json!("1,234")).unwrap(),
            json!(1.234e3)
        );
        assert_eq!(
            apply(&[dec(Some(','))], json!("1,234")).unwrap(),
            json!(1.234)
        );
        let thousands_dot = Filter::Decimal(DecimalFilter {
            sep: None,
            thousands: Some(".".into()),
        });
        assert_eq!(
            apply(&[thousands_dot], json!("1.234")).unwrap(),
            json!(1234.0)
        );
    }

    #[test]
    fn decimal_null_empty_numbers_and_errors() {
        assert_eq!(apply(&[dec(None)], Value::Null).unwrap(), Value::Null);
        assert_eq!(apply(&[dec(None)], json!("  \u{a0}")).unwrap(), Value::Null);
        assert_eq!(apply(&[dec(None)], json!(12.5)).unwrap(), json!(12.5));
        for bad in [
            "abc",
            "12abc",
            "1,2,3",
            "1.234,56.7",
            "--12",
            "12 €  34 $ x",
            "1,,234",
            "(-12)",
            "€",
        ] {
            let err = apply(&[dec(None)], json!(bad)).unwrap_err();
            assert!(
                matches!(err, FilterError::Decimal { .. }),
                "{bad:?} gave {err:?}"
            );
        }
        // Thousands separator after the decimal one.
        assert!(apply(&[dec(Some('.'))], json!("1.234,56")).is_err());
        assert!(matches!(
            apply(&[dec(None)], json!(true)),
            Err(FilterError::Type {
                filter: "decimal",
                ..
            })
        ));
        let err = apply(&[dec(None)], json!("not a number")).unwrap_err();
        assert_eq!(err.to_string(), "cannot read \"not a number\" as an amount");
    }

    #[test]
    fn error_messages_quote_at_most_80_chars_of_input() {
        let long = format!("{}{}", "x".repeat(80), "SECRET".repeat(50));
        for err in [
            apply(&[dec(None)], json!(long)).unwrap_err(),
            apply(&[Filter::Regex(r"\d".into())], json!(long)).unwrap_err(),
            date("%d/%m/%Y", &long).unwrap_err(),
        ] {
            let message = err.to_string();
            assert!(!message.contains("SECRET"), "{message}");
            assert!(message.contains(&"x".repeat(80)), "{message}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(date("%d/%m/%Y", "23/11/2026").unwrap(), json!("2026-11-23"));
        assert_eq!(
            date("%b %d, %Y", "Nov 5, 2026").unwrap(),
            json!("2026-11-05")
        );
        assert_eq!(
            date("%B %d, %Y", "November 5, 2026").unwrap(),
            json!("2026-11-05")
        );
        assert_eq!(
            date("%b. %d, %Y", "Sept. 5, 2026").unwrap(),
            json!("2026-09-05")
        );
        assert_eq!(
            date_fr(&["%d %B %Y"], "5 novembre 2026").unwrap(),
            json!("2026-11-05")
        );
        assert_eq!(
            date_fr(&["%d %b %Y"], "23 nov. 2026").unwrap(),
            json!("2026-11-23")
        );
        assert_eq!(
            date_fr(&["%d %b. %Y"], "23 nov. 2026").unwrap(),
            json!("2026-11-23")
        );
        assert_eq!(
            date_fr(&["%d %B %Y"], "23 NOVEMBRE 2026").unwrap(),
            json!("2026-11-23")
        );
        assert_eq!(
            date_fr(&["%d %B %Y"], "1er décembre 2026").unwrap(),
            json!("2026-12-01")
        );
        assert_eq!(
            date_fr(&["%d %B %Y"], "15 août 2026").unwrap(),
            json!("2026-08-15")
        );
        assert_eq!(
            date_fr(&["%d %b %Y"], "3 févr. 2027").unwrap(),
            json!("2027-02-03")
        );
        assert_eq!(
            date_fr(&["%A %d %B %Y"], "jeudi 5 novembre 2026").unwrap(),
            json!("2026-11-05")
        );
        assert_eq!(
            date_fr(&["%a %d %b %Y"], "mar. 3 mar. 2026").unwrap(),
            json!("2026-03-03")
        );
        // Several formats, tried in order; English still works with locale fr.
        let formats = ["%d %B %Y", "%b %d, %Y"];
        assert_eq!(
            date_fr(&formats, "Nov 5, 2026").unwrap(),
            json!("2026-11-05")
        );
        assert_eq!(
            date_fr(&formats, "  5\u{a0}novembre \n2026 ").unwrap(),
            json!("2026-11-05")
        );
        // Date-times.
        assert_eq!(
            date("%d/%m/%Y %H:%M", "23/11/2026 14:05").unwrap(),
            json!("2026-11-23T14:05:00")
        );
        assert_eq!(
            date_fr(&["%d %B %Y à %Hh%M"], "23 novembre 2026 à 14h05").unwrap(),
            json!("2026-11-23T14:05:00")
        );
        assert_eq!(
            date("%Y-%m-%d %H:%M:%S%.f %z", "2026-11-23 14:05:00.250 +0100").unwrap(),
            json!("2026-11-23T14:05:00.250+01:00")
        );
        // A month without a day is the 1st.
        assert_eq!(
            date_fr(&["%B %Y"], "novembre 2026").unwrap(),
            json!("2026-11-01")
        );
        // Null and empty.
        assert_eq!(date("%d/%m/%Y", "").unwrap(), Value::Null);
        assert_eq!(
            apply(
                &[Filter::Date(DateFilter::Format("%d/%m/%Y".into()))],
                Value::Null
            )
            .unwrap(),
            Value::Null
        );
        // Errors.
        let err = date("%d/%m/%Y", "32/11/2026").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read \"32/11/2026\" as a date with format %d/%m/%Y"
        );
        assert!(
            date("%d %B %Y", "5 novembre 2026").is_err(),
            "English locale does not know French"
        );
        assert!(matches!(
            date("%Q", "x"),
            Err(FilterError::Invalid { filter: "date", .. })
        ));
    }

    #[test]
    fn text_filters() {
        let input = json!("  Compte\u{00A0}\u{202F}courant \n ");
        assert_eq!(
            apply(&[Filter::CleanText], input).unwrap(),
            json!("Compte courant")
        );
        assert_eq!(
            apply(&[Filter::CleanText], json!("a\u{2009}b\tc\u{200B}d")).unwrap(),
            json!("a b cd")
        );
        assert_eq!(apply(&[Filter::Lower], json!("ÉTÉ")).unwrap(), json!("été"));
        assert_eq!(apply(&[Filter::Upper], json!("été")).unwrap(), json!("ÉTÉ"));
        assert_eq!(apply(&[Filter::Upper], json!(12)).unwrap(), json!("12"));
        assert!(matches!(
            apply(&[Filter::CleanText], json!(["a"])),
            Err(FilterError::Type {
                filter: "clean_text",
                found: "an array"
            })
        ));
        // Null passes through text filters.
        for f in [
            Filter::CleanText,
            Filter::Lower,
            Filter::Upper,
            Filter::Regex("x".into()),
        ] {
            assert_eq!(f.apply(Value::Null).unwrap(), Value::Null);
        }
    }

    #[test]
    fn regex_filter() {
        let re = |p: &str, s: &str| apply(&[Filter::Regex(p.into())], json!(s));
        assert_eq!(
            re(r"Réf\. (\d+)", "Virement Réf. 12345 du 3/4").unwrap(),
            json!("12345")
        );
        assert_eq!(re(r"\d+", "abc 42 def 7").unwrap(), json!("42"));
        assert_eq!(re(r"(?:a(\d))|(?:b(\d))", "b7").unwrap(), json!("7"));
        let err = re(r"(\d+)", "none here").unwrap_err();
        assert_eq!(
            err,
            FilterError::NoMatch {
                pattern: r"(\d+)".into(),
                input: "none here".into()
            }
        );
        assert!(matches!(
            re("(", "x"),
            Err(FilterError::Invalid {
                filter: "regex",
                ..
            })
        ));
    }

    #[test]
    fn replace_filter() {
        let replace = |p: &str, w: &str| {
            Filter::Replace(ReplaceFilter {
                pattern: p.into(),
                with: w.into(),
            })
        };
        let out = apply(
            &[replace(r"(\d{2})/(\d{2})", "$2-$1")],
            json!("le 23/11 et 01/02"),
        )
        .unwrap();
        assert_eq!(out, json!("le 11-23 et 02-01"));
        let out = apply(
            &[replace(r"\s+CB\s*$", ""), Filter::CleanText],
            json!("CARTE  SUPERMARCHE CB "),
        )
        .unwrap();
        assert_eq!(out, json!("CARTE SUPERMARCHE"));
    }

    #[test]
    fn default_filter() {
        let default = Filter::Default(json!("n/a"));
        assert_eq!(
            apply(std::slice::from_ref(&default), Value::Null).unwrap(),
            json!("n/a")
        );
        assert_eq!(
            apply(std::slice::from_ref(&default), json!("")).unwrap(),
            json!("n/a")
        );
        assert_eq!(
            apply(std::slice::from_ref(&default), json!("x")).unwrap(),
            json!("x")
        );
        // Typical chain: missing element, then decimal, then default.
        let chain = [Filter::CleanText, dec(Some(',')), Filter::Default(json!(0))];
        assert_eq!(apply(&chain, Value::Null).unwrap(), json!(0));
        assert_eq!(apply(&chain, json!("  ")).unwrap(), json!(0));
        assert_eq!(apply(&chain, json!("3,50 €")).unwrap(), json!(3.5));
        assert_eq!(apply(&[], json!("as is")).unwrap(), json!("as is"));
    }

    #[test]
    fn validate() {
        assert!(
            Filter::Regex("(".into())
                .validate()
                .unwrap_err()
                .contains("regular expression")
        );
        assert!(
            Filter::Replace(ReplaceFilter {
                pattern: "[".into(),
                with: String::new()
            })
            .validate()
            .is_err()
        );
        assert!(Filter::Regex(r"(\d+)".into()).validate().is_ok());
        let bad_format = Filter::Date(DateFilter::Format("%d/%m/%Q".into()));
        assert!(bad_format.validate().unwrap_err().contains("%d/%m/%Q"));
        assert!(
            Filter::Date(DateFilter::Format("%d/%m/%".into()))
                .validate()
                .is_err()
        );
        assert!(
            Filter::Date(DateFilter::Format("%d/%m/%Y".into()))
                .validate()
                .is_ok()
        );
        let no_formats = Filter::Date(DateFilter::Options(DateOptions {
            formats: vec![],
            locale: DateLocale::Fr,
        }));
        assert!(no_formats.validate().is_err());
        assert!(dec(Some(' ')).validate().is_err());
        assert!(
            Filter::Decimal(DecimalFilter {
                sep: Some(','),
                thousands: Some(",".into())
            })
            .validate()
            .is_err()
        );
        assert!(dec(None).validate().is_ok());
        assert!(Filter::CleanText.validate().is_ok());
        assert_eq!(dec(None).name(), "decimal");
        assert_eq!(
            Filter::Date(DateFilter::Format(String::new())).name(),
            "date"
        );
    }

    #[test]
    fn deserialize_all_forms() {
        let text = r#"["clean_text", "decimal", {"decimal": {"sep": ","}}, {"date": "%d/%m/%Y"},
            {"date": {"formats": ["%d %B %Y"], "locale": "fr"}}, {"regex": "(\\d+)"},
            {"replace": {"pattern": "a", "with": "b"}}, {"default": 0}, "lower", "upper",
            {"decimal": null}, {"decimal": {"thousands": "."}}, {"clean_text": null}]"#;
        let filters: Vec<Filter> = serde_json::from_str(text).unwrap();
        assert_eq!(
            filters,
            vec![
                Filter::CleanText,
                dec(None),
                dec(Some(',')),
                Filter::Date(DateFilter::Format("%d/%m/%Y".into())),
                Filter::Date(DateFilter::Options(DateOptions {
                    formats: vec!["%d %B %Y".into()],
                    locale: DateLocale::Fr
                })),
                Filter::Regex(r"(\d+)".into()),
                Filter::Replace(ReplaceFilter {
                    pattern: "a".into(),
                    with: "b".into()
                }),
                Filter::Default(json!(0)),
                Filter::Lower,
                Filter::Upper,
                dec(None),
                Filter::Decimal(DecimalFilter {
                    sep: None,
                    thousands: Some(".".into())
                }),
                Filter::CleanText,
            ]
        );
        // Serialization round-trips.
        let back: Vec<Filter> =
            serde_json::from_value(serde_json::to_value(&filters).unwrap()).unwrap();
        assert_eq!(back, filters);
    }

    #[test]
    fn deserialize_errors() {
        let err = serde_json::from_str::<Vec<Filter>>(r#"["nope"]"#)
            .unwrap_err()
            .to_string();
        for name in FILTER_NAMES {
            assert!(err.contains(name), "{err}");
        }
        assert!(err.contains("nope"), "{err}");
        let err = serde_json::from_str::<Vec<Filter>>(r#"[{"nope": 1}]"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("clean_text") && err.contains("upper"), "{err}");
        let err = serde_json::from_str::<Vec<Filter>>(r#"[{"decimal": {"bogus": 1}}]"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus"), "{err}");
        let err = serde_json::from_str::<Vec<Filter>>(r#"["regex"]"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs an argument"), "{err}");
        let err = serde_json::from_str::<Vec<Filter>>(r#"[{"regex": "a", "lower": null}]"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("exactly one key"), "{err}");
        assert!(serde_json::from_str::<Vec<Filter>>(r#"[{}]"#).is_err());
        assert!(
            serde_json::from_str::<Vec<Filter>>(
                r#"[{"date": {"formats": ["%d"], "locale": "de"}}]"#
            )
            .is_err()
        );
        assert!(serde_json::from_str::<Vec<Filter>>(r#"[{"date": {"format": "%d"}}]"#).is_err());
        assert!(serde_json::from_str::<Vec<Filter>>(r#"[{"replace": {"pattern": "a"}}]"#).is_err());
        assert!(serde_json::from_str::<Vec<Filter>>(r#"[{"lower": 1}]"#).is_err());
        assert!(serde_json::from_str::<Vec<Filter>>(r#"[3]"#).is_err());
    }

    #[test]
    fn schema_lists_every_filter() {
        let schema = schemars::schema_for!(Vec<Filter>);
        let value = serde_json::to_value(&schema).unwrap();
        let filter = &value["$defs"]["Filter"];
        let one_of = filter["oneOf"].as_array().expect("Filter schema has oneOf");
        let mut names: Vec<&str> = one_of
            .iter()
            .flat_map(|alt| {
                let bare = alt["const"].as_str();
                let keyed = alt["properties"]
                    .as_object()
                    .into_iter()
                    .flat_map(|p| p.keys().map(String::as_str));
                bare.into_iter().chain(keyed)
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut expected = FILTER_NAMES.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected);
        // Bare names are exactly the unit-like filters.
        let bare: Vec<&str> = one_of
            .iter()
            .filter_map(|alt| alt["const"].as_str())
            .collect();
        assert_eq!(bare, BARE_NAMES);
        // Referenced definitions exist and are strict.
        let defs = value["$defs"].as_object().unwrap();
        for name in [
            "DecimalFilter",
            "ReplaceFilter",
            "DateFilter",
            "DateOptions",
            "DateLocale",
        ] {
            assert!(defs.contains_key(name), "missing $defs/{name}: {value:#}");
        }
        assert_eq!(defs["DecimalFilter"]["additionalProperties"], json!(false));
        assert_eq!(
            defs["DecimalFilter"]["properties"]["sep"]["enum"],
            json!([",", ".", null])
        );
        // Every example of the module docs validates structurally against the oneOf alternatives'
        // keys (smoke check that the schema and the deserializer agree on names).
        for alt in one_of {
            if let Some(props) = alt["properties"].as_object() {
                assert_eq!(alt["required"], json!(props.keys().collect::<Vec<_>>()));
            }
        }
    }
}
