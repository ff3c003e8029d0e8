//! Connector texts in the person's language, in a real browser against the real service:
//! the UI shows each label in its own language (the UI's, else English, else the
//! connector's first) marked with `lang`, and its 2FA box says what to type once.

use std::time::Duration;

use gleaner::api::messages::ServerMessage;
use gleaner::connector::plan::LanguageTag;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{browser_slot, root};
use crate::server::TestService;
use crate::ui::{Person, give_code, session};

/// The login and password labels of the form: `[text, lang]` each.
async fn form_labels(person: &Person) -> Value {
    person
        .eval(
            "['login', 'password'].map(n => { const l = document.querySelector('label[for=field-' + n + ']'); \
               return [l.textContent, l.getAttribute('lang')]; })",
        )
        .await
}

/// The 2FA box's label `[text, lang]`, and how many times the screen says "SMS" (twice
/// when the box says it both in the connector's words and in the UI's).
async fn twofa_box(person: &Person) -> (Value, usize) {
    person.wait_visible("#twofa-code").await;
    let label = person
        .eval(
            "(() => { const l = document.querySelector('#twofa-label'); \
               return [l.textContent, l.getAttribute('lang')]; })()",
        )
        .await;
    let text = person.eval("document.body.innerText").await;
    (label, text.as_str().unwrap().matches("SMS").count())
}

/// Adds alice's demo bank account through the UI in `lang`, up to the 2FA box; returns the
/// form's labels and the box.
async fn add_alice(
    svc: &TestService,
    connector: &str,
    lang: &str,
    test: &'static str,
) -> (Value, (Value, usize)) {
    let url = session(svc, json!({ "userId": test, "connector": connector })).await;
    let mut person = Person::new(test, (800, 900)).await;
    person.goto(&format!("{url}&lang={lang}")).await;
    person.wait_screen("form").await;
    let labels = form_labels(&person).await;
    person.shot("form").await;
    person.type_into("#field-login", "alice").await;
    person.type_into("#field-password", "demo").await;
    person.click("#submit").await;
    let twofa = twofa_box(&person).await;
    person.shot("2fa").await;
    give_code(&person, svc, "alice").await;
    person.wait_screen("success").await;
    person.close().await;
    (labels, twofa)
}

#[tokio::test]
async fn the_english_ui_shows_english_labels_and_the_french_ui_french_ones() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;

    let (labels, (twofa, sms)) = add_alice(&svc, "demo-bank", "en", "labels-en").await;
    assert_eq!(labels, json!([["Login", "en"], ["Password", "en"]]));
    assert_eq!(twofa, json!(["Code received by SMS", "en"]));
    assert_eq!(sms, 1, "the 2FA box says it once");

    let (labels, (twofa, sms)) = add_alice(&svc, "demo-bank", "fr", "labels-fr").await;
    assert_eq!(
        labels,
        json!([["Identifiant", "fr"], ["Mot de passe", "fr"]])
    );
    assert_eq!(twofa, json!(["Code reçu par SMS", "fr"]));
    assert_eq!(sms, 1, "the 2FA box says it once");
    svc.stop().await;
}

/// A copy of the demo bank whose login label is only in French, whose password label is a
/// plain string of unknown language, and whose `ask_code` has no label.
fn french_only_connector() -> String {
    let demo = std::fs::read_to_string(root().join("connectors/demo-bank.yaml")).unwrap();
    let replaced = demo
        .replace("id: demo-bank\n", "id: demo-bank-fr\n")
        .replace(
            "{ label: { en: Login, fr: Identifiant } }",
            "{ label: { fr: Identifiant } }",
        )
        .replace(
            "{ label: { en: Password, fr: Mot de passe }, type: password }",
            "{ label: Mot de passe, type: password }",
        )
        .replace(
            " label: { en: Code received by SMS, fr: Code reçu par SMS },",
            "",
        );
    assert_eq!(replaced.matches("label: {").count(), 1, "{replaced}");
    assert!(!replaced.contains("Code reçu"), "{replaced}");
    replaced
}

#[tokio::test]
async fn a_french_only_label_is_shown_marked_french_in_the_english_ui() {
    let _slot = browser_slot().await;
    let connectors = tempfile::tempdir().unwrap();
    std::fs::write(
        connectors.path().join("demo-bank-fr.yaml"),
        french_only_connector(),
    )
    .unwrap();
    let dir = connectors.path().to_path_buf();
    let svc = TestService::start_tuned(move |c| {
        c.connectors_dir = dir;
        let site = c.base_urls["demo-bank"].clone();
        c.base_urls.insert("demo-bank-fr".into(), site);
    })
    .await;

    let (labels, (twofa, sms)) = add_alice(&svc, "demo-bank-fr", "en", "labels-fr-only").await;
    // The French text, marked French; the plain string, marked as of unknown language.
    assert_eq!(labels, json!([["Identifiant", "fr"], ["Mot de passe", ""]]));
    // No label from the connector: the UI's own sentence, in the UI's language.
    assert_eq!(twofa, json!(["Enter the code you received by SMS", "en"]));
    assert_eq!(sms, 1);
    svc.stop().await;
}

#[tokio::test]
async fn the_apis_carry_every_language_and_the_document_says_so() {
    let svc = TestService::start().await;
    let (_, connectors) = svc.call(Method::GET, "/connectors", None).await;
    let bank = connectors
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "demo-bank")
        .unwrap();
    let login = &bank["fields"][0];
    assert_eq!(
        login["label"], "Login",
        "English for clients that read one string"
    );
    assert_eq!(
        login["localizedLabel"],
        json!({ "en": "Login", "fr": "Identifiant" })
    );
    assert_eq!(login["placeholder"], Value::Null);
    assert_eq!(login["localizedPlaceholder"], Value::Null);

    let doc = reqwest::get(format!("{}/openapi.json", svc.base))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let field = &doc["components"]["schemas"]["FieldInfo"];
    let documented = field["properties"].as_object().unwrap();
    for key in login.as_object().unwrap().keys() {
        assert!(documented.contains_key(key), "{key} is not documented");
    }
    assert_eq!(
        field["properties"]["localizedLabel"]["$ref"],
        "#/components/schemas/LocalizedText"
    );
    let text = &doc["components"]["schemas"]["LocalizedText"];
    assert_eq!(text["type"], "object");
    assert_eq!(text["additionalProperties"]["type"], "string");
    let pattern = text["propertyNames"]["pattern"].as_str().unwrap();
    let keys = regex::Regex::new(pattern).unwrap();
    for key in ["en", "fr", "pt-BR", ""] {
        assert!(keys.is_match(key), "{key:?} against {pattern}");
    }
    assert!(!keys.is_match("english"));
    svc.stop().await;
}

#[tokio::test]
async fn the_websocket_carries_the_code_label_and_the_instructions_in_every_language() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let within = Duration::from_secs(30);

    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    let (_, _, ws) = svc.collect(&cred, false).await;
    let mut viewer = svc.viewer(&ws).await;
    let (label, localized) = viewer
        .until(within, |m| match m {
            ServerMessage::Twofa {
                label,
                localized_label,
                ..
            } => Some((label.clone(), localized_label.clone())),
            _ => None,
        })
        .await;
    // One string for the clients that read one, English here; every language beside it.
    assert_eq!(label, "Code received by SMS");
    assert_eq!(
        serde_json::to_value(localized).unwrap(),
        json!({ "en": "Code received by SMS", "fr": "Code reçu par SMS" })
    );
    viewer.close().await;

    let human = svc.human_credential().await;
    let (_, _, ws) = svc.collect(&human, false).await;
    let mut viewer = svc.viewer(&ws).await;
    let (instructions, localized) = viewer
        .until(within, |m| match m {
            ServerMessage::State {
                interactive: true,
                instructions,
                localized_instructions,
                ..
            } => Some((instructions.clone(), localized_instructions.clone())),
            _ => None,
        })
        .await;
    assert!(instructions.unwrap().contains("green square"));
    let localized = localized.expect("the instructions in every language");
    let french = localized.pick(&[LanguageTag::parse("fr").unwrap()]);
    assert!(french.text.contains("carré vert"), "{}", french.text);
    assert_eq!(french.lang.map(LanguageTag::as_str), Some("fr"));
    viewer.close().await;
    svc.stop().await;
}
