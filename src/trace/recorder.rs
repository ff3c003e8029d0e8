//! The recorder: a [`StepObserver`] that keeps, for each step, what the page looked like
//! and did. To a directory (`gleaner run --trace DIR`: per-step files as the run goes,
//! then `trace.json` and `index.html` at [`Tracer::finish`]), or in memory, the last steps
//! only (the service, which keeps a trace only when the collect fails).

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;

use super::entry::{MatchedAlternative, StepError, TraceStep};
use super::files::{self, TraceError};
use super::report;
use super::snapshot::PageSnapshot;
use crate::browser::{PageActivity, Tab};
use crate::engine::{CollectError, StepEnd, StepObserver, TraceHook};
use crate::secrets::Redactor;

/// Records a collect's steps. Cheap to clone: clones share the trace.
#[derive(Clone)]
pub struct Tracer {
    inner: Arc<Inner>,
}

struct Inner {
    /// Where per-step files go as the run goes; `None`: in memory only.
    dir: Option<PathBuf>,
    /// Only the last this many steps are kept (`None`: all).
    keep_last: Option<usize>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The collect's redactor, given at the start.
    redactor: Redactor,
    steps: VecDeque<TraceStep>,
    /// Steps recorded so far, dropped ones included.
    count: usize,
    /// Each tab's requests and console, by CDP target id.
    activities: HashMap<String, Arc<PageActivity>>,
    /// When the last step ended (or the collect started).
    last_end: Option<std::time::Instant>,
}

impl Tracer {
    /// A trace written to `dir` (created with mode 0700 if absent; its files 0600: pages
    /// hold personal data). An earlier trace's files in it are removed.
    pub fn to_dir(dir: &Path) -> Result<Tracer, TraceError> {
        files::prepare_dir(dir)?;
        Ok(Tracer::new(Some(dir.to_path_buf()), None))
    }

    /// A trace kept in memory, of the last `steps` steps only.
    pub fn last_steps(steps: usize) -> Tracer {
        Tracer::new(None, Some(steps.max(1)))
    }

    fn new(dir: Option<PathBuf>, keep_last: Option<usize>) -> Tracer {
        Tracer {
            inner: Arc::new(Inner {
                dir,
                keep_last,
                state: Mutex::default(),
            }),
        }
    }

    /// The handle the engine's options take.
    pub fn hook(&self) -> TraceHook {
        TraceHook(Arc::new(self.clone()))
    }

    /// The steps kept so far.
    pub fn steps(&self) -> Vec<TraceStep> {
        self.lock().steps.iter().cloned().collect()
    }

    /// Whether any step was recorded.
    pub fn has_steps(&self) -> bool {
        !self.lock().steps.is_empty()
    }

    /// Whether a step failed.
    pub fn failed(&self) -> bool {
        self.lock().steps.iter().any(TraceStep::failed)
    }

    /// The self-contained report (`index.html`) of the steps kept.
    pub fn report(&self, title: &str) -> String {
        let steps = self.steps();
        report::render(title, &steps)
    }

    /// Writes `trace.json` and `index.html` in the trace's directory (nothing for a trace
    /// in memory), and returns the report's path.
    pub fn finish(&self, title: &str) -> Result<Option<PathBuf>, TraceError> {
        let Some(dir) = &self.inner.dir else {
            return Ok(None);
        };
        let steps = self.steps();
        let json =
            serde_json::to_vec_pretty(&serde_json::json!({ "steps": steps })).unwrap_or_default();
        files::write(dir, "trace.json", &json)?;
        let index = report::render(title, &steps);
        files::write(dir, "index.html", index.as_bytes())?;
        self.forget_tabs();
        Ok(Some(dir.join("index.html")))
    }

    /// Stops listening to the tabs (the collect is over).
    pub fn forget_tabs(&self) {
        self.lock().activities.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The activity log of `tab`, started at its first step.
    async fn activity(&self, tab: &Tab) -> Option<Arc<PageActivity>> {
        let target = tab.page().target_id().inner().clone();
        if let Some(a) = self.lock().activities.get(&target) {
            return Some(a.clone());
        }
        match tab.watch_activity().await {
            Ok(a) => {
                let a = Arc::new(a);
                self.lock().activities.insert(target, a.clone());
                Some(a)
            }
            Err(e) => {
                tracing::warn!("trace: cannot follow the page's requests: {e}");
                None
            }
        }
    }

    /// Records one step: the page now, what it did since the previous step.
    async fn record(
        &self,
        tab: &Tab,
        step: Option<&crate::connector::plan::StepRef>,
        took: Option<std::time::Duration>,
        error: Option<&CollectError>,
        matched: Option<(u32, String)>,
    ) {
        let began = std::time::Instant::now();
        let redactor = self.lock().redactor.clone();
        let activity = match self.activity(tab).await {
            Some(a) => a.take(),
            None => Default::default(),
        };
        let snapshot = if tab.is_alive() && tab.crash_now().is_none() {
            PageSnapshot::take(tab, &redactor).await
        } else {
            PageSnapshot {
                url: None,
                html: None,
                screenshot: None,
                problems: vec!["the browser is gone".into()],
            }
        };
        let now = std::time::Instant::now();
        let r = |s: &str| redactor.redact_encoded(s);
        let mut entry = TraceStep {
            index: 0,
            step: step.map(|s| crate::connector::plan::StepRef {
                summary: r(&s.summary),
                ..s.clone()
            }),
            label: step.map_or_else(|| "the collect".to_string(), |s| r(&s.to_string())),
            took_ms: 0,
            trace_ms: 0,
            url: snapshot.url,
            matched: matched.map(|(alternative, selector)| MatchedAlternative {
                alternative,
                selector: r(&selector),
            }),
            error: error.map(|e| StepError {
                code: e.code.to_string(),
                message: r(&e.to_string()),
            }),
            requests: activity
                .requests
                .into_iter()
                .map(|mut q| {
                    q.url = r(&q.url);
                    q
                })
                .collect(),
            more_requests: activity.more_requests,
            console: activity
                .console
                .into_iter()
                .map(|mut c| {
                    c.text = r(&c.text);
                    c
                })
                .collect(),
            problems: snapshot.problems.iter().map(|p| r(p)).collect(),
            screenshot_file: None,
            html_file: None,
            screenshot: snapshot.screenshot,
            html: snapshot.html,
        };
        {
            let mut state = self.lock();
            state.count += 1;
            entry.index = state.count;
            entry.took_ms = took
                .or_else(|| state.last_end.map(|t| now - t))
                .unwrap_or_default()
                .as_millis() as u64;
        }
        for p in &entry.problems {
            tracing::warn!("trace: {}: {p}", entry.label);
        }
        if let Some(dir) = &self.inner.dir {
            self.write_files(dir, &mut entry);
        }
        entry.trace_ms = began.elapsed().as_millis() as u64;
        let mut state = self.lock();
        // The next step's time starts after this entry: a trace does not slow the steps.
        state.last_end = Some(std::time::Instant::now());
        state.steps.push_back(entry);
        if let Some(n) = self.inner.keep_last {
            while state.steps.len() > n {
                state.steps.pop_front();
            }
        }
    }

    /// The step's screenshot and HTML beside `trace.json`, as the run goes: a run killed
    /// half way still leaves them.
    fn write_files(&self, dir: &Path, entry: &mut TraceStep) {
        let stem = entry.file_stem();
        if let Some(shot) = &entry.screenshot {
            let name = format!("{stem}.jpg");
            match files::write(dir, &name, shot) {
                Ok(()) => entry.screenshot_file = Some(name),
                Err(e) => tracing::warn!("trace: {e}"),
            }
        }
        if let Some(html) = &entry.html {
            let name = format!("{stem}.html");
            match files::write(dir, &name, html.as_bytes()) {
                Ok(()) => entry.html_file = Some(name),
                Err(e) => tracing::warn!("trace: {e}"),
            }
        }
    }
}

impl StepObserver for Tracer {
    fn start<'a>(&'a self, tab: &'a Tab, redactor: &'a Redactor) -> BoxFuture<'a, ()> {
        async move {
            {
                let mut state = self.lock();
                state.redactor = redactor.clone();
                state.last_end = Some(std::time::Instant::now());
            }
            // The first step's requests count from here.
            let _ = self.activity(tab).await;
        }
        .boxed()
    }

    fn step_ended<'a>(&'a self, tab: &'a Tab, end: StepEnd<'a>) -> BoxFuture<'a, ()> {
        self.record(tab, Some(end.step), Some(end.took), end.error, end.matched)
            .boxed()
    }

    fn collect_failed<'a>(&'a self, tab: &'a Tab, error: &'a CollectError) -> BoxFuture<'a, ()> {
        async move {
            let already = {
                let state = self.lock();
                state.steps.back().is_some_and(|s| {
                    s.failed()
                        && s.step.as_ref().map(|r| &r.number)
                            == error.step.as_ref().map(|r| &r.number)
                })
            };
            // The step was cut short (the collect's deadline, a crash) or the error came
            // after the last step: the trace still ends on it.
            if !already {
                self.record(tab, error.step.as_ref(), None, Some(error), None)
                    .await;
            }
        }
        .boxed()
    }
}
