//! The HTTP API against the real server: authentication, errors, credentials, the
//! OpenAPI document, secrets at rest, and collects interrupted by a restart.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::server::{API_KEY, TestService, open_store, timeline};

const SECRET: &str = "hunter2-Very-S3cret-pw";

#[tokio::test]
async fn a_missing_or_wrong_api_key_gets_401() {
    let svc = TestService::start().await;
    let routes = [
        (Method::GET, "/connectors"),
        (Method::POST, "/credential"),
        (Method::GET, "/credential/x"),
        (Method::DELETE, "/credential/x"),
        (Method::PATCH, "/credential/x"),
        (Method::GET, "/user/u/credentials"),
        (Method::POST, "/credential/x/collect"),
        (Method::POST, "/credential/x/2fa"),
        (Method::GET, "/collect/x"),
        (Method::GET, "/collect/x/documents"),
        (Method::GET, "/collect/x/trace"),
        (Method::GET, "/document/x"),
        (Method::POST, "/session"),
        (Method::PUT, "/credential/x/schedule"),
        (Method::GET, "/credential/x/schedule"),
        (Method::DELETE, "/credential/x/schedule"),
        (Method::GET, "/webhooks/deliveries"),
        (Method::POST, "/webhooks/deliveries/x/replay"),
        (Method::GET, "/metrics"),
        // The UI's routes take a session token, not an API key.
        (Method::GET, "/ui/api/context"),
        (Method::POST, "/ui/api/credentials"),
        (Method::PUT, "/ui/api/credentials/x"),
        (Method::POST, "/ui/api/credentials/x/collect"),
    ];
    for (method, path) in routes {
        for key in [None, Some("wrong"), Some(""), Some(API_KEY)] {
            if key == Some(API_KEY) && !path.starts_with("/ui/") {
                continue;
            }
            let (status, body) = svc.call_with(method.clone(), path, None, key).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {key:?}"
            );
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
    let (status, body) = svc.call_with(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, _) = svc
        .call_with(Method::GET, "/connectors", None, Some("other-key"))
        .await;
    assert_eq!(status, StatusCode::OK, "every configured key is accepted");
    svc.stop().await;
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let svc = TestService::start().await;
    let post = |body: Value| svc.call(Method::POST, "/credential", Some(body));
    let cases = [
        (
            json!({ "userId": "u", "connector": "nope", "fields": {} }),
            422,
            "unknown connector",
        ),
        (
            json!({ "userId": "u", "connector": "demo-bank", "fields": { "login": "a" } }),
            422,
            "\"password\"",
        ),
        (
            json!({ "userId": "u", "connector": "demo-bank", "fields": { "login": "a", "password": "b", "pin": "1" } }),
            422,
            "unknown field \"pin\"",
        ),
        (
            json!({ "userId": "", "connector": "demo-bank", "fields": {} }),
            422,
            "userId",
        ),
        (json!({ "connector": "demo-bank" }), 422, "userId"),
    ];
    for (body, status, needle) in cases {
        let (got, answer) = post(body.clone()).await;
        assert_eq!(got.as_u16(), status, "{body} → {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "{message:?} should contain {needle:?}"
        );
    }
    // Not JSON at all.
    let res = reqwest::Client::new()
        .post(format!("{}/credential", svc.base))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");

    for path in [
        "/credential/nope",
        "/collect/nope",
        "/document/nope",
        "/collect/nope/documents",
    ] {
        let (status, body) = svc.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (status, body) = svc
        .call(Method::POST, "/credential/nope/collect", None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = svc.call(Method::GET, "/no/such/route", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = svc.call(Method::PUT, "/connectors", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed");
    svc.stop().await;
}

#[tokio::test]
async fn credentials_are_created_listed_and_deleted_without_ever_showing_a_secret() {
    let svc = TestService::start().await;
    let (status, connectors) = svc.call(Method::GET, "/connectors", None).await;
    assert_eq!(status, StatusCode::OK);
    let demo = connectors
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "demo-bank")
        .unwrap();
    assert_eq!(demo["fields"][1]["name"], "password");
    assert_eq!(demo["fields"][1]["secret"], true);

    let id = svc.create_credential("demo-bank", "alice", SECRET).await;
    let (status, one) = svc
        .call(Method::GET, &format!("/credential/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["fields"], json!({ "login": "alice" }));
    assert_eq!(one["secretFields"], json!(["password"]));
    assert_eq!(one["state"], 0);
    let (_, list) = svc
        .call(Method::GET, "/user/user-1/credentials", None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, none) = svc
        .call(Method::GET, "/user/someone-else/credentials", None)
        .await;
    assert_eq!(none, json!([]));
    for body in [&one, &list] {
        assert!(!body.to_string().contains(SECRET));
    }

    let (status, _) = svc
        .call(Method::DELETE, &format!("/credential/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = svc
        .call(Method::GET, &format!("/credential/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = svc
        .call(Method::DELETE, &format!("/credential/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    svc.stop().await;
}

#[tokio::test]
async fn the_database_file_holds_no_secret_in_plaintext() {
    let svc = TestService::start().await;
    svc.create_credential("demo-bank", "alice-plain-login", SECRET)
        .await;
    let db = svc.db_path();
    let (_site, data, _profiles) = svc.stop().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("gleaner.db")
        {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(db.exists());
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        contains("alice-plain-login"),
        "the check can see plain values"
    );
    assert!(
        !contains(SECRET),
        "the password is in the database in plaintext"
    );
    let key = std::fs::metadata(data.path().join("master.key")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let svc = TestService::start().await;
    let (status, doc) = svc
        .call_with(Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/connectors", "get"),
        ("/credential", "post"),
        ("/credential/{id}", "get"),
        ("/credential/{id}", "delete"),
        ("/credential/{id}", "patch"),
        ("/user/{user_id}/credentials", "get"),
        ("/credential/{id}/collect", "post"),
        ("/credential/{id}/2fa", "post"),
        ("/collect/{id}", "get"),
        ("/collect/{id}/documents", "get"),
        ("/collect/{id}/trace", "get"),
        ("/document/{id}", "get"),
        ("/ws/{token}", "get"),
        ("/healthz", "get"),
        ("/openapi.json", "get"),
        ("/metrics", "get"),
        ("/session", "post"),
        ("/credential/{id}/schedule", "put"),
        ("/credential/{id}/schedule", "get"),
        ("/credential/{id}/schedule", "delete"),
        ("/webhooks/deliveries", "get"),
        ("/webhooks/deliveries/{id}/replay", "post"),
        ("/ui", "get"),
        ("/ui/assets/{file}", "get"),
        ("/ui/api/context", "get"),
        ("/ui/api/credentials", "post"),
        ("/ui/api/credentials/{id}", "put"),
        ("/ui/api/credentials/{id}/collect", "post"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is missing from /openapi.json"
        );
    }
    // And everything documented is served: no documented route answers "no such route".
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{id}", "x")
                .replace("{user_id}", "u")
                .replace("{token}", "t")
                .replace("{file}", "ui.js");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Some routes answer HTML or JavaScript: only an error body is read as JSON.
            let res = reqwest::Client::new()
                .request(method.clone(), format!("{}{concrete}", svc.base))
                .bearer_auth(API_KEY)
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            let unknown_route = body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("no such route"));
            assert!(
                status != StatusCode::METHOD_NOT_ALLOWED && !unknown_route,
                "{method} {path} is documented but not served"
            );
        }
    }
    svc.stop().await;
}

#[tokio::test]
async fn collects_left_running_by_a_dead_process_are_marked_interrupted_on_start() {
    let svc = TestService::start().await;
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    let (site, data, profiles) = svc.stop().await;

    // What a process killed mid-collect leaves behind: a collect in state 2.
    let store = open_store(data.path()).await;
    let left = store.start_collect(&cred, false, false).await.unwrap();
    store
        .record_state(&left.id, gleaner::codes::State::LoggingIn, None)
        .await
        .unwrap();
    store.close().await;

    let config = crate::server::config(data.path(), profiles.path(), &site);
    let svc = TestService::start_with(site, data, profiles, config).await;
    let (_, collect) = svc
        .call(Method::GET, &format!("/collect/{}", left.id), None)
        .await;
    assert_eq!(collect["state"], -1);
    assert_eq!(collect["error"]["code"], "INTERRUPTED");
    assert_eq!(timeline(&collect), [1, 2, -1]);
    let (_, credential) = svc
        .call(Method::GET, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(credential["state"], -1);
    assert_eq!(credential["lastCollectId"], left.id.as_str());
    svc.stop().await;
}

/// `GET /metrics` while a watched collect waits for its code, then after it and after a
/// failed one: the gauges show what runs, the counters what ended and how.
#[tokio::test]
async fn metrics_follow_the_collects() {
    use gleaner::api::messages::ClientMessage;

    let svc = TestService::start().await;
    let metrics = || async {
        let res = svc.raw_with_key("/metrics").await;
        assert_eq!(res.status(), StatusCode::OK);
        let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            content_type.starts_with("application/openmetrics-text"),
            "{content_type}"
        );
        res.text().await.unwrap()
    };
    let has = |text: &str, line: &str| {
        assert!(text.lines().any(|l| l == line), "{line:?} not in:\n{text}");
    };

    let alice = svc.create_credential("demo-bank", "alice", "demo").await;
    let (_, _, ws) = svc.collect(&alice, false).await;
    let mut viewer = svc.viewer(&ws).await;
    viewer.until_twofa().await;
    let during = metrics().await;
    has(
        &during,
        r#"gleaner_collects_started_total{connector="demo-bank",mode="watched"} 1"#,
    );
    has(&during, "gleaner_collects_in_progress 1");
    has(&during, "gleaner_collects_running 1");
    has(&during, "gleaner_collects_queued 0");
    has(&during, "gleaner_viewers 1");
    assert!(
        !during.contains("gleaner_collects_finished_total{"),
        "{during}"
    );

    viewer
        .send(&ClientMessage::Twofa {
            code: crate::common::FIXED_CODE.into(),
        })
        .await;
    assert_eq!(viewer.final_state().await.0, 7);
    let wrong = svc
        .create_credential("demo-bank", "bob", "not-his-password")
        .await;
    let (_, _, ws) = svc.collect(&wrong, true).await;
    assert_eq!(svc.viewer(&ws).await.final_state().await.0, -1);

    let after = metrics().await;
    has(
        &after,
        r#"gleaner_collects_started_total{connector="demo-bank",mode="background"} 1"#,
    );
    has(
        &after,
        r#"gleaner_collects_finished_total{connector="demo-bank",state="done",code=""} 1"#,
    );
    has(
        &after,
        r#"gleaner_collects_finished_total{connector="demo-bank",state="error",code="LOGIN_FAILED"} 1"#,
    );
    has(
        &after,
        r#"gleaner_documents_new_total{connector="demo-bank"} 3"#,
    );
    has(
        &after,
        r#"gleaner_collect_duration_seconds_count{connector="demo-bank"} 2"#,
    );
    has(&after, "gleaner_collects_in_progress 0");
    has(&after, "gleaner_collects_running 0");
    has(&after, "gleaner_viewers 0");
    // Webhooks are off in this service: an empty outbox.
    has(&after, r#"gleaner_webhook_events{status="pending"} 0"#);
    svc.stop().await;
}

/// A backend corrects a credential: a new password, `since` cleared; a credential waiting
/// for a person (-2) is schedulable again once updated.
#[tokio::test]
async fn a_credential_is_updated_through_the_api() {
    let svc = TestService::start().await;
    let (status, body) = svc
        .call(
            Method::POST,
            "/credential",
            Some(json!({
                "userId": "user-1", "connector": "demo-bank", "since": "2026-10-01",
                "fields": { "login": "carol", "password": "an-old-password" },
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let carol = body["id"].as_str().unwrap().to_string();
    let path = format!("/credential/{carol}");
    let (_, _, ws) = svc.collect(&carol, true).await;
    assert_eq!(svc.viewer(&ws).await.final_state().await.0, -1);

    for (body, status, says) in [
        (json!({ "fields": { "pin": "1" } }), 422, "unknown field"),
        (
            json!({ "fields": { "password": " " } }),
            422,
            "cannot be emptied",
        ),
        (json!({ "fields": { "login": "" } }), 422, "required"),
        (json!({ "since": "01/10/2026" }), 422, "YYYY-MM-DD"),
        (json!({ "sinse": "2026-10-01" }), 422, "unknown field"),
    ] {
        let (got, answer) = svc.call(Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(got.as_u16(), status, "{body} → {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body} → {message}");
    }
    let (status, _) = svc
        .call(Method::PATCH, "/credential/nope", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, updated) = svc
        .call(
            Method::PATCH,
            &path,
            Some(json!({ "fields": { "password": "demo" }, "since": null })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["fields"], json!({ "login": "carol" }));
    assert_eq!(updated["since"], Value::Null);
    assert!(!updated.to_string().contains("an-old-password"));
    let (_, collect_id, ws) = svc.collect(&carol, true).await;
    assert_eq!(svc.viewer(&ws).await.final_state().await.0, 7);
    let (_, collect) = svc
        .call(Method::GET, &format!("/collect/{collect_id}"), None)
        .await;
    assert_eq!(collect["newDocuments"], 3, "since was cleared: {collect}");

    // alice needs her code: in the background she ends in -2, and an update clears it.
    let alice = svc.create_credential("demo-bank", "alice", "demo").await;
    let (_, _, ws) = svc.collect(&alice, true).await;
    assert_eq!(svc.viewer(&ws).await.final_state().await.0, -2);
    let (_, before) = svc
        .call(Method::GET, &format!("/credential/{alice}"), None)
        .await;
    assert_eq!(before["state"], -2);
    let (status, after) = svc
        .call(
            Method::PATCH,
            &format!("/credential/{alice}"),
            Some(json!({ "fields": { "password": "demo" } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["state"], 0);
    svc.stop().await;
}

/// The smaller findings of issue 11: huge or hostile input is refused without being echoed
/// back whole, session routes say what is wrong with the session token, and the data is
/// readable by gleaner's user only.
#[tokio::test]
async fn hostile_input_is_refused_briefly_and_the_data_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let svc = TestService::start().await;
    let huge = "x".repeat(1024 * 1024);
    for (path, body) in [
        (
            "/credential",
            json!({ "userId": "u", "connector": huge, "fields": {} }),
        ),
        ("/session", json!({ "userId": "u", "connector": huge })),
        (
            "/credential",
            json!({ "userId": "u", "connector": "demo-bank",
                    "fields": { "login": "alice", "password": "demo", huge.clone(): "x" } }),
        ),
    ] {
        let (status, body) = svc.call(Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let text = body.to_string();
        assert!(text.len() < 2_000, "{path}: {} bytes echoed", text.len());
        assert!(
            text.contains('…'),
            "{path}: the echo says it was cut: {text}"
        );
    }
    for (fields, why) in [
        (json!({ "login": "ali\u{0}ce", "password": "demo" }), "NUL"),
        (
            json!({ "login": "alice", "password": "x".repeat(4097) }),
            "4096",
        ),
    ] {
        let (status, body) = svc
            .call(
                Method::POST,
                "/credential",
                Some(json!({ "userId": "u", "connector": "demo-bank", "fields": fields })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains(why), "{body}");
    }

    // Session routes: the 401 is about the session token, not the API key.
    for (header, says) in [
        (None, "missing session token"),
        (
            Some("Session not-a-token".to_string()),
            "unknown session token",
        ),
        (Some(format!("Bearer {API_KEY}")), "missing session token"),
    ] {
        let mut req = reqwest::Client::new().get(format!("{}/ui/api/context", svc.base));
        if let Some(h) = header {
            req = req.header("Authorization", h);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body: Value = res.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
        assert!(!message.contains("API key"), "{message}");
    }

    // Only gleaner's user reads the data.
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    assert!(!cred.is_empty());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = svc.data.path().to_path_buf();
    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&data.join("documents")), 0o700, "documents directory");
    for file in [
        "gleaner.db",
        "gleaner.db-wal",
        "gleaner.db-shm",
        "master.key",
    ] {
        let path = data.join(file);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{file}");
        } else {
            assert_ne!(file, "gleaner.db", "the database exists");
        }
    }
    svc.stop().await;
}
