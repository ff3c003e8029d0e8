//! Measures the live screen as a viewer sees it, through the real service, WebSocket and
//! Chromium:
//! - frames per second and bytes per frame on an animated page, and during a real demo-bank
//!   collect (login, 2FA, collecting, downloading);
//! - the delay from a `click` message to the next frame, over N clicks (median, p95);
//! - the delay from a `display` message (the viewer's screen changed: a phone, a desktop
//!   window) to the first frame laid out for it, over N changes, and the bytes of a frame
//!   at phone size.
//!
//! ```text
//! cargo run --release --example live_bench -- [--clicks 60]
//! ```
//! (`scripts/bench` runs it.) Each click lands on a "sketch" page where it draws a dot, so
//! every click changes the screen; before each click the bench waits until no frame has
//! come for 300 ms, so the frame it times is the click's.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::response::Html;
use clap::Parser;
use demo_sites::{DemoSite, DemoSiteOptions, demo_bank_fixtures};
use futures::{SinkExt, StreamExt};
use gleaner::api::messages::{ClientMessage, ServerMessage};
use gleaner::server::{Server, ServerConfig};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Parser)]
struct Args {
    /// Clicks to time.
    #[arg(long, default_value_t = 60)]
    clicks: usize,
    /// Seconds of animation to count frames over.
    #[arg(long, default_value_t = 3)]
    animate_secs: u64,
}

const KEY: &str = "bench-key";

const SKETCH: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>sketch</title>
<style>body{margin:0;height:100vh;background:#fafafa;font:16px sans-serif}
.dot{position:absolute;width:14px;height:14px;margin:-7px;border-radius:50%;background:#1565c0}
#spin{position:absolute;right:40px;top:40px;width:80px;height:80px;background:#e53935;display:none}
.on #spin{display:block;animation:r 1s linear infinite}@keyframes r{to{transform:rotate(360deg)}}
#n{position:absolute;left:20px;top:20px}</style></head>
<body><div id="n">0 clicks</div><div id="spin"></div><script>
let n=0;addEventListener('mousedown',e=>{const d=document.createElement('div');d.className='dot';
d.style.left=e.clientX+'px';d.style.top=e.clientY+'px';document.body.appendChild(d);
document.getElementById('n').textContent=(++n)+' clicks'});
addEventListener('keydown',e=>{if(e.key==='a')document.body.classList.toggle('on')});
</script></body></html>"#;

const CONNECTOR: &str = "id: sketch\nname: Sketch\nbase_url: http://127.0.0.1/\n\
pages:\n  never: { url: '/never$' }\n\
interactive_login:\n  start: /sketch\n  until: never\n  instructions: draw\n  timeout: 10m\n";

#[tokio::main]
async fn main() -> Result<()> {
    gleaner::tls::install_crypto_provider();
    let args = Args::parse();
    // The sketch page, served on 127.0.0.1:0.
    let sketch =
        axum::Router::new().route("/sketch", axum::routing::get(|| async { Html(SKETCH) }));
    let sketch_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sketch_url = format!("http://{}/", sketch_listener.local_addr()?);
    tokio::spawn(async move { axum::serve(sketch_listener, sketch).await });

    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let site = DemoSite::start(
        demo_bank_fixtures(),
        DemoSiteOptions {
            fixed_code: Some("424242".into()),
            print_codes: false,
            ..Default::default()
        },
    )
    .await?;
    let work = tempfile::tempdir()?;
    let connectors = work.path().join("connectors");
    std::fs::create_dir_all(&connectors)?;
    std::fs::write(connectors.join("sketch.yaml"), CONNECTOR)?;
    std::fs::copy(
        root.join("connectors/demo-bank.yaml"),
        connectors.join("demo-bank.yaml"),
    )?;
    let mut config = ServerConfig::new(work.path().join("data"), &connectors);
    config.api_keys = vec![KEY.into()];
    config
        .base_urls
        .insert("sketch".into(), sketch_url.parse()?);
    config
        .base_urls
        .insert("demo-bank".into(), site.base_url().parse()?);
    let server = Server::open(config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(server.run(listener, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();

    // 1. A real collect, watched from start to end.
    let cred = create(
        &http,
        &api,
        "demo-bank",
        json!({ "login": "alice", "password": "demo" }),
    )
    .await?;
    let mut ws = open(&http, &api, &cred).await?;
    let started = Instant::now();
    let (mut frames, mut bytes) = (0usize, 0usize);
    loop {
        match next(&mut ws, Duration::from_secs(60)).await? {
            Some(ServerMessage::Screenshot { data, .. }) => {
                frames += 1;
                bytes += data.len() * 3 / 4;
            }
            Some(ServerMessage::Twofa { .. }) => {
                send(
                    &mut ws,
                    &ClientMessage::Twofa {
                        code: "424242".into(),
                    },
                )
                .await?
            }
            Some(ServerMessage::State { state, .. }) if !(1..=6).contains(&state) => {
                if state != 7 {
                    bail!("demo collect ended in state {state}");
                }
                break;
            }
            Some(_) => {}
            None => bail!("socket closed"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "demo collect watched: {frames} frames in {secs:.2} s = {:.1} fps, {:.1} KB per frame",
        frames as f64 / secs,
        bytes as f64 / frames.max(1) as f64 / 1024.0
    );

    // 2. The sketch page: the person's turn until we stop.
    let cred = create(&http, &api, "sketch", json!({})).await?;
    let mut ws = open(&http, &api, &cred).await?;
    loop {
        match next(&mut ws, Duration::from_secs(30)).await? {
            Some(ServerMessage::State {
                interactive: true, ..
            }) => break,
            Some(ServerMessage::State { state, error, .. }) if !(1..=6).contains(&state) => {
                bail!("sketch collect ended: {error:?}")
            }
            None => bail!("socket closed"),
            _ => {}
        }
    }
    quiet(&mut ws).await?;

    // Animation: frames per second and bytes per frame at full rate.
    send(&mut ws, &ClientMessage::Keydown { key: "a".into() }).await?;
    let mut sizes = Vec::new();
    let window = Duration::from_secs(args.animate_secs);
    let t0 = Instant::now();
    while t0.elapsed() < window {
        if let Some(ServerMessage::Screenshot { data, .. }) = next(
            &mut ws,
            window
                .saturating_sub(t0.elapsed())
                .max(Duration::from_millis(1)),
        )
        .await
        .unwrap_or(None)
        {
            sizes.push(data.len() * 3 / 4);
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    sizes.sort_unstable();
    println!(
        "animated page: {} frames in {secs:.2} s = {:.1} fps; bytes per frame median {:.1} KB (min {:.1}, max {:.1})",
        sizes.len(),
        sizes.len() as f64 / secs,
        pct(&sizes, 50) as f64 / 1024.0,
        sizes.first().copied().unwrap_or(0) as f64 / 1024.0,
        sizes.last().copied().unwrap_or(0) as f64 / 1024.0,
    );
    send(&mut ws, &ClientMessage::Keydown { key: "a".into() }).await?;
    quiet(&mut ws).await?;

    // Clicks: from the message sent to the next frame.
    let mut delays = Vec::new();
    for i in 0..args.clicks {
        let x = 0.1 + 0.8 * ((i * 37) % 100) as f64 / 100.0;
        let y = 0.2 + 0.7 * ((i * 53) % 100) as f64 / 100.0;
        let t = Instant::now();
        send(&mut ws, &ClientMessage::Click { x, y }).await?;
        loop {
            match next(&mut ws, Duration::from_secs(5)).await? {
                Some(ServerMessage::Screenshot { .. }) => break,
                Some(ServerMessage::Error { message }) => bail!("click refused: {message}"),
                None => bail!("socket closed"),
                _ => {}
            }
        }
        delays.push(t.elapsed());
        quiet(&mut ws).await?;
    }
    delays.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "click → next frame over {} clicks: median {:.1} ms, p95 {:.1} ms, min {:.1} ms, max {:.1} ms",
        delays.len(),
        ms(pct(&delays, 50)),
        ms(pct(&delays, 95)),
        ms(delays[0]),
        ms(*delays.last().context("no clicks")?),
    );

    // Displays: from the message to the first frame of the new size, alternating between a
    // phone and a desktop window.
    let displays = [(360u32, 740u32, 3.0f64, true), (1024, 600, 1.0, false)];
    let mut delays = Vec::new();
    let mut phone_bytes = Vec::new();
    for i in 0..args.clicks.min(30) {
        let (width, height, scale, touch) = displays[i % 2];
        let t = Instant::now();
        send(
            &mut ws,
            &ClientMessage::Display {
                width,
                height,
                scale,
                touch,
            },
        )
        .await?;
        loop {
            match next(&mut ws, Duration::from_secs(5)).await? {
                Some(ServerMessage::Screenshot {
                    width: w,
                    height: h,
                    data,
                    ..
                }) if u64::from(w) * u64::from(height) == u64::from(h) * u64::from(width) => {
                    if touch {
                        phone_bytes.push(data.len() * 3 / 4);
                    }
                    break;
                }
                Some(ServerMessage::Error { message }) => bail!("display refused: {message}"),
                None => bail!("socket closed"),
                _ => {}
            }
        }
        delays.push(t.elapsed());
        quiet(&mut ws).await?;
    }
    delays.sort_unstable();
    phone_bytes.sort_unstable();
    println!(
        "display → first frame of its size over {} changes (360×740 touch ⇄ 1024×600): median {:.1} ms, p95 {:.1} ms, max {:.1} ms; a 360×740 frame {:.1} KB",
        delays.len(),
        ms(pct(&delays, 50)),
        ms(pct(&delays, 95)),
        ms(*delays.last().context("no display changes")?),
        pct(&phone_bytes, 50) as f64 / 1024.0,
    );

    send(&mut ws, &ClientMessage::Close).await?;
    let _ = stop.send(());
    served.await??;
    site.shutdown().await;
    Ok(())
}

fn pct<T: Copy + Default>(sorted: &[T], p: usize) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    sorted[((sorted.len() - 1) * p).div_ceil(100)]
}

async fn create(
    http: &reqwest::Client,
    api: &str,
    connector: &str,
    fields: Value,
) -> Result<String> {
    let body: Value = http
        .post(format!("{api}/credential"))
        .bearer_auth(KEY)
        .json(&json!({ "userId": "bench", "connector": connector, "fields": fields }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(body["id"].as_str().context("credential id")?.to_string())
}

async fn open(http: &reqwest::Client, api: &str, cred: &str) -> Result<Ws> {
    let body: Value = http
        .post(format!("{api}/credential/{cred}/collect"))
        .bearer_auth(KEY)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let path = body["wsPath"].as_str().context("wsPath")?;
    // A backend opens the socket with its API key (and no Origin).
    let mut request = format!("{}{path}", api.replacen("http", "ws", 1)).into_client_request()?;
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {KEY}").parse()?);
    let (ws, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(ws)
}

async fn send(ws: &mut Ws, m: &ClientMessage) -> Result<()> {
    ws.send(Message::Text(serde_json::to_string(m)?.into()))
        .await?;
    Ok(())
}

/// The next server message; `Err` when none comes within `within`.
async fn next(ws: &mut Ws, within: Duration) -> Result<Option<ServerMessage>> {
    loop {
        let Some(m) = tokio::time::timeout(within, ws.next())
            .await
            .context("no message in time")?
        else {
            return Ok(None);
        };
        if let Message::Text(t) = m? {
            return Ok(Some(serde_json::from_str(t.as_str())?));
        }
    }
}

/// Waits until no frame has come for 300 ms.
async fn quiet(ws: &mut Ws) -> Result<()> {
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(300), ws.next()).await {
        m?;
    }
    Ok(())
}
