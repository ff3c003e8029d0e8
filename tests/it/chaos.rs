//! Crashes and abusive pages (issue 12): each case ends the collect in -1 with the code that
//! says why, and leaves no process and no directory behind (`common::collect` checks that).

use crate::common::{self, Codes};

fn connector(steps: &str) -> gleaner::connector::Plan {
    let yaml = format!(
        r#"
id: chaos
name: Chaos
base_url: https://demo-bank.example/
fields:
  login:    {{ label: Login }}
  password: {{ label: Password, secret: true }}
steps:
{steps}
"#
    );
    gleaner::connector::parse(&yaml, "chaos.yaml").expect("valid connector")
}

/// A page whose script never yields: the probe of its renderer gets no answer, and the
/// collect ends as `BROWSER_CRASHED.UNRESPONSIVE` — not `TIMEOUT` at the wait's deadline,
/// and not a `CONNECTOR_ERROR` blaming the selector.
#[tokio::test]
async fn a_script_that_never_yields_ends_in_unresponsive() {
    let site = common::demo_site().await;
    let plan =
        connector("  - goto: /hostile/spin\n  - wait: { selector: '#never', timeout: 2m }\n");
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
    assert_eq!(
        run.error().code.to_string(),
        "BROWSER_CRASHED.UNRESPONSIVE",
        "{:?}",
        run.error()
    );
    assert_eq!(run.final_state(), gleaner::codes::State::Error);
}
