//! The `date` filter: strftime parsing into ISO 8601, and French/English month and weekday names.

use chrono::format::{Item, Parsed, StrftimeItems};
use serde_json::Value;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::FilterError;
use super::text::{clean_text, excerpt};

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

pub(super) fn check_date(d: &DateFilter) -> Result<(), String> {
    if d.formats().is_empty() {
        return Err("`formats` is empty: give at least one date format".into());
    }
    d.formats().iter().try_for_each(|f| check_format(f))
}

pub(super) fn apply_date(d: &DateFilter, raw: &str) -> Result<Value, FilterError> {
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
