//! No secret in any log, at any level (issue 11): `gleaner serve` and `gleaner run` run as
//! real processes with `RUST_LOG=trace` through a full demo-bank collect with 2FA, with a
//! canary password and a canary code; their stderr holds neither, in no encoding.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use demo_sites::{DemoSite, DemoSiteOptions};
use futures::{SinkExt, StreamExt};
use gleaner::api::messages::{ClientMessage, ServerMessage};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::{bin, browser_slot, root};

pub(crate) const CANARY_PASSWORD: &str = "Canary-Pw_7f3c91ZQ!";
/// The demo bank's code field takes 6 characters.
pub(crate) const CANARY_CODE: &str = "Qz7Kx9";
const KEY: &str = "logs-test-key";
const WITHIN: Duration = Duration::from_secs(60);

/// The demo bank, where alice's password is the canary and every code is the canary code.
pub(crate) async fn canary_site(dir: &Path) -> DemoSite {
    let fixtures = dir.join("fixtures");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(demo_sites::demo_bank_fixtures())
        .arg(&fixtures)
        .status()
        .unwrap();
    assert!(copied.success());
    let data_file = fixtures.join("data.json");
    let mut data: Value =
        serde_json::from_str(&std::fs::read_to_string(&data_file).unwrap()).unwrap();
    for user in data["users"].as_array_mut().unwrap() {
        if user["login"] == "alice" {
            user["password"] = json!(CANARY_PASSWORD);
        }
    }
    std::fs::write(&data_file, data.to_string()).unwrap();
    DemoSite::start(
        fixtures,
        DemoSiteOptions {
            fixed_code: Some(CANARY_CODE.into()),
            print_codes: false,
            extra_invoices: Default::default(),
        },
    )
    .await
    .expect("demo site starts")
}

/// Each canary in each encoding a log could carry it in, with a name for the report.
pub(crate) fn canary_forms() -> Vec<(String, String)> {
    let mut forms = Vec::new();
    for (what, secret) in [("password", CANARY_PASSWORD), ("code", CANARY_CODE)] {
        let json = serde_json::to_string(secret).unwrap();
        let encodings = [
            ("raw", secret.to_string()),
            (
                "url",
                url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
            ),
            (
                "base64",
                base64::engine::general_purpose::STANDARD.encode(secret),
            ),
            ("hex", hex::encode(secret)),
            ("json", json.trim_matches('"').to_string()),
        ];
        for (encoding, form) in encodings {
            forms.push((format!("{what} {encoding}"), form));
        }
    }
    forms
}

/// Asserts the log is real (non-empty, about the collect) and holds no canary.
fn assert_clean(name: &str, log: &str, about: &str) {
    // Kept for a look: target/tmp/trace-<name>.log.
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("trace-{name}.log"));
    let _ = std::fs::write(&kept, log);
    let lines = log.lines().count();
    assert!(lines > 100, "{name}: the trace log has only {lines} lines");
    assert!(
        log.contains(about),
        "{name}: the log does not mention {about:?}"
    );
    for (form_name, form) in canary_forms() {
        let hits = log.matches(form.as_str()).count();
        assert_eq!(
            hits, 0,
            "{name}: the {form_name} form {form:?} is in the log"
        );
    }
    eprintln!("{name}: 0 canary occurrences in {lines} lines of trace log");
}

#[tokio::test]
async fn at_trace_level_serve_and_run_log_no_secret() {
    let _slot = browser_slot().await;
    gleaner::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let site = canary_site(dir.path()).await;

    // `gleaner serve`: the API creates the credential, the WebSocket gives the code.
    let serve_log = dir.path().join("serve.log");
    let mut serve = tokio::process::Command::new(bin())
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--connectors")
        .arg(root().join("connectors"))
        .args(["--api-key", KEY])
        .arg("--connector-base-url")
        .arg(format!("demo-bank={}", site.base_url()))
        .env("RUST_LOG", "trace")
        .env("TMPDIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&serve_log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(serve.stdout.take().unwrap()).lines();
    let base = tokio::time::timeout(WITHIN, stdout.next_line())
        .await
        .expect("serve prints its address")
        .unwrap()
        .expect("an address line");
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{base}/credential"))
        .bearer_auth(KEY)
        .json(&json!({ "userId": "u", "connector": "demo-bank",
                       "fields": { "login": "alice", "password": CANARY_PASSWORD } }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let cred = created["id"].as_str().unwrap().to_string();
    let started: Value = http
        .post(format!("{base}/credential/{cred}/collect"))
        .bearer_auth(KEY)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let collect_id = started["collectId"].as_str().unwrap().to_string();
    let ws_url = format!(
        "{}{}",
        base.replacen("http", "ws", 1),
        started["wsPath"].as_str().unwrap()
    );
    let mut request = ws_url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {KEY}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut final_state = None;
    while final_state.is_none() {
        let frame = tokio::time::timeout(WITHIN, ws.next())
            .await
            .expect("a message in time")
            .expect("the socket stays open")
            .unwrap();
        let Message::Text(text) = frame else { continue };
        match serde_json::from_str::<ServerMessage>(text.as_str()).unwrap() {
            ServerMessage::Twofa { .. } => {
                let code = serde_json::to_string(&ClientMessage::Twofa {
                    code: CANARY_CODE.into(),
                })
                .unwrap();
                ws.send(Message::Text(code.into())).await.unwrap();
            }
            ServerMessage::State { state, .. } if !(1..7).contains(&state) && state != 0 => {
                final_state = Some(state);
            }
            _ => {}
        }
    }
    assert_eq!(final_state, Some(7), "a full collect");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(serve.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::time::timeout(WITHIN, serve.wait())
        .await
        .expect("serve stops")
        .unwrap();
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(&serve_log).unwrap();
    assert_clean("serve", &log, "INSERT INTO collects");
    assert!(!collect_id.is_empty());

    // `gleaner run`: the password as a flag, the code on stdin.
    let run_log = dir.path().join("run.log");
    let mut run = tokio::process::Command::new(bin())
        .arg("run")
        .arg(root().join("connectors/demo-bank.yaml"))
        .args(["--field", "login=alice"])
        .arg("--field")
        .arg(format!("password={CANARY_PASSWORD}"))
        .args(["--base-url", &site.base_url()])
        .arg("--out")
        .arg(dir.path().join("out"))
        .env("RUST_LOG", "trace")
        .env("TMPDIR", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&run_log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = run.stdin.take().unwrap();
    stdin
        .write_all(format!("{CANARY_CODE}\n").as_bytes())
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(120), run.wait())
        .await
        .expect("run ends")
        .unwrap();
    drop(stdin);
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(&run_log).unwrap();
    assert_clean("run", &log, "browser session captured");
}
