//! Connector files: the format as written ([`model`], with positions), the static checks
//! behind `gleaner check` ([`check`]), which compile a connector into the [`Plan`] the
//! engine runs ([`plan`]). Every problem is reported as `file:line:col: message`.

pub mod catalog;
pub mod check;
mod click_forms;
mod diagnostic;
pub mod duration;
mod load;
pub mod located;
pub mod model;
pub mod plan;
mod schema;
pub mod selector_spec;
pub(crate) mod shorthand;

pub use diagnostic::Diagnostic;
pub use load::{LoadError, load, parse, parse_unchecked};
pub use located::{Located, Pos};
pub use model::*;
pub use plan::Plan;
pub use schema::json_schema;
