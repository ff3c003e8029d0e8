//! Tabs the page opens (issue 13): a `popup` step follows one and comes back, a click that
//! opens none is a clear error, a flood of popups is capped, and a popup to a host outside
//! the connector's domains reaches nothing.

use std::time::Duration;

use demo_sites::hostile::Sentinel;
use gleaner::browser::{Tab, Target};
use gleaner::codes::State;

use crate::common::{self, Codes};

fn connector(top: &str, steps: &str) -> gleaner::connector::Plan {
    common::connector("popups", top, steps)
}

const FOLLOW: &str = "  - goto: /popups/opener
  - popup:
      click: '#CLICK'
      timeout: 10s
      steps:
        - wait: { selector: '#child', timeout: 5s }
        - extract: { as: lines, rows: tr.line, fields: { label: { css: .label } } }
  - wait: { selector: '#here', timeout: 5s }
  - extract: { as: after, fields: { here: { css: '#here' } } }
";

/// Both ways a page opens a tab: a `target=_blank` link and `window.open`.
#[tokio::test]
async fn a_popup_step_follows_the_new_tab_and_comes_back() {
    let site = common::demo_site().await;
    for click in ["link", "win"] {
        let plan = connector("", &FOLLOW.replace("CLICK", click));
        let started = std::time::Instant::now();
        let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
        let outcome = run.outcome();
        eprintln!("{click}: popup followed in {:?}", started.elapsed());
        let labels: Vec<_> = outcome.lists["lines"]
            .iter()
            .map(|r| r["label"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(labels, ["Loyer", "Salaire"], "{click}");
        assert_eq!(outcome.lists["after"][0]["here"], "Comptes");
        assert_eq!(run.final_state(), State::Done);
    }
}

#[tokio::test]
async fn a_click_that_opens_no_tab_is_an_error_naming_the_step() {
    let site = common::demo_site().await;
    let plan = connector(
        "",
        &FOLLOW
            .replace("CLICK", "nothing")
            .replace("timeout: 10s", "timeout: 2s"),
    );
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
    let e = run.error();
    assert!(
        e.message.contains("opened no new tab within 2s"),
        "{}",
        e.message
    );
    let step = e.step.as_ref().expect("the step");
    assert!(step.summary.starts_with("popup '#nothing'"), "{step:?}");
}

/// A popup to a host outside `domains`: the egress proxy refuses it, nothing reaches the
/// sentinel. Control: with the sentinel's host in `domains`, the popup reaches it.
#[tokio::test]
async fn a_popup_outside_the_domains_reaches_nothing() {
    let site = common::demo_site().await;
    for listed in [false, true] {
        let sentinel = Sentinel::start("127.0.0.2").await.expect("sentinel");
        let to = format!("http://{}/", sentinel.addr());
        let top = if listed {
            format!("domains: ['{}']", sentinel.addr())
        } else {
            String::new()
        };
        let steps = format!(
            "  - goto: '/popups/opener?to={to}'
  - popup:
      click: '#away'
      timeout: 10s
      steps:
        - eval: '1'
  - wait: {{ selector: '#here', timeout: 5s }}
"
        );
        let plan = connector(&top, &steps);
        let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
        eprintln!("listed {listed}: {:?}", run.result.as_ref().map(|_| ()));
        if listed {
            assert!(
                sentinel.wait_for_contact(Duration::from_secs(5)).await,
                "control: a listed host is reached by the popup"
            );
        } else {
            assert!(
                !sentinel.wait_for_contact(Duration::from_secs(2)).await,
                "the popup reached an unlisted host: {}",
                sentinel.summary()
            );
        }
    }
}

async fn click(tab: &Tab, selector: &str) {
    match tab.target(selector).await.expect("target") {
        Target::Ready { x, y, .. } => tab.click_at(x, y).await.expect("click"),
        other => panic!("{selector}: {other:?}"),
    }
}

/// The page tabs of the browser, as Chromium counts them.
async fn page_targets(tab: &Tab) -> usize {
    use chromiumoxide::cdp::browser_protocol::target::GetTargetsParams;
    let targets = tab
        .page()
        .execute(GetTargetsParams::default())
        .await
        .expect("targets")
        .result
        .target_infos;
    targets.iter().filter(|t| t.r#type == "page").count()
}

/// 100 `window.open` in one click, then ten clicks: the popup blocker lets one through per
/// click, the cap keeps 5; the browser ends with at most 6 tabs and the page still works.
/// Control: with a cap of 100, the ten clicks leave ten popups open.
#[tokio::test]
async fn a_popup_flood_is_capped() {
    let site = common::demo_site().await;
    for cap in [5, 100] {
        let browser = common::launch_browser(|o| o.max_popups = cap).await;
        let tab = browser.browser.new_tab().await.expect("tab");
        tab.goto(
            &format!("{}popups/flood", site.base_url()),
            Duration::from_secs(10),
        )
        .await
        .expect("flood page");
        let before = page_targets(&tab).await;
        let started = std::time::Instant::now();
        for _ in 0..10 {
            click(&tab, "#flood").await;
        }
        eprintln!("10 clicks in {:?}", started.elapsed());
        let popups = tab.popups().expect("popups").clone();
        // Every popup was either kept or closed, and each closed one is gone: wait on the
        // popups' tally, with a deadline.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let expected_kept = cap.min(10);
        let tally = popups
            .wait_tally(deadline, |t| {
                t.kept + t.closed >= 10 && t.closed_gone == t.closed
            })
            .await;
        assert_eq!(tally.kept + tally.closed, 10, "{tally:?}");
        assert_eq!(tally.closed_gone, tally.closed, "{tally:?}");
        let kept = popups.live().len();
        let closed = popups.closed_over_cap();
        let tabs = page_targets(&tab).await;
        eprintln!(
            "cap {cap}: 10 clicks × 100 window.open → {kept} kept, {closed} closed, {tabs} page targets, {:?}",
            started.elapsed()
        );
        assert_eq!(kept, expected_kept);
        if cap == 5 {
            assert_eq!(closed, 5);
            assert!(tabs <= before + 5, "{tabs} tabs, {before} before");
        } else {
            assert!(tabs >= before + 10, "control: {tabs} tabs, {before} before");
        }
        // The page still answers.
        assert_eq!(tab.eval("1 + 1").await.unwrap(), serde_json::json!(2));
        browser.close().await;
    }
}

/// `check` says what is wrong with a `popup` step or a `download` by click.
#[test]
fn check_rejects_misused_popups_and_clicks() {
    let parse = |steps: &str| {
        let yaml = format!(
            "id: x\nname: x\nbase_url: https://bank.example/\nfields:\n  login: {{ label: Login }}\nsteps:\n{steps}"
        );
        match gleaner::connector::parse(&yaml, "x.yaml") {
            Ok(_) => String::new(),
            Err(e) => format!("{e:?}"),
        }
    };
    let e = parse("  - popup: { click: '#a', steps: [] }\n");
    assert!(e.contains("`popup` needs `steps`"), "{e}");
    let e = parse("  - download: { as: d, links: a.pdf, click: .dl }\n");
    assert!(e.contains("`click` goes with `rows`"), "{e}");
    let e = parse("  - download: { as: d, rows: tr, popup: true }\n");
    assert!(e.contains("`popup: true` goes with `click`"), "{e}");
    let ok = parse(
        "  - popup: { click: '#a', timeout: 3s, steps: [ { extract: { as: l, rows: tr, fields: { a: { css: td } } } } ] }\n  - download: { as: d, rows: tr, click: .dl, popup: true, paginate: { next: a.next } }\n",
    );
    assert_eq!(ok, "");
}
