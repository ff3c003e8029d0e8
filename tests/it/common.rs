//! Test helpers: the demo site, a bound on concurrent browsers, a collect driven the way a
//! person would drive it (codes typed when asked), and checks that nothing is left behind.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use demo_sites::{DemoSite, DemoSiteOptions, ExtraInvoices};
use gleaner::codes::State;
use gleaner::collect::{self, CollectOptions};
use gleaner::connector::{self, Plan};
use gleaner::engine::{CollectError, Event, Inputs, Links, Outcome};
use gleaner::secrets::Redactor;
use indexmap::IndexMap;
use tokio::sync::{Semaphore, mpsc};

/// A 2-core machine runs two browsers at a time without starving them.
static BROWSERS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(2));

pub const FIXED_CODE: &str = "424242";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn demo_connector() -> Plan {
    connector::load(&root().join("connectors/demo-bank.yaml")).expect("demo-bank.yaml loads")
}

/// The demo connector with `from` replaced by `to` in its source.
pub fn demo_connector_with(from: &str, to: &str) -> Plan {
    demo_connector_edited(&[(from, to)])
}

/// The demo connector with each `(from, to)` replacement made once in its source.
pub fn demo_connector_edited(edits: &[(&str, &str)]) -> Plan {
    let mut src = std::fs::read_to_string(root().join("connectors/demo-bank.yaml")).unwrap();
    for (from, to) in edits {
        assert!(src.contains(from), "{from:?} is not in demo-bank.yaml");
        src = src.replacen(from, to, 1);
    }
    connector::parse(&src, "demo-bank.yaml").expect("modified connector loads")
}

pub async fn demo_site() -> DemoSite {
    demo_site_with(ExtraInvoices::default()).await
}

/// The demo site, with a handle to publish invoices while it runs.
pub async fn demo_site_with(extra_invoices: ExtraInvoices) -> DemoSite {
    DemoSite::start(
        demo_sites::demo_bank_fixtures(),
        DemoSiteOptions {
            fixed_code: Some(FIXED_CODE.into()),
            print_codes: false,
            extra_invoices,
        },
    )
    .await
    .expect("demo site starts")
}

/// How the test answers a code request.
#[derive(Clone)]
pub enum Codes {
    /// The code the site issued for this user.
    FromSite(String),
    /// This exact text.
    Fixed(String),
    /// A background collect: no one to ask.
    Nobody,
    /// Kill the browser instead of answering.
    KillBrowser,
    /// Kill the page's renderer processes instead of answering.
    KillRenderer,
}

pub struct Run {
    pub result: Result<Outcome, CollectError>,
    pub events: Vec<Event>,
    pub out_dir: tempfile::TempDir,
    /// From a [`Kill`] to the collect's end, when there was one.
    pub ended_after_kill: Option<Duration>,
}

impl Run {
    pub fn states(&self) -> Vec<i8> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::State { state, .. } => Some(state.index()),
                _ => None,
            })
            .collect()
    }

    pub fn final_state(&self) -> State {
        self.events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::State { state, .. } => Some(*state),
                _ => None,
            })
            .expect("a final state")
    }

    pub fn outcome(&self) -> &Outcome {
        match &self.result {
            Ok(o) => o,
            Err(e) => panic!("collect failed: {e}"),
        }
    }

    pub fn error(&self) -> &CollectError {
        match &self.result {
            Ok(_) => panic!("collect succeeded, an error was expected"),
            Err(e) => e,
        }
    }
}

/// Runs one collect against the demo site, answering code requests as `codes` says, and
/// checks afterwards that the browser left no process and no profile directory.
pub async fn collect(
    site: &impl Fixture,
    connector: &Plan,
    login: &str,
    password: &str,
    codes: Codes,
) -> Run {
    collect_tuned(site, connector, login, password, codes, |_| {}).await
}

/// [`collect`], with the options changed by `tune` first.
pub async fn collect_tuned(
    site: &impl Fixture,
    connector: &Plan,
    login: &str,
    password: &str,
    codes: Codes,
    tune: impl FnOnce(&mut CollectOptions),
) -> Run {
    collect_with(site, connector, login, password, codes, tune, None).await
}

/// A fixture site a collect runs against.
pub trait Fixture: Sync {
    fn base_url(&self) -> String;
    /// Hosts the run allows besides the connector's `domains` (`gleaner run --domain`).
    fn extra_domains(&self) -> Vec<String> {
        Vec::new()
    }
    /// The code the site issued for `user`, waited for.
    fn code_for<'a>(&'a self, user: &'a str) -> futures::future::BoxFuture<'a, Option<String>>;
}

impl Fixture for DemoSite {
    fn base_url(&self) -> String {
        DemoSite::base_url(self)
    }

    fn code_for<'a>(&'a self, user: &'a str) -> futures::future::BoxFuture<'a, Option<String>> {
        Box::pin(async move { self.wait_code(user, Duration::from_secs(10)).await.ok() })
    }
}

impl Fixture for demo_sites::DemoTelecom {
    fn base_url(&self) -> String {
        demo_sites::DemoTelecom::base_url(self)
    }

    fn extra_domains(&self) -> Vec<String> {
        vec![self.idp_domain()]
    }

    /// Its code is fixed (424242 unless its options say otherwise): use `Codes::Fixed`.
    fn code_for<'a>(&'a self, _user: &'a str) -> futures::future::BoxFuture<'a, Option<String>> {
        Box::pin(async { None })
    }
}

/// What a chaos test kills, and when: as the first step whose summary starts with `step`
/// is about to run (the page of the step before it is loaded by then).
pub struct Kill {
    pub victim: Victim,
    pub step: &'static str,
}

pub enum Victim {
    /// The renderer processes of the browser.
    Renderer,
    /// Every process of the browser.
    Browser,
}

/// [`collect_tuned`], killing part of the browser at a given step.
pub async fn collect_with(
    site: &impl Fixture,
    connector: &Plan,
    login: &str,
    password: &str,
    codes: Codes,
    tune: impl FnOnce(&mut CollectOptions),
    mut kill: Option<Kill>,
) -> Run {
    let _permit = BROWSERS.acquire().await.expect("semaphore");
    let profiles = tempfile::tempdir().expect("profile root");
    let out_dir = tempfile::tempdir().expect("out dir");
    let mut options = CollectOptions::default();
    options.launch.profile_root = Some(profiles.path().to_path_buf());
    options.engine.out_dir = out_dir.path().to_path_buf();
    options.engine.element_timeout = Duration::from_secs(5);
    options.engine.code_timeout = Duration::from_secs(30);
    tune(&mut options);

    let mut fields = IndexMap::new();
    fields.insert("login".to_string(), login.to_string());
    fields.insert("password".to_string(), password.to_string());
    let mut inputs = Inputs::new(fields, site.base_url().parse().unwrap());
    inputs.extra_domains = site.extra_domains();
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let (codes_tx, codes_rx) = mpsc::channel(4);
    let background = matches!(codes, Codes::Nobody);
    let io = Links {
        events: events_tx,
        codes: (!background).then_some(codes_rx),
        closes: None,
        redactor: Redactor::new(),
    };

    let killed_at = std::sync::Mutex::new(None::<std::time::Instant>);
    let run = async {
        let result = collect::run(connector, inputs, &options, io, &|_| {}).await;
        (result, std::time::Instant::now())
    };
    let drive = async {
        let mut events = Vec::new();
        while let Some(ev) = events_rx.recv().await {
            if let Event::Step { step } = &ev
                && kill
                    .as_ref()
                    .is_some_and(|k| step.summary.starts_with(k.step))
                && let Some(k) = kill.take()
            {
                *killed_at.lock().unwrap() = Some(std::time::Instant::now());
                match k.victim {
                    Victim::Renderer => kill_renderers(profiles.path()),
                    Victim::Browser => kill_browser(profiles.path()),
                }
            }
            if let Event::CodeRequested { .. } = &ev {
                let code = match &codes {
                    Codes::FromSite(user) => {
                        site.code_for(user).await.expect("the site issued a code")
                    }
                    Codes::Fixed(c) => c.clone(),
                    Codes::Nobody => unreachable!("no code is asked in the background"),
                    Codes::KillRenderer => {
                        kill_renderers(profiles.path());
                        events.push(ev);
                        continue;
                    }
                    Codes::KillBrowser => {
                        kill_browser(profiles.path());
                        events.push(ev);
                        continue;
                    }
                };
                codes_tx.send(code).await.expect("engine takes the code");
            }
            events.push(ev);
        }
        events
    };
    let ((result, ended), events) =
        tokio::time::timeout(Duration::from_secs(120), async { tokio::join!(run, drive) })
            .await
            .expect("the collect ends within 2 minutes");
    let ended_after_kill = killed_at
        .lock()
        .unwrap()
        .map(|at| ended.saturating_duration_since(at));
    assert_nothing_left(profiles.path());
    Run {
        result,
        events,
        out_dir,
        ended_after_kill,
    }
}

/// A connector for one test: `id`, the demo bank's base URL (the tests override it with the
/// demo site's) and fields (a login, a secret password), then `top` (more top-level keys,
/// as YAML lines) and `steps`.
pub fn connector(id: &str, top: &str, steps: &str) -> Plan {
    let yaml = format!(
        r#"
id: {id}
name: {id}
base_url: https://demo-bank.example/
fields:
  login:    {{ label: Login }}
  password: {{ label: Password, secret: true }}
{top}
steps:
{steps}
"#
    );
    connector::parse(&yaml, &format!("{id}.yaml")).expect("valid connector")
}

/// SIGKILL to the renderer processes of the browser whose profile is under `profiles`.
fn kill_renderers(profiles: &Path) {
    let renderers: Vec<i32> = gleaner::browser::process::processes_using(profiles)
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("--type=renderer"))
        })
        .collect();
    assert!(!renderers.is_empty(), "no renderer process found");
    for pid in renderers {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// SIGKILL to every process of the browser whose profile is under `profiles`.
fn kill_browser(profiles: &Path) {
    for pid in gleaner::browser::process::processes_using(profiles) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// No directory under `profiles` and no process naming it.
pub fn assert_nothing_left(profiles: &Path) {
    let left: Vec<_> = std::fs::read_dir(profiles)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "profile directories left: {left:?}");
    let procs = gleaner::browser::process::processes_using(profiles);
    assert!(procs.is_empty(), "Chromium processes left: {procs:?}");
}

pub fn data() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(demo_sites::demo_bank_fixtures().join("data.json")).unwrap(),
    )
    .unwrap()
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_gleaner")
}

/// Holds a browser slot for tests that launch Chromium themselves.
pub async fn browser_slot() -> tokio::sync::SemaphorePermit<'static> {
    BROWSERS.acquire().await.expect("semaphore")
}

/// A browser for a test that drives a `Tab` itself: launched once a slot among the tests'
/// browsers is free, with its profile root in a temporary directory of its own.
pub struct TestBrowser {
    pub browser: gleaner::browser::Browser,
    pub profiles: tempfile::TempDir,
    _slot: tokio::sync::SemaphorePermit<'static>,
}

/// [`TestBrowser`], with the launch options changed by `tune` first.
pub async fn launch_browser(
    tune: impl FnOnce(&mut gleaner::browser::LaunchOptions),
) -> TestBrowser {
    let slot = browser_slot().await;
    let profiles = tempfile::tempdir().expect("profile root");
    let mut options = gleaner::browser::LaunchOptions {
        profile_root: Some(profiles.path().to_path_buf()),
        ..Default::default()
    };
    tune(&mut options);
    let browser = gleaner::browser::Browser::launch(options)
        .await
        .expect("launch");
    TestBrowser {
        browser,
        profiles,
        _slot: slot,
    }
}

impl TestBrowser {
    /// Closes the browser, checks it left nothing behind, and frees its slot.
    pub async fn close(self) {
        self.browser.close().await;
        assert_nothing_left(self.profiles.path());
    }
}
