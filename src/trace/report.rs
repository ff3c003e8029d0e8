//! The trace's report: one self-contained HTML file (`index.html`) that opens from disk
//! and loads nothing: its style and script inline, each screenshot a `data:` URI, and a
//! CSP that forbids any other source. The steps are a list; the chosen one is shown beside
//! it (screenshot, URL, error, matched selector, requests, console, HTML). Prev/next
//! buttons and the arrow keys move through them; the failing step is chosen at open.

use base64::Engine;
use serde_json::json;

use super::entry::TraceStep;

/// Nothing but the page itself: no request can leave it, whatever a trace holds.
pub const CSP: &str = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; \
                       script-src 'unsafe-inline'";

/// The report of `steps`.
pub fn render(title: &str, steps: &[TraceStep]) -> String {
    let data: Vec<serde_json::Value> = steps
        .iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            v["failed"] = json!(s.failed());
            v["screenshot"] = json!(s.screenshot.as_ref().map(|jpg| format!(
                "data:image/jpeg;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(jpg)
            )));
            v["html"] = json!(s.html);
            v
        })
        .collect();
    let data = script_safe(&serde_json::to_string(&data).unwrap_or_else(|_| "[]".into()));
    TEMPLATE
        .replace("{{CSP}}", CSP)
        .replace("{{TITLE}}", &escape_html(title))
        .replace("{{STYLE}}", STYLE)
        .replace("{{SCRIPT}}", SCRIPT)
        .replace("{{DATA}}", &data)
}

/// JSON that cannot end its `<script>` element or open a comment in it.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{CSP}}">
<meta name="referrer" content="no-referrer">
<title>{{TITLE}}</title>
<style>{{STYLE}}</style>
</head>
<body>
<header><h1>{{TITLE}}</h1>
<nav><button id="prev" type="button" title="Previous step (←)">← Prev</button>
<span id="position"></span>
<button id="next" type="button" title="Next step (→)">Next →</button></nav></header>
<main>
<ol id="steps"></ol>
<section id="detail" aria-live="polite">
<h2 id="label"></h2>
<p id="meta"></p>
<pre id="error" hidden></pre>
<p id="url"></p>
<img id="shot" alt="the page after this step">
<p id="noshot" hidden>No screenshot.</p>
<details id="problems-box" hidden><summary>What the trace could not capture</summary><ul id="problems"></ul></details>
<details id="requests-box" open><summary id="requests-title"></summary>
<table><thead><tr><th>Method</th><th>Status</th><th>Type</th><th>URL</th></tr></thead><tbody id="requests"></tbody></table></details>
<details id="console-box" open><summary id="console-title"></summary><ul id="console"></ul></details>
<details id="html-box"><summary>HTML</summary><pre id="html"></pre></details>
</section>
</main>
<script id="trace-data" type="application/json">{{DATA}}</script>
<script>{{SCRIPT}}</script>
</body>
</html>
"#;

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; }
header { display: flex; align-items: center; gap: 1em; padding: .5em 1em; background: #f3f3f3; border-bottom: 1px solid #ddd; }
h1 { font-size: 1.1em; margin: 0; flex: 1; }
main { display: flex; height: calc(100vh - 3.2em); }
#steps { width: 28em; overflow: auto; margin: 0; padding: 0; list-style: none; border-right: 1px solid #ddd; }
#steps li { padding: .35em .8em; cursor: pointer; border-bottom: 1px solid #eee; }
#steps li.selected { background: #dbe9ff; }
#steps li.failed { color: #b00020; font-weight: 600; }
#steps li .took { color: #777; float: right; font-weight: normal; }
#detail { flex: 1; overflow: auto; padding: 0 1em 1em; }
#detail.failed h2 { color: #b00020; }
#error { background: #fde7ea; color: #b00020; padding: .6em; white-space: pre-wrap; }
#shot { max-width: 100%; border: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 12px; }
td, th { border-bottom: 1px solid #eee; padding: 2px 6px; text-align: left; vertical-align: top; }
td.url { word-break: break-all; }
#console li.error, #console li.exception { color: #b00020; }
#html { white-space: pre-wrap; font-size: 12px; background: #fafafa; padding: .5em; }
"#;

const SCRIPT: &str = r#"
(() => {
  const steps = JSON.parse(document.getElementById('trace-data').textContent);
  const $ = (id) => document.getElementById(id);
  const list = $('steps');
  const text = (el, t) => { el.textContent = t == null ? '' : String(t); };
  steps.forEach((s, i) => {
    const li = document.createElement('li');
    li.dataset.index = String(i);
    if (s.failed) li.classList.add('failed');
    const took = document.createElement('span');
    took.className = 'took';
    text(took, s.took_ms + ' ms');
    li.append(took, (s.failed ? '✗ ' : '') + '#' + s.index + ' ' + s.label);
    li.addEventListener('click', () => show(i));
    list.append(li);
  });
  let current = -1;
  function show(i) {
    if (!steps.length) { text($('label'), 'No steps were recorded.'); return; }
    i = Math.max(0, Math.min(steps.length - 1, i));
    current = i;
    const s = steps[i];
    for (const li of list.children) {
      const on = li.dataset.index === String(i);
      li.classList.toggle('selected', on);
      if (on) { li.setAttribute('aria-current', 'step'); li.scrollIntoView({ block: 'nearest' }); }
      else li.removeAttribute('aria-current');
    }
    const d = $('detail');
    d.classList.toggle('failed', !!s.failed);
    d.dataset.index = String(i);
    d.dataset.failed = String(!!s.failed);
    text($('position'), (i + 1) + ' / ' + steps.length);
    text($('label'), '#' + s.index + ' ' + s.label);
    const meta = [s.took_ms + ' ms', 'trace ' + s.trace_ms + ' ms'];
    if (s.matched) meta.push('matched alternative ' + s.matched.alternative + ': ' + s.matched.selector);
    text($('meta'), meta.join(' · '));
    $('error').hidden = !s.error;
    text($('error'), s.error ? s.error.message : '');
    text($('url'), s.url || '');
    const shot = $('shot');
    if (s.screenshot) { shot.src = s.screenshot; shot.hidden = false; $('noshot').hidden = true; }
    else { shot.removeAttribute('src'); shot.hidden = true; $('noshot').hidden = false; }
    $('problems-box').hidden = !s.problems.length;
    $('problems').replaceChildren(...s.problems.map((p) => { const li = document.createElement('li'); text(li, p); return li; }));
    text($('requests-title'), s.requests.length + (s.more_requests ? ' (+' + s.more_requests + ')' : '') + ' requests since the previous step');
    $('requests').replaceChildren(...s.requests.map((q) => {
      const tr = document.createElement('tr');
      const status = q.failed || (q.status == null ? '' : q.status);
      for (const [v, c] of [[q.method], [status], [q.resource_type], [q.url, 'url']]) {
        const td = document.createElement('td'); text(td, v); if (c) td.className = c; tr.append(td);
      }
      return tr;
    }));
    text($('console-title'), s.console.length + ' console messages');
    $('console').replaceChildren(...s.console.map((c) => { const li = document.createElement('li'); li.className = c.level; text(li, c.level + ': ' + c.text); return li; }));
    text($('html'), s.html || '');
  }
  $('prev').addEventListener('click', () => show(current - 1));
  $('next').addEventListener('click', () => show(current + 1));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') { show(current - 1); e.preventDefault(); }
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') { show(current + 1); e.preventDefault(); }
  });
  let failing = -1;
  steps.forEach((s, i) => { if (s.failed) failing = i; });
  show(failing >= 0 ? failing : 0);
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_cannot_close_its_script() {
        let step = TraceStep {
            index: 1,
            step: None,
            label: "</script><script>alert(1)</script>".into(),
            took_ms: 3,
            trace_ms: 1,
            url: None,
            matched: None,
            error: None,
            requests: vec![],
            more_requests: 0,
            console: vec![],
            problems: vec![],
            screenshot_file: None,
            html_file: None,
            screenshot: Some(vec![1, 2, 3]),
            html: Some("<!-- x --></script>".into()),
        };
        let page = render("t <b>", &[step]);
        assert_eq!(page.matches("</script>").count(), 2, "{page}");
        assert!(page.contains("<title>t &lt;b&gt;</title>"));
        assert!(page.contains("data:image/jpeg;base64,AQID"));
        assert!(page.contains(CSP));
    }
}
