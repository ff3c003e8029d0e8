//! Prometheus metrics, served at `GET /metrics` in the OpenMetrics text format.
//!
//! Counters and histograms move as collects start and end; the gauges (collects running,
//! queued, viewers, webhook events by status) are read from the collector and the store at
//! each scrape, so they can never drift from what is really there. Labels stay few:
//! connector ids, state names and error kinds, never a credential or a user.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::codes::{ErrorCode, State};

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Started {
    connector: String,
    /// `background` (nobody to ask), `watched` (a person may answer) or `verify`.
    mode: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Finished {
    connector: String,
    /// The final state's name: `done`, `error`, `disconnected`.
    state: &'static str,
    /// The error's kind (`LOGIN_FAILED`…), empty when done.
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Connector {
    connector: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventStatus {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Build {
    version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GuardBlocked {
    connector: String,
    /// What was blocked: `host`, `port`, `private_address`, `scheme`, `popup`.
    kind: &'static str,
}

/// Blocks of the off-domain guard. Collects run in the engine, which has no handle on the
/// service's [`Metrics`]: they count here, and every registry shows this one family.
static GUARD_BLOCKED: std::sync::LazyLock<Family<GuardBlocked, Counter>> =
    std::sync::LazyLock::new(Family::default);

/// Counts `n` requests (or popups) the guard kept from the network.
pub fn guard_blocked(connector: &str, kind: &'static str, n: u64) {
    GUARD_BLOCKED
        .get_or_create(&GuardBlocked {
            connector: connector.to_string(),
            kind,
        })
        .inc_by(n);
}

fn duration_histogram() -> Histogram {
    // 0.5 s … ~17 min: a quick session check up to a long interactive login.
    Histogram::new(exponential_buckets(0.5, 2.0, 12))
}

/// What the scrape reads from the running service.
#[derive(Debug, Default, Clone)]
pub struct Gauges {
    /// Collects in states 1–6 in this process.
    pub in_progress: i64,
    /// Those holding a browser slot; the others wait in the queue.
    pub running: i64,
    /// WebSocket viewers attached to them.
    pub viewers: i64,
    /// Webhook events by status: pending, delivered, dead.
    pub webhook_events: Vec<(&'static str, i64)>,
}

pub struct Metrics {
    registry: Registry,
    started: Family<Started, Counter>,
    finished: Family<Finished, Counter>,
    durations: Family<Connector, Histogram, fn() -> Histogram>,
    new_documents: Family<Connector, Counter>,
    in_progress: Gauge,
    running: Gauge,
    queued: Gauge,
    viewers: Gauge,
    webhook_events: Family<EventStatus, Gauge>,
    /// Encoding reads every metric; one scrape at a time keeps the gauges of one scrape
    /// together.
    scrape: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("gleaner");
        let started = Family::<Started, Counter>::default();
        let finished = Family::<Finished, Counter>::default();
        let durations = Family::<Connector, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram,
        );
        let new_documents = Family::<Connector, Counter>::default();
        let in_progress = Gauge::default();
        let running = Gauge::default();
        let queued = Gauge::default();
        let viewers = Gauge::default();
        let webhook_events = Family::<EventStatus, Gauge>::default();
        registry.register(
            "build",
            "The running gleaner",
            Info::new(Build {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        registry.register("collects_started", "Collects started", started.clone());
        registry.register(
            "collects_finished",
            "Collects ended, by final state and error kind",
            finished.clone(),
        );
        registry.register_with_unit(
            "collect_duration",
            "How long collects took, from start (queue included) to their end",
            prometheus_client::registry::Unit::Seconds,
            durations.clone(),
        );
        registry.register(
            "documents_new",
            "Documents collected for the first time for their credential",
            new_documents.clone(),
        );
        registry.register(
            "collects_in_progress",
            "Collects in states 1 to 6",
            in_progress.clone(),
        );
        registry.register(
            "collects_running",
            "Collects holding a browser",
            running.clone(),
        );
        registry.register(
            "collects_queued",
            "Collects waiting for a browser slot (--max-collects)",
            queued.clone(),
        );
        registry.register(
            "viewers",
            "WebSocket viewers attached to collects in progress",
            viewers.clone(),
        );
        registry.register(
            "guard_blocked",
            "Requests and popups kept from the network by the off-domain guard",
            GUARD_BLOCKED.clone(),
        );
        registry.register(
            "webhook_events",
            "Webhook events in the outbox, by status",
            webhook_events.clone(),
        );
        Metrics {
            registry,
            started,
            finished,
            durations,
            new_documents,
            in_progress,
            running,
            queued,
            viewers,
            webhook_events,
            scrape: Mutex::new(()),
        }
    }

    pub fn collect_started(&self, connector: &str, background: bool, verify: bool) {
        let mode = match (verify, background) {
            (true, _) => "verify",
            (false, true) => "background",
            (false, false) => "watched",
        };
        self.started
            .get_or_create(&Started {
                connector: connector.to_string(),
                mode,
            })
            .inc();
    }

    pub fn collect_finished(
        &self,
        connector: &str,
        state: State,
        code: Option<&ErrorCode>,
        took: Duration,
        new_documents: usize,
    ) {
        self.finished
            .get_or_create(&Finished {
                connector: connector.to_string(),
                state: state.name(),
                code: code
                    .map(|c| c.kind.as_str().to_string())
                    .unwrap_or_default(),
            })
            .inc();
        let connector = Connector {
            connector: connector.to_string(),
        };
        self.durations
            .get_or_create(&connector)
            .observe(took.as_secs_f64());
        if new_documents > 0 {
            self.new_documents
                .get_or_create(&connector)
                .inc_by(new_documents as u64);
        }
    }

    /// The metrics as OpenMetrics text, with the gauges set to `gauges`.
    pub fn encode(&self, gauges: &Gauges) -> String {
        let _one_scrape = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.in_progress.set(gauges.in_progress);
        self.running.set(gauges.running);
        self.queued
            .set((gauges.in_progress - gauges.running).max(0));
        self.viewers.set(gauges.viewers);
        for (status, n) in &gauges.webhook_events {
            self.webhook_events
                .get_or_create(&EventStatus { status })
                .set(*n);
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::ErrorKind;

    #[test]
    fn counts_and_gauges_are_encoded() {
        let m = Metrics::new();
        m.collect_started("demo-bank", false, false);
        m.collect_started("demo-bank", true, false);
        m.collect_finished("demo-bank", State::Done, None, Duration::from_secs(2), 3);
        guard_blocked("metrics-test", "popup", 2);
        let code = ErrorCode::from(ErrorKind::LoginFailed);
        m.collect_finished(
            "demo-bank",
            State::Error,
            Some(&code),
            Duration::from_millis(700),
            0,
        );
        let text = m.encode(&Gauges {
            in_progress: 3,
            running: 2,
            viewers: 1,
            webhook_events: vec![("pending", 4), ("dead", 1)],
        });
        for line in [
            r#"gleaner_collects_started_total{connector="demo-bank",mode="watched"} 1"#,
            r#"gleaner_collects_started_total{connector="demo-bank",mode="background"} 1"#,
            r#"gleaner_collects_finished_total{connector="demo-bank",state="done",code=""} 1"#,
            r#"gleaner_collects_finished_total{connector="demo-bank",state="error",code="LOGIN_FAILED"} 1"#,
            r#"gleaner_collect_duration_seconds_count{connector="demo-bank"} 2"#,
            r#"gleaner_documents_new_total{connector="demo-bank"} 3"#,
            r#"gleaner_guard_blocked_total{connector="metrics-test",kind="popup"} 2"#,
            "gleaner_collects_in_progress 3",
            "gleaner_collects_running 2",
            "gleaner_collects_queued 1",
            "gleaner_viewers 1",
            r#"gleaner_webhook_events{status="pending"} 4"#,
            r#"gleaner_webhook_events{status="dead"} 1"#,
            r#"gleaner_build_info{version=""#,
        ] {
            assert!(text.contains(line), "{line} not in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
