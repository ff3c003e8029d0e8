use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use har::v1_2::{
    Content, Cookies, Entries, Headers, Log, Pages, Params, PostData, QueryString, Request,
    Response,
};

use super::matcher::{SECRETS_PER_SEARCH, Search, replace_bytes};
use super::*;

const PASSWORD: &str = "Zq7!canary-pässword";
const CODE: &str = "924816";
const SESSION: &str = "s3ss10n-1d-abcdef";
const TOKEN: &str = "eyJ0eXAi.tok3n-value";

/// `encodeURIComponent`.
fn uri_component(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => (b as char).to_string(),
            _ if upper => format!("%{b:02X}"),
            _ => format!("%{b:02x}"),
        })
        .collect()
}

fn form(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// `s` as JSON with every non-ASCII character as `\uXXXX`, as `JSON.stringify` does not but
/// Python's `json.dumps` does.
fn json_ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            c if c.is_ascii() => c.to_string(),
            c => c
                .encode_utf16(&mut [0; 2])
                .iter()
                .map(|u| format!("\\u{u:04x}"))
                .collect(),
        })
        .collect()
}

fn html_references(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() => c.to_string(),
            c => format!("&#{};", u32::from(c)),
        })
        .collect()
}

/// Base64 of `inner` glued to a base64 character so that the run does not decode: only the
/// fragments can find the secret.
fn undecodable_base64(inner: &[u8]) -> String {
    format!("Q{}", STANDARD_NO_PAD.encode(inner))
}

/// Every encoding of `secret` the test looks for in the written recording.
fn encodings(secret: &str) -> Vec<String> {
    let mut out = crate::secrets::log_redaction::encodings(secret);
    out.extend([
        uri_component(secret, true),
        uri_component(secret, false),
        form(secret),
        json_ascii(secret),
        html_references(secret),
    ]);
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        out.push(engine.encode(secret));
    }
    out.retain(|e| !e.is_empty());
    out
}

fn header(name: &str, value: &str) -> Headers {
    Headers {
        name: name.into(),
        value: value.into(),
        comment: None,
    }
}

fn entry(
    method: &str,
    url: &str,
    headers: Vec<Headers>,
    post: Option<PostData>,
    response_headers: Vec<Headers>,
    content: Content,
) -> Entries {
    Entries {
        started_date_time: "2026-11-30T03:00:00Z".into(),
        request: Request {
            method: method.into(),
            url: url.into(),
            http_version: "HTTP/1.1".into(),
            headers,
            post_data: post,
            ..Default::default()
        },
        response: Response {
            status: 200,
            status_text: "OK".into(),
            http_version: "HTTP/1.1".into(),
            headers: response_headers,
            content,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn text(body: &str) -> Content {
    Content {
        size: body.len() as i64,
        mime_type: Some("text/html".into()),
        text: Some(body.into()),
        ..Default::default()
    }
}

fn binary_body(password: &str, code: &str) -> Vec<u8> {
    let mut body = b"\x00\x01binary ".to_vec();
    body.extend_from_slice(format!("{password} and {code}").as_bytes());
    body.push(0xff);
    body
}

/// A recording with the password and the code in every place and encoding a collect may
/// put them.
fn canary_log() -> Log {
    let basic = STANDARD.encode(format!("jean:{PASSWORD}"));
    let mut login = entry(
        "POST",
        &format!(
            "http://bank.test/login?pw={}&code={CODE}&sid={SESSION}#{}",
            uri_component(PASSWORD, true),
            uri_component(PASSWORD, false)
        ),
        vec![
            header("Cookie", &format!("sid={SESSION}; lang=fr")),
            header("Authorization", &format!("Basic {basic}")),
            header("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(PostData {
            mime_type: "application/x-www-form-urlencoded".into(),
            text: Some(format!("user=jean&password={}&code={CODE}", form(PASSWORD))),
            params: Some(vec![Params {
                name: "password".into(),
                value: Some(PASSWORD.into()),
                ..Default::default()
            }]),
            comment: None,
        }),
        vec![
            header(
                "Set-Cookie",
                &format!("sid={SESSION}; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly"),
            ),
            header("Location", &format!("/home?code={CODE}")),
        ],
        text(&format!(
            r#"{{"echo": {}, "ascii": "{}", "token": "{TOKEN}", "html": "{}"}}"#,
            json_string(PASSWORD),
            json_ascii(PASSWORD),
            html_references(PASSWORD)
        )),
    );
    login.request.query_string = vec![QueryString {
        name: "pw".into(),
        value: PASSWORD.into(),
        comment: None,
    }];
    login.request.cookies = vec![Cookies {
        name: "sid".into(),
        value: SESSION.into(),
        ..Default::default()
    }];
    login.response.cookies = vec![Cookies {
        name: "sid".into(),
        value: SESSION.into(),
        path: Some("/".into()),
        http_only: Some(true),
        ..Default::default()
    }];
    login.response.redirect_url = Some(format!("/home?code={CODE}"));
    login.request.headers_size = 420;
    login.request.body_size = 64;
    login.response.headers_size = 180;
    login.response.body_size = 120;

    let otp = entry(
        "POST",
        &format!(
            "http://bank.test/otp/{}",
            URL_SAFE_NO_PAD.encode(format!("code={CODE}"))
        ),
        vec![
            header("Authorization", &format!("Bearer {TOKEN}")),
            header("X-Echo", &hex::encode(PASSWORD)),
        ],
        Some(PostData {
            mime_type: "application/json".into(),
            text: Some(format!(
                r#"{{"code":"{CODE}","password":{},"hex":"{}"}}"#,
                json_string(PASSWORD),
                hex::encode_upper(CODE)
            )),
            params: None,
            comment: None,
        }),
        vec![],
        Content {
            size: 10,
            mime_type: Some("application/octet-stream".into()),
            text: Some(STANDARD.encode(binary_body(PASSWORD, CODE))),
            encoding: Some("base64".into()),
            ..Default::default()
        },
    );

    let mut inner = b"\x00\x01prefix:".to_vec();
    inner.extend_from_slice(PASSWORD.as_bytes());
    inner.extend_from_slice(b":suffix\x02");
    let mut code_inner = b"#".to_vec();
    code_inner.extend_from_slice(CODE.as_bytes());
    code_inner.extend_from_slice(b"??");
    let documents = entry(
        "GET",
        "http://bank.test/documents",
        vec![header("Cookie", &format!("sid={SESSION}"))],
        Some(PostData {
            mime_type: "application/octet-stream".into(),
            text: Some(STANDARD.encode(format!("raw {PASSWORD} {CODE}"))),
            params: None,
            comment: Some("base64".into()),
        }),
        vec![],
        text(&format!(
            "<p>{}</p><p>{}</p><p>{}</p><p>{}</p><p>{}</p><p>{}</p><p>{}</p>",
            STANDARD.encode(&inner),
            URL_SAFE.encode(&inner[1..]),
            STANDARD_NO_PAD.encode(&inner[2..]),
            undecodable_base64(&inner),
            undecodable_base64(&inner[1..]),
            undecodable_base64(&inner[2..]),
            undecodable_base64(&code_inner),
        )),
    );
    Log {
        pages: Some(vec![Pages {
            title: format!("Welcome {PASSWORD}"),
            ..Default::default()
        }]),
        entries: vec![login, otp, documents],
        ..Default::default()
    }
}

fn scrubbed_canary() -> (Scrubber, Log, String, String, String) {
    let mut scrubber = Scrubber::new();
    let password = scrubber.secret_field("password", PASSWORD);
    let code = scrubber.code(0, CODE);
    let mut log = canary_log();
    scrubber.log(&mut log);
    (scrubber, log.clone(), to_json(&log), password, code)
}

fn to_json(log: &Log) -> String {
    let har = har::Har {
        log: har::Spec::V1_2(log.clone()),
    };
    match har::to_json(&har) {
        Ok(json) => json,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn the_canary_is_in_every_encoding_before_scrubbing() {
    // The control: without the scrubber each encoding the test looks for is there.
    let json = to_json(&canary_log());
    for secret in [PASSWORD, CODE, SESSION, TOKEN] {
        assert!(json.contains(secret), "{secret}");
    }
    for encoding in [
        uri_component(PASSWORD, true),
        uri_component(PASSWORD, false),
        form(PASSWORD),
        json_ascii(PASSWORD).replace('\\', "\\\\"),
        hex::encode(PASSWORD),
        hex::encode_upper(CODE),
    ] {
        assert!(json.contains(&encoding), "{encoding}");
    }
}

#[test]
fn no_encoding_of_the_password_or_the_code_remains() {
    let (_, _, json, password, code) = scrubbed_canary();
    let found: Vec<(String, String)> = [PASSWORD, CODE, SESSION, TOKEN]
        .iter()
        .flat_map(|secret| {
            encodings(secret)
                .into_iter()
                .map(move |e| (secret.to_string(), e))
        })
        .filter(|(_, e)| json.contains(e.as_str()))
        .collect();
    assert!(found.is_empty(), "left in the recording: {found:?}\n{json}");
    // The JSON of the HAR escapes once more: look for the escaped forms too.
    for secret in [PASSWORD, CODE] {
        for e in encodings(secret) {
            let escaped = json_string(&e);
            let escaped = &escaped[1..escaped.len() - 1];
            assert!(!json.contains(escaped), "{escaped}");
        }
    }
    assert_eq!(password, "gleaner-secret-password");
    assert!(
        json.contains("password=gleaner-secret-password&code=123456"),
        "{json}"
    );
    assert_eq!(code, "123456");
}

#[test]
fn base64_bodies_are_decoded_scrubbed_and_re_encoded() {
    let (_, log, _, _, _) = scrubbed_canary();
    let content = &log.entries[1].response.content;
    let body = STANDARD.decode(content.text.as_deref().unwrap_or_default());
    assert_eq!(
        body.ok(),
        Some(binary_body("gleaner-secret-password", "123456"))
    );
    assert_eq!(content.size, 44);
    let post = log.entries[2].request.post_data.as_ref();
    let body = STANDARD.decode(post.and_then(|p| p.text.as_deref()).unwrap_or_default());
    assert_eq!(
        body.ok(),
        Some(b"raw gleaner-secret-password 123456".to_vec())
    );
    // A base64 token inside a page: re-encoded with the placeholder, in its alphabet.
    let html = log.entries[2]
        .response
        .content
        .text
        .clone()
        .unwrap_or_default();
    let mut inner = b"\x00\x01prefix:gleaner-secret-password:suffix\x02".to_vec();
    assert!(html.contains(&STANDARD.encode(&inner)), "{html}");
    inner.remove(0);
    assert!(html.contains(&URL_SAFE.encode(&inner)), "{html}");
    // The path's URL-safe token too.
    assert_eq!(
        log.entries[1].request.url,
        format!(
            "http://bank.test/otp/{}",
            URL_SAFE_NO_PAD.encode("code=123456")
        )
    );
}

#[test]
fn cookies_keep_their_names_and_attributes_with_stable_placeholders() {
    let (_, log, json, _, _) = scrubbed_canary();
    let login = &log.entries[0];
    let value = |headers: &[Headers], name: &str| {
        headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        value(&login.request.headers, "Cookie"),
        "sid=gleaner-cookie-1; lang=gleaner-cookie-2"
    );
    assert_eq!(
        value(&login.response.headers, "Set-Cookie"),
        "sid=gleaner-cookie-1; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly"
    );
    assert_eq!(
        value(&log.entries[2].request.headers, "Cookie"),
        "sid=gleaner-cookie-1"
    );
    assert_eq!(login.request.cookies[0].value, "gleaner-cookie-1");
    assert_eq!(login.response.cookies[0].value, "gleaner-cookie-1");
    assert_eq!(login.response.cookies[0].path.as_deref(), Some("/"));
    // The session id echoed in the URL is the same placeholder.
    assert!(
        login.request.url.contains("&sid=gleaner-cookie-1"),
        "{}",
        login.request.url
    );
    // A short value (`fr`) is replaced in its header only.
    assert!(json.contains("lang=gleaner-cookie-2"));
}

#[test]
fn authorization_keeps_its_scheme_and_the_token_is_scrubbed_everywhere() {
    let (_, log, _, _, _) = scrubbed_canary();
    let authorization = |entry: &Entries| {
        entry
            .request
            .headers
            .iter()
            .find(|h| h.name == "Authorization")
            .map(|h| h.value.clone())
    };
    assert_eq!(
        authorization(&log.entries[0]).as_deref(),
        Some("Basic gleaner-auth-1")
    );
    assert_eq!(
        authorization(&log.entries[1]).as_deref(),
        Some("Bearer gleaner-auth-2")
    );
    let body = log.entries[0]
        .response
        .content
        .text
        .clone()
        .unwrap_or_default();
    assert!(body.contains(r#""token": "gleaner-auth-2""#), "{body}");
}

#[test]
fn the_scrubber_scrubs_other_texts_with_the_same_placeholders() {
    let (scrubber, _, _, _, _) = scrubbed_canary();
    assert_eq!(
        scrubber.text(&format!(
            r#"{{"sid": "{SESSION}", "p": {}}}"#,
            json_string(PASSWORD)
        )),
        r#"{"sid": "gleaner-cookie-1", "p": "gleaner-secret-password"}"#
    );
    assert_eq!(
        scrubber.bytes(format!("\u{0}{CODE}\u{1}").as_bytes()),
        b"\x00123456\x01".to_vec()
    );
    // Invalid UTF-8 around a secret.
    let mut bytes = b"\xff\xfe".to_vec();
    bytes.extend_from_slice(PASSWORD.as_bytes());
    assert_eq!(
        scrubber.bytes(&bytes),
        b"\xff\xfegleaner-secret-password".to_vec()
    );
}

#[test]
fn scrubbing_twice_changes_nothing() {
    let (scrubber, mut log, json, _, _) = scrubbed_canary();
    let mut again = Scrubber::new();
    again.secret_field("password", PASSWORD);
    again.code(0, CODE);
    again.log(&mut log);
    assert_eq!(to_json(&log), json);
    let text = scrubber.text(&format!("{PASSWORD} {CODE}"));
    assert_eq!(scrubber.text(&text), text);
}

#[test]
fn placeholders_are_stable() {
    let mut scrubber = Scrubber::new();
    let first = scrubber.secret_field("password", PASSWORD);
    assert_eq!(scrubber.secret_field("password", PASSWORD), first);
    assert_eq!(
        scrubber.secret_field("Pass Word", "another secret"),
        "gleaner-secret-pass-word"
    );
    assert_eq!(
        scrubber.secret_field("password", "a third one"),
        "gleaner-secret-password-2"
    );
    assert_eq!(scrubber.code(0, CODE), scrubber.code(0, CODE));
    let mut other = Scrubber::new();
    other.secret_field("password", "something else entirely");
    assert_eq!(
        other.secret_field("password", "x".repeat(40).as_str()),
        "gleaner-secret-password-2"
    );
    assert_eq!(
        Scrubber::new().secret_field("password", "hunter2"),
        first,
        "no length leak"
    );
}

#[test]
fn code_placeholders_have_the_code_shape_and_differ_from_it() {
    let mut scrubber = Scrubber::new();
    for (index, code) in ["924816", "123456", "AB12cd", "12-34", "0000000000"]
        .iter()
        .enumerate()
    {
        let placeholder = scrubber.code(index, code);
        assert_ne!(&placeholder, code);
        assert_eq!(placeholder.len(), code.len(), "{placeholder}");
        for (p, c) in placeholder.chars().zip(code.chars()) {
            assert_eq!(
                p.is_ascii_digit(),
                c.is_ascii_digit(),
                "{placeholder} for {code}"
            );
            assert_eq!(
                p.is_ascii_lowercase(),
                c.is_ascii_lowercase(),
                "{placeholder} for {code}"
            );
            assert_eq!(
                p.is_ascii_uppercase(),
                c.is_ascii_uppercase(),
                "{placeholder} for {code}"
            );
            if !c.is_ascii_alphanumeric() {
                assert_eq!(p, c);
            }
        }
    }
    // Deterministic: the index decides, not the code.
    assert_eq!(Scrubber::new().code(0, "924816"), "123456");
    assert_eq!(Scrubber::new().code(0, "555555"), "123456");
    assert_eq!(Scrubber::new().code(1, "555555"), "234567");
    assert_eq!(Scrubber::new().code(0, "123456"), "234567");
}

#[test]
fn short_secrets_are_not_scrubbed() {
    let mut scrubber = Scrubber::new();
    assert_eq!(scrubber.secret_field("pin", "42"), "42");
    assert_eq!(scrubber.code(0, "7"), "7");
    assert_eq!(scrubber.text("pin=42&code=7"), "pin=42&code=7");
    assert_eq!(scrubber.secret_field("pin", "420"), "gleaner-secret-pin");
    assert_eq!(scrubber.text("pin=420"), "pin=gleaner-secret-pin");
}

#[test]
fn the_longest_secret_wins() {
    let mut scrubber = Scrubber::new();
    scrubber.secret_field("short", "canary");
    scrubber.secret_field("long", "canary-bird");
    assert_eq!(
        scrubber.text("canary-bird canary"),
        "gleaner-secret-long gleaner-secret-short"
    );
}

#[test]
fn special_characters_are_found_in_every_escape() {
    let secret = r#"a"b\c/d e&f<g'h"#;
    let mut scrubber = Scrubber::new();
    let placeholder = scrubber.secret_field("p", secret);
    let forms = [
        secret.to_string(),
        json_string(secret),
        json_string(&json_string(secret)),
        form(secret),
        uri_component(secret, false),
        html_references(secret),
        "a&quot;b\\c/d e&amp;f&lt;g&#39;h".to_string(),
    ];
    for form in forms {
        let scrubbed = scrubber.text(&form);
        assert!(scrubbed.contains(&placeholder), "{form} -> {scrubbed}");
        assert!(
            !scrubbed.contains("b\\c") && !scrubbed.contains("f<g") && !scrubbed.contains("%26f"),
            "{form} -> {scrubbed}"
        );
    }
}

#[test]
fn nothing_registered_changes_nothing_but_cookies() {
    let scrubber = Scrubber::new();
    assert_eq!(scrubber.text("anything"), "anything");
    let mut log = Log {
        entries: vec![entry(
            "GET",
            "http://a.test/",
            vec![header("cookie", "a=\"quoted-value\"; b=; c")],
            None,
            vec![header("set-cookie", "x=1\ny=; Max-Age=0")],
            text("body"),
        )],
        ..Default::default()
    };
    let mut scrubber = Scrubber::new();
    scrubber.log(&mut log);
    let entry = &log.entries[0];
    assert_eq!(
        entry.request.headers[0].value,
        "a=\"gleaner-cookie-1\"; b=; gleaner-cookie-2"
    );
    assert_eq!(
        entry.response.headers[0].value,
        "x=gleaner-cookie-3\ny=; Max-Age=0"
    );
    assert_eq!(entry.response.content.text.as_deref(), Some("body"));
}

#[test]
fn a_secret_containing_a_placeholder_is_still_replaced_whole() {
    let mut scrubber = Scrubber::new();
    assert_eq!(scrubber.code(0, "924816"), "123456");
    let long = scrubber.secret_field("account", "1234567890");
    assert_eq!(scrubber.text("1234567890 924816"), format!("{long} 123456"));
}

#[test]
fn many_secrets_are_all_scrubbed() {
    let mut scrubber = Scrubber::new();
    let secrets: Vec<String> = (0..SECRETS_PER_SEARCH * 2 + 5)
        .map(|i| format!("secret-{i:03}-{}", "é".repeat(i % 7)))
        .collect();
    let placeholders: Vec<String> = secrets
        .iter()
        .enumerate()
        .map(|(i, s)| scrubber.secret_field(&format!("f{i}"), s))
        .collect();
    let text = secrets
        .iter()
        .map(|s| format!("{} {}", s, form(s)))
        .collect::<Vec<_>>()
        .join("\n");
    let expected = placeholders
        .iter()
        .map(|p| format!("{p} {p}"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(scrubber.text(&text), expected);
}

#[test]
fn the_literal_fallback_replaces_raw_values() {
    let search = Search::Literal(vec![(b"abcabc".to_vec(), b"X".to_vec())]);
    assert_eq!(
        search.scrub(b"abcabcabc abcab abcabc"),
        b"Xabc abcab X".to_vec()
    );
    assert_eq!(replace_bytes(b"aaa", b"", b"b"), b"aaa".to_vec());
}

#[test]
fn debug_shows_no_secret() {
    let (scrubber, _, _, _, _) = scrubbed_canary();
    let debug = format!("{scrubber:?}");
    assert!(
        !debug.contains(PASSWORD) && !debug.contains(CODE) && !debug.contains(SESSION),
        "{debug}"
    );
}

#[test]
fn sizes_that_would_tell_a_secret_length_become_unknown() {
    let (_, log, _, _, _) = scrubbed_canary();
    let login = &log.entries[0];
    assert_eq!(
        (login.request.headers_size, login.request.body_size),
        (-1, -1)
    );
    assert_eq!(
        (login.response.headers_size, login.response.body_size),
        (-1, -1)
    );
    let mut untouched = canary_log();
    untouched.entries.truncate(1);
    untouched.entries[0].request.post_data = None;
    untouched.entries[0].response.content = text("nothing secret");
    untouched.entries[0].response.headers.clear();
    untouched.entries[0].request.headers.clear();
    Scrubber::new().log(&mut untouched);
    let entry = &untouched.entries[0];
    assert_eq!(
        (entry.request.headers_size, entry.response.body_size),
        (420, 120)
    );
}

#[test]
fn odd_inputs_do_not_panic() {
    let mut scrubber = Scrubber::new();
    scrubber.secret_field("", r"(.*)[\d]+{2}|^$");
    scrubber.secret_field("ü", "🦀🦀🦀");
    scrubber.code(usize::MAX, "a1B");
    scrubber.code(3, "---");
    let alphabet = b"A+/=_-%\\u0\"&#;\xf0\x9f\xa6\x80(.*)a1B---";
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for length in 0..300 {
        let bytes: Vec<u8> = (0..length)
            .map(|_| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                alphabet[(seed >> 33) as usize % alphabet.len()]
            })
            .collect();
        let _ = scrubber.bytes(&bytes);
        let _ = scrubber.text(&String::from_utf8_lossy(&bytes));
    }
    let mut log = Log {
        entries: vec![entry(
            "GET",
            "",
            vec![
                header("Cookie", ";;=;\"\"; =\"; a==b"),
                header("Set-Cookie", "\n;\n=\n\"\""),
                header("Authorization", " "),
                header("Proxy-Authorization", "Basic"),
            ],
            Some(PostData {
                text: Some("%%%".into()),
                comment: Some("base64".into()),
                ..Default::default()
            }),
            vec![],
            Content {
                text: Some("@@@".into()),
                encoding: Some("base64".into()),
                ..Default::default()
            },
        )],
        ..Default::default()
    };
    scrubber.log(&mut log);
    // A code without letters or digits has a single shape: it gets a named placeholder.
    assert_eq!(scrubber.text("---"), "gleaner-code-3");
}
