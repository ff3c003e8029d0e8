//! Every collect ends, and within bounds: the whole collect's deadline (the time spent
//! waiting for the person not counted), and the memory caps of the browser (V8's heap per
//! renderer, and the whole browser's processes).

use std::time::Duration;

use gleaner::codes::{ErrorKind, State};
use gleaner::collect::{self, CollectOptions};
use gleaner::engine::{Event, Inputs, Links};
use gleaner::secrets::Redactor;
use indexmap::IndexMap;
use serde_json::json;
use tokio::sync::mpsc;

use crate::common::{self, Codes};

const MIB: u64 = 1 << 20;

/// A connector of the demo site without a login, with `top` added at its top level.
fn connector(top: &str, steps: &str) -> gleaner::connector::Plan {
    common::connector(
        "limits",
        &format!("domains: [demo-bank.example]\n{top}"),
        steps,
    )
}

/// A step that would wait an hour.
const NEVER_ENDS: &str = r#"
  - goto: /login
  - wait: { selector: '#never', timeout: 1h }
"#;

#[tokio::test]
async fn a_step_that_never_ends_ends_at_the_connectors_deadline() {
    let site = common::demo_site().await;
    let plan = connector("timeout: 3s", NEVER_ENDS);
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
    assert_eq!(run.final_state(), State::Error);
    let e = run.error();
    assert_eq!(e.code.to_string(), "TIMEOUT.COLLECT_DEADLINE", "{e}");
    let step = e.step.as_ref().expect("the step it was in");
    assert_eq!(step.number, "2", "{e}");
    assert!(step.summary.starts_with("wait"), "{e}");
    assert!(e.to_string().contains("at step 2 (wait"), "{e}");
    assert!(e.message.contains("deadline of 3s"), "{e}");
}

/// The run's own deadline (`--collect-timeout`) applies to a connector without one.
#[tokio::test]
async fn a_connector_without_a_timeout_gets_the_runs_deadline() {
    let site = common::demo_site().await;
    let plan = connector("", NEVER_ENDS);
    let run = common::collect_tuned(&site, &plan, "alice", "demo", Codes::Nobody, |o| {
        o.engine.collect_timeout = Duration::from_secs(2);
    })
    .await;
    let e = run.error();
    assert_eq!(e.code.to_string(), "TIMEOUT.COLLECT_DEADLINE", "{e}");
    assert!(e.message.contains("deadline of 2s"), "{e}");
}

/// A person slower than the deadline: the clock stands still while the code is awaited,
/// so the collect still ends in 7.
#[tokio::test]
async fn waiting_for_the_person_does_not_count_against_the_deadline() {
    let _slot = common::browser_slot().await;
    let site = common::demo_site().await;
    let deadline = Duration::from_secs(3);
    let plan = connector(
        "timeout: 3s",
        r#"
  - goto: /login
  - ask_code: { kind: sms, label: 'Code reçu par SMS' }
  - extract:
      as: results
      fields:
        code: { value: '{{code}}' }
"#,
    );
    let profiles = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut options = CollectOptions::default();
    options.launch.profile_root = Some(profiles.path().to_path_buf());
    options.engine.out_dir = out.path().to_path_buf();
    let mut fields = IndexMap::new();
    fields.insert("login".to_string(), "alice".to_string());
    fields.insert("password".to_string(), "demo".to_string());
    let inputs = Inputs::new(fields, site.base_url().parse().unwrap());
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let (codes_tx, codes_rx) = mpsc::channel(1);
    let links = Links {
        events: events_tx,
        codes: Some(codes_rx),
        closes: None,
        redactor: Redactor::new(),
    };
    let person = async {
        let mut states = Vec::new();
        while let Some(ev) = events_rx.recv().await {
            match ev {
                Event::CodeRequested { .. } => {
                    // The person takes longer than the whole deadline to type the code:
                    // this delay is the scenario itself, not a wait for something to happen.
                    tokio::time::sleep(deadline + Duration::from_secs(2)).await;
                    codes_tx.send("777111".into()).await.expect("code taken");
                }
                Event::State { state, .. } => states.push(state),
                _ => {}
            }
        }
        states
    };
    let (result, states) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(
            collect::run(&plan, inputs, &options, links, &|_| {}),
            person
        )
    })
    .await
    .expect("the collect ends");
    common::assert_nothing_left(profiles.path());
    let outcome = result.unwrap_or_else(|e| panic!("the collect failed: {e}"));
    assert_eq!(outcome.lists["results"], vec![json!({ "code": "777111" })]);
    assert_eq!(states.last(), Some(&State::Done));
}

/// Steps that load a page, then wait for it to finish its work.
fn eating(path: &str) -> gleaner::connector::Plan {
    connector(
        "",
        &format!(
            r#"
  - goto: {path}
  - wait: {{ selector: '#done', timeout: 60s }}
"#
        ),
    )
}

/// A page eating memory ends its collect at the browser's cap, with the code that says
/// so; a frugal page under the same cap, run alongside, completes.
#[tokio::test]
async fn a_page_eating_memory_ends_at_the_browsers_cap() {
    let site = common::demo_site().await;
    let cap = |o: &mut CollectOptions| o.launch.browser_memory = Some(256 * MIB);
    let (eat, frugal) = (eating("/greedy/eat"), eating("/greedy/frugal"));
    let (greedy, frugal) = tokio::join!(
        common::collect_tuned(&site, &eat, "alice", "demo", Codes::Nobody, cap),
        common::collect_tuned(&site, &frugal, "alice", "demo", Codes::Nobody, cap),
    );
    let e = greedy.error();
    assert_eq!(e.code.to_string(), "BROWSER_CRASHED.OUT_OF_MEMORY", "{e}");
    assert_eq!(greedy.final_state(), State::Error);
    assert_eq!(frugal.final_state(), State::Done, "{:?}", frugal.result);
}

/// The same page with no cap on the browser, but V8's heap limited: the renderer dies of
/// V8's out-of-memory error, and the collect says so.
#[tokio::test]
async fn a_page_past_its_heap_limit_ends_out_of_memory() {
    let site = common::demo_site().await;
    let run = common::collect_tuned(
        &site,
        &eating("/greedy/eat"),
        "alice",
        "demo",
        Codes::Nobody,
        |o| {
            o.launch.browser_memory = None;
            o.launch.renderer_memory = Some(128 * MIB);
        },
    )
    .await;
    let e = run.error();
    assert_eq!(e.kind(), ErrorKind::BrowserCrashed, "{e}");
    assert_eq!(e.code.to_string(), "BROWSER_CRASHED.OUT_OF_MEMORY", "{e}");
}
