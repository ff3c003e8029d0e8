//! The `gleaner` command: a thin layer over the library.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use gleaner::codes::ErrorKind;
use gleaner::codes::State;
use gleaner::collect::{self, CollectOptions};
use gleaner::connector::plan::LanguageTag;
use gleaner::connector::{self, LoadError};
use gleaner::engine::{CollectError, Event, Inputs, Links, Outcome};
use gleaner::secrets::Redactor;
use gleaner::server::{Server, ServerConfig};
use indexmap::IndexMap;
use tokio::sync::mpsc;

#[derive(Parser)]
#[command(
    name = "gleaner",
    version,
    about = "Log into websites on a person's behalf and collect their documents and data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check connector files; print every problem as file:line:col: message.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of connector files.
    Schema,
    /// A connector skeleton from a Chrome DevTools Recorder export (JSON), to complete.
    Import {
        recording: PathBuf,
        /// Write the skeleton here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a connector in Chromium: log in, ask for 2FA codes here, collect.
    Run(Box<RunArgs>),
    /// Run a connector live and record every request and response, with the inputs and
    /// the output, into a fixture directory that `gleaner test` replays offline.
    Record(Box<RecordArgs>),
    /// Replay recordings offline (fixture directories, or directories holding them) and
    /// compare each output with the recorded one.
    Test(Box<TestArgs>),
    /// Serve the HTTP API (backends) and live collects (WebSocket) until Ctrl-C / SIGTERM.
    Serve(Box<ServeArgs>),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, env = "GLEANER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Where documents are kept (and, by default, the database and the master key).
    #[arg(long, env = "GLEANER_DATA_DIR", default_value = "gleaner-data")]
    data_dir: PathBuf,
    /// Database URL; default: a SQLite file in the data directory.
    #[arg(long, env = "GLEANER_DATABASE_URL")]
    database_url: Option<String>,
    /// The master key encrypting secrets at rest; created (mode 0600) if absent.
    /// Default: master.key in the data directory.
    #[arg(long, env = "GLEANER_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Directory of connector files (*.yaml), loaded and checked at start.
    #[arg(long, env = "GLEANER_CONNECTORS", default_value = "connectors")]
    connectors: PathBuf,
    /// API keys accepted from backends (comma-separated).
    #[arg(
        long = "api-key",
        env = "GLEANER_API_KEY",
        value_delimiter = ',',
        hide_env_values = true
    )]
    api_keys: Vec<String>,
    /// Run a connector against another address: ID=URL (repeatable, or comma-separated).
    #[arg(
        long = "connector-base-url",
        env = "GLEANER_CONNECTOR_BASE_URL",
        value_delimiter = ',',
        value_name = "ID=URL"
    )]
    base_urls: Vec<String>,
    /// How long a collect waits for a one-time code.
    #[arg(long, env = "GLEANER_CODE_TIMEOUT", default_value = "5m", value_parser = gleaner::duration::parse)]
    code_timeout: Duration,
    /// The deadline of a whole collect, unless its connector sets its own `timeout`; time
    /// spent waiting for the person does not count. Past it: TIMEOUT.
    #[arg(long, env = "GLEANER_COLLECT_TIMEOUT", default_value = "15m", value_parser = gleaner::duration::parse)]
    collect_timeout: Duration,
    /// The largest document a collect downloads (e.g. 100MiB, 5MB, 6GiB, or bytes); a
    /// larger one ends the collect with CONNECTOR_ERROR and nothing of it is kept.
    #[arg(long, env = "GLEANER_MAX_DOCUMENT_SIZE", default_value = "100MiB", value_parser = gleaner::engine::document::parse_size)]
    max_document_size: u64,
    /// Show the browsers' windows.
    #[arg(long, env = "GLEANER_HEADFUL")]
    headful: bool,
    /// Host page origins allowed to embed the UI (iframe) and receive its events
    /// (comma-separated, e.g. https://app.example).
    #[arg(long = "ui-origin", env = "GLEANER_UI_ORIGINS", value_delimiter = ',')]
    ui_origins: Vec<String>,
    /// The service's URL as people's browsers reach it (for the UI links of POST /session).
    /// Default: http://<listen address>.
    #[arg(long, env = "GLEANER_PUBLIC_URL")]
    public_url: Option<url::Url>,
    /// Collects (browsers) running at once; more wait in a queue.
    #[arg(long, env = "GLEANER_MAX_COLLECTS", default_value_t = 2)]
    max_collects: usize,
    /// How long a UI session token lives.
    #[arg(long, env = "GLEANER_SESSION_TTL", default_value = "15m", value_parser = gleaner::duration::parse)]
    session_ttl: Duration,
    /// Where webhooks are POSTed (http:// or https://). Without it, no events are kept or sent.
    #[arg(long, env = "GLEANER_WEBHOOK_URL")]
    webhook_url: Option<url::Url>,
    /// A PEM file of extra trusted root certificates (one or more) for an https:// webhook
    /// receiver behind an internal CA, trusted in addition to the system's roots.
    #[arg(long, env = "GLEANER_WEBHOOK_CA_FILE", value_name = "PATH")]
    webhook_ca_file: Option<PathBuf>,
    /// The webhooks' signing secret, whsec_<base64 of 24 to 64 bytes> (Standard Webhooks).
    /// Required with --webhook-url.
    #[arg(long, env = "GLEANER_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// Attempts before an event is dead-lettered (then replayable through the API).
    #[arg(long, env = "GLEANER_WEBHOOK_MAX_ATTEMPTS", default_value_t = 8)]
    webhook_max_attempts: u32,
    #[command(flatten)]
    browser: BrowserArgs,
}

/// How Chromium is confined, for `run` and `serve`.
#[derive(clap::Args)]
struct BrowserArgs {
    /// Run Chromium without its sandbox (--no-sandbox). Only where the kernel allows no
    /// user namespaces: a page that breaks into the browser then runs with its rights.
    #[arg(long, env = "GLEANER_NO_SANDBOX")]
    no_sandbox: bool,
    /// When gleaner runs as root: the user Chromium runs as, a name or a uid (root cannot
    /// keep Chromium's sandbox). Default: 65534 (nobody); a dedicated user is better.
    #[arg(long, env = "GLEANER_BROWSER_USER", value_name = "USER")]
    browser_user: Option<gleaner::browser::BrowserUser>,
    /// The JavaScript heap of each page's renderer (V8's --max-old-space-size, e.g. 1GiB,
    /// 512MiB); a page that needs more ends its collect (BROWSER_CRASHED.OUT_OF_MEMORY).
    #[arg(long, env = "GLEANER_RENDERER_MEMORY", default_value = "1GiB", value_parser = gleaner::engine::document::parse_size)]
    renderer_memory: u64,
    /// The memory of each collect's whole browser (every Chromium process, e.g. 2GiB); past
    /// it the collect ends (BROWSER_CRASHED.OUT_OF_MEMORY). A memory cgroup where gleaner
    /// may make one, else the processes' PSS watched.
    #[arg(long, env = "GLEANER_BROWSER_MEMORY", default_value = "2GiB", value_parser = gleaner::engine::document::parse_size)]
    browser_memory: u64,
}

impl BrowserArgs {
    fn apply(&self, launch: &mut gleaner::browser::LaunchOptions) {
        if self.no_sandbox {
            tracing::warn!(
                "Chromium runs WITHOUT its sandbox (--no-sandbox / GLEANER_NO_SANDBOX): a page \
                 that breaks into the browser runs with its rights"
            );
            launch.sandbox = false;
        }
        if let Some(user) = self.browser_user {
            launch.browser_user = user;
        }
        launch.renderer_memory = Some(self.renderer_memory);
        launch.browser_memory = Some(self.browser_memory);
    }
}

async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let mut config = ServerConfig::new(&args.data_dir, &args.connectors);
    config.database_url = args.database_url;
    config.key_file = args.key_file;
    config.api_keys = args.api_keys;
    config.code_timeout = args.code_timeout;
    config.collect_timeout = args.collect_timeout;
    config.max_document_size = args.max_document_size;
    config.launch.headless = !args.headful;
    args.browser.apply(&mut config.launch);
    config.max_concurrent_collects = args.max_collects;
    config.webhooks.url = args.webhook_url;
    config.webhooks.secret = args.webhook_secret;
    config.webhooks.ca_file = args.webhook_ca_file;
    config.webhooks.max_attempts = args.webhook_max_attempts;
    config.ui = gleaner::ui::UiConfig {
        public_url: args.public_url,
        session_ttl: args.session_ttl,
        ..Default::default()
    }
    .with_origins(&args.ui_origins)
    .map_err(|e| anyhow::anyhow!("--ui-origin: {e}"))?;
    for pair in &args.base_urls {
        let (id, url) = pair
            .split_once('=')
            .with_context(|| format!("--connector-base-url {pair:?}: expected ID=URL"))?;
        let url = url::Url::parse(url)
            .with_context(|| format!("--connector-base-url {pair:?}: bad URL"))?;
        config.base_urls.insert(id.to_string(), url);
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let server = Server::open(config).await?;
    if server.interrupted > 0 {
        tracing::warn!(
            "{} collect(s) left running by a previous process marked INTERRUPTED",
            server.interrupted
        );
    }
    let addr = listener.local_addr()?;
    println!("http://{addr}");
    std::io::stdout().flush()?;
    eprintln!(
        "gleaner serving on http://{addr} (OpenAPI: http://{addr}/openapi.json). Ctrl-C to stop."
    );
    server
        .run(listener, async {
            let signal = interrupted().await;
            eprintln!("{signal}: stopping the running collects");
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

async fn interrupted() -> &'static str {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // Every line is redacted by the writer itself, and the protocol dumps stay out whatever
    // RUST_LOG asks (gleaner::secrets::log_redaction).
    use gleaner::secrets::log_redaction::{Redacting, protocol_dump_filter};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    tracing_subscriber::registry()
        .with(EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn,chromiumoxide=off".into()))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(Redacting(std::io::stderr))
                .with_filter(protocol_dump_filter()),
        )
        .init();
    match real_main().await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}

async fn real_main() -> Result<ExitCode> {
    match Cli::parse().command {
        Command::Check { files } => Ok(check(&files)),
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&connector::json_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { recording, out } => import(&recording, out.as_deref()),
        Command::Run(args) => run(*args).await,
        Command::Record(args) => record(*args).await,
        Command::Test(args) => test(*args).await,
        Command::Serve(args) => serve(*args).await,
    }
}

fn import(recording: &Path, out: Option<&Path>) -> Result<ExitCode> {
    let src = std::fs::read_to_string(recording)
        .with_context(|| format!("reading {}", recording.display()))?;
    let yaml = gleaner::import::import(&src, &recording.display().to_string())?;
    match out {
        Some(path) => {
            std::fs::write(path, yaml).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{yaml}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn check(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for f in files {
        match connector::load(f) {
            Ok(c) => eprintln!(
                "{}: ok ({} login steps, {} steps, {} pages)",
                f.display(),
                c.login.steps().len(),
                c.steps.len(),
                c.pages.len()
            ),
            Err(LoadError::Invalid(diags)) => {
                failed = true;
                for d in diags {
                    println!("{d}");
                }
            }
            Err(e) => {
                failed = true;
                println!("{e}");
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A `--domain` value, checked as `domains` entries are.
fn parse_domain(entry: &str) -> Result<String, String> {
    gleaner::browser::check_domain(entry)
        .map(|()| entry.to_string())
        .map_err(|e| e.to_string())
}

/// What `run` and `record` share: the connector, its inputs, the collect's limits.
#[derive(clap::Args)]
struct CollectArgs {
    file: PathBuf,
    /// A field value, NAME=VALUE (repeatable). Missing fields are asked for; secret ones
    /// without echo. GLEANER_FIELD_<NAME> also sets one.
    #[arg(long = "field", value_name = "NAME=VALUE")]
    fields: Vec<String>,
    /// Run against another address than the connector's base_url (e.g. a fixture).
    #[arg(long, env = "GLEANER_BASE_URL")]
    base_url: Option<url::Url>,
    /// Also allow this host, HOST or HOST:PORT (repeatable): a fixture's other hosts, such
    /// as its identity provider, which `domains` names by their production names.
    #[arg(long = "domain", value_name = "HOST[:PORT]", value_parser = parse_domain)]
    domains: Vec<String>,
    /// How long to wait for a one-time code.
    #[arg(long, default_value = "5m", value_parser = gleaner::duration::parse)]
    code_timeout: Duration,
    /// The deadline of the whole collect, unless the connector sets its own `timeout`;
    /// time spent waiting for the person does not count. Past it: TIMEOUT.
    #[arg(long, env = "GLEANER_COLLECT_TIMEOUT", default_value = "15m", value_parser = gleaner::duration::parse)]
    collect_timeout: Duration,
    /// Print each step as it runs.
    #[arg(short, long)]
    verbose: bool,
    #[command(flatten)]
    browser: BrowserArgs,
    /// The largest document a collect downloads (e.g. 100MiB, 5MB, 6GiB, or bytes); a
    /// larger one ends the collect with CONNECTOR_ERROR and nothing of it is kept.
    #[arg(long, env = "GLEANER_MAX_DOCUMENT_SIZE", default_value = "100MiB", value_parser = gleaner::engine::document::parse_size)]
    max_document_size: u64,
    /// Write a trace of each step (screenshot, HTML, URL, requests, console, error) in DIR,
    /// with DIR/index.html to open in a browser.
    #[arg(long, value_name = "DIR")]
    trace: Option<PathBuf>,
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    collect: CollectArgs,
    /// Where documents are written.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Show the browser window.
    #[arg(long)]
    headful: bool,
    /// No one is there: a 2FA request ends the collect (USER_ACTION_NEEDED.TWOFA_EXPIRED).
    #[arg(long)]
    background: bool,
}

#[derive(clap::Args)]
struct RecordArgs {
    #[command(flatten)]
    collect: CollectArgs,
    /// The fixture directory to write, e.g. fixtures/<connector>/<name> (created).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct TestArgs {
    /// Fixture directories, directories to search for them, or connector files (their
    /// recordings under fixtures/).
    #[arg(default_value = "fixtures")]
    paths: Vec<PathBuf>,
    /// Rewrite each recording's expected output from its replay instead of comparing.
    #[arg(long)]
    update: bool,
    /// Write a trace of each replay in DIR/<recording> (see `run --trace`).
    #[arg(long, value_name = "DIR")]
    trace: Option<PathBuf>,
    #[command(flatten)]
    browser: BrowserArgs,
}

/// A connector, its inputs and the collect's options, from the command line.
struct Prepared {
    connector: connector::Plan,
    inputs: Inputs,
    options: CollectOptions,
    /// `--trace DIR`: finished (its index.html written) when the collect ends.
    tracer: Option<gleaner::trace::Tracer>,
}

fn prepare(args: &CollectArgs) -> Result<std::result::Result<Prepared, ExitCode>> {
    let connector = match connector::load(&args.file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return Ok(Err(ExitCode::from(3)));
        }
    };
    let fields = gather_fields(&connector, &args.fields)?;
    let base_url = match &args.base_url {
        Some(u) => u.clone(),
        None => connector.base_url.clone(),
    };
    let mut options = CollectOptions::default();
    args.browser.apply(&mut options.launch);
    options.engine.code_timeout = args.code_timeout;
    options.engine.collect_timeout = args.collect_timeout;
    options.engine.max_document_size = args.max_document_size;
    let tracer = match &args.trace {
        Some(dir) => Some(gleaner::trace::Tracer::to_dir(dir)?),
        None => None,
    };
    options.engine.trace = tracer.as_ref().map(|t| t.hook());
    // Profiles of a killed gleaner hold its sessions' cookies; its browsers died with it.
    gleaner::browser::remove_stale_profiles(&options.launch);
    let mut inputs = Inputs::new(fields, base_url);
    inputs.extra_domains = args.domains.clone();
    Ok(Ok(Prepared {
        connector,
        inputs,
        options,
        tracer,
    }))
}

/// How a collect run on the terminal ended.
struct Ended {
    result: std::result::Result<Outcome, CollectError>,
    /// What the events showed, for the partial output of a failed collect.
    gathered: Outcome,
    elapsed: Duration,
}

/// Runs a collect with its progress on stderr and codes read from stdin (each typed code
/// also pushed to `typed`); Ctrl-C or SIGTERM stops it.
async fn collect_here(
    prepared: Prepared,
    background: bool,
    verbose: bool,
    typed: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
) -> Ended {
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let (codes_tx, codes_rx) = mpsc::channel::<String>(4);
    let io = Links {
        events: events_tx,
        codes: (!background).then_some(codes_rx),
        closes: None,
        redactor: Redactor::new(),
    };

    // Codes come from stdin, read on a thread of its own (the read blocks), one line per
    // request: a line typed before the site asks is not taken for a code.
    let (ask_tx, ask_rx) = std::sync::mpsc::channel::<()>();
    if !background {
        std::thread::spawn(move || {
            while ask_rx.recv().is_ok() {
                let mut line = String::new();
                match std::io::stdin().lock().read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let code = line.trim().to_string();
                        if let Some(typed) = &typed {
                            typed
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(code.clone());
                        }
                        if codes_tx.blocking_send(code).is_err() {
                            break;
                        }
                    }
                }
            }
        });
    }

    let started = Instant::now();
    let printer = tokio::spawn(async move {
        let mut gathered = Outcome::default();
        while let Some(ev) = events_rx.recv().await {
            show(&ev, verbose);
            gathered.absorb(&ev);
            if matches!(ev, Event::CodeRequested { .. }) {
                let _ = ask_tx.send(());
            }
        }
        gathered
    });
    // On Ctrl-C or SIGTERM the collect is dropped, and with it the browser, whose drop
    // kills and reaps every Chromium process: nothing outlives the command.
    let result = tokio::select! {
        r = collect::run(&prepared.connector, prepared.inputs, &prepared.options, io, &|_| {}) => r,
        signal = interrupted() => Err(CollectError::new(ErrorKind::Cancelled, format!("stopped by {signal}"))),
    };
    let gathered = printer.await.unwrap_or_default();
    let elapsed = started.elapsed();
    if let Some(tracer) = &prepared.tracer {
        match tracer.finish(&format!("gleaner trace: {}", prepared.connector.id)) {
            Ok(Some(index)) => eprintln!("trace: {}", index.display()),
            Ok(None) => {}
            Err(e) => eprintln!("{e}"),
        }
    }
    Ended {
        result,
        gathered,
        elapsed,
    }
}

/// Prints a failed collect's partial output (stdout) and error (stderr); the exit code.
fn failed(e: &CollectError, gathered: &Outcome) -> Result<ExitCode> {
    // How far it got, for the connector's author: marked partial, with the error.
    let partial = serde_json::json!({
        "partial": true,
        "error": { "code": e.code.to_string(), "message": e.to_string() },
        "lists": gathered.lists,
        "documents": gathered.documents,
    });
    println!("{}", serde_json::to_string_pretty(&partial)?);
    eprintln!("{e}");
    Ok(if e.kind().final_state() == State::Disconnected {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    })
}

async fn run(args: RunArgs) -> Result<ExitCode> {
    let mut prepared = match prepare(&args.collect)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    prepared.options.launch.headless = !args.headful;
    prepared.options.engine.out_dir = args.out.clone();
    let ended = collect_here(prepared, args.background, args.collect.verbose, None).await;
    match ended.result {
        Ok(outcome) => {
            println!("{}", serde_json::to_string_pretty(&outcome)?);
            let n: usize = outcome.lists.values().map(Vec::len).sum();
            eprintln!(
                "done in {:.1}s: {n} records, {} documents in {}",
                ended.elapsed.as_secs_f64(),
                outcome.documents.len(),
                args.out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => failed(&e, &ended.gathered),
    }
}

/// `gleaner record`: a live collect, every exchange kept, written as a fixture.
async fn record(args: RecordArgs) -> Result<ExitCode> {
    let mut prepared = match prepare(&args.collect)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let documents = tempfile::tempdir().context("a temporary directory for the documents")?;
    prepared.options.engine.out_dir = documents.path().to_path_buf();
    let (recorder, tap) = gleaner::replay::Recorder::start();
    prepared.options.launch.network = tap;
    let fields = prepared.inputs.fields.clone();
    let base_url = prepared.inputs.base_url.clone();
    let domains = prepared.inputs.extra_domains.clone();
    let connector = prepared.connector.clone();
    let typed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let ended = collect_here(prepared, false, args.collect.verbose, Some(typed.clone())).await;
    let outcome = match ended.result {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("nothing recorded: the collect failed");
            return failed(&e, &ended.gathered);
        }
    };
    let codes = std::mem::take(&mut *typed.lock().unwrap_or_else(|e| e.into_inner()));
    let written = gleaner::replay::write_fixture(
        &args.out,
        gleaner::replay::LiveRun {
            connector: &connector,
            connector_file: &args.collect.file,
            base_url,
            domains,
            fields,
            codes,
            outcome: &outcome,
            elapsed: ended.elapsed,
        },
        recorder.take(),
    )?;
    let n: usize = outcome.lists.values().map(Vec::len).sum();
    eprintln!(
        "recorded in {:.1}s: {n} records, {} documents, {} exchanges ({}) in {}",
        ended.elapsed.as_secs_f64(),
        outcome.documents.len(),
        written.exchanges,
        bytesize::ByteSize::b(written.har_bytes).display().si(),
        written.dir.display()
    );
    eprintln!("replay it with: gleaner test {}", written.dir.display());
    Ok(ExitCode::SUCCESS)
}

/// `gleaner test`: every recording under the paths replayed; one line each, then a summary.
async fn test(args: TestArgs) -> Result<ExitCode> {
    let mut dirs = Vec::new();
    for path in &args.paths {
        if path.is_file() {
            let found = gleaner::replay::fixture::for_connector(path, Path::new("fixtures"))?;
            if found.is_empty() {
                bail!("no recording of {} under fixtures/", path.display());
            }
            dirs.extend(found);
        } else {
            dirs.extend(gleaner::replay::fixture::find(path)?);
        }
    }
    if dirs.is_empty() {
        bail!("no recording (fixture.json) under {:?}", args.paths);
    }
    let mut options = gleaner::replay::TestOptions {
        update: args.update,
        trace: args.trace.clone(),
        ..Default::default()
    };
    args.browser.apply(&mut options.collect.launch);
    gleaner::browser::remove_stale_profiles(&options.collect.launch);
    let (mut passed, mut failed) = (0, 0);
    let started = Instant::now();
    for dir in dirs {
        let report = tokio::select! {
            r = gleaner::replay::run_fixture(&dir, &options) => r,
            signal = interrupted() => bail!("stopped by {signal}"),
        };
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                failed += 1;
                println!("FAIL {}: {e}", dir.display());
                continue;
            }
        };
        let timing = format!(
            "{:.1}s, live {:.1}s; {} served",
            report.elapsed.as_secs_f64(),
            report.live_seconds,
            report.stats.served
        );
        match &report.verdict {
            gleaner::replay::Verdict::Passed => {
                passed += 1;
                println!("ok   {} ({timing})", dir.display());
            }
            gleaner::replay::Verdict::Updated => {
                passed += 1;
                println!("updated {} ({timing})", dir.display());
            }
            gleaner::replay::Verdict::Failed(why) => {
                failed += 1;
                println!("FAIL {} ({timing})", dir.display());
                for line in why {
                    println!("     {line}");
                }
            }
        }
        if let Some(index) = &report.trace {
            println!("     trace: {}", index.display());
        }
    }
    println!(
        "{passed} passed, {failed} failed ({:.1}s)",
        started.elapsed().as_secs_f64()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Field values from `--field`, then `GLEANER_FIELD_<NAME>`, then a prompt.
/// The terminal's language, from the POSIX locale (`LC_ALL`, `LC_MESSAGES`, `LANG`, the
/// first set): connector texts are shown in it when they have it, else in English.
fn terminal_languages() -> Vec<LanguageTag> {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.is_empty())
        .and_then(|locale| LanguageTag::from_posix_locale(&locale))
        .into_iter()
        .collect()
}

fn gather_fields(
    connector: &connector::Plan,
    given: &[String],
) -> Result<IndexMap<String, String>> {
    let mut values = IndexMap::new();
    for kv in given {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--field takes NAME=VALUE, got {kv:?}")
        };
        if !connector.fields.contains_key(k) {
            let known: Vec<&str> = connector.fields.keys().map(String::as_str).collect();
            bail!(
                "the connector has no field {k:?} (fields: {})",
                known.join(", ")
            );
        }
        values.insert(k.to_string(), v.to_string());
    }
    for (name, def) in &connector.fields {
        if values.contains_key(name) {
            continue;
        }
        if let Ok(v) = std::env::var(format!("GLEANER_FIELD_{}", name.to_uppercase())) {
            values.insert(name.clone(), v);
            continue;
        }
        let label = def.label.pick(&terminal_languages()).text;
        let prompt = format!("{label}: ");
        let value = if def.is_secret() && std::io::stdin().is_terminal() {
            rpassword::prompt_password(&prompt)?
        } else {
            eprint!("{prompt}");
            std::io::stderr().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        };
        if value.is_empty() && !def.optional {
            bail!("{label} is required");
        }
        values.insert(name.clone(), value);
    }
    // Keep the connector's order.
    let mut ordered = IndexMap::new();
    for name in connector.fields.keys() {
        if let Some(v) = values.shift_remove(name) {
            ordered.insert(name.clone(), v);
        }
    }
    Ok(ordered)
}

/// The progress display: one line per state, with a bar over states 1 to 7.
fn show(ev: &Event, verbose: bool) {
    match ev {
        Event::State { state, message } => {
            let i = state.index().max(0) as usize;
            let bar: String = (1..=7).map(|k| if k <= i { '■' } else { '□' }).collect();
            let msg = message
                .as_deref()
                .map(|m| format!(" — {m}"))
                .unwrap_or_default();
            eprintln!("[{bar}] {:>2} {}{msg}", state.index(), state.name());
        }
        Event::CodeRequested { kind, label, .. } => {
            let label = label
                .as_ref()
                .map_or(kind.default_label(), |l| l.pick(&terminal_languages()).text);
            eprint!(
                "{label} ({}) — type the code and press Enter: ",
                kind.as_str()
            );
            let _ = std::io::stderr().flush();
        }
        Event::Step { step } if verbose => eprintln!("        {step}"),
        Event::SelectorMatched {
            step,
            alternative,
            selector,
        } if verbose => {
            let at = step.as_ref().map(|s| format!("{s}: ")).unwrap_or_default();
            eprintln!("        {at}matched alternative {alternative} '{selector}'");
        }
        Event::Interactive {
            active: true,
            instructions,
        } => eprintln!(
            "        the site needs you: {} (use the browser window: run with --headful)",
            instructions
                .as_ref()
                .map_or("finish the login", |i| i.pick(&terminal_languages()).text)
        ),
        Event::Document { document, .. } => {
            eprintln!(
                "        document {} → {}",
                document.id.as_deref().unwrap_or("?"),
                document.file.display()
            )
        }
        // The CLI keeps no session; its Debug names cookies and keys, never a value.
        Event::BrowserState { state } if verbose => eprintln!("        browser session: {state:?}"),
        _ => {}
    }
}
