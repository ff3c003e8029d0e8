//! One collect: launch a browser, run the engine, and always clean up. The states of
//! DESIGN.md are driven from here (1 preparing, the final 7 / -1 / -2) and by the engine
//! (2 to 6).
//!
//! - [`run()`]: one collect, from the browser's launch to its close.
//! - [`mode`]: what kind of collect to start (background, verification).
//! - [`live`]: a running collect shared with its viewers (state, screen, input).
//! - [`service`]: the service's collects: one at most per credential, persisted in the
//!   store, attached to by viewers.

mod follow;
pub mod live;
pub mod mode;
mod run;
pub mod service;

pub use live::{Live, Status, Viewer};
pub use mode::CollectMode;
pub use run::{CollectOptions, run};
pub use service::{Collector, CollectorConfig, CollectorError};
