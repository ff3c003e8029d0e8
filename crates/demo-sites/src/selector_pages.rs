//! Pages for gleaner's tests of its selectors (issue 13): shadow DOM, text and role
//! selectors, and elements that only a frame or a `>>` chain reaches. Every action writes
//! what happened into `#result` (`data-v`), in the light DOM.
//!
//! - `/selectors/shadow`: `<consent-banner>` holds `button.accept` ("Tout accepter") in an
//!   open shadow root; `<invoice-list>` a table of two `tr.inv` rows in another; `#banner` (a `div`) holds a `button` ("OK") in another; `<closed-box>`
//!   holds `#closed-btn` in a closed one.
//! - `/selectors/form`: a login form named only by its labels (`Identifiant`, a wrapping
//!   `Mot de passe` label), a paragraph that mentions « Se connecter » before the button of
//!   that name, and a `Télécharger la facture` link.
//! - `/selectors/frame`: `iframe#auth` (same origin) holds `#accept`.

use axum::Router;
use axum::response::Response;
use axum::routing::get;

use crate::render::test_page;

/// The routes, under `/selectors/`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/selectors/shadow",
            get(|| async { page("Cookies", SHADOW) }),
        )
        .route("/selectors/form", get(|| async { page("Connexion", FORM) }))
        .route("/selectors/frame", get(|| async { page("Cadre", FRAME) }))
        .route(
            "/selectors/inner",
            get(|| async { page("Dans le cadre", INNER) }),
        )
}

const RESULT: &str = r#"<p id="result">?</p>
<script>
function done(v) { const r = document.getElementById('result'); r.textContent = v; r.dataset.v = v; }
</script>"#;

const SHADOW: &str = r#"<consent-banner></consent-banner>
<invoice-list></invoice-list>
<div id="banner"></div>
<closed-box></closed-box>
<script>
customElements.define('consent-banner', class extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = '<p>Nous utilisons des cookies.</p><button class="accept">Tout accepter</button>';
    root.querySelector('button').addEventListener('click', () => done('accepted'));
  }
});
customElements.define('invoice-list', class extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = '<table><tr class="inv"><td>F-1</td><td>12,00 €</td></tr><tr class="inv"><td>F-2</td><td>30,50 €</td></tr></table>';
  }
});
const banner = document.getElementById('banner').attachShadow({ mode: 'open' });
banner.innerHTML = '<button>OK</button>';
banner.querySelector('button').addEventListener('click', () => done('ok'));
customElements.define('closed-box', class extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: 'closed' });
    root.innerHTML = '<button id="closed-btn">Fermé</button>';
    root.querySelector('button').addEventListener('click', () => done('closed'));
  }
});
</script>"#;

const FORM: &str = r##"<form id="login">
<label for="user">Identifiant</label> <input id="user">
<label>Mot de passe <input type="password" id="pw"></label>
<p>Cliquez sur « Se connecter » pour entrer.</p>
<button type="submit" id="go">Se connecter</button>
</form>
<p><a href="#" id="dl">Télécharger   la facture</a></p>
<script>
document.getElementById('login').addEventListener('submit', (e) => {
  e.preventDefault();
  done(document.getElementById('user').value + ':' + document.getElementById('pw').value);
});
document.getElementById('dl').addEventListener('click', (e) => { e.preventDefault(); done('downloaded'); });
</script>"##;

const FRAME: &str =
    r#"<iframe id="auth" src="/selectors/inner" width="400" height="200"></iframe>"#;

const INNER: &str = r#"<button id="accept">Accepter</button>"#;

fn page(title: &str, body: &str) -> Response {
    test_page(title, &format!("{RESULT}\n{body}"))
}
