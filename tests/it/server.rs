//! Helpers for the service tests: the real server on 127.0.0.1:0 (a real SQLite file and
//! master key in a temporary directory), an HTTP client, and a WebSocket viewer.

use std::path::PathBuf;
use std::time::Duration;

use demo_sites::DemoSite;
use futures::{SinkExt, StreamExt};
use gleaner::advice::FailureReason;
use gleaner::api::messages::{ClientMessage, ServerMessage};
use gleaner::server::{Server, ServerConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{demo_site_with, root};

pub const API_KEY: &str = "test-key-1";

pub struct TestService {
    pub base: String,
    pub site: DemoSite,
    pub data: tempfile::TempDir,
    pub profiles: tempfile::TempDir,
    pub collector: std::sync::Arc<gleaner::collect::Collector>,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

pub fn config(data: &std::path::Path, profiles: &std::path::Path, site: &DemoSite) -> ServerConfig {
    let mut config = ServerConfig::new(data, root().join("connectors"));
    config.api_keys = vec![API_KEY.into(), "other-key".into()];
    for id in ["demo-bank", "demo-bank-human", "demo-bank-spa"] {
        config
            .base_urls
            .insert(id.into(), site.base_url().parse().unwrap());
    }
    config.code_timeout = Duration::from_secs(60);
    config.launch.profile_root = Some(profiles.to_path_buf());
    config
}

impl TestService {
    pub async fn start() -> TestService {
        Self::start_tuned(|_| {}).await
    }

    /// Starts with the test configuration, changed by `tune` (UI origins...).
    pub async fn start_tuned(tune: impl FnOnce(&mut ServerConfig)) -> TestService {
        let site = demo_site_with(Default::default()).await;
        let data = tempfile::tempdir().unwrap();
        let profiles = tempfile::tempdir().unwrap();
        let mut config = config(data.path(), profiles.path(), &site);
        tune(&mut config);
        Self::start_with(site, data, profiles, config).await
    }

    pub async fn start_with(
        site: DemoSite,
        data: tempfile::TempDir,
        profiles: tempfile::TempDir,
        config: ServerConfig,
    ) -> TestService {
        gleaner::tls::install_crypto_provider();
        let server = Server::open(config).await.expect("server opens");
        let collector = server.collector().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(listener, async {
            let _ = stopped.await;
        }));
        TestService {
            base,
            site,
            data,
            profiles,
            collector,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.data.path().join("gleaner.db")
    }

    /// A request with the API key; returns the status and the JSON body (Null if none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_with(method, path, body, Some(API_KEY)).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let text = res.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, value)
    }

    /// A GET with the API key, the response as it comes.
    pub async fn raw_with_key(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(API_KEY)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn raw(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap()
    }

    pub async fn create_credential(&self, connector: &str, login: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/credential",
                Some(json!({
                    "userId": "user-1",
                    "connector": connector,
                    "fields": { "login": login, "password": password },
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    /// A credential of the connector whose whole login is the person's.
    pub async fn human_credential(&self) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/credential",
                Some(json!({ "userId": "u", "connector": "demo-bank-human", "fields": {} })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    /// `POST /credential/{id}/collect`: (status, collectId, wsPath).
    pub async fn collect(
        &self,
        credential: &str,
        background: bool,
    ) -> (StatusCode, String, String) {
        let (status, body) = self
            .call(
                Method::POST,
                &format!("/credential/{credential}/collect"),
                Some(json!({ "background": background })),
            )
            .await;
        assert!(status.is_success(), "{status}: {body}");
        (
            status,
            body["collectId"].as_str().unwrap().to_string(),
            body["wsPath"].as_str().unwrap().to_string(),
        )
    }

    /// A backend's viewer: no `Origin`, the API key.
    pub async fn viewer(&self, ws_path: &str) -> Viewer {
        self.open_socket(ws_path, &Handshake::backend())
            .await
            .expect("WebSocket opens")
    }

    /// Opens a collect's WebSocket with this handshake; the HTTP status when refused.
    pub async fn open_socket(
        &self,
        ws_path: &str,
        handshake: &Handshake,
    ) -> Result<Viewer, StatusCode> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::HeaderValue;
        let url = format!("{}{ws_path}", self.base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        if let Some(origin) = &handshake.origin {
            headers.insert("Origin", HeaderValue::from_str(origin).unwrap());
        }
        if let Some(key) = &handshake.api_key {
            headers.insert(
                "Authorization",
                HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
            );
        }
        if let Some(token) = &handshake.ui_token {
            headers.insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_str(&format!("gleaner-ui.{token}")).unwrap(),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Ok(Viewer { ws }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(StatusCode::from_u16(response.status().as_u16()).unwrap())
            }
            Err(e) => panic!("WebSocket handshake failed: {e}"),
        }
    }

    /// Stops the server (running collects end INTERRUPTED) and checks that no browser is
    /// left.
    pub async fn stop(mut self) -> (DemoSite, tempfile::TempDir, tempfile::TempDir) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("the server stops within 30 s")
                .expect("server task")
                .expect("server ran");
        }
        crate::common::assert_nothing_left(self.profiles.path());
        let TestService {
            site,
            data,
            profiles,
            ..
        } = self;
        (site, data, profiles)
    }
}

/// What a client sends in a WebSocket handshake.
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    pub origin: Option<String>,
    pub api_key: Option<String>,
    /// Offered as the subprotocol `gleaner-ui.<token>`, as the UI page does.
    pub ui_token: Option<String>,
}

impl Handshake {
    /// A backend: no `Origin`, the API key.
    pub fn backend() -> Handshake {
        Handshake {
            api_key: Some(API_KEY.into()),
            ..Handshake::default()
        }
    }
}

pub struct Viewer {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Viewer {
    /// The next server message, within `within`.
    pub async fn next(&mut self, within: Duration) -> Option<ServerMessage> {
        loop {
            let msg = tokio::time::timeout(within, self.ws.next())
                .await
                .expect("a message in time")?;
            match msg.expect("WebSocket frame") {
                Message::Text(t) => {
                    return Some(
                        serde_json::from_str(t.as_str())
                            .unwrap_or_else(|e| panic!("server message does not parse ({e}): {t}")),
                    );
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Reads messages until `pick` returns Some; every message read is also given to
    /// `seen`.
    pub async fn until<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(&ServerMessage) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let msg = self
                .next(left)
                .await
                .expect("the socket stays open until the awaited message");
            if let Some(t) = pick(&msg) {
                return t;
            }
        }
    }

    /// Reads until the site asks for a code.
    pub async fn until_twofa(&mut self) {
        self.until(Duration::from_secs(30), |m| {
            matches!(m, ServerMessage::Twofa { .. }).then_some(())
        })
        .await
    }

    /// Reads until the final state (-2, -1 or 7) and returns it with its error.
    pub async fn final_state(&mut self) -> (i8, Option<FailureReason>) {
        self.until(Duration::from_secs(30), |m| match m {
            ServerMessage::State { state, error, .. } if !(1..=6).contains(state) => {
                Some((*state, error.clone()))
            }
            _ => None,
        })
        .await
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_text(&serde_json::to_string(message).unwrap())
            .await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.to_string().into()))
            .await
            .expect("sent");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws
            .send(Message::Binary(bytes.into()))
            .await
            .expect("sent");
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The state index of a `state` message.
pub fn state_of(m: &ServerMessage) -> Option<i8> {
    match m {
        ServerMessage::State { state, .. } => Some(*state),
        _ => None,
    }
}

/// Decodes a `screenshot` message's JPEG.
pub fn decode_frame(m: &ServerMessage) -> Option<image::DynamicImage> {
    match m {
        ServerMessage::Screenshot { format, data, .. } => {
            assert_eq!(format, "jpeg");
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .expect("base64");
            Some(
                image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
                    .expect("the frame decodes as JPEG"),
            )
        }
        _ => None,
    }
}

/// The state indexes of a collect's timeline (`GET /collect/{id}`).
pub fn timeline(collect: &Value) -> Vec<i64> {
    collect["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|e| e["state"].as_i64().unwrap())
        .collect()
}

/// Opens the store a stopped service left in `data`, as a new process would.
pub async fn open_store(data: &std::path::Path) -> gleaner::store::Store {
    let key = gleaner::secrets::MasterKey::load_or_create(&data.join("master.key")).unwrap();
    let url = format!("sqlite://{}", data.join("gleaner.db").display());
    gleaner::store::Store::open(&url, gleaner::secrets::Cipher::new(&key))
        .await
        .unwrap()
}
