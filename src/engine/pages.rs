//! Page classification: which of the connector's named pages the browser is on.
//! One probe per frame involved reads every selector looked for there; the URL regexes are
//! matched here, in Rust, so they mean exactly what `gleaner check` validated (and
//! compiled).

use std::collections::HashMap;

use crate::browser::{FramePath, Probe, SelectorState};
use crate::connector::plan::{self, PageMatch, Selector};

/// The selectors a set of pages (and conditions) depends on, grouped by the frame they are
/// looked for in, in probe order. The page itself is always the first group.
#[derive(Debug)]
pub struct SelectorSet {
    pub groups: Vec<Group>,
    index: HashMap<(FramePath, Selector), (usize, usize)>,
}

/// The selectors looked for in one frame.
#[derive(Debug)]
pub struct Group {
    pub frame: FramePath,
    pub selectors: Vec<Selector>,
}

impl Default for SelectorSet {
    fn default() -> Self {
        SelectorSet {
            groups: vec![Group {
                frame: FramePath::default(),
                selectors: Vec::new(),
            }],
            index: HashMap::new(),
        }
    }
}

impl SelectorSet {
    fn group(&mut self, frame: &FramePath) -> usize {
        match self.groups.iter().position(|g| g.frame == *frame) {
            Some(i) => i,
            None => {
                self.groups.push(Group {
                    frame: frame.clone(),
                    selectors: Vec::new(),
                });
                self.groups.len() - 1
            }
        }
    }

    /// Looks for `sel` in `frame` too.
    pub fn add(&mut self, frame: &FramePath, sel: &Selector) {
        let g = self.group(frame);
        let key = (frame.clone(), sel.clone());
        if self.index.contains_key(&key) {
            return;
        }
        self.groups[g].selectors.push(sel.clone());
        self.index
            .insert(key, (g, self.groups[g].selectors.len() - 1));
    }

    /// Looks for what `page` needs, in its frame (the page itself by default).
    pub fn add_page(&mut self, page: &PageMatch) {
        self.add_page_in(page, &FramePath::default());
    }

    fn add_page_in(&mut self, page: &PageMatch, outer: &FramePath) {
        let frame = frame_of(page, outer);
        self.group(&frame);
        for sel in [&page.has, &page.exists, &page.lacks].into_iter().flatten() {
            self.add(&frame, sel);
        }
        for list in [&page.any, &page.all].into_iter().flatten() {
            for p in list {
                self.add_page_in(p, &frame);
            }
        }
    }

    /// The state of `sel` in `frame`, in `probes` (made for this set).
    pub fn state<'p>(
        &self,
        probes: &'p Probes,
        frame: &FramePath,
        sel: &Selector,
    ) -> Option<&'p SelectorState> {
        let (g, i) = self.index.get(&(frame.clone(), sel.clone()))?;
        probes.groups.get(*g)?.selectors.get(*i)
    }

    /// The probe of `frame`'s group.
    pub fn probe_of<'p>(&self, probes: &'p Probes, frame: &FramePath) -> Option<&'p Probe> {
        let g = self.groups.iter().position(|g| g.frame == *frame)?;
        probes.groups.get(g)
    }
}

/// One probe per group of a [`SelectorSet`], in its order: the page's first.
#[derive(Debug, Clone)]
pub struct Probes {
    pub groups: Vec<Probe>,
}

impl Probes {
    /// The page's own probe (its URL, its loading state).
    pub fn top(&self) -> &Probe {
        &self.groups[0]
    }
}

/// The frame a page definition looks in: its own, or the one it sits in.
fn frame_of(page: &PageMatch, outer: &FramePath) -> FramePath {
    match &page.frame {
        Some(f) => to_browser(f),
        None => outer.clone(),
    }
}

/// A plan's frame path, as the browser takes it.
pub fn to_browser(frame: &plan::FramePath) -> FramePath {
    FramePath::new(
        frame
            .frames()
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
    )
}

/// Whether `page` matches the probed state.
pub fn matches(page: &PageMatch, probes: &Probes, sels: &SelectorSet) -> bool {
    matches_in(page, probes, sels, &FramePath::default())
}

fn matches_in(page: &PageMatch, probes: &Probes, sels: &SelectorSet, outer: &FramePath) -> bool {
    let frame = frame_of(page, outer);
    let Some(probe) = sels.probe_of(probes, &frame) else {
        return false;
    };
    if !frame.is_top() && (probe.no_frame.is_some() || !probe.ready.is_parsed()) {
        return false;
    }
    if let Some(u) = &page.url
        && !u.is_match(&probe.url)
    {
        return false;
    }
    let st = |s: &Selector| sels.state(probes, &frame, s).copied();
    if let Some(s) = &page.has
        && !st(s).is_some_and(|x| x.visible)
    {
        return false;
    }
    if let Some(s) = &page.exists
        && st(s).is_none_or(|x| x.count == 0)
    {
        return false;
    }
    if let Some(s) = &page.lacks
        && st(s).is_some_and(|x| x.visible)
    {
        return false;
    }
    if let Some(any) = &page.any
        && !any.iter().any(|p| matches_in(p, probes, sels, &frame))
    {
        return false;
    }
    if let Some(all) = &page.all
        && !all.iter().all(|p| matches_in(p, probes, sels, &frame))
    {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::SelectorState;

    fn state(count: u32, visible: bool) -> SelectorState {
        SelectorState {
            count,
            visible,
            enabled: visible,
            invalid: false,
            matched: None,
        }
    }

    #[test]
    fn url_and_dom_combine() {
        let yaml = "id: t\nname: T\nbase_url: http://h/\npages:\n  otp:\n    any:\n      - url: /otp$\n      - has: '#otp-modal input'\nsteps:\n  - goto: /\n";
        let plan = crate::connector::parse(yaml, "t.yaml").unwrap();
        let otp = &plan.pages[0].matcher;
        let mut sels = SelectorSet::default();
        sels.add_page(otp);
        let probe = |url: &str, modal: bool| Probes {
            groups: vec![Probe {
                url: url.into(),
                ready: crate::browser::ReadyState::Complete,
                marked: false,
                selectors: vec![state(modal as u32, modal)],
                no_frame: None,
            }],
        };
        assert!(matches(otp, &probe("http://h/otp", false), &sels));
        assert!(matches(otp, &probe("http://h/login", true), &sels));
        assert!(!matches(otp, &probe("http://h/login", false), &sels));
    }
}
