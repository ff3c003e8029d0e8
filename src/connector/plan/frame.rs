//! Frames a step or a page definition looks inside.

use super::page::Selector;

/// The frames to go through, outermost first, each by a CSS selector of its `<iframe>` in
/// the document of the one before: `frame: 'iframe#auth'`, or a list for nested frames.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FramePath(Vec<Selector>);

impl FramePath {
    pub(crate) fn new(frames: Vec<Selector>) -> FramePath {
        FramePath(frames)
    }

    pub fn frames(&self) -> &[Selector] {
        &self.0
    }
}
