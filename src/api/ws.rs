//! `GET /ws/{token}`: one viewer of a live collect. It gets the state and a frame at
//! once, then every change; its clicks, keys, text, codes and `close` go to the collect.
//! A bad message gets an `error` back and never harms the collect.
//!
//! Who may open it (checked in the handshake, before the upgrade):
//! - a browser's `Origin` must be one of the UI origins or gleaner's own (403 otherwise,
//!   `null` included), so that no other site's page can drive a collect;
//! - the client proves itself with the API key (`Authorization: Bearer`, backends), or with
//!   a live UI token of the collect's user, offered as the subprotocol
//!   `gleaner-ui.<token>` (the UI page: a browser cannot set headers on a WebSocket, and a
//!   subprotocol keeps the token out of URLs and access logs); 401 otherwise;
//! - the path expires [`UiConfig::live_path_grace`](crate::ui::UiConfig) after the final
//!   state (404).
//!
//! A socket opened with a UI token stays bound to it: once the token has expired, its
//! input (codes, clicks, keys) is refused with an `error`.

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, ORIGIN, SEC_WEBSOCKET_PROTOCOL};
use axum::response::Response;
use tokio::sync::broadcast::error::RecvError;

use super::error::AppError;
use super::messages::{BadClientMessage, ClientMessage, MAX_CLIENT_MESSAGE, ServerMessage};
use super::state::AppState;
use crate::advice::FailureReason;
use crate::browser::{Focused, ViewerDisplay};
use crate::collect::live::{InputError, Live, LiveFrame, Status};
use crate::store::Store;

/// The subprotocol prefix by which the UI page offers its token.
pub const UI_TOKEN_PROTOCOL: &str = "gleaner-ui.";

/// Frames above the protocol limit are refused by the WebSocket layer itself; between
/// [`MAX_CLIENT_MESSAGE`] and this, the viewer gets an `error` message.
const FRAME_LIMIT: usize = 1024 * 1024;
const _: () = assert!(MAX_CLIENT_MESSAGE < FRAME_LIMIT);

#[utoipa::path(
    get,
    path = "/ws/{token}",
    tag = "live",
    params(("token" = String, Path, description = "the token of `wsPath`")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 101, description = "WebSocket of the live collect (see DESIGN.md for messages)"),
        (status = 400, description = "not a WebSocket upgrade (a plain GET, a missing `Sec-WebSocket-Key`…)", body = super::error::ErrorBody),
        (status = 401, description = "neither the API key nor a live UI token (subprotocol `gleaner-ui.<token>`)", body = super::error::ErrorBody),
        (status = 403, description = "an `Origin` that is neither a UI origin nor gleaner's own", body = super::error::ErrorBody),
        (status = 404, description = "unknown token, or its collect ended more than the grace period ago", body = super::error::ErrorBody),
    )
)]
pub async fn live_ws(
    Path(token): Path<String>,
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !state.ui.allows_socket_origin(origin) {
            return Err(AppError::Forbidden(format!(
                "Origin {:?} may not open a live collect: only the UI origins and gleaner's own",
                super::error::capped(origin)
            )));
        }
    }
    let live = state
        .collector
        .by_token(&token)
        .filter(|live| !live.ended_before(state.ui.live_path_grace))
        .ok_or_else(|| AppError::NotFound("no live collect for this path".into()))?;
    let client = client_of(&state, &headers, &live).await?;
    let upgrade =
        upgrade.map_err(|e| AppError::BadRequest(format!("{e}: open this path as a WebSocket")))?;
    let upgrade = match &client {
        Client::Ui { protocol, .. } => upgrade.protocols([protocol.clone()]),
        Client::Backend => upgrade,
    };
    let bound = match client {
        Client::Ui { token, .. } => Some(Binding {
            store: state.collector.store().clone(),
            token,
        }),
        Client::Backend => None,
    };
    Ok(upgrade
        .max_message_size(FRAME_LIMIT)
        .max_frame_size(FRAME_LIMIT)
        .on_upgrade(move |socket| serve(socket, live, bound)))
}

/// Who opened a socket.
enum Client {
    /// A backend, with the API key.
    Backend,
    /// The UI page, with a live token of the collect's user, offered as `protocol`.
    Ui { token: String, protocol: String },
}

/// The UI token a socket was opened with. It is read again from the store for each message,
/// so the socket gives no input once the token has expired (or is gone).
struct Binding {
    store: Store,
    token: String,
}

impl Binding {
    async fn is_live(&self) -> bool {
        match self.store.ui_token(&self.token).await {
            Ok(Some(t)) => !t.is_expired(),
            Ok(None) => false,
            Err(e) => {
                tracing::error!("UI token lookup: {e}");
                false
            }
        }
    }
}

/// The API key, or a live UI token of the collect's user; 401 with the reason otherwise.
async fn client_of(state: &AppState, headers: &HeaderMap, live: &Live) -> Result<Client, AppError> {
    let api_key = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(key) = api_key {
        return if state.api_keys.accepts(key) {
            Ok(Client::Backend)
        } else {
            Err(AppError::Unauthorized)
        };
    }
    let offered = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|p| p.starts_with(UI_TOKEN_PROTOCOL));
    let Some(protocol) = offered else {
        return Err(AppError::Unauthenticated(
            "a live collect opens with the API key (`Authorization: Bearer <api key>`) or, from \
             the UI, with its session token (subprotocol `gleaner-ui.<token>`)"
                .into(),
        ));
    };
    let token = &protocol[UI_TOKEN_PROTOCOL.len()..];
    let ui_token = match state.collector.store().ui_token(token).await? {
        Some(t) if !t.is_expired() => t,
        Some(_) => {
            return Err(AppError::Unauthenticated(
                "the session token has expired: open the UI again from the site".into(),
            ));
        }
        None => {
            return Err(AppError::Unauthenticated(
                "unknown session token: open the UI again from the site".into(),
            ));
        }
    };
    let owner = state
        .collector
        .store()
        .credential(&live.credential_id)
        .await?;
    if owner.is_none_or(|c| c.user_id != ui_token.user_id) {
        // As if the collect did not exist for this user.
        return Err(AppError::NotFound("no live collect for this path".into()));
    }
    Ok(Client::Ui {
        token: token.to_string(),
        protocol: protocol.to_string(),
    })
}

pub fn state_message(status: &Status) -> ServerMessage {
    ServerMessage::State {
        state: status.state.index(),
        name: status.state.name().to_string(),
        message: status.message.clone(),
        error: status
            .error
            .as_ref()
            .map(|e| FailureReason::of(status.state, e)),
        interactive: status.interactive,
        instructions: status
            .instructions
            .as_ref()
            .map(|i| i.english_or_first().to_string()),
        localized_instructions: status.instructions.clone(),
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

async fn serve(mut socket: WebSocket, live: Arc<Live>, bound: Option<Binding>) {
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
    let focused = viewer.focus.borrow_and_update().clone();
    if let Some(f) = focused
        && !send(&mut socket, &focus_message(f)).await
    {
        return;
    }
    let pending = viewer.code_request.borrow_and_update().clone();
    if let Some(r) = pending
        && !send(&mut socket, &twofa_message(&live, r)).await
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
                    && !send(&mut socket, &twofa_message(&live, r)).await
                {
                    break;
                }
            }
            changed = viewer.focus.changed() => {
                if changed.is_err() { break; }
                let focused = viewer.focus.borrow_and_update().clone();
                if let Some(f) = focused
                    && !send(&mut socket, &focus_message(f)).await
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
                    if let Err(reason) = handle(&live, bound.as_ref(), text.as_str()).await
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

fn focus_message(f: Focused) -> ServerMessage {
    ServerMessage::Focus {
        kind: f.kind,
        takes_text: f.kind.takes_text(),
        label: f.label,
        area: f.area,
    }
}

fn twofa_message(live: &Live, r: crate::collect::live::CodeRequest) -> ServerMessage {
    ServerMessage::Twofa {
        kind: r.kind,
        label: r.label.as_ref().map_or_else(
            || r.kind.default_label().to_string(),
            |l| l.english_or_first().to_string(),
        ),
        localized_label: r.label,
        expires_at: r.expires_at,
        again: live.asked_again(),
    }
}

/// Why a viewer's message was not applied; its text is what the viewer is told.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error(transparent)]
    Message(#[from] BadClientMessage),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("the session has expired: open the UI again from the site")]
    SessionExpired,
}

/// Applies one client message; on a socket bound to a UI token, only while it lives.
async fn handle(live: &Live, bound: Option<&Binding>, text: &str) -> Result<(), Refused> {
    if let Some(binding) = bound
        && !binding.is_live().await
    {
        return Err(Refused::SessionExpired);
    }
    let message = ClientMessage::parse(text)?;
    let result = match message {
        ClientMessage::Twofa { code } => live.give_code(&code),
        ClientMessage::Click { x, y } => live.click(x, y).await,
        ClientMessage::Keydown { key } => live.key(&key).await,
        ClientMessage::Text { text } => live.text(&text).await,
        ClientMessage::Scroll { x, y, dx, dy } => live.scroll(x, y, dx, dy).await,
        ClientMessage::Close => live.close_interactive(),
        ClientMessage::Display {
            width,
            height,
            scale,
            touch,
        } => ViewerDisplay::new(width, height, scale, touch)
            .map_err(InputError::from)
            .and_then(|d| live.set_display(d)),
    };
    Ok(result?)
}
