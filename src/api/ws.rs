//! `GET /ws/{token}`: one viewer of a live collect. It gets the state and a frame at
//! once, then every change; its clicks, keys, text, codes and `close` go to the collect.
//! A bad message gets an `error` back and never harms the collect.

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use tokio::sync::broadcast::error::RecvError;

use super::error::AppError;
use super::messages::{BadClientMessage, ClientMessage, MAX_CLIENT_MESSAGE, ServerMessage};
use super::state::AppState;
use crate::collect::live::{InputError, Live, LiveFrame, Status};

/// Frames above the protocol limit are refused by the WebSocket layer itself; between
/// [`MAX_CLIENT_MESSAGE`] and this, the viewer gets an `error` message.
const FRAME_LIMIT: usize = 1024 * 1024;
const _: () = assert!(MAX_CLIENT_MESSAGE < FRAME_LIMIT);

#[utoipa::path(
    get,
    path = "/ws/{token}",
    tag = "live",
    params(("token" = String, Path, description = "the token of `wsPath`")),
    responses(
        (status = 101, description = "WebSocket of the live collect (see DESIGN.md for messages)"),
        (status = 404, description = "unknown token", body = super::error::ErrorBody),
    )
)]
pub async fn live_ws(
    Path(token): Path<String>,
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let upgrade =
        upgrade.map_err(|e| AppError::BadRequest(format!("{e}: open this path as a WebSocket")))?;
    let live = state
        .collector
        .by_token(&token)
        .ok_or_else(|| AppError::NotFound("no live collect for this path".into()))?;
    Ok(upgrade
        .max_message_size(FRAME_LIMIT)
        .max_frame_size(FRAME_LIMIT)
        .on_upgrade(move |socket| serve(socket, live)))
}

pub fn state_message(status: &Status) -> ServerMessage {
    ServerMessage::State {
        state: status.state.index(),
        name: status.state.name().to_string(),
        message: status.message.clone(),
        error: status.error.clone(),
        interactive: status.interactive,
        instructions: status.instructions.clone(),
        advice: status.advice.clone(),
    }
}

fn screenshot_message(shot: &LiveFrame) -> ServerMessage {
    ServerMessage::Screenshot {
        format: "jpeg".into(),
        data: shot.frame.jpeg_base64.clone(),
        width: shot.frame.width,
        height: shot.frame.height,
        seq: shot.seq,
    }
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> bool {
    let text = match serde_json::to_string(message) {
        Ok(t) => t,
        Err(_) => return true,
    };
    socket
        .send(Message::Text(Utf8Bytes::from(text)))
        .await
        .is_ok()
}

async fn serve(mut socket: WebSocket, live: Arc<Live>) {
    let mut viewer = live.attach();
    let status = viewer.status.borrow_and_update().clone();
    if !send(&mut socket, &state_message(&status)).await {
        return;
    }
    let mut last_seq = 0;
    if let Some(shot) = live.current_shot().await {
        last_seq = shot.seq;
        if !send(&mut socket, &screenshot_message(&shot)).await {
            return;
        }
    }
    let pending = viewer.code_request.borrow_and_update().clone();
    if let Some(r) = pending
        && !send(&mut socket, &twofa_message(r)).await
    {
        return;
    }
    if live.is_finished() {
        let _ = socket.send(Message::Close(None)).await;
        return;
    }
    loop {
        tokio::select! {
            // A state goes out before the code request or frames that follow it.
            biased;
            changed = viewer.status.changed() => {
                if changed.is_err() { break; }
                let status = viewer.status.borrow_and_update().clone();
                if !send(&mut socket, &state_message(&status)).await { break; }
                if !status.state.in_progress() {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            }
            changed = viewer.code_request.changed() => {
                if changed.is_err() { break; }
                let request = viewer.code_request.borrow_and_update().clone();
                if let Some(r) = request
                    && !send(&mut socket, &twofa_message(r)).await
                {
                    break;
                }
            }
            shot = viewer.shots.recv() => match shot {
                Ok(shot) => {
                    // The first frame may have been sent already, from `current_shot`.
                    if shot.seq > last_seq {
                        last_seq = shot.seq;
                        if !send(&mut socket, &screenshot_message(&shot)).await { break; }
                    }
                }
                // A slow viewer skips frames rather than slowing the collect.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Err(reason) = handle(&live, text.as_str()).await
                        && !send(&mut socket, &ServerMessage::Error { message: reason.to_string() }).await
                    {
                        break;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let reason = "binary frames are not part of the protocol: send JSON text".to_string();
                    if !send(&mut socket, &ServerMessage::Error { message: reason }).await { break; }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
}

fn twofa_message(r: crate::collect::live::CodeRequest) -> ServerMessage {
    ServerMessage::Twofa {
        kind: r.kind,
        label: r.label,
        expires_at: r.expires_at,
    }
}

/// Why a viewer's message was not applied; its text is what the viewer is told.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error(transparent)]
    Message(#[from] BadClientMessage),
    #[error(transparent)]
    Input(#[from] InputError),
}

/// Applies one client message.
async fn handle(live: &Live, text: &str) -> Result<(), Refused> {
    let message = ClientMessage::parse(text)?;
    let result = match message {
        ClientMessage::Twofa { code } => live.give_code(&code),
        ClientMessage::Click { x, y } => live.click(x, y).await,
        ClientMessage::Keydown { key } => live.key(&key).await,
        ClientMessage::Text { text } => live.text(&text).await,
        ClientMessage::Close => live.close_interactive(),
    };
    Ok(result?)
}
