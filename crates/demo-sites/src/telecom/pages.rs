//! The portal's page shell: header and navigation, the consent banner (a web component
//! with an OPEN shadow root, drawn over the whole page until accepted) and, on every page,
//! a support widget in a CLOSED shadow root, which no selector may reach.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::render::{escape_html, html_response};
use crate::site_login;

/// The cookie the banner's buttons set (`1` accepted, `0` refused); while the browser
/// lacks it, every portal page shows the banner.
pub const CONSENT: &str = "consent";

/// What a page needs from its request.
pub struct Shell<'a> {
    pub title: &'a str,
    /// The customer's name: logged-in pages get the navigation.
    pub name: Option<&'a str>,
    pub banner: bool,
}

impl<'a> Shell<'a> {
    /// The banner is shown while the browser has answered neither way.
    pub fn new(title: &'a str, name: Option<&'a str>, headers: &HeaderMap) -> Self {
        let banner = site_login::cookie(headers, CONSENT).is_none();
        Shell {
            title,
            name,
            banner,
        }
    }

    pub fn render(&self, content: &str) -> Response {
        html_response(StatusCode::OK, self.html(content))
    }

    pub fn html(&self, content: &str) -> String {
        let title = escape_html(self.title);
        let nav = match self.name {
            Some(name) => format!(
                r#"<nav><a id="nav-home" href="/home">Accueil</a> <a id="nav-bills" href="/bills">Factures</a> <a id="nav-usage" href="/usage">Consommation</a> <span class="user">{}</span> <a id="nav-logout" href="/logout">Déconnexion</a></nav>"#,
                escape_html(name)
            ),
            None => String::new(),
        };
        let banner = if self.banner { CONSENT_BANNER } else { "" };
        format!(
            r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{title} · Demo Telecom</title>
<style>
  body {{ margin: 0; font-family: system-ui, sans-serif; background: #f4f1fa; color: #221a33; }}
  header {{ display: flex; justify-content: space-between; align-items: center; padding: 0 24px; height: 56px; background: #5b2a86; color: #fff; }}
  header a {{ color: #eadcff; margin-left: 14px; }}
  .brand {{ font-weight: 700; }}
  main {{ max-width: 880px; margin: 28px auto; padding: 24px; background: #fff; border-radius: 10px; }}
  table {{ width: 100%; border-collapse: collapse; }}
  th, td {{ text-align: left; padding: 8px; border-bottom: 1px solid #e6e0f0; }}
  td.amount {{ text-align: right; white-space: nowrap; }}
  td form {{ margin: 0; }}
  .alert-error {{ padding: 10px; background: #fdecec; color: #8a1c1c; border-radius: 6px; }}
</style></head>
<body>
<header><span class="brand">Demo Telecom</span>{nav}</header>
<main>
<h1 id="title">{title}</h1>
{content}
</main>
{SUPPORT_WIDGET}{banner}</body></html>
"#
        )
    }
}

/// `<consent-banner>`: its shadow root is open, its host element is a fixed overlay over
/// the whole page (so a click anywhere else lands on it), and either button sets the
/// `consent` cookie and removes the element.
const CONSENT_BANNER: &str = r#"<consent-banner></consent-banner>
<script>
customElements.define('consent-banner', class extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>
      :host { position: fixed; inset: 0; z-index: 2147483647; display: flex; align-items: center; justify-content: center; background: rgba(20, 10, 40, .55); }
      .box { background: #fff; max-width: 460px; margin: 16px; padding: 22px; border-radius: 10px; }
      button { margin: 12px 8px 0 0; padding: 10px 16px; font-size: 1rem; }
    </style>
    <div class="box" role="dialog" aria-modal="true" aria-label="Cookies">
      <p>Demo Telecom utilise des cookies pour le bon fonctionnement du site et la mesure d’audience.</p>
      <button class="refuse" type="button">Continuer sans accepter</button>
      <button class="accept" type="button">Tout accepter</button>
    </div>`;
    const answer = (value) => () => {
      document.cookie = 'consent=' + value + '; Path=/; Max-Age=31536000; SameSite=Lax';
      this.remove();
    };
    root.querySelector('button.accept').addEventListener('click', answer('1'));
    root.querySelector('button.refuse').addEventListener('click', answer('0'));
  }
});
</script>
"#;

/// `<support-chat>`: a CLOSED shadow root, out of reach of `document` and of any
/// selector engine; its button only toggles `data-open` on the host.
const SUPPORT_WIDGET: &str = r#"<support-chat style="position: fixed; right: 16px; bottom: 16px;"></support-chat>
<script>
customElements.define('support-chat', class extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: 'closed' });
    root.innerHTML = '<button class="chat-open" type="button">Besoin d’aide ?</button>';
    root.querySelector('button.chat-open').addEventListener('click', () => {
      this.toggleAttribute('data-open');
    });
  }
});
</script>
"#;

pub async fn not_found(headers: HeaderMap) -> Response {
    let mut resp = Shell::new("Page introuvable", None, &headers)
        .render(r#"<p class="not-found">La page demandée n’existe pas.</p>"#);
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp
}
