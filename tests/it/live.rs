//! Live collects over the WebSocket: real server, real Chromium, real tungstenite client.

use std::time::{Duration, Instant};

use gleaner::api::messages::{ClientMessage, ServerMessage};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};

use crate::common::{FIXED_CODE, browser_slot, root};
use crate::pixels;
use crate::server::{API_KEY, TestService, decode_frame, open_store, state_of, timeline};

const STEP: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_watched_collect_shows_states_and_frames_takes_the_code_and_keeps_the_documents() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    let (status, collect_id, ws) = svc.collect(&cred, false).await;
    assert_eq!(status, StatusCode::CREATED);

    let mut viewer = svc.viewer(&ws).await;
    let mut states = Vec::new();
    let mut frames = 0;
    let twofa = viewer
        .until(STEP, |m| {
            if let Some(s) = state_of(m) {
                states.push(s);
            }
            if let Some(img) = decode_frame(m) {
                assert_eq!((img.width(), img.height()), (1280, 720));
                frames += 1;
            }
            match m {
                ServerMessage::Twofa { kind, label, .. } => Some((kind.as_str(), label.clone())),
                _ => None,
            }
        })
        .await;
    assert_eq!(twofa.0, "sms");
    assert_eq!(twofa.1, "Code received by SMS");
    assert!(
        frames >= 1,
        "at least one JPEG frame before the code is asked"
    );
    assert!(
        states.windows(2).all(|w| w[0] <= w[1]),
        "states go forward: {states:?}"
    );
    assert!(states.contains(&3) && states[0] <= 2, "{states:?}");

    let code = svc
        .site
        .wait_code("alice", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(code, FIXED_CODE);
    viewer.send(&ClientMessage::Twofa { code }).await;
    let (end, _) = viewer.final_state().await;
    assert_eq!(end, 7);
    assert!(
        viewer.next(STEP).await.is_none(),
        "the socket closes after the final state"
    );

    let (status, collect) = svc
        .call(Method::GET, &format!("/collect/{collect_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(timeline(&collect), [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(collect["records"]["accounts"].as_array().unwrap().len(), 3);

    let (_, docs) = svc
        .call(
            Method::GET,
            &format!("/collect/{collect_id}/documents"),
            None,
        )
        .await;
    let docs = docs.as_array().unwrap();
    assert_eq!(docs.len(), 3);
    for doc in docs {
        let res = svc
            .raw(&format!("/document/{}", doc["id"].as_str().unwrap()))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "application/pdf");
        let bytes = res.bytes().await.unwrap();
        let sha = hex::encode(Sha256::digest(&bytes));
        assert_eq!(sha, doc["sha256"].as_str().unwrap());
        let fixture = root().join(format!(
            "fixtures/demo-bank/invoices/{}.pdf",
            doc["docId"].as_str().unwrap()
        ));
        assert_eq!(bytes.as_ref(), std::fs::read(fixture).unwrap().as_slice());
    }
    let (_, cred_now) = svc
        .call(Method::GET, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(cred_now["state"], 7);
    svc.stop().await;
}

#[tokio::test]
async fn viewers_come_and_go_and_the_collect_goes_on() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    let (_, collect_id, ws) = svc.collect(&cred, false).await;
    let mut first = svc.viewer(&ws).await;
    first.until_twofa().await;

    // A second request while the collect runs attaches to it.
    let (status, again, ws_again) = svc.collect(&cred, false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (again.as_str(), ws_again.as_str()),
        (collect_id.as_str(), ws.as_str())
    );

    // A viewer arriving mid-collect gets the state, a frame and the code request at once.
    let mut second = svc.viewer(&ws).await;
    let quick = Duration::from_secs(5);
    let m = second.next(quick).await.unwrap();
    assert_eq!(state_of(&m), Some(3), "{m:?}");
    let m = second.next(quick).await.unwrap();
    let img = decode_frame(&m).unwrap_or_else(|| panic!("a frame, got {m:?}"));
    assert_eq!((img.width(), img.height()), (1280, 720));
    let m = second.next(quick).await.unwrap();
    assert!(matches!(m, ServerMessage::Twofa { .. }), "{m:?}");

    // Everyone leaves: the screencast stops. The backend gives the code; the collect
    // finishes alone.
    let live = svc
        .collector
        .by_token(ws.trim_start_matches("/ws/"))
        .unwrap();
    let mut casting = live.casting();
    assert!(
        *casting.borrow_and_update(),
        "the screencast runs while watched"
    );
    first.close().await;
    second.close().await;
    tokio::time::timeout(STEP, casting.wait_for(|on| !on))
        .await
        .expect("the screencast stops when nobody watches")
        .unwrap();
    let (status, _) = svc
        .call(
            Method::POST,
            &format!("/credential/{cred}/2fa"),
            Some(serde_json::json!({ "code": FIXED_CODE })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mut third = svc.viewer(&ws).await;
    let (end, _) = third.final_state().await;
    assert_eq!(end, 7);
    svc.stop().await;
}

#[tokio::test]
async fn a_background_collect_that_meets_2fa_ends_at_once_in_disconnected() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    let started = Instant::now();
    let (_, collect_id, ws) = svc.collect(&cred, true).await;
    let mut viewer = svc.viewer(&ws).await;
    let end = viewer
        .until(STEP, |m| match m {
            ServerMessage::State { state, error, .. } if !(1..=6).contains(state) => {
                Some((*state, error.clone()))
            }
            ServerMessage::Twofa { .. } => panic!("a background collect asks nobody"),
            _ => None,
        })
        .await;
    assert_eq!(end.0, -2);
    let reason = end.1.expect("a -2 state says why");
    assert_eq!(reason.code, "USER_ACTION_NEEDED.TWOFA_EXPIRED");
    assert!(!reason.message.is_empty());
    assert!(reason.advice.en.contains("code"), "{reason:?}");
    // It did not wait for the 60 s code timeout the service is configured with.
    assert!(started.elapsed() < Duration::from_secs(60));
    let (_, collect) = svc
        .call(Method::GET, &format!("/collect/{collect_id}"), None)
        .await;
    assert_eq!(collect["state"], -2);
    assert_eq!(collect["error"]["code"], "USER_ACTION_NEEDED.TWOFA_EXPIRED");
    let (_, credential) = svc
        .call(Method::GET, &format!("/credential/{cred}"), None)
        .await;
    assert_eq!(credential["state"], -2);
    svc.stop().await;
}

#[tokio::test]
async fn bad_messages_get_an_error_and_the_collect_goes_on() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    let (_, _, ws) = svc.collect(&cred, false).await;
    let mut viewer = svc.viewer(&ws).await;
    viewer.until_twofa().await;

    let error = |m: &ServerMessage| match m {
        ServerMessage::Error { message } => Some(message.clone()),
        _ => None,
    };
    viewer.send_text("not json").await;
    assert!(viewer.until(STEP, error).await.contains("bad message"));
    viewer.send_text(r#"{"type":"dance"}"#).await;
    assert!(viewer.until(STEP, error).await.contains("dance"));
    let big = format!(r#"{{"type":"text","text":"{}"}}"#, "a".repeat(70_000));
    viewer.send_text(&big).await;
    assert!(viewer.until(STEP, error).await.contains("limit"));
    viewer.send_binary(vec![1, 2, 3]).await;
    assert!(viewer.until(STEP, error).await.contains("binary"));
    viewer.send(&ClientMessage::Click { x: 3.0, y: 0.5 }).await;
    assert!(!viewer.until(STEP, error).await.is_empty());
    viewer.send(&ClientMessage::Close).await;
    assert!(viewer.until(STEP, error).await.contains("interactive"));

    viewer
        .send(&ClientMessage::Twofa {
            code: FIXED_CODE.into(),
        })
        .await;
    let (end, _) = viewer.final_state().await;
    assert_eq!(end, 7);
    svc.stop().await;
}

/// The green square in a frame (a 60×60 square, give or take JPEG edges): its centre, as
/// fractions of the image.
fn green_square(img: &image::DynamicImage) -> Option<(f64, f64)> {
    let rgb = img.to_rgb8();
    pixels::green_square(&rgb)
        .filter(|b| b.count > 1500)
        .map(|b| pixels::fractions(&rgb, b))
}

/// The yellow phrase field in a frame: its centre and height, as fractions of the image.
fn yellow_field(img: &image::DynamicImage) -> Option<(f64, f64, f64)> {
    let rgb = img.to_rgb8();
    pixels::yellow_field(&rgb)
        .filter(|b| b.count > 150)
        .map(|b| {
            let (x, y) = pixels::fractions(&rgb, b);
            (x, y, b.height / f64::from(rgb.height()))
        })
}

/// Passes the `/human` check the way a person does on the live screen: the square, then
/// the field (the page does not focus it), then the phrase. Returns the field's height in
/// the frames, as a fraction of the image, and the focus the service reported.
async fn pass_the_human_check(
    svc: &TestService,
    viewer: &mut crate::server::Viewer,
    shape: Option<(u32, u32)>,
) -> (f64, ServerMessage) {
    // A static page sends no more frames: the square is looked for in the first frame of
    // the expected shape (a capture comes at the display's pixel ratio, the screencast's
    // frames in CSS pixels).
    let (x, y) = viewer
        .until(STEP, |m| {
            let sized = match (m, shape) {
                (ServerMessage::Screenshot { width, height, .. }, Some((w, h))) => {
                    u64::from(*width) * u64::from(h) == u64::from(*height) * u64::from(w)
                }
                _ => true,
            };
            decode_frame(m)
                .filter(|_| sized)
                .and_then(|img| green_square(&img))
        })
        .await;
    viewer.send(&ClientMessage::Click { x, y }).await;
    let (fx, fy, height) = viewer
        .until(STEP, |m| decode_frame(m).and_then(|img| yellow_field(&img)))
        .await;
    viewer.send(&ClientMessage::Click { x: fx, y: fy }).await;
    let focus = viewer
        .until(STEP, |m| match m {
            ServerMessage::Focus { kind, .. } if *kind == gleaner::browser::FocusKind::Text => {
                Some(m.clone())
            }
            ServerMessage::Error { message } => panic!("input refused: {message}"),
            _ => None,
        })
        .await;
    let phrase = svc
        .site
        .human_phrase()
        .expect("the /human page issued a phrase");
    viewer.send(&ClientMessage::Text { text: phrase }).await;
    viewer
        .send(&ClientMessage::Keydown {
            key: "Enter".into(),
        })
        .await;
    (height, focus)
}

async fn start_human(svc: &TestService) -> crate::server::Viewer {
    let (status, body) = svc
        .call(
            Method::POST,
            "/credential",
            Some(
                serde_json::json!({ "userId": "u", "connector": "demo-bank-human", "fields": {} }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let cred = body["id"].as_str().unwrap().to_string();
    let (_, _, ws) = svc.collect(&cred, false).await;
    let mut viewer = svc.viewer(&ws).await;
    let instructions = viewer
        .until(STEP, |m| match m {
            ServerMessage::State {
                interactive: true,
                instructions,
                ..
            } => Some(instructions.clone()),
            _ => None,
        })
        .await;
    assert!(instructions.unwrap().contains("green square"));
    viewer
}

async fn assert_done(svc: &TestService, viewer: &mut crate::server::Viewer) {
    let end = viewer
        .until(STEP, |m| match m {
            ServerMessage::State { state, error, .. } if !(1..=6).contains(state) => {
                Some((*state, error.clone()))
            }
            ServerMessage::Error { message } => panic!("input refused: {message}"),
            _ => None,
        })
        .await;
    assert_eq!(end.0, 7, "{:?}", end.1);
    assert!(svc.site.hits("/accounts") >= 1);
}

#[tokio::test]
async fn a_login_only_a_person_can_pass_goes_through_with_clicks_and_text_on_the_live_screen() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let mut viewer = start_human(&svc).await;
    // No display told: the connector's 1280×720, where the site's field is tiny.
    let (height, focus) = pass_the_human_check(&svc, &mut viewer, None).await;
    assert!(height * 720.0 < 14.0, "{height}");
    let ServerMessage::Focus {
        label,
        area,
        takes_text,
        ..
    } = focus
    else {
        unreachable!()
    };
    assert_eq!(label.as_deref(), Some("Votre phrase"));
    assert_eq!(takes_text, Some(true));
    assert!(area.is_some());
    assert_done(&svc, &mut viewer).await;
    svc.stop().await;
}

#[tokio::test]
async fn on_a_phone_the_page_is_laid_out_for_its_display_while_the_person_drives() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let mut viewer = start_human(&svc).await;
    // Out of bounds: an error, and the collect goes on.
    viewer
        .send(&ClientMessage::Display {
            width: 100_000,
            height: 740,
            scale: 2.0,
            touch: true,
        })
        .await;
    viewer
        .until(STEP, |m| {
            matches!(m, ServerMessage::Error { .. }).then_some(())
        })
        .await;
    viewer
        .send(&ClientMessage::Display {
            width: 360,
            height: 740,
            scale: 2.0,
            touch: true,
        })
        .await;
    // Frames of the phone's shape.
    let (height, _) = pass_the_human_check(&svc, &mut viewer, Some((360, 740))).await;
    // The site's own narrow layout: a field of ordinary size (36 CSS pixels of 740).
    assert!(height * 740.0 > 25.0, "{height}");
    assert_done(&svc, &mut viewer).await;
    svc.stop().await;
}

#[tokio::test]
async fn without_the_person_the_interactive_login_cannot_pass_in_the_background() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let (_, body) = svc
        .call(
            Method::POST,
            "/credential",
            Some(
                serde_json::json!({ "userId": "u", "connector": "demo-bank-human", "fields": {} }),
            ),
        )
        .await;
    let cred = body["id"].as_str().unwrap().to_string();
    let (_, collect_id, ws) = svc.collect(&cred, true).await;
    let mut viewer = svc.viewer(&ws).await;
    let (end, _) = viewer.final_state().await;
    assert_eq!(end, -2);
    let (_, collect) = svc
        .call(Method::GET, &format!("/collect/{collect_id}"), None)
        .await;
    assert_eq!(collect["error"]["code"], "USER_ACTION_NEEDED.TWOFA_EXPIRED");
    assert_eq!(svc.site.hits("/accounts"), 0);
    svc.stop().await;
}

#[tokio::test]
async fn close_ends_the_interactive_step_and_the_collect_goes_on() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let cred = svc.human_credential().await;
    let (_, collect_id, ws) = svc.collect(&cred, false).await;
    let mut viewer = svc.viewer(&ws).await;
    viewer
        .until(STEP, |m| {
            matches!(
                m,
                ServerMessage::State {
                    interactive: true,
                    ..
                }
            )
            .then_some(())
        })
        .await;
    viewer.send(&ClientMessage::Close).await;
    // The screen is handed back at once, still in the login state.
    let after = viewer
        .until(STEP, |m| match m {
            ServerMessage::State {
                state,
                interactive: false,
                ..
            } => Some(*state),
            _ => None,
        })
        .await;
    assert_eq!(after, 2);
    let (end, error) = viewer.final_state().await;
    // Still on /human: the accounts rows match nothing, which is an error, not an empty
    // list passed off as done.
    assert_eq!(end, -1);
    let error = error.expect("an error");
    assert_eq!(error.code, "CONNECTOR_ERROR");
    assert!(
        error.message.contains("matched nothing"),
        "{}",
        error.message
    );
    let (_, collect) = svc
        .call(Method::GET, &format!("/collect/{collect_id}"), None)
        .await;
    assert_eq!(collect["state"], -1);
    assert_eq!(svc.site.hits("/accounts"), 0);
    svc.stop().await;
}

#[tokio::test]
async fn deleting_a_credential_cancels_its_collect_and_stopping_the_server_interrupts_one() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;
    let doomed = svc.create_credential("demo-bank", "alice", "demo").await;
    let (_, _, ws) = svc.collect(&doomed, false).await;
    let mut viewer = svc.viewer(&ws).await;
    viewer.until_twofa().await;
    let (status, _) = svc
        .call(Method::DELETE, &format!("/credential/{doomed}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (end, error) = viewer.final_state().await;
    assert_eq!((end, error.unwrap().code.as_str()), (-1, "CANCELLED"));

    let kept = svc.create_credential("demo-bank", "alice", "demo").await;
    let (_, collect_id, ws) = svc.collect(&kept, false).await;
    let mut viewer = svc.viewer(&ws).await;
    viewer.until_twofa().await;
    // The server stops with the collect waiting for its code: the collect ends INTERRUPTED,
    // its browser is closed (checked by `stop`), and the viewer is told.
    let (_site, data, _profiles) = svc.stop().await;
    let (end, _) = viewer.final_state().await;
    assert_eq!(end, -1);
    let store = open_store(data.path()).await;
    let collect = store.collect(&collect_id).await.unwrap().unwrap();
    assert_eq!(collect.state, -1);
    assert_eq!(collect.error.unwrap().code, "INTERRUPTED");
    assert!(store.credential(&doomed).await.unwrap().is_none());
    store.close().await;
}

/// The attacks of issue 11 on the WebSocket: another site's page, a sandboxed (`null`)
/// page and a client with nothing to show are refused in the handshake; a UI socket whose
/// session expired can no longer give the code; the path dies with its collect.
#[tokio::test]
async fn only_the_ui_and_backends_open_the_socket_and_the_path_dies_with_its_collect() {
    use crate::server::Handshake;
    const UI_ORIGIN: &str = "http://app.example";
    let _slot = browser_slot().await;
    let svc = TestService::start_tuned(|c| {
        c.ui = c.ui.clone().with_origins(&[UI_ORIGIN.into()]).unwrap();
        // The path answers no longer than the final state's own delivery.
        c.ui.live_path_grace = Duration::ZERO;
    })
    .await;
    let cred = svc.create_credential("demo-bank", "alice", "demo").await; // user-1
    let (_, _, ws) = svc.collect(&cred, false).await;
    let ui_token = |user: &str, ttl: Duration| {
        let store = svc.collector.store().clone();
        let user = user.to_string();
        async move {
            store
                .create_ui_token(gleaner::store::NewUiToken {
                    user_id: user,
                    connector: None,
                    credential_id: None,
                    redirect_url: None,
                    hide_end_screen: false,
                    ttl,
                })
                .await
                .unwrap()
        }
    };
    let (live_token, _) = ui_token("user-1", Duration::from_secs(600)).await;
    let (short_token, _) = ui_token("user-1", Duration::from_secs(600)).await;
    let (intruder_token, _) = ui_token("intruder", Duration::from_secs(600)).await;
    let with = |origin: Option<&str>, key: Option<&str>, token: Option<&str>| Handshake {
        origin: origin.map(str::to_string),
        api_key: key.map(str::to_string),
        ui_token: token.map(str::to_string),
    };
    let refused = [
        (with(Some("http://evil.example"), None, None), 403),
        (
            with(Some("http://evil.example"), None, Some(&live_token)),
            403,
        ),
        (with(Some("http://evil.example"), Some(API_KEY), None), 403),
        (with(Some("null"), None, Some(&live_token)), 403),
        (with(Some("null"), Some(API_KEY), None), 403),
        (with(None, None, None), 401),
        (with(None, Some("wrong-key"), None), 401),
        (with(Some(UI_ORIGIN), None, None), 401),
        (with(Some(UI_ORIGIN), None, Some("not-a-token")), 401),
        (with(Some(UI_ORIGIN), None, Some(&intruder_token)), 404),
    ];
    for (handshake, status) in &refused {
        let got = svc.open_socket(&ws, handshake).await.err();
        assert_eq!(
            got.map(|s| s.as_u16()),
            Some(*status),
            "{handshake:?} is refused"
        );
    }
    // Those that may: a backend with the key, the UI (its origin or gleaner's own) with a
    // live token of the collect's user.
    let mut backend = svc
        .open_socket(&ws, &with(None, Some(API_KEY), None))
        .await
        .expect("a backend with the API key opens it");
    svc.open_socket(&ws, &with(Some(UI_ORIGIN), None, Some(&live_token)))
        .await
        .expect("the UI origin with a live token opens it")
        .close()
        .await;
    let mut ui = svc
        .open_socket(&ws, &with(Some(&svc.base), None, Some(&short_token)))
        .await
        .expect("gleaner's own origin with a live token opens it");
    ui.until_twofa().await;
    backend.until_twofa().await;

    // A "code" of 10 KB is not typed into the site: 422 over the API, an error over the socket.
    let (status, body) = svc
        .call(
            Method::POST,
            &format!("/credential/{cred}/2fa"),
            Some(serde_json::json!({ "code": "1".repeat(65) })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    backend
        .send(&ClientMessage::Twofa {
            code: "1".repeat(10_000),
        })
        .await;
    let refusal = backend
        .until(STEP, |m| match m {
            ServerMessage::Error { message } => Some(message.clone()),
            _ => None,
        })
        .await;
    assert!(refusal.contains("64"), "{refusal}");

    // The UI's session ends while the code is asked (its expiry, in the store, passes):
    // its socket can no longer give it.
    expire_ui_token(&svc, &short_token).await;
    let code = svc.site.wait_code("alice", STEP).await.unwrap();
    ui.send(&ClientMessage::Twofa { code: code.clone() }).await;
    let refusal = ui
        .until(STEP, |m| match m {
            ServerMessage::Error { message } => Some(message.clone()),
            _ => None,
        })
        .await;
    assert!(refusal.contains("expired"), "{refusal}");
    let live = svc
        .collector
        .by_token(ws.trim_start_matches("/ws/"))
        .unwrap();
    assert_eq!(live.status().state.index(), 3, "still waiting for the code");

    backend.send(&ClientMessage::Twofa { code }).await;
    let (end, _) = backend.final_state().await;
    assert_eq!(end, 7);
    // Past the grace period (zero here), the path is gone.
    assert_eq!(
        svc.open_socket(&ws, &Handshake::backend()).await.err(),
        Some(StatusCode::NOT_FOUND)
    );
    svc.stop().await;
}

/// Moves a UI token's expiry to the past in the service's database, as time would.
async fn expire_ui_token(svc: &TestService, token: &str) {
    use sha2::Digest;
    let db = svc.data.path().join("gleaner.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open the service's database");
    let hash = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    let updated = sqlx::query("UPDATE ui_tokens SET expires_at = 0 WHERE token_hash = $1")
        .bind(hash)
        .execute(&pool)
        .await
        .expect("update the token");
    assert_eq!(updated.rows_affected(), 1, "the token is in the store");
    pool.close().await;
}

/// Every message of a socket but the frames, as JSON, until the final state; and that state
/// with its reason.
async fn messages_until_the_end(
    viewer: &mut crate::server::Viewer,
) -> (Vec<String>, i8, Option<gleaner::advice::FailureReason>) {
    let mut seen = Vec::new();
    let (state, reason) = viewer
        .until(STEP, |m| {
            if !matches!(m, ServerMessage::Screenshot { .. }) {
                seen.push(serde_json::to_string(m).unwrap());
            }
            match m {
                ServerMessage::State { state, error, .. } if !(1..=6).contains(state) => {
                    Some((*state, error.clone()))
                }
                _ => None,
            }
        })
        .await;
    (seen, state, reason)
}

#[tokio::test]
async fn a_wrong_password_and_a_wrong_code_say_why_in_the_final_state_with_no_secret() {
    let _slot = browser_slot().await;
    let svc = TestService::start().await;

    const CANARY: &str = "Canary-Pw-5d1e9";
    let cred = svc.create_credential("demo-bank", "alice", CANARY).await;
    let (_, _, ws) = svc.collect(&cred, false).await;
    let mut viewer = svc.viewer(&ws).await;
    let (seen, state, reason) = messages_until_the_end(&mut viewer).await;
    assert_eq!(state, -1);
    let reason = reason.expect("a -1 state says why");
    assert_eq!(reason.code, "LOGIN_FAILED");
    assert!(!reason.message.is_empty());
    assert!(reason.advice.en.contains("password"), "{reason:?}");
    assert!(reason.advice.fr.contains("mot de passe"), "{reason:?}");
    let text = seen.join("\n");
    assert!(text.contains(r#""code":"LOGIN_FAILED""#), "{text}");
    assert!(
        !text.contains(CANARY),
        "the password reached a viewer: {text}"
    );

    const WRONG_CODE: &str = "731904";
    assert_ne!(WRONG_CODE, FIXED_CODE);
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    let (_, _, ws) = svc.collect(&cred, false).await;
    let mut viewer = svc.viewer(&ws).await;
    viewer.until_twofa().await;
    viewer
        .send(&ClientMessage::Twofa {
            code: WRONG_CODE.into(),
        })
        .await;
    let (seen, state, reason) = messages_until_the_end(&mut viewer).await;
    assert_eq!(state, -1);
    let reason = reason.expect("a -1 state says why");
    assert_eq!(reason.code, "LOGIN_FAILED.WRONG_TWOFA_CODE");
    assert!(reason.advice.en.contains("verification code"), "{reason:?}");
    let text = seen.join("\n");
    assert!(
        !text.contains(WRONG_CODE),
        "the code reached a viewer: {text}"
    );
    svc.stop().await;
}
