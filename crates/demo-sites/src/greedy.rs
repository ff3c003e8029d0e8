//! Pages that eat memory, for gleaner's tests of its memory caps. `/greedy/eat` grows its
//! JavaScript heap in a `setTimeout` loop (a million objects, tens of MB, a turn) and never
//! stops, as a page that leaks would; `/greedy/frugal` does the same with small turns (16 Ki
//! objects) five times, then shows `#done`, as a normal page does.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use crate::render::html_response;

/// The routes, under `/greedy/`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/greedy/eat", get(|| async { page(1 << 20, None) }))
        .route("/greedy/frugal", get(|| async { page(1 << 14, Some(5)) }))
}

/// Objects (not typed arrays, whose bytes live outside V8's heap), so that the heap limit
/// applies too. `chunk`: objects made a turn; `turns`: how many turns before `#done`
/// (`None`: never).
fn page(chunk: u32, turns: Option<u32>) -> Response {
    let turns = turns.map_or("Infinity".to_string(), |n| n.to_string());
    html_response(
        StatusCode::OK,
        format!(
            r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Gourmand</title></head>
<body>
<h1 id="title">Gourmand</h1>
<p>Tours : <span id="eaten">0</span></p>
<script>
const hoard = [];
function eat() {{
  const chunk = new Array({chunk});
  for (let i = 0; i < chunk.length; i++) chunk[i] = {{ n: i, turn: hoard.length }};
  hoard.push(chunk);
  document.getElementById('eaten').textContent = hoard.length;
  if (hoard.length < {turns}) {{
    setTimeout(eat, 0);
  }} else {{
    const done = document.createElement('p');
    done.id = 'done';
    done.textContent = 'Terminé';
    document.body.append(done);
  }}
}}
setTimeout(eat, 0);
</script>
</body></html>"#
        ),
    )
}
