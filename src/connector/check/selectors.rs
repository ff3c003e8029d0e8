//! Selectors of the steps and pages that act on the live page (click, fill, wait, `when`,
//! page definitions…): one string or a list of alternatives, each CSS, `text=` or `role=`,
//! chained with `>>`. Each alternative is reported at its own position.

use super::checker::Checker;
use crate::connector::located::{Located, Pos};
use crate::connector::plan::{Selector, SelectorTemplate};
use crate::connector::selector_spec::SelectorSpec;

impl Checker<'_> {
    /// A selector without variables (pages, `when`, `fill` and `select` keys).
    pub(super) fn live_selector(
        &mut self,
        spec: &Located<SelectorSpec>,
        fallback: Pos,
    ) -> Option<Selector> {
        let alternatives = self.alternatives(spec, fallback)?;
        let mut ok = true;
        for alt in &alternatives {
            if let Err(e) = Selector::parse(&[alt.value.as_str()]) {
                self.err(alt.pos, e.to_string());
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let texts: Vec<&str> = alternatives.iter().map(|a| a.value.as_str()).collect();
        Selector::parse(&texts).ok()
    }

    /// A selector that may name variables (`'#acct-{{account.id}}'`), rendered when it
    /// runs; its variables are looked up then.
    pub(super) fn live_selector_template(
        &mut self,
        spec: &Located<SelectorSpec>,
        fallback: Pos,
    ) -> Option<SelectorTemplate> {
        let alternatives = self.alternatives(spec, fallback)?;
        let mut ok = true;
        for alt in &alternatives {
            if let Err(e) = SelectorTemplate::parse(&[alt.value.as_str()]) {
                self.err(alt.pos, e);
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let texts: Vec<&str> = alternatives.iter().map(|a| a.value.as_str()).collect();
        SelectorTemplate::parse(&texts).ok()
    }

    /// The alternatives with their positions; an empty list is reported.
    fn alternatives(
        &mut self,
        spec: &Located<SelectorSpec>,
        fallback: Pos,
    ) -> Option<Vec<Located<String>>> {
        let pos = spec.pos.or(fallback);
        let alternatives: Vec<Located<String>> = spec
            .alternatives(pos)
            .into_iter()
            .map(|a| Located {
                pos: a.pos.or(pos),
                value: a.value,
            })
            .collect();
        if alternatives.is_empty() {
            self.err(pos, "empty list of selectors: give at least one");
            return None;
        }
        Some(alternatives)
    }
}
