//! `gleaner import`, through the real binary: a Chrome DevTools Recorder export becomes a
//! connector skeleton that passes `check`, with the typed values turned into fields.

use std::process::Command;

use gleaner::connector;

use crate::common;

/// Runs `gleaner import FILE`; returns the exit code, stdout and stderr.
fn import(file: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(common::bin())
        .arg("import")
        .arg(file)
        .current_dir(common::root())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A login recorded on a site whose form sits in a web component's shadow root, with a
/// password field named only by its `name` attribute.
const RECORDING: &str = r##"{
  "title": "Telecom login (shadow form)",
  "steps": [
    { "type": "setViewport", "width": 1280, "height": 800, "deviceScaleFactor": 1, "isMobile": false, "hasTouch": false, "isLandscape": false },
    { "type": "navigate", "url": "https://www.telecom.example/espace-client?from=home",
      "assertedEvents": [{ "type": "navigation", "url": "https://www.telecom.example/espace-client?from=home", "title": "Espace client" }] },
    { "type": "click", "target": "main", "offsetX": 4, "offsetY": 4,
      "selectors": [["aria/Tout accepter[role=\"button\"]"], ["text/Tout accepter"], ["xpath//html/body/div[2]/button"]] },
    { "type": "change", "value": "bob@example.org", "target": "main",
      "selectors": [["login-form", "input[name=\"email\"]"], ["pierce/input[name=\"email\"]"], ["aria/Adresse e-mail"]] },
    { "type": "change", "value": "Distinct-Canary-7731", "target": "main",
      "selectors": [["login-form", "input[name=\"pwd\"][type=\"password\"]"], ["aria/Mot de passe"]] },
    { "type": "keyDown", "target": "main", "key": "Enter" },
    { "type": "keyUp", "target": "main", "key": "Enter" },
    { "type": "navigate", "url": "https://auth.telecom.example/mfa" }
  ]
}"##;

#[test]
fn a_recording_becomes_a_skeleton_that_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("recording.json");
    std::fs::write(&file, RECORDING).unwrap();
    let (code, yaml, stderr) = import(&file);
    assert_eq!(code, 0, "{stderr}");
    let plan = connector::parse(&yaml, "skeleton.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));

    assert_eq!(plan.id, "telecom-login-shadow-form");
    assert!(
        yaml.contains("base_url: 'https://www.telecom.example/'"),
        "{yaml}"
    );
    assert!(
        yaml.contains("- goto: '/espace-client?from=home'"),
        "{yaml}"
    );
    assert!(
        yaml.contains("- goto: 'https://auth.telecom.example/mfa'"),
        "{yaml}"
    );
    // aria with a role → role=, text/ → text=, xpath dropped.
    assert!(
        yaml.contains(r#"- click: ['role=button[name="Tout accepter"]', 'text=Tout accepter']"#),
        "{yaml}"
    );
    // A chain across a shadow root → `>>`; the fill takes the first CSS alternative.
    assert!(
        yaml.contains(r#"- fill: { 'login-form >> input[name="email"]': '{{fields.email}}' }"#),
        "{yaml}"
    );
    assert!(yaml.contains("- press: Enter"), "{yaml}");
    assert!(
        !yaml.contains("keyUp") && yaml.matches("press:").count() == 1,
        "{yaml}"
    );

    // The typed values became fields; the password one is secret and its value is nowhere.
    assert!(
        !yaml.contains("Distinct-Canary-7731") && !yaml.contains("bob@example.org"),
        "{yaml}"
    );
    assert!(plan.fields["pwd"].is_secret(), "{yaml}");
    assert!(!plan.fields["email"].is_secret(), "{yaml}");
}

#[test]
fn the_demo_bank_recording_imports_into_its_login_steps() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo-bank.yaml");
    let status = Command::new(common::bin())
        .args([
            "import",
            "tests/fixtures/recorder/demo-bank-login.json",
            "--out",
        ])
        .arg(&out)
        .current_dir(common::root())
        .status()
        .unwrap();
    assert!(status.success());
    let yaml = std::fs::read_to_string(&out).unwrap();
    let plan = connector::parse(&yaml, "demo-bank.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert!(plan.fields["password"].is_secret());
    assert!(
        !yaml.contains("Canary-Pw-4242") && !yaml.contains("alice"),
        "{yaml}"
    );
    // The same selectors as connectors/demo-bank.yaml's login.
    for line in [
        "- goto: '/login'",
        "- fill: { '#login': '{{fields.login}}' }",
        "- fill: { '#password': '{{fields.password}}' }",
        "- press: Tab",
        r#"- click: ['#submit', 'role=button[name="Se connecter"]', 'text=Se connecter']"#,
    ] {
        assert!(yaml.contains(line), "{line}\n{yaml}");
    }
}

#[test]
fn a_recording_without_navigate_or_with_bad_json_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    std::fs::write(
        &file,
        r##"{"title": "x", "steps": [{"type": "click", "selectors": [["#a"]]}]}"##,
    )
    .unwrap();
    let (code, yaml, stderr) = import(&file);
    assert_ne!(code, 0);
    assert!(yaml.is_empty());
    assert!(stderr.contains("no `navigate` step"), "{stderr}");

    std::fs::write(&file, "{\"title\": \"x\",\n  \"steps\": [,]}").unwrap();
    let (code, _, stderr) = import(&file);
    assert_ne!(code, 0);
    assert!(stderr.contains("r.json: 2:"), "{stderr}");
}
