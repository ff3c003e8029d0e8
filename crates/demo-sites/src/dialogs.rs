//! Pages that open JavaScript dialogs, for gleaner's tests of its dialog handler (issue 13):
//! `/dialogs/alert` opens an `alert` while it loads (its `#after` is parsed only once the
//! alert is closed); `/dialogs/confirm` and `/dialogs/prompt` open theirs on a click on
//! `#ask` and write the answer into `#answer` (`data-v`: `yes`/`no`, or the prompt's text,
//! `empty` or `null`); `/dialogs/leave` asks before it is left (`beforeunload`), and its
//! `#away` links to `/dialogs/left`.

use axum::Router;
use axum::response::Response;
use axum::routing::get;

use crate::render::test_page;

/// The routes, under `/dialogs/`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/dialogs/alert", get(|| async { page("Alerte", ALERT) }))
        .route(
            "/dialogs/confirm",
            get(|| async { page("Confirmation", CONFIRM) }),
        )
        .route(
            "/dialogs/prompt",
            get(|| async { page("Question", PROMPT) }),
        )
        .route("/dialogs/leave", get(|| async { page("Départ", LEAVE) }))
        .route(
            "/dialogs/left",
            get(|| async { page("Parti", r#"<p id="left">Au revoir</p>"#) }),
        )
}

const ALERT: &str = r#"<script>alert('Bienvenue ! Le site sera en maintenance dimanche.');</script>
<p id="after">Suite de la page</p>"#;

const CONFIRM: &str = r#"<button id="ask">Supprimer</button>
<p id="answer">?</p>
<script>
document.getElementById('ask').addEventListener('click', () => {
  const v = confirm('Voulez-vous vraiment continuer ?') ? 'yes' : 'no';
  const answer = document.getElementById('answer');
  answer.textContent = v;
  answer.dataset.v = v;
});
</script>"#;

const PROMPT: &str = r#"<button id="ask">Renommer</button>
<p id="answer">?</p>
<script>
document.getElementById('ask').addEventListener('click', () => {
  const r = prompt('Nouveau nom du compte ?', 'Compte courant');
  const v = r === null ? 'null' : (r === '' ? 'empty' : r);
  const answer = document.getElementById('answer');
  answer.textContent = v;
  answer.dataset.v = v;
});
</script>"#;

const LEAVE: &str = r#"<p><a id="away" href="/dialogs/left">Partir</a></p>
<script>
window.addEventListener('beforeunload', (e) => { e.preventDefault(); e.returnValue = ''; });
</script>"#;

fn page(title: &str, body: &str) -> Response {
    test_page(title, body)
}
