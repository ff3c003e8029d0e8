//! Staying logged in: the "remember this device" cookie, the server ending its site logins, and
//! the `/app` single-page app's token API.

use serde_json::{Value, json};

use super::*;

/// Sends a JSON request (with a bearer token, if any) and returns the status and JSON body.
async fn api(
    site: &DemoSite,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        site.addr()
    );
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let mut stream = TcpStream::connect(site.addr()).await.expect("connect");
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let resp = parse(&raw);
    let value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    (resp.status, value)
}

fn opts() -> DemoSiteOptions {
    DemoSiteOptions {
        fixed_code: Some("424242".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_remembered_device_skips_the_2fa_until_it_is_forgotten() {
    let site = DemoSite::start(root(), opts()).await.expect("start");
    let mut c = Client::new(&site);
    let page = {
        c.post("/login", "login=alice&password=demo").await;
        c.get("/otp").await.text()
    };
    assert!(page.contains("id=\"remember\"") && page.contains("Se souvenir de cet appareil"));
    let code = site.wait_code("alice", T).await.expect("code");
    let r = c.post("/otp", &format!("code={code}&remember=1")).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/accounts")));
    let remember = r
        .set_cookie("remember_device")
        .expect("remember_device is set");
    assert!(remember.contains("Max-Age=31536000") && remember.contains("HttpOnly"));
    let sid = r.set_cookie("sid").expect("sid");
    assert!(
        !sid.contains("Max-Age") && !sid.contains("Expires"),
        "{sid}"
    );
    assert_eq!(c.get("/accounts").await.status, 200);

    // The server ends the site login: the sid cookie no longer opens the accounts...
    site.expire_site_logins();
    let r = c.get("/accounts").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    // ...but the device is remembered: a password login asks no code.
    let r = c.post("/login", "login=alice&password=demo").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/accounts")));
    assert!(
        site.wait_code("alice", Duration::from_millis(50))
            .await
            .is_err()
    );
    assert_eq!(c.get("/accounts").await.status, 200);
    // It is alice's device only: bob is asked for his code.
    let r = c.post("/login", "login=bob&password=demo").await;
    assert!(r.text().contains("otp-modal"));
    assert!(site.wait_code("bob", T).await.is_ok());

    site.forget_devices();
    site.expire_site_logins();
    let r = c.post("/login", "login=alice&password=demo").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/otp")));
    assert!(site.wait_code("alice", T).await.is_ok());

    assert_eq!(site.logins().form, 4);
    assert_eq!(site.logins().app, 0);
    assert_eq!(site.hits_of("POST", "/login"), 4);
    assert_eq!(site.hits_of("post", "/otp"), 1);
    assert_eq!(site.hits_of("GET", "/otp"), 1);
    site.shutdown().await;
}

#[tokio::test]
async fn the_modal_remembers_the_device_too_and_an_unticked_box_does_not() {
    let site = DemoSite::start(root(), opts()).await.expect("start");
    let mut c = Client::new(&site);
    let r = c.post("/login", "login=bob&password=demo").await;
    assert!(
        r.text()
            .contains("<input id=\"remember\" name=\"remember\" type=\"checkbox\"")
    );
    let code = site.wait_code("bob", T).await.expect("code");
    let r = c.post("/login", &format!("step=otp&code={code}")).await;
    assert_eq!(r.status, 303);
    assert!(r.set_cookie("remember_device").is_none(), "not asked for");
    site.expire_site_logins();
    c.post("/login", "login=bob&password=demo").await;
    let code = site.wait_code("bob", T).await.expect("a code again");
    let r = c
        .post("/login", &format!("step=otp&code={code}&remember=1"))
        .await;
    assert!(r.set_cookie("remember_device").is_some());
    site.expire_site_logins();
    let r = c.post("/login", "login=bob&password=demo").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/accounts")));
    // The modal's code steps are not password logins.
    assert_eq!(site.logins().form, 3);
    assert_eq!(site.hits_of("POST", "/login"), 5);
    site.shutdown().await;
}

#[tokio::test]
async fn the_app_serves_its_page_and_logs_in_with_a_token() {
    let site = DemoSite::start(root(), opts()).await.expect("start");
    let mut c = Client::new(&site);
    let page = c.get("/app").await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    let html = page.text();
    for id in [
        "app-login-form",
        "app-otp-form",
        "app-accounts",
        "app-loading",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    let js = c.get("/app/app.js").await;
    assert!(
        js.header("content-type")
            .is_some_and(|t| t.contains("javascript"))
    );
    assert!(js.text().contains("localStorage.setItem('token'"));

    // carol: no 2FA, a token at once.
    let (status, body) = api(
        &site,
        "POST",
        "/api/app/login",
        Some(json!({"login": "carol", "password": "demo"})),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let carol = body["token"].as_str().expect("a token").to_string();
    let (status, accounts) = api(&site, "GET", "/api/app/accounts", None, Some(&carol)).await;
    assert_eq!(status, 200);
    assert_eq!(accounts["name"], "Carol Petit");
    assert_eq!(accounts["accounts"].as_array().unwrap().len(), 3);
    assert!(
        accounts["accounts"][0]["balance"]
            .as_str()
            .unwrap()
            .ends_with('€')
    );
    assert_eq!(
        api(&site, "GET", "/api/app/accounts", None, None).await.0,
        401
    );
    assert_eq!(
        api(&site, "GET", "/api/app/accounts", None, Some("nope"))
            .await
            .0,
        401
    );

    // Wrong password.
    let (status, body) = api(
        &site,
        "POST",
        "/api/app/login",
        Some(json!({"login": "alice", "password": "x"})),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("Identifiant ou mot de passe incorrect."))
    );

    // alice: a code by the usual SMS, a wrong one may be retried.
    let (status, body) = api(
        &site,
        "POST",
        "/api/app/login",
        Some(json!({"login": "alice", "password": "demo"})),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let pending = body["pending"]
        .as_str()
        .expect("a pending login")
        .to_string();
    assert!(body.get("token").is_none());
    let code = site.wait_code("alice", T).await.expect("code");
    let (status, body) = api(
        &site,
        "POST",
        "/api/app/otp",
        Some(json!({"pending": pending, "code": "000001"})),
        None,
    )
    .await;
    assert_eq!((status, body["retry"].as_bool()), (401, Some(true)));
    let (status, body) = api(
        &site,
        "POST",
        "/api/app/otp",
        Some(json!({"pending": pending, "code": code})),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let alice = body["token"].as_str().unwrap().to_string();
    assert_eq!(
        api(&site, "GET", "/api/app/accounts", None, Some(&alice))
            .await
            .1["name"],
        "Alice Martin"
    );
    // The pending login is used up.
    let (status, body) = api(
        &site,
        "POST",
        "/api/app/otp",
        Some(json!({"pending": pending, "code": code})),
        None,
    )
    .await;
    assert_eq!((status, body["retry"].as_bool()), (401, Some(false)));

    // Logout ends one token; expire_site_logins ends them all.
    assert_eq!(
        api(&site, "POST", "/api/app/logout", None, Some(&carol))
            .await
            .0,
        204
    );
    assert_eq!(
        api(&site, "GET", "/api/app/accounts", None, Some(&carol))
            .await
            .0,
        401
    );
    site.expire_site_logins();
    assert_eq!(
        api(&site, "GET", "/api/app/accounts", None, Some(&alice))
            .await
            .0,
        401
    );

    assert_eq!(site.logins(), crate::Logins { form: 0, app: 3 });
    assert_eq!(site.hits_of("POST", "/api/app/login"), 3);
    assert_eq!(site.hits_of("POST", "/login"), 0);
    site.shutdown().await;
}
