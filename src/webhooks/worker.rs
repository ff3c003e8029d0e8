//! The delivery worker: one task, started with the service and stopped with it.
//!
//! Each round it reads the head of every credential's pending queue
//! ([`Store::webhook_heads`]), sends the ones that are due in parallel, and records each
//! attempt. Between rounds it waits for the store's wake-up (new events, a replay), the
//! next retry time, or the stop. A stop lets the requests in flight finish (each is bounded
//! by the timeout) and leaves everything else pending, for the next start.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::Webhooks;
use super::event::EventType;
use crate::store::{Attempt, PendingEvent, Store};

/// Credentials served at once in a round.
const ROUND: u32 = 16;
/// How much of a refusing receiver's answer is kept as `lastError`.
const ERROR_BODY: usize = 300;

/// The running worker.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops after the requests in flight; pending events stay pending.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!("the webhook worker ended badly: {e}");
        }
    }
}

/// Starts delivering the store's pending events to `webhooks.url`. `public_base`
/// (`http://host:port`, no trailing slash) makes documents' download URLs absolute.
pub fn spawn(store: Store, webhooks: Webhooks, public_base: String) -> WorkerHandle {
    let (stop, stopped) = watch::channel(false);
    let client = match client(&webhooks) {
        Ok(c) => c,
        Err(e) => {
            // Events stay pending in the outbox; a restart with a working setup sends them.
            tracing::error!("webhooks not delivered: cannot build the HTTP client: {e}");
            return WorkerHandle {
                stop,
                task: tokio::spawn(async {}),
            };
        }
    };
    let worker = Worker {
        store,
        webhooks,
        client,
        public_base,
    };
    let task = tokio::spawn(worker.run(stopped));
    WorkerHandle { stop, task }
}

/// The HTTP client of the deliveries: no redirects, the attempt's timeout, and for
/// `https://` rustls with ring, verifying against the system's roots (through
/// rustls-platform-verifier, which reqwest uses) and the configuration's extra roots.
pub fn client(webhooks: &Webhooks) -> reqwest::Result<reqwest::Client> {
    crate::tls::install_crypto_provider();
    let extra_roots = webhooks
        .extra_roots
        .iter()
        .map(|der| reqwest::Certificate::from_der(der))
        .collect::<reqwest::Result<Vec<_>>>()?;
    reqwest::Client::builder()
        .timeout(webhooks.timeout)
        .connect_timeout(webhooks.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gleaner-webhooks/", env!("CARGO_PKG_VERSION")))
        // In addition to the system's roots (`tls_certs_only` would replace them).
        .tls_certs_merge(extra_roots)
        .build()
}

/// When the worker looks at the outbox again (or when woken up).
enum Next {
    Now,
    After(Duration),
    Idle,
}

struct Worker {
    store: Store,
    webhooks: Webhooks,
    client: reqwest::Client,
    public_base: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Worker {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let wake = self.store.webhook_wakeup();
        while !*stopped.borrow() {
            let wait = match self.round().await {
                Next::Now => continue,
                Next::After(delay) => Some(delay),
                Next::Idle => None,
            };
            let timer = async {
                match wait {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stopped.changed() => {}
                _ = wake.notified() => {}
                _ = timer => {}
            }
            if stopped.has_changed().is_err() {
                // The handle was dropped: stop too.
                return;
            }
        }
    }

    /// Sends the events that are due, each credential's head at once, and says when to
    /// look again.
    async fn round(&self) -> Next {
        let now = now_ms();
        let heads = match self.store.webhook_heads(ROUND).await {
            Ok(heads) => heads,
            Err(e) => {
                tracing::warn!("webhooks: cannot read the outbox: {e}");
                return Next::After(self.pause());
            }
        };
        let (due, later): (Vec<_>, Vec<_>) =
            heads.into_iter().partition(|e| e.next_attempt_at <= now);
        if due.is_empty() {
            return match later.iter().map(|e| e.next_attempt_at).min() {
                Some(at) => {
                    Next::After(Duration::from_millis(u64::try_from(at - now).unwrap_or(0)))
                }
                None => Next::Idle,
            };
        }
        let mut sends: FuturesUnordered<_> = due.into_iter().map(|e| self.attempt(e)).collect();
        let mut recorded = true;
        while let Some(ok) = sends.next().await {
            recorded &= ok;
        }
        if recorded {
            Next::Now
        } else {
            // An attempt that could not be recorded would go out again at once.
            Next::After(self.pause())
        }
    }

    /// How long to wait after a store error.
    fn pause(&self) -> Duration {
        self.webhooks.first_retry.max(Duration::from_secs(1))
    }

    /// Sends one event and records how it went; false if the record failed.
    async fn attempt(&self, event: PendingEvent) -> bool {
        let attempt = match self.send(&event).await {
            Ok(status) => Attempt::Delivered { status },
            Err((status, error)) => {
                let failures = event.attempts.saturating_add(1);
                let retry_at = (failures < self.webhooks.max_attempts).then(|| {
                    let delay = self.webhooks.backoff(failures);
                    now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
                });
                if retry_at.is_none() {
                    tracing::warn!(
                        event = %event.id,
                        "webhook dead after {failures} attempts: {error}"
                    );
                } else {
                    tracing::debug!(event = %event.id, "webhook attempt {failures} failed: {error}");
                }
                Attempt::Failed {
                    status,
                    error,
                    retry_at,
                }
            }
        };
        match self.store.record_webhook_attempt(&event.id, &attempt).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(event = %event.id, "webhooks: cannot record an attempt: {e}");
                false
            }
        }
    }

    /// One POST: the 2xx status, or the status (if any) and why it failed.
    async fn send(&self, event: &PendingEvent) -> Result<u16, (Option<u16>, String)> {
        let body = body_of(event, &self.public_base);
        let timestamp = chrono::Utc::now().timestamp();
        let signature = self.webhooks.sign(&event.id, timestamp, &body);
        let sent = self
            .client
            .post(self.webhooks.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let mut response = sent.map_err(|e| (None, error_chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let mut text = Vec::new();
        while text.len() < ERROR_BODY {
            match response.chunk().await {
                Ok(Some(chunk)) => text.extend_from_slice(&chunk),
                _ => break,
            }
        }
        text.truncate(ERROR_BODY);
        let text = String::from_utf8_lossy(&text);
        let text = text.trim();
        let error = if text.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {text}")
        };
        Err((Some(status.as_u16()), error))
    }
}

/// The body sent: the stored payload, with a document's download URL made absolute.
pub fn body_of(event: &PendingEvent, public_base: &str) -> String {
    if event.event_type.parse() != Ok(EventType::DocumentNew) {
        return event.payload.clone();
    }
    let Ok(mut payload) = serde_json::from_str::<Value>(&event.payload) else {
        return event.payload.clone();
    };
    if let Some(Value::String(url)) = payload.pointer_mut("/data/downloadUrl")
        && url.starts_with('/')
    {
        *url = format!("{public_base}{url}");
    }
    serde_json::to_string(&payload).unwrap_or_else(|_| event.payload.clone())
}

/// An error with its causes (reqwest's own message hides them).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documents_download_url_is_made_absolute_at_delivery() {
        let event = |event_type: &str| {
            PendingEvent {
            id: "msg_1".into(),
            seq: 1,
            credential_id: Some("c".into()),
            event_type: event_type.into(),
            payload: r#"{"type":"document.new","timestamp":"t","data":{"id":"d1","downloadUrl":"/document/d1"}}"#.into(),
            attempts: 0,
            next_attempt_at: 0,
        }
        };
        let body = body_of(
            &event(EventType::DocumentNew.as_str()),
            "http://gleaner.example:8080",
        );
        assert_eq!(
            body,
            r#"{"type":"document.new","timestamp":"t","data":{"id":"d1","downloadUrl":"http://gleaner.example:8080/document/d1"}}"#
        );
        let other = event(EventType::CollectState.as_str());
        assert_eq!(body_of(&other, "http://x"), other.payload);
    }
}
