//! `gleaner test`: one recording replayed. The fixture's connector runs in real Chromium
//! with every request answered from the recording (nothing reaches the network), the codes
//! typed from their placeholders, and the output compared with the expected one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::expected::Expected;
use super::fixture::{EXPECTED_FILE, Fixture, FixtureError, write_json};
use super::matching::Recording;
use super::replayer::{Replayer, Stats};
use crate::browser::NetworkTap;
use crate::collect::{self, CollectOptions};
use crate::engine::{Event, Inputs, Links};
use crate::secrets::Redactor;
use crate::trace::Tracer;

/// How recordings are replayed.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// The browser and engine settings; the network tap and the documents' directory are
    /// the replay's own.
    pub collect: CollectOptions,
    /// Rewrite `expected.json` from the replay's output instead of comparing.
    pub update: bool,
    /// `--trace DIR`: each recording's trace in a directory of DIR named after it.
    pub trace: Option<PathBuf>,
}

/// How one recording's replay ended.
#[derive(Debug)]
pub struct TestReport {
    pub dir: PathBuf,
    pub verdict: Verdict,
    pub elapsed: Duration,
    /// The live collect's time, from the fixture.
    pub live_seconds: f64,
    pub stats: Stats,
    /// Recorded exchanges never served.
    pub unused: usize,
    /// The trace's `index.html`, with `--trace`.
    pub trace: Option<PathBuf>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// `--update`: the expected output was rewritten.
    Updated,
    /// Why, one line each: the collect's error (naming the step), the first request the
    /// recording could not answer with its nearest candidate, or the output's differences.
    Failed(Vec<String>),
}

/// The most output differences printed for one recording.
const MAX_DIFFERENCES: usize = 20;

/// Replays the recording in `dir`.
pub async fn run_fixture(dir: &Path, options: &TestOptions) -> Result<TestReport, FixtureError> {
    let fixture = Fixture::read(dir)?;
    let connector_path = fixture.connector_path();
    let plan = crate::connector::load(&connector_path).map_err(|e| FixtureError::Bad {
        path: connector_path.clone(),
        reason: e.to_string(),
    })?;
    let recording =
        Recording::new(&fixture.har, &plan.replay_volatile).map_err(|e| FixtureError::Bad {
            path: dir.join(super::fixture::HAR_FILE),
            reason: e.to_string(),
        })?;
    let (replayer, mut misses) = Replayer::new(recording);
    let replayer = Arc::new(replayer);
    let documents = tempfile::tempdir().map_err(|source| FixtureError::Io {
        path: std::env::temp_dir(),
        source,
    })?;

    let mut collect_options = options.collect.clone();
    collect_options.launch.network = NetworkTap::Replay(replayer.clone());
    collect_options.engine.out_dir = documents.path().to_path_buf();
    let tracer =
        match &options.trace {
            Some(root) => Some(Tracer::to_dir(&root.join(trace_name(dir))).map_err(|e| {
                FixtureError::Bad {
                    path: root.clone(),
                    reason: e.to_string(),
                }
            })?),
            None => None,
        };
    collect_options.engine.trace = tracer.as_ref().map(Tracer::hook);
    let mut inputs = Inputs::new(fixture.spec.fields.clone(), fixture.spec.base_url.clone());
    inputs.extra_domains = fixture.spec.domains.clone();

    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let (codes_tx, codes_rx) = mpsc::channel::<String>(4);
    let links = Links {
        events: events_tx,
        codes: Some(codes_rx),
        closes: None,
        redactor: Redactor::new(),
    };
    // Each code the site asks for is typed from the next placeholder; one more than were
    // recorded is answered by nothing, and the collect ends on the code's deadline.
    let mut codes = fixture.spec.codes.clone().into_iter();
    let answers = tokio::spawn(async move {
        let mut asked = 0usize;
        while let Some(ev) = events_rx.recv().await {
            if matches!(ev, Event::CodeRequested { .. }) {
                asked += 1;
                if let Some(code) = codes.next() {
                    let _ = codes_tx.send(code).await;
                }
            }
        }
        asked
    });

    let started = Instant::now();
    let collect = collect::run(&plan, inputs, &collect_options, links, &|_| {});
    // The first request the recording cannot answer ends the test: the page it would
    // have loaded never comes, and waiting for it only delays the explanation.
    let (result, miss) = tokio::select! {
        r = collect => (Some(r), None),
        Some(miss) = misses.recv() => (None, Some(miss)),
    };
    let elapsed = started.elapsed();
    let asked = answers.await.unwrap_or(0);

    let trace = match &tracer {
        Some(tracer) => tracer
            .finish(&format!("gleaner test {}", dir.display()))
            .map_err(|e| FixtureError::Bad {
                path: dir.to_path_buf(),
                reason: e.to_string(),
            })?,
        None => None,
    };

    let mut why = Vec::new();
    if let Some(miss) = miss {
        why.extend(miss.lines().map(str::to_string));
    }
    let verdict = match result {
        None => Verdict::Failed(why),
        Some(Err(e)) => {
            why.insert(0, e.to_string());
            if asked > fixture.spec.codes.len() {
                why.push(format!(
                    "the site asked for {asked} one-time codes; the recording has {}",
                    fixture.spec.codes.len()
                ));
            }
            while let Ok(miss) = misses.try_recv() {
                why.extend(miss.lines().map(str::to_string));
            }
            Verdict::Failed(why)
        }
        Some(Ok(outcome)) => {
            let got = Expected::of(&outcome);
            if options.update {
                write_json(&dir.join(EXPECTED_FILE), &got)?;
                Verdict::Updated
            } else {
                let differences = fixture.expected.differences(&got, MAX_DIFFERENCES);
                if differences.is_empty() {
                    Verdict::Passed
                } else {
                    Verdict::Failed(differences)
                }
            }
        }
    };
    Ok(TestReport {
        dir: dir.to_path_buf(),
        verdict,
        elapsed,
        live_seconds: fixture.spec.recorded.live_seconds,
        stats: replayer.stats(),
        unused: replayer.unused().len(),
        trace,
    })
}

/// `fixtures/recordings/demo-bank/2fa` → `demo-bank-2fa`: a recording's trace directory.
fn trace_name(dir: &Path) -> String {
    let parts: Vec<String> = dir
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let tail = &parts[parts.len().saturating_sub(2)..];
    if tail.is_empty() {
        "recording".into()
    } else {
        tail.join("-")
    }
}
