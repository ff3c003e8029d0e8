//! `/human`: a login only a person can pass. A green square sits at a random place of the
//! viewport (whatever its size); a real (trusted) click on it reveals a form asking to type
//! a random phrase into a yellow field, tiny in the wide layout, that the person clicks
//! first. The right phrase logs in as `carol`.

use std::sync::{Arc, Mutex};

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use indexmap::IndexMap;
use rand::Rng;
use rand::seq::IndexedRandom;
use serde::Deserialize;

use crate::login;
use crate::render::{self, SiteError, escape_html, html, html_response, text};
use crate::routes::SiteState;
use crate::site_login;

/// The user a passed challenge logs in.
pub const HUMAN_USER: &str = "carol";
/// Words in a phrase.
const PHRASE_WORDS: usize = 3;
/// Open challenges kept; the oldest go first.
const MAX_CHALLENGES: usize = 256;

const WRONG_PHRASE: &str = "Phrase incorrecte (wrong phrase). Recommencez.";

const WORDS: &[&str] = &[
    "soleil", "jardin", "maison", "nuage", "pomme", "lune", "chemin", "fleur", "montagne", "plage",
    "orange", "riviere", "foret", "bateau", "cerise", "village", "etoile", "piano", "citron",
    "voyage", "oiseau", "fromage", "tambour", "lapin",
];

/// Challenges handed out and not yet answered: id → phrase, oldest first. Clones share them.
#[derive(Debug, Default, Clone)]
pub struct Challenges(Arc<Mutex<IndexMap<String, String>>>);

impl Challenges {
    fn lock(&self) -> std::sync::MutexGuard<'_, IndexMap<String, String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new challenge: its id and the phrase to type.
    pub fn issue(&self) -> (String, String) {
        let mut rng = rand::rng();
        let phrase = (0..PHRASE_WORDS)
            .map(|_| *WORDS.choose(&mut rng).unwrap_or(&"soleil"))
            .collect::<Vec<_>>()
            .join(" ");
        let id = site_login::random_token();
        let mut open = self.lock();
        while open.len() >= MAX_CHALLENGES {
            open.shift_remove_index(0);
        }
        open.insert(id.clone(), phrase.clone());
        (id, phrase)
    }

    /// The phrase of the latest challenge still open, as its page shows it.
    pub fn latest_phrase(&self) -> Option<String> {
        self.lock().last().map(|(_, phrase)| phrase.clone())
    }

    /// Answers a challenge, once: true when `phrase` is its phrase (spaces are not counted).
    pub fn answer(&self, id: &str, phrase: &str) -> bool {
        let Some(expected) = self.lock().shift_remove(id) else {
            return false;
        };
        phrase.split_whitespace().collect::<Vec<_>>().join(" ") == expected
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct HumanForm {
    challenge: Option<String>,
    phrase: Option<String>,
}

async fn render_human(site: &SiteState, alert: Option<&str>) -> Result<Response, SiteError> {
    let (id, phrase) = site.human.issue();
    // Fractions of the room the viewport leaves around the square.
    let (left, top) = {
        let mut rng = rand::rng();
        (
            rng.random_range(0.0..=1.0f64),
            rng.random_range(0.0..=1.0f64),
        )
    };
    let alert = match alert {
        Some(msg) => format!(
            "<div class=\"alert-error\" role=\"alert\">{}</div>",
            escape_html(msg)
        ),
        None => String::new(),
    };
    let vars = [
        ("alert", html(alert)),
        ("challenge", text(id)),
        ("phrase", text(phrase)),
        ("left", text(format!("{left:.4}"))),
        ("top", text(format!("{top:.4}"))),
    ];
    let body = render::page(&site.root, "Vérification humaine", None, "human", &vars).await?;
    Ok(html_response(StatusCode::OK, body))
}

pub async fn human_get(State(site): State<Arc<SiteState>>) -> Result<Response, SiteError> {
    render_human(&site, None).await
}

pub async fn human_post(
    State(site): State<Arc<SiteState>>,
    headers: HeaderMap,
    Form(form): Form<HumanForm>,
) -> Result<Response, SiteError> {
    let id = form.challenge.as_deref().unwrap_or("");
    let phrase = form.phrase.as_deref().unwrap_or("");
    if site.human.answer(id, phrase) {
        login::login_success(&site, &headers, HUMAN_USER)
    } else {
        render_human(&site, Some(WRONG_PHRASE)).await
    }
}
