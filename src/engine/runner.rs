//! Step dispatch: variables, templates, states, and the control flow (`when`, `for_each`).

use std::collections::HashMap;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Map, Value};
use url::Url;

use super::error::{CollectError, StepRef};
use super::pages::{Regexes, SelectorSet, matches};
use super::{Event, Inputs, Io, Options, Outcome};
use crate::browser::{BrowserError, HostAllowList, Tab};
use crate::codes::{ErrorCode, ErrorKind, State};
use crate::connector::template::Template;
use crate::connector::{Condition, Connector, Sp, Step};

pub(super) struct Runner<'a> {
    pub connector: &'a Connector,
    pub tab: &'a Tab,
    pub options: &'a Options,
    pub io: Io,
    pub base_url: Url,
    /// The base URL's host and the connector's `domains`: the only hosts the page reaches.
    pub allow: HostAllowList,
    pub vars: HashMap<String, Value>,
    /// Documents collected so far; the lists themselves live in `vars`.
    pub outcome: Outcome,
    /// The lists built by `extract` and `download`, in the order they were first made.
    pub list_names: Vec<String>,
    pub regexes: Regexes,
    pub state: State,
    /// The step running now, attached to any error it raises.
    pub current: Option<StepRef>,
    /// Documents collected before (`id:`/`sha256:` keys) and the oldest date wanted.
    pub known_documents: std::collections::HashSet<String>,
    pub since: Option<String>,
    /// The session kept from the last collect, until it is restored.
    pub session: Option<crate::browser::BrowserSession>,
}

impl<'a> Runner<'a> {
    pub fn new(
        connector: &'a Connector,
        tab: &'a Tab,
        inputs: Inputs,
        options: &'a Options,
        io: Io,
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
        let allow = allowed_hosts(connector, &inputs.base_url);
        Runner {
            connector,
            tab,
            options,
            io,
            allow,
            base_url: inputs.base_url,
            vars,
            outcome: Outcome::default(),
            list_names: Vec::new(),
            regexes: Regexes::default(),
            state: State::Preparing,
            current: None,
            known_documents: inputs.known_documents,
            since: inputs.since,
            session: inputs.session,
        }
    }

    pub async fn run_all(&mut self) -> Result<Outcome, CollectError> {
        if let Err(e) = self.tab.allow_only(self.allow.clone()).await {
            return Err(self.browser_failure(e));
        }
        let result = self.run_sections().await;
        let blocked = self.tab.blocked();
        if blocked.count > 0 {
            let first = self.io.redactor.redact(&blocked.first.join(" "));
            tracing::info!(
                connector = %self.connector.id.value,
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
            e.message.push_str(&self.io.redactor.redact(&hint));
        }
        e
    }

    async fn run_sections(&mut self) -> Result<Outcome, CollectError> {
        let restored = self.restore_session().await?;
        if restored && self.session_still_valid().await? {
            // The kept session is still logged in: no login, no 2FA.
        } else if let Some(il) = &self.connector.interactive_login {
            self.set_state(State::LoggingIn, None);
            self.current = Some(StepRef {
                section: "login",
                number: "0".into(),
                summary: "interactive_login".into(),
                line: il.pos.line,
            });
            let start = self.render(&il.start)?;
            self.goto(&start).await?;
            let timeout = il.timeout.map(|t| t.get());
            self.interactive(&il.until, timeout, il.instructions.as_deref())
                .await?;
        } else if !self.connector.login.is_empty() {
            self.set_state(State::LoggingIn, None);
            self.run_block(&self.connector.login, "login", "").await?;
        }
        self.keep_session().await?;
        if self.options.login_only {
            return Ok(Outcome::default());
        }
        self.set_state(State::Collecting, None);
        self.run_block(&self.connector.steps, "steps", "").await?;
        let mut outcome = std::mem::take(&mut self.outcome);
        for name in &self.list_names {
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
            let message = message.map(|m| self.io.redactor.redact(&m));
            let _ = self.io.events.send(Event::State { state, message });
        }
    }

    pub fn emit(&self, event: Event) {
        let _ = self.io.events.send(event);
    }

    fn run_block<'s>(
        &'s mut self,
        steps: &'s [Sp<Step>],
        section: &'static str,
        prefix: &'s str,
    ) -> BoxFuture<'s, Result<(), CollectError>> {
        Box::pin(async move {
            for (i, step) in steps.iter().enumerate() {
                let number = if prefix.is_empty() {
                    (i + 1).to_string()
                } else {
                    format!("{prefix}.{}", i + 1)
                };
                let step_ref = StepRef {
                    section,
                    number: number.clone(),
                    summary: summary(step),
                    line: step.pos.line,
                };
                self.current = Some(step_ref.clone());
                if let Some(cond) = &step.when
                    && !self
                        .condition(cond)
                        .await
                        .map_err(|e| self.browser_failure(e))?
                {
                    continue;
                }
                if let Some(block) = &step.steps {
                    match &step.for_each {
                        Some(fe) => {
                            let items = match self.vars.get(fe.list.as_str()) {
                                Some(Value::Array(items)) => items.clone(),
                                _ => Vec::new(),
                            };
                            let saved = self.vars.remove(fe.var.as_str());
                            for item in items {
                                self.vars.insert(fe.var.value.clone(), item);
                                self.run_block(block, section, &number).await?;
                            }
                            self.vars.remove(fe.var.as_str());
                            if let Some(v) = saved {
                                self.vars.insert(fe.var.value.clone(), v);
                            }
                        }
                        None => self.run_block(block, section, &number).await?,
                    }
                    continue;
                }
                self.emit(Event::Step { step: step_ref });
                self.action(step).await?;
            }
            Ok(())
        })
    }

    async fn condition(&mut self, cond: &Condition) -> Result<bool, BrowserError> {
        let mut sels = SelectorSet::default();
        let page = cond
            .page
            .as_ref()
            .and_then(|p| self.connector.pages.get(p.as_str()));
        if let Some(p) = page {
            sels.add_page(p);
        }
        for s in [&cond.present, &cond.absent].into_iter().flatten() {
            sels.add(s);
        }
        let probe = self
            .tab
            .probe(&sels.list, None, Duration::ZERO, None)
            .await?;
        if let Some(p) = page
            && !matches(p, &probe, &sels, &mut self.regexes)
        {
            return Ok(false);
        }
        if let Some(s) = &cond.present
            && !sels.state(&probe, s).is_some_and(|x| x.visible)
        {
            return Ok(false);
        }
        if let Some(s) = &cond.absent
            && sels.state(&probe, s).is_some_and(|x| x.visible)
        {
            return Ok(false);
        }
        if let Some(u) = &cond.url
            && !self.regexes.is_match(u, &probe.url)
        {
            return Ok(false);
        }
        Ok(true)
    }

    async fn action(&mut self, step: &Step) -> Result<(), CollectError> {
        if let Some(url) = &step.goto {
            let url = self.render(url)?;
            return self.goto(&url).await;
        }
        if let Some(map) = &step.fill {
            for (sel, value) in map.iter() {
                let value = self.render(value)?;
                self.fill(sel, &value).await?;
            }
            return Ok(());
        }
        if let Some(click) = &step.click {
            let o = click.options();
            let sel = self.render(&o.selector)?;
            let optional_default = Duration::from_secs(2);
            let timeout = o.timeout.map(|t| t.get()).unwrap_or(if o.optional {
                optional_default
            } else {
                self.options.element_timeout
            });
            return self.click(&sel, timeout, o.optional).await;
        }
        if let Some(map) = &step.select {
            for (sel, value) in map.iter() {
                let value = self.render(value)?;
                self.select(sel, &value).await?;
            }
            return Ok(());
        }
        if let Some(press) = &step.press {
            let o = press.options();
            if let Some(sel) = &o.selector {
                let sel = self.render(sel)?;
                self.click(&sel, self.options.element_timeout, false)
                    .await?;
            }
            return self
                .tab
                .press_key(&o.key)
                .await
                .map_err(|e| self.browser_failure(e));
        }
        if let Some(wait) = &step.wait {
            return self.wait(wait).await;
        }
        if let Some(ap) = &step.await_page {
            return self.await_page(ap).await;
        }
        if let Some(ask) = &step.ask_code {
            return self.ask_code(ask).await;
        }
        if let Some(fail) = &step.fail {
            let mut message = fail.message.clone().unwrap_or_default();
            if let Some(sel) = &fail.message_from {
                let sel = self.render(sel)?;
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
            let code: ErrorCode = fail
                .code
                .parse()
                .unwrap_or(ErrorCode::new(ErrorKind::ConnectorError));
            return Err(self.error(code, message).await);
        }
        if let Some(ex) = &step.extract {
            if self.state == State::Downloading {
                self.set_state(State::Collecting, None);
            }
            return self.extract(ex).await;
        }
        if let Some(dl) = &step.download {
            self.set_state(State::Downloading, None);
            return self.download(dl).await;
        }
        if let Some(it) = &step.interactive {
            let timeout = it.timeout.map(|t| t.get());
            return self
                .interactive(&it.until, timeout, it.instructions.as_deref())
                .await;
        }
        if let Some(ev) = &step.eval {
            let o = ev.options();
            let js = self.render(&o.js)?;
            let value = self
                .tab
                .eval(&js)
                .await
                .map_err(|e| self.browser_failure(e))?;
            if let Some(var) = &o.var {
                self.vars.insert(var.value.clone(), value);
            }
            return Ok(());
        }
        Err(self
            .error(ErrorKind::ConnectorError.into(), "this step has no action")
            .await)
    }

    /// Renders a template from the collect's variables.
    pub fn render(&self, text: &Sp<String>) -> Result<String, CollectError> {
        let lookup = |path: &[String]| lookup(&self.vars, path);
        Template::parse(text)
            .and_then(|t| t.render(lookup))
            .map_err(|m| self.error_now(ErrorKind::ConnectorError.into(), m))
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
            message: self.io.redactor.redact(&message.into()),
            step: self.current.clone(),
            url: None,
        }
    }

    /// Maps a browser failure to the collect's vocabulary.
    pub fn browser_failure(&self, e: BrowserError) -> CollectError {
        let kind = match e {
            BrowserError::Crashed => ErrorKind::BrowserCrashed,
            BrowserError::Timeout(_) => ErrorKind::Timeout,
            _ => ErrorKind::ConnectorError,
        };
        self.error_now(kind.into(), e.to_string())
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

/// The base URL's host (an override included) and the connector's `domains`.
fn allowed_hosts(connector: &Connector, base_url: &Url) -> HostAllowList {
    let mut allow = HostAllowList::new(connector.domains.iter().map(|d| d.value.as_str()));
    if let Some(host) = base_url.host_str() {
        allow.add(host);
    }
    allow
}

fn lookup(vars: &HashMap<String, Value>, path: &[String]) -> Option<Value> {
    let mut v = vars.get(path.first()?)?;
    for key in &path[1..] {
        v = v.as_object()?.get(key)?;
    }
    Some(v.clone())
}

pub(super) fn human(d: Duration) -> String {
    if !d.as_millis().is_multiple_of(1000) {
        format!("{}ms", d.as_millis())
    } else if d.as_secs() >= 60 && d.as_secs().is_multiple_of(60) {
        format!("{}m", d.as_secs() / 60)
    } else {
        format!("{}s", d.as_secs())
    }
}

/// A step as its author wrote it, short, without values (which may be secret).
fn summary(step: &Step) -> String {
    let q = |s: &str| format!("'{s}'");
    if let Some(u) = &step.goto {
        return format!("goto {}", q(u));
    }
    if let Some(m) = &step.fill {
        return format!(
            "fill {}",
            m.keys().map(|k| q(k)).collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(c) = &step.click {
        return format!("click {}", q(&c.options().selector));
    }
    if let Some(m) = &step.select {
        return format!(
            "select {}",
            m.keys().map(|k| q(k)).collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(p) = &step.press {
        return format!("press {}", p.options().key);
    }
    if let Some(w) = &step.wait {
        if let Some(s) = &w.selector {
            return format!("wait for {}", q(s));
        }
        if let Some(s) = &w.gone {
            return format!("wait until {} is gone", q(s));
        }
        if let Some(u) = &w.url {
            return format!("wait for URL {}", q(u));
        }
    }
    if let Some(a) = &step.await_page {
        return format!(
            "await_page {}",
            a.one_of
                .iter()
                .map(|p| p.value.clone())
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    if let Some(a) = &step.ask_code {
        return format!("ask_code {}", a.kind.as_str());
    }
    if let Some(f) = &step.fail {
        return format!("fail {}", f.code.value);
    }
    if let Some(e) = &step.extract {
        return format!("extract {}", e.var.value);
    }
    if let Some(d) = &step.download {
        return format!("download {}", d.var.value);
    }
    if step.eval.is_some() {
        return "eval".into();
    }
    if let Some(it) = &step.interactive {
        return format!("interactive until {}", it.until.value);
    }
    if let Some(fe) = &step.for_each {
        return format!("for_each {} in {}", fe.var.value, fe.list.value);
    }
    "when".into()
}
