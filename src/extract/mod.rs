//! HTML → records, with `scraper`: rows (a selector, a table's data rows, or the whole
//! page), fields (css, col, text, attr, link, const, value), then [`filters`] that clean
//! each value (text, regex, replace, decimal, date, default).

pub mod filters;
pub mod records;

pub use records::{ExtractError, Rows, element_text, extract};
