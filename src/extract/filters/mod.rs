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
//! Layout: `filter` holds the [`Filter`] type and [`apply`]; `error` why a filter fails;
//! `text` the shared text helpers; `serde_impl` the hand-written `Deserialize` /
//! `JsonSchema` impls; `decimal` the amount filter; `date` the date filter and the
//! French/English month and weekday names.

mod date;
mod decimal;
mod error;
mod filter;
mod serde_impl;
#[cfg(test)]
mod tests;
mod text;

pub use date::{DateFilter, DateLocale, DateOptions};
pub use decimal::DecimalFilter;
pub use error::{FilterError, InvalidFilter};
pub use filter::{FILTER_NAMES, Filter, ReplaceFilter, apply};
