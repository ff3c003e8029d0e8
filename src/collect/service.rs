//! The service's collects: at most one in progress per credential (a second request
//! attaches to it), each persisted as it goes (states, documents, records) and shared
//! with its viewers through a [`Live`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use url::Url;

use super::live::{CodeRequest, Live, PersonLinks, screen_pump};
use super::mode::CollectMode;
use super::run::{CollectOptions, run};
use crate::codes::{ErrorInfo, ErrorKind, State};
use crate::connector::Plan;
use crate::connector::catalog::Catalog;
use crate::engine::{CollectError, Event, Inputs, Links, Outcome};
use crate::secrets::Redactor;
use crate::store::{CollectSummary, NewDocument, Store, StoreError};

/// How long a delete waits for the collect it cancelled to close its browser and write
/// its end.
const CANCEL_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct CollectorConfig {
    pub collect: CollectOptions,
    /// Per connector id, where its site really is (demo and test sites on 127.0.0.1).
    pub base_urls: HashMap<String, Url>,
    /// Browsers running at once; further collects wait in state 1 for a free slot.
    pub max_concurrent: usize,
    /// Where failed collects keep their trace (`<data dir>/traces`); `None`: no traces.
    pub traces: Option<crate::trace::KeptTraces>,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            collect: CollectOptions::default(),
            base_urls: HashMap::new(),
            max_concurrent: 2,
            traces: None,
        }
    }
}

impl CollectorConfig {
    /// Where documents are stored, by sha256.
    pub fn documents_dir(&self) -> PathBuf {
        self.collect.engine.out_dir.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    #[error("no credential {0}")]
    NoCredential(String),
    #[error("the connector {0:?} of this credential is not offered by this service")]
    NoConnector(String),
    #[error("the connector's base_url {0:?} is not a URL")]
    BadBaseUrl(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Default)]
struct Registry {
    /// The latest collect of each credential, running or finished.
    by_credential: HashMap<String, Arc<Live>>,
    by_token: HashMap<String, Arc<Live>>,
}

pub struct Collector {
    store: Store,
    catalog: Arc<Catalog>,
    config: CollectorConfig,
    /// Held across the check and the start, so two requests cannot start two collects.
    registry: tokio::sync::Mutex<Registry>,
    /// Read by WebSocket lookups, which must not wait behind a start.
    tokens: Mutex<HashMap<String, Arc<Live>>>,
    /// Credentials being deleted: no collect starts for them (its end could not be
    /// written once their rows are gone).
    deleting: Mutex<std::collections::HashSet<String>>,
    tasks: Mutex<JoinSet<()>>,
    /// One permit per browser allowed to run.
    slots: tokio::sync::Semaphore,
    /// Each collect started, as it starts (see [`Collector::subscribe_started`]).
    started: tokio::sync::broadcast::Sender<Arc<Live>>,
    metrics: crate::metrics::Metrics,
}

impl Collector {
    pub fn new(store: Store, catalog: Arc<Catalog>, config: CollectorConfig) -> Arc<Collector> {
        Arc::new(Collector {
            slots: tokio::sync::Semaphore::new(config.max_concurrent.max(1)),
            started: tokio::sync::broadcast::channel(64).0,
            store,
            catalog,
            config,
            registry: tokio::sync::Mutex::new(Registry::default()),
            tokens: Mutex::new(HashMap::new()),
            deleting: Mutex::new(std::collections::HashSet::new()),
            tasks: Mutex::new(JoinSet::new()),
            metrics: crate::metrics::Metrics::new(),
        })
    }

    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// The collects of this process now: in progress, holding a browser, and watched.
    pub async fn gauges(&self) -> crate::metrics::Gauges {
        let registry = self.registry.lock().await;
        let running: Vec<_> = registry
            .by_credential
            .values()
            .filter(|l| !l.is_finished())
            .collect();
        let slots = self.config.max_concurrent.max(1);
        let slots_taken = slots - self.slots.available_permits().min(slots);
        crate::metrics::Gauges {
            in_progress: running.len() as i64,
            running: slots_taken as i64,
            viewers: running.iter().map(|l| l.viewer_count() as i64).sum(),
            webhook_events: Vec::new(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn config(&self) -> &CollectorConfig {
        &self.config
    }

    /// The collect in progress for this credential (attach), or a new one.
    /// Returns the collect and whether it was started by this call.
    pub async fn start_or_attach(
        self: &Arc<Self>,
        credential_id: &str,
        mode: CollectMode,
    ) -> Result<(Arc<Live>, bool), CollectorError> {
        let mut registry = self.registry.lock().await;
        if self.deleting_lock().contains(credential_id) {
            return Err(CollectorError::NoCredential(credential_id.to_string()));
        }
        if let Some(live) = registry.by_credential.get(credential_id)
            && !live.is_finished()
        {
            return Ok((live.clone(), false));
        }
        let credential = self
            .store
            .credential(credential_id)
            .await?
            .ok_or_else(|| CollectorError::NoCredential(credential_id.to_string()))?;
        let connector = self
            .catalog
            .get(&credential.connector)
            .ok_or_else(|| CollectorError::NoConnector(credential.connector.clone()))?;
        let base_url = match self.config.base_urls.get(&credential.connector) {
            Some(u) => u.clone(),
            None => connector.base_url.clone(),
        };
        let fields = self
            .store
            .credential_values(credential_id)
            .await?
            .ok_or_else(|| CollectorError::NoCredential(credential_id.to_string()))?;
        let summary = self
            .store
            .start_collect(credential_id, mode.background, mode.verify)
            .await?;
        let token = crate::secrets::random_token();
        let (live, links) = Live::new(
            summary.id.clone(),
            credential_id.to_string(),
            mode,
            token.clone(),
        );
        if let Some(old) = registry
            .by_credential
            .insert(credential_id.to_string(), live.clone())
        {
            registry.by_token.remove(&old.ws_token);
            self.tokens_lock().remove(&old.ws_token);
        }
        registry.by_token.insert(token.clone(), live.clone());
        self.tokens_lock().insert(token, live.clone());
        drop(registry);
        let _ = self.started.send(live.clone());
        self.metrics
            .collect_started(&credential.connector, mode.background, mode.verify);

        let mut inputs = Inputs::new(fields, base_url);
        inputs.known_documents = self.store.known_documents(credential_id).await?;
        inputs.since = credential
            .since
            .as_deref()
            .and_then(crate::store::known::since_day);
        inputs.browser_state = self
            .session_for(credential_id, mode, &connector.keep_on_verify)
            .await;
        let this = self.clone();
        let driven = live.clone();
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        // Finished collects leave their task's result here until reaped.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(screen_pump(live.clone()));
        tasks.spawn(super::follow::follow_display(live.clone()));
        tasks.spawn(async move { this.drive(driven, links, connector, inputs).await });
        Ok((live, true))
    }

    /// The browser session to restore. A verification collect proves the credentials
    /// themselves: the old session goes (it may belong to values the person just
    /// corrected), and only the cookies the connector names as device trust
    /// (`keep_on_verify`) come back, so a site that remembers the browser need not ask a
    /// code again; the engine still logs in. The session it logs in with is kept.
    async fn session_for(
        &self,
        credential_id: &str,
        mode: CollectMode,
        keep_on_verify: &[String],
    ) -> Option<crate::browser::BrowserState> {
        if mode.verify {
            let old = self.store.load_browser_state(credential_id).await;
            if let Err(e) = self.store.delete_browser_state(credential_id).await {
                tracing::warn!(
                    credential = credential_id,
                    "could not drop the old browser session: {e}"
                );
            }
            let trusted = crate::browser::BrowserState {
                cookies: old
                    .map(|s| s.cookies)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|c| keep_on_verify.contains(&c.name))
                    .collect(),
                local_storage: Default::default(),
            };
            return (!trusted.is_empty()).then_some(trusted);
        }
        self.store.load_browser_state(credential_id).await
    }

    fn tokens_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Live>>> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The collect a WebSocket path's token names.
    pub fn by_token(&self, token: &str) -> Option<Arc<Live>> {
        self.tokens_lock().get(token).cloned()
    }

    /// Every collect started from now on, whoever started it (the API, the UI, the
    /// scheduler): a way to follow background collects without polling.
    pub fn subscribe_started(&self) -> tokio::sync::broadcast::Receiver<Arc<Live>> {
        self.started.subscribe()
    }

    /// The latest collect of a credential started by this process, if any.
    pub async fn latest(&self, credential_id: &str) -> Option<Arc<Live>> {
        self.registry
            .lock()
            .await
            .by_credential
            .get(credential_id)
            .cloned()
    }

    /// Deletes a credential (see [`Store::delete_credential`]) once its running collect, if
    /// any, has ended: cancelled, its browser closed, its end (-1, CANCELLED) written with its
    /// webhook events while the credential's rows still exist to take it (the outbox keeps
    /// those events after the rows go). No collect starts for it meanwhile. Returns false if
    /// there was no such credential.
    pub async fn delete_credential(&self, credential_id: &str) -> Result<bool, StoreError> {
        self.forget_credential(credential_id).await;
        let deleted = self.store.delete_credential(credential_id).await;
        self.deleting_lock().remove(credential_id);
        deleted
    }

    fn deleting_lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.deleting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cancels the running collect of a credential being deleted, waits for its end, and
    /// forgets it; no collect starts for the credential until [`Collector::delete_credential`]
    /// is done.
    async fn forget_credential(&self, credential_id: &str) {
        let running = {
            let mut registry = self.registry.lock().await;
            self.deleting_lock().insert(credential_id.to_string());
            let live = registry.by_credential.remove(credential_id);
            if let Some(live) = &live {
                live.cancel(ErrorKind::Cancelled);
                registry.by_token.remove(&live.ws_token);
                self.tokens_lock().remove(&live.ws_token);
            }
            live
        };
        if let Some(live) = running
            && tokio::time::timeout(CANCEL_WITHIN, live.finished())
                .await
                .is_err()
        {
            tracing::warn!(
                collect = %live.id,
                "the cancelled collect did not end within {CANCEL_WITHIN:?}: deleting its credential anyway"
            );
        }
        // After the end: a cancelled collect keeps a trace like any failed one.
        if let Some(kept) = &self.config.traces {
            kept.forget_credential(credential_id);
        }
    }

    /// Stops every running collect (state -1, INTERRUPTED) and waits until each has
    /// closed its browser and written its end.
    pub async fn shutdown(&self) {
        for live in self.registry.lock().await.by_credential.values() {
            live.cancel(ErrorKind::Interrupted);
        }
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        while tasks.join_next().await.is_some() {}
    }

    async fn drive(
        self: Arc<Self>,
        live: Arc<Live>,
        links: PersonLinks,
        connector: Arc<Plan>,
        inputs: Inputs,
    ) {
        let began = std::time::Instant::now();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let io = if live.background {
            Links::background(events_tx)
        } else {
            Links {
                events: events_tx,
                codes: Some(links.codes),
                closes: Some(links.closes),
                redactor: Redactor::new(),
            }
        };
        let recorder = tokio::spawn(record_events(self.store.clone(), live.clone(), events_rx));
        let on_screen = |screen| live.set_screen(screen);
        let mut options = self.config.collect.clone();
        options.engine.login_only = live.verify;
        // The last steps, in memory: written only if the collect fails.
        let tracer = self
            .config
            .traces
            .as_ref()
            .map(|_| crate::trace::Tracer::last_steps(crate::trace::kept::STEPS_KEPT));
        options.engine.trace = tracer.as_ref().map(|t| t.hook());
        let work = async {
            // Queued, not refused, when every slot is taken: the collect stays in state 1.
            let _slot = self.slots.acquire().await;
            run(&connector, inputs, &options, io, &on_screen).await
        };
        let result = tokio::select! {
            r = work => r,
            kind = live.cancelled() => Err(CollectError::new(kind, match kind {
                ErrorKind::Interrupted => "the service stopped during the collect",
                _ => "the collect was cancelled (its credential was deleted)",
            })),
        };
        // The engine's events all reach the store before the end is written.
        let gathered = recorder.await.unwrap_or_default();
        // Counted before viewers see the end, so whoever saw it finds it in the metrics.
        let (state, code, new_documents) = match &result {
            Ok(outcome) => (State::Done, None, outcome.documents.len()),
            Err(e) => (e.kind().final_state(), Some(&e.code), 0),
        };
        self.metrics
            .collect_finished(&connector.id, state, code, began.elapsed(), new_documents);
        if let (Some(kept), Some(tracer), State::Error) = (&self.config.traces, &tracer, state)
            && tracer.has_steps()
        {
            // Before the end is written: whoever sees state -1 finds its trace.
            let report = tracer.report(&format!(
                "gleaner trace: {} (collect {})",
                connector.id, live.id
            ));
            if let Err(e) = kept.save(&live.credential_id, &live.id, &report) {
                tracing::warn!(collect = %live.id, "could not keep the trace: {e}");
            }
        }
        drop(tracer);
        self.finish(&live, result, gathered).await;
    }

    /// Writes the end. A failed collect keeps the records gathered before it failed.
    async fn finish(&self, live: &Live, result: Result<Outcome, CollectError>, gathered: Outcome) {
        let (state, error, records) = match &result {
            Ok(outcome) => (
                State::Done,
                None,
                serde_json::to_value(&outcome.lists).unwrap_or(Value::Null),
            ),
            Err(e) => (
                e.kind().final_state(),
                Some(ErrorInfo {
                    code: e.code.to_string(),
                    message: e.to_string(),
                }),
                if gathered.lists.is_empty() {
                    Value::Null
                } else {
                    serde_json::to_value(&gathered.lists).unwrap_or(Value::Null)
                },
            ),
        };
        if let Err(e) = self
            .store
            .finish_collect(&live.id, state, error.as_ref(), &records)
            .await
        {
            // A deleted credential takes its collects with it: nothing left to write.
            tracing::warn!(collect = %live.id, "could not record the end of the collect: {e}");
        }
        let advice = crate::advice::for_outcome(state, result.as_ref().err().map(|e| &e.code));
        live.set_status(|s| {
            s.state = state;
            s.message = None;
            s.advice = Some(advice);
            s.error = error;
            s.interactive = false;
            s.instructions = None;
        });
    }
}

/// Writes the engine's events to the store and to the viewers, in order.
/// Persists and shares the engine's events as they come, and returns what they carried
/// (records, documents): the records a failed collect keeps.
async fn record_events(
    store: Store,
    live: Arc<Live>,
    mut events: mpsc::UnboundedReceiver<Event>,
) -> Outcome {
    let mut gathered = Outcome::default();
    while let Some(event) = events.recv().await {
        gathered.absorb(&event);
        match event {
            // The final state is written by `finish`, with its error and records.
            // Preparing is recorded when the collect is created.
            Event::State { state, message }
                if state.in_progress() && state != live.status().state =>
            {
                if let Err(e) = store
                    .record_state(&live.id, state, message.as_deref())
                    .await
                {
                    tracing::warn!(collect = %live.id, "could not record state {state}: {e}");
                }
                if state != State::TwofaWaiting {
                    live.request_code(None);
                }
                live.set_status(|s| {
                    s.state = state;
                    s.message = message;
                });
            }
            Event::CodeRequested {
                kind,
                label,
                expires_at,
            } => live.request_code(Some(CodeRequest {
                kind,
                label,
                expires_at,
            })),
            Event::Interactive {
                active,
                instructions,
            } => live.set_status(|s| {
                s.interactive = active;
                s.instructions = instructions;
            }),
            Event::Document { list, document } => {
                let new = NewDocument {
                    credential_id: live.credential_id.clone(),
                    collect_id: live.id.clone(),
                    list,
                    record: document,
                };
                if let Err(e) = store.add_document(new).await {
                    tracing::warn!(collect = %live.id, "could not record a document: {e}");
                }
            }
            Event::BrowserState { state } => {
                if let Err(e) = store.save_browser_state(&live.credential_id, &state).await {
                    tracing::warn!(collect = %live.id, "could not keep the browser session: {e}");
                }
            }
            Event::State { .. }
            | Event::Step { .. }
            | Event::SelectorMatched { .. }
            | Event::Record { .. } => {}
        }
    }
    gathered
}

/// What `POST /credential/{id}/collect` answers.
pub fn summary_of(live: &Live) -> CollectSummary {
    let state = live.status().state;
    CollectSummary {
        id: live.id.clone(),
        credential_id: live.credential_id.clone(),
        background: live.background,
        state: state.index(),
        state_name: state.name().to_string(),
    }
}
