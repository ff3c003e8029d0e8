//! Scrubbing and matching together: the replay types the placeholders, and its requests match
//! the scrubbed recording.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use har::v1_2::{Content, Entries, Headers, Log, PostData, Request, Response};

use super::matching::Recording;
use super::scrub::Scrubber;
use crate::browser::HttpRequest;

const PASSWORD: &str = "Zq7!canary-pässword";
const CODE: &str = "924816";

fn exchange(url: &str, content_type: &str, body: &str, answer: &str) -> Entries {
    Entries {
        request: Request {
            method: "POST".into(),
            url: url.into(),
            headers: vec![Headers {
                name: "Content-Type".into(),
                value: content_type.into(),
                comment: None,
            }],
            post_data: Some(PostData {
                mime_type: content_type.into(),
                text: Some(body.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        response: Response {
            status: 200,
            status_text: "OK".into(),
            content: Content {
                text: Some(answer.into()),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    }
}

fn post(url: &str, content_type: &str, body: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: url.into(),
        headers: vec![("Content-Type".into(), content_type.into())],
        body: Some(body.as_bytes().to_vec()),
    }
}

fn form(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A login form, a JSON code check and a script that sends `btoa(user:password)`: as the
/// live site saw them, then as the replay sends them with the placeholders typed.
fn requests(password: &str, code: &str) -> Vec<(String, String, String)> {
    vec![
        (
            format!("http://bank.test/login?hint={}", form(password)),
            "application/x-www-form-urlencoded".to_string(),
            format!("user=jean&password={}", form(password)),
        ),
        (
            "http://bank.test/otp".to_string(),
            "application/json".to_string(),
            serde_json::json!({ "code": code, "remember": true }).to_string(),
        ),
        (
            "http://bank.test/api/session".to_string(),
            "application/json".to_string(),
            serde_json::json!({ "basic": STANDARD.encode(format!("jean:{password}")) }).to_string(),
        ),
    ]
}

#[test]
fn the_replay_typing_placeholders_matches_the_scrubbed_recording() {
    let mut scrubber = Scrubber::new();
    let password = scrubber.secret_field("password", PASSWORD);
    let code = scrubber.code(0, CODE);
    let mut log = Log {
        entries: requests(PASSWORD, CODE)
            .into_iter()
            .enumerate()
            .map(|(i, (url, content_type, body))| {
                exchange(&url, &content_type, &body, &format!("answer {i}"))
            })
            .collect(),
        ..Default::default()
    };
    scrubber.log(&mut log);
    let Ok(mut recording) = Recording::new(&log, &[]) else {
        panic!("the scrubbed recording does not parse");
    };
    for (i, (url, content_type, body)) in requests(&password, &code).into_iter().enumerate() {
        let answer = recording.answer(&post(&url, &content_type, &body));
        assert_eq!(
            answer.map(|a| a.body).map_err(|e| e.to_string()),
            Ok(format!("answer {i}").into_bytes())
        );
    }
    // The control: the real values no longer match.
    let (url, content_type, body) = &requests(PASSWORD, CODE)[0];
    assert!(recording.answer(&post(url, content_type, body)).is_err());
}
