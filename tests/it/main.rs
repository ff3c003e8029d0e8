//! One integration-test binary: real Chromium, the demo bank on 127.0.0.1:0, the real CLI.

mod browser;
mod check;
mod collect;
mod common;
