//! `gleaner check` and `gleaner schema`, through the real binary.

use std::process::Command;

use crate::common;

fn check(file: &str) -> (i32, Vec<String>) {
    let out = Command::new(common::bin())
        .arg("check")
        .arg(file)
        .current_dir(common::root())
        .output()
        .unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    (out.status.code().unwrap(), lines)
}

#[test]
fn the_demo_connector_is_valid() {
    let out = Command::new(common::bin())
        .args(["check", "connectors/demo-bank.yaml"])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn unknown_keys_are_reported_with_their_position() {
    let (code, lines) = check("tests/fixtures/broken/unknown-key.yaml");
    assert_eq!(code, 1);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("tests/fixtures/broken/unknown-key.yaml:6:5: unknown field `clik`, expected one of when, for_each, steps, frame, goto,"),
        "{}",
        lines[0]
    );
}

#[test]
fn yaml_syntax_errors_have_a_position() {
    let (code, lines) = check("tests/fixtures/broken/bad-yaml.yaml");
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        vec![
            "tests/fixtures/broken/bad-yaml.yaml:6:4: while parsing a block collection, did not find expected '-' indicator"
        ]
    );
}

#[test]
fn every_semantic_problem_is_reported_at_once() {
    let (code, lines) = check("tests/fixtures/broken/semantic.yaml");
    assert_eq!(code, 1);
    let f = "tests/fixtures/broken/semantic.yaml";
    let expected = [
        format!("{f}:9:20: invalid regular expression \"/login($\": unclosed group"),
        format!(
            "{f}:10:20: invalid CSS selector \"table..accounts\": a class name must follow '.'"
        ),
        format!("{f}:12:11: secret field `password` may only be used in `fill`"),
        format!("{f}:14:12: invalid CSS selector \"button[type=submit]]\": unexpected character"),
        format!("{f}:15:38: undefined page \"otp\" (defined pages: login, accounts)"),
        format!("{f}:16:19: undefined page \"missing_page\" (defined pages: login, accounts)"),
        format!(
            "{f}:17:19: unknown error code \"LOGIN_FAILD\": it must start with one of LOGIN_FAILED, USER_ACTION_NEEDED, VENDOR_DOWN, CONNECTOR_ERROR, TIMEOUT, BROWSER_CRASHED, INTERRUPTED, CANCELLED"
        ),
        format!(
            "{f}:19:11: template names undefined variable `acount.url` (defined here: base_url, fields)"
        ),
        format!(
            "{f}:24:45: field `amount`, filter `regex`: invalid `regex` filter: bad regular expression: unclosed group"
        ),
        format!("{f}:27:15: `row` has no key `link` (it has: amount)"),
        format!("{f}:28:5: a step holds one action; move `click` to its own step"),
    ];
    assert_eq!(lines, expected);
}

#[test]
fn schema_is_valid_json_and_matches_the_committed_copy() {
    let out = Command::new(common::bin()).arg("schema").output().unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["login", "steps", "pages", "fields", "base_url"] {
        assert!(
            schema["properties"].get(key).is_some(),
            "schema lacks {key}"
        );
    }
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("schema/connector.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        schema, committed,
        "schema/connector.json is stale: run `gleaner schema > schema/connector.json`"
    );
}

#[test]
fn every_connector_names_the_schema() {
    for entry in std::fs::read_dir(common::root().join("connectors")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema/connector.json"),
            "{}",
            path.display()
        );
    }
}

/// A file saved as Latin-1: the position of the first byte that is not UTF-8 (`é` in
/// `/résumé`), not a bare "stream did not contain valid UTF-8".
#[test]
fn a_file_that_is_not_utf8_gets_the_position_of_its_first_bad_byte() {
    let (code, lines) = check("tests/fixtures/broken/latin1.yaml");
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        vec![
            "tests/fixtures/broken/latin1.yaml:8:13: the file is not UTF-8: byte 0xE9 here is not a character (save the file as UTF-8)"
        ]
    );
}

#[test]
fn a_duplicate_key_is_named_without_the_yaml_library_advice() {
    let (code, lines) = check("tests/fixtures/broken/duplicate-key.yaml");
    assert_eq!(code, 1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("tests/fixtures/broken/duplicate-key.yaml:6:")
            && lines[0].ends_with("`name` is given twice in the same mapping; keep one"),
        "{}",
        lines[0]
    );
}
