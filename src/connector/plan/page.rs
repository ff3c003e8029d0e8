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
