//! Named pages, recognised by URL and DOM, and the checked pieces they are made of.

use regex::Regex;

use super::selector::Selector;

/// A page of the plan's page table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageId(usize);

impl PageId {
    pub(crate) fn new(index: usize) -> PageId {
        PageId(index)
    }

    pub fn index(self) -> usize {
        self.0
    }
}

#[derive(Debug, Clone)]
pub struct Page {
    pub name: String,
    pub matcher: PageMatch,
}

/// How to recognise a page: every part given must hold.
#[derive(Debug, Clone, Default)]
pub struct PageMatch {
    /// Look in this frame (its URL, its elements), and so do `any` and `all` unless they
    /// name their own.
    pub frame: Option<FramePath>,
    /// Searched in the full URL.
    pub url: Option<Pattern>,
    /// Matches a visible element.
    pub has: Option<Selector>,
    /// Matches an element, visible or not.
    pub exists: Option<Selector>,
    /// Matches no visible element.
    pub lacks: Option<Selector>,
    /// One of these holds.
    pub any: Option<Vec<PageMatch>>,
    /// Every one of these holds.
    pub all: Option<Vec<PageMatch>>,
}

/// A regular expression compiled once, with the text it was written as.
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: Regex,
}

impl Pattern {
    pub(crate) fn new(regex: Regex) -> Pattern {
        Pattern { regex }
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }
}

/// The frames to go through, outermost first, each by a CSS selector of its `<iframe>` in
/// the document of the one before: `frame: 'iframe#auth'`, or a list for nested frames.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FramePath(Vec<String>);

impl FramePath {
    pub(crate) fn new(frames: Vec<String>) -> FramePath {
        FramePath(frames)
    }

    pub fn frames(&self) -> &[String] {
        &self.0
    }
}
