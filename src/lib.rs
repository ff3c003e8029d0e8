//! gleaner logs into websites on a person's behalf, in real Chromium driven over CDP, and
//! collects their records and documents, following a declarative connector file per site.
//!
//! # Layout
//!
//! Data flows one way: connector → engine → browser; events flow back up through
//! `collect` to whoever started it (the CLI, or the service's API and WebSocket viewers).
//! The engine knows nothing of HTTP; the API knows nothing of CDP. No module imports, even
//! through others, a module that imports it (`tests/it/layout.rs` reads the source and fails
//! on any cycle); a parent `mod.rs` only declares, re-exports and calls its children.
//!
//! - [`connector`]: connector files. The *raw* connector ([`connector::model`], serde +
//!   schemars types whose values keep their position, [`connector::Located`]) is what the
//!   YAML says and what the JSON Schema is made from; [`connector::check`] converts it into
//!   a [`connector::plan::Plan`] or reports every problem as `file:line:col: message`. The
//!   plan is what the engine runs: one [`connector::plan::Action`] variant per action,
//!   pages by [`connector::plan::PageId`], templates, selectors (CSS into open shadow
//!   roots, `text=`, `role=`, `>>` chains, lists of alternatives:
//!   [`connector::plan::Selector`]), frame paths, JSONPaths and regexes parsed, error
//!   codes typed, durations read, each step with its [`connector::plan::StepRef`].
//! - [`import`]: `gleaner import`, a connector skeleton from a Chrome DevTools Recorder
//!   export (its steps, selector alternatives mapped to gleaner's, typed values as fields).
//! - [`replay`]: `gleaner record` (a live collect's exchanges kept through the browser's
//!   [`browser::NetworkTap`], written as a HAR 1.2 fixture with its secrets replaced by
//!   placeholders, its inputs and its expected output) and `gleaner test` (the same
//!   connector run with every request answered from the recording, the output compared).
//! - [`error_chain`]: an error with its causes on one line, for messages whose crate hides
//!   them (reqwest, har).
//! - [`template`] (`{{fields.login}}`, parsed once, rendered per row) and [`duration`]
//!   (`500ms`, `20s`, `5m`, `7d`: one parser for connector files, the CLI and the API).
//! - [`extract`]: HTML → records with `scraper`: rows, tables addressed by header text,
//!   typed field sources ([`extract::FieldSource`]), and the filters that clean values; and
//!   JSON → records by JSONPath, with the same filters.
//! - [`browser`]: launching Chromium (one process per collect, a fresh 0700 profile, CDP
//!   over a pipe, its sandbox on and as an unprivileged user when gleaner is root, killed
//!   with gleaner, a spawned CDP handler loop, reaping), [`browser::Tab`] and the page
//!   operations the engine needs, the in-page agent's probe, the guard that keeps a page on
//!   its connector's origins ([`browser::HostAllowList`], per tab with CDP `Fetch`) and
//!   [`browser::egress`] (the proxy every connection of the browser goes through, with
//!   pinned names), renderer crashes and hangs ([`browser::Crash`]), memory caps (a cgroup
//!   or a PSS watch per browser, a V8 heap cap per renderer), named navigation errors
//!   ([`browser::NavigationError`]), JavaScript dialogs answered at once, frames (the
//!   agent run in a frame's isolated world, or in a cross-site frame's own CDP session:
//!   [`browser::FramePath`]), the tabs a page opens ([`browser::Popups`], capped), the
//!   JSON responses of the page's own requests, document downloads with the browser's
//!   cookies under a size cap ([`browser::Downloaded`]) and the browser's own downloads,
//!   [`browser::Screen`]
//!   (screencast, capture, a person's input), and [`browser::BrowserState`]: cookies and
//!   localStorage captured after a login and restored before the next collect's first
//!   navigation.
//! - [`engine`]: runs a plan on a tab: page classification (one probe per frame involved,
//!   all waiting at once), 2FA through a channel, steps in frames and popups, extraction
//!   from HTML and JSON (`capture`, `fetch`), pagination, downloads by link or by click,
//!   the kept browser state and the connector's
//!   `session.check` (a pass skips the login), under a deadline for the whole collect that
//!   stops while the person is waited for. It takes [`engine::Inputs`] and
//!   [`engine::Options`], talks through [`engine::Links`] (events out, codes and "done" in)
//!   and returns an [`engine::Outcome`].
//! - [`collect`]: one run for one account: launches the browser, runs the engine, drives the
//!   states (-2..7) and always cleans up; for the service, [`collect::Collector`] keeps at
//!   most one collect per credential, persists it, and shares it with viewers
//!   ([`collect::Live`]: state, screencast while watched, codes, clicks, keys, text).
//! - [`api`]: the HTTP API (axum, API keys, JSON errors, OpenAPI from the same route
//!   registrations), the UI tokens a backend asks for, the live collect's WebSocket with its
//!   typed messages, and the UI's own routes (the page, and the API it calls with its token).
//! - [`ui`]: the embedded UI's page and assets (in the binary), its CSP with the allowed host
//!   origins, and its languages; it knows nothing of the API's state.
//! - [`scheduler`]: per-credential schedules (interval with jitter) that start background
//!   collects; the clock and the way collects start are traits, so tests need no browser
//!   and no sleep.
//! - [`server`]: `gleaner serve`: opens the store and key, marks collects a dead process left
//!   running as INTERRUPTED, loads the connectors, serves until the shutdown future.
//! - [`codes`]: collect states (-2..7), error codes and the [`codes::ErrorInfo`] that the
//!   WebSocket, the store and the webhooks share; [`advice`]: what a person can do about
//!   each final state, in English and French.
//! - [`metrics`]: Prometheus metrics for `GET /metrics` (collects by connector and outcome,
//!   durations, queue, viewers, webhook outbox).
//! - [`secrets`]: keeping secret values out of messages and logs, and encrypting them at rest
//!   (XChaCha20-Poly1305 under a master key file).
//! - [`store`]: the persistent store (sqlx, SQLite; `migrations/`): users, credentials with
//!   encrypted secrets and browser state, UI tokens (hashed), collects with their timelines,
//!   documents, and the webhook outbox. It reports each change to a `Reporter` that the
//!   webhooks module gives it, and builds no webhook payload itself.
//! - [`webhooks`]: signed webhooks (Standard Webhooks): the typed events
//!   ([`webhooks::WebhookEvent`]) written to the outbox with the changes they report, and
//!   the worker that delivers them in order per credential, with retries, dead letters and
//!   replays.
//!
//! The demo sites that tests and `scripts/demo` run against are their own crate,
//! `crates/demo-sites`; this library does not carry them.

pub mod advice;
pub mod api;
pub mod browser;
pub mod codes;
pub mod collect;
pub mod connector;
pub mod duration;
pub mod engine;
pub mod error_chain;
pub mod extract;
pub mod import;
pub mod metrics;
pub mod replay;
pub mod scheduler;
pub mod secrets;
pub mod server;
pub mod store;
pub mod template;
pub mod tls;
pub mod trace;
pub mod ui;
pub mod webhooks;
