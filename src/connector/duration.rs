//! Durations as connector authors write them: `20s`, `500ms`, `5m`, `1h`, or a number of seconds.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Duration);

impl Timeout {
    pub fn get(self) -> Duration {
        self.0
    }
}

/// Parses `250ms`, `20s`, `5m`, `1h`, `1.5s`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 500ms, 20s, 5m"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "invalid duration unit {other:?} in {text:?}: use ms, s, m or h"
            ));
        }
    };
    if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("duration {text:?} out of range (0 to 24h)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timeout;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 500ms, 20s, 5m, or a number of seconds")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Timeout, E> {
                parse_duration(s).map(Timeout).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Timeout, E> {
                parse_duration(&n.to_string())
                    .map(Timeout)
                    .map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Timeout, E> {
                parse_duration(&n.to_string())
                    .map(Timeout)
                    .map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Timeout, E> {
                parse_duration(&n.to_string())
                    .map(Timeout)
                    .map_err(E::custom)
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl Serialize for Timeout {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", self.0.as_millis()))
    }
}

impl JsonSchema for Timeout {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: 500ms, 20s, 5m, 1h, or a number of seconds.",
            "oneOf": [
                { "type": "string", "pattern": "^\\s*[0-9.]+\\s*(ms|s|m|min|h)?\\s*$" },
                { "type": "number", "minimum": 0 }
            ]
        })
    }
}

/// `false`, or a delay such as `8s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AutoSuccess {
    Off,
    After(Timeout),
}

impl AutoSuccess {
    pub const DEFAULT_DELAY: std::time::Duration = std::time::Duration::from_secs(8);

    /// The delay, or `None` when turned off.
    pub fn delay(this: Option<AutoSuccess>) -> Option<std::time::Duration> {
        match this {
            None => Some(Self::DEFAULT_DELAY),
            Some(AutoSuccess::Off) => None,
            Some(AutoSuccess::After(t)) => Some(t.get()),
        }
    }
}

impl<'de> Deserialize<'de> for AutoSuccess {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = AutoSuccess;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`false`, `true` or a duration such as 8s")
            }
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<AutoSuccess, E> {
                Ok(if b {
                    AutoSuccess::After(Timeout(AutoSuccess::DEFAULT_DELAY))
                } else {
                    AutoSuccess::Off
                })
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<AutoSuccess, E> {
                parse_duration(s)
                    .map(|d| AutoSuccess::After(Timeout(d)))
                    .map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<AutoSuccess, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<AutoSuccess, E> {
                self.visit_str(&n.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for AutoSuccess {
    fn schema_name() -> Cow<'static, str> {
        "AutoSuccess".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "`false`, `true` (8s) or a duration such as 8s",
            "type": ["boolean", "string", "number"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("20s").unwrap(), Duration::from_secs(20));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("s").is_err());
    }
}
