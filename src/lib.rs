//! gleaner logs into websites on a person's behalf, in real Chromium driven over CDP, and
//! collects their records and documents, following a declarative connector file per site.
//!
//! # Layout
//!
//! Data flows one way: connector → engine → browser; events flow back up through
//! `collect` to whoever started it (the CLI, or the service's API and WebSocket viewers).
//! The engine knows nothing of HTTP; the API knows nothing of CDP.
//!
//! - [`connector`]: the connector file format (serde + schemars types), loading with
//!   `file:line:col` diagnostics, and the static checks behind `gleaner check`.
//! - [`extract`]: HTML → records with `scraper`: rows, tables addressed by header text,
//!   fields, and the filters that clean values (amounts, dates, text).
//! - [`browser`]: finding and launching Chromium (one process per collect, a fresh profile,
//!   a spawned CDP handler loop, reaping), [`browser::Tab`], the page operations the
//!   engine needs (navigate, wait with deadlines, click, type, read the HTML, download),
//!   the guard that keeps a page on its connector's hosts ([`browser::HostAllowList`]),
//!   and [`browser::Screen`], the live screen (screencast, capture) and a person's input;
//!   [`browser::BrowserState`]: cookies and localStorage captured after a login and
//!   restored before the next collect's first navigation.
//! - [`engine`]: runs a connector's steps on a tab: page classification, templates, 2FA
//!   through a channel, extraction, pagination, downloads; the kept session and its
//!   `session.check` (a pass skips the login); emits [`engine::Event`]s.
//! - [`collect`]: one run for one account: launches the browser, runs the engine, drives the
//!   states (-2..7) and always cleans up; for the service, [`collect::Collector`] keeps at
//!   most one collect per credential, persists it, and shares it with viewers
//!   ([`collect::Live`]: state, screencast while watched, codes, clicks, keys, text).
//! - [`api`]: the HTTP API (axum, API keys, JSON errors, OpenAPI from the same route
//!   registrations) and the live collect's WebSocket with its typed messages.
//! - [`ui`]: the embedded UI (`/ui`): the page and assets embedded in the binary, the CSP
//!   with the allowed host origins, and the API the page calls with its session token.
//! - [`scheduler`]: per-credential schedules (interval with jitter) that start background
//!   collects; the clock and the way collects start are traits, so tests need no browser
//!   and no sleep.
//! - [`server`]: `gleaner serve`: opens the store and key, marks collects a dead process left
//!   running as INTERRUPTED, loads the connectors, serves until the shutdown future.
//! - [`codes`]: collect states (-2..7) and error codes, shared by every layer; [`advice`]:
//!   what a person can do about each final state, in English and French.
//! - [`metrics`]: Prometheus metrics for `GET /metrics` (collects by connector and outcome,
//!   durations, queue, viewers, webhook outbox).
//! - [`secrets`]: keeping secret values out of messages and logs, and encrypting them at rest
//!   (XChaCha20-Poly1305 under a master key file).
//! - [`store`]: the persistent store (sqlx, SQLite; `migrations/`): users, credentials with
//!   encrypted secrets and browser sessions, collects with their timelines, documents, and
//!   the webhook outbox.
//! - [`webhooks`]: signed webhooks (Standard Webhooks): the events written to the outbox with
//!   the changes they report, and the worker that delivers them in order per credential,
//!   with retries, dead letters and replays.

pub mod advice;
pub mod api;
pub mod browser;
pub mod codes;
pub mod collect;
pub mod connector;
pub mod duration;
pub mod engine;
pub mod extract;
pub mod metrics;
pub mod scheduler;
pub mod secrets;
pub mod server;
pub mod store;
pub mod template;
pub mod tls;
pub mod ui;
pub mod webhooks;
