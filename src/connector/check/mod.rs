//! Static checks of a parsed connector, what serde cannot see, and its compilation into a
//! [`Plan`](super::plan::Plan). Every problem found is reported (the check does not stop at the first), each
//! at the position of its node. Each check returns the piece of the plan it validated, or
//! `None` after reporting why; the plan is built only when nothing was reported.

mod checker;
mod json;
mod records;
mod selectors;
mod steps;
#[cfg(test)]
mod tests;
mod texts;

pub use checker::check;
#[cfg(test)]
mod selector_tests;
#[cfg(test)]
mod text_tests;
