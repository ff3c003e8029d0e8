//! Watch a collect live from a terminal: starts (or attaches to) the collect of a
//! credential, prints its states, writes the latest screen frame to a JPEG file you can
//! open, and asks for the 2FA code on stdin when the site wants one.
//!
//! ```text
//! cargo run --example watch -- --api http://127.0.0.1:8080 --key $GLEANER_API_KEY \
//!     --credential <id> [--frame out/live.jpg] [--background]
//! ```

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use base64::Engine;
use clap::Parser;
use futures::{SinkExt, StreamExt};
use gleaner::api::messages::{ClientMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Parser)]
struct Args {
    /// The service's base URL.
    #[arg(long, env = "GLEANER_API")]
    api: String,
    /// An API key of the service.
    #[arg(long, env = "GLEANER_API_KEY", hide_env_values = true)]
    key: String,
    /// The credential to collect for.
    #[arg(long)]
    credential: String,
    /// Where the latest frame is written.
    #[arg(long, default_value = "out/live.jpg")]
    frame: PathBuf,
    /// Start a background collect (no 2FA possible).
    #[arg(long)]
    background: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    gleaner::tls::install_crypto_provider();
    let args = Args::parse();
    let started: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/credential/{}/collect",
            args.api, args.credential
        ))
        .bearer_auth(&args.key)
        .json(&serde_json::json!({ "background": args.background }))
        .send()
        .await?
        .error_for_status()
        .context("POST /credential/{id}/collect")?
        .json()
        .await?;
    let ws_path = started["wsPath"].as_str().context("no wsPath")?;
    eprintln!(
        "collect {} ({}), live at {ws_path}",
        started["collectId"].as_str().unwrap_or("?"),
        if started["attached"] == true {
            "attached"
        } else {
            "started"
        }
    );
    if let Some(dir) = args.frame.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let url = format!("{}{ws_path}", args.api.replacen("http", "ws", 1));
    // A backend opens the socket with its API key (and no Origin).
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {}", args.key).parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;

    // Codes are read on a thread of their own: stdin blocks.
    let (codes_tx, mut codes_rx) = tokio::sync::mpsc::channel::<String>(1);
    let mut frames = 0u64;
    let mut bytes = 0u64;
    loop {
        tokio::select! {
            Some(code) = codes_rx.recv() => {
                let m = serde_json::to_string(&ClientMessage::Twofa { code })?;
                ws.send(Message::Text(m.into())).await?;
            }
            incoming = ws.next() => {
                let Some(incoming) = incoming else { break };
                let Message::Text(text) = incoming? else { continue };
                match serde_json::from_str::<ServerMessage>(text.as_str())? {
                    ServerMessage::State { state, name, message, error, interactive, instructions, advice, .. } => {
                        let bar: String = (1..=7).map(|k| if k <= state.max(0) { '■' } else { '□' }).collect();
                        eprintln!("[{bar}] {state:>2} {name}{}{}",
                            message.map(|m| format!(" — {m}")).unwrap_or_default(),
                            if interactive { format!(" — your turn: {}", instructions.unwrap_or_default()) } else { String::new() });
                        if let Some(e) = error {
                            eprintln!("        {}: {}", e.code, e.message);
                        }
                        if let Some(a) = advice {
                            eprintln!("        {}", a.en);
                        }
                        if !(1..=6).contains(&state) {
                            eprintln!("{frames} frames received ({} KB); last one in {}", bytes / 1024, args.frame.display());
                            return if state == 7 { Ok(()) } else { bail!("the collect ended in state {state}") };
                        }
                    }
                    ServerMessage::Screenshot { data, .. } => {
                        let jpeg = base64::engine::general_purpose::STANDARD.decode(data)?;
                        frames += 1;
                        bytes += jpeg.len() as u64;
                        std::fs::write(&args.frame, jpeg)?;
                    }
                    ServerMessage::Twofa { label, kind, .. } => {
                        eprint!("{label} ({}): ", kind.as_str());
                        std::io::stderr().flush()?;
                        let tx = codes_tx.clone();
                        std::thread::spawn(move || {
                            let mut line = String::new();
                            if std::io::stdin().lock().read_line(&mut line).is_ok() {
                                let _ = tx.blocking_send(line.trim().to_string());
                            }
                        });
                    }
                    ServerMessage::Focus { kind, label, .. } => {
                        eprintln!("        the page's keyboard: {kind:?} {}", label.unwrap_or_default());
                    }
                    ServerMessage::Error { message } => eprintln!("server: {message}"),
                }
            }
        }
    }
    bail!("the connection closed before the collect ended")
}
