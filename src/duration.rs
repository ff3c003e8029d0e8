//! Durations as people write them: `20s`, `500ms`, `5m`, `1h`, or a number of seconds. One
//! parser serves connector files, the CLI's options and the API's schedules (which also
//! take days, `7d`, since schedules run for longer than a day).

use std::time::Duration;

/// The longest duration of a connector file or a CLI option.
const MAX_SECONDS: f64 = 86_400.0;
/// The most days a schedule's interval may be written with.
const MAX_DAYS: u64 = 366;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("invalid duration {0:?}: expected e.g. 500ms, 20s, 5m")]
    Number(String),
    #[error("invalid duration unit {unit:?} in {text:?}: use ms, s, m or h")]
    Unit { unit: String, text: String },
    #[error("duration {0:?} out of range (0 to 24h)")]
    Range(String),
    #[error("invalid duration {0:?}: expected e.g. 7d, 24h, 30m")]
    Days(String),
    /// A schedule's duration refused by [`parse`], with the hint that days exist.
    #[error("{0}; longer intervals are written in days (7d)")]
    NotDays(Box<DurationError>),
}

/// Parses `250ms`, `20s`, `5m`, `1h`, `1.5s`, or a bare number of seconds (0 to 24h).
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| DurationError::Number(text.to_string()))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(DurationError::Unit {
                unit: other.to_string(),
                text: text.to_string(),
            });
        }
    };
    if !secs.is_finite() || !(0.0..=MAX_SECONDS).contains(&secs) {
        return Err(DurationError::Range(text.to_string()));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Like [`parse`], plus whole days (`7d`, at most 366).
pub fn parse_with_days(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    if let Some(days) = t.strip_suffix('d') {
        return match days.trim().parse::<u64>() {
            Ok(n) if n <= MAX_DAYS => Ok(Duration::from_secs(n * 86_400)),
            _ => Err(DurationError::Days(text.to_string())),
        };
    }
    parse(t).map_err(|e| DurationError::NotDays(Box::new(e)))
}

/// A duration as a person reads it in a message: `500ms`, `10s`, `5m`.
pub fn format_duration(d: Duration) -> String {
    if !d.as_millis().is_multiple_of(1000) {
        format!("{}ms", d.as_millis())
    } else if d.as_secs() >= 60 && d.as_secs().is_multiple_of(60) {
        format!("{}m", d.as_secs() / 60)
    } else {
        format!("{}s", d.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("20s").unwrap(), Duration::from_secs(20));
        assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("3").unwrap(), Duration::from_secs(3));
        assert!(parse("3 days").is_err());
        assert!(parse("s").is_err());
        assert_eq!(
            parse("3 days").unwrap_err().to_string(),
            "invalid duration unit \"days\" in \"3 days\": use ms, s, m or h"
        );
    }

    #[test]
    fn days_only_with_days() {
        assert_eq!(
            parse_with_days("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            parse_with_days(" 24h ").unwrap(),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            parse_with_days("400d").unwrap_err().to_string(),
            "invalid duration \"400d\": expected e.g. 7d, 24h, 30m"
        );
        assert_eq!(
            parse_with_days("25h").unwrap_err().to_string(),
            "duration \"25h\" out of range (0 to 24h); longer intervals are written in days (7d)"
        );
        assert!(parse("7d").is_err());
    }

    #[test]
    fn formats_like_people_write() {
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    }
}
