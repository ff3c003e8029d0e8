//! One integration-test binary: real Chromium, the demo bank on 127.0.0.1:0, the real CLI,
//! the real service (SQLite file, HTTP, WebSocket).

mod api;
mod browser;
mod browser_downloads;
mod chaos;
mod check;
mod collect;
mod common;
mod contract;
mod dialogs;
mod downloads;
mod empty;
mod escape;
mod frames;
mod guard;
mod import;
mod incremental;
mod json;
mod layout;
mod limits;
mod live;
mod lockdown;
mod logs;
mod navigation;
mod popups;
mod replay;
mod sandbox;
mod scenario;
mod schedules;
mod selectors;
mod server;
mod sessions;
mod telecom;
mod traces;
mod ui;
mod webhooks;
