//! `gleaner serve`: opens the store (creating the SQLite file and the master key on first
//! start), marks collects left running by a previous process as interrupted, loads the
//! connectors, and serves the API until the shutdown future resolves. Running collects
//! are then stopped (state -1, INTERRUPTED) and their browsers closed. With a webhook URL,
//! the delivery worker runs alongside and stops last. The scheduler of background collects
//! runs alongside too, and stops first.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use url::Url;

use crate::api::auth::ApiKeys;
use crate::api::{AppState, app};
use crate::browser::LaunchOptions;
use crate::collect::{CollectOptions, Collector, CollectorConfig};
use crate::connector::catalog::{Catalog, CatalogError};
use crate::engine;
use crate::scheduler::{Scheduler, SystemClock};
use crate::secrets::{Cipher, CipherError, MasterKey};
use crate::store::{Store, StoreError};
use crate::ui::UiConfig;
use crate::webhooks::{WebhookConfig, WebhookConfigError, Webhooks};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Documents, and by default the database and the key file.
    pub data_dir: PathBuf,
    /// Default: `sqlite://<data_dir>/gleaner.db`.
    pub database_url: Option<String>,
    /// Default: `<data_dir>/master.key`, created with mode 0600 when absent.
    pub key_file: Option<PathBuf>,
    pub connectors_dir: PathBuf,
    pub api_keys: Vec<String>,
    /// Per connector id, where its site really is.
    pub base_urls: HashMap<String, Url>,
    pub code_timeout: Duration,
    /// A collect's deadline unless its connector sets its own `timeout`.
    pub collect_timeout: Duration,
    /// The largest document a collect downloads.
    pub max_document_size: u64,
    pub launch: LaunchOptions,
    /// Host origins allowed to embed the UI, its public URL, the session lifetime.
    pub ui: UiConfig,
    /// Collects (browsers) running at once; more wait in a queue.
    pub max_concurrent_collects: usize,
    /// The shortest interval a schedule may have (60 s; tests lower it).
    pub min_schedule_interval: Duration,
    /// Where events are POSTed (none: no webhooks), the signing secret, the retries.
    pub webhooks: WebhookConfig,
}

impl ServerConfig {
    pub fn new(data_dir: impl Into<PathBuf>, connectors_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            data_dir: data_dir.into(),
            database_url: None,
            key_file: None,
            connectors_dir: connectors_dir.into(),
            api_keys: Vec::new(),
            base_urls: HashMap::new(),
            code_timeout: engine::Options::default().code_timeout,
            collect_timeout: engine::DEFAULT_COLLECT_TIMEOUT,
            max_document_size: engine::Options::default().max_document_size,
            launch: LaunchOptions::default(),
            ui: UiConfig::default(),
            max_concurrent_collects: 2,
            min_schedule_interval: Duration::from_secs(60),
            webhooks: WebhookConfig::default(),
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("gleaner.db").display()))
    }

    pub fn key_file(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("no API key: set GLEANER_API_KEY (comma-separated keys) so backends can call the API")]
    NoApiKey,
    #[error("cannot create the data directory {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("master key: {0}")]
    Key(#[from] CipherError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("connectors: {0}")]
    Connectors(#[from] CatalogError),
    #[error("no connector file (*.yaml) in {}", .0.display())]
    NoConnectors(PathBuf),
    /// The messages name the webhook flags themselves.
    #[error(transparent)]
    Webhooks(#[from] WebhookConfigError),
}

pub struct Server {
    collector: Arc<Collector>,
    store: Store,
    api_keys: ApiKeys,
    ui: UiConfig,
    min_schedule_interval: Duration,
    /// Set when a webhook URL is configured: the delivery worker runs with the server.
    webhooks: Option<Webhooks>,
    /// Collects found in progress at start-up, now marked INTERRUPTED.
    pub interrupted: u64,
}

impl Server {
    pub async fn open(config: ServerConfig) -> Result<Server, ServerError> {
        let api_keys = ApiKeys::new(&config.api_keys);
        if api_keys.is_empty() {
            return Err(ServerError::NoApiKey);
        }
        let webhooks = config.webhooks.validate()?;
        let documents = config.data_dir.join("documents");
        create_dir(&config.data_dir)?;
        create_dir(&documents)?;
        // Documents an older version wrote readable by all.
        crate::secrets::private_file::restrict_files_in(&documents).map_err(|source| {
            ServerError::DataDir {
                path: documents.clone(),
                source,
            }
        })?;
        let key = MasterKey::load_or_create(&config.key_file())?;
        let mut store = Store::open(&config.database_url(), Cipher::new(&key)).await?;
        if webhooks.is_some() {
            // Before anything writes: events are written with the changes they report.
            store = store.with_webhooks(crate::webhooks::report);
        }
        let interrupted = store.interrupt_unfinished().await?;
        // Profiles of a killed gleaner hold its sessions' cookies; its browsers died with it.
        crate::browser::remove_stale_profiles(&config.launch);
        let catalog = Catalog::load_dir(&config.connectors_dir)?;
        if catalog.is_empty() {
            return Err(ServerError::NoConnectors(config.connectors_dir));
        }
        let collect = CollectOptions {
            launch: config.launch,
            engine: engine::Options {
                out_dir: documents,
                code_timeout: config.code_timeout,
                collect_timeout: config.collect_timeout,
                max_document_size: config.max_document_size,
                ..engine::Options::default()
            },
        };
        let collector = Collector::new(
            store.clone(),
            Arc::new(catalog),
            CollectorConfig {
                collect,
                base_urls: config.base_urls,
                max_concurrent: config.max_concurrent_collects,
                traces: Some(crate::trace::KeptTraces::new(
                    config.data_dir.join("traces"),
                )),
            },
        );
        Ok(Server {
            collector,
            store,
            api_keys,
            ui: config.ui,
            min_schedule_interval: config.min_schedule_interval,
            webhooks,
            interrupted,
        })
    }

    pub fn collector(&self) -> &Arc<Collector> {
        &self.collector
    }

    /// Serves until `shutdown` resolves; then stops the running collects (INTERRUPTED),
    /// waits for their browsers to close, and closes the store.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut ui = self.ui.clone();
        if ui.public_url.is_none() {
            ui.public_url = url::Url::parse(&format!("http://{}", listener.local_addr()?)).ok();
        }
        // Pending events, left by a previous run included, go out from now on.
        let webhooks = self
            .webhooks
            .map(|w| crate::webhooks::spawn(self.store.clone(), w, ui.public_base()));
        let scheduler = Scheduler::new(self.store.clone(), self.collector.clone(), SystemClock);
        let schedules = crate::api::ScheduleSettings {
            min_interval: self.min_schedule_interval,
            wakeup: scheduler.wakeup(),
        };
        let scheduler = Arc::new(scheduler.spawn());
        let state = AppState {
            collector: self.collector.clone(),
            api_keys: self.api_keys.clone(),
            ui: Arc::new(ui),
            schedules,
        };
        // Collects end before the server waits for its connections: their viewers'
        // WebSockets close once the final state is sent.
        // The scheduler stops first, so that it starts no collect once they are stopped.
        let collector = self.collector.clone();
        let running = scheduler.clone();
        let stop = async move {
            shutdown.await;
            running.stop().await;
            collector.shutdown().await;
        };
        let served = crate::api::run(listener, app(state), stop).await;
        scheduler.stop().await;
        self.collector.shutdown().await;
        // After the collects' last events; what is not delivered stays pending.
        if let Some(webhooks) = webhooks {
            webhooks.stop().await;
        }
        self.store.close().await;
        served
    }
}

/// Creates a directory of mode 0700 (only gleaner's user reads the data), or fixes its mode.
fn create_dir(path: &Path) -> Result<(), ServerError> {
    crate::secrets::private_file::create_dir(path).map_err(|source| ServerError::DataDir {
        path: path.to_path_buf(),
        source,
    })
}
