//! Page classification: which of the connector's named pages the browser is on.
//! One probe reads every selector involved; the URL regexes are matched here, in Rust,
//! so they mean exactly what `gleaner check` validated.

use std::collections::HashMap;

use regex::Regex;

use crate::browser::Probe;
use crate::connector::PageDef;

/// The selectors a set of pages depends on, in probe order.
#[derive(Debug, Default)]
pub struct SelectorSet {
    pub list: Vec<String>,
    index: HashMap<String, usize>,
}

impl SelectorSet {
    pub fn add(&mut self, sel: &str) -> usize {
        if let Some(i) = self.index.get(sel) {
            return *i;
        }
        self.list.push(sel.to_string());
        self.index.insert(sel.to_string(), self.list.len() - 1);
        self.list.len() - 1
    }

    pub fn add_page(&mut self, page: &PageDef) {
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
        sel: &str,
    ) -> Option<&'p crate::browser::SelectorState> {
        self.index.get(sel).and_then(|i| probe.selectors.get(*i))
    }
}

/// Compiled URL regexes, shared across a collect.
#[derive(Debug, Default)]
pub struct Regexes {
    cache: HashMap<String, Regex>,
}

impl Regexes {
    pub fn is_match(&mut self, pattern: &str, text: &str) -> bool {
        if !self.cache.contains_key(pattern) {
            // Checked at load time; an invalid one here can only come from code, and never matches.
            match Regex::new(pattern) {
                Ok(re) => {
                    self.cache.insert(pattern.to_string(), re);
                }
                Err(_) => return false,
            }
        }
        self.cache.get(pattern).is_some_and(|re| re.is_match(text))
    }
}

/// Whether `page` matches the probed state.
pub fn matches(page: &PageDef, probe: &Probe, sels: &SelectorSet, regexes: &mut Regexes) -> bool {
    if let Some(u) = &page.url
        && !regexes.is_match(u, &probe.url)
    {
        return false;
    }
    let st = |s: &str| sels.state(probe, s).copied();
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
        && !any.iter().any(|p| matches(p, probe, sels, regexes))
    {
        return false;
    }
    if let Some(all) = &page.all
        && !all.iter().all(|p| matches(p, probe, sels, regexes))
    {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::SelectorState;
    use crate::connector::Sp;

    fn state(count: u32, visible: bool) -> SelectorState {
        SelectorState {
            count,
            visible,
            enabled: visible,
            invalid: false,
        }
    }

    #[test]
    fn url_and_dom_combine() {
        let otp = PageDef {
            any: Some(vec![
                Sp::new(PageDef {
                    url: Some(Sp::new("/otp$".into())),
                    ..Default::default()
                }),
                Sp::new(PageDef {
                    has: Some(Sp::new("#otp-modal input".into())),
                    ..Default::default()
                }),
            ]),
            ..Default::default()
        };
        let mut sels = SelectorSet::default();
        sels.add_page(&otp);
        let mut re = Regexes::default();
        let probe = |url: &str, modal: bool| Probe {
            url: url.into(),
            ready: crate::browser::ReadyState::Complete,
            marked: false,
            selectors: vec![state(modal as u32, modal)],
        };
        assert!(matches(&otp, &probe("http://h/otp", false), &sels, &mut re));
        assert!(matches(
            &otp,
            &probe("http://h/login", true),
            &sels,
            &mut re
        ));
        assert!(!matches(
            &otp,
            &probe("http://h/login", false),
            &sels,
            &mut re
        ));
    }
}
