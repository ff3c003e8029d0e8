//! Why a filter could not be applied, or cannot be applied at all.

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
