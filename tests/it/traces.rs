//! Traces (issue 14, part 4): `--trace DIR` keeps each step as the browser saw it, with no
//! secret in any file, and its `index.html` opens from disk in real Chromium on the failing
//! step, loading nothing from the network.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use gleaner::trace::Tracer;
use serde_json::Value;

use crate::common::{self, Codes};
use crate::logs::{CANARY_CODE, CANARY_PASSWORD, canary_forms, canary_site};

/// Runs the demo bank's collect with alice's canary password and code, traced to `dir`.
async fn traced_run(dir: &Path, connector: &gleaner::connector::Plan) -> (common::Run, Tracer) {
    let site = canary_site(dir).await;
    let tracer = Tracer::to_dir(&dir.join("trace")).expect("trace dir");
    let hook = tracer.hook();
    let run = common::collect_tuned(
        &site,
        connector,
        "alice",
        CANARY_PASSWORD,
        Codes::Fixed(CANARY_CODE.into()),
        |o| o.engine.trace = Some(hook),
    )
    .await;
    tracer.finish("demo bank").expect("trace written");
    (run, tracer)
}

fn trace_json(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("trace/trace.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["steps"].as_array().unwrap().clone()
}

fn step<'a>(steps: &'a [Value], summary: &str) -> &'a Value {
    steps
        .iter()
        .find(|s| {
            s["step"]["summary"]
                .as_str()
                .is_some_and(|x| x.starts_with(summary))
        })
        .unwrap_or_else(|| panic!("no step {summary:?} in the trace"))
}

/// How many pixels of the screenshot are the mask's magenta.
fn magenta_pixels(jpeg: &[u8]) -> usize {
    let img = image::load_from_memory(jpeg).expect("a JPEG").to_rgb8();
    img.pixels()
        .filter(|p| p[0] > 200 && p[1] < 60 && p[2] > 200)
        .count()
}

#[tokio::test]
async fn a_traced_collect_keeps_each_step_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (run, _tracer) = traced_run(dir.path(), &common::demo_connector()).await;
    assert_eq!(run.final_state(), gleaner::codes::State::Done);
    let steps = trace_json(dir.path());
    let actions = run
        .events
        .iter()
        .filter(|e| matches!(e, gleaner::engine::Event::Step { .. }))
        .count();
    assert_eq!(steps.len(), actions, "one entry per step run");
    let trace = dir.path().join("trace");
    for s in &steps {
        let shot = s["screenshot_file"]
            .as_str()
            .unwrap_or_else(|| panic!("{s}"));
        assert!(s["html_file"].is_string(), "{s}");
        assert!(trace.join(shot).metadata().unwrap().len() > 1000, "{s}");
        let html = std::fs::read_to_string(trace.join(s["html_file"].as_str().unwrap())).unwrap();
        assert!(html.contains("<html"), "{s}");
        assert!(
            s["url"].as_str().unwrap().starts_with("http://127.0.0.1"),
            "{s}"
        );
        assert!(s["took_ms"].is_u64(), "{s}");
        assert!(s["error"].is_null(), "{s}");
    }
    let goto = step(&steps, "goto");
    let requests = goto["requests"].as_array().unwrap();
    assert!(
        requests.iter().any(|q| q["resource_type"] == "Document"
            && q["method"] == "GET"
            && q["status"] == 200
            && q["url"].as_str().unwrap().ends_with("/login")),
        "{requests:?}"
    );
    let submit = step(&steps, "click '#submit'");
    assert_eq!(submit["matched"]["alternative"], 1, "{submit}");
    assert_eq!(submit["matched"]["selector"], "#submit", "{submit}");

    // The inputs that hold the password and the code are covered in the screenshots; the
    // control: the login page before anything is typed shows no mask.
    let jpeg =
        |s: &Value| std::fs::read(trace.join(s["screenshot_file"].as_str().unwrap())).unwrap();
    assert_eq!(magenta_pixels(&jpeg(goto)), 0);
    let filled = step(&steps, "fill '#login'");
    assert!(
        magenta_pixels(&jpeg(filled)) > 500,
        "the password input is masked"
    );
    let code = step(&steps, "fill '#otp'");
    assert!(
        magenta_pixels(&jpeg(code)) > 500,
        "the code input is masked"
    );

    let mut files = 0;
    for entry in std::fs::read_dir(&trace).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for (what, form) in canary_forms() {
            assert!(!text.contains(&form), "{what} in {}", path.display());
        }
        files += 1;
    }
    assert!(files >= steps.len() * 2 + 2, "{files} files");
    let index = std::fs::read_to_string(trace.join("index.html")).unwrap();
    assert!(index.contains(gleaner::trace::CSP));
}

/// A selector changed so that a step fails: the report, opened from disk, shows that step
/// and its screenshot, and the buttons and keys move through the steps.
#[tokio::test]
async fn the_report_opens_from_disk_on_the_failing_step_and_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broken = common::demo_connector_with(
        "goto: /messages",
        "goto: /messages\n  - click: { selector: '#no-such-button', timeout: 1s }",
    );
    let (run, _tracer) = traced_run(dir.path(), &broken).await;
    let err = run.error();
    assert!(err.to_string().contains("#no-such-button"), "{err}");
    let steps = trace_json(dir.path());
    let failing = steps.len() - 1;
    assert!(
        steps[failing]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("#no-such-button")
    );
    assert!(steps[..failing].iter().all(|s| s["error"].is_null()));
    let trace = dir.path().join("trace");
    let data_uri = |i: usize| {
        let jpg = std::fs::read(trace.join(steps[i]["screenshot_file"].as_str().unwrap())).unwrap();
        format!(
            "data:image/jpeg;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(jpg)
        )
    };

    let browser = common::launch_browser(|_| {}).await;
    let tab = browser.browser.new_tab().await.expect("tab");
    let activity = tab.watch_activity().await.expect("network listener");
    // The trace is private to gleaner's user; Chromium may run as another (nobody, when
    // the tests run as root): the person who opens the report owns it.
    use std::os::unix::fs::PermissionsExt;
    for p in [dir.path(), &trace, &trace.join("index.html")] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let url = url::Url::from_file_path(trace.join("index.html")).unwrap();
    tab.goto(url.as_str(), Duration::from_secs(10))
        .await
        .expect("opens from disk");
    let shown = async |tab: &gleaner::browser::Tab| {
        tab.eval(
            "({ selected: document.querySelector('#steps li.selected').dataset.index, \
               marked: document.querySelectorAll('#steps li.failed').length, \
               failed: document.getElementById('detail').dataset.failed, \
               error: document.getElementById('error').textContent, \
               src: document.getElementById('shot').src })",
        )
        .await
        .unwrap()
    };
    let at_open = shown(&tab).await;
    assert_eq!(at_open["selected"], failing.to_string());
    assert_eq!(at_open["failed"], "true");
    assert_eq!(at_open["marked"], 1);
    assert!(
        at_open["error"]
            .as_str()
            .unwrap()
            .contains("#no-such-button")
    );
    assert!(
        at_open["src"] == data_uri(failing),
        "the failing step's screenshot is shown"
    );

    // A real click on Prev, then the right arrow key back.
    let center = tab
        .eval("(() => { const r = document.getElementById('prev').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        .await
        .unwrap();
    tab.click_at(center[0].as_f64().unwrap(), center[1].as_f64().unwrap())
        .await
        .unwrap();
    let before = shown(&tab).await;
    assert_eq!(before["selected"], (failing - 1).to_string());
    assert_eq!(before["failed"], "false");
    assert!(before["src"] == data_uri(failing - 1));
    tab.press_key("ArrowRight").await.unwrap();
    let back = shown(&tab).await;
    assert_eq!(back["selected"], failing.to_string());
    assert!(back["src"] == data_uri(failing));

    let seen = activity.take();
    assert!(
        !seen.requests.is_empty(),
        "the listener sees the page's own load"
    );
    for q in &seen.requests {
        assert!(
            q.url.starts_with("file:") || q.url.starts_with("data:"),
            "the report loaded {}",
            q.url
        );
    }
    drop(activity);
    drop(tab);
    browser.close().await;
}

/// The service keeps the trace of a failed collect's last steps and serves it with the API
/// key; a collect that succeeds keeps none; the credential's traces go with it.
#[tokio::test]
async fn the_service_serves_the_trace_of_a_failed_collect_only() {
    use crate::server::{TestService, config};
    use reqwest::{Method, StatusCode};
    let _slot = common::browser_slot().await;
    let site = common::demo_site().await;
    let connectors = tempfile::tempdir().unwrap();
    let connector = |id: &str, last: &str| {
        format!(
            "id: {id}\nname: {id}\nbase_url: https://demo-bank.example/\nfields:\n  \
             login:    {{ label: Login }}\n  password: {{ label: Password, secret: true }}\n\
             steps:\n  - goto: /hostile/blank\n  {last}\n"
        )
    };
    let write = |id: &str, last: &str| {
        std::fs::write(
            connectors.path().join(format!("{id}.yaml")),
            connector(id, last),
        )
        .unwrap();
    };
    write(
        "traced-ok",
        "- extract: { as: accounts, rows: 'p#iban', fields: { iban: { text: true } } }",
    );
    write(
        "traced-broken",
        "- click: { selector: '#no-such-button', timeout: 1s }",
    );
    let data = tempfile::tempdir().unwrap();
    let profiles = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path(), profiles.path(), &site);
    cfg.connectors_dir = connectors.path().to_path_buf();
    for id in ["traced-ok", "traced-broken"] {
        cfg.base_urls
            .insert(id.into(), site.base_url().parse().unwrap());
    }
    let svc = TestService::start_with(site, data, profiles, cfg).await;

    let broken = svc
        .create_credential("traced-broken", "alice", "Traced-Pw_91xQ")
        .await;
    let (_, failed_id, ws) = svc.collect(&broken, true).await;
    let (end, _) = svc.viewer(&ws).await.final_state().await;
    assert_eq!(end, -1);
    let res = svc.raw(&format!("/collect/{failed_id}/trace")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(headers["content-security-policy"], gleaner::trace::CSP);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("#no-such-button"),
        "the failing step is in the trace"
    );
    assert!(
        page.contains("data:image/jpeg;base64,"),
        "with its screenshot"
    );
    assert!(!page.contains("Traced-Pw_91xQ"));
    let (status, body) = svc
        .call_with(
            Method::GET,
            &format!("/collect/{failed_id}/trace"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    let kept = svc
        .data
        .path()
        .join(format!("traces/{broken}/{failed_id}.html"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let ok = svc
        .create_credential("traced-ok", "alice", "Traced-Pw_91xQ")
        .await;
    let (_, done_id, ws) = svc.collect(&ok, true).await;
    let (end, _) = svc.viewer(&ws).await.final_state().await;
    assert_eq!(end, 7);
    let (status, body) = svc
        .call(Method::GET, &format!("/collect/{done_id}/trace"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no trace")
    );
    let (status, _) = svc.call(Method::GET, "/collect/nope/trace", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = svc
        .call(Method::DELETE, &format!("/credential/{broken}"), None)
        .await;
    assert!(status.is_success());
    assert!(!kept.exists(), "the credential's traces go with it");
    svc.stop().await;
}

/// The page's console messages and uncaught errors are in the trace, redacted; the
/// control: the line without a secret is there as the page wrote it.
#[tokio::test]
async fn console_messages_and_page_errors_are_traced_without_secrets() {
    let site = common::demo_site().await;
    let plan = common::connector(
        "console",
        "",
        "  - goto: /login\n  \
         - click: { selector: '#accept-cookies', optional: true }\n  \
         - fill: { '#password': '{{fields.password}}' }\n  \
         - eval: \"console.warn('plain line'); \
           console.log('pw ' + document.querySelector('#password').value); \
           setTimeout(() => { throw new Error('trace-boom') }, 0); null\"\n  \
         - eval: \"new Promise((r) => setTimeout(() => r(1), 10))\"\n  \
         - goto: /hostile/blank\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let tracer = Tracer::to_dir(dir.path()).unwrap();
    let hook = tracer.hook();
    let password = "Console-Pw_42zz";
    let run = common::collect_tuned(&site, &plan, "alice", password, Codes::Nobody, |o| {
        o.engine.trace = Some(hook)
    })
    .await;
    assert_eq!(run.final_state(), gleaner::codes::State::Done);
    tracer.finish("console").unwrap();
    let lines: Vec<(String, String)> = tracer
        .steps()
        .iter()
        .flat_map(|s| s.console.iter().map(|c| (c.level.clone(), c.text.clone())))
        .collect();
    assert!(
        lines.contains(&("warning".into(), "plain line".into())),
        "{lines:?}"
    );
    assert!(
        lines.contains(&("log".into(), "pw •••".into())),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|(level, text)| level == "exception" && text.contains("trace-boom")),
        "{lines:?}"
    );
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let text =
            String::from_utf8_lossy(&std::fs::read(entry.unwrap().path()).unwrap()).to_string();
        assert!(!text.contains(password));
    }
}
