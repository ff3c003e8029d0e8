//! JSON sources (issue 13, item 6): `capture` keeps what the page's own requests received,
//! `fetch` calls the site's API with the page's session, `extract` with `from` reads records
//! from JSON, and an `eval` result is a value templates and `for_each` use.

use std::time::{Duration, Instant};

use gleaner::codes::State;
use serde_json::json;

use crate::common::{self, Codes};

fn connector(steps: &str) -> gleaner::connector::Plan {
    common::connector("json", "", steps)
}

async fn run(steps: &str) -> common::Run {
    let site = common::demo_site().await;
    common::collect(&site, &connector(steps), "alice", "demo", Codes::Nobody).await
}

const USAGE_EXTRACT: &str = "  - extract:
      as: usage
      from: usage_json
      rows: '$.months[*]'
      fields:
        month:    { path: '$.month' }
        kwh:      { path: '$.kwh', filters: [{ decimal: { sep: ',' } }] }
        customer: { value: '{{usage_json.customer.name}}' }
";

/// The page fetched `/json/api/usage` on load and drew it (the step waits for the drawing):
/// the response came before the `capture` step ran, and `capture` still has it.
#[tokio::test]
async fn capture_keeps_a_response_that_came_before_the_step() {
    let run = run(&format!(
        "  - goto: /json/usage
  - wait: {{ selector: '#status[data-done]', timeout: 5s }}
  - capture: {{ url: '/json/api/usage$', as: usage_json, timeout: 2s }}
{USAGE_EXTRACT}"
    ))
    .await;
    assert_eq!(run.final_state(), State::Done);
    assert_eq!(
        json!(run.outcome().lists["usage"]),
        json!([
            {"month": "2026-09", "kwh": 312.5, "customer": "Alice Martin"},
            {"month": "2026-10", "kwh": 287.0, "customer": "Alice Martin"},
            {"month": "2026-11", "kwh": 301, "customer": "Alice Martin"}
        ])
    );
    assert!(
        !run.outcome().lists.contains_key("usage_json"),
        "a captured value is not output"
    );
}

/// The request starts after the step that waits for it: `capture` waits for the response.
#[tokio::test]
async fn capture_waits_for_a_response_that_comes_later() {
    let run = run(&format!(
        "  - goto: /json/later
  - click: '#load'
  - capture: {{ url: '/json/api/usage$', as: usage_json, timeout: 5s }}
{USAGE_EXTRACT}"
    ))
    .await;
    assert_eq!(run.outcome().lists["usage"].len(), 3);
}

/// A response never requested: the collect fails at its deadline, naming the step and
/// the pattern, and what did come.
#[tokio::test]
async fn a_capture_that_never_comes_fails_within_its_deadline() {
    let started = Instant::now();
    let run = run("  - goto: /json/usage
  - wait: { selector: '#status[data-done]', timeout: 5s }
  - capture: { url: '/json/api/never', as: never, timeout: 1s }
")
    .await;
    let err = run.error();
    eprintln!("{err} after {:?}", started.elapsed());
    assert_eq!(err.code.to_string(), "CONNECTOR_ERROR");
    assert!(
        err.message
            .contains(r#"no response whose URL matches "/json/api/never" came"#),
        "{err}"
    );
    assert!(err.message.contains("came within 1s"), "{err}");
    assert!(
        err.message.contains("/json/api/usage"),
        "what came is named: {err}"
    );
    let step = err.step.as_ref().expect("the step is named");
    assert_eq!(step.number, "3");
    assert!(step.summary.starts_with("capture never"), "{step:?}");
    // The default wait is 10s: this one gave up after its own 1s.
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
}

/// One capture takes a response: a second capture of the same URL waits for a new one.
#[tokio::test]
async fn a_response_is_captured_once() {
    let run = run("  - goto: /json/usage
  - wait: { selector: '#status[data-done]', timeout: 5s }
  - capture: { url: '/json/api/usage$', as: first, timeout: 2s }
  - capture: { url: '/json/api/usage$', as: second, timeout: 1s }
")
    .await;
    let err = run.error();
    assert_eq!(
        err.step.as_ref().map(|s| s.number.as_str()),
        Some("4"),
        "{err}"
    );
}

/// `fetch` runs in the page: the session cookie (HttpOnly, set by `/json/login`) goes
/// with it, so the API answers; the URL is relative to the page, templates render in it.
#[tokio::test]
async fn fetch_get_uses_the_pages_session() {
    let run = run("  - goto: /json/login
  - eval: { js: '2026', as: year }
  - fetch: { url: 'api/invoices?year={{year}}', as: invoices_json }
  - extract:
      as: invoices
      from: invoices_json
      rows: '$.invoices[?@.paid == true]'
      fields:
        id:     { path: '$.id' }
        amount: { path: '$.amount', filters: [{ decimal: { sep: ',' } }] }
")
    .await;
    assert_eq!(
        json!(run.outcome().lists["invoices"]),
        json!([{"id": "F-2026-01", "amount": 42.5}])
    );
}

/// The control: the same request from a page without the session is refused by the
/// site, and the error names the step and the URL without its query.
#[tokio::test]
async fn fetch_without_the_session_is_refused_by_the_site() {
    let run = run("  - goto: /json/home
  - fetch: { url: '/json/api/invoices?year=2026', as: invoices_json }
")
    .await;
    let err = run.error();
    eprintln!("{err}");
    assert_eq!(err.code.to_string(), "CONNECTOR_ERROR");
    assert!(err.message.contains("GET http://"), "{err}");
    assert!(
        err.message.contains("/json/api/invoices answered HTTP 401"),
        "{err}"
    );
    assert!(!err.message.contains("year="), "no query in errors: {err}");
    assert_eq!(err.step.as_ref().map(|s| s.number.as_str()), Some("2"));
}

/// POST with a JSON body (a lone `{{year}}` stays a number) and a header from the page.
#[tokio::test]
async fn fetch_post_sends_a_json_body_and_headers() {
    let run = run("  - goto: /json/login
  - eval: { js: \"document.querySelector('meta[name=csrf]').content\", as: csrf }
  - eval: { js: '2026', as: year }
  - fetch:
      url: /json/api/search
      method: POST
      json: { year: '{{year}}', filters: [ 'paid' ] }
      headers: { X-Csrf-Token: '{{csrf}}' }
      as: found
  - extract: { as: results, from: found, rows: '$.results[*]', fields: { id: { path: '$.id' } } }
")
    .await;
    assert_eq!(
        json!(run.outcome().lists["results"]),
        json!([{"id": "S-2026-7"}])
    );
}

#[tokio::test]
async fn fetch_of_a_failing_or_non_json_answer_is_a_named_error() {
    let broken = run("  - goto: /json/login
  - fetch: { url: /json/api/broken, as: x }
")
    .await;
    let err = broken.error();
    assert_eq!(err.code.to_string(), "CONNECTOR_ERROR");
    assert!(
        err.message.contains("/json/api/broken answered HTTP 500"),
        "{err}"
    );

    let html = run("  - goto: /json/login
  - fetch: { url: /json/api/html, as: x }
")
    .await;
    let err = html.error();
    assert_eq!(err.code.to_string(), "CONNECTOR_ERROR");
    assert!(
        err.message.contains("/json/api/html answered \"text/html"),
        "{err}"
    );
    assert!(err.message.contains("not JSON"), "{err}");
}

/// A captured HTML document is not JSON either.
#[tokio::test]
async fn capturing_a_non_json_response_is_a_named_error() {
    let run = run("  - goto: /json/api/html
  - capture: { url: '/json/api/html', as: x, timeout: 2s }
")
    .await;
    let err = run.error();
    assert!(err.message.contains("not JSON"), "{err}");
}

/// An `eval` result is a list `for_each` iterates, and its items are records templates
/// and `extract` read.
#[tokio::test]
async fn for_each_iterates_an_eval_result() {
    let run = run("  - goto: /json/home
  - eval: { js: \"[{id: 'a', n: 1}, {id: 'b', n: 2}]\", as: items }
  - for_each: { in: items, as: item }
    steps:
      - extract: { as: seen, from: item, fields: { id: { path: '$.id' }, label: { value: 'item {{item.id}} #{{item.n}}' } } }
")
    .await;
    assert_eq!(
        json!(run.outcome().lists["seen"]),
        json!([{"id": "a", "label": "item a #1"}, {"id": "b", "label": "item b #2"}])
    );
}

/// An `eval` result that is not an array: `for_each` fails when it runs, saying so.
#[tokio::test]
async fn for_each_over_a_json_object_fails_when_it_runs() {
    let run = run("  - goto: /json/home
  - eval: { js: \"({a: 1})\", as: items }
  - for_each: { in: items, as: item }
    steps:
      - goto: '/json/{{item.a}}'
")
    .await;
    let err = run.error();
    assert!(
        err.message
            .contains("for_each needs a list, and `items` is an object"),
        "{err}"
    );
}

/// A JSONPath that selects no row fails the collect, as an HTML `rows` does.
#[tokio::test]
async fn json_rows_that_select_nothing_fail_unless_allowed() {
    let steps = "  - goto: /json/home
  - eval: { js: \"({list: []})\", as: data }
  - extract: { as: things, from: data, rows: '$.list[*]', fields: { id: { path: '$.id' } } }
";
    let err = run(steps).await.error().clone();
    assert!(
        err.message.contains(r#"rows "$.list[*]" selected nothing"#),
        "{err}"
    );
    let allowed = run(&steps.replace("rows:", "allow_empty: true, rows:")).await;
    assert_eq!(allowed.final_state(), State::Done);
}

fn check_error(steps: &str) -> String {
    let yaml =
        format!("id: json\nname: json\nbase_url: https://demo-bank.example/\nsteps:\n{steps}");
    gleaner::connector::parse(&yaml, "json.yaml")
        .unwrap_err()
        .to_string()
}

#[test]
fn check_refuses_a_bad_jsonpath_at_its_position() {
    let err = check_error(
        "  - eval: { js: '1', as: data }\n  - extract: { as: x, from: data, rows: '$.months[*', fields: { a: { path: '$.a' } } }\n",
    );
    assert!(err.contains("json.yaml:6:"), "{err}");
    assert!(err.contains(r#"invalid JSONPath "$.months[*""#), "{err}");
}

#[test]
fn check_refuses_for_each_over_a_record() {
    let err = check_error(
        "  - extract: { as: accounts, rows: tr, fields: { id: { text: true } } }\n  - for_each: { in: accounts, as: account }\n    steps:\n      - for_each: { in: account, as: x }\n        steps:\n          - goto: /x\n",
    );
    assert!(err.contains("json.yaml:8:"), "{err}");
    assert!(
        err.contains("`account` is a single record, not a list"),
        "{err}"
    );
}

#[test]
fn check_refuses_a_field_read_from_a_list_and_html_keys_with_from() {
    let err = check_error(
        "  - extract: { as: accounts, rows: tr, fields: { id: { text: true } } }\n  - goto: '/a/{{accounts.id}}'\n",
    );
    assert!(err.contains("`accounts` is a list"), "{err}");
    let err = check_error(
        "  - eval: { js: '1', as: data }\n  - extract: { as: x, from: data, fields: { a: { css: td } } }\n",
    );
    assert!(err.contains("`css` reads HTML"), "{err}");
    let err = check_error("  - extract: { as: x, fields: { a: { path: '$.a' } } }\n");
    assert!(err.contains("it needs `from`"), "{err}");
    let err =
        check_error("  - extract: { as: x, from: nothing, fields: { a: { path: '$.a' } } }\n");
    assert!(err.contains("undefined variable `nothing`"), "{err}");
}

/// Templates may read any path of a JSON value (checked when they render).
#[test]
fn check_accepts_paths_into_json_values() {
    let yaml = "id: json\nname: json\nbase_url: https://demo-bank.example/\nsteps:\n  - capture: { url: '/api/me', as: me }\n  - goto: '/users/{{me.user.id}}'\n  - fetch: { url: '/api/x', as: x }\n  - for_each: { in: x, as: item }\n    steps:\n      - goto: '/items/{{item.id}}'\n";
    gleaner::connector::parse(yaml, "json.yaml").expect("valid");
}
