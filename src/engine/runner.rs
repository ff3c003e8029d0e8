//! Step dispatch: variables, templates, states, and the control flow (`when`, `for_each`).

use std::collections::HashMap;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Map, Value};
use url::Url;

use super::error::CollectError;
use super::event::Event;
use super::inputs::{Inputs, KnownDocuments};
use super::links::Links;
use super::options::Options;
use super::outcome::Outcome;
use super::pages::{SelectorSet, matches, to_browser};
use crate::browser::{BrowserError, Crash, HostAllowList, NavigationError, NetErrorClass, Tab};
use crate::codes::{ErrorCode, ErrorKind, State};
use crate::connector::plan::{Action, Condition, Login, Plan, Section, Step, StepKind, StepRef};
use crate::template::Template;

pub(super) struct Runner<'a> {
    pub plan: &'a Plan,
    pub tab: &'a Tab,
    pub options: &'a Options,
    pub links: Links,
    pub base_url: Url,
    /// The base URL's host and the connector's `domains`: the only hosts the page reaches.
    pub allow: HostAllowList,
    pub vars: HashMap<String, Value>,
    /// Documents collected so far; the lists themselves live in `vars`.
    pub outcome: Outcome,
    /// The lists built by `extract` and `download`, in the order they were first made.
    pub list_names: Vec<String>,
    /// Lists that only drive the connector (`_…`): kept out of the outcome.
    pub hidden_lists: std::collections::HashSet<String>,
    pub state: State,
    /// The step running now, attached to any error it raises.
    pub current: Option<StepRef>,
    /// Documents collected before, and the oldest date wanted.
    pub known_documents: KnownDocuments,
    pub since: Option<chrono::NaiveDate>,
    /// The browser state kept from the last collect, until it is restored.
    pub browser_state: Option<crate::browser::BrowserState>,
    /// The whole collect's deadline, stopped while the person is waited for.
    pub deadline: super::deadline::Deadline,
    /// The frame the running block acts in (a step's own `frame` replaces it).
    pub frame: crate::browser::FramePath,
    /// The selector alternative the running step acted on last (1-based), for the trace.
    pub last_match: std::sync::Mutex<Option<(u32, String)>>,
}

impl<'a> Runner<'a> {
    pub fn new(
        plan: &'a Plan,
        tab: &'a Tab,
        inputs: Inputs,
        options: &'a Options,
        links: Links,
    ) -> Self {
        let mut vars = HashMap::new();
        let fields: Map<String, Value> = inputs
            .fields
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        vars.insert("fields".to_string(), Value::Object(fields));
        vars.insert(
            "base_url".to_string(),
            Value::String(inputs.base_url.to_string()),
        );
        let allow = allowed_hosts(plan, &inputs.base_url, &inputs.extra_domains);
        Runner {
            plan,
            tab,
            options,
            links,
            allow,
            base_url: inputs.base_url,
            vars,
            outcome: Outcome::default(),
            list_names: Vec::new(),
            hidden_lists: Default::default(),
            state: State::Preparing,
            current: None,
            known_documents: inputs.known_documents,
            since: inputs.since,
            browser_state: inputs.browser_state,
            deadline: super::deadline::Deadline::for_collect(plan, options),
            frame: Default::default(),
            last_match: Default::default(),
        }
    }

    pub async fn run_all(&mut self) -> Result<Outcome, CollectError> {
        if let Err(e) = self.tab.allow_only(self.allow.clone()).await {
            return Err(self.browser_failure(e));
        }
        self.tab.answer_dialogs(self.plan.dialogs);
        let result = self.run_sections().await;
        let blocked = self.tab.blocked();
        for (kind, n) in &blocked.by_kind {
            crate::metrics::guard_blocked(self.plan.id.as_str(), kind, *n);
        }
        if blocked.count > 0 {
            let first = self.links.redactor.redact(&blocked.first.join(" "));
            tracing::info!(
                connector = %self.plan.id,
                blocked = blocked.count,
                "requests outside the connector's domains were blocked: {first}"
            );
        }
        result.map_err(|e| self.explain_blocked(e))
    }

    /// A navigation the guard stopped leaves Chromium's error page, where the next step
    /// fails; the error then says why the browser is there.
    fn explain_blocked(&self, mut e: CollectError) -> CollectError {
        if e.url
            .as_deref()
            .is_some_and(|u| u.starts_with("chrome-error:"))
            && let Some(blocked) = self.tab.blocked().last_document
        {
            let hint = format!(
                " (the browser was kept from loading {blocked}, which is outside the \
                 connector's domains; add its host to `domains` if the site needs it)"
            );
            e.message.push_str(&self.links.redactor.redact(&hint));
        }
        e
    }

    async fn run_sections(&mut self) -> Result<Outcome, CollectError> {
        let plan = self.plan;
        let restored = self.restore_browser_state().await?;
        // A verification proves the credentials: it logs in whatever was restored.
        if restored && !self.options.login_only && self.session_still_valid().await? {
            // The kept session is still logged in: no login, no 2FA.
        } else {
            match &plan.login {
                Login::None => {}
                Login::Interactive(il) => {
                    self.set_state(State::LoggingIn, None);
                    self.current = Some(il.at.clone());
                    let start = self.render(&il.start)?;
                    self.goto(&start).await?;
                    self.interactive(il.until, il.timeout, il.instructions.as_ref())
                        .await?;
                }
                Login::Steps(steps) => {
                    self.set_state(State::LoggingIn, None);
                    self.run_block(steps).await?;
                }
            }
        }
        self.keep_browser_state().await?;
        if self.options.login_only {
            return Ok(Outcome::default());
        }
        self.set_state(State::Collecting, None);
        self.run_block(&plan.steps).await?;
        let mut outcome = std::mem::take(&mut self.outcome);
        for name in &self.list_names {
            if self.hidden_lists.contains(name) {
                continue;
            }
            let items = match self.vars.get(name) {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            };
            outcome.lists.insert(name.clone(), items);
        }
        Ok(outcome)
    }

    /// Makes `list` exist (empty if new), so that a page with no rows still yields a list.
    pub fn declare_list(&mut self, list: &str) {
        if !self.list_names.iter().any(|n| n == list) {
            self.list_names.push(list.to_string());
        }
        if !matches!(self.vars.get(list), Some(Value::Array(_))) {
            self.vars.insert(list.to_string(), Value::Array(Vec::new()));
        }
    }

    /// Appends a record to a list, which templates and `for_each` then see.
    pub fn append(&mut self, list: &str, record: Value) {
        self.declare_list(list);
        if let Some(Value::Array(items)) = self.vars.get_mut(list) {
            items.push(record);
        }
    }

    pub fn set_state(&mut self, state: State, message: Option<String>) {
        if self.state != state {
            self.state = state;
            let message = message.map(|m| self.links.redactor.redact(&m));
            let _ = self.links.events.send(Event::State { state, message });
        }
    }

    pub fn emit(&self, event: Event) {
        let _ = self.links.events.send(event);
    }

    pub(super) fn run_block<'s>(
        &'s mut self,
        steps: &'s [Step],
    ) -> BoxFuture<'s, Result<(), CollectError>> {
        Box::pin(async move {
            for step in steps {
                self.current = Some(step.at.clone());
                let frame = match &step.frame {
                    Some(f) => to_browser(f),
                    None => self.frame.clone(),
                };
                self.tab.enter_frame(frame.clone());
                if let Some(cond) = &step.when
                    && !self.condition(cond).await?
                {
                    continue;
                }
                // A block's steps act in its frame unless they name their own.
                let outer = std::mem::replace(&mut self.frame, frame);
                let result = self.run_kind(step).await;
                self.frame = outer;
                self.tab.enter_frame(self.frame.clone());
                result?;
            }
            Ok(())
        })
    }

    async fn run_kind(&mut self, step: &Step) -> Result<(), CollectError> {
        match &step.kind {
            StepKind::Block(body) => self.run_block(body).await,
            StepKind::Popup(popup) => self.follow_popup(popup).await,
            StepKind::ForEach { list, var, body } => {
                let items = match self.vars.get(list) {
                    Some(Value::Array(items)) => items.clone(),
                    // A list whose step did not run (under a `when`) is empty.
                    None => Vec::new(),
                    // JSON (an `eval`, `capture` or `fetch` result) is checked now.
                    Some(other) => return Err(self.not_a_list(list, other)),
                };
                let saved = self.vars.remove(var);
                for item in items {
                    self.vars.insert(var.clone(), item);
                    self.run_block(body).await?;
                }
                self.vars.remove(var);
                if let Some(v) = saved {
                    self.vars.insert(var.clone(), v);
                }
                Ok(())
            }
            StepKind::Action(action) => {
                self.emit(Event::Step {
                    step: step.at.clone(),
                });
                let began = std::time::Instant::now();
                let result = self.action(action).await;
                self.trace_step(step, began.elapsed(), result.as_ref().err())
                    .await;
                result
            }
        }
    }

    async fn condition(&mut self, cond: &Condition) -> Result<bool, CollectError> {
        let mut sels = SelectorSet::default();
        let page = cond.page.map(|p| &self.plan.page(p).matcher);
        if let Some(p) = page {
            sels.add_page(p);
        }
        // `present` and `absent` look where the step acts.
        let here = self.tab.frame();
        for s in [&cond.present, &cond.absent].into_iter().flatten() {
            sels.add(&here, s);
        }
        let (probes, _) = self.wait_for_pages(&sels, Duration::ZERO, |_| true).await?;
        if let Some(p) = page
            && !matches(p, &probes, &sels)
        {
            return Ok(false);
        }
        if let Some(s) = &cond.present
            && !sels.state(&probes, &here, s).is_some_and(|x| x.visible)
        {
            return Ok(false);
        }
        if let Some(s) = &cond.absent
            && sels.state(&probes, &here, s).is_some_and(|x| x.visible)
        {
            return Ok(false);
        }
        let url = sels
            .probe_of(&probes, &here)
            .map_or(probes.top().url.as_str(), |p| p.url.as_str());
        if let Some(u) = &cond.url
            && !u.is_match(url)
        {
            return Ok(false);
        }
        Ok(true)
    }

    async fn action(&mut self, action: &Action) -> Result<(), CollectError> {
        match action {
            Action::Goto(url) => {
                let url = self.render(url)?;
                self.goto(&url).await
            }
            Action::Fill(pairs) => {
                for (sel, value) in pairs {
                    let value = self.render(value)?;
                    self.fill(sel, &value).await?;
                }
                Ok(())
            }
            Action::Click(click) => {
                let sel = self.render_selector(&click.selector)?;
                let optional_default = Duration::from_secs(2);
                let timeout = click.timeout.unwrap_or(if click.optional {
                    optional_default
                } else {
                    self.options.element_timeout
                });
                self.click(&sel, timeout, click.optional).await
            }
            Action::Select(pairs) => {
                for (sel, value) in pairs {
                    let value = self.render(value)?;
                    self.select(sel, &value).await?;
                }
                Ok(())
            }
            Action::Press(press) => {
                if let Some(sel) = &press.selector {
                    let sel = self.render_selector(sel)?;
                    self.click(&sel, self.options.element_timeout, false)
                        .await?;
                }
                self.tab
                    .press_key(&press.key)
                    .await
                    .map_err(|e| self.browser_failure(e))
            }
            Action::Wait(wait) => self.wait(wait).await,
            Action::AwaitPage(ap) => self.await_page(ap).await,
            Action::AskCode(ask) => self.ask_code(ask).await,
            Action::Fail(fail) => {
                let mut message = fail.message.clone().unwrap_or_default();
                if let Some(sel) = &fail.message_from {
                    let sel = self.render_selector(sel)?;
                    if let Some(text) = self
                        .tab
                        .text_of(&sel)
                        .await
                        .map_err(|e| self.browser_failure(e))?
                    {
                        message = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    }
                }
                if message.is_empty() {
                    message = "the connector declared this a failure".into();
                }
                Err(self.error(fail.code.clone(), message).await)
            }
            Action::Extract(ex) => {
                if self.state == State::Downloading {
                    self.set_state(State::Collecting, None);
                }
                self.extract(ex).await
            }
            Action::Download(dl) => {
                self.set_state(State::Downloading, None);
                self.download(dl).await
            }
            Action::Interactive(it) => {
                self.interactive(it.until, it.timeout, it.instructions.as_ref())
                    .await
            }
            Action::Capture(c) => self.capture(c).await,
            Action::Fetch(f) => self.fetch(f).await,
            Action::ExtractJson(ex) => {
                if self.state == State::Downloading {
                    self.set_state(State::Collecting, None);
                }
                self.extract_json(ex).await
            }
            Action::Eval(ev) => {
                let js = self.render(&ev.js)?;
                let value = self
                    .tab
                    .eval(&js)
                    .await
                    .map_err(|e| self.browser_failure(e))?;
                if let Some(var) = &ev.var {
                    self.vars.insert(var.clone(), value);
                }
                Ok(())
            }
        }
    }

    /// Tells the trace, if any, that `step` ended.
    async fn trace_step(&self, step: &Step, took: Duration, error: Option<&CollectError>) {
        let Some(trace) = &self.options.trace else {
            return;
        };
        let matched = self
            .last_match
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let end = super::step_trace::StepEnd {
            step: &step.at,
            took,
            error,
            matched,
        };
        trace.0.step_ended(self.tab, end).await;
    }

    /// Renders a template from the collect's variables.
    pub fn render(&self, template: &Template) -> Result<String, CollectError> {
        let lookup = |path: &[String]| lookup(&self.vars, path);
        template
            .render(lookup)
            .map_err(|e| self.error_now(ErrorKind::ConnectorError.into(), e.to_string()))
    }

    /// Whether the step running now is in the login (where auto success applies).
    pub fn in_login(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|s| s.section == Section::Login)
    }

    pub fn lookup(&self, path: &[String]) -> Option<Value> {
        lookup(&self.vars, path)
    }

    /// An error for the current step, with the page's URL.
    pub async fn error(&self, code: ErrorCode, message: impl Into<String>) -> CollectError {
        let url = if self.tab.is_alive() {
            self.tab.url().await.ok()
        } else {
            None
        };
        let mut e = self.error_now(code, message);
        e.url = url.filter(|u| !u.is_empty() && u != "about:blank");
        e
    }

    /// An error for the current step, without asking the browser anything.
    pub fn error_now(&self, code: ErrorCode, message: impl Into<String>) -> CollectError {
        CollectError {
            code,
            message: self.links.redactor.redact(&message.into()),
            step: self.current.clone(),
            url: None,
        }
    }

    /// Maps a browser failure to the collect's vocabulary. A page that keeps reloading
    /// itself makes the in-page calls fail: that is said, rather than their error.
    pub fn browser_failure(&self, e: BrowserError) -> CollectError {
        if !matches!(e, BrowserError::Crashed)
            && let Some(runaway) = self.runaway_page()
        {
            return runaway;
        }
        self.browser_failure_as_is(e)
    }

    /// `CONNECTOR_ERROR.RUNAWAY_PAGE` when the page reloads or navigates itself without
    /// end ([`Tab::runaway`]): no step can act on it. Not `VENDOR_DOWN`: the site is up,
    /// and retrying later meets the same page; someone has to look at why it loops (a
    /// site's bug, a bot wall, or a state the connector led it into).
    pub fn runaway_page(&self) -> Option<CollectError> {
        let runaway = self.tab.runaway()?;
        Some(self.browser_failure_as_is(runaway))
    }

    fn browser_failure_as_is(&self, e: BrowserError) -> CollectError {
        let code = match &e {
            BrowserError::Crashed => {
                ErrorCode::with_detail(ErrorKind::BrowserCrashed, Crash::Browser.detail())
            }
            BrowserError::Timeout(_) => ErrorKind::Timeout.into(),
            BrowserError::Navigation(nav) => navigation_code(nav),
            BrowserError::RunawayPage { .. } => {
                ErrorCode::with_detail(ErrorKind::ConnectorError, "RUNAWAY_PAGE")
            }
            _ => ErrorKind::ConnectorError.into(),
        };
        let url = match &e {
            BrowserError::Navigation(nav) => Some(nav.url.clone()),
            BrowserError::RunawayPage { url, .. } => Some(url.clone()),
            _ => None,
        };
        let mut err = self.error_now(code, e.to_string());
        err.url = url.filter(|u| !u.is_empty());
        err
    }

    pub fn resolve_url(&self, url: &str) -> Result<Url, CollectError> {
        self.base_url.join(url).map_err(|e| {
            self.error_now(
                ErrorKind::ConnectorError.into(),
                format!("invalid URL {url:?}: {e}"),
            )
        })
    }
}

/// The code of a navigation that did not reach the site's page. A host that cannot be
/// reached, a redirect loop and a certificate the browser refuses are the site's doing (or
/// its network's): `VENDOR_DOWN`, retried later, with a detail that says which.
fn navigation_code(nav: &NavigationError) -> ErrorCode {
    let detail = match nav.error.class() {
        NetErrorClass::Unreachable | NetErrorClass::TimedOut => "UNREACHABLE",
        NetErrorClass::RedirectLoop => "REDIRECT_LOOP",
        NetErrorClass::Tls => "TLS",
        NetErrorClass::Other => "NAVIGATION_FAILED",
    };
    ErrorCode::with_detail(ErrorKind::VendorDown, detail)
}

/// The base URL's host (an override included), the connector's `domains`, and the run's
/// extra ones.
fn allowed_hosts(plan: &Plan, base_url: &Url, extra: &[String]) -> HostAllowList {
    HostAllowList::for_collect(base_url, plan.domains.iter().chain(extra))
}

fn lookup(vars: &HashMap<String, Value>, path: &[String]) -> Option<Value> {
    let mut v = vars.get(path.first()?)?;
    for key in &path[1..] {
        v = v.as_object()?.get(key)?;
    }
    Some(v.clone())
}
