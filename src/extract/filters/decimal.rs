//! The `decimal` filter: reading amounts ("1 234,56 €", "(12.00)", "CHF 1'000.-").

use serde_json::Value;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::FilterError;
use super::text::{excerpt, is_zero_width};

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

pub(super) fn check_decimal(d: &DecimalFilter) -> Result<(), String> {
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

pub(super) fn apply_decimal(opts: &DecimalFilter, raw: &str) -> Result<Value, FilterError> {
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
