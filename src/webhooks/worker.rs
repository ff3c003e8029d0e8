//! The delivery worker: one task, started with the service and stopped with it.
//!
//! It reads the head of every credential's pending queue ([`Store::webhook_heads`]) and
//! sends each one that is due as soon as its credential has no send in flight, so that a
//! slow receiver for one credential never holds back another's events, while each
//! credential's events stay in order; each attempt is recorded. It looks again when a send
//! ends, on the store's wake-up (new events, a replay), at the next retry time, or stops. A stop lets the requests in flight finish (each is bounded
//! by the timeout) and leaves everything else pending, for the next start.

use crate::error_chain::error_chain;
use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::Webhooks;
use super::event::EventType;
use crate::store::{Attempt, PendingEvent, Store};

/// Sends in flight at once (one per credential).
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

/// When the worker looks at the outbox again (or when woken up, or when a send ends).
enum Next {
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

/// A send in flight: its queue, and whether its attempt was recorded.
type Delivery<'a> = futures::future::BoxFuture<'a, (String, bool)>;

/// What orders deliveries: a credential's events go one at a time, in order; an event of
/// no credential is its own queue.
fn queue_of(event: &PendingEvent) -> String {
    match &event.credential_id {
        Some(credential) => format!("credential:{credential}"),
        None => format!("event:{}", event.id),
    }
}

impl Worker {
    /// Each queue's head goes out as soon as it is due and its queue is free: a receiver
    /// that hangs on one credential's event delays only that credential's later events.
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let wake = self.store.webhook_wakeup();
        let mut busy: HashSet<String> = HashSet::new();
        let mut sends: FuturesUnordered<Delivery<'_>> = FuturesUnordered::new();
        // After a store error, the outbox is left alone until then.
        let mut hold_until: Option<tokio::time::Instant> = None;
        while !*stopped.borrow() {
            let wait = match hold_until {
                Some(at) if at > tokio::time::Instant::now() => {
                    Next::After(at - tokio::time::Instant::now())
                }
                _ => {
                    hold_until = None;
                    self.start_due(&mut busy, &mut sends).await
                }
            };
            let timer = async {
                match wait {
                    Next::After(delay) => tokio::time::sleep(delay).await,
                    Next::Idle => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stopped.changed() => {}
                _ = wake.notified() => {}
                _ = timer => {}
                Some((queue, recorded)) = sends.next(), if !sends.is_empty() => {
                    busy.remove(&queue);
                    if !recorded {
                        // An attempt that could not be recorded would go out again at once.
                        hold_until = Some(tokio::time::Instant::now() + self.pause());
                    }
                }
            }
            if stopped.has_changed().is_err() {
                // The handle was dropped: stop too.
                break;
            }
        }
        // The requests in flight finish (each bounded by the timeout) and are recorded.
        while sends.next().await.is_some() {}
    }

    /// Starts sending the due head of every free queue (at most [`ROUND`] sends at once),
    /// and says when the next one is due.
    async fn start_due<'a>(
        &'a self,
        busy: &mut HashSet<String>,
        sends: &mut FuturesUnordered<Delivery<'a>>,
    ) -> Next {
        let now = now_ms();
        let limit = ROUND.saturating_add(u32::try_from(busy.len()).unwrap_or(u32::MAX));
        let heads = match self.store.webhook_heads(limit).await {
            Ok(heads) => heads,
            Err(e) => {
                tracing::warn!("webhooks: cannot read the outbox: {e}");
                return Next::After(self.pause());
            }
        };
        let mut next_at: Option<i64> = None;
        for event in heads {
            let queue = queue_of(&event);
            if busy.contains(&queue) {
                continue;
            }
            if event.next_attempt_at > now {
                next_at =
                    Some(next_at.map_or(event.next_attempt_at, |t| t.min(event.next_attempt_at)));
                continue;
            }
            if busy.len() >= ROUND as usize {
                // A send ending wakes the worker, which takes this one then.
                continue;
            }
            busy.insert(queue.clone());
            sends.push(Box::pin(self.attempt_in(queue, event)));
        }
        match next_at {
            Some(at) => Next::After(Duration::from_millis(u64::try_from(at - now).unwrap_or(0))),
            None => Next::Idle,
        }
    }

    async fn attempt_in(&self, queue: String, event: PendingEvent) -> (String, bool) {
        (queue, self.attempt(event).await)
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
