//! The `/human` page: a login only a person can pass.

use super::*;

/// The text between `start` and the next `end` in `html`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} in page"))
        + start.len();
    let len = html[from..].find(end).expect("end marker");
    &html[from..from + len]
}

/// The challenge id and the phrase of a `/human` page.
fn human_challenge(html: &str) -> (String, String) {
    let id = between(html, "name=\"challenge\" value=\"", "\"");
    let phrase = between(html, "<strong id=\"phrase-to-type\">", "</strong>");
    (id.to_string(), phrase.to_string())
}

#[tokio::test]
async fn human_page_places_the_square_at_random_and_hides_the_form() {
    let site = site().await;
    let mut c = Client::new(&site);
    let mut places = std::collections::HashSet::new();
    let mut ids = std::collections::HashSet::new();
    for _ in 0..5 {
        let r = c.get("/human").await;
        assert_eq!(r.status, 200);
        let html = r.text();
        assert!(html.contains("<form id=\"human-form\" method=\"post\" action=\"/human\" hidden>"));
        assert!(html.contains("<input id=\"phrase\" name=\"phrase\""));
        assert!(html.contains("<div id=\"veil\"") && html.contains("event.isTrusted"));
        let square = between(&html, "<div id=\"square\"", ">");
        let left: f64 = between(square, " left:calc((100vw - 60px) * ", ")")
            .parse()
            .expect("left");
        let top: f64 = between(square, " top:calc((100vh - 60px) * ", ")")
            .parse()
            .expect("top");
        assert!(
            (0.0..=1.0).contains(&left) && (0.0..=1.0).contains(&top),
            "({left}, {top})"
        );
        places.insert((left.to_bits(), top.to_bits()));
        let (id, phrase) = human_challenge(&html);
        assert_eq!(phrase.split(' ').count(), 3, "{phrase}");
        ids.insert(id);
    }
    assert!(places.len() > 1, "the square moves between requests");
    assert_eq!(ids.len(), 5, "one challenge per page");
    let login = c.get("/login").await.text();
    assert!(login.contains("<a id=\"human-link\" href=\"/human\">"));
    site.shutdown().await;
}

#[tokio::test]
async fn human_post_logs_in_carol_with_the_right_phrase_only() {
    let site = site().await;
    let mut c = Client::new(&site);
    // A wrong phrase: an error and a new challenge, no site login.
    let (id, phrase) = human_challenge(&c.get("/human").await.text());
    let r = c
        .post("/human", &format!("challenge={id}&phrase=pas+la+bonne"))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.set_cookie("sid").is_none());
    let html = r.text();
    assert!(html.contains("<div class=\"alert-error\" role=\"alert\">Phrase incorrecte (wrong phrase). Recommencez.</div>"));
    let (next_id, next_phrase) = human_challenge(&html);
    assert_ne!(next_id, id);
    // A challenge is answered once: the right phrase no longer opens it.
    let r = c
        .post(
            "/human",
            &format!("challenge={id}&phrase={}", phrase.replace(' ', "+")),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("class=\"alert-error\"") && r.set_cookie("sid").is_none());
    // An unknown challenge fails the same way.
    let r = c
        .post(
            "/human",
            &format!("challenge=forged&phrase={}", next_phrase.replace(' ', "+")),
        )
        .await;
    assert!(r.status == 200 && r.set_cookie("sid").is_none());
    assert_eq!(c.get("/accounts").await.status, 303);

    // The right phrase (extra spaces do not count): carol's site login, then her accounts.
    let (id, phrase) = human_challenge(&c.get("/human").await.text());
    assert_eq!(site.human_phrase().as_deref(), Some(phrase.as_str()));
    let r = c
        .post(
            "/human",
            &format!("challenge={id}&phrase=+{}+", phrase.replace(' ', "++")),
        )
        .await;
    assert_eq!((r.status, r.header("location")), (303, Some("/accounts")));
    let sid = r.set_cookie("sid").expect("sid cookie");
    assert!(sid.contains("HttpOnly") && sid.contains("Path=/"));
    let page = c.get("/accounts").await;
    assert_eq!(page.status, 200);
    let data = SiteData::load(&root()).expect("data");
    let carol = data.user("carol").expect("carol");
    assert!(page.text().contains(&escape(&carol.name)));
    site.shutdown().await;
}

fn escape(s: &str) -> String {
    crate::render::escape_html(s)
}
