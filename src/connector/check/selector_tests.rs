//! `check` on selectors: every bad form is reported at its own position, good forms become
//! typed selectors.

use crate::connector::plan::{Action, Part, StepKind};
use crate::connector::{LoadError, parse};

const HEAD: &str = "id: t\nname: T\nbase_url: http://h/\n";

/// The diagnostics of a connector whose `steps:` are `steps` (line 5 onwards).
fn refused(pages: &str, steps: &str) -> Vec<String> {
    let src = format!("{HEAD}{pages}steps:\n{steps}");
    match parse(&src, "t.yaml") {
        Err(LoadError::Invalid(diags)) => diags.iter().map(|d| d.to_string()).collect(),
        Err(other) => panic!("not a check error: {other}"),
        Ok(_) => panic!("the connector is accepted:\n{src}"),
    }
}

#[test]
fn every_bad_form_is_reported_where_it_is() {
    let steps = "  - click: ['#ok', 'role=buton']\n\
                 \x20 - click: []\n\
                 \x20 - fill: { 'text=\"Login': x }\n\
                 \x20 - wait: { selector: 'div >> ' }\n\
                 \x20 - wait: { gone: 'role=button[label=\"x\"]' }\n\
                 \x20 - press: { key: Enter, selector: 'text=' }\n\
                 \x20 - click: 'div##a'\n\
                 \x20 - click: { selector: 'role=button[name=\"x', optional: true }\n\
                 \x20 - steps: [ { click: '#a' } ]\n\
                 \x20   when: { present: ['#a', 'role=heading[level=7]'] }\n";
    let got = refused("", steps);
    let expect = [
        "t.yaml:5:20: \"role=buton\": unknown role \"buton\"",
        "t.yaml:6:12: empty list of selectors: give at least one",
        "t.yaml:7:28: \"text=\\\"Login\": unterminated quote",
        "t.yaml:8:23: \"div >> \": nothing on one side of `>>`",
        "t.yaml:9:19: \"role=button[label=\\\"x\\\"]\": unknown role attribute \"label\"",
        "t.yaml:10:36: \"text=\": the text after `text=` is empty",
        "t.yaml:11:12: invalid CSS selector \"div##a\"",
        "t.yaml:12:24: \"role=button[name=\\\"x\": unterminated quote",
        "t.yaml:14:29: \"role=heading[level=7]\": level must be 1 to 6",
    ];
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for (g, e) in got.iter().zip(expect) {
        assert!(g.starts_with(e), "{g}\n  does not start with\n{e}");
    }
}

#[test]
fn page_definitions_and_pagination_are_checked_too() {
    let pages = "pages:\n  home: { has: 'role=nav' }\n  other: { lacks: ['text=\"x'] }\n";
    let steps = "  - extract:\n      as: l\n      rows: tr\n      fields: { a: { css: td } }\n      paginate: { next: 'text=' }\n";
    let got = refused(pages, steps);
    assert!(
        got[0].starts_with("t.yaml:5:16: \"role=nav\": unknown role"),
        "{got:#?}"
    );
    assert!(
        got[1].starts_with("t.yaml:6:20: \"text=\\\"x\": unterminated quote"),
        "{got:#?}"
    );
    assert!(
        got.iter()
            .any(|g| g.contains("the text after `text=` is empty")),
        "{got:#?}"
    );
}

#[test]
fn extract_and_download_refuse_text_and_role() {
    let steps = "  - extract:\n      as: l\n      rows: 'role=row'\n      fields: { a: { css: 'text=Total' } }\n  - download:\n      as: d\n      links: 'table >> a'\n";
    let got = refused("", steps);
    assert_eq!(got.len(), 3, "{got:#?}");
    for g in &got {
        assert!(g.contains("not in extract or download"), "{g}");
    }
}

#[test]
fn good_forms_become_typed_selectors() {
    let src = format!(
        "{HEAD}steps:\n  - click: ['#submit', 'button[type=submit]', 'text=Se connecter']\n  - fill: {{ 'role=textbox[name=\"Identifiant\"]': x }}\n  - click: 'consent-banner >> button.accept'\n  - click: '#acct-{{{{a.id}}}}'\n"
    );
    let plan = parse(&src, "t.yaml").unwrap();
    let StepKind::Action(Action::Click(click)) = &plan.steps[0].kind else {
        panic!("a click");
    };
    assert_eq!(click.selector.alternatives().len(), 3);
    let StepKind::Action(Action::Fill(pairs)) = &plan.steps[1].kind else {
        panic!("a fill");
    };
    assert!(matches!(
        &pairs[0].0.alternatives()[0].chain[0],
        Part::Role { role, name: Some(n), exact: false, level: None } if role == "textbox" && n == "Identifiant"
    ));
    let StepKind::Action(Action::Click(chain)) = &plan.steps[2].kind else {
        panic!("a click");
    };
    assert_eq!(chain.selector.alternatives().len(), 1);
    assert_eq!(
        plan.steps[0].at.summary,
        "click ['#submit', 'button[type=submit]', 'text=Se connecter']"
    );
}
