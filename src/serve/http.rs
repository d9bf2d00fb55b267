//! The desk's HTTP side: routes, and the checks every request passes (the desk runs on a
//! conference Wi-Fi).
//!
//! - Loopback listen: the `Host` must be a loopback name with our port (a page elsewhere that
//!   re-points its own name at 127.0.0.1 gets nothing).
//! - Any other listen: an access token, given once in the URL and then kept in an HttpOnly
//!   SameSite=Strict cookie; without it every request is refused (403).
//! - A request that changes something: same origin (`Origin` = `http://` + `Host`), the page's
//!   anti-CSRF token in a header, a body of at most [`MAX_BODY`] bytes; photos are named by their
//!   manifest `source` and looked up, never joined into a path.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tiny_http::{Header, Request, Response, Server};

use super::desk::DeskState;
use super::{ActionRequest, Work};

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// The header the page sends its anti-CSRF token in.
pub const CSRF_HEADER: &str = "X-Headshot-Csrf";
/// The cookie that carries the access token after the first visit.
pub const TOKEN_COOKIE: &str = "headshot_token";
/// How long an action waits for its batch before answering anyway.
const BATCH_WAIT: Duration = Duration::from_secs(120);

const PAGE_HTML: &str = include_str!("page/desk.html");
const PAGE_JS: &str = include_str!("page/desk.js");
const PAGE_CSS: &str = include_str!("page/desk.css");

/// Who may use the desk.
#[derive(Debug, Clone)]
pub struct Access {
    /// Required when listening beyond loopback.
    pub token: Option<String>,
    /// Given to the page; required in [`CSRF_HEADER`] on every POST.
    pub csrf: String,
    /// The port the desk listens on (checked in `Host` on loopback).
    pub port: u16,
}

/// What the request handlers share.
pub struct Context {
    pub access: Access,
    pub desk: Arc<Mutex<DeskState>>,
    pub output_dir: std::path::PathBuf,
    pub work: mpsc::Sender<Work>,
}

/// A random token of 128 bits, hex.
pub fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|error| format!("no random numbers: {error}"))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Answers requests on `server` from `threads` workers until `stop` is set.
pub fn spawn_workers(
    server: Arc<Server>,
    context: Arc<Context>,
    threads: usize,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..threads)
        .map(|_| {
            let (server, context, stop) = (server.clone(), context.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match server.recv_timeout(Duration::from_millis(300)) {
                        Ok(Some(request)) => handle(request, &context),
                        Ok(None) => {}
                        Err(_) => break,
                    }
                }
            })
        })
        .collect()
}

type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|_| Header::from_bytes(&b"X-Invalid"[..], &b"1"[..]).expect("ASCII header"))
}

fn text(status: u16, message: &str) -> Reply {
    Response::from_string(format!("{message}\n"))
        .with_status_code(status)
        .with_header(header("Content-Type", "text/plain; charset=utf-8"))
}

fn body(content_type: &str, bytes: Vec<u8>) -> Reply {
    Response::from_data(bytes)
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
}

fn request_header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|header| header.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|header| header.value.as_str())
}

/// The value of `key` in the URL's query (tokens and versions are plain ASCII: no decoding).
fn query_value<'a>(url: &'a str, key: &str) -> Option<&'a str> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == key)
        .map(|(_, value)| value)
}

fn cookie_value<'a>(request: &'a Request, key: &str) -> Option<&'a str> {
    request_header(request, "Cookie")?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == key)
        .map(|(_, value)| value)
}

/// Compares secrets in time independent of where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Whether `host` (a `Host` header) is this machine's loopback with our port.
fn is_loopback_host(host: &str, port: u16) -> bool {
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == format!("{name}:{port}"))
}

/// Refuses what the access rules do not allow: `Some(reply)` to send instead.
fn refused(request: &Request, access: &Access) -> Option<Reply> {
    let host = request_header(request, "Host").unwrap_or_default();
    let Some(token) = &access.token else {
        return (!is_loopback_host(host, access.port))
            .then(|| text(403, "refused: not a loopback host name"));
    };
    let in_cookie =
        cookie_value(request, TOKEN_COOKIE).is_some_and(|given| same_secret(given, token));
    let in_url = query_value(request.url(), "token").is_some_and(|given| same_secret(given, token));
    (!in_cookie && !in_url).then(|| text(403, "refused: open the desk with the URL it printed"))
}

/// Refuses a state-changing request from another origin or without the page's token.
fn refused_change(request: &Request, access: &Access) -> Option<Reply> {
    let host = request_header(request, "Host").unwrap_or_default();
    let origin = request_header(request, "Origin").unwrap_or_default();
    if host.is_empty() || origin != format!("http://{host}") {
        return Some(text(403, "refused: not the desk's own page (origin)"));
    }
    let csrf = request_header(request, CSRF_HEADER).unwrap_or_default();
    (!same_secret(csrf, &access.csrf))
        .then(|| text(403, "refused: missing or wrong anti-CSRF token"))
}

fn handle(mut request: Request, context: &Context) {
    let reply = route(&mut request, context);
    let reply = reply
        .with_header(header("X-Content-Type-Options", "nosniff"))
        .with_header(header("Referrer-Policy", "no-referrer"))
        .with_header(header("X-Frame-Options", "DENY"));
    // A client that went away is no error of ours.
    let _ = request.respond(reply);
}

fn route(request: &mut Request, context: &Context) -> Reply {
    if let Some(reply) = refused(request, &context.access) {
        return reply;
    }
    let url = request.url().to_string();
    let path = url.split('?').next().unwrap_or_default();
    let method = request.method().as_str().to_string();
    match (method.as_str(), path) {
        ("GET", "/") => page(request, context),
        ("GET", "/desk.js") => body("text/javascript; charset=utf-8", PAGE_JS.into()),
        ("GET", "/desk.css") => body("text/css; charset=utf-8", PAGE_CSS.into()),
        ("GET", "/api/state") => state(&url, context),
        ("GET", _) if path.starts_with("/thumb/") => thumbnail(&path["/thumb/".len()..], context),
        ("POST", "/api/correct") => correct(request, context),
        (_, "/" | "/desk.js" | "/desk.css" | "/api/state" | "/api/correct") => {
            text(405, "method not allowed")
        }
        _ => text(404, "not found"),
    }
}

fn page(request: &Request, context: &Context) -> Reply {
    let html = PAGE_HTML.replace("{{CSRF}}", &context.access.csrf);
    let mut reply = body("text/html; charset=utf-8", html.into_bytes()).with_header(header(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    ));
    if let (Some(token), Some(_)) = (&context.access.token, query_value(request.url(), "token")) {
        // The token moves into a cookie the page's scripts cannot read.
        let cookie = format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
        reply = reply.with_header(header("Set-Cookie", &cookie));
    }
    reply
}

fn state(url: &str, context: &Context) -> Reply {
    let Ok(desk) = context.desk.lock() else {
        return text(500, "the desk's state is unavailable");
    };
    let since = query_value(url, "since").and_then(|v| v.parse::<u64>().ok());
    let json = if since == Some(desk.version) && !desk.busy {
        serde_json::json!({ "version": desk.version, "unchanged": true }).to_string()
    } else {
        serde_json::to_string(&desk.view()).unwrap_or_default()
    };
    body("application/json", json.into_bytes())
}

fn thumbnail(id: &str, context: &Context) -> Reply {
    let found = context.desk.lock().ok().and_then(|desk| desk.thumbnail(id));
    let Some((relative, format)) = found else {
        return text(404, "no such photo");
    };
    // The path comes from our own manifest; still, nothing above the gallery is ever read.
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return text(404, "no such photo");
    }
    match std::fs::read(context.output_dir.join(&relative)) {
        Ok(bytes) => body(&format!("image/{format}"), bytes),
        Err(_) => text(404, "no such file"),
    }
}

/// `POST /api/correct`: `{"sources": [...], "action": "name", "name": "..."}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectBody {
    sources: Vec<String>,
    action: String,
    #[serde(default)]
    name: Option<String>,
}

fn read_body(request: &mut Request) -> Result<Vec<u8>, Reply> {
    if request
        .body_length()
        .is_some_and(|length| length > MAX_BODY)
    {
        return Err(text(413, "request body too large"));
    }
    let mut bytes = Vec::new();
    let read = request
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut bytes);
    match read {
        Err(_) => Err(text(400, "cannot read the request body")),
        Ok(_) if bytes.len() > MAX_BODY => Err(text(413, "request body too large")),
        Ok(_) => Ok(bytes),
    }
}

fn correct(request: &mut Request, context: &Context) -> Reply {
    if let Some(reply) = refused_change(request, &context.access) {
        return reply;
    }
    let bytes = match read_body(request) {
        Ok(bytes) => bytes,
        Err(reply) => return reply,
    };
    let Ok(parsed) = serde_json::from_slice::<CorrectBody>(&bytes) else {
        return text(
            400,
            "expected {\"sources\": [...], \"action\": ..., \"name\": ...}",
        );
    };
    let by = request
        .remote_addr()
        .map(|address| format!("desk {}", address.ip()))
        .unwrap_or_else(|| "desk".to_string());
    let action = match checked_action(parsed, context, by) {
        Ok(action) => action,
        Err(reply) => return reply,
    };
    let (done, finished) = mpsc::channel();
    if context.work.send(Work::Correct(action, done)).is_err() {
        return text(503, "the desk is stopping");
    }
    match finished.recv_timeout(BATCH_WAIT) {
        Ok(Ok(())) => state("", context),
        Ok(Err(message)) => text(500, &message),
        Err(_) => text(504, "saved; the gallery is still being updated"),
    }
}

/// The request's photos and action, checked against the manifest: nothing is written unless
/// every photo is known and the action makes sense.
fn checked_action(
    parsed: CorrectBody,
    context: &Context,
    by: String,
) -> Result<ActionRequest, Reply> {
    if parsed.sources.is_empty() || parsed.sources.len() > 10_000 {
        return Err(text(400, "name one photo or more"));
    }
    let escapes = |source: &str| {
        Path::new(source)
            .components()
            .any(|c| matches!(c, Component::ParentDir))
    };
    if parsed.sources.iter().any(|source| escapes(source)) {
        return Err(text(
            400,
            "a photo is named by its manifest source, without '..'",
        ));
    }
    let desk = context
        .desk
        .lock()
        .map_err(|_| text(500, "desk state unavailable"))?;
    if let Some(unknown) = parsed.sources.iter().find(|s| desk.photo(s).is_none()) {
        return Err(text(404, &format!("no photo {unknown:?} in the manifest")));
    }
    drop(desk);
    super::ActionRequest::new(&parsed.action, parsed.name.as_deref(), parsed.sources, by)
        .map_err(|message| text(400, &message))
}

/// The address the server is bound to (port 0 resolved).
pub fn bound_address(server: &Server) -> Option<SocketAddr> {
    server.server_addr().to_ip()
}
