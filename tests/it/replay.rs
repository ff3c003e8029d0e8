//! `gleaner record` and `gleaner test` (issue 14): a demo bank 2FA collect recorded through
//! the CLI, the site stopped, the recording replayed in real Chromium with a sentinel on
//! the site's port; what the fixture holds (no secret in any encoding, HAR 1.2); and how a
//! replay fails: a changed selector, an edited response, an unrecorded request.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use demo_sites::{DemoSite, DemoSiteOptions};
use gleaner::browser::{Exchange, HttpRequest, HttpResponse, Initiator};
use gleaner::replay::fixture::{self, FixtureSpec};
use gleaner::replay::{TestOptions, Verdict};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::sync::OnceCell;

use crate::common;

/// A password and a code nothing else on the site contains.
const CANARY_PASSWORD: &str = "Zq7!canary pässword/+=";
const CANARY_CODE: &str = "924816";

/// The demo bank's data with alice's password set to the canary.
fn canary_fixtures() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = demo_sites::demo_bank_fixtures();
    copy_dir(&from, dir.path());
    let data = dir.path().join("data.json");
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(&data).unwrap()).unwrap();
    for user in json["users"].as_array_mut().unwrap() {
        if user["login"] == "alice" {
            user["password"] = CANARY_PASSWORD.into();
        }
    }
    std::fs::write(&data, serde_json::to_string(&json).unwrap()).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// One recording of the demo bank's 2FA collect, made through the CLI against a site that
/// is then stopped; shared by the tests (each copies it before changing it).
struct Recorded {
    dir: tempfile::TempDir,
    port: u16,
    live_records: usize,
    live_documents: usize,
}

static RECORDED: OnceCell<Recorded> = OnceCell::const_new();

async fn recorded() -> &'static Recorded {
    RECORDED.get_or_init(record_demo_bank).await
}

async fn record_demo_bank() -> Recorded {
    let data = canary_fixtures();
    let site = DemoSite::start(
        data.path().to_path_buf(),
        DemoSiteOptions {
            fixed_code: Some(CANARY_CODE.into()),
            print_codes: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let port = site.addr().port();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo-bank").join("2fa");
    let connector = common::root().join("connectors/demo-bank.yaml");
    let slot = common::browser_slot().await;
    let mut child = tokio::process::Command::new(common::bin())
        .args(["record", connector.to_str().unwrap(), "--base-url"])
        .arg(site.base_url())
        .args(["--field", "login=alice", "--field"])
        .arg(format!("password={CANARY_PASSWORD}"))
        .arg("--out")
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The code is read when the site asks for it: a line typed before is kept for then.
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{CANARY_CODE}\n").as_bytes())
        .await
        .unwrap();
    let output = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("record ends")
        .unwrap();
    drop(slot);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "record failed: {stderr}");
    assert!(stderr.contains("recorded in"), "{stderr}");
    site.shutdown().await;
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("expected.json")).unwrap()).unwrap();
    let live_records = expected["lists"]
        .as_object()
        .unwrap()
        .values()
        .map(|l| l.as_array().unwrap().len())
        .sum();
    let live_documents = expected["documents"].as_array().unwrap().len();
    Recorded {
        dir,
        port,
        live_records,
        live_documents,
    }
}

impl Recorded {
    fn fixture(&self) -> PathBuf {
        self.dir.path().join("demo-bank").join("2fa")
    }

    /// A copy of the recording to change, its connector path still right.
    fn copy(&self) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let to = tmp.path().join("copy");
        copy_dir(&self.fixture(), &to);
        let mut spec = read_spec(&to);
        spec.connector =
            fixture::relative_to(&common::root().join("connectors/demo-bank.yaml"), &to).unwrap();
        write_spec(&to, &spec);
        (tmp, to)
    }
}

fn read_spec(dir: &Path) -> FixtureSpec {
    serde_json::from_str(&std::fs::read_to_string(dir.join("fixture.json")).unwrap()).unwrap()
}

fn write_spec(dir: &Path, spec: &FixtureSpec) {
    fixture::write_json(&dir.join("fixture.json"), spec).unwrap();
}

/// A connector next to the fixture, made from the demo bank's with `from` → `to`.
fn edit_connector(dir: &Path, from: &str, to: &str) {
    let src = std::fs::read_to_string(common::root().join("connectors/demo-bank.yaml")).unwrap();
    assert!(src.contains(from), "{from:?} is not in the demo connector");
    std::fs::write(dir.join("connector.yaml"), src.replacen(from, to, 1)).unwrap();
    let mut spec = read_spec(dir);
    spec.connector = PathBuf::from("connector.yaml");
    write_spec(dir, &spec);
}

async fn replay(dir: &Path) -> gleaner::replay::TestReport {
    let _slot = common::browser_slot().await;
    let mut options = TestOptions::default();
    options.collect.engine.element_timeout = Duration::from_secs(3);
    options.collect.engine.page_timeout = Duration::from_secs(5);
    gleaner::replay::run_fixture(dir, &options).await.unwrap()
}

fn failure(report: &gleaner::replay::TestReport) -> String {
    match &report.verdict {
        Verdict::Failed(why) => why.join("\n"),
        other => panic!("the replay should fail, it ended {other:?}"),
    }
}

/// Counts the connections made to a port while it lives.
struct Sentinel {
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Sentinel {
    async fn on(port: u16) -> Sentinel {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the stopped site's port is free");
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((_stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        Sentinel { hits, task }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn a_recorded_2fa_collect_replays_offline_with_the_same_records_and_documents() {
    let rec = recorded().await;
    assert!(rec.live_records > 10, "the live collect gave records");
    assert_eq!(
        rec.live_documents, 3,
        "the live collect gave the 3 invoices"
    );
    let spec = read_spec(&rec.fixture());
    assert_eq!(spec.codes.len(), 1, "one code was recorded");

    // The site is gone; anything that reaches its port is counted.
    let sentinel = Sentinel::on(rec.port).await;
    let (_tmp, dir) = rec.copy();
    let slot = common::browser_slot().await;
    let output = tokio::process::Command::new(common::bin())
        .arg("test")
        .arg(&dir)
        .output()
        .await
        .unwrap();
    drop(slot);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("ok   {}", dir.display())),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");
    assert_eq!(sentinel.hits(), 0, "the replay reached the network");

    // The library's report: every recorded exchange was served, none was missing.
    let report = replay(&dir).await;
    assert_eq!(report.verdict, Verdict::Passed);
    assert_eq!(report.stats.unmatched, 0);
    assert_eq!(report.unused, 0, "every recorded exchange was used");
    assert_eq!(sentinel.hits(), 0, "the replay reached the network");
}

#[tokio::test]
async fn the_fixture_holds_no_secret_in_any_encoding() {
    let rec = recorded().await;
    let mut forms = Vec::new();
    for secret in [CANARY_PASSWORD, CANARY_CODE] {
        let b = secret.as_bytes();
        forms.push(secret.to_string());
        forms.push(url::form_urlencoded::byte_serialize(b).collect::<String>());
        forms.push(
            url::form_urlencoded::byte_serialize(b)
                .collect::<String>()
                .replace('+', "%20"),
        );
        forms.push(base64::engine::general_purpose::STANDARD.encode(b));
        forms.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b));
        forms.push(hex::encode(b));
        forms.push(hex::encode_upper(b));
        forms.push(
            serde_json::to_string(secret)
                .unwrap()
                .trim_matches('"')
                .to_string(),
        );
    }
    let mut files = 0;
    for entry in std::fs::read_dir(rec.fixture()).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        files += 1;
        for form in &forms {
            assert!(
                !text.contains(form.as_str()),
                "{} holds a secret as {form:?}",
                path.display()
            );
        }
    }
    assert_eq!(files, 3, "fixture.json, recording.har, expected.json");
    // The placeholders are there instead: the login form's body and the code's.
    let har = std::fs::read_to_string(rec.fixture().join("recording.har")).unwrap();
    let spec = read_spec(&rec.fixture());
    let typed = &spec.fields["password"];
    assert_ne!(typed, CANARY_PASSWORD);
    assert!(
        har.contains(&url::form_urlencoded::byte_serialize(typed.as_bytes()).collect::<String>()),
        "the password's placeholder is in the login request"
    );
    assert!(
        har.contains(&spec.codes[0]),
        "the code's placeholder is in the OTP request"
    );
    // Control: the live site did receive the canary (its data holds it), so a recording
    // without scrubbing would have held it.
    assert_ne!(spec.codes[0], CANARY_CODE);
}

/// A field HAR 1.2 requires: its name, its value, and the test of its type.
type Required<'a> = (&'a str, &'a Value, &'a dyn Fn(&Value) -> bool);

#[tokio::test]
async fn the_recording_is_a_har_1_2_document() {
    let rec = recorded().await;
    let har: Value = serde_json::from_str(
        &std::fs::read_to_string(rec.fixture().join("recording.har")).unwrap(),
    )
    .unwrap();
    let log = &har["log"];
    assert_eq!(log["version"], "1.2");
    assert!(log["creator"]["name"].is_string() && log["creator"]["version"].is_string());
    let entries = log["entries"].as_array().unwrap();
    assert!(entries.len() >= 15, "{} entries", entries.len());
    let is_str = |v: &Value| v.is_string();
    let is_num = |v: &Value| v.is_number();
    let is_list = |v: &Value| v.is_array();
    for (i, e) in entries.iter().enumerate() {
        let required: [Required; 21] = [
            ("startedDateTime", &e["startedDateTime"], &is_str),
            ("time", &e["time"], &is_num),
            ("request.method", &e["request"]["method"], &is_str),
            ("request.url", &e["request"]["url"], &is_str),
            ("request.httpVersion", &e["request"]["httpVersion"], &is_str),
            ("request.cookies", &e["request"]["cookies"], &is_list),
            ("request.headers", &e["request"]["headers"], &is_list),
            (
                "request.queryString",
                &e["request"]["queryString"],
                &is_list,
            ),
            ("request.headersSize", &e["request"]["headersSize"], &is_num),
            ("request.bodySize", &e["request"]["bodySize"], &is_num),
            ("response.status", &e["response"]["status"], &is_num),
            ("response.statusText", &e["response"]["statusText"], &is_str),
            (
                "response.httpVersion",
                &e["response"]["httpVersion"],
                &is_str,
            ),
            ("response.cookies", &e["response"]["cookies"], &is_list),
            ("response.headers", &e["response"]["headers"], &is_list),
            (
                "response.content.size",
                &e["response"]["content"]["size"],
                &is_num,
            ),
            (
                "response.content.mimeType",
                &e["response"]["content"]["mimeType"],
                &is_str,
            ),
            (
                "response.redirectURL",
                &e["response"]["redirectURL"],
                &is_str,
            ),
            (
                "response.headersSize",
                &e["response"]["headersSize"],
                &is_num,
            ),
            ("response.bodySize", &e["response"]["bodySize"], &is_num),
            ("timings.wait", &e["timings"]["wait"], &is_num),
        ];
        for (name, value, ok) in required {
            assert!(ok(value), "entry {i}: {name} is {value}");
        }
        assert!(e["cache"].is_object(), "entry {i}: cache");
        assert!(
            chrono::DateTime::parse_from_rfc3339(e["startedDateTime"].as_str().unwrap()).is_ok()
        );
        if e["response"]["content"]["encoding"] == "base64" {
            let text = e["response"]["content"]["text"].as_str().unwrap();
            assert!(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .is_ok()
            );
        }
    }
    // The login's POST keeps its body, the redirect its Location.
    let login = entries
        .iter()
        .find(|e| e["request"]["method"] == "POST")
        .expect("a POST");
    assert!(login["request"]["postData"]["text"].is_string());
    assert!(
        entries
            .iter()
            .any(|e| e["response"]["status"] == 303 && e["response"]["redirectURL"] != "")
    );
    // The har crate, which `gleaner test` reads it with, reads it as 1.2.
    let parsed = har::from_path(rec.fixture().join("recording.har")).unwrap();
    assert_eq!(parsed.version(), har::HarVersion::V1_2);
}

#[tokio::test]
async fn a_changed_selector_fails_the_replay_naming_the_step() {
    let rec = recorded().await;
    let (_tmp, dir) = rec.copy();
    edit_connector(
        &dir,
        "rows: 'table.invoices tbody tr'",
        "rows: 'table.bills tbody tr'",
    );
    let report = replay(&dir).await;
    let why = failure(&report);
    assert!(why.contains("table.bills tbody tr"), "{why}");
    assert!(why.contains("line "), "the step is named: {why}");
    // Control: the same copy with the connector unchanged passes.
    let (_tmp2, intact) = rec.copy();
    assert_eq!(replay(&intact).await.verdict, Verdict::Passed);
}

#[tokio::test]
async fn an_edited_response_is_named_by_record_in_the_output_diff() {
    let rec = recorded().await;
    let (_tmp, dir) = rec.copy();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    // The second invoice's amount, as the invoices page shows it.
    let invoices = expected["lists"]["invoices"].as_array().unwrap();
    let id = invoices[1]["id"].as_str().unwrap().to_string();
    let har_path = dir.join("recording.har");
    let har = std::fs::read_to_string(&har_path).unwrap();
    let row_start = har
        .find(&format!("{id}<"))
        .or_else(|| har.find(&id))
        .unwrap();
    let cell = har[row_start..]
        .find("€")
        .expect("an amount in euros after the id")
        + row_start;
    let digit = har[..cell]
        .rfind(|c: char| c.is_ascii_digit())
        .expect("a digit before €");
    let mut edited = har.clone();
    let old = &har[digit..digit + 1];
    let new = if old == "9" { "1" } else { "9" };
    edited.replace_range(digit..digit + 1, new);
    std::fs::write(&har_path, edited).unwrap();
    let report = replay(&dir).await;
    let why = failure(&report);
    assert!(
        why.contains(&format!("invoices[1] (id \"{id}\")")),
        "the diff names the record: {why}"
    );
}

#[tokio::test]
async fn an_unrecorded_request_is_named_with_its_nearest_candidate() {
    let rec = recorded().await;
    let (_tmp, dir) = rec.copy();
    edit_connector(&dir, "goto: /invoices", "goto: /invoices?year=2026");
    let report = replay(&dir).await;
    let why = failure(&report);
    assert!(why.contains("/invoices?year=2026"), "{why}");
    assert!(why.contains("nearest"), "{why}");
    assert!(report.elapsed < Duration::from_secs(20), "ends at the miss");
}

/// A recording made by hand: two identical GETs recorded with different answers.
#[tokio::test]
async fn identical_requests_get_their_recorded_responses_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let base = "http://127.0.0.1:9/";
    let exchange = |url: &str, ct: &str, body: &str| Exchange {
        request: HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: vec![],
            body: None,
        },
        response: HttpResponse {
            status: 200,
            status_text: "OK".into(),
            headers: vec![("Content-Type".into(), ct.into())],
            body: Some(body.as_bytes().to_vec()),
        },
        started: SystemTime::now(),
        duration: Duration::from_millis(1),
        initiator: Initiator::Browser,
    };
    let exchanges = vec![
        exchange(
            base,
            "text/html",
            "<html><body><h1 id=ok>Counter</h1></body></html>",
        ),
        exchange(&format!("{base}api/n"), "application/json", r#"{"n": 1}"#),
        exchange(&format!("{base}api/n"), "application/json", r#"{"n": 2}"#),
    ];
    let log = gleaner::replay::har_log::log_of(&exchanges);
    fixture::write_text(
        &dir.join("recording.har"),
        &gleaner::replay::har_log::to_json(log).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("connector.yaml"),
        r#"
id: counter
name: Counter
base_url: http://127.0.0.1:9/
steps:
  - goto: /
  - wait: { selector: '#ok' }
  - fetch: { url: /api/n, as: _first }
  - fetch: { url: /api/n, as: _second }
  - extract: { as: counts, from: _first, rows: '$', fields: { n: { path: '$.n' } } }
  - extract: { as: counts, from: _second, rows: '$', fields: { n: { path: '$.n' } } }
"#,
    )
    .unwrap();
    let spec = serde_json::json!({
        "connector": "connector.yaml",
        "base_url": base,
        "fields": {},
        "recorded": { "at": "2026-11-30T00:00:00Z", "gleaner": "test", "live_seconds": 0.0, "exchanges": 3 }
    });
    std::fs::write(dir.join("fixture.json"), spec.to_string()).unwrap();
    std::fs::write(
        dir.join("expected.json"),
        r#"{"lists": {"counts": [{"n": 1}, {"n": 2}]}, "documents": []}"#,
    )
    .unwrap();
    let report = replay(dir).await;
    assert_eq!(report.verdict, Verdict::Passed, "1 then 2");
    assert_eq!(report.stats.served, 3);
    assert_eq!(report.stats.repeated, 0);

    // Control: expecting them the other way round fails, naming the record.
    std::fs::write(
        dir.join("expected.json"),
        r#"{"lists": {"counts": [{"n": 2}, {"n": 1}]}, "documents": []}"#,
    )
    .unwrap();
    let why = failure(&replay(dir).await);
    assert!(why.contains("counts[0].n: expected 2, got 1"), "{why}");
}
