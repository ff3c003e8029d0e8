//! Webhooks against the real service and a real receiver (axum on 127.0.0.1:0) that records
//! every request and answers as scripted: retries, order per credential, signatures checked
//! by an independent implementation (Python's `hmac`), a restart with pending events, dead
//! letters and replays; an https receiver behind a CA made for the test (rcgen), trusted
//! through the CA file only.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use gleaner::server::ServerConfig;
use gleaner::webhooks::WebhookConfig;
use reqwest::Method;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use crate::server::{TestService, open_store};

/// 32 random bytes, as Standard Webhooks writes secrets.
const SECRET: &str = "whsec_eqmXucyRA+jNAzVtZOOo2m+lfNTmCg+NdJ5SPIFrtbM=";
const WITHIN: Duration = Duration::from_secs(30);

/// One request the receiver got, and what it answered.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    headers: HeaderMap,
    body: String,
    answered: u16,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap().to_str().unwrap()
    }
    pub(crate) fn id(&self) -> &str {
        self.header("webhook-id")
    }
    pub(crate) fn payload(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    pub(crate) fn accepted(&self) -> bool {
        (200..300).contains(&self.answered)
    }
}

struct Script {
    /// The first answers, in order.
    first: VecDeque<u16>,
    /// Every answer after them.
    then: u16,
}

#[derive(Clone)]
struct ReceiverState {
    script: Arc<Mutex<Script>>,
    seen: mpsc::UnboundedSender<Received>,
}

/// A webhook receiver: `url`, the requests as they come, and its script.
pub(crate) struct Receiver {
    pub(crate) url: String,
    requests: mpsc::UnboundedReceiver<Received>,
    script: Arc<Mutex<Script>>,
}

impl Receiver {
    pub(crate) async fn start(first: &[u16], then: u16) -> Receiver {
        let (app, mut receiver) = Receiver::app(first, then);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        receiver.url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    /// The same receiver over TLS only, with `tls`'s certificate; the outcome of every TLS
    /// handshake comes on the returned channel (the error as the receiver sees it).
    async fn start_tls(
        first: &[u16],
        then: u16,
        tls: Arc<rustls::ServerConfig>,
    ) -> (Receiver, mpsc::UnboundedReceiver<Result<(), String>>) {
        let (app, mut receiver) = Receiver::app(first, then);
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        receiver.url = format!("https://{}/hook", tcp.local_addr().unwrap());
        let (handshakes_tx, handshakes) = mpsc::unbounded_channel();
        let listener = TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(tls),
            handshakes: handshakes_tx,
        };
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, handshakes)
    }

    /// The receiver's routes, and the receiver without its URL.
    fn app(first: &[u16], then: u16) -> (axum::Router, Receiver) {
        let script = Arc::new(Mutex::new(Script {
            first: first.iter().copied().collect(),
            then,
        }));
        let (seen, requests) = mpsc::unbounded_channel();
        let state = ReceiverState {
            script: script.clone(),
            seen,
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(state);
        let receiver = Receiver {
            url: String::new(),
            requests,
            script,
        };
        (app, receiver)
    }

    fn answer_from_now_on(&self, status: u16) {
        let mut script = self.script.lock().unwrap();
        script.first.clear();
        script.then = status;
    }

    /// The next request, within the deadline.
    pub(crate) async fn next(&mut self) -> Received {
        tokio::time::timeout(WITHIN, self.requests.recv())
            .await
            .expect("a webhook request in time")
            .expect("the receiver runs")
    }

    /// Requests until `count` distinct events were accepted; returns every request.
    async fn until_accepted(&mut self, count: usize) -> Vec<Received> {
        let mut all = Vec::new();
        let mut accepted = std::collections::HashSet::new();
        while accepted.len() < count {
            let r = self.next().await;
            if r.accepted() {
                accepted.insert(r.id().to_string());
            }
            all.push(r);
        }
        all
    }
}

async fn hook(State(state): State<ReceiverState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answered = {
        let mut script = state.script.lock().unwrap();
        script.first.pop_front().unwrap_or(script.then)
    };
    let _ = state.seen.send(Received {
        headers,
        body: String::from_utf8(body.to_vec()).expect("a UTF-8 body"),
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

/// A TCP listener that serves TLS only: the handshake is made before the connection is
/// handed to axum, and its outcome is reported; a failed one drops the connection.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: mpsc::UnboundedSender<Result<(), String>>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            // One handshake at a time: enough for one client.
            match self.acceptor.accept(tcp).await {
                Ok(tls) => {
                    let _ = self.handshakes.send(Ok(()));
                    return (tls, addr);
                }
                Err(e) => {
                    let _ = self.handshakes.send(Err(e.to_string()));
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A CA made for the test, and the TLS configuration of a receiver whose certificate
/// (for 127.0.0.1 and localhost) it issued.
struct TestCa {
    /// The CA's certificate, PEM.
    pem: String,
    server: Arc<rustls::ServerConfig>,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, name);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, &ca_key);

        let key = KeyPair::generate().unwrap();
        let mut leaf =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "webhook receiver");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf.signed_by(&key, &issuer).unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf_cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        TestCa {
            pem: ca_cert.pem(),
            server: Arc::new(server),
        }
    }
}

/// The next TLS handshake's outcome, within the deadline.
async fn next_handshake(
    handshakes: &mut mpsc::UnboundedReceiver<Result<(), String>>,
) -> Result<(), String> {
    tokio::time::timeout(WITHIN, handshakes.recv())
        .await
        .expect("a TLS handshake in time")
        .expect("the receiver runs")
}

/// Webhooks to `url`, with test-sized retries.
pub(crate) fn hooks(url: &str, max_attempts: u32) -> WebhookConfig {
    WebhookConfig {
        url: Some(url.parse().unwrap()),
        secret: Some(SECRET.into()),
        max_attempts,
        first_retry: Duration::from_millis(20),
        max_retry: Duration::from_millis(200),
        timeout: Duration::from_secs(5),
        ca_file: None,
    }
}

fn with_hooks(url: &str, max_attempts: u32) -> impl FnOnce(&mut ServerConfig) {
    let config = hooks(url, max_attempts);
    move |c| c.webhooks = config
}

/// Runs a collect to its end through a viewer; returns (collect id, final state).
async fn collect(svc: &TestService, credential: &str) -> (String, i8) {
    let (_, collect_id, ws) = svc.collect(credential, false).await;
    let (state, _) = svc.viewer(&ws).await.final_state().await;
    (collect_id, state)
}

/// The credential's events, oldest first, from `GET /webhooks/deliveries`.
async fn deliveries_of(svc: &TestService, credential: &str, query: &str) -> Vec<Value> {
    let (status, list) = svc
        .call(
            Method::GET,
            &format!("/webhooks/deliveries?limit=1000{query}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let mut mine: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["credentialId"] == credential)
        .cloned()
        .collect();
    mine.reverse();
    mine
}

/// Checks a request's signature with the `standardwebhooks` crate.
fn crate_verifies(r: &Received, body: &str) -> bool {
    standardwebhooks::Webhook::new(SECRET)
        .unwrap()
        .verify(body.as_bytes(), &r.headers)
        .is_ok()
}

/// Checks a signature with Python's `hmac`, following the Standard Webhooks specification
/// (not the crate that signed it).
fn python_verifies(id: &str, timestamp: &str, body: &str, signature: &str) -> bool {
    const SCRIPT: &str = r#"
import base64, hashlib, hmac, os, sys
secret = os.environ["WH_SECRET"]
if secret.startswith("whsec_"):
    secret = secret[len("whsec_"):]
key = base64.b64decode(secret)
signed = (os.environ["WH_ID"] + "." + os.environ["WH_TIMESTAMP"] + ".").encode() + sys.stdin.buffer.read()
expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
given = [s.split(",", 1)[1] for s in os.environ["WH_SIGNATURE"].split(" ") if s.startswith("v1,")]
sys.exit(0 if any(hmac.compare_digest(expected, g) for g in given) else 1)
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .env("WH_SECRET", SECRET)
        .env("WH_ID", id)
        .env("WH_TIMESTAMP", timestamp)
        .env("WH_SIGNATURE", signature)
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let status = child.wait().unwrap();
    match status.code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!("the Python check failed to run: {other:?}"),
    }
}

/// (type, state) of an event payload, state for `collect.state` only.
fn kind(payload: &Value) -> (String, Option<i64>) {
    let t = payload["type"].as_str().unwrap().to_string();
    let state = (t == "collect.state").then(|| payload["data"]["state"].as_i64().unwrap());
    (t, state)
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_each_event_once_and_in_order() {
    let _slot = crate::common::browser_slot().await;
    let mut receiver = Receiver::start(&[500, 500], 200).await;
    let svc = TestService::start_tuned(with_hooks(&receiver.url, 8)).await;
    let cred = svc.create_credential("demo-bank", "carol", "demo").await;
    let (collect_id, state) = collect(&svc, &cred).await;
    assert_eq!(state, 7);

    // Every event is in the outbox once the final state is out.
    let events = deliveries_of(&svc, &cred, "").await;
    let requests = receiver.until_accepted(events.len()).await;

    // The first event was tried three times (500, 500, 200), with the same id.
    let first = events[0]["id"].as_str().unwrap();
    let answers: Vec<u16> = requests
        .iter()
        .filter(|r| r.id() == first)
        .map(|r| r.answered)
        .collect();
    assert_eq!(answers, [500, 500, 200]);
    assert_eq!(requests[0].id(), first);

    // Each event accepted exactly once, in the order it was written.
    let accepted: Vec<&Received> = requests.iter().filter(|r| r.accepted()).collect();
    let accepted_ids: Vec<&str> = accepted.iter().map(|r| r.id()).collect();
    let written_ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(accepted_ids, written_ids);
    let kinds: Vec<(String, Option<i64>)> = accepted.iter().map(|r| kind(&r.payload())).collect();
    let state = |s| ("collect.state".to_string(), Some(s));
    let document = || ("document.new".to_string(), None);
    assert_eq!(
        kinds,
        [
            state(1),
            state(2),
            state(5),
            state(6),
            document(),
            document(),
            document(),
            state(7),
            ("collect.done".to_string(), None),
        ]
    );
    for r in &accepted {
        let payload = r.payload();
        assert_eq!(payload["data"]["credentialId"], cred.as_str());
        assert_eq!(payload["data"]["collectId"], collect_id.as_str());
        assert!(crate_verifies(r, &r.body), "{}", r.body);
        assert_eq!(r.header("content-type"), "application/json");
    }
    let done = accepted.last().unwrap().payload();
    assert_eq!(done["data"]["newDocuments"], 3);
    assert!(
        done["data"]["advice"]["fr"]
            .as_str()
            .unwrap()
            .contains("à jour")
    );
    // A document's download URL works with the API key.
    let doc = accepted[4].payload();
    let url = doc["data"]["downloadUrl"].as_str().unwrap();
    let path = url
        .strip_prefix(&svc.base)
        .expect("an absolute URL to this service");
    assert_eq!(
        path,
        format!("/document/{}", doc["data"]["id"].as_str().unwrap())
    );
    assert_eq!(svc.raw(path).await.status(), StatusCode::OK);
    assert_eq!(doc["data"]["sha256"].as_str().unwrap().len(), 64);

    let (_site, data, _profiles) = svc.stop().await;
    // Nothing more comes once the service is stopped.
    let mut all = requests;
    while let Ok(r) = receiver.requests.try_recv() {
        all.push(r);
    }
    let mut accepted_per_id: HashMap<&str, usize> = HashMap::new();
    for r in all.iter().filter(|r| r.accepted()) {
        *accepted_per_id.entry(r.id()).or_default() += 1;
    }
    let duplicates: usize = accepted_per_id.values().map(|n| n - 1).sum();
    let retries = all.len() - accepted_per_id.len();
    eprintln!(
        "webhook retry test: {} events, {} deliveries (HTTP requests), {} retries, {} duplicates",
        accepted_per_id.len(),
        all.len(),
        retries,
        duplicates
    );
    assert_eq!(duplicates, 0);
    assert_eq!(retries, 2);
    assert_eq!(all.len(), events.len() + 2);

    // The store says the same: all delivered, the first one after three attempts.
    let store = open_store(data.path()).await;
    let first = store.webhook_delivery(first).await.unwrap().unwrap();
    assert_eq!(
        (first.status.as_str(), first.attempts, first.last_status),
        ("delivered", 3, Some(200))
    );
    for e in &events[1..] {
        let d = store
            .webhook_delivery(e["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((d.status.as_str(), d.attempts), ("delivered", 1), "{e}");
    }
    store.close().await;
}

#[tokio::test]
async fn signatures_verify_with_an_independent_implementation() {
    let _slot = crate::common::browser_slot().await;
    let mut receiver = Receiver::start(&[], 204).await;
    let svc = TestService::start_tuned(with_hooks(&receiver.url, 8)).await;
    // A refused login: its collect.failed carries French advice (non-ASCII).
    let cred = svc.create_credential("demo-bank", "carol", "wrong").await;
    let (_, state) = collect(&svc, &cred).await;
    assert_eq!(state, -1);
    let events = deliveries_of(&svc, &cred, "").await;
    let requests = receiver.until_accepted(events.len()).await;
    let failed = requests
        .iter()
        .find(|r| r.payload()["type"] == "collect.failed")
        .expect("a collect.failed event");
    let data = &failed.payload()["data"];
    assert_eq!(data["code"], "LOGIN_FAILED");
    assert!(
        data["advice"]["fr"]
            .as_str()
            .unwrap()
            .contains("vérifiez votre mot de passe")
    );

    let (id, timestamp, signature) = (
        failed.id(),
        failed.header("webhook-timestamp"),
        failed.header("webhook-signature"),
    );
    assert!(id.starts_with("msg_"));
    assert!(signature.starts_with("v1,"));
    let now = chrono::Utc::now().timestamp();
    assert!((now - timestamp.parse::<i64>().unwrap()).abs() < 300);
    assert!(python_verifies(id, timestamp, &failed.body, signature));
    assert!(crate_verifies(failed, &failed.body));

    let tampered = failed.body.replace("LOGIN_FAILED", "LOGIN_FAILEX");
    assert_ne!(tampered, failed.body);
    assert!(!python_verifies(id, timestamp, &tampered, signature));
    assert!(!crate_verifies(failed, &tampered));
    assert!(!python_verifies(
        "msg_other",
        timestamp,
        &failed.body,
        signature
    ));
    for r in &requests {
        assert!(python_verifies(
            r.id(),
            r.header("webhook-timestamp"),
            &r.body,
            r.header("webhook-signature")
        ));
    }
    svc.stop().await;
}

#[tokio::test]
async fn pending_events_are_delivered_after_a_restart() {
    let _slot = crate::common::browser_slot().await;
    // The receiver is down (503) while the collect runs: everything stays pending.
    let mut down = Receiver::start(&[], 503).await;
    let svc = TestService::start_tuned(with_hooks(&down.url, 1_000_000)).await;
    let cred = svc.create_credential("demo-bank", "carol", "demo").await;
    let (_, state) = collect(&svc, &cred).await;
    assert_eq!(state, 7);
    let events = deliveries_of(&svc, &cred, "").await;
    assert!(events.len() >= 5, "{events:?}");
    assert!(
        events.iter().all(|e| e["status"] == "pending"),
        "{events:?}"
    );
    // Only the head of the credential's queue is tried; the others wait their turn.
    let tried = down.next().await;
    assert_eq!(tried.id(), events[0]["id"]);
    assert_eq!(tried.answered, 503);
    // A pending event cannot be replayed.
    let (status, body) = svc
        .call(
            Method::POST,
            &format!(
                "/webhooks/deliveries/{}/replay",
                events[1]["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (site, data, profiles) = svc.stop().await;
    while let Ok(r) = down.requests.try_recv() {
        assert_eq!(r.id(), events[0]["id"], "only the head is tried");
    }

    // Restarted with a working receiver: every pending event goes out, in order.
    let mut up = Receiver::start(&[], 200).await;
    let mut config = crate::server::config(data.path(), profiles.path(), &site);
    config.webhooks = hooks(&up.url, 8);
    let svc = TestService::start_with(site, data, profiles, config).await;
    let requests = up.until_accepted(events.len()).await;
    let ids: Vec<&str> = requests.iter().map(|r| r.id()).collect();
    let written: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, written);
    assert!(requests.iter().all(|r| crate_verifies(r, &r.body)));
    svc.stop().await;
}

#[tokio::test]
async fn a_dead_event_is_listed_and_replayed() {
    let _slot = crate::common::browser_slot().await;
    let mut receiver = Receiver::start(&[], 500).await;
    let svc = TestService::start_tuned(with_hooks(&receiver.url, 2)).await;
    let cred = svc.create_credential("demo-bank", "carol", "wrong").await;
    let (_, state) = collect(&svc, &cred).await;
    assert_eq!(state, -1);
    let events = deliveries_of(&svc, &cred, "").await;
    let first = events[0]["id"].as_str().unwrap().to_string();

    // Two attempts at the first event; the second event's turn means the first is dead.
    let mut tries_of_first = 0;
    loop {
        let r = receiver.next().await;
        if r.id() == first {
            tries_of_first += 1;
        } else {
            assert_eq!(r.id(), events[1]["id"]);
            break;
        }
    }
    assert_eq!(tries_of_first, 2);
    let dead = deliveries_of(&svc, &cred, "&status=dead").await;
    let listed = dead
        .iter()
        .find(|d| d["id"] == first.as_str())
        .expect("the first event is listed as dead");
    assert_eq!(listed["attempts"], 2);
    assert_eq!(listed["lastStatus"], 500);
    assert_eq!(listed["type"], "collect.state");
    assert!(listed["lastError"].as_str().unwrap().contains("HTTP 500"));
    assert!(listed["nextAttemptAt"].is_null() && listed["deliveredAt"].is_null());
    assert!(listed["createdAt"].as_str().unwrap().ends_with('Z'));

    // The receiver is fixed; the dead event is replayed and delivered.
    receiver.answer_from_now_on(200);
    let (status, replayed) = svc
        .call(
            Method::POST,
            &format!("/webhooks/deliveries/{first}/replay"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replayed}");
    // The answer is the event as it is once replayed: back to pending with its attempts
    // reset, unless the worker, woken by the replay, already delivered it on its first
    // new attempt (seen on a loaded machine).
    let answered = (replayed["status"].as_str(), replayed["attempts"].as_i64());
    assert!(
        answered == (Some("pending"), Some(0)) || answered == (Some("delivered"), Some(1)),
        "{replayed}"
    );
    loop {
        let r = receiver.next().await;
        if r.id() == first && r.accepted() {
            assert!(crate_verifies(&r, &r.body));
            break;
        }
    }
    let (status, _) = svc
        .call(Method::POST, "/webhooks/deliveries/msg_nope/replay", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = svc
        .call(Method::GET, "/webhooks/deliveries?status=lost", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");

    let (_site, data, _profiles) = svc.stop().await;
    let store = open_store(data.path()).await;
    let first = store.webhook_delivery(&first).await.unwrap().unwrap();
    assert_eq!(
        (first.status.as_str(), first.attempts, first.last_status),
        ("delivered", 1, Some(200))
    );
    store.close().await;
}

#[tokio::test]
async fn an_https_receiver_behind_an_internal_ca_is_trusted_through_the_ca_file() {
    let _slot = crate::common::browser_slot().await;
    let ca = TestCa::new("gleaner test CA");
    let (mut receiver, mut handshakes) = Receiver::start_tls(&[], 200, ca.server.clone()).await;
    assert!(receiver.url.starts_with("https://127.0.0.1:"));

    // Without the CA file: the system's roots do not know the CA, nothing gets through.
    let svc = TestService::start_tuned(with_hooks(&receiver.url, 1_000_000)).await;
    let cred = svc.create_credential("demo-bank", "carol", "wrong").await;
    let (_, state) = collect(&svc, &cred).await;
    assert_eq!(state, -1);
    let events = deliveries_of(&svc, &cred, "").await;
    assert!(events.len() >= 3, "{events:?}");
    // Two refused handshakes: the first attempt was recorded before the second was made.
    for _ in 0..2 {
        let refused = next_handshake(&mut handshakes)
            .await
            .expect_err("gleaner refuses the receiver's certificate");
        assert!(refused.contains("UnknownCA"), "{refused}");
    }
    let listed = deliveries_of(&svc, &cred, "").await;
    let head = &listed[0];
    assert_eq!(head["id"], events[0]["id"]);
    assert_eq!(head["status"], "pending");
    assert!(head["attempts"].as_i64().unwrap() >= 1, "{head}");
    assert!(head["lastStatus"].is_null(), "{head}");
    let error = head["lastError"].as_str().unwrap();
    assert!(
        error.contains("invalid peer certificate") && error.contains("UnknownIssuer"),
        "{error}"
    );
    assert!(!error.contains(SECRET));
    assert!(
        listed
            .iter()
            .all(|d| d["status"] == "pending" && d["deliveredAt"].is_null()),
        "{listed:?}"
    );
    let (site, data, profiles) = svc.stop().await;
    assert!(
        receiver.requests.try_recv().is_err(),
        "no request reached the receiver"
    );
    while handshakes.try_recv().is_ok() {}

    // Restarted with the CA file, a bundle of two CAs (an unrelated one first): every
    // pending event goes out over TLS, in order, signed.
    let other = TestCa::new("another test CA");
    let certs = tempfile::tempdir().unwrap();
    let ca_file = certs.path().join("internal-ca.pem");
    std::fs::write(&ca_file, format!("{}{}", other.pem, ca.pem)).unwrap();
    let mut config = crate::server::config(data.path(), profiles.path(), &site);
    config.webhooks = WebhookConfig {
        ca_file: Some(ca_file),
        ..hooks(&receiver.url, 1_000_000)
    };
    let svc = TestService::start_with(site, data, profiles, config).await;
    let requests = receiver.until_accepted(events.len()).await;
    assert_eq!(
        next_handshake(&mut handshakes).await,
        Ok(()),
        "a TLS handshake before the first request"
    );
    let ids: Vec<&str> = requests.iter().map(|r| r.id()).collect();
    let written: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, written, "each event once, in order");
    for r in &requests {
        assert!(crate_verifies(r, &r.body), "{}", r.body);
        assert!(python_verifies(
            r.id(),
            r.header("webhook-timestamp"),
            &r.body,
            r.header("webhook-signature")
        ));
    }
    let failed = requests
        .iter()
        .find(|r| r.payload()["type"] == "collect.failed")
        .expect("a collect.failed event");
    assert_eq!(failed.payload()["data"]["code"], "LOGIN_FAILED");

    let (_site, data, _profiles) = svc.stop().await;
    let store = open_store(data.path()).await;
    for (i, e) in events.iter().enumerate() {
        let d = store
            .webhook_delivery(e["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (d.status.as_str(), d.last_status),
            ("delivered", Some(200)),
            "{e}"
        );
        if i == 0 {
            assert!(d.attempts >= 2, "refused, then delivered: {}", d.attempts);
        } else {
            assert_eq!(d.attempts, 1, "{e}");
        }
    }
    store.close().await;
}

#[tokio::test]
async fn serve_refuses_to_start_with_a_bad_webhook_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-ca.pem");
    let not_pem = dir.path().join("not-a-ca.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    for (ca_file, reason) in [(&missing, "No such file"), (&not_pem, "no certificate")] {
        let run = tokio::process::Command::new(crate::common::bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--connectors")
            .arg(crate::common::root().join("connectors"))
            .args(["--webhook-url", "https://127.0.0.1:9/hook"])
            .env("GLEANER_API_KEY", "k")
            .env("GLEANER_WEBHOOK_SECRET", SECRET)
            .env("GLEANER_WEBHOOK_CA_FILE", ca_file)
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(WITHIN, run)
            .await
            .expect("serve exits in time")
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "the webhook CA file {} (--webhook-ca-file, GLEANER_WEBHOOK_CA_FILE) cannot be used",
                ca_file.display()
            )),
            "{stderr}"
        );
        assert!(stderr.contains(reason), "{stderr}");
        assert!(!stderr.contains(SECRET), "{stderr}");
        assert!(out.stdout.is_empty(), "not serving");
    }
}

/// The receiver of the slow-receiver test: it hangs on every event of one credential until
/// released, and answers the others at once; it reports (hung, body) for each request.
#[derive(Clone)]
struct Hanging {
    slow: Arc<Mutex<Option<String>>>,
    released: tokio::sync::watch::Receiver<bool>,
    seen: mpsc::UnboundedSender<(bool, Value)>,
}

async fn next_request(requests: &mut mpsc::UnboundedReceiver<(bool, Value)>) -> (bool, Value) {
    tokio::time::timeout(WITHIN, requests.recv())
        .await
        .expect("a webhook request in time")
        .expect("the receiver runs")
}

async fn hang_or_answer(State(state): State<Hanging>, body: Bytes) -> StatusCode {
    let payload: Value = serde_json::from_slice(&body).expect("a JSON body");
    let slow = state.slow.lock().unwrap().clone();
    let hangs = slow.is_some_and(|s| payload["data"]["credentialId"] == s.as_str());
    let _ = state.seen.send((hangs, payload));
    if hangs {
        let mut released = state.released.clone();
        let _ = released.wait_for(|r| *r).await;
    }
    StatusCode::OK
}

#[tokio::test]
async fn a_receiver_hanging_on_one_credential_does_not_hold_back_another() {
    let _slot = crate::common::browser_slot().await;
    let (release, released) = tokio::sync::watch::channel(false);
    let (seen, mut requests) = mpsc::unbounded_channel();
    let slow = Arc::new(Mutex::new(None));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hang_or_answer))
        .with_state(Hanging {
            slow: slow.clone(),
            released,
            seen,
        });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let receiver = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut config = hooks(&url, 8);
    // The hang would end at this timeout: far beyond what the other credential may wait.
    config.timeout = Duration::from_secs(120);
    let svc = TestService::start_tuned(move |c| c.webhooks = config).await;
    let hung = svc.create_credential("demo-bank", "carol", "demo").await;
    let other = svc.create_credential("demo-bank", "carol", "demo").await;
    *slow.lock().unwrap() = Some(hung.clone());

    let (_, state) = collect(&svc, &hung).await;
    assert_eq!(state, 7);
    let (hangs, first) = next_request(&mut requests).await;
    assert!(hangs, "the hung credential's head is sent first: {first}");

    let started = std::time::Instant::now();
    let (_, state) = collect(&svc, &other).await;
    assert_eq!(state, 7);
    let written = deliveries_of(&svc, &other, "").await;
    assert!(written.len() >= 5, "{written:?}");
    let mut got = Vec::new();
    while got.len() < written.len() {
        let (hangs, payload) = next_request(&mut requests).await;
        assert!(!hangs, "nothing more of the hung credential: {payload}");
        got.push(payload);
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the other credential's events came while the first still hung"
    );
    // Received, in order (below): the receiver saw each one. Their rows may still read
    // "pending" for a moment, until the worker records the 2xx.
    let types = |list: &[Value]| -> Vec<String> {
        list.iter()
            .map(|d| d["type"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(types(&got), types(&written), "in order");
    assert!(
        deliveries_of(&svc, &hung, "")
            .await
            .iter()
            .all(|d| d["status"] == "pending"),
        "the hung credential's events wait their turn"
    );

    // Released, the hung credential's events follow, in order.
    release.send_replace(true);
    let pending = deliveries_of(&svc, &hung, "").await;
    let mut rest = vec![first];
    while rest.len() < pending.len() {
        let (_, payload) = next_request(&mut requests).await;
        rest.push(payload);
    }
    assert_eq!(types(&rest), types(&pending), "in order");
    svc.stop().await;
    receiver.abort();
}

/// A credential deleted while its collect waits for a code: the delete cancels the collect,
/// whose end (-1, then `collect.failed` with CANCELLED) is written and delivered, signed and
/// in order, although the credential's rows are gone; its browser is closed before the
/// delete answers.
#[tokio::test]
async fn deleting_a_credential_mid_collect_delivers_the_collects_end() {
    let _slot = crate::common::browser_slot().await;
    let mut receiver = Receiver::start(&[], 200).await;
    let svc = TestService::start_tuned(with_hooks(&receiver.url, 8)).await;
    // alice's bank asks for an SMS code.
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    let (_, collect_id, ws) = svc.collect(&cred, false).await;
    let mut viewer = svc.viewer(&ws).await;
    viewer.until_twofa().await;

    let (status, body) = svc
        .call(Method::DELETE, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // The collect's browser is gone by the time the delete answers.
    crate::common::assert_nothing_left(svc.profiles.path());
    let (state, error) = viewer.final_state().await;
    assert_eq!(state, -1);
    assert_eq!(error.expect("an error").code, "CANCELLED");

    // Every event of the collect, its end included, stays in the outbox and goes out.
    let events = deliveries_of(&svc, &cred, "").await;
    let requests = receiver.until_accepted(events.len()).await;
    let accepted: Vec<&Received> = requests.iter().filter(|r| r.accepted()).collect();
    let kinds: Vec<(String, Option<i64>)> = accepted.iter().map(|r| kind(&r.payload())).collect();
    let state = |s| ("collect.state".to_string(), Some(s));
    assert_eq!(
        kinds,
        [
            state(1),
            state(2),
            state(3),
            state(-1),
            ("collect.failed".to_string(), None),
        ]
    );
    for r in &accepted {
        assert!(crate_verifies(r, &r.body), "{}", r.body);
        assert_eq!(r.payload()["data"]["collectId"], collect_id.as_str());
    }
    let failed = accepted.last().unwrap().payload();
    assert_eq!(failed["data"]["code"], "CANCELLED", "{failed}");
    assert_eq!(failed["data"]["credentialId"], cred.as_str());
    // The credential is gone all the same.
    let (status, _) = svc
        .call(Method::GET, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    svc.stop().await;
}
