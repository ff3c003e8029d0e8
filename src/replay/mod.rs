//! Record a collect once, replay it offline: `gleaner record` and `gleaner test`.
//!
//! - [`record`]: the exchanges of a live collect, kept as they end, then written with
//!   [`fixture`]'s layout: a HAR 1.2 recording ([`har_log`]), the inputs with placeholders
//!   for the secrets, the [`expected`] output.
//! - [`test_run`]: a recording replayed in real Chromium, each request answered by the
//!   [`replayer`] at the `Fetch` request stage, the output compared with the expected one.
//! - [`matching`]: which recorded exchange answers a request the replayed collect makes
//!   (method, URL with its query sorted, volatile parameters ignored, canonical bodies,
//!   identical requests consumed in order, header overlap breaking ties), and the nearest
//!   candidate when none does.
//! - [`scrub`]: secrets out of a recording before it is written: field values and one-time
//!   codes replaced by stable placeholders in every encoding, cookie and authorization
//!   values replaced.

pub mod expected;
pub mod fixture;
pub mod har_log;
pub mod matching;
pub mod record;
pub mod replayer;
pub mod scrub;
pub mod test_run;

pub use fixture::{Fixture, FixtureError, FixtureSpec};
pub use record::{LiveRun, Recorder, write_fixture};
pub use test_run::{TestOptions, TestReport, Verdict, run_fixture};

#[cfg(test)]
mod tests;
