use std::collections::VecDeque;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::ready;

use async_tungstenite::tungstenite::Message as WsMessage;
use async_tungstenite::{WebSocketStream, tungstenite::protocol::WebSocketConfig};
use futures::stream::Stream;
use futures::task::{Context, Poll};
use futures::{SinkExt, StreamExt};

use async_tungstenite::tokio::ConnectStream;
use chromiumoxide_cdp::cdp::browser_protocol::target::SessionId;
use chromiumoxide_types::{CallId, EventMessage, Message, MethodCall, MethodId};

use crate::error::CdpError;
use crate::error::Result;

/// How the CDP messages travel: a WebSocket (`--remote-debugging-port`) or the pipe
/// Chromium reads and writes on its fds 3 and 4 (`--remote-debugging-pipe`).
#[derive(Debug)]
// One per browser; boxing the WebSocket would only add an indirection to the stock path.
#[allow(clippy::large_enum_variant)]
enum Transport {
    Ws(WebSocketStream<ConnectStream>),
    Pipe(crate::pipe::PipeTransport),
}

/// Exchanges the messages with the websocket
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct Connection<T: EventMessage> {
    /// Queue of commands to send.
    pending_commands: VecDeque<MethodCall>,
    /// The websocket (or pipe) of the chromium instance
    ws: Transport,
    /// The identifier for a specific command
    next_id: usize,
    needs_flush: bool,
    /// The message that is currently being proceessed
    pending_flush: Option<MethodCall>,
    _marker: PhantomData<T>,
}

impl<T: EventMessage + Unpin> Connection<T> {
    pub async fn connect(debug_ws_url: impl AsRef<str>) -> Result<Self> {
        let config = WebSocketConfig::default()
            .max_message_size(None)
            .max_frame_size(None);

        let (ws, _) = async_tungstenite::tokio::connect_async_with_config(
            debug_ws_url.as_ref(),
            Some(config),
        )
        .await?;

        Ok(Self::with_transport(Transport::Ws(ws)))
    }

    /// A connection over `--remote-debugging-pipe`: `transport` writes NUL-terminated JSON
    /// to the browser's fd 3 and reads NUL-terminated JSON from its fd 4.
    pub fn pipe(transport: crate::pipe::PipeTransport) -> Self {
        Self::with_transport(Transport::Pipe(transport))
    }

    fn with_transport(ws: Transport) -> Self {
        Self {
            pending_commands: Default::default(),
            ws,
            next_id: 0,
            needs_flush: false,
            pending_flush: None,
            _marker: Default::default(),
        }
    }
}

impl<T: EventMessage> Connection<T> {
    fn next_call_id(&mut self) -> CallId {
        let id = CallId::new(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// Queue in the command to send over the socket and return the id for this
    /// command
    pub fn submit_command(
        &mut self,
        method: MethodId,
        session_id: Option<SessionId>,
        params: serde_json::Value,
    ) -> serde_json::Result<CallId> {
        let id = self.next_call_id();
        let call = MethodCall {
            id,
            method,
            session_id: session_id.map(Into::into),
            params,
        };
        self.pending_commands.push_back(call);
        Ok(id)
    }

    /// flush any processed message and start sending the next over the conn
    /// sink
    fn start_send_next(&mut self, cx: &mut Context<'_>) -> Result<()> {
        if self.needs_flush {
            let flushed = match &mut self.ws {
                Transport::Ws(ws) => matches!(ws.poll_flush_unpin(cx), Poll::Ready(Ok(()))),
                Transport::Pipe(p) => matches!(p.poll_flush_unpin(cx), Poll::Ready(Ok(()))),
            };
            if flushed {
                self.needs_flush = false;
            }
        }
        if self.pending_flush.is_none() && !self.needs_flush {
            if let Some(cmd) = self.pending_commands.pop_front() {
                tracing::trace!("Sending {:?}", cmd);
                let msg = serde_json::to_string(&cmd)?;
                match &mut self.ws {
                    Transport::Ws(ws) => ws.start_send_unpin(msg.into())?,
                    Transport::Pipe(p) => p.start_send_unpin(msg)?,
                }
                self.pending_flush = Some(cmd);
            }
        }
        Ok(())
    }
}

impl<T: EventMessage + Unpin> Stream for Connection<T> {
    type Item = Result<Message<T>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let pin = self.get_mut();

        loop {
            // queue in the next message if not currently flushing
            if let Err(err) = pin.start_send_next(cx) {
                return Poll::Ready(Some(Err(err)));
            }

            // send the message
            if let Some(call) = pin.pending_flush.take() {
                let ready = match &mut pin.ws {
                    Transport::Ws(ws) => ws.poll_ready_unpin(cx).is_ready(),
                    Transport::Pipe(p) => p.poll_ready_unpin(cx).is_ready(),
                };
                if ready {
                    pin.needs_flush = true;
                    // try another flush
                    continue;
                } else {
                    pin.pending_flush = Some(call);
                }
            }

            break;
        }

        let ws = match &mut pin.ws {
            Transport::Ws(ws) => ws,
            Transport::Pipe(p) => {
                return match ready!(p.poll_next_unpin(cx)) {
                    Some(Ok(text)) => Poll::Ready(Some(
                        serde_json::from_str::<Message<T>>(&text).map_err(|err| {
                            tracing::debug!(target: "chromiumoxide::conn::raw_ws::parse_errors", msg = text.as_str(), "Failed to parse raw pipe message {}", err);
                            CdpError::InvalidMessage(text, err)
                        }),
                    )),
                    Some(Err(err)) => Poll::Ready(Some(Err(CdpError::Io(err)))),
                    None => Poll::Ready(None),
                };
            }
        };

        // read from the ws
        match ready!(ws.poll_next_unpin(cx)) {
            Some(Ok(WsMessage::Text(text))) => {
                let ready = match serde_json::from_str::<Message<T>>(&text) {
                    Ok(msg) => {
                        tracing::trace!("Received {:?}", msg);
                        Ok(msg)
                    }
                    Err(err) => {
                        let msg = text.as_str().to_string();
                        tracing::debug!(target: "chromiumoxide::conn::raw_ws::parse_errors", msg, "Failed to parse raw WS message {}", err);
                        Err(CdpError::InvalidMessage(text.as_str().to_string(), err))
                    }
                };
                Poll::Ready(Some(ready))
            }
            Some(Ok(WsMessage::Close(_))) => Poll::Ready(None),
            // ignore ping and pong
            Some(Ok(WsMessage::Ping(_))) | Some(Ok(WsMessage::Pong(_))) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(Ok(msg)) => Poll::Ready(Some(Err(CdpError::UnexpectedWsMessage(msg)))),
            Some(Err(err)) => Poll::Ready(Some(Err(CdpError::Ws(err)))),
            None => {
                // ws connection closed
                Poll::Ready(None)
            }
        }
    }
}
