//! The compiled plan of the demo connector, and a few shapes `check` refuses.

use std::path::Path;

use crate::codes::ErrorKind;
use crate::connector::plan::{Action, Login, Paginate, Section, StepKind, WaitFor};
use crate::connector::{LoadError, load, parse};
use crate::extract::{Element, FieldSource, Read};

fn demo() -> crate::connector::Plan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    load(&root.join("connectors/demo-bank.yaml")).unwrap()
}

#[test]
fn the_demo_connector_compiles_into_its_plan() {
    let plan = demo();
    assert_eq!(plan.id, "demo-bank");
    assert_eq!(plan.base_url.as_str(), "https://demo-bank.example/");
    assert_eq!(plan.identity_field(), Some("login"));
    // A `success` page turns auto success off.
    assert_eq!(plan.auto_success, None);
    let Login::Steps(login) = &plan.login else {
        panic!("the demo logs in with steps");
    };
    assert_eq!(login.len(), 7);
    let Some(StepKind::Action(Action::AwaitPage(ap))) = login.get(4).map(|s| &s.kind) else {
        panic!("login step 5 awaits a page");
    };
    let names: Vec<&str> = ap
        .one_of
        .iter()
        .map(|id| plan.page(*id).name.as_str())
        .collect();
    assert_eq!(names, ["accounts", "otp", "bad_login"]);
    let otp = &login[6];
    assert_eq!(otp.at.number, "7");
    assert_eq!(otp.at.summary, "when");
    assert_eq!(otp.at.section, Section::Login);
    let StepKind::Block(block) = &otp.kind else {
        panic!("login step 7 is a block");
    };
    assert_eq!(block[4].at.number, "7.5");
    let Some(StepKind::Action(Action::AwaitPage(ap))) = block.get(4).map(|s| &s.kind) else {
        panic!("step 7.5 awaits a page");
    };
    let otherwise = ap.otherwise.as_ref().unwrap();
    assert_eq!(otherwise.kind, ErrorKind::LoginFailed);
    assert_eq!(otherwise.to_string(), "LOGIN_FAILED.WRONG_TWOFA_CODE");

    let StepKind::ForEach { list, var, body } = &plan.steps[1].kind else {
        panic!("collect step 2 loops");
    };
    assert_eq!((list.as_str(), var.as_str()), ("accounts", "account"));
    let StepKind::Action(Action::Extract(ops)) = &body[1].kind else {
        panic!("step 2.2 extracts");
    };
    assert!(matches!(&ops.paginate, Some(Paginate::Next(t)) if t.max_pages == 20));
    assert!(matches!(&ops.fields[0].source, FieldSource::Value(_)));
    assert!(
        matches!(&ops.fields[1].source, FieldSource::Element { at: Element::Col(c), read: Read::Text } if c == "Date")
    );
    let StepKind::Action(Action::Download(dl)) = &plan.steps[5].kind else {
        panic!("step 6 downloads");
    };
    assert_eq!(dl.link.name, "url");
    assert!(
        matches!(&dl.link.source, FieldSource::Element { at: Element::Css(css), read: Read::Link(a) } if css == "a.invoice" && a == "href")
    );
    let names: Vec<&str> = dl.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["id", "date", "amount", "currency"]);
    let session = plan.session.as_ref().unwrap();
    assert_eq!(plan.page(session.expect).name, "accounts");
    assert_eq!(session.at.section, Section::Session);
}

#[test]
fn shapes_check_refuses_never_reach_a_plan() {
    let src = "id: t\nname: T\nbase_url: http://h/\npages:\n  home: { url: '/$' }\nsteps:\n  - goto: /\n    click: '#a'\n  - wait: { url: '/x$', gone: '#b' }\n  - steps: [ { goto: / } ]\n";
    let Err(LoadError::Invalid(diags)) = parse(src, "t.yaml") else {
        panic!("the connector is refused");
    };
    let messages: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        messages,
        [
            "t.yaml:7:5: a step holds one action; move `click` to its own step",
            "t.yaml:9:11: `wait` needs exactly one of selector, url, gone",
            "t.yaml:10:5: a `steps` block needs `when`, `for_each` or `frame`",
        ]
    );
    let ok = "id: t\nname: T\nbase_url: http://h/\nsteps:\n  - wait: { url: '/x$', timeout: 2s }\n";
    let plan = parse(ok, "t.yaml").unwrap();
    let StepKind::Action(Action::Wait(wait)) = &plan.steps[0].kind else {
        panic!("a wait");
    };
    assert!(matches!(&wait.until, WaitFor::Url(p) if p.is_match("http://h/x")));
    assert_eq!(wait.timeout, Some(std::time::Duration::from_secs(2)));
    assert!(matches!(plan.login, Login::None));
    assert_eq!(plan.auto_success, Some(std::time::Duration::from_secs(8)));
}

#[test]
fn frames_are_checked_selectors_outermost_first() {
    let src = "id: t\nname: T\nbase_url: http://h/\npages:\n  code: { frame: ['iframe#a', 'iframe.b'], has: '#otp' }\nsteps:\n  - goto: /\n  - frame: 'iframe#auth'\n    click: '#go'\n  - frame: 'iframe#auth'\n    steps:\n      - fill: { '#otp': '1' }\n";
    let plan = parse(src, "t.yaml").unwrap();
    let frames = |f: &Option<crate::connector::plan::FramePath>| -> Vec<String> {
        f.as_ref()
            .map(|f| f.frames().iter().map(|s| s.as_str().to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        frames(&plan.pages[0].matcher.frame),
        ["iframe#a", "iframe.b"]
    );
    assert_eq!(frames(&plan.steps[1].frame), ["iframe#auth"]);
    assert!(matches!(plan.steps[2].kind, StepKind::Block(_)));
    let bad = "id: t\nname: T\nbase_url: http://h/\nsteps:\n  - frame: 'iframe#a'\n    goto: /\n  - frame: []\n    click: '#a'\n  - frame: 'iframe[#'\n    click: '#a'\n  - frame: '#{{x}}'\n    click: '#a'\n";
    let Err(LoadError::Invalid(diags)) = parse(bad, "t.yaml") else {
        panic!("the connector is refused");
    };
    let messages: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert!(
        messages[0].starts_with("t.yaml:5:12: `frame` does not apply to `goto`"),
        "{messages:#?}"
    );
    assert!(
        messages[1].starts_with("t.yaml:7:12: `frame` needs a selector"),
        "{messages:#?}"
    );
    assert!(
        messages[2].starts_with("t.yaml:9:12: invalid CSS selector"),
        "{messages:#?}"
    );
    assert!(
        messages[3].starts_with("t.yaml:11:12: a frame's selector cannot hold a template"),
        "{messages:#?}"
    );
}

#[test]
fn volatile_replay_parameters_are_names_each_listed_once() {
    let ok =
        "id: t\nname: T\nbase_url: http://h/\nreplay: { volatile: [_, ts] }\nsteps:\n  - goto: /\n";
    assert_eq!(parse(ok, "t.yaml").unwrap().replay_volatile, ["_", "ts"]);
    let none = "id: t\nname: T\nbase_url: http://h/\nsteps:\n  - goto: /\n";
    assert!(parse(none, "t.yaml").unwrap().replay_volatile.is_empty());
    let bad = "id: t\nname: T\nbase_url: http://h/\nreplay:\n  volatile: [ts, '', ts]\nsteps:\n  - goto: /\n";
    let Err(LoadError::Invalid(diags)) = parse(bad, "t.yaml") else {
        panic!("the connector is refused");
    };
    let messages: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        messages,
        [
            "t.yaml:5:18: a volatile parameter needs a name",
            "t.yaml:5:22: the volatile parameter \"ts\" is listed twice",
        ]
    );
    let unknown =
        "id: t\nname: T\nbase_url: http://h/\nreplay: { volatil: [ts] }\nsteps:\n  - goto: /\n";
    assert!(
        parse(unknown, "t.yaml").is_err(),
        "an unknown key is refused"
    );
}
