//! HTML → records, with `scraper`: rows (a selector, a table's data rows, or the whole
//! page), fields (css, col, text, attr, link, const, value), then [`filters`] that clean
//! each value (text, regex, replace, decimal, date, default).

mod field;
pub mod filters;
pub mod json;
pub mod records;

pub use field::{Element, Field, FieldSource, Read};
pub use records::{DocumentRow, ExtractError, Rows, element_text, extract, extract_documents};
