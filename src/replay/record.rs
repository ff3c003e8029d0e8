//! `gleaner record`: keeps every exchange of a live collect ([`Recorder`]), then writes the
//! fixture directory with the secrets scrubbed ([`write_fixture`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;
use url::Url;

use super::expected::Expected;
use super::fixture::{
    EXPECTED_FILE, FixtureError, FixtureSpec, HAR_FILE, Recorded, SPEC_FILE, relative_to,
    write_json, write_text,
};
use super::har_log;
use super::scrub::Scrubber;
use crate::browser::{Exchange, ExchangeSink, NetworkTap};
use crate::connector::Plan;
use crate::engine::Outcome;

/// Keeps the exchanges of a collect, in memory, until it ends.
#[derive(Debug, Default)]
pub struct Recorder {
    exchanges: Mutex<Vec<Exchange>>,
}

impl ExchangeSink for Recorder {
    fn exchange(&self, exchange: Exchange) {
        self.exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(exchange);
    }
}

impl Recorder {
    /// A recorder, and the tap that feeds it.
    pub fn start() -> (Arc<Recorder>, NetworkTap) {
        let recorder = Arc::new(Recorder::default());
        (recorder.clone(), NetworkTap::Record(recorder))
    }

    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut self.exchanges.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What a live collect was given and gave.
pub struct LiveRun<'a> {
    pub connector: &'a Plan,
    pub connector_file: &'a Path,
    pub base_url: Url,
    pub domains: Vec<String>,
    /// The real values (secrets included).
    pub fields: IndexMap<String, String>,
    /// The real one-time codes, in the order they were typed.
    pub codes: Vec<String>,
    pub outcome: &'a Outcome,
    pub elapsed: Duration,
}

/// What [`write_fixture`] wrote.
#[derive(Debug)]
pub struct Written {
    pub dir: PathBuf,
    pub exchanges: usize,
    /// The recording's size on disk.
    pub har_bytes: u64,
}

/// Writes `dir`: the scrubbed recording, the inputs with placeholders for the secrets, the
/// expected output. Nothing secret is written: every text goes through the scrubber.
pub fn write_fixture(
    dir: &Path,
    run: LiveRun<'_>,
    exchanges: Vec<Exchange>,
) -> Result<Written, FixtureError> {
    let mut scrubber = Scrubber::new();
    let mut fields = IndexMap::new();
    for (name, value) in &run.fields {
        let secret = run
            .connector
            .fields
            .get(name)
            .is_some_and(|f| f.is_secret());
        let kept = if secret && !value.is_empty() {
            scrubber.secret_field(name, value)
        } else {
            value.clone()
        };
        fields.insert(name.clone(), kept);
    }
    let codes: Vec<String> = run
        .codes
        .iter()
        .enumerate()
        .map(|(i, code)| scrubber.code(i, code))
        .collect();
    let count = exchanges.len();
    let mut log = har_log::log_of(&exchanges);
    drop(exchanges);
    scrubber.log(&mut log);
    let har = har_log::to_json(log).map_err(|e| FixtureError::Bad {
        path: dir.join(HAR_FILE),
        reason: e.to_string(),
    })?;
    // The output too: a site may show a secret back (an account number typed as a field).
    let bad = |e: serde_json::Error| FixtureError::Bad {
        path: dir.join(EXPECTED_FILE),
        reason: e.to_string(),
    };
    let expected = serde_json::to_string(&Expected::of(run.outcome)).map_err(bad)?;
    let expected: Expected = serde_json::from_str(&scrubber.text(&expected)).map_err(bad)?;
    std::fs::create_dir_all(dir).map_err(|source| FixtureError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let spec = FixtureSpec {
        connector: relative_to(run.connector_file, dir)?,
        base_url: run.base_url,
        domains: run.domains,
        fields,
        codes,
        recorded: Recorded {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            gleaner: env!("CARGO_PKG_VERSION").into(),
            live_seconds: (run.elapsed.as_secs_f64() * 100.0).round() / 100.0,
            exchanges: count,
        },
    };
    write_text(&dir.join(HAR_FILE), &har)?;
    write_json(&dir.join(SPEC_FILE), &spec)?;
    write_json(&dir.join(EXPECTED_FILE), &expected)?;
    Ok(Written {
        dir: dir.to_path_buf(),
        exchanges: count,
        har_bytes: har.len() as u64,
    })
}
