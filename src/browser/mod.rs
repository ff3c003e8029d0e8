//! Chromium: discovery, launch (one process per collect, a fresh profile), the CDP handler
//! loop, and cleanup that leaves no process and no profile directory behind.
//!
//! Callers get a [`Browser`] and open [`Tab`]s on it; the engine only ever sees a `Tab`.
//! A later pool mode (warm browsers, one `BrowserContext` per collect) opens its tabs in
//! their own context with [`Browser::new_isolated_tab`] and hands out the same `Tab`.

mod browser_download;
mod cdp;
mod crash;
mod dialogs;
mod download;
pub mod egress;
mod environment;
mod error;
mod fetch_tap;
mod flags;
mod focus;
mod guard;
mod input;
pub mod memory;
mod network_tap;
mod popups;
pub mod process;
mod profile;
mod responses;
mod screen;
mod state;
mod stderr;
mod tab;
mod user;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams,
};
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use browser_download::{BrowserDownload, BrowserDownloadError, sanitized_filename};
pub use crash::Crash;
pub use dialogs::DialogAnswer;
pub use download::{DownloadError, DownloadLimits, Downloaded, MAX_REDIRECTS};
pub use egress::EgressHandle;
pub use error::{
    BrowserError, FrameError, NavigationError, NetError, NetErrorClass, without_query,
};
pub use focus::{Area, FocusKind, Focused};
pub use guard::{BadDomain, BlockKind, BlockedRequests, HostAllowList, check_domain};
pub use network_tap::{
    Exchange, ExchangeSink, HttpRequest, HttpResponse, Initiator, MAX_RECORDED_BODY, NetworkTap,
    Responder, header_value,
};
pub use popups::{DEFAULT_MAX_POPUPS, DEFAULT_POPUP_TIMEOUT, Popup, Popups, Tally};
pub use profile::PROFILE_PREFIX;
pub use responses::{Body, CaptureError, MAX_BODY, MAX_KEPT, MAX_KEPT_BYTES, Response};
pub use screen::{BadDisplay, Frame, Screen, Screencast, ViewerDisplay};
pub use state::{BrowserState, KeptCookie};
pub use tab::{Activity, ConsoleLine, PageActivity, RequestSeen};
pub use tab::{FramePath, InputRefused, Probe, ReadyState, SelectorState, Tab, Target};
pub use user::{BadBrowserUser, BrowserUser};

/// The names tried on PATH, in order, when `GLEANER_CHROME` is not set.
pub const CHROME_NAMES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// Finds Chromium: `GLEANER_CHROME`, else the usual names on PATH.
pub fn find_chromium() -> Result<PathBuf, BrowserError> {
    if let Some(path) = std::env::var_os("GLEANER_CHROME").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(BrowserError::BadExecutable(path))
        };
    }
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for name in CHROME_NAMES {
        for dir in &dirs {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(BrowserError::NotFound {
        looked_for: format!("GLEANER_CHROME, then {} on PATH", CHROME_NAMES.join(", ")),
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// `None`: [`find_chromium`].
    pub executable: Option<PathBuf>,
    pub headless: bool,
    /// The viewport, set exactly through device metrics emulation.
    pub viewport: (u32, u32),
    /// Where profile directories are made (default: the system temp dir).
    pub profile_root: Option<PathBuf>,
    pub launch_timeout: Duration,
    /// The longest a single CDP command may take.
    pub request_timeout: Duration,
    /// Chromium's own sandbox. `false` (`--no-sandbox`) only by an explicit opt-in: a
    /// page that breaks into a renderer then runs with the browser's rights.
    pub sandbox: bool,
    /// Who Chromium runs as when gleaner runs as root (see [`BrowserUser`]); ignored
    /// otherwise.
    pub browser_user: BrowserUser,
    /// The JavaScript heap of each renderer, in bytes (V8's `--max-old-space-size`);
    /// `None`: V8's own limit, which grows with the machine's memory (4 GiB here).
    pub renderer_memory: Option<u64>,
    /// The memory of the whole browser (every process of it), in bytes: past it the tab
    /// ends as [`Crash::OutOfMemory`]. `None`: no cap. See [`memory`].
    pub browser_memory: Option<u64>,
    /// Tabs opened by the page kept open at once; each one beyond is closed at birth.
    pub max_popups: usize,
    /// Recording or replaying the collect's requests (`gleaner record`, `gleaner test`).
    pub network: NetworkTap,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        LaunchOptions {
            executable: None,
            headless: true,
            viewport: (1280, 720),
            profile_root: None,
            launch_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            sandbox: true,
            browser_user: BrowserUser::default(),
            renderer_memory: Some(flags::DEFAULT_RENDERER_MEMORY),
            browser_memory: Some(memory::DEFAULT_BROWSER_MEMORY),
            max_popups: popups::DEFAULT_MAX_POPUPS,
            network: NetworkTap::Live,
        }
    }
}

impl LaunchOptions {
    /// Where this browser's profile directory goes.
    pub fn resolved_profile_root(&self) -> PathBuf {
        self.profile_root.clone().unwrap_or_else(std::env::temp_dir)
    }
}

/// Removes the profiles that killed gleaner processes left under `options`' profile root
/// (and kills any Chromium still using them); see [`profile::remove_stale`]. Called at the
/// start of `run` and `serve`. Returns how many were removed.
pub fn remove_stale_profiles(options: &LaunchOptions) -> usize {
    let removed = profile::remove_stale(&options.resolved_profile_root());
    for path in &removed {
        tracing::info!("removed the stale browser profile {}", path.display());
    }
    memory::remove_stale_cgroups();
    removed.len()
}

/// One Chromium process. Close it with [`Browser::close`]; dropping it kills it instead.
pub struct Browser {
    inner: Option<chromiumoxide::Browser>,
    handler: Option<JoinHandle<()>>,
    profile: Option<profile::Profile>,
    profile_path: PathBuf,
    /// Outlives the browser's process: dropped in `cleanup`.
    egress: Option<egress::Egress>,
    /// Renderer crashes, by target; set once the browser answers.
    crashes: Option<crash::CrashedTargets>,
    crash_watch: Option<JoinHandle<()>>,
    /// Chromium's stderr, drained for as long as it runs.
    stderr: Option<stderr::StderrTail>,
    pid: Option<i32>,
    alive: watch::Receiver<bool>,
    options: LaunchOptions,
    /// The cap on the memory of all its processes; removed after them.
    memory: Option<memory::MemoryCap>,
}

impl Browser {
    /// Launches Chromium with a fresh profile. Every step that can fail after the process
    /// exists is in `Browser::start`, and a failure there kills and reaps it.
    pub async fn launch(options: LaunchOptions) -> Result<Browser, BrowserError> {
        process::become_subreaper();
        let executable = match &options.executable {
            Some(p) => p.clone(),
            None => find_chromium()?,
        };
        // As root, Chromium would have to run without its sandbox: it runs as another user.
        let run_as = options.browser_user.to_switch_to();
        let profile = profile::create(&options.resolved_profile_root(), run_as)
            .map_err(BrowserError::Profile)?;
        let profile_path = profile.path().to_path_buf();
        let egress = egress::Egress::start()
            .await
            .map_err(|e| BrowserError::Launch(format!("cannot start the egress proxy: {e}")))?;

        let (w, h) = options.viewport;
        let mut builder = chromiumoxide::BrowserConfig::builder()
            .chrome_executable(&executable)
            .user_data_dir(&profile_path)
            // chromiumoxide's defaults turn the popup blocker off, among others: gleaner
            // passes the ones it keeps itself (see flags.rs).
            .disable_default_args()
            .args(flags::SWITCHES.iter().copied())
            .args(flags::VALUED.iter().copied())
            .window_size(w, h)
            .viewport(None)
            .launch_timeout(options.launch_timeout)
            .request_timeout(options.request_timeout)
            // CDP over fds 3 and 4: no DevTools port for any other local process to reach.
            // Chromium also exits by itself when its end of the pipe closes.
            .remote_debugging_pipe()
            // chromiumoxide tells every page to ignore certificate errors by default: a
            // man in the middle would then pass for the bank.
            .respect_https_errors()
            // Killed with this process, even by SIGKILL (see process::on_spawner_thread).
            .die_with_parent()
            // None of gleaner's environment (it may hold secrets); home and temp
            // directories inside the profile.
            .env_clear()
            .envs(environment::for_chromium(&profile, run_as.is_some()))
            // Read for as long as it runs; it says why a launch failed (a sandbox that
            // cannot start).
            .capture_stderr()
            // chromiumoxide adds the leading dashes itself (see CHROMIUM-NOTES.md).
            .args([
                "disable-gpu",
                "disable-quic",
                "no-first-run",
                "disable-background-networking",
                "disable-component-update",
                "disable-sync",
                "disable-default-apps",
                "password-store=basic",
                "lang=fr-FR,fr,en",
            ])
            // Every connection, loopback included, through the egress proxy (see egress.rs),
            // which resolves names itself: Chromium resolves none (no DNS prefetch, no
            // lookup that could carry data out in a name), and WebRTC sends no UDP.
            .arg(format!("proxy-server={}", egress.proxy_server()))
            .args([
                "proxy-bypass-list=<-loopback>",
                "host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "webrtc-ip-handling-policy=disable_non_proxied_udp",
            ]);
        if let Some(bytes) = options.renderer_memory {
            builder = builder.arg(("js-flags", flags::js_heap_limit(bytes).as_str()));
        }
        if !options.sandbox {
            tracing::debug!("Chromium starts without its sandbox (--no-sandbox)");
            builder = builder.no_sandbox();
        }
        if let Some(user) = run_as {
            builder = builder.run_as(user.uid, user.gid);
        }
        builder = if options.headless {
            builder.new_headless_mode()
        } else {
            builder.with_head()
        };
        let config = builder.build().map_err(BrowserError::Launch)?;

        let (browser, mut handler) =
            process::on_spawner_thread(chromiumoxide::Browser::launch(config))
                .await
                .ok_or_else(|| BrowserError::Launch("the browser spawner thread is gone".into()))?
                .map_err(|e| BrowserError::Launch(e.to_string()))?;
        let (alive_tx, alive) = watch::channel(true);
        // The handler drives every CDP exchange; it must be polled for as long as the browser
        // lives. Its end means the connection is gone: the browser closed or crashed.
        let handler_task = tokio::spawn(async move {
            while let Some(event) = handler.next().await {
                match event {
                    Ok(()) => {}
                    // The connection is gone: Chromium exited or was killed.
                    Err(chromiumoxide::error::CdpError::Ws(e)) => {
                        tracing::debug!("CDP connection closed: {e}");
                        break;
                    }
                    // Over the pipe, the browser's exit is an EOF, reported as this.
                    Err(chromiumoxide::error::CdpError::Io(e)) => {
                        tracing::debug!("CDP connection failed: {e}");
                        break;
                    }
                    Err(e) => tracing::debug!("CDP handler: {e}"),
                }
            }
            let _ = alive_tx.send(false);
        });
        let mut this = Browser {
            inner: Some(browser),
            handler: Some(handler_task),
            profile: Some(profile),
            profile_path,
            egress: Some(egress),
            crashes: None,
            crash_watch: None,
            stderr: None,
            pid: None,
            alive,
            options,
            memory: None,
        };
        let child = this.inner.as_mut().and_then(|b| b.get_mut_child());
        this.pid = child.as_ref().and_then(|c| c.inner.id()).map(|p| p as i32);
        this.stderr = child
            .and_then(|c| c.stderr.take())
            .map(|e| stderr::StderrTail::follow(e.into_inner()));
        if let Some(pid) = this.pid {
            process::own(pid);
            this.memory = this
                .options
                .browser_memory
                .map(|cap| memory::MemoryCap::apply(pid, &this.profile_path, cap));
        }
        if let Err(e) = this.start().await {
            this.close().await;
            return Err(e);
        }
        Ok(this)
    }

    /// Checks that the browser answers: over the pipe, `launch` returns as soon as the
    /// process exists, so this first answer is the browser's readiness and gets the launch
    /// timeout. A sandbox that cannot start ends the launch as soon as Chromium says so,
    /// and a browser that exits says why. More start-up steps (a pool's warm-up) go here.
    async fn start(&mut self) -> Result<(), BrowserError> {
        let browser = self.inner.as_ref().ok_or(BrowserError::Crashed)?;
        let answer = tokio::time::timeout(self.options.launch_timeout, browser.version());
        let no_sandbox = async {
            match &self.stderr {
                Some(stderr) => stderr.sandbox_failure().await,
                None => std::future::pending().await,
            }
        };
        let failed = tokio::select! {
            answer = answer => match answer {
                Ok(Ok(_)) => return self.watch_crashes().await,
                Ok(Err(e)) => e.to_string(),
                Err(_) => return Err(BrowserError::Timeout("Browser.getVersion".into())),
            },
            message = no_sandbox => return Err(BrowserError::NoSandbox(message)),
        };
        // The connection ended: Chromium exited. Its stderr says why.
        let Some(stderr) = self.stderr.as_mut() else {
            return Err(BrowserError::Launch(failed));
        };
        Err(match stderr.explain(Duration::from_secs(2)).await {
            stderr::Explanation::NoSandbox(message) => BrowserError::NoSandbox(message),
            stderr::Explanation::LastLine(Some(line)) => {
                BrowserError::Launch(format!("{failed}; it printed: {line}"))
            }
            stderr::Explanation::LastLine(None) => BrowserError::Launch(failed),
        })
    }

    /// Starts gathering renderer crashes, once the browser answers.
    async fn watch_crashes(&mut self) -> Result<(), BrowserError> {
        let browser = self.inner.as_ref().ok_or(BrowserError::Crashed)?;
        let out_of_memory = memory::OutOfMemory::new(
            self.memory.as_ref(),
            self.stderr
                .as_ref()
                .map(stderr::StderrTail::v8_out_of_memory),
        );
        let (crashes, task) = crash::watch_targets(browser, out_of_memory)
            .await
            .map_err(|e| BrowserError::Launch(e.to_string()))?;
        self.crashes = Some(crashes);
        self.crash_watch = Some(task);
        Ok(())
    }

    pub fn pid(&self) -> Option<i32> {
        self.pid
    }

    pub fn profile_dir(&self) -> &Path {
        &self.profile_path
    }

    /// A watch that turns false when the CDP connection ends.
    pub fn alive(&self) -> watch::Receiver<bool> {
        self.alive.clone()
    }

    /// A new tab in the browser's default context.
    pub async fn new_tab(&self) -> Result<Tab, BrowserError> {
        self.open_tab(None).await
    }

    /// A new tab in a new `BrowserContext`: its own cookies and storage, as a pool would
    /// give each collect.
    pub async fn new_isolated_tab(&self) -> Result<Tab, BrowserError> {
        let browser = self.inner.as_ref().ok_or(BrowserError::Crashed)?;
        let id = browser
            .create_browser_context(CreateBrowserContextParams::default())
            .await
            .map_err(|e| cdp::cdp_error(e, &self.alive))?;
        self.open_tab(Some(id)).await
    }

    async fn open_tab(
        &self,
        context: Option<chromiumoxide::cdp::browser_protocol::browser::BrowserContextId>,
    ) -> Result<Tab, BrowserError> {
        let browser = self.inner.as_ref().ok_or(BrowserError::Crashed)?;
        let mut params = CreateTargetParams::builder().url("about:blank");
        if let Some(id) = context.clone() {
            params = params.browser_context_id(id);
        }
        let params = params.build().map_err(BrowserError::Cdp)?;
        let page = browser
            .new_page(params)
            .await
            .map_err(|e| cdp::cdp_error(e, &self.alive))?;
        let egress = self
            .egress
            .as_ref()
            .map(egress::Egress::handle)
            .ok_or(BrowserError::Crashed)?;
        let crashes = self.crashes.clone().ok_or(BrowserError::Crashed)?;
        let target = page.target_id().clone();
        let kit = popups::TabKit {
            browser: browser.handle(),
            alive: self.alive.clone(),
            crashes: crashes.clone(),
            viewport: self.options.viewport,
            egress: egress.clone(),
            download_dir: self.download_dir(),
            context,
            network: self.options.network.clone(),
        };
        let tab = Tab::new(
            page,
            self.alive.clone(),
            crashes,
            self.options.viewport,
            egress,
            self.options.network.clone(),
            browser.handle(),
        )
        .await?;
        let popups =
            popups::Popups::watch(std::sync::Arc::new(kit), target, self.options.max_popups)
                .await?;
        tab.set_popups(std::sync::Arc::new(popups));
        Ok(tab)
    }

    /// Where the browser writes its downloads: inside the profile (0700, removed with it).
    fn download_dir(&self) -> PathBuf {
        match &self.profile {
            Some(p) => p.download_dir(),
            None => self.profile_path.join("downloads"),
        }
    }

    /// Closes the browser: a polite `Browser.close`, then a kill if it does not exit in
    /// time, then the profile directory is removed and orphaned helpers are reaped.
    pub async fn close(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(mut browser) = self.inner.take() {
            let closed = tokio::time::timeout(Duration::from_secs(5), browser.close()).await;
            let exited = match closed {
                Ok(Ok(_)) => tokio::time::timeout(Duration::from_secs(5), browser.wait())
                    .await
                    .is_ok(),
                _ => false,
            };
            if !exited {
                let _ = browser.kill().await;
                let _ = browser.wait().await;
            }
        }
        if let Some(handler) = self.handler.take() {
            // The connection is closed, so the loop ends on its own; don't let it linger.
            let _ = tokio::time::timeout(Duration::from_secs(2), handler).await;
        }
        self.cleanup();
    }

    /// Kills what is left of this browser's processes, removes the profile, reaps zombies.
    fn cleanup(&mut self) {
        if let Some(pid) = self.pid.take() {
            process::disown(pid);
        }
        let killed = process::kill_and_reap(&self.profile_path);
        if killed > 0 {
            tracing::debug!("killed {killed} leftover Chromium processes");
        }
        if let Some(profile) = self.profile.take()
            && let Err(e) = profile.close()
        {
            tracing::warn!(
                "cannot remove the browser profile {}: {e}",
                self.profile_path.display()
            );
        }
        process::reap_orphans();
        self.memory.take();
        self.egress.take();
        if let Some(task) = self.crash_watch.take() {
            task.abort();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.inner.is_some() || self.profile.is_some() {
            // Dropped without `close`: `cleanup` kills the whole process tree, the main
            // process included, and reaps it; chromiumoxide's own kill-on-drop comes after.
            if let Some(handler) = self.handler.take() {
                handler.abort();
            }
            self.cleanup();
            drop(self.inner.take());
        }
    }
}
