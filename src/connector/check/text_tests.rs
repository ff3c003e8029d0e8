//! `check` on texts shown to people: maps by language are accepted with their tags in
//! normal form, and each bad form is reported at its own position.

use crate::connector::plan::{Action, LanguageTag, Login, StepKind};
use crate::connector::{LoadError, Plan, parse};

const HEAD: &str = "id: t\nname: T\nbase_url: http://h/\n";

fn accepted(src: &str) -> Plan {
    match parse(src, "t.yaml") {
        Ok(plan) => plan,
        Err(e) => panic!("refused: {e}\n{src}"),
    }
}

fn refused(src: &str) -> Vec<String> {
    match parse(src, "t.yaml") {
        Err(LoadError::Invalid(diags)) => diags.iter().map(|d| d.to_string()).collect(),
        Err(other) => panic!("not a check error: {other}"),
        Ok(_) => panic!("the connector is accepted:\n{src}"),
    }
}

fn tag(s: &str) -> LanguageTag {
    LanguageTag::parse(s).unwrap()
}

fn texts(text: &crate::connector::plan::LocalizedText) -> Vec<(String, String)> {
    text.iter()
        .map(|(l, t)| (l.map(|l| l.to_string()).unwrap_or_default(), t.to_string()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(l, t)| (l.to_string(), t.to_string()))
        .collect()
}

#[test]
fn maps_by_language_are_accepted_with_their_tags_in_normal_form() {
    let src = format!(
        "{HEAD}fields:\n\
         \x20 login: {{ label: {{ EN: Login, fr: Identifiant, pt-br: Usuário }}, placeholder: {{ en: e.g. 1234 }} }}\n\
         \x20 password: {{ label: Password, type: password }}\n\
         steps:\n\
         \x20 - ask_code: {{ kind: sms, label: {{ fr: Code reçu par SMS }} }}\n\
         \x20 - interactive: {{ until: p, instructions: {{ en: Click, fr: Cliquez }} }}\n\
         pages:\n\
         \x20 p: {{ url: x }}\n"
    );
    let plan = accepted(&src);
    let login = &plan.fields["login"];
    assert_eq!(
        texts(&login.label),
        pairs(&[("en", "Login"), ("fr", "Identifiant"), ("pt-BR", "Usuário")])
    );
    assert_eq!(
        texts(login.placeholder.as_ref().unwrap()),
        pairs(&[("en", "e.g. 1234")])
    );
    // Without a top-level `language`, a plain string's language is unknown.
    assert_eq!(
        texts(&plan.fields["password"].label),
        pairs(&[("", "Password")])
    );
    let Some(StepKind::Action(Action::AskCode(ask))) = plan.steps.first().map(|s| &s.kind) else {
        panic!("step 1 asks a code");
    };
    let label = ask.label.as_ref().unwrap();
    // Only French: shown in French to anybody.
    let picked = label.pick(&[tag("en")]);
    assert_eq!(
        (picked.text, picked.lang),
        ("Code reçu par SMS", Some(&tag("fr")))
    );
    let Some(StepKind::Action(Action::Interactive(it))) = plan.steps.get(1).map(|s| &s.kind) else {
        panic!("step 2 is interactive");
    };
    assert_eq!(
        it.instructions.as_ref().unwrap().pick(&[tag("fr")]).text,
        "Cliquez"
    );
}

#[test]
fn plain_strings_take_the_connectors_language() {
    let src = format!(
        "{HEAD}language: FR\n\
         fields:\n\
         \x20 login: {{ label: Identifiant }}\n\
         \x20 password: {{ label: {{ en: Password, fr: Mot de passe }}, type: password }}\n\
         pages:\n\
         \x20 p: {{ url: x }}\n\
         interactive_login: {{ start: /, until: p, instructions: Cliquez sur le carré }}\n"
    );
    let plan = accepted(&src);
    assert_eq!(
        texts(&plan.fields["login"].label),
        pairs(&[("fr", "Identifiant")])
    );
    assert_eq!(
        texts(&plan.fields["password"].label),
        pairs(&[("en", "Password"), ("fr", "Mot de passe")])
    );
    let Login::Interactive(il) = &plan.login else {
        panic!("an interactive login");
    };
    let picked = il.instructions.as_ref().unwrap().pick(&[tag("en")]);
    assert_eq!(picked.lang, Some(&tag("fr")));
}

#[test]
fn a_missing_ask_code_label_stays_missing() {
    let src = format!("{HEAD}steps:\n  - ask_code: {{ kind: email }}\n");
    let plan = accepted(&src);
    let Some(StepKind::Action(Action::AskCode(ask))) = plan.steps.first().map(|s| &s.kind) else {
        panic!("step 1 asks a code");
    };
    // The UI says what kind of code to give, in the person's language.
    assert!(ask.label.is_none());
}

#[test]
fn every_bad_text_is_reported_where_it_is() {
    let src = format!(
        "{HEAD}language: french\n\
         fields:\n\
         \x20 a: {{ label: {{}} }}\n\
         \x20 b: {{ label: '' }}\n\
         \x20 c: {{ label: {{ en: Login, english: Login }} }}\n\
         \x20 d: {{ label: {{ pt-br: Usuário, PT-BR: Usuário }} }}\n\
         \x20 e: {{ label: {{ en: '  ' }}, placeholder: {{ und: x }} }}\n\
         steps:\n\
         \x20 - ask_code: {{ label: {{ fr_FR: Code }} }}\n\
         \x20 - interactive: {{ until: p, instructions: '' }}\n\
         pages:\n\
         \x20 p: {{ url: x }}\n"
    );
    let got = refused(&src);
    let expect = [
        "t.yaml:4:11: language: \"french\" is not a language tag (such as en, fr, pt-BR)",
        "t.yaml:6:15: `label` names no language: write `{ en: …, fr: … }`, or a string",
        "t.yaml:7:15: `label` is empty: write the text, or leave `label` out",
        "t.yaml:8:28: `label`: \"english\" is not a language tag (such as en, fr, pt-BR)",
        "t.yaml:9:33: `label` gives the language pt-BR twice (as \"PT-BR\"; tags are compared in any case)",
        "t.yaml:10:21: `label` in en is empty: write the text, or leave en out",
        "t.yaml:10:44: `placeholder`: \"und\" says the language is undetermined: name the language, or write a plain string",
        "t.yaml:12:26: `label`: \"fr_FR\" is not a language tag (such as en, fr, pt-BR)",
        "t.yaml:13:44: `instructions` is empty: write the text, or leave `instructions` out",
    ];
    assert_eq!(got, expect, "{got:#?}");
}
