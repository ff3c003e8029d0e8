//! Page classification: which of the connector's named pages the browser is on.
//! One probe reads every selector involved; the URL regexes are matched here, in Rust,
//! so they mean exactly what `gleaner check` validated (and compiled).

use std::collections::HashMap;

use crate::browser::Probe;
use crate::connector::plan::{PageMatch, Selector};

/// The selectors a set of pages depends on, in probe order.
#[derive(Debug, Default)]
pub struct SelectorSet {
    pub list: Vec<Selector>,
    index: HashMap<Selector, usize>,
}

impl SelectorSet {
    pub fn add(&mut self, sel: &Selector) -> usize {
        if let Some(i) = self.index.get(sel) {
            return *i;
        }
        self.list.push(sel.clone());
        self.index.insert(sel.clone(), self.list.len() - 1);
        self.list.len() - 1
    }

    pub fn add_page(&mut self, page: &PageMatch) {
        for sel in [&page.has, &page.exists, &page.lacks].into_iter().flatten() {
            self.add(sel);
        }
        for list in [&page.any, &page.all].into_iter().flatten() {
            for p in list {
                self.add_page(p);
            }
        }
    }

    pub fn state<'p>(
        &self,
        probe: &'p Probe,
        sel: &Selector,
    ) -> Option<&'p crate::browser::SelectorState> {
        self.index.get(sel).and_then(|i| probe.selectors.get(*i))
    }
}

/// Whether `page` matches the probed state.
pub fn matches(page: &PageMatch, probe: &Probe, sels: &SelectorSet) -> bool {
    if let Some(u) = &page.url
        && !u.is_match(&probe.url)
    {
        return false;
    }
    let st = |s: &Selector| sels.state(probe, s).copied();
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
        && !any.iter().any(|p| matches(p, probe, sels))
    {
        return false;
    }
    if let Some(all) = &page.all
        && !all.iter().all(|p| matches(p, probe, sels))
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
        let probe = |url: &str, modal: bool| Probe {
            url: url.into(),
            ready: crate::browser::ReadyState::Complete,
            marked: false,
            selectors: vec![state(modal as u32, modal)],
        };
        assert!(matches(otp, &probe("http://h/otp", false), &sels));
        assert!(matches(otp, &probe("http://h/login", true), &sels));
        assert!(!matches(otp, &probe("http://h/login", false), &sels));
    }
}
