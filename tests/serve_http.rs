//! `headshot serve` over plain HTTP: who may talk to the desk, and that a refused request
//! changes nothing (no corrections file, the same manifest).

mod serve_support;

use std::fs;
use std::path::Path;
use std::time::Duration;

use serve_support::{request, wait_for, Desk, Reply};

/// A shoot of two sample portraits (no shoot file: defaults, quick).
fn small_shoot() -> tempfile::TempDir {
    let shoot = tempfile::tempdir().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-images");
    for name in ["IMG_0102.jpg", "IMG_0105.jpg"] {
        fs::copy(samples.join(name), shoot.path().join(name)).unwrap();
    }
    shoot
}

/// The desk's state once its first batch has shown `photos` photos.
fn state_with_photos(desk: &Desk, headers: &[(&str, &str)], photos: usize) -> serde_json::Value {
    wait_for(Duration::from_secs(120), "the first batch", || {
        let state = request(desk.address, "GET", "/api/state", headers, b"").json();
        let shown: usize = state["groups"]
            .as_array()?
            .iter()
            .map(|group| group["tiles"].as_array().map_or(0, Vec::len))
            .sum();
        (shown == photos && state["busy"] == false).then_some(state)
    })
}

fn csrf_of(page: &Reply) -> String {
    let text = page.text();
    let start = text
        .find("name=\"headshot-csrf\" content=\"")
        .expect("csrf meta")
        + "name=\"headshot-csrf\" content=\"".len();
    text[start..start + 32].to_string()
}

#[test]
fn beyond_loopback_every_request_needs_the_printed_token() {
    let shoot = small_shoot();
    let out = tempfile::tempdir().unwrap();
    let desk = Desk::start(
        shoot.path(),
        &out.path().join("gallery"),
        "0.0.0.0:0",
        &["--quiet"],
    );
    let token = desk
        .url
        .split("token=")
        .nth(1)
        .expect("a token in the URL")
        .to_string();
    assert_eq!(token.len(), 32, "{}", desk.url);
    for path in [
        "/",
        "/api/state",
        "/desk.js",
        "/?token=0123",
        "/thumb/0000000000000000",
    ] {
        let reply = request(desk.address, "GET", path, &[], b"");
        assert_eq!(reply.status, 403, "GET {path} without the token");
    }
    let wrong = format!("{}={}", "headshot_token", "f".repeat(32));
    let reply = request(
        desk.address,
        "GET",
        "/api/state",
        &[("Cookie", &wrong)],
        b"",
    );
    assert_eq!(reply.status, 403, "a wrong cookie");

    let page = request(desk.address, "GET", &format!("/?token={token}"), &[], b"");
    assert_eq!(page.status, 200);
    let cookie = page
        .header("set-cookie")
        .expect("the token moves into a cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    let state = state_with_photos(&desk, &[("Cookie", &cookie)], 2);
    assert!(state["version"].as_u64().unwrap() > 0);
}

#[test]
fn refused_requests_change_nothing_and_loopback_needs_no_token() {
    let shoot = small_shoot();
    let out = tempfile::tempdir().unwrap();
    let gallery = out.path().join("gallery");
    let desk = Desk::start(shoot.path(), &gallery, "127.0.0.1:0", &["--quiet"]);
    assert!(!desk.url.contains("token"), "{}", desk.url);
    let page = request(desk.address, "GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
    let csrf = csrf_of(&page);
    let state = state_with_photos(&desk, &[], 2);
    let tile = &state["groups"][0]["tiles"][0];
    let source = tile["source"].as_str().unwrap().to_string();

    // Another site's name for 127.0.0.1 (DNS rebinding) gets nothing, not even the page.
    let rebound = [("Host", "desk.example.com:80")];
    assert_eq!(request(desk.address, "GET", "/", &rebound, b"").status, 403);

    let manifest_before = fs::read(gallery.join("manifest.json")).unwrap();
    let host = desk.address.to_string();
    let origin = format!("http://{host}");
    let good = |body: &str| {
        serde_json::json!({"sources": [body], "action": "name", "name": "Ann Lee"}).to_string()
    };
    let post = |headers: &[(&str, &str)], body: &[u8]| {
        request(desk.address, "POST", "/api/correct", headers, body)
    };
    let json = ("Content-Type", "application/json");
    let with_csrf = [
        json,
        ("Origin", origin.as_str()),
        ("X-Headshot-Csrf", csrf.as_str()),
    ];

    let no_csrf = post(&[json, ("Origin", &origin)], good(&source).as_bytes());
    assert_eq!(
        no_csrf.status,
        403,
        "no anti-CSRF token: {}",
        no_csrf.text()
    );
    let wrong_csrf = post(
        &[
            json,
            ("Origin", &origin),
            ("X-Headshot-Csrf", &"0".repeat(32)),
        ],
        good(&source).as_bytes(),
    );
    assert_eq!(wrong_csrf.status, 403);
    let other_origin = post(
        &[
            json,
            ("Origin", "http://evil.example"),
            ("X-Headshot-Csrf", &csrf),
        ],
        good(&source).as_bytes(),
    );
    assert_eq!(other_origin.status, 403, "another origin");
    let no_origin = post(
        &[json, ("X-Headshot-Csrf", &csrf)],
        good(&source).as_bytes(),
    );
    assert_eq!(no_origin.status, 403, "no origin");
    let oversized = format!(
        "{{\"sources\": [\"{}\"], \"action\": \"name\", \"name\": \"x\"}}",
        "a".repeat(70 * 1024)
    );
    assert_eq!(post(&with_csrf, oversized.as_bytes()).status, 413);
    let unknown = post(&with_csrf, good("shoot/nobody.jpg").as_bytes());
    assert_eq!(unknown.status, 404, "{}", unknown.text());
    for escaping in [
        format!("{source}/../../etc/passwd"),
        "../manifest.json".to_string(),
    ] {
        let reply = post(&with_csrf, good(&escaping).as_bytes());
        assert_eq!(reply.status, 400, "{escaping}: {}", reply.text());
    }
    let bad_action = serde_json::json!({"sources": [source], "action": "delete"}).to_string();
    assert_eq!(post(&with_csrf, bad_action.as_bytes()).status, 400);
    assert_eq!(post(&with_csrf, b"not json").status, 400);
    assert_eq!(
        request(desk.address, "GET", "/api/correct", &[], b"").status,
        405
    );
    assert_eq!(
        request(
            desk.address,
            "GET",
            "/thumb/..%2f..%2fmanifest.json",
            &[],
            b""
        )
        .status,
        404
    );
    assert_eq!(
        request(desk.address, "GET", "/../manifest.json", &[], b"").status,
        404
    );

    assert!(
        !gallery.join("corrections.csv").exists(),
        "a refused request wrote corrections"
    );
    assert_eq!(
        fs::read(gallery.join("manifest.json")).unwrap(),
        manifest_before
    );

    // The desk's own page may: the name is saved and shown.
    let thumb = request(
        desk.address,
        "GET",
        tile["thumb"].as_str().unwrap(),
        &[],
        b"",
    );
    assert_eq!(
        (thumb.status, thumb.header("content-type")),
        (200, Some("image/jpeg"))
    );
    let saved = post(&with_csrf, good(&source).as_bytes());
    assert_eq!(saved.status, 200, "{}", saved.text());
    let named = saved.json()["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|group| group["tiles"].as_array().unwrap().clone())
        .find(|tile| tile["source"] == source.as_str())
        .unwrap();
    assert_eq!(named["person"], "Ann Lee");
    let corrections = fs::read_to_string(gallery.join("corrections.csv")).unwrap();
    assert!(
        corrections.starts_with("source,name,action,time,by"),
        "{corrections}"
    );
    assert!(corrections.contains(",Ann Lee,name,"), "{corrections}");
}

/// A desk killed outright (SIGKILL) keeps every action it answered: the name is in
/// `corrections.csv`, and a desk started again shows it. (The kernel keeps written pages over
/// a killed process; the fsync that covers a power cut is not what this shows.)
#[test]
fn a_killed_desk_keeps_every_saved_action() {
    let shoot = small_shoot();
    let out = tempfile::tempdir().unwrap();
    let gallery = out.path().join("gallery");
    let mut desk = Desk::start(shoot.path(), &gallery, "127.0.0.1:0", &["--quiet"]);
    let csrf = csrf_of(&request(desk.address, "GET", "/", &[], b""));
    let state = state_with_photos(&desk, &[], 2);
    let source = state["groups"][0]["tiles"][0]["source"]
        .as_str()
        .unwrap()
        .to_string();
    let origin = format!("http://{}", desk.address);
    let body = serde_json::json!({"sources": [source], "action": "name", "name": "Kim Sato"});
    let headers = [
        ("Content-Type", "application/json"),
        ("Origin", origin.as_str()),
        ("X-Headshot-Csrf", csrf.as_str()),
    ];
    let saved = request(
        desk.address,
        "POST",
        "/api/correct",
        &headers,
        body.to_string().as_bytes(),
    );
    assert_eq!(saved.status, 200, "{}", saved.text());
    desk.child.kill().unwrap();
    desk.child.wait().unwrap();

    let corrections = fs::read_to_string(gallery.join("corrections.csv")).unwrap();
    assert!(
        corrections.contains(&format!("{source},Kim Sato,name,")),
        "{corrections}"
    );
    let again = Desk::start(shoot.path(), &gallery, "127.0.0.1:0", &["--quiet"]);
    let state = state_with_photos(&again, &[], 2);
    let people: Vec<(&str, &str)> = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|group| group["tiles"].as_array().unwrap())
        .map(|tile| {
            (
                tile["source"].as_str().unwrap(),
                tile["person"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        people.contains(&(source.as_str(), "Kim Sato")),
        "{people:?}"
    );
}
